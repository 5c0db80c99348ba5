// A zone as the application serves it: dns/'s prepared zone whose dynamic names are gslb's pools, with what
// it was made of kept beside it. gslb/ builds the pools from the zone file's spec; dns/ builds the zone from
// plain names and RRsets; this file hands the one to the other.
import type { ServerConfig } from './config/server-config.js';
import type { NameSpec, ZoneSpec } from './config/zone-file.js';
import { flatZone } from './dns/flat-build.js';
import type { FlatZone } from './dns/flat-zone.js';
import { typeCode } from './dns/registry.js';
import { buildZone, type NameInput, type Zone } from './dns/zone.js';
import { type Pool, zonePools } from './gslb/pool.js';

/**
 * `pools`: every pool of the zone in file order (metrics, the probe list, /status). `spec`: the zone file's
 * spec without its names (consumed by the build): its file and written serial tell a reload what it was.
 */
export type ServedZone = Zone<Pool> & { pools: Pool[]; spec: ZoneSpec };

/** Prepares a zone for answering. `spec.names` is consumed (emptied): the prepared nodes replace it. */
export function prepareZone(spec: ZoneSpec, serial: number, cfg: ServerConfig): ServedZone {
  const pools = zonePools(spec, cfg);
  return buildZone(
    { origin: spec.origin, soa: spec.soa, serial, names: consumeNames(spec.names, pools) },
    { pools: [...pools.values()], spec },
  );
}

/** The same zone in the flat layout (dns/flat-zone.ts), built on this thread. `spec.names` is consumed. */
export type ServedFlatZone = FlatZone<Pool> & { pools: Pool[]; spec: ZoneSpec };

export function prepareFlatZone(spec: ZoneSpec, serial: number, cfg: ServerConfig): ServedFlatZone {
  const pools = zonePools(spec, cfg);
  return flatZone(
    { origin: spec.origin, soa: spec.soa, serial, names: consumeNames(spec.names, pools) },
    { pools: [...pools.values()], spec },
  );
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
