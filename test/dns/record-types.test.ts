// Every record type a zone may hold (docs/zone-format.md#record-types), written in a master file in the
// presentation form `dig` prints, served over UDP and TCP, and decoded by two independent resolvers' tools:
// BIND's `dig` and Knot's `kdig` (dns-packet decodes some of these types wrongly, so it is not the oracle
// here). dig must print exactly the source text, but for hexadecimal, which it writes in upper case and in
// pieces. kdig writes a few things its own way, each an equivalent notation: hexadecimal likewise, the alpn
// list without quotes (RFC 9460 Appendix A allows both), and LOC numbers without trailing zeros. The same
// records written in the YAML mappings of the zone format must answer identically (text that is not UTF-8,
// which YAML cannot hold, in the generic form).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { dig as digAt, startServer, type TestServer } from '../helpers/server.js';

const execFileP = promisify(execFile);

const DS = '2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1';
const SHA1 = 'dd465c09cfa51fb45020cc83316fff21b9ec74ac';
const SHA256 = '123456789abcdef67890123456789abcdef67890123456789abcdef123456789';
const ECH = 'AEP+DQA/BAAgACCW2/dfOBZAtQU55/znT6tDsGXhdGXr/t0X3Eezs2j1lwAEAAEAAQAQaW50ZXJuYWwuZXhhbXBsZQAA';

/** name (relative), type, and the RDATA of each record in presentation form, as the source file has it. */
const RECORDS: [string, string, string[]][] = [
  ['ns1', 'A', ['192.0.2.53']],
  ['ns1', 'AAAA', ['2001:db8::53']],
  ['@', 'NS', ['ns1.types.test.']],
  ['www', 'CNAME', ['ns1.types.test.']],
  ['ptr', 'PTR', ['ns1.types.test.']],
  ['@', 'MX', ['10 ns1.types.test.', '20 mail.example.net.']],
  ['nullmx', 'MX', ['0 .']],
  ['txt', 'TXT', ['"plain"', '"two words" "second string"', '"caf\\195\\169"', '"say \\"hi\\" back\\\\slash"']],
  ['txtbin', 'TXT', ['"\\000\\255;()"']],
  ['_sip._tcp', 'SRV', ['10 60 5060 ns1.types.test.', '0 0 0 .']],
  ['@', 'CAA', ['0 issue "letsencrypt.org"', '128 iodef "mailto:security@types.test"']],
  ['sub', 'DS', [`12345 13 2 ${DS}`]],
  ['host', 'SSHFP', [`1 1 ${SHA1}`, `4 2 ${SHA256}`]],
  ['_443._tcp.host', 'TLSA', [`3 1 1 ${SHA256}`, `2 0 0 ${SHA1}${SHA1}`]],
  ['naptr', 'NAPTR', ['100 10 "S" "SIP+D2T" "" _sip._tcp.types.test.', '10 100 "u" "E2U+sip" "!^.*$!sip:info@types.test!" .']],
  ['loc', 'LOC', ['52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m']],
  ['loc2', 'LOC', ['42 21 28.764 N 71 0 51.617 W -44.00m 2000m 10000m 10m']],
  ['loc3', 'LOC', ['27 59 17.500 S 86 55 30.200 W 8848.86m 0.50m 100m 1m']],
  ['svc', 'SVCB', ['1 svc1.types.test. alpn="h2,h3" port=8443 key667="hello"', '2 svc2.types.test. alpn="dot" no-default-alpn']],
  [
    'https',
    'HTTPS',
    ['1 . mandatory=alpn,port alpn="h2,h3" port=443 ipv4hint=192.0.2.1,192.0.2.2 ech=AEX+DQBBpQAgACCQ ipv6hint=2001:db8::1,2001:db8::2'],
  ],
  ['ech', 'HTTPS', [`1 . alpn="h2" ech=${ECH}`]],
  ['alias', 'HTTPS', ['0 svc1.types.test.']],
  ['escaped', 'SVCB', ['1 . alpn="h\\\\,2,b\\\\\\\\s,h3" key65333="a b\\255\\"q"']],
  ['uri', 'URI', ['10 1 "ftp://ftp1.example.com/public"', '20 5 "https://www.example.com/path?q=1&r=2"']],
  ['generic', 'TYPE65534', ['\\# 4 01020304']],
  ['empty', 'TYPE65280', ['\\# 0']],
];

const SOA = 'ns1.types.test. host\\.master.types.test. 2024010101 7200 3600 1209600 60';

const MASTER = [
  '$ORIGIN types.test.',
  '$TTL 3600',
  `@ IN SOA ${SOA}`,
  ...RECORDS.flatMap(([name, type, rdata]) => rdata.map((r) => `${name} IN ${type} ${r}`)),
  'svc1 A 192.0.2.81',
  'svc2 A 192.0.2.82',
  'sub NS ns.sub.types.test.',
  'ns.sub A 192.0.2.99',
  // RFC 9460 §2.5.2: TargetName "." in ServiceMode is the owner name; in AliasMode (§2.5.1) it means no service
  'self HTTPS 1 . alpn="h2"',
  'self A 192.0.2.90',
  'self AAAA 2001:db8::90',
  'noservice HTTPS 0 .',
  'noservice A 192.0.2.91',
].join('\n');

/** The same records in the YAML mappings (absolute names into types.test., so the RDATA is the same). */
const YAML = `
origin: yaml.test
soa: { ns: ns1.types.test., email: host.master@types.test, serial: 2024010101, minimum: 60 }
records:
  "@":
    NS: ns1.types.test.
    MX: [{ preference: 10, exchange: ns1.types.test. }, "20 mail.example.net."]
    CAA: [{ flags: 0, tag: issue, value: letsencrypt.org }, { flags: 128, tag: iodef, value: "mailto:security@types.test" }]
  ns1: { A: 192.0.2.53, AAAA: "2001:db8::53" }
  www: { CNAME: ns1.types.test. }
  ptr: { PTR: ns1.types.test. }
  nullmx: { MX: { preference: 0, exchange: . } }
  txt: { TXT: ["plain", ["two words", "second string"], "café", "say \\"hi\\" back\\\\slash"] }
  txtbin: { TYPE16: '\\# 6 0500ff3b2829' }
  _sip._tcp: { SRV: [{ priority: 10, weight: 60, port: 5060, target: ns1.types.test. }, { priority: 0, weight: 0, port: 0, target: . }] }
  sub: { NS: ns.sub, DS: { key_tag: 12345, algorithm: 13, digest_type: 2, digest: "${DS}" } }
  ns.sub: { A: 192.0.2.99 }
  host: { SSHFP: [{ algorithm: 1, fp_type: 1, fingerprint: "${SHA1}" }, { algorithm: 4, fp_type: 2, fingerprint: "${SHA256}" }] }
  _443._tcp.host:
    TLSA: [{ usage: 3, selector: 1, matching_type: 1, data: "${SHA256}" }, { usage: 2, selector: 0, matching_type: 0, data: "${SHA1}${SHA1}" }]
  naptr:
    NAPTR:
      - { order: 100, preference: 10, flags: S, services: SIP+D2T, regexp: "", replacement: _sip._tcp.types.test. }
      - { order: 10, preference: 100, flags: u, services: E2U+sip, regexp: "!^.*$!sip:info@types.test!", replacement: . }
  loc: { LOC: { latitude: "52 22 23.000 N", longitude: "4 53 32 E", altitude: -2, size: 0 } }
  loc2: { LOC: { latitude: 42.35799, longitude: -71.01433805555556, altitude: -44, size: 2000 } }
  loc3: { LOC: "27 59 17.5 S 86 55 30.2 W 8848.86m 0.5m 100m 1m" }
  svc:
    SVCB:
      - { priority: 1, target: svc1.types.test., params: { alpn: [h2, h3], port: 8443, key667: hello } }
      - { priority: 2, target: svc2.types.test., params: { alpn: dot, no-default-alpn: true } }
  https:
    HTTPS:
      priority: 1
      target: .
      params: { mandatory: [port, alpn], alpn: [h2, h3], port: 443, ipv4hint: [192.0.2.1, 192.0.2.2], ech: AEX+DQBBpQAgACCQ, ipv6hint: ["2001:db8::1", "2001:db8::2"] }
  ech: { HTTPS: { priority: 1, target: ., params: { alpn: h2, ech: "${ECH}" } } }
  alias: { HTTPS: { priority: 0, target: svc1.types.test. } }
  escaped: { SVCB: '1 . alpn="h\\\\,2,b\\\\\\\\s,h3" key65333="a b\\255\\"q"' }
  uri: { URI: [{ priority: 10, weight: 1, target: "ftp://ftp1.example.com/public" }, "20 5 \\"https://www.example.com/path?q=1&r=2\\""] }
  generic: { TYPE65534: '\\# 4 01020304' }
  empty: { TYPE65280: '\\# 0' }
  svc1: { A: 192.0.2.81 }
  svc2: { A: 192.0.2.82 }
`;

let S: TestServer;
test.before(async () => {
  S = await startServer({ 'types.test.zone': MASTER, 'yaml.yaml': YAML });
});
test.after.always(async () => {
  await S?.stop();
});

/** Real dig with a patient timeout (the suite may run beside other heavy work). */
const dig = (args: string[]) => digAt(S.port, ['+time=10', ...args]);

async function kdig(args: string[]): Promise<string> {
  const { stdout } = await execFileP('kdig', ['@127.0.0.1', '-p', String(S.port), '+time=10', '+retry=2', ...args]);
  return stdout;
}

const HEX_AFTER: Record<string, number> = { DS: 3, SSHFP: 2, TLSA: 3 };

/** Whitespace, and hexadecimal in one lower-case piece: the only liberties dig takes with the source text. */
function digForm(type: string, text: string): string {
  const words = text.trim().split(/\s+/);
  const fixed = words[0] === '\\#' ? 2 : HEX_AFTER[type];
  if (fixed === undefined || words.length <= fixed) return words.join(' ');
  return [...words.slice(0, fixed), words.slice(fixed).join('').toLowerCase()].join(' ');
}

/** kdig's notations besides: the alpn list unquoted, LOC numbers without trailing zeros. */
function kdigForm(type: string, text: string): string {
  let s = digForm(type, text);
  if (type === 'SVCB' || type === 'HTTPS') s = s.replace(/alpn="([^"]*)"/, 'alpn=$1');
  if (type === 'LOC') s = s.replace(/(\d+)\.(\d*?)0*(?=m|\s|$)/g, (_, i: string, f: string) => (f ? `${i}.${f}` : i));
  return s;
}

const fqdn = (name: string, zone: string) => (name === '@' ? `${zone}.` : `${name}.${zone}.`);
/** Answer lines of dig's +short output; dig's own ';;' notes (a late reply to an earlier try: "ID mismatch") are not answers. */
const lines = (out: string) => out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(';;'));

for (const [name, type, rdata] of RECORDS) {
  test(`${type} at ${name}: dig and kdig decode the answer to the source's presentation, over UDP and TCP`, async (t) => {
    for (const transport of ['+notcp', '+tcp']) {
      const q = [transport, '+short', fqdn(name, 'types.test'), type];
      const fromDig = lines(await dig(q)).map((l) => digForm(type, l));
      t.deepEqual(fromDig.sort(), rdata.map((r) => digForm(type, r)).sort(), `dig ${transport}`);
      const fromKdig = lines(await kdig(q)).map((l) => kdigForm(type, l));
      t.deepEqual(fromKdig.sort(), rdata.map((r) => kdigForm(type, r)).sort(), `kdig ${transport}`);
    }
  });

  test(`${type} at ${name}: the YAML form answers the same records as the master file`, async (t) => {
    const master = lines(await dig(['+short', fqdn(name, 'types.test'), type])).sort();
    const yaml = lines(await dig(['+short', fqdn(name, 'yaml.test'), type])).sort();
    t.deepEqual(yaml, master);
  });
}

test('the SOA of a master file: dig and kdig show it as written, the escaped dot of the mailbox included', async (t) => {
  t.is((await dig(['+short', 'types.test', 'SOA'])).trim(), SOA);
  t.is((await kdig(['+short', 'types.test', 'SOA'])).trim(), SOA);
  t.is((await dig(['+short', 'yaml.test', 'SOA'])).trim(), SOA, 'email: host.master@types.test in YAML');
});

/** The additional section as dig and kdig print it: owner, type, RDATA (the TTL left out), sorted. */
async function additional(tool: 'dig' | 'kdig', name: string, type: string): Promise<string[]> {
  const args = ['+noall', '+additional', `${name}.`, type];
  const out = tool === 'dig' ? await dig(args) : await kdig(args);
  return lines(out)
    .map((l) => l.split(/\s+/).filter((w, i) => w !== 'IN' && !(i === 1 && /^\d+$/.test(w))))
    .filter((w) => w[1] !== 'OPT')
    .map((w) => w.join(' '))
    .sort();
}

const ADDITIONAL: [string, string, string[]][] = [
  ['svc.types.test', 'SVCB', ['svc1.types.test. A 192.0.2.81', 'svc2.types.test. A 192.0.2.82']],
  ['alias.types.test', 'HTTPS', ['svc1.types.test. A 192.0.2.81']],
  ['self.types.test', 'HTTPS', ['self.types.test. A 192.0.2.90', 'self.types.test. AAAA 2001:db8::90']],
  ['noservice.types.test', 'HTTPS', []],
  ['https.types.test', 'HTTPS', []],
  // targets in another zone (types.test.) than the answer's: no additional data (docs/dns-behaviour.md#additional-section)
  ['svc.yaml.test', 'SVCB', []],
];

for (const [name, type, expected] of ADDITIONAL) {
  test(`${type} at ${name}: the additional section holds the TargetName's addresses in the zone (RFC 9460 §4.2, §7.3)`, async (t) => {
    t.deepEqual(await additional('dig', name, type), expected, 'dig');
    t.deepEqual(await additional('kdig', name, type), expected, 'kdig');
  });
}
