// Wildcards, RFC 4592, against lookup() itself: synthesis from `*.<closest encloser>` with the query name as
// owner (§3.3.1, §4.3), the closest encloser as the longest existing ancestor, empty non-terminals included
// (§2.2.2), which blocks a wildcard further up, a wildcard at the apex, `*` as an ordinary label in the
// middle of a name (§2.1.1), wildcard CNAMEs and pools, NODATA from a wildcard, no wildcard at or below a cut.
// The rules as users read them: docs/dns-behaviour.md#wildcards.
import { type LookupCase, lookupTable } from '../helpers/lookup.js';

/** The example zone of RFC 4592 §2.2.1 (less `sub.*.example`, which a zone file cannot write). */
const RFC4592 = `
origin: example
ttl: 3600
soa: { ns: ns.example.com., email: hostmaster@example, minimum: 60, serial: 2024010101 }
records:
  "@": { NS: [ns.example.com., ns.example.net.] }
  "*": { TXT: ["this is a wildcard"], MX: [{ preference: 10, exchange: host1 }] }
  host1: { A: 192.0.2.1 }
  _ssh._tcp.host1: { SRV: [{ priority: 0, weight: 0, port: 22, target: host1 }] }
  _ssh._tcp.host2: { SRV: [{ priority: 0, weight: 0, port: 22, target: host2.example.com. }] }
  subdel: { NS: [ns.example.com., ns.example.net.] }
`;

const EXAMPLE_TEST = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 2024010101 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  "*.static": { A: 192.0.2.80, TXT: ["wildcard"] }
  a.b.static: { A: 192.0.2.81 }
  host.static: { TXT: ["not the wildcard"] }
  "*.wild": { CNAME: ns1 }
  "*.away": { CNAME: www.example.net. }
  "*.loop": { CNAME: x.loop }
  to-wild: { CNAME: x.static }
  "*.a.ent": { TXT: ["below two empty non-terminals"] }
  "*.pool":
    pool:
      ttl: 20
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
`;

const ZONES = { 'example.yaml': RFC4592, 'example.test.yaml': EXAMPLE_TEST };
const SOA = 'example. 60 IN SOA ns.example.com. hostmaster.example. 2024010101 7200 3600 1209600 60';
const TEST_SOA = 'example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 60';
const SUBDEL = ['subdel.example. 3600 IN NS ns.example.com.', 'subdel.example. 3600 IN NS ns.example.net.'];

const CASES: LookupCase[] = [
  // ---- RFC 4592 §2.2.1: the responses synthesized from the example zone
  {
    name: "a wildcard at the apex answers a missing name, owner the query name, with the target's address as additional data (RFC 4592 §2.2.1)",
    qname: 'host3.example',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: ['host3.example. 3600 IN MX 10 host1.example.'],
    additional: ['host1.example. 3600 IN A 192.0.2.1'],
  },
  {
    name: 'a wildcard without the asked type: NODATA with the SOA (RFC 4592 §2.2.1)',
    qname: 'host3.example',
    qtype: 'A',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'a wildcard answers names several labels below its closest encloser (RFC 4592 §2.2.1)',
    qname: 'foo.bar.example',
    qtype: 'TXT',
    rcode: 'NOERROR',
    answer: ['foo.bar.example. 3600 IN TXT "this is a wildcard"'],
  },
  // ---- RFC 4592 §2.2.1: the responses that are not synthesized
  {
    name: 'a name that exists is never synthesized: NODATA for a type it lacks (RFC 4592 §2.2.1)',
    qname: 'host1.example',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'an empty non-terminal as closest encloser blocks the wildcard above it: NXDOMAIN (RFC 4592 §2.2.1, §2.2.2)',
    qname: '_telnet._tcp.host1.example',
    qtype: 'SRV',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: 'an empty non-terminal itself is never synthesized: NODATA (RFC 4592 §2.2.2)',
    qname: '_tcp.host1.example',
    qtype: 'TXT',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'a name that exists only as an empty non-terminal is not synthesized: NODATA (RFC 4592 §2.2.2)',
    qname: 'host2.example',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'below a zone cut the referral comes first, not the wildcard (RFC 4592 §2.2.1)',
    qname: 'host.subdel.example',
    qtype: 'A',
    rcode: 'NOERROR',
    aa: false,
    authority: SUBDEL,
  },
  {
    name: 'at a zone cut the referral comes first, not the wildcard (RFC 4592 §2.2.1)',
    qname: 'subdel.example',
    qtype: 'TXT',
    rcode: 'NOERROR',
    aa: false,
    authority: SUBDEL,
  },
  {
    name: '`*` in the middle of a name is an ordinary label: the wildcard node is the closest encloser and `*.*` does not exist, NXDOMAIN (RFC 4592 §2.1.1, §2.2.1)',
    qname: 'ghost.*.example',
    qtype: 'MX',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: "the wildcard's own name answers its records directly, owner `*` (RFC 4592 §2.1.1)",
    qname: '*.example',
    qtype: 'TXT',
    rcode: 'NOERROR',
    answer: ['*.example. 3600 IN TXT "this is a wildcard"'],
  },
  {
    name: 'a wildcard at the apex does not match the apex itself: NODATA (RFC 4592 §2.2.1)',
    qname: 'example',
    qtype: 'TXT',
    rcode: 'NOERROR',
    authority: [SOA],
  },

  // ---- synthesis below a deeper closest encloser
  {
    name: 'synthesis: the answer has the query name as owner (RFC 4592 §4.3)',
    qname: 'x.static.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['x.static.example.test. 3600 IN A 192.0.2.80'],
  },
  {
    name: 'synthesis: several labels below the closest encloser (RFC 4592 §3.3.1)',
    qname: 'deeper.x.static.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['deeper.x.static.example.test. 3600 IN A 192.0.2.80'],
  },
  {
    name: 'synthesis: every type of the wildcard, TXT too (RFC 4592 §4.3)',
    qname: 'y.static.example.test',
    qtype: 'TXT',
    rcode: 'NOERROR',
    answer: ['y.static.example.test. 3600 IN TXT "wildcard"'],
  },
  {
    name: 'a wildcard without the asked type: NODATA with AA and the SOA (RFC 4592 §4.3)',
    qname: 'x.static.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [TEST_SOA],
  },
  {
    name: 'an existing closest encloser without its own wildcard: NXDOMAIN, the wildcard above does not apply (RFC 4592 §3.3.1)',
    qname: 'x.b.static.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    authority: [TEST_SOA],
  },
  {
    name: "an existing name below the wildcard's parent answers from its own data (RFC 4592 §2.2.1)",
    qname: 'a.b.static.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['a.b.static.example.test. 3600 IN A 192.0.2.81'],
  },
  {
    name: "an existing name that lacks the type gets NODATA, not the wildcard's data (RFC 4592 §2.2.1)",
    qname: 'host.static.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    authority: [TEST_SOA],
  },
  {
    name: "the wildcard's parent (an empty non-terminal) is not matched by the wildcard: NODATA (RFC 4592 §2.2.2)",
    qname: 'static.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    authority: [TEST_SOA],
  },
  {
    name: 'an empty non-terminal beside a wildcard is not synthesized: NODATA (RFC 4592 §2.2.2)',
    qname: 'b.static.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    authority: [TEST_SOA],
  },
  {
    name: "the empty non-terminals a wildcard's owner creates are closest enclosers without a wildcard: NXDOMAIN beside them (RFC 4592 §2.2.2)",
    qname: 'x.ent.example.test',
    qtype: 'TXT',
    rcode: 'NXDOMAIN',
    authority: [TEST_SOA],
  },
  {
    name: 'a wildcard under two empty non-terminals answers below them (RFC 4592 §3.3.1)',
    qname: 'x.a.ent.example.test',
    qtype: 'TXT',
    rcode: 'NOERROR',
    answer: ['x.a.ent.example.test. 3600 IN TXT "below two empty non-terminals"'],
  },

  // ---- wildcard CNAMEs and pools (RFC 4592 §4.3: CNAME at a wildcard)
  {
    name: 'a wildcard CNAME is synthesized at the query name and followed inside the zone (RFC 4592 §4.3)',
    qname: 'any.wild.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['any.wild.example.test. 3600 IN CNAME ns1.example.test.', 'ns1.example.test. 3600 IN A 192.0.2.53'],
  },
  {
    name: 'a wildcard CNAME asked for CNAME: the synthesized CNAME alone (RFC 4592 §4.3)',
    qname: 'x.wild.example.test',
    qtype: 'CNAME',
    rcode: 'NOERROR',
    answer: ['x.wild.example.test. 3600 IN CNAME ns1.example.test.'],
  },
  {
    name: 'a wildcard CNAME whose target lacks the type: the CNAME and NODATA (RFC 4592 §4.3, RFC 2308 §2.2)',
    qname: 'x.wild.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: ['x.wild.example.test. 3600 IN CNAME ns1.example.test.'],
    authority: [TEST_SOA],
  },
  {
    name: 'a wildcard CNAME to a name outside the zone is not followed (RFC 4592 §4.3)',
    qname: 'x.away.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['x.away.example.test. 3600 IN CNAME www.example.net.'],
  },
  {
    name: 'a wildcard CNAME to a name it synthesizes itself ends as a loop (RFC 4592 §4.3)',
    qname: 'x.loop.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['x.loop.example.test. 3600 IN CNAME x.loop.example.test.'],
  },
  {
    name: 'a CNAME to a name only a wildcard covers gets the synthesized answer (RFC 4592 §4.3)',
    qname: 'to-wild.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['to-wild.example.test. 3600 IN CNAME x.static.example.test.', 'x.static.example.test. 3600 IN A 192.0.2.80'],
  },
  {
    name: 'a wildcard pool answers at the query name from the pool (RFC 4592 §4.3)',
    qname: 'web.pool.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['web.pool.example.test. 20 IN A 192.0.2.10', 'web.pool.example.test. 20 IN A 192.0.2.11'],
  },
  {
    name: 'a wildcard pool without targets of the family: NODATA with the SOA TTL capped by the pool ttl (RFC 4592 §4.3, RFC 2308 §3)',
    qname: 'web.pool.example.test',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    authority: [TEST_SOA.replace(' 60 IN', ' 20 IN')],
  },
  {
    name: 'a wildcard asked ANY answers one RRset at the query name (RFC 4592 §4.3, RFC 8482 §4.1)',
    qname: 'z.static.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['z.static.example.test. 3600 IN A 192.0.2.80'],
  },
];

lookupTable(CASES, ZONES);
