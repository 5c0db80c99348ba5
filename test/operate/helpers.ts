// Shared tools of the operate tests: a server started in a folder the test
// owns (so it can be stopped and started again on the same state_dir), a tight-loop UDP client (one
// query outstanding at a time, a timeout is a failure), polling with measured times, HTTP helpers, and a
// small but strict Prometheus text-format (0.0.4) parser.
import dgram from 'node:dgram';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { Server } from '../../src/server.js';
import { SETTLE_MS } from '../../src/watch.js';
import { decode, type Msg, query, udp } from '../helpers/server.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `stepMs` until it returns something other than undefined; resolves with the value and
 * the milliseconds since `from`. Rejects after `timeoutMs` with `what` and the last value seen.
 */
export async function poll<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; what: string; stepMs?: number; from?: number },
): Promise<{ value: T; ms: number }> {
  const from = opts.from ?? Date.now();
  const end = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return { value: v, ms: Date.now() - from };
    if (Date.now() > end) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    await sleep(opts.stepMs ?? 20);
  }
}

// ---- a server in a folder the test owns -------------------------------------------------------------

export interface OwnedServer {
  server: Server;
  port: number;
  logs: Record<string, unknown>[];
  /** Stops the server; the folder (config, zones, state_dir) stays. */
  stop(): Promise<void>;
}

/** Starts the real server on `dir/steerdns.yaml` with a pino logger writing into `logs`. */
export async function startIn(t: ExecutionContext, dir: string): Promise<OwnedServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const server = await Server.start({ configPath: join(dir, 'steerdns.yaml'), logger: pino({ level: 'debug' }, sink) });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
  };
  t.teardown(stop);
  return { server, port: server.bound[0]!.port, logs, stop };
}

// ---- DNS -----------------------------------------------------------------------------------------------

/** The addresses answered for `name` A (UDP), sorted. */
export async function addressesOf(port: number, name: string, type = 'A'): Promise<string[]> {
  const r = await udp(port, query(name, type));
  return r.msg.answers
    .filter((a) => a.type === type)
    .map((a) => a.data as string)
    .sort();
}

export async function soaSerial(port: number, zone: string): Promise<number> {
  const r = await udp(port, query(zone, 'SOA'));
  const soa = r.msg.answers.find((a) => a.type === 'SOA');
  if (!soa) throw new Error(`no SOA answer for ${zone}: ${r.msg.rcode}`);
  return soa.data.serial as number;
}

/** One query of a tight loop: what to send and how to judge the reply (a string is a failure). */
export interface LoopQuery {
  name: string;
  type: string;
  judge(msg: Msg): string | null;
}

export interface LoopResult {
  sent: number;
  answered: number;
  failures: string[];
  /** How many replies of each kind (a short description of each reply) came. */
  seen: Map<string, number>;
}

/**
 * A client querying back to back over one UDP socket: one query outstanding at a time, each with its own
 * id; a reply that does not come within `timeoutMs` is a failure (and the loop goes on). Runs until
 * `running()` turns false.
 */
export async function tightLoop(
  port: number,
  queries: LoopQuery[],
  running: () => boolean,
  opts: { timeoutMs?: number; describe?: (q: LoopQuery, m: Msg) => string } = {},
): Promise<LoopResult> {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let waiting: { id: number; resolve: (m: Buffer | null) => void } | null = null;
  sock.on('message', (m) => {
    if (waiting && m.length >= 2 && m.readUInt16BE(0) === waiting.id) {
      const w = waiting;
      waiting = null;
      w.resolve(m);
    }
  });
  const res: LoopResult = { sent: 0, answered: 0, failures: [], seen: new Map() };
  let id = Math.floor(Math.random() * 0xffff);
  try {
    for (let i = 0; running(); i++) {
      const q = queries[i % queries.length]!;
      id = (id + 1) & 0xffff;
      const msg = query(q.name, q.type, { id });
      const started = Date.now();
      const raw = await new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => {
          waiting = null;
          resolve(null);
        }, timeoutMs);
        waiting = {
          id,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        sock.send(msg, port, '127.0.0.1');
      });
      res.sent++;
      if (!raw) {
        res.failures.push(`#${i} ${q.name} ${q.type}: no reply within ${timeoutMs} ms (sent at ${new Date(started).toISOString()})`);
        continue;
      }
      res.answered++;
      const m = decode(raw).msg;
      const why = m.questions[0]?.name.toLowerCase() !== q.name.toLowerCase() ? `question ${JSON.stringify(m.questions)}` : q.judge(m);
      if (why) res.failures.push(`#${i} ${q.name} ${q.type}: ${why}`);
      const d = opts.describe ? opts.describe(q, m) : `${q.type} ${m.rcode}`;
      res.seen.set(d, (res.seen.get(d) ?? 0) + 1);
    }
  } finally {
    sock.close();
  }
  return res;
}

/** A tight loop started now and stopped with `stop()` (or when the test ends, whatever happened). */
export function startLoop(
  t: ExecutionContext,
  port: number,
  queries: LoopQuery[],
  opts: { timeoutMs?: number; describe?: (q: LoopQuery, m: Msg) => string } = {},
): { stop(): Promise<LoopResult> } {
  let running = true;
  const done = tightLoop(port, queries, () => running, opts);
  t.teardown(async () => {
    running = false;
    await done;
  });
  return {
    stop() {
      running = false;
      return done;
    },
  };
}

/** A query with qtype `code` (for types dns-packet has no name for). */
export function queryOfType(name: string, code: number): Buffer {
  const b = query(name, 'A');
  b.writeUInt16BE(code, b.length - 4); // QTYPE, then QCLASS, end the question (no other sections)
  return b;
}

// ---- HTTP ----------------------------------------------------------------------------------------------

export interface HttpReply {
  status: number;
  type: string;
  body: string;
}

export async function get(port: number, path: string, init: RequestInit = {}): Promise<HttpReply> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

// ---- Prometheus text format 0.0.4 ------------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string | null;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

// Values as Prometheus reads them (Go's strconv.ParseFloat): special values in any case, so prom-client's
// `Nan` is a NaN.
function parseValue(s: string, where: string): number {
  if (/^[+]?inf(inity)?$/i.test(s)) return Infinity;
  if (/^-inf(inity)?$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

/** The family a sample name belongs to, given the declared families (histogram/summary suffixes). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name);
  if (direct && direct.type !== 'histogram') return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return direct && direct.type !== 'histogram' ? direct : undefined;
}

/**
 * Parses the Prometheus text exposition format strictly: `# HELP` / `# TYPE` at most once per family and
 * before its samples, a family's samples together, label values with `\\`, `\"` and `\n` escapes, no
 * duplicate series; histograms checked (buckets cumulative in increasing `le`, `+Inf` = `_count`, `_sum`).
 * Throws on the first violation, naming the line.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const typed = new Set<string>();
  const closed = new Set<string>(); // families whose samples ended (another family's samples came after)
  let current: Family | null = null;
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1} ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name);
      if (f && closed.has(name)) throw new Error(`${where}: ${kind} after the samples of ${name}`);
      if (!f) {
        f = { name, help: null, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (f.samples.length > 0) throw new Error(`${where}: ${kind} after samples of ${name}`);
      if (kind === 'HELP') {
        if (f.help !== null) throw new Error(`${where}: second HELP for ${name}`);
        f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        if (typed.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: unknown type ${JSON.stringify(rest)}`);
        f.type = rest.trim() as Family['type'];
        typed.add(name);
      }
      if (current && current !== f) closed.add(current.name);
      current = f;
      return;
    }
    // a sample: name, optional {labels}, value, optional timestamp
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nm) throw new Error(`${where}: no metric name`);
    const name = nm[0];
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        while (line[pos] === ' ') pos++;
        if (line[pos] === '}') {
          pos++;
          break;
        }
        const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos));
        if (!ln || !LABEL_NAME.test(ln[0])) throw new Error(`${where}: bad label name at column ${pos + 1}`);
        pos += ln[0].length;
        if (line[pos] !== '=' || line[pos + 1] !== '"') throw new Error(`${where}: expected =" at column ${pos + 1}`);
        pos += 2;
        let value = '';
        for (;;) {
          const c = line[pos];
          if (c === undefined) throw new Error(`${where}: unterminated label value`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[pos + 1];
            if (e === '\\') value += '\\';
            else if (e === '"') value += '"';
            else if (e === 'n') value += '\n';
            else throw new Error(`${where}: bad escape \\${e ?? ''} in a label value`);
            pos += 2;
          } else {
            value += c;
            pos++;
          }
        }
        pos++; // the closing quote
        if (ln[0] in labels) throw new Error(`${where}: label ${ln[0]} twice`);
        labels[ln[0]] = value;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') throw new Error(`${where}: expected , or } at column ${pos + 1}`);
      }
    }
    const rest = line.slice(pos);
    const vm = /^ +(\S+)(?: +(-?\d+))? *$/.exec(rest);
    if (!vm) throw new Error(`${where}: expected a value after the name and labels`);
    const value = parseValue(vm[1]!, where);
    const f = familyOf(name, families);
    if (!f || !typed.has(f.name)) throw new Error(`${where}: sample of ${name} without a TYPE line before it`);
    if (closed.has(f.name) || current !== f) throw new Error(`${where}: samples of ${f.name} are not together`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: duplicate series`);
    series.add(key);
    if (f.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels)) throw new Error(`${where}: bucket without le`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: { le: number; v: number }[]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const rest = Object.entries(s.labels)
      .filter(([k]) => k !== 'le')
      .sort();
    const key = JSON.stringify(rest);
    let g = groups.get(key);
    if (!g) {
      g = { buckets: [] };
      groups.set(key, g);
    }
    if (s.name === `${f.name}_bucket`) g.buckets.push({ le: parseValue(s.labels.le!, `${f.name} le`), v: s.value });
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [key, g] of groups) {
    const what = `histogram ${f.name}${key}`;
    if (g.buckets.length === 0 || g.sum === undefined || g.count === undefined) throw new Error(`${what}: needs buckets, _sum and _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]!.le > g.buckets[i - 1]!.le)) throw new Error(`${what}: le not increasing`);
      if (g.buckets[i]!.v < g.buckets[i - 1]!.v) throw new Error(`${what}: buckets not cumulative at le=${g.buckets[i]!.le}`);
    }
    const last = g.buckets[g.buckets.length - 1]!;
    if (last.le !== Infinity) throw new Error(`${what}: no +Inf bucket`);
    if (last.v !== g.count) throw new Error(`${what}: +Inf bucket ${last.v} ≠ _count ${g.count}`);
  }
}

/** The value of the one sample of `name` whose labels include `labels` (undefined when none). */
export function sampleValue(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of fams.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

/** The sum of every sample of `name` whose labels include `labels`. */
export function sampleSum(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let n = 0;
  for (const f of fams.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) n += s.value;
  }
  return n;
}

export async function scrape(port: number): Promise<Map<string, Family>> {
  const r = await get(port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
  return parsePrometheus(r.body);
}

/**
 * Waits until every file last changed at least the settle time ago: a SIGHUP then reads them (one changed more
 * recently keeps its served version until the folder watcher reads it, once it held still).
 */
export async function heldStill(...files: string[]): Promise<void> {
  const age = (f: string) => {
    const st = statSync(f);
    return Date.now() - Math.max(st.mtimeMs, st.ctimeMs);
  };
  await poll(() => (files.every((f) => age(f) >= SETTLE_MS) ? true : undefined), {
    timeoutMs: 10_000,
    stepMs: 10,
    what: 'the zone files held still for the settle time',
  });
}
