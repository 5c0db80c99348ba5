// A zone as the application serves it: dns/'s flat zone (dns/flat-zone.ts) whose dynamic names are gslb's
// pools, with what it was made of kept beside it. gslb/ builds the pools from the zone file's spec; dns/
// builds the zone from plain names and RRsets; this file hands the one to the other.
import type { ServerConfig } from './config/server-config.js';
import type { NameSpec, ZoneSpec } from './config/zone-file.js';
import { attachFlatZone, buildFlatZone } from './dns/flat-build.js';
import type { FlatZone } from './dns/flat-zone.js';
import { typeCode } from './dns/registry.js';
import type { NameInput, ZoneInput } from './dns/zone-input.js';
import { type Pool, zonePools } from './gslb/pool.js';

/**
 * `pools`: every pool of the zone in file order (metrics, the probe list, /status). `spec`: the zone file's
 * spec without its names (consumed by the build): its file and written serial tell a reload what it was.
 */
export type ServedZone = FlatZone<Pool> & { pools: Pool[]; spec: ZoneSpec };

/**
 * Prepares a zone for answering, on this thread. `spec.names` is consumed (emptied): the flat zone replaces
 * it. The build itself (buildFlatZone) makes only the zone's ArrayBuffer and the list of its pools in node
 * order, from the zone's input alone: it can run on another thread, the pools attached where they live.
 */
export function prepareZone(spec: ZoneSpec, serial: number, cfg: ServerConfig): ServedZone {
  const { input, pools } = zoneInput(spec, serial, cfg);
  return attachFlatZone(buildFlatZone(input), { pools, spec });
}

/**
 * What a zone builder takes for `spec` (its names consumed as they are iterated), and the zone's pools in
 * file order.
 */
export function zoneInput(spec: ZoneSpec, serial: number, cfg: ServerConfig): { input: ZoneInput<Pool>; pools: Pool[] } {
  const pools = zonePools(spec, cfg);
  return {
    input: { origin: spec.origin, soa: spec.soa, serial, names: consumeNames(spec.names, pools) },
    pools: [...pools.values()],
  };
}

/** The names of a spec as the zone builder takes them, each deleted from the spec as it is handed over. */
function* consumeNames(names: Map<string, NameSpec>, pools: Map<string, Pool>): Generator<NameInput<Pool>> {
  // a large zone never holds both forms in full: each name's spec goes as its nodes are made
  for (const [key, n] of names) {
    names.delete(key);
    const rrsets = [];
    for (const [typeName, set] of n.rrsets)
      rrsets.push({ type: typeCode(typeName)!, ttl: set.ttl, rdata: set.records.map((r) => r.rdata) });
    yield { name: n.name, rrsets, dynamic: n.pool ? pools.get(n.name)! : null };
  }
}
