// The direct query reader (header, question and a lone OPT read from the bytes: readQuestion, readOptFast,
// the direct path of parseQuery) against the full decoder (dns-packet, `parseQuery(msg, { slow: true })`):
// on thousands of generated queries both must yield the same parse and byte-identical responses from the
// same answer path, the direct path must really be the one taken for the common shapes (`how.took`), and
// every response must carry the records lookup() gives for its question.
import test from 'ava';
import packet from 'dns-packet';
import type { Transport } from '../../src/dns/exchange.js';
import { parseQuery } from '../../src/dns/query.js';
import type { RRset } from '../../src/dns/rrset.js';
import { type GslbEnv, poolResolver } from '../../src/gslb/decide.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { Responder } from '../../src/pipeline.js';
import { lookup } from '../helpers/object-lookup.js';
import type { Msg, Rec } from '../helpers/server.js';
import { ednsOption, nameOfLength, optRecord, rawQuery, wireName } from '../helpers/wire.js';
import { loadZonesFixture, mulberry32, poolHooks, respondOnce } from '../helpers/zones.js';

// the repository's sample zones plus big.test (answers over 512 and over 1232 bytes, additional data that
// does not fit, a delegation whose mandatory glue does not fit 512)
const fixture = loadZonesFixture();
test.after.always(() => fixture.cleanup());
const { config, snapshot } = fixture;

const NAMES = [
  'www.example.test',
  'WWW.Example.TEST',
  'app.example.test',
  'api.example.test',
  'example.test',
  'static.example.test',
  'x.static.example.test',
  'nope.example.test',
  'sub.example.test',
  'deep.x.sub.example.test',
  'ns1.example.test',
  'mail.example.test',
  '_sip._tcp.example.test',
  'dkim._domainkey.example.test',
  '80.2.0.192.in-addr.arpa',
  'example.com',
  'version.bind',
  'id.server',
];
/** Names in big.test: many A and AAAA, long TXT, MX with 12 in-zone targets, a delegation with 20 glue RRsets. */
const BIG_NAMES = [
  'big.test',
  'Big.TEST',
  'many.big.test',
  'MANY.big.test',
  'big.big.test',
  'mid.big.test',
  'alias.big.test',
  'x.w.big.test',
  'deleg.big.test',
  'a.deleg.big.test',
  'ns0.deleg.big.test',
];
// A AAAA MX TXT NS SOA SRV CNAME ANY DS CAA PTR TLSA NAPTR SSHFP AXFR OPT
const TYPES = [1, 28, 15, 16, 2, 6, 33, 5, 255, 43, 257, 12, 52, 35, 44, 252, 41];
const PAYLOADS = [0, 1, 511, 512, 700, 1232, 1400, 4096, 65535];

type Path = 'direct' | 'decoder';

interface Generated {
  msg: Buffer;
  shape: string;
  /** The path parseQuery must take without `slow` (with it, always the full decoder). */
  path: Path;
  /** Octets of the question (name, type, class) on the wire. */
  questionLength: number;
  /** The fields of the OPT, for the shape with one OPT right after the question. */
  opt: { payload: number; version: number; flags: number } | null;
}

function ecsOption(rnd: () => number): Buffer {
  const v6 = rnd() < 0.3;
  const max = v6 ? 128 : 32;
  const prefix = Math.floor(rnd() * (max + 1));
  const addr = Buffer.alloc(Math.ceil(prefix / 8));
  for (let i = 0; i < addr.length; i++) addr[i] = Math.floor(rnd() * 256);
  if (prefix % 8 && rnd() < 0.9) addr[addr.length - 1]! &= (0xff << (8 - (prefix % 8))) & 0xff; // mostly well-formed
  const head = Buffer.alloc(4);
  head.writeUInt16BE(v6 ? 2 : rnd() < 0.05 ? 3 : 1, 0);
  head[2] = rnd() < 0.03 ? max + 1 : prefix;
  return ednsOption(8, Buffer.concat([head, addr]));
}

// an A record owned by the question's name (a pointer to it), as some clients add to the additional section
const A_RECORD = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);

/** Message shapes the direct reader leaves to the full decoder (some valid, most FORMERR). */
const DECODER_SHAPES: Record<string, (base: Parameters<typeof rawQuery>[0], opt: () => Buffer) => Buffer> = {
  'two OPT': (b, opt) => rawQuery({ ...b, records: [opt(), opt()] }),
  'A record, then OPT': (b, opt) => rawQuery({ ...b, records: [A_RECORD, opt()] }),
  'OPT, then A record': (b, opt) => rawQuery({ ...b, records: [opt(), A_RECORD] }),
  'A record, no OPT': (b) => rawQuery({ ...b, records: [A_RECORD] }),
  'OPT owner not the root': (b) => rawQuery({ ...b, records: [optRecord({ owner: wireName('x') })] }),
  'bytes after the question': (b) => rawQuery({ ...b, trailing: Buffer.from([0, 0, 0]) }),
  'bytes after the OPT': (b, opt) => rawQuery({ ...b, records: [opt()], trailing: Buffer.from([0xff]) }),
  'OPT cut short': (b, opt) => {
    const m = rawQuery({ ...b, records: [opt()] });
    return m.subarray(0, m.length - 3);
  },
  'option longer than the OPT RDATA': (b) => {
    const o = ednsOption(3, Buffer.from('abcd'));
    o.writeUInt16BE(9, 2);
    return rawQuery({ ...b, records: [optRecord({ options: [o] })] });
  },
  'OPT in the answer section': (b, opt) => rawQuery({ ...b, counts: [1, 1, 0, 0], records: [opt()] }),
  'OPT in the authority section': (b, opt) => rawQuery({ ...b, counts: [1, 0, 1, 0], records: [opt()] }),
  'QDCOUNT 2': (b) => rawQuery({ ...b, counts: [2, 0, 0, 0], trailing: rawQuery(b).subarray(12) }),
};
const DECODER_SHAPE_NAMES = Object.keys(DECODER_SHAPES);

function generate(rnd: () => number, names = NAMES): Generated {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const name = pick(names);
  const qtype = pick(TYPES);
  const qclass = rnd() < 0.05 ? 3 : 1;
  let flags = rnd() < 0.5 ? 0x0100 : 0; // RD
  if (rnd() < 0.05) flags |= 0x0010; // CD
  if (rnd() < 0.02) flags |= (1 + Math.floor(rnd() * 15)) << 11; // an opcode other than QUERY: NOTIMP
  const base = { id: Math.floor(rnd() * 65536), flags, name, qtype, qclass };
  const questionLength = wireName(name).length + 4;
  const r = rnd();
  if (r < 0.3) return { msg: rawQuery(base), shape: 'question only', path: 'direct', questionLength, opt: null };
  if (r < 0.9) {
    const options: Buffer[] = [];
    if (rnd() < 0.4) options.push(ednsOption(3)); // NSID
    if (rnd() < 0.6) options.push(ecsOption(rnd));
    if (rnd() < 0.2) options.push(ednsOption(10, Buffer.from('cookie!!')));
    if (rnd() < 0.1) options.push(ednsOption(16 + Math.floor(rnd() * 65000), Buffer.alloc(Math.floor(rnd() * 9), 0x5a))); // unknown
    if (rnd() < 0.05) options.push(ecsOption(rnd)); // a second ECS: FORMERR
    const opt = {
      payload: pick(PAYLOADS),
      version: rnd() < 0.08 ? 1 + Math.floor(rnd() * 255) : 0, // > 0: BADVERS
      flags: (rnd() < 0.3 ? 0x8000 : 0) | (rnd() < 0.05 ? Math.floor(rnd() * 0x8000) : 0), // DO, and Z bits now and then
    };
    const extRcode = rnd() < 0.03 ? 1 + Math.floor(rnd() * 255) : 0; // meaningless in a query: ignored
    return {
      msg: rawQuery({ ...base, records: [optRecord({ ...opt, extRcode, options })] }),
      shape: 'one OPT',
      path: 'direct',
      questionLength,
      opt,
    };
  }
  const shape = pick(DECODER_SHAPE_NAMES);
  const opt = () => optRecord({ payload: pick(PAYLOADS), options: rnd() < 0.5 ? [ednsOption(3)] : [] });
  return { msg: DECODER_SHAPES[shape]!(base, opt), shape, path: 'decoder', questionLength, opt: null };
}

test('parse: the direct reader and the full decoder agree on 20,000 generated queries, and the direct path is the one taken for the common shapes', (t) => {
  const rnd = mulberry32(0xd1ff);
  const took: Record<Path, number> = { direct: 0, decoder: 0 };
  const shapes = new Map<string, { n: number; formerr: number }>();
  const problems: string[] = [];
  let versions = 0;
  let versionsWithBadEcs = 0;
  let dnssecOk = 0;
  for (let i = 0; i < 20_000; i++) {
    const g = generate(rnd);
    const hex = g.msg.toString('hex');
    const howFast: { took?: Path } = {};
    const howSlow: { slow: boolean; took?: Path } = { slow: true };
    const a = parseQuery(g.msg, howFast);
    const b = parseQuery(g.msg, howSlow);
    t.deepEqual(a, b, hex);
    took[howFast.took!]++;
    const s = shapes.get(g.shape) ?? { n: 0, formerr: 0 };
    s.n++;
    if (a.formerr) s.formerr++;
    shapes.set(g.shape, s);
    if (howFast.took !== g.path)
      problems.push(`${g.shape}: the direct reader took the ${howFast.took} path, not the ${g.path} one: ${hex}`);
    if (howSlow.took !== 'decoder') problems.push(`${g.shape}: slow: true took the ${howSlow.took} path: ${hex}`);
    if (g.opt) {
      // the OPT's fields as written: the version at +6, DO the top bit of the flags at +7 (not the extended RCODE at +5)
      const e = a.edns;
      const dob = (g.opt.flags & 0x8000) !== 0;
      if (!e || e.version !== g.opt.version || e.dnssecOk !== dob || e.payload !== g.opt.payload) {
        problems.push(`${g.shape}: OPT read as ${JSON.stringify(e)}, written ${JSON.stringify(g.opt)}: ${hex}`);
      }
      if (dob) dnssecOk++;
      if (g.opt.version > 0) {
        versions++;
        // options are per version (RFC 6891 §6.1.3): a version we do not implement is BADVERS, its options unread
        if (a.formerr || e?.nsid || e?.ecs) problems.push(`version ${g.opt.version}: options read (${a.formerr ?? 'no FORMERR'}): ${hex}`);
        const v0 = Buffer.from(g.msg);
        v0[12 + g.questionLength + 6] = 0; // owner(1) type(2) payload(2) ext-rcode(1), then the version
        if (parseQuery(v0).formerr?.includes('Client Subnet')) versionsWithBadEcs++;
      }
    }
  }
  t.deepEqual(problems.slice(0, 5), [], `${problems.length} problems`);
  t.log(
    `direct ${took.direct}, decoder ${took.decoder}; EDNS version > 0: ${versions} (${versionsWithBadEcs} with a malformed ECS), DO: ${dnssecOk}`,
  );
  t.log([...shapes].map(([k, v]) => `${k}: ${v.n} (${v.formerr} FORMERR)`).join('; '));
  // the mix: 90% common shapes (direct), 10% left to the decoder, every decoder shape present
  t.true(took.direct >= 17_000, `${took.direct} of 20,000 took the direct path`);
  t.true(took.decoder >= 1_500, `${took.decoder} of 20,000 took the decoder path`);
  for (const name of DECODER_SHAPE_NAMES)
    t.true((shapes.get(name)?.n ?? 0) >= 80, `decoder shape "${name}" generated ${shapes.get(name)?.n ?? 0} times`);
  const decoderShapes = DECODER_SHAPE_NAMES.map((n) => shapes.get(n)!);
  t.true(
    decoderShapes.some((s) => s.formerr === 0) && decoderShapes.some((s) => s.formerr === s.n),
    'decoder shapes both accepted and refused',
  );
  t.true(versions >= 500 && versionsWithBadEcs >= 20 && dnssecOk >= 2_000);
});

test('parse and respond: question names of 255 octets are read by both paths, 256 and 257 are FORMERR; labels of 63 octets are read, 64 are FORMERR', (t) => {
  const responders = [false, true].map((slow) => {
    const r = new Responder(
      () => snapshot,
      config,
      poolHooks(snapshot, { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) }),
    );
    r.slowParse = slow;
    return r;
  });
  const cases = [
    { what: '255 octets, 63-octet labels', name: nameOfLength(255, 'Static.example.test'), ok: true },
    { what: '255 octets, 120 labels', name: nameOfLength(255, 'static.example.test', 1), ok: true },
    { what: '255 octets, 127 one-octet labels (the root)', name: nameOfLength(255, '', 1), ok: true },
    { what: '256 octets, 63-octet labels', name: nameOfLength(256, 'static.example.test'), ok: false },
    { what: '256 octets, 120 labels', name: nameOfLength(256, 'static.example.test', 1), ok: false },
    { what: '257 octets, 63-octet labels', name: nameOfLength(257, 'static.example.test'), ok: false },
    { what: '257 octets, 128 one-octet labels', name: nameOfLength(257, '', 1), ok: false },
    { what: 'a 63-octet label', name: `${'a'.repeat(63)}.static.example.test`, ok: true },
    { what: 'a 63-octet label last', name: `x.${'b'.repeat(63)}`, ok: true },
    { what: 'a 64-octet label', name: `${'a'.repeat(64)}.static.example.test`, ok: false },
    { what: 'a 64-octet label last', name: `x.${'b'.repeat(64)}`, ok: false },
  ];
  for (const c of cases) {
    const wire = wireName(c.name);
    for (const records of [[], [optRecord({ payload: 4096, options: [ednsOption(3)] })]]) {
      const msg = rawQuery({ name: wire, qtype: 1, records });
      const what = `${c.what}${records.length ? ', with OPT' : ''}`;
      const how: { took?: Path } = {};
      const fast = parseQuery(msg, how);
      const slow = parseQuery(msg, { slow: true });
      t.deepEqual(fast, slow, what);
      if (c.ok) {
        t.is(fast.formerr, null, what);
        t.is(fast.question?.name, c.name.toLowerCase(), what);
        t.is(fast.question?.end, 12 + wire.length + 4, what);
        t.is(fast.edns !== null, records.length > 0, what);
        t.is(how.took, 'direct', what);
      } else {
        t.is(fast.formerr, 'unreadable question', what);
        t.is(fast.question, null, what);
      }
      const [a, b] = responders.map((r) => respondOnce(r, msg, 'udp', '127.0.0.1')!);
      t.deepEqual(a, b, what);
      const res = packet.decode(a!) as unknown as Msg;
      if (c.ok) {
        t.not(res.rcode, 'FORMERR', what);
        t.true(a!.subarray(12, 12 + wire.length + 4).equals(msg.subarray(12, 12 + wire.length + 4)), `${what}: question echoed`);
        // the wildcard answers at the 255-octet owner (compressed: a pointer into the question)
        if (c.name.toLowerCase().endsWith('.static.example.test')) {
          t.deepEqual(
            res.answers.map((r) => [r.name, r.type, r.data]),
            [[c.name, 'A', '192.0.2.80']],
            what,
          );
        }
      } else {
        t.is(res.rcode, 'FORMERR', what);
        t.is(a!.readUInt16BE(4), 0, `${what}: no question echoed`);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// Responses: both parsers, and the records lookup() gives

/** The decoded records of RRsets, as dns-packet reads them back (one key per record). */
function keysOfSets(sets: RRset[]): string[][] {
  return sets.map((s) => {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(0x8000, 2);
    header.writeUInt16BE(s.rdata.length, 6);
    const parts: Buffer[] = [header];
    for (const rd of s.rdata) {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(s.type, 0);
      fixed.writeUInt16BE(s.class, 2);
      fixed.writeUInt32BE(s.ttl, 4);
      fixed.writeUInt16BE(rd.length, 8);
      parts.push(wireName(s.owner), fixed, rd);
    }
    return (packet.decode(Buffer.concat(parts)) as unknown as Msg).answers.map(keyOf);
  });
}

function keyOf(r: Rec): string {
  return `${r.name.toLowerCase()} ${r.type} ${r.class} ${r.ttl} ${JSON.stringify(r.data)}`;
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

interface Tally {
  compared: number;
  truncated: number;
  truncatedGlue: number;
  trimmed: number;
  badvers: number;
  dnssecOk: number;
  ednsSizes: Set<number>;
}

/**
 * What the response to `g` must be, from the full decoder's reading of the query and an independent
 * lookup() (the oracle: its own GslbEnv, called for exactly the queries the responders answer from the
 * zones, so its pool rotation counters move in step with theirs). Returns the problems found.
 */
function checkResponse(g: Generated, out: Buffer, transport: Transport, client: string, oracle: GslbEnv, tally: Tally): string[] {
  const problems: string[] = [];
  const ref = parseQuery(g.msg, { slow: true });
  const res = packet.decode(out) as unknown as Msg;
  // the question, byte for byte (case as asked)
  const qd = out.readUInt16BE(4);
  if (qd !== (ref.question ? 1 : 0)) problems.push(`QDCOUNT ${qd}`);
  if (qd === 1 && !out.subarray(12, 12 + g.questionLength).equals(g.msg.subarray(12, 12 + g.questionLength)))
    problems.push('question not echoed byte for byte');
  const limit = transport === 'tcp' ? 65535 : ref.edns ? Math.min(Math.max(ref.edns.payload, 512), 1232) : 512;
  if (out.length > limit) problems.push(`${out.length} bytes over the limit of ${limit}`);
  const tc = (out[2]! & 0x02) !== 0;
  if (tc && transport === 'tcp') problems.push('TC over TCP');
  const opts = res.additionals.filter((r) => r.type === 'OPT');
  if (opts.length !== (ref.edns ? 1 : 0)) problems.push(`${opts.length} OPT in the response`);
  const opt = opts[0];
  const rcode = ((opt?.extendedRcode ?? 0) << 4) | (out[3]! & 0x0f);
  if (opt && ref.edns && ((opt.flags ?? 0) & 0x8000) !== (ref.edns.dnssecOk ? 0x8000 : 0)) problems.push('DO not copied');
  if (g.opt && ref.edns) {
    if (((opt?.flags ?? 0) & 0x8000) !== (g.opt.flags & 0x8000)) problems.push('DO not copied from the query as written');
    if (g.opt.flags & 0x8000) tally.dnssecOk++;
    if (transport === 'udp') tally.ednsSizes.add(limit);
  }
  const sections = {
    answer: res.answers.map(keyOf),
    authority: res.authorities.map(keyOf),
    additional: res.additionals.filter((r) => r.type !== 'OPT').map(keyOf),
  };
  const q = ref.question;
  let expected: number;
  if (ref.opcode !== 0)
    expected = 4; // NOTIMP
  else if (ref.formerr) expected = 1;
  else if (ref.edns && ref.edns.version > 0)
    expected = 16; // BADVERS
  else if (q!.qtype === 41)
    expected = 1; // OPT as a question
  else if (q!.qclass === 3) expected = ['id.server', 'hostname.bind', 'version.bind', 'version.server'].includes(q!.name) ? 0 : 5;
  else if (q!.qclass !== 1 || q!.qtype === 251 || q!.qtype === 252) expected = 5;
  else expected = -1; // from the zones
  if (g.opt && g.opt.version > 0 && ref.opcode === 0) {
    tally.badvers++;
    if (rcode !== 16 || (out[3]! & 0x0f) !== 0)
      problems.push(`EDNS version ${g.opt.version}: rcode ${rcode} (header ${out[3]! & 0x0f}), not BADVERS`);
  }
  if (expected >= 0) {
    if (rcode !== expected) problems.push(`rcode ${rcode}, expected ${expected}`);
    if (q?.qclass !== 3 && (sections.answer.length || sections.authority.length || sections.additional.length))
      problems.push('records in a response not from the zones');
    return problems;
  }
  const ans = lookup(
    fixture.objects,
    q!.name,
    q!.qtype,
    { address: client, ecs: ref.edns?.ecs ?? null },
    poolResolver(oracle, () => snapshot.geo),
  );
  if (rcode !== ans.rcode) problems.push(`rcode ${rcode}, lookup() says ${ans.rcode}`);
  if (((out[2]! & 0x04) !== 0) !== ans.aa) problems.push(`AA ${!ans.aa}, lookup() says ${ans.aa}`);
  const answer = keysOfSets(ans.answer).flat();
  const authority = keysOfSets(ans.authority).flat();
  const additional = keysOfSets(ans.additional);
  // the additional section holds whole RRsets of lookup()'s, a prefix of them (what fits)
  let k = -1;
  for (let i = 0, acc: string[] = []; i <= additional.length; acc = acc.concat(additional[i] ?? []), i++) {
    if (sameSet(sections.additional, acc)) k = i;
  }
  const emptied = !sections.answer.length && !sections.authority.length && !sections.additional.length;
  if (tc) {
    tally.truncated++;
    // RFC 2181 §9: header and question only, or (mandatory glue that did not fit, RFC 9471) the whole
    // answer and authority with part of the glue
    if (!emptied) {
      tally.truncatedGlue++;
      if (!sameSet(sections.answer, answer) || !sameSet(sections.authority, authority)) problems.push('TC with a partial answer');
      if (k < 0 || k >= ans.mandatoryAdditional)
        problems.push(`TC, but additional data ${k < 0 ? "not a prefix of lookup()'s" : 'has all mandatory glue'}`);
    }
    return problems;
  }
  tally.compared++;
  if (!sameSet(sections.answer, answer))
    problems.push(`answer section:\n  ${sections.answer.join('\n  ')}\nlookup():\n  ${answer.join('\n  ')}`);
  if (!sameSet(sections.authority, authority))
    problems.push(`authority section:\n  ${sections.authority.join('\n  ')}\nlookup():\n  ${authority.join('\n  ')}`);
  if (k < 0) problems.push(`additional section not whole RRsets of lookup()'s:\n  ${sections.additional.join('\n  ')}`);
  else if (k < additional.length) {
    tally.trimmed++;
    if (transport === 'tcp' || k < ans.mandatoryAdditional)
      problems.push(`additional data left out (${k} of ${additional.length} RRsets) without TC`);
  }
  return problems;
}

test('respond: byte-identical responses from both parsers, with the records lookup() gives (sample zones and big.test; UDP at every EDNS payload size and without EDNS; TCP)', (t) => {
  // Each Responder has a GslbEnv of its own, hence a Rotation of its own: static RRsets rotate on per-RRset
  // counters held there (keyed by the RRset's RDATA array, src/dns/writer.ts RotationCounters) and pools on
  // per-region counters. Both see the same queries in the same order, so their counters move in step and
  // the rotated orders agree byte for byte; one Rotation shared by the two would move twice per query and
  // make the two responses differ in order. Keep them separate.
  const env = (): GslbEnv => ({ health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) });
  const make = (slow: boolean) => {
    const r = new Responder(() => snapshot, config, poolHooks(snapshot, env()));
    r.slowParse = slow;
    return r;
  };
  const fast = make(false);
  const slow = make(true);
  const oracle = env();
  const tally: Tally = { compared: 0, truncated: 0, truncatedGlue: 0, trimmed: 0, badvers: 0, dnssecOk: 0, ednsSizes: new Set() };
  const problems: string[] = [];
  let n = 0;
  const run = (g: Generated, transport: Transport, client: string) => {
    n++;
    const a = respondOnce(fast, g.msg, transport, client);
    const b = respondOnce(slow, g.msg, transport, client);
    if (!a || !b || !a.equals(b)) {
      t.deepEqual(a, b, `${transport} ${g.msg.toString('hex')}`);
      return;
    }
    for (const p of checkResponse(g, a, transport, client, oracle, tally))
      problems.push(`${g.shape}, ${transport}, ${client}: ${p}\nquery:    ${g.msg.toString('hex')}\nresponse: ${a.toString('hex')}`);
  };
  // every large answer: without EDNS, at EDNS payload sizes around and past the limits, and over TCP
  for (const name of BIG_NAMES) {
    for (const qtype of [1, 28, 15, 16, 2, 255]) {
      const questionLength = wireName(name).length + 4;
      run({ msg: rawQuery({ name, qtype }), shape: 'sweep', path: 'direct', questionLength, opt: null }, 'udp', '127.0.0.1');
      run({ msg: rawQuery({ name, qtype }), shape: 'sweep', path: 'direct', questionLength, opt: null }, 'tcp', '127.0.0.1');
      for (const payload of [0, 512, 513, 700, 1000, 1232, 4096]) {
        for (const flags of [0, 0x8000]) {
          const opt = { payload, version: 0, flags };
          const msg = rawQuery({ name, qtype, records: [optRecord({ ...opt, options: [ednsOption(3)] })] });
          run({ msg, shape: 'sweep', path: 'direct', questionLength, opt }, payload === 4096 && flags ? 'tcp' : 'udp', '81.2.69.142');
        }
      }
    }
  }
  // generated queries: the sample zones and big.test, every shape
  const rnd = mulberry32(0xbeef);
  for (let i = 0; i < 10_000; i++) {
    const g = generate(rnd, rnd() < 0.3 ? BIG_NAMES : NAMES);
    run(g, rnd() < 0.2 ? 'tcp' : 'udp', rnd() < 0.5 ? '127.0.0.1' : '81.2.69.142');
  }
  t.deepEqual(problems.slice(0, 3), [], `${problems.length} problems`);
  t.log(
    `${n} queries: ${tally.compared} compared with lookup(), ${tally.truncated} truncated (${tally.truncatedGlue} for glue), ` +
      `${tally.trimmed} with additional data left out, ${tally.badvers} BADVERS, ${tally.dnssecOk} with DO; UDP limits ${[...tally.ednsSizes].sort((a, b) => a - b).join(' ')}`,
  );
  t.true(tally.compared >= 6_000);
  t.true(tally.truncated >= 300 && tally.truncatedGlue >= 20 && tally.trimmed >= 30 && tally.badvers >= 200 && tally.dnssecOk >= 1_000);
  t.deepEqual(
    [...tally.ednsSizes].sort((a, b) => a - b),
    [512, 513, 700, 1000, 1232],
  );
});
