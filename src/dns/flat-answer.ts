// What a lookup over flat zones answers (dns/flat-lookup.ts), in one object the caller keeps and the lookup
// refills: RRsets named by their number in the zone (and pools' answers by reference), owners by where their
// wire form lies, so answering makes no object per RRset. The writer reads it as it reads an Answer;
// `flatSections` turns it into RRset objects for reports and tests.
import { MAX_CNAME_CHAIN } from './constants.js';
import type { DynamicName } from './dynamic.js';
import { type FlatZone, S_COUNT, S_DATA, S_NODE, S_TTL, S_TYPE, SET, wireToName } from './flat-zone.js';
import { CLASS } from './registry.js';
import { type RRset, rrset } from './rrset.js';

/** Answer-section RRsets at most: the CNAMEs of a chain and the answer at its end. */
export const ANSWER_MAX = MAX_CNAME_CHAIN + 1;
/** answerOwner of an RRset owned by the question's name. */
export const OWNER_QUESTION = -1;

const NONE = new Int32Array(0);

export class FlatAnswer<D extends DynamicName = DynamicName> {
  rcode = 0;
  aa = false;
  /** ECS scope prefix length for the response (0 = the answer does not depend on the client). */
  ecsScope = 0;
  /** The zone that answered; null outside every zone. */
  zone: FlatZone<D> | null = null;
  /** The wildcard node the answer was synthesized from (the first of a chain), or -1. */
  wildcardNode = -1;
  /** The cut node of a referral, or -1. */
  cutNode = -1;

  answerCount = 0;
  /** Per answer RRset: its number in the zone, or -1 for a dynamic name's answer (type, TTL and data below). */
  readonly answerSet = new Int32Array(ANSWER_MAX);
  /** Per answer RRset: OWNER_QUESTION, or where its owner lies in `names`. */
  readonly answerOwner = new Int32Array(ANSWER_MAX);
  readonly answerType = new Uint16Array(ANSWER_MAX);
  readonly answerTtl = new Uint32Array(ANSWER_MAX);
  readonly answerData: (Buffer[] | null)[] = new Array<Buffer[] | null>(ANSWER_MAX).fill(null);

  /** The authority RRset (the SOA of a negative answer, the NS of a referral), or -1; its TTL as answered. */
  authoritySet = -1;
  authorityTtl = 0;

  /** Additional RRsets: additional[additionalStart .. additionalEnd] of the zone's lists (adds or glue). */
  additional: Int32Array = NONE;
  additionalStart = 0;
  additionalEnd = 0;
  /** The first N additional RRsets are mandatory (in-domain glue, RFC 9471): if they do not fit, TC=1. */
  mandatoryAdditional = 0;

  /**
   * The names of a CNAME chain in wire form, when one is followed: the name asked (as given) first, then each
   * target (lower case). A flat answer is written for the question it answers: its name is taken from there.
   */
  names = Buffer.alloc(8192);
  readonly chainAt = new Int32Array(ANSWER_MAX + 1);
  chainLength = 0;
  namesEnd = 0;
  /** The name asked, as given to the lookup. */
  qname = '';

  /** Starts the answer to a new question. */
  reset(qname: string): void {
    this.rcode = 0;
    this.aa = false;
    this.ecsScope = 0;
    this.zone = null;
    this.wildcardNode = this.cutNode = -1;
    for (let i = 0; i < this.answerCount; i++) this.answerData[i] = null;
    this.answerCount = 0;
    this.authoritySet = -1;
    this.authorityTtl = 0;
    this.additional = NONE;
    this.additionalStart = this.additionalEnd = this.mandatoryAdditional = 0;
    this.chainLength = this.namesEnd = 0;
    this.qname = qname;
  }

  /** Lets go of the zone answered from (and its arrays), so a snapshot swapped out is not kept alive by an idle listener. */
  release(): void {
    this.zone = null;
    this.additional = NONE;
  }

  /** Origin of the zone that answered ("" the root), null outside every zone. */
  get origin(): string | null {
    return this.zone === null ? null : this.zone.origin;
  }

  /** The wildcard (`*.parent`) the answer was synthesized from, if any (made on request: not on the answer path). */
  wildcardName(): string | null {
    return this.zone !== null && this.wildcardNode >= 0 ? this.zone.nameOf(this.wildcardNode) : null;
  }

  /** The zone cut of a referral, if the response is one (made on request). */
  cutName(): string | null {
    return this.zone !== null && this.cutNode >= 0 ? this.zone.nameOf(this.cutNode) : null;
  }
}

/** The sections of a flat answer as RRset objects (for explain and tests: this allocates). */
export function flatSections(ans: FlatAnswer): { answer: RRset[]; authority: RRset[]; additional: RRset[] } {
  const z = ans.zone;
  const out = { answer: [] as RRset[], authority: [] as RRset[], additional: [] as RRset[] };
  if (z === null) return out;
  for (let i = 0; i < ans.answerCount; i++) {
    const o = ans.answerOwner[i]!;
    const owner = o === OWNER_QUESTION ? ans.qname : wireToName(ans.names, o);
    const s = ans.answerSet[i]!;
    out.answer.push(s < 0 ? rrset(owner, ans.answerType[i]!, ans.answerTtl[i]!, ans.answerData[i]!, false) : zoneSet(z, s, owner));
  }
  if (ans.authoritySet >= 0) {
    const s = zoneSet(z, ans.authoritySet, z.nameOf(z.sets[ans.authoritySet * SET + S_NODE]!));
    out.authority.push({ ...s, ttl: ans.authorityTtl });
  }
  for (let i = ans.additionalStart; i < ans.additionalEnd; i++) {
    const s = ans.additional[i]!;
    out.additional.push(zoneSet(z, s, z.nameOf(z.sets[s * SET + S_NODE]!)));
  }
  return out;
}

/** RRset `s` of a flat zone as an object owned by `owner`. */
function zoneSet(z: FlatZone, s: number, owner: string): RRset {
  const rdata: Buffer[] = [];
  let at = z.sets[s * SET + S_DATA]!;
  for (let k = 0; k < z.sets[s * SET + S_COUNT]!; k++) {
    const len = z.rdata.readUInt16BE(at);
    rdata.push(z.rdata.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return rrset(owner, z.sets[s * SET + S_TYPE]!, z.sets[s * SET + S_TTL]!, rdata, undefined, CLASS.IN);
}
