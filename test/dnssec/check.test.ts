// `steerdns check` on the `dnssec:` section (docs/configuration.md#dnssec): every bad form of the section and
// every key the rules refuse, each run through the real CLI and asserting the exact `file:line:col: message`
// line and exit status 1; a private key others can read is a warning; good configs pass.
import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { formatPrivateKeyFile, formatPublicKeyFile, type KeyTiming } from '../../src/dnssec/key-files.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { runCli, writeFixture } from '../helpers/server.js';
import { dnskeyLine, tool } from './helpers.js';

// two lines; each case's dnssec: section starts on line 3
const CONFIG = 'listen: ["127.0.0.1:5300"]\nzones: ./zones\n';
const ZONE = `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

interface KeySpec {
  zone?: string;
  algorithm?: 13 | 15;
  flags?: number;
  timing?: KeyTiming;
  /** Write the .private file (default true), or the private key of another key. */
  private?: boolean | 'other';
  mode?: number;
  /** Comment lines put before the DNSKEY record instead of the times. */
  lines?: string;
}

/** Writes `keys/<name>.key` and `.private` under `dir`. */
function writeKey(dir: string, name: string, spec: KeySpec = {}): void {
  const algorithm = spec.algorithm ?? 13;
  const { key, privateKey } = generateKey(spec.zone ?? 'example.test', algorithm);
  const base = join(dir, 'keys', name);
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const text = formatPublicKeyFile({ ...key, flags: spec.flags ?? key.flags, timing: spec.timing ?? key.timing });
  writeFileSync(`${base}.key`, spec.lines === undefined ? text : `${spec.lines}\n${text.replace(/^;.*\n/gm, '')}`);
  if (spec.private === false) return;
  const priv = spec.private === 'other' ? generateKey('example.test', algorithm).privateKey : privateKey;
  writeFileSync(`${base}.private`, formatPrivateKeyFile({ algorithm, privateKey: priv, timing: {} }), { mode: 0o600 });
  if (spec.mode !== undefined) chmodSync(`${base}.private`, spec.mode);
}

/** A key made by BIND's dnssec-keygen with timing options (-P -A -D -L...), then given to dnssec-settime with
 *  `settime` (which writes BIND's file names only), as `keys/<name>.key` / `.private`; `strip` drops the .key
 *  file's comment lines (the times are then in the .private file only). */
function bindKeyAs(dir: string, name: string, options: string[], more: { strip?: boolean; settime?: string[] } = {}): void {
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const r = tool('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-f', 'KSK', ...options, '-K', 'keys', 'example.test'], dir);
  if (r.status !== 0) throw new Error(`dnssec-keygen failed: ${r.stderr}`);
  const made = join(dir, 'keys', r.stdout.trim());
  if (more.settime) {
    const s = tool('dnssec-settime', [...more.settime, made], dir);
    if (s.status !== 0) throw new Error(`dnssec-settime failed: ${s.stderr}`);
  }
  if (more.strip) writeFileSync(`${made}.key`, dnskeyLine(made));
  renameSync(`${made}.key`, join(dir, 'keys', `${name}.key`));
  renameSync(`${made}.private`, join(dir, 'keys', `${name}.private`));
}

const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);

interface Case {
  title: string;
  dnssec: string;
  keys?: Record<string, KeySpec>;
  setup?: (dir: string) => void;
  /** Exact lines that stderr must contain. */
  errors: string[];
}

const Z = 'dnssec."example.test"';

const CASES: Case[] = [
  // ---- the section's shape ----
  { title: 'dnssec is not a mapping', dnssec: 'dnssec: [example.test]\n', errors: ['steerdns.yaml:3:9: dnssec must be a mapping'] },
  {
    title: 'a zone name that is not a domain name',
    dnssec: 'dnssec:\n  "exa mple.test": { keys: [keys/k1] }\n',
    errors: ['steerdns.yaml:4:3: dnssec: zone "exa mple.test" has a label with characters other than letters, digits, "-" and "_"'],
  },
  {
    title: 'a zone listed twice (with and without its trailing dot)',
    dnssec: 'dnssec:\n  example.test: { keys: [keys/k1] }\n  example.test.: { keys: [keys/k1] }\n',
    keys: { k1: {} },
    errors: ['steerdns.yaml:5:3: dnssec."example.test.": zone example.test is listed twice'],
  },
  {
    title: 'a zone that is not a mapping',
    dnssec: 'dnssec:\n  example.test: keys/k1\n',
    errors: [`steerdns.yaml:4:17: ${Z} must be a mapping`],
  },
  {
    title: 'an unknown key in a zone, and no keys:',
    dnssec: 'dnssec:\n  example.test: { key: [keys/k1] }\n',
    errors: [
      `steerdns.yaml:4:19: unknown key "key" in ${Z} (expected one of: keys, signature_validity, expiry_warning)`,
      `steerdns.yaml:4:3: ${Z} needs keys: [key file paths] (made by steerdns keygen or dnssec-keygen)`,
    ],
  },
  {
    title: 'an empty key list',
    dnssec: 'dnssec:\n  example.test: { keys: [] }\n',
    errors: [`steerdns.yaml:4:25: ${Z}.keys needs at least one key`],
  },
  {
    title: 'a key mapping without path, with an unknown key, with a publish that is not a boolean',
    dnssec:
      'dnssec:\n  example.test:\n    keys:\n      - { active: true }\n      - { path: keys/k1, activ: true }\n      - { path: keys/k1, publish: yes }\n',
    keys: { k1: {} },
    errors: [
      `steerdns.yaml:6:9: ${Z}: a key written as a mapping needs path:`,
      `steerdns.yaml:7:26: unknown key "activ" in ${Z} key (expected one of: path, publish, active)`,
      `steerdns.yaml:8:35: ${Z} key publish must be true or false`,
    ],
  },
  {
    title: 'an active key that is not published',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - { path: keys/k1, publish: false, active: true }\n',
    keys: { k1: {} },
    errors: [
      `steerdns.yaml:6:9: ${Z}: an active key must be published (publish: false, active: true): resolvers could not validate its signatures`,
    ],
  },
  {
    title: 'a key listed twice (once with its .key suffix)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n      - keys/k1.key\n',
    keys: { k1: {} },
    errors: [`steerdns.yaml:7:9: ${Z}: key "keys/k1.key" is listed twice`],
  },
  {
    title: 'a signature validity that is not a duration, too short, too long',
    dnssec:
      'dnssec:\n  example.test: { keys: [keys/k1], signature_validity: 2w }\n  a.test: { keys: [keys/k1], signature_validity: 30m }\n  b.test: { keys: [keys/k1], signature_validity: 400d }\n',
    errors: [
      `steerdns.yaml:4:56: ${Z}.signature_validity must be a duration such as 14d or 336h, from 1h to 365d`,
      'steerdns.yaml:5:50: dnssec."a.test".signature_validity must be a duration such as 14d or 336h, from 1h to 365d',
      'steerdns.yaml:6:50: dnssec."b.test".signature_validity must be a duration such as 14d or 336h, from 1h to 365d',
    ],
  },
  // ---- the key files ----
  {
    title: 'a key file that does not exist',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    errors: [`steerdns.yaml:6:9: ${Z}: keys/k1.key: file not found`],
  },
  {
    title: 'a key file that is not a DNSKEY record',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    setup: (dir) => {
      mkdirSync(join(dir, 'keys'));
      writeFileSync(join(dir, 'keys', 'k1.key'), 'example.test. IN DS 1 13 2 AB\n');
    },
    errors: [`steerdns.yaml:6:9: ${Z}: keys/k1.key: line 1: the record is not a DNSKEY (owner [ttl] IN DNSKEY flags 3 algorithm key)`],
  },
  {
    title: 'a key of an algorithm steerdns does not implement',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    setup: (dir) => {
      mkdirSync(join(dir, 'keys'));
      writeFileSync(join(dir, 'keys', 'k1.key'), 'example.test. IN DNSKEY 257 3 8 AwEAAc==\n');
    },
    errors: [`steerdns.yaml:6:9: ${Z}: keys/k1.key: DNSSEC algorithm 8 is not supported (supported: 13 ECDSAP256SHA256, 15 ED25519)`],
  },
  {
    title: 'a key of another zone',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { zone: 'other.test' } },
    errors: [`steerdns.yaml:6:9: ${Z}: keys/k1.key: the key is for other.test, not for example.test`],
  },
  {
    title: 'a key without the Zone Key flag, and a revoked key',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n      - keys/k2\n',
    keys: { k1: { flags: 1 }, k2: { flags: 257 | 128 } },
    errors: [
      `steerdns.yaml:6:9: ${Z}: keys/k1.key: flags 1 lack the Zone Key bit (256): it cannot sign a zone (RFC 4034 §2.1.1)`,
      `steerdns.yaml:7:9: ${Z}: keys/k2.key: the key is revoked (flags 385, RFC 5011 §3)`,
    ],
  },
  {
    title: 'an active key without its private key file',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { private: false } },
    errors: [`steerdns.yaml:6:9: ${Z}: keys/k1.private: file not found (an active key signs, so its private key is needed)`],
  },
  {
    title: 'an active key whose .private holds another key',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { private: 'other' } },
    errors: [
      `steerdns.yaml:6:9: ${Z}: keys/k1.private: the private key does not belong to the public key (an active key signs, so its private key is needed)`,
    ],
  },
  {
    title: 'the same key under two paths',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n      - keys/k2\n',
    keys: { k1: {} },
    setup: (dir) => {
      copyFileSync(join(dir, 'keys', 'k1.key'), join(dir, 'keys', 'k2.key'));
      copyFileSync(join(dir, 'keys', 'k1.private'), join(dir, 'keys', 'k2.private'));
    },
    errors: [`steerdns.yaml:7:9: ${Z}: keys/k2.key: the same key as keys/k1`],
  },
  // ---- the zone as a whole ----
  {
    title: 'no active key (all set inactive)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - { path: keys/k1, active: false }\n',
    keys: { k1: {} },
    errors: [`steerdns.yaml:4:3: ${Z}: no active key: a signed zone needs at least one (active: true, or an Activate time passed)`],
  },
  {
    title: 'no active key (the key file’s Activate time has not come)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { timing: { created: now(), publish: now() - HOUR, activate: now() + 24 * HOUR } } },
    errors: [`steerdns.yaml:4:3: ${Z}: no active key: a signed zone needs at least one (active: true, or an Activate time passed)`],
  },
  {
    title: 'an algorithm published with no active key of it (RFC 4035 §2.2)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k13\n      - { path: keys/k15, active: false }\n',
    keys: { k13: {}, k15: { algorithm: 15 } },
    errors: [
      `steerdns.yaml:7:17: ${Z}: algorithm 15 is in the DNSKEY set but no active key of it signs the zone (RFC 4035 §2.2: every RRset is signed with each algorithm published)`,
    ],
  },
  {
    title: 'no active key: the .key file’s role lines say "; publish: false" and "; active: false" (docs/configuration.md#dnssec)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { lines: '; publish: false\n; active: no' } },
    errors: [`steerdns.yaml:4:3: ${Z}: no active key: a signed zone needs at least one (active: true, or an Activate time passed)`],
  },
  {
    title: 'a role line in a .key file that is none of the forms read',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { lines: '; This is a key-signing key\n; published: yes' } },
    errors: [
      `steerdns.yaml:6:9: ${Z}: keys/k1.key: line 2: "; published: yes" is not a role line steerdns reads: write "; publish: true|false|yes|no", "; active: true|false|yes|no", or a time as BIND does: "; Publish: YYYYMMDDHHMMSS" (also Created, Activate, Inactive, Delete, Revoke, SyncPublish, SyncDelete)`,
    ],
  },
  {
    title: 'an active key whose .key file says "; publish: false"',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    keys: { k1: { lines: '; publish: false\n; active: true' } },
    errors: [
      `steerdns.yaml:6:9: ${Z}: keys/k1.key: the key is active but not published (publish: false): resolvers could not validate its signatures`,
    ],
  },
  {
    title: 'no active key: dnssec-keygen -P +1d -A +2d, the .key file’s comment lines stripped (the times are read from the .private)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    setup: (dir) => bindKeyAs(dir, 'k1', ['-P', '+1d', '-A', '+2d'], { strip: true }),
    errors: [`steerdns.yaml:4:3: ${Z}: no active key: a signed zone needs at least one (active: true, or an Activate time passed)`],
  },
  {
    title: 'no active key: the only key is past its Delete time (dnssec-keygen -D now-1d)',
    dnssec: 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n',
    setup: (dir) => bindKeyAs(dir, 'k1', ['-P', 'now-3d', '-A', 'now-3d', '-D', 'now-1d']),
    errors: [`steerdns.yaml:4:3: ${Z}: no active key: a signed zone needs at least one (active: true, or an Activate time passed)`],
  },
  {
    title: 'a signed zone that no zone file serves',
    dnssec: 'dnssec:\n  other.test:\n    keys: [keys/k1]\n',
    keys: { k1: { zone: 'other.test' } },
    errors: ['steerdns.yaml:4:3: dnssec: zone other.test is not served: no zone file has that origin'],
  },
];

function fixture(t: { teardown(fn: () => void): void }, dnssec: string): string {
  const dir = writeFixture(`${CONFIG}${dnssec}`, { 'example.test.yaml': ZONE });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const c of CASES) {
  test(`check, dnssec: ${c.title}`, async (t) => {
    const dir = fixture(t, c.dnssec);
    for (const [name, spec] of Object.entries(c.keys ?? {})) writeKey(dir, name, spec);
    c.setup?.(dir);
    const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
    t.is(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n');
    for (const e of c.errors) t.true(lines.includes(e), `expected the line\n  ${e}\nin stderr:\n${r.stderr}`);
    const diags = lines.filter((l) => l && !/^\d+ errors?$/.test(l));
    for (const l of diags) t.regex(l, /^steerdns\.yaml:\d+:\d+: \S/);
    t.true(lines.includes(`${diags.length} error${diags.length === 1 ? '' : 's'}`), r.stderr);
    t.notRegex(r.stdout, /^ok:/m);
  });
}

test('check, dnssec: good keys pass — a path, a pre-published key, another algorithm active beside it, a validity in hours', async (t) => {
  const dir = fixture(
    t,
    'dnssec:\n  example.test.:\n    keys:\n      - keys/k1\n      - { path: keys/k2.key, publish: true, active: false }\n      - { path: keys/k3, active: true }\n    signature_validity: 336h\n',
  );
  writeKey(dir, 'k1');
  writeKey(dir, 'k2', { private: false }); // published ahead of use: no private key needed yet
  writeKey(dir, 'k3', { algorithm: 15, timing: { created: now(), activate: now() + HOUR } }); // the config's active: wins
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.is(r.stdout, 'ok: 1 zone (example.test.)\n');
});

test('check, dnssec: a private key others can read is a warning, not an error', async (t) => {
  const dir = fixture(t, 'dnssec:\n  example.test: { keys: [keys/k1] }\n');
  writeKey(dir, 'k1', { mode: 0o644 });
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  t.is(r.code, 0, r.stderr);
  t.true(
    r.stdout
      .split('\n')
      .includes(`steerdns.yaml:4:26: warning: ${Z}: keys/k1.private can be read by other users (mode 0644): chmod 600 it`),
    r.stdout,
  );
  t.regex(r.stdout, /^ok: 1 zone \(example\.test\.\)$/m);
});

/** The steerdns.yaml lines of a check run (stderr and stdout together, errors and warnings). */
async function checkLines(dir: string): Promise<{ code: number | null; lines: string[]; out: string }> {
  const r = await runCli(['check', '-c', join(dir, 'steerdns.yaml')], dir);
  const out = r.stderr + r.stdout;
  return { code: r.code, lines: out.split('\n'), out };
}

test('check, dnssec: a key past its Revoke time (dnssec-settime -R now-1h) is refused whatever the config says; a Revoke time to come is a warning (RFC 5011)', async (t) => {
  const dir = fixture(t, 'dnssec:\n  example.test:\n    keys:\n      - { path: keys/k1, publish: true, active: true }\n      - keys/k2\n');
  bindKeyAs(dir, 'k1', [], { settime: ['-R', 'now-1h'] });
  bindKeyAs(dir, 'k2', [], { settime: ['-R', '+30d'] });
  const r = await checkLines(dir);
  t.is(r.code, 1, r.out);
  t.true(
    r.lines.some((l) =>
      /^steerdns\.yaml:6:17: dnssec\."example\.test": keys\/k1\.key: the key was revoked at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(its Revoke time, RFC 5011 §2\.1\): steerdns does not serve revoked keys; take it out of keys:$/.test(
        l,
      ),
    ),
    r.out,
  );
  t.true(
    r.lines.some((l) =>
      /^steerdns\.yaml:7:9: warning: dnssec\."example\.test": keys\/k2\.key: the key's Revoke time \S+Z is set: from the first load after it the key is refused \(steerdns does not serve revoked keys, RFC 5011\)$/.test(
        l,
      ),
    ),
    r.out,
  );
  t.true(r.lines.includes('1 error'), r.out);
});

test('check, dnssec: a rollover’s end — the old key past Delete (dnssec-keygen -D now-1d) is left out, the new one signs; the config’s active: true for a deleted key wins with a warning', async (t) => {
  const dir = fixture(t, 'dnssec:\n  example.test:\n    keys:\n      - keys/old\n      - keys/new\n');
  bindKeyAs(dir, 'old', ['-P', 'now-30d', '-A', 'now-30d', '-I', 'now-2d', '-D', 'now-1d']);
  bindKeyAs(dir, 'new', ['-P', 'now-10d', '-A', 'now-9d']);
  const ok = await checkLines(dir);
  t.is(ok.code, 0, ok.out);
  t.is(ok.out, 'ok: 1 zone (example.test.)\n');
  writeFileSync(
    join(dir, 'steerdns.yaml'),
    `${CONFIG}dnssec:\n  example.test:\n    keys:\n      - { path: keys/old, active: true }\n      - keys/new\n`,
  );
  const forced = await checkLines(dir);
  t.is(forced.code, 0, forced.out);
  t.true(
    forced.lines.some((l) =>
      /^steerdns\.yaml:6:17: warning: dnssec\."example\.test": keys\/old\.key: the key's Delete time \S+Z has passed, but the config keep it signing \(a publish\/active flag wins over the times\)$/.test(
        l,
      ),
    ),
    forced.out,
  );
});

test('check, dnssec: a .key file’s TTL (dnssec-keygen -L) other than the zone’s ttl is a warning: the DNSKEY RRset is served with the zone’s ttl', async (t) => {
  const dir = fixture(t, 'dnssec:\n  example.test:\n    keys:\n      - keys/k1\n      - keys/k2\n');
  bindKeyAs(dir, 'k1', ['-L', '600']);
  bindKeyAs(dir, 'k2', ['-L', '3600']); // the zone's ttl (3600 by default): nothing to say
  const r = await checkLines(dir);
  t.is(r.code, 0, r.out);
  t.deepEqual(
    r.lines.filter((l) => l.includes('warning')),
    [
      `steerdns.yaml:6:9: warning: ${Z}: keys/k1.key: the key file's TTL 600 is not used: the DNSKEY RRset is served with the zone's ttl (3600)`,
    ],
  );
});

test('check, dnssec: each step of the documented rollovers passes (docs/configuration.md#key-rollover), the conservative algorithm rollover’s steps are refused (#algorithm-rollover)', async (t) => {
  const dir = fixture(t, '');
  writeKey(dir, 'old');
  writeKey(dir, 'new');
  writeKey(dir, 'ed', { algorithm: 15 });
  const step = async (keys: string) => {
    writeFileSync(join(dir, 'steerdns.yaml'), `${CONFIG}dnssec:\n  example.test:\n    keys:\n${keys}`);
    return checkLines(dir);
  };
  for (const keys of [
    '      - { path: keys/old, active: true }\n', // before
    '      - { path: keys/old, active: true }\n      - { path: keys/new, active: true }\n', // 1: publish and activate together
    '      - { path: keys/new, active: true }\n', // 3: the old key removed outright
    '      - { path: keys/new, active: true }\n      - { path: keys/ed, active: true }\n', // an algorithm rollover, step 1
    '      - { path: keys/ed, active: true }\n', // and its step 3
  ]) {
    const r = await step(keys);
    t.is(r.code, 0, `${keys}\n${r.out}`);
  }
  // the conservative order: the new algorithm signing before its key is published, the old one after it is withdrawn
  for (const keys of [
    '      - { path: keys/new, active: true }\n      - { path: keys/ed, publish: false, active: true }\n',
    '      - { path: keys/new, publish: false, active: true }\n      - { path: keys/ed, active: true }\n',
  ]) {
    const r = await step(keys);
    t.is(r.code, 1, `${keys}\n${r.out}`);
    t.regex(r.out, /an active key must be published \(publish: false, active: true\)/);
  }
});
