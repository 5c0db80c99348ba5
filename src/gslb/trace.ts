// What a pool decision reports about itself: the reason of its answer (metrics count it), and for
// `explain` every intermediate result, appended to a trace the caller passes in.
import type { OverrideTrace } from './adjust.js';
import type { ClientLocation } from './locate.js';

/** Why the answer is the one given (the `reason` label of steerdns_pool_answers_total). */
export type Reason = 'nearest' | 'failover' | 'map' | 'all_down' | 'fallback';

export interface RegionTrace {
  name: string;
  state: string;
  distanceKm: number | null;
  healthy: number;
  total: number;
  needed: number;
  qualifies: boolean;
}

export interface PoolTrace {
  pool: string;
  family: 4 | 6;
  client: ClientLocation;
  policy: string;
  mapKey: string | null;
  regions: RegionTrace[];
  chosen: string | null;
  reason: Reason | null;
  select: string;
  candidates: string[];
  answer: string[];
  ttl: number;
  halved: boolean;
  scope: number;
  note: string | null;
  /** Runtime overrides that applied to the pool (absent when none did). */
  overrides?: OverrideTrace[];
}
