// Building the immutable Snapshot the answer path reads: the zones that load (each zone file on its own),
// with the last good version kept for a file that fails to load on reload.
import { listZoneFiles, loadZoneFiles } from './config/load.js';
import type { SerialStore } from './config/serial.js';
import type { ServerConfig } from './config/server-config.js';
import { displayPath, formatDiagnostic, type Diagnostic } from './config/source.js';
import { buildZone, type Zone } from './dns/zone.js';

export interface ZoneFileState {
  file: string;
  /** The version being served (last good), if any. */
  zone: Zone | null;
  /** Errors of the latest load attempt (empty when it loaded). */
  errors: Diagnostic[];
  warnings: Diagnostic[];
  loadedAt: number | null;
  failedAt: number | null;
}

export interface Snapshot {
  config: ServerConfig;
  zones: Map<string, Zone>;
  files: Map<string, ZoneFileState>;
  generation: number;
}

export interface LoadReport {
  snapshot: Snapshot;
  /** Diagnostics of this load, formatted, errors and warnings. */
  messages: { level: 'error' | 'warn'; text: string; file: string }[];
  changed: string[];
  failed: string[];
}

/**
 * Loads every zone file of `cfg`. With `previous`, a file that fails keeps its previous zone serving,
 * and a zone whose content did not change keeps its prepared version.
 */
export function loadSnapshot(cfg: ServerConfig, serials: SerialStore, previous: Snapshot | null): LoadReport {
  const messages: LoadReport['messages'] = [];
  const files = new Map<string, ZoneFileState>();
  const listed = listZoneFiles(cfg.zonesDir);
  const changed: string[] = [];
  const failed: string[] = [];
  if (typeof listed === 'string') {
    messages.push({ level: 'error', text: listed, file: cfg.zonesDir });
    // keep serving what we had
    for (const [f, st] of previous?.files ?? []) files.set(f, st);
  } else {
    for (const r of loadZoneFiles(cfg, listed)) {
      const prev = previous?.files.get(r.file);
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      const warnings = r.diagnostics.filter((d) => d.severity === 'warning');
      for (const d of r.diagnostics) messages.push({ level: d.severity === 'error' ? 'error' : 'warn', text: formatDiagnostic(d), file: r.file });
      const now = Date.now();
      if (r.zone) {
        const spec = r.zone;
        const prevZone = prev?.zone;
        const same = prevZone && prevZone.spec.contentHash === spec.contentHash && prevZone.spec.soa.serial === spec.soa.serial
          && prevZone.origin === spec.origin && previous?.config === cfg;
        const serial = spec.soa.serial ?? serials.serialFor(spec.origin, spec.contentHash);
        const zone = same ? prevZone : buildZone(spec, serial, cfg);
        if (!same) changed.push(r.file);
        files.set(r.file, { file: r.file, zone, errors: [], warnings, loadedAt: same ? prev!.loadedAt : now, failedAt: null });
      } else {
        failed.push(r.file);
        if (errors.length === 0) errors.push({ file: displayPath(r.file), line: 1, col: 1, message: 'zone did not load', severity: 'error' });
        files.set(r.file, { file: r.file, zone: prev?.zone ?? null, errors, warnings, loadedAt: prev?.loadedAt ?? null, failedAt: now });
      }
    }
    if (serials.lastError) messages.push({ level: 'warn', text: serials.lastError, file: cfg.stateDir });
  }
  const zones = new Map<string, Zone>();
  // fresh zones first: a kept old version never shadows a zone that now loads from another file
  const states = [...files.values()].sort((a, b) => Number(a.errors.length > 0) - Number(b.errors.length > 0));
  for (const st of states) if (st.zone && !zones.has(st.zone.origin)) zones.set(st.zone.origin, st.zone);
  return {
    snapshot: { config: cfg, zones, files, generation: (previous?.generation ?? 0) + 1 },
    messages, changed, failed,
  };
}
