// Real health-check backends on loopback (Linux routes all of 127/8 to lo, so every backend gets its own
// 127.0.1.x address): TCP listeners, a listener whose accept queue is full (connects time out), switchable
// HTTP/HTTPS backends (200, 503, refused, hanging), and abusive raw servers (endless body, endless headers,
// silent). Every backend records what it saw and closes all its sockets on close(). Plus the small tools the
// health tests share: a pino logger writing into an array, CheckSpec/CheckTarget builders keyed like the
// server keys them, a probe wrapper that records when each real probe started and ended, polling, the
// measured lateness of this event loop (the slack for time bounds), and gc for memory readings.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { type Logger, pino } from 'pino';
import type { CheckSpec, PoolSpec } from '../../src/config/zone-file.js';
import { type ProbeResult, type ProbeTarget, probe } from '../../src/health/checks.js';
import { healthKey } from '../../src/health/probe-list.js';
import type { CheckTarget, TargetUse } from '../../src/health/prober.js';

/** The n-th backend address, 127.0.1.n. */
export const addr = (n: number): string => `127.0.1.${n}`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every `stepMs` until it holds; resolves with Date.now() at that moment, rejects after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what = 'condition', stepMs = 5): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return Date.now();
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

// How late timers fire on this event loop, recorded from the moment this module loads: a 5 ms interval timer
// notes every tick that comes late (the loop was busy, or the process was descheduled on a loaded machine).
const TICK = 5;
/** Lateness under this is the interval timer's own noise, not a stall. */
const NOISE = 2;
const lateTicks: { at: number; late: number }[] = [];
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  const late = now - lastTick - TICK;
  if (late >= NOISE) lateTicks.push({ at: Date.now(), late });
  while (lateTicks.length > 0 && lateTicks[0]!.at < Date.now() - 120_000) lateTicks.shift();
  lastTick = now;
}, TICK).unref();

/** Ticks late since `from` (Date.now() time), the current unfinished one included. */
function lateSince(from: number): number[] {
  const pending = performance.now() - lastTick - TICK;
  return [...lateTicks.filter((x) => x.at >= from).map((x) => x.late), ...(pending >= NOISE ? [pending] : [])];
}

/**
 * The measured, honest slack for time bounds: how late timers fired on this event loop since this object was
 * made (or reset). A few milliseconds on an idle machine; when the machine is busy (other test processes, load
 * above the core count) the process is descheduled and every timer, the prober's included, fires late.
 */
export class Lateness {
  private from = Date.now();

  /** The largest lateness of one timer since the start (or the last reset), ms: the slack for one timer. */
  get ms(): number {
    return Math.round(Math.max(NOISE, ...lateSince(this.from)));
  }

  /**
   * The slack for a chain of `hops` timers, each due relative to when the one before it actually fired: all the
   * time the loop was held up since the start (each stretch of it delays the chain at most once), plus per hop
   * what the 5 ms tick can miss of a stretch (one tick) and the timer noise.
   */
  chain(hops: number): number {
    return Math.round(lateSince(this.from).reduce((a, b) => a + b, 0) + hops * (TICK + NOISE));
  }

  reset(): void {
    this.from = Date.now();
  }

  stop(): void {}
}

// ---- logs -------------------------------------------------------------------------------------------

export type LogLine = Record<string, unknown> & { level: number; msg: string; time: number };

/** A pino logger whose JSON lines land, parsed, in `logs` (synchronously, as test/helpers/server.ts does). */
export function captureLogger(): { log: Logger; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), logs };
}

/** State-change lines of the prober (they carry from/to). */
export const stateChanges = <T extends Record<string, unknown>>(logs: T[]): T[] =>
  logs.filter((l) => typeof l.from === 'string' && typeof l.to === 'string');
export const panicLines = <T extends Record<string, unknown>>(logs: T[]): T[] => logs.filter((l) => /^PANIC/.test(String(l.msg)));
export const panicOverLines = <T extends Record<string, unknown>>(logs: T[]): T[] => logs.filter((l) => /^panic over/.test(String(l.msg)));

// ---- checks and targets ------------------------------------------------------------------------------

export function checkSpec(over: Partial<CheckSpec> = {}): CheckSpec {
  return {
    type: 'http',
    port: 80,
    path: '/',
    host: 'app.example.test',
    headers: {},
    expect: [200],
    body: null,
    insecure: false,
    intervalMs: 300,
    timeoutMs: 200,
    rise: 2,
    fall: 3,
    initial: 'up',
    ...over,
  };
}

/** A CheckTarget keyed exactly as the server keys it (src/health/probe-list.ts healthKey). */
export function checkTarget(
  address: string,
  check: CheckSpec,
  uses: TargetUse[] = [{ zone: 'example.test', pool: 'app.example.test', region: 'us-east' }],
): CheckTarget {
  return { key: healthKey({ check } as PoolSpec, address), address, check, uses };
}

export interface ProbeRecord {
  address: string;
  port: number;
  path: string;
  start: number;
  end: number;
  result: ProbeResult;
}

/** The real probe, recording when each call started and ended (for schedule and duration checks). */
export function recordingProbe(): { fn: (t: ProbeTarget) => Promise<ProbeResult>; records: ProbeRecord[] } {
  const records: ProbeRecord[] = [];
  return {
    records,
    async fn(t) {
      const start = Date.now();
      const result = await probe(t);
      records.push({ address: t.address, port: t.check.port, path: t.check.path, start, end: Date.now(), result });
      return result;
    },
  };
}

// ---- memory ------------------------------------------------------------------------------------------

let gcFn: (() => void) | null | undefined;

/**
 * V8's gc() without a command-line flag: --expose-gc set at run time, then `gc` read from a fresh context
 * (the global only appears in contexts created after the flag is set). Null if that does not work.
 */
export function forceGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    v8.setFlagsFromString('--expose-gc');
    const f = vm.runInNewContext('gc') as unknown;
    gcFn = typeof f === 'function' ? (f as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Collects garbage (when possible) and lets freed ArrayBuffers be released; then reads memory. */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = forceGc();
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

// ---- listeners -----------------------------------------------------------------------------------------

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  sockets.clear();
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Keeps track of a server's sockets so that stop/close can destroy them. */
function track(server: net.Server, sockets: Set<net.Socket>): void {
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
}

// ---- TCP ---------------------------------------------------------------------------------------------

/** A TCP listener that accepts and closes; `hits` holds the time of every accepted connection, `peers` its source address. */
export class TcpBackend {
  readonly hits: number[] = [];
  readonly peers: string[] = [];
  private readonly server = net.createServer((s) => {
    this.hits.push(Date.now());
    this.peers.push(s.remoteAddress ?? '');
    s.end();
  });
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  private constructor(readonly host: string) {
    track(this.server, this.sockets);
  }

  static async start(host: string, port = 0): Promise<TcpBackend> {
    const b = new TcpBackend(host);
    b.port = await listen(b.server, host, port);
    return b;
  }

  /** Listeners on several addresses sharing one port (a pool's tcp check has one port). */
  static async startMany(hosts: string[]): Promise<TcpBackend[]> {
    for (let attempt = 0; ; attempt++) {
      const first = await TcpBackend.start(hosts[0]!);
      const all = [first];
      try {
        for (const h of hosts.slice(1)) all.push(await TcpBackend.start(h, first.port));
        return all;
      } catch (e) {
        await Promise.all(all.map((b) => b.close()));
        // another process took this port on one of the addresses: pick another port
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
      }
    }
  }

  get listening(): boolean {
    return this.server.listening;
  }

  hitsSince(t: number): number {
    return this.hits.filter((h) => h >= t).length;
  }

  /** Stops listening: connections are refused from now on. */
  stop(): Promise<void> {
    return closeServer(this.server, this.sockets);
  }

  /** Listens again on the same address and port. */
  async resume(): Promise<void> {
    await listen(this.server, this.host, this.port);
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/**
 * A TCP listener whose accept queue is full, so the kernel drops further SYNs and a connect neither
 * completes nor fails: the honest way to make a TCP connect time out on loopback (nothing on lo drops
 * packets otherwise). The listening socket lives in a worker thread whose event loop is parked in
 * Atomics.wait, so it never accepts; filler connections occupy the queue (backlog 1).
 */
export class FullBacklog {
  private readonly fillers: net.Socket[] = [];
  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly worker: Worker,
    private readonly flag: Int32Array,
  ) {}

  static async start(host: string): Promise<FullBacklog> {
    const sab = new SharedArrayBuffer(4);
    const worker = new Worker(
      `
      const { workerData, parentPort } = require('node:worker_threads');
      const net = require('node:net');
      const srv = net.createServer();
      srv.listen({ host: workerData.host, port: 0, backlog: 1 }, () => {
        parentPort.postMessage(srv.address().port);
        Atomics.wait(new Int32Array(workerData.sab), 0, 0);   // never accept until told to stop
        srv.close();
      });
    `,
      { eval: true, workerData: { host, sab } },
    );
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const b = new FullBacklog(host, port, worker, new Int32Array(sab));
    // fill the accept queue: connect until a connect does not complete within 300 ms
    for (let i = 0; i < 16; i++) {
      const s = net.connect({ host, port });
      s.on('error', () => {});
      b.fillers.push(s);
      const connected = await new Promise<boolean>((resolve) => {
        let ok = false;
        s.once('connect', () => {
          ok = true;
          clearTimeout(timer);
          resolve(true);
        });
        // setImmediate: a completion that is pending when the timer fires (a late timer) is processed first
        const timer = setTimeout(() => setImmediate(() => resolve(ok)), 300);
      });
      if (!connected) return b;
    }
    await b.close();
    throw new Error('could not fill the accept queue');
  }

  async close(): Promise<void> {
    for (const s of this.fillers) s.destroy();
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
    await this.worker.terminate();
  }
}

// ---- HTTP(S) -------------------------------------------------------------------------------------------

export interface SeenRequest {
  at: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The client's address (which source address a probe left from). */
  from: string;
  /** TLS server name the client sent (https), false (or null) when none. */
  servername?: string | false | null;
}

export type Mode = 'ok' | 'status' | 'hang';

const CERT_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const TLS_CERT = readFileSync(`${CERT_DIR}selfsigned-cert.pem`);
export const TLS_KEY = readFileSync(`${CERT_DIR}selfsigned-key.pem`);

/**
 * An HTTP or HTTPS backend whose behaviour can be flipped: `ok` answers `status` (default 200) with
 * `body` (but `failStatus` to the client addresses in `failFrom`), `status` answers `failStatus`, `hang` reads the request and never answers; stop() refuses
 * connections (listener closed), resume() listens again on the same port. A custom handler may replace
 * the whole behaviour. `requests` records every request; `sni` every TLS server name offered, even in
 * handshakes the client then aborts.
 */
export class HttpBackend {
  readonly requests: SeenRequest[] = [];
  readonly sni: (string | false)[] = [];
  mode: Mode = 'ok';
  status = 200;
  failStatus = 503;
  /** Client addresses answered `failStatus` even in `ok` mode (a backend that fails the probes of one site only). */
  failFrom = new Set<string>();
  body = 'ok';
  /** Delay before answering in `ok` mode, milliseconds. */
  delayMs = 0;
  port = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly host: string,
    tls: boolean,
    private readonly handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  ) {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res);
    if (tls) {
      // SNICallback runs on every ClientHello that names a server, before the client sees the certificate,
      // so names are recorded even for clients that then reject it; no context given = the default one
      const server = https.createServer(
        {
          key: TLS_KEY,
          cert: TLS_CERT,
          SNICallback: (name, cb) => {
            this.sni.push(name);
            cb(null, undefined);
          },
        },
        onRequest,
      );
      server.on('tlsClientError', () => {});
      this.server = server;
    } else {
      this.server = http.createServer(onRequest);
    }
    track(this.server, this.sockets);
  }

  /** `port`: listen on this port (another backend's, so that one pool check reaches both); default any free one. */
  static async start(
    host: string,
    opts: { tls?: boolean; handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void; port?: number } = {},
  ): Promise<HttpBackend> {
    const b = new HttpBackend(host, opts.tls ?? false, opts.handler);
    b.port = await listen(b.server, host, opts.port ?? 0);
    return b;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const servername = (req.socket as TLSSocket).encrypted ? (req.socket as TLSSocket).servername : undefined;
    this.requests.push({
      at: Date.now(),
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      from: req.socket.remoteAddress ?? '',
      servername,
    });
    if (this.handler) {
      this.handler(req, res);
      return;
    }
    if (this.mode === 'hang') return; // read the request, never answer
    const status = this.mode === 'status' || this.failFrom.has(req.socket.remoteAddress ?? '') ? this.failStatus : this.status;
    const answer = () => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(this.body);
    };
    if (this.delayMs > 0) setTimeout(answer, this.delayMs);
    else answer();
  }

  get listening(): boolean {
    return this.server.listening;
  }

  requestsSince(t: number): SeenRequest[] {
    return this.requests.filter((r) => r.at >= t);
  }

  stop(): Promise<void> {
    return closeServer(this.server, this.sockets);
  }

  async resume(): Promise<void> {
    await listen(this.server, this.host, this.port);
  }

  close(): Promise<void> {
    return this.stop();
  }
}

// ---- abusive backends -------------------------------------------------------------------------------------

export interface ConnRecord {
  opened: number;
  closed: number | null;
  /** Bytes handed to the socket (respecting backpressure, so at most one chunk sits in user space). */
  bytesOut: number;
  /** The request line the client sent. */
  request: string;
  /** The client's port (tells one's own connections from the prober's). */
  peerPort: number;
}

/**
 * A raw TCP server that, once the request arrives, writes `head` and then `filler` forever: `flood`
 * writes as fast as the socket takes it (the kernel's socket buffers fill at once), `paced` one chunk
 * per millisecond (so the bytes written show how much the client really consumed before closing).
 * With `head` empty and no filler it is a server that accepts, reads and never answers.
 */
export class RawBackend {
  readonly conns: ConnRecord[] = [];
  port = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly host: string,
    head: Buffer,
    filler: Buffer | null,
    pace: 'flood' | 'paced',
  ) {
    this.server = net.createServer((s) => {
      const c: ConnRecord = { opened: Date.now(), closed: null, bytesOut: 0, request: '', peerPort: s.remotePort ?? 0 };
      this.conns.push(c);
      s.once('close', () => {
        c.closed = Date.now();
      });
      s.resume(); // read (and discard) whatever the client sends
      s.once('data', (d: Buffer) => {
        c.request = d.toString('latin1').split('\r\n')[0]!;
        if (head.length === 0 && !filler) return; // accepts, reads, never answers
        c.bytesOut += head.length;
        s.write(head);
        if (!filler) return;
        const alive = () => !s.destroyed && s.writable;
        if (pace === 'flood') {
          const pump = () => {
            while (alive()) {
              c.bytesOut += filler.length;
              if (!s.write(filler)) {
                s.once('drain', pump);
                return;
              }
            }
          };
          pump();
        } else {
          const tick = () => {
            if (!alive()) return;
            c.bytesOut += filler.length;
            if (s.write(filler)) setTimeout(tick, 1);
            else s.once('drain', () => setTimeout(tick, 1));
          };
          tick();
        }
      });
    });
    track(this.server, this.sockets);
  }

  static async start(host: string, head: string | Buffer, filler: Buffer | null, pace: 'flood' | 'paced' = 'flood'): Promise<RawBackend> {
    const b = new RawBackend(host, Buffer.from(head), filler, pace);
    b.port = await listen(b.server, host, 0);
    return b;
  }

  /** Headers, then an endless body. */
  static endlessBody(host: string, pace: 'flood' | 'paced'): Promise<RawBackend> {
    return RawBackend.start(
      host,
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n',
      Buffer.alloc(16 * 1024, 'x'),
      pace,
    );
  }

  /** A status line, then header lines forever. */
  static endlessHeaders(host: string, pace: 'flood' | 'paced'): Promise<RawBackend> {
    let lines = '';
    for (let i = 0; lines.length < 16 * 1024; i++) lines += `X-Filler-${i}: ${'a'.repeat(100)}\r\n`;
    return RawBackend.start(host, 'HTTP/1.1 200 OK\r\n', Buffer.from(lines), pace);
  }

  /** Accepts, reads the request, never answers. */
  static hanging(host: string): Promise<RawBackend> {
    return RawBackend.start(host, '', null);
  }

  close(): Promise<void> {
    return closeServer(this.server, this.sockets);
  }
}
