// V8's own answer to "is this object still a fast-mode object?" (%HasFastProperties). A deleted
// property turns an object into a hash table ("dictionary mode"): several hundred bytes more for
// an object the provider keeps per pod (docs/benchmark.md, "Retained memory, fourth session").
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the only way to reach a V8 intrinsic at run time
const check = new Function('o', 'return %HasFastProperties(o)') as (o: unknown) => boolean;

export function hasFastProperties(obj: unknown): boolean {
  return check(obj);
}
