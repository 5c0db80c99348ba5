// Minimal ANY, RFC 8482 §4.1, against lookup() itself: one RRset — the CNAME alone at a CNAME name (see
// lookup-cname.test.ts), else the first present of A, AAAA, MX, TXT (a pool counting for A or AAAA when it has
// targets of that family), else the first type written at the name; NODATA at a name without records, the
// referral below a cut, the same for wildcard names.
// The rule as users read it: docs/dns-behaviour.md#minimal-any.
import { type LookupCase, lookupTable } from '../helpers/lookup.js';

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 2024010101 }
records:
  "@":
    NS: [ns1, ns2]
    MX: [{ preference: 10, exchange: mail }, { preference: 20, exchange: mail2.example.net. }]
    TXT: ["v=spf1 -all"]
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25, AAAA: "2001:db8::25", ttl: 600 }
  mailonly: { MX: [{ preference: 5, exchange: mail }], TXT: ["mx and txt"] }
  txtonly: { TXT: ["txt and caa"], CAA: { flags: 0, tag: issue, value: "letsencrypt.org" } }
  v6only: { TXT: ["after the address"], AAAA: "2001:db8::60" }
  caa-srv: { CAA: { flags: 0, tag: issue, value: "letsencrypt.org" }, SRV: { priority: 0, weight: 0, port: 443, target: ns1 } }
  srv-caa: { SRV: { priority: 0, weight: 0, port: 443, target: ns1 }, CAA: { flags: 0, tag: issue, value: "letsencrypt.org" } }
  multi: { A: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4] }
  _sip._tcp: { SRV: [{ priority: 10, weight: 60, port: 5060, target: sip1 }] }
  sip1: { A: 192.0.2.61 }
  "*.wild": { TXT: ["wildcard"], MX: [{ preference: 10, exchange: mail }] }
  sub: { NS: [ns.sub] }
  ns.sub: { A: 192.0.2.99 }
  app:
    TXT: ["a pool beside a TXT"]
    pool:
      ttl: 20
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
  pool6:
    MX: [{ preference: 10, exchange: mail }]
    pool:
      ttl: 20
      check: { type: none }
      regions: { us-east: ["2001:db8::10", "2001:db8::11"] }
`;

const CHILD = `
origin: deep.example.test
ttl: 3600
soa: { ns: ns1.deep.example.test., email: hostmaster@example.test, minimum: 300, ttl: 30, serial: 7 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.97 }
`;

const ZONES = { 'example.test.yaml': ZONE, 'deep.example.test.yaml': CHILD };
const SOA = 'example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 60';
const MAIL = ['mail.example.test. 600 IN A 192.0.2.25', 'mail.example.test. 600 IN AAAA 2001:db8::25'];

const CASES: LookupCase[] = [
  {
    name: 'A before AAAA: only the A RRset (RFC 8482 §4.1)',
    qname: 'mail.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: [MAIL[0]!],
  },
  {
    name: "A before AAAA, with the A RRset's own TTL (RFC 8482 §4.1)",
    qname: 'ns2.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['ns2.example.test. 3600 IN A 198.51.100.53'],
  },
  {
    name: 'AAAA before TXT, whichever is written first (RFC 8482 §4.1)',
    qname: 'v6only.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['v6only.example.test. 3600 IN AAAA 2001:db8::60'],
  },
  {
    name: "MX before TXT, with the MX targets' addresses as additional data (RFC 8482 §4.1)",
    qname: 'mailonly.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['mailonly.example.test. 3600 IN MX 5 mail.example.test.'],
    additional: MAIL,
  },
  {
    name: 'TXT before CAA (RFC 8482 §4.1)',
    qname: 'txtonly.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['txtonly.example.test. 3600 IN TXT "txt and caa"'],
  },
  {
    name: 'at the apex MX before TXT, NS and SOA: the whole MX RRset (RFC 8482 §4.1)',
    qname: 'example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['example.test. 3600 IN MX 10 mail.example.test.', 'example.test. 3600 IN MX 20 mail2.example.net.'],
    additional: MAIL,
  },
  {
    name: 'every record of the chosen RRset (RFC 8482 §4.1)',
    qname: 'multi.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((a) => `multi.example.test. 3600 IN A ${a}`),
  },
  {
    name: "a pool with IPv4 targets counts as A: the pool's A answer, not the TXT beside it (RFC 8482 §4.1)",
    qname: 'app.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['app.example.test. 20 IN A 192.0.2.10', 'app.example.test. 20 IN A 192.0.2.11'],
  },
  {
    name: 'a pool with only IPv6 targets counts as AAAA, before the MX beside it (RFC 8482 §4.1)',
    qname: 'pool6.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['pool6.example.test. 20 IN AAAA 2001:db8::10', 'pool6.example.test. 20 IN AAAA 2001:db8::11'],
  },
  {
    name: "none of A, AAAA, MX, TXT at a hosted child's apex: the first type written there, the SOA (RFC 8482 §4.1)",
    qname: 'deep.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['deep.example.test. 30 IN SOA ns1.deep.example.test. hostmaster.example.test. 7 7200 3600 1209600 300'],
  },
  {
    name: "none of A, AAAA, MX, TXT: the SRV, with its target's address as additional data (RFC 8482 §4.1)",
    qname: '_sip._tcp.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['_sip._tcp.example.test. 3600 IN SRV 10 60 5060 sip1.example.test.'],
    additional: ['sip1.example.test. 3600 IN A 192.0.2.61'],
  },
  {
    name: 'none of A, AAAA, MX, TXT: the first type written, CAA before SRV (RFC 8482 §4.1)',
    qname: 'caa-srv.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['caa-srv.example.test. 3600 IN CAA 0 issue "letsencrypt.org"'],
  },
  {
    name: 'none of A, AAAA, MX, TXT: the first type written, SRV before CAA (RFC 8482 §4.1)',
    qname: 'srv-caa.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['srv-caa.example.test. 3600 IN SRV 0 0 443 ns1.example.test.'],
    additional: ['ns1.example.test. 3600 IN A 192.0.2.53'],
  },
  {
    name: 'an empty non-terminal has no RRset: NODATA (RFC 8482 §4.1, RFC 2308 §2.2)',
    qname: '_tcp.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'a name that does not exist: NXDOMAIN (RFC 8482 §4.1, RFC 2308 §2.1)',
    qname: 'nope.example.test',
    qtype: 'ANY',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: 'a wildcard name: one RRset of the wildcard, MX before TXT, at the query name (RFC 8482 §4.1, RFC 4592 §4.3)',
    qname: 'x.wild.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    answer: ['x.wild.example.test. 3600 IN MX 10 mail.example.test.'],
    additional: MAIL,
  },
  {
    name: 'below a zone cut: the referral (RFC 8482 §4.1, RFC 1034 §4.3.2 step 3b)',
    qname: 'www.sub.example.test',
    qtype: 'ANY',
    rcode: 'NOERROR',
    aa: false,
    authority: ['sub.example.test. 3600 IN NS ns.sub.example.test.'],
    additional: ['ns.sub.example.test. 3600 IN A 192.0.2.99'],
  },
];

lookupTable(CASES, ZONES);
