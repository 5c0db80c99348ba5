// The fleet's keys and values in etcd (docs/architecture.md#the-fleet-in-etcd). Under the fleet's prefix:
//   instances/<instance>            the instance's registration, bound to its lease
//   obs/<instance>/<health key>     its observation of one probed target {"up","reason","rttMs","at"}, same lease
//   overrides/<id>                  a runtime override (gslb/adjust.ts Override), bound to a lease of its own
// Values are JSON; anything that does not decode is ignored by readers (a newer writer, a hand edit).
import type { Override } from '../gslb/adjust.js';

/** One instance's view of one probed target. */
export interface Observation {
  up: boolean;
  reason: string | null;
  rttMs: number | null;
  /** Epoch milliseconds of the probe result that set it (the writer's clock: shown, never compared). */
  at: number;
}

export class FleetKeys {
  constructor(readonly prefix: string) {}

  instance(name: string): string {
    return `${this.prefix}instances/${name}`;
  }

  get obsPrefix(): string {
    return `${this.prefix}obs/`;
  }

  /** Health keys may hold any character: encoded so that "/" inside one never splits the key. */
  obs(instance: string, healthKey: string): string {
    return `${this.prefix}obs/${instance}/${encodeURIComponent(healthKey)}`;
  }

  get overridesPrefix(): string {
    return `${this.prefix}overrides/`;
  }

  override(id: string): string {
    return `${this.prefix}overrides/${id}`;
  }

  /** The instance and health key of an observation key, or null when it is not one. */
  parseObs(key: string): { instance: string; healthKey: string } | null {
    if (!key.startsWith(this.obsPrefix)) return null;
    const rest = key.slice(this.obsPrefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return null;
    try {
      return { instance: rest.slice(0, slash), healthKey: decodeURIComponent(rest.slice(slash + 1)) };
    } catch {
      return null;
    }
  }

  get instancesPrefix(): string {
    return `${this.prefix}instances/`;
  }

  /** The instance of a registration key, or null. */
  parseInstance(key: string): string | null {
    if (!key.startsWith(this.instancesPrefix)) return null;
    const name = key.slice(this.instancesPrefix.length);
    return name && !name.includes('/') ? name : null;
  }

  /** The id of an override key, or null. */
  parseOverride(key: string): string | null {
    if (!key.startsWith(this.overridesPrefix)) return null;
    const id = key.slice(this.overridesPrefix.length);
    return /^[0-9a-f]{12}$/.test(id) ? id : null;
  }
}

export function encodeObservation(o: Observation): string {
  return JSON.stringify({ up: o.up, reason: o.reason, rttMs: o.rttMs, at: o.at });
}

export function decodeObservation(text: string): Observation | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const x = v as Record<string, unknown>;
  if (typeof x.up !== 'boolean' || !Number.isFinite(x.at)) return null;
  return {
    up: x.up,
    reason: typeof x.reason === 'string' ? x.reason : null,
    rttMs: typeof x.rttMs === 'number' && Number.isFinite(x.rttMs) ? x.rttMs : null,
    at: x.at as number,
  };
}

const ACTIONS = new Set(['drain', 'down', 'up', 'weight']);

export function encodeOverride(o: Override): string {
  return JSON.stringify(o);
}

/** An override read from etcd, checked field by field (null: not one). */
export function decodeOverride(text: string): Override | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return isOverride(v) ? v : null;
}

/** Whether a parsed value has every field of an override with its type (etcd, and the state file's copy). */
export function isOverride(v: unknown): v is Override {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Record<string, unknown>;
  const str = (k: string) => x[k] === null || typeof x[k] === 'string';
  return (
    typeof x.id === 'string' &&
    ACTIONS.has(x.action as string) &&
    str('zone') &&
    str('pool') &&
    str('region') &&
    str('address') &&
    (x.weight === null || Number.isInteger(x.weight)) &&
    typeof x.reason === 'string' &&
    typeof x.author === 'string' &&
    Number.isFinite(x.created) &&
    Number.isFinite(x.until)
  );
}
