// `health.source` of steerdns.yaml (docs/configuration.md#health): every bad form through the real
// `steerdns check`, each with its exact `file:line:col: message` and exit status 1; a source that is not an
// address of this host is a warning (exit 0), one that is — an interface's address, any of 127/8, ::1 — is
// nothing; and the value a good one parses to.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig } from '../../src/config/server-config.js';
import { runCli, writeFixture } from '../helpers/server.js';

// Two lines; the cases write health from line 3 on.
const CONFIG = 'listen: ["127.0.0.1:5300"]\nzones: ./zones\n';
const ZONE = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

function fixture(t: { teardown(fn: () => void): void }, config: string): string {
  const dir = writeFixture(config, { 'x.yaml': ZONE });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const NOT_IP = 'is not an IP address (probes leave from one address of this host)';
const WILDCARD = 'is the wildcard address: give one address of this host, or leave source out';

const CASES: [value: string, message: string][] = [
  ['probe.example.net', `"probe.example.net" ${NOT_IP}`],
  ['127.0.10.0/24', `"127.0.10.0/24" ${NOT_IP}`],
  ['"127.0.0.1:5300"', `"127.0.0.1:5300" ${NOT_IP}`],
  ['"fe80::1%eth0"', `"fe80::1%eth0" ${NOT_IP}`],
  ['0.0.0.0', `"0.0.0.0" ${WILDCARD}`],
  ['"::"', `"::" ${WILDCARD}`],
  ['"::ffff:0.0.0.0"', `"::ffff:0.0.0.0" ${WILDCARD}`],
  ['224.0.0.1', '"224.0.0.1" is a multicast address: probes need a unicast address of this host'],
  ['"ff02::1"', '"ff02::1" is a multicast address: probes need a unicast address of this host'],
  ['255.255.255.255', '"255.255.255.255" is a reserved or broadcast address: probes need a unicast address of this host'],
  ['[127.0.10.1, "::1"]', 'must be one IP address (probes of the other family leave from the address the system picks)'],
  ['{ v4: 127.0.10.1 }', 'must be one IP address (probes of the other family leave from the address the system picks)'],
];

for (const [value, message] of CASES) {
  test(`check: health.source ${value}`, async (t) => {
    const dir = fixture(t, `${CONFIG}health: { source: ${value} }\n`);
    const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
    t.is(r.code, 1, r.stderr);
    const line = `steerdns.yaml:3:19: health.source${message.startsWith('must') ? ' ' : ': '}${message}`;
    t.deepEqual(r.stderr.split('\n').filter(Boolean), [line, '1 error']);
    t.notRegex(r.stdout, /^ok:/m);
  });
}

test('check: a health.source that is not an address of this host is a warning (serve refuses to start), exit 0', async (t) => {
  const dir = fixture(t, `${CONFIG}health: { source: 203.0.113.77 }\n`);
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.deepEqual(r.stdout.split('\n').filter(Boolean), [
    'steerdns.yaml:3:19: warning: health.source: 203.0.113.77 is not an address of this host (serve refuses to start: it cannot bind probes to it)',
    'ok: 1 zone (example.test.)',
  ]);
});

test('check: a health.source of this host — an address of an interface, any of 127/8 (Linux answers all of it on lo), ::1 — is no warning', async (t) => {
  for (const source of ['127.0.0.1', '127.0.10.1', '"::ffff:127.0.10.2"', '"::1"']) {
    const dir = fixture(t, `${CONFIG}health: { source: ${source} }\n`);
    const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, 'ok: 1 zone (example.test.)\n', source);
  }
});

test('health.source: an IPv4-mapped address is its IPv4 address; each keeps its family and position; none by default', (t) => {
  const parse = (text: string) => parseServerConfig('/srv/steerdns/steerdns.yaml', CONFIG + text);
  t.deepEqual(parse('health: { source: "::ffff:127.0.10.1" }\n').config!.healthSource, {
    address: '127.0.10.1',
    family: 4,
    at: { file: '/srv/steerdns/steerdns.yaml', line: 3, col: 19 },
  });
  t.like(parse('health: { source: "::1" }\n').config!.healthSource, { address: '::1', family: 6 });
  t.like(parse('health: { source: "0:0::1" }\n').config!.healthSource, { address: '::1', family: 6 });
  t.deepEqual(parse('health: { source: 127.0.10.1 }\n').diagnostics, []);
  t.is(parse('').config!.healthSource, null);
  t.is(parse('health: { source: }\n').config!.healthSource, null);
});
