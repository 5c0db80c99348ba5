// The canonical form of an RRset (RFC 4034 §6.2, §6.3): what a signature covers. The owner in lower case;
// the domain names inside the RDATA of the types RFC 4034 §6.2 lists in lower case (as amended by RFC 6840
// §5.1: not NSEC's Next Domain Name, and HINFO holds no names; RRSIG's signer is lowered); names never
// compressed; the records sorted as octet strings of their canonical RDATA, duplicates removed. So every
// order and case the answer path writes a set in has one signature.
import { lowerName, nameEnd, nameWire } from './wire.js';

/** A field of RDATA: a fixed number of octets, a domain name ('n') or a character-string ('s'). */
type Field = number | 'n' | 's';

/** Where the domain names are in the RDATA of each type whose names are lowered (RFC 4034 §6.2, RFC 6840 §5.1). */
const NAME_FIELDS: Record<number, readonly Field[]> = {
  2: ['n'], // NS
  3: ['n'], // MD
  4: ['n'], // MF
  5: ['n'], // CNAME
  6: ['n', 'n'], // SOA: MNAME, RNAME
  7: ['n'], // MB
  8: ['n'], // MG
  9: ['n'], // MR
  12: ['n'], // PTR
  14: ['n', 'n'], // MINFO
  15: [2, 'n'], // MX
  17: ['n', 'n'], // RP
  18: [2, 'n'], // AFSDB
  21: [2, 'n'], // RT
  24: [18, 'n'], // SIG
  26: [2, 'n', 'n'], // PX
  30: ['n'], // NXT
  33: [6, 'n'], // SRV
  35: [4, 's', 's', 's', 'n'], // NAPTR: order, preference, flags, services, regexp, replacement
  36: [2, 'n'], // KX
  39: ['n'], // DNAME
  46: [18, 'n'], // RRSIG: the signer's name
};

const A6 = 38;

/** RDATA with its domain names lowered where RFC 4034 §6.2 says so; RDATA of other types is returned as is. */
export function canonicalRdata(type: number, rdata: Buffer): Buffer {
  const fields = NAME_FIELDS[type];
  if (!fields && type !== A6) return rdata;
  const out = Buffer.from(rdata);
  let p = 0;
  const lowerAt = (at: number): number => {
    const end = nameEnd(out, at);
    lowerName(out.subarray(at, end)).copy(out, at);
    return end;
  };
  if (type === A6) {
    // prefix length, the address suffix (128 - prefix bits, in whole octets), then the prefix name if any
    const prefix = out[0] ?? 0;
    p = 1 + Math.ceil((128 - prefix) / 8);
    if (prefix > 0 && p < out.length) lowerAt(p);
    return out;
  }
  for (const f of fields!) {
    if (f === 'n') p = lowerAt(p);
    else if (f === 's') p += 1 + (out[p] ?? 0);
    else p += f;
    if (p > out.length) throw new Error(`RDATA of type ${type} ends inside a field`);
  }
  return out;
}

/** Octet-string order of RDATA (RFC 4034 §6.3: the RDATA as a left-justified unsigned octet sequence). */
export function compareRdata(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** An RRset as signatures see it: the owner in wire form, lower case; records canonical, sorted, unique. */
export interface CanonicalRRset {
  owner: Buffer;
  type: number;
  class: number;
  rdata: Buffer[];
}

/** The parts of an RRset a signature covers; `owner` in internal or presentation form, or already wire form. */
export interface RRsetInput {
  owner: string | Buffer;
  type: number;
  class: number;
  rdata: readonly Buffer[];
}

export function canonicalRRset(set: RRsetInput): CanonicalRRset {
  const owner = lowerName(typeof set.owner === 'string' ? nameWire(set.owner) : set.owner);
  const sorted = set.rdata.map((r) => canonicalRdata(set.type, r)).sort(compareRdata);
  const rdata: Buffer[] = [];
  for (const r of sorted) if (rdata.length === 0 || !rdata[rdata.length - 1]!.equals(r)) rdata.push(r);
  return { owner, type: set.type, class: set.class, rdata };
}
