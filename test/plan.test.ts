// `steerdns plan` (README "Reviewing a change with plan", docs/operations.md#steerdns-plan): a throwaway git
// repository with a history of five changes — a region added, a min_healthy change, an overlay network, a
// static record edit, a broken zone — and plan's report of each step in text, Markdown and JSON, with its exit
// status: 0 no change, 1 changes, 2 over --max-change or a revision that fails check. Clients are the default
// sample (one address per country of the bundled database, plus the overlay networks) unless a step says.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { ClientChange, NameChange, RecordChange } from '../src/plan-diff.js';
import { formatPlan, type PlanReport } from '../src/plan-format.js';
import { writeMmdb } from '../tools/mmdb-writer.mjs';
import { type CliResult, runCli, tempDir } from './helpers/server.js';

const CONFIG = `listen: ["127.0.0.1:5399"]
zones: ./zones
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3] }
`;

const ZONE = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  www: { TXT: "v1" }
  app:
    pool:
      ttl: 30
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
`;

const NEW_ZONE = `origin: new.test
soa: { ns: ns1.new.test., email: hostmaster@new.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.54 }
`;

const BROKEN = '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.300\n';

let repo: string;
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
const edit = (file: string, from: string, to: string) => {
  const path = join(repo, file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no "${from}"`);
  writeFileSync(path, text.replace(from, to));
};

/** The default form (HEAD → the work tree), run while the work tree holds an uncommitted edit. */
let defaultRun: CliResult;
let statusDuringDefault: string;
let stagedDuringDefault: string;

test.before(async () => {
  repo = tempDir('steerdns-plan-');
  mkdirSync(join(repo, 'zones'));
  git('init', '-q');
  git('config', 'user.name', 'plan test');
  git('config', 'user.email', 'plan@example.test');
  writeFileSync(join(repo, 'steerdns.yaml'), CONFIG);
  writeFileSync(join(repo, 'zones', 'example.test.yaml'), ZONE);
  git('add', '-A');
  git('commit', '-qm', 'base');
  // 1. a region added
  edit(
    'steerdns.yaml',
    '  eu-west: { location: [53.3, -6.3] }\n',
    '  eu-west: { location: [53.3, -6.3] }\n  ap-south: { location: [19.1, 72.9] }\n',
  );
  edit(
    'zones/example.test.yaml',
    '        eu-west: [198.51.100.10]\n',
    '        eu-west: [198.51.100.10]\n        ap-south: [203.0.113.10, 203.0.113.11]\n',
  );
  git('commit', '-qam', 'region ap-south');
  // 2. min_healthy: 2 (eu-west has one target: it no longer qualifies)
  edit('zones/example.test.yaml', '      ttl: 30\n', '      ttl: 30\n      min_healthy: 2\n');
  git('commit', '-qam', 'min_healthy 2');
  // 3. an overlay network pinned to ap-south
  writeFileSync(
    join(repo, 'steerdns.yaml'),
    `${readFileSync(join(repo, 'steerdns.yaml'), 'utf8')}geoip:\n  networks:\n    "10.30.0.0/16": { region: ap-south }\n`,
  );
  git('commit', '-qam', 'overlay network');
  // 4. a static record edit (and its TTL)
  edit('zones/example.test.yaml', '  www: { TXT: "v1" }', '  www: { TXT: "v2", ttl: 600 }');
  git('commit', '-qam', 'www TXT v2');
  // the default form: HEAD against an uncommitted edit in the work tree
  edit('zones/example.test.yaml', '"v2"', '"v3"');
  writeFileSync(join(repo, 'zones', 'new.test.yaml'), NEW_ZONE);
  defaultRun = await runCli(['plan', '--format', 'json'], repo);
  statusDuringDefault = git('status', '--porcelain');
  stagedDuringDefault = git('diff', '--cached', '--name-only');
  git('checkout', '-q', '--', 'zones');
  rmSync(join(repo, 'zones', 'new.test.yaml'));
  // 5. a broken zone
  writeFileSync(join(repo, 'zones', 'broken.test.zone'), BROKEN);
  git('add', '-A');
  git('commit', '-qm', 'broken zone');
});

test.after.always(() => {
  if (repo) rmSync(repo, { recursive: true, force: true });
});

type Format = 'text' | 'markdown' | 'json';
/** plan between two revisions in the three formats; the JSON parsed. */
async function planAll(from: string, to: string, extra: string[] = []) {
  // a watchdog, not a timing bound: plan's runs are seconds of CPU each, and the suite shares a small machine
  const run = (format: Format) => runCli(['plan', '--from', from, '--to', to, '--format', format, ...extra], repo, 180_000);
  const [text, markdown, json] = await Promise.all([run('text'), run('markdown'), run('json')]);
  return { text, markdown, json, report: JSON.parse(json.stdout) as PlanReport };
}

const pool = (r: PlanReport, name: string, type = 'A') => r.names.find((n) => n.name === name && n.type === type && n.kind === 'pool');
const clientChanges = (n: NameChange | undefined) => (n?.changes ?? []) as ClientChange[];
const byLabel = (n: NameChange | undefined, label: string) => clientChanges(n).find((c) => c.label === label);
const share = (r: PlanReport) => Math.round((r.clients_changed / r.clients) * 10_000) / 10_000;

test('a region added: clients nearer the new region move to it, from the region that served them; the share passes 30%: exit 2', async (t) => {
  const { text, markdown, json, report } = await planAll('HEAD~5', 'HEAD~4');
  for (const r of [text, markdown, json]) t.is(r.code, 2, r.stderr);
  const app = pool(report, 'app.example.test');
  t.truthy(app);
  t.is(app!.change, 'changed');
  t.like(byLabel(app, 'IN'), {
    from_region: 'eu-west',
    to_region: 'ap-south',
    from: ['198.51.100.10'],
    to: ['203.0.113.10', '203.0.113.11'],
  });
  t.like(byLabel(app, 'AU'), { from_region: 'us-east', to_region: 'ap-south', from: ['192.0.2.10', '192.0.2.11'] });
  for (const cc of ['DE', 'US', 'BR']) t.is(byLabel(app, cc), undefined, `${cc} stays`);
  t.true(clientChanges(app).every((c) => c.to_region === 'ap-south'));
  t.true(report.clients > 200, 'one client per country of the bundled database');
  t.is(report.changed_share, share(report));
  t.true(report.changed_share > 0.3);
  t.deepEqual(report.errors, []);
  t.is(pool(report, 'app.example.test', 'AAAA'), undefined, 'no IPv6 target at either revision: no AAAA row');
  const eu = clientChanges(app).filter((c) => c.from_region === 'eu-west').length;
  t.regex(text.stdout, /^app\.example\.test\. A \(pool\): changed$/m);
  t.true(text.stdout.includes(`  ${eu} clients: eu-west 198.51.100.10 → ap-south 203.0.113.10, 203.0.113.11\n`), text.stdout);
  t.regex(
    text.stdout,
    new RegExp(
      `^summary: ${report.clients_changed} of ${report.clients} sample clients \\(\\d+\\.\\d%\\) change answers; 0 static RRsets changed; over --max-change 30%$`,
      'm',
    ),
  );
  const md = markdown.stdout.split('\n');
  t.regex(md[0]!, /^\*\*steerdns plan\*\* `HEAD~5 \([0-9a-f]{12}\)` → `HEAD~4 \([0-9a-f]{12}\)`: \d+ of \d+ sample clients/);
  t.true(md.includes('#### `app.example.test.` A (pool): changed'));
  t.true(md.includes('| clients | from | to | sample |'));
  t.true(md.some((l) => l.startsWith(`| ${eu} | eu-west 198.51.100.10 | ap-south 203.0.113.10, 203.0.113.11 | `)));
  t.true(md.includes(`<details><summary>all ${report.clients_changed} clients</summary>`), 'the long client list is collapsed');
  // the same change under a higher limit is "changes", not a failure
  const relaxed = await runCli(['plan', '--from', 'HEAD~5', '--to', 'HEAD~4', '--max-change', '50', '--format', 'json'], repo);
  t.is(relaxed.code, 1, relaxed.stderr);
});

test('a min_healthy change: a region with fewer healthy targets than min_healthy no longer qualifies, its clients go to the next region in order', async (t) => {
  const { text, markdown, json, report } = await planAll('HEAD~4', 'HEAD~3', ['--max-change', '100']);
  for (const r of [text, markdown, json]) t.is(r.code, 1, r.stderr);
  const app = pool(report, 'app.example.test');
  t.true(clientChanges(app).length > 0);
  t.true(clientChanges(app).every((c) => c.from_region === 'eu-west' && c.to_region !== 'eu-west'));
  t.like(byLabel(app, 'FR'), { from_region: 'eu-west', to_region: 'us-east', to: ['192.0.2.10', '192.0.2.11'] });
  t.like(byLabel(app, 'AT'), { from_region: 'eu-west', to_region: 'ap-south' });
  t.is(byLabel(app, 'IN'), undefined, 'ap-south has two targets: it still qualifies');
  t.is(report.changed_share, share(report));
  t.regex(text.stdout, /^ {2}\d+ clients: eu-west 198\.51\.100\.10 → us-east 192\.0\.2\.10, 192\.0\.2\.11$/m);
  t.regex(markdown.stdout, /^\| \d+ \| eu-west 198\.51\.100\.10 \| ap-south 203\.0\.113\.10, 203\.0\.113\.11 \| /m);
});

test('an overlay network: its sample address moves from the written order (a private address) to the pinned region; one client of the sample', async (t) => {
  const { text, markdown, json, report } = await planAll('HEAD~3', 'HEAD~2');
  for (const r of [text, markdown, json]) t.is(r.code, 1, r.stderr);
  const app = pool(report, 'app.example.test');
  t.deepEqual(clientChanges(app), [
    {
      client: '10.30.0.1',
      label: 'overlay 10.30.0.0/16',
      from: ['192.0.2.10', '192.0.2.11'],
      to: ['203.0.113.10', '203.0.113.11'],
      from_region: 'us-east',
      to_region: 'ap-south',
      from_rcode: 'NOERROR',
      to_rcode: 'NOERROR',
    },
  ]);
  t.is(report.clients_changed, 1);
  t.is(report.changed_share, share(report));
  t.true(
    text.stdout.includes(
      '  1 client: us-east 192.0.2.10, 192.0.2.11 → ap-south 203.0.113.10, 203.0.113.11\n    overlay 10.30.0.0/16 10.30.0.1\n',
    ),
  );
  t.true(
    markdown.stdout.includes(
      '| 1 | us-east 192.0.2.10, 192.0.2.11 | ap-south 203.0.113.10, 203.0.113.11 | overlay 10.30.0.0/16 10.30.0.1 |',
    ),
  );
  t.false(markdown.stdout.includes('<details>'), 'a short list is not collapsed');
});

test('--clients FILE: addresses and subnets, # comments; the share is of those clients', async (t) => {
  const file = join(repo, '..', `clients-${Date.now()}.txt`);
  writeFileSync(file, '# two clients\n10.30.7.0/24   # inside the overlay network\n10.40.0.1\n');
  t.teardown(() => rmSync(file, { force: true }));
  const r = await runCli(['plan', '--from', 'HEAD~3', '--to', 'HEAD~2', '--clients', file, '--format', 'json'], repo);
  t.is(r.code, 2, 'half the clients move: over 30%');
  const report = JSON.parse(r.stdout) as PlanReport;
  t.is(report.clients, 2);
  t.is(report.changed_share, 0.5);
  t.like(clientChanges(pool(report, 'app.example.test'))[0], { client: '10.30.7.0/24', from_region: 'us-east', to_region: 'ap-south' });
});

test('--db FILE: one GeoIP database for both revisions, and the sample is one address per country of it', async (t) => {
  const db = join(repo, '..', `geo-${Date.now()}.mmdb`);
  writeFileSync(
    db,
    writeMmdb(
      [
        { network: '81.2.69.0/24', data: { country_code: 'IN' } },
        { network: '81.2.70.0/24', data: { country_code: 'FR' } },
      ],
      { buildEpoch: 1_700_000_000 },
    ),
  );
  t.teardown(() => rmSync(db, { force: true }));
  const r = await runCli(['plan', '--from', 'HEAD~5', '--to', 'HEAD~4', '--db', db, '--format', 'json'], repo);
  t.is(r.code, 2, 'one client of two moves: 50% is over 30%');
  const report = JSON.parse(r.stdout) as PlanReport;
  t.is(report.clients, 2);
  t.is(report.changed_share, 0.5);
  t.deepEqual(
    clientChanges(pool(report, 'app.example.test')).map((c) => [c.label, c.client, c.from_region, c.to_region]),
    [['IN', '81.2.69.0', 'eu-west', 'ap-south']],
  );
});

test('a static record edit: the records removed and added and the TTL change; no client moves', async (t) => {
  const { text, markdown, json, report } = await planAll('HEAD~2', 'HEAD~1');
  for (const r of [text, markdown, json]) t.is(r.code, 1, r.stderr);
  t.is(report.changed_share, 0);
  t.deepEqual(report.names, [
    {
      name: 'www.example.test',
      type: 'TXT',
      kind: 'records',
      change: 'changed',
      ttl: { from: 3600, to: 600 },
      changes: [{ client: '*', from: ['"v1"'], to: ['"v2"'] } satisfies RecordChange],
    },
  ]);
  t.true(text.stdout.includes('www.example.test. TXT: changed, ttl 3600 → 600\n  - "v1"\n  + "v2"\n'), text.stdout);
  t.true(
    markdown.stdout.includes('#### `www.example.test.` TXT: changed, TTL 3600 → 600\n\n```diff\n- "v1"\n+ "v2"\n```'),
    markdown.stdout,
  );
});

test("a broken zone: exit 2 with that revision's check errors as file:line:col", async (t) => {
  const { text, markdown, json, report } = await planAll('HEAD~1', 'HEAD');
  for (const r of [text, markdown, json]) t.is(r.code, 2, r.stderr);
  const error = 'zones/broken.test.zone:4:7: A at "ns1": "192.0.2.300" is not an IPv4 address';
  t.true(report.errors.includes(error), JSON.stringify(report.errors));
  t.deepEqual(
    report.revision_errors.map((g) => g.rev),
    ['HEAD'],
  );
  t.deepEqual(report.names, []);
  t.true(text.stdout.includes(`HEAD fails check:\n  ${error}\n`), text.stdout);
  t.true(markdown.stdout.includes(`#### \`HEAD\` fails \`steerdns check\`\n\n\`\`\`\n${error}\n`), markdown.stdout);
});

test('an unchanged pair: no names, share 0, exit 0 in every format', async (t) => {
  const { text, markdown, json, report } = await planAll('HEAD~2', 'HEAD~2');
  for (const r of [text, markdown, json]) t.is(r.code, 0, r.stderr);
  t.deepEqual(report.names, []);
  t.is(report.changed_share, 0);
  t.deepEqual(report.zones, { added: [], removed: [] });
  t.regex(text.stdout, /^summary: no answer changes$/m);
  t.regex(markdown.stdout, /: no answer changes$/m);
});

test('the default form compares HEAD with the work tree, reading HEAD without touching the work tree or the index; a zone added is listed', (t) => {
  t.is(defaultRun.code, 1, defaultRun.stderr);
  const report = JSON.parse(defaultRun.stdout) as PlanReport;
  t.is(report.from.rev, 'HEAD');
  t.deepEqual(report.to, { rev: 'work tree', commit: null });
  t.deepEqual(report.zones, { added: ['new.test'], removed: [] });
  t.deepEqual(
    report.names.map((n) => [n.name, n.type, n.change, n.changes]),
    [
      ['new.test', 'NS', 'added', [{ client: '*', from: [], to: ['ns1.new.test.'] }]],
      ['new.test', 'SOA', 'added', [{ client: '*', from: [], to: ['ns1.new.test. hostmaster.new.test. (serial) 7200 3600 1209600 60'] }]],
      ['ns1.new.test', 'A', 'added', [{ client: '*', from: [], to: ['192.0.2.54'] }]],
      ['www.example.test', 'TXT', 'changed', [{ client: '*', from: ['"v2"'], to: ['"v3"'] }]],
    ],
  );
  t.is(statusDuringDefault, ' M zones/example.test.yaml\n?? zones/new.test.yaml\n', 'the edits in the work tree are all git sees');
  t.is(stagedDuringDefault, '');
});

test('a revision that names no commit: exit 2 with a message', async (t) => {
  const r = await runCli(['plan', '--from', 'no-such-branch'], repo);
  t.is(r.code, 2);
  t.regex(r.stderr, /^steerdns plan: "no-such-branch" names no commit in /);
});

test('markdown fits a GitHub comment: past 60,000 characters the collapsed client lists are left out, the tables stay', (t) => {
  const changes: ClientChange[] = Array.from({ length: 3000 }, (_, i) => ({
    client: `10.${i >> 8}.${i & 255}.1`,
    label: `line ${i + 1}`,
    from: ['192.0.2.10'],
    to: ['203.0.113.10'],
    from_region: 'us-east',
    to_region: 'ap-south',
    from_rcode: 'NOERROR',
    to_rcode: 'NOERROR',
  }));
  const report: PlanReport = {
    from: { rev: 'HEAD', commit: null },
    to: { rev: 'work tree', commit: null },
    changed_share: 1,
    clients: 3000,
    clients_changed: 3000,
    records_changed_share: 0,
    max_change: 0.3,
    over_max_change: true,
    zones: { added: [], removed: [] },
    names: [{ name: 'app.example.test', type: 'A', kind: 'pool', change: 'changed', ttl: null, changes }],
    errors: [],
    revision_errors: [],
  };
  const md = formatPlan(report, 'markdown');
  t.true(md.length < 65_536, `${md.length} characters`);
  t.false(md.includes('<details>'));
  t.true(md.includes('| 3000 | us-east 192.0.2.10 | ap-south 203.0.113.10 | '));
  t.true(md.includes('Left out to stay under the 65,536 characters GitHub takes in a comment'));
  report.names[0]!.changes = changes.slice(0, 20);
  t.true(formatPlan(report, 'markdown').includes('<details><summary>all 20 clients</summary>'));
  // 1,500 static RRsets changed, each a long TXT: the sections that fit, and how many were left out
  report.names = Array.from({ length: 1500 }, (_, i) => ({
    name: `t${i}.example.test`,
    type: 'TXT',
    kind: 'records' as const,
    change: 'changed' as const,
    ttl: null,
    changes: [{ client: '*' as const, from: [`"${'a'.repeat(40)}${i}"`], to: [`"${'b'.repeat(40)}${i}"`] }],
  }));
  const big = formatPlan(report, 'markdown');
  t.true(big.length < 65_536, `${big.length} characters`);
  t.regex(big, /_\d+ more sections left out\._/);
  t.true(big.includes('#### `t0.example.test.` TXT: changed'));
});
