// Types for geodb-build.mjs (a plain ES module), so TypeScript callers (the tests) type-check.
import type { Value } from './mmdb-writer.mjs';

export interface GeoEntry {
  country?: string;
  continent?: string;
  location?: [number, number];
  subdivision?: string;
}

/** One network's record in the GeoIP2 City schema; throws `${where}: ...` on invalid input. */
export function geoRecord(e: GeoEntry, where: string): { [k: string]: Value };
/** Parses a CSV (by file name) or YAML networks list into [{ network, data }]. */
export function parseNetworks(text: string, name: string): { network: string; data: { [k: string]: Value } }[];
