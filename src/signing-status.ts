// What the sign stage tells operators: the metrics' numbers (signatures made, cache hits and misses, days
// until the nearest signature and key expiry), the `dnssec` part of /status, and the warnings — in the log
// and /status — for a signature or key within its zone's `expiry_warning` of its end (docs/configuration.md#dnssec).
import type { Signer, ZoneSigning } from './dnssec/signer.js';
import type { SigningNumbers } from './metrics.js';

const DAY = 86_400;
const DEFAULT_WARNING = 7 * DAY;

/** The nearest end of a key's signing (its Inactive or Delete time, unix seconds), or null when it has none. */
function keyEnd(z: ZoneSigning): { tag: number; at: number } | null {
  let best: { tag: number; at: number } | null = null;
  for (const k of z.keys.keys) {
    if (!k.published && !k.active) continue;
    const t = k.key.timing;
    const at = Math.min(t.inactive ?? Infinity, t.delete ?? Infinity);
    if (Number.isFinite(at) && (best === null || at < best.at)) best = { tag: k.key.tag, at };
  }
  return best;
}

const days = (seconds: number) => Math.round((seconds / DAY) * 100) / 100;

export function signingNumbers(signer: Signer, signing: ReadonlyMap<string, ZoneSigning>, now = Date.now() / 1000): SigningNumbers {
  const sig = signer.cache.nearestExpiration();
  let key: number | null = null;
  for (const z of signing.values()) {
    const end = keyEnd(z);
    if (end !== null && (key === null || end.at < key)) key = end.at;
  }
  return {
    made: signer.made,
    hits: signer.cache.hits,
    misses: signer.cache.misses,
    entries: signer.cache.size,
    signatureExpiryDays: sig === null ? null : days(sig - now),
    keyExpiryDays: key === null ? null : days(key - now),
  };
}

/** The warnings of every signed zone: a cached signature or a key within the zone's warning window of its end. */
export function signingWarnings(signer: Signer, signing: ReadonlyMap<string, ZoneSigning>, now = Date.now() / 1000): string[] {
  const out: string[] = [];
  const sig = signer.cache.nearestExpiration();
  for (const z of signing.values()) {
    const window = z.keys.expiryWarningSeconds ?? DEFAULT_WARNING;
    const end = keyEnd(z);
    if (end !== null && end.at - now <= window) {
      out.push(
        `dnssec "${z.keys.zone || '.'}": key ${end.tag} ends (Inactive/Delete time) in ${days(end.at - now)} days: roll to a new key`,
      );
    }
    if (sig !== null && sig - now <= window) {
      out.push(
        `dnssec "${z.keys.zone || '.'}": a served signature expires in ${days(sig - now)} days (signature_validity too short for expiry_warning?)`,
      );
    }
  }
  return out;
}

/** The `dnssec` part of /status. */
export function signingStatus(signer: Signer, signing: ReadonlyMap<string, ZoneSigning>, now = Date.now() / 1000): unknown {
  const n = signingNumbers(signer, signing, now);
  return {
    zones: [...signing.values()].map((z) => ({
      zone: z.keys.zone,
      signatureValidityDays: days(z.keys.signatureValiditySeconds),
      keys: z.keys.keys.map((k) => ({ tag: k.key.tag, algorithm: k.key.algorithm, published: k.published, active: k.active })),
    })),
    signaturesMade: n.made,
    cache: { entries: n.entries, hits: n.hits, misses: n.misses },
    nearestSignatureExpiryDays: n.signatureExpiryDays,
    nearestKeyExpiryDays: n.keyExpiryDays,
    warnings: signingWarnings(signer, signing, now),
  };
}
