// ExecContainerCommand: the action hands back `ws://<host>/exec/<token>`; this module serves that
// WebSocket on the API port and runs a small, documented command set against the simulated
// container (no real process is started).
//
// Framing (like Kubernetes' channel.k8s.io): binary messages whose first byte is the stream —
//   0 stdin (client -> server), 1 stdout, 2 stderr, 3 status (server -> client, JSON).
// The client ends stdin with an empty stdin message ([0]) or [255, 0] (v5 close). Text messages
// from the client are taken as stdin. When the command ends the server sends a status message
// (`{"metadata":{},"status":"Success"}` or `"Failure"` with reason NonZeroExitCode and the code in
// details.causes[0].message) and closes with 1000. A token works once and expires after 60 s.
//
// Commands: echo [-n] ARGS, cat (stdin to stdout; `cat /etc/hostname`), env, hostname,
// printenv [NAME], pwd, true, false, exit N, sleep N (at most 10 s), sh|bash -c 'a; b && c'
// (`;`, `&&`, `||`, `>&2`, single and double quotes). Anything else: exit 127, "command not
// found".

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { Cloud } from './cloud.ts';

export interface ExecSession {
  groupId: string;
  container: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

export interface ExecIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whole stdin (until EOF); empty when the session has no stdin. */
  stdin: () => Promise<string>;
  env: Record<string, string>;
  hostname: string;
  workingDir: string;
}

const TOKEN_TTL_MS = 60_000;

export class ExecSessions {
  private readonly cloud: Cloud;
  private readonly sessions = new Map<string, { session: ExecSession; expires: number }>();
  private wss: WebSocketServer | undefined;

  constructor(cloud: Cloud) {
    this.cloud = cloud;
  }

  open(session: ExecSession): string {
    const now = Date.now();
    for (const [t, s] of this.sessions) if (s.expires < now) this.sessions.delete(t);
    const token = randomBytes(18).toString('base64url');
    this.sessions.set(token, { session, expires: now + TOKEN_TTL_MS });
    return token;
  }

  /** Runs without a WebSocket (Sync=true): returns stdout followed by stderr. */
  async runSync(session: ExecSession): Promise<string> {
    let out = '';
    let err = '';
    await runCommand(session.command, { ...this.ioFor(session), out: (t) => (out += t), err: (t) => (err += t), stdin: () => Promise.resolve('') });
    return out + err;
  }

  private ioFor(session: ExecSession): Omit<ExecIo, 'out' | 'err' | 'stdin'> {
    const g = this.cloud.store.groups.get(session.groupId);
    const c = g?.containers.find((x) => x.spec.name === session.container);
    const hostname = g?.name ?? 'unknown';
    const env: Record<string, string> = { HOSTNAME: hostname, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
    for (const e of c?.spec.env ?? []) {
      if (e.value !== undefined) env[e.key] = e.value;
      else if (e.fieldPath === 'status.podIP' && g !== undefined) env[e.key] = g.ip;
      else if (e.fieldPath === 'metadata.name' && g !== undefined) env[e.key] = g.name;
    }
    return { env, hostname, workingDir: c?.spec.workingDir ?? '/' };
  }

  /** Serves `/exec/<token>` upgrades on the API server. */
  attach(server: Server): void {
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => {
        for (const p of ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io']) if (protocols.has(p)) return p;
        return false;
      },
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const m = /^\/exec\/([A-Za-z0-9_-]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
      const entry = m === null ? undefined : this.sessions.get(m[1]!);
      if (m === null || entry === undefined || entry.expires < Date.now()) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nunknown or expired exec token\n');
        return;
      }
      this.sessions.delete(m[1]!);
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.serve(ws, entry.session));
    });
  }

  private serve(ws: WebSocket, session: ExecSession): void {
    let stdinText = '';
    let stdinDone = !session.stdin;
    let wakeStdin: (() => void) | undefined;
    const finishStdin = (): void => {
      stdinDone = true;
      wakeStdin?.();
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (!isBinary) {
        stdinText += buf.toString();
        return;
      }
      if (buf.length === 0) return;
      if (buf[0] === 255) return finishStdin();
      if (buf[0] !== 0) return;
      if (buf.length === 1) return finishStdin();
      stdinText += buf.subarray(1).toString();
    });
    ws.on('close', finishStdin);
    const send = (channel: number, text: string): void => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(text)]));
    };
    const io: ExecIo = {
      ...this.ioFor(session),
      out: (t) => send(1, t),
      err: (t) => send(2, t),
      stdin: async () => {
        while (!stdinDone) await new Promise<void>((resolve) => (wakeStdin = resolve));
        return stdinText;
      },
    };
    void runCommand(session.command, io).then((code) => {
      const status =
        code === 0
          ? { metadata: {}, status: 'Success' }
          : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
      send(3, JSON.stringify(status));
      ws.close(1000);
    });
  }

  close(): void {
    this.wss?.close();
    this.sessions.clear();
  }
}

class ExitSignal extends Error {
  readonly code: number;

  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** Runs one command line (argv) of the documented set; resolves to its exit code. */
export async function runCommand(argv: readonly string[], io: ExecIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    if (e instanceof ExitSignal) return e.code;
    io.err(`sh: ${(e as Error).message}\n`);
    return 2;
  }
}

async function run(argv: readonly string[], io: ExecIo): Promise<number> {
  const [cmd0, ...args] = argv;
  if (cmd0 === undefined) return 0;
  const cmd = cmd0.slice(cmd0.lastIndexOf('/') + 1);
  switch (cmd) {
    case 'echo': {
      const noNewline = args[0] === '-n';
      io.out(`${(noNewline ? args.slice(1) : args).join(' ')}${noNewline ? '' : '\n'}`);
      return 0;
    }
    case 'cat': {
      if (args.length === 0 || args[0] === '-') {
        io.out(await io.stdin());
        return 0;
      }
      let code = 0;
      for (const f of args) {
        if (f === '/etc/hostname') io.out(`${io.hostname}\n`);
        else {
          io.err(`cat: ${f}: No such file or directory\n`);
          code = 1;
        }
      }
      return code;
    }
    case 'env':
      io.out(Object.entries(io.env).map(([k, v]) => `${k}=${v}\n`).join(''));
      return 0;
    case 'printenv': {
      if (args.length === 0) return run(['env'], io);
      const v = io.env[args[0]!];
      if (v === undefined) return 1;
      io.out(`${v}\n`);
      return 0;
    }
    case 'hostname':
      io.out(`${io.hostname}\n`);
      return 0;
    case 'pwd':
      io.out(`${io.workingDir}\n`);
      return 0;
    case 'true':
      return 0;
    case 'false':
      return 1;
    case 'exit': {
      const code = args[0] === undefined ? 0 : Number(args[0]);
      throw new ExitSignal(Number.isInteger(code) ? code & 255 : 2);
    }
    case 'sleep': {
      const s = Number(args[0] ?? '0');
      if (!Number.isFinite(s) || s < 0) {
        io.err(`sleep: invalid time interval '${args[0] ?? ''}'\n`);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(s, 10) * 1000));
      return 0;
    }
    case 'sh':
    case 'bash':
    case 'ash': {
      if (args[0] !== '-c' || args[1] === undefined) {
        io.err(`${cmd}: only "${cmd} -c 'commands'" is supported by cloudsim\n`);
        return 2;
      }
      return script(args[1], io);
    }
    default:
      io.err(`sh: ${cmd0}: command not found\n`);
      return 127;
  }
}

/** A minimal shell: `;`, `&&`, `||`, quotes, `>&2`; `exit` ends the script. */
async function script(text: string, io: ExecIo): Promise<number> {
  const tokens = tokenize(text);
  let code = 0;
  let words: string[] = [];
  let skip = false;
  const flush = async (): Promise<void> => {
    if (words.length > 0 && !skip) {
      const toStderr = words.some((w) => w === '>&2' || w === '1>&2');
      const argv = toStderr ? words.filter((w) => w !== '>&2' && w !== '1>&2') : words;
      code = await run(argv, toStderr ? { ...io, out: io.err } : io);
    }
    words = [];
  };
  for (const t of tokens) {
    if (t.op === undefined) {
      words.push(t.word);
      continue;
    }
    await flush();
    if (t.op === ';') skip = false;
    else if (t.op === '&&') skip = skip || code !== 0;
    else skip = skip || code === 0;
  }
  await flush();
  return code;
}

function tokenize(text: string): ({ op: ';' | '&&' | '||'; word: '' } | { op: undefined; word: string })[] {
  const out: ({ op: ';' | '&&' | '||'; word: '' } | { op: undefined; word: string })[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end === -1) throw new Error('unterminated quote');
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (inWord) out.push({ op: undefined, word });
      word = '';
      inWord = false;
    } else if (ch === ';' || (ch === '&' && text[i + 1] === '&') || (ch === '|' && text[i + 1] === '|')) {
      if (inWord) out.push({ op: undefined, word });
      word = '';
      inWord = false;
      if (ch === ';') out.push({ op: ';', word: '' });
      else {
        out.push({ op: ch === '&' ? '&&' : '||', word: '' });
        i++;
      }
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) out.push({ op: undefined, word });
  return out;
}
