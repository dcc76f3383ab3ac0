import { describe, expect, it } from 'vitest';
import { ExhaustedVSwitches, SingleFlight } from '../../../provider/networking/exhaustion.ts';
import { chooseVSwitch } from '../../../provider/networking/vswitch.ts';
import { makeVSwitch } from './builders.ts';

function clock(start = Date.parse('2024-05-06T12:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ExhaustedVSwitches', () => {
  it('remembers a mark for the TTL (20 min by default), then forgets it', () => {
    const c = clock();
    const memory = new ExhaustedVSwitches({ now: c.now });
    expect(memory.ttlMs).toBe(20 * 60_000);
    const mark = memory.markExhausted('vsw-a', 'InvalidVSwitchId.IpNotEnough');
    expect(mark.until.toISOString()).toBe('2024-05-06T12:20:00.000Z');
    c.advance(20 * 60_000 - 1);
    expect(memory.isExhausted('vsw-a')).toEqual({ until: mark.until, reason: 'InvalidVSwitchId.IpNotEnough' });
    c.advance(1);
    expect(memory.isExhausted('vsw-a')).toBeUndefined();
    expect(memory.marked()).toEqual([]);
  });

  it('re-marking extends the mark', () => {
    const c = clock();
    const memory = new ExhaustedVSwitches({ now: c.now, ttlMs: 1000 });
    memory.markExhausted('vsw-a', 'first');
    c.advance(900);
    memory.markExhausted('vsw-a', 'second');
    c.advance(900);
    expect(memory.isExhausted('vsw-a')?.reason).toBe('second');
  });

  it('a refresh showing free IPs clears the mark early; one showing none keeps it', () => {
    const c = clock();
    const memory = new ExhaustedVSwitches({ now: c.now });
    memory.markExhausted('vsw-a', 'IpNotEnough');
    memory.markExhausted('vsw-b', 'IpNotEnough');
    c.advance(1000);
    memory.observe([makeVSwitch({ id: 'vsw-a', free: 12 }), makeVSwitch({ id: 'vsw-b', free: 0 })]);
    expect(memory.isExhausted('vsw-a')).toBeUndefined();
    expect(memory.isExhausted('vsw-b')).toBeDefined();
    expect(memory.freeIpEstimate('vsw-a')).toBe(12);
  });

  it('a refresh sent before the mark does not clear it (stale answer)', () => {
    const c = clock();
    const memory = new ExhaustedVSwitches({ now: c.now });
    const sentAt = c.now();
    c.advance(50);
    memory.markExhausted('vsw-a', 'IpNotEnough');
    memory.observe([makeVSwitch({ id: 'vsw-a', free: 3 })], sentAt);
    expect(memory.isExhausted('vsw-a')).toBeDefined();
    expect(memory.freeIpEstimate('vsw-a')).toBe(0);
  });

  it('lowers the local free-IP estimate on each create; choice sees it', () => {
    const c = clock();
    const memory = new ExhaustedVSwitches({ now: c.now });
    const live = [makeVSwitch({ id: 'vsw-a', free: 2 }), makeVSwitch({ id: 'vsw-b', free: 2 })];
    memory.observe(live);
    expect(memory.noteAllocated('vsw-a')).toBe(1);
    expect(memory.noteAllocated('vsw-a')).toBe(0);
    expect(memory.noteAllocated('vsw-a')).toBe(0);
    expect(memory.noteAllocated('vsw-unknown')).toBeUndefined();
    const estimated = memory.withEstimates(live);
    expect(estimated.map((v) => v.availableIpCount)).toEqual([0, 2]);
    expect(live.map((v) => v.availableIpCount)).toEqual([2, 2]); // input untouched
    const choice = chooseVSwitch({ zone: 'cn-hangzhou-i', candidates: estimated, policy: 'ordered', isExhausted: (id) => memory.isExhausted(id), random: Math.random });
    expect(choice).toMatchObject({ ok: true, id: 'vsw-b', refusals: ['vsw-a: 0 free IPs'] });
    expect(memory.noteReleased('vsw-a')).toBe(1);
  });
});

describe('SingleFlight', () => {
  it('shares one in-flight call per key, then forgets it', async () => {
    const flight = new SingleFlight<string, number>();
    let calls = 0;
    let release!: (n: number) => void;
    const fn = () => {
      calls++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const p1 = flight.do('vsw-a', fn);
    const p2 = flight.do('vsw-a', fn);
    const p3 = flight.do('vsw-b', async () => 7);
    expect(calls).toBe(1);
    expect(flight.size).toBe(2);
    release(42);
    expect(await Promise.all([p1, p2, p3])).toEqual([42, 42, 7]);
    expect(flight.size).toBe(0);
    const p4 = flight.do('vsw-a', fn);
    expect(calls).toBe(2);
    release(1);
    expect(await p4).toBe(1);
  });

  it('shares a rejection (also a synchronous throw) and lets the next call retry', async () => {
    const flight = new SingleFlight<string, number>();
    const boom = () => {
      throw new Error('boom');
    };
    await expect(flight.do('k', boom)).rejects.toThrow('boom');
    expect(flight.size).toBe(0);
    await expect(flight.do('k', async () => 3)).resolves.toBe(3);
  });
});
