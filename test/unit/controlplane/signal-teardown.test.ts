// Ctrl-C on a program that started processes with startProcess (the benchmark: its provider and
// cloud simulator) leaves none of them running, although the re-raised signal skips 'exit'.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../controlplane/processes.ts';
import { waitFor, waitForExit, withDeadline } from '../../integration/helpers/wait.ts';

const PROCESSES = join(import.meta.dirname, '..', '..', 'controlplane', 'processes.ts');

describe('a signal to a program that started processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eci-vn-signal-test-'));
  const leftovers: number[] = [];
  afterAll(() => {
    for (const pid of leftovers) if (isProcessAlive(pid)) process.kill(-pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  // A backstop above the named deadlines below (vitest's default 5 s would cut them short).
  it('SIGINT ends the processes no cleanup owns, then the program', { timeout: 90_000 }, async () => {
    const script = join(dir, 'owner.ts');
    writeFileSync(
      script,
      [
        `import { startProcess } from ${JSON.stringify(PROCESSES)};`,
        `const p = startProcess({ name: 'sleeper', command: 'sleep', args: ['300'], logFile: ${JSON.stringify(join(dir, 'sleeper.log'))} });`,
        `console.log(p.pid);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'),
    );
    const owner = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: owner.stdout });
    const firstLine = await withDeadline(new Promise<string>((resolve) => lines.once('line', resolve)), 30_000, 'the owner script to print its child pid');
    const sleeper = Number(firstLine);
    leftovers.push(sleeper);
    expect(isProcessAlive(sleeper)).toBe(true);

    owner.kill('SIGINT');
    await waitForExit(owner, { timeoutMs: 30_000, what: 'the owner script to exit after SIGINT' });
    await waitFor(() => !isProcessAlive(sleeper), { timeoutMs: 10_000, describe: () => `the sleeper it started (pid ${sleeper}) to be gone: still alive` });
  });
});
