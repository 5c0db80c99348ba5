// Watching the zones folder (spec §7): any change — an edit, an atomic rename, a new or removed file, a
// symlink swap as Kubernetes ConfigMaps do — schedules one debounced reload. Editors' temp files trigger it
// too, harmlessly: the loader only reads `*.yaml` that do not start with a dot, and unchanged files are not
// re-parsed.
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

// A burst of changes (a big git checkout) reloads once it settles, but never later than this after it began
const MAX_WAIT_MS = 1000;
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

  constructor(private readonly onChange: () => void, private readonly debounceMs = 150,
    private readonly onError: (e: Error) => void = () => undefined) {}

  /** Watches `dir` (replacing any earlier folder). */
  watch(dir: string): void {
    this.close();
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
    this.stamps = folderStamps(dir);
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
      this.watcher = watch(dir, { persistent: false }, () => this.schedule());
      this.watcher.on('error', (e) => this.onError(e));
    } catch (e) {
      this.onError(e as Error);
    }
  }

  private schedule(): void {
    const now = Date.now();
    if (this.timer) clearTimeout(this.timer);
    else this.firstPending = now;
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPending + MAX_WAIT_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, wait);
    this.timer.unref();
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
  }
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

/** Names, sizes and modification times of the folder's zone files, as one string to compare. */
function folderStamps(dir: string): string {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => {
      try {
        const st = statSync(join(dir, f));
        return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:-`;
      }
    }).join('|');
  } catch {
    return '';
  }
}
