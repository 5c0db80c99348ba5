// Building the immutable Snapshot the answer path reads: the zones that load (each zone file on its own),
// with the last good version kept for a file that fails to load on reload.
import { lstatSync, statSync } from 'node:fs';
import { claimOrigins, includeStamps, listZoneFiles, loadZoneFileSettled, type ZoneFileResult } from './config/load.js';
import type { SerialStore } from './config/serial.js';
import type { ServerConfig } from './config/server-config.js';
import { type Diagnostic, displayPath, formatDiagnostic } from './config/source.js';
import { FlatZones } from './dns/flat-zone.js';
import type { ZoneSigning } from './dnssec/signer.js';
import { GeoTables, overlayInputs } from './gslb/compile.js';
import { bundledDatabasePath, databaseStamp, type GeoDatabase, GeoLocator, openDatabase } from './gslb/geo.js';
import type { GeoContext } from './gslb/locate.js';
import { newPoolMemos } from './gslb/memo.js';
import { TreeError } from './gslb/mmdb-tree.js';
import type { Pool } from './gslb/pool.js';
import { prepareZone, type ServedZone } from './served-zone.js';
import { zoneBuildInputs, zoneIdentity } from './zone-identity.js';
import { signingStates } from './zone-keys.js';

export { zoneBuildInputs, zoneIdentity };

export interface ZoneFileState {
  file: string;
  /** The version being served (last good), if any. */
  zone: ServedZone | null;
  /** Errors of the latest load attempt (empty when it loaded). */
  errors: Diagnostic[];
  warnings: Diagnostic[];
  loadedAt: number | null;
  failedAt: number | null;
  /** File identity when it was last read: an unchanged file is not parsed again. */
  stamp: string | null;
  /** Everything the served zone was prepared from (zoneIdentity): a difference rebuilds it. */
  identity: string | null;
  /** The master files it included when last read, and their identity then (includeStamps): a change re-reads it. */
  includes: { files: string[]; stamp: string };
}

export interface Snapshot {
  config: ServerConfig;
  zones: Map<string, ServedZone>;
  /** The same zones as the answer path finds them (by origin, deepest first: dns/flat-lookup.ts). */
  flat: FlatZones<Pool>;
  geo: GeoContext;
  /** The GeoIP database in use; `dbError` when the configured one failed and the previous one stayed. */
  db: GeoDatabase | null;
  dbError: string | null;
  files: Map<string, ZoneFileState>;
  generation: number;
  /** The signed zones' keys and DNSSEC records (`dnssec:` of steerdns.yaml), by origin. */
  signing: Map<string, ZoneSigning>;
}

export interface LoadReport {
  snapshot: Snapshot;
  /** Diagnostics of this load, formatted, errors and warnings. */
  messages: { level: 'error' | 'warn'; text: string; file: string }[];
  changed: string[];
  failed: string[];
  /** Files read (parsed) by this load: unchanged files with unchanged build inputs are not. */
  parsed: number;
  /** Files that changed while being read (or, with `settleMs`, just before): their served version stays,
   *  and they are read again later. */
  unsettled: string[];
  /** Of `unsettled`, the files not read at all: they changed less than `settleMs` ago. */
  recent: string[];
}

/** A zone file as read (and parsed), before its zone is prepared: `identity` when the parse computed it. */
export type ParsedFile = ZoneFileResult & { identity?: string; names?: number };

/**
 * What a load asks of whoever reads and builds (loadSteps): parse `files` (each on its own, no origin claims),
 * or prepare the zone of a parsed file with its serial; `built` says a file's new state (its zone prepared).
 */
export type LoadStep =
  | { kind: 'parse'; files: string[]; settleMs?: number }
  | { kind: 'build'; parsed: ParsedFile; serial: number }
  | { kind: 'built'; state: ZoneFileState };

type LoadOpts = { settleMs?: number; compile?: boolean };

/**
 * Loads every zone file of `cfg`. With `previous`, a file that fails keeps its previous zone serving,
 * and a zone whose content did not change keeps its prepared version. The GeoIP decision tables of every pool
 * are compiled (`compile: false`: each when first used, for a one-off lookup such as `explain`). Everything on
 * this thread (`steerdns check`, `explain`); the server loads through its builder (src/builder.ts).
 */
export function loadSnapshot(cfg: ServerConfig, serials: SerialStore, previous: Snapshot | null, opts: LoadOpts = {}): LoadReport {
  const steps = loadSteps(cfg, serials, previous, opts);
  let answer: unknown;
  for (;;) {
    const next = steps.next(answer);
    if (next.done) return next.value;
    const step = next.value;
    if (step.kind === 'parse') answer = step.files.map((f) => loadZoneFileSettled(f, cfg, step.settleMs));
    else if (step.kind === 'build') answer = prepareZone(step.parsed.zone!, step.serial, cfg);
    else answer = undefined;
  }
}

/**
 * The load as steps (LoadStep): the caller reads and builds, here or on another thread, and hands back a
 * parse's results (ParsedFile[], in the order asked) or a build's prepared zone.
 */
export function* loadSteps(
  cfg: ServerConfig,
  serials: SerialStore,
  previous: Snapshot | null,
  opts: LoadOpts = {},
): Generator<LoadStep, LoadReport, unknown> {
  const messages: LoadReport['messages'] = [];
  const files = new Map<string, ZoneFileState>();
  const listed = listZoneFiles(cfg.zonesDir);
  const changed: string[] = [];
  const failed: string[] = [];
  const unsettled: string[] = [];
  const recent: string[] = [];
  let parsed = 0;
  // a zone is prepared from its file and these parts of the config: the same ones keep the prepared zone
  const inputs = zoneBuildInputs(cfg);
  const sameInputs = previous !== null && (previous.config === cfg || zoneBuildInputs(previous.config) === inputs);
  if (typeof listed === 'string') {
    messages.push({ level: 'error', text: listed, file: cfg.zonesDir });
    // keep serving what we had
    for (const [f, st] of previous?.files ?? []) files.set(f, st);
  } else {
    // files that did not change since the last load (same build inputs) keep their state without a parse
    const stamps = new Map(listed.map((f) => [f, fileStamp(f)]));
    const claimed = new Map<string, string>();
    const toLoad: string[] = [];
    for (const f of listed) {
      const prev = previous?.files.get(f);
      // (a file refused as a duplicate of another zone depends on the other files: always re-read)
      const duplicate = prev?.errors.some((e) => e.message.includes('is already defined in'));
      const includesSame = !prev || includeStamps(prev.includes.files) === prev.includes.stamp;
      if (prev && sameInputs && prev.stamp !== null && prev.stamp === stamps.get(f) && includesSame && !duplicate) {
        // unchanged since the last attempt: the same result (a broken file is not re-read, nor counted again)
        files.set(f, prev);
        if (prev.zone && prev.errors.length === 0) claimed.set(prev.zone.origin, f);
      } else toLoad.push(f);
    }
    // the served versions of the files read now: one caught mid-write keeps serving, and keeps its origin
    const kept = new Map<string, string>();
    for (const f of toLoad) {
      const prev = previous?.files.get(f);
      if (prev?.zone && prev.errors.length === 0) kept.set(f, prev.zone.origin);
    }
    const read = toLoad.length ? ((yield { kind: 'parse', files: toLoad, settleMs: opts.settleMs }) as ParsedFile[]) : [];
    const results = claimOrigins(read, claimed, kept);
    parsed = results.filter((r) => !r.tooRecent).length;
    // small zones first: a big one being built never holds them back
    const size = (r: ParsedFile) => r.names ?? r.zone?.names.size ?? 0;
    const order = [...results].sort((a, b) => size(a) - size(b));
    // (the states keep the files' order: placeholders now, filled below)
    for (const r of results) files.set(r.file, undefined as unknown as ZoneFileState);
    for (const r of order) {
      const prev = previous?.files.get(r.file);
      if (r.changedWhileRead || r.tooRecent) {
        // a file caught mid-write is not served, nor counted as broken: the last version stays (its old
        // stamp makes the next load read it again)
        unsettled.push(r.file);
        if (r.tooRecent) recent.push(r.file);
        if (prev) files.set(r.file, prev);
        const why = r.tooRecent ? 'changed less than the settle time ago (a SIGHUP does not wait)' : 'changed while it was being read';
        messages.push({
          level: 'warn',
          text: `${displayPath(r.file)}: zone file ${why}: ${prev?.zone ? 'the served version stays; ' : ''}it is read again once it holds still`,
          file: r.file,
        });
        continue;
      }
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      const warnings = r.diagnostics.filter((d) => d.severity === 'warning');
      for (const d of r.diagnostics)
        messages.push({ level: d.severity === 'error' ? 'error' : 'warn', text: formatDiagnostic(d), file: r.file });
      const includes = { files: r.includes ?? [], stamp: includeStamps(r.includes) };
      if (r.zone) {
        const spec = r.zone;
        const prevZone = prev?.zone;
        // the prepared zone is kept only when nothing it is made of changed: the records (contentHash, which
        // also moves the serial), the health checks (which do not move the serial), and the config it read
        const identity = r.identity ?? zoneIdentity(spec, inputs);
        const same =
          prevZone && prev?.identity === identity && prevZone.spec.soa.serial === spec.soa.serial && prevZone.origin === spec.origin;
        if (spec.soa.serial !== null) serials.recordExplicit(spec.origin, spec.soa.serial, spec.contentHash);
        const serial = spec.soa.serial ?? serials.serialFor(spec.origin, spec.contentHash);
        let zone: ServedZone | null = same ? prevZone : null;
        let buildError: string | null = null;
        if (!zone) {
          try {
            zone = (yield { kind: 'build', parsed: r, serial }) as ServedZone;
          } catch (e) {
            buildError = (e as Error).message;
          }
        }
        if (zone) {
          if (!same) changed.push(r.file);
          const now = Date.now();
          const state: ZoneFileState = {
            file: r.file,
            zone,
            errors: [],
            warnings,
            loadedAt: same ? prev!.loadedAt : now,
            failedAt: null,
            stamp: stamps.get(r.file) ?? null,
            identity,
            includes,
          };
          files.set(r.file, state);
          if (!same) yield { kind: 'built', state };
          continue;
        }
        errors.push({ file: displayPath(r.file), line: 1, col: 1, message: `zone could not be built: ${buildError}`, severity: 'error' });
        messages.push({ level: 'error', text: formatDiagnostic(errors[errors.length - 1]!), file: r.file });
      }
      failed.push(r.file);
      if (errors.length === 0) errors.push({ file: displayPath(r.file), line: 1, col: 1, message: 'zone did not load', severity: 'error' });
      files.set(r.file, {
        file: r.file,
        zone: prev?.zone ?? null,
        errors,
        warnings,
        loadedAt: prev?.loadedAt ?? null,
        failedAt: Date.now(),
        // a build that failed (the builder thread died) is tried again at the next load: no stamp
        stamp: r.zone ? null : (stamps.get(r.file) ?? null),
        identity: prev?.identity ?? null,
        includes,
      });
    }
    for (const [f, st] of files) if (!st) files.delete(f);
    if (serials.lastError) messages.push({ level: 'warn', text: serials.lastError, file: cfg.stateDir });
  }
  return finishLoad(cfg, previous, opts, { messages, files, changed, failed, parsed, unsettled, recent });
}

/** The snapshot of a load's file states: its zones, the GeoIP database and tables, the load's report. */
function finishLoad(
  cfg: ServerConfig,
  previous: Snapshot | null,
  opts: LoadOpts,
  r: Omit<LoadReport, 'snapshot'> & { files: Map<string, ZoneFileState> },
): LoadReport {
  const { messages, files, ...rest } = r;
  const zones = servedZones(files);
  const { signing, diagnostics: keyDiagnostics } = signingStates(cfg, zones, previous?.signing ?? null);
  for (const d of keyDiagnostics)
    messages.push({ level: d.severity === 'error' ? 'error' : 'warn', text: formatDiagnostic(d), file: d.file });
  const { db, dbError, geo } = loadGeo(cfg, zones, previous, opts.compile ?? true);
  if (dbError) messages.push({ level: 'error', text: dbError, file: cfg.geoip.database ?? 'bundled' });
  const { keys } = geo.tables.stats;
  if (keys > MANY_TABLES)
    messages.push({
      level: 'warn',
      text: `${keys} GeoIP decision tables: one per distinct set of pool regions (policy, regions, their order and map); pools sharing regions share one`,
      file: cfg.zonesDir,
    });
  return {
    snapshot: {
      config: cfg,
      zones,
      flat: new FlatZones(zones.values()),
      files,
      geo,
      db,
      dbError,
      generation: (previous?.generation ?? 0) + 1,
      signing,
    },
    messages,
    ...rest,
  };
}

/** The zones served from these file states: fresh zones first, so a kept old version never shadows a zone that now loads from another file. */
function servedZones(files: Map<string, ZoneFileState>): Map<string, ServedZone> {
  const zones = new Map<string, ServedZone>();
  const states = [...files.values()].sort((a, b) => Number(a.errors.length > 0) - Number(b.errors.length > 0));
  for (const st of states) if (st.zone && !zones.has(st.zone.origin)) zones.set(st.zone.origin, st.zone);
  return zones;
}

/**
 * `s` with one file's new state swapped in (a zone built while the rest of its load goes on), or null when it
 * cannot be swapped alone: its pools need a GeoIP table that does not compile, or its origin is served by
 * another file.
 */
export function withZoneFile(s: Snapshot, state: ZoneFileState): Snapshot | null {
  const zone = state.zone!;
  const holder = [...s.files.values()].find((f) => f.file !== state.file && f.zone?.origin === zone.origin);
  if (holder) return null;
  try {
    s.geo.tables.prepare(zone.pools);
  } catch (e) {
    if (e instanceof TreeError) return null;
    throw e;
  }
  const files = new Map(s.files);
  files.set(state.file, state);
  const zones = servedZones(files);
  // its signing state too (its TTLs are the signatures'): the load's end reports the keys' diagnostics
  const { signing } = signingStates(s.config, zones, s.signing);
  return { ...s, files, zones, flat: new FlatZones(zones.values()), signing, generation: s.generation + 1 };
}

/**
 * The configured GeoIP database (or the bundled country one). A database that fails keeps the previous;
 * at startup, with no previous one, the bundled database stands in (loudly) rather than no geo at all.
 */
export function loadDatabase(cfg: ServerConfig, previous: Snapshot | null): { db: GeoDatabase | null; dbError: string | null } {
  const path = cfg.geoip.database ?? bundledDatabasePath();
  const prev = previous?.db;
  try {
    if (prev && prev.path === path && databaseStamp(path) === prev.stamp) return { db: prev, dbError: null };
    return { db: openDatabase(path), dbError: null };
  } catch (e) {
    const msg = `GeoIP database ${displayPath(path)}: ${(e as Error).message.replace(`${path}: `, '')}`;
    if (prev) return { db: prev, dbError: `${msg} (keeping the previous database ${displayPath(prev.path)})` };
    if (cfg.geoip.database) {
      try {
        return { db: openDatabase(bundledDatabasePath()), dbError: `${msg} (using the bundled country database until it opens)` };
      } catch {
        // fall through: no database at all
      }
    }
    return { db: null, dbError: msg };
  }
}

/** Above this many decision tables a load warns: each holds the whole database's blocks. */
const MANY_TABLES = 64;

const poolsOf = (zones: Map<string, ServedZone>): Pool[] => [...zones.values()].flatMap((z) => z.pools);

const corrupt = (db: GeoDatabase, e: TreeError) => `GeoIP database ${displayPath(db.path)}: corrupt MaxMind DB: ${e.message}`;

/**
 * The GeoIP database (loadDatabase) and its decision tables for the pools of `zones`, compiled now (or with
 * `compile` false, each on first use), taking the tables of unchanged keys as they are. A database whose search
 * tree cannot be compiled is refused like one that does not open: the previous one stays, or at startup the
 * bundled one stands in.
 */
function loadGeo(
  cfg: ServerConfig,
  zones: Map<string, ServedZone>,
  previous: Snapshot | null,
  compile: boolean,
): { db: GeoDatabase | null; dbError: string | null; geo: GeoContext } {
  const loaded = loadDatabase(cfg, previous);
  const pools = poolsOf(zones);
  const build = (db: GeoDatabase | null) => {
    const geo = geoContext(cfg, db);
    if (compile) geo.tables.prepare(pools);
    // another database: the kept pools' memos point at the old tables until asked again, let those go now
    if (previous && db !== previous.db) for (const p of pools) p.memos = newPoolMemos();
    return geo;
  };
  try {
    return { ...loaded, geo: build(loaded.db) };
  } catch (e) {
    if (!(e instanceof TreeError) || !loaded.db) throw e;
    const msg = corrupt(loaded.db, e);
    const prev = previous?.db;
    if (prev && prev !== loaded.db)
      return { db: prev, dbError: `${msg} (keeping the previous database ${displayPath(prev.path)})`, geo: build(prev) };
    if (cfg.geoip.database && loaded.db.path !== bundledDatabasePath()) {
      const bundled = openDatabase(bundledDatabasePath());
      return { db: bundled, dbError: `${msg} (using the bundled country database until it opens)`, geo: build(bundled) };
    }
    return { db: null, dbError: msg, geo: build(null) };
  }
}

/**
 * `s` with the GeoIP database on disk now (`changed`: another one is in use), its decision tables compiled for
 * the pools of `s`. One that fails to open or to compile keeps the old one: `error` says why, and so does /status.
 */
export function withCurrentDatabase(cfg: ServerConfig, s: Snapshot): { snapshot: Snapshot; error: string | null; changed: boolean } {
  const { db, dbError } = loadDatabase(cfg, s);
  if (dbError) return { snapshot: dbError === s.dbError ? s : { ...s, dbError }, error: dbError, changed: false };
  if (db === s.db) return { snapshot: s, error: null, changed: false };
  const geo = geoContext(cfg, db);
  try {
    geo.tables.prepare(poolsOf(s.zones));
  } catch (e) {
    if (!(e instanceof TreeError) || !db) throw e;
    const error = `${corrupt(db, e)}${s.db ? ` (keeping the previous database ${displayPath(s.db.path)})` : ''}`;
    return { snapshot: error === s.dbError ? s : { ...s, dbError: error }, error, changed: false };
  }
  // the pools' memos point at the old tables until asked again: let those go now
  for (const p of poolsOf(s.zones)) p.memos = newPoolMemos();
  return { snapshot: { ...s, db, dbError: null, geo, generation: s.generation + 1 }, error: null, changed: true };
}

/** Where clients are: the locator and the decision tables (compiled per key on first use, or by prepare). */
export function geoContext(cfg: ServerConfig, db: GeoDatabase | null): GeoContext {
  const point = (r: string) => cfg.regions.get(r)?.location;
  return {
    geo: new GeoLocator(cfg.geoip.networks, db, point),
    useEcs: cfg.geoip.ecs,
    tables: new GeoTables(db?.bytes ?? null, overlayInputs(cfg.geoip.networks, point)),
  };
}

/** Identity of a file's content as the file system shows it (inode, size, modification time). */
function fileStamp(file: string): string | null {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    // a dangling symbolic link: the link's own identity, so an unchanged one is not re-read (nor reported and
    // counted again) on every reload; a target appearing changes the stamp above
    try {
      const l = lstatSync(file, { bigint: true });
      return `link:${l.ino}:${l.mtimeNs}:${l.ctimeNs}`;
    } catch {
      return null;
    }
  }
}
