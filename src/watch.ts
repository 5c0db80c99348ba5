// Watching the zones folder (spec §7): any change — an edit, an atomic rename, a new or removed file, a
// symlink swap as Kubernetes ConfigMaps do — schedules one debounced reload. Editors' temp files trigger it
// too, harmlessly: the loader only reads `*.yaml` that do not start with a dot, and unchanged files are not
// re-parsed.
import { statSync, watch, type FSWatcher } from 'node:fs';

export class FolderWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The folder's identity polled twice a second: a watch follows the inode, so a folder swapped as a whole
   *  (a symlink re-pointed as git-sync does, a new folder renamed into place) is found only this way. */
  private poll: NodeJS.Timeout | null = null;
  private identity: string | null = null;

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
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.debounceMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
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
