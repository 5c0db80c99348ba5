// Additional-section data of SVCB and HTTPS answers (RFC 9460 §4.2, §7.3), against both zone forms: the A and
// AAAA records of the TargetName when it is a name of the zone, not at or below a zone cut and not a pool, in
// AliasMode and ServiceMode alike; a TargetName of "." is the owner in ServiceMode (§2.5.2) — not when the
// owner is a wildcard, whose answer's owner is the name asked — and names no host in AliasMode (§2.5.1), as
// MX "0 ." (RFC 7505) does. The rule as users read it: docs/dns-behaviour.md#additional-section.
import { type LookupCase, lookupTable } from '../helpers/lookup.js';

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 2024010101 }
records:
  "@":
    NS: [ns1]
    HTTPS: { priority: 1, target: ., params: { alpn: [h2] } }
    A: 192.0.2.1
  ns1: { A: 192.0.2.53 }
  svc: { SVCB: ['1 svc1.example.test. alpn="h2"', '2 svc2.example.test. port=8443'] }
  svc1: { A: 192.0.2.81, AAAA: "2001:db8::81" }
  svc2: { AAAA: "2001:db8::82" }
  alias: { HTTPS: { priority: 0, target: svc1.example.test. } }
  self: { HTTPS: '1 . alpn="h2"', A: 192.0.2.90, AAAA: "2001:db8::90" }
  noservice: { HTTPS: '0 .', A: 192.0.2.91 }
  outside: { HTTPS: { priority: 1, target: cdn.example.net. } }
  cut: { HTTPS: { priority: 1, target: host.sub.example.test. } }
  sub: { NS: [ns.sub] }
  ns.sub: { A: 192.0.2.99 }
  host.sub: { A: 192.0.2.98 }
  topool: { HTTPS: { priority: 1, target: app.example.test. } }
  app:
    pool:
      check: { type: none }
      regions:
        us-east: [192.0.2.10]
  "*.wild": { HTTPS: '1 . alpn="h2"', A: 192.0.2.70 }
  nullmx: { MX: { preference: 0, exchange: . }, A: 192.0.2.71 }
`;

const SVC1 = ['svc1.example.test. 3600 IN A 192.0.2.81', 'svc1.example.test. 3600 IN AAAA 2001:db8::81'];

const CASES: LookupCase[] = [
  {
    name: 'SVCB in ServiceMode: the addresses of every TargetName in the zone, in record order',
    qname: 'svc.example.test',
    qtype: 'SVCB',
    rcode: 'NOERROR',
    answer: [
      'svc.example.test. 3600 IN SVCB 1 svc1.example.test. alpn="h2"',
      'svc.example.test. 3600 IN SVCB 2 svc2.example.test. port=8443',
    ],
    additional: [...SVC1, 'svc2.example.test. 3600 IN AAAA 2001:db8::82'],
  },
  {
    name: 'HTTPS in AliasMode: the TargetName’s addresses',
    qname: 'alias.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['alias.example.test. 3600 IN HTTPS 0 svc1.example.test.'],
    additional: SVC1,
  },
  {
    name: 'HTTPS in ServiceMode with TargetName ".": the owner’s own addresses',
    qname: 'self.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['self.example.test. 3600 IN HTTPS 1 . alpn="h2"'],
    additional: ['self.example.test. 3600 IN A 192.0.2.90', 'self.example.test. 3600 IN AAAA 2001:db8::90'],
  },
  {
    name: 'HTTPS at the apex with TargetName ".": the apex’s addresses',
    qname: 'example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['example.test. 3600 IN HTTPS 1 . alpn="h2"'],
    additional: ['example.test. 3600 IN A 192.0.2.1'],
  },
  {
    name: 'HTTPS in AliasMode with TargetName ".": no service, nothing added',
    qname: 'noservice.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['noservice.example.test. 3600 IN HTTPS 0 .'],
  },
  {
    name: 'a TargetName outside the zone: nothing added',
    qname: 'outside.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['outside.example.test. 3600 IN HTTPS 1 cdn.example.net.'],
  },
  {
    name: 'a TargetName below a zone cut: nothing added (not authoritative data)',
    qname: 'cut.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['cut.example.test. 3600 IN HTTPS 1 host.sub.example.test.'],
  },
  {
    name: 'a TargetName that is a pool: nothing added (its addresses depend on the client)',
    qname: 'topool.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['topool.example.test. 3600 IN HTTPS 1 app.example.test.'],
  },
  {
    name: 'a wildcard’s HTTPS with TargetName ".": nothing added (the owner is the name asked)',
    qname: 'x.wild.example.test',
    qtype: 'HTTPS',
    rcode: 'NOERROR',
    answer: ['x.wild.example.test. 3600 IN HTTPS 1 . alpn="h2"'],
  },
  {
    name: 'a null MX ("0 .", RFC 7505): nothing added',
    qname: 'nullmx.example.test',
    qtype: 'MX',
    rcode: 'NOERROR',
    answer: ['nullmx.example.test. 3600 IN MX 0 .'],
  },
];

lookupTable(CASES, { 'example.test.yaml': ZONE });
