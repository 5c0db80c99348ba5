// RRSIGs judged against real DNSSEC tools: BIND's dnssec-signzone signs a test zone and, Ed25519 being
// deterministic (RFC 8032 §5.1.6, RFC 8080), every RRSIG steerdns makes over the same RRset with the same key
// and times must be byte-identical to BIND's; ECDSA (RFC 6605) signatures are randomized, so BIND's must
// validate under steerdns' verifier, and a whole zone signed by steerdns must pass dnssec-verify and kzonecheck.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { TYPE } from '../../src/dns/registry.js';
import { keyTimeText } from '../../src/dnssec/key-files.js';
import { generateKey, loadKey } from '../../src/dnssec/keys.js';
import { parseRrsig, signRRset, verifyRRset } from '../../src/dnssec/rrsig.js';
import { tempDir } from '../helpers/server.js';
import { bindKeygen, dnskeyLine, groupRRsets, parseZoneText, signZoneText, tool, ZONE, ZONE_TEXT } from './helpers.js';

const NOW = Math.floor(Date.now() / 1000);
// signatures valid from a day ago for thirty days: the tools judge them against the clock
const INCEPTION = NOW - 86_400;
const EXPIRATION = NOW + 30 * 86_400;

/** dnssec-signzone over the test zone with one key as a CSK (-z: the KSK flag ignored), at fixed times; its output records. */
function bindSign(dir: string, base: string) {
  writeFileSync(join(dir, 'zone.db'), `${ZONE_TEXT}${dnskeyLine(base)}\n`);
  const args = [
    '-z',
    '-o',
    ZONE,
    '-s',
    keyTimeText(INCEPTION),
    '-e',
    keyTimeText(EXPIRATION),
    '-O',
    'full',
    '-f',
    'signed.db',
    'zone.db',
    base,
  ];
  const r = tool('dnssec-signzone', args, dir);
  if (r.status !== 0) throw new Error(`dnssec-signzone failed: ${r.stderr}`);
  return groupRRsets(parseZoneText(tool('cat', ['signed.db'], dir).stdout));
}

test('Ed25519 (RFC 8080): the RRSIG of every RRset of a BIND-signed zone, remade by steerdns, is byte-identical to BIND’s', (t) => {
  const dir = tempDir('steerdns-dnssec-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = bindKeygen(dir, ZONE, 'ED25519');
  const key = loadKey(base, true);
  const { sets, rrsigs } = bindSign(dir, base);
  // the zone's 13 RRsets, its DNSKEY set and the NSEC at each of its 8 names
  t.is(sets.size, 22);
  const types = new Set([...sets.values()].map((s) => s.type));
  for (const ty of [TYPE.SOA, TYPE.NS, TYPE.MX, TYPE.A, TYPE.AAAA, TYPE.CNAME, TYPE.SRV, TYPE.TXT, TYPE.PTR, TYPE.NSEC, TYPE.DNSKEY])
    t.true(types.has(ty));
  for (const [k, set] of sets) {
    const sigs = rrsigs.get(k) ?? [];
    t.is(sigs.length, 1, `one RRSIG for ${k}`);
    const bind = sigs[0]!;
    const f = parseRrsig(bind);
    const ours = signRRset({ ...set, ttl: f.originalTtl }, key, { inception: f.inception, expiration: f.expiration });
    t.is(ours.toString('base64'), bind.toString('base64'), `RRSIG of ${k}`);
    t.is(verifyRRset(set, bind, key, NOW), null, `BIND's RRSIG of ${k} validates`);
  }
  // the wildcard's RRSIG counts the labels without "*" (RFC 4034 §3.1.3)
  t.is(parseRrsig(rrsigs.get('*.wild.example.test./1')![0]!).labels, 3);
});

test('ECDSA P-256 (RFC 6605): every RRSIG dnssec-signzone makes validates under steerdns’ verifier; a changed record or signature does not', (t) => {
  const dir = tempDir('steerdns-dnssec-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = bindKeygen(dir, ZONE, 'ECDSAP256SHA256');
  const key = loadKey(base, true);
  const { sets, rrsigs } = bindSign(dir, base);
  for (const [k, set] of sets) {
    const sig = rrsigs.get(k)![0]!;
    t.is(verifyRRset(set, sig, key, NOW), null, `BIND's RRSIG of ${k}`);
    // the records reordered and the owner in another case are the same canonical RRset (RFC 4034 §6.3)
    t.is(verifyRRset({ ...set, owner: set.owner.toUpperCase(), rdata: [...set.rdata].reverse() }, sig, key), null);
  }
  const www = sets.get('www.example.test./1')!;
  const sig = rrsigs.get('www.example.test./1')![0]!;
  t.is(verifyRRset({ ...www, rdata: www.rdata.slice(1) }, sig, key), 'the signature does not verify', 'a record left out');
  const flipped = Buffer.from(sig);
  flipped[flipped.length - 1]! ^= 1;
  t.is(verifyRRset(www, flipped, key), 'the signature does not verify', 'one bit of the signature changed');
  t.is(verifyRRset(www, sig, key, EXPIRATION + 1), 'the RRSIG is not valid at this time (before inception or after expiration)');
  t.is(verifyRRset(www, sig, key, INCEPTION - 1), 'the RRSIG is not valid at this time (before inception or after expiration)');
  t.is(verifyRRset({ ...www, type: TYPE.AAAA }, sig, key), `the RRSIG covers type ${TYPE.A}, not ${TYPE.AAAA}`);
  let other = generateKey(ZONE, 13).key;
  while (other.tag === key.tag) other = generateKey(ZONE, 13).key;
  t.is(verifyRRset(www, sig, other), `the RRSIG's key tag ${key.tag} is not the key's ${other.tag}`);
});

for (const algorithm of [13, 15] as const) {
  test(`a zone signed by steerdns with algorithm ${algorithm} (every RRset, a classic NSEC chain) passes dnssec-verify and kzonecheck; one bad signature fails both`, (t) => {
    const dir = tempDir('steerdns-dnssec-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const { key } = generateKey(ZONE, algorithm);
    const signed = signZoneText(ZONE_TEXT, [key], { inception: INCEPTION >>> 0, expiration: EXPIRATION >>> 0 }, NOW);
    writeFileSync(join(dir, 'ours.db'), signed);
    // -z: one key with the SEP flag signs every RRset (a CSK), not only the DNSKEY set
    const verify = tool('dnssec-verify', ['-z', '-o', ZONE, 'ours.db'], dir);
    t.is(verify.status, 0, verify.stderr);
    t.regex(verify.stderr + verify.stdout, /Zone fully signed/);
    const knot = tool('kzonecheck', ['-o', ZONE, '-d', 'on', 'ours.db'], dir);
    t.is(knot.status, 0, knot.stdout + knot.stderr);

    // the same zone with one RRSIG's signature altered (a base64 character inside it): both tools refuse it
    const lines = signed.split('\n');
    const i = lines.findIndex((l) => /^www\.example\.test\. \d+ IN RRSIG A /.test(l));
    const at = lines[i]!.length - 10;
    lines[i] = `${lines[i]!.slice(0, at)}${lines[i]![at] === 'A' ? 'B' : 'A'}${lines[i]!.slice(at + 1)}`;
    writeFileSync(join(dir, 'bad.db'), lines.join('\n'));
    t.not(tool('dnssec-verify', ['-z', '-o', ZONE, 'bad.db'], dir).status, 0);
    t.not(tool('kzonecheck', ['-o', ZONE, '-d', 'on', 'bad.db'], dir).status, 0);
  });
}
