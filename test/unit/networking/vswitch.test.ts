import { describe, expect, it } from 'vitest';
import { chooseVSwitch, noVSwitchMessage, type ExhaustedMark } from '../../../provider/networking/vswitch.ts';
import { makeVSwitch } from './builders.ts';

const I = 'cn-hangzhou-i';
const J = 'cn-hangzhou-j';
const never = () => undefined;
const noRandom = () => {
  throw new Error('random must not be used by this policy');
};

describe('chooseVSwitch', () => {
  const a = makeVSwitch({ id: 'vsw-a', zone: I, free: 10 });
  const b = makeVSwitch({ id: 'vsw-b', zone: J, free: 500 });
  const c = makeVSwitch({ id: 'vsw-c', zone: I, free: 300 });
  const d = makeVSwitch({ id: 'vsw-d', zone: I, free: 0 });
  const e = makeVSwitch({ id: 'vsw-e', zone: I, free: 300 });

  it.each([
    ['ordered: first eligible in list order', 'ordered', [a, b, c], 'vsw-a'],
    ['ordered: skips other zones and empty ones', 'ordered', [b, d, c, a], 'vsw-c'],
    ['most: most free IPs', 'most', [a, b, c], 'vsw-c'],
    ['most: ties broken by list order', 'most', [a, e, c], 'vsw-e'],
    ['most: ties broken by list order (other order)', 'most', [c, e, a], 'vsw-c'],
  ] as const)('%s', (_name, policy, candidates, expected) => {
    const result = chooseVSwitch({ zone: I, candidates, policy, isExhausted: never, random: noRandom });
    expect(result.ok && result.id).toBe(expected);
  });

  it('lists why each candidate was refused', () => {
    const until = new Date('2024-05-06T12:04:10.500Z');
    const isExhausted = (id: string): ExhaustedMark | undefined => (id === 'vsw-c' ? { until, reason: 'InvalidVSwitchId.IpNotEnough' } : undefined);
    const pending = makeVSwitch({ id: 'vsw-p', zone: I, status: 'Pending' });
    const result = chooseVSwitch({ zone: I, candidates: [b, c, d, pending], policy: 'ordered', isExhausted, random: noRandom });
    expect(result).toEqual({
      ok: false,
      refusals: ['vsw-b: other zone cn-hangzhou-j', 'vsw-c: exhausted until 12:04:10 (InvalidVSwitchId.IpNotEnough)', 'vsw-d: 0 free IPs', 'vsw-p: status Pending'],
    });
    if (!result.ok) expect(noVSwitchMessage(I, result.refusals)).toMatch(/^no available vSwitch in zone cn-hangzhou-i: vsw-b: other zone/);
  });

  it('a success still reports what it skipped, and why it chose', () => {
    const result = chooseVSwitch({ zone: I, candidates: [b, d, c], policy: 'ordered', isExhausted: never, random: noRandom });
    expect(result).toMatchObject({ ok: true, id: 'vsw-c', reason: 'first eligible in list order in cn-hangzhou-i', refusals: ['vsw-b: other zone cn-hangzhou-j', 'vsw-d: 0 free IPs'] });
  });

  it('skips an exhausted vSwitch even when its count says it has IPs (the count lags)', () => {
    const isExhausted = (id: string) => (id === 'vsw-a' ? { until: new Date(0) } : undefined);
    const result = chooseVSwitch({ zone: I, candidates: [a, c], policy: 'ordered', isExhausted, random: noRandom });
    expect(result.ok && result.id).toBe('vsw-c');
  });

  it('random: uniform over the eligible ones, driven by the injected source, caller array untouched', () => {
    const candidates = Object.freeze([a, b, c, d, e]);
    const pick = (r: number) => {
      const result = chooseVSwitch({ zone: I, candidates, policy: 'random', isExhausted: never, random: () => r });
      return result.ok ? result.id : undefined;
    };
    // eligible in zone I with IPs: a, c, e
    expect([0, 0.3333, 0.34, 0.66, 0.67, 0.999999].map(pick)).toEqual(['vsw-a', 'vsw-a', 'vsw-c', 'vsw-c', 'vsw-e', 'vsw-e']);
    expect(pick(1)).toBe('vsw-e'); // out-of-range sources are clamped
    expect(pick(-1)).toBe('vsw-a');
    expect(pick(Number.NaN)).toBe('vsw-a');
    expect(candidates.map((v) => v.id)).toEqual(['vsw-a', 'vsw-b', 'vsw-c', 'vsw-d', 'vsw-e']);
  });

  it('duplicates count once; no candidates at all is a refusal', () => {
    const result = chooseVSwitch({ zone: I, candidates: [d, d], policy: 'ordered', isExhausted: never, random: noRandom });
    expect(result).toEqual({ ok: false, refusals: ['vsw-d: 0 free IPs'] });
    expect(chooseVSwitch({ zone: I, candidates: [], policy: 'most', isExhausted: never, random: noRandom })).toEqual({ ok: false, refusals: ['no vSwitch configured'] });
  });
});
