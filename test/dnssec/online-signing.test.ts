// The sign stage in the answer path (docs/configuration.md#dnssec): DO=0 answers are the unsigned server's
// byte for byte (RFC 3225: RRSIGs only for DO=1); a signed answer too large for UDP is truncated and whole over
// TCP; the rate limit runs before signing, so a flood of random names costs no signatures past its budget; a
// pool whose region drains is signed anew and validates; a set served again (rotated) reuses its signature;
// a key rollover made by config and reloads validates at every step with the parent DS of the step.
import { execFile, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type ExplainResult, explain, formatExplain } from '../../src/explain.js';
import type { Pool } from '../../src/gslb/pool.js';
import { signingStatus } from '../../src/signing-status.js';
import { query, ROOT, runCli, startServer, type TestServer, tcpMany, tempDir, udpRaw } from '../helpers/server.js';

const PREREQS = readFileSync(join(ROOT, 'tools', 'test-prereqs.mjs'), 'utf8');

function requireTool(t: ExecutionContext, command: string): void {
  t.true(PREREQS.includes(`command: '${command}'`), `${command} is not in tools/test-prereqs.mjs`);
  t.true(
    spawnSync('/bin/sh', ['-c', `command -v ${command}`]).status === 0,
    `${command} is not installed: run node tools/test-prereqs.mjs as root`,
  );
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: 'utf8', timeout: 30_000 }, (_e, stdout, stderr) => resolve(`${stdout ?? ''}${stderr ?? ''}`));
  });
}

// five strings of 215 octets: about 1 140 octets unsigned (fits 1 232), more once signed
const BIG_TXT = Array.from({ length: 5 }, (_, i) => `"${String(i).repeat(215)}"`).join(', ');

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1], MX: [{ preference: 10, exchange: mail }] }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25 }
  www: { CNAME: app }
  "*.wild": { A: 192.0.2.80 }
  sub: { NS: [ns.sub.example.test.] }
  ns.sub: { A: 192.0.2.99 }
  big: { TXT: [${BIG_TXT}] }
  app:
    pool:
      ttl: 30
      policy: nearest
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
  rr:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        us-east: [192.0.2.21, 192.0.2.22, 192.0.2.23]
`;

function config(keys: string, extra = ''): string {
  return `
listen: ["127.0.0.1:0"]
zones: ./zones
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
geoip:
  networks:
    "127.0.0.0/8": { region: us-east }
${keys ? `dnssec:\n  example.test:\n    keys: ${keys}\n` : ''}log: { level: info }
${extra}`;
}

async function keygen(dir: string): Promise<{ base: string; ds: string }> {
  const r = await runCli(['keygen', 'example.test', '--dir', dir], dir);
  if (r.code !== 0) throw new Error(r.stderr);
  const [base, ds] = r.stdout.trim().split('\n');
  return { base: base!, ds: ds! };
}

/** A query with EDNS, DO set when asked (RFC 3225: the DO bit is the first bit of the OPT TTL's flags). */
function ednsQuery(name: string, type: string, dnssecOk: boolean, id: number): Buffer {
  const q = query(name, type, { edns: true, id });
  if (dnssecOk) q[q.length - 4]! |= 0x80; // the OPT record (no options) is the last 11 octets: TTL flags at -4
  return q;
}

function anchorFile(dir: string, name: string, ds: string[]): string {
  const lines = ds.map((d) => {
    const [owner, , , tag, alg, digestType, digest] = d.split(/\s+/);
    return `  ${owner} static-ds ${tag} ${alg} ${digestType} "${digest}";`;
  });
  const file = join(dir, name);
  writeFileSync(file, `trust-anchors {\n${lines.join('\n')}\n};\n`);
  return file;
}

const delv = (s: TestServer, anchor: string, name: string, type: string) =>
  run('delv', ['@127.0.0.1', '-p', String(s.port), '-a', anchor, '+root=example.test', name, type]);

async function metric(s: TestServer, name: string): Promise<number> {
  const text = await s.server.metrics.registry.getSingleMetricAsString(name);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

test('DO=0 answers of a signed zone are the unsigned server’s byte for byte (the apex DNSKEY RRset aside: served unsigned); DO=1 echoes DO and adds RRSIGs (RFC 3225)', async (t) => {
  const dir = tempDir('steerdns-do-');
  const key = await keygen(dir);
  const signed = await startServer({ 'example.test.yaml': ZONE }, config(JSON.stringify([key.base])));
  const plain = await startServer({ 'example.test.yaml': ZONE }, config(''));
  t.teardown(async () => {
    await signed.stop();
    await plain.stop();
  });
  const questions: [string, string][] = [
    ['example.test', 'MX'],
    ['www.example.test', 'A'],
    ['app.example.test', 'AAAA'],
    ['nx.example.test', 'A'],
    ['x.wild.example.test', 'A'],
    ['host.sub.example.test', 'A'],
    ['sub.example.test', 'DS'],
    ['rr.example.test', 'A'],
    ['rr.example.test', 'A'],
  ];
  let id = 100;
  for (const [name, type] of questions) {
    for (const msg of [query(name, type, { id }), ednsQuery(name, type, false, id)]) {
      const a = await udpRaw(signed.port, msg, 10_000);
      const b = await udpRaw(plain.port, msg, 10_000);
      t.truthy(a, `${name} ${type}`);
      t.deepEqual(a, b, `${name} ${type}`);
    }
    id++;
  }
  // the apex DNSKEY RRset is zone data: served to DO=0 too, without its RRSIG
  const dnskey = (await udpRaw(signed.port, query('example.test', 'DNSKEY', { id: 9 })))!;
  t.is(dnskey.readUInt16BE(6), 1, 'one DNSKEY, no RRSIG');
  const withDo = (await udpRaw(signed.port, ednsQuery('mail.example.test', 'A', true, 7)))!;
  const opt = withDo.subarray(withDo.length - 11);
  t.is(opt.readUInt16BE(1), 41);
  t.is(opt[7]! & 0x80, 0x80, 'DO echoed');
  t.true(withDo.readUInt16BE(6) === 2, 'the A record and its RRSIG');
});

test('a signed answer that does not fit 1 232 octets is truncated over UDP (TC=1, no partial answer) and whole over TCP', async (t) => {
  const dir = tempDir('steerdns-tc-');
  const key = await keygen(dir);
  const s = await startServer({ 'example.test.yaml': ZONE }, config(JSON.stringify([key.base])));
  t.teardown(() => s.stop());
  const unsigned = (await udpRaw(s.port, ednsQuery('big.example.test', 'TXT', false, 1)))!;
  t.is(unsigned[2]! & 0x02, 0, 'unsigned, it fits');
  t.true(unsigned.length > 1100 && unsigned.length <= 1232, String(unsigned.length));
  const udp = (await udpRaw(s.port, ednsQuery('big.example.test', 'TXT', true, 2)))!;
  t.is(udp[2]! & 0x02, 0x02, 'TC=1');
  t.is(udp.readUInt16BE(6), 0, 'no partial answer');
  const [whole] = await tcpMany(s.port, [ednsQuery('big.example.test', 'TXT', true, 3)]);
  t.is(whole![2]! & 0x02, 0);
  t.is(whole!.readUInt16BE(6), 6, 'the five TXT records and their RRSIG');
  t.true(whole!.length > 1232);
});

test('rate limiting runs before signing: a flood of random names with DO=1 makes no more signatures than its budget lets answers out', async (t) => {
  const dir = tempDir('steerdns-rrl-');
  const key = await keygen(dir);
  const s = await startServer(
    { 'example.test.yaml': ZONE },
    config(JSON.stringify([key.base]), 'rrl: { responses_per_second: 5, window: 1, slip: 0 }'),
  );
  t.teardown(() => s.stop());
  const started = performance.now();
  // one socket, every query sent at once, the replies not awaited one by one
  const sock = createSocket('udp4');
  let replies = 0;
  sock.on('message', () => replies++);
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  for (let i = 0; i < 400; i++)
    sock.send(ednsQuery(`r${i}-${Math.random().toString(36).slice(2)}.example.test`, 'A', true, i), s.port, '127.0.0.1');
  // the replies that come, until none has come for half a second (10 s at most: a loaded machine is slow)
  for (let last = -1, waited = 0; waited < 10_000 && (replies === 0 || replies !== last); waited += 500) {
    last = replies;
    await new Promise((r) => setTimeout(r, 500));
  }
  sock.close();
  const seconds = (performance.now() - started) / 1000;
  const made = await metric(s, 'steerdns_dnssec_signatures_total');
  // each NXDOMAIN let through costs one new signature (its NSEC; the SOA's is cached): the budget is 5 a second
  // and a full second at the start
  const budget = 5 * (seconds + 1) + 2;
  t.true(replies >= 2 && made >= 2, `some answers went out signed (${replies} replies, ${made} signatures)`);
  t.true(replies < 400, 'the flood was limited');
  t.true(made <= budget, `${made} signatures in ${seconds.toFixed(2)} s, budget ${budget.toFixed(1)}`);
});

function poolOf(s: TestServer, name: string): Pool {
  return s.server.snapshot.zones.get('example.test')!.pools.find((p) => p.name === name)!;
}

test('a pool whose region drains between two queries yields two differently signed answers, both valid under delv; a rotated set reuses its cached signature', async (t) => {
  requireTool(t, 'delv');
  const dir = tempDir('steerdns-drain-');
  const key = await keygen(dir);
  const anchor = anchorFile(dir, 'anchor.conf', [key.ds]);
  const s = await startServer({ 'example.test.yaml': ZONE }, config(JSON.stringify([key.base])));
  t.teardown(() => s.stop());
  const before = await delv(s, anchor, 'app.example.test', 'A');
  t.regex(before, /^; fully validated/m, before);
  t.regex(before, /192\.0\.2\.1[01]/, before);
  const us = poolOf(s, 'app.example.test').regions.find((r) => r.name === 'us-east')!;
  for (const target of us.targets) s.server.health.set(target.healthKey, { up: false });
  const after = await delv(s, anchor, 'app.example.test', 'A');
  t.regex(after, /^; fully validated/m, after);
  t.regex(after, /198\.51\.100\.10/, after);
  const sig = (out: string) => /IN\s+RRSIG\s+A .*/.exec(out)![0];
  t.not(sig(before), sig(after));
  // the round robin of one set: every order is the same canonical set, one signature (RFC 4034 §6.3)
  const made = await metric(s, 'steerdns_dnssec_signatures_total');
  const hits = await metric(s, 'steerdns_dnssec_cache_hits_total');
  const orders = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = (await udpRaw(s.port, ednsQuery('rr.example.test', 'A', true, 50 + i)))!;
    orders.add(r.subarray(0, 80).toString('hex'));
  }
  t.is((await metric(s, 'steerdns_dnssec_signatures_total')) - made, 1, 'signed once');
  t.is((await metric(s, 'steerdns_dnssec_cache_hits_total')) - hits, 2, 'then served from the cache');
  t.true(orders.size > 1, 'the order rotated');
});

test('a key rollover done by config (publish new, activate new, retire old) with reloads in between validates under delv at every step with the parent DS of the step', async (t) => {
  requireTool(t, 'delv');
  const dir = tempDir('steerdns-roll-');
  const a = await keygen(dir);
  const b = await keygen(dir);
  const keys = (list: { path: string; publish: boolean; active: boolean }[]) => JSON.stringify(list);
  const s = await startServer({ 'example.test.yaml': ZONE }, config(keys([{ path: a.base, publish: true, active: true }])));
  t.teardown(() => s.stop());
  const step = async (label: string, list: { path: string; publish: boolean; active: boolean }[], ds: string[], bad: string[] = []) => {
    writeFileSync(join(s.dir, 'steerdns.yaml'), config(keys(list)));
    t.true((await s.server.reload()).ok, label);
    const good = await delv(s, anchorFile(dir, `${label}.conf`, ds), 'mail.example.test', 'A');
    t.regex(good, /^; fully validated/m, `${label}: ${good}`);
    if (bad.length > 0) {
      const out = await delv(s, anchorFile(dir, `${label}-bad.conf`, bad), 'mail.example.test', 'A');
      t.notRegex(out, /fully validated/, `${label}, a DS of a key gone: ${out}`);
    }
  };
  await step('start', [{ path: a.base, publish: true, active: true }], [a.ds]);
  await step(
    'publish',
    [
      { path: a.base, publish: true, active: true },
      { path: b.base, publish: true, active: false },
    ],
    [a.ds],
  );
  // the parent now holds both DS records; the new key signs
  await step(
    'activate',
    [
      { path: a.base, publish: true, active: false },
      { path: b.base, publish: true, active: true },
    ],
    [a.ds, b.ds],
  );
  await step('retire', [{ path: b.base, publish: true, active: true }], [b.ds], [a.ds]);
});

test('explain says whether an answer would be signed and with which key (docs/operations.md#steerdns-explain)', async (t) => {
  const dir = tempDir('steerdns-explain-');
  const key = await keygen(dir);
  const s = await startServer({ 'example.test.yaml': ZONE }, config(JSON.stringify([key.base])));
  t.teardown(() => s.stop());
  const tag = Number(/\+(\d+)$/.exec(key.base)![1]);
  const r = explain(s.server.snapshot, s.server.health, 'live', { name: 'mail.example.test', from: '192.0.2.1' });
  t.deepEqual((r as ExplainResult).dnssec, { signed: true, keys: [{ tag, algorithm: 13 }] });
  t.regex(formatExplain(r as ExplainResult, 'live'), new RegExp(`dnssec:  signed for DO=1 queries by key ${tag} \\(algorithm 13\\)`));
});

test('a key BIND’s dnssec-keygen made (algorithms 13 and 15) signs the served answers: delv validates them with dnssec-dsfromkey’s DS', async (t) => {
  requireTool(t, 'dnssec-keygen');
  requireTool(t, 'delv');
  for (const alg of ['ECDSAP256SHA256', 'ED25519']) {
    const dir = tempDir('steerdns-bindkey-');
    const made = spawnSync('dnssec-keygen', ['-q', '-a', alg, '-f', 'KSK', '-K', dir, 'example.test'], { encoding: 'utf8' });
    t.is(made.status, 0, made.stderr);
    const base = join(dir, made.stdout.trim());
    const ds = spawnSync('dnssec-dsfromkey', ['-2', `${base}.key`], { encoding: 'utf8' }).stdout.trim();
    const s = await startServer({ 'example.test.yaml': ZONE }, config(JSON.stringify([base])));
    const out = await delv(s, anchorFile(dir, 'anchor.conf', [ds]), 'www.example.test', 'A');
    await s.stop();
    t.regex(out, /^; fully validated/m, `${alg}: ${out}`);
  }
});

test('a key within expiry_warning of its Inactive time is a warning in the log and in /status, and its days are a metric', async (t) => {
  requireTool(t, 'dnssec-settime');
  const dir = tempDir('steerdns-expiry-');
  const key = await keygen(dir);
  const set = spawnSync('dnssec-settime', ['-I', '+3d', '-K', dir, `${key.base}.key`], { encoding: 'utf8' });
  t.is(set.status, 0, set.stderr);
  const s = await startServer({ 'example.test.yaml': ZONE }, config(JSON.stringify([key.base])));
  t.teardown(() => s.stop());
  const tag = Number(/\+(\d+)$/.exec(key.base)![1]);
  const warned = s.logs.filter((l) => l.level === 40 && String(l.msg).includes(`key ${tag} ends (Inactive/Delete time) in`));
  t.is(warned.length, 1, JSON.stringify(s.logs.slice(-5)));
  const days = await metric(s, 'steerdns_dnssec_key_expiry_days');
  t.true(days > 2.9 && days <= 3, String(days));
  const status = signingStatus(s.server.signer, s.server.snapshot.signing) as { warnings: string[]; nearestKeyExpiryDays: number };
  t.is(status.warnings.length, 1);
  t.is(status.nearestKeyExpiryDays, days);
});
