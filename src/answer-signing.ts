// The sign stage as the answer path runs it (src/pipeline.ts): which exchanges it signs — DO=1 (RFC 3225),
// an answer from a zone with keys, NOERROR or NXDOMAIN — and the adapter that shows src/dnssec/sign-stage.ts
// an answer of the flat zones (dns/flat-answer.ts) through RRset views, owner wire names and types.
import type { Exchange } from './dns/exchange.js';
import type { FlatAnswer } from './dns/flat-answer.js';
import {
  DYN,
  DYN_HAS4,
  DYN_HAS6,
  type FlatZone,
  mixLabel,
  N_DYN,
  N_FLAGS,
  N_NAME,
  N_SETS,
  N_SETS_END,
  N_WILD,
  NODE,
  ROOT_HASH,
  S_TYPE,
  SET,
} from './dns/flat-zone.js';
import { RCODE, TYPE } from './dns/registry.js';
import { flatCount, fromFlat, fromZone, RefAnswer, type RotationCounters, type SetRef } from './dns/set-ref.js';
import { writeRefAnswer } from './dns/writer.js';
import { type AnswerSource, signAnswer } from './dnssec/sign-stage.js';
import type { Signer, ZoneSigning } from './dnssec/signer.js';
import { labelOffsets } from './dnssec/wire.js';

/** The signed zones (a snapshot's). */
export interface SigningState {
  signing: ReadonlyMap<string, ZoneSigning>;
}

/** The node of a flat zone named by `name` (lower-case wire form, from octet 0) from label `from` on, or -1. */
function nodeNamed(zone: FlatZone, name: Buffer, offsets: number[], from: number): number {
  const n = offsets.length;
  const end = n === 0 ? 1 : offsets[n - 1]! + name[offsets[n - 1]!]! + 2; // past the root octet
  let h = ROOT_HASH;
  for (let i = n - 1; i >= from; i--) h = mixLabel(h, name, offsets[i]!);
  const at = from < n ? offsets[from]! : end - 1;
  return zone.find(h, name, at, end - at);
}

/** A node's name in wire form (lower case: a view of the zone's names). */
function nodeWire(zone: FlatZone, node: number): Buffer {
  const at = zone.nodes[node * NODE + N_NAME]!;
  return zone.names.subarray(at, at + (zone.nodes[node * NODE + N_FLAGS]! >>> 8));
}

/**
 * A flat answer as the sign stage reads it, with its zone's lookups (names by hash, as dns/flat-lookup.ts
 * finds them). One per answer path, reused for every query; only the signing of an answer reads it.
 */
class FlatAnswerSource implements AnswerSource {
  ans: FlatAnswer = null as unknown as FlatAnswer;
  zone: FlatZone = null as unknown as FlatZone;
  rotation: RotationCounters | null = null;
  msg: Buffer = Buffer.alloc(0);

  count(s: number): number {
    return flatCount(this.ans, s);
  }

  fill(r: SetRef, s: number, i: number): void {
    fromFlat(r, this.ans, s, i, this.rotation, this.msg);
  }

  /** The node at a name, or the wildcard that answers for it when it does not exist (RFC 4592); -1 when neither. */
  private nodeFor(name: Buffer): number {
    const zone = this.zone;
    const offsets = labelOffsets(name);
    const node = nodeNamed(zone, name, offsets, 0);
    if (node >= 0) return node;
    // the closest encloser: the deepest existing suffix, no higher than the apex
    for (let i = 1; i <= offsets.length - zone.originLabels; i++) {
      const e = nodeNamed(zone, name, offsets, i);
      if (e >= 0) return zone.nodes[e * NODE + N_WILD]!;
    }
    return -1;
  }

  typesAt(name: Buffer): number[] | null {
    const node = this.nodeFor(name);
    if (node < 0) return null;
    const { nodes, sets, dyns } = this.zone;
    const types: number[] = [];
    for (let s = nodes[node * NODE + N_SETS]!; s < nodes[node * NODE + N_SETS_END]!; s++) types.push(sets[s * SET + S_TYPE]!);
    const dyn = nodes[node * NODE + N_DYN]!;
    if (dyn >= 0) {
      const f = dyns[dyn * DYN + 1]!;
      if ((f & DYN_HAS4) !== 0) types.push(TYPE.A);
      if ((f & DYN_HAS6) !== 0) types.push(TYPE.AAAA);
    }
    return types;
  }

  wildcardOf(owner: Buffer): Buffer | null {
    if (nodeNamed(this.zone, owner, labelOffsets(owner), 0) >= 0) return null;
    const w = this.nodeFor(owner);
    return w >= 0 ? nodeWire(this.zone, w) : null;
  }

  setAt(r: SetRef, name: Buffer, type: number): boolean {
    const node = nodeNamed(this.zone, name, labelOffsets(name), 0);
    const set = node >= 0 ? this.zone.setOf(node, type) : -1;
    if (set < 0) return false;
    fromZone(r, this.zone, set, null);
    return true;
  }

  cut(): Buffer | null {
    return this.ans.cutNode < 0 ? null : nodeWire(this.zone, this.ans.cutNode);
  }

  synthesized(): boolean {
    return this.ans.wildcardNode >= 0;
  }
}

/** The sign stage of one answer path: the signer (and its cache) lives as long as the server. */
export class AnswerSigning {
  private readonly source = new FlatAnswerSource();
  private readonly out = new RefAnswer();

  constructor(
    readonly signer: Signer,
    readonly state: () => SigningState,
  ) {}

  /**
   * The zone's signing state when the exchange's answer goes through the sign stage, else null: DO=1 answers of
   * a signed zone, and (DO or not) DNSKEY, CDS and CDNSKEY at its apex, which come from the keys.
   */
  signs(ex: Exchange): ZoneSigning | null {
    const q = ex.query;
    const zone = ex.zone;
    if (q === null || zone === null || ex.answer !== ex.flat) return null; // the zones' answers only (not CHAOS)
    if (ex.rcode !== RCODE.NOERROR && ex.rcode !== RCODE.NXDOMAIN) return null;
    if (q.edns === null || !q.edns.dnssecOk) {
      const t = ex.qtype;
      if ((t !== TYPE.DNSKEY && t !== TYPE.CDS && t !== TYPE.CDNSKEY) || ex.name !== zone) return null;
    }
    return this.state().signing.get(zone) ?? null;
  }

  /** Signs the exchange's answer and writes it (the write stage again, with the same size limit). */
  sign(ex: Exchange, z: ZoneSigning, rotation: RotationCounters | null, nsid: Buffer | null): Buffer {
    const src = this.source;
    const ans = ex.flat;
    src.ans = ans;
    src.zone = ans.zone!;
    src.rotation = rotation;
    src.msg = ex.msg;
    signAnswer(
      this.signer,
      z,
      src,
      {
        msg: ex.msg,
        qtype: ex.qtype,
        rcode: ex.rcode,
        aa: ans.aa,
        ecsScope: ans.ecsScope,
        mandatoryAdditional: ans.mandatoryAdditional,
        dnssecOk: ex.query!.edns?.dnssecOk === true,
      },
      this.out,
    );
    const out = writeRefAnswer(ex, this.out, nsid);
    // hold no RRset views (and so no zone's arrays) past the query: a snapshot swapped out is let go
    this.out.reset();
    src.ans = src.zone = null as never;
    return out;
  }
}
