// Test harness: writes a config and zone files into a temp folder, starts the real server on an
// ephemeral loopback port, and offers dns-packet clients over UDP and TCP plus real `dig`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import packet from 'dns-packet';
import { pino } from 'pino';
import { Server } from '../../src/server.js';

export const execFileP = promisify(execFile);

export interface TestServer {
  server: Server;
  dir: string;
  port: number;
  /** Lines pino wrote, parsed. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export const BASE_CONFIG = `
listen: ["127.0.0.1:0"]
zones: ./zones
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
nsid: ns1.test-nsid
version: "steerdns-test"
log: { level: info }
`;

export function tempDir(prefix = 'steerdns-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `steerdns.yaml` and `zones/*` into a fresh folder; returns the folder. */
export function writeFixture(config: string, zones: Record<string, string>): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'zones'));
  writeFileSync(join(dir, 'steerdns.yaml'), config);
  for (const [name, text] of Object.entries(zones)) {
    mkdirSync(dirname(join(dir, 'zones', name)), { recursive: true }); // `inc/hosts.inc`: files a zone includes
    writeFileSync(join(dir, 'zones', name), text);
  }
  return dir;
}

export async function startServer(zones: Record<string, string>, config = BASE_CONFIG): Promise<TestServer> {
  const dir = writeFixture(config, zones);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const server = await Server.start({ configPath: join(dir, 'steerdns.yaml'), logger });
  return {
    server,
    dir,
    logs,
    port: server.bound[0]!.port,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Packet = packet.Packet;

let nextId = 1;

export function query(
  name: string,
  type: string,
  opts: { edns?: boolean; payload?: number; options?: unknown[]; klass?: string; rd?: boolean; id?: number } = {},
): Buffer {
  const p: Packet = {
    type: 'query',
    id: opts.id ?? nextId++ & 0xffff,
    flags: opts.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ name, type: type as packet.RecordType, class: (opts.klass ?? 'IN') as packet.RecordClass }],
  };
  if (opts.edns) {
    p.additionals = [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: opts.payload ?? 1232,
        options: (opts.options ?? []) as packet.PacketOpt[],
      } as unknown as packet.Answer,
    ];
  }
  return packet.encode(p);
}

/** A decoded record, loosely typed (dns-packet's types do not model every field it returns). */
export interface Rec {
  name: string;
  type: string;
  class: string;
  ttl: number;
  // biome-ignore lint/suspicious/noExplicitAny: dns-packet's data differs per record type; each test reads the fields of its type
  data: any;
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flags?: number;
  options?: { code: number; type?: string; data: Buffer; sourcePrefixLength?: number; scopePrefixLength?: number; ip?: string }[];
}

export interface Msg {
  id: number;
  type: string;
  flags: number;
  rcode: string;
  opcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  questions: { name: string; type: string; class: string }[];
  answers: Rec[];
  authorities: Rec[];
  additionals: Rec[];
}

export interface Reply {
  raw: Buffer;
  msg: Msg;
}

export function decode(raw: Buffer): Reply {
  return { raw, msg: packet.decode(raw) as unknown as Msg };
}

/** Sends one UDP message; resolves with the reply or null after `timeoutMs`. */
export function udpRaw(port: number, msg: Buffer, timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, host);
  });
}

export async function udp(port: number, msg: Buffer, host = '127.0.0.1'): Promise<Reply> {
  const raw = await udpRaw(port, msg, 2000, host);
  if (!raw) throw new Error('no UDP reply');
  return decode(raw);
}

/** Sends messages over one TCP connection (pipelined) and collects one reply per message. */
export function tcpMany(port: number, msgs: Buffer[], host = '127.0.0.1', timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host });
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP: ${replies.length}/${msgs.length} replies before timeout`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([u16(m.length), m])))));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length === msgs.length) {
        clearTimeout(timer);
        sock.end();
        resolve(replies);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function tcp(port: number, msg: Buffer, host = '127.0.0.1'): Promise<Reply> {
  const [raw] = await tcpMany(port, [msg], host);
  return decode(raw!);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Both transports, for tests that must hold over UDP and TCP alike. */
export const TRANSPORTS = { udp, tcp } as const;

/**
 * Runs real `dig` against the server; returns stdout. Two tries over UDP, as a resolver would: with the whole
 * suite loading the box, a single datagram was once lost (no answer within 10 s, in 1 of ~8 full runs).
 */
export async function dig(port: number, args: string[]): Promise<string> {
  const { stdout } = await execFileP('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=2', ...args]);
  return stdout;
}

export function rcodeOf(raw: Buffer): number {
  return raw[3]! & 0x0f;
}

export const SAMPLE_ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@":
    NS: [ns1, ns2]
    MX: [{ preference: 10, exchange: mail }]
    TXT: ["v=spf1 -all"]
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25, ttl: 600 }
  www: { CNAME: app }
  "*.static": { A: 192.0.2.80 }
  sub: { NS: [ns.sub.example.test.] }
  ns.sub: { A: 192.0.2.99 }
  app:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11, "2001:db8:1::10"]
        eu-west: [198.51.100.10]
`;

// ---- the real command line ---------------------------------------------------------------------
// Tests of `steerdns check` / `steerdns serve` spawn the built CLI (dist/cli.js; `npm test` builds it first).

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// At most a few CLI runs at a time per test file: a table of cases must not start dozens of processes at once.
const CLI_SLOTS = 4;
let cliRunning = 0;
const cliQueue: (() => void)[] = [];

async function cliSlot<T>(fn: () => Promise<T>): Promise<T> {
  // a finished run hands its slot straight to the next waiter
  if (cliRunning >= CLI_SLOTS) await new Promise<void>((r) => cliQueue.push(r));
  else cliRunning++;
  try {
    return await fn();
  } finally {
    const next = cliQueue.shift();
    if (next) next();
    else cliRunning--;
  }
}

/** Runs `node dist/cli.js ...args` in `cwd` to completion. */
export function runCli(args: string[], cwd: string, timeoutMs = 60_000): Promise<CliResult> {
  return cliSlot(() => runCliNow(args, cwd, timeoutMs));
}

function runCliNow(args: string[], cwd: string, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`steerdns ${args.join(' ')}: no exit within ${timeoutMs}ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running process (`steerdns serve`, `npm start`) whose stdout JSON lines are collected. */
export interface LoggedProcess {
  child: ChildProcess;
  /** stdout lines that parsed as JSON objects (pino). */
  logs: Record<string, unknown>[];
  /** Every stdout line as written. */
  lines: string[];
  stderr(): string;
  /** Resolves with the first log line (past or future) matching `pred`. */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly done: boolean;
}

export function spawnLogged(command: string, args: string[], opts: { cwd: string; detached?: boolean }): LoggedProcess {
  const child = spawn(command, args, { cwd: opts.cwd, detached: opts.detached ?? false, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let partial = '';
  let stderr = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (!line.startsWith('{')) continue;
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(l);
      for (const w of [...waiters]) {
        if (w.pred(l)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      if (partial) lines.push(partial);
      resolve({ code, signal });
    });
  });
  return {
    child,
    logs,
    lines,
    exited,
    get done() {
      return done;
    },
    stderr: () => stderr,
    waitForLog(pred, timeoutMs = 10_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no matching log line within ${timeoutMs}ms\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
        }, timeoutMs);
        const w = {
          pred,
          resolve: (l: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(w);
        void exited.then(() => {
          if (!waiters.includes(w)) return;
          clearTimeout(timer);
          reject(new Error(`process exited before a matching log line\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
        });
      });
    },
  };
}

/** Spawns `node dist/cli.js serve -c <config>` in `cwd`. */
export function spawnServe(cwd: string, config = 'steerdns.yaml'): LoggedProcess {
  return spawnLogged(process.execPath, [CLI, 'serve', '-c', config], { cwd });
}

/** The UDP/TCP port of the first address a spawned server logged in its "serving" line. */
export async function servingPort(p: LoggedProcess, timeoutMs = 10_000): Promise<number> {
  const l = await p.waitForLog((x) => x.msg === 'serving', timeoutMs);
  const listen = l.listen as string[];
  return Number(/:(\d+)$/.exec(listen[0]!)![1]);
}
