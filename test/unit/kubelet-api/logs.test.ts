// containerLogs: the query as the kubelet validates it, the DescribeContainerLog request of each
// poll, and the follow cursor (no line twice, none lost, limitBytes on what the caller gets).
import { describe, expect, it } from 'vitest';
import {
  advanceLog,
  compareTimes,
  containerLogState,
  logRequest,
  parseLogOptions,
  splitTimestamp,
  START_CURSOR,
  type LogOptions,
} from '../../../provider/kubelet-api/logs.ts';
import { makePod } from '../builders.ts';

const q = (s: string) => new URLSearchParams(s);
const defaults: LogOptions = { follow: false, previous: false, timestamps: false };

describe('parseLogOptions', () => {
  it.each([
    ['', defaults],
    ['follow=true&previous=1&timestamps=T', { follow: true, previous: true, timestamps: true }],
    ['follow=false&tailLines=0', { ...defaults, tailLines: 0 }],
    ['tailLines=10&limitBytes=5', { ...defaults, tailLines: 10, limitBytes: 5 }],
    ['sinceSeconds=30', { ...defaults, sinceSeconds: 30 }],
    ['sinceTime=2026-01-02T03:04:05Z', { ...defaults, sinceTime: '2026-01-02T03:04:05Z' }],
    ['sinceTime=2026-01-02T03:04:05.123%2B08:00', { ...defaults, sinceTime: '2026-01-02T03:04:05.123+08:00' }],
    ['tailLines=&unknown=x', defaults],
  ])('%s', (query, expected) => {
    expect(parseLogOptions(q(query))).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['tailLines=-1', 'tailLines: must be greater than or equal to 0'],
    ['sinceSeconds=0', 'sinceSeconds: must be greater than or equal to 1'],
    ['limitBytes=0', 'limitBytes: must be greater than or equal to 1'],
    ['tailLines=ten', 'tailLines: "ten" is not an integer'],
    ['tailLines=1.5', 'tailLines: "1.5" is not an integer'],
    ['follow=yes', 'follow: "yes" is not a boolean'],
    ['sinceTime=yesterday', 'sinceTime: "yesterday" is not an RFC 3339 time'],
    ['sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z', 'at most one of sinceTime or sinceSeconds may be specified'],
  ])('%s is refused', (query, message) => {
    expect(parseLogOptions(q(query))).toEqual({ ok: false, message });
  });
});

describe('logRequest', () => {
  const base = { containerGroupId: 'eci-1', container: 'app' };

  it("carries the caller's tail/since on the first poll, always with timestamps", () => {
    expect(logRequest({ ...base, options: { ...defaults, tailLines: 5, sinceSeconds: 60 }, cursor: START_CURSOR })).toEqual({
      containerGroupId: 'eci-1',
      containerName: 'app',
      timestamps: true,
      tail: 5,
      sinceSeconds: 60,
    });
    expect(logRequest({ ...base, options: { ...defaults, sinceTime: '2026-01-02T03:04:05Z', previous: true }, cursor: START_CURSOR })).toMatchObject({
      startTime: '2026-01-02T03:04:05Z',
      previous: true,
    });
  });

  it('starts later polls at the cursor, without tail or since', () => {
    const cursor = { lastTime: '2026-01-02T03:04:05.123000000Z', linesAtLastTime: 2, bytesWritten: 10 };
    expect(logRequest({ ...base, options: { ...defaults, tailLines: 5, sinceSeconds: 60, follow: true }, cursor })).toEqual({
      containerGroupId: 'eci-1',
      containerName: 'app',
      timestamps: true,
      startTime: '2026-01-02T03:04:05.123000000Z',
    });
  });
});

describe('advanceLog', () => {
  const T1 = '2026-01-02T03:04:05.100000000Z';
  const T2 = '2026-01-02T03:04:05.200000000Z';
  const T3 = '2026-01-02T03:04:06.000000000Z';

  it('strips the timestamps it asked for, unless the caller wants them', () => {
    const content = `${T1} a\n${T2} b\n`;
    expect(advanceLog({ content, cursor: START_CURSOR, options: defaults }).output).toBe('a\nb\n');
    expect(advanceLog({ content, cursor: START_CURSOR, options: { ...defaults, timestamps: true } }).output).toBe(content);
  });

  it('drops lines already written at the cursor time, and older ones, across polls', () => {
    const first = advanceLog({ content: `${T1} a\n${T2} b\n${T2} c\n`, cursor: START_CURSOR, options: defaults });
    expect(first.cursor).toEqual({ lastTime: T2, linesAtLastTime: 2, bytesWritten: 6 });
    // The next poll starts at T2 (inclusive): b and c again, then a new line at T2 and one at T3.
    const second = advanceLog({ content: `${T1} a\n${T2} b\n${T2} c\n${T2} d\n${T3} e\n`, cursor: first.cursor, options: defaults });
    expect(second.output).toBe('d\ne\n');
    expect(second.cursor).toEqual({ lastTime: T3, linesAtLastTime: 1, bytesWritten: 10 });
    // Nothing new: nothing written, cursor unchanged.
    const third = advanceLog({ content: `${T3} e\n`, cursor: second.cursor, options: defaults });
    expect(third).toEqual({ output: '', cursor: second.cursor, done: false });
  });

  it('stops at limitBytes counted over the whole stream', () => {
    const first = advanceLog({ content: `${T1} abc\n`, cursor: START_CURSOR, options: { ...defaults, limitBytes: 6 } });
    expect(first).toMatchObject({ output: 'abc\n', done: false });
    const second = advanceLog({ content: `${T2} defgh\n`, cursor: first.cursor, options: { ...defaults, limitBytes: 6 } });
    expect(second).toMatchObject({ output: 'de', done: true });
    expect(second.cursor.bytesWritten).toBe(6);
  });

  it('passes lines without a timestamp through unchanged', () => {
    expect(advanceLog({ content: 'plain line\n', cursor: START_CURSOR, options: defaults }).output).toBe('plain line\n');
  });

  it('splits and compares RFC 3339 times to the nanosecond', () => {
    expect(splitTimestamp(`${T1} hello world`)).toEqual({ time: T1, text: 'hello world' });
    expect(splitTimestamp('hello world')).toEqual({ text: 'hello world' });
    expect(compareTimes('2026-01-02T03:04:05.100000001Z', T1)).toBe(1);
    expect(compareTimes(T1, '2026-01-02T03:04:05.1Z')).toBe(0);
    expect(compareTimes(T1, T2)).toBe(-1);
  });
});

describe('containerLogState', () => {
  it('follows the container status the pod sync reported', () => {
    const running = makePod({ status: { phase: 'Running', containerStatuses: [{ name: 'app', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } });
    expect(containerLogState(running, 'app')).toEqual({ kind: 'running' });
    const waiting = makePod({ status: { phase: 'Pending', containerStatuses: [{ name: 'app', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }] } });
    expect(containerLogState(waiting, 'app')).toEqual({ kind: 'waiting', reason: 'ImagePullBackOff' });
    const crashed = makePod({ status: { phase: 'Running', containerStatuses: [{ name: 'app', image: 'i', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }] } });
    expect(containerLogState(crashed, 'app')).toEqual({ kind: 'terminated' });
    expect(containerLogState(makePod(), 'app')).toEqual({ kind: 'waiting', reason: 'ContainerCreating' });
    expect(containerLogState(makePod(), 'other')).toEqual({ kind: 'unknownContainer', known: ['app'] });
  });
});
