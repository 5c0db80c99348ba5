// Active health checks end to end (docs/operations.md#health-checking): the real server (in-process, real
// sockets), real HTTP backends on their own 127.0.1.x addresses, and real `dig`. The client (127.0.0.1) is
// placed by a `geoip.networks` location next to region "near", so `nearest` ordering (not a pin) puts "near"
// first and "far" second. Stopping near's backends moves the answers to far with a halved TTL; restarting them
// brings near back with the full TTL; stopping every backend (panic: off) fails open — serve-all: every
// non-down target of the first region, TTL halved — and steerdns_failopen_total moves. A `state: down` target
// has a live backend that counts requests: it is never probed and never served.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { dig, startServer, type TestServer } from '../helpers/server.js';

// ---- timings (health defaults of the test config) ---------------------------------------------

const INTERVAL = 300;
const TIMEOUT = 200;
const RISE = 2;
const FALL = 2;
const JITTER = 0.1; // the prober spreads every delay by ±10% (src/health/prober.ts)
const TTL = 30;
const HALF = 15;
/**
 * How soon a health change shows: down within fall × interval + timeout + one interval, up within
 * 4 × interval + rise × interval + timeout (docs/operations.md#health-checking). The jitter stretches every
 * delay by up to 10%; SLACK covers what the bound does not model: the poll step, spawning `dig`, and
 * event-loop delay while the other test files of the run load the machine.
 */
const DOWN_WITHIN = (FALL * INTERVAL + INTERVAL) * (1 + JITTER) + TIMEOUT;
const UP_WITHIN = (4 * INTERVAL + RISE * INTERVAL) * (1 + JITTER) + TIMEOUT;
const SLACK = 750;
/** The log line of a state change is stamped by the prober itself: no dig or poll step in it. */
const LOG_SLACK = 250;

// ---- backends ---------------------------------------------------------------------------------

/** One HTTP backend address: answers 200 on /healthz while started, counts every request it gets. */
class Backend {
  hits = 0;
  private server: http.Server | null = null;

  constructor(readonly address: string) {}

  start(port: number): Promise<number> {
    const server = http.createServer((req, res) => {
      this.hits++;
      res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain', connection: 'close' });
      res.end('ok\n');
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.address, () => {
        server.off('error', reject);
        this.server = server;
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and drops every open connection: probes now get "connection refused". */
  stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

/** Starts every backend on one port shared by all their addresses (the kernel picks it on the first). */
async function startBackends(backends: Backend[]): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let port = 0;
    try {
      for (const b of backends) port = await b.start(port);
      return port;
    } catch (e) {
      await Promise.all(backends.map((b) => b.stop()));
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
  throw new Error('no port free on every backend address');
}

// ---- server -----------------------------------------------------------------------------------

const CONFIG = `
listen: ["127.0.0.1:0"]
zones: ./zones
http: "127.0.0.1:0"
regions:
  near: { location: [50.1, 8.7] }     # Frankfurt
  far:  { location: [40.7, -74.0] }   # New York
geoip:
  networks:
    "127.0.0.0/8": { location: [50.9, 6.9] }   # Cologne: nearest to "near", a location, not a pin
health: { interval: ${INTERVAL}ms, timeout: ${TIMEOUT}ms, rise: ${RISE}, fall: ${FALL}, panic: off }
log: { level: info }
`;

function zone(port: number, near: string[], far: string[], adminDown: string): string {
  return `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      ttl: ${TTL}
      policy: nearest
      check: { type: http, port: ${port}, path: /healthz }
      regions:
        far: [${far.join(', ')}]
        near: [${near.join(', ')}, { address: ${adminDown}, state: down }]
`;
}

// ---- dig and /metrics -------------------------------------------------------------------------

interface Answer {
  status: string;
  /** The A addresses, sorted (round-robin rotates their order). */
  addrs: string[];
  ttls: number[];
  at: number;
}

const sorted = (xs: string[]) => [...xs].sort();

/** Asks `dig app.example.test A` and parses status, addresses and TTLs. */
async function ask(s: TestServer, seen: Set<string>): Promise<Answer> {
  const out = await dig(s.port, ['+noall', '+comments', '+answer', 'app.example.test', 'A']);
  const status = /status: (\w+)/.exec(out)?.[1] ?? `unparsed: ${out}`;
  const addrs: string[] = [];
  const ttls: number[] = [];
  for (const line of out.split('\n')) {
    const m = /^app\.example\.test\.\s+(\d+)\s+IN\s+A\s+(\S+)$/.exec(line.trim());
    if (!m) continue;
    ttls.push(Number(m[1]));
    addrs.push(m[2]!);
    seen.add(m[2]!);
  }
  return { status, addrs: sorted(addrs), ttls, at: Date.now() };
}

const show = (a: Answer) => `${a.status} [${a.addrs.join(' ')}] ttl ${a.ttls.join(',')}`;

/** Polls with `dig` until `ok` holds; returns the answer and how long it took from `since`. */
async function digUntil(
  t: ExecutionContext,
  s: TestServer,
  seen: Set<string>,
  what: string,
  since: number,
  withinMs: number,
  ok: (a: Answer) => boolean,
): Promise<Answer> {
  const history: string[] = [];
  for (;;) {
    const a = await ask(s, seen);
    if (history.at(-1) !== show(a)) history.push(`+${a.at - since}ms ${show(a)}`);
    if (ok(a)) {
      t.log(`${what}: after ${a.at - since}ms (bound ${Math.round(withinMs)}ms): ${history.join(' | ')}`);
      t.true(a.at - since <= withinMs, `${what}: took ${a.at - since}ms, bound ${withinMs}ms`);
      return a;
    }
    if (Date.now() - since > withinMs)
      throw new Error(`${what}: not within ${Math.round(withinMs)}ms; answers seen: ${history.join(' | ')}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples of one metric from /metrics, with their labels. */
async function metric(s: TestServer, name: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const res = await fetch(`http://127.0.0.1:${s.server.httpPort}/metrics`);
  const text = await res.text();
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

async function failopen(s: TestServer): Promise<number> {
  const samples = await metric(s, 'steerdns_failopen_total');
  return samples
    .filter((x) => x.labels.zone?.replace(/\.$/, '') === 'example.test' && /^app(\.example\.test\.?)?$/.test(x.labels.pool ?? ''))
    .reduce((n, x) => n + x.value, 0);
}

async function targetUp(s: TestServer): Promise<Map<string, number>> {
  const samples = await metric(s, 'steerdns_target_up');
  return new Map(samples.filter((x) => /^app(\.example\.test\.?)?$/.test(x.labels.pool ?? '')).map((x) => [x.labels.address!, x.value]));
}

/** The prober's state-change log lines for an address, e.g. `target 127.0.1.11 up → down: connection refused`. */
function changes(s: TestServer, address: string, from: string, to: string): { time: number; msg: string; level: number }[] {
  const prefix = `target ${address} ${from} → ${to}: `;
  return s.logs
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix))
    .map((l) => ({ time: l.time as number, msg: l.msg as string, level: l.level as number }));
}

/**
 * The down line of a backend that was stopped: its probes are refused, but a probe caught in the listener's
 * accept queue when it closes is reset by the kernel, and that can be the fall-th failure (after an earlier probe
 * timed out while this test's process, which runs the backends, was stalled by the rest of the suite).
 */
function stoppedLine(addr: string): RegExp {
  return new RegExp(`^target ${addr.replaceAll('.', '\\.')} up → down: connection (refused|reset)$`);
}

async function waitFor(what: string, withinMs: number, ok: () => boolean): Promise<void> {
  const until = Date.now() + withinMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${withinMs}ms`);
    await sleep(20);
  }
}

// ---- tests ------------------------------------------------------------------------------------

test('nearest region drains when its backends stop, the next one answers with half the TTL, it returns on restart; all down fails open', async (t) => {
  t.timeout(60_000);
  const nearAddrs = ['127.0.1.11', '127.0.1.12', '127.0.1.13'];
  const farAddrs = ['127.0.1.21', '127.0.1.22'];
  const adminAddr = '127.0.1.14';
  const near = nearAddrs.map((a) => new Backend(a));
  const far = farAddrs.map((a) => new Backend(a));
  const admin = new Backend(adminAddr);
  const all = [...near, ...far, admin];
  const port = await startBackends(all);
  let s: TestServer | null = null;
  const seen = new Set<string>();
  try {
    s = await startServer({ 'example.test.yaml': zone(port, nearAddrs, farAddrs, adminAddr) }, CONFIG);
    const srv = s;

    // all up: every probed backend answers its probes; the nearest region answers with the full TTL
    await waitFor('every backend probed twice', 5000, () => [...near, ...far].every((b) => b.hits >= 2));
    let a = await ask(srv, seen);
    t.is(a.status, 'NOERROR');
    t.deepEqual(a.addrs, sorted(nearAddrs), show(a));
    t.deepEqual(a.ttls, [TTL, TTL, TTL]);
    t.deepEqual(await failopen(srv), 0);

    // near's backends stop → far answers, TTL halved
    let since = Date.now();
    await Promise.all(near.map((b) => b.stop()));
    a = await digUntil(
      t,
      srv,
      seen,
      'near down → far answers',
      since,
      DOWN_WITHIN + SLACK,
      (x) => x.addrs.join() === sorted(farAddrs).join(),
    );
    t.is(a.status, 'NOERROR');
    t.deepEqual(a.ttls, [HALF, HALF], show(a));
    for (const addr of nearAddrs) {
      const c = changes(srv, addr, 'up', 'down');
      t.is(c.length, 1, `${addr}: one up → down line`);
      t.regex(c[0]?.msg ?? '', stoppedLine(addr));
      t.is(c[0]?.level, 40, 'a target going down is a warning');
      t.true(c[0]!.time - since <= DOWN_WITHIN + LOG_SLACK, `${addr} went down ${c[0]!.time - since}ms after its backend stopped`);
    }
    let up = await targetUp(srv);
    for (const addr of nearAddrs) t.is(up.get(addr), 0, `steerdns_target_up ${addr}`);
    for (const addr of farAddrs) t.is(up.get(addr), 1, `steerdns_target_up ${addr}`);
    // a region skipped is not all_down: nothing failed open
    t.is(await failopen(srv), 0);

    // near's backends restart on the same addresses → near answers again with the full TTL
    since = Date.now();
    for (const b of near) await b.start(port);
    a = await digUntil(
      t,
      srv,
      seen,
      'near restarted → near answers, full TTL',
      since,
      UP_WITHIN + SLACK,
      (x) => x.addrs.join() === sorted(nearAddrs).join() && x.ttls.every((ttl) => ttl === TTL),
    );
    t.is(a.status, 'NOERROR');
    for (const addr of nearAddrs) {
      const c = changes(srv, addr, 'down', 'up');
      t.is(c.length, 1, `${addr}: one down → up line`);
      t.is(c[0]?.msg, `target ${addr} down → up: HTTP 200`);
      t.true(c[0]!.time - since <= UP_WITHIN + LOG_SLACK, `${addr} came up ${c[0]!.time - since}ms after its backend restarted`);
    }
    up = await targetUp(srv);
    for (const addr of [...nearAddrs, ...farAddrs]) t.is(up.get(addr), 1, `steerdns_target_up ${addr}`);

    // every backend stops (panic: off) → fail open: serve-all answers every non-down target of the
    // first region with the TTL halved, and every such answer counts in steerdns_failopen_total
    const before = await failopen(srv);
    t.is(before, 0);
    since = Date.now();
    await Promise.all([...near, ...far].map((b) => b.stop()));
    const history: string[] = [];
    for (;;) {
      a = await ask(srv, seen);
      history.push(`+${a.at - since}ms ${show(a)}`);
      if ((await failopen(srv)) > before) break;
      if (Date.now() - since > DOWN_WITHIN + SLACK) throw new Error(`no fail-open within ${DOWN_WITHIN + SLACK}ms: ${history.join(' | ')}`);
      await sleep(25);
    }
    t.log(`all down → fail open: after ${Date.now() - since}ms (bound ${Math.round(DOWN_WITHIN + SLACK)}ms): ${history.join(' | ')}`);
    const opened = await failopen(srv);
    for (let i = 0; i < 3; i++) {
      a = await ask(srv, seen);
      t.is(a.status, 'NOERROR');
      t.deepEqual(a.addrs, sorted(nearAddrs), `fail-open answer: ${show(a)}`);
      t.deepEqual(a.ttls, [HALF, HALF, HALF]);
    }
    t.is(await failopen(srv), opened + 3, 'each fail-open answer counts once');
    up = await targetUp(srv);
    for (const addr of [...nearAddrs, ...farAddrs]) t.is(up.get(addr), 0, `steerdns_target_up ${addr}`);
    const warned = srv.logs.filter(
      (l) =>
        l.level === 40 && l.pool !== undefined && /no healthy target in any region, answering with all_down serve-all/.test(String(l.msg)),
    );
    t.is(warned.length, 1, 'entering all-down is logged once, as a warning');
    for (const addr of farAddrs) {
      const lines = changes(srv, addr, 'up', 'down').map((c) => c.msg);
      t.is(lines.length, 1, lines.join('\n'));
      t.regex(lines[0]!, stoppedLine(addr));
    }
    for (const addr of nearAddrs) {
      const lines = changes(srv, addr, 'up', 'down').map((c) => c.msg);
      t.is(lines.length, 2, `${addr}: went down twice, one line each`);
      for (const l of lines) t.regex(l, stoppedLine(addr));
    }

    // and back: with every backend restarted, near answers with the full TTL and the pool logs that it
    // has healthy targets again (down targets are on the 4 × interval backoff now)
    since = Date.now();
    for (const b of [...near, ...far]) await b.start(port);
    await digUntil(
      t,
      srv,
      seen,
      'all restarted → near answers, full TTL',
      since,
      UP_WITHIN + SLACK,
      (x) => x.addrs.join() === sorted(nearAddrs).join() && x.ttls.every((ttl) => ttl === TTL),
    );
    t.true(
      srv.logs.some((l) => l.level === 30 && /healthy targets again/.test(String(l.msg))),
      'leaving all-down is logged',
    );

    // the `state: down` target: a live backend never probed, an address never served
    t.is(admin.hits, 0, 'state: down is never probed');
    t.false(seen.has(adminAddr), 'state: down is never served');
    t.is(srv.logs.filter((l) => String(l.msg).includes(adminAddr)).length, 0);
  } finally {
    await s?.stop();
    await Promise.all(all.map((b) => b.stop()));
  }
});

test('one backend of the nearest region down: the region still answers without it, with half the TTL', async (t) => {
  t.timeout(60_000);
  const nearAddrs = ['127.0.1.31', '127.0.1.32', '127.0.1.33'];
  const farAddrs = ['127.0.1.41', '127.0.1.42'];
  const adminAddr = '127.0.1.34';
  const near = nearAddrs.map((a) => new Backend(a));
  const far = farAddrs.map((a) => new Backend(a));
  const admin = new Backend(adminAddr);
  const all = [...near, ...far, admin];
  const port = await startBackends(all);
  let s: TestServer | null = null;
  const seen = new Set<string>();
  try {
    s = await startServer({ 'example.test.yaml': zone(port, nearAddrs, farAddrs, adminAddr) }, CONFIG);
    const srv = s;
    await waitFor('every backend probed twice', 5000, () => [...near, ...far].every((b) => b.hits >= 2));
    let a = await ask(srv, seen);
    t.deepEqual(a.addrs, sorted(nearAddrs), show(a));
    t.deepEqual(a.ttls, [TTL, TTL, TTL]);

    const gone = near[2]!;
    const rest = sorted(nearAddrs.filter((x) => x !== gone.address));
    let since = Date.now();
    await gone.stop();
    a = await digUntil(
      t,
      srv,
      seen,
      `${gone.address} down → near answers without it`,
      since,
      DOWN_WITHIN + SLACK,
      (x) => x.addrs.join() === rest.join(),
    );
    t.is(a.status, 'NOERROR');
    t.deepEqual(a.ttls, [HALF, HALF], `a target of the chosen region down halves the TTL: ${show(a)}`);
    for (let i = 0; i < 4; i++) {
      a = await ask(srv, seen); // stays so: near (2 of 3 healthy) still qualifies
      t.deepEqual([a.addrs, a.ttls], [rest, [HALF, HALF]]);
    }
    const lines = changes(srv, gone.address, 'up', 'down').map((c) => c.msg);
    t.is(lines.length, 1, lines.join('\n'));
    t.regex(lines[0]!, stoppedLine(gone.address));
    const up = await targetUp(srv);
    t.is(up.get(gone.address), 0);
    for (const addr of [...rest, ...farAddrs]) t.is(up.get(addr), 1, `steerdns_target_up ${addr}`);
    t.is(await failopen(srv), 0);

    since = Date.now();
    await gone.start(port);
    a = await digUntil(
      t,
      srv,
      seen,
      `${gone.address} restarted → back, full TTL`,
      since,
      UP_WITHIN + SLACK,
      (x) => x.addrs.join() === sorted(nearAddrs).join() && x.ttls.every((ttl) => ttl === TTL),
    );
    t.deepEqual(
      changes(srv, gone.address, 'down', 'up').map((c) => c.msg),
      [`target ${gone.address} down → up: HTTP 200`],
    );
    t.false(
      [...seen].some((x) => farAddrs.includes(x)),
      'far never answered: near always qualified',
    );
    t.is(admin.hits, 0, 'state: down is never probed');
    t.false(seen.has(adminAddr), 'state: down is never served');
  } finally {
    await s?.stop();
    await Promise.all(all.map((b) => b.stop()));
  }
});
