// NSEC (RFC 4034 §4): the Next Domain Name and the type bitmap (§4.1.2: window blocks of up to 32 octets,
// empty windows left out, trailing zero octets dropped), and the records of compact denial of existence
// (RFC 9824): one NSEC at the query name whose next name is the name's immediate successor (`\000.<name>`),
// listing the types the name has — or, for a name that does not exist, RRSIG, NSEC and the NXNAME meta-type.
import { TYPE } from '../dns/registry.js';
import { nameEnd, nameWire, successorName } from './wire.js';

/** The meta-type that marks a compact answer for a name that does not exist (RFC 9824 §2). */
export const NXNAME = 128;

/** The OPT pseudo-type and the meta and query types 128–255 (RFC 6895 §3.1), which never have data in a zone. */
function isMetaType(t: number): boolean {
  return t === TYPE.OPT || (t >= 128 && t <= 255);
}

/** The type bitmap of a set of types (RFC 4034 §4.1.2): data types only, and NXNAME (RFC 9824 §6.1). */
export function typeBitmap(types: Iterable<number>): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  for (const t of sorted) {
    if (!(Number.isInteger(t) && t >= 0 && t <= 0xffff)) throw new Error(`${t} is not an RR type`);
    if (t === 0) throw new Error('type 0 is reserved (RFC 6895 §3.1): it is never in a type bitmap');
    if (isMetaType(t) && t !== NXNAME) {
      throw new Error(
        `type ${t} is a meta or query type (RFC 6895 §3.1): only NXNAME of them is in a type bitmap (RFC 4034 §4.1.2, RFC 9824 §6.1)`,
      );
    }
  }
  const out: number[] = [];
  for (let i = 0; i < sorted.length; ) {
    const window = sorted[i]! >> 8;
    const bits = new Uint8Array(32);
    let length = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      length = (low >> 3) + 1;
    }
    out.push(window, length, ...bits.subarray(0, length));
  }
  return Buffer.from(out);
}

/** The types of a type bitmap, ascending; throws on a malformed one (RFC 4034 §4.1.2: windows ascending, 1 to 32
 *  octets, the last one not zero). */
export function bitmapTypes(bitmap: Uint8Array): number[] {
  const types: number[] = [];
  let last = -1;
  for (let p = 0; p < bitmap.length; ) {
    if (p + 2 > bitmap.length) throw new Error('a type bitmap window block is cut short');
    const window = bitmap[p]!;
    const length = bitmap[p + 1]!;
    if (window <= last) throw new Error('type bitmap windows are not in ascending order');
    if (length < 1 || length > 32 || p + 2 + length > bitmap.length)
      throw new Error(`type bitmap window ${window} has a bad length ${length}`);
    if (bitmap[p + 1 + length] === 0)
      throw new Error(`type bitmap window ${window} ends in a zero octet (RFC 4034 §4.1.2: trailing zero octets are left out)`);
    for (let i = 0; i < length; i++) {
      const octet = bitmap[p + 2 + i]!;
      for (let b = 0; b < 8; b++) if (octet & (0x80 >> b)) types.push(window * 256 + i * 8 + b);
    }
    last = window;
    p += 2 + length;
  }
  return types;
}

/** NSEC RDATA: the next name (wire form, or a name in internal or presentation form; its case kept, RFC 6840 §5.1) and the types. */
export function nsecRdata(next: string | Buffer, types: Iterable<number>): Buffer {
  return Buffer.concat([typeof next === 'string' ? nameWire(next) : next, typeBitmap(types)]);
}

/** NSEC RDATA → the next name (wire form) and the types. */
export function parseNsec(rdata: Buffer): { next: Buffer; types: number[] } {
  const end = nameEnd(rdata, 0);
  return { next: Buffer.from(rdata.subarray(0, end)), types: bitmapTypes(rdata.subarray(end)) };
}

/**
 * The NSEC RDATA of a compact answer at `name` (RFC 9824 §3.2): next name the immediate successor of the name,
 * the types given plus RRSIG and NSEC (an empty non-terminal: none given, so RRSIG and NSEC alone).
 */
export function compactNsecRdata(name: string | Buffer, types: Iterable<number>): Buffer {
  const wire = typeof name === 'string' ? nameWire(name) : name;
  return nsecRdata(successorName(wire), [...types, TYPE.RRSIG, TYPE.NSEC]);
}

/** The NSEC RDATA of a compact answer for a name that does not exist (RFC 9824 §3.1): RRSIG, NSEC, NXNAME. */
export function nxnameNsecRdata(name: string | Buffer): Buffer {
  return compactNsecRdata(name, [NXNAME]);
}
