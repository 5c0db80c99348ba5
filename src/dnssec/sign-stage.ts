// The sign stage of the answer path, for a query with DO=1 (RFC 3225) to a signed zone, after the rate limit
// let the answer through: the answer rebuilt as the writer's RRset views (dns/set-ref.ts RefAnswer) with
//  - an RRSIG set after every RRset of the answer and authority sections, made by each active key (RFC 4035
//    §3.1.1), the labels of a wildcard's for records synthesized from it (RFC 4034 §3.1.3), with the NSEC
//    proving the query name does not exist (denial.ts);
//  - compact denial (RFC 9824): a name that does not exist answered NOERROR with an NSEC at it holding RRSIG,
//    NSEC and NXNAME; NODATA with an NSEC at the name listing its types; both next to the signed SOA;
//  - at a delegation: the NS unsigned (the child's), then the signed DS, or an NSEC at the cut listing NS and
//    no DS (an insecure delegation, RFC 4035 §3.1.4); glue and other additional data never signed;
//  - DNSKEY, CDS and CDNSKEY at the apex served from the keys (ZoneSigning), signed.
// It reads the answer only through AnswerSource — SetRefs, owner wire names, types and TTLs — so any holder
// of answer data plugs in with a small adapter (the flat zones': src/answer-signing.ts).
import { RCODE, TYPE } from '../dns/registry.js';
import { copyRef, ownerIsScratch, type RefAnswer, refRecords, SetRef } from '../dns/set-ref.js';
import { wildcardProof } from './denial.js';
import { compactNsecRdata, nxnameNsecRdata } from './nsec.js';
import { rrsigLabels } from './rrsig.js';
import type { Signer, ZoneSigning } from './signer.js';
import { lowerName, nameEnd } from './wire.js';

/** The answer as the sign stage reads it, and the zone behind it. */
export interface AnswerSource {
  /** RRsets in section `s` (0 answer, 1 authority, 2 additional). */
  count(s: number): number;
  /** Points `r` at RRset `i` of section `s`, its rotation applied (once per query, as the writer would). */
  fill(r: SetRef, s: number, i: number): void;
  /** The data types at `name` (lower-case wire form) in the zone — a wildcard's when the name is synthesized
   *  from it, a pool's families — or null when the name does not exist. */
  typesAt(name: Buffer): number[] | null;
  /** The wildcard (lower-case wire form) the records at `owner` were synthesized from; null when `owner` exists. */
  wildcardOf(owner: Buffer): Buffer | null;
  /** Points `r` at the zone's RRset of `type` at `name` (lower-case wire form); false when there is none. */
  setAt(r: SetRef, name: Buffer, type: number): boolean;
  /** The zone cut of a referral (lower-case wire form), or null. */
  cut(): Buffer | null;
  /** Whether any record of the answer was synthesized from a wildcard. */
  synthesized(): boolean;
}

/** The query's parts the stage reads: its bytes (the question's name at offset 12), type and the answer's flags. */
export interface SignQuery {
  msg: Buffer;
  qtype: number;
  rcode: number;
  aa: boolean;
  ecsScope: number;
  mandatoryAdditional: number;
  /** DO=1: RRSIGs and denial records go in. DO=0 reaches the stage only for DNSKEY, CDS and CDNSKEY at the apex. */
  dnssecOk: boolean;
}

const SCRATCH = new SetRef();

/** An RRset view of records held apart (keys, signatures, denial records). */
function listRef(owner: Buffer, ownerAt: number, type: number, ttl: number, list: Buffer[]): SetRef {
  const r = new SetRef();
  r.owner = owner;
  r.ownerAt = ownerAt;
  r.type = type;
  r.klass = 1;
  r.ttl = ttl;
  r.count = list.length;
  r.list = list;
  return r;
}

/** The owner of `r` in lower-case wire form. */
function ownerOf(r: SetRef): Buffer {
  return lowerName(r.owner.subarray(r.ownerAt, nameEnd(r.owner, r.ownerAt)));
}

/** Appends `set` and its RRSIG set (the same owner and TTL) to `section`. */
function pushSigned(signer: Signer | null, z: ZoneSigning, section: SetRef[], set: SetRef, owner: Buffer, labels: number): void {
  section.push(set);
  if (signer === null) return;
  const rrsigs = signer.signatures(z, owner, set.type, set.klass, set.ttl, refRecords(set), labels);
  section.push(listRef(set.owner, set.ownerAt, TYPE.RRSIG, set.ttl, rrsigs));
}

/** An NSEC record at `owner` (lower-case wire form), signed, appended to `section`. */
function pushNsec(signer: Signer, z: ZoneSigning, section: SetRef[], owner: Buffer, rdata: Buffer, ttl: number): void {
  pushSigned(signer, z, section, listRef(owner, 0, TYPE.NSEC, ttl, [rdata]), owner, rrsigLabels(owner));
}

/**
 * Builds into `out` the signed form of the answer `src` holds for query `q` in zone `z`. The caller writes it
 * (dns/writer.ts writeRefAnswer), within the same size limit as any answer: one that no longer fits over UDP
 * is truncated (TC=1) and the client asks again over TCP.
 */
export function signAnswer(signer: Signer, z: ZoneSigning, src: AnswerSource, q: SignQuery, out: RefAnswer): void {
  out.reset();
  out.rcode = q.rcode;
  out.aa = q.aa;
  out.ecsScope = q.ecsScope;
  const msg = q.msg;
  const qname = lowerName(msg.subarray(12, nameEnd(msg, 12)));
  const [answer, authority, additional] = out.sections;
  const keySet = z.keySet(q.qtype);
  if (keySet !== null && q.rcode === RCODE.NOERROR && src.count(0) === 0 && qname.equals(z.apex)) {
    if (keySet.length > 0) {
      pushSigned(q.dnssecOk ? signer : null, z, answer, listRef(msg, 12, q.qtype, z.ttl, keySet), qname, rrsigLabels(qname));
      return;
    }
  }
  if (!q.dnssecOk) throw new Error('the sign stage was given a DO=0 query other than DNSKEY, CDS or CDNSKEY at the apex');
  let denial = qname; // the name a NODATA or NXDOMAIN speaks of: the last target of a CNAME chain
  let finalType = false;
  for (let i = 0, n = src.count(0); i < n; i++) {
    src.fill(SCRATCH, 0, i);
    const set = copyRef(SCRATCH, !ownerIsScratch(SCRATCH));
    const owner = ownerOf(set);
    const wildcard = src.synthesized() ? src.wildcardOf(owner) : null;
    pushSigned(signer, z, answer, set, owner, rrsigLabels(wildcard ?? owner));
    if (wildcard !== null) {
      const proof = wildcardProof(owner, wildcard);
      if (proof !== null) pushNsec(signer, z, authority, proof.owner, proof.rdata, z.nsecTtl);
    }
    if (set.type === TYPE.CNAME && q.qtype !== TYPE.CNAME) {
      const target = refRecords(set)[0]!;
      denial = lowerName(target.subarray(0, nameEnd(target, 0)));
    } else finalType = true;
  }
  const cut = src.cut();
  let soaTtl = -1;
  for (let i = 0, n = src.count(1); i < n; i++) {
    src.fill(SCRATCH, 1, i);
    const set = copyRef(SCRATCH, !ownerIsScratch(SCRATCH));
    if (set.type === TYPE.NS && cut !== null)
      authority.push(set); // the child's NS: not signed by the parent
    else {
      if (set.type === TYPE.SOA) soaTtl = set.ttl;
      pushSigned(signer, z, authority, set, ownerOf(set), rrsigLabels(ownerOf(set)));
    }
  }
  if (cut !== null) {
    if (src.setAt(SCRATCH, cut, TYPE.DS))
      pushSigned(signer, z, authority, copyRef(SCRATCH, !ownerIsScratch(SCRATCH)), cut, rrsigLabels(cut));
    else pushNsec(signer, z, authority, cut, compactNsecRdata(cut, typesOf(src, z, cut) ?? [TYPE.NS]), z.nsecTtl);
  } else if (q.rcode === RCODE.NXDOMAIN) {
    out.rcode = RCODE.NOERROR; // RFC 9824 §3.1: the name is "there", with no types but NXNAME
    pushNsec(signer, z, authority, denial, nxnameNsecRdata(denial), soaTtl >= 0 ? soaTtl : z.nsecTtl);
  } else if (q.rcode === RCODE.NOERROR && soaTtl >= 0 && !finalType) {
    // the type asked is never listed: a pool that has it for other clients has none for this one
    const types = (typesOf(src, z, denial) ?? []).filter((t) => t !== q.qtype);
    pushNsec(signer, z, authority, denial, compactNsecRdata(denial, types), soaTtl);
  }
  // glue and the addresses of NS/MX/SRV targets: not signed (glue never is; the rest the resolver asks again)
  for (let i = 0, n = src.count(2); i < n; i++) {
    src.fill(SCRATCH, 2, i);
    additional.push(copyRef(SCRATCH, !ownerIsScratch(SCRATCH)));
  }
  out.mandatoryAdditional = q.mandatoryAdditional;
}

/** The types an NSEC at `name` lists: the zone's, and at the apex the DNSKEY, CDS and CDNSKEY served from the keys. */
function typesOf(src: AnswerSource, z: ZoneSigning, name: Buffer): number[] | null {
  const types = src.typesAt(name);
  if (!name.equals(z.apex)) return types;
  const apex = [...(types ?? []), TYPE.DNSKEY];
  if (z.cds.length > 0) apex.push(TYPE.CDS, TYPE.CDNSKEY);
  return apex;
}
