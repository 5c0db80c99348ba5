// The signature cache: one entry per distinct signed RRset (its canonical form, the signing keys, the labels
// and the original TTL), so the rotation order of a set, or its case as asked, never costs a new signature,
// and every distinct set a pool yields (a region's subset, a fail-open set, an `answers: N` selection) is
// signed once and reused. Bounded: at `capacity` entries the next one evicts by the clock (second-chance)
// rule — a hit only sets a flag, nothing moves in the map on the query path.

/** The signatures of one RRset, one RRSIG RDATA per active key. */
export interface CachedSignatures {
  rrsigs: Buffer[];
  /** Unix seconds after which the set is signed anew (well before `expiration`, with jitter). */
  refreshAt: number;
  /** Unix seconds: the signatures' expiration. */
  expiration: number;
  /** Used since the clock hand last passed (second chance). */
  used: boolean;
}

/** The number of entries when the config names none: 100 000 sets at about 250 octets each, some 25 MB. */
export const DEFAULT_CACHE_ENTRIES = 100_000;

export class SignatureCache {
  private readonly map = new Map<string, CachedSignatures>();
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(readonly capacity: number = DEFAULT_CACHE_ENTRIES) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new Error(`a signature cache holds at least 1 entry, not ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The current signatures of `key`, or null (not cached, or due for re-signing at `now`). */
  get(key: string, now: number): CachedSignatures | null {
    const e = this.map.get(key);
    if (e === undefined || now >= e.refreshAt) {
      this.misses++;
      return null;
    }
    e.used = true;
    this.hits++;
    return e;
  }

  set(key: string, entry: CachedSignatures): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.capacity) this.evict();
    this.map.set(key, entry);
  }

  /** Drops every entry (a key change makes them all stale). */
  clear(): void {
    this.map.clear();
  }

  /** The earliest expiration of a cached signature (unix seconds), or null when none is cached. */
  nearestExpiration(): number | null {
    let min: number | null = null;
    for (const e of this.map.values()) if (min === null || e.expiration < min) min = e.expiration;
    return min;
  }

  /** Clock: the oldest entry not used since the hand last passed goes; used ones lose their flag and move back. */
  private evict(): void {
    for (let moved = 0; moved <= this.map.size; moved++) {
      const first = this.map.entries().next();
      if (first.done) return;
      const [k, e] = first.value;
      this.map.delete(k);
      if (!e.used) {
        this.evictions++;
        return;
      }
      e.used = false;
      this.map.set(k, e);
    }
  }
}
