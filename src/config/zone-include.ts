// `include:` in a YAML zone (docs/zone-format.md#include): the zone's static records taken from RFC 1035
// master files, read by master-file.ts into the same names as the YAML records (pools stay in YAML).
import { dirname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { checkSizes, includeMasterFile, type MasterReading, realDir } from './master-file.js';
import type { ZoneReading } from './zone-records.js';
import type { SoaSpec } from './zone-spec.js';

export interface Included {
  soa: SoaSpec | null;
  soaAt: number | null;
  files: string[];
}

/**
 * Reads the files `include:` names (one path, or a list), relative to the YAML file, into `z.names`.
 * `yamlSoa`: where the YAML file gives `soa:` (an SOA in an included file is then an error).
 */
export function readYamlIncludes(z: ZoneReading, path: string, node: Node | null, yamlSoa: Node | null, used: number): Included {
  const { src, cfg } = z;
  const m: MasterReading = {
    src,
    zonesDir: realDir(cfg.zonesDir),
    budget: cfg.limits.zoneBytes - used,
    apex: z.origin,
    soa: null,
    soaAt: null,
    yamlSoa,
    names: z.names,
    own: new Set(),
    includes: [],
    stack: [resolve(path)],
    warnedNoTtl: false,
    noSoa: false,
  };
  for (const item of src.list(node)) {
    const file = src.string(item, 'include');
    if (file !== null) includeMasterFile(m, resolve(dirname(path), file), item, z.ttl);
  }
  checkSizes(m);
  return { soa: m.soa, soaAt: m.soaAt, files: m.includes };
}
