// Round-robin positions of the pool regions (per process): the decision rotates a region's targets by them,
// and the response writer rotates static address RRsets by the same counters (dns/writer.ts RotationCounters).

/** Round-robin positions, one counter per pool region and family (per process), and per rotated RRset. */
export class Rotation {
  private readonly counters = new WeakMap<object, [number, number]>();
  /** Counters of numbered items under one key (a flat zone's RRsets), made when the key is first asked for. */
  private readonly tables = new WeakMap<object, Uint32Array>();

  next(key: object, family: 4 | 6): number {
    let c = this.counters.get(key);
    if (!c) {
      c = [0, 0];
      this.counters.set(key, c);
    }
    const i = family === 4 ? 0 : 1;
    const n = c[i]!;
    c[i] = n >= 0x3fffffff ? 0 : n + 1;
    return n;
  }

  nextOf(key: object, index: number, size: number): number {
    let t = this.tables.get(key);
    if (t === undefined) {
      t = new Uint32Array(size);
      this.tables.set(key, t);
    }
    const n = t[index]!;
    t[index] = n >= 0x3fffffff ? 0 : n + 1;
    return n;
  }
}
