// Automatic SOA serials (spec §3): max(previous + 1, Unix time) whenever a zone's parsed content changes,
// kept in `state_dir/serials.json` so a restart never goes back. `serial:` in the zone file wins, and is
// remembered too: dropping it later continues above it, never below. "Above" is RFC 1982 serial
// arithmetic, so a serial at 2^32 - 1 wraps forward instead of sticking.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

  /** `writable: false` computes serials without saving them (`steerdns check`). */
  constructor(dir: string, private readonly writable = true) {
    this.file = join(dir, 'serials.json');
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (data && typeof data === 'object') {
        for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
          const e = v as Partial<Entry>;
          if (typeof e?.hash === 'string' && Number.isInteger(e.serial)) this.entries[k] = { hash: e.hash, serial: e.serial!, ...(e.explicit ? { explicit: true } : {}) };
        }
      }
    } catch {
      // no state yet, or unreadable: start fresh (the Unix-time floor keeps serials moving forward)
    }
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
    if (prev && prev.explicit && prev.serial === serial && prev.hash === hash) return;
    this.entries[key] = { hash, serial, explicit: true };
    this.save();
  }

  private save(): void {
    if (!this.writable) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(this.entries, null, 2)}\n`);
      renameSync(tmp, this.file);
      this.lastError = null;
    } catch (e) {
      this.lastError = `cannot save automatic serials in ${this.file}: ${(e as Error).message}`;
    }
  }
}
