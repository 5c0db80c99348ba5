// Watching the zones folder (spec §7): any change — an edit, an atomic rename, a new or removed file, a
// symlink swap as Kubernetes ConfigMaps do — schedules one debounced reload. Editors' temp files trigger it
// too, harmlessly: the loader only reads `*.yaml` that do not start with a dot, and unchanged files are not
// re-parsed.
import { watch, type FSWatcher } from 'node:fs';

export class FolderWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly onChange: () => void, private readonly debounceMs = 150,
    private readonly onError: (e: Error) => void = () => undefined) {}

  /** Watches `dir` (replacing any earlier folder). */
  watch(dir: string): void {
    this.close();
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
    this.watcher?.close();
    this.watcher = null;
  }
}
