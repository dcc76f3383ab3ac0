// Preloaded into the provider process by the benchmark (`node --import ./test/bench/heap-probe.ts
// adapters/cli/main.ts run ...`; beside the compiled build, transpiled to heap-probe.js so no type
// stripping loads into the process measured: provider-build.ts): appends `process.memoryUsage()` as a JSON line to the file named
// by BENCH_MEMORY_FILE every BENCH_MEMORY_INTERVAL_MS (default 500), with the event loop's longest
// delay since the last line. No provider code changes, no inspector; one small synchronous append
// per interval on an unref'd timer.
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const file = process.env.BENCH_MEMORY_FILE;
if (file !== undefined && file !== '') {
  const intervalMs = Number(process.env.BENCH_MEMORY_INTERVAL_MS ?? '500');
  // The event loop's delay since the previous sample (max, ms): how long a ready callback (a
  // status write, an answer) could wait for the loop.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const sample = (): void => {
    const m = process.memoryUsage();
    const loopMaxMs = Math.round(loop.max / 1e6);
    loop.reset();
    // Where RSS goes beyond the V8 heap: each space's committed pages, the kernel's split of RSS
    // into anonymous memory (heap, malloc, code) and mapped files (node's binary, libraries).
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), Math.round(s.physical_space_size / 1024)]));
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (key: string): number | undefined => { const v = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]; return v === undefined ? undefined : Number(v); };
    // BENCH_SMAPS=1: at each new RSS high (2 MiB above the last one read), the anonymous RSS split
    // by mapping (smaps): what malloc holds outside the V8 heap. Opt-in: one read costs the
    // measured process 15-30 ms of CPU, ~150 of them on the way to 400 MiB.
    const native = smaps && m.rss >= smapsAtRss + 2 * 1048576 ? anonymousByMapping() : undefined;
    if (native !== undefined) smapsAtRss = m.rss;
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rssAnonKiB: kb('RssAnon'), rssFileKiB: kb('RssFile'), spacesKiB: spaces, loopMaxMs, ...(native === undefined ? {} : { native }) })}\n`);
  };
  const smaps = process.env.BENCH_SMAPS === '1';
  let smapsAtRss = 0;
  sample();
  setInterval(sample, intervalMs).unref();
}

/**
 * The anonymous RSS of this process by kind of mapping, from /proc/self/smaps (KiB): `brk` is
 * glibc's main malloc arena (`[heap]`); `arenas` are glibc's other arenas (one per thread that
 * contended for malloc: a read-write mapping at a 64 MiB boundary, the rest of its 64 MiB reserved
 * without access), with their count; `v8Pages` the 256 KiB mappings, V8's heap pages (its page size
 * without pointer compression); `other` every other anonymous mapping: V8's large objects and code
 * range, thread stacks, malloc's own mmap()ed chunks (at or above its mmap threshold).
 */
function anonymousByMapping(): AnonymousByMapping | undefined {
  let text: string;
  try { text = readFileSync('/proc/self/smaps', 'utf8'); } catch { return undefined; }
  return anonymousByMappingOf(text);
}

export interface AnonymousByMapping { brkKiB: number; arenasKiB: number; arenas: number; v8PagesKiB: number; otherKiB: number; largestOtherKiB: number }

/** anonymousByMapping's split of one /proc/<pid>/smaps text. */
export function anonymousByMappingOf(text: string): AnonymousByMapping {
  const maps: { start: bigint; end: bigint; perms: string; anon: boolean; path: string; rssKiB: number }[] = [];
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header !== null) {
      const [, start = '0', end = '0', perms = '', inode = '0', path = ''] = header;
      maps.push({ start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms, anon: inode === '0' && !path.startsWith('/'), path, rssKiB: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    const last = maps.at(-1);
    if (rss !== null && last !== undefined) last.rssKiB = Number(rss[1]);
  }
  const ARENA = 0x4000000n;
  const out = { brkKiB: 0, arenasKiB: 0, arenas: 0, v8PagesKiB: 0, otherKiB: 0, largestOtherKiB: 0 };
  maps.forEach((m, i) => {
    if (!m.anon) return;
    const next = maps[i + 1];
    const arenaEnd = next !== undefined && next.start === m.end && next.perms.startsWith('---') ? next.end : m.end;
    if (m.path === '[heap]') out.brkKiB += m.rssKiB;
    else if (m.path === '' && m.start % ARENA === 0n && arenaEnd - m.start === ARENA && m.perms.startsWith('rw')) { out.arenasKiB += m.rssKiB; out.arenas++; }
    else if (m.path === '' && m.end - m.start === 0x40000n) out.v8PagesKiB += m.rssKiB;
    else if (m.path === '') { out.otherKiB += m.rssKiB; out.largestOtherKiB = Math.max(out.largestOtherKiB, m.rssKiB); }
  });
  return out;
}

// Under `node --cpu-prof` the profile is written only when the process exits by itself or through
// process.exit(), never on SIGKILL. Should the provider still be running BENCH_EXIT_AFTER_SIGTERM_MS
// after SIGTERM (a handle keeping the loop alive), exit so the profile is kept.
const exitAfter = Number(process.env.BENCH_EXIT_AFTER_SIGTERM_MS ?? '0');
if (exitAfter > 0) {
  process.on('SIGTERM', () => {
    const startedAt = Date.now();
    setTimeout(() => {
      if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify({ t: Date.now(), note: `still running ${Date.now() - startedAt} ms after SIGTERM: process.exit()` })}\n`);
      process.exit(process.exitCode ?? 0);
    }, exitAfter).unref();
  });
}

// With BENCH_CPU_PROFILE_FILE set, the process is CPU-profiled (V8's sampler, as --cpu-prof) from
// here until SIGUSR2, which writes the profile to that file (whole, via a rename): the restart
// phase profiles the restarted provider until every pod is Ready again, not its later phases.
const profileFile = process.env.BENCH_CPU_PROFILE_FILE;
if (profileFile !== undefined && profileFile !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start'));
  process.once('SIGUSR2', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err !== null || result === undefined) return;
      mkdirSync(dirname(profileFile), { recursive: true });
      writeFileSync(`${profileFile}.partial`, JSON.stringify(result.profile));
      renameSync(`${profileFile}.partial`, profileFile);
      session.disconnect();
    });
  });
}

// With BENCH_HEAP_SNAPSHOT_DIR set, SIGUSR2 writes a heap snapshot there (the harness sends it once
// every pod is Running; `node test/bench/heap-summary.ts FILE` prints what the heap holds).
const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
if (snapshotDir !== undefined && snapshotDir !== '') {
  process.on('SIGUSR2', () => {
    const written = writeHeapSnapshot(`${snapshotDir}/provider-${Date.now()}.heapsnapshot`);
    if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify({ t: Date.now(), note: `heap snapshot ${written}` })}\n`);
  });
}
