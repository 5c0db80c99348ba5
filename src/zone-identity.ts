// What a prepared zone is made of, as two strings to compare: the config inputs every zone is prepared from
// (zoneBuildInputs) and the identity of one zone (zoneIdentity). Pure functions of plain data: the builder
// thread (src/build-worker.ts) computes a zone's identity where it parses the file.
import { createHash } from 'node:crypto';
import type { ServerConfig } from './config/server-config.js';
import type { ZoneSpec } from './config/zone-file.js';

/**
 * The parts of the config that preparing a zone reads (zone-file.ts, served-zone.ts, gslb/pool.ts): the
 * regions (names checked, locations and states built into pools), the health defaults (a check's timings)
 * and the zone size limit. A reload whose config differs only elsewhere (rrl, nsid, log, panic, ...) keeps
 * every unchanged zone as prepared. `health` is taken but for the prober-wide panic settings: a setting
 * added there is an input until shown not to be.
 */
export function zoneBuildInputs(cfg: ServerConfig): string {
  const { panic: _panic, panicMinTargets: _panicMinTargets, ...health } = cfg.health;
  return JSON.stringify({ regions: [...cfg.regions.values()], health, zoneBytes: cfg.limits.zoneBytes }, plainValue);
}

/**
 * Identity of everything a prepared zone is made of: its answer data (contentHash: the serial's rule), every
 * pool whole, health check included, the zone's own settings, and the config inputs. Unlike contentHash
 * (a check edit must not move the serial), any difference here rebuilds the zone and re-probes its pools.
 */
export function zoneIdentity(spec: ZoneSpec, inputs: string): string {
  const h = createHash('sha256');
  // positions (`at`, `originPos`) only locate diagnostics; `names` is covered by contentHash and the pools below
  const skip = new Set(['at', 'originPos', 'names', 'bytes']);
  const replacer = (k: string, v: unknown) => (skip.has(k) ? undefined : plainValue(k, v));
  h.update(inputs).update('\n').update(JSON.stringify(spec, replacer));
  // in file order (no sort: a zone of a million names is walked once; pools moved around merely rebuild)
  for (const n of spec.names.values()) if (n.pool) h.update(`\n${n.name} ${JSON.stringify(n.pool, replacer)}`);
  return h.digest('hex');
}

/** JSON for config values: Maps as entries, bigints as text. */
function plainValue(_k: string, v: unknown): unknown {
  if (v instanceof Map) return [...v.entries()];
  if (v instanceof Set) return [...v.values()];
  if (typeof v === 'bigint') return v.toString();
  return v;
}
