// End-to-end tests of docs/dns-behaviour.md over sockets: the real server on an ephemeral loopback port, asked
// with a dns-packet client over UDP and TCP (every transport-independent behaviour runs over both): header
// flags, error responses, EDNS and Client Subnet on the wire, sizes and truncation, CHAOS, rotation, TCP.
// The lookup rules themselves (wildcards, cuts and glue, CNAME chains, negative answers, ANY) are tested
// in-process, one table per topic, in lookup-*.test.ts.
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import packet from 'dns-packet';
import {
  BASE_CONFIG,
  decode,
  dig,
  type Msg,
  query,
  type Rec,
  type Reply,
  startServer,
  type TestServer,
  TRANSPORTS,
  tcpMany,
  u16,
  udpRaw,
} from '../helpers/server.js';
import { HOSTED_CHILD_ZONE, undelegatedZone } from '../helpers/zones.js';

// ---- fixture ---------------------------------------------------------------------------------

const letters = 'abcdefghijklmnopqrstuvwxyz';
/** `n` distinct TXT records of `len` octets each, as a YAML flow list. */
const txtList = (n: number, len: number) => `[${Array.from({ length: n }, (_, i) => `"${letters[i]!.repeat(len)}"`).join(', ')}]`;
const pad = (i: number) => String(i).padStart(2, '0');
const DKIM = `v=DKIM1; k=rsa; p=${'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5Zs7xWk'.repeat(12)}`; // 600 octets
const BIG_NS = 8;
const BIG_MX = 12;

const PARENT_ZONE = `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60, serial: 2024010101 }
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
  www: { CNAME: app }
  alias: { CNAME: ns1 }
  multi: { A: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4] }
  "*.static": { A: 192.0.2.80, TXT: ["wildcard"] }
  _sip._tcp: { SRV: [{ priority: 10, weight: 60, port: 5060, target: sip1 }, { priority: 10, weight: 40, port: 5060, target: sip2 }] }
  sip1: { A: 192.0.2.61 }
  sip2: { A: 192.0.2.62, AAAA: "2001:db8::62" }
  dkim._domainkey: { TXT: ["${DKIM}"] }
  txt800: { TXT: ${txtList(4, 180)} }
  txt1100: { TXT: ${txtList(5, 200)} }
  txt3000: { TXT: ${txtList(15, 200)} }
  app:
    TXT: ["a pool beside a TXT"]
    pool:
      ttl: 20
      check: { type: none }
      regions:
        us-east: [192.0.2.10, 192.0.2.11]
        eu-west: [198.51.100.10]
  sub:
    NS: [ns.sub, ns2]
    DS: { key_tag: 12345, algorithm: 13, digest_type: 2, digest: "2bb183af5f22588179a53b0a98631fad1a292118fb8fbbd5c3b3b1e5b6f3e0a1" }
  ns.sub: { A: 192.0.2.99, AAAA: "2001:db8::99" }
  nods: { NS: [ns.nods] }
  ns.nods: { A: 192.0.2.98 }
  deep: { NS: [ns1.deep] }
  ns1.deep: { A: 192.0.2.97 }
  big: { NS: [${Array.from({ length: BIG_NS }, (_, i) => `ns${pad(i)}.big`).join(', ')}] }
${Array.from({ length: BIG_NS }, (_, i) => `  ns${pad(i)}.big: { A: 192.0.2.${100 + i}, AAAA: "2001:db8::${100 + i}" }`).join('\n')}
  mxbig: { MX: [${Array.from({ length: BIG_MX }, (_, i) => `{ preference: ${i}, exchange: mx${pad(i)} }`).join(', ')}] }
${Array.from({ length: BIG_MX }, (_, i) => `  mx${pad(i)}: { A: 192.0.2.${150 + i}, AAAA: "2001:db8::${150 + i}" }`).join('\n')}
`;

const ZONES = {
  'example.test.yaml': PARENT_ZONE,
  'deep.example.test.yaml': HOSTED_CHILD_ZONE,
  'nocut.example.test.yaml': undelegatedZone('nocut.example.test'),
  'inner.nods.example.test.yaml': undelegatedZone('inner.nods.example.test'),
};
const NO_IDENTITY_CONFIG = BASE_CONFIG.replace(/^nsid:.*$/m, '').replace(/^version:.*$/m, '');

let S: TestServer;
test.before(async () => {
  S = await startServer(ZONES);
});
test.after.always(async () => {
  await S?.stop();
});

// ---- helpers ---------------------------------------------------------------------------------

type Transport = keyof typeof TRANSPORTS;

// Generous timeouts: the suite runs beside other heavy work, and a slow reply is not a missing one.
const PATIENT_MS = 8000;

async function udpAsk(port: number, msg: Buffer): Promise<Reply> {
  const raw = await udpRaw(port, msg, PATIENT_MS);
  if (!raw) throw new Error('no UDP reply');
  return decode(raw);
}

async function tcpAsk(port: number, msg: Buffer): Promise<Reply> {
  const [raw] = await tcpMany(port, [msg], '127.0.0.1', PATIENT_MS);
  return decode(raw!);
}

/** The harness's two transports (TRANSPORTS), with patient timeouts. */
const ASK: Record<Transport, (port: number, msg: Buffer) => Promise<Reply>> = { udp: udpAsk, tcp: tcpAsk };
type Ask = (msg: Buffer) => Promise<Reply>;

/** Registers the test once per transport: "<title> [udp]" and "<title> [tcp]". */
function both(title: string, fn: (t: ExecutionContext, ask: Ask, transport: Transport) => Promise<void>): void {
  for (const tr of Object.keys(TRANSPORTS) as Transport[]) {
    test(`${title} [${tr}]`, (t) => fn(t, (m) => ASK[tr](S.port, m), tr));
  }
}

interface EdnsOpts {
  payload?: number;
  version?: number;
  flags?: number;
  options?: { code: number; data: Buffer }[];
  rd?: boolean;
  klass?: string;
}

/** A query with an OPT record whose every field is chosen by the test. */
function ednsQuery(name: string, type: string, o: EdnsOpts = {}): Buffer {
  return packet.encode({
    type: 'query',
    id: (Math.random() * 0xffff) | 0,
    flags: o.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ name, type: type as packet.RecordType, class: (o.klass ?? 'IN') as packet.RecordClass }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: o.payload ?? 1232,
        ednsVersion: o.version ?? 0,
        extendedRcode: 0,
        flags: o.flags ?? 0,
        options: o.options ?? [],
      } as unknown as packet.Answer,
    ],
  });
}

function optOf(m: Msg): Rec | undefined {
  return (m.additionals ?? []).find((r) => r.type === 'OPT');
}

function plainAdditionals(m: Msg): Rec[] {
  return (m.additionals ?? []).filter((r) => r.type !== 'OPT');
}

const lc = (s: string) => s.toLowerCase();
const counts = (raw: Buffer) => ({ qd: raw.readUInt16BE(4), an: raw.readUInt16BE(6), ns: raw.readUInt16BE(8), ar: raw.readUInt16BE(10) });
const extendedRcode = (r: Reply) => ((optOf(r.msg)?.extendedRcode ?? 0) << 4) | (r.raw[3]! & 0x0f);

/** An ECS option body (RFC 7871 §6) built byte by byte, so malformed ones can be sent too. */
function ecs(family: number, source: number, address: number[], scope = 0): { code: number; data: Buffer } {
  const d = Buffer.alloc(4 + address.length);
  d.writeUInt16BE(family, 0);
  d[2] = source;
  d[3] = scope;
  Buffer.from(address).copy(d, 4);
  return { code: 8, data: d };
}

function withOpcode(msg: Buffer, opcode: number): Buffer {
  const b = Buffer.from(msg);
  b[2] = (b[2]! & 0x87) | (opcode << 3);
  return b;
}

/** Sends framed messages on one TCP connection and resolves with the first reply (or null after `ms`). */
function tcpFirstReply(port: number, msgs: Buffer[], ms = PATIENT_MS): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const done = (r: Buffer | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(null), ms);
    sock.on('connect', () => sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([u16(m.length), m])))));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
    sock.on('error', () => done(null));
  });
}

// ---- header flags ------------------------------------------------------------------------------

both('AA is set on authoritative answers, positive and negative', async (t, ask) => {
  for (const [name, type] of [
    ['ns1.example.test', 'A'],
    ['ns1.example.test', 'MX'],
    ['nope.example.test', 'A'],
    ['www.deep.example.test', 'A'],
  ]) {
    const r = await ask(query(name!, type!));
    t.true(r.msg.flag_aa, `${name} ${type}`);
  }
});

both('RA is never set (no recursion offered)', async (t, ask) => {
  const msgs = [
    query('ns1.example.test', 'A'),
    query('nope.example.test', 'A'),
    query('www.example.net', 'A'),
    query('x.sub.example.test', 'A'),
    query('id.server', 'TXT', { klass: 'CH' }),
    ednsQuery('ns1.example.test', 'A', { version: 1 }),
  ];
  for (const m of msgs) {
    const r = await ask(m);
    t.false(r.msg.flag_ra);
    t.is(r.raw[3]! & 0x80, 0);
  }
});

both('RD is copied from the query (RD=1 and RD=0)', async (t, ask) => {
  const on = await ask(query('ns1.example.test', 'A', { rd: true }));
  t.true(on.msg.flag_rd);
  t.true(on.msg.flag_aa);
  const off = await ask(query('ns1.example.test', 'A', { rd: false }));
  t.false(off.msg.flag_rd);
  t.true(off.msg.flag_aa);
  t.false(off.msg.flag_ra);
  // on error replies too
  const refused = await ask(query('www.example.net', 'A', { rd: false }));
  t.false(refused.msg.flag_rd);
  const refusedRd = await ask(query('www.example.net', 'A', { rd: true }));
  t.true(refusedRd.msg.flag_rd);
});

both('the reply echoes the query id', async (t, ask) => {
  const r = await ask(query('ns1.example.test', 'A', { id: 0xbeef }));
  t.is(r.msg.id, 0xbeef);
  t.is(r.msg.type, 'response');
});

// ---- DS at a hosted child apex, as dig prints it --------------------------------------------------

test("dig DS at an undelegated hosted child apex: NOERROR, aa, the child's SOA", async (t) => {
  const out = await dig(S.port, ['+norec', 'nocut.example.test', 'DS']);
  t.regex(out, /status: NOERROR/);
  t.regex(out, /flags: qr aa;/);
  t.regex(out, /ANSWER: 0, AUTHORITY: 1/);
  t.regex(out, /^nocut\.example\.test\.\s+45\s+IN\s+SOA\s+ns1\.nocut\.example\.test\./m);
});

// ---- referral and additional data sizes ---------------------------------------------------------

test('delegation: in-domain glue that does not fit 512 bytes sets TC=1 (RFC 9471); it fits with EDNS and over TCP', async (t) => {
  const full = await tcpAsk(S.port, query('www.big.example.test', 'A'));
  t.false(full.msg.flag_tc);
  t.false(full.msg.flag_aa);
  t.is(full.msg.authorities.length, BIG_NS);
  t.is(full.msg.additionals.length, 2 * BIG_NS, 'every in-domain glue address over TCP');
  t.true(full.raw.length > 512, `the full referral (${full.raw.length} bytes) is larger than 512`);
  const u = await udpAsk(S.port, query('www.big.example.test', 'A'));
  t.true(u.msg.flag_tc, 'TC=1 when mandatory glue does not fit');
  t.true(u.raw.length <= 512);
  const e = await udpAsk(S.port, query('www.big.example.test', 'A', { edns: true, payload: 1232 }));
  t.false(e.msg.flag_tc);
  t.is(plainAdditionals(e.msg).length, 2 * BIG_NS);
});

test('optional additional data (MX target addresses) that does not fit is left out without TC', async (t) => {
  const full = await tcpAsk(S.port, query('mxbig.example.test', 'MX'));
  t.is(full.msg.answers.length, BIG_MX);
  t.is(full.msg.additionals.length, 2 * BIG_MX);
  t.true(full.raw.length > 512);
  const u = await udpAsk(S.port, query('mxbig.example.test', 'MX'));
  t.false(u.msg.flag_tc, 'no TC for optional additional data');
  t.true(u.msg.flag_aa);
  t.is(u.msg.answers.length, BIG_MX, 'the whole answer');
  t.true(u.msg.additionals.length < 2 * BIG_MX, 'some additional data left out');
  t.true(u.raw.length <= 512, `${u.raw.length} bytes`);
  for (const a of u.msg.additionals) t.true(/^mx\d\d\.example\.test$/.test(lc(a.name)));
});

// ---- case ----------------------------------------------------------------------------------------

function assertReferral(t: ExecutionContext, m: Msg, label: string): void {
  t.is(m.rcode, 'NOERROR', label);
  t.false(m.flag_aa, `${label}: AA clear on a referral`);
  t.is(m.answers.length, 0, label);
  t.deepEqual(
    m.authorities.map((a) => [lc(a.name), a.type, lc(a.data)]).sort(),
    [
      ['sub.example.test', 'NS', 'ns.sub.example.test'],
      ['sub.example.test', 'NS', 'ns2.example.test'],
    ],
    label,
  );
  t.deepEqual(
    plainAdditionals(m)
      .map((a) => [lc(a.name), a.type, a.data])
      .sort(),
    [
      ['ns.sub.example.test', 'A', '192.0.2.99'],
      ['ns.sub.example.test', 'AAAA', '2001:db8::99'],
      ['ns2.example.test', 'A', '198.51.100.53'],
      ['ns2.example.test', 'AAAA', '2001:db8::53'],
    ],
    `${label}: glue in additional`,
  );
}

both('names match case-insensitively under a wildcard and at a cut; a synthesized owner is written as asked', async (t, ask) => {
  const r = await ask(query('Mixed.Static.example.test', 'A'));
  t.is(r.msg.rcode, 'NOERROR');
  t.true(r.msg.flag_aa);
  t.deepEqual(
    r.msg.answers.map((a) => [a.name, a.type, a.data]),
    [['Mixed.Static.example.test', 'A', '192.0.2.80']],
  );
  assertReferral(t, (await ask(query('SUB.example.TEST', 'AAAA'))).msg, 'SUB.example.TEST AAAA');
});

both('names match case-insensitively; the question is echoed exactly and the answer owner compresses to it', async (t, ask) => {
  const asked = 'WwW.ExAmPlE.TeSt';
  const q = query(asked, 'A');
  const r = await ask(q);
  t.is(r.msg.rcode, 'NOERROR');
  t.true(r.msg.flag_aa);
  t.is(r.msg.questions[0]!.name, asked);
  const qEnd = 12 + (asked.length + 2) + 4;
  t.deepEqual(r.raw.subarray(12, qEnd), q.subarray(12, qEnd), 'question bytes copied as asked');
  t.is(r.raw.readUInt16BE(qEnd), 0xc00c, 'answer owner is a pointer to the question name');
  t.is(r.msg.answers[0]!.name, asked);
  t.is(r.msg.answers[0]!.type, 'CNAME');
  t.true(r.msg.answers.slice(1).every((a) => a.type === 'A' && lc(a.name) === 'app.example.test'));
  const upper = await ask(query('NS1.EXAMPLE.TEST', 'A'));
  t.deepEqual(
    upper.msg.answers.map((a) => [a.name, a.data]),
    [['NS1.EXAMPLE.TEST', '192.0.2.53']],
  );
});

// ---- EDNS(0) ---------------------------------------------------------------------------------------

both('EDNS: OPT is echoed with our payload size 1232 on every reply to a query with OPT', async (t, ask) => {
  const cases: [string, Buffer][] = [
    ['answer', ednsQuery('ns1.example.test', 'A', { payload: 4096 })],
    ['NXDOMAIN', ednsQuery('nope.example.test', 'A')],
    ['NODATA', ednsQuery('ns1.example.test', 'MX')],
    ['referral', ednsQuery('x.sub.example.test', 'A')],
    ['REFUSED', ednsQuery('www.example.net', 'A')],
    ['NOTIMP', withOpcode(ednsQuery('ns1.example.test', 'A'), 4)],
    ['TC', ednsQuery('txt3000.example.test', 'TXT', { payload: 512 })],
    ['BADVERS', ednsQuery('ns1.example.test', 'A', { version: 1 })],
    ['FORMERR (bad ECS)', ednsQuery('ns1.example.test', 'A', { options: [ecs(3, 0, [])] })],
    ['CHAOS', ednsQuery('id.server', 'TXT', { klass: 'CH' })],
  ];
  for (const [label, q] of cases) {
    const r = await ask(q);
    const opts = r.msg.additionals.filter((a) => a.type === 'OPT');
    t.is(opts.length, 1, `${label}: one OPT`);
    t.is(opts[0]?.name, '.', label);
    t.is(opts[0]?.udpPayloadSize, 1232, `${label}: payload size`);
    t.is(opts[0]?.ednsVersion, 0, label);
  }
  // and none without OPT in the query
  const plain = await ask(query('ns1.example.test', 'A'));
  t.is(optOf(plain.msg), undefined);
});

both('EDNS: BADVERS for version 1 (header rcode 0, OPT extended rcode 1)', async (t, ask) => {
  const r = await ask(ednsQuery('ns1.example.test', 'A', { version: 1 }));
  t.is(r.raw[3]! & 0x0f, 0, 'header rcode bits');
  t.is(optOf(r.msg)?.extendedRcode, 1);
  t.is(extendedRcode(r), 16, 'BADVERS = 16');
  t.is(r.msg.answers.length, 0);
  t.is(optOf(r.msg)?.ednsVersion, 0, 'we answer with the version we support');
  const v2 = await ask(ednsQuery('ns1.example.test', 'A', { version: 2 }));
  t.is(extendedRcode(v2), 16);
});

both('EDNS: unknown options are ignored and not echoed', async (t, ask) => {
  const r = await ask(
    ednsQuery('ns1.example.test', 'A', {
      options: [
        { code: 65001, data: Buffer.from('hello') },
        { code: 10, data: Buffer.from('0123456789abcdef') },
      ],
    }),
  );
  t.is(r.msg.rcode, 'NOERROR');
  t.deepEqual(
    r.msg.answers.map((a) => a.data),
    ['192.0.2.53'],
  );
  t.deepEqual(optOf(r.msg)?.options, []);
});

both('EDNS: NSID is returned when asked (option 3, empty) and not otherwise', async (t, ask) => {
  const r = await ask(ednsQuery('ns1.example.test', 'A', { options: [{ code: 3, data: Buffer.alloc(0) }] }));
  const nsid = optOf(r.msg)?.options?.filter((o) => o.code === 3) ?? [];
  t.is(nsid.length, 1);
  t.is(nsid[0]!.data.toString(), 'ns1.test-nsid');
  const none = await ask(ednsQuery('ns1.example.test', 'A'));
  t.deepEqual(optOf(none.msg)?.options, []);
});

test('EDNS: no NSID option when the server has no nsid configured', async (t) => {
  const s = await startServer(ZONES, NO_IDENTITY_CONFIG);
  try {
    for (const ask of Object.values(ASK)) {
      const r = await ask(s.port, ednsQuery('ns1.example.test', 'A', { options: [{ code: 3, data: Buffer.alloc(0) }] }));
      t.is(r.msg.rcode, 'NOERROR');
      t.deepEqual(optOf(r.msg)?.options, []);
    }
  } finally {
    await s.stop();
  }
});

both('EDNS: the DO bit is copied', async (t, ask) => {
  const on = await ask(ednsQuery('ns1.example.test', 'A', { flags: 0x8000 }));
  t.is((optOf(on.msg)?.flags ?? 0) & 0x8000, 0x8000);
  const off = await ask(ednsQuery('ns1.example.test', 'A', { flags: 0 }));
  t.is((optOf(off.msg)?.flags ?? 0) & 0x8000, 0);
});

// ---- ECS (RFC 7871) ------------------------------------------------------------------------------

both('ECS: echoed with the same family, source prefix and address, scope 0 for a static answer', async (t, ask) => {
  const cases = [
    ecs(1, 24, [81, 2, 69]),
    ecs(1, 32, [81, 2, 69, 7]),
    ecs(1, 20, [81, 2, 64]),
    ecs(2, 56, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x12]),
    ecs(1, 0, []),
  ];
  for (const opt of cases) {
    const r = await ask(ednsQuery('ns1.example.test', 'A', { options: [opt] }));
    t.is(r.msg.rcode, 'NOERROR');
    t.deepEqual(
      r.msg.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
    const echoed = optOf(r.msg)?.options?.filter((o) => o.code === 8) ?? [];
    t.is(echoed.length, 1);
    t.deepEqual(echoed[0]!.data, opt.data, `echoed byte for byte with scope 0: ${opt.data.toString('hex')}`);
    t.is(echoed[0]!.scopePrefixLength, 0);
  }
});

both('ECS: malformed options get FORMERR', async (t, ask) => {
  const bad: [string, { code: number; data: Buffer }][] = [
    ['family 3', ecs(3, 24, [81, 2, 69])],
    ['source prefix 33 for IPv4', ecs(1, 33, [81, 2, 69, 7, 0])],
    ['source prefix 129 for IPv6', ecs(2, 129, new Array<number>(17).fill(0))],
    ['address longer than the prefix needs', ecs(1, 24, [81, 2, 69, 0])],
    ['address shorter than the prefix needs', ecs(1, 24, [81, 2])],
    ['bits set past the prefix', ecs(1, 20, [81, 2, 79])],
    ['option body too short', { code: 8, data: Buffer.from([0, 1, 24]) }],
  ];
  for (const [label, opt] of bad) {
    const r = await ask(ednsQuery('ns1.example.test', 'A', { options: [opt] }));
    t.is(r.msg.rcode, 'FORMERR', label);
    t.is(r.msg.answers.length, 0, label);
    t.truthy(optOf(r.msg), `${label}: OPT on the FORMERR`);
  }
});

test('geoip.ecs: false — ECS is neither used nor echoed (RFC 7871 §7.2.1); a malformed one is ignored like any unknown option, not FORMERR', async (t) => {
  const s = await startServer(ZONES, `${BASE_CONFIG}geoip: { ecs: false }\n`);
  try {
    const nsid = { code: 3, data: Buffer.alloc(0) };
    const options: [string, { code: number; data: Buffer }[]][] = [
      ['a valid ECS', [ecs(1, 24, [81, 2, 69])]],
      ['a valid IPv6 ECS and NSID', [nsid, ecs(2, 56, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x12])]],
      ['family 3', [ecs(3, 24, [81, 2, 69])]],
      ['bits set past the prefix', [ecs(1, 20, [81, 2, 79])]],
      ['option body too short', [{ code: 8, data: Buffer.from([0, 1, 24]) }]],
      ['two ECS options', [ecs(1, 24, [81, 2, 69]), ecs(1, 24, [192, 0, 2])]],
    ];
    const responder = (s.server as unknown as { answering: { responder: { slowParse: boolean } } }).answering.responder;
    // both readers of the OPT record: the direct one, and the full decoder (other message shapes)
    for (const [tr, ask, slow] of [
      ['udp', ASK.udp, false],
      ['tcp', ASK.tcp, false],
      ['udp', ASK.udp, true],
    ] as const) {
      responder.slowParse = slow;
      for (const [label, opts] of options) {
        const what = `${label} [${tr}${slow ? ', full decoder' : ''}]`;
        const r = await ask(s.port, ednsQuery('app.example.test', 'A', { options: opts }));
        t.is(r.msg.rcode, 'NOERROR', what);
        t.true(r.msg.answers.length > 0, what);
        const opt = optOf(r.msg);
        t.truthy(opt, `${what}: OPT in the reply`);
        t.deepEqual(
          (opt?.options ?? []).filter((o) => o.code === 8),
          [],
          `${what}: no ECS option in the reply`,
        );
        // the other options are still read: NSID answered when asked
        t.is(
          (opt?.options ?? []).some((o) => o.code === 3),
          opts.includes(nsid),
          `${what}: NSID`,
        );
      }
    }
  } finally {
    await s.stop();
  }
});

// ---- size limits and truncation ------------------------------------------------------------------

test('UDP answers never exceed min(max(client size, 512), 1232) bytes; TCP gets the full answer', async (t) => {
  const expectTc: Record<string, Record<string, boolean>> = {
    // name → client size (none = no EDNS) → truncated?
    'txt800.example.test': { none: true, 100: true, 512: true, 1000: false, 4096: false },
    'txt1100.example.test': { none: true, 100: true, 512: true, 1000: true, 4096: false },
    'txt3000.example.test': { none: true, 100: true, 512: true, 1000: true, 4096: true },
    'ns1.example.test': { none: false, 100: false, 512: false, 1000: false, 4096: false },
  };
  for (const [name, bySize] of Object.entries(expectTc)) {
    for (const [size, tc] of Object.entries(bySize)) {
      const payload = size === 'none' ? null : Number(size);
      const limit = payload === null ? 512 : Math.min(Math.max(payload, 512), 1232);
      const msg = payload === null ? query(name, 'TXT') : ednsQuery(name, 'TXT', { payload });
      const label = `${name} size ${size}`;
      const u = await udpAsk(S.port, msg);
      const full = await tcpAsk(S.port, msg);
      t.false(full.msg.flag_tc, `${label}: TCP not truncated`);
      t.true(u.raw.length <= limit, `${label}: ${u.raw.length} bytes > ${limit}`);
      t.is(u.msg.flag_tc, tc, `${label}: TC`);
      t.is(full.raw.length > limit, tc, `${label}: TC exactly when the full answer (${full.raw.length}) exceeds ${limit}`);
      if (!tc)
        t.deepEqual(
          u.msg.answers.map((a) => a.data),
          full.msg.answers.map((a) => a.data),
          label,
        );
      if (payload !== null) t.truthy(optOf(u.msg), `${label}: OPT`);
    }
  }
});

test('truncation: a UDP answer over the limit is header + question with TC=1; the same query over TCP gets it all', async (t) => {
  for (const msg of [query('txt3000.example.test', 'TXT'), ednsQuery('txt3000.example.test', 'TXT', { payload: 4096 })]) {
    const u = await udpAsk(S.port, msg);
    t.true(u.msg.flag_tc);
    t.true(u.msg.flag_aa);
    t.is(u.msg.rcode, 'NOERROR');
    const c = counts(u.raw);
    t.is(c.qd, 1);
    t.is(c.an, 0);
    t.is(c.ns, 0);
    t.is(plainAdditionals(u.msg).length, 0);
    t.is(u.msg.questions[0]!.name, 'txt3000.example.test');
    const full = await tcpAsk(S.port, msg);
    t.false(full.msg.flag_tc);
    t.is(full.msg.answers.length, 15);
    t.true(full.raw.length > 3000);
  }
});

// ---- malformed and unsupported queries -----------------------------------------------------------

both('FORMERR for QDCOUNT 0 and QDCOUNT 2 (the header is readable)', async (t, ask) => {
  const zero = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
  const r0 = await ask(zero);
  t.is(r0.msg.rcode, 'FORMERR');
  t.is(r0.msg.id, 0x1234);
  t.true(r0.msg.flag_rd);
  t.is(r0.msg.type, 'response');
  const two = packet.encode({
    type: 'query',
    id: 0x4321,
    flags: 0,
    questions: [
      { name: 'ns1.example.test', type: 'A', class: 'IN' },
      { name: 'ns2.example.test', type: 'A', class: 'IN' },
    ],
  });
  const r2 = await ask(two);
  t.is(r2.msg.rcode, 'FORMERR');
  t.is(r2.msg.id, 0x4321);
  t.is(r2.msg.answers.length, 0);
});

both('FORMERR replies to a query with QDCOUNT 0 or 2 and a valid OPT carry OPT', async (t, ask) => {
  const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, options: [] } as unknown as packet.Answer;
  const zero = packet.encode({ type: 'query', id: 0x5150, flags: 0, questions: [], additionals: [opt] });
  const two = packet.encode({
    type: 'query',
    id: 0x5151,
    flags: 0,
    additionals: [opt],
    questions: [
      { name: 'ns1.example.test', type: 'A', class: 'IN' },
      { name: 'ns2.example.test', type: 'A', class: 'IN' },
    ],
  });
  for (const q of [zero, two]) {
    const r = await ask(q);
    t.is(r.msg.rcode, 'FORMERR');
    t.is(optOf(r.msg)?.udpPayloadSize, 1232);
  }
});

both('FORMERR for a record that runs past the end of the message', async (t, ask) => {
  const q = ednsQuery('ns1.example.test', 'A');
  const r = await ask(q.subarray(0, q.length - 2)); // OPT without its RDLENGTH
  t.is(r.msg.rcode, 'FORMERR');
  const a = query('ns1.example.test', 'A');
  a.writeUInt16BE(1, 6); // ANCOUNT 1, but no answer record follows
  t.is((await ask(a)).msg.rcode, 'FORMERR');
});

both('FORMERR for two OPT records', async (t, ask) => {
  const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, options: [] } as unknown as packet.Answer;
  const q = packet.encode({
    type: 'query',
    id: 9,
    flags: 0,
    questions: [{ name: 'ns1.example.test', type: 'A', class: 'IN' }],
    additionals: [opt, opt],
  });
  const r = await ask(q);
  t.is(r.msg.rcode, 'FORMERR');
});

both('FORMERR for an unparsable question', async (t, ask) => {
  const q = query('www.example.test', 'A', { id: 0x2222 });
  const cases: [string, Buffer][] = [
    ['name cut short', q.subarray(0, 12 + 6)],
    ['no QTYPE/QCLASS', q.subarray(0, q.length - 4)],
    ['label length past the end', Buffer.concat([q.subarray(0, 12), Buffer.from([40, 0x61, 0x62])])],
    ['reserved label type', Buffer.concat([q.subarray(0, 12), Buffer.from([0x80, 0x61, 0, 0, 1, 0, 1])])],
  ];
  for (const [label, bytes] of cases) {
    const r = await ask(bytes);
    t.is(r.msg.rcode, 'FORMERR', label);
    t.is(r.msg.id, 0x2222, label);
  }
});

both('FORMERR for a query of type OPT', async (t, ask) => {
  const r = await ask(query('ns1.example.test', 'OPT'));
  t.is(r.msg.rcode, 'FORMERR');
});

test('fewer than 12 bytes: no reply (UDP), and the server keeps answering', async (t) => {
  for (const bytes of [Buffer.alloc(0), Buffer.from([1]), Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0])]) {
    t.is(await udpRaw(S.port, bytes, 300), null, `${bytes.length} bytes`);
  }
  const r = await udpAsk(S.port, query('ns1.example.test', 'A'));
  t.deepEqual(
    r.msg.answers.map((a) => a.data),
    ['192.0.2.53'],
  );
});

test('fewer than 12 bytes: no reply (TCP), the next query on the connection is answered', async (t) => {
  const good = query('ns1.example.test', 'A', { id: 0x7777 });
  const first = await tcpFirstReply(S.port, [Buffer.from([1, 2, 3]), good]);
  t.truthy(first);
  t.is(decode(first!).msg.id, 0x7777);
});

both('NOTIMP for opcodes other than QUERY (STATUS, NOTIFY, UPDATE)', async (t, ask) => {
  for (const [opcode, name] of [
    [2, 'STATUS'],
    [4, 'NOTIFY'],
    [5, 'UPDATE'],
  ] as const) {
    const r = await ask(withOpcode(query('example.test', 'SOA', { id: 0x3000 + opcode }), opcode));
    t.is(r.msg.rcode, 'NOTIMP', name);
    t.is(r.msg.opcode, name, `${name} echoed`);
    t.is(r.msg.id, 0x3000 + opcode);
    t.is(r.msg.answers.length, 0);
  }
});

test('packets with QR=1 are dropped (UDP)', async (t) => {
  const q = query('ns1.example.test', 'A');
  q[2]! |= 0x80;
  t.is(await udpRaw(S.port, q, 300), null);
});

test('packets with QR=1 are dropped (TCP), the next query on the connection is answered', async (t) => {
  const q = query('ns1.example.test', 'A', { id: 0x1111 });
  q[2]! |= 0x80;
  const good = query('ns1.example.test', 'A', { id: 0x2222 });
  const first = await tcpFirstReply(S.port, [q, good]);
  t.truthy(first);
  t.is(decode(first!).msg.id, 0x2222);
});

both('REFUSED for class CH other than the identity names, for class HS and ANY', async (t, ask) => {
  for (const [name, type, klass] of [
    ['ns1.example.test', 'A', 'CH'],
    ['authors.bind', 'TXT', 'CH'],
    ['ns1.example.test', 'A', 'HS'],
    ['ns1.example.test', 'A', 'ANY'],
  ]) {
    const r = await ask(query(name!, type!, { klass }));
    t.is(r.msg.rcode, 'REFUSED', `${name} ${klass}`);
    t.is(r.msg.answers.length, 0);
  }
});

both('AXFR and IXFR are REFUSED', async (t, ask) => {
  for (const type of ['AXFR', 'IXFR']) {
    for (const name of ['example.test', 'deep.example.test']) {
      const r = await ask(query(name, type));
      t.is(r.msg.rcode, 'REFUSED', `${type} ${name}`);
      t.is(r.msg.answers.length, 0);
    }
  }
});

// ---- ANY (RFC 8482) --------------------------------------------------------------------------------
// The choice of RRset is tested in-process (lookup-any.test.ts); here: TCP gets the same minimal answer.

test('minimal ANY over TCP as over UDP: one RRset, the same one (RFC 8482 §4.1, docs/dns-behaviour.md#minimal-any)', async (t) => {
  const names = ['alias', 'mail', 'ns2', 'mailonly', 'txtonly', 'multi', 'app', '_sip._tcp', 'x.static'].map((n) => `${n}.example.test`);
  for (const name of [...names, 'example.test', 'deep.example.test']) {
    const rrsets = (m: Msg) => [...new Set(m.answers.map((a) => `${lc(a.name)} ${a.type}`))];
    const u = await udpAsk(S.port, query(name, 'ANY'));
    const c = await tcpAsk(S.port, query(name, 'ANY'));
    t.is(c.msg.rcode, 'NOERROR', name);
    t.true(c.msg.flag_aa, name);
    t.is(rrsets(c.msg).length, 1, `${name} over TCP: exactly one RRset, got ${rrsets(c.msg).join(', ')}`);
    t.deepEqual(rrsets(c.msg), rrsets(u.msg), name);
    t.is(c.msg.answers.length, u.msg.answers.length, name);
  }
});

// ---- CHAOS -----------------------------------------------------------------------------------------

both('CHAOS: another type at an identity name is NODATA (the name exists, with TXT only)', async (t, ask) => {
  const r = await ask(query('hostname.bind', 'A', { klass: 'CH' }));
  t.is(r.msg.rcode, 'NOERROR');
  t.true(r.msg.flag_aa);
  t.is(r.msg.answers.length, 0);
  const other = await ask(query('nothing.bind', 'TXT', { klass: 'CH' }));
  t.is(other.msg.rcode, 'REFUSED');
});

both('CHAOS TXT id.server and hostname.bind answer the NSID; version.bind the configured version', async (t, ask) => {
  for (const [name, text] of [
    ['id.server', 'ns1.test-nsid'],
    ['hostname.bind', 'ns1.test-nsid'],
    ['version.bind', 'steerdns-test'],
    ['VERSION.BIND', 'steerdns-test'],
  ]) {
    const r = await ask(query(name!, 'TXT', { klass: 'CH' }));
    t.is(r.msg.rcode, 'NOERROR', name);
    t.is(r.msg.answers.length, 1, name);
    const a = r.msg.answers[0]!;
    t.is(a.name, name);
    t.is(a.class, 'CH');
    t.is(a.type, 'TXT');
    t.is(Buffer.concat(a.data).toString(), text);
    t.is(r.msg.questions[0]!.class, 'CH');
  }
});

test('CHAOS version.bind and id.server are REFUSED when version/nsid are not configured', async (t) => {
  const s = await startServer(ZONES, NO_IDENTITY_CONFIG);
  try {
    for (const [tr, ask] of Object.entries(ASK)) {
      for (const name of ['version.bind', 'id.server', 'hostname.bind']) {
        const r = await ask(s.port, query(name, 'TXT', { klass: 'CH' }));
        t.is(r.msg.rcode, 'REFUSED', `${name} ${tr}`);
        t.is(r.msg.answers.length, 0);
      }
      const ok = await ask(s.port, query('ns1.example.test', 'A'));
      t.is(ok.msg.rcode, 'NOERROR');
    }
  } finally {
    await s.stop();
  }
});

// ---- rotation ----------------------------------------------------------------------------------

for (const tr of Object.keys(TRANSPORTS) as Transport[]) {
  test(`static multi-address RRsets rotate their order across consecutive responses [${tr}]`, async (t) => {
    const s = await startServer(ZONES); // its own server: nothing else moves the rotation
    try {
      const all = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
      const orders: string[][] = [];
      for (let i = 0; i < all.length; i++) {
        const r = await ASK[tr](s.port, query('multi.example.test', 'A'));
        orders.push(r.msg.answers.map((a) => a.data as string));
      }
      for (const o of orders) {
        t.deepEqual([...o].sort(), all, 'every address every time');
        const k = all.indexOf(o[0]!);
        t.deepEqual(o, [...all.slice(k), ...all.slice(0, k)], 'a rotation of the written order');
      }
      t.is(new Set(orders.map((o) => o[0])).size, all.length, `each consecutive response starts elsewhere: ${JSON.stringify(orders)}`);
    } finally {
      await s.stop();
    }
  });
}

// ---- long TXT ----------------------------------------------------------------------------------

both('TXT longer than 255 octets is one record of several character-strings', async (t, ask) => {
  const r = await ask(query('dkim._domainkey.example.test', 'TXT', { edns: true })); // 600+ octets: over 512
  t.is(r.msg.rcode, 'NOERROR');
  t.false(r.msg.flag_tc);
  t.is(r.msg.answers.length, 1);
  const parts = r.msg.answers[0]!.data as Buffer[];
  t.deepEqual(
    parts.map((p) => p.length),
    [255, 255, DKIM.length - 510],
  );
  t.is(Buffer.concat(parts).toString(), DKIM);
  // RDLENGTH covers exactly the strings with their length bytes
  const raw = r.raw;
  const rdlenAt = 12 + ('dkim._domainkey.example.test'.length + 2) + 4 + 2 + 2 + 2 + 4;
  t.is(raw.readUInt16BE(rdlenAt), DKIM.length + parts.length);
});

// ---- TCP (RFC 7766) -------------------------------------------------------------------------------

test('TCP: several pipelined queries on one connection each get their answer', async (t) => {
  const names = ['ns1', 'ns2', 'mail', 'nope', 'alias', 'x.static', 'x.sub', 'txt3000'].map((n) => `${n}.example.test`);
  const msgs = names.map((n, i) => query(n, n.startsWith('txt') ? 'TXT' : 'A', { id: 0x6000 + i }));
  const replies = (await tcpMany(S.port, msgs, '127.0.0.1', PATIENT_MS)).map((r) => decode(r).msg);
  t.is(replies.length, msgs.length);
  const byId = new Map(replies.map((m) => [m.id, m]));
  names.forEach((n, i) => {
    const m = byId.get(0x6000 + i);
    t.truthy(m, n);
    t.is(lc(m!.questions[0]!.name), n);
  });
  t.deepEqual(
    byId.get(0x6000)!.answers.map((a) => a.data),
    ['192.0.2.53'],
  );
  t.is(byId.get(0x6003)!.rcode, 'NXDOMAIN');
  t.is(byId.get(0x6007)!.answers.length, 15, 'a large answer in the middle of the pipeline');
});

interface Conn {
  ask(msg: Buffer): Promise<Buffer>;
  closed: Promise<number>;
  destroy(): void;
}

/** One TCP connection: ask() sends a framed query and resolves with the next reply; `closed` resolves with the close time. */
function connect(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const waiting: ((b: Buffer) => void)[] = [];
    const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now())));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + m.length);
        waiting.shift()?.(m);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.once('connect', () =>
      resolve({
        ask: (msg) =>
          new Promise((r) => {
            waiting.push(r);
            sock.write(Buffer.concat([u16(msg.length), msg]));
          }),
        closed,
        destroy: () => sock.destroy(),
      }),
    );
    sock.once('error', reject);
  });
}

function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);
}

test('TCP: an idle connection is closed after limits.tcp_idle', async (t) => {
  const s = await startServer(ZONES, `${BASE_CONFIG}\nlimits: { tcp_idle: 300ms }\n`);
  try {
    const c = await connect(s.port);
    // the server counts idle time from when the query arrived, which is after it was sent: a lower bound
    // that holds however late the answer reaches this (possibly busy) test process
    const sentAt = Date.now();
    const r = decode(await c.ask(query('ns1.example.test', 'A'))).msg;
    t.deepEqual(
      r.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
    const closedAt = await within(c.closed, PATIENT_MS);
    t.not(closedAt, 'timeout', 'the idle connection was closed');
    t.true((closedAt as number) - sentAt >= 300, `closed ${(closedAt as number) - sentAt} ms after the query was sent`);
  } finally {
    await s.stop();
  }
});

test('TCP: at limits.tcp_connections the longest-idle connection is closed', async (t) => {
  const s = await startServer(ZONES, `${BASE_CONFIG}\nlimits: { tcp_connections: 2, tcp_idle: 30s }\n`);
  try {
    const q = () => query('ns1.example.test', 'A');
    const c1 = await connect(s.port);
    await c1.ask(q());
    await new Promise((r) => setTimeout(r, 20));
    const c2 = await connect(s.port);
    await c2.ask(q());
    const c3 = await connect(s.port);
    t.not(await within(c1.closed, PATIENT_MS), 'timeout', 'the longest-idle connection was closed');
    // the newer connections still answer
    t.deepEqual(
      decode(await c3.ask(q())).msg.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
    t.deepEqual(
      decode(await c2.ask(q())).msg.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
    c2.destroy();
    c3.destroy();
  } finally {
    await s.stop();
  }
});
