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
import { CSK_FLAGS, DIGEST_SHA384, dsRdata, generateKey, KeyFileError, keyTag, loadKey, roleAt } from '../../src/dnssec/keys.js';
import { dsText } from '../../src/dnssec/present.js';
import { tempDir } from '../helpers/server.js';
import { bindKeygen, tool } from './helpers.js';

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
