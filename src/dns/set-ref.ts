// The writer's view of one RRset (SetRef), and how each holder of answer data fills it in: an RRset object
// (dns/rrset.ts: prepared zones, pools' answers, CHAOS), or a flat answer (dns/flat-answer.ts) that names
// RRsets of a flat zone by number. Round-robin counters are asked here, once per RRset written.
import { type FlatAnswer, OWNER_QUESTION } from './flat-answer.js';
import { type FlatZone, N_NAME, NODE, S_COUNT, S_DATA, S_FLAGS, S_NODE, S_TTL, S_TYPE, SET, SET_ROTATE } from './flat-zone.js';
import { CLASS } from './registry.js';
import type { RRset } from './rrset.js';

/**
 * Round-robin counters of RRsets marked to rotate, one per RRset: an RRset object's keyed by its RDATA array
 * (which copies under another owner share), a flat zone's by the zone and the RRset's number. Each moves by
 * one every time its RRset is written.
 */
export interface RotationCounters {
  next(key: object, family: 4 | 6): number;
  /** The counter of item `index` of `size` under `key`. */
  nextOf(key: object, index: number, size: number): number;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * One RRset as the writer reads it, whatever holds it (a prepared zone's RRset object, a flat zone's arrays,
 * a pool's answer): filled in place before each RRset is written, so no object is made per RRset.
 */
export class SetRef {
  /** The owner name, uncompressed wire form at `ownerAt` (lower case, or the question's name as asked). */
  owner: Buffer = NO_BYTES;
  ownerAt = 0;
  type = 0;
  klass = 0;
  ttl = 0;
  /** Number of records. */
  count = 0;
  /** The records' RDATA, one Buffer each; null when they lie in `data`. */
  list: Buffer[] | null = null;
  /** Otherwise the records back to back from `dataAt`, each as RDLENGTH (2 octets) then RDATA. */
  data: Buffer = NO_BYTES;
  dataAt = 0;
  /** The record written first (round robin); the others follow in order, wrapping around. */
  start = 0;
}

/** The wire form of an RRset object's owner name (one at a time: answering is synchronous). */
const OWNER = Buffer.alloc(1024);

/**
 * Points `r` at an RRset object. Its owner is the question's name when it is that name (a wildcard's answer
 * at the name asked: pointed into the question whatever its bytes), else written out as stored.
 */
export function fromRRset(r: SetRef, set: RRset, rotation: RotationCounters | null, msg: Buffer, qname: string | null): void {
  r.type = set.type;
  r.klass = set.class;
  r.ttl = set.ttl;
  const n = set.rdata.length;
  r.count = n;
  r.list = set.rdata;
  r.start = set.rotate && n > 1 && rotation ? rotation.next(set.rdata, 4) % n : 0;
  if (qname !== null && qname !== '' && set.owner === qname) {
    r.owner = msg;
    r.ownerAt = 12;
  } else {
    r.owner = OWNER;
    r.ownerAt = 0;
    ownerWire(set.owner, OWNER);
  }
}

/** A name in internal form as wire-form labels, each character one octet (latin1, as the writer always wrote). */
function ownerWire(name: string, out: Buffer): void {
  if (name === '') {
    out[0] = 0;
    return;
  }
  let lenAt = 0;
  let p = 1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      out[lenAt] = p - lenAt - 1;
      lenAt = p++;
    } else out[p++] = c & 0xff;
  }
  out[lenAt] = p - lenAt - 1;
  out[p] = 0;
}

/** RRsets in section `s` (0 answer, 1 authority, 2 additional) of a flat answer. */
export function flatCount(ans: FlatAnswer, s: number): number {
  if (s === 0) return ans.answerCount;
  if (s === 1) return ans.authoritySet >= 0 ? 1 : 0;
  return ans.additionalEnd - ans.additionalStart;
}

/**
 * Points `r` at RRset `i` of section `s` of a flat answer to the question of `msg`. An answer owned by the
 * question's name points into the question; a chased name's owner lies in the answer's chain, any other in
 * the zone's names.
 */
export function fromFlat(r: SetRef, ans: FlatAnswer, s: number, i: number, rotation: RotationCounters | null, msg: Buffer): void {
  const z = ans.zone!;
  if (s === 1) {
    fromZone(r, z, ans.authoritySet, rotation);
    r.ttl = ans.authorityTtl;
    return;
  }
  if (s === 2) {
    fromZone(r, z, ans.additional[ans.additionalStart + i]!, rotation);
    return;
  }
  const set = ans.answerSet[i]!;
  if (set >= 0) fromZone(r, z, set, rotation);
  else {
    // a dynamic name's answer, in the resolver's order
    const data = ans.answerData[i]!;
    r.type = ans.answerType[i]!;
    r.klass = CLASS.IN;
    r.ttl = ans.answerTtl[i]!;
    r.count = data.length;
    r.list = data;
    r.start = 0;
  }
  const owner = ans.answerOwner[i]!;
  r.owner = owner === OWNER_QUESTION ? msg : ans.names;
  r.ownerAt = owner === OWNER_QUESTION ? 12 : owner;
}

/** Points `r` at RRset `s` of flat zone `z`, owned by its node. */
export function fromZone(r: SetRef, z: FlatZone, s: number, rotation: RotationCounters | null): void {
  const sets = z.sets;
  const at = s * SET;
  const n = sets[at + S_COUNT]!;
  r.type = sets[at + S_TYPE]!;
  r.klass = CLASS.IN;
  r.ttl = sets[at + S_TTL]!;
  r.count = n;
  r.list = null;
  r.data = z.rdata;
  r.dataAt = sets[at + S_DATA]!;
  r.start = (sets[at + S_FLAGS]! & SET_ROTATE) !== 0 && n > 1 && rotation ? rotation.nextOf(z, s, z.setTotal) % n : 0;
  r.owner = z.names;
  r.ownerAt = z.nodes[sets[at + S_NODE]! * NODE + N_NAME]!;
}

/**
 * An answer given as the writer's own RRset views, section by section, written as they are (no rotation
 * asked: whoever filled them did). The signing stage builds one: the answer's sets with their RRSIGs and the
 * denial records (src/dnssec/sign-stage.ts).
 */
export class RefAnswer {
  rcode = 0;
  aa = false;
  ecsScope = 0;
  mandatoryAdditional = 0;
  readonly sections: [SetRef[], SetRef[], SetRef[]] = [[], [], []];

  reset(): void {
    this.sections[0].length = this.sections[1].length = this.sections[2].length = 0;
    this.mandatoryAdditional = 0;
  }
}

/** A copy of `r` that stays put while others are filled in (the owner copied out when it lies in a scratch buffer). */
export function copyRef(r: SetRef, stableOwner: boolean): SetRef {
  const c = new SetRef();
  if (stableOwner) {
    c.owner = r.owner;
    c.ownerAt = r.ownerAt;
  } else {
    let end = r.ownerAt;
    while (r.owner[end] !== 0) end += r.owner[end]! + 1;
    c.owner = Buffer.from(r.owner.subarray(r.ownerAt, end + 1));
    c.ownerAt = 0;
  }
  c.type = r.type;
  c.klass = r.klass;
  c.ttl = r.ttl;
  c.count = r.count;
  c.list = r.list;
  c.data = r.data;
  c.dataAt = r.dataAt;
  c.start = r.start;
  return c;
}

/** The RDATA of each record of `r`, in stored order. */
export function refRecords(r: SetRef): Buffer[] {
  if (r.list !== null) return r.list;
  const out: Buffer[] = [];
  let at = r.dataAt;
  for (let i = 0; i < r.count; i++) {
    const len = (r.data[at]! << 8) | r.data[at + 1]!;
    out.push(r.data.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

/** Whether `r`'s owner lies in a buffer that is filled anew for every RRset (an RRset object's written-out owner). */
export function ownerIsScratch(r: SetRef): boolean {
  return r.owner === OWNER;
}
