// Property-based tests (fast-check) of the query parser and the handler: for any byte string the handler
// returns nothing or a well-formed message no larger than the client's limit; mutated valid queries likewise.
//
// The handler is a Responder built directly over a snapshot of the repository's sample zones (steerdns.yaml
// and zones/), as the differential tests do. Properties:
//   (a) arbitrary bytes (0–600): parseQuery (fast and full decoder) and Responder.handle never throw; the
//       response is null exactly when the input is shorter than a header or has QR=1, else it decodes with
//       dns-packet, has QR=1, the query's ID and opcode, and fits the limit (UDP: 512 without a valid OPT,
//       else min(max(payload, 512), 1232); TCP: 65535).
//   (b) structurally valid queries (random names incl. binary labels, every qtype and class, random flags,
//       EDNS with random options incl. malformed ECS) mutated (byte flips, truncation, extension, counts,
//       compression pointers, repeated OPT, huge option lengths, long labels and names): the same, and never
//       SERVFAIL (which only an internal fault produces) nor an internal error reported.
//   (c) differential: parseQuery(msg) and parseQuery(msg, { slow: true }) (the dns-packet path forced) accept the
//       same messages, and deep-equal whenever they accept.
//   (d) valid queries (no mutation): the TCP response is never truncated, and the UDP one is truncated only
//       when the whole answer is larger than the client's limit.
//   (e) the server's own handler (a running server's, with response rate limiting at 1 response per second, so
//       nearly every UDP response is limited) on the inputs of (a) and (b) and on valid queries: the same checks;
//       a UDP response is nothing exactly when the limiter dropped it, and a slip is exactly header + question
//       (when one was read) + OPT (when the query had a valid one), TC=1, no other record; over TCP nothing is
//       limited (no limiter action, a response, TC=0).
//
// Seed and size: FUZZ_SEED (default 0x5eed0007) and FUZZ_RUNS (default 21,000 cases over the properties);
// `npm run fuzz` (tools/fuzz.mjs) passes a random seed and 200,000. A failure prints fast-check's
// counterexample, seed and path; rerun with FUZZ_SEED=<seed> to reproduce.
import { deepStrictEqual as assertDeepEqual } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import packet from 'dns-packet';
import fc from 'fast-check';
import { EDNS_PAYLOAD } from '../../src/dns/constants.js';
import { parseQuery, type Query } from '../../src/dns/query.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { Responder } from '../../src/pipeline.js';
import { BASE_CONFIG, ROOT, startServer } from '../helpers/server.js';
import { BIG_ZONE, loadZonesFixture, mulberry32, poolHooks, respondOnce } from '../helpers/zones.js';

const SEED = (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x5eed0007) | 0;
const SEED_TEXT = `seed ${SEED}`;
const TOTAL = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 21_000;
if (!Number.isInteger(SEED) || !(TOTAL > 0)) throw new Error('FUZZ_SEED and FUZZ_RUNS must be integers');
// shares of the total, per property (default: 3,000 + 5,000 + 7,000 + 3,000 + 3,000 + 2,000 = 23,000)
const runs = (share: number) => Math.max(1, Math.round((TOTAL * share) / 21));

// ---------------------------------------------------------------------------------------------------------
// The handler over the sample zones

// the sample zones as they are in the repository, plus big.test with answers of every size (fits 512, fits
// only 1232, fits only TCP, glue that does not fit): the sample zones alone never exceed 512 bytes
const fixture = loadZonesFixture();
test.after.always(() => fixture.cleanup());
const { config, snapshot } = fixture;
const internalErrors: string[] = [];
const responder = new Responder(
  () => snapshot,
  config,
  poolHooks(snapshot, { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(SEED) }),
);
responder.onError = (e, msg) => internalErrors.push(`${e.stack ?? e.message}\nquery: ${msg.toString('hex')}`);

const CLIENTS = ['127.0.0.1', '81.2.69.142', '203.0.113.7', '2001:db8::1', '::ffff:198.51.100.9', '2a02:8800::1'];

// ---------------------------------------------------------------------------------------------------------
// Checking one response

/** The parse, or the exception it threw (the property fails on it). */
function parseBoth(msg: Buffer): { fast: Query; slow: Query } {
  return { fast: parseQuery(msg), slow: parseQuery(msg, { slow: true }) };
}

function fail(what: string, msg: Buffer, out: Buffer | null): never {
  throw new Error(`${what}\nquery:    ${msg.toString('hex')}\nresponse: ${out?.toString('hex') ?? 'null'}`);
}

/** The client's limit: TCP 65535; UDP 512 unless the query carries a valid OPT (then its payload, within 512..1232). */
function limitOf(msg: Buffer, transport: 'udp' | 'tcp'): number {
  if (transport === 'tcp') return 65535;
  const q = parseQuery(msg);
  return q.edns ? Math.min(Math.max(q.edns.payload, 512), EDNS_PAYLOAD) : 512;
}

interface Checked {
  out: Buffer | null;
  decoded: packet.Packet | null;
}

type Handle = (msg: Buffer, transport: 'udp' | 'tcp', client: string) => Buffer | null;

const responderHandle: Handle = (msg, transport, client) => respondOnce(responder, msg, transport, client);

/**
 * Runs a handler (by default the Responder) on `msg` and checks everything every response must satisfy.
 * `mayDrop`: a rate limiter may answer nothing.
 */
function handleAndCheck(msg: Buffer, transport: 'udp' | 'tcp', client: string, handle = responderHandle, mayDrop = false): Checked {
  const errorsBefore = internalErrors.length;
  const out = handle(msg, transport, client);
  if (internalErrors.length !== errorsBefore) fail(`internal error: ${internalErrors[errorsBefore]}`, msg, out);
  const drop = msg.length < 12 || (msg[2]! & 0x80) !== 0;
  if (drop) {
    if (out !== null) fail('a message shorter than a header or with QR=1 must be dropped', msg, out);
    return { out, decoded: null };
  }
  if (out === null && mayDrop) return { out, decoded: null };
  if (out === null) fail('a message with a readable query header must be answered', msg, out);
  let decoded: packet.Packet;
  try {
    decoded = packet.decode(out);
  } catch (e) {
    fail(`the response does not decode with dns-packet: ${(e as Error).message}`, msg, out);
  }
  if (packet.decode.bytes !== out.length) fail(`${out.length - packet.decode.bytes} bytes past the end of the message`, msg, out);
  const limit = limitOf(msg, transport);
  if (out.length > limit) fail(`${transport} response of ${out.length} bytes over the client's limit of ${limit}`, msg, out);
  if (out.length < 12) fail('response shorter than a header', msg, out);
  if ((out[2]! & 0x80) === 0) fail('QR not set', msg, out);
  if (out.readUInt16BE(0) !== msg.readUInt16BE(0)) fail('ID not echoed', msg, out);
  if (((out[2]! >> 3) & 0xf) !== ((msg[2]! >> 3) & 0xf)) fail('opcode not echoed', msg, out);
  if ((out[3]! & 0x0f) === 2) fail('SERVFAIL (only an internal fault answers SERVFAIL)', msg, out);
  if ((out[3]! & 0x80) !== 0) fail('RA set', msg, out);
  // the question, when echoed, is the query's bytes
  const q = parseQuery(msg);
  const qd = out.readUInt16BE(4);
  if (qd > 1) fail('more than one question in a response', msg, out);
  if (qd === 1) {
    if (!q.question) fail('a question echoed where none was read', msg, out);
    if (!out.subarray(12, q.question.end).equals(msg.subarray(12, q.question.end))) fail('question not echoed byte for byte', msg, out);
  }
  // OPT in the response exactly when the query had a valid one (RFC 6891 §7)
  const opts = (decoded.additionals ?? []).filter((r) => r.type === 'OPT').length;
  if (opts !== (q.edns ? 1 : 0)) fail(`${opts} OPT in the response to a query ${q.edns ? 'with' : 'without'} a valid OPT`, msg, out);
  return { out, decoded };
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries: valid queries, then mutations

const LABELS = [
  'www',
  'WWW',
  'app',
  'App',
  'api',
  'example',
  'test',
  'static',
  'sub',
  'ns1',
  'ns2',
  'mail',
  '_sip',
  '_tcp',
  'in-addr',
  'arpa',
  '2',
  '0',
  '192',
  '80',
  '*',
  'dkim',
  '_domainkey',
  'version',
  'bind',
  'id',
  'server',
  'hostname',
  'deep',
  'x',
  'host1',
  'sip',
];
const SUFFIXES = [
  'example.test',
  'Example.TEST',
  '2.0.192.in-addr.arpa',
  '',
  'static.example.test',
  'sub.example.test',
  'bind',
  'server',
  'example.com',
  'www.example.test',
  'app.example.test',
  'w.big.test',
  'big.test',
];

const label = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...LABELS).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 63 }).map((b) => Buffer.from(b)) }, // binary labels
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(63, 0x61)) },
);

/** Names that exist in the sample zones (or are answered: CHAOS), to reach every kind of answer. */
const EXISTING = [
  'example.test',
  'ns1.example.test',
  'ns2.example.test',
  'mail.example.test',
  'www.example.test',
  'static.example.test',
  'x.static.example.test',
  '_sip._tcp.example.test',
  'sip1.example.test',
  'sip.example.test',
  '_443._tcp.www.example.test',
  'host1.example.test',
  'dkim._domainkey.example.test',
  'sub.example.test',
  'ns.sub.example.test',
  'deep.sub.example.test',
  'app.example.test',
  'api.example.test',
  '2.0.192.in-addr.arpa',
  '25.2.0.192.in-addr.arpa',
  '80.2.0.192.in-addr.arpa',
  'version.bind',
  'id.server',
  'hostname.bind',
  'nope.example.test',
  'example.com',
  'big.test',
  'big.big.test',
  'mid.big.test',
  'many.big.test',
  'alias.big.test',
  'x.w.big.test',
  'deleg.big.test',
  'a.deleg.big.test',
];

function encodeName(labels: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  let size = 1;
  for (const l of labels) {
    if (size + 1 + l.length > 255) break;
    parts.push(Buffer.from([l.length]), l);
    size += 1 + l.length;
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A wire-format name of at most 255 octets: a known name in random case, or random labels then a known suffix. */
const wireName = fc.oneof(
  fc
    .tuple(fc.constantFrom(...EXISTING), fc.integer({ min: 0, max: 0x7fffffff }))
    .map(([n, caseBits]) => encodeName(n.split('.').map((l, i) => Buffer.from((caseBits >> (i % 31)) & 1 ? l.toUpperCase() : l)))),
  fc
    .tuple(fc.array(label, { maxLength: 6 }), fc.constantFrom(...SUFFIXES))
    .map(([head, suffix]) => encodeName([...head, ...(suffix ? suffix.split('.').map((s) => Buffer.from(s)) : [])])),
);

const KNOWN_TYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 41, 43, 44, 52, 99, 251, 252, 255, 257, 0, 65535, 65280];
const qtype = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_TYPES) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) },
);
const qclass = fc.oneof(
  { weight: 6, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.constantFrom(3, 4, 254, 255, 0) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) },
);

function option(code: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + data.length);
  b.writeUInt16BE(code, 0);
  b.writeUInt16BE(data.length, 2);
  Buffer.from(data).copy(b, 4);
  return b;
}

/** A well-formed Client Subnet option (RFC 7871). */
const ecsValid = fc
  .tuple(fc.boolean(), fc.nat(128), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128))
  .map(([v6, p, addr, scope]) => {
    const family = v6 ? 2 : 1;
    const prefix = v6 ? p : p % 33;
    const n = Math.ceil(prefix / 8);
    const a = Buffer.from(addr.subarray(0, n));
    if (prefix % 8) a[n - 1]! &= (0xff << (8 - (prefix % 8))) & 0xff;
    return option(8, Buffer.concat([Buffer.from([0, family, prefix, scope % (v6 ? 129 : 33)]), a]));
  });

/** A malformed one: bad family, prefix too long, address bits past the prefix, wrong lengths, too short. */
const ecsMalformed = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((d) => option(8, d)),
  fc
    .tuple(fc.integer({ min: 0, max: 65535 }), fc.nat(255), fc.nat(255), fc.uint8Array({ maxLength: 20 }))
    .map(([family, prefix, scope, addr]) => option(8, Buffer.concat([Buffer.from([family >> 8, family & 0xff, prefix, scope]), addr]))),
  fc.tuple(fc.constantFrom(1, 2), fc.integer({ min: 1, max: 31 })).map(([family, prefix]) => {
    const n = Math.ceil(prefix / 8);
    return option(8, Buffer.concat([Buffer.from([0, family, prefix, 0]), Buffer.alloc(n, 0xff)])); // bits past the prefix
  }),
);

const ednsOption = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constant(option(3, new Uint8Array(0))),
      fc.uint8Array({ maxLength: 16 }).map((d) => option(3, d)),
    ),
  },
  { weight: 3, arbitrary: ecsValid },
  { weight: 2, arbitrary: ecsMalformed },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 40 }).map((d) => option(10, d)) }, // cookie
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 3 }).map((d) => option(11, d)) }, // keepalive, odd lengths
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 7 }).map((d) => option(14, d)) }, // key tag, odd lengths
  { weight: 1, arbitrary: fc.nat(64).map((n) => option(12, new Uint8Array(n))) }, // padding
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 40 })).map(([c, d]) => option(c, d)) },
);

const payloadSize = fc.oneof(fc.constantFrom(0, 1, 511, 512, 513, 1232, 1233, 1400, 4096, 65535), fc.integer({ min: 0, max: 65535 }));

const edns = fc.record({
  payload: payloadSize,
  extRcode: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(255) }),
  version: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(255) }),
  flags: fc.oneof(fc.constantFrom(0, 0x8000), fc.integer({ min: 0, max: 65535 })),
  options: fc.array(ednsOption, { maxLength: 4 }),
});

interface Built {
  msg: Buffer;
  /** Offset of the OPT record, when there is one. */
  optAt: number;
}

type Edns = typeof edns extends fc.Arbitrary<infer E> ? E : never;

const queryOf = (parts: {
  name: fc.Arbitrary<Buffer>;
  qtype: fc.Arbitrary<number>;
  qclass: fc.Arbitrary<number>;
  opcode: fc.Arbitrary<number>;
  edns: fc.Arbitrary<Edns | null>;
}) =>
  fc
    .record({
      id: fc.integer({ min: 0, max: 65535 }),
      opcode: parts.opcode,
      flagBits: fc.integer({ min: 0, max: 0x07ff }), // AA TC RD RA Z AD CD rcode: all random (QR=0, opcode apart)
      name: parts.name,
      qtype: parts.qtype,
      qclass: parts.qclass,
      edns: parts.edns,
    })
    .map((r): Built => {
      const header = Buffer.alloc(12);
      header.writeUInt16BE(r.id, 0);
      header.writeUInt16BE((r.opcode << 11) | r.flagBits, 2);
      header.writeUInt16BE(1, 4);
      const q = Buffer.alloc(4);
      q.writeUInt16BE(r.qtype, 0);
      q.writeUInt16BE(r.qclass, 2);
      const parts = [header, r.name, q];
      let optAt = -1;
      if (r.edns) {
        header.writeUInt16BE(1, 10);
        const rdata = Buffer.concat(r.edns.options);
        const rr = Buffer.alloc(11);
        rr.writeUInt16BE(41, 1);
        rr.writeUInt16BE(r.edns.payload, 3);
        rr[5] = r.edns.extRcode;
        rr[6] = r.edns.version;
        rr.writeUInt16BE(r.edns.flags, 7);
        rr.writeUInt16BE(rdata.length, 9);
        optAt = 12 + r.name.length + 4;
        parts.push(rr, rdata);
      }
      return { msg: Buffer.concat(parts), optAt };
    });

const validQuery = queryOf({
  name: wireName,
  qtype,
  qclass,
  opcode: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  edns: fc.option(edns, { freq: 2 }),
});

/** Ordinary queries for the big answers: IN, QUERY, well-formed EDNS (NSID, ECS) at every payload size. */
const BIG_NAMES = [
  'big.big.test',
  'mid.big.test',
  'many.big.test',
  'alias.big.test',
  'x.w.big.test',
  'deleg.big.test',
  'a.deleg.big.test',
  'big.test',
  'dkim._domainkey.example.test',
  'example.test',
];
const bigQuery = queryOf({
  name: fc.constantFrom(...BIG_NAMES).map((n) => encodeName(n.split('.').map((l) => Buffer.from(l)))),
  qtype: fc.constantFrom(1, 2, 15, 16, 28, 255),
  qclass: fc.constant(1),
  opcode: fc.constant(0),
  edns: fc.option(
    fc.record({
      payload: payloadSize,
      extRcode: fc.constant(0),
      version: fc.constant(0),
      flags: fc.constantFrom(0, 0x8000),
      options: fc.array(fc.oneof(fc.constant(option(3, new Uint8Array(0))), ecsValid), { maxLength: 2 }),
    }),
    { freq: 2 },
  ),
});

type Mutation = (m: Buffer, optAt: number) => Buffer;

const at = (m: Buffer, i: number) => (m.length ? i % m.length : 0);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // flip bits of one byte / set a byte
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(
    ([i, x]): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        if (b.length) b[at(b, i)]! ^= x;
        return b;
      },
  ),
  fc.tuple(fc.nat(), fc.nat(255)).map(
    ([i, x]): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        if (b.length) b[at(b, i)] = x;
        return b;
      },
  ),
  // header flag bits (QR aside): AA, TC, RD, RA, Z, AD, CD, the query's rcode field, the opcode
  fc.integer({ min: 0, max: 14 }).map(
    (bit): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        if (b.length >= 4) b.writeUInt16BE(b.readUInt16BE(2) ^ (1 << bit), 2);
        return b;
      },
  ),
  // truncate, extend, insert, delete
  fc.nat().map(
    (n): Mutation =>
      (m) =>
        m.subarray(0, n % (m.length + 1)),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map(
    (x): Mutation =>
      (m) =>
        Buffer.concat([m, x]),
  ),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(
    ([i, x]): Mutation =>
      (m) => {
        const k = i % (m.length + 1);
        return Buffer.concat([m.subarray(0, k), x, m.subarray(k)]);
      },
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(
    ([i, n]): Mutation =>
      (m) => {
        const k = at(m, i);
        return Buffer.concat([m.subarray(0, k), m.subarray(k + n)]);
      },
  ),
  // counts that lie
  fc.tuple(fc.constantFrom(4, 6, 8, 10), fc.oneof(fc.constantFrom(0, 1, 2, 3, 255, 65535), fc.integer({ min: 0, max: 65535 }))).map(
    ([field, v]): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        if (b.length >= field + 2) b.writeUInt16BE(v, field);
        return b;
      },
  ),
  // a compression pointer anywhere (forward, backward, to itself, past the end)
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0x3fff })).map(
    ([i, p]): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        const k = at(b, Math.max(12, i));
        if (k + 1 < b.length) b.writeUInt16BE(0xc000 | p, k);
        return b;
      },
  ),
  // a compression pointer in place of the question's first label (pointing at the header or at itself)
  fc.constantFrom(0, 12, 13).map(
    (p): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        if (b.length > 14) b.writeUInt16BE(0xc000 | p, 12);
        return b;
      },
  ),
  // a label longer than 63 (or a reserved label type) as the first label
  fc.integer({ min: 64, max: 191 }).map(
    (len): Mutation =>
      (m) => {
        const b = Buffer.from(m);
        if (b.length > 12) b[12] = len;
        return b;
      },
  ),
  // a name longer than 255: many 63-octet labels in place of the question's name
  fc.integer({ min: 4, max: 9 }).map(
    (n): Mutation =>
      (m) => {
        const q = parseQuery(m.length >= 12 ? m : Buffer.alloc(12));
        const end = q.question ? q.question.end - 4 : Math.min(m.length, 13);
        const long = Buffer.concat(Array.from({ length: n }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x62)])));
        return Buffer.concat([m.subarray(0, 12), long, m.subarray(end)]);
      },
  ),
  // a repeated OPT (the same record again, ARCOUNT + 1), or a second OPT in the answer section
  fc.boolean().map(
    (answerSection): Mutation =>
      (m, optAt) => {
        if (optAt < 0 || optAt >= m.length) return m;
        const b = Buffer.concat([m, m.subarray(optAt)]);
        if (b.length >= 12) b.writeUInt16BE((b.readUInt16BE(answerSection ? 6 : 10) + 1) & 0xffff, answerSection ? 6 : 10);
        return b;
      },
  ),
  // huge lengths: the OPT RDLENGTH, or the first option's length
  fc.tuple(fc.boolean(), fc.constantFrom(0xffff, 0x8000, 0x0100)).map(
    ([rdlen, v]): Mutation =>
      (m, optAt) => {
        const b = Buffer.from(m);
        const pos = rdlen ? optAt + 9 : optAt + 13;
        if (optAt >= 0 && pos + 2 <= b.length) b.writeUInt16BE(v, pos);
        return b;
      },
  ),
  // the OPT owner not the root
  fc.constant<Mutation>((m, optAt) =>
    optAt >= 0 && optAt < m.length ? Buffer.concat([m.subarray(0, optAt), Buffer.from([1, 0x61]), m.subarray(optAt)]) : m,
  ),
);

const mutatedQuery = fc
  .tuple(
    fc.oneof({ weight: 3, arbitrary: validQuery }, { weight: 1, arbitrary: bigQuery }),
    fc.oneof(
      { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 3 }) },
    ),
  )
  .map(([q, ms]) => ms.reduce((m, f) => f(m, q.optAt), q.msg));

/** Random bytes, half of them behind a plausible query header (QR=0, opcode 0, small counts). */
const arbitraryBytes = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  fc
    .tuple(
      fc.integer({ min: 0, max: 65535 }),
      fc.integer({ min: 0, max: 0x07ff }),
      fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }),
      fc.uint8Array({ maxLength: 588 }),
    )
    .map(([id, flags, counts, body]) => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(flags, 2);
      for (const [i, c] of counts.entries()) h.writeUInt16BE(c, 4 + 2 * i);
      return Buffer.concat([h, body]);
    }),
);

const client = fc.constantFrom(...CLIENTS);
const transport = fc.constantFrom<'udp' | 'tcp'>('udp', 'udp', 'tcp');

function params(numRuns: number) {
  return { seed: SEED, numRuns, includeErrorInReport: true };
}

// ---------------------------------------------------------------------------------------------------------
// The properties

test(`parser: arbitrary bytes never make parseQuery throw, fast or full decoder (${runs(3)} cases, ${SEED_TEXT})`, (t) => {
  t.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL}`);
  fc.assert(
    fc.property(fc.oneof(arbitraryBytes, mutatedQuery), (msg) => {
      if (msg.length < 12) return; // never parsed: the handler drops it before (mustDrop)
      const { fast, slow } = parseBoth(msg);
      for (const q of [fast, slow]) {
        if (q.id !== msg.readUInt16BE(0) || q.qdcount !== msg.readUInt16BE(4)) fail('header misread', msg, null);
        if (q.question) {
          if (q.question.end > msg.length || q.question.end < 17) fail(`question end ${q.question.end} out of the message`, msg, null);
          if (q.question.labelOffsets.some((o) => o < 12 || o >= q.question!.end)) fail('label offset out of the question', msg, null);
        }
        if (!q.formerr && !q.question) fail('accepted without a question', msg, null);
      }
    }),
    params(runs(3)),
  );
  t.pass();
});

test(`handler: arbitrary bytes (0–600) get nothing or a well-formed response within the limit (${runs(5)} cases, ${SEED_TEXT})`, (t) => {
  t.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL}`);
  fc.assert(
    fc.property(arbitraryBytes, transport, client, (msg, tr, c) => {
      handleAndCheck(msg, tr, c);
    }),
    params(runs(5)),
  );
  t.deepEqual(internalErrors, []);
});

test(`handler: mutated valid queries get a well-formed response within the limit, never SERVFAIL (${runs(7)} cases, ${SEED_TEXT})`, (t) => {
  t.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL}`);
  const rcodes = new Map<number, number>();
  fc.assert(
    fc.property(mutatedQuery, transport, client, (msg, tr, c) => {
      const { out } = handleAndCheck(msg, tr, c);
      if (out) rcodes.set(out[3]! & 0xf, (rcodes.get(out[3]! & 0xf) ?? 0) + 1);
    }),
    params(runs(7)),
  );
  t.log('rcodes:', JSON.stringify(Object.fromEntries(rcodes)));
  t.deepEqual(internalErrors, []);
});

test(`parser: the direct reader and the full decoder accept the same queries and agree on them (${runs(3)} cases, ${SEED_TEXT})`, (t) => {
  t.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL}`);
  let compared = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        validQuery.map((b) => b.msg),
        mutatedQuery,
      ),
      (msg) => {
        if (msg.length < 12) return;
        const { fast, slow } = parseBoth(msg);
        // both accept or both refuse: the direct path never answers what the full decoder calls malformed
        if (!fast.formerr !== !slow.formerr) fail(`one parse accepts, the other not: ${fast.formerr} / ${slow.formerr}`, msg, null);
        if (fast.formerr || slow.formerr) return;
        compared++;
        try {
          // node's deep equality, as t.deepEqual would (throws with a diff)
          assertDeepEqual(fast, slow);
        } catch (e) {
          fail(`fast and slow parses differ: ${(e as Error).message}`, msg, null);
        }
      },
    ),
    params(runs(3)),
  );
  t.log(`${compared} accepted by both and compared`);
  t.true(compared > runs(3) / 4);
});

test(`handler: valid queries — TCP never truncated, UDP truncated only when the answer exceeds the limit (${runs(3)} cases, ${SEED_TEXT})`, (t) => {
  t.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL}`);
  let truncated = 0;
  let trimmed = 0;
  fc.assert(
    fc.property(fc.oneof(validQuery, bigQuery), client, ({ msg }, c) => {
      const udp = handleAndCheck(msg, 'udp', c);
      const tcp = handleAndCheck(msg, 'tcp', c);
      const u = udp.out!;
      const w = tcp.out!;
      if (w[2]! & 0x02) fail('TCP response truncated', msg, w);
      if ((u[3]! & 0xf) !== (w[3]! & 0xf)) fail('UDP and TCP rcodes differ', msg, u);
      const limit = limitOf(msg, 'udp');
      if (u[2]! & 0x02) {
        truncated++;
        if (w.length <= limit) fail(`UDP truncated though the whole answer (${w.length} bytes) fits ${limit}`, msg, u);
      } else {
        // not truncated: the same answer and authority records as over TCP; only optional additional data may be left out
        const [ud, td] = [udp.decoded!, tcp.decoded!];
        if ((ud.answers ?? []).length !== (td.answers ?? []).length || (ud.authorities ?? []).length !== (td.authorities ?? []).length) {
          fail('UDP answer without TC=1 differs from the TCP one in its answer or authority section', msg, u);
        }
        if ((ud.additionals ?? []).length < (td.additionals ?? []).length) trimmed++;
        else if (w.length > limit) fail(`UDP response complete though the whole answer (${w.length} bytes) exceeds ${limit}`, msg, u);
      }
    }),
    params(runs(3)),
  );
  t.log(`${truncated} UDP responses truncated, ${trimmed} with additional data left out`);
  t.true(truncated > 0 && trimmed > 0);
  t.deepEqual(internalErrors, []);
});

test.serial(
  `server handler with rate limiting: nothing, a slip (header + question + OPT, TC=1) or a well-formed response within the limit; TCP never limited (${runs(2)} cases, ${SEED_TEXT})`,
  async (t) => {
    t.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL}`);
    const zones = Object.fromEntries(
      readdirSync(join(ROOT, 'zones'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => [f, readFileSync(join(ROOT, 'zones', f), 'utf8')]),
    );
    const s = await startServer(
      { ...zones, 'big.test.yaml': BIG_ZONE },
      `${BASE_CONFIG}rrl: { responses_per_second: 1, window: 1, slip: 2 }\n`,
    );
    try {
      const serverHandle = (
        s.server as unknown as { handler(): (m: Buffer, address: string, tr: 'udp' | 'tcp') => Buffer | null }
      ).handler();
      // what the limiter did with each response, told by the server's own metrics hook (the original still counts)
      const metrics = s.server.metrics;
      const countAction = metrics.rrlAction.bind(metrics);
      let action: 'slip' | 'drop' | null = null;
      metrics.rrlAction = (a) => {
        action = a;
        countAction(a);
      };
      const handle: Handle = (m, tr, c) => {
        action = null;
        return serverHandle(m, c, tr);
      };
      const counts = { udp: 0, tcp: 0, sent: 0, dropped: 0, slipped: 0 };
      fc.assert(
        fc.property(
          fc.oneof(
            arbitraryBytes,
            mutatedQuery,
            validQuery.map((q) => q.msg),
            bigQuery.map((q) => q.msg),
          ),
          transport,
          client,
          (msg, tr, c) => {
            const { out } = handleAndCheck(msg, tr, c, handle, tr === 'udp');
            if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return; // dropped unread: nothing to limit
            counts[tr]++;
            const limited = action as 'slip' | 'drop' | null;
            if (tr === 'tcp') {
              if (limited) fail(`a TCP response was rate-limited (${limited})`, msg, out);
              if (out![2]! & 0x02) fail('TC=1 over TCP', msg, out);
              return;
            }
            if (limited === 'drop') {
              if (out !== null) fail('the limiter dropped the response, yet one was sent', msg, out);
              counts.dropped++;
            } else if (limited === 'slip') {
              if (out === null) fail('the limiter slipped the response, yet nothing was sent', msg, out);
              // the rest (question echoed byte for byte, OPT exactly when the query had a valid one, nothing past the
              // end, within the limit) handleAndCheck has checked
              const q = parseQuery(msg);
              if (!(out[2]! & 0x02)) fail('a slip without TC=1', msg, out);
              const [qd, an, ns, ar] = [4, 6, 8, 10].map((i) => out.readUInt16BE(i));
              if (qd !== (q.question ? 1 : 0))
                fail(`a slip with ${qd} questions to a query ${q.question ? 'with' : 'without'} a readable one`, msg, out);
              if (an || ns || ar !== (q.edns ? 1 : 0))
                fail(`a slip with records: ${an} answer, ${ns} authority, ${ar} additional`, msg, out);
              counts.slipped++;
            } else {
              if (out === null) fail('a UDP response dropped though the limiter did not drop it', msg, out);
              counts.sent++;
            }
          },
        ),
        params(runs(2)),
      );
      t.log(JSON.stringify(counts));
      t.true(counts.sent > 0 && counts.dropped > 0 && counts.slipped > 0 && counts.tcp > 0, JSON.stringify(counts));
      t.deepEqual(
        s.logs.filter((l) => (l.level as number) >= 50).map((l) => l.msg),
        [],
      );
    } finally {
      await s.stop();
    }
  },
);
