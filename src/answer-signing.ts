// The sign stage as the answer path runs it (src/pipeline.ts): which exchanges it signs — DO=1 (RFC 3225),
// an answer from a zone with keys, NOERROR or NXDOMAIN — and the adapter that shows src/dnssec/sign-stage.ts
// an answer of the prepared (object) zones through RRset views, owner wire names and types.
import type { DynamicName } from './dns/dynamic.js';
import type { Exchange } from './dns/exchange.js';
import { RCODE, TYPE } from './dns/registry.js';
import type { Answer } from './dns/rrset.js';
import { fromRRset, RefAnswer, type RotationCounters, type SetRef } from './dns/set-ref.js';
import { writeRefAnswer } from './dns/writer.js';
import type { Zone, ZoneNode } from './dns/zone.js';
import { type AnswerSource, signAnswer } from './dnssec/sign-stage.js';
import type { Signer, ZoneSigning } from './dnssec/signer.js';
import { lowerName, nameWire } from './dnssec/wire.js';

/** The zones that sign, and the zones they answer from. */
export interface SigningState<D extends DynamicName = DynamicName> {
  zones: ReadonlyMap<string, Zone<D>>;
  signing: ReadonlyMap<string, ZoneSigning>;
}

/** A wire name → internal form (labels as latin1 octets, dot-joined; "" the root), as dns/set-ref.ts writes it back. */
function internalName(wire: Buffer): string {
  let out = '';
  for (let p = 0; wire[p] !== 0; p += wire[p]! + 1) {
    if (p > 0) out += '.';
    out += wire.toString('latin1', p + 1, p + 1 + wire[p]!);
  }
  return out;
}

/** The object zones' answer as the sign stage reads it. One per answer path, reused for every query. */
class ObjectAnswerSource<D extends DynamicName> implements AnswerSource {
  ans: Answer = null as unknown as Answer;
  zone: Zone<D> = null as unknown as Zone<D>;
  rotation: RotationCounters | null = null;
  msg: Buffer = Buffer.alloc(0);
  qname = '';

  count(s: number): number {
    const a = this.ans;
    return s === 0 ? a.answer.length : s === 1 ? a.authority.length : a.additional.length;
  }

  fill(r: SetRef, s: number, i: number): void {
    const a = this.ans;
    const set = s === 0 ? a.answer[i]! : s === 1 ? a.authority[i]! : a.additional[i]!;
    fromRRset(r, set, this.rotation, this.msg, this.qname);
  }

  /** The node at a name, or the wildcard that answers for it when it does not exist (RFC 4592). */
  private nodeFor(name: string): ZoneNode<D> | null {
    const zone = this.zone;
    const node = zone.nodes.get(name);
    if (node) return node;
    let n = name;
    while (n !== zone.origin && n !== '') {
      const dot = n.indexOf('.');
      n = dot < 0 ? '' : n.slice(dot + 1);
      if (zone.nodes.has(n)) return zone.nodes.get(n === '' ? '*' : `*.${n}`) ?? null;
    }
    return null;
  }

  typesAt(name: Buffer): number[] | null {
    const node = this.nodeFor(internalName(name));
    if (!node) return null;
    const types = node.rrsets.values().map((s) => s.type);
    if (node.dynamic?.has4) types.push(1);
    if (node.dynamic?.has6) types.push(28);
    return types;
  }

  wildcardOf(owner: Buffer): Buffer | null {
    const name = internalName(owner);
    if (this.zone.nodes.has(name)) return null;
    const w = this.nodeFor(name);
    return w ? lowerName(nameWire(w.name)) : null;
  }

  setAt(r: SetRef, name: Buffer, type: number): boolean {
    const set = this.zone.nodes.get(internalName(name))?.rrsets.get(type);
    if (!set) return false;
    fromRRset(r, set, null, this.msg, null);
    return true;
  }

  cut(): Buffer | null {
    return this.ans.cut === null ? null : lowerName(nameWire(this.ans.cut));
  }

  synthesized(): boolean {
    return this.ans.wildcard !== null;
  }
}

/** The sign stage of one answer path: the signer (and its cache) lives as long as the server. */
export class AnswerSigning<D extends DynamicName = DynamicName> {
  private readonly source = new ObjectAnswerSource<D>();
  private readonly out = new RefAnswer();

  constructor(
    readonly signer: Signer,
    readonly state: () => SigningState<D>,
  ) {}

  /**
   * The zone's signing state when the exchange's answer goes through the sign stage, else null: DO=1 answers of
   * a signed zone, and (DO or not) DNSKEY, CDS and CDNSKEY at its apex, which come from the keys.
   */
  signs(ex: Exchange): ZoneSigning | null {
    const q = ex.query;
    const zone = ex.zone;
    if (q === null || zone === null || ex.answer === null) return null;
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
    const ans = ex.answer!;
    src.ans = ans;
    src.zone = this.state().zones.get(ex.zone!)!;
    src.rotation = rotation;
    src.msg = ex.msg;
    src.qname = ex.name;
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
    return writeRefAnswer(ex, this.out, nsid);
  }
}
