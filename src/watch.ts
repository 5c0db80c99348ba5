// The files a running server follows (ServerFiles): the zones folder (FolderWatcher) and the GeoIP database
// (FilePoller).
//
// Watching the zones folder (docs/zone-format.md#reload-and-the-last-good-version): any change — an edit, an
// atomic rename, a new or removed file, a symlink swap as Kubernetes ConfigMaps do — schedules one reload, once
// the folder's zone files have held still (same names, sizes and modification times, no change event) for a
// settle time: a file still being written is not read half-way. Editors' temp files trigger it too, harmlessly:
// the loader only reads `*.yaml` and `*.zone` that do not start with a dot, and unchanged files are not re-parsed.
// Sub-folders hold the master files zones include: they are watched too.
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { isZoneFileName } from './config/load.js';
import type { ServerConfig } from './config/server-config.js';
import { bundledDatabasePath, databaseStamp } from './gslb/geo.js';
import type { Snapshot } from './snapshot.js';

/** How long the zone files must hold still after a change before they are read. */
export const SETTLE_MS = 150;
// While waiting, the files' sizes and times are compared this often
const SETTLE_POLL_MS = 50;
// A folder that never holds still (a file rewritten without pause) is read anyway after this long; a file
// caught changing during that read is still refused by the loader
export const MAX_UNSETTLED_MS = 10_000;
// File systems without change events (NFS, some container bind mounts): the zone files' identities are
// compared this often, and a difference reloads
const STAMP_POLL_MS = 5000;

export class FolderWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The folder's identity polled twice a second: a watch follows the inode, so a folder swapped as a whole
   *  (a symlink re-pointed as git-sync does, a new folder renamed into place) is found only this way. */
  private poll: NodeJS.Timeout | null = null;
  private identity: string | null = null;
  private firstPending = 0;
  private stampPoll: NodeJS.Timeout | null = null;
  private stamps = '';
  private dir: string | null = null;
  /** The zone files' stamps while a reload waits, since when they are so, and the last change event. */
  private pendingStamps = '';
  private pendingSince = 0;
  private lastEvent = 0;

  constructor(
    private readonly onChange: () => void,
    private readonly settleMs = SETTLE_MS,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {}

  /**
   * Watches `dir` (replacing any earlier folder). `loaded`: the zone files' stamps (folderStamps) taken before
   * the load that read them; a file that differs now changed after it was read, and reloads. The same folder
   * keeps its watcher and any wait under way: a change event already queued is not dropped.
   */
  watch(dir: string, loaded?: string): void {
    if (dir === this.dir) {
      if (loaded === undefined) return;
      this.stamps = loaded;
      if (folderStamps(dir) !== loaded) this.schedule();
      return;
    }
    this.close();
    this.dir = dir;
    this.identity = folderIdentity(dir);
    this.start(dir);
    this.poll = setInterval(() => {
      const id = folderIdentity(dir);
      if (id === null || id === this.identity) return; // missing for now (being replaced): the next poll sees it
      this.identity = id;
      this.start(dir);
      this.schedule();
    }, 500);
    this.poll.unref();
    this.stamps = loaded ?? folderStamps(dir);
    if (this.stamps !== folderStamps(dir)) this.schedule();
    this.stampPoll = setInterval(() => {
      const now = folderStamps(dir);
      if (now === this.stamps) return;
      this.stamps = now;
      this.schedule();
    }, STAMP_POLL_MS);
    this.stampPoll.unref();
  }

  private start(dir: string): void {
    this.watcher?.close();
    this.watcher = null;
    try {
      this.watcher = watchTree(dir, () => this.schedule());
      this.watcher.on('error', (e) => this.onError(e));
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** A change was seen (or a file was caught mid-write and must be read again): reload once it settles. */
  changed(): void {
    this.schedule();
  }

  private schedule(): void {
    const now = performance.now();
    this.lastEvent = now;
    if (this.timer) return; // a wait is under way: it sees this change through lastEvent and the stamps
    this.firstPending = now;
    this.pendingStamps = this.dir === null ? '' : folderStamps(this.dir);
    this.pendingSince = now;
    this.arm(Math.min(SETTLE_POLL_MS, this.settleMs));
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.settle(), ms);
    this.timer.unref();
  }

  /** Looks at the zone files every SETTLE_POLL_MS; reloads once neither they nor events moved for settleMs. */
  private settle(): void {
    this.timer = null;
    const now = performance.now();
    const stamps = this.dir === null ? '' : folderStamps(this.dir);
    if (stamps !== this.pendingStamps) {
      // changed since the last look (file systems without change events show it only so): taken as changed
      // now, since the look may come late (a busy event loop) and the change be recent
      this.pendingStamps = stamps;
      this.pendingSince = now;
    }
    const still = now - Math.max(this.pendingSince, this.lastEvent);
    if (still < this.settleMs && now - this.firstPending < MAX_UNSETTLED_MS) {
      this.arm(Math.min(SETTLE_POLL_MS, this.settleMs - still));
      return;
    }
    this.stamps = stamps; // the 5 s poll compares against what this reload reads
    this.onChange();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    if (this.stampPoll) clearInterval(this.stampPoll);
    this.stampPoll = null;
    this.watcher?.close();
    this.watcher = null;
    this.dir = null;
  }
}

/** A watch of the folder and its sub-folders (included files), or of the folder alone where that is all there is. */
function watchTree(dir: string, onEvent: () => void): FSWatcher {
  // recursive only when there are sub-folders (a folder added later is seen by the stamp poll)
  let sub = false;
  try {
    sub = readdirSync(dir, { withFileTypes: true }).some((d) => d.isDirectory() && !d.name.startsWith('.'));
  } catch {
    // watch() below says why
  }
  if (sub) {
    try {
      return watch(dir, { persistent: false, recursive: true }, onEvent);
    } catch {
      // a platform without recursive watches: the stamp poll covers the sub-folders
    }
  }
  return watch(dir, { persistent: false }, onEvent);
}

/** Device and inode of the folder `dir` leads to (through symlinks); null when it is missing. */
function folderIdentity(dir: string): string | null {
  try {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Names, sizes, modification and change times of the folder's zone files and of the files in its sub-folders
 * (which zones may include: docs/zone-format.md#include), as one string to compare.
 */
export function folderStamps(dir: string): string {
  const out: string[] = [];
  collectStamps(dir, '', 0, out);
  return out.join('|');
}

// Sub-folders (not hidden ones, such as .git) are followed this deep and this far, no further
const MAX_INCLUDE_DEPTH = 4;
const MAX_STAMPED_FILES = 10_000;

function collectStamps(dir: string, prefix: string, depth: number, out: string[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(join(dir, prefix), { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (out.length >= MAX_STAMPED_FILES || d.name.startsWith('.')) continue;
    const f = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory()) {
      if (depth < MAX_INCLUDE_DEPTH) collectStamps(dir, f, depth + 1, out);
      continue;
    }
    if (depth === 0 && !isZoneFileName(d.name)) continue;
    try {
      const st = statSync(join(dir, f), { bigint: true });
      out.push(`${f}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`);
    } catch {
      out.push(`${f}:-`);
    }
  }
}

/**
 * One file polled by identity (`stamp`: inode, size, mtime) every `everyMs`: that also catches an atomic
 * rename, and never misses a change made while the watch was starting. A new identity calls `onChange`
 * once; a missing file (being replaced) is looked at again on the next poll. (The GeoIP database.)
 */
export class FilePoller {
  private path: string | null = null;
  /** Identity of the version last tried (loaded or failed): only a new identity calls onChange again. */
  private seen: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onChange: () => void,
    private readonly stamp: (path: string) => string,
    private readonly everyMs = 1000,
  ) {}

  /** Polls `path`; a path other than the one polled starts over from `seen` (the identity already tried, or null). */
  watch(path: string, seen: string | null): void {
    if (path !== this.path) {
      this.path = path;
      this.seen = seen;
    }
    if (!this.timer) {
      this.timer = setInterval(() => this.poll(), this.everyMs);
      this.timer.unref();
    }
  }

  private poll(): void {
    if (!this.path) return;
    let stamp: string;
    try {
      stamp = this.stamp(this.path);
    } catch {
      return; // missing for now (being replaced): the next poll sees it
    }
    if (stamp === this.seen) return;
    this.seen = stamp;
    this.onChange();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The zones folder and the GeoIP database of a running server: a change calls the reload it needs. */
export class ServerFiles {
  /** Edits in the zones folder reload the zones, once they hold still. */
  private readonly zones: FolderWatcher;
  /** A changed GeoIP database file is reloaded (if the new file fails to open, the old one stays). */
  private readonly db: FilePoller;

  constructor(on: { zones: () => void; database: () => void; error: (e: Error) => void }) {
    this.zones = new FolderWatcher(on.zones, SETTLE_MS, on.error);
    this.db = new FilePoller(on.database, databaseStamp);
  }

  /**
   * Watches `cfg`'s zones folder (`loaded`: its stamps taken before the load that read it) and its GeoIP
   * database, or the bundled one (one that failed to open is retried when it changes).
   */
  watch(cfg: ServerConfig, snapshot: Snapshot, loaded: string): void {
    const db = cfg.geoip.database ?? bundledDatabasePath();
    this.db.watch(db, snapshot.db?.path === db ? snapshot.db.stamp : null);
    this.zones.watch(cfg.zonesDir, loaded);
  }

  /** Reloads the zones once they hold still (a worker's, watching no folder, only waits the settle time). */
  zonesChanged(): void {
    this.zones.changed();
  }

  close(): void {
    this.db.close();
    this.zones.close();
  }
}
