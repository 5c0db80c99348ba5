// The keys of the signed zones (`dnssec:` of steerdns.yaml, docs/configuration.md#dnssec): each key path
// read through src/dnssec, its role (the config's publish/active, else the key file's times), and every
// rule a signed zone must meet, as diagnostics at the key's place in steerdns.yaml. `steerdns check` prints
// them; the server loads the same way.
import { statSync } from 'node:fs';
import type { ConfigPosition, DnssecZoneConfig } from './config/server-dnssec.js';
import type { ServerConfig } from './config/server-spec.js';
import { type Diagnostic, displayPath as displayPathOf } from './config/source.js';
import { type DnssecKey, KeyFileError, keyFilePaths, keyRole, loadKey, REVOKE_FLAG, ZONE_KEY_FLAG } from './dnssec/keys.js';
import { ZoneSigning } from './dnssec/signer.js';

export interface ZoneKey {
  key: DnssecKey;
  /** In the zone's DNSKEY RRset. */
  published: boolean;
  /** Signs the zone's RRsets. */
  active: boolean;
  /** The key files' base path. */
  path: string;
}

export interface SignedZone {
  zone: string;
  keys: ZoneKey[];
  /** How long a signature is valid, in seconds as RRSIG times count (rrsig.ts signatureTimes). */
  signatureValiditySeconds: number;
  /** A signature or key this close to its expiry is warned of. */
  expiryWarningSeconds: number;
}

export interface ZoneKeysResult {
  /** The zones whose keys meet every rule; a zone with an error is left out. */
  zones: Map<string, SignedZone>;
  diagnostics: Diagnostic[];
}

export interface ZoneKeysOptions {
  /** Unix seconds: when the key files' times are judged (default: now). */
  now?: number;
  /** Each served zone's TTL (the zone file's `ttl`), the TTL its DNSKEY RRset is served with: a `.key` file
   *  giving another is a warning. Left out, key file TTLs are not judged. */
  zoneTtls?: ReadonlyMap<string, number>;
}

/**
 * Loads the keys of every signed zone: readable key files of a supported algorithm whose owner is the zone, a
 * zone key not revoked (by its flag or its Revoke time), a private key for every active key, at least one
 * active key, and for each algorithm in the DNSKEY RRset an active key of that algorithm (RFC 4035 §2.2).
 * Roles come from the config's flags, else the key files (keys.ts keyRole), judged at `now`: a time passing
 * later changes nothing until the next load (start or SIGHUP).
 */
export function loadZoneKeys(config: Pick<ServerConfig, 'dnssec'>, options: ZoneKeysOptions = {}): ZoneKeysResult {
  const now = options.now ?? Date.now() / 1000;
  const zones = new Map<string, SignedZone>();
  const diagnostics: Diagnostic[] = [];
  for (const zc of config.dnssec.values()) {
    const zone = loadZone(zc, now, options.zoneTtls?.get(zc.zone) ?? null, diagnostics);
    if (zone) zones.set(zc.zone, zone);
  }
  return { zones, diagnostics };
}

function loadZone(zc: DnssecZoneConfig, now: number, zoneTtl: number | null, out: Diagnostic[]): SignedZone | null {
  const before = out.filter((d) => d.severity === 'error').length;
  const what = `dnssec."${zc.zone || '.'}"`;
  const keys: ZoneKey[] = [];
  for (const ref of zc.keys) {
    const error = (message: string) => out.push({ ...ref.at, message: `${what}: ${message}`, severity: 'error' });
    const warning = (message: string) => out.push({ ...ref.at, message: `${what}: ${message}`, severity: 'warning' });
    let pub: DnssecKey;
    try {
      pub = loadKey(ref.path, false);
    } catch (e) {
      error(describe(e, ref.path));
      continue;
    }
    const name = displayPathOf(keyFilePaths(ref.path).key);
    if (pub.zone !== zc.zone) {
      error(`${name}: the key is for ${pub.zone || '.'}, not for ${zc.zone || '.'}`);
      continue;
    }
    if (!(pub.flags & ZONE_KEY_FLAG)) {
      error(`${name}: flags ${pub.flags} lack the Zone Key bit (256): it cannot sign a zone (RFC 4034 §2.1.1)`);
      continue;
    }
    if (pub.flags & REVOKE_FLAG) {
      error(`${name}: the key is revoked (flags ${pub.flags}, RFC 5011 §3)`);
      continue;
    }
    const revoke = pub.timing.revoke;
    if (revoke !== undefined && revoke <= now) {
      error(
        `${name}: the key was revoked at ${isoTime(revoke)} (its Revoke time, RFC 5011 §2.1): steerdns does not serve revoked keys; take it out of keys:`,
      );
      continue;
    }
    if (revoke !== undefined) {
      warning(
        `${name}: the key's Revoke time ${isoTime(revoke)} is set: from the first load after it the key is refused (steerdns does not serve revoked keys, RFC 5011)`,
      );
    }
    const { published, active } = keyRole(pub, now, ref);
    if (active && !published) {
      error(`${name}: the key is active but not published (publish: false): resolvers could not validate its signatures`);
      continue;
    }
    const removed = pub.timing.delete;
    if (removed !== undefined && removed <= now && (published || active)) {
      const by = ref.publish !== null || ref.active !== null ? 'the config' : "the .key file's role lines";
      warning(
        `${name}: the key's Delete time ${isoTime(removed)} has passed, but ${by} keep it ${active ? 'signing' : 'in the DNSKEY RRset'} (a publish/active flag wins over the times)`,
      );
    }
    if (pub.ttl !== null && zoneTtl !== null && pub.ttl !== zoneTtl) {
      warning(`${name}: the key file's TTL ${pub.ttl} is not used: the DNSKEY RRset is served with the zone's ttl (${zoneTtl})`);
    }
    let key = pub;
    if (active) {
      try {
        key = loadKey(ref.path, true);
      } catch (e) {
        error(`${describe(e, ref.path)} (an active key signs, so its private key is needed)`);
        continue;
      }
      warnIfShared(keyFilePaths(ref.path).private, ref.at, what, out);
    }
    const twin = keys.find((k) => k.key.tag === key.tag && k.key.algorithm === key.algorithm);
    if (twin) {
      const same = twin.key.publicKey.equals(key.publicKey);
      error(
        same
          ? `${name}: the same key as ${displayPathOf(twin.path)}`
          : `${name}: key tag ${key.tag} is also the tag of ${displayPathOf(twin.path)}`,
      );
      continue;
    }
    keys.push({ key, published, active, path: ref.path });
  }
  const failed = out.filter((d) => d.severity === 'error').length > before;
  if (!failed) {
    if (!keys.some((k) => k.active)) {
      out.push({
        ...zc.at,
        message: `${what}: no active key: a signed zone needs at least one (active: true, or an Activate time passed)`,
        severity: 'error',
      });
    }
    for (const alg of new Set(keys.filter((k) => k.published).map((k) => k.key.algorithm))) {
      if (keys.some((k) => k.active && k.key.algorithm === alg)) continue;
      const k = keys.find((x) => x.published && x.key.algorithm === alg)!;
      out.push({
        ...zc.keys.find((r) => r.path === k.path)!.at,
        message: `${what}: algorithm ${alg} is in the DNSKEY set but no active key of it signs the zone (RFC 4035 §2.2: every RRset is signed with each algorithm published)`,
        severity: 'error',
      });
    }
  }
  if (out.filter((d) => d.severity === 'error').length > before) return null;
  return {
    zone: zc.zone,
    keys,
    signatureValiditySeconds: Math.round(zc.signatureValidityMs / 1000),
    expiryWarningSeconds: Math.round(zc.expiryWarningMs / 1000),
  };
}

/** Unix seconds → `2026-12-03T15:02:12Z`. */
function isoTime(unix: number): string {
  return new Date(unix * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** A key file's fault with the file's path as the user sees it. */
function describe(e: unknown, path: string): string {
  return e instanceof KeyFileError ? `${displayPathOf(e.file)}: ${e.reason}` : `${displayPathOf(path)}: ${(e as Error).message}`;
}

/** A private key readable by others than its owner is said (dnssec-keygen and steerdns keygen write 0600). */
function warnIfShared(file: string, at: ConfigPosition, what: string, out: Diagnostic[]): void {
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      out.push({
        ...at,
        message: `${what}: ${displayPathOf(file)} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 it`,
        severity: 'warning',
      });
    }
  } catch {
    // read a moment ago; a file gone since is found on the next load
  }
}

/** A served zone as signing reads it: its origin, its negative SOA TTL (the NSEC TTL), its file's `ttl` (DNSKEY's). */
export interface SignableZone {
  origin: string;
  negativeTtl: number;
  spec: { ttl: number };
}

/**
 * The signing state of every served zone with keys: loaded anew on every snapshot (a reload picks up role
 * changes), kept from `previous` for a zone whose keys fail now (like a zone file that fails: the last good
 * version serves), and the same object kept when nothing it is made of changed.
 */
export function signingStates(
  cfg: Pick<ServerConfig, 'dnssec'>,
  zones: ReadonlyMap<string, SignableZone>,
  previous: ReadonlyMap<string, ZoneSigning> | null,
  now: number = Date.now() / 1000,
): { signing: Map<string, ZoneSigning>; diagnostics: Diagnostic[] } {
  const zoneTtls = new Map([...zones.values()].map((z) => [z.origin, z.spec.ttl]));
  const { zones: keyed, diagnostics } = loadZoneKeys(cfg, { now, zoneTtls });
  const signing = new Map<string, ZoneSigning>();
  for (const zc of cfg.dnssec.values()) {
    const zone = zones.get(zc.zone);
    if (!zone) continue;
    const keys = keyed.get(zc.zone);
    const prev = previous?.get(zc.zone) ?? null;
    if (!keys) {
      if (prev) signing.set(zc.zone, prev);
      continue;
    }
    const next = new ZoneSigning(keys, zone.spec.ttl, zone.negativeTtl);
    const same =
      prev !== null &&
      prev.cacheTag === next.cacheTag &&
      prev.ttl === next.ttl &&
      prev.nsecTtl === next.nsecTtl &&
      Buffer.concat(prev.dnskey).equals(Buffer.concat(next.dnskey));
    signing.set(zc.zone, same ? prev : next);
  }
  return { signing, diagnostics };
}
