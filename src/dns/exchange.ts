// One query and its response on their way through the answer stages — parse (query.ts), lookup
// (respond.ts), write (writer.ts), limit (rrl.ts) — as Knot DNS's per-query data: each stage fills in what
// the next one reads. A listener owns one Exchange and reuses it for every query it answers (answering is
// synchronous), so no record is allocated per query. Every field is set at construction and keeps its
// type, so V8 sees one shape.
import { FlatAnswer } from './flat-answer.js';
import type { Query } from './query.js';
import type { RrlAction } from './rrl.js';
import type { Answer } from './rrset.js';

export type Transport = 'udp' | 'tcp';

const NO_BYTES = Buffer.alloc(0);

export class Exchange {
  // ---- received
  /** The query's bytes (a datagram, or one TCP message without its length prefix). */
  msg: Buffer = NO_BYTES;
  /** Source address, as the socket reports it. */
  address = '';
  transport: Transport = 'udp';
  /** performance.now() when the query arrived (for the answer-time histogram). */
  started = 0;

  // ---- parse
  /** The parsed query; null when the bytes were dropped unread (shorter than a header, or a response). */
  query: Query | null = null;
  /** The question's lookup key and type ('' and 0 when no question was read). */
  name = '';
  qtype = 0;

  // ---- lookup
  rcode = 0;
  /**
   * What answered: the zones' lookup (`flat`, the exchange's own), CHAOS or a refusal; null when a pre-check
   * (NOTIMP, FORMERR, BADVERS) did.
   */
  answer: Answer | FlatAnswer | null = null;
  /** The answer of a lookup in the zones, refilled for each query (no answer object per query). */
  readonly flat = new FlatAnswer();
  /** Origin of the zone that answered ("" the root), null outside every zone. */
  zone: string | null = null;

  // ---- write
  /** The response written for the query (null: dropped unread). */
  response: Buffer | null = null;
  /** The written message has TC=1 (a slip's too). */
  truncated = false;
  /** Records in the answer, authority and additional sections of the written message (OPT not counted). */
  answerCount = 0;
  authorityCount = 0;
  additionalCount = 0;

  // ---- limit
  /** What response rate limiting did ('send' when it did not apply). */
  rrlAction: RrlAction = 'send';

  /** Starts a new query: everything a stage fills in is reset. */
  begin(msg: Buffer, address: string, transport: Transport, started: number): void {
    this.msg = msg;
    this.address = address;
    this.transport = transport;
    this.started = started;
    this.query = null;
    this.name = '';
    this.qtype = 0;
    this.rcode = 0;
    this.answer = null;
    this.zone = null;
    this.response = null;
    this.truncated = false;
    this.answerCount = this.authorityCount = this.additionalCount = 0;
    this.rrlAction = 'send';
  }
}
