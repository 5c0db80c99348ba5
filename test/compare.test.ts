// `steerdns compare` against standalone servers (docs/operations.md#comparing-the-nameservers-with-compare):
// every server of the zone is asked the same questions (A and AAAA of each pool name, from each sample client
// subnet in an ECS option, RFC 7871 §6); where their answers differ is printed (a table, or JSON with --json)
// and the exit status is 1; all alike, 0.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { BASE_CONFIG, runCli, startServer, type TestServer } from './helpers/server.js';

// an overlay network places the clients of 10.30.0.0/16 in eu-west, everyone else in us-east
const CONFIG = `${BASE_CONFIG}geoip:\n  networks:\n    "10.30.0.0/16": { region: eu-west }\n    "10.40.0.0/16": { region: us-east }\n`;

function zone(euWest: string): string {
  return `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, serial: 1 }
records:
  "@": { NS: [ns1, ns2] }
  ns1: { A: 127.0.0.1 }
  ns2: { A: 127.0.0.1 }
  www: { A: 192.0.2.80 }
  app:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        us-east: [192.0.2.10]
        eu-west: [${euWest}]
`;
}

const servers: TestServer[] = [];
let clients = '';

test.before(async () => {
  // two alike, one whose eu-west answer differs
  for (const eu of ['192.0.2.20', '192.0.2.20', '192.0.2.21']) servers.push(await startServer({ 'example.test.yaml': zone(eu) }, CONFIG));
  clients = join(servers[0]!.dir, 'clients.txt');
  writeFileSync(clients, '# sample clients\n10.30.1.0/24\n10.40.0.7\n');
});

test.after.always(async () => {
  for (const s of servers) await s.stop();
});

const list = (...i: number[]) => i.map((n) => `127.0.0.1:${servers[n]!.port}`).join(',');

test('servers that answer alike: exit 0 and "all agree"', async (t) => {
  const r = await runCli(['compare', 'example.test', '--servers', list(0, 1), '--clients', clients], servers[0]!.dir);
  t.is(r.code, 0, r.stderr);
  // 1 pool name × (A, AAAA) × (no ECS + 2 clients)
  t.is(r.stdout, `example.test: 2 servers, 6 questions each: all agree\n`);
});

test('a server whose answer differs for one client subnet: the table names the question and each answer, exit 1', async (t) => {
  const r = await runCli(['compare', 'example.test.', '--servers', list(0, 1, 2), '--clients', clients], servers[0]!.dir);
  t.is(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.is(lines[0], 'example.test: 3 servers, 6 questions each: 1 question answered differently');
  t.regex(lines[2]!, /^name\s+type\s+client\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+$/);
  t.regex(lines[3]!, /^app\.example\.test\s+A\s+10\.30\.1\.0\/24\s+NOERROR 192\.0\.2\.20\s+NOERROR 192\.0\.2\.20\s+NOERROR 192\.0\.2\.21$/);
  t.is(lines.length, 4);
});

test('--json: the servers, the number of questions and each difference with every server’s answer', async (t) => {
  const r = await runCli(['compare', 'example.test', '--servers', list(0, 2), '--clients', clients, '--json'], servers[0]!.dir);
  t.is(r.code, 1, r.stderr);
  const a = `127.0.0.1:${servers[0]!.port}`;
  const c = `127.0.0.1:${servers[2]!.port}`;
  t.deepEqual(JSON.parse(r.stdout), {
    zone: 'example.test',
    servers: [a, c],
    questions: 6,
    agree: false,
    differences: [
      {
        name: 'app.example.test',
        type: 'A',
        client: '10.30.1.0/24',
        label: `${clients}:2`,
        answers: { [a]: 'NOERROR 192.0.2.20', [c]: 'NOERROR 192.0.2.21' },
      },
    ],
  });
});

test('a server that does not answer is a difference, not a hang', async (t) => {
  // a UDP port nobody listens on: refused at once on loopback, retried once
  const r = await runCli(['compare', 'example.test', '--servers', `${list(0)},127.0.0.1:9`, '--clients', clients], servers[0]!.dir);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stdout, /NOERROR 192\.0\.2\.10\s+no answer \(/);
  // servers that all fail to answer do not agree: nothing was compared
  const dead = await runCli(['compare', 'example.test', '--servers', '127.0.0.1:9,127.0.0.1:9', '--clients', clients], servers[0]!.dir);
  t.is(dead.code, 1);
});

test('without --servers the NS set is asked, each name at the addresses the zone files give it (port 53)', async (t) => {
  const r = await runCli(['compare', 'example.test', '--clients', clients, '--json'], servers[0]!.dir);
  t.true(r.code === 0 || r.code === 1, r.stderr);
  t.deepEqual((JSON.parse(r.stdout) as { servers: string[] }).servers, ['ns1.example.test (127.0.0.1)', 'ns2.example.test (127.0.0.1)']);
});

test('one ZONE is required; an unknown zone and a single server are refused (exit 2)', async (t) => {
  const none = await runCli(['compare'], servers[0]!.dir);
  t.is(none.code, 2);
  t.regex(none.stderr, /one ZONE is required/);
  const unknown = await runCli(['compare', 'other.test', '--servers', list(0, 1)], servers[0]!.dir);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /zone other\.test is not in the config/);
  const one = await runCli(['compare', 'example.test', '--servers', list(0)], servers[0]!.dir);
  t.is(one.code, 2);
  t.regex(one.stderr, /compare needs two or more/);
});
