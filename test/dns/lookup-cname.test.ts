// CNAME chains, against lookup() itself: RFC 1034 §3.6.2 and §4.3.2 step 3a (the CNAME in the answer, its
// target looked up again inside the zone and appended), a target outside the zone not followed, loops and a
// chain of at most 16 CNAMEs ending the chain, the RCODE of the last name (RFC 6604 §2.1), a chain reaching a
// pool or a zone cut, QTYPE CNAME answering the CNAME itself and ANY the CNAME alone (RFC 8482 §4.1).
// The rules as users read them: docs/dns-behaviour.md#cname-chains.
import { type LookupCase, lookupTable } from '../helpers/lookup.js';
import { undelegatedZone } from '../helpers/zones.js';

const pad = (i: number) => String(i).padStart(2, '0');
/** `n` CNAMEs `<prefix>00 → <prefix>01 → … → <prefix>(n-1) → end`, as zone-file lines. */
const chain = (prefix: string, n: number, end: string) =>
  Array.from({ length: n }, (_, i) => `  ${prefix}${pad(i)}: { CNAME: ${i === n - 1 ? end : `${prefix}${pad(i + 1)}`} }`).join('\n');
/** The answer lines of those CNAMEs. */
const chainLines = (prefix: string, n: number, end: string) =>
  Array.from(
    { length: n },
    (_, i) => `${prefix}${pad(i)}.example.test. 3600 IN CNAME ${i === n - 1 ? end : `${prefix}${pad(i + 1)}`}.example.test.`,
  );

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 2024010101 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  mail: { A: 192.0.2.25, AAAA: "2001:db8::25", ttl: 600 }
  www: { CNAME: app }
  alias: { CNAME: ns1 }
  chain1: { CNAME: chain2 }
  chain2: { CNAME: chain3 }
  chain3: { CNAME: chain4 }
  chain4: { CNAME: mail }
  loop1: { CNAME: loop2 }
  loop2: { CNAME: loop3 }
  loop3: { CNAME: loop1 }
${chain('long', 20, 'long20')}
${chain('fifteen', 15, 'mail')}
${chain('sixteen', 16, 'mail')}
  outside: { CNAME: www.example.net. }
  dangling: { CNAME: nothing-here }
  hop: { CNAME: dangling }
  to-ent: { CNAME: _tcp }
  _sip._tcp: { SRV: { priority: 0, weight: 0, port: 5060, target: ns1 } }
  app:
    TXT: ["a pool beside a TXT"]
    pool:
      ttl: 20
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
  broken:
    pool:
      all_down: servfail
      check: { type: none }
      regions:
        us-east: [{ address: 192.0.2.13, state: down }]
  to-broken: { CNAME: broken }
  sub: { NS: [ns.sub] }
  ns.sub: { A: 192.0.2.99 }
  into-sub: { CNAME: host.sub }
  deep: { NS: [ns1.deep] }
  ns1.deep: { A: 192.0.2.97 }
  to-deep: { CNAME: www.deep }
  to-hosted: { CNAME: ns1.hosted }
`;

// A child zone hosted beside its parent, which delegates to it.
const CHILD = `
origin: deep.example.test
ttl: 3600
soa: { ns: ns1.deep.example.test., email: hostmaster@example.test, minimum: 60, serial: 7 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.97 }
  www: { A: 192.0.2.96 }
`;

// hosted.example.test: hosted here too, but the parent has no cut there (it does not delegate to it)
const ZONES = {
  'example.test.yaml': ZONE,
  'deep.example.test.yaml': CHILD,
  'hosted.example.test.yaml': undelegatedZone('hosted.example.test'),
};
const SOA = 'example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 60';
const MAIL_A = 'mail.example.test. 600 IN A 192.0.2.25';

const CASES: LookupCase[] = [
  {
    name: 'the CNAME and its in-zone target in one answer (RFC 1034 §4.3.2 step 3a)',
    qname: 'alias.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['alias.example.test. 3600 IN CNAME ns1.example.test.', 'ns1.example.test. 3600 IN A 192.0.2.53'],
  },
  {
    name: 'a chain of several CNAMEs is followed to the end (RFC 1034 §3.6.2)',
    qname: 'chain1.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [
      'chain1.example.test. 3600 IN CNAME chain2.example.test.',
      'chain2.example.test. 3600 IN CNAME chain3.example.test.',
      'chain3.example.test. 3600 IN CNAME chain4.example.test.',
      'chain4.example.test. 3600 IN CNAME mail.example.test.',
      MAIL_A,
    ],
  },
  {
    name: "a loop ends the chain: the loop's CNAMEs are the answer (RFC 1034 §3.6.2)",
    qname: 'loop1.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [
      'loop1.example.test. 3600 IN CNAME loop2.example.test.',
      'loop2.example.test. 3600 IN CNAME loop3.example.test.',
      'loop3.example.test. 3600 IN CNAME loop1.example.test.',
    ],
  },
  {
    name: 'a very long chain is bounded at 16 CNAMEs (docs/dns-behaviour.md#cname-chains)',
    qname: 'long00.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: chainLines('long', 16, 'long16'),
  },
  {
    name: "a chain of 15 CNAMEs is followed to its target's address (docs/dns-behaviour.md#cname-chains)",
    qname: 'fifteen00.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [...chainLines('fifteen', 14, 'fifteen14'), 'fifteen14.example.test. 3600 IN CNAME mail.example.test.', MAIL_A],
  },
  {
    name: "a chain of 16 CNAMEs is the answer as it stands: the 16th's target is not looked up (docs/dns-behaviour.md#cname-chains)",
    qname: 'sixteen00.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [...chainLines('sixteen', 15, 'sixteen15'), 'sixteen15.example.test. 3600 IN CNAME mail.example.test.'],
  },
  {
    name: 'a target outside the zone is not followed (RFC 1034 §4.3.2 step 3a)',
    qname: 'outside.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['outside.example.test. 3600 IN CNAME www.example.net.'],
  },
  {
    name: 'a target that does not exist: NXDOMAIN with the CNAME and the SOA (RFC 6604 §2.1)',
    qname: 'dangling.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    answer: ['dangling.example.test. 3600 IN CNAME nothing-here.example.test.'],
    authority: [SOA],
  },
  {
    name: 'a chain whose last target does not exist: NXDOMAIN with every CNAME (RFC 6604 §2.1)',
    qname: 'hop.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    answer: ['hop.example.test. 3600 IN CNAME dangling.example.test.', 'dangling.example.test. 3600 IN CNAME nothing-here.example.test.'],
    authority: [SOA],
  },
  {
    name: 'a target that lacks the type: NOERROR with the CNAME and the SOA (RFC 2308 §2.2)',
    qname: 'alias.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: ['alias.example.test. 3600 IN CNAME ns1.example.test.'],
    authority: [SOA],
  },
  {
    name: 'a target that is an empty non-terminal: NOERROR with the CNAME and the SOA (RFC 2308 §2.2)',
    qname: 'to-ent.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['to-ent.example.test. 3600 IN CNAME _tcp.example.test.'],
    authority: [SOA],
  },
  {
    name: 'QTYPE CNAME returns just the CNAME, no additional data (RFC 1034 §4.3.2 step 3a)',
    qname: 'alias.example.test',
    qtype: 'CNAME',
    rcode: 'NOERROR',
    answer: ['alias.example.test. 3600 IN CNAME ns1.example.test.'],
  },
  {
    name: 'QTYPE CNAME at the start of a chain returns only the first CNAME (RFC 1034 §4.3.2 step 3a)',
    qname: 'chain1.example.test',
    qtype: 'CNAME',
    rcode: 'NOERROR',
    answer: ['chain1.example.test. 3600 IN CNAME chain2.example.test.'],
  },
  {
    name: 'ANY at a CNAME returns the CNAME alone, the chain is not followed (RFC 8482 §4.1)',
    qname: 'alias.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['alias.example.test. 3600 IN CNAME ns1.example.test.'],
  },
  {
    name: "a CNAME to a pool name answers with the pool's addresses and TTL (docs/dns-behaviour.md#cname-chains)",
    qname: 'www.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: [
      'www.example.test. 3600 IN CNAME app.example.test.',
      'app.example.test. 20 IN A 192.0.2.10',
      'app.example.test. 20 IN A 192.0.2.11',
    ],
  },
  {
    name: 'a CNAME to a pool name without targets of the family: the CNAME and the SOA, TTL capped by the pool ttl (RFC 2308 §3)',
    qname: 'www.example.test',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    answer: ['www.example.test. 3600 IN CNAME app.example.test.'],
    authority: [SOA.replace(' 60 IN', ' 20 IN')],
  },
  {
    name: 'a CNAME to a pool name asked for another type answers the static records beside the pool (RFC 1034 §4.3.2 step 3a)',
    qname: 'www.example.test',
    qtype: 'TXT',
    rcode: 'NOERROR',
    answer: ['www.example.test. 3600 IN CNAME app.example.test.', 'app.example.test. 3600 IN TXT "a pool beside a TXT"'],
  },
  {
    name: 'a CNAME to a pool that answers SERVFAIL: SERVFAIL with AA, the CNAME dropped too (docs/dns-behaviour.md#servfail)',
    qname: 'to-broken.example.test',
    qtype: 'A',
    rcode: 'SERVFAIL',
  },
  {
    name: 'a CNAME into a delegation: the CNAME with AA, then the referral, NS in authority and glue (RFC 1034 §4.3.2 step 3b, RFC 1035 §4.1.1)',
    qname: 'into-sub.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['into-sub.example.test. 3600 IN CNAME host.sub.example.test.'],
    authority: ['sub.example.test. 3600 IN NS ns.sub.example.test.'],
    additional: ['ns.sub.example.test. 3600 IN A 192.0.2.99'],
  },
  {
    name: "a CNAME into a delegated child hosted here: the parent's referral, not the child's answer (RFC 1034 §4.3.2 step 3b)",
    qname: 'to-deep.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['to-deep.example.test. 3600 IN CNAME www.deep.example.test.'],
    authority: ['deep.example.test. 3600 IN NS ns1.deep.example.test.'],
    additional: ['ns1.deep.example.test. 3600 IN A 192.0.2.97'],
  },
  {
    name: 'a CNAME to a name of another zone hosted here that the zone does not delegate: the CNAME alone, not followed, NOERROR (docs/dns-behaviour.md#cname-chains)',
    qname: 'to-hosted.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['to-hosted.example.test. 3600 IN CNAME ns1.hosted.example.test.'],
  },
];

lookupTable(CASES, ZONES);
