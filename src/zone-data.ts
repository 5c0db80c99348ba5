// A zone's data as the builder thread hands it over, and what the answering thread makes of it — the two sides
// in one file. The builder (src/build-worker.ts) turns a parsed zone into its flat form with buildZoneData: one
// ArrayBuffer, transferred without a copy, and the dynamic names as DynamicRefs in node order. The answering
// thread builds its own pools and attaches them, by name, to the buffer (zoneFromData): no walk of the names.
import type { ServerConfig } from './config/server-config.js';
import type { ZoneSpec } from './config/zone-file.js';
import type { DynamicName } from './dns/dynamic.js';
import { attachFlatZone, buildFlatZone } from './dns/flat-build.js';
import type { FlatZoneData } from './dns/flat-zone.js';
import { typeCode } from './dns/registry.js';
import type { NameInput, ZoneInput } from './dns/zone-input.js';
import { zonePools } from './gslb/pool.js';
import type { ServedZone } from './served-zone.js';

/** A pool as the builder thread knows it: a dynamic name by its owner name, with its families and TTL. */
export interface DynamicRef extends DynamicName {
  name: string;
}

/** A zone built in the builder thread: its flat form, the dynamic names as DynamicRefs in node order. */
export type ZoneData = FlatZoneData<DynamicRef>;

/** The buffers of `data`, to transfer rather than copy. */
export function transferList(data: ZoneData): ArrayBuffer[] {
  return [data.buffer];
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

/** The flat zone of `input`, the names iterated once (in the builder thread: a pure function of the parsed zone). */
export function buildZoneData(input: ZoneInput<DynamicRef>): ZoneData {
  return buildFlatZone(input);
}

/**
 * The zone this thread serves from builder data: the pools built here from `head` (the parsed spec with only
 * its pool names left) and attached to the buffer in the order its nodes number them. `head.names` is emptied.
 */
export function zoneFromData(data: ZoneData, head: ZoneSpec, cfg: ServerConfig): ServedZone {
  // a Buffer crosses threads as a plain Uint8Array: the targets' addresses are Buffers again (the answers'
  // RDATA, which signing compares with Buffer.equals)
  for (const n of head.names.values())
    for (const r of n.pool?.regions ?? [])
      for (const t of r.targets) t.bytes = Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const pools = zonePools(head, cfg);
  head.names.clear();
  const dynamic = data.dynamic.map((d) => {
    const pool = pools.get(d.name);
    if (!pool) throw new Error(`the built zone names a pool the zone file does not have: ${d.name}`);
    return pool;
  });
  return attachFlatZone({ ...data, dynamic }, { pools: [...pools.values()], spec: head });
}
