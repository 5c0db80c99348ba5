// The active health prober against real backends on loopback (docs/operations.md#health-checking):
// rise/fall with the down/up time bounds and the logged reasons, initial: down, admin-down targets not
// probed, one prober per check identity, update() across reloads, jitter, backoff, smoothed response
// times, panic (through a real server's DNS answers too), and abusive backends (endless body, endless
// headers, accept-and-never-answer) that must neither grow memory nor stall the others.
// Addresses: 127.0.1.60–127.0.1.254 (checks.test.ts uses the ones below).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import test, { type ExecutionContext } from 'ava';
import { MAX_BODY, type ProbeResult, type ProbeTarget, probe } from '../../src/health/checks.js';
import { type CheckTarget, Prober, SLOT_MS, type StateChange } from '../../src/health/prober.js';
import { HealthTable, type TargetHealth } from '../../src/health/table.js';
import { probeListOf } from '../../src/load-report.js';
import { bytesToIp, ipToBytes } from '../../src/net/address.js';
import { BASE_CONFIG, query, startServer, type TestServer, udp } from '../helpers/server.js';
import { heldStill } from '../operate/helpers.js';
import {
  addr,
  captureLogger,
  checkSpec,
  checkTarget,
  forceGc,
  HttpBackend,
  Lateness,
  type LogLine,
  type ProbeRecord,
  panicLines,
  panicOverLines,
  RawBackend,
  recordingProbe,
  settledMemory,
  sleep,
  stateChanges,
  TcpBackend,
  waitFor,
} from './backends.js';

// ---- harness ---------------------------------------------------------------------------------------------

interface Result {
  key: string;
  at: number;
  r: ProbeResult;
  /** The target's table entry when this result arrived, i.e. after the previous result. */
  before: TargetHealth | undefined;
}

interface Harness {
  prober: Prober;
  table: HealthTable;
  logs: LogLine[];
  /** Every real probe with its start and end. */
  records: ProbeRecord[];
  /** Every result, in order, as the prober saw it. */
  results: Result[];
  /** Every state change, with the time and the number of results at that moment. */
  changes: (StateChange & { at: number; index: number })[];
  /** Resolves right after the next result is recorded (in the prober's own callback), after running `fn` there. */
  afterNextResult(fn: () => void): Promise<void>;
}

function harness(t: ExecutionContext, opts: { panic?: number | null; panicMinTargets?: number } = {}): Harness {
  const { log, logs } = captureLogger();
  const table = new HealthTable();
  const rec = recordingProbe();
  const results: Result[] = [];
  const changes: Harness['changes'] = [];
  let hook: (() => void) | null = null;
  const prober = new Prober({
    table,
    log,
    panic: opts.panic === undefined ? 0.9 : opts.panic,
    panicMinTargets: opts.panicMinTargets ?? 10,
    probe: rec.fn,
    onResult: (tg, r) => {
      const e = table.get(tg.key);
      results.push({ key: tg.key, at: Date.now(), r, before: e && { ...e } });
      const f = hook;
      hook = null;
      f?.();
    },
    onChange: (c) => changes.push({ ...c, at: Date.now(), index: results.length }),
  });
  t.teardown(() => prober.stop());
  // the prober's timers do not hold the process open; while waiting for its next result this timer does
  const afterNextResult = (fn: () => void) =>
    new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('no probe result within 10 s')), 10_000);
      hook = () => {
        clearTimeout(guard);
        fn();
        resolve();
      };
    });
  return { prober, table, logs, records: rec.records, results, changes, afterNextResult };
}

const of = <T extends { key: string }>(list: T[], key: string): T[] => list.filter((x) => x.key === key);

/** The table entry of `key` right after results[i] was recorded (taken when the next result of `key` arrived). */
function stateAfter(results: Result[], i: number): TargetHealth | undefined {
  const key = results[i]!.key;
  return results.slice(i + 1).find((x) => x.key === key)?.before;
}

/**
 * Consecutive probes of one target: the start-to-start gap and how long the earlier probe took. Intervals run
 * from start to start, so the next probe is due max(jittered delay, that probe's duration) after the previous start.
 */
function steps(records: ProbeRecord[], pred: (r: ProbeRecord) => boolean): { gap: number; took: number }[] {
  const mine = records.filter(pred).sort((a, b) => a.start - b.start);
  return mine.slice(1).map((r, i) => ({ gap: r.start - mine[i]!.start, took: mine[i]!.end - mine[i]!.start }));
}

const USES = [
  { zone: 'example.test', pool: 'app.example.test', region: 'us-east' },
  { zone: 'example.test', pool: 'www.example.test', region: 'eu-west' },
];
const POOLS_LOGGED = ['app.example.test (us-east)', 'www.example.test (eu-west)'];

// ---- rise and fall: down and up within the bounds, with the reason logged ----------------------------------

test('an HTTP backend flipping 200 → 503 → refused → hanging goes down after fall probes and up again within the bounds; one log line per change with the reason', async (t) => {
  const IV = 300;
  const TO = 200;
  const RISE = 2;
  const FALL = 3; // the default; with fall 3 a hanging backend (each probe lasting `timeout`) tests that probes start every interval
  // The bounds on a health change. With jitter (±10%) the worst cases are 1.1·FALL·IV + TO = 1190 ms down
  // (the last of FALL probes starting one jittered interval after the other) and 1.1·4·IV + 1.1·(RISE-1)·IV =
  // 1650 ms up (the flip lands just after a failed probe, so the next one is a whole capped backoff away). The
  // only slack added is the time this event loop was measurably held up meanwhile (Lateness.chain: the timers on
  // the path — each probe's start, the last probe's timeout, the polling here — are late by at most that in
  // total): a few ms on an idle machine, more when other processes load it.
  const DOWN_BOUND = FALL * IV + TO + IV;
  const UP_BOUND = 4 * IV + RISE * IV + TO;
  const late = new Lateness();
  t.teardown(() => late.stop());
  const b = await HttpBackend.start(addr(60));
  t.teardown(() => b.close());
  const h = harness(t);
  const target = checkTarget(
    b.host,
    checkSpec({ port: b.port, path: '/healthz', intervalMs: IV, timeoutMs: TO, rise: RISE, fall: FALL }),
    USES,
  );
  h.prober.update([target]);
  await waitFor(() => h.results.filter((x) => x.r.ok).length >= 2, 10_000, 'two successful probes');
  t.true(h.table.isUp(target.key));
  t.is(stateChanges(h.logs).length, 0);

  const modes: { name: string; fail: () => Promise<void>; reason: string }[] = [
    {
      name: '503',
      fail: async () => {
        b.mode = 'status';
      },
      reason: 'HTTP 503',
    },
    { name: 'refused', fail: () => b.stop(), reason: 'connection refused' },
    {
      name: 'hanging',
      fail: async () => {
        b.mode = 'hang';
      },
      reason: `timeout after ${TO}ms`,
    },
  ];
  for (const m of modes) {
    // ---- down. The flip comes right after a successful probe, the worst moment: the failure is only seen a whole
    // (jittered) interval later
    let t0 = 0;
    let from = 0;
    let failed0: Promise<void> = Promise.resolve();
    const changesBefore = h.changes.length;
    const linesBefore = stateChanges(h.logs).length;
    await h.afterNextResult(() => {
      t0 = Date.now();
      late.reset();
      from = h.results.length;
      failed0 = m.fail();
    });
    await failed0;
    await waitFor(() => h.changes.length > changesBefore, DOWN_BOUND + 10_000, `${m.name}: down`);
    const down = h.changes[changesBefore]!;
    t.like(down, { from: 'up', to: 'down', reason: m.reason, address: b.host });
    const downSlack = late.chain(FALL + 2);
    t.true(
      down.at - t0 <= DOWN_BOUND + downSlack,
      `${m.name}: down after ${down.at - t0}ms, bound ${DOWN_BOUND}ms + ${downSlack}ms lateness`,
    );
    t.log(`${m.name}: down after ${down.at - t0}ms (bound ${DOWN_BOUND}ms + ${downSlack}ms measured lateness)`);
    const since = h.results.slice(from, down.index);
    // every probe after the flip fails (a probe answered before it may still report success)
    const failed = since.slice(since.findLastIndex((x) => x.r.ok) + 1);
    t.is(failed.length, FALL, `${m.name}: down on exactly the fall-th consecutive failure`);
    t.deepEqual(
      failed.map((x) => x.r.reason),
      Array<string>(FALL).fill(m.reason),
    );
    t.like(h.table.get(target.key), { up: false, lastResult: m.reason });
    const downLines = stateChanges(h.logs).slice(linesBefore);
    t.is(downLines.length, 1, `${m.name}: one log line per change`);
    t.like(downLines[0], { level: 40, target: b.host, key: target.key, pools: POOLS_LOGGED, from: 'up', to: 'down', reason: m.reason });
    t.is(downLines[0]!.msg, `target ${b.host} up → down: ${m.reason}`);

    // ---- stay down while failing; recover right after a failed probe, the worst moment: the next probe is
    // a whole backoff away (intervals after going down: 1, 2, then the cap of 4)
    await waitFor(() => h.results.length >= down.index + 1, 3 * IV + 2 * TO + 10_000, `${m.name}: a probe while down`);
    let t1 = 0;
    let from1 = 0;
    await h.afterNextResult(() => {
      t1 = Date.now();
      late.reset();
      from1 = h.results.length;
      b.mode = 'ok';
    });
    t.is(h.changes.length, changesBefore + 1, `${m.name}: no further change while failing`);
    if (!b.listening) await b.resume(); // resume() is asynchronous: listening again takes a moment, measured
    await waitFor(() => h.changes.length > changesBefore + 1, UP_BOUND + 10_000, `${m.name}: up`);
    const up = h.changes[changesBefore + 1]!;
    t.like(up, { from: 'down', to: 'up', reason: 'HTTP 200' });
    const upSlack = late.chain(RISE + 2);
    t.true(up.at - t1 <= UP_BOUND + upSlack, `${m.name}: up after ${up.at - t1}ms, bound ${UP_BOUND}ms + ${upSlack}ms lateness`);
    t.log(`${m.name}: up after ${up.at - t1}ms (bound ${UP_BOUND}ms + ${upSlack}ms measured lateness)`);
    const since1 = h.results.slice(from1, up.index);
    const succeeded = since1.slice(since1.findLastIndex((x) => !x.r.ok) + 1);
    t.is(succeeded.length, RISE, `${m.name}: up on exactly the rise-th consecutive success`);
    t.like(h.table.get(target.key), { up: true, changing: false, lastResult: 'HTTP 200' });
    const upLines = stateChanges(h.logs).slice(linesBefore + 1);
    t.is(upLines.length, 1);
    t.like(upLines[0], { level: 30, target: b.host, key: target.key, pools: POOLS_LOGGED, from: 'down', to: 'up', reason: 'HTTP 200' });
  }
  t.deepEqual(
    stateChanges(h.logs).map((l) => `${String(l.from)}→${String(l.to)}: ${String(l.reason)}`),
    [
      'up→down: HTTP 503',
      'down→up: HTTP 200',
      'up→down: connection refused',
      'down→up: HTTP 200',
      `up→down: timeout after ${TO}ms`,
      'down→up: HTTP 200',
    ],
  );
  t.deepEqual(panicLines(h.logs), []);
});

// ---- state machine -------------------------------------------------------------------------------------------

test('initial: down starts down and needs rise successes; initial: up starts up; a never-up target that fails logs nothing', async (t) => {
  const ok = await HttpBackend.start(addr(61));
  const dead = await TcpBackend.start(addr(62));
  await dead.stop();
  t.teardown(() => ok.close());
  const h = harness(t);
  const IV = 150;
  // timeouts well above a loopback round trip, so that a busy machine cannot make a success path fail
  const rising = checkTarget(ok.host, checkSpec({ port: ok.port, intervalMs: IV, timeoutMs: 1000, rise: 3, fall: 2, initial: 'down' }));
  const optimistic = checkTarget(ok.host, checkSpec({ port: ok.port, path: '/other', intervalMs: IV, timeoutMs: 1000, rise: 3, fall: 2 }));
  const never = checkTarget(
    dead.host,
    checkSpec({ type: 'tcp', port: dead.port, intervalMs: IV, timeoutMs: 1000, rise: 1, fall: 1, initial: 'down' }),
  );
  h.prober.update([rising, optimistic, never]);
  t.like(h.table.get(rising.key), { up: false, lastResult: 'not checked yet (initial: down)' });
  t.like(h.table.get(optimistic.key), { up: true, lastResult: 'not checked yet' });
  t.false(h.table.isUp(never.key));

  await waitFor(() => of(h.changes, rising.key).length === 1, 10_000, 'the initial-down target to come up');
  const ch = of(h.changes, rising.key)[0]!;
  t.like(ch, { from: 'down', to: 'up', reason: 'HTTP 200' });
  const before = of(h.results.slice(0, ch.index), rising.key);
  t.is(before.length, 3, 'up on the rise-th success, not before');
  t.true(before.every((x) => x.r.ok));
  t.is(h.prober.probeCount(rising.key), 3);
  const lines = stateChanges(h.logs).filter((l) => l.key === rising.key);
  t.is(lines.length, 1);
  t.like(lines[0], { from: 'down', to: 'up', reason: 'HTTP 200' });

  await waitFor(() => h.prober.probeCount(never.key) >= 3, 10_000, 'three failed probes of the never-up target');
  t.false(h.table.isUp(never.key));
  t.is(h.table.get(never.key)!.lastResult, 'connection refused');
  t.is(of(h.changes, never.key).length, 0, 'down → down is no change');
  t.is(of(h.changes, optimistic.key).length, 0, 'up → up is no change');
});

test('rise/fall in progress is visible as "changing" in the table', async (t) => {
  const b = await HttpBackend.start(addr(63));
  t.teardown(() => b.close());
  const h = harness(t);
  const target = checkTarget(b.host, checkSpec({ port: b.port, intervalMs: 100, timeoutMs: 1000, rise: 2, fall: 3 }));
  h.prober.update([target]);
  await waitFor(() => h.results.length >= 2, 10_000, 'two probes');
  t.like(stateAfter(h.results, 0), { up: true, changing: false, lastResult: 'HTTP 200' });
  b.mode = 'status';
  await waitFor(() => !h.table.isUp(target.key), 10_000, 'down');
  // the state right after each result, as the next result found it
  const firstFail = h.results.findIndex((x) => !x.r.ok);
  t.like(stateAfter(h.results, firstFail), { up: true, changing: true, lastResult: 'HTTP 503' }, 'failing, not yet down: changing');
  t.like(h.table.get(target.key), { up: false, changing: false });
  b.mode = 'ok';
  await waitFor(() => h.table.isUp(target.key), 10_000, 'up');
  const firstOk = h.results.findIndex((x, i) => i > firstFail && x.r.ok);
  t.like(stateAfter(h.results, firstOk), { up: false, changing: true, lastResult: 'HTTP 200' }, 'succeeding, not yet up: changing');
  t.like(h.table.get(target.key), { up: true, changing: false });
});

// ---- through the server: admin down, shared keys, reload --------------------------------------------------------

const ZONE_HEAD = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

async function answersOf(ts: TestServer, name: string): Promise<{ addresses: string[]; rcode: string; ttl: number | null }> {
  const { msg } = await udp(ts.port, query(name, 'A'));
  const a = msg.answers.filter((r) => r.type === 'A');
  return { addresses: a.map((r) => r.data as string).sort(), rcode: msg.rcode, ttl: a[0]?.ttl ?? null };
}

test('state: down in the zone is never probed (the probe list skips it)', async (t) => {
  const [live, admin] = await TcpBackend.startMany([addr(64), addr(65)]);
  t.teardown(() => Promise.all([live!.close(), admin!.close()]));
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}
  app:
    pool:
      check: { type: tcp, port: ${live!.port}, interval: 150ms, timeout: 1s }
      regions:
        us-east: [${live!.host}, { address: ${admin!.host}, state: down }]
`,
  });
  t.teardown(() => ts.stop());
  const keys = probeListOf(ts.server.snapshot).map((c) => c.key);
  // the identity: check type, address, port (what is probed; not the schedule or the thresholds)
  t.deepEqual(
    keys.map((k) => k.split('|').slice(0, 3).join('|')),
    [`tcp|${live!.host}|${live!.port}`],
  );
  t.is(ts.server.prober.size, 1);
  await waitFor(() => live!.hits.length >= 4, 10_000, 'the live target to be probed');
  t.is(admin!.hits.length, 0, 'the admin-down target is never probed');
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, [live!.host]);
});

test('an IPv4 host in one pool and its IPv4-mapped form in another: one probe identity; the AAAA answer keeps the mapped address', async (t) => {
  const b = await TcpBackend.start(addr(210));
  t.teardown(() => b.close());
  const check = `{ type: tcp, port: ${b.port}, interval: 150ms, timeout: 1s }`;
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}
  v4: { pool: { check: ${check}, regions: { us-east: [${b.host}] } } }
  mapped: { pool: { check: ${check}, regions: { us-east: ["::ffff:${b.host}"] } } }
`,
  });
  t.teardown(() => ts.stop());
  const targets = probeListOf(ts.server.snapshot);
  t.deepEqual(
    targets.map((c) => c.key.split('|').slice(0, 3).join('|')),
    [`tcp|${b.host}|${b.port}`],
    targets.map((c) => c.key).join(' ; '),
  );
  t.deepEqual(
    targets[0]!.uses.map((u) => u.pool),
    ['v4.example.test', 'mapped.example.test'],
  );
  t.is(ts.server.prober.size, 1);
  await waitFor(() => ts.server.health.get(targets[0]!.key)?.lastCheck != null, 10_000, 'the shared target to be probed');
  const { msg } = await udp(ts.port, query('mapped.example.test', 'AAAA'));
  t.deepEqual(
    msg.answers.filter((r) => r.type === 'AAAA').map((r) => bytesToIp(ipToBytes(r.data as string))),
    [`::ffff:${b.host}`],
  );
  t.deepEqual((await answersOf(ts, 'v4.example.test')).addresses, [b.host]);
});

test('a target written only in its IPv4-mapped form is probed at its IPv4 address (no IPv6 socket needed)', async (t) => {
  const b = await TcpBackend.start(addr(211));
  t.teardown(() => b.close());
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}
  mapped: { pool: { check: { type: tcp, port: ${b.port}, interval: 150ms, timeout: 1s }, regions: { us-east: ["::ffff:${b.host}"] } } }
`,
  });
  t.teardown(() => ts.stop());
  const targets = probeListOf(ts.server.snapshot);
  t.deepEqual(
    targets.map((c) => c.address),
    [b.host],
  );
  await waitFor(() => ts.server.health.get(targets[0]!.key)?.lastCheck != null, 10_000, 'the target to be probed');
  t.true(ts.server.health.get(targets[0]!.key)!.up);
});

test('a target shared by pools with equal intervals gets the tighter timings (timeout, then fall, then rise), whatever order the zones come in', async (t) => {
  const b = await TcpBackend.start(addr(213));
  t.teardown(() => b.close());
  const pool = (name: string, extra: string) =>
    `  ${name}: { pool: { check: { type: tcp, port: ${b.port}, interval: 5s, timeout: 1s${extra} }, regions: { us-east: [${b.host}] } } }\n`;
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}\n${pool('loose', ', fall: 5')}`,
    'other.test.yaml': `${ZONE_HEAD.replaceAll('example.test', 'other.test')}\n${pool('tight', ', fall: 2, rise: 3')}${pool('tighter', ', fall: 2, rise: 1')}`,
  });
  t.teardown(() => ts.stop());
  const snap = ts.server.snapshot;
  const reversed = { ...snap, zones: new Map([...snap.zones].reverse()) };
  for (const s of [snap, reversed]) {
    const [c] = probeListOf(s);
    t.like(c!.check, { fall: 2, rise: 1 });
    t.is(c!.uses.length, 3);
  }
});

test("a Host header written without host: is what the probe sends as Host; a Connection header does not replace the probe's close", async (t) => {
  const b = await HttpBackend.start(addr(212));
  t.teardown(() => b.close());
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}
  app: { pool: { check: { type: http, port: ${b.port}, interval: 150ms, timeout: 1s, headers: { Host: vip.example.test, Connection: keep-alive } }, regions: { us-east: [${b.host}] } } }
`,
  });
  t.teardown(() => ts.stop());
  await waitFor(() => b.requests.length >= 1, 10_000, 'a probe');
  t.like(b.requests[0]!.headers, { host: `vip.example.test:${b.port}`, connection: 'close' });
});

test('one prober per distinct check identity, however many pools share it; the host is part of the identity', async (t) => {
  const IV = 200;
  const tcpB = await TcpBackend.start(addr(66));
  const shared = await HttpBackend.start(addr(67));
  const perHost = await HttpBackend.start(addr(68));
  t.teardown(() => Promise.all([tcpB.close(), shared.close(), perHost.close()]));
  const tcpCheck = `{ type: tcp, port: ${tcpB.port}, interval: ${IV}ms, timeout: 1s }`;
  const sharedCheck = `{ type: http, port: ${shared.port}, host: vip.example.test, interval: ${IV}ms, timeout: 1s }`;
  const hostCheck = `{ type: http, port: ${perHost.port}, interval: ${IV}ms, timeout: 1s }`;
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}
  a: { pool: { check: ${tcpCheck}, regions: { us-east: [${tcpB.host}] } } }
  b: { pool: { check: ${tcpCheck}, regions: { eu-west: [${tcpB.host}] } } }
  c: { pool: { check: ${sharedCheck}, regions: { us-east: [${shared.host}] } } }
  d: { pool: { check: ${sharedCheck}, regions: { us-east: [${shared.host}] } } }
  e: { pool: { check: ${hostCheck}, regions: { us-east: [${perHost.host}] } } }
  f: { pool: { check: ${hostCheck}, regions: { us-east: [${perHost.host}] } } }
`,
    // a second zone sharing the tcp target too
    'other.test.yaml': `
origin: other.test
soa: { ns: ns1.other.test., email: hostmaster@other.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.54 }
  g: { pool: { check: ${tcpCheck}, regions: { ap-south: [${tcpB.host}] } } }
`,
  });
  t.teardown(() => ts.stop());
  const targets = probeListOf(ts.server.snapshot);
  t.is(targets.length, 4, targets.map((x) => x.key).join(' ; '));
  t.is(ts.server.prober.size, 4);
  const tcpT = targets.find((x) => x.check.type === 'tcp')!;
  t.deepEqual(tcpT.uses.map((u) => `${u.zone}/${u.pool}/${u.region}`).sort(), [
    'example.test/a.example.test/us-east',
    'example.test/b.example.test/eu-west',
    'other.test/g.other.test/ap-south',
  ]);

  // count the probes each backend receives over a window of several intervals, once all have started
  await sleep(IV + 50);
  const W = 6 * IV;
  const late = new Lateness();
  const w0 = Date.now();
  await sleep(W);
  late.stop();
  // one prober: probes start at least 0.9 × IV apart, so at most W / (0.9 × IV) + 1 of them fall in the window,
  // + 1 because a backend may see one of them late; two probers would give twice as many
  const most = Math.floor(W / (0.9 * IV)) + 2;
  // and at least one per 1.1 × IV, each start late by up to the measured lateness, minus the partial ends
  const least = Math.floor(W / (1.1 * IV + 10 + late.ms)) - 1;
  const tcpHits = tcpB.hitsSince(w0);
  t.true(tcpHits >= least && tcpHits <= most, `tcp target shared by 3 pools in 2 zones: ${tcpHits} probes in ${W}ms`);
  const sharedHits = shared.requestsSince(w0);
  t.true(sharedHits.length >= least && sharedHits.length <= most, `http target shared by 2 pools: ${sharedHits.length} probes`);
  t.true(sharedHits.every((r) => r.headers.host === `vip.example.test:${shared.port}`));
  const hostHits = perHost.requestsSince(w0);
  for (const host of ['e.example.test', 'f.example.test']) {
    const n = hostHits.filter((r) => r.headers.host === `${host}:${perHost.port}`).length;
    t.true(n >= least && n <= most, `host ${host}: ${n} probes`);
  }
});

test('update(): unchanged targets keep their state across a reload, removed ones stop, new ones start', async (t) => {
  const IV = 150;
  const TO = 1000; // far above a loopback round trip: the kept targets must not fail by accident on a busy machine
  const down = await TcpBackend.start(addr(70));
  await down.stop();
  const [kept, removed, added] = await Promise.all([HttpBackend.start(addr(71)), HttpBackend.start(addr(72)), HttpBackend.start(addr(73))]);
  t.teardown(() => Promise.all([down.close(), kept!.close(), removed!.close(), added!.close()]));
  const h = harness(t);
  const spec = { intervalMs: IV, timeoutMs: TO, rise: 2, fall: 2 };
  const A = checkTarget(down.host, checkSpec({ type: 'tcp', port: down.port, ...spec }));
  const B = checkTarget(kept!.host, checkSpec({ port: kept!.port, ...spec }));
  const C = checkTarget(removed!.host, checkSpec({ port: removed!.port, ...spec }));
  const D = checkTarget(added!.host, checkSpec({ port: added!.port, ...spec }));
  h.prober.update([A, B, C]);
  await waitFor(
    () => !h.table.isUp(A.key) && h.prober.probeCount(B.key) >= 2 && h.prober.probeCount(C.key) >= 2,
    10_000,
    'A down, B and C probed',
  );
  const aBefore = h.table.get(A.key)!;
  const aProbes = h.prober.probeCount(A.key);
  const bBefore = h.table.get(B.key)!;
  const changesBefore = h.changes.length;
  const cRequests = removed!.requests.length;

  // the reload: A and B unchanged (A now used by another pool as well), C gone, D new
  const newUses = [...USES, { zone: 'example.test', pool: 'new.example.test', region: 'ap-south' }];
  const tU = Date.now();
  h.prober.update([{ ...A, uses: newUses }, { ...B }, D]);
  t.is(h.prober.size, 3);
  t.is(h.table.get(C.key), undefined, 'a removed target leaves the table');
  t.like(h.table.get(A.key), { up: false, since: aBefore.since });
  t.like(h.table.get(B.key), { up: true, since: bBefore.since, rttMs: bBefore.rttMs });
  t.true(h.prober.probeCount(A.key) >= aProbes, 'the probe history is kept');
  t.true(h.table.get(D.key) !== undefined);

  await waitFor(
    () => kept!.requestsSince(tU).length >= 4 && added!.requestsSince(tU).length >= 4 && h.prober.probeCount(A.key) > aProbes,
    10_000,
    'probes after the update',
  );
  // a probe of C already in flight at the update may still reach the backend (one at most); no probe starts later
  t.true(
    removed!.requests.length <= cRequests + 1,
    `the removed target is no longer probed: ${removed!.requests.length - cRequests} requests after the update`,
  );
  t.deepEqual(
    h.records.filter((r) => r.address === C.address && r.start >= tU),
    [],
    'no probe of the removed target started after the update',
  );
  t.is(h.changes.length, changesBefore, 'no state change from the reload');
  t.false(h.table.isUp(A.key));

  // A's new uses show in its next state change
  await down.resume();
  await waitFor(() => h.table.isUp(A.key), 4 * IV * 1.1 + 2 * IV * 1.1 + 10_000, 'A up');
  const line = stateChanges(h.logs)
    .filter((l) => l.key === A.key)
    .at(-1)!;
  t.like(line, { from: 'down', to: 'up', pools: [...POOLS_LOGGED, 'new.example.test (ap-south)'] });
});

test('server reload: health of unchanged targets survives, probes of removed targets stop', async (t) => {
  const [x, y, z] = await TcpBackend.startMany([addr(74), addr(75), addr(76)]);
  t.teardown(() => Promise.all([x!.close(), y!.close(), z!.close()]));
  await x!.stop();
  const check = `{ type: tcp, port: ${x!.port}, interval: 150ms, timeout: 1s, rise: 2, fall: 2 }`;
  const zone = (targets: string[], extra = '') => `${ZONE_HEAD}${extra}
  app:
    pool:
      check: ${check}
      regions: { us-east: [${targets.join(', ')}] }
`;
  const ts = await startServer({ 'example.test.yaml': zone([x!.host, y!.host, z!.host]) });
  t.teardown(() => ts.stop());
  const key = (b: TcpBackend) => keyIn(ts, b);
  await waitFor(() => !ts.server.health.isUp(key(x!)) && z!.hits.length >= 2, 10_000, 'x down, z probed');
  const xSince = ts.server.health.get(key(x!))!.since;
  const zKey = key(z!); // z leaves with the reload: its key is taken while it is still probed
  const linesBefore = stateChanges(ts.logs).length;
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, [y!.host, z!.host]);

  writeFileSync(join(ts.dir, 'zones', 'example.test.yaml'), zone([x!.host, y!.host], '  txt: { TXT: ["reloaded"] }\n'));
  await heldStill(join(ts.dir, 'zones', 'example.test.yaml')); // (a SIGHUP reads only a file that held still)
  const tR = Date.now();
  t.like(await ts.server.reload(), { ok: true });
  // the reload reads the file off the answering thread: until it swaps the zone in, the old one serves and its
  // targets are probed
  const zHits = z!.hits.length;
  t.like(ts.server.health.get(key(x!)), { up: false, since: xSince });
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, [y!.host], 'x is still down right after the reload');
  await waitFor(() => y!.hitsSince(tR) >= 6, 10_000, 'y probed on');
  // a probe in flight at the reload may still arrive (one at most); none after it
  t.true(z!.hits.length <= zHits + 1, `the removed target is no longer probed: ${z!.hits.length - zHits} connections after the reload`);
  t.true(ts.server.prober.probeCount(zKey) === 0 && ts.server.prober.size === 2);
  t.is(ts.server.health.get(zKey), undefined);
  t.is(stateChanges(ts.logs).length, linesBefore, 'no state change from the reload');
});

// ---- a probe that throws; timings are not identity; one address, one identity -------------------------------------

test('a probe function that throws (synchronously or by rejecting) is a failed probe with the reason; probing goes on', async (t) => {
  const { log, logs } = captureLogger();
  const table = new HealthTable();
  const b = await HttpBackend.start(addr(80));
  t.teardown(() => b.close());
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  // every third call throws before returning a promise, every third rejects, the rest probe the real backend
  let calls = 0;
  const throwing = (pt: ProbeTarget): Promise<ProbeResult> => {
    const n = calls++ % 3;
    if (n === 0) throw new TypeError('thrown synchronously');
    if (n === 1) return Promise.reject(new Error('rejected'));
    return probe(pt);
  };
  const results: ProbeResult[] = [];
  const prober = new Prober({ table, log, panic: null, panicMinTargets: 10, probe: throwing, onResult: (_x, r) => results.push(r) });
  t.teardown(() => prober.stop());
  const target = checkTarget(b.host, checkSpec({ port: b.port, intervalMs: 100, timeoutMs: 1000, rise: 1, fall: 2 }));
  prober.update([target]);
  await waitFor(() => results.length >= 9, 10_000, 'nine probe results');
  t.deepEqual(
    results.slice(0, 9).map((r) => `${r.ok} ${r.kind} ${r.reason}`),
    Array.from({ length: 3 }, () => [
      'false error probe error: thrown synchronously',
      'false error probe error: rejected',
      'true success HTTP 200',
    ]).flat(),
  );
  // two failures in a row: down (fall 2), then up again on the success (rise 1), each logged with the reason
  t.deepEqual(
    stateChanges(logs)
      .slice(0, 2)
      .map((l) => `${String(l.to)}: ${String(l.reason)}`),
    ['down: probe error: rejected', 'up: HTTP 200'],
  );
  t.deepEqual(unhandled, []);
});

test('an error after the probe (in a result listener) is logged, never an unhandled rejection, and the target stays scheduled', async (t) => {
  const { log, logs } = captureLogger();
  const b = await TcpBackend.start(addr(86));
  t.teardown(() => b.close());
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  let results = 0;
  const prober = new Prober({
    table: new HealthTable(),
    log,
    panic: null,
    panicMinTargets: 10,
    onResult: () => {
      if (results++ === 0) throw new Error('listener failed');
    },
  });
  t.teardown(() => prober.stop());
  const target = checkTarget(b.host, checkSpec({ type: 'tcp', port: b.port, intervalMs: 100, timeoutMs: 1000 }));
  prober.update([target]);
  await waitFor(() => b.hits.length >= 4, 10_000, 'four probes');
  const errors = logs.filter((l) => l.level === 50);
  t.is(errors.length, 1);
  t.is(errors[0]!.msg, `prober: unexpected error probing ${b.host}: listener failed`);
  t.deepEqual(unhandled, []);
});

test('Node refusing the request (a path or header it will not send) is a failed probe, not an exception', async (t) => {
  const b = await HttpBackend.start(addr(81));
  t.teardown(() => b.close());
  // built directly: `steerdns check` refuses these (test/config/check.test.ts); the probe must survive them anyway
  const path = await probe({ address: b.host, check: checkSpec({ port: b.port, path: '/health€', timeoutMs: 1000 }) });
  t.like(path, { ok: false, kind: 'error' });
  t.regex(path.reason, /^probe not sent: .*unescaped characters/i);
  const header = await probe({ address: b.host, check: checkSpec({ port: b.port, headers: { 'X-Token': 'a\u0001b' }, timeoutMs: 1000 }) });
  t.like(header, { ok: false, kind: 'error' });
  t.regex(header.reason, /^probe not sent: .*header/i);
  const tls = await probe({
    address: b.host,
    check: checkSpec({ type: 'https', port: b.port, headers: { 'X-Name': 'zoë €' }, timeoutMs: 1000 }),
  });
  t.like(tls, { ok: false, kind: 'error' });
  t.is(b.requests.length, 0, 'nothing reached the backend');
  // and a valid probe still works (its timeout only has to outlast a loaded machine: what is checked is success)
  t.like(await probe({ address: b.host, check: checkSpec({ port: b.port, timeoutMs: 10_000 }) }), { ok: true, reason: 'HTTP 200' });
});

test('update(): new timings apply to the known state (a down target stays down) and a shorter interval takes effect at once', async (t) => {
  const dead = await TcpBackend.start(addr(82));
  await dead.stop();
  const live = await TcpBackend.start(addr(83));
  t.teardown(() => Promise.all([dead.close(), live.close()]));
  const h = harness(t);
  const A = checkTarget(dead.host, checkSpec({ type: 'tcp', port: dead.port, intervalMs: 100, timeoutMs: 1000, rise: 2, fall: 2 }));
  const B = checkTarget(live.host, checkSpec({ type: 'tcp', port: live.port, intervalMs: 4000, timeoutMs: 1000, rise: 2, fall: 2 }));
  h.prober.update([A, B]);
  await waitFor(() => !h.table.isUp(A.key) && h.prober.probeCount(B.key) >= 1, 10_000, 'A down, B probed once');
  const aBefore = h.table.get(A.key)!;
  const bProbes = h.prober.probeCount(B.key);
  // new timings for both: the identity is what is probed, so the keys stay
  const A2 = checkTarget(dead.host, { ...A.check, intervalMs: 300, rise: 3, fall: 5 });
  const B2 = checkTarget(live.host, { ...B.check, intervalMs: 150 });
  t.is(A2.key, A.key);
  t.is(B2.key, B.key);
  const late = new Lateness();
  const tU = Date.now();
  h.prober.update([A2, B2]);
  t.is(h.prober.size, 2);
  t.like(h.table.get(A.key), { up: false, since: aBefore.since, lastResult: 'connection refused' }, 'still down, not "not checked yet"');
  // B waited out a 4 s interval (its next probe up to 4.4 s away): now probed within the new 150 ms
  await waitFor(() => h.prober.probeCount(B.key) >= bProbes + 3, 10_000, 'B probed at the new interval');
  const bAfter = h.records.filter((r) => r.address === live.host && r.start >= tU);
  const first = bAfter[0]!.start - tU;
  t.true(first <= 150 + SLOT_MS + 10 + late.ms, `first probe of B ${first}ms after the update`);
  for (const { gap, took } of steps(bAfter, () => true))
    t.true(gap >= 0.9 * 150 - 5 - late.ms && gap <= Math.max(1.1 * 150, took) + SLOT_MS + 10 + late.ms, `B gap ${gap}ms`);
  // A: still failing, probed with the new interval's backoff (at least one new interval apart), and comes up on
  // the new rise (3)
  await waitFor(() => h.records.filter((r) => r.address === dead.host && r.start >= tU).length >= 3, 10_000, 'A probed after the update');
  t.false(h.table.isUp(A.key));
  const aGaps = steps(
    h.records.filter((r) => r.address === dead.host && r.start >= tU),
    () => true,
  );
  t.true(
    aGaps.every(({ gap }) => gap >= 0.9 * 300 - 5 - late.ms),
    `A gaps ${aGaps.map((x) => x.gap).join(', ')}`,
  );
  t.is(of(h.changes, A.key).length, 1, 'no change from the update (only the first down)');
  await dead.resume();
  await waitFor(() => h.table.isUp(A.key), 10_000, 'A up');
  const up = of(h.changes, A.key).at(-1)!;
  const since = of(h.results.slice(0, up.index), A.key);
  t.is(since.slice(since.findLastIndex((x) => !x.r.ok) + 1).length, 3, 'up on the new rise');
});

test('server reload: a changed check interval or health: default keeps a down target down; it is probed at the new interval', async (t) => {
  const [x, y] = await TcpBackend.startMany([addr(84), addr(85)]);
  t.teardown(() => Promise.all([x!.close(), y!.close()]));
  await x!.stop();
  const zone = (interval: string) => `${ZONE_HEAD}
  app:
    pool:
      check: { type: tcp, port: ${x!.port}, interval: ${interval}, rise: 2, fall: 2 }
      regions: { us-east: [${x!.host}, ${y!.host}] }
`;
  // the timeout comes from the health: defaults of steerdns.yaml (2 s, then 250 ms)
  const ts = await startServer({ 'example.test.yaml': zone('100ms') });
  t.teardown(() => ts.stop());
  const xKey = keyIn(ts, x!);
  await waitFor(() => !ts.server.health.isUp(xKey), 10_000, 'x down');
  const xBefore = ts.server.health.get(xKey)!;
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, [y!.host]);
  writeFileSync(join(ts.dir, 'zones', 'example.test.yaml'), zone('300ms'));
  await heldStill(join(ts.dir, 'zones', 'example.test.yaml')); // (a SIGHUP reads only a file that held still)
  const late = new Lateness();
  const tR = Date.now();
  t.like(await ts.server.reload(), { ok: true });
  t.is(keyIn(ts, x!), xKey, 'the same identity');
  t.like(ts.server.health.get(xKey), { up: false, since: xBefore.since, lastResult: 'connection refused' });
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, [y!.host], 'x is not served again after the reload');
  // y, up, at the new interval: gaps of 300 ms ± 10 %, not 100
  await waitFor(() => y!.hitsSince(tR) >= 5, 10_000, 'y probed on');
  const hits = y!.hits.filter((h) => h >= tR);
  const gaps = hits.slice(2).map((h, i) => h - hits[i + 1]!); // the first gap may straddle the reload
  t.true(
    gaps.every((g) => g >= 0.9 * 300 - 5 - late.ms && g <= 1.1 * 300 + SLOT_MS + 10 + late.ms),
    `y gaps after the reload: ${gaps.join(', ')}`,
  );
  t.false(ts.server.health.isUp(xKey));
  t.deepEqual(
    stateChanges(ts.logs)
      .filter((l) => l.key === xKey)
      .map((l) => l.to),
    ['down'],
    'no state change from the reload',
  );

  // a changed health: default (SIGHUP re-reads steerdns.yaml): the same
  writeFileSync(join(ts.dir, 'steerdns.yaml'), `${BASE_CONFIG}health: { timeout: 250ms }\n`);
  t.like(await ts.server.reload(), { ok: true });
  t.is(probeListOf(ts.server.snapshot).find((c) => c.key === xKey)?.check.timeoutMs, 250, 'the new default applies');
  t.like(ts.server.health.get(xKey), { up: false, since: xBefore.since, lastResult: 'connection refused' });
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, [y!.host]);
  t.deepEqual(
    stateChanges(ts.logs)
      .filter((l) => l.key === xKey)
      .map((l) => l.to),
    ['down'],
  );
});

test('one address written in two IPv6 forms in two pools is one probe identity', async (t) => {
  const b = await TcpBackend.start('::1');
  t.teardown(() => b.close());
  const check = `{ type: tcp, port: ${b.port}, interval: 200ms, timeout: 1s }`;
  const ts = await startServer({
    'example.test.yaml': `${ZONE_HEAD}
  a: { pool: { check: ${check}, regions: { us-east: ["::1"] } } }
  b: { pool: { check: ${check}, regions: { eu-west: ["0:0:0:0:0:0:0:1"] } } }
  c: { pool: { check: ${check}, regions: { eu-west: ["0000::0001"] } } }
`,
  });
  t.teardown(() => ts.stop());
  const targets = probeListOf(ts.server.snapshot);
  t.deepEqual(
    targets.map((x) => x.key),
    [`tcp|::1|${b.port}`],
  );
  t.deepEqual(
    targets[0]!.uses.map((u) => u.pool),
    ['a.example.test', 'b.example.test', 'c.example.test'],
  );
  t.is(ts.server.prober.size, 1);
  // every pool's target shows the canonical address
  const shown = [...ts.server.snapshot.zones.values()].flatMap((z) =>
    z.pools.flatMap((p) => p.regions.flatMap((r) => r.targets.map((x) => x.address))),
  );
  t.deepEqual(shown, ['::1', '::1', '::1']);
});

// ---- scheduling ---------------------------------------------------------------------------------------------------

/**
 * Bounds on the gap between two probe starts of one target around its nominal (jittered) delay, from what the
 * schedule guarantees and the measured lateness of this event loop (`lateMs`, Lateness.ms): a probe starts at the
 * first tick of the wheel at or after its due time — at most SLOT_MS later, plus however late that tick fires —
 * so a gap may be longer by that; the next probe is due one delay after the start, or after the due time when
 * the start was more than a tick late (a stalled loop keeps its place in the spread), so a gap may be shorter by
 * that stall. 5 and 10 ms: the recording wrapper's whole-millisecond clock and its run after the timer.
 */
const SCHEDULE_SLACK = (lateMs: number) => ({ low: 5 + lateMs, high: SLOT_MS + 10 + lateMs });

test('probes are spread over the interval with jitter', async (t) => {
  const IV = 1000;
  const backends = await TcpBackend.startMany(Array.from({ length: 20 }, (_, i) => addr(100 + i)));
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const h = harness(t);
  const targets = backends.map((b) => checkTarget(b.host, checkSpec({ type: 'tcp', port: b.port, intervalMs: IV, timeoutMs: 1000 })));
  const late = new Lateness();
  const t0 = Date.now();
  h.prober.update(targets);
  await sleep(3.3 * IV);
  h.prober.stop();
  late.stop();
  // a probe starts at the first tick of the schedule's wheel at or after its due time (SLOT_MS later at most,
  // plus the tick's own lateness); the next is due one jittered interval after that start — after the due time
  // instead when the start was late by more than a tick (a stalled loop), which shortens that gap by the stall
  const { low, high } = SCHEDULE_SLACK(late.ms);
  const firsts = targets
    .map((x) => Math.min(...h.records.filter((r) => r.address === x.address).map((r) => r.start)) - t0)
    .sort((a, b) => a - b);
  t.true(
    firsts.every((f) => f >= 0 && f <= IV + high),
    `first probes at ${firsts.join(', ')} ms`,
  );
  // 20 uniform draws over the interval: a range under a third of it has probability ~1e-8
  t.true(firsts.at(-1)! - firsts[0]! >= IV / 3, `first probes at ${firsts.join(', ')} ms`);
  // later probes: every interval ± 10 % (start to start), and not all the same gap (the jitter is redrawn each time)
  const all: number[] = [];
  for (const x of targets) {
    const g = steps(h.records, (r) => r.address === x.address);
    t.true(g.length >= 1);
    for (const { gap, took } of g)
      t.true(gap >= 0.9 * IV - low && gap <= Math.max(1.1 * IV, took) + high, `${x.address}: gap ${gap}ms (slack ${low}/${high}ms)`);
    all.push(...g.map((x) => x.gap));
  }
  t.true(Math.max(...all) - Math.min(...all) >= 0.05 * IV, `gaps ${all.join(', ')}`);
  t.is(
    backends.reduce((n, b) => n + b.hits.length, 0),
    h.records.length,
  );
});

test('a slow probe does not stretch the schedule: intervals run from probe start to probe start', async (t) => {
  const IV = 300;
  const TO = 250; // each probe of the silent backend lasts almost an interval
  const b = await RawBackend.hanging(addr(79));
  t.teardown(() => b.close());
  const h = harness(t);
  // fall high enough that it stays up (a down target would back off)
  const target = checkTarget(b.host, checkSpec({ port: b.port, intervalMs: IV, timeoutMs: TO, rise: 1, fall: 100 }));
  const late = new Lateness();
  h.prober.update([target]);
  await waitFor(() => h.records.length >= 6, 10_000, 'six probes');
  const g = steps(h.records, () => true);
  t.true(h.records.every((r) => r.result.reason === `timeout after ${TO}ms`));
  // had the interval been counted from each probe's end, every gap would be TO + 0.9..1.1 × IV = 520..580 ms
  const { low, high } = SCHEDULE_SLACK(late.ms);
  for (const { gap, took } of g)
    t.true(
      gap >= 0.9 * IV - low && gap <= Math.max(1.1 * IV, took) + high,
      `gaps ${g.map((x) => x.gap).join(', ')} (slack ${low}/${high}ms)`,
    );
});

test('a down target backs off (gaps grow to the cap of 4 × interval, plus jitter) and a success returns it to the interval', async (t) => {
  const IV = 200;
  const late = new Lateness();
  t.teardown(() => late.stop());
  const b = await TcpBackend.start(addr(77));
  t.teardown(() => b.close());
  const h = harness(t);
  const target = checkTarget(b.host, checkSpec({ type: 'tcp', port: b.port, intervalMs: IV, timeoutMs: 1000, rise: 2, fall: 2 }));
  h.prober.update([target]);
  await waitFor(() => h.results.length >= 2, 10_000, 'two probes');
  await b.stop();
  await waitFor(() => h.changes.length === 1, 10_000, 'down');
  const downAt = h.changes[0]!.index; // results before and including the one that took it down
  await waitFor(() => h.results.length >= downAt + 4, 10_000, 'four probes while down');
  const g = steps(h.records.slice(downAt - 1), () => true).slice(0, 4);
  const nominal = [1, 2, 4, 4].map((k) => k * IV);
  const { low, high: SLACK } = SCHEDULE_SLACK(late.ms);
  const all = g.map((x) => x.gap).join(', ');
  g.forEach(({ gap, took }, i) => {
    t.true(
      gap >= 0.9 * nominal[i]! - low && gap <= Math.max(1.1 * nominal[i]!, took) + SLACK,
      `gap ${i} while down: ${gap}ms, nominal ${nominal[i]}ms (all: ${all})`,
    );
    t.true(gap <= Math.max(4 * 1.1 * IV, took) + SLACK, 'never beyond the cap plus jitter');
  });
  // recover right after a failed probe: the next probe is a capped backoff away, the one after it only an interval
  await b.resume();
  const from = h.records.length;
  await waitFor(() => h.changes.length === 2, 4 * 1.1 * IV + 2 * 1.1 * IV + 10_000, 'up');
  await waitFor(() => h.records.length >= from + 4, 10_000, 'probes after coming up');
  const after = h.records.slice(from - 1);
  t.false(after[0]!.result.ok);
  t.true(after[1]!.result.ok && after[2]!.result.ok);
  const ga = steps(after, () => true);
  const { low: low2, high: SLACK2 } = SCHEDULE_SLACK(late.ms);
  const allA = ga.map((x) => x.gap).join(', ');
  t.true(
    ga[0]!.gap >= 0.9 * 4 * IV - low2 && ga[0]!.gap <= Math.max(1.1 * 4 * IV, ga[0]!.took) + SLACK2,
    `backoff before the first success: ${allA}`,
  );
  for (const { gap, took } of ga.slice(1))
    t.true(gap >= 0.9 * IV - low2 && gap <= Math.max(1.1 * IV, took) + SLACK2, `after a success the interval again: ${allA}`);
});

test('smoothed response time of successful probes in the table', async (t) => {
  const b = await HttpBackend.start(addr(78));
  t.teardown(() => b.close());
  b.delayMs = 60;
  const h = harness(t);
  const target = checkTarget(b.host, checkSpec({ port: b.port, intervalMs: 120, timeoutMs: 2000, rise: 1, fall: 10 }));
  h.prober.update([target]);
  t.is(h.table.rttMs(target.key), null, 'no response time before a success');
  await waitFor(() => h.results.length >= 3, 10_000, 'three slow probes');
  const slow = h.table.rttMs(target.key)!;
  t.true(slow >= 55, `rtt ${slow}ms with a 60 ms backend`);
  b.delayMs = 0;
  const n = h.results.length;
  await waitFor(() => h.results.length >= n + 6, 10_000, 'fast probes');
  // each success moves the value 30 % of the way to its own response time: never the raw value
  const ewma = (upTo: number) => {
    let v: number | null = null;
    for (const x of h.results.slice(0, upTo)) if (x.r.ok) v = v === null ? x.r.rttMs : v + 0.3 * (x.r.rttMs - v);
    return v;
  };
  const prev = ewma(n)!;
  const firstFast = h.results[n]!;
  const once = stateAfter(h.results, n)!.rttMs!;
  t.true(Math.abs(once - (prev + 0.3 * (firstFast.r.rttMs - prev))) < 1e-9, `${prev} → ${once} after a ${firstFast.r.rttMs} ms probe`);
  if (firstFast.r.rttMs !== prev)
    t.true(Math.min(prev, firstFast.r.rttMs) < once && once < Math.max(prev, firstFast.r.rttMs), 'smoothed, not the raw value');
  t.true(Math.abs(h.table.rttMs(target.key)! - ewma(h.results.length)!) < 1e-9);
  if (h.results.slice(n).every((x) => x.r.rttMs < slow))
    t.true(h.table.rttMs(target.key)! < slow, `${slow} → ${h.table.rttMs(target.key)} after the backend got faster`);
  // failures leave it alone
  b.mode = 'status';
  const m = h.results.length;
  await waitFor(() => h.results.filter((x, i) => i >= m && !x.r.ok).length >= 2, 10_000, 'failed probes');
  t.true(Math.abs(h.table.rttMs(target.key)! - ewma(h.results.length)!) < 1e-9);
});

// ---- panic mode: most targets down at once ------------------------------------------------------------------------

const P_IV = 400;
const P_TO = 500; // well above a loopback connect, so a busy machine cannot fail targets that are up
const P_FALL = 3;
// fall 3 with ±10% jitter: every target's first failure (due ≤ 1.1 × IV after the stop) comes before any
// target's third (due ≥ 2 × 0.9 × IV after it), so panic (over 90% failing) engages before anything could go
// down. Timers fire in the order they are due, so a busy machine delays both alike.
const PANIC_CONFIG = (extra = '') =>
  `${BASE_CONFIG}health: { interval: ${P_IV}ms, timeout: ${P_TO}ms, rise: 2, fall: ${P_FALL}${extra} }\n`;
const P_DOWN_BOUND = P_FALL * P_IV + P_TO + P_IV;

async function panicServer(t: ExecutionContext, first: number, n: number, opts: { allDown?: string; health?: string } = {}) {
  const backends = await TcpBackend.startMany(Array.from({ length: n }, (_, i) => addr(first + i)));
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const ts = await startServer(
    {
      'example.test.yaml': `${ZONE_HEAD}
  app:
    pool:
      ttl: 30
      answers: 0
${opts.allDown ? `      all_down: ${opts.allDown}\n` : ''}      check: { type: tcp, port: ${backends[0]!.port} }
      regions:
        us-east: [${backends.map((b) => b.host).join(', ')}]
`,
    },
    PANIC_CONFIG(opts.health),
  );
  t.teardown(() => ts.stop());
  const keys = backends.map((b) => keyIn(ts, b));
  const hosts = backends.map((b) => b.host).sort();
  await waitFor(() => keys.every((k) => ts.server.health.get(k)?.lastCheck != null), 10_000, 'every target probed once');
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, hosts);
  return { backends, ts, keys, hosts };
}

test('20 targets, all backends stop at once → panic, logged once; answers unchanged; panic ends when they return', async (t) => {
  const { backends, ts, keys, hosts } = await panicServer(t, 120, 20);
  const { health, prober } = ts.server;
  const probesAtStop = keys.map((k) => prober.probeCount(k));
  const tStop = Date.now();
  await Promise.all(backends.map((b) => b.stop()));
  await waitFor(() => panicLines(ts.logs).length > 0, 1.1 * P_IV + P_TO + 10_000, 'the panic');
  t.deepEqual(stateChanges(ts.logs), [], 'panic engaged before any target went down');
  const p = panicLines(ts.logs)[0]!;
  t.like(p, { level: 50, total: 20, panic: 0.9 });
  t.true((p.failing as number) > 18);
  t.log(`panic ${Date.now() - tStop}ms after the stop: ${p.msg}`);

  // hold past the point where every target would have gone down without the panic: nothing goes down
  const holdUntil = tStop + P_DOWN_BOUND + 2 * P_IV;
  const ttls = new Set<number | null>();
  while (Date.now() < holdUntil) {
    const a = await answersOf(ts, 'app.example.test');
    t.deepEqual(a.addresses, hosts, 'answers unchanged during the panic');
    ttls.add(a.ttl);
    t.true(keys.every((k) => health.isUp(k)));
    await sleep(150);
  }
  t.true(
    keys.every((k) => health.get(k)!.lastResult === 'connection refused'),
    'every target is failing',
  );
  // probed FALL + 1 times since the stop (one of which may have been answered before it): failed at least FALL times
  const since = keys.map((k, i) => prober.probeCount(k) - probesAtStop[i]!);
  t.true(
    since.every((n) => n >= P_FALL + 1),
    `probes since the stop: ${since.join(', ')}`,
  );
  t.deepEqual(stateChanges(ts.logs), []);
  t.is(panicLines(ts.logs).length, 1, 'the panic is logged once');
  t.true(prober.inPanic);
  t.log(`TTLs answered during the panic: ${[...ttls].join(', ')}`);

  // the backends return: the panic ends (logged), nothing ever changed state
  await Promise.all(backends.map((b) => b.resume()));
  await waitFor(() => panicOverLines(ts.logs).length === 1, 4 * 1.1 * P_IV + 10_000, 'the end of the panic');
  t.like(panicOverLines(ts.logs)[0], { level: 40, total: 20 });
  t.false(prober.inPanic);
  await waitFor(() => keys.every((k) => health.get(k)!.lastResult === 'connected'), 10_000, 'every target probed successfully');
  t.deepEqual(stateChanges(ts.logs), []);
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, hosts);
  t.is(panicLines(ts.logs).length, 1);
});

test('20 targets, 3 backends stop → exactly those 3 drain, no panic', async (t) => {
  const { backends, ts, keys, hosts } = await panicServer(t, 140, 20);
  const gone = [0, 7, 13];
  const late = new Lateness();
  t.teardown(() => late.stop());
  const tStop = Date.now();
  await Promise.all(gone.map((i) => backends[i]!.stop()));
  const goneKeys = gone.map((i) => keys[i]!);
  const at = await waitFor(() => goneKeys.every((k) => !ts.server.health.isUp(k)), P_DOWN_BOUND + 10_000, 'the 3 to drain');
  // slack: the 5 ms polling step, and the measured lateness of the timers on the path (FALL probes, the polling)
  t.true(at - tStop <= P_DOWN_BOUND + 10 + late.chain(P_FALL + 1), `drained after ${at - tStop}ms, bound ${P_DOWN_BOUND}ms`);
  await sleep(2 * P_IV);
  const lines = stateChanges(ts.logs);
  t.deepEqual(lines.map((l) => l.key).sort(), [...goneKeys].sort());
  t.true(lines.every((l) => l.from === 'up' && l.to === 'down' && l.reason === 'connection refused'));
  t.deepEqual(panicLines(ts.logs), []);
  t.true(keys.filter((k) => !goneKeys.includes(k)).every((k) => ts.server.health.isUp(k)));
  const left = hosts.filter((hst) => !gone.some((i) => backends[i]!.host === hst));
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, left);
});

test('5 targets (below panic_min_targets), all stop → all drain', async (t) => {
  const { backends, ts, keys } = await panicServer(t, 160, 5, { allDown: 'nodata' });
  const late = new Lateness();
  t.teardown(() => late.stop());
  const tStop = Date.now();
  await Promise.all(backends.map((b) => b.stop()));
  const at = await waitFor(() => keys.every((k) => !ts.server.health.isUp(k)), P_DOWN_BOUND + 10_000, 'all 5 to drain');
  t.true(at - tStop <= P_DOWN_BOUND + 10 + late.chain(P_FALL + 1), `drained after ${at - tStop}ms`);
  t.deepEqual(panicLines(ts.logs), []);
  t.is(stateChanges(ts.logs).length, 5);
  const a = await answersOf(ts, 'app.example.test');
  t.deepEqual({ rcode: a.rcode, addresses: a.addresses }, { rcode: 'NOERROR', addresses: [] }, 'drained (all_down: nodata)');
});

test('panic: off → 20 targets, all stop → all drain', async (t) => {
  const { backends, ts, keys } = await panicServer(t, 170, 20, { allDown: 'nodata', health: ', panic: off' });
  const late = new Lateness();
  t.teardown(() => late.stop());
  const tStop = Date.now();
  await Promise.all(backends.map((b) => b.stop()));
  const at = await waitFor(() => keys.every((k) => !ts.server.health.isUp(k)), P_DOWN_BOUND + 10_000, 'all 20 to drain');
  t.true(at - tStop <= P_DOWN_BOUND + 10 + late.chain(P_FALL + 1), `drained after ${at - tStop}ms`);
  t.deepEqual(panicLines(ts.logs), []);
  t.is(stateChanges(ts.logs).length, 20);
  t.deepEqual((await answersOf(ts, 'app.example.test')).addresses, []);
});

// ---- abusive backends ---------------------------------------------------------------------------------------------

// Serial, so that it runs alone in this process: the memory figures are the whole process's.
test.serial('endless bodies, endless headers and silent servers neither grow memory nor stall the others', async (t) => {
  const IV = 200;
  const TO = 150; // the silent server's probes end by this timeout
  const TO_SELF = 2000; // the others must end on their own (body or header limit), long before their timeout
  const NORMAL_TO = 1000; // far above a loopback round trip: normal targets never fail, even on a busy machine
  const normals = await Promise.all([0, 1, 2, 3, 4].map((i) => HttpBackend.start(addr(200 + i))));
  const floodBody = await RawBackend.endlessBody(addr(205), 'flood');
  const pacedBody = await RawBackend.endlessBody(addr(206), 'paced');
  const floodHdr = await RawBackend.endlessHeaders(addr(207), 'flood');
  const pacedHdr = await RawBackend.endlessHeaders(addr(208), 'paced');
  const silent = await RawBackend.hanging(addr(209));
  const raws = [floodBody, pacedBody, floodHdr, pacedHdr, silent];
  t.teardown(() => Promise.all([...normals.map((b) => b.close()), ...raws.map((b) => b.close())]));

  const spec = { intervalMs: IV, timeoutMs: TO_SELF, rise: 2, fall: 2 };
  const normalTargets = normals.map((b) => checkTarget(b.host, checkSpec({ port: b.port, body: 'ok', ...spec, timeoutMs: NORMAL_TO })));
  const abusive: { target: CheckTarget; reason: string; ok: boolean }[] = [
    {
      target: checkTarget(floodBody.host, checkSpec({ port: floodBody.port, path: '/body', body: 'ok', ...spec })),
      ok: false,
      reason: `body did not contain "ok" in the first ${MAX_BODY / 1024} KB`,
    },
    { target: checkTarget(floodBody.host, checkSpec({ port: floodBody.port, path: '/nobody', ...spec })), ok: true, reason: 'HTTP 200' },
    {
      target: checkTarget(pacedBody.host, checkSpec({ port: pacedBody.port, path: '/body', body: 'ok', ...spec })),
      ok: false,
      reason: `body did not contain "ok" in the first ${MAX_BODY / 1024} KB`,
    },
    { target: checkTarget(pacedBody.host, checkSpec({ port: pacedBody.port, path: '/nobody', ...spec })), ok: true, reason: 'HTTP 200' },
    { target: checkTarget(floodHdr.host, checkSpec({ port: floodHdr.port, ...spec })), ok: false, reason: 'HTTP headers too large' },
    { target: checkTarget(pacedHdr.host, checkSpec({ port: pacedHdr.port, ...spec })), ok: false, reason: 'HTTP headers too large' },
    {
      target: checkTarget(silent.host, checkSpec({ port: silent.port, ...spec, timeoutMs: TO })),
      ok: false,
      reason: `timeout after ${TO}ms`,
    },
  ];
  const h = harness(t);

  // the abusive ones are also probed directly, all at once, round after round, so that there are many probes
  // of them (the prober itself backs off from the failing ones)
  const direct: { i: number; start: number; ms: number; r: ProbeResult }[] = [];
  const round = () =>
    Promise.all(
      abusive.map(async (a, i) => {
        const s = Date.now();
        const r = await probe({ address: a.target.address, check: a.target.check });
        direct.push({ i, start: s, ms: Date.now() - s, r });
      }),
    );

  h.prober.update([...normalTargets, ...abusive.map((a) => a.target)]);
  for (let i = 0; i < 3; i++) await round(); // warm up: buffers, parsers, TLS-free code paths compiled
  const gcAvailable = forceGc() !== null;
  const before = await settledMemory();
  const late = new Lateness();
  const elu0 = performance.eventLoopUtilization();
  const t0 = Date.now();
  const ROUNDS = 30;
  for (let i = 0; i < ROUNDS; i++) await round();
  const D = Date.now() - t0;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  late.stop();
  const after = await settledMemory();
  h.prober.stop();
  // Slack for "within": the timers involved may fire late by the measured lateness of this event loop (a few
  // ms when the machine is idle), plus 20 ms for connection teardown and promise resolution.
  const LATE = 20 + 2 * late.ms;
  await sleep(TO_SELF + LATE); // let the last connections close
  const inWindow = (r: ProbeRecord) => r.start >= t0 && r.end <= t0 + D; // not across the forced collections

  // ---- nothing stalled: every normal target kept its schedule throughout
  // (a probe lasting longer than the interval, on a loaded machine, delays the next start to its end, no more)
  for (const x of normalTargets) {
    const mine = (r: ProbeRecord) => r.address === x.address && inWindow(r);
    const g = steps(h.records, mine);
    // a probe runs at the first tick of the schedule's wheel at or after its due time: up to SLOT_MS later
    t.true(
      g.every(({ gap, took }) => gap <= Math.max(1.1 * IV, took) + SLOT_MS + 10 + late.ms),
      `${x.address} gaps ${g.map((y) => y.gap).join(', ')}`,
    );
    const longest = Math.max(1.1 * IV, ...g.map((y) => y.took));
    const n = h.records.filter(mine).length;
    t.true(n >= Math.floor(D / (longest + SLOT_MS + 10 + late.ms)) - 2, `${x.address}: ${n} probes in ${D}ms`);
    t.true(h.records.filter((r) => r.address === x.address).every((r) => r.result.ok));
    t.true(h.table.isUp(x.key));
  }

  // ---- every probe of an abusive backend ended within its timeout, with the expected result
  const abusiveProbes = [
    ...h.records
      .filter((r) => inWindow(r) && raws.some((b) => b.host === r.address))
      .map((r) => ({
        a: abusive.find((a) => a.target.address === r.address && a.target.check.path === r.path)!,
        ms: r.end - r.start,
        r: r.result,
      })),
    // the measured rounds only: the warm-up rounds ran before the lateness of this event loop was measured
    ...direct.filter((d) => d.start >= t0).map((d) => ({ a: abusive[d.i]!, ms: d.ms, r: d.r })),
  ];
  t.true(abusiveProbes.length >= ROUNDS * abusive.length);
  for (const p of abusiveProbes) {
    t.true(p.ms <= p.a.target.check.timeoutMs + LATE, `${p.a.target.key}: probe took ${p.ms}ms`);
    t.deepEqual({ ok: p.r.ok, reason: p.r.reason }, { ok: p.a.ok, reason: p.a.reason }, p.a.target.key);
  }

  // ---- the backends saw every connection closed by the prober, within the timeout
  for (const b of raws) {
    t.true(b.conns.length >= ROUNDS);
    const limit = (b === silent ? TO : TO_SELF) + LATE;
    for (const c of b.conns) {
      t.not(c.closed, null, `${b.host}: a connection left open`);
      // the connections in the measured window only: the forced collections stop the loop for a moment
      if (c.opened >= t0 && c.opened <= t0 + D - limit)
        t.true(c.closed! - c.opened <= limit, `${b.host}: connection lived ${c.closed! - c.opened}ms`);
    }
  }
  const selfEnded = abusiveProbes.filter((p) => p.a.target.address !== silent.host).map((p) => p.ms);
  t.log(
    `probes ending on their own (body/header limits) took at most ${Math.max(...selfEnded)}ms; measured lateness ${late.ms.toFixed(1)}ms; event loop utilization ${(elu * 100).toFixed(0)}%`,
  );
  // bytes the paced backends (one 16 KB chunk per millisecond) managed to write: the prober stops reading at
  // MAX_BODY (64 KB) with a body check and right after the headers without one, and headers at 16 KB; had it read
  // on until its timeout, each would have written ~150 chunks (2.4 MB)
  const KB = 1024;
  const paced = (b: RawBackend, path: string | null) =>
    b.conns.filter((c) => path === null || c.request.startsWith(`GET ${path} `)).map((c) => c.bytesOut);
  const pb = paced(pacedBody, '/body');
  const pn = paced(pacedBody, '/nobody');
  const ph = paced(pacedHdr, null);
  t.true(pb.length >= ROUNDS && pn.length >= ROUNDS);
  t.true(Math.max(...pb) <= MAX_BODY + 12 * 16 * KB, `paced body, body check: ${Math.max(...pb)} bytes`);
  t.true(Math.max(...pn) <= 8 * 16 * KB, `paced body, no body check: ${Math.max(...pn)} bytes`);
  t.true(Math.max(...ph) <= 16 * KB + 8 * 16 * KB, `paced headers: ${Math.max(...ph)} bytes`);
  t.log(`paced bytes per connection: body check ≤ ${Math.max(...pb)}, no body check ≤ ${Math.max(...pn)}, headers ≤ ${Math.max(...ph)}`);
  // the flooding ones fill the kernel's socket buffers at once (some MB on loopback, whatever the client does);
  // what matters is that the prober closed those connections quickly (above), so the flood stopped
  t.log(
    `flood bytes per connection: body ≤ ${Math.max(...floodBody.conns.map((c) => c.bytesOut))}, headers ≤ ${Math.max(...floodHdr.conns.map((c) => c.bytesOut))}`,
  );

  // ---- memory: gc is forced before each reading (see forceGc), so heapUsed + arrayBuffers is what stays alive.
  // Bound 3 MB: below what keeping just the ≤ 64 KB read by each of the 60 body-checked direct probes would retain
  // (3.75 MB), and far below a prober that buffered a flood (MBs per probe). Should the run-time gc trick be
  // unavailable, the readings include garbage and the bound is a generous 64 MB, still far below buffered floods.
  const live = (m: NodeJS.MemoryUsage) => m.heapUsed + m.arrayBuffers;
  const growth = live(after) - live(before);
  const rssGrowth = after.rss - before.rss;
  const MB = 1024 * 1024;
  t.log(
    `${abusiveProbes.length} abusive probes in ${D}ms; live heap+buffers ${(live(before) / MB).toFixed(1)} → ${(live(after) / MB).toFixed(1)} MB; rss ${(before.rss / MB).toFixed(1)} → ${(after.rss / MB).toFixed(1)} MB; gc ${gcAvailable}`,
  );
  t.true(growth <= (gcAvailable ? 3 : 64) * MB, `live heap + buffers grew by ${(growth / MB).toFixed(1)} MB`);
  // rss also counts allocator caches and V8 pages not yet returned to the system, hence the wider bound; buffering
  // the floods (~4 MB each, the kernel's socket buffers) for the 60 body-checked probes would take ~240 MB
  t.true(rssGrowth <= 64 * MB, `rss grew by ${(rssGrowth / MB).toFixed(1)} MB`);
});

/** The health key the running server uses for a TCP backend (a TCP check's identity starts with type, address, port). */
function keyIn(ts: { server: { health: { keys(): IterableIterator<string> } } }, b: { host: string; port: number }): string {
  const prefix = `tcp|${b.host}|${b.port}`;
  const key = [...ts.server.health.keys()].find((k) => k === prefix || k.startsWith(`${prefix}|`));
  if (!key) throw new Error(`no health entry for ${prefix}`);
  return key;
}
