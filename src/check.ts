// `steerdns check` without the printing: every diagnostic of a loaded config's zones, shared probe timings,
// DNSSEC keys and the GeoIP database, in the order `check` prints them. `steerdns plan` runs it on each revision.
import { listZoneFiles, loadZoneFiles } from './config/load.js';
import type { ServerConfig } from './config/server-config.js';
import { type Diagnostic, formatDiagnostic } from './config/source.js';
import { sharedCheckTimingWarnings } from './gslb/pool.js';
import { loadDatabase } from './snapshot.js';
import { loadZoneKeys } from './zone-keys.js';

export interface CheckLine {
  level: 'error' | 'warning';
  text: string;
}

export interface CheckResult {
  lines: CheckLine[];
  /** Errors among `lines`. */
  errors: number;
  /** The origins of the zones that load, each with its trailing dot. */
  zones: string[];
  /** Set when checking stopped early (the zones folder cannot be listed or holds no zone file): the last line. */
  fatal: string | null;
}

const asLines = (ds: Diagnostic[]): CheckLine[] =>
  ds.map((d) => ({ level: d.severity === 'error' ? 'error' : 'warning', text: formatDiagnostic(d) }));

/**
 * Checks every zone file of `config`, the keys of its signed zones (unless `keys` is false: `plan` compares
 * answers, and key files are rightly kept out of git) and its GeoIP database.
 */
export function checkConfig(config: ServerConfig, opts: { keys?: boolean } = {}): CheckResult {
  const lines: CheckLine[] = [];
  const files = listZoneFiles(config.zonesDir);
  if (typeof files === 'string') return { lines, errors: 1, zones: [], fatal: files };
  const results = loadZoneFiles(config, files);
  for (const r of results) lines.push(...asLines(r.diagnostics));
  // pools of any zones probing one target the same way share one prober: different timings are a warning
  lines.push(...asLines(sharedCheckTimingWarnings(results.flatMap((r) => (r.zone ? [r.zone] : [])))));
  const zones = results.filter((r) => r.zone).map((r) => `${r.zone!.origin}.`);
  if (opts.keys !== false)
    lines.push(
      ...asLines(
        dnssecDiagnostics(config, results.every((r) => r.zone) ? new Map(results.map((r) => [r.zone!.origin, r.zone!.ttl])) : null),
      ),
    );
  const { dbError } = loadDatabase(config, null);
  if (dbError) {
    const at = config.geoip.databaseAt;
    lines.push({ level: 'error', text: at ? `${at.file}:${at.line}:${at.col}: ${dbError}` : dbError });
  }
  const errors = lines.filter((l) => l.level === 'error').length;
  if (files.length === 0) return { lines, errors: errors + 1, zones, fatal: `no zone files (*.yaml, *.zone) in ${config.zonesDir}` };
  return { lines, errors, zones, fatal: null };
}

/** The keys of the signed zones (docs/configuration.md#dnssec); a signed zone no zone file serves is an error
 *  (`served`, each served zone's TTL, null: some zone file failed, so which origins exist is not known). */
function dnssecDiagnostics(config: ServerConfig, served: Map<string, number> | null): Diagnostic[] {
  const { diagnostics } = loadZoneKeys(config, served ? { zoneTtls: served } : {});
  if (served) {
    for (const z of config.dnssec.values()) {
      if (!served.has(z.zone)) {
        diagnostics.push({
          ...z.at,
          message: `dnssec: zone ${z.zone || '.'} is not served: no zone file has that origin`,
          severity: 'error',
        });
      }
    }
  }
  return diagnostics;
}
