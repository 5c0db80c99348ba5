// Fuzzing: 10,000 random and mutated packets, seeded and reproducible, sent to the
// running server. No crash; every reply is a well-formed DNS message (QR=1, same ID and opcode, question
// echoed byte for byte, size within the UDP limit); a message with a readable header (12+ bytes, QR=0)
// always gets an answer, one shorter than a header or with QR=1 never does; a non-QUERY opcode gets
// NOTIMP; SERVFAIL never appears (it would mean an internal error); afterwards a normal query is still
// answered correctly and nothing was logged as an internal error.
//
// Silence is detected without waiting for timeouts: each fuzz packet is followed on the same socket by a
// sentinel query. The server handles datagrams (and TCP frames) one at a time, in order, and answers
// synchronously, so any reply to the fuzz packet arrives before the sentinel's reply; the sentinel's reply
// closes the fuzz packet's window.
//
// Reproduce a run with FUZZ_SEED=<seed> (the seed is in the test titles); failures print the packet index
// and its bytes in hex.
import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import packet from 'dns-packet';
import { decode, query, SAMPLE_ZONE, startServer, type TestServer, tcp, u16, udp } from '../helpers/server.js';

const SEED = (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x5eed0004) >>> 0;
const SEED_HEX = `0x${SEED.toString(16)}`;
const RANDOM_PACKETS = 3000;
const RANDOM_HEADER_PACKETS = 1000;
const MUTATED_PACKETS = 6000;
const TCP_PACKETS = 400;
const IN_FLIGHT = 64;
const PACKET_TIMEOUT_MS = 5000;

// A second zone with answers of every size: fits 512, fits only 1232, fits only TCP.
const txt = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `"${tag}-${i}-${'x'.repeat(50)}"`).join(', ');
const FUZZ_ZONE = `
origin: fuzz.test
ttl: 300
soa: { ns: ns1.fuzz.test., email: hostmaster@fuzz.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@":
    NS: [ns1, ns2]
    MX: [{ preference: 10, exchange: mx1 }, { preference: 20, exchange: mx2 }]
  ns1: { A: 192.0.2.1, AAAA: "2001:db8::1" }
  ns2: { A: 192.0.2.2 }
  mx1: { A: 192.0.2.3 }
  mx2: { A: 192.0.2.4 }
  big: { TXT: [${txt(40, 'big')}] }
  mid: { TXT: [${txt(12, 'mid')}] }
  many: { A: [${Array.from({ length: 40 }, (_, i) => `192.0.2.${100 + i}`).join(', ')}] }
  alias: { CNAME: big }
  chain1: { CNAME: chain2 }
  chain2: { CNAME: www.example.test. }
  "*.w": { A: 192.0.2.50, TXT: ["wild"] }
  deleg: { NS: [ns.deleg, ns.elsewhere.example.] }
  ns.deleg: { A: 192.0.2.60, AAAA: "2001:db8::60" }
`;

const ZONES = { 'example.test.yaml': SAMPLE_ZONE, 'fuzz.test.yaml': FUZZ_ZONE };

// ---------------------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32)

class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Corpus of valid queries

interface Seed {
  bytes: Buffer;
  /** Offset just past QCLASS. */
  qEnd: number;
  /** Offset of the OPT record (always the last record), or -1. */
  optAt: number;
}

function questionEnd(b: Buffer): number {
  let off = 12;
  while (b[off] !== 0) off += b[off]! + 1;
  return off + 5;
}

function labelOffsets(b: Buffer, end: number): number[] {
  const out: number[] = [];
  let off = 12;
  while (off < end && off < b.length && b[off] !== 0 && b[off]! < 64) {
    out.push(off);
    off += b[off]! + 1;
  }
  return out;
}

/** A query built from raw label bytes (dns-packet's encoder only takes text names). */
function rawQuery(labels: Buffer[], qtype: number, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4);
  const name = labels.flatMap((l) => [Buffer.from([l.length]), l]);
  return Buffer.concat([header, ...name, Buffer.from([0]), u16(qtype), u16(1)]);
}

function buildCorpus(): Seed[] {
  const names = [
    'example.test',
    'www.example.test',
    'WwW.ExAmPlE.tEsT',
    'ns1.example.test',
    'ns2.example.test',
    'app.example.test',
    'mail.example.test',
    'anything.static.example.test',
    'a.b.c.static.example.test',
    'sub.example.test',
    'host.sub.example.test',
    'ns.sub.example.test',
    'nothere.example.test',
    'www.example.org',
    'org',
    '.',
    'fuzz.test',
    'big.fuzz.test',
    'mid.fuzz.test',
    'many.fuzz.test',
    'alias.fuzz.test',
    'chain1.fuzz.test',
    'x.w.fuzz.test',
    'deep.er.w.fuzz.test',
    'deleg.fuzz.test',
    'a.deleg.fuzz.test',
    'ns.deleg.fuzz.test',
    'missing.fuzz.test',
    `${'l'.repeat(63)}.${'m'.repeat(63)}.${'n'.repeat(63)}.fuzz.test`,
  ];
  const types = ['A', 'AAAA', 'NS', 'MX', 'TXT', 'SOA', 'ANY', 'CNAME', 'DS', 'SRV', 'AXFR', 'IXFR', 'CAA'];
  const ecs4 = Buffer.from([0, 1, 24, 0, 198, 51, 100]);
  const ecs6 = Buffer.from([0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56]);
  const ecs0 = Buffer.from([0, 1, 0, 0]);
  const optionSets: unknown[][] = [
    [],
    [{ code: 3, data: Buffer.alloc(0) }],
    [{ code: 8, data: ecs4 }],
    [{ code: 8, data: ecs6 }],
    [{ code: 8, data: ecs0 }],
    [{ code: 65001, data: Buffer.from('unknown option payload') }],
    [
      { code: 3, data: Buffer.alloc(0) },
      { code: 8, data: ecs4 },
      { code: 10, data: Buffer.alloc(8, 7) },
    ],
    [
      { code: 12, data: Buffer.alloc(32) },
      { code: 11, data: Buffer.alloc(0) },
    ],
  ];
  const r = new Rng(0xc0ffee);
  const out: Seed[] = [];
  let id = 0x1000;
  const add = (bytes: Buffer, edns: boolean, dnssecOk = false) => {
    const qEnd = questionEnd(bytes);
    if (dnssecOk) bytes[qEnd + 7] = 0x80; // DO bit in the OPT flags
    out.push({ bytes, qEnd, optAt: edns ? qEnd : -1 });
  };
  for (const name of names) {
    for (const type of types) {
      if (!r.chance(0.45)) continue;
      add(query(name, type, { id: id++ }), false);
      const options = r.pick(optionSets);
      const payload = r.pick([512, 1232, 4096, 0, 1400]);
      add(query(name, type, { id: id++, edns: true, payload, options }), true, r.chance(0.3));
    }
  }
  // names with bytes outside [a-z0-9-_*] (NUL, dot and backslash inside a label, 0xff, upper case), under
  // the wildcard (the answer's owner is the query name) and elsewhere, and names of the maximum length
  const binary = [Buffer.from([0]), Buffer.from('a.b'), Buffer.from('a\\065'), Buffer.from([0xff, 0x41, 0x2a]), Buffer.alloc(63, 0xc0)];
  for (const label of binary) {
    for (const tail of ['w.fuzz.test', 'fuzz.test', 'static.example.test', 'example.test', 'example.org']) {
      add(rawQuery([label, ...tail.split('.').map((l) => Buffer.from(l))], r.pick([1, 16, 255, 28]), id++), false);
    }
  }
  const longest = [
    ...Array.from({ length: 3 }, () => Buffer.alloc(63, 0x41)),
    Buffer.alloc(49, 0x5c),
    Buffer.from('w'),
    Buffer.from('fuzz'),
    Buffer.from('test'),
  ];
  add(rawQuery(longest, 1, id++), false); // 254 octets + the root: the longest legal name
  add(rawQuery([Buffer.alloc(1, 0x61), ...longest], 1, id++), false); // 2 octets too long
  add(query('id.server', 'TXT', { klass: 'CH', id: id++ }), false);
  add(query('version.bind', 'TXT', { klass: 'CH', id: id++, edns: true, options: [{ code: 3, data: Buffer.alloc(0) }] }), true);
  add(query('hostname.bind', 'TXT', { klass: 'CH', id: id++ }), false);
  add(query('www.example.test', 'A', { klass: 'ANY', id: id++ }), false);
  add(query('www.example.test', 'A', { klass: 'HS', id: id++, rd: false }), false);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

function setCount(b: Buffer, field: 4 | 6 | 8 | 10, v: number): void {
  b.writeUInt16BE(v & 0xffff, field);
}

function ptr(to: number): Buffer {
  return Buffer.from([0xc0 | ((to >> 8) & 0x3f), to & 0xff]);
}

type Mutator = (b: Buffer, s: Seed, r: Rng) => Buffer;

const INTERESTING = [0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xfe, 0xff];

const MUTATORS: Record<string, Mutator> = {
  bitflip(b, _s, r) {
    for (let n = r.range(1, 8); n > 0; n--) b[r.int(b.length)]! ^= 1 << r.int(8);
    return b;
  },
  bytes(b, _s, r) {
    for (let n = r.range(1, 4); n > 0; n--) b[r.int(b.length)] = r.chance(0.5) ? r.pick(INTERESTING) : r.int(256);
    return b;
  },
  truncate(b, _s, r) {
    return b.subarray(0, r.int(b.length));
  },
  extend(b, _s, r) {
    return Buffer.concat([b, r.bytes(r.range(1, 200))]);
  },
  counts(b, _s, r) {
    const field = r.pick([4, 6, 8, 10] as const);
    setCount(b, field, r.pick([0, 1, 2, 3, 0x7f, 0xff, 0x100, 0xffff, r.int(0x10000)]));
    return b;
  },
  qdcountTwo(b, s, r) {
    // a second question (a copy of the first, or junk) with QDCOUNT 2, or QDCOUNT 2 with only one question
    setCount(b, 4, 2);
    if (r.chance(0.3)) return b;
    const second = r.chance(0.7) ? b.subarray(12, s.qEnd) : Buffer.concat([ptr(12), Buffer.from([0, 1, 0, 1])]);
    return Buffer.concat([b.subarray(0, s.qEnd), second, b.subarray(s.qEnd)]);
  },
  labelLength(b, s, r) {
    const labels = labelOffsets(b, s.qEnd);
    const at = labels.length ? r.pick(labels) : 12;
    const len = b[at]!;
    b[at] = r.pick([0, 1, 63, 64, 0x80, 0xbf, 0xc0, 0xff, len + 1, Math.max(0, len - 1), r.int(256)]) & 0xff;
    return b;
  },
  pointer(b, s, r) {
    const labels = labelOffsets(b, s.qEnd);
    const at = labels.length ? r.pick(labels) : 12;
    const nameEnd = s.qEnd - 4; // just past the root label
    const variant = r.int(8);
    let p: Buffer;
    switch (variant) {
      case 0:
        p = ptr(at);
        break; // points at itself: a loop
      case 1:
        p = ptr(12);
        break; // back to the start of the question: a loop unless at is 12
      case 2:
        p = ptr(at + 2 + r.int(40));
        break; // forward pointer
      case 3:
        p = ptr(r.int(12));
        break; // into the header
      case 4:
        p = ptr(0x3fff);
        break; // past the end
      case 5:
        p = Buffer.concat([ptr(at + 2), ptr(at)]);
        break; // two pointers pointing at each other
      case 6:
        p = ptr(Math.max(nameEnd - 1, at));
        break; // to the root label of the question itself
      default:
        p = Buffer.from([0x40 | r.int(64), r.int(256)]);
        break; // reserved label types 01 and 10
    }
    if (r.chance(0.5)) {
      // replace the rest of the name with the pointer (the usual shape of a compressed name)
      return Buffer.concat([b.subarray(0, at), p, b.subarray(nameEnd)]);
    }
    // overwrite in place, leaving the remainder of the old name as junk
    const out = Buffer.from(b);
    p.copy(out, at, 0, Math.min(p.length, out.length - at));
    return out;
  },
  opcode(b, _s, r) {
    b[2] = (b[2]! & 0x87) | (r.range(1, 15) << 3);
    return b;
  },
  response(b) {
    b[2]! |= 0x80; // QR=1: must be dropped
    return b;
  },
  flags(b, _s, r) {
    b[2] = (b[2]! & 0x80) | r.int(128); // everything but QR: opcode, AA, TC, RD
    b[3] = r.int(256); // RA, Z, AD, CD, RCODE
    return b;
  },
  qtypeClass(b, s, r) {
    b.writeUInt16BE(r.pick([0, 1, 41, 251, 252, 253, 254, 255, 0xffff, r.int(0x10000)]), s.qEnd - 4);
    if (r.chance(0.5)) b.writeUInt16BE(r.pick([0, 1, 2, 3, 4, 254, 255, r.int(0x10000)]), s.qEnd - 2);
    return b;
  },
  optDuplicate(b, s, r) {
    if (s.optAt < 0) return MUTATORS.counts!(b, s, r);
    const opt = Buffer.from(b.subarray(s.optAt));
    if (r.chance(0.5)) opt.writeUInt16BE(r.pick([512, 4096, 0]), 3);
    b.writeUInt16BE(b.readUInt16BE(10) + 1, 10);
    return Buffer.concat([b, opt]);
  },
  optLength(b, s, r) {
    if (s.optAt < 0) return MUTATORS.extend!(b, s, r);
    const rdlen = b.readUInt16BE(s.optAt + 9);
    if (rdlen >= 4 && r.chance(0.6)) {
      // an option length far past the end of the record
      b.writeUInt16BE(r.pick([0xffff, 0x8000, rdlen, rdlen - 3, 5000]), s.optAt + 13);
    } else {
      b.writeUInt16BE(r.pick([0xffff, rdlen + 1, rdlen + 4, Math.max(0, rdlen - 1), 3, 1]), s.optAt + 9);
    }
    return b;
  },
  optFields(b, s, r) {
    if (s.optAt < 0) return MUTATORS.bitflip!(b, s, r);
    switch (r.int(4)) {
      case 0:
        b[s.optAt + 6] = r.range(1, 255);
        break; // EDNS version: BADVERS
      case 1:
        b.writeUInt16BE(r.pick([0, 1, 511, 512, 513, 1231, 1233, 0xffff]), s.optAt + 3);
        break; // payload
      case 2:
        b[s.optAt + 5] = r.int(256);
        break; // extended rcode in a query
      default:
        return Buffer.concat([b.subarray(0, s.optAt), Buffer.from([3, 0x66, 0x6f, 0x6f, 0]), b.subarray(s.optAt + 1)]); // OPT owner not root
    }
    return b;
  },
  ecs(b, s, r) {
    // a Client Subnet option with random fields, added to (or replacing) the OPT's options
    if (s.optAt < 0) return MUTATORS.extend!(b, s, r);
    const family = r.pick([0, 1, 2, 3, 0xffff]);
    const source = r.pick([0, 1, 7, 8, 24, 25, 32, 33, 56, 64, 128, 129, 255]);
    const addrLen = r.chance(0.6) ? Math.ceil(Math.min(source, 128) / 8) : r.int(20);
    const addr = r.chance(0.5) ? Buffer.alloc(addrLen, 0xff) : r.bytes(addrLen);
    const opt = Buffer.concat([u16(8), u16(4 + addrLen), u16(family), Buffer.from([source, r.pick([0, 24, 200])]), addr]);
    const head = b.subarray(0, s.optAt + 9);
    const old = r.chance(0.5) ? b.subarray(s.optAt + 11) : Buffer.alloc(0);
    const rdata = Buffer.concat([old, opt, r.chance(0.2) ? opt : Buffer.alloc(0)]);
    return Buffer.concat([head, u16(rdata.length), rdata]);
  },
  badRecord(b, s, r) {
    // an additional record whose owner name loops, points forward, or whose RDLENGTH lies
    const at = b.length;
    const owner = r.pick([ptr(at), ptr(at + 4), ptr(0x3fff), Buffer.concat([Buffer.from([1, 0x61]), ptr(at)]), Buffer.from([0])]);
    const rdlen = r.pick([4, 0, 0xffff, 3]);
    const rec = Buffer.concat([owner, u16(r.pick([1, 41, 5, 0xffff])), u16(1), Buffer.alloc(4), u16(rdlen), Buffer.from([192, 0, 2, 1])]);
    const field = r.pick([6, 8, 10] as const);
    b.writeUInt16BE(b.readUInt16BE(field) + 1, field);
    if (s.optAt >= 0 && field !== 10) return Buffer.concat([b.subarray(0, s.qEnd), rec, b.subarray(s.qEnd)]);
    return Buffer.concat([b, rec]);
  },
  caseFlip(b, s, r) {
    for (let i = 13; i < s.qEnd - 5; i++) if (r.chance(0.3) && /[a-z]/i.test(String.fromCharCode(b[i]!))) b[i]! ^= 0x20;
    return b;
  },
};

const MUTATOR_NAMES = Object.keys(MUTATORS);

function mutate(s: Seed, r: Rng): Buffer {
  let b = Buffer.from(s.bytes);
  const rounds = r.chance(0.7) ? 1 : r.range(2, 4);
  for (let i = 0; i < rounds; i++) {
    if (b.length === 0) break;
    const before = Buffer.from(b);
    try {
      b = Buffer.from(MUTATORS[r.pick(MUTATOR_NAMES)]!(b, s, r));
    } catch {
      b = before; // an earlier round moved the field this mutator writes past the end: skip it
    }
  }
  return b;
}

interface Case {
  index: number;
  kind: 'random' | 'random-header' | 'mutated' | 'extra';
  bytes: Buffer;
}

function generate(seed: number): Case[] {
  const r = new Rng(seed);
  const corpus = buildCorpus();
  const out: Case[] = [];
  for (let i = 0; i < RANDOM_PACKETS; i++) out.push({ index: out.length, kind: 'random', bytes: r.bytes(r.int(601)) });
  for (let i = 0; i < RANDOM_HEADER_PACKETS; i++) {
    // a plausible header (QR=0, QUERY, QDCOUNT 1, small counts) followed by random bytes
    const b = r.bytes(r.range(12, 600));
    b[2]! &= 0x07;
    b.writeUInt16BE(1, 4);
    b.writeUInt16BE(r.int(3), 6);
    b.writeUInt16BE(r.int(3), 8);
    b.writeUInt16BE(r.int(3), 10);
    if (r.chance(0.5) && b.length > 16) b[12] = r.range(1, 20);
    out.push({ index: out.length, kind: 'random-header', bytes: b });
  }
  for (let i = 0; i < MUTATED_PACKETS; i++) out.push({ index: out.length, kind: 'mutated', bytes: mutate(r.pick(corpus), r) });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Checking replies

const RCODE_OK = new Set([0, 1, 3, 4, 5, 16]); // NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED, BADVERS (extended)

function mustBeDropped(b: Buffer): boolean {
  return b.length < 12 || (b[2]! & 0x80) !== 0;
}

/** The UDP size limit the reply must respect: 512, or the valid OPT's payload clamped to [512, 1232]. */
function udpLimit(b: Buffer): number {
  try {
    const d = packet.decode(b) as { additionals?: { type: string; name: string; udpPayloadSize: number }[] };
    const opts = (d.additionals ?? []).filter((a) => a.type === 'OPT');
    if (opts.length === 1 && opts[0]!.name === '.') return Math.min(Math.max(opts[0]!.udpPayloadSize, 512), 1232);
  } catch {
    // undecodable: no valid OPT
  }
  return 512;
}

interface Stats {
  dropped: number;
  rcodes: Record<number, number>;
  truncated: number;
}

function newStats(): Stats {
  return { dropped: 0, rcodes: {}, truncated: 0 };
}

/** Problems with the replies (zero or more) to `q`; empty when everything is right. */
function checkReplies(q: Buffer, replies: Buffer[], transport: 'udp' | 'tcp', stats: Stats): string[] {
  if (mustBeDropped(q)) {
    stats.dropped++;
    return replies.length === 0 ? [] : [`expected no reply (${q.length < 12 ? 'shorter than a header' : 'QR=1'}), got ${replies.length}`];
  }
  if (replies.length !== 1) return [`expected exactly one reply, got ${replies.length}`];
  const a = replies[0]!;
  const errs: string[] = [];
  let decoded: { additionals?: { type: string; extendedRcode?: number }[] };
  try {
    decoded = packet.decode(a) as typeof decoded;
    if (packet.decode.bytes !== a.length) errs.push(`reply has ${a.length - packet.decode.bytes} trailing bytes`);
  } catch (e) {
    return [`reply does not decode: ${(e as Error).message} (reply ${a.toString('hex')})`];
  }
  if (a.length < 12) return [`reply shorter than a header`];
  if ((a[2]! & 0x80) === 0) errs.push('reply has QR=0');
  if (a.readUInt16BE(0) !== q.readUInt16BE(0)) errs.push(`reply ID ${a.readUInt16BE(0)} != query ID ${q.readUInt16BE(0)}`);
  const qOpcode = (q[2]! >> 3) & 0xf;
  const aOpcode = (a[2]! >> 3) & 0xf;
  if (aOpcode !== qOpcode) errs.push(`reply opcode ${aOpcode} != query opcode ${qOpcode}`);
  if ((a[3]! & 0x80) !== 0) errs.push('reply has RA=1');
  const opts = (decoded.additionals ?? []).filter((x) => x.type === 'OPT');
  if (opts.length > 1) errs.push(`reply has ${opts.length} OPT records`);
  const rcode = (a[3]! & 0x0f) | ((opts[0]?.extendedRcode ?? 0) << 4);
  stats.rcodes[rcode] = (stats.rcodes[rcode] ?? 0) + 1;
  if (rcode === 2) errs.push('SERVFAIL: an internal error answering the query');
  else if (!RCODE_OK.has(rcode)) errs.push(`unexpected rcode ${rcode}`);
  if (qOpcode !== 0 && rcode !== 4) errs.push(`opcode ${qOpcode} answered with rcode ${rcode}, not NOTIMP`);
  const qd = q.readUInt16BE(4);
  if (qd !== 1 && qOpcode === 0 && rcode !== 1) errs.push(`QDCOUNT ${qd} answered with rcode ${rcode}, not FORMERR`);
  const aqd = a.readUInt16BE(4);
  if (aqd > 1) errs.push(`reply has QDCOUNT ${aqd}`);
  if (aqd === 1) {
    // the question is echoed exactly as asked: the reply's question bytes are the query's
    const end = questionEnd(a);
    if (end > q.length || !a.subarray(12, end).equals(q.subarray(12, end))) errs.push('question not echoed byte for byte');
  }
  if (a[2]! & 0x02) stats.truncated++;
  if (transport === 'udp') {
    const limit = udpLimit(q);
    if (a.length > limit) errs.push(`UDP reply of ${a.length} bytes exceeds the limit of ${limit}`);
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------
// Sending

function sentinelFor(index: number): Buffer {
  return query('fuzz-sentinel.example.test', 'A', { id: index & 0xffff, rd: false });
}

function isReplyTo(reply: Buffer, q: Buffer): boolean {
  const qEnd = questionEnd(q);
  return (
    reply.length >= qEnd &&
    reply.readUInt16BE(0) === q.readUInt16BE(0) &&
    (reply[2]! & 0x80) !== 0 &&
    reply.readUInt16BE(4) === 1 &&
    reply.subarray(12, qEnd).equals(q.subarray(12, qEnd))
  );
}

interface Failure {
  index: number;
  kind: string;
  packet: string;
  problems: string[];
}

function failure(c: Case, problems: string[]): Failure {
  return { index: c.index, kind: c.kind, packet: c.bytes.toString('hex'), problems };
}

/** Sends each case followed by a sentinel over UDP, `IN_FLIGHT` sockets at a time. */
async function fuzzUdp(port: number, cases: Case[], stats: Stats): Promise<Failure[]> {
  const failures: Failure[] = [];
  let next = 0;
  const worker = async () => {
    let sock = await openUdp();
    try {
      while (next < cases.length) {
        const c = cases[next++]!;
        const sentinel = sentinelFor(c.index);
        const res = await exchangeUdp(sock, port, c.bytes, sentinel);
        if (!res) {
          failures.push(failure(c, ['no reply to the sentinel query that followed it: the server stopped answering']));
          sock.close();
          sock = await openUdp();
          continue;
        }
        if (!checkSentinel(res.sentinel)) failures.push(failure(c, ['the sentinel query that followed it got a wrong answer']));
        const problems = checkReplies(c.bytes, res.replies, 'udp', stats);
        if (problems.length) failures.push(failure(c, problems));
      }
    } finally {
      sock.close();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return failures.sort((x, y) => x.index - y.index);
}

function openUdp(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function exchangeUdp(
  sock: dgram.Socket,
  port: number,
  msg: Buffer,
  sentinel: Buffer,
): Promise<{ replies: Buffer[]; sentinel: Buffer } | null> {
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    const done = (v: { replies: Buffer[]; sentinel: Buffer } | null) => {
      clearTimeout(timer);
      sock.off('message', onMessage);
      resolve(v);
    };
    const onMessage = (m: Buffer) => {
      if (isReplyTo(m, sentinel)) done({ replies, sentinel: m });
      else replies.push(m);
    };
    const timer = setTimeout(() => done(null), PACKET_TIMEOUT_MS);
    sock.on('message', onMessage);
    sock.send(msg, port, '127.0.0.1');
    sock.send(sentinel, port, '127.0.0.1');
  });
}

function checkSentinel(reply: Buffer): boolean {
  const { msg } = decode(reply);
  return msg.rcode === 'NXDOMAIN' && msg.flag_aa && msg.authorities.length === 1 && msg.authorities[0]!.type === 'SOA';
}

/** Sends cases over one TCP connection, each framed and followed by a framed sentinel, all pipelined. */
function fuzzTcpConnection(port: number, cases: Case[], stats: Stats): Promise<Failure[]> {
  return new Promise((resolve, reject) => {
    const sentinels = cases.map((c) => sentinelFor(c.index));
    const frames: Buffer[] = [];
    for (const [i, c] of cases.entries()) frames.push(u16(c.bytes.length), c.bytes, u16(sentinels[i]!.length), sentinels[i]!);
    const sock = net.connect({ port, host: '127.0.0.1' });
    const failures: Failure[] = [];
    let buf = Buffer.alloc(0);
    let at = 0;
    let replies: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP: stopped after ${at}/${cases.length} cases (next: ${cases[at]?.bytes.toString('hex')})`));
    }, 10_000);
    sock.on('connect', () => sock.write(Buffer.concat(frames)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        if (at < cases.length && isReplyTo(m, sentinels[at]!)) {
          const c = cases[at]!;
          if (!checkSentinel(m)) failures.push(failure(c, ['the sentinel query that followed it got a wrong answer']));
          const problems = checkReplies(c.bytes, replies, 'tcp', stats);
          if (problems.length) failures.push(failure(c, problems));
          replies = [];
          at++;
        } else {
          replies.push(m);
        }
      }
      if (at === cases.length) {
        clearTimeout(timer);
        sock.end();
        resolve(failures);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function stillAnswers(t: import('ava').ExecutionContext, s: TestServer): Promise<void> {
  for (const via of [udp, tcp]) {
    const r = await via(s.port, query('ns1.example.test', 'A'));
    t.is(r.msg.rcode, 'NOERROR');
    t.true(r.msg.flag_aa);
    t.deepEqual(
      r.msg.answers.map((x) => x.data),
      ['192.0.2.53'],
    );
    const big = await via(s.port, query('big.fuzz.test', 'TXT', { edns: true }));
    t.is(big.msg.rcode, 'NOERROR');
    if (via === tcp) t.is(big.msg.answers.length, 40);
    else t.true(big.msg.flag_tc);
  }
  const errors = s.logs.filter((l) => (l.level as number) >= 50);
  t.deepEqual(
    errors.map((l) => l.msg),
    [],
    'the server logged errors (internal error answering a query?)',
  );
}

function report(t: import('ava').ExecutionContext, failures: Failure[], stats: Stats, total: number): void {
  t.log(
    `${total} packets, seed ${SEED_HEX}: ${stats.dropped} dropped as expected, ${stats.truncated} TC, rcodes ${JSON.stringify(stats.rcodes)}`,
  );
  for (const f of failures.slice(0, 10)) t.log(`#${f.index} (${f.kind}) ${f.packet}: ${f.problems.join('; ')}`);
  t.is(failures.length, 0, `${failures.length} packets misanswered (reproduce with FUZZ_SEED=${SEED_HEX})`);
}

// ---------------------------------------------------------------------------------------------------------

const CASES = generate(SEED);

test(`fuzz: ${CASES.length} random and mutated packets over UDP (seed ${SEED_HEX})`, async (t) => {
  t.is(CASES.length, 10_000);
  const s = await startServer(ZONES);
  try {
    t.is(s.server.zoneCount, 2, 'both fuzz zones load');
    const stats = newStats();
    const failures = await fuzzUdp(s.port, CASES, stats);
    report(t, failures, stats, CASES.length);
    // the mix exercises every path: drops, answers, and each error rcode
    t.true(stats.dropped > 1000);
    for (const rcode of [0, 1, 3, 4, 5, 16]) t.true((stats.rcodes[rcode] ?? 0) > 10, `rcode ${rcode} seen`);
    t.true(stats.truncated > 10);
    await stillAnswers(t, s);
  } finally {
    await s.stop();
  }
});

test('binary labels under a wildcard: answered, the owner name echoing the query byte for byte', async (t) => {
  const s = await startServer(ZONES);
  try {
    const longest = [
      ...Array.from({ length: 3 }, () => Buffer.alloc(63, 0x41)),
      Buffer.alloc(49, 0x5c),
      Buffer.from('w'),
      Buffer.from('fuzz'),
      Buffer.from('test'),
    ];
    const names = [
      [Buffer.from([0])],
      [Buffer.from('a.b')],
      [Buffer.from('A\\065')],
      [Buffer.alloc(63, 0xc0)],
      [Buffer.from([0xff, 0x2a])],
      longest,
    ];
    for (const labels of names) {
      const full = labels === longest ? labels : [...labels, Buffer.from('w'), Buffer.from('fuzz'), Buffer.from('test')];
      const q = rawQuery(full, 1, 0x4242);
      const qEnd = questionEnd(q);
      for (const via of ['udp', 'tcp'] as const) {
        const raw = (await (via === 'udp' ? udp : tcp)(s.port, q)).raw;
        const { msg } = decode(raw);
        t.is(msg.rcode, 'NOERROR', `${via} ${q.toString('hex')}`);
        t.deepEqual(
          msg.answers.map((a) => [a.type, a.data]),
          [['A', '192.0.2.50']],
        );
        t.true(raw.subarray(12, qEnd).equals(q.subarray(12, qEnd)), 'question echoed');
        // the answer's owner name is a pointer to the question (the only way to echo arbitrary bytes)
        t.is(raw.readUInt16BE(qEnd), 0xc00c);
      }
    }
    t.is(s.logs.filter((l) => (l.level as number) >= 50).length, 0);
  } finally {
    await s.stop();
  }
});

test(`fuzz: ${TCP_PACKETS} mutated packets and the corpus over TCP, pipelined (seed ${SEED_HEX})`, async (t) => {
  const mutated = CASES.filter((c) => c.kind === 'mutated');
  const step = Math.floor(mutated.length / TCP_PACKETS);
  const picked = Array.from({ length: TCP_PACKETS }, (_, i) => mutated[i * step]!);
  // plus the unmutated corpus, and frames only TCP can carry: empty ones, queries whose answers UDP truncates
  const extra = [
    ...buildCorpus().map((c) => c.bytes),
    Buffer.alloc(0),
    Buffer.from([0]),
    Buffer.alloc(11),
    query('big.fuzz.test', 'TXT', { id: 7 }),
    query('big.fuzz.test', 'ANY', { id: 8, edns: true }),
    query('many.fuzz.test', 'A', { id: 9 }),
  ];
  for (const bytes of extra) picked.push({ index: CASES.length + picked.length, kind: 'extra', bytes });
  const s = await startServer(ZONES);
  try {
    const stats = newStats();
    const perConn = 100;
    const chunks = Array.from({ length: Math.ceil(picked.length / perConn) }, (_, i) => picked.slice(i * perConn, (i + 1) * perConn));
    const failures = (await Promise.all(chunks.map((c) => fuzzTcpConnection(s.port, c, stats)))).flat();
    report(t, failures, stats, picked.length);
    t.true(stats.dropped > 0);
    await stillAnswers(t, s);
  } finally {
    await s.stop();
  }
});
