// Runtime overrides kept by this instance (docs/operations.md#runtime-overrides): validated requests, the active
// set with its expiry enforced here (a clock and a timer that tests may pass in), and `state_dir/overrides.json`,
// written crash-safe on every change and read at start (expired ones dropped), so a restart keeps them. The
// answer path sees them as one immutable gslb/adjust.ts Adjustments, replaced on every change.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseDuration } from './config/values.js';
import { isOverride } from './fleet/codec.js';
import { Adjustments, type Override, type OverrideAction, scopeText } from './gslb/adjust.js';
import type { Pool } from './gslb/pool.js';
import type { OverrideRoutes } from './http/api.js';
import { ipFamily } from './net/address.js';
import { canonicalIp } from './net/host.js';

/** The longest an override may last: one that outlives the incident it was made for is a trap. */
export const MAX_OVERRIDE_MS = 30 * 86_400_000;
const ACTIONS: readonly OverrideAction[] = ['drain', 'down', 'up', 'weight'];
const FIELDS = new Set(['action', 'zone', 'pool', 'region', 'address', 'weight', 'for', 'reason', 'author']);

/** A POST /overrides body once checked: what makes an override, less its id and times. */
export interface OverrideRequest {
  action: OverrideAction;
  zone: string | null;
  pool: string | null;
  region: string | null;
  address: string | null;
  weight: number | null;
  forMs: number;
  reason: string;
  author: string | null;
}

/** `30m`, `2h`, `1d`, `90s` → milliseconds (null: not a duration). */
export function parseFor(v: unknown): number | null {
  if (typeof v === 'string') {
    const d = /^(\d+(?:\.\d+)?)d$/.exec(v.trim());
    if (d) return Math.round(Number(d[1]) * 86_400_000);
  }
  return parseDuration(v);
}

const name = (v: string) => v.trim().toLowerCase().replace(/\.$/, '');

/** Checks a POST /overrides body (spec: action, zone, pool, region, address, weight, for, reason). */
export function parseOverrideRequest(body: unknown): OverrideRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!FIELDS.has(k)) return `unknown field "${k}" (known: ${[...FIELDS].join(', ')})`;
  const text = (k: string, max = 255): string | null | undefined => {
    const v = b[k];
    if (v === undefined || v === null || v === '') return null;
    return typeof v === 'string' && v.length <= max ? v : undefined;
  };
  if (!ACTIONS.includes(b.action as OverrideAction)) return `action must be one of ${ACTIONS.join(', ')}`;
  const action = b.action as OverrideAction;
  const scope: Record<'zone' | 'pool' | 'region' | 'address', string | null> = { zone: null, pool: null, region: null, address: null };
  for (const k of ['zone', 'pool', 'region', 'address'] as const) {
    const v = text(k);
    if (v === undefined) return `${k} must be a string`;
    scope[k] = v === null ? null : k === 'region' ? v.trim() : name(v);
  }
  if (Object.values(scope).every((v) => v === null)) return 'say what the override applies to: zone, pool, region or address';
  if (scope.address !== null) {
    if (!ipFamily(scope.address)) return `address "${scope.address}" is not an IP address`;
    scope.address = canonicalIp(scope.address);
  }
  let weight: number | null = null;
  if (action === 'weight') {
    if (!Number.isInteger(b.weight) || (b.weight as number) < 0 || (b.weight as number) > 1000)
      return 'weight must be an integer from 0 to 1000';
    weight = b.weight as number;
  } else if (b.weight !== undefined && b.weight !== null) return 'weight is only for the weight action';
  const forMs = parseFor(b.for);
  if (forMs === null || forMs < 1000) return 'for must be a duration of at least 1s (90s, 30m, 2h, 1d)';
  if (forMs > MAX_OVERRIDE_MS) return 'for must be at most 30d';
  const reason = text('reason', 1000);
  if (!reason?.trim()) return 'reason is required (a string of at most 1000 characters)';
  const author = text('author', 255);
  if (author === undefined) return 'author must be a string';
  return { action, ...scope, weight, forMs, reason: reason.trim(), author };
}

/** Why an override matches nothing among `pools` (a typo would otherwise be an override that does nothing), or null. */
export function scopeError(o: Override, pools: Iterable<Pool>): string | null {
  const probe = new Adjustments([o]);
  for (const p of pools) if (probe.forPool(p)) return null;
  return `no served pool target matches ${scopeText(o)}`;
}

/** The clock and the timer expiry runs on (tests pass their own). */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

// a timer fires at most this far ahead (Node's own limit is 24.8 days; an override may last 30)
const MAX_TIMER_MS = 3_600_000;

export interface OverrideStoreOptions {
  /** state_dir: overrides.json is kept there; null keeps them in memory only (a worker's copy). */
  dir: string | null;
  log: Logger;
  clock?: Clock;
}

/** The active overrides of this instance. */
export class OverrideStore {
  private items: Override[] = [];
  private timer: unknown = null;
  private readonly clock: Clock;
  /** The set the answer path reads (null: none active). */
  adjustments: Adjustments | null = null;
  /** Called after every change (added, removed, expired, loaded): the primary forwards the list to its workers. */
  onChange: ((list: Override[]) => void) | null = null;
  /** The last save's failure (null: saved). */
  lastError: string | null = null;

  constructor(private readonly opts: OverrideStoreOptions) {
    this.clock = opts.clock ?? SYSTEM_CLOCK;
  }

  private get file(): string | null {
    return this.opts.dir === null ? null : join(this.opts.dir, 'overrides.json');
  }

  /** Reads overrides.json: expired and malformed entries are dropped (said in the log). */
  load(): void {
    const file = this.file;
    if (!file) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.opts.log.error({ file, err: e }, `cannot read ${file}: no overrides restored`);
      return;
    }
    let list: unknown;
    try {
      list = (JSON.parse(text) as { overrides?: unknown }).overrides;
    } catch (e) {
      this.opts.log.error({ file }, `${file} is not JSON (${(e as Error).message}): no overrides restored`);
      return;
    }
    const now = this.clock.now();
    const kept = (Array.isArray(list) ? list : []).filter((o): o is Override => isOverride(o) && o.until > now);
    const dropped = (Array.isArray(list) ? list.length : 0) - kept.length;
    this.items = kept;
    if (kept.length || dropped) this.opts.log.info({ file, active: kept.length, dropped }, 'overrides restored (expired ones dropped)');
    this.changed(dropped > 0);
  }

  /** The active overrides, oldest first. */
  list(): Override[] {
    return this.items.slice();
  }

  /** Stores a new override for `req` made by `who`; returns it. */
  add(req: OverrideRequest, who: string): Override {
    const o = this.make(req, who);
    this.insert(o);
    return o;
  }

  /** The override `req` makes, with its id and times, not stored yet (a fleet stores it in etcd first). */
  make(req: OverrideRequest, who: string): Override {
    const now = this.clock.now();
    return {
      id: randomBytes(6).toString('hex'),
      action: req.action,
      zone: req.zone,
      pool: req.pool,
      region: req.region,
      address: req.address,
      weight: req.weight,
      reason: req.reason,
      author: who,
      created: now,
      until: now + req.forMs,
    };
  }

  /** Stores an override made by make() (logged with who, what and until). */
  insert(o: Override): void {
    if (this.items.some((x) => x.id === o.id)) return;
    this.items.push(o);
    this.log(o, o.author);
    this.changed(true);
  }

  private log(o: Override, who: string): void {
    this.opts.log.info(
      {
        override: o.id,
        who,
        action: o.action,
        scope: scopeText(o),
        weight: o.weight ?? undefined,
        until: new Date(o.until).toISOString(),
        reason: o.reason,
      },
      `override ${o.id}: ${o.action}${o.weight !== null ? ` ${o.weight}` : ''} on ${scopeText(o)} until ${new Date(o.until).toISOString()} by ${who}`,
    );
  }

  /** Ends an override early; false when no active one has that id. */
  remove(id: string, who: string): boolean {
    const i = this.items.findIndex((o) => o.id === id);
    if (i < 0) return false;
    const [o] = this.items.splice(i, 1);
    this.opts.log.info({ override: id, who, action: o!.action, scope: scopeText(o!) }, `override ${id} ended by ${who}`);
    this.changed(true);
    return true;
  }

  /**
   * Replaces the whole set: a worker's, from its primary (kept in memory); a fleet member's, from etcd (`fromFleet`:
   * saved, so a restart while etcd is away keeps them, and each one that comes or goes logged). Expired ones are
   * dropped here too.
   */
  replace(list: Override[], fromFleet = false): void {
    const now = this.clock.now();
    const next = list.filter((o) => o.until > now);
    if (fromFleet) {
      const had = new Set(this.items.map((o) => o.id));
      const has = new Set(next.map((o) => o.id));
      for (const o of next) if (!had.has(o.id)) this.log(o, `${o.author} (through the fleet)`);
      for (const o of this.items)
        if (!has.has(o.id))
          this.opts.log.info({ override: o.id, action: o.action, scope: scopeText(o) }, `override ${o.id} ended (through the fleet)`);
    }
    this.items = next;
    this.changed(fromFleet);
  }

  /** Called for each override that expires here (a fleet member deletes it from etcd too). */
  onExpired: ((o: Override) => void) | null = null;

  /** Drops what has expired by now (the timer calls it; so may tests). */
  expire(): void {
    const now = this.clock.now();
    const gone = this.items.filter((o) => o.until <= now);
    if (gone.length === 0) {
      this.schedule();
      return;
    }
    this.items = this.items.filter((o) => o.until > now);
    for (const o of gone) {
      this.opts.log.info({ override: o.id, action: o.action, scope: scopeText(o) }, `override ${o.id} expired`);
      this.onExpired?.(o);
    }
    this.changed(true);
  }

  close(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private changed(save: boolean): void {
    const now = this.clock.now();
    const active = this.items.filter((o) => o.until > now);
    this.adjustments = active.length ? new Adjustments(active) : null;
    if (save) this.save();
    this.schedule();
    this.onChange?.(this.list());
  }

  private schedule(): void {
    this.close();
    if (this.items.length === 0) return;
    const next = Math.min(...this.items.map((o) => o.until));
    this.timer = this.clock.setTimer(
      () => {
        this.timer = null;
        this.expire();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, next - this.clock.now())),
    );
  }

  /** Crash-safe: a temp file of its own, synced, renamed over the old one. */
  private save(): void {
    const file = this.file;
    if (!file) return;
    const tmp = `${file}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      mkdirSync(this.opts.dir!, { recursive: true });
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeFileSync(fd, `${JSON.stringify({ overrides: this.items }, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      this.lastError = null;
    } catch (e) {
      this.lastError = `cannot save overrides in ${file}: ${(e as Error).message}`;
      this.opts.log.error({ file, err: e }, `${this.lastError} (they apply until this process stops)`);
      try {
        unlinkSync(tmp);
      } catch {
        // no temp file was made, or it is gone: the error above is what the operator needs
      }
    }
  }
}

/** An override as GET /overrides lists it: times in RFC 3339, and the seconds left. */
export function overrideJson(o: Override, now: number): object {
  return {
    id: o.id,
    action: o.action,
    zone: o.zone,
    pool: o.pool,
    region: o.region,
    address: o.address,
    weight: o.weight,
    reason: o.reason,
    author: o.author,
    created: new Date(o.created).toISOString(),
    until: new Date(o.until).toISOString(),
    remainingSeconds: Math.max(0, Math.ceil((o.until - now) / 1000)),
  };
}

/**
 * The /overrides routes over a store (http/api.ts reads the body and checks the token first): POST checks the
 * request and that it matches a served pool target, then answers 201 `{id, until}` once the override is stored.
 */
export function overrideRoutes(
  store: OverrideStore,
  pools: () => Iterable<Pool>,
  fleet: () => OverrideBackend | null = () => null,
): OverrideRoutes {
  return {
    list: () => ({ overrides: store.list().map((o) => overrideJson(o, Date.now())) }),
    add: async (body, client) => {
      const r = parseOverrideRequest(body);
      if (typeof r === 'string') return { status: 400, body: { error: r } };
      const o = store.make(r, `${r.author ?? 'anonymous'} from ${client}`);
      const unmatched = scopeError(o, pools());
      if (unmatched) return { status: 400, body: { error: unmatched } };
      const backend = fleet();
      if (backend) {
        try {
          await backend.add(o);
        } catch (e) {
          return { status: 503, body: { error: `not stored: ${(e as Error).message}` } };
        }
      }
      store.insert(o);
      if (store.lastError && !backend) {
        store.remove(o.id, 'steerdns (its save failed)');
        return { status: 500, body: { error: store.lastError } };
      }
      return { status: 201, body: { id: o.id, until: new Date(o.until).toISOString() } };
    },
    remove: async (id, client) => {
      const backend = fleet();
      let found = false;
      if (backend) {
        try {
          found = await backend.remove(id);
        } catch (e) {
          return { status: 503, body: { error: `not ended: ${(e as Error).message}` } };
        }
      }
      found = store.remove(id, `a request from ${client}`) || found;
      return found ? { status: 204, body: null } : { status: 404, body: { error: `no active override ${id}` } };
    },
  };
}

/** Where overrides are stored before they apply: etcd, for a fleet member (writes fail while it is unreachable). */
export interface OverrideBackend {
  add(o: Override): Promise<void>;
  remove(id: string): Promise<boolean>;
}
