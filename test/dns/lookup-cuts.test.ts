// Zone cuts, referrals and additional data, against lookup() itself: RFC 1034 §4.3.2 step 3b (a name at or
// below a delegation gets a referral: AA clear, the NS RRset in authority, glue in additional), glue as
// RFC 9471 orders it (in-domain first and mandatory, then sibling, none for name servers outside the zone),
// data below a cut is glue only, DS at the cut answered by the parent side (RFC 4035 §3.1.4.1) — also for a
// hosted child's apex — the NS RRset at the apex is not a cut, and the additional data of NS/MX/SRV answers
// (RFC 1034 §4.3.2 step 6) never comes from at or below a cut nor from a pool.
// The rules as users read them: docs/dns-behaviour.md#zone-cuts-and-referrals, #glue, #ds-at-a-zone-cut and
// #additional-section.
import { type LookupCase, lookupTable } from '../helpers/lookup.js';
import { HOSTED_CHILD_ZONE, undelegatedZone } from '../helpers/zones.js';

const PARENT = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 2024010101 }
records:
  "@":
    NS: [ns1, ns2]
    MX: [{ preference: 10, exchange: mail }, { preference: 20, exchange: mail2.example.net. }]
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25, AAAA: "2001:db8::25", ttl: 600 }
  _sip._tcp: { SRV: [{ priority: 10, weight: 60, port: 5060, target: sip1 }, { priority: 10, weight: 40, port: 5060, target: sip2 }] }
  sip1: { A: 192.0.2.61 }
  sip2: { A: 192.0.2.62, AAAA: "2001:db8::62" }
  sub:
    NS: [ns.sub, ns2]
    DS: { key_tag: 12345, algorithm: 13, digest_type: 2, digest: "2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1" }
  ns.sub: { A: 192.0.2.99, AAAA: "2001:db8::99" }
  nods: { NS: [ns.nods] }
  ns.nods: { A: 192.0.2.98 }
  deep: { NS: [ns1.deep] }
  ns1.deep: { A: 192.0.2.97 }
  away: { NS: [ns.example.net., ns.example.org.] }
  mixed: { NS: [ns.mixed, ns1, ns.example.net.] }
  ns.mixed: { A: 192.0.2.70 }
  selfns: { NS: [selfns], A: 192.0.2.71 }
  mx-below: { MX: [{ preference: 10, exchange: host.sub }, { preference: 20, exchange: ns.sub }, { preference: 30, exchange: selfns }] }
  mx-pool: { MX: [{ preference: 10, exchange: app }] }
  srv-below: { SRV: { priority: 0, weight: 0, port: 443, target: ns.mixed } }
  app: { pool: { ttl: 20, check: { type: none }, regions: { us-east: [192.0.2.10] } } }
`;

const ZONES = {
  'example.test.yaml': PARENT,
  'deep.example.test.yaml': HOSTED_CHILD_ZONE,
  'nocut.example.test.yaml': undelegatedZone('nocut.example.test'),
  'inner.nods.example.test.yaml': undelegatedZone('inner.nods.example.test'),
};

const SOA = 'example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 60';
const childSoa = (origin: string) => `${origin}. 45 IN SOA ns1.${origin}. hostmaster.example.test. 3 7200 3600 1209600 120`;
const SUB_NS = ['sub.example.test. 3600 IN NS ns.sub.example.test.', 'sub.example.test. 3600 IN NS ns2.example.test.'];
const SUB_IN_DOMAIN = ['ns.sub.example.test. 3600 IN A 192.0.2.99', 'ns.sub.example.test. 3600 IN AAAA 2001:db8::99'];
const SUB_GLUE = [...SUB_IN_DOMAIN, 'ns2.example.test. 3600 IN A 198.51.100.53', 'ns2.example.test. 3600 IN AAAA 2001:db8::53'];
/** The referral to sub.example.test: AA clear, the NS RRset, in-domain glue (mandatory) then sibling glue. */
const toSub = (name: string, qname: string, qtype: string): LookupCase => ({
  name,
  qname,
  qtype,
  rcode: 'NOERROR',
  aa: false,
  authority: SUB_NS,
  additional: SUB_GLUE,
  mandatory: SUB_IN_DOMAIN,
});
const NODS_REFERRAL = {
  authority: ['nods.example.test. 3600 IN NS ns.nods.example.test.'],
  additional: ['ns.nods.example.test. 3600 IN A 192.0.2.98'],
};

const CASES: LookupCase[] = [
  // ---- referrals (RFC 1034 §4.3.2 step 3b)
  toSub('the cut itself gets a referral for A (RFC 1034 §4.3.2 step 3b)', 'sub.example.test', 'A'),
  toSub('NS at the cut is a referral, not an authoritative answer (RFC 1034 §4.3.2 step 3b)', 'sub.example.test', 'NS'),
  toSub('MX at the cut gets a referral (RFC 1034 §4.3.2 step 3b)', 'sub.example.test', 'MX'),
  toSub("SOA at the cut gets a referral: the child's apex is not ours (RFC 1034 §4.3.2 step 3b)", 'sub.example.test', 'SOA'),
  toSub('a name below the cut gets a referral (RFC 1034 §4.3.2 step 3b)', 'www.sub.example.test', 'A'),
  toSub('a name several labels below the cut gets a referral (RFC 1034 §4.3.2 step 3b)', 'a.b.c.sub.example.test', 'TXT'),
  toSub('DS below the cut gets a referral like any other type (RFC 4035 §3.1.4.1)', 'x.sub.example.test', 'DS'),
  toSub('glue below a cut is never answered authoritatively: its A gets the referral (RFC 1034 §4.2.1)', 'ns.sub.example.test', 'A'),
  toSub('glue below a cut is never answered authoritatively: its AAAA gets the referral (RFC 1034 §4.2.1)', 'ns.sub.example.test', 'AAAA'),
  toSub(
    'glue below a cut is never answered authoritatively: a type it lacks gets the referral (RFC 1034 §4.2.1)',
    'ns.sub.example.test',
    'MX',
  ),
  {
    name: "a referral carries the delegation's glue: NS, then its in-zone address (RFC 1034 §4.3.2 step 3b)",
    qname: 'nods.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    aa: false,
    ...NODS_REFERRAL,
  },

  // ---- glue (RFC 9471)
  {
    name: 'glue: in-domain first and mandatory, then sibling; a name server outside the zone gets none (RFC 9471 §3)',
    qname: 'host.mixed.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    aa: false,
    authority: [
      'mixed.example.test. 3600 IN NS ns.mixed.example.test.',
      'mixed.example.test. 3600 IN NS ns1.example.test.',
      'mixed.example.test. 3600 IN NS ns.example.net.',
    ],
    additional: ['ns.mixed.example.test. 3600 IN A 192.0.2.70', 'ns1.example.test. 3600 IN A 192.0.2.53'],
    mandatory: ['ns.mixed.example.test. 3600 IN A 192.0.2.70'],
  },
  {
    name: 'glue: a delegation to name servers outside the zone has none (RFC 9471 §2)',
    qname: 'www.away.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    aa: false,
    authority: ['away.example.test. 3600 IN NS ns.example.net.', 'away.example.test. 3600 IN NS ns.example.org.'],
    mandatory: [],
  },
  {
    name: 'glue: a name server at the cut itself has its address as in-domain glue (RFC 9471 §3.1)',
    qname: 'selfns.example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    aa: false,
    authority: ['selfns.example.test. 3600 IN NS selfns.example.test.'],
    additional: ['selfns.example.test. 3600 IN A 192.0.2.71'],
    mandatory: ['selfns.example.test. 3600 IN A 192.0.2.71'],
  },

  // ---- DS at a zone cut (RFC 4035 §3.1.4.1)
  {
    name: 'DS at the cut is answered by the parent with AA: the DS RRset written there (RFC 4035 §3.1.4.1)',
    qname: 'sub.example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    answer: ['sub.example.test. 3600 IN DS 12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1'],
  },
  {
    name: "DS at a cut without DS: NODATA with AA and the parent's SOA (RFC 4035 §3.1.4.1)",
    qname: 'nods.example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: "DS at a hosted child's apex is answered by the parent that delegates there: NODATA with AA and the parent's SOA (RFC 4035 §3.1.4.1)",
    qname: 'deep.example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: "DS at a hosted child's apex whose hosted parent has no cut there: the child answers NODATA with its SOA (RFC 4035 §3.1.4.1)",
    qname: 'nocut.example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    authority: [childSoa('nocut.example.test')],
  },
  {
    name: "DS at a hosted child's apex below a delegation to other servers: the child answers NODATA with its SOA (RFC 4035 §3.1.4.1)",
    qname: 'inner.nods.example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    authority: [childSoa('inner.nods.example.test')],
  },
  {
    name: 'DS at the apex of a zone with no hosted parent: the zone itself answers NODATA with its SOA (RFC 4035 §3.1.4.1)',
    qname: 'example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: 'DS beside an undelegated hosted child: the parent answers what it owns, NXDOMAIN (RFC 4035 §3.1.4.1)',
    qname: 'other.example.test',
    qtype: 'DS',
    rcode: 'NXDOMAIN',
    authority: [SOA],
  },
  {
    name: "DS below a delegation that a hosted child sits under: the parent's referral (RFC 4035 §3.1.4.1)",
    qname: 'x.nods.example.test',
    qtype: 'DS',
    rcode: 'NOERROR',
    aa: false,
    ...NODS_REFERRAL,
  },

  // ---- the apex NS RRset is not a cut
  {
    name: "NS at the apex is answered authoritatively, with the name servers' addresses as additional data (RFC 1034 §4.3.2 step 6)",
    qname: 'example.test',
    qtype: 'NS',
    rcode: 'NOERROR',
    answer: ['example.test. 3600 IN NS ns1.example.test.', 'example.test. 3600 IN NS ns2.example.test.'],
    additional: [
      'ns1.example.test. 3600 IN A 192.0.2.53',
      'ns2.example.test. 3600 IN A 198.51.100.53',
      'ns2.example.test. 3600 IN AAAA 2001:db8::53',
    ],
  },
  {
    name: 'NS at the apex is not a zone cut: a type the apex lacks is NODATA, not a referral (RFC 1034 §4.3.2)',
    qname: 'example.test',
    qtype: 'A',
    rcode: 'NOERROR',
    authority: [SOA],
  },
  {
    name: "NS at a hosted child's apex comes from the child, authoritatively (RFC 1034 §4.3.2 step 2)",
    qname: 'deep.example.test',
    qtype: 'NS',
    rcode: 'NOERROR',
    answer: ['deep.example.test. 3600 IN NS ns1.deep.example.test.'],
    additional: ['ns1.deep.example.test. 3600 IN A 192.0.2.97'],
  },

  // ---- additional data of NS, MX and SRV answers (RFC 1034 §4.3.2 step 6)
  {
    name: 'additional data: addresses of in-zone MX targets, none for targets outside the zone (RFC 1034 §4.3.2 step 6)',
    qname: 'example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: ['example.test. 3600 IN MX 10 mail.example.test.', 'example.test. 3600 IN MX 20 mail2.example.net.'],
    additional: ['mail.example.test. 600 IN A 192.0.2.25', 'mail.example.test. 600 IN AAAA 2001:db8::25'],
  },
  {
    name: 'additional data: addresses of SRV targets (RFC 2782)',
    qname: '_sip._tcp.example.test',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_sip._tcp.example.test. 3600 IN SRV 10 60 5060 sip1.example.test.',
      '_sip._tcp.example.test. 3600 IN SRV 10 40 5060 sip2.example.test.',
    ],
    additional: [
      'sip1.example.test. 3600 IN A 192.0.2.61',
      'sip2.example.test. 3600 IN A 192.0.2.62',
      'sip2.example.test. 3600 IN AAAA 2001:db8::62',
    ],
  },
  {
    name: 'additional data never comes from at or below a cut: MX targets that are glue get none (RFC 1034 §4.3.2 step 6)',
    qname: 'mx-below.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: [
      'mx-below.example.test. 3600 IN MX 10 host.sub.example.test.',
      'mx-below.example.test. 3600 IN MX 20 ns.sub.example.test.',
      'mx-below.example.test. 3600 IN MX 30 selfns.example.test.',
    ],
  },
  {
    name: 'additional data never comes from below a cut: an SRV target that is glue gets none (RFC 1034 §4.3.2 step 6)',
    qname: 'srv-below.example.test',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['srv-below.example.test. 3600 IN SRV 0 0 443 ns.mixed.example.test.'],
  },
  {
    name: "additional data: a pool name's addresses are not added, they depend on the client (docs/dns-behaviour.md#additional-section)",
    qname: 'mx-pool.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: ['mx-pool.example.test. 3600 IN MX 10 app.example.test.'],
  },
];

lookupTable(CASES, ZONES);
