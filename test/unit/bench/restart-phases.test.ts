// The restart's phases, read from the restarted provider's own log (JSON lines): seconds after
// the spawn of the first line of each phase; other lines, repeats and non-JSON output are ignored.
import { describe, expect, it } from 'vitest';
import { restartPhases } from '../../bench/report.ts';

const spawnedAt = Date.parse('2026-12-06T09:00:00.000Z');
const line = (msg: string, time: string): string => JSON.stringify({ level: 'info', time, msg });

describe('restartPhases', () => {
  it('times each phase from its first line', () => {
    const log = [
      'node: some warning on stderr',
      line('starting eci-virtual-node', '2026-12-06T09:00:00.500Z'),
      line('pod caches synced', '2026-12-06T09:00:02.000Z'),
      '{"not json',
      line('virtual nodes Ready', '2026-12-06T09:00:02.500Z'),
      line('virtual nodes Ready', '2026-12-06T09:00:09.000Z'),
      line('adopted the existing container groups', '2026-12-06T09:00:07.250Z'),
      line('provider running', '2026-12-06T09:00:07.500Z'),
    ].join('\n');
    expect(restartPhases(log, spawnedAt)).toEqual({ 'pod caches synced': 2, 'nodes Ready': 2.5, 'groups adopted': 7.25 });
  });

  it('leaves out a phase the log does not reach', () => {
    expect(restartPhases(line('pod caches synced', '2026-12-06T09:00:01.000Z'), spawnedAt)).toEqual({ 'pod caches synced': 1 });
  });
});
