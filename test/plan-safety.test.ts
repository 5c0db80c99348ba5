// `steerdns plan` on what a pull request may hold (README "Reviewing a change with plan"): its report goes into
// a PR comment, so a revision must not make plan read files outside its own tree (a symbolic link to
// `.git/config`, where CI keeps its token, quoted back in a check error), nor write Markdown of its choosing
// into the comment. And the changes plan must see: a parent's delegation beside the child zone's apex, a
// revision with no steerdns.yaml yet (the change that sets steerdns up), DNSSEC key files kept out of git.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { PlanReport } from '../src/plan-format.js';
import { runCli, tempDir } from './helpers/server.js';

const CONFIG = `listen: ["127.0.0.1:5399"]
zones: ./zones
regions:
  us-east: { location: [39.0, -77.5] }
`;
const PARENT = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  child: { NS: [ns1.child] }
  ns1.child: { A: 192.0.2.60 }
`;
const CHILD = `origin: child.example.test
soa: { ns: ns1.child.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.60 }
`;

/** A fresh repository whose first commit holds `files` (path → text), and a git runner in it. */
function repoWith(files: Record<string, string>): { dir: string; git: (...a: string[]) => string } {
  const dir = tempDir('steerdns-plan-safety-');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  git('config', 'user.name', 'plan test');
  git('config', 'user.email', 'plan@example.test');
  mkdirSync(join(dir, 'zones'));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  git('add', '-A');
  git('commit', '-qm', 'base', '--allow-empty');
  return { dir, git };
}

const plan = (dir: string, ...args: string[]) => runCli(['plan', ...args], dir, 180_000);

test('a zone file that is a symbolic link to .git/config is refused: nothing of that file in the report', async (t) => {
  const { dir, git } = repoWith({ 'steerdns.yaml': CONFIG, 'zones/example.test.yaml': PARENT });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  git('config', 'http.extraheader', 'AUTHORIZATION: basic c2VjcmV0LXRva2Vu');
  // relative (in a commit's copy it leads nowhere: a load error) and absolute (out of the copy: refused)
  for (const link of ['../.git/config', join(dir, '.git', 'config')]) {
    rmSync(join(dir, 'zones', 'c.yaml'), { force: true });
    symlinkSync(link, join(dir, 'zones', 'c.yaml'));
    git('add', '-A');
    git('commit', '-qm', `a link to ${link}`);
    for (const to of ['HEAD', undefined]) {
      for (const format of ['markdown', 'json']) {
        const r = await plan(dir, '--from', 'HEAD~1', ...(to ? ['--to', to] : []), '--format', format);
        t.is(r.code, 2, `${link} ${to ?? 'work tree'} ${format}`);
        t.false(`${r.stdout}${r.stderr}`.includes('c2VjcmV0'), 'the token');
        if (!to || link.startsWith('/')) t.regex(r.stderr, /zones\/c\.yaml leads outside the repository .*: refused/);
      }
    }
  }
  // a link inside the repository's tree is fine
  git('rm', '-q', 'zones/c.yaml');
  git('commit', '-qm', 'no link');
  mkdirSync(join(dir, 'shared'));
  writeFileSync(join(dir, 'shared', 'child.yaml'), CHILD);
  symlinkSync('../shared/child.yaml', join(dir, 'zones', 'child.yaml'));
  const r = await plan(dir, '--format', 'json');
  t.is(r.code, 1, r.stderr);
  t.deepEqual((JSON.parse(r.stdout) as PlanReport).zones.added, ['child.example.test']);
});

test('Markdown from a revision cannot break out of its code block or table: control characters shown escaped, fences longer than any backtick run', async (t) => {
  const evil = 'x\n```\n![pwned](https://attacker.example/p.png) **All good**\n';
  const { dir, git } = repoWith({ 'steerdns.yaml': CONFIG, 'zones/example.test.yaml': PARENT });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a key with newlines and a fence in it: check quotes the name in its error
  writeFileSync(join(dir, 'zones', 'example.test.yaml'), `${PARENT}  ${JSON.stringify(evil)}: { A: 192.0.2.300 }\n`);
  git('commit', '-qam', 'evil');
  const r = await plan(dir, '--from', 'HEAD~1', '--to', 'HEAD', '--format', 'markdown');
  t.is(r.code, 2);
  const lines = r.stdout.split('\n');
  t.false(
    lines.some((l) => l.startsWith('![pwned]')),
    r.stdout,
  );
  t.true(r.stdout.includes('\\x0a```\\x0a![pwned]'), r.stdout);
  // every code block opened is closed by a fence of its own length
  const fences = lines.filter((l) => /^`{3,}/.test(l));
  t.is(fences.length % 2, 0);
  // text output: the same escaping (a terminal never sees the raw control characters)
  const text = await plan(dir, '--from', 'HEAD~1', '--to', 'HEAD');
  t.false(text.stdout.includes('\n```'), text.stdout);
});

test("a parent zone's delegation NS and glue changed beside the served child zone: plan sees it (RRsets keyed by zone)", async (t) => {
  const { dir, git } = repoWith({ 'steerdns.yaml': CONFIG, 'zones/example.test.yaml': PARENT, 'zones/child.yaml': CHILD });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'zones', 'example.test.yaml'),
    PARENT.replace('child: { NS: [ns1.child] }', 'child: { NS: [ns2.child] }').replace(
      'ns1.child: { A: 192.0.2.60 }',
      'ns2.child: { A: 192.0.2.61 }',
    ),
  );
  git('commit', '-qam', 'delegation moved');
  const r = await plan(dir, '--from', 'HEAD~1', '--to', 'HEAD', '--format', 'json');
  t.is(r.code, 1, r.stdout);
  const names = (JSON.parse(r.stdout) as PlanReport).names.map((n) => `${n.name} ${n.type} ${n.change}`);
  t.true(names.includes('child.example.test NS changed'), names.join('\n'));
  t.true(names.includes('ns2.child.example.test A added'), names.join('\n'));
});

test('a revision without steerdns.yaml (the change that sets steerdns up) serves nothing: every zone added, exit 1', async (t) => {
  const { dir, git } = repoWith({ 'README.md': 'zones\n' });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'steerdns.yaml'), CONFIG);
  writeFileSync(join(dir, 'zones', 'example.test.yaml'), PARENT);
  git('add', '-A');
  git('commit', '-qm', 'steerdns');
  const r = await plan(dir, '--from', 'HEAD~1', '--to', 'HEAD', '--format', 'json');
  t.is(r.code, 1, `${r.stdout}${r.stderr}`);
  const report = JSON.parse(r.stdout) as PlanReport;
  t.deepEqual(report.zones.added, ['example.test']);
  t.deepEqual(report.errors, []);
  // and neither revision having one is an error, in JSON too
  const none = await plan(dir, '--from', 'HEAD~1', '--to', 'HEAD~1', '--format', 'json');
  t.is(none.code, 2);
  t.regex((JSON.parse(none.stdout) as { errors: string[] }).errors[0]!, /neither HEAD~1 nor HEAD~1 has steerdns\.yaml/);
});

test('dnssec: keys kept out of git do not fail plan (it compares answers, not signatures)', async (t) => {
  const signed = `${CONFIG}dnssec:\n  example.test: { keys: [keys/Kexample.test.+013+12345] }\n`;
  const { dir, git } = repoWith({ 'steerdns.yaml': signed, 'zones/example.test.yaml': PARENT });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'zones', 'example.test.yaml'), PARENT.replace('192.0.2.53', '192.0.2.54'));
  git('commit', '-qam', 'ns1 moved');
  const r = await plan(dir, '--from', 'HEAD~1', '--to', 'HEAD', '--format', 'json');
  t.is(r.code, 1, `${r.stdout}${r.stderr}`);
  t.true((JSON.parse(r.stdout) as PlanReport).names.some((n) => n.name === 'ns1.example.test' && n.type === 'A'));
});
