// httpx (the HTTP layer under the ECI SDK, via @alicloud/tea-typescript) arms a read timer per
// request that only its own read() clears. The SDK reads response bodies through tea-util instead,
// so every call's timer runs its full readTimeout (15 s) holding the ClientRequest, the response
// and the signed query (~9 KB a call in a heap snapshot: ~2 MiB with 200 pods, more at higher call
// rates), and a stale timer can clear the read timer of a later request on the same keep-alive
// socket. Once a response has ended the timer guards nothing: clear it then. Responses of any
// other HTTP client carry no such timer and are left alone.
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** httpx's Symbol('TIMER::READ_TIMER') on the socket (module-private, found by description). */
const READ_TIMER = 'TIMER::READ_TIMER';

/** Clears httpx's read timer on `socket` if one is armed; true when it did. */
export function clearReadTimer(socket: Socket | null | undefined): boolean {
  if (socket === null || socket === undefined) return false;
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === READ_TIMER);
  if (key === undefined) return false;
  const slots = socket as unknown as Record<symbol, NodeJS.Timeout | null | undefined>;
  const timer = slots[key];
  if (timer === null || timer === undefined) return false;
  clearTimeout(timer);
  slots[key] = null;
  return true;
}

let installed = false;

/**
 * From now on, every node:http client response that ends clears its socket's httpx read timer.
 * Idempotent. 'end' runs before the socket returns to the agent's pool, so the timer cleared is
 * always the one of the request that just finished.
 */
export function clearReadTimersOnResponseEnd(): void {
  if (installed) return;
  installed = true;
  // Published when the response's headers arrive; the body follows.
  subscribe('http.client.response.finish', (message) => {
    const response = (message as { response?: IncomingMessage }).response;
    response?.once('end', () => clearReadTimer(response.socket));
  });
}
