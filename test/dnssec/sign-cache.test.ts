// The signature cache and the signer's validity (docs/configuration.md#dnssec): bounded whatever the traffic
// (clock eviction), a set signed once and reused until its refresh time — between a quarter and a half of its
// validity, with jitter — and the NSEC proof a wildcard answer carries (RFC 4035 §5.3.4, RFC 4470 §2).
import test from 'ava';
import { namePredecessor, pastSubtree, wildcardProof } from '../../src/dnssec/denial.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { parseNsec } from '../../src/dnssec/nsec.js';
import { parseRrsig, verifyRRset } from '../../src/dnssec/rrsig.js';
import { SignatureCache } from '../../src/dnssec/sig-cache.js';
import { Signer, ZoneSigning } from '../../src/dnssec/signer.js';
import { compareNames, lowerName, namePresentation, nameWire } from '../../src/dnssec/wire.js';

const { key } = generateKey('example.test', 13);
const zone = new ZoneSigning(
  { zone: 'example.test', keys: [{ key, published: true, active: true }], signatureValiditySeconds: 14 * 86_400 },
  3600,
  60,
);
const owner = lowerName(nameWire('www.example.test'));
const a = (i: number) => Buffer.from([192, 0, 2, i]);

test('the cache never holds more than its capacity, whatever the number of distinct sets signed', (t) => {
  const signer = new Signer(50);
  for (let i = 0; i < 1000; i++) signer.signatures(zone, owner, 1, 1, 300, [a(i & 0xff), a((i >> 8) + 1)], 3);
  t.true(signer.cache.size <= 50);
  t.is(signer.made, 1000);
  t.true(signer.cache.evictions >= 950);
  const cache = new SignatureCache(3);
  for (let i = 0; i < 10; i++) cache.set(String(i), { rrsigs: [], refreshAt: 1e12, expiration: 1e12, used: false });
  t.is(cache.size, 3);
});

test('a set used since the clock hand passed survives an eviction (second chance)', (t) => {
  const cache = new SignatureCache(3);
  const entry = () => ({ rrsigs: [], refreshAt: 1e12, expiration: 1e12, used: false });
  cache.set('a', entry());
  cache.set('b', entry());
  cache.set('c', entry());
  t.truthy(cache.get('a', 0));
  cache.set('d', entry());
  t.truthy(cache.get('a', 0));
  t.is(cache.get('b', 0), null);
});

test('every order of a set has one signature (RFC 4034 §6.3); it is made anew once its refresh time passes, between a quarter and half of its validity', (t) => {
  let now = 1_800_000_000;
  const signer = new Signer(
    100,
    () => now,
    () => 0.5,
  );
  const first = signer.signatures(zone, owner, 1, 1, 300, [a(1), a(2), a(3)], 3);
  t.is(signer.signatures(zone, owner, 1, 1, 300, [a(3), a(1), a(2)], 3), first);
  t.is(signer.made, 1);
  t.is(signer.cache.hits, 1);
  const f = parseRrsig(first[0]!);
  t.is(f.expiration - f.inception, 14 * 86_400 + 3600, 'inception an hour back, expiration the validity ahead');
  t.is(verifyRRset({ owner, type: 1, class: 1, rdata: [a(2), a(3), a(1)] }, first[0]!, key, now), null);
  now += 14 * 86_400 * 0.375 - 10; // jitter 0.5: refresh at 37.5 % of the validity
  t.is(signer.signatures(zone, owner, 1, 1, 300, [a(1), a(2), a(3)], 3), first);
  now += 20;
  t.not(signer.signatures(zone, owner, 1, 1, 300, [a(1), a(2), a(3)], 3), first);
  t.is(signer.made, 2);
});

test('the proof of a wildcard answer covers the next closer name and shares only the closest encloser with the query name', (t) => {
  const qname = lowerName(nameWire('x.y.wild.example.test'));
  const proof = wildcardProof(qname, lowerName(nameWire('*.wild.example.test')))!;
  const next = parseNsec(proof.rdata).next;
  t.is(namePresentation(proof.owner), 'x\\255.wild.example.test.');
  t.is(namePresentation(next), 'y\\000.wild.example.test.');
  const nextCloser = lowerName(nameWire('y.wild.example.test'));
  t.true(compareNames(proof.owner, nextCloser) < 0 && compareNames(nextCloser, next) < 0);
  t.true(compareNames(proof.owner, qname) < 0 && compareNames(qname, next) < 0);
  // upper-case letters sort as lower case: the step down from "[" skips them; a label ending in a zero octet
  t.is(namePresentation(namePredecessor(lowerName(nameWire('\\[.example.test')))!), '\\@\\255.example.test.');
  t.is(namePresentation(namePredecessor(nameWire('b\\000.example.test'))!), '\\255.b.example.test.');
  t.is(namePredecessor(nameWire('\\000.example.test')), null);
  t.is(namePresentation(pastSubtree(nameWire(`${'a'.repeat(63)}.example.test`))!), `${'a'.repeat(62)}b.example.test.`);
});
