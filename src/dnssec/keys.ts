// A zone's DNSSEC key: the DNSKEY RDATA (RFC 4034 §2.1), its key tag (RFC 4034 Appendix B), the DS digest
// the parent publishes (RFC 4034 §5.1.4, SHA-256 by RFC 4509), its role at a time (published, active) from
// the times its files carry, and loading and making the key files (key-files.ts has their format).
import { createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateKeyPair, privateKeyObject, publicKeyObject } from './algorithms.js';
import {
  type KeyRoleFlags,
  type KeyTiming,
  keyBaseName,
  parsePrivateKeyFile,
  parsePrivateKeyTiming,
  parsePublicKeyFile,
} from './key-files.js';
import { lowerName, nameWire } from './wire.js';

/** DNSKEY flags (RFC 4034 §2.1.1, RFC 5011 §3): the Zone Key bit, the Secure Entry Point bit, REVOKE. */
export const ZONE_KEY_FLAG = 0x0100;
export const SEP_FLAG = 0x0001;
export const REVOKE_FLAG = 0x0080;
/** A combined signing key (CSK): a zone key marked as the secure entry point, signing every RRset. */
export const CSK_FLAGS = ZONE_KEY_FLAG | SEP_FLAG;
/** The only DNSKEY protocol value (RFC 4034 §2.1.2). */
export const DNSKEY_PROTOCOL = 3;

/** DS digest types (RFC 4034 §5.1.3, RFC 4509, RFC 6605). */
export const DIGEST_SHA256 = 2;
export const DIGEST_SHA384 = 4;

export interface DnssecKey {
  /** The zone (the DNSKEY's owner), internal form. */
  zone: string;
  flags: number;
  algorithm: number;
  /** The public key as DNSKEY carries it. */
  publicKey: Buffer;
  /** The DNSKEY RDATA: flags, protocol, algorithm, public key. */
  dnskey: Buffer;
  tag: number;
  /** The TTL the `.key` file gives (dnssec-keygen -L), or null. Not served: the DNSKEY RRset has the zone's TTL. */
  ttl: number | null;
  timing: KeyTiming;
  /** The role the `.key` file's `; publish:` / `; active:` lines state; they win over the times. */
  roleFlags: KeyRoleFlags;
  verifier: KeyObject;
  /** Null when only the public half was read (a key published ahead of use needs no private key). */
  signer: KeyObject | null;
}

export function dnskeyRdata(flags: number, algorithm: number, publicKey: Buffer): Buffer {
  const out = Buffer.alloc(4 + publicKey.length);
  out.writeUInt16BE(flags, 0);
  out[2] = DNSKEY_PROTOCOL;
  out[3] = algorithm;
  publicKey.copy(out, 4);
  return out;
}

/** The key tag of DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1's exception does not apply to 13 and 15). */
export function keyTag(dnskey: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < dnskey.length; i++) ac += i & 1 ? dnskey[i]! : dnskey[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** The DS RDATA for a key: key tag, algorithm, digest type, digest(owner ‖ DNSKEY RDATA) (RFC 4034 §5.1.4). */
export function dsRdata(zone: string, dnskey: Buffer, digestType: number = DIGEST_SHA256): Buffer {
  const hash = digestType === DIGEST_SHA256 ? 'sha256' : digestType === DIGEST_SHA384 ? 'sha384' : null;
  if (!hash) throw new Error(`DS digest type ${digestType} is not supported (2 SHA-256, 4 SHA-384)`);
  const digest = createHash(hash)
    .update(lowerName(nameWire(zone)))
    .update(dnskey)
    .digest();
  const head = Buffer.alloc(4);
  head.writeUInt16BE(keyTag(dnskey), 0);
  head[2] = dnskey[3]!;
  head[3] = digestType;
  return Buffer.concat([head, digest]);
}

/** The key from its parts, with the node:crypto objects to verify (and sign, given the private key) with. */
export function makeKey(
  zone: string,
  flags: number,
  algorithm: number,
  publicKey: Buffer,
  privateKey: Buffer | null,
  timing: KeyTiming = {},
): DnssecKey {
  const verifier = publicKeyObject(algorithm, publicKey);
  let signer: KeyObject | null = null;
  if (privateKey) {
    const pair = privateKeyObject(algorithm, privateKey);
    if (!pair.publicKey.equals(publicKey)) throw new Error('the private key does not belong to the public key');
    signer = pair.privateKey;
  }
  const dnskey = dnskeyRdata(flags, algorithm, publicKey);
  const name = zone.replace(/\.$/, '').toLowerCase();
  return { zone: name, flags, algorithm, publicKey, dnskey, tag: keyTag(dnskey), ttl: null, timing, roleFlags: {}, verifier, signer };
}

/** A new combined signing key (flags 257) for a zone, created, published and active from `now`. */
export function generateKey(
  zone: string,
  algorithm: number,
  now: number = Math.floor(Date.now() / 1000),
): { key: DnssecKey; privateKey: Buffer } {
  const pair = generateKeyPair(algorithm);
  const timing = { created: now, publish: now, activate: now };
  return { key: makeKey(zone, CSK_FLAGS, algorithm, pair.publicKey, pair.privateKey, timing), privateKey: pair.privateKey };
}

/** Which key files a key path names: a base without `.key`/`.private` (either suffix is taken off). */
export function keyFilePaths(path: string): { base: string; key: string; private: string } {
  const base = path.replace(/\.(key|private)$/, '');
  return { base, key: `${base}.key`, private: `${base}.private` };
}

/** Why a key could not be loaded: which file, and what is wrong with it. */
export class KeyFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/**
 * Reads a key's `.key` and (when `withPrivate`) `.private` files. Throws a KeyFileError naming the file and the
 * fault: unreadable, not a DNSKEY, an algorithm steerdns does not implement, a private key of another algorithm
 * or of another public key. The times of the `.key` file's comments win over the `.private` file's; a `.key`
 * without times (its comments stripped, or written by another tool) takes the `.private` file's times even when
 * the private key itself is not wanted, so the role is the same either way.
 */
export function loadKey(path: string, withPrivate: boolean): DnssecKey {
  const files = keyFilePaths(path);
  const pub = parseOrThrow(files.key, parsePublicKeyFile);
  if (pub.protocol !== DNSKEY_PROTOCOL)
    throw new KeyFileError(files.key, `DNSKEY protocol must be 3 (RFC 4034 §2.1.2), not ${pub.protocol}`);
  let priv: ReturnType<typeof parsePrivateKeyFile> | null = null;
  if (withPrivate) {
    priv = parseOrThrow(files.private, parsePrivateKeyFile);
    if (priv.algorithm !== pub.algorithm) {
      throw new KeyFileError(files.private, `algorithm ${priv.algorithm} does not match the .key file's ${pub.algorithm}`);
    }
  }
  let timing = pub.timing;
  if (Object.keys(timing).length === 0) timing = priv ? priv.timing : (privateTimingIfAny(files.private) ?? {});
  try {
    const key = makeKey(pub.owner, pub.flags, pub.algorithm, pub.publicKey, priv?.privateKey ?? null, timing);
    return { ...key, ttl: pub.ttl, roleFlags: pub.roleFlags };
  } catch (e) {
    const which = /private key/i.test((e as Error).message) && priv ? files.private : files.key;
    throw new KeyFileError(which, (e as Error).message);
  }
}

/** The times of a `.private` file, or null when there is no such file (a key handed over without it). */
function privateTimingIfAny(file: string): KeyTiming | null {
  try {
    return parseOrThrow(file, parsePrivateKeyTiming);
  } catch (e) {
    if (e instanceof KeyFileError && e.reason === 'file not found') return null;
    throw e;
  }
}

function parseOrThrow<T>(file: string, parse: (text: string) => T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeyFileError(
      file,
      code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : `cannot read: ${(e as Error).message}`,
    );
  }
  try {
    return parse(text);
  } catch (e) {
    throw new KeyFileError(file, (e as Error).message);
  }
}

/** A key's role at `now` (unix seconds) from its times: published once Publish (or, without it, Activate) has
 *  come, active once Activate has come and Inactive has not, neither once Delete has come (a time not set never
 *  comes, as in BIND). A key with no times at all (as ldns-keygen writes them) is both. Revoke is not a role:
 *  the caller refuses a revoked key (zone-keys.ts). */
export function roleAt(timing: KeyTiming, now: number): { published: boolean; active: boolean } {
  if (Object.keys(timing).length === 0) return { published: true, active: true };
  const reached = (t: number | undefined) => t !== undefined && t <= now;
  const deleted = reached(timing.delete);
  const publishAt = timing.publish ?? timing.activate;
  return {
    published: reached(publishAt) && !deleted,
    active: reached(timing.activate) && !reached(timing.inactive) && !deleted,
  };
}

/** A role set outright (the config's `publish:` / `active:`); null: not set. */
export interface RoleOverride {
  publish: boolean | null;
  active: boolean | null;
}

/**
 * A key's role at `now`, each of published and active from the first that says it: the config's flag, the
 * `.key` file's `; publish:` / `; active:` line, the key's times (roleAt). A key active by its times or flags is
 * published unless a flag says otherwise (then the caller reports an active key that is not published).
 */
export function keyRole(
  key: Pick<DnssecKey, 'timing' | 'roleFlags'>,
  now: number,
  config: RoleOverride = { publish: null, active: null },
): { published: boolean; active: boolean } {
  const times = roleAt(key.timing, now);
  const active = config.active ?? key.roleFlags.active ?? times.active;
  const published = config.publish ?? key.roleFlags.publish ?? (times.published || active);
  return { published, active };
}

/** The file name base of a key, as BIND names it. */
export function baseNameOf(key: DnssecKey): string {
  return keyBaseName(key.zone, key.algorithm, key.tag);
}
