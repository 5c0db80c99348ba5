// `steerdns serve` (docs/operations.md#steerdns-serve, docs/zone-format.md#reload-and-the-last-good-version): a
// broken zone at start is refused with the same message `check` prints while the others serve; nothing to serve
// → non-zero exit; a broken steerdns.yaml → exit 1; SIGTERM/SIGINT stop gracefully with exit 0; SIGHUP reloads,
// keeping the last good version of a broken zone; pino JSON lines on stdout.

import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  BASE_CONFIG,
  decode,
  type LoggedProcess,
  query,
  runCli,
  SAMPLE_ZONE,
  servingPort,
  spawnServe,
  startServer,
  tcp,
  u16,
  udp,
  udpRaw,
  writeFixture,
} from './helpers/server.js';

const ZONE = (www: string) => `origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  # the address below is what the reload tests change
  www: { A: ${www} }
`;

const BROKEN = `origin: broken.test
soa: { ns: ns1.broken.test., email: hostmaster@broken.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { A: 192.0.2.300 }
`;
const BROKEN_MESSAGE = '6:13: A at "www": "192.0.2.300" is not an IPv4 address';

const OTHER = `origin: other.test
soa: { ns: ns1.other.test., email: hostmaster@other.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.153 }
`;

function fixture(t: ExecutionContext, config: string, zones: Record<string, string>): string {
  const dir = writeFixture(config, zones);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Spawns `serve` in `dir`; the process is killed (by its pid) if the test leaves it running. */
function serve(t: ExecutionContext, dir: string): LoggedProcess {
  const p = spawnServe(dir);
  t.teardown(() => {
    if (!p.done) p.child.kill('SIGKILL');
  });
  return p;
}

/** The first log line after the ones already seen that matches. */
function nextLog(p: LoggedProcess, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) {
  const from = p.logs.length;
  return p.waitForLog((l) => p.logs.indexOf(l) >= from && pred(l), timeoutMs);
}

const addresses = async (port: number, name: string) => (await udp(port, query(name, 'A'))).msg.answers.map((a) => a.data as string);

// ---- start with broken zones ----------------------------------------------------------------

test("serve: a broken zone at start is REFUSED, the good zone answers, the log has check's file:line:col message", async (t) => {
  const s = await startServer({ 'example.test.yaml': SAMPLE_ZONE, 'broken.test.yaml': BROKEN });
  try {
    for (const [name, send] of [
      ['udp', udp],
      ['tcp', tcp],
    ] as const) {
      const good = await send(s.port, query('ns1.example.test', 'A'));
      t.is(good.msg.rcode, 'NOERROR', name);
      t.deepEqual(
        good.msg.answers.map((a) => a.data),
        ['192.0.2.53'],
        name,
      );
      for (const q of ['broken.test', 'ns1.broken.test', 'www.broken.test']) {
        const bad = await send(s.port, query(q, 'A'));
        t.is(bad.msg.rcode, 'REFUSED', `${name} ${q}`);
        t.is(bad.msg.answers.length, 0);
      }
    }
    // `check` from the same working directory prints the very same lines
    const file = join(s.dir, 'zones', 'broken.test.yaml');
    const c = await runCli(['check', '-c', join(s.dir, 'steerdns.yaml')], process.cwd());
    t.is(c.code, 1);
    const checkLines = c.stderr.split('\n').filter((l) => l && !/^\d+ errors?$/.test(l));
    t.is(checkLines.length, 1, c.stderr);
    t.true(checkLines[0]!.endsWith(`zones/broken.test.yaml:${BROKEN_MESSAGE}`), checkLines[0]);
    const logged = s.logs.filter((l) => l.level === 50 && l.file === file).map((l) => l.msg);
    t.true(logged.includes(checkLines[0]), JSON.stringify(logged));
    t.true(logged.includes('zone file did not load: it is not served'), JSON.stringify(logged));
    const serving = s.logs.find((l) => l.msg === 'serving');
    t.deepEqual(serving?.zones, ['example.test']);
  } finally {
    await s.stop();
  }
});

test('serve: every zone broken → exits non-zero with the errors on stderr', async (t) => {
  const dir = fixture(t, BASE_CONFIG, { 'broken.test.yaml': BROKEN, 'empty.yaml': '' });
  const started = Date.now();
  const r = await runCli(['serve', '-c', 'steerdns.yaml'], dir, 30_000);
  t.is(r.code, 1, r.stderr);
  t.true(Date.now() - started < 30_000);
  const lines = r.stderr.split('\n');
  t.true(lines.includes(`zones/broken.test.yaml:${BROKEN_MESSAGE}`), r.stderr);
  t.true(lines.includes('zones/empty.yaml:1:1: zone file is empty (it needs origin, soa and records)'), r.stderr);
  t.true(lines.includes('steerdns: no zone could be loaded: nothing to serve'), r.stderr);
  // and the same in the JSON log, each once
  const logs = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(logs.filter((l) => l.msg === `zones/broken.test.yaml:${BROKEN_MESSAGE}`).length, 1, r.stdout);
  t.true(
    logs.some((l) => l.level === 60 && l.msg === 'no zone could be loaded: nothing to serve'),
    r.stdout,
  );
});

test('serve: no zone files at all → exits non-zero', async (t) => {
  const dir = fixture(t, BASE_CONFIG, {});
  const r = await runCli(['serve', '-c', 'steerdns.yaml'], dir, 30_000);
  t.is(r.code, 1);
  t.true(r.stderr.includes('steerdns: no zone could be loaded: nothing to serve'), r.stderr);
});

test('serve: an invalid steerdns.yaml → exit 1 with file:line:col', async (t) => {
  const dir = fixture(t, `${BASE_CONFIG}lisen: ["127.0.0.1:0"]\nhealth: { rise: 0 }\n`, { 'example.test.yaml': SAMPLE_ZONE });
  const r = await runCli(['serve', '-c', 'steerdns.yaml'], dir, 30_000);
  t.is(r.code, 1);
  const lines = r.stderr.split('\n');
  const line = BASE_CONFIG.split('\n').length;
  t.true(
    lines.includes(
      `steerdns.yaml:${line}:1: unknown key "lisen" in steerdns.yaml (expected one of: listen, zones, http, workers, geoip, regions, health, log, nsid, version, state_dir, limits, rrl, dnssec, fleet)`,
    ),
    r.stderr,
  );
  t.true(lines.includes(`steerdns.yaml:${line + 1}:17: health.rise must be an integer from 1 to 100, got 0`), r.stderr);
  t.true(lines.includes('steerdns: invalid configuration'), r.stderr);
  const logs = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.true(
    logs.some((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith(`steerdns.yaml:${line}:1: unknown key "lisen"`)),
    r.stdout,
  );
});

test('serve: a missing config file → exit 1', async (t) => {
  const dir = fixture(t, BASE_CONFIG, {});
  const r = await runCli(['serve', '-c', 'missing.yaml'], dir, 30_000);
  t.is(r.code, 1);
  t.true(r.stderr.includes('missing.yaml:1:1: cannot read config: file not found'), r.stderr);
});

test('serve: a listen address that cannot be bound → exit 1, "cannot start"', async (t) => {
  // 192.0.2.1 (TEST-NET-1) is not an address of this host
  const dir = fixture(t, BASE_CONFIG.replace('listen: ["127.0.0.1:0"]', 'listen: ["192.0.2.1:0"]'), { 'example.test.yaml': SAMPLE_ZONE });
  const r = await runCli(['serve', '-c', 'steerdns.yaml'], dir, 30_000);
  t.is(r.code, 1);
  t.regex(r.stderr, /^steerdns: cannot start: .*EADDRNOTAVAIL/m);
});

// ---- signals ------------------------------------------------------------------------------------

test('serve: SIGTERM stops gracefully — an in-flight TCP query is answered — exit 0, "stopped" logged', async (t) => {
  const dir = fixture(t, BASE_CONFIG, { 'example.test.yaml': ZONE('192.0.2.80') });
  const p = serve(t, dir);
  const port = await servingPort(p, 30_000);
  t.deepEqual(await addresses(port, 'www.example.test'), ['192.0.2.80']);

  // a TCP query that is half sent when the signal arrives
  const msg = query('www.example.test', 'A');
  const framed = Buffer.concat([u16(msg.length), msg]);
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let received = Buffer.alloc(0);
  sock.on('data', (d) => {
    received = Buffer.concat([received, d]);
  });
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  sock.write(framed.subarray(0, 5));
  await new Promise((r) => setTimeout(r, 100));

  t.true(p.child.kill('SIGTERM'));
  const stopping = await p.waitForLog((l) => l.msg === 'stopping', 15_000);
  t.is(stopping.signal, 'SIGTERM');
  sock.write(framed.subarray(5));
  await closed;
  t.true(received.length > 2, 'the in-flight query was answered');
  t.is(received.readUInt16BE(0), received.length - 2);
  const answer = decode(received.subarray(2)).msg;
  t.is(answer.rcode, 'NOERROR');
  t.deepEqual(
    answer.answers.map((a) => a.data),
    ['192.0.2.80'],
    'and answered right',
  );
  t.deepEqual(await p.exited, { code: 0, signal: null });
  t.true(
    p.logs.some((l) => l.msg === 'stopped'),
    p.lines.join('\n'),
  );
  t.is(await udpRaw(port, query('www.example.test', 'A'), 300), null, 'no longer answering');
});

test('serve: SIGINT stops gracefully with an idle TCP connection open, exit 0', async (t) => {
  const dir = fixture(t, BASE_CONFIG, { 'example.test.yaml': ZONE('192.0.2.80') });
  const p = serve(t, dir);
  const port = await servingPort(p, 30_000);
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  sock.on('error', () => undefined);
  t.true(p.child.kill('SIGINT'));
  const started = Date.now();
  t.deepEqual(await p.exited, { code: 0, signal: null });
  await closed;
  t.true(Date.now() - started < 9_000, 'the idle connection did not hold the stop back to the 10 s force timer');
  const stopping = p.logs.find((l) => l.msg === 'stopping');
  t.is(stopping?.signal, 'SIGINT');
  t.true(p.logs.some((l) => l.msg === 'stopped'));
});

test('serve: SIGHUP reloads edited, added and removed zones; a broken zone keeps its last good version', async (t) => {
  const dir = fixture(t, BASE_CONFIG, { 'example.test.yaml': ZONE('192.0.2.80') });
  const zoneFile = join(dir, 'zones', 'example.test.yaml');
  const p = serve(t, dir);
  const port = await servingPort(p, 30_000);
  t.deepEqual(await addresses(port, 'www.example.test'), ['192.0.2.80']);
  const serial1 = (await udp(port, query('example.test', 'SOA'))).msg.answers[0]!.data.serial as number;

  // edit → new data, new serial (a file written just now is read once it held still: wait for its load line)
  writeFileSync(zoneFile, ZONE('192.0.2.81'));
  let reloaded = nextLog(p, (l) => l.msg === 'reloaded');
  const loaded = nextLog(p, (l) => l.msg === 'zone loaded' && l.zone === 'example.test');
  t.true(p.child.kill('SIGHUP'));
  t.like(await reloaded, { failed: 0, zones: ['example.test'] });
  await loaded;
  t.deepEqual(await addresses(port, 'www.example.test'), ['192.0.2.81']);
  const serial2 = (await udp(port, query('example.test', 'SOA'))).msg.answers[0]!.data.serial as number;
  t.true(serial2 > serial1, `${serial2} > ${serial1}`);

  // break it → the old data keeps being served, the error is logged with file:line:col
  writeFileSync(zoneFile, ZONE('192.0.2.999'));
  const from = p.logs.length;
  reloaded = nextLog(p, (l) => l.msg === 'reloaded');
  const refused = nextLog(
    p,
    (l) => l.level === 50 && l.msg === `zone example.test. did not load: the last good version (serial ${serial2}) keeps serving`,
  );
  t.true(p.child.kill('SIGHUP'));
  t.like(await reloaded, { zones: ['example.test'] });
  await refused;
  t.deepEqual(await addresses(port, 'www.example.test'), ['192.0.2.81']);
  t.is((await udp(port, query('example.test', 'SOA'))).msg.answers[0]!.data.serial, serial2);
  const since = p.logs.slice(from);
  t.true(
    since.some((l) => l.level === 50 && l.msg === 'zones/example.test.yaml:8:13: A at "www": "192.0.2.999" is not an IPv4 address'),
    JSON.stringify(since),
  );
  t.true(
    since.some(
      (l) => l.level === 50 && l.msg === `zone example.test. did not load: the last good version (serial ${serial2}) keeps serving`,
    ),
    JSON.stringify(since),
  );

  // a broken steerdns.yaml keeps the running configuration, and says where it broke
  writeFileSync(join(dir, 'steerdns.yaml'), `${BASE_CONFIG}workers: many\n`);
  writeFileSync(zoneFile, ZONE('192.0.2.82'));
  writeFileSync(join(dir, 'zones', 'other.test.yaml'), OTHER);
  const from2 = p.logs.length;
  reloaded = nextLog(p, (l) => l.msg === 'reloaded');
  const fixed = nextLog(p, (l) => l.msg === 'zone loaded' && l.zone === 'example.test');
  t.true(p.child.kill('SIGHUP'));
  t.like(await reloaded, { failed: 0 });
  await fixed;
  const line = BASE_CONFIG.split('\n').length;
  t.true(
    p.logs
      .slice(from2)
      .some(
        (l) =>
          l.level === 50 && l.msg === `steerdns.yaml:${line}:10: workers ("auto" or a count) must be an integer from 1 to 256, got "many"`,
      ),
    JSON.stringify(p.logs.slice(from2)),
  );
  // fixed zone and a new zone file are served
  t.deepEqual(await addresses(port, 'www.example.test'), ['192.0.2.82']);
  t.deepEqual(await addresses(port, 'ns1.other.test'), ['192.0.2.153']);

  // a removed zone file is no longer served
  unlinkSync(join(dir, 'zones', 'other.test.yaml'));
  reloaded = nextLog(p, (l) => l.msg === 'reloaded');
  t.true(p.child.kill('SIGHUP'));
  t.like(await reloaded, { zones: ['example.test'] });
  t.is((await udp(port, query('ns1.other.test', 'A'))).msg.rcode, 'REFUSED');
  t.deepEqual(await addresses(port, 'www.example.test'), ['192.0.2.82']);

  t.true(p.child.kill('SIGTERM'));
  t.deepEqual(await p.exited, { code: 0, signal: null });
});

// ---- logs -----------------------------------------------------------------------------------

test('serve: stdout is pino JSON lines', async (t) => {
  const dir = fixture(t, BASE_CONFIG.replace('log: { level: info }', 'log: { level: info, queries: true }'), {
    'example.test.yaml': ZONE('192.0.2.80'),
    'broken.test.yaml': BROKEN,
  });
  const p = serve(t, dir);
  const port = await servingPort(p, 30_000);
  await udp(port, query('www.example.test', 'A'));
  await tcp(port, query('nope.example.test', 'AAAA'));
  await p.waitForLog((l) => l.msg === 'query' && l.transport === 'tcp', 15_000);
  t.true(p.child.kill('SIGTERM'));
  t.deepEqual(await p.exited, { code: 0, signal: null });
  t.is(p.stderr(), '');
  const lines = p.lines.filter((l) => l !== '');
  t.true(lines.length >= 5, lines.join('\n'));
  for (const line of lines) {
    const l = JSON.parse(line) as Record<string, unknown>;
    // pino's own fields appear once: a log field named like them would make a duplicate JSON key
    for (const k of ['level', 'time', 'name', 'msg']) t.is(line.split(`"${k}":`).length, 2, `one "${k}" in ${line}`);
    t.is(typeof l.level, 'number', line);
    t.is(typeof l.time, 'number', line);
    t.is(typeof l.msg, 'string', line);
    t.is(l.name, 'steerdns', line);
  }
  const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.like(
    logs.find((l) => l.msg === 'serving'),
    { level: 30, zones: ['example.test'] },
  );
  t.like(
    logs.find((l) => l.msg === 'zone loaded'),
    { level: 30, zone: 'example.test' },
  );
  t.like(
    logs.find((l) => l.msg === 'query' && l.transport === 'udp'),
    { qname: 'www.example.test', qtype: 'A', rcode: 'NOERROR', client: '127.0.0.1' },
  );
  t.like(
    logs.find((l) => l.msg === 'query' && l.transport === 'tcp'),
    { qname: 'nope.example.test', qtype: 'AAAA', rcode: 'NXDOMAIN' },
  );
  t.like(
    logs.find((l) => l.msg === `zones/broken.test.yaml:${BROKEN_MESSAGE}`),
    { level: 50 },
  );
});

test('serve: a wildcard listen address is logged as a warning with file:line:col', async (t) => {
  const s = await startServer(
    { 'example.test.yaml': ZONE('192.0.2.80') },
    BASE_CONFIG.replace('listen: ["127.0.0.1:0"]', 'listen: ["0.0.0.0:0"]'),
  );
  try {
    const w = s.logs.find((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('is a wildcard address'));
    t.truthy(w, JSON.stringify(s.logs));
    t.regex(w!.msg as string, /steerdns\.yaml:2:10: warning: listen: "0\.0\.0\.0:0" is a wildcard address/);
    t.deepEqual(await addresses(s.port, 'www.example.test'), ['192.0.2.80']);
  } finally {
    await s.stop();
  }
});
