// Online signing of RRsets: a zone's signing state (its active keys, the published DNSKEY RRset, CDS and
// CDNSKEY for the active keys, RFC 7344 §3 / RFC 8078) and the signer that makes RRSIGs over the canonical
// form of a set (RFC 4034 §6.3), through the bounded signature cache. A set's signatures are made once and
// reused until a refresh time between a quarter and a half of their validity (jitter: a fleet does not
// re-sign all at once), so every signature served has at least half its validity left.
import { TYPE } from '../dns/registry.js';
import { canonicalRRset } from './canonical.js';
import { CSK_FLAGS, type DnssecKey, dsRdata, SEP_FLAG } from './keys.js';
import { rrsigLabels, signatureTimes, signRRset, unixOfSerial } from './rrsig.js';
import { type CachedSignatures, DEFAULT_CACHE_ENTRIES, SignatureCache } from './sig-cache.js';
import { lowerName, nameWire } from './wire.js';

/** A signed zone's keys as the application loads them (src/zone-keys.ts SignedZone has this shape). */
export interface SigningKeys {
  zone: string;
  keys: readonly { key: DnssecKey; published: boolean; active: boolean }[];
  signatureValiditySeconds: number;
  /** A signature or key this close to its expiry is warned of (default: a week). */
  expiryWarningSeconds?: number;
}

/** What signing one zone needs, prepared when the snapshot is built. */
export class ZoneSigning {
  /** The apex, lower-case wire form. */
  readonly apex: Buffer;
  readonly active: DnssecKey[];
  /** DNSKEY RDATA of the published keys; CDS (SHA-256) and CDNSKEY RDATA of the active keys with the SEP bit. */
  readonly dnskey: Buffer[];
  readonly cds: Buffer[];
  readonly cdnskey: Buffer[];
  /** Keys this zone's cache entries are made with: a set signed by other keys is another entry. */
  readonly cacheTag: string;

  /**
   * `ttl`: the TTL of DNSKEY, CDS and CDNSKEY (the zone file's `ttl`); `nsecTtl`: of the NSEC records of
   * denials, the negative TTL (RFC 9077: min of the SOA's TTL and minimum).
   */
  constructor(
    readonly keys: SigningKeys,
    readonly ttl: number,
    readonly nsecTtl: number,
  ) {
    this.apex = lowerName(nameWire(keys.zone));
    this.active = keys.keys.filter((k) => k.active).map((k) => k.key);
    this.dnskey = keys.keys.filter((k) => k.published).map((k) => k.key.dnskey);
    const sep = this.active.filter((k) => (k.flags & SEP_FLAG) !== 0 || k.flags === CSK_FLAGS);
    this.cds = sep.map((k) => dsRdata(keys.zone, k.dnskey));
    this.cdnskey = sep.map((k) => k.dnskey);
    this.cacheTag = `${keys.zone}/${this.active.map((k) => `${k.algorithm}+${k.tag}`).join(',')}/${keys.signatureValiditySeconds}`;
  }

  /** The apex RRset of a DNSSEC type served from the keys (DNSKEY, CDS, CDNSKEY), or null for other types. */
  keySet(type: number): Buffer[] | null {
    if (type === TYPE.DNSKEY) return this.dnskey;
    if (type === TYPE.CDS) return this.cds;
    if (type === TYPE.CDNSKEY) return this.cdnskey;
    return null;
  }
}

export class Signer {
  readonly cache: SignatureCache;
  /** RRSIGs made (one per key per set signed). */
  made = 0;

  constructor(
    capacity: number = DEFAULT_CACHE_ENTRIES,
    private readonly now: () => number = () => Date.now() / 1000,
    private readonly random: () => number = Math.random,
  ) {
    this.cache = new SignatureCache(capacity);
  }

  /**
   * The RRSIG RDATA of the set (owner lower-case wire form; `labels` its RRSIG labels — fewer than the owner's
   * for records synthesized from a wildcard), one per active key of `z`, from the cache when current.
   */
  signatures(z: ZoneSigning, owner: Buffer, type: number, klass: number, ttl: number, rdata: readonly Buffer[], labels: number): Buffer[] {
    const set = canonicalRRset({ owner, type, class: klass, rdata });
    let key = `${z.cacheTag}|${type}|${klass}|${ttl}|${labels}|${owner.toString('latin1')}`;
    for (const r of set.rdata) key += `|${r.toString('latin1')}`;
    const now = this.now();
    const hit = this.cache.get(key, now);
    if (hit !== null) return hit.rrsigs;
    const validity = z.keys.signatureValiditySeconds;
    const times = signatureTimes(now, validity);
    const signedOwner = labels < rrsigLabels(owner) ? wildcardOwner(owner, labels) : owner;
    const rrsigs = z.active.map((k) => signRRset({ owner: signedOwner, type, class: klass, ttl, rdata: set.rdata }, k, times));
    this.made += rrsigs.length;
    const entry: CachedSignatures = {
      rrsigs,
      refreshAt: now + validity * (0.5 - 0.25 * this.random()),
      expiration: unixOfSerial(times.expiration, now),
      used: false,
    };
    this.cache.set(key, entry);
    return rrsigs;
  }
}

/** `*.` and the rightmost `labels` labels of `owner`: the wildcard a synthesized set is signed as (RFC 4035 §5.3.2). */
function wildcardOwner(owner: Buffer, labels: number): Buffer {
  const offsets: number[] = [];
  for (let p = 0; owner[p] !== 0; p += owner[p]! + 1) offsets.push(p);
  return Buffer.concat([Buffer.from([1, 0x2a]), owner.subarray(offsets[offsets.length - labels]!)]);
}
