// The benchmark's split of the provider's anonymous RSS by mapping (test/bench/heap-probe.ts): which
// part is malloc's (main arena, thread arenas) and which V8's, read from /proc/<pid>/smaps.
import { describe, expect, it } from 'vitest';
import { anonymousByMappingOf } from '../../bench/heap-probe.ts';

const mapping = (range: string, perms: string, inode: string, path: string, rssKiB: number): string =>
  `${range} ${perms} 00000000 00:00 ${inode}${path === '' ? '' : `                          ${path}`}\nSize:  1 kB\nRss:   ${rssKiB} kB\nPss:   ${rssKiB} kB\n`;

describe('anonymousByMappingOf', () => {
  it('tells the main arena, thread arenas, V8 pages, file mappings and the rest apart', () => {
    const smaps = [
      mapping('55d0c0000000-55d0c0001000', 'r--p', '1234', '/usr/bin/node', 4),
      mapping('55d0c2000000-55d0c6000000', 'rw-p', '0', '[heap]', 30000),
      // A thread arena: 1.5 MiB read-write at a 64 MiB boundary, the rest of its 64 MiB reserved.
      mapping('7f6a00000000-7f6a00180000', 'rw-p', '0', '', 1500),
      mapping('7f6a00180000-7f6a04000000', '---p', '0', '', 0),
      // A V8 page that happens to sit on a 64 MiB boundary is not an arena.
      mapping('202bc000000-202bc040000', 'rw-p', '0', '', 256),
      mapping('202bc040000-202bc080000', 'rw-p', '0', '', 200),
      // A 64 MiB-aligned mapping not followed by its reserve: not an arena either.
      mapping('7f6b00000000-7f6b00800000', 'rw-p', '0', '', 700),
      mapping('7f6c10000000-7f6c10020000', 'rw-p', '0', '', 100),
      mapping('7ffd00000000-7ffd00021000', 'rw-p', '0', '[stack]', 132),
    ].join('');
    expect(anonymousByMappingOf(smaps)).toEqual({ brkKiB: 30000, arenasKiB: 1500, arenas: 1, v8PagesKiB: 456, otherKiB: 800, largestOtherKiB: 700 });
  });
});
