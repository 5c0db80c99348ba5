// Automatic SOA serials (docs/zone-format.md#automatic-serials): max(previous + 1, Unix time) whenever a
// zone's parsed content changes, kept in `state_dir/serials.json` so a restart never goes back. `serial:` in
// the zone file wins, and is remembered too: dropping it later continues above it, never below. "Above" is
// RFC 1982 serial arithmetic, so a serial at 2^32 - 1 wraps forward instead of sticking.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

interface Entry {
  hash: string;
  serial: number;
  /** Written as `serial:` in the zone file. */
  explicit?: boolean;
}

/** RFC 1982: a is greater than b in 32-bit serial number arithmetic. */
export function serialGreater(a: number, b: number): boolean {
  return a !== b && ((a > b && a - b < 2 ** 31) || (a < b && b - a > 2 ** 31));
}

export class SerialStore {
  private entries: Record<string, Entry> = {};
  private readonly file: string;
  /** Set when the state could not be written; the serial is still computed, but not kept. */
  lastError: string | null = null;
  /**
   * Set when a state file exists but could not be read (an error for the log): serials continue from the
   * Unix time, and above every serial that could still be picked out of the damaged file.
   */
  readonly readError: string | null = null;

  /** `writable: false` computes serials without saving them (`steerdns check`). */
  constructor(
    dir: string,
    private readonly writable = true,
  ) {
    this.file = join(dir, 'serials.json');
    if (writable) removeStaleTemps(dir);
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      // no state yet: the first serials are the Unix time
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.readError = `cannot read automatic serials from ${this.file}: ${(e as Error).message}; serials continue from the Unix time`;
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      // the damaged file is moved aside for the operator (the next save would replace it), and every serial
      // still legible in it is kept as one that may have been served: the next serial goes above it
      const salvaged = salvageSerials(text);
      for (const [k, serial] of salvaged) this.entries[k] = { hash: '', serial };
      const aside = `${this.file}.corrupt`;
      let moved = false;
      if (writable) {
        try {
          renameSync(this.file, aside);
          moved = true;
        } catch {
          // left in place: the next save replaces it
        }
      }
      this.readError =
        `cannot read automatic serials from ${this.file}: ${(e as Error).message}; ` +
        `${salvaged.size} zone serial(s) recovered from it, the others continue from the Unix time` +
        `${moved ? ` (the damaged file is kept as ${aside})` : ''}; a zone whose serial was set above the Unix time and then dropped may need \`serial:\` again`;
      return;
    }
    // valid JSON of the wrong shape (edited by hand, another tool): what is well-formed is kept, the rest is an error
    const dropped: string[] = [];
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
        const e = v as Partial<Entry> | null;
        const serial = e?.serial;
        if (typeof e?.hash === 'string' && Number.isInteger(serial) && serial! >= 0 && serial! <= 0xffffffff) {
          this.entries[k] = { hash: e.hash, serial: serial!, ...(e.explicit ? { explicit: true } : {}) };
        } else dropped.push(k);
      }
    } else dropped.push('(the whole file)');
    if (dropped.length > 0) {
      this.readError =
        `cannot read automatic serials from ${this.file}: not { zone: { hash, serial } } for ${dropped.slice(0, 5).join(', ')}` +
        `${dropped.length > 5 ? ` and ${dropped.length - 5} more` : ''}; ${Object.keys(this.entries).length} zone serial(s) kept, the others continue from the Unix time`;
    }
  }

  /** Takes `older`'s serials where they are above this store's (RFC 1982): kept in memory, they may have been served. */
  mergeFrom(older: SerialStore): void {
    let moved = false;
    for (const [k, e] of Object.entries(older.entries)) {
      const mine = this.entries[k];
      if (!mine || serialGreater(e.serial, mine.serial)) {
        this.entries[k] = { ...e };
        moved = true;
      }
    }
    if (moved) this.save();
  }

  /** The serial for `origin` with content `hash`; records and saves a new one when the content changed. */
  serialFor(origin: string, hash: string, nowSeconds = Math.floor(Date.now() / 1000)): number {
    const key = origin === '' ? '.' : origin;
    const prev = this.entries[key];
    if (prev && prev.hash === hash && !prev.explicit) return prev.serial;
    const serial = !prev || serialGreater(nowSeconds >>> 0, prev.serial) ? nowSeconds >>> 0 : (prev.serial + 1) >>> 0;
    this.entries[key] = { hash, serial };
    this.save();
    return serial;
  }

  /** Remembers a serial written in the zone file, so that an automatic one later continues above it. */
  recordExplicit(origin: string, serial: number, hash: string): void {
    const key = origin === '' ? '.' : origin;
    const prev = this.entries[key];
    if (prev?.explicit && prev.serial === serial && prev.hash === hash) return;
    this.entries[key] = { hash, serial, explicit: true };
    this.save();
  }

  /**
   * Writes the state crash-safe: a temp file of its own (unique: processes sharing a state_dir may have the
   * same PID, as PID 1 in containers do), synced, renamed over the old file, and the folder synced so the
   * rename itself survives a power loss.
   */
  private save(): void {
    if (!this.writable) return;
    const dir = dirname(this.file);
    const tmp = `${this.file}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
    let created = false;
    try {
      mkdirSync(dir, { recursive: true });
      const fd = openSync(tmp, 'wx', 0o644);
      created = true;
      try {
        writeFileSync(fd, `${JSON.stringify(this.entries, null, 2)}\n`); // (all of it: writeSync may write less)
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      created = false;
    } catch (e) {
      this.lastError = `cannot save automatic serials in ${this.file}: ${(e as Error).message}`;
      if (created) {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing more to do: the error above is what the operator needs
        }
      }
      return;
    }
    try {
      syncFolder(dir);
      this.lastError = null;
    } catch (e) {
      this.lastError = `automatic serials saved in ${this.file}, but the folder could not be synced (a power loss may undo the save): ${(e as Error).message}`;
    }
  }
}

// A temp file older than this is left by a save that crashed (a save takes milliseconds)
const STALE_TEMP_MS = 60_000;

/** Removes temp files of saves that never finished (a crash, a power loss): they would pile up in state_dir. */
function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no state_dir yet, or unreadable: the read below says so
  }
  const now = Date.now();
  for (const name of names) {
    if (!/^serials\.json\..+\.tmp$/.test(name)) continue;
    const path = join(dir, name);
    try {
      // a recent one may be another process's save under way (processes can share a state_dir)
      if (now - statSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path);
    } catch {
      // gone already, or not ours to remove: harmless
    }
  }
}

/** Makes a rename in `dir` durable; file systems that cannot sync a folder (EINVAL) are left as they are. */
function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw e;
  } finally {
    closeSync(fd);
  }
}

/** Serials still legible in a damaged state file, by zone (the highest one when a zone shows twice). */
function salvageSerials(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:\s*\{[^{}]*?"serial"\s*:\s*(\d+)/g)) {
    const serial = Number(m[2]);
    if (!Number.isInteger(serial) || serial > 0xffffffff) continue;
    const prev = found.get(m[1]!);
    if (prev === undefined || serialGreater(serial, prev)) found.set(m[1]!, serial);
  }
  return found;
}
