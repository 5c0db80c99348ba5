// The canonical form a signature covers (RFC 4034 §6), the labels of a wildcard's RRSIG (RFC 4034 §3.1.3,
// RFC 4035 §5.3.2), the 32-bit signature times (RFC 4034 §3.1.5, RFC 1982), canonical name order (RFC 4034
// §6.1) and the immediate successor of a name (RFC 4471 §3.1.2), each against the RFC's own rule or example.
import test from 'ava';
import { TYPE } from '../../src/dns/registry.js';
import { canonicalRdata, canonicalRRset } from '../../src/dnssec/canonical.js';
import { generateKey } from '../../src/dnssec/keys.js';
import { nsecRdata } from '../../src/dnssec/nsec.js';
import {
  isCurrent,
  parseRrsig,
  rrsigLabels,
  secondsToExpiry,
  serialDelta,
  serialTime,
  signatureTimes,
  signedOwner,
  signRRset,
  unixOfSerial,
  verifyRRset,
} from '../../src/dnssec/rrsig.js';
import { compareNames, MAX_NAME_OCTETS, namePresentation, nameWire, successorName } from '../../src/dnssec/wire.js';
import { rdataOf } from './helpers.js';

const hex = (b: Buffer) => b.toString('hex');
const TIMES = { inception: serialTime(Date.UTC(2026, 0, 1) / 1000), expiration: serialTime(Date.UTC(2026, 1, 1) / 1000) };

// ---- RDATA: which names are lowered (RFC 4034 §6.2 item 3, RFC 6840 §5.1) ----------------------------------

const LOWERED: [string, number, string, string][] = [
  ['NS', TYPE.NS, 'NS1.Example.TEST.', 'ns1.example.test.'],
  ['CNAME', TYPE.CNAME, 'WWW.Example.test.', 'www.example.test.'],
  ['PTR', TYPE.PTR, 'Host.Example.test.', 'host.example.test.'],
  ['MX', TYPE.MX, '10 Mail.Example.test.', '10 mail.example.test.'],
  ['SRV', TYPE.SRV, '1 2 5060 SIP.example.TEST.', '1 2 5060 sip.example.test.'],
  [
    'SOA (both names)',
    TYPE.SOA,
    'NS1.Example.test. HostMaster.Example.test. 1 2 3 4 5',
    'ns1.example.test. hostmaster.example.test. 1 2 3 4 5',
  ],
];

for (const [what, type, written, canonical] of LOWERED) {
  test(`canonical RDATA: the domain names in ${what} are lowered (RFC 4034 §6.2)`, (t) => {
    t.is(hex(canonicalRdata(type, rdataOf(type, written))), hex(rdataOf(type, canonical)));
  });
}

test('canonical RDATA: NAPTR lowers its replacement name, never its flags, services or regexp strings (RFC 4034 §6.2)', (t) => {
  const cs = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
  const naptr = (flags: string, re: string, repl: string) =>
    Buffer.concat([Buffer.from([0, 10, 0, 20]), cs(flags), cs('SIP+D2U'), cs(re), nameWire(repl)]);
  const written = naptr('S', '!^.*$!SIP:Info@Example.test!', '_SIP._udp.Example.TEST.');
  t.is(hex(canonicalRdata(TYPE.NAPTR, written)), hex(naptr('S', '!^.*$!SIP:Info@Example.test!', '_sip._udp.example.test.')));
});

test('canonical RDATA: the signer name of an RRSIG is lowered; the rest of the RDATA is not touched', (t) => {
  const written = rdataOf(TYPE.RRSIG, 'A 13 3 300 20260201000000 20260101000000 12345 Example.TEST. QUJD');
  t.is(
    hex(canonicalRdata(TYPE.RRSIG, written)),
    hex(rdataOf(TYPE.RRSIG, 'A 13 3 300 20260201000000 20260101000000 12345 example.test. QUJD')),
  );
});

test('canonical RDATA: NSEC keeps the case of its next name (RFC 6840 §5.1); TXT, HINFO-like strings and A are never changed', (t) => {
  const nsec = nsecRdata('Next.Example.test.', [TYPE.A, TYPE.RRSIG, TYPE.NSEC]);
  t.is(canonicalRdata(TYPE.NSEC, nsec), nsec);
  const txt = rdataOf(TYPE.TXT, '"Hello" "WORLD"');
  t.is(canonicalRdata(TYPE.TXT, txt), txt);
  const hinfo = Buffer.concat([Buffer.from([3]), Buffer.from('CPU'), Buffer.from([2]), Buffer.from('OS')]);
  t.is(canonicalRdata(13, hinfo), hinfo, 'HINFO holds character-strings, not names (RFC 6840 §5.1)');
  const a = rdataOf(TYPE.A, '192.0.2.1');
  t.is(canonicalRdata(TYPE.A, a), a);
});

// ---- the RRset (RFC 4034 §6.3) --------------------------------------------------------------------------

test('canonical RRset: the owner lowered, the records sorted as octet strings, duplicates (also ones equal once lowered) removed', (t) => {
  const set = canonicalRRset({
    owner: 'WWW.Example.Test.',
    type: TYPE.NS,
    class: 1,
    rdata: [
      rdataOf(TYPE.NS, 'b.example.test.'),
      rdataOf(TYPE.NS, 'A.example.test.'),
      rdataOf(TYPE.NS, 'a.EXAMPLE.test.'),
      rdataOf(TYPE.NS, 'b.example.test.'),
    ],
  });
  t.is(hex(set.owner), hex(nameWire('www.example.test')));
  t.deepEqual(set.rdata.map(hex), [hex(rdataOf(TYPE.NS, 'a.example.test.')), hex(rdataOf(TYPE.NS, 'b.example.test.'))]);
});

test('canonical RRset: octet order, not text order: 192.0.2.9 before 192.0.2.10, and a shorter prefix before a longer string', (t) => {
  const a = canonicalRRset({
    owner: 'x.test',
    type: TYPE.A,
    class: 1,
    rdata: ['192.0.2.10', '192.0.2.9', '10.0.0.1'].map((ip) => rdataOf(TYPE.A, ip)),
  });
  t.deepEqual(a.rdata.map(hex), ['0a000001', 'c0000209', 'c000020a']);
  const txt = canonicalRRset({ owner: 'x.test', type: TYPE.TXT, class: 1, rdata: [rdataOf(TYPE.TXT, '"ab"'), rdataOf(TYPE.TXT, '"a"')] });
  t.deepEqual(txt.rdata.map(hex), ['0161', '026162'], 'length octets lead: "a" (01 61) before "ab" (02 61 62)');
});

test('one signature for every order, case and repetition the answer path may write a set in (Ed25519 is deterministic)', (t) => {
  const { key } = generateKey('example.test', 15);
  const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => rdataOf(TYPE.A, ip));
  const base = signRRset({ owner: 'www.example.test', type: TYPE.A, class: 1, ttl: 60, rdata: ips }, key, TIMES);
  const variants = [
    { owner: 'WWW.EXAMPLE.TEST.', rdata: [...ips].reverse() },
    { owner: 'www.example.test', rdata: [ips[1]!, ips[2]!, ips[0]!, ips[1]!] },
  ];
  for (const v of variants) t.is(hex(signRRset({ ...v, type: TYPE.A, class: 1, ttl: 60 }, key, TIMES)), hex(base));
  // the TTL signed is the original TTL: a different one is a different signature
  t.not(hex(signRRset({ owner: 'www.example.test', type: TYPE.A, class: 1, ttl: 30, rdata: ips }, key, TIMES)), hex(base));
});

test('an empty RRset has no signature: signing one is refused (RFC 4034 §3.1.8.1 signs the records of a set)', (t) => {
  const { key } = generateKey('example.test', 13);
  t.throws(() => signRRset({ owner: 'www.example.test', type: TYPE.A, class: 1, ttl: 60, rdata: [] }, key, TIMES), {
    message: 'an empty RRset (www.example.test. type 1) cannot be signed',
  });
});

// ---- labels and wildcards (RFC 4034 §3.1.3, RFC 4035 §5.3.2) ----------------------------------------------

test('RRSIG labels: the owner’s labels, the root and a leading "*" not counted', (t) => {
  t.is(rrsigLabels('www.example.test'), 3);
  t.is(rrsigLabels('*.wild.example.test'), 3);
  t.is(rrsigLabels('*.example.test.'), 2);
  t.is(rrsigLabels('a.*.example.test'), 4, 'a "*" label not leftmost is an ordinary label');
  t.is(rrsigLabels(''), 0);
  t.is(rrsigLabels('*'), 0);
});

test('the signature of a wildcard validates the answers synthesized from it at any name below (RFC 4035 §5.3.2), nowhere else', (t) => {
  const { key } = generateKey('example.test', 13);
  const rdata = [rdataOf(TYPE.A, '192.0.2.20')];
  const sig = signRRset({ owner: '*.wild.example.test', type: TYPE.A, class: 1, ttl: 60, rdata }, key, TIMES);
  t.is(parseRrsig(sig).labels, 3);
  for (const owner of ['x.wild.example.test', 'a.b.c.wild.example.test', 'UPPER.Wild.Example.Test', '*.wild.example.test']) {
    t.is(verifyRRset({ owner, type: TYPE.A, class: 1, rdata }, sig, key), null, owner);
  }
  t.is(
    verifyRRset({ owner: 'wild.example.test', type: TYPE.A, class: 1, rdata }, sig, key),
    'the signature does not verify',
    'the wildcard’s parent',
  );
  t.is(
    verifyRRset({ owner: 'x.other.example.test', type: TYPE.A, class: 1, rdata }, sig, key),
    'the signature does not verify',
    'a sibling subtree',
  );
  t.is(verifyRRset({ owner: 'x.wild.example.org', type: TYPE.A, class: 1, rdata }, sig, key), "the owner is not in the signer's zone");
  t.is(namePresentation(signedOwner(nameWire('a.b.wild.example.test'), 3)), '*.wild.example.test.');
  t.is(namePresentation(signedOwner(nameWire('wild.example.test'), 3)), 'wild.example.test.');
});

// ---- times (RFC 4034 §3.1.5, RFC 1982) ----------------------------------------------------------------------

test('signature times: inception an hour back, expiration the validity ahead, as 32-bit serial times', (t) => {
  const now = Date.UTC(2026, 11, 3, 12) / 1000;
  const times = signatureTimes(now, 14 * 86_400);
  t.is(times.inception, now - 3600);
  t.is(times.expiration, now + 14 * 86_400);
  t.true(isCurrent(times, now));
  t.false(isCurrent(times, now - 3601));
  t.false(isCurrent(times, now + 14 * 86_400 + 1));
  t.is(secondsToExpiry(times, now), 14 * 86_400);
  t.is(signatureTimes(now, 86_400, 0).inception, now);
});

test('signature times take seconds within RFC 1982’s reach: a validity plus backdate of 2^31 seconds or more, a validity in ms, none or a negative one are refused', (t) => {
  const now = Date.UTC(2026, 11, 3, 12) / 1000;
  const message =
    /^a signature's validity \((?:-?\d+|NaN) s\) and backdate \(-?\d+ s\) must be seconds: validity above 0, backdate 0 or more, together under 2\^31 \(RFC 1982\)$/;
  t.throws(() => signatureTimes(now, 365 * 86_400_000), { message }, 'a year in milliseconds');
  t.throws(() => signatureTimes(now, 2 ** 31 - 3600), { message }, 'together 2^31');
  t.throws(() => signatureTimes(now, 0), { message });
  t.throws(() => signatureTimes(now, -86_400), { message });
  t.throws(() => signatureTimes(now, 86_400, -1), { message });
  t.throws(() => signatureTimes(now, Number.NaN), { message });
  t.notThrows(() => signatureTimes(now, 2 ** 31 - 3601), 'just under 2^31 together');
  t.notThrows(() => signatureTimes(now, 365 * 86_400), 'the longest validity the config allows, in seconds');
});

test('signature times keep working across 2106, where the 32-bit field wraps (RFC 1982 serial arithmetic)', (t) => {
  const now = 2 ** 32 - 1800; // half an hour before the field wraps
  const times = signatureTimes(now, 7 * 86_400);
  t.true(times.expiration < times.inception, 'the expiration field has wrapped');
  t.true(isCurrent(times, now));
  t.true(isCurrent(times, now + 86_400), 'a day later, past the wrap');
  t.false(isCurrent(times, now + 8 * 86_400));
  t.is(serialDelta(0xffffff00, 0x100), 512);
  t.is(serialDelta(0x100, 0xffffff00), -512);
  t.is(unixOfSerial(times.expiration, now), now + 7 * 86_400);
  t.is(unixOfSerial(serialTime(Date.UTC(2026, 0, 1) / 1000), Date.UTC(2026, 5, 1) / 1000), Date.UTC(2026, 0, 1) / 1000);
});

// ---- names: canonical order (RFC 4034 §6.1) and the successor (RFC 4471 §3.1.2) ------------------------------

test('canonical name order: RFC 4034 §6.1’s example list is in order, and each name sorts after the one before', (t) => {
  const ordered = [
    'example',
    'a.example',
    'yljkjljk.a.example',
    'Z.a.example',
    'zABC.a.EXAMPLE',
    'z.example',
    '\\001.z.example',
    '*.z.example',
    '\\200.z.example',
  ];
  const wires = ordered.map(nameWire);
  for (let i = 1; i < wires.length; i++) t.true(compareNames(wires[i - 1]!, wires[i]!) < 0, `${ordered[i - 1]} < ${ordered[i]}`);
  const shuffled = [...wires].reverse().sort(compareNames);
  t.deepEqual(
    shuffled.map((w) => namePresentation(w)),
    wires.map((w) => namePresentation(w)),
  );
  t.is(compareNames(nameWire('A.Example'), nameWire('a.example')), 0);
});

/** A name of exactly `octets` octets on the wire under `zone`, its first label `first` octets long. */
function longName(octets: number, first: number, zone = 'example.test'): string {
  const labels = [`${'a'.repeat(first)}`];
  let size = first + 1 + zone.length + 2;
  while (size < octets) {
    const n = Math.min(63, octets - size - 1);
    if (n < 1) throw new Error('cannot build the name');
    labels.push('b'.repeat(n));
    size += n + 1;
  }
  return `${labels.join('.')}.${zone}`;
}

test('successor: a name with room gets a leading \\000 label, the very next name (RFC 4471 §3.1.2, RFC 9824 §3.1)', (t) => {
  t.is(namePresentation(successorName(nameWire('a.example.com'))), '\\000.a.example.com.');
  t.is(namePresentation(successorName(nameWire('WWW.Example.Test'))), '\\000.www.example.test.', 'lowered, as canonical order has it');
  const name = nameWire('a.example.com');
  const next = successorName(name);
  t.true(compareNames(name, next) < 0);
  // nothing sorts between: any name below a.example.com sorts after \000.a.example.com
  for (const other of ['\\000\\000.a.example.com', '\\000.\\000.a.example.com', '\\001.a.example.com', 'a.a.example.com'])
    t.true(compareNames(next, nameWire(other)) < 0, other);
});

test('successor of a name too long for another label: its first label grows by a zero octet; at 63 octets its last octet goes up', (t) => {
  const near = nameWire(longName(254, 10));
  t.is(near.length, 254);
  const grown = successorName(near);
  t.is(grown.length, 255);
  t.is(grown[11], 0, 'a zero octet appended to the first label');
  t.true(compareNames(near, grown) < 0);

  const full = nameWire(longName(255, 63));
  t.is(full.length, MAX_NAME_OCTETS);
  const up = successorName(full);
  t.is(up.length, 255);
  t.is(up[63], 'a'.charCodeAt(0) + 1, 'the last octet of the first label incremented');
  t.true(compareNames(full, up) < 0);
});

test('successor at the edges: upper-case letters are skipped (they sort as lower case), trailing 0xff octets dropped, an emptied label removed', (t) => {
  const at = nameWire(`${'a'.repeat(62)}@.${longName(255 - 64, 63)}`);
  t.is(at.length, 255);
  t.is(successorName(at)[63], 0x5b, "after '@' (0x40) comes '[' (0x5b), not 'A'");
  const ff = nameWire(`${'a'.repeat(61)}\\255\\255.${longName(255 - 64, 63)}`);
  const next = successorName(ff);
  t.is(next[0], 61, 'the two 0xff octets dropped');
  t.is(next[61], 'a'.charCodeAt(0) + 1);
  t.true(compareNames(ff, next) < 0);
  const allFf = nameWire(`${'\\255'.repeat(63)}.${longName(255 - 64, 63)}`);
  const past = successorName(allFf);
  t.true(compareNames(allFf, past) < 0, 'past the whole subtree of the parent');
  t.true(past.length < allFf.length);
});

test('successor past a full subtree: once an emptied label is dropped, its parent label first grows by a zero octet (RFC 4471 §3.1.2.1)', (t) => {
  // \255 × 63 . b . <labels> : 255 octets, nothing fits below or beside the first label, so the next name is
  // the first one after every name under b.<labels>: b\000.<labels>, not c.<labels>
  const rest = longName(255 - 64 - 2, 63);
  const name = nameWire(`${'\\255'.repeat(63)}.b.${rest}`);
  t.is(name.length, 255);
  const next = successorName(name);
  t.is(namePresentation(next), `b\\000.${rest}.`);
  t.true(compareNames(name, next) < 0);
  t.true(compareNames(next, nameWire(`c.${rest}`)) < 0, 'c.<labels> sorts after it: it is not the immediate successor');
  // a parent label of 63 octets has no room: its last octet goes up instead
  const full = nameWire(`${'\\255'.repeat(63)}.${'b'.repeat(63)}.${longName(255 - 128, 63)}`);
  t.is(full.length, 255);
  t.is(namePresentation(successorName(full)), `${'b'.repeat(62)}c.${longName(255 - 128, 63)}.`);
});
