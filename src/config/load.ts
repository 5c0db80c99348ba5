// Finding and loading the zone files of a config: every `*.yaml` and `*.zone` in the zones folder is one zone.
// Each file is loaded on its own so one broken zone never blocks the others; duplicate origins are errors.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MASTER_SUFFIX } from './master-file.js';
import type { ServerConfig } from './server-config.js';
import { type Diagnostic, displayPath } from './source.js';
import { loadZoneFile, type ZoneSpec } from './zone-file.js';

export interface ZoneFileResult {
  file: string;
  zone: ZoneSpec | null;
  diagnostics: Diagnostic[];
  /** The master files it included (read or not): a change to one of them changes the zone. */
  includes?: string[];
  /** The file changed while it was read (a writer still at work): what was read is not the file. */
  changedWhileRead?: boolean;
  /** Not read: the file changed less than the settle time ago (a writer may be between two writes). */
  tooRecent?: boolean;
}

export interface LoadOptions {
  /** Files about to be read whose previous version serves, with its origin: a file not read now keeps it. */
  kept?: Map<string, string>;
  /**
   * A file that changed less than this long ago is not read (a SIGHUP does not wait for it to settle): it keeps
   * what it serves (its last good version, or nothing if new) until the retry reads it.
   */
  settleMs?: number;
}

/** A zone file's name: `*.yaml`, or `*.zone` (an RFC 1035 master file), not hidden. */
export function isZoneFileName(name: string): boolean {
  return (name.endsWith('.yaml') || name.endsWith(MASTER_SUFFIX)) && !name.startsWith('.');
}

/**
 * The identity of the files a zone included when it was last read (`ZoneSpec.includes`): with the zone
 * file's own, an unchanged result means nothing the zone is made of changed.
 */
export function includeStamps(files: readonly string[] | undefined): string {
  return (files ?? []).map((f) => `|${f}:${contentStamp(f) ?? '-'}`).join('');
}

/**
 * Zone files in the zones folder, sorted; editor temp and hidden files are skipped. A `*.yaml` that is not
 * a file (a directory) is listed too: loading it reports what it is instead of dropping the zone silently.
 */
export function listZoneFiles(dir: string): string[] | string {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => isZoneFileName(d.name))
      .map((d) => join(dir, d.name))
      .sort();
  } catch (e) {
    return `cannot read the zones folder ${displayPath(dir)}: ${(e as Error).message}`;
  }
}

/** Loads `files`; `claimed` holds origins already served from other files (origin → file). */
export function loadZoneFiles(
  cfg: ServerConfig,
  files: string[],
  claimed = new Map<string, string>(),
  opts: LoadOptions = {},
): ZoneFileResult[] {
  return claimOrigins(
    files.map((file) => loadZoneFileSettled(file, cfg, opts.settleMs)),
    claimed,
    opts.kept,
  );
}

/**
 * Refuses, in file order, a zone whose origin another file already serves: `claimed` (origin → file) by files
 * not read now, `kept` (file → origin) by a file caught mid-write whose previous version keeps serving.
 */
export function claimOrigins<R extends ZoneFileResult>(results: R[], claimed: Map<string, string>, kept?: Map<string, string>): R[] {
  const byOrigin = new Map(claimed);
  // a file caught mid-write keeps serving its previous version, which still claims its origin
  for (const r of results) {
    const origin = r.changedWhileRead || r.tooRecent ? kept?.get(r.file) : undefined;
    if (origin !== undefined && !byOrigin.has(origin)) byOrigin.set(origin, r.file);
  }
  for (const r of results) {
    if (!r.zone) continue;
    const first = byOrigin.get(r.zone.origin);
    if (first) {
      r.diagnostics.push({
        file: displayPath(r.file),
        line: r.zone.originPos.line,
        col: r.zone.originPos.col,
        severity: 'error',
        message: `zone ${r.zone.origin}. is already defined in ${displayPath(first)}`,
      });
      r.zone = null;
    } else byOrigin.set(r.zone.origin, r.file);
  }
  return results;
}

/**
 * Loads one zone file, refusing it when the file changed while it was read: a file cut at a line boundary
 * mid-write can parse cleanly as a partial zone. The identity (inode, size, modification and change time)
 * is taken before and after; a write in between moves the change time, a rename swaps the inode.
 */
export function loadZoneFileSettled(file: string, cfg: ServerConfig, settleMs?: number): ZoneFileResult {
  let skew: Diagnostic | null = null;
  if (settleMs !== undefined) {
    const ago = changedAgo(file);
    // a stamp in the future (a clock ahead on NFS, `cp -p` from a skewed host) would never settle: read it
    if (ago !== null && ago < 0)
      skew = {
        file: displayPath(file),
        line: 1,
        col: 1,
        severity: 'warning',
        message: `zone file is stamped ${Math.round(-ago)} ms in the future (clock skew?): read as settled`,
      };
    else if (ago !== null && ago < settleMs) {
      return {
        file,
        zone: null,
        tooRecent: true,
        diagnostics: [
          {
            file: displayPath(file),
            line: 1,
            col: 1,
            severity: 'error',
            message: `zone file changed ${Math.round(ago)} ms ago (still being written?): read it again once it holds still`,
          },
        ],
      };
    }
  }
  const before = contentStamp(file);
  const r = loadZoneFile(file, cfg);
  const after = contentStamp(file);
  if (skew) r.diagnostics.unshift(skew);
  if (before === null || before === after) return { file, ...r };
  return {
    file,
    zone: null,
    changedWhileRead: true,
    diagnostics: [
      {
        file: displayPath(file),
        line: 1,
        col: 1,
        severity: 'error',
        message: 'zone file changed while it was being read (still being written?): read it again once it holds still',
      },
    ],
  };
}

function contentStamp(file: string): string | null {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null; // missing or a dangling link: loadZoneFile says why
  }
}

/** Milliseconds since the file's content or name last changed (the later of mtime and ctime); null if missing. */
function changedAgo(file: string): number | null {
  try {
    const st = statSync(file);
    return Date.now() - Math.max(st.mtimeMs, st.ctimeMs);
  } catch {
    return null;
  }
}
