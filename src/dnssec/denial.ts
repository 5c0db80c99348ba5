// The denial records an online signer makes per answer. Compact answers (RFC 9824) for names that do not
// exist and for NODATA are in nsec.ts; here is the proof a wildcard answer carries that the query name does
// not exist (RFC 4035 §3.1.3.3, §5.3.4): an NSEC covering the next closer name — the closest encloser (the
// wildcard's parent) and one more label of the query name — "minimally covering" as RFC 4470 §2 makes them,
// so it names no record of the zone. Its owner is just before the next closer name and its next name just
// past the next closer name's subtree; both share only the closest encloser with the query name, which is
// how validators (Unbound's nsec_closest_encloser, BIND's) find the wildcard the answer was made from.
import { TYPE } from '../dns/registry.js';
import { nsecRdata } from './nsec.js';
import { labelOffsets } from './wire.js';

const MAX_LABEL = 63;

/** The name made of the labels of `wire` from label `from` on (0: the name itself). */
function suffix(wire: Buffer, offsets: number[], from: number): Buffer {
  return wire.subarray(offsets[from]!);
}

/** `label` (octets) followed by `rest` (a wire name). */
function withLabel(label: number[], rest: Buffer): Buffer {
  return Buffer.concat([Buffer.from([label.length, ...label]), rest]);
}

/**
 * A name before `name` (lower-case wire form) with nothing of a zone between them in practice: its first label
 * with the last octet decremented (upper-case letters skipped: they sort as lower case) and 0xff appended,
 * or for a label ending in a zero octet, `\255` under that label without it. Null when the first label is a
 * single zero octet (its predecessor is its parent, a name that exists).
 */
export function namePredecessor(name: Buffer): Buffer | null {
  const offsets = labelOffsets(name);
  if (offsets.length === 0) return null;
  const label = [...name.subarray(1, 1 + name[0]!)];
  const rest = suffix(name, offsets, 1);
  const last = label[label.length - 1]!;
  if (last === 0) {
    label.pop();
    if (label.length === 0) return null;
    return withLabel([0xff], withLabel(label, rest));
  }
  let c = last - 1;
  if (c >= 0x41 && c <= 0x5a) c = 0x40; // 'A'..'Z' sort as 'a'..'z': step below them
  label[label.length - 1] = c;
  if (label.length < MAX_LABEL) label.push(0xff);
  return withLabel(label, rest);
}

/** The first name after every name at or below `name` (lower-case wire form): its first label grown by a zero
 *  octet, or at 63 octets its last octet below 0xff incremented (trailing 0xff octets dropped). */
export function pastSubtree(name: Buffer): Buffer | null {
  const offsets = labelOffsets(name);
  if (offsets.length === 0) return null;
  const label = [...name.subarray(1, 1 + name[0]!)];
  const rest = suffix(name, offsets, 1);
  if (label.length < MAX_LABEL) return withLabel([...label, 0], rest);
  while (label.length > 0 && label[label.length - 1] === 0xff) label.pop();
  if (label.length === 0) return null;
  let c = label[label.length - 1]! + 1;
  if (c >= 0x41 && c <= 0x5a) c = 0x5b;
  label[label.length - 1] = c;
  return withLabel(label, rest);
}

/**
 * The NSEC (owner, RDATA) proving that `qname` does not exist, for an answer synthesized at it from `wildcard`
 * (`*.<closest encloser>`; both lower-case wire form): it covers the next closer name. Null when no such
 * record can be made (a next closer label of one zero octet).
 */
export function wildcardProof(qname: Buffer, wildcard: Buffer): { owner: Buffer; rdata: Buffer } | null {
  const q = labelOffsets(qname);
  const enclosers = labelOffsets(wildcard).length - 1; // labels of the closest encloser
  const nextCloserAt = q.length - enclosers - 1;
  if (nextCloserAt < 0) return null;
  const nextCloser = suffix(qname, q, nextCloserAt);
  const owner = namePredecessor(nextCloser);
  const next = pastSubtree(nextCloser);
  if (owner === null || next === null) return null;
  return { owner, rdata: nsecRdata(next, [TYPE.RRSIG, TYPE.NSEC]) };
}
