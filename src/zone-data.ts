// A zone's data as the builder thread hands it over, and what the answering thread makes of it — the two sides
// in one file. The builder (src/build-worker.ts) turns a parsed zone into ZoneData with buildZoneData: typed
// arrays only, transferred without a copy. The answering thread attaches its own pools (the dynamic names,
// by name) and prepares the zone it serves with zoneFromData, in slices between which it answers queries.
import type { ServerConfig } from './config/server-config.js';
import type { ZoneSpec } from './config/zone-file.js';
import type { DynamicName } from './dns/dynamic.js';
import { typeCode } from './dns/registry.js';
import { buildZoneSteps, type NameInput, type SoaInput, type ZoneInput } from './dns/zone.js';
import { zonePools } from './gslb/pool.js';
import type { ServedZone } from './served-zone.js';

/** A pool as the builder thread knows it: a dynamic name by its owner name, with its families and TTL. */
export interface DynamicRef extends DynamicName {
  name: string;
}

/**
 * A zone's names and RRsets in typed arrays: per name its owner (UTF-8 in `names`, ending at `nameEnd`), its
 * RRsets (ending at `setEnd`) and its dynamic name (index into `dynamic`, -1 for none); per RRset its type,
 * TTL and records (ending at `recordEnd`); per record its RDATA (in `rdata`, ending at `rdataEnd`).
 */
export interface ZoneData {
  origin: string;
  serial: number;
  soa: SoaInput;
  /** The pools by owner name, in the order `dyn` numbers them. */
  dynamic: DynamicRef[];
  names: Uint8Array;
  nameEnd: Uint32Array;
  setEnd: Uint32Array;
  dyn: Int32Array;
  setType: Uint16Array;
  setTtl: Uint32Array;
  recordEnd: Uint32Array;
  rdataEnd: Uint32Array;
  rdata: Uint8Array;
}

/** The buffers of `data`, to transfer rather than copy. */
export function transferList(data: ZoneData): ArrayBuffer[] {
  const arrays = [data.names, data.nameEnd, data.setEnd, data.dyn, data.setType, data.setTtl, data.recordEnd, data.rdataEnd, data.rdata];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/**
 * The builder input of a parsed zone with its serial; `spec.names` is consumed (each name deleted as it is
 * handed over), and the pools are DynamicRefs made from their specs.
 */
export function zoneInputOf(spec: ZoneSpec, serial: number): ZoneInput<DynamicRef> {
  function* names(): Generator<NameInput<DynamicRef>> {
    for (const [key, n] of spec.names) {
      spec.names.delete(key);
      const rrsets = [];
      for (const [typeName, set] of n.rrsets)
        rrsets.push({ type: typeCode(typeName)!, ttl: set.ttl, rdata: set.records.map((r) => r.rdata) });
      let dynamic: DynamicRef | null = null;
      if (n.pool) {
        const targets = n.pool.regions.flatMap((r) => r.targets);
        dynamic = {
          name: n.name,
          ttl: n.pool.ttl,
          has4: targets.some((t) => t.family === 4),
          has6: targets.some((t) => t.family === 6),
        };
      }
      yield { name: n.name, rrsets, dynamic };
    }
  }
  return { origin: spec.origin, soa: spec.soa, serial, names: names() };
}

/** Grows by doubling (the builder does not know the zone's size in advance). */
class Grow<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array> {
  length = 0;
  constructor(public a: T) {}
  push(v: number): void {
    if (this.length === this.a.length) this.reserve(1);
    this.a[this.length++] = v;
  }
  reserve(n: number): void {
    if (this.length + n <= this.a.length) return;
    let size = this.a.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new (this.a.constructor as new (n: number) => T)(size);
    b.set(this.a);
    this.a = b;
  }
  done(): T {
    return this.a.slice(0, this.length) as T;
  }
}

/** ZoneData of `input`, the names iterated once (in the builder thread: a pure function of the parsed zone). */
export function buildZoneData(input: ZoneInput<DynamicRef>): ZoneData {
  const enc = new TextEncoder();
  const names = new Grow(new Uint8Array(1 << 16));
  const nameEnd = new Grow(new Uint32Array(1024));
  const setEnd = new Grow(new Uint32Array(1024));
  const dyn = new Grow(new Int32Array(1024));
  const setType = new Grow(new Uint16Array(1024));
  const setTtl = new Grow(new Uint32Array(1024));
  const recordEnd = new Grow(new Uint32Array(1024));
  const rdataEnd = new Grow(new Uint32Array(1024));
  const rdata = new Grow(new Uint8Array(1 << 16));
  const dynamic: DynamicRef[] = [];
  for (const n of input.names) {
    names.reserve(n.name.length * 3);
    names.length += enc.encodeInto(n.name, names.a.subarray(names.length)).written;
    nameEnd.push(names.length);
    for (const set of n.rrsets) {
      setType.push(set.type);
      setTtl.push(set.ttl);
      for (const rd of set.rdata) {
        rdata.reserve(rd.length);
        rdata.a.set(rd, rdata.length);
        rdata.length += rd.length;
        rdataEnd.push(rdata.length);
      }
      recordEnd.push(rdataEnd.length);
    }
    setEnd.push(setType.length);
    dyn.push(n.dynamic ? dynamic.push(n.dynamic) - 1 : -1);
  }
  return {
    origin: input.origin,
    serial: input.serial,
    soa: input.soa,
    dynamic,
    names: names.done(),
    nameEnd: nameEnd.done(),
    setEnd: setEnd.done(),
    dyn: dyn.done(),
    setType: setType.done(),
    setTtl: setTtl.done(),
    recordEnd: recordEnd.done(),
    rdataEnd: rdataEnd.done(),
    rdata: rdata.done(),
  };
}

/** The names of `data` as the zone builder takes them, with this thread's pools for the dynamic names. */
function* namesOf<D extends DynamicName>(data: ZoneData, pools: (D | null)[]): Generator<NameInput<D>> {
  const dec = new TextDecoder();
  const rdata = Buffer.from(data.rdata.buffer, data.rdata.byteOffset, data.rdata.byteLength);
  let nameAt = 0;
  let set = 0;
  let record = 0;
  let rdataAt = 0;
  for (let i = 0; i < data.nameEnd.length; i++) {
    const name = dec.decode(data.names.subarray(nameAt, data.nameEnd[i]));
    nameAt = data.nameEnd[i]!;
    const rrsets = [];
    for (; set < data.setEnd[i]!; set++) {
      const records: Buffer[] = [];
      for (; record < data.recordEnd[set]!; record++) {
        // views over the one transferred buffer: no copy per record
        records.push(rdata.subarray(rdataAt, data.rdataEnd[record]));
        rdataAt = data.rdataEnd[record]!;
      }
      rrsets.push({ type: data.setType[set]!, ttl: data.setTtl[set]!, rdata: records });
    }
    const d = data.dyn[i]!;
    yield { name, rrsets, dynamic: d < 0 ? null : pools[d]! };
  }
}

/**
 * How long one slice of zoneFromData runs before it lets the event loop in: a turn of the loop reads a few
 * dozen datagrams a socket, so slices this short keep thousands of queries a second answered.
 */
const SLICE_MS = 1;

/**
 * The zone this thread serves from builder data: the pools built here from `head` (the parsed spec with only
 * its pool names left), then the zone prepared in slices of a few milliseconds. `head.names` is emptied.
 */
export async function zoneFromData(data: ZoneData, head: ZoneSpec, cfg: ServerConfig): Promise<ServedZone> {
  const pools = zonePools(head, cfg);
  head.names.clear();
  const byIndex = data.dynamic.map((d) => pools.get(d.name) ?? null);
  const steps = buildZoneSteps(
    { origin: data.origin, soa: data.soa, serial: data.serial, names: namesOf(data, byIndex) },
    { pools: [...pools.values()], spec: head },
  );
  for (;;) {
    const until = performance.now() + SLICE_MS;
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() >= until) break;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
