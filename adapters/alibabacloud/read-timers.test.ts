// ECI calls leave no httpx read timer armed once their response has ended (read-timers.ts), so a
// finished call is not held for the SDK's 15 s readTimeout. Real SDK calls against the in-process
// simulator; a second diagnostics-channel subscriber looks at the socket when the response ends.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudSim, type CloudSim } from '../cloudsim/server.ts';
import { createCloud, type AlibabaCloud } from './cloud.ts';
import { clearReadTimer } from './read-timers.ts';

let sim: CloudSim;
let cloud: AlibabaCloud;

beforeAll(async () => {
  sim = await startCloudSim({ world: new URL('../cloudsim/worlds/demo.yaml', import.meta.url).pathname, log: () => {} });
  // createCloud installs the clearing subscriber (before the observer below, so it runs first).
  cloud = createCloud({
    regionId: sim.regionId,
    eciEndpoint: sim.endpoint,
    vpcEndpoint: sim.endpoint,
    ecsEndpoint: sim.endpoint,
    protocol: 'http',
    credentials: { accessKeyId: sim.accessKey.id, accessKeySecret: sim.accessKey.secret },
  });
});

afterAll(async () => {
  await sim?.stop({ graceful: false });
});

const armedTimer = (socket: Socket | null): boolean => {
  const key = Object.getOwnPropertySymbols(socket ?? {}).find((s) => s.description === 'TIMER::READ_TIMER');
  return key !== undefined && (socket as unknown as Record<symbol, unknown>)[key] != null;
};

describe('httpx read timers', () => {
  it('an ended ECI response leaves no read timer armed on its socket', async () => {
    const seen: { httpx: boolean; armed: boolean }[] = [];
    const observe = (message: unknown) => {
      const response = (message as { response: IncomingMessage }).response;
      response.once('end', () => {
        const httpx = Object.getOwnPropertySymbols(response.socket ?? {}).some((s) => s.description === 'TIMER::READ_TIMER');
        seen.push({ httpx, armed: armedTimer(response.socket) });
      });
    };
    subscribe('http.client.response.finish', observe);
    try {
      for (let i = 0; i < 5; i++) await cloud.listContainerGroups({ 'eci-vn/test': `t${i}` });
    } finally {
      unsubscribe('http.client.response.finish', observe);
    }
    // Every call went through httpx (the symbol is there), and its timer was cleared at 'end'.
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(seen.every((s) => s.httpx)).toBe(true);
    expect(seen.filter((s) => s.armed)).toEqual([]);
  });

  it('clearReadTimer clears only an armed httpx timer', () => {
    const socket = new Socket();
    expect(clearReadTimer(socket)).toBe(false);
    let fired = false;
    const key = Symbol('TIMER::READ_TIMER');
    (socket as unknown as Record<symbol, unknown>)[key] = setTimeout(() => (fired = true), 10_000);
    expect(clearReadTimer(socket)).toBe(true);
    expect((socket as unknown as Record<symbol, unknown>)[key]).toBeNull();
    expect(clearReadTimer(socket)).toBe(false);
    expect(fired).toBe(false);
    socket.destroy();
  });
});
