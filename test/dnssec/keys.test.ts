// Keys in BIND's file format, both ways: keys made by BIND's dnssec-keygen load, with the key tag (RFC 4034
// Appendix B) and DS (RFC 4509) that dnssec-dsfromkey computes; key files steerdns writes are read by BIND's
// tools; the times in the files give a key's role; broken key files are refused with the file and the fault.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import test from 'ava';
import {
  formatPrivateKeyFile,
  formatPublicKeyFile,
  keyBaseName,
  parsePrivateKeyFile,
  parsePublicKeyFile,
} from '../../src/dnssec/key-files.js';
import { CSK_FLAGS, DIGEST_SHA384, dsRdata, generateKey, KeyFileError, keyRole, keyTag, loadKey, roleAt } from '../../src/dnssec/keys.js';
import { dsText } from '../../src/dnssec/present.js';
import { tempDir } from '../helpers/server.js';
import { bindKeygen, dnskeyLine, tool } from './helpers.js';

function withDir(t: { teardown(fn: () => void): void }): string {
  const dir = tempDir('steerdns-keys-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const [algorithm, number] of [
  ['ECDSAP256SHA256', 13],
  ['ED25519', 15],
] as const) {
  test(`an ${algorithm} key made by dnssec-keygen loads, with the key tag of its file name and the DS dnssec-dsfromkey -2 prints`, (t) => {
    const dir = withDir(t);
    const base = bindKeygen(dir, 'example.test', algorithm);
    const key = loadKey(base, true);
    t.is(key.zone, 'example.test');
    t.is(key.algorithm, number);
    t.is(key.flags, CSK_FLAGS);
    t.truthy(key.signer, 'the private key was read');
    t.is(basename(base), keyBaseName('example.test', number, key.tag));
    t.is(keyTag(key.dnskey), key.tag);
    const ds = tool('dnssec-dsfromkey', ['-2', `${base}.key`], dir);
    t.is(ds.status, 0, ds.stderr);
    t.is(ds.stdout.trim(), `example.test. IN DS ${dsText(dsRdata(key.zone, key.dnskey))}`);
    // SHA-384 digests too (RFC 6605 §5 lists them beside SHA-256)
    const ds384 = tool('dnssec-dsfromkey', ['-a', 'SHA-384', `${base}.key`], dir);
    t.is(ds384.stdout.trim(), `example.test. IN DS ${dsText(dsRdata(key.zone, key.dnskey, DIGEST_SHA384))}`);
    // the times dnssec-keygen wrote: created, published and activated now
    t.truthy(key.timing.publish);
    t.deepEqual(roleAt(key.timing, Date.now() / 1000 + 1), { published: true, active: true });
  });
}

test('key files steerdns writes are BIND’s format: dnssec-dsfromkey reads the .key, dnssec-signzone signs with the .private', (t) => {
  const dir = withDir(t);
  for (const algorithm of [13, 15]) {
    const { key, privateKey } = generateKey('example.test', algorithm);
    const base = join(dir, keyBaseName(key.zone, algorithm, key.tag));
    writeFileSync(`${base}.key`, formatPublicKeyFile(key));
    writeFileSync(`${base}.private`, formatPrivateKeyFile({ algorithm, privateKey, timing: key.timing }), { mode: 0o600 });
    const ds = tool('dnssec-dsfromkey', ['-2', `${base}.key`], dir);
    t.is(ds.stdout.trim(), `example.test. IN DS ${dsText(dsRdata(key.zone, key.dnskey))}`, ds.stderr);
    const dnskey = readFileSync(`${base}.key`, 'utf8')
      .split('\n')
      .find((l) => l && !l.startsWith(';'))!;
    writeFileSync(join(dir, 'zone.db'), `$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n${dnskey}\n`);
    const sign = tool('dnssec-signzone', ['-z', '-o', 'example.test', '-f', 'signed.db', 'zone.db', base], dir);
    t.is(sign.status, 0, sign.stderr);
    t.regex(sign.stderr + sign.stdout, /Zone fully signed/);
    // and steerdns reads back what it wrote
    const back = loadKey(base, true);
    t.is(back.tag, key.tag);
    t.deepEqual(back.timing, key.timing);
  }
});

test('a key file round trip keeps every field and time; BIND’s comment line and time forms are written', (t) => {
  const { key, privateKey } = generateKey('Example.Test.', 13, Date.UTC(2026, 11, 3, 15, 2, 12) / 1000);
  t.is(key.zone, 'example.test');
  const text = formatPublicKeyFile({ ...key, timing: { ...key.timing, inactive: Date.UTC(2027, 0, 1) / 1000 } });
  t.is(text.split('\n')[0], `; This is a key-signing key, keyid ${key.tag}, for example.test.`);
  t.is(text.split('\n')[1], '; Created: 20261203150212 (Thu Dec  3 15:02:12 2026)');
  t.true(text.split('\n').includes('; Inactive: 20270101000000 (Fri Jan  1 00:00:00 2027)'), text);
  const pub = parsePublicKeyFile(text);
  t.is(pub.owner, 'example.test');
  t.is(pub.flags, 257);
  t.deepEqual(pub.publicKey, key.publicKey);
  t.is(pub.timing.inactive, Date.UTC(2027, 0, 1) / 1000);
  const priv = parsePrivateKeyFile(formatPrivateKeyFile({ algorithm: 13, privateKey, timing: key.timing }));
  t.deepEqual(priv.privateKey, privateKey);
  t.deepEqual(priv.timing, key.timing);
});

test('a .key file may give a TTL and spread the key over lines in parentheses', (t) => {
  const { key } = generateKey('example.test', 15);
  const b64 = key.publicKey.toString('base64');
  const pub = parsePublicKeyFile(`example.test. 86400 IN DNSKEY 257 3 15 (\n  ${b64.slice(0, 20)}\n  ${b64.slice(20)} ) ; a comment\n`);
  t.is(pub.ttl, 86400);
  t.deepEqual(pub.publicKey, key.publicKey);
  t.deepEqual(pub.timing, {}, 'no times: ldns-keygen writes none');
});

test('a key’s role at a time: published from Publish (or Activate) until Delete, active from Activate until Inactive', (t) => {
  const h = 3600;
  t.deepEqual(roleAt({}, 0), { published: true, active: true }, 'a key file without times is published and active');
  t.deepEqual(roleAt({ publish: 0, activate: 10 * h }, h), { published: true, active: false }, 'pre-published');
  t.deepEqual(roleAt({ publish: 0, activate: 0 }, h), { published: true, active: true });
  t.deepEqual(roleAt({ activate: 0 }, h), { published: true, active: true }, 'no Publish time: published once active');
  t.deepEqual(roleAt({ publish: 0, activate: 0, inactive: h / 2 }, h), { published: true, active: false }, 'retired, still published');
  t.deepEqual(roleAt({ publish: 0, activate: 0, inactive: h / 4, delete: h / 2 }, h), { published: false, active: false }, 'removed');
  t.deepEqual(roleAt({ created: 0 }, h), { published: false, active: false }, 'created only: neither');
  // Delete ends both roles, even with no Inactive time before it: a deleted key neither signs nor is published
  t.deepEqual(roleAt({ publish: 0, activate: 0, delete: h / 2 }, h), { published: false, active: false }, 'deleted while active');
  t.deepEqual(roleAt({ activate: 0, delete: h / 2 }, h), { published: false, active: false }, 'deleted, no Publish time');
});

/** `dnssec-keygen` with timing options (-P -A -I -D -R -L), its base path; `strip` drops the .key file's comment lines. */
function bindKey(dir: string, options: string[], strip = false): string {
  const r = tool('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-f', 'KSK', ...options, '-K', dir, 'example.test'], dir);
  if (r.status !== 0) throw new Error(`dnssec-keygen failed: ${r.stderr}`);
  const base = join(dir, r.stdout.trim());
  if (strip) writeFileSync(`${base}.key`, dnskeyLine(base));
  return base;
}

test('a .key file without times takes the .private file’s, also when only the public key is read: a key made with dnssec-keygen -P +1d -A +2d is neither published nor active yet', (t) => {
  const dir = withDir(t);
  const base = bindKey(dir, ['-P', '+1d', '-A', '+2d'], true);
  t.false(readFileSync(`${base}.key`, 'utf8').includes(';'), 'the comment lines are gone');
  const now = Date.now() / 1000;
  const publicOnly = loadKey(base, false);
  t.deepEqual(publicOnly.timing, parsePrivateKeyFile(readFileSync(`${base}.private`, 'utf8')).timing);
  t.deepEqual(roleAt(publicOnly.timing, now), { published: false, active: false });
  t.deepEqual(loadKey(base, true).timing, publicOnly.timing, 'the same times whether the private key is read or not');
  t.deepEqual(roleAt(publicOnly.timing, now + 86_400 + 60), { published: true, active: false }, 'a day on: pre-published');
  // dnssec-settime moves the times in both files; the .key's times (once it has some) are read first
  t.is(tool('dnssec-settime', ['-P', 'now', '-A', 'now', base], dir).status, 0);
  t.deepEqual(roleAt(loadKey(base, false).timing, Date.now() / 1000 + 1), { published: true, active: true });
  // no .private at all (a key handed over for publishing only): no times, published and active as before
  rmSync(`${base}.private`);
  writeFileSync(`${base}.key`, dnskeyLine(base));
  t.deepEqual(loadKey(base, false).timing, {});
  // a .private whose time is broken is reported against it
  writeFileSync(`${base}.private`, 'Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPublish: tomorrow\n');
  const e = t.throws(() => loadKey(base, false), { instanceOf: KeyFileError });
  t.is(e?.file, `${base}.private`);
  t.is(e?.reason, 'line 3: "tomorrow" is not a time (YYYYMMDDHHMMSS)');
});

test('BIND’s Delete time ends a key’s roles and its Revoke, SyncPublish and SyncDelete times are read (dnssec-keygen -D, dnssec-settime -R, -P sync)', (t) => {
  const dir = withDir(t);
  const deleted = loadKey(bindKey(dir, ['-P', 'now-3d', '-A', 'now-3d', '-D', 'now-1d']), true);
  t.deepEqual(roleAt(deleted.timing, Date.now() / 1000), { published: false, active: false });
  const base = bindKey(dir, []);
  t.is(tool('dnssec-settime', ['-R', '+30d', '-P', 'sync', '+1d', '-D', 'sync', '+40d', base], dir).status, 0);
  const key = loadKey(base, true);
  const day = 86_400;
  const now = Date.now() / 1000;
  t.true(Math.abs(key.timing.revoke! - (now + 30 * day)) < 120, 'Revoke +30d');
  t.true(Math.abs(key.timing.syncPublish! - (now + day)) < 120, 'SyncPublish +1d');
  t.true(Math.abs(key.timing.syncDelete! - (now + 40 * day)) < 120, 'SyncDelete +40d');
  // written back as BIND writes them
  const text = formatPublicKeyFile(key);
  t.regex(text, /^; SyncPublish: \d{14} \(/m);
  t.deepEqual(parsePublicKeyFile(text).timing, key.timing);
  t.deepEqual(
    parsePrivateKeyFile(formatPrivateKeyFile({ algorithm: 13, privateKey: Buffer.alloc(32, 1), timing: key.timing })).timing,
    key.timing,
  );
});

test('a .key file’s role lines (docs/configuration.md#dnssec): "; publish:" and "; active:" with true, false, yes or no; "; Active:" is a spelling of Activate', (t) => {
  const { key } = generateKey('example.test', 13);
  const record = `example.test. IN DNSKEY 257 3 13 ${key.publicKey.toString('base64')}`;
  const read = (lines: string) => parsePublicKeyFile(`${lines}\n${record}\n`);
  t.deepEqual(read('; publish: false\n; active: false').roleFlags, { publish: false, active: false });
  t.deepEqual(read(';publish:yes\n;  ACTIVE:  No').roleFlags, { publish: true, active: false }, 'any case and spacing');
  t.deepEqual(read('; Publish: TRUE\n; Activate: true').roleFlags, { publish: true, active: true });
  t.deepEqual(read('; This is a key-signing key, keyid 1, for example.test.\n; Note: made for the lab').roleFlags, {}, 'other comments');
  const active = read('; Active: 20261203150212 (Thu Dec  3 15:02:12 2026)');
  t.deepEqual(active.timing, { activate: Date.UTC(2026, 11, 3, 15, 2, 12) / 1000 });
  t.deepEqual(active.roleFlags, {});
  // what the lines mean: neither, whatever the key's times; a line wins over the times, the config over both
  const h = 3600;
  const past = { publish: 0, activate: 0 };
  t.deepEqual(keyRole({ timing: {}, roleFlags: { publish: false, active: false } }, h), { published: false, active: false });
  t.deepEqual(keyRole({ timing: past, roleFlags: { active: false } }, h), { published: true, active: false }, 'retired by a line');
  t.deepEqual(
    keyRole({ timing: { activate: 10 * h }, roleFlags: { active: true } }, h),
    { published: true, active: true },
    'active by a line',
  );
  t.deepEqual(keyRole({ timing: past, roleFlags: { active: false } }, h, { publish: null, active: true }), {
    published: true,
    active: true,
  });
  t.deepEqual(keyRole({ timing: past, roleFlags: {} }, h, { publish: false, active: false }), { published: false, active: false });
  t.deepEqual(
    keyRole({ timing: {}, roleFlags: { publish: false, active: true } }, h),
    { published: false, active: true },
    'reported by the caller',
  );
  // lines that look like roles but are none of the forms are refused, not ignored
  const forms =
    'write "; publish: true|false|yes|no", "; active: true|false|yes|no", or a time as BIND does: "; Publish: YYYYMMDDHHMMSS" (also Created, Activate, Inactive, Delete, Revoke, SyncPublish, SyncDelete)';
  for (const [line, message] of [
    ['; published: yes', `line 1: "; published: yes" is not a role line steerdns reads: ${forms}`],
    ['; active = false', `line 1: "; active = false" is not a role line steerdns reads: ${forms}`],
    ['; publish false', `line 1: "; publish false" is not a role line steerdns reads: ${forms}`],
    ['; Retired: 20261203150212', `line 1: "; Retired: 20261203150212" is not a role line steerdns reads: ${forms}`],
    ['; publish: maybe', 'line 1: "maybe" is not true, false, yes, no or a time (publish: true|false|yes|no or YYYYMMDDHHMMSS)'],
    [
      '; active: false, for now',
      'line 1: "false, for now" is not true, false, yes, no or a time (active: true|false|yes|no or YYYYMMDDHHMMSS)',
    ],
    ['; Inactive: true', 'line 1: "true" is not a time (inactive: YYYYMMDDHHMMSS)'],
    ['; Delete: 2026-12-03', 'line 1: "2026-12-03" is not a time (delete: YYYYMMDDHHMMSS)'],
    ['; Activate: 20261203150212\n; Active: 20261204150212', 'line 2: the activate time is given twice (also on line 1)'],
    ['; active: yes\n; active: no', 'line 2: the active flag is given twice (also on line 1)'],
  ] as const) {
    t.throws(() => read(line), { message }, line);
  }
});

test('broken key files are refused, naming the file and what is wrong', (t) => {
  const dir = withDir(t);
  const { key, privateKey } = generateKey('example.test', 13);
  const other = generateKey('example.test', 13);
  const base = join(dir, 'Kexample.test.+013+00001');
  const write = (pub: string, priv?: string) => {
    writeFileSync(`${base}.key`, pub);
    if (priv !== undefined) writeFileSync(`${base}.private`, priv);
    else rmSync(`${base}.private`, { force: true });
  };
  const refused = (withPrivate: boolean, file: string, reason: string | RegExp) => {
    const e = t.throws(() => loadKey(base, withPrivate), { instanceOf: KeyFileError });
    t.is(e?.file, `${base}${file}`);
    if (typeof reason === 'string') t.is(e?.reason, reason);
    else t.regex(e?.reason ?? '', reason);
  };
  const good = formatPublicKeyFile(key);
  const goodPrivate = formatPrivateKeyFile({ algorithm: 13, privateKey, timing: {} });
  write(good);
  t.is(loadKey(`${base}.key`, false).tag, key.tag, 'a path given with .key is the same key');
  refused(true, '.private', 'file not found');
  write('; only comments\n');
  refused(false, '.key', 'no DNSKEY record in the file');
  write('example.test. IN DS 1 13 2 AB\n');
  refused(false, '.key', 'line 1: the record is not a DNSKEY (owner [ttl] IN DNSKEY flags 3 algorithm key)');
  write('example.test IN DNSKEY 257 3 13 AAAA\n');
  refused(false, '.key', 'line 1: the owner "example.test" must be absolute (end in a dot)');
  write('example.test. IN DNSKEY 257 3 13 not-base64!\n');
  refused(false, '.key', "line 1: the DNSKEY's public key is not base64");
  write(`example.test. IN DNSKEY 257 2 13 ${key.publicKey.toString('base64')}\n`);
  refused(false, '.key', 'DNSKEY protocol must be 3 (RFC 4034 §2.1.2), not 2');
  write('example.test. IN DNSKEY 257 3 8 AwEAAc==\n');
  refused(false, '.key', 'DNSSEC algorithm 8 is not supported (supported: 13 ECDSAP256SHA256, 15 ED25519)');
  write(`example.test. IN DNSKEY 257 3 13 ${key.publicKey.subarray(1).toString('base64')}\n`);
  refused(false, '.key', /^an ECDSAP256SHA256 public key has 64 octets, not 63/);
  write(good, goodPrivate.replace('Algorithm: 13 (ECDSAP256SHA256)', 'Algorithm: 15 (ED25519)'));
  refused(true, '.private', "algorithm 15 does not match the .key file's 13");
  write(good, formatPrivateKeyFile({ algorithm: 13, privateKey: other.privateKey, timing: {} }));
  refused(true, '.private', 'the private key does not belong to the public key');
  write(good, formatPrivateKeyFile({ algorithm: 13, privateKey: Buffer.alloc(32, 0xff), timing: {} }));
  refused(true, '.private', 'Private key is not valid for specified curve.');
  write(good, formatPrivateKeyFile({ algorithm: 13, privateKey: Buffer.alloc(33, 1), timing: {} }));
  refused(true, '.private', 'an ECDSAP256SHA256 private key has 32 octets, not 33');
  write(good, 'PrivateKey: AAAA\n');
  refused(true, '.private', 'not a private key file (no "Private-key-format: v1.x" line)');
  write(good, goodPrivate.replace(/^PrivateKey: .*$/m, ''));
  refused(true, '.private', 'no "PrivateKey:" line');
  write(`; Activate: 20261340000000\n${good}`);
  refused(false, '.key', 'line 1: "20261340000000" is not a time (YYYYMMDDHHMMSS)');
});

test('an ED25519 public key that is not a point of the curve, or is one of small order, is refused, even for a key only published (RFC 8032 §5.1.3)', (t) => {
  const dir = withDir(t);
  const base = join(dir, 'Kexample.test.+015+00001');
  const y = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse(); // little-endian y, sign bit 0
  const cases: [string, Buffer, string][] = [
    ['all zero (y = 0, a point of order 4)', Buffer.alloc(32), 'small order'],
    ['the neutral point (y = 1)', y(1n), 'small order'],
    ['y = -1, of order 2', y(2n ** 255n - 20n), 'small order'],
    ['an order-8 point', Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex'), 'small order'],
    ['y = 2, no x solves the curve equation', y(2n), 'not a point'],
    ['y = p, not reduced', y(2n ** 255n - 19n), 'not a point'],
  ];
  for (const [what, key, fault] of cases) {
    writeFileSync(`${base}.key`, `example.test. IN DNSKEY 257 3 15 ${key.toString('base64')}\n`);
    const e = t.throws(() => loadKey(base, false), { instanceOf: KeyFileError }, what);
    t.is(e?.file, `${base}.key`);
    t.is(
      e?.reason,
      fault === 'small order'
        ? 'the ED25519 public key is a point of small order, which no private key has (RFC 8032 §5.1.5)'
        : 'the ED25519 public key is not a point of the curve (RFC 8032 §5.1.3)',
      what,
    );
  }
  // keys of the curve load: BIND's, and many drawn at random
  t.is(loadKey(bindKeygen(dir, 'example.test', 'ED25519'), true).algorithm, 15);
  for (let i = 0; i < 50; i++) t.notThrows(() => generateKey('example.test', 15));
});
