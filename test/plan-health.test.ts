// `steerdns plan --health URL` (docs/operations.md#steerdns-plan): the targets a running server's /status
// reports down are down at both revisions, so the plan shows what a change moves given today's health — here
// a second eu-west target brings eu-west's clients back from us-east, where without --health they only get
// one more address.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { ClientChange } from '../src/plan-diff.js';
import type { PlanReport } from '../src/plan-format.js';
import { writeMmdb } from '../tools/mmdb-writer.mjs';
import { runCli, startServer, type TestServer, tempDir } from './helpers/server.js';

// a tcp check on the discard port of loopback addresses, probed once an hour: eu-west's 127.0.0.2 starts down
// (initial: down, its probe fails) and us-east's 127.0.0.3 is set up by the test
const zone = (euWest: string) => `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      check: { type: tcp, port: 9, interval: 1h, initial: down }
      regions:
        us-east: [127.0.0.3]
        eu-west: [${euWest}]
`;

const CONFIG = `listen: ["127.0.0.1:0"]
zones: ./zones
http: "127.0.0.1:0"
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3] }
`;

let live: TestServer;
let repo: string;
let db: string;

test.before(async () => {
  live = await startServer({ 'example.test.yaml': zone('127.0.0.2') }, CONFIG);
  const pool = live.server.snapshot.zones.get('example.test')!.pools[0]!;
  const usEast = pool.regions.find((r) => r.name === 'us-east')!.targets[0]!;
  live.server.health.set(usEast.healthKey, { up: true, lastResult: 'set by the test' });
  repo = tempDir('steerdns-plan-health-');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo });
  mkdirSync(join(repo, 'zones'));
  git('init', '-q');
  git('config', 'user.name', 'plan test');
  git('config', 'user.email', 'plan@example.test');
  writeFileSync(join(repo, 'steerdns.yaml'), CONFIG);
  writeFileSync(join(repo, 'zones', 'example.test.yaml'), zone('127.0.0.2'));
  git('add', '-A');
  git('commit', '-qm', 'one eu-west target');
  writeFileSync(join(repo, 'zones', 'example.test.yaml'), zone('127.0.0.2, 127.0.0.5'));
  git('commit', '-qam', 'a second eu-west target');
  db = join(repo, 'geo.mmdb');
  writeFileSync(db, writeMmdb([{ network: '81.2.70.0/24', data: { country_code: 'FR' } }], { buildEpoch: 1_700_000_000 }));
});

test.after.always(async () => {
  await live?.stop();
  if (repo) rmSync(repo, { recursive: true, force: true });
});

const planJson = async (extra: string[]) => {
  const r = await runCli(
    ['plan', '--from', 'HEAD~1', '--to', 'HEAD', '--db', db, '--max-change', '100', '--format', 'json', ...extra],
    repo,
  );
  return { code: r.code, report: JSON.parse(r.stdout) as PlanReport };
};
const moves = (r: PlanReport) =>
  ((r.names.find((n) => n.name === 'app.example.test')?.changes ?? []) as ClientChange[]).map((c) => [
    c.label,
    c.from_region,
    c.from,
    c.to_region,
    c.to,
  ]);

test.serial('without --health every target is up: the French client keeps eu-west and gets one more address', async (t) => {
  const { code, report } = await planJson([]);
  t.is(code, 1);
  t.deepEqual(moves(report), [['FR', 'eu-west', ['127.0.0.2'], 'eu-west', ['127.0.0.2', '127.0.0.5']]]);
});

test.serial(
  "with --health the running server's down target is down at both revisions: the French client comes back from us-east",
  async (t) => {
    // the server's /status reports eu-west's first target down once the prober has its first word
    const url = `http://127.0.0.1:${live.server.httpPort}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = (await (await fetch(`${url}/status`)).json()) as {
        pools: { regions: { targets: { address: string; health: string }[] }[] }[];
      };
      const health = status.pools[0]!.regions.flatMap((g) => g.targets).map((x) => `${x.address} ${x.health}`);
      if (health.includes('127.0.0.2 down') && health.includes('127.0.0.3 up')) break;
      if (Date.now() > deadline) t.fail(`/status: ${health.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { code, report } = await planJson(['--health', url]);
    t.is(code, 1);
    t.deepEqual(moves(report), [['FR', 'us-east', ['127.0.0.3'], 'eu-west', ['127.0.0.5']]]);
  },
);
