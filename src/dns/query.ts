// Reading a query: the header and question straight from the bytes (so the question is echoed exactly as
// asked and binary labels can never alias a zone name), the rest of the message validated by dns-packet,
// and EDNS(0) (RFC 6891) with NSID (RFC 5001) and Client Subnet (RFC 7871).
import packet from 'dns-packet';
import type { Exchange } from './exchange.js';
import { OPTION, TYPE } from './registry.js';

export interface Question {
  /** Lookup key: lower-case, dot-separated, no trailing dot; bytes outside [a-z0-9_*-] escaped as \DDD. */
  name: string;
  qtype: number;
  qclass: number;
  /** Offset of each label in the message (for compression pointers into the question). */
  labelOffsets: number[];
  /** Offset just past QCLASS. */
  end: number;
}

export interface ClientSubnet {
  family: 1 | 2;
  sourcePrefix: number;
  /** The address bytes as sent (ceil(sourcePrefix / 8) octets). */
  address: Buffer;
}

export interface Edns {
  payload: number;
  version: number;
  dnssecOk: boolean;
  nsid: boolean;
  ecs: ClientSubnet | null;
}

export interface Query {
  id: number;
  flags: number;
  opcode: number;
  qdcount: number;
  question: Question | null;
  edns: Edns | null;
  /** Why the message gets FORMERR, when it does. */
  formerr: string | null;
}

export const HEADER_SIZE = 12;

/** True when the bytes cannot be answered at all (shorter than a header, or a response): drop them. */
export function mustDrop(msg: Buffer): boolean {
  return msg.length < HEADER_SIZE || (msg[2]! & 0x80) !== 0;
}

const SAFE = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789-_*') SAFE[c.charCodeAt(0)] = 1;

// Lower-case form of each byte, for names: ASCII letters fold, every other byte stays as it is.
const LOWER = new Uint8Array(256).map((_, c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));
const NAME_SCRATCH = Buffer.alloc(256);

/** Reads the question at `off` (no compression: nothing precedes it to point at). Null when malformed. */
export function readQuestion(msg: Buffer, off: number): Question | null {
  const labelOffsets: number[] = [];
  const start = off;
  let n = 0; // bytes of the lookup key written to NAME_SCRATCH
  let safe = true;
  const end = msg.length;
  for (;;) {
    if (off >= end) return null;
    const len = msg[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63) return null; // compression pointer or reserved label type
    // the name on the wire, this label and the root's zero octet included, is at most 255 octets (RFC 1035 §3.1)
    if (off - start + 1 + len + 1 > 255 || off + 1 + len > end) return null;
    labelOffsets.push(off);
    if (n > 0) NAME_SCRATCH[n++] = 0x2e;
    for (let i = off + 1, stop = off + 1 + len; i < stop; i++) {
      const c = LOWER[msg[i]!]!;
      if (!SAFE[c]) safe = false;
      NAME_SCRATCH[n++] = c;
    }
    off += len + 1;
  }
  if (off + 4 > end) return null;
  // the common case is plain letters, digits and hyphens: one string from the folded bytes
  const name = safe ? NAME_SCRATCH.toString('latin1', 0, n) : escapedName(msg, labelOffsets);
  return { name, qtype: (msg[off]! << 8) | msg[off + 1]!, qclass: (msg[off + 2]! << 8) | msg[off + 3]!, labelOffsets, end: off + 4 };
}

/** The lookup key of a name with bytes outside [a-z0-9_*-]: those are written \DDD, so they never alias. */
function escapedName(msg: Buffer, labelOffsets: number[]): string {
  let name = '';
  for (const at of labelOffsets) {
    if (name) name += '.';
    for (let i = at + 1; i <= at + msg[at]!; i++) {
      const c = LOWER[msg[i]!]!;
      name += SAFE[c] ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
    }
  }
  return name;
}

interface DecodedOpt {
  type: string;
  name: string;
  udpPayloadSize: number;
  ednsVersion: number;
  flags: number;
  options: { code: number; data: Buffer }[];
}

/**
 * Parses a query. The common shapes — a question alone, or a question and one OPT record with NSID, ECS
 * or other options — are read straight from the bytes; anything else goes through dns-packet's decoder
 * (`slow: true` forces that path; the differential tests compare both on the same inputs). When `how` is
 * given, `how.took` reports which one read past the question ('direct' when the question itself is
 * unreadable: nothing is read past it); the tests check the direct path is taken. `ignoreEcs` (`geoip.ecs`
 * off): Client Subnet options are not read at all — neither used, validated nor echoed, like any option we
 * do not implement (RFC 6891 §6.1.2, RFC 7871 §7.2.1).
 */
export function parseQuery(msg: Buffer, how?: { slow?: boolean; took?: 'direct' | 'decoder' }, ignoreEcs = false): Query {
  const flags = msg.readUInt16BE(2);
  const q: Query = {
    id: msg.readUInt16BE(0),
    flags,
    opcode: (flags >> 11) & 0xf,
    qdcount: msg.readUInt16BE(4),
    question: null,
    edns: null,
    formerr: null,
  };
  if (how) how.took = 'direct';
  if (q.qdcount >= 1) q.question = readQuestion(msg, HEADER_SIZE);
  if (q.qdcount !== 1 || !q.question) {
    q.formerr = q.qdcount !== 1 ? `QDCOUNT is ${q.qdcount}` : 'unreadable question';
    if (q.qdcount !== 1) q.question = null;
    // QDCOUNT 0 or 2+: read on for the OPT, so the FORMERR carries OPT like every reply to an EDNS query
    if (q.qdcount === 1) return q;
  }
  if (q.question && !how?.slow && msg.readUInt32BE(6) === 0) {
    const ar = msg.readUInt16BE(10);
    // the common plain query (no other records, nothing after the question) needs no further decoding
    if (ar === 0 && q.question.end === msg.length) return q;
    // one OPT right after the question, ending the message: read it here
    if (ar === 1 && readOptFast(msg, q.question.end, q, ignoreEcs)) return q;
  }
  if (how) how.took = 'decoder';
  let decoded: { answers?: unknown[]; authorities?: unknown[]; additionals?: unknown[] };
  try {
    // 4 bytes of slack: dns-packet's ECS decoder reads past a too-short option at the end of the message and
    // throws, which would lose the OPT (a bad ECS is our FORMERR, with OPT). Records running past the end
    // of the message are still malformed.
    decoded = packet.decode(Buffer.concat([msg, Buffer.alloc(4)])) as typeof decoded;
    if ((packet.decode as unknown as { bytes: number }).bytes > msg.length) throw new Error('records run past the end of the message');
  } catch (e) {
    q.formerr = `malformed message: ${(e as Error).message}`;
    return q;
  }
  const isOpt = (r: unknown) => (r as DecodedOpt).type === 'OPT';
  if ((decoded.answers ?? []).some(isOpt) || (decoded.authorities ?? []).some(isOpt)) {
    q.formerr = 'OPT outside the additional section'; // RFC 6891 §6.1.1
    return q;
  }
  const opts = (decoded.additionals ?? []).filter(isOpt) as DecodedOpt[];
  if (opts.length > 1) {
    q.formerr = 'more than one OPT record';
    return q;
  }
  const opt = opts[0];
  if (!opt) return q;
  if (opt.name !== '.') {
    q.formerr = 'OPT owner is not the root';
    return q;
  }
  const edns: Edns = {
    payload: opt.udpPayloadSize,
    version: opt.ednsVersion,
    dnssecOk: (opt.flags & 0x8000) !== 0,
    nsid: false,
    ecs: null,
  };
  q.edns = edns;
  // options are defined per EDNS version: a version we do not implement gets BADVERS, its options unread
  if (edns.version > 0) return q;
  for (const o of opt.options ?? []) {
    if (o.code === OPTION.NSID) edns.nsid = true;
    else if (o.code === OPTION.ECS && !ignoreEcs) {
      if (edns.ecs) {
        q.formerr = 'more than one Client Subnet option';
        return q;
      }
      const ecs = readClientSubnet(o.data);
      if (typeof ecs === 'string') {
        q.formerr = ecs;
        return q;
      }
      edns.ecs = ecs;
    }
  }
  return q;
}

/**
 * The parse stage: reads the exchange's message into `ex.query`, with the question's name and type. False
 * when the message is dropped unread (shorter than a header, or a response). `slow`: the full decoder
 * only (the differential tests compare both paths); `ignoreEcs`: as for parseQuery.
 */
export function readQuery(ex: Exchange, slow: boolean, ignoreEcs: boolean): boolean {
  if (mustDrop(ex.msg)) return false;
  const q = parseQuery(ex.msg, slow ? { slow: true } : undefined, ignoreEcs);
  const question = q.question;
  ex.query = q;
  ex.name = question !== null ? question.name : '';
  ex.qtype = question !== null ? question.qtype : 0;
  return true;
}

/**
 * Reads an OPT record at `off` that must end the message. Returns false (untouched `q`) for anything else
 * — another record type, an owner that is not the root, lengths that do not add up — so the full decoder
 * judges it.
 */
function readOptFast(msg: Buffer, off: number, q: Query, ignoreEcs: boolean): boolean {
  const end = msg.length;
  if (off + 11 > end || msg[off] !== 0 || msg[off + 1] !== 0 || msg[off + 2] !== TYPE.OPT) return false;
  const rdlen = (msg[off + 9]! << 8) | msg[off + 10]!;
  if (off + 11 + rdlen !== end) return false;
  // options must tile the RDATA exactly
  for (let o = off + 11; o < end; ) {
    if (o + 4 > end) return false;
    const len = (msg[o + 2]! << 8) | msg[o + 3]!;
    if (o + 4 + len > end) return false;
    o += 4 + len;
  }
  const edns: Edns = {
    payload: (msg[off + 3]! << 8) | msg[off + 4]!,
    version: msg[off + 6]!,
    dnssecOk: (msg[off + 7]! & 0x80) !== 0,
    nsid: false,
    ecs: null,
  };
  q.edns = edns;
  if (edns.version > 0) return true; // BADVERS, options unread (as above)
  for (let o = off + 11; o < end; ) {
    const code = (msg[o]! << 8) | msg[o + 1]!;
    const len = (msg[o + 2]! << 8) | msg[o + 3]!;
    if (code === OPTION.NSID) edns.nsid = true;
    else if (code === OPTION.ECS && !ignoreEcs) {
      if (edns.ecs) {
        q.formerr = 'more than one Client Subnet option';
        return true;
      }
      const ecs = readClientSubnet(msg.subarray(o + 4, o + 4 + len));
      if (typeof ecs === 'string') {
        q.formerr = ecs;
        return true;
      }
      edns.ecs = ecs;
    }
    o += 4 + len;
  }
  return true;
}

/** RFC 7871 §6 validation of an ECS option body. Returns the reason on malformed input. */
export function readClientSubnet(d: Buffer): ClientSubnet | string {
  if (d.length < 4) return 'Client Subnet option too short';
  const family = d.readUInt16BE(0);
  if (family !== 1 && family !== 2) return `Client Subnet family ${family} is not IPv4 (1) or IPv6 (2)`;
  const sourcePrefix = d[2]!;
  const max = family === 1 ? 32 : 128;
  if (sourcePrefix > max) return `Client Subnet source prefix ${sourcePrefix} is longer than ${max}`;
  const address = d.subarray(4);
  if (address.length !== Math.ceil(sourcePrefix / 8)) return 'Client Subnet address length does not match its source prefix';
  const rem = sourcePrefix % 8;
  if (rem && (address[address.length - 1]! & (0xff >> rem)) !== 0) return 'Client Subnet address has bits set past its source prefix';
  return { family, sourcePrefix, address: Buffer.from(address) };
}

/** QTYPEs a client may not ask for: OPT is a pseudo-RR, never a question (RFC 6891 §6.1.1). */
export function isBadQtype(qtype: number): boolean {
  return qtype === TYPE.OPT;
}
