// Writing a response: header, the question copied from the query, the answer's RRsets with name
// compression (owner names point into the question, so they echo the case as asked), OPT last.
// Enforces the size limit: an answer or authority RRset that does not fit truncates the message to
// header + question (+ OPT) with TC=1; optional additional data that does not fit is left out; mandatory
// glue that does not fit sets TC (RFC 9471). The write stage of the answer path: what it wrote (TC, the
// section counts) goes into the exchange, so nobody reads the bytes back.

import { NameCompressor } from './compress.js';
import { EDNS_PAYLOAD } from './constants.js';
import type { Exchange } from './exchange.js';
import { FlatAnswer } from './flat-answer.js';
import { mustDrop, type Query } from './query.js';
import { OPTION, RCODE, TYPE } from './registry.js';
import type { Answer } from './rrset.js';
import { flatCount, fromFlat, fromRRset, RefAnswer, type RotationCounters, SetRef } from './set-ref.js';

export type { RotationCounters } from './set-ref.js';

export interface ResponseOptions {
  rcode: number;
  aa: boolean;
  /** Byte budget of the whole message (UDP: the client's limit; TCP: 65535). */
  maxSize: number;
  /**
   * Round-robin counters of RRsets marked `rotate`, one per RRset (keyed by its RDATA array, which copies
   * under another owner share): each set's order moves by one every time it is written. Null: written order.
   */
  rotation: RotationCounters | null;
  /** EDNS options to send (already filtered by what the client asked for). */
  nsid: Buffer | null;
  ecsScope: number;
  /** Header, question and OPT only, with TC=1 (a rate-limited "slip" response). */
  truncate: boolean;
}

/** What the writer reports about the message it wrote (the exchange holds it: no object per response). */
export interface WrittenMessage {
  truncated: boolean;
  /** Records in each section (the OPT not counted). */
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
}

// One scratch buffer: a response is written here, then copied out at its final size. Room for a full
// message plus one more maximal record, since a record is checked against the limit after it is written.
const SCRATCH = Buffer.alloc(65535 + 66000);

class Writer {
  pos = 0;
  readonly names = new NameCompressor();

  constructor(readonly buf: Buffer) {}

  u16(v: number): void {
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  /** The header of a record after its owner: type, class, TTL and RDLENGTH. */
  private fixed(r: SetRef, len: number): void {
    const { buf } = this;
    const p = this.pos;
    const { type, klass, ttl } = r;
    buf[p] = type >> 8;
    buf[p + 1] = type & 0xff;
    buf[p + 2] = klass >> 8;
    buf[p + 3] = klass & 0xff;
    buf[p + 4] = ttl >>> 24;
    buf[p + 5] = (ttl >>> 16) & 0xff;
    buf[p + 6] = (ttl >>> 8) & 0xff;
    buf[p + 7] = ttl & 0xff;
    buf[p + 8] = len >> 8;
    buf[p + 9] = len & 0xff;
    this.pos = p + 10;
  }

  /** Writes the RRset `r`; returns its record count, or -1 as soon as it runs past `limit`. */
  rrset(r: SetRef, limit: number): number {
    const n = r.count;
    const { buf, names } = this;
    names.owner(r.owner, r.ownerAt);
    const list = r.list;
    const data = r.data;
    let at = r.dataAt;
    if (list === null) for (let i = 0; i < r.start; i++) at += 2 + ((data[at]! << 8) | data[at + 1]!);
    for (let i = 0, k = r.start; i < n; i++, k++) {
      if (k === n) {
        k = 0;
        at = r.dataAt;
      }
      this.pos = names.write(this.pos);
      if (list !== null) {
        const rd = list[k]!;
        const len = rd.length;
        this.fixed(r, len);
        const p = this.pos;
        if (len <= 16)
          for (let j = 0; j < len; j++) buf[p + j] = rd[j]!; // addresses: no copy call
        else rd.copy(buf, p);
        this.pos = p + len;
      } else {
        const len = (data[at]! << 8) | data[at + 1]!;
        this.fixed(r, len);
        const p = this.pos;
        const from = at + 2;
        // Buffer#copy of a range makes a view object: short RDATA is copied by hand
        if (len <= 64) for (let j = 0; j < len; j++) buf[p + j] = data[from + j]!;
        else data.copy(buf, p, from, from + len);
        this.pos = p + len;
        at = from + len;
      }
      if (this.pos > limit) return -1; // one record past the limit at most: the scratch buffer has room for it
    }
    return n;
  }
}

// The writer (answering is synchronous: one response at a time) and the RRset being written.
const WRITER = new Writer(SCRATCH);
const NO_LABELS: number[] = [];
const REF = new SetRef();

function optSize(q: Query, o: ResponseOptions): number {
  if (!q.edns) return 0;
  let size = 11;
  if (o.nsid) size += 4 + o.nsid.length;
  if (q.edns.ecs) size += 8 + q.edns.ecs.address.length;
  return size;
}

function writeOpt(w: Writer, q: Query, o: ResponseOptions): void {
  const edns = q.edns!;
  const { buf } = w;
  buf[w.pos++] = 0; // root owner
  w.u16(TYPE.OPT);
  w.u16(EDNS_PAYLOAD); // our UDP payload size
  buf[w.pos++] = (o.rcode >> 4) & 0xff; // extended RCODE
  buf[w.pos++] = 0; // version 0
  w.u16(edns.dnssecOk ? 0x8000 : 0); // DO copied (RFC 3225)
  const rdlenAt = w.pos;
  w.pos += 2;
  if (o.nsid) {
    w.u16(OPTION.NSID);
    w.u16(o.nsid.length);
    o.nsid.copy(buf, w.pos);
    w.pos += o.nsid.length;
  }
  if (edns.ecs) {
    const e = edns.ecs;
    w.u16(OPTION.ECS);
    w.u16(4 + e.address.length);
    w.u16(e.family);
    buf[w.pos++] = e.sourcePrefix;
    buf[w.pos++] = Math.min(o.ecsScope, e.family === 1 ? 32 : 128);
    e.address.copy(buf, w.pos);
    w.pos += e.address.length;
  }
  buf.writeUInt16BE(w.pos - rdlenAt - 2, rdlenAt);
}

function header(w: Writer, q: Query, o: ResponseOptions, tc: boolean, qd: number): void {
  const { buf } = w;
  buf.writeUInt16BE(q.id, 0);
  // QR, opcode, AA, TC, RD copied, RA never, CD copied; rcode low 4 bits
  let flags = 0x8000 | (q.opcode << 11) | (q.flags & 0x0110) | (o.rcode & 0xf);
  if (o.aa) flags |= 0x0400;
  if (tc) flags |= 0x0200;
  buf.writeUInt16BE(flags, 2);
  buf[4] = qd >> 8;
  buf[5] = qd & 0xff;
  buf[6] = buf[7] = buf[8] = buf[9] = buf[10] = buf[11] = 0;
  w.pos = 12;
}

/** RRsets in section `s` of whichever form the answer has. */
function sectionCount(sections: unknown[][] | null, refs: SetRef[][] | null, flat: FlatAnswer | null, s: number): number {
  if (sections !== null) return sections[s]!.length;
  return refs !== null ? refs[s]!.length : flatCount(flat!, s);
}

/** Encodes a response to `q` (whose bytes are `msg`) carrying `ans` (or no records); tells `written` what it wrote. */
export function writeResponse(
  msg: Buffer,
  q: Query,
  ans: Answer | FlatAnswer | RefAnswer | null,
  o: ResponseOptions,
  written: WrittenMessage,
): Buffer {
  const w = WRITER;
  const question = q.question;
  const qd = question ? 1 : 0;
  header(w, q, o, false, qd);
  if (question) {
    msg.copy(SCRATCH, 12, 12, question.end);
    w.pos = question.end;
  }
  w.names.begin(SCRATCH, question ? question.labelOffsets : NO_LABELS);
  const qname = question ? question.name : null;
  const afterQuestion = w.pos;
  let opt = optSize(q, o);
  // header, question and OPT must fit even when truncated: the NSID (optional, up to 255 octets) goes first
  if (o.nsid && afterQuestion + opt > o.maxSize) {
    o = { ...o, nsid: null };
    opt = optSize(q, o);
  }
  const limit = Math.min(o.maxSize, 65535) - opt;
  let tc = o.truncate;
  let answers = 0;
  let authority = 0;
  let additional = 0;
  if (ans && !o.truncate) {
    const counts = [0, 0, 0];
    const flat = ans instanceof FlatAnswer ? ans : null;
    const refs = ans instanceof RefAnswer ? ans.sections : null;
    const sections =
      flat === null && refs === null ? [(ans as Answer).answer, (ans as Answer).authority, (ans as Answer).additional] : null;
    let overflow = false;
    for (let s = 0; s < 2 && !overflow; s++) {
      for (let i = 0, m = sectionCount(sections, refs, flat, s); i < m; i++) {
        if (sections !== null) fromRRset(REF, sections[s]![i]!, o.rotation, msg, qname);
        else if (flat !== null) fromFlat(REF, flat, s, i, o.rotation, msg);
        const n = w.rrset(refs !== null ? refs[s]![i]! : REF, limit);
        if (n < 0) {
          overflow = true;
          break;
        }
        counts[s]! += n;
      }
    }
    if (overflow) {
      // RFC 2181 §9: do not hand out a partial answer — header and question only, TC=1
      tc = true;
      counts[0] = counts[1] = 0;
      w.pos = afterQuestion;
    } else {
      for (let i = 0, m = sectionCount(sections, refs, flat, 2); i < m; i++) {
        const before = w.pos;
        if (sections !== null) fromRRset(REF, sections[2]![i]!, o.rotation, msg, qname);
        else if (flat !== null) fromFlat(REF, flat, 2, i, o.rotation, msg);
        const n = w.rrset(refs !== null ? refs[2]![i]! : REF, limit);
        if (n < 0) {
          w.pos = before;
          if (i < ans.mandatoryAdditional) tc = true; // in-domain glue must fit (RFC 9471)
          break;
        }
        counts[2]! += n;
      }
    }
    answers = counts[0]!;
    authority = counts[1]!;
    additional = counts[2]!;
    SCRATCH.writeUInt16BE(answers, 6);
    SCRATCH.writeUInt16BE(authority, 8);
    SCRATCH.writeUInt16BE(additional, 10);
  }
  if (q.edns) {
    writeOpt(w, q, o);
    SCRATCH.writeUInt16BE(SCRATCH.readUInt16BE(10) + 1, 10);
  }
  if (tc) SCRATCH[2]! |= 0x02;
  const out = Buffer.allocUnsafe(w.pos); // small: from Node's buffer pool
  SCRATCH.copy(out, 0, 0, w.pos);
  written.truncated = tc;
  written.answerCount = answers;
  written.authorityCount = authority;
  written.additionalCount = additional;
  return out;
}

/**
 * The write stage: the response to the exchange's query carrying its answer, within the client's limit
 * (TCP 65535; UDP 512, or the EDNS payload size within 512..1232). `nsid`: sent when the client asked.
 */
export function writeAnswer(ex: Exchange, rotation: RotationCounters | null, nsid: Buffer | null): Buffer {
  return writeExchange(ex, ex.answer, rotation, nsid);
}

/** The write stage again, for the answer the signing stage rebuilt with its signatures (rcode and all): the same limits. */
export function writeRefAnswer(ex: Exchange, ans: RefAnswer, nsid: Buffer | null): Buffer {
  ex.rcode = ans.rcode;
  return writeExchange(ex, ans, null, nsid);
}

function writeExchange(
  ex: Exchange,
  ans: Answer | FlatAnswer | RefAnswer | null,
  rotation: RotationCounters | null,
  nsid: Buffer | null,
): Buffer {
  const q = ex.query!;
  const edns = q.edns;
  const maxSize = ex.transport === 'tcp' ? 65535 : edns !== null ? Math.min(Math.max(edns.payload, 512), EDNS_PAYLOAD) : 512;
  const out = writeResponse(
    ex.msg,
    q,
    ans,
    {
      rcode: ex.rcode,
      aa: ans?.aa === true,
      maxSize,
      rotation,
      nsid: edns?.nsid ? nsid : null,
      ecsScope: ans !== null ? ans.ecsScope : 0,
      truncate: false,
    },
    ex,
  );
  ex.response = out;
  return out;
}

/** The rate limiter's "slip": the response cut to header, question and OPT, with TC=1 (null: no query was read). */
export function writeSlip(ex: Exchange): Buffer | null {
  const q = ex.query;
  if (q === null) return null;
  return writeResponse(
    ex.msg,
    q,
    null,
    { rcode: ex.rcode, aa: false, maxSize: 512, rotation: null, nsid: null, ecsScope: 0, truncate: true },
    ex,
  );
}

/** After an internal fault (a bug, never bad input): a bare SERVFAIL echoing the query's header, when readable. */
export function writeServfail(ex: Exchange): Buffer | null {
  const msg = ex.msg;
  ex.rcode = RCODE.SERVFAIL;
  ex.truncated = false;
  ex.answerCount = ex.authorityCount = ex.additionalCount = 0;
  ex.response = null;
  if (mustDrop(msg)) return null;
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 4);
  out[2] = 0x80 | (msg[2]! & 0x79); // QR, opcode, RD
  out[3] = RCODE.SERVFAIL;
  ex.response = out;
  return out;
}
