// Negative answers and the choice of zone, against lookup() itself: NXDOMAIN for a name that does not exist
// and NODATA for one that exists without the type, empty non-terminals included (RFC 2308 §2.1, §2.2), the
// zone's SOA in the authority section with TTL min(SOA TTL, SOA MINIMUM) (RFC 2308 §3), at a pool name at
// most the pool's ttl (and SERVFAIL from a pool with nothing to serve and `all_down: servfail`), REFUSED
// outside every hosted zone, and the deepest hosted zone answering (RFC 1034 §4.3.2 step 2).
// The rules as users read them: docs/dns-behaviour.md#negative-answers, #choosing-the-zone, #refused,
// #servfail and #exact-matches.
import { type LookupCase, lookupTable } from '../helpers/lookup.js';
import { HOSTED_CHILD_ZONE } from '../helpers/zones.js';

const PARENT = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 2024010101 }
records:
  "@": { NS: [ns1, ns2] }
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25, AAAA: "2001:db8::25", ttl: 600 }
  _sip._tcp: { SRV: [{ priority: 10, weight: 60, port: 5060, target: sip1 }] }
  sip1: { A: 192.0.2.61 }
  "*.static": { A: 192.0.2.80, TXT: ["wildcard"] }
  a.b.static: { A: 192.0.2.81 }
  deep: { NS: [ns1.deep] }
  ns1.deep: { A: 192.0.2.97 }
  app:
    TXT: ["a pool beside a TXT"]
    pool:
      ttl: 20
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
  slow:
    pool:
      ttl: 300
      check: { type: none }
      regions: { us-east: [192.0.2.12] }
  broken:
    pool:
      ttl: 20
      all_down: servfail
      check: { type: none }
      regions:
        us-east: [{ address: 192.0.2.13, state: down }]
  v6only:
    pool:
      ttl: 10
      check: { type: none }
      regions: { us-east: ["2001:db8::10"] }
`;

const ZONES = { 'example.test.yaml': PARENT, 'deep.example.test.yaml': HOSTED_CHILD_ZONE };
const SOA = 'example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 60';
const soaTtl = (ttl: number) => SOA.replace(' 60 IN', ` ${ttl} IN`);
const CHILD_SOA = 'deep.example.test. 30 IN SOA ns1.deep.example.test. hostmaster.example.test. 7 7200 3600 1209600 300';

const refused = (qname: string, why: string): LookupCase => ({
  name: `REFUSED outside every hosted zone, AA clear and no records: ${why} (docs/dns-behaviour.md#refused)`,
  qname,
  qtype: 'A',
  rcode: 'REFUSED',
});
const nodataAtEnt = (qname: string, qtype: string): LookupCase => ({
  name: 'NODATA at an empty non-terminal: the name exists (RFC 2308 §2.2, RFC 4592 §2.2.2)',
  qname,
  qtype,
  rcode: 'NOERROR',
  authority: [SOA],
});

const CASES: LookupCase[] = [
  // ---- the answer, NODATA and NXDOMAIN side by side
  {
    name: 'an exact match: NOERROR, AA and the RRset with its own TTL (RFC 1034 §4.3.2 step 3a)',
    qname: 'mail.example.test',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    answer: ['mail.example.test. 600 IN AAAA 2001:db8::25'],
  },
  {
    name: "NODATA: NOERROR, no answer, the zone's SOA with TTL min(SOA TTL 3600, minimum 60) (RFC 2308 §2.2, §3)",
    qname: 'ns1.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: "NODATA: the SOA TTL is the SOA record's own when it is below the minimum (TTL 30, minimum 300) (RFC 2308 §3)",
    qname: 'www.deep.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [CHILD_SOA],
  },
  nodataAtEnt('_tcp.example.test', 'A'),
  nodataAtEnt('_tcp.example.test', 'SRV'),
  nodataAtEnt('_tcp.example.test', 'TXT'),
  nodataAtEnt('b.static.example.test', 'A'),
  nodataAtEnt('b.static.example.test', 'SRV'),
  nodataAtEnt('b.static.example.test', 'TXT'),
  {
    name: "NXDOMAIN: AA and the zone's SOA for an absent name (RFC 2308 §2.1)",
    qname: 'nope.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: 'NXDOMAIN for a name several labels below an absent one (RFC 2308 §2.1)',
    qname: 'a.b.c.nope.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: 'NXDOMAIN below an existing leaf: nothing exists under it (RFC 2308 §2.1)',
    qname: 'x.ns1.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: 'NXDOMAIN below a pool name: a pool is one name, nothing under it (RFC 2308 §2.1)',
    qname: 'x.app.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },

  // ---- pool names (docs/dns-behaviour.md#negative-answers)
  {
    name: 'NODATA at a pool name for a type it lacks: SOA TTL at most the pool ttl, min(3600, 60, 20) (RFC 2308 §3)',
    qname: 'app.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [soaTtl(20)],
  },
  {
    name: 'NODATA at a pool name for a family it has no target of: SOA TTL at most the pool ttl (RFC 2308 §3)',
    qname: 'app.example.test',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    authority: [soaTtl(20)],
  },
  {
    name: 'NODATA at an IPv6-only pool asked A: SOA TTL at most the pool ttl (RFC 2308 §3)',
    qname: 'v6only.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    authority: [soaTtl(10)],
  },
  {
    name: 'NODATA at a pool name whose ttl is above the negative TTL: min(SOA TTL, minimum) stays (RFC 2308 §3)',
    qname: 'slow.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'a pool with no target to serve and all_down: servfail answers SERVFAIL with AA, nothing else (docs/dns-behaviour.md#servfail)',
    qname: 'broken.example.test',
    qtype: 'A',
    rcode: 'SERVFAIL',
  },
  {
    name: 'the same pool asked a type it has no targets of: NODATA, not SERVFAIL (RFC 2308 §2.2)',
    qname: 'broken.example.test',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    authority: [soaTtl(20)],
  },
  {
    name: 'a static RRset beside a pool is answered as written (RFC 1034 §4.3.2 step 3a)',
    qname: 'app.example.test',
    qtype: 'TXT',
    rcode: 'NOERROR',
    answer: ['app.example.test. 3600 IN TXT "a pool beside a TXT"'],
  },

  // ---- which zone answers
  refused('a name in another domain', 'www.example.net'),
  refused('a sibling domain', 'example.com'),
  refused('the parent of a hosted zone', 'test'),
  refused('the root', '.'),
  refused('a name that merely ends in the same characters', 'xexample.test'),
  {
    name: 'the deepest hosted zone answers: a name below a hosted child is answered by the child, not referred (RFC 1034 §4.3.2 step 2)',
    qname: 'www.deep.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['www.deep.example.test. 3600 IN A 192.0.2.96'],
  },
  {
    name: 'the deepest hosted zone answers its own negative answers, with its own SOA (RFC 1034 §4.3.2 step 2, RFC 2308 §3)',
    qname: 'nope.deep.example.test',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    authority: [CHILD_SOA],
  },
  {
    name: "the deepest hosted zone answers at its apex: the child's SOA, not the parent's referral (RFC 1034 §4.3.2 step 2)",
    qname: 'deep.example.test',
    qtype: 'SOA',
    rcode: 'NOERROR',
    answer: ['deep.example.test. 30 IN SOA ns1.deep.example.test. hostmaster.example.test. 7 7200 3600 1209600 300'],
  },
];

lookupTable(CASES, ZONES);
