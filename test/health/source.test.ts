// Probes that leave from `health.source` (docs/configuration.md#health, docs/operations.md#health-checking):
// tcp (libuv's handle and net.Socket), http and https probes of the source's family are bound to it, those of
// the other family go unbound; a backend that fails the probes of one source address only is seen by each
// prober as it answers that prober, with the usual down and up bounds; a source not on this host fails the
// probe (EADDRNOTAVAIL) and stops `serve` at start. Linux answers all of 127/8 on lo, so each source is its
// own 127.0.10.x address. Backends: 127.0.9.x.
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type ProbeResult, type ProbeSource, probe, probeTcpSocket, RAW_TCP_CHECKS } from '../../src/health/checks.js';
import { Prober, type StateChange } from '../../src/health/prober.js';
import { HealthTable } from '../../src/health/table.js';
import { BASE_CONFIG, query, runCli, startServer, udp, writeFixture } from '../helpers/server.js';
import { captureLogger, checkSpec, checkTarget, HttpBackend, Lateness, TcpBackend, waitFor } from './backends.js';

const backend = (n: number): string => `127.0.9.${n}`;
const source = (n: number): ProbeSource => ({ address: `127.0.10.${n}`, family: 4 });
const V6_LOOPBACK: ProbeSource = { address: '::1', family: 6 };
/** TEST-NET-3 (RFC 5737): never an address of this host. */
const FOREIGN: ProbeSource = { address: '203.0.113.77', family: 4 };

const tcp = (port: number) => checkSpec({ type: 'tcp', port, timeoutMs: 5000 });

// ---- one probe ----------------------------------------------------------------------------------------

test("tcp: a probe leaves from health.source, through libuv's handle and through net.Socket; without it from the address the system picks", async (t) => {
  t.true(RAW_TCP_CHECKS, 'this Node has the TCP handle: probe() takes that path');
  const b = await TcpBackend.start(backend(1));
  t.teardown(() => b.close());
  const check = tcp(b.port);
  t.like(await probe({ address: b.host, check, source: source(1) }), { ok: true, reason: 'connected' });
  t.like(await probeTcpSocket({ address: b.host, check, source: source(2) }), { ok: true, reason: 'connected' });
  t.like(await probe({ address: b.host, check }), { ok: true });
  t.like(await probe({ address: b.host, check, source: null }), { ok: true });
  await waitFor(() => b.peers.length === 4, 10_000, 'four connections');
  t.deepEqual(b.peers, ['127.0.10.1', '127.0.10.2', '127.0.0.1', '127.0.0.1']);
});

test('tcp, http: a target of the other family than health.source is probed unbound', async (t) => {
  const v6 = await TcpBackend.start('::1');
  const v4 = await TcpBackend.start(backend(2));
  const web6 = await HttpBackend.start('::1');
  t.teardown(() => Promise.all([v6.close(), v4.close(), web6.close()]));
  t.like(await probe({ address: '::1', check: tcp(v6.port), source: source(3) }), { ok: true });
  t.like(await probeTcpSocket({ address: '::1', check: tcp(v6.port), source: source(3) }), { ok: true });
  t.like(await probe({ address: v4.host, check: tcp(v4.port), source: V6_LOOPBACK }), { ok: true });
  t.like(await probeTcpSocket({ address: v4.host, check: tcp(v4.port), source: V6_LOOPBACK }), { ok: true });
  t.like(await probe({ address: '::1', check: checkSpec({ port: web6.port, timeoutMs: 5000 }), source: source(3) }), {
    ok: true,
    reason: 'HTTP 200',
  });
  await waitFor(() => v6.peers.length === 2 && v4.peers.length === 2, 10_000, 'the connections');
  t.deepEqual(v6.peers, ['::1', '::1']);
  t.deepEqual(v4.peers, ['127.0.0.1', '127.0.0.1']);
  t.deepEqual(
    web6.requests.map((r) => r.from),
    ['::1'],
  );
});

for (const tls of [false, true]) {
  const type = tls ? 'https' : 'http';
  test(`${type}: a backend that answers 503 to one source address only: the probe from there fails, from another source and unbound it succeeds`, async (t) => {
    const b = await HttpBackend.start(backend(tls ? 4 : 3), { tls });
    t.teardown(() => b.close());
    b.failFrom.add('127.0.10.4');
    const check = checkSpec({ type, port: b.port, path: '/healthz', insecure: true, timeoutMs: 5000 });
    const results: ProbeResult[] = [];
    for (const s of [source(4), source(5), null]) results.push(await probe({ address: b.host, check, source: s }));
    t.deepEqual(
      results.map((r) => [r.ok, r.reason]),
      [
        [false, 'HTTP 503'],
        [true, 'HTTP 200'],
        [true, 'HTTP 200'],
      ],
    );
    t.deepEqual(
      b.requests.map((r) => r.from),
      ['127.0.10.4', '127.0.10.5', '127.0.0.1'],
    );
  });
}

test('a source that is not an address of this host: the probe fails with EADDRNOTAVAIL and nothing reaches the backend', async (t) => {
  const tcpB = await TcpBackend.start(backend(5));
  const web = await HttpBackend.start(backend(6));
  t.teardown(() => Promise.all([tcpB.close(), web.close()]));
  t.like(await probe({ address: tcpB.host, check: tcp(tcpB.port), source: FOREIGN }), {
    ok: false,
    kind: 'error',
    reason: 'cannot bind to health.source 203.0.113.77: EADDRNOTAVAIL',
  });
  const viaSocket = await probeTcpSocket({ address: tcpB.host, check: tcp(tcpB.port), source: FOREIGN });
  t.false(viaSocket.ok);
  t.regex(viaSocket.reason, /EADDRNOTAVAIL/);
  const viaHttp = await probe({ address: web.host, check: checkSpec({ port: web.port, timeoutMs: 5000 }), source: FOREIGN });
  t.false(viaHttp.ok);
  t.regex(viaHttp.reason, /EADDRNOTAVAIL/);
  // the same backends answer unbound probes: the failures were the source's
  t.like(await probe({ address: tcpB.host, check: tcp(tcpB.port) }), { ok: true });
  t.is(tcpB.peers.length, 1);
  t.is(web.requests.length, 0);
});

// ---- the prober: one backend, two sources ------------------------------------------------------------------

interface Seen {
  prober: Prober;
  table: HealthTable;
  results: ProbeResult[];
  changes: (StateChange & { at: number })[];
}

function prober(t: ExecutionContext, from: ProbeSource): Seen {
  const { log } = captureLogger();
  const table = new HealthTable();
  const seen: Seen = { prober: null as unknown as Prober, table, results: [], changes: [] };
  seen.prober = new Prober({
    table,
    log,
    panic: null,
    panicMinTargets: 10,
    source: from,
    onResult: (_t, r) => seen.results.push(r),
    onChange: (c) => seen.changes.push({ ...c, at: Date.now() }),
  });
  t.teardown(() => seen.prober.stop());
  return seen;
}

test('two probers with their own health.source and one backend that fails the probes of one source only: each sees what it is answered, down and up within the bounds of docs/operations.md#health-checking', async (t) => {
  const IV = 300;
  const TO = 200;
  const RISE = 2;
  const FALL = 3;
  // the bounds of test/health/prober.test.ts: down within fall × interval + timeout + one interval, up within
  // 4 × interval (the capped backoff) + rise × interval + timeout; the only slack is the measured lateness
  const DOWN_BOUND = FALL * IV + TO + IV;
  const UP_BOUND = 4 * IV + RISE * IV + TO;
  const b = await HttpBackend.start(backend(7));
  t.teardown(() => b.close());
  // one check, one identity: the source is not part of it
  const target = checkTarget(b.host, checkSpec({ port: b.port, path: '/healthz', intervalMs: IV, timeoutMs: TO, rise: RISE, fall: FALL }));
  const a = prober(t, source(6));
  const z = prober(t, source(7));
  a.prober.update([target]);
  z.prober.update([target]);
  await waitFor(() => a.results.length >= 2 && z.results.length >= 2, 10_000, 'two probes from each source');
  t.true(a.table.isUp(target.key) && z.table.isUp(target.key));

  // the backend fails the first source's probes: that prober takes the target down, the other keeps it up
  const late = new Lateness();
  t.teardown(() => late.stop());
  b.failFrom.add('127.0.10.6');
  const t0 = Date.now();
  const zBefore = z.results.length;
  await waitFor(() => a.changes.length === 1, DOWN_BOUND + 10_000, 'the first source: down');
  const down = a.changes[0]!;
  t.like(down, { from: 'up', to: 'down', reason: 'HTTP 503' });
  const downSlack = late.chain(FALL + 2);
  t.true(down.at - t0 <= DOWN_BOUND + downSlack, `down after ${down.at - t0}ms, bound ${DOWN_BOUND}ms + ${downSlack}ms lateness`);
  t.true(z.results.length >= zBefore + FALL - 1, 'the second source probed meanwhile');
  // the backend answered the second source 200 every time (a probe may still time out on a loaded machine)
  t.deepEqual(
    z.results.filter((r) => r.reason === 'HTTP 503'),
    [],
    'no probe of the second source was answered 503',
  );
  t.is(z.changes.length, 0);
  t.true(z.table.isUp(target.key));

  // and the other way round: the first source recovers, the second goes down
  late.reset();
  b.failFrom = new Set(['127.0.10.7']);
  const t1 = Date.now();
  await waitFor(() => a.changes.length === 2 && z.changes.length === 1, UP_BOUND + 10_000, 'the swap');
  const up = a.changes[1]!;
  const down2 = z.changes[0]!;
  t.like(up, { from: 'down', to: 'up', reason: 'HTTP 200' });
  t.like(down2, { from: 'up', to: 'down', reason: 'HTTP 503' });
  const slack = late.chain(Math.max(FALL, RISE) + 2);
  t.true(up.at - t1 <= UP_BOUND + slack, `up after ${up.at - t1}ms, bound ${UP_BOUND}ms + ${slack}ms lateness`);
  t.true(down2.at - t1 <= DOWN_BOUND + slack, `down after ${down2.at - t1}ms, bound ${DOWN_BOUND}ms + ${slack}ms lateness`);
  t.log(`down ${down.at - t0}ms, up ${up.at - t1}ms, down ${down2.at - t1}ms (bounds ${DOWN_BOUND}, ${UP_BOUND} ms)`);
  // every request the backend saw came from one of the two sources
  t.deepEqual([...new Set(b.requests.map((r) => r.from))].sort(), ['127.0.10.6', '127.0.10.7']);
});

// ---- the server ---------------------------------------------------------------------------------------------

test('serve: a health.source that is not an address of this host stops the start, exit 1, with file:line:col and EADDRNOTAVAIL', async (t) => {
  const dir = writeFixture(`${BASE_CONFIG}health: { source: 203.0.113.77 }\n`, {
    'x.yaml':
      'origin: example.test\nsoa: { ns: ns1.example.test., email: h@example.test }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n',
  });
  const line = BASE_CONFIG.split('\n').length;
  const r = await runCli(['serve', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 1, r.stderr);
  t.is(
    r.stderr,
    `steerdns.yaml:${line}:19: health.source: cannot bind probes to 203.0.113.77 (EADDRNOTAVAIL: it is not an address of this host)\nsteerdns: health checks cannot leave from health.source\n`,
  );
  // check warns of the same address, without binding
  const c = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(c.code, 0, c.stderr);
  t.true(
    c.stdout.includes(
      `steerdns.yaml:${line}:19: warning: health.source: 203.0.113.77 is not an address of this host (serve refuses to start: it cannot bind probes to it)\n`,
    ),
    c.stdout,
  );
});

test('a running server probes from health.source: the target whose backend fails that source is left out of the answers', async (t) => {
  const failing = await HttpBackend.start(backend(8));
  const fine = await HttpBackend.start(backend(9), { port: failing.port });
  t.teardown(() => Promise.all([failing.close(), fine.close()]));
  failing.failFrom.add('127.0.10.8');
  const zone = `origin: example.test
soa: { ns: ns1.example.test., email: h@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      ttl: 30
      check: { type: http, port: ${failing.port}, path: /healthz, interval: 300ms, timeout: 200ms, fall: 2 }
      regions: { us-east: [${failing.host}, ${fine.host}] }
`;
  const s = await startServer({ 'x.yaml': zone }, `${BASE_CONFIG}health: { source: 127.0.10.8 }\n`);
  t.teardown(() => s.stop());
  const answer = async () => {
    const r = await udp(s.port, query('app.example.test', 'A'));
    return r.msg.answers.map((a) => a.data as string).sort();
  };
  await waitFor(() => failing.requests.length >= 2, 10_000, 'two probes of the failing backend');
  let got: string[] = [];
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    got = await answer();
    if (got.length === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.deepEqual(got, [fine.host]);
  t.deepEqual(new Set([...failing.requests, ...fine.requests].map((r) => r.from)), new Set(['127.0.10.8']));
});
