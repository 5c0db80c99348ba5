// The YAML forms of the record types (docs/zone-format.md#record-types) in-process: the mappings of LOC,
// SVCB/HTTPS and URI, the one-string presentation form of every type written as a mapping, the generic form
// of RFC 3597 under TYPEnnn, a TTL per type at a name — each read to the expected RDATA, and each broken
// rule reported at its exact line:col.
import { join } from 'node:path';
import test from 'ava';
import { defaultConfig } from '../../src/config/server-spec.js';
import type { Diagnostic } from '../../src/config/source.js';
import { parseZone } from '../../src/config/zone-file.js';
import { rdataToText } from '../../src/dns/rdata-text.js';
import { typeCode } from '../../src/dns/registry.js';

const DIR = '/srv/steerdns';
const CFG = defaultConfig(join(DIR, 'steerdns.yaml'));
const fmt = (d: Diagnostic) => `${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;

/** A zone whose records start at line 5 (column 3 for names, 5 for their types). */
const zone = (records: string) =>
  parseZone(
    join(DIR, 'zones', 'x.yaml'),
    `origin: x.test\nsoa: { ns: ns1.x.test., email: h@x.test }\nrecords:\n  "@": { NS: ns1 }\n${records}  ns1: { A: 192.0.2.1 }\n`,
    CFG,
  );

/** Each RRset of a name as `TYPE TTL rdata | rdata` (presentation text), in the order written. */
function rrsets(records: string, name: string): string[] {
  const r = zone(records);
  if (!r.zone) throw new Error(r.diagnostics.map(fmt).join('\n'));
  const n = r.zone.names.get(`${name}.x.test`)!;
  return [...n.rrsets.values()].map(
    (rr) => `${rr.type} ${rr.ttl} ${rr.records.map((x) => rdataToText(typeCode(rr.type)!, x.rdata)).join(' | ')}`,
  );
}

const errors = (records: string) => zone(records).diagnostics.map(fmt);

test('SVCB and HTTPS mappings: params written in any order go on the wire in key order (RFC 9460 §2.2)', (t) => {
  t.deepEqual(
    rrsets(
      '  www:\n    HTTPS: { priority: 1, target: ., params: { port: 8443, alpn: [h3, h2], ipv6hint: "2001:db8::1", mandatory: [port, alpn], key65000: x } }\n',
      'www',
    ),
    ['HTTPS 3600 1 . mandatory=alpn,port alpn="h3,h2" port=8443 ipv6hint=2001:db8::1 key65000="x"'],
  );
  t.deepEqual(rrsets('  a:\n    SVCB: { priority: 0, target: svc }\n', 'a'), ['SVCB 3600 0 svc.x.test.']);
  t.deepEqual(rrsets('  a:\n    SVCB: { priority: 1, target: ., params: { alpn: h2, no-default-alpn: true, key9: } }\n', 'a'), [
    'SVCB 3600 1 . alpn="h2" no-default-alpn key9',
  ]);
  t.deepEqual(rrsets('  a:\n    SVCB: { priority: 1, target: ., params: { key1: [h2], key3: 53 } }\n', 'a'), [
    'SVCB 3600 1 . alpn="h2" port=53',
  ]);
});

test('LOC mappings: decimal degrees or degrees minutes seconds, metres for the rest, RFC 1876 defaults', (t) => {
  t.deepEqual(rrsets('  a: { LOC: { latitude: 52.373056, longitude: -4.8922222222 } }\n', 'a'), [
    'LOC 3600 52 22 23.002 N 4 53 32.000 W 0.00m 1m 10000m 10m',
  ]);
  t.deepEqual(
    rrsets(
      '  a: { LOC: { latitude: "42 21 54 N", longitude: "71 06 18 W", altitude: -24, size: 30, horizontal_precision: 0.5, vertical_precision: 90000000 } }\n',
      'a',
    ),
    ['LOC 3600 42 21 54.000 N 71 6 18.000 W -24.00m 30m 0.50m 90000000m'],
  );
});

test('URI mapping, and every type written as a mapping also as one string of presentation text', (t) => {
  t.deepEqual(rrsets('  _ftp._tcp: { URI: { priority: 10, weight: 1, target: "ftp://ftp.x.test/" } }\n', '_ftp._tcp'), [
    'URI 3600 10 1 "ftp://ftp.x.test/"',
  ]);
  t.deepEqual(
    rrsets(
      [
        '  a:',
        '    MX: "10 mail"',
        '    SRV: "1 2 3 ns1"',
        '    CAA: \'0 issue "ca.test"\'',
        '    NAPTR: \'1 2 "u" "E2U+sip" "!^.*$!sip:a@x.test!" .\'',
        '    URI: \'1 1 "https://x.test/"\'',
        '    LOC: "1 N 2 E 3m"',
        '    HTTPS: "1 . alpn=h2"',
        '    SSHFP: "4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789"',
        '    TLSA: "3 1 1 ( 0c72ac70 b745ac19 )"',
        '  mail: { A: 192.0.2.25 }',
        '',
      ].join('\n'),
      'a',
    ),
    [
      'MX 3600 10 mail.x.test.',
      'SRV 3600 1 2 3 ns1.x.test.',
      'CAA 3600 0 issue "ca.test"',
      'NAPTR 3600 1 2 "u" "E2U+sip" "!^.*$!sip:a@x.test!" .',
      'URI 3600 1 1 "https://x.test/"',
      'LOC 3600 1 0 0.000 N 2 0 0.000 E 3.00m 1m 10000m 10m',
      'HTTPS 3600 1 . alpn="h2"',
      'SSHFP 3600 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789',
      'TLSA 3600 3 1 1 0c72ac70b745ac19',
    ],
  );
});

test('the generic form under TYPEnnn (RFC 3597 §5): an unknown type as written, a known type read by its own rules', (t) => {
  t.deepEqual(rrsets("  a: { TYPE65534: ['\\# 3 abcdef', '\\# 0'], TYPE1: '\\# 4 c0000202', TYPE15: '\\# 3 000a 00' }\n", 'a'), [
    'TYPE65534 3600 \\# 3 abcdef | \\# 0',
    'A 3600 192.0.2.2',
    'MX 3600 10 .',
  ]);
  t.deepEqual(rrsets("  a: { MX: '\\# 3 000a 00' }\n", 'a'), ['MX 3600 10 .'], 'the generic form in the string of a structured type');
});

test('ttl at a name: one TTL for every record, or a TTL per type', (t) => {
  t.deepEqual(rrsets('  a: { A: 192.0.2.2, TXT: x, MX: "1 .", ttl: { A: 60, TXT: 120 } }\n', 'a'), [
    'A 60 192.0.2.2',
    'TXT 120 "x"',
    'MX 3600 1 .',
  ]);
  t.deepEqual(rrsets('  a: { A: 192.0.2.2, TYPE16: "\\\\# 2 0178", ttl: { TXT: 5 } }\n', 'a'), ['A 3600 192.0.2.2', 'TXT 5 "x"']);
});

const BROKEN: [string, string, string[]][] = [
  ['an HTTPS mapping without target', '  a: { HTTPS: { priority: 1 } }\n', ['5:15: HTTPS at "a" needs target']],
  [
    'an unknown SvcParamKey',
    '  a: { HTTPS: { priority: 1, target: ., params: { alpn: h2, tls: 1 } } }\n',
    [
      '5:61: HTTPS at "a": unknown SvcParamKey "tls" (expected mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN)',
    ],
  ],
  [
    'AliasMode with params',
    '  a: { SVCB: { priority: 0, target: x, params: { port: 1 } } }\n',
    ['5:48: SVCB at "a": AliasMode (priority 0) takes no SvcParams (RFC 9460 §2.4.2)'],
  ],
  [
    'no-default-alpn without alpn',
    '  a: { SVCB: { priority: 1, target: ., params: { no-default-alpn: true } } }\n',
    ['5:48: SVCB at "a": no-default-alpn needs alpn (RFC 9460 §7.1.1)'],
  ],
  [
    'an ipv4hint that is IPv6, and an ech that is not base64',
    '  a: { SVCB: { priority: 1, target: ., params: { ipv4hint: "::1", ech: "not base64!" } } }\n',
    ['5:60: SVCB at "a": ipv4hint: "::1" is not an IPv4 address', '5:72: SVCB at "a": ech must be base64 (RFC 4648), got "not base64!"'],
  ],
  [
    'a LOC size the one-digit form cannot hold',
    '  a: { LOC: { latitude: 1, longitude: 2, size: 15 } }\n',
    ['5:48: LOC at "a" size 15m cannot be written in LOC\'s one digit and a power of ten (RFC 1876 §2): 10m or 20m'],
  ],
  [
    'a LOC latitude beyond 90 degrees, as a number and as text',
    '  a: { LOC: { latitude: 90.5, longitude: 2 } }\n  b: { LOC: { latitude: "90 30 N", longitude: 2 } }\n',
    [
      '5:25: LOC at "a" latitude must be decimal degrees from -90 to 90, or "degrees minutes seconds N|S"',
      '6:25: LOC at "b" latitude is beyond 90 degrees',
    ],
  ],
  [
    'a presentation string with a bad field, and one with a field too many',
    '  a: { MX: "10 mail extra", SRV: "1 2 70000 x" }\n',
    ['5:12: MX at "a": unexpected "extra" after the last field', '5:34: SRV at "a" port must be an integer from 0 to 65535, got "70000"'],
  ],
  [
    'a TYPEnnn value not in the generic form, and a meta type',
    "  a: { TYPE65534: abc, TYPE255: '\\# 0' }\n",
    [
      '5:19: TYPE65534 at "a" must be a string in the generic form \\# LENGTH HEX (RFC 3597)',
      '5:24: unknown key "TYPE255" at "a" (expected ttl, pool or a record type: A, NS, CNAME, PTR, MX, TXT, AAAA, LOC, SRV, NAPTR, DS, SSHFP, TLSA, SVCB, HTTPS, URI, CAA, or TYPEnnn in the generic form)',
    ],
  ],
  ['a type written both by name and as TYPEnnn', "  a: { A: 192.0.2.3, TYPE1: '\\# 4 c0000204' }\n", ['5:22: A is given twice at "a"']],
  [
    'a known type in the generic form that breaks its own rules',
    "  a: { TYPE5: '\\# 3 01 2a 00' }\n",
    ['5:15: CNAME at "a" target: "*.": "*" is only allowed as the whole leftmost label of an owner name (in the \\# data)'],
  ],
  [
    'a per-type ttl for a type the name does not have, and for no type',
    '  a: { A: 192.0.2.2, ttl: { AAAA: 5, foo: 6 } }\n',
    ['5:29: "a" ttl: AAAA is not written at "a"', '5:38: "a" ttl: "foo" is not a record type'],
  ],
];

for (const [title, records, want] of BROKEN) {
  test(`YAML record forms: ${title}`, (t) => {
    t.deepEqual(errors(records), want);
  });
}
