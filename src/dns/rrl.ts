// Response rate limiting for UDP (as in BIND, Knot and NSD RRL; `rrl:`, docs/configuration.md#rrl). A spoofed
// flood asking for one answer again and again must not turn this server into an amplifier aimed at the victim
// whose address was forged. Responses are counted per key — (client /24 or /56, the name asked — the zone for
// NXDOMAIN and errors —, qtype, kind of response) — in a fixed-size table, so that a flood from random sources
// cannot grow memory. Over the budget, every `slip`-th response goes out truncated (TC=1: a real client retries
// over TCP, where a forged source cannot follow) and the others are dropped. TCP is never limited; `exempt`
// networks neither. The limit stage of the answer path: the limiter classifies each response into its own key
// (below) and answers with the response, a slip, or nothing.
import { randomBytes } from 'node:crypto';
import type { Family } from '../net/address.js';
import { maskBytes } from '../net/cidr.js';
import { sourceBytes } from '../net/source.js';
import type { Exchange } from './exchange.js';
import { N_NAME, NODE } from './flat-zone.js';
import { RCODE } from './registry.js';
import { writeSlip } from './writer.js';

/** The `rrl:` settings the limiter needs (config's RrlConfig has this shape). */
export interface RrlSettings {
  /** Responses per second each key may get. */
  responsesPerSecond: number;
  /** Seconds of budget a flooding key may owe before it is answered again. */
  window: number;
  /** Every `slip`-th limited response goes out truncated (0: none, all dropped). */
  slip: number;
  /** Client prefix lengths a key is made of. */
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** Networks never limited. */
  exempt: { bytes: Buffer; prefix: number; family: Family }[];
  /** Slots asked for (rounded up to a power of two, at least 1024). */
  tableSize: number;
}

export type RrlAction = 'send' | 'slip' | 'drop';

/** What kind of response a key counts: answers, NXDOMAIN and errors are budgeted separately. */
export const RRL_KIND = { Answer: 1, NoData: 2, NxDomain: 3, Error: 4, Referral: 5 } as const;
export type RrlKind = (typeof RRL_KIND)[keyof typeof RRL_KIND];

const PROBE = 8; // slots looked at for a key before one is replaced

export class ResponseRateLimiter {
  private readonly size: number;
  private readonly hashes: Uint32Array;
  private readonly balance: Float64Array;
  private readonly seen: Float64Array;
  private readonly slips: Uint32Array;
  private readonly rate: number;
  private readonly maxDebt: number;
  private readonly exempt: { bytes: Buffer; prefix: number; family: 4 | 6 }[];

  constructor(
    readonly cfg: RrlSettings,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    // a power of two at least as large as asked: slots are found by masking the hash
    let size = 1024;
    while (size < cfg.tableSize) size *= 2;
    this.size = size;
    this.hashes = new Uint32Array(size);
    this.balance = new Float64Array(size);
    this.seen = new Float64Array(size);
    this.slips = new Uint32Array(size);
    this.rate = cfg.responsesPerSecond;
    // a key that floods builds up debt for at most `window` seconds of its budget: it must then stay under
    // the rate that long to be answered again
    this.maxDebt = cfg.responsesPerSecond * cfg.window;
    this.exempt = cfg.exempt.map((c) => ({ bytes: c.bytes, prefix: c.prefix, family: c.family }));
    // keys hash with a secret per table: a sender cannot pick names that collide with a victim's key
    this.seed = randomBytes(4).readUInt32LE(0);
  }

  private readonly seed: number;

  /** Slots of the table (fixed at construction, whatever the traffic). */
  get capacity(): number {
    return this.size;
  }

  isExempt(client: Uint8Array): boolean {
    for (const e of this.exempt) {
      if ((e.family === 4) === (client.length === 4) && maskBytes(client, e.prefix).equals(e.bytes)) return true;
    }
    return false;
  }

  /**
   * Decides for one UDP response. `client`: source address bytes; `name`: the qname (or the zone, or "" —
   * the caller chooses per kind); `qtype`; `kind`.
   */
  decide(client: Uint8Array, name: string, qtype: number, kind: RrlKind): RrlAction {
    if (this.exempt.length && this.isExempt(client)) return 'send';
    const h = keyTail(mixString(this.keyHead(client), name), qtype, kind);
    return this.account(h);
  }

  /**
   * decide() with the key name given in wire form (the `at` of `src`, as a flat zone holds a wildcard or a zone
   * cut): the same key as its internal form would make, without making that string.
   */
  decideWire(client: Uint8Array, src: Uint8Array, at: number, qtype: number, kind: RrlKind): RrlAction {
    if (this.exempt.length && this.isExempt(client)) return 'send';
    const h = keyTail(mixWire(this.keyHead(client), src, at), qtype, kind);
    return this.account(h);
  }

  private keyHead(client: Uint8Array): number {
    return keyHead(this.seed, client, client.length === 4 ? this.cfg.ipv4Prefix : this.cfg.ipv6Prefix);
  }

  /** Counts one response against the key of hash `h`. */
  private account(h: number): RrlAction {
    const slot = this.find(h);
    const now = this.now();
    // quiet for a whole window: a full budget again (as BIND), so a flood that stops waits at most `window`
    // seconds — repaying the floor's debt alone would take a token's time longer
    const idle = now - this.seen[slot]!;
    const bal = idle >= this.cfg.window ? this.rate : Math.min(this.rate, this.balance[slot]! + idle * this.rate);
    this.seen[slot] = now;
    if (bal >= 1) {
      this.balance[slot] = bal - 1;
      return 'send';
    }
    this.balance[slot] = Math.max(-this.maxDebt, bal - 1);
    const slip = this.cfg.slip;
    if (slip === 0) return 'drop';
    const n = this.slips[slot]! + 1;
    this.slips[slot] = n;
    return n % slip === 0 ? 'slip' : 'drop';
  }

  /** The slot of a key: its own, a free one, or the one idle longest among the few looked at. */
  private find(h: number): number {
    const mask = this.size - 1;
    let oldest = h & mask;
    for (let i = 0; i < PROBE; i++) {
      const s = (h + i) & mask;
      if (this.hashes[s] === h && this.seen[s] !== 0) return s;
      if (this.seen[s] === 0) return this.claim(s, h);
      if (this.seen[s]! < this.seen[oldest]!) oldest = s;
    }
    return this.claim(oldest, h);
  }

  private claim(s: number, h: number): number {
    this.hashes[s] = h;
    this.balance[s] = this.rate; // a new key starts with a full second of budget
    this.seen[s] = this.now();
    this.slips[s] = 0;
    return s;
  }
}

/**
 * What kind of response the exchange's is, as its key counts it (as BIND): NXDOMAIN, an error, a referral
 * (a zone cut and no answer), an answer (records in the answer section: a truncated one has none), NODATA.
 */
export function responseKind(ex: Exchange): RrlKind {
  const rcode = ex.rcode;
  if (rcode === RCODE.NXDOMAIN) return RRL_KIND.NxDomain;
  if (rcode !== RCODE.NOERROR) return RRL_KIND.Error;
  // only a lookup in the zones refers (CHAOS and refusals never do)
  if (ex.answer === ex.flat && ex.flat.cutNode >= 0 && ex.answerCount === 0) return RRL_KIND.Referral;
  return ex.answerCount > 0 ? RRL_KIND.Answer : RRL_KIND.NoData;
}

/**
 * The name a key counts: the name asked for answers and NODATA — the wildcard for synthesized ones —, the
 * zone cut for referrals, the zone for NXDOMAIN and errors (a random-subdomain flood is one key, not
 * millions). Made as a string here (for reports and tests); the limit stage hashes a wildcard's or cut's
 * name where the zone holds it.
 */
export function keyName(ex: Exchange, kind: RrlKind): string {
  const flat = ex.answer === ex.flat ? ex.flat : null;
  if (kind === RRL_KIND.Referral) return flat!.cutName()!;
  if (kind === RRL_KIND.Answer || kind === RRL_KIND.NoData) return (flat !== null ? flat.wildcardName() : null) ?? ex.name;
  return ex.zone ?? '';
}

/**
 * The node whose name is the key (keyName) when a flat zone holds it — the zone cut of a referral, the
 * wildcard of a synthesized answer —, or -1: the key is then a string the exchange already holds.
 */
function keyNode(ex: Exchange, kind: RrlKind): number {
  if (ex.answer !== ex.flat) return -1;
  if (kind === RRL_KIND.Referral) return ex.flat.cutNode;
  return kind === RRL_KIND.Answer || kind === RRL_KIND.NoData ? ex.flat.wildcardNode : -1;
}

/**
 * The limit stage (UDP responses): the written response, a slip (the same query's response truncated, TC=1)
 * or nothing (null). The qtype is part of the key only for answers: rotating it buys no fresh budget.
 */
export function limitResponse(rrl: ResponseRateLimiter, ex: Exchange): Buffer | null {
  const kind = responseKind(ex);
  const qtype = kind === RRL_KIND.Answer ? ex.qtype : 0;
  const node = keyNode(ex, kind);
  const client = sourceBytes(ex.address);
  let action: RrlAction;
  if (node >= 0) {
    // a wildcard or a cut of a flat zone: its name hashed where the zone holds it (no string per query)
    const z = ex.flat.zone!;
    action = rrl.decideWire(client, z.names, z.nodes[node * NODE + N_NAME]!, qtype, kind);
  } else action = rrl.decide(client, keyName(ex, kind), qtype, kind);
  ex.rrlAction = action;
  if (action === 'send') return ex.response;
  return action === 'slip' ? writeSlip(ex) : null;
}

// A key's hash: 32-bit FNV-1a over the client's prefix bits (keyHead), the name (mixString, or mixWire over the
// same name in wire form: labels joined by dots, as the internal form), the qtype and the kind (keyTail).

function keyHead(seed: number, client: Uint8Array, prefix: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  const full = prefix >> 3;
  for (let i = 0; i < full && i < client.length; i++) h = Math.imul(h ^ client[i]!, 0x01000193);
  if (prefix & 7 && full < client.length) h = Math.imul(h ^ (client[full]! & (0xff << (8 - (prefix & 7)))), 0x01000193);
  return Math.imul(h ^ client.length, 0x01000193);
}

function mixString(h: number, name: string): number {
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h;
}

function mixWire(h: number, src: Uint8Array, at: number): number {
  for (let p = at; src[p] !== 0; p += src[p]! + 1) {
    if (p !== at) h = Math.imul(h ^ 0x2e, 0x01000193);
    for (let i = p + 1, end = p + 1 + src[p]!; i < end; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
  }
  return h;
}

/** The hash of the key (0 is never used). */
function keyTail(h: number, qtype: number, kind: number): number {
  h = Math.imul(h ^ (qtype & 0xff), 0x01000193);
  h = Math.imul(h ^ (qtype >> 8), 0x01000193);
  h = Math.imul(h ^ kind, 0x01000193);
  return h >>> 0 || 1;
}
