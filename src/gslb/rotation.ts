// Round-robin positions of the pool regions (per process): the decision rotates a region's targets by them,
// and the response writer rotates static address RRsets by the same counters (dns/writer.ts RotationCounters).

/** Round-robin positions, one counter per pool region and family (per process). */
export class Rotation {
  private readonly counters = new WeakMap<object, [number, number]>();

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
}
