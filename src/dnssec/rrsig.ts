// RRSIG: the signature of one RRset (RFC 4034 §3). The RDATA (type covered, algorithm, labels, original TTL,
// expiration, inception, key tag, signer, signature), the data a signature covers (RFC 4034 §3.1.8.1: that
// RDATA without the signature, then every record of the canonical RRset under the original TTL), the labels
// count with its wildcard rule (RFC 4034 §3.1.3, RFC 4035 §5.3.2), and the 32-bit times, compared as RFC 1982
// serial numbers so they keep working past 2106 (RFC 4034 §3.1.5).
import { signData, verifyData } from './algorithms.js';
import { type CanonicalRRset, canonicalRRset, type RRsetInput } from './canonical.js';
import { type DnssecKey, ZONE_KEY_FLAG } from './keys.js';
import { labelOffsets, lowerName, nameEnd, namePresentation, nameWire } from './wire.js';

export interface RrsigFields {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTtl: number;
  /** 32-bit times: seconds since 1970 modulo 2^32. */
  expiration: number;
  inception: number;
  keyTag: number;
  /** The signer's name (the zone), wire form. */
  signer: Buffer;
  signature: Buffer;
}

/** An RRset to sign: its owner (a wildcard's `*.` owner for the records synthesized from it), type, class, TTL, records. */
export interface SignableRRset extends RRsetInput {
  ttl: number;
}

/** Signature inception and expiration, 32-bit serial times. */
export interface SignatureTimes {
  inception: number;
  expiration: number;
}

// ---- times (RFC 1982 serial number arithmetic, SERIAL_BITS = 32) ------------------------------------------

/** Unix seconds → the 32-bit time of an RRSIG field. */
export function serialTime(unix: number): number {
  return Math.floor(unix) >>> 0;
}

/** Seconds from 32-bit time `from` to `to` (negative when `to` is before `from`), within ±2^31. */
export function serialDelta(from: number, to: number): number {
  return ((to >>> 0) - (from >>> 0)) | 0;
}

/** The unix time a 32-bit time stands for: the one nearest `now` (RFC 4034 §3.1.5). */
export function unixOfSerial(serial: number, now: number): number {
  return Math.floor(now) + serialDelta(serialTime(now), serial);
}

/** The validity window of a signature made at `now` (unix seconds): inception `backdateSeconds` earlier
 *  (clocks of resolvers run behind), expiration `validitySeconds` later. The window must span less than
 *  2^31 seconds, or RFC 1982 comparison cannot order its ends; a validity in milliseconds is refused by that. */
export function signatureTimes(now: number, validitySeconds: number, backdateSeconds = 3600): SignatureTimes {
  if (!(validitySeconds > 0 && backdateSeconds >= 0 && validitySeconds + backdateSeconds < 2 ** 31)) {
    throw new Error(
      `a signature's validity (${validitySeconds} s) and backdate (${backdateSeconds} s) must be seconds: validity above 0, backdate 0 or more, together under 2^31 (RFC 1982)`,
    );
  }
  return { inception: serialTime(now - backdateSeconds), expiration: serialTime(now + validitySeconds) };
}

/** Whether `now` lies within [inception, expiration] (RFC 4035 §5.3.1). */
export function isCurrent(times: SignatureTimes, now: number): boolean {
  const t = serialTime(now);
  return serialDelta(times.inception, t) >= 0 && serialDelta(t, times.expiration) >= 0;
}

/** Seconds from `now` to the expiration (negative once expired). */
export function secondsToExpiry(times: SignatureTimes, now: number): number {
  return serialDelta(serialTime(now), times.expiration);
}

// ---- the RDATA and the data signed ------------------------------------------------------------------------

/** The Labels field for an owner: its labels, the root not counted and a leading `*` label not counted. */
export function rrsigLabels(owner: string | Buffer): number {
  const wire = typeof owner === 'string' ? nameWire(owner) : owner;
  const labels = labelOffsets(wire).length;
  return wire[0] === 1 && wire[1] === 0x2a ? labels - 1 : labels;
}

/**
 * The owner the signed data uses for a record whose RRSIG has `labels` labels (RFC 4035 §5.3.2): the owner
 * itself, or, for an answer synthesized from a wildcard, `*.` and the owner's rightmost `labels` labels.
 */
export function signedOwner(owner: Buffer, labels: number): Buffer {
  const offsets = labelOffsets(owner);
  if (labels >= offsets.length) return owner;
  return Buffer.concat([Buffer.from([1, 0x2a]), owner.subarray(offsets[offsets.length - labels]!)]);
}

/** The RRSIG RDATA up to (not including) the signature; the signer's name in canonical (lower-case) form. */
export function rrsigHeader(f: Omit<RrsigFields, 'signature'>): Buffer {
  const signer = lowerName(f.signer);
  const out = Buffer.alloc(18 + signer.length);
  out.writeUInt16BE(f.typeCovered, 0);
  out[2] = f.algorithm;
  out[3] = f.labels;
  out.writeUInt32BE(f.originalTtl >>> 0, 4);
  out.writeUInt32BE(f.expiration >>> 0, 8);
  out.writeUInt32BE(f.inception >>> 0, 12);
  out.writeUInt16BE(f.keyTag, 16);
  signer.copy(out, 18);
  return out;
}

/** The octets a signature covers (RFC 4034 §3.1.8.1): the header, then owner|type|class|TTL|RDLENGTH|RDATA of each record. */
export function signedData(header: Buffer, set: CanonicalRRset, originalTtl: number, labels: number): Buffer {
  const owner = signedOwner(set.owner, labels);
  let size = header.length;
  for (const r of set.rdata) size += owner.length + 10 + r.length;
  const out = Buffer.allocUnsafe(size);
  header.copy(out, 0);
  let p = header.length;
  for (const r of set.rdata) {
    p += owner.copy(out, p);
    out.writeUInt16BE(set.type, p);
    out.writeUInt16BE(set.class, p + 2);
    out.writeUInt32BE(originalTtl >>> 0, p + 4);
    out.writeUInt16BE(r.length, p + 8);
    p += 10;
    p += r.copy(out, p);
  }
  return out;
}

/** The RRSIG RDATA of `set` signed by `key` (which must hold its private key) for the given times. */
export function signRRset(set: SignableRRset, key: DnssecKey, times: SignatureTimes): Buffer {
  if (!key.signer) throw new Error(`key ${key.tag} of ${key.zone || '.'} has no private key to sign with`);
  const canonical = canonicalRRset(set);
  if (canonical.rdata.length === 0)
    throw new Error(`an empty RRset (${namePresentation(canonical.owner)} type ${set.type}) cannot be signed`);
  const labels = rrsigLabels(canonical.owner);
  const header = rrsigHeader({
    typeCovered: set.type,
    algorithm: key.algorithm,
    labels,
    originalTtl: set.ttl,
    expiration: times.expiration,
    inception: times.inception,
    keyTag: key.tag,
    signer: nameWire(key.zone),
  });
  const signature = signData(key.algorithm, key.signer, signedData(header, canonical, set.ttl, labels));
  return Buffer.concat([header, signature]);
}

/** Whether lower-case wire name `name` is `zone` or below it (the same trailing labels). */
function isAtOrBelow(name: Buffer, zone: Buffer): boolean {
  if (zone.length === 1) return true; // the root
  const at = name.length - zone.length;
  return at >= 0 && name.subarray(at).equals(zone) && (at === 0 || labelOffsets(name).includes(at));
}

/** RRSIG RDATA → its fields; throws when it is too short or its signer name is malformed. */
export function parseRrsig(rdata: Buffer): RrsigFields {
  if (rdata.length < 19) throw new Error('RRSIG RDATA is shorter than its fixed fields');
  const end = nameEnd(rdata, 18);
  return {
    typeCovered: rdata.readUInt16BE(0),
    algorithm: rdata[2]!,
    labels: rdata[3]!,
    originalTtl: rdata.readUInt32BE(4),
    expiration: rdata.readUInt32BE(8),
    inception: rdata.readUInt32BE(12),
    keyTag: rdata.readUInt16BE(16),
    signer: Buffer.from(rdata.subarray(18, end)),
    signature: Buffer.from(rdata.subarray(end)),
  };
}

/**
 * Checks an RRSIG over `set` against `key` as a validator would (RFC 4035 §5.3.1, §5.3.2, §5.3.3), `now`
 * (unix seconds) for the validity window, or null to leave time out. Returns null when it validates, else
 * what does not hold. The set's TTL plays no part: the RRSIG's original TTL is what was signed.
 */
export function verifyRRset(set: RRsetInput, rrsig: Buffer, key: DnssecKey, now: number | null = null): string | null {
  const f = parseRrsig(rrsig);
  const canonical = canonicalRRset(set);
  if (f.typeCovered !== set.type) return `the RRSIG covers type ${f.typeCovered}, not ${set.type}`;
  if (f.algorithm !== key.algorithm) return `the RRSIG's algorithm ${f.algorithm} is not the key's ${key.algorithm}`;
  if (f.keyTag !== key.tag) return `the RRSIG's key tag ${f.keyTag} is not the key's ${key.tag}`;
  if (!(key.flags & ZONE_KEY_FLAG)) return "the key's Zone Key flag is not set";
  const zone = lowerName(nameWire(key.zone));
  if (!lowerName(f.signer).equals(zone)) return "the RRSIG names another signer than the key's zone";
  if (!isAtOrBelow(canonical.owner, zone)) return "the owner is not in the signer's zone";
  const ownerLabels = labelOffsets(canonical.owner).length;
  if (f.labels > ownerLabels) return `the RRSIG's labels ${f.labels} exceed the owner's ${ownerLabels}`;
  if (now !== null && !isCurrent(f, now)) return 'the RRSIG is not valid at this time (before inception or after expiration)';
  const data = signedData(rrsigHeader(f), canonical, f.originalTtl, f.labels);
  return verifyData(f.algorithm, key.verifier, data, f.signature) ? null : 'the signature does not verify';
}
