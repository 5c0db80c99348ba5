// The same server asked with real `dig` (BIND 9): every record type we encode must be decoded by dig to the
// expected presentation text, and a handful of behaviours of docs/dns-behaviour.md checked in dig's own output.
import test from 'ava';
import { dig as digAt, startServer, type TestServer } from '../helpers/server.js';

const DKIM = `v=DKIM1; k=rsa; p=${'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5Zs7xWk'.repeat(12)}`; // 600 octets
const DS_DIGEST = '2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1';
const SSHFP_FP = '123456789abcdef67890123456789abcdef67890123456789abcdef123456789';
const TLSA_DATA = '0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6';

const ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: host.master@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 2024010101 }
records:
  "@":
    NS: [ns1, ns2]
    MX: [{ preference: 10, exchange: mail }, { preference: 20, exchange: mail2.example.net. }]
    TXT: ["v=spf1 -all"]
    CAA: [{ flags: 0, tag: issue, value: "letsencrypt.org" }, { flags: 128, tag: iodef, value: "mailto:security@example.test" }]
  ns1: { A: 192.0.2.53 }
  ns2: { A: 198.51.100.53, AAAA: "2001:db8::53" }
  mail: { A: 192.0.2.25, AAAA: "2001:db8::25", ttl: 600 }
  www: { CNAME: ns1 }
  texts: { TXT: ["plain", ["part one", "part two"], "caf\u00e9", "say \\"hi\\""] }
  ptr: { PTR: mail }
  nullmx: { MX: { preference: 0, exchange: . } }
  _none._tcp: { SRV: { priority: 0, weight: 0, port: 0, target: . } }
  _sip._tcp: { SRV: [{ priority: 10, weight: 60, port: 5060, target: sip1 }] }
  sip1: { A: 192.0.2.61 }
  sip: { NAPTR: { order: 100, preference: 10, flags: "S", services: "SIP+D2T", regexp: "", replacement: _sip._tcp } }
  enum: { NAPTR: { order: 10, preference: 100, flags: "u", services: "E2U+sip", regexp: "!^.*$!sip:info@example.test!", replacement: . } }
  host1: { A: 192.0.2.71, SSHFP: { algorithm: 4, fp_type: 2, fingerprint: "${SSHFP_FP}" } }
  _443._tcp.www2: { TLSA: { usage: 3, selector: 1, matching_type: 1, data: "${TLSA_DATA}" } }
  dkim._domainkey: { TXT: ["${DKIM}"] }
  bigtxt: { TXT: [${['a', 'b', 'c', 'd'].map((c) => `"${c.repeat(200)}"`).join(', ')}] }
  sub:
    NS: [ns.sub]
    DS: { key_tag: 12345, algorithm: 13, digest_type: 2, digest: "${DS_DIGEST}" }
  ns.sub: { A: 192.0.2.99 }
  app:
    pool:
      ttl: 20
      check: { type: none }
      regions:
        us-east: [192.0.2.10]
`;

const REVERSE = `
origin: 2.0.192.in-addr.arpa
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1.example.test., ns2.example.test.] }
  "25": { PTR: mail.example.test. }
`;

/** Real dig with a patient timeout (the suite may run beside other heavy work); later options win in dig. */
const dig = (port: number, args: string[]) => digAt(port, ['+time=10', ...args]);

let S: TestServer;
test.before(async () => {
  S = await startServer({ 'example.test.yaml': ZONE, 'reverse.yaml': REVERSE });
});
test.after.always(async () => {
  await S?.stop();
});

interface Line {
  owner: string;
  ttl: number;
  klass: string;
  type: string;
  rdata: string;
}

/** The resource-record lines of dig's output (every line that is not a comment). */
function records(out: string): Line[] {
  return out
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith(';'))
    .map((l) => {
      const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(l.trim());
      if (!m) throw new Error(`not a record line: ${l}`);
      return { owner: m[1]!, ttl: Number(m[2]), klass: m[3]!, type: m[4]!, rdata: m[5]! };
    });
}

/** dig splits long hex fields into space-separated chunks: join the hex after the first `fixed` fields. */
function joinHex(rdata: string, fixed: number): string {
  const f = rdata.split(/\s+/);
  return [...f.slice(0, fixed), f.slice(fixed).join('').toLowerCase()].join(' ');
}

function flagsLine(out: string): string[] {
  const m = /^;; flags: ([^;]*);/m.exec(out);
  if (!m) throw new Error(`no flags line in:\n${out}`);
  return m[1]!.trim().split(/\s+/);
}

function status(out: string): string {
  return /status: (\w+)/.exec(out)?.[1] ?? 'none';
}

// ---- every record type, as dig presents it -------------------------------------------------------

const TYPES: { type: string; name: string; rdata: string[]; hexFixed?: number; ttl?: number }[] = [
  { type: 'A', name: 'ns2.example.test', rdata: ['198.51.100.53'] },
  { type: 'AAAA', name: 'ns2.example.test', rdata: ['2001:db8::53'] },
  { type: 'CNAME', name: 'www.example.test', rdata: ['ns1.example.test.'] },
  { type: 'NS', name: 'example.test', rdata: ['ns1.example.test.', 'ns2.example.test.'] },
  { type: 'MX', name: 'example.test', rdata: ['10 mail.example.test.', '20 mail2.example.net.'] },
  { type: 'MX', name: 'nullmx.example.test', rdata: ['0 .'] }, // RFC 7505 null MX: the root name as target
  { type: 'SRV', name: '_none._tcp.example.test', rdata: ['0 0 0 .'] }, // RFC 2782: service not available
  { type: 'TXT', name: 'texts.example.test', rdata: ['"caf\\195\\169"', '"part one" "part two"', '"plain"', '"say \\"hi\\""'] },
  { type: 'SRV', name: '_sip._tcp.example.test', rdata: ['10 60 5060 sip1.example.test.'] },
  { type: 'CAA', name: 'example.test', rdata: ['0 issue "letsencrypt.org"', '128 iodef "mailto:security@example.test"'] },
  { type: 'PTR', name: 'ptr.example.test', rdata: ['mail.example.test.'] },
  { type: 'SOA', name: 'example.test', rdata: ['ns1.example.test. host\\.master.example.test. 2024010101 7200 3600 1209600 60'] },
  { type: 'DS', name: 'sub.example.test', rdata: [`12345 13 2 ${DS_DIGEST}`], hexFixed: 3 },
  { type: 'SSHFP', name: 'host1.example.test', rdata: [`4 2 ${SSHFP_FP}`], hexFixed: 2 },
  { type: 'TLSA', name: '_443._tcp.www2.example.test', rdata: [`3 1 1 ${TLSA_DATA}`], hexFixed: 3 },
  { type: 'NAPTR', name: 'sip.example.test', rdata: ['100 10 "S" "SIP+D2T" "" _sip._tcp.example.test.'] },
  { type: 'NAPTR', name: 'enum.example.test', rdata: ['10 100 "u" "E2U+sip" "!^.*$!sip:info@example.test!" .'] },
];

for (const c of TYPES) {
  test(`dig decodes ${c.type} at ${c.name} to its presentation text`, async (t) => {
    for (const transport of ['+notcp', '+tcp']) {
      const out = await dig(S.port, [transport, '+noall', '+answer', '+comments', c.name, c.type]);
      t.is(status(out), 'NOERROR', out);
      t.true(flagsLine(out).includes('aa'), 'authoritative');
      const lines = records(out);
      t.true(
        lines.every((l) => l.owner === `${c.name}.` && l.type === c.type && l.klass === 'IN'),
        out,
      );
      const rdata = lines.map((l) => (c.hexFixed ? joinHex(l.rdata, c.hexFixed) : l.rdata)).sort();
      t.deepEqual(rdata, [...c.rdata].sort(), `${transport}: ${out}`);
    }
  });
}

test('dig +short shows the presentation text of each record type', async (t) => {
  t.is(
    (await dig(S.port, ['+short', 'example.test', 'SOA'])).trim(),
    'ns1.example.test. host\\.master.example.test. 2024010101 7200 3600 1209600 60',
  );
  t.is((await dig(S.port, ['+short', '_sip._tcp.example.test', 'SRV'])).trim(), '10 60 5060 sip1.example.test.');
  t.is(joinHex((await dig(S.port, ['+short', 'sub.example.test', 'DS'])).trim(), 3), `12345 13 2 ${DS_DIGEST}`);
  t.is((await dig(S.port, ['+short', '-x', '192.0.2.25'])).trim(), 'mail.example.test.');
});

test('dig decodes a TXT over 255 octets as several character-strings of one record', async (t) => {
  for (const transport of ['+notcp', '+tcp']) {
    const out = (await dig(S.port, [transport, '+short', 'dkim._domainkey.example.test', 'TXT'])).trim();
    t.is(out.split('\n').length, 1, 'one record');
    const strings = [...out.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    t.deepEqual(
      strings.map((s) => s.length),
      [255, 255, DKIM.length - 510],
      out,
    );
    t.is(strings.join(''), DKIM);
  }
});

// ---- behaviours in dig's output -------------------------------------------------------------------

test('dig +tcp gets the answer over TCP', async (t) => {
  const out = await dig(S.port, ['+tcp', 'ns1.example.test']);
  t.regex(out, /;; SERVER: 127\.0\.0\.1#\d+\(127\.0\.0\.1\) \(TCP\)/);
  t.deepEqual(
    records(out).map((l) => [l.owner, l.type, l.rdata]),
    [['ns1.example.test.', 'A', '192.0.2.53']],
  );
  const big = await dig(S.port, ['+tcp', '+noall', '+answer', 'bigtxt.example.test', 'TXT']);
  t.is(records(big).length, 4);
});

test('dig +nsid shows our NSID', async (t) => {
  const out = await dig(S.port, ['+nsid', 'ns1.example.test']);
  t.regex(out, /; NSID: 6e 73 31 2e 74 65 73 74 2d 6e 73 69 64 \("ns1\.test-nsid"\)/);
  t.regex(out, /; EDNS: version: 0, flags:; udp: 1232/);
  const without = await dig(S.port, ['ns1.example.test']);
  t.notRegex(without, /NSID/);
});

test('dig +subnet: CLIENT-SUBNET echoed with scope 0 for a static name', async (t) => {
  const out = await dig(S.port, ['+subnet=81.2.69.0/24', 'ns1.example.test']);
  t.regex(out, /; CLIENT-SUBNET: 81\.2\.69\.0\/24\/0\n/);
  t.is(status(out), 'NOERROR');
  const v6 = await dig(S.port, ['+subnet=2001:db8:1200::/40', 'ns1.example.test']);
  t.regex(v6, /; CLIENT-SUBNET: 2001:db8:1200::\/40\/0\n/);
});

test('dig +norec: flags qr aa, no rd, no ra', async (t) => {
  const out = await dig(S.port, ['+norec', 'ns1.example.test']);
  t.deepEqual(flagsLine(out), ['qr', 'aa']);
  const rec = await dig(S.port, ['+rec', 'ns1.example.test']);
  t.deepEqual(flagsLine(rec), ['qr', 'aa', 'rd']);
});

test('dig shows NXDOMAIN with the SOA in authority', async (t) => {
  const out = await dig(S.port, ['nope.example.test']);
  t.regex(out, /;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: \d+/);
  t.regex(out, /ANSWER: 0, AUTHORITY: 1/);
  const soa = records(out);
  t.deepEqual(
    soa.map((l) => [l.owner, l.ttl, l.type]),
    [['example.test.', 60, 'SOA']],
  );
});

test('dig: a large TXT with +ignore +bufsize=512 shows tc; without +ignore dig retries over TCP', async (t) => {
  const out = await dig(S.port, ['+ignore', '+bufsize=512', 'bigtxt.example.test', 'TXT']);
  t.true(flagsLine(out).includes('tc'), out);
  t.regex(out, /ANSWER: 0,/);
  t.regex(out, /; EDNS: version: 0, flags:; udp: 1232/, 'OPT on the truncated reply');
  const noedns = await dig(S.port, ['+ignore', '+noedns', 'bigtxt.example.test', 'TXT']);
  t.true(flagsLine(noedns).includes('tc'), noedns);
  const retried = await dig(S.port, ['+bufsize=512', 'bigtxt.example.test', 'TXT']);
  t.regex(retried, /;; Truncated, retrying in TCP mode\./);
  t.false(flagsLine(retried).includes('tc'));
  t.is(records(retried).length, 4);
});

test('dig: the question is echoed in the case asked', async (t) => {
  const out = await dig(S.port, ['WwW.ExAmPlE.TeSt']);
  t.regex(out, /^;WwW\.ExAmPlE\.TeSt\.\s+IN\s+A$/m);
  const lines = records(out);
  t.is(lines[0]!.owner, 'WwW.ExAmPlE.TeSt.');
  t.is(lines[0]!.type, 'CNAME');
  t.deepEqual(
    lines.slice(1).map((l) => [l.owner.toLowerCase(), l.type, l.rdata]),
    [['ns1.example.test.', 'A', '192.0.2.53']],
  );
});

test('dig: REFUSED outside our zones', async (t) => {
  const out = await dig(S.port, ['www.example.net']);
  t.is(status(out), 'REFUSED');
  t.false(flagsLine(out).includes('aa'));
});

test('dig: a referral below a delegation has no aa, NS in authority and glue in additional', async (t) => {
  const out = await dig(S.port, ['+norec', 'www.sub.example.test']);
  t.is(status(out), 'NOERROR');
  t.deepEqual(flagsLine(out), ['qr']);
  t.regex(out, /;; AUTHORITY SECTION:\nsub\.example\.test\.\s+3600\s+IN\s+NS\s+ns\.sub\.example\.test\./);
  t.regex(out, /;; ADDITIONAL SECTION:\nns\.sub\.example\.test\.\s+3600\s+IN\s+A\s+192\.0\.2\.99/);
});

test('dig: CHAOS TXT version.bind and id.server', async (t) => {
  t.is((await dig(S.port, ['+short', 'CH', 'TXT', 'version.bind'])).trim(), '"steerdns-test"');
  t.is((await dig(S.port, ['+short', 'CH', 'TXT', 'id.server'])).trim(), '"ns1.test-nsid"');
});

test('dig: ANY gets one RRset (RFC 8482)', async (t) => {
  const out = await dig(S.port, ['+noall', '+answer', 'example.test', 'ANY']);
  const lines = records(out);
  t.true(lines.length > 0);
  t.is(new Set(lines.map((l) => `${l.owner} ${l.type}`)).size, 1, out);
  t.is(lines[0]!.type, 'MX');
});

test('dig: BADVERS for EDNS version 1', async (t) => {
  const out = await dig(S.port, ['+edns=1', '+noednsnegotiation', 'ns1.example.test']);
  t.is(status(out), 'BADVERS');
  t.regex(out, /; EDNS: version: 0,/);
});

test('dig: a pool name answers its addresses with the pool ttl', async (t) => {
  const lines = records(await dig(S.port, ['+noall', '+answer', 'app.example.test']));
  t.deepEqual(
    lines.map((l) => [l.owner, l.ttl, l.type, l.rdata]),
    [['app.example.test.', 20, 'A', '192.0.2.10']],
  );
});
