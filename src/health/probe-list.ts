// The probe list: which targets the prober probes, each once whatever number of pools use it, and with which
// check. Built from the probed uses the application reads off the pools (health/ never sees a pool).
import type { CheckSpec, PoolSpec } from '../config/zone-file.js';
import { unmappedIPv4 } from '../net/address.js';
import type { CheckTarget } from './prober.js';

/** One target of one pool region that is probed (not `state: down`). */
export interface ProbedUse {
  /** The check's identity (healthKey). */
  key: string;
  /** As the zone file wrote it. */
  address: string;
  check: CheckSpec;
  zone: string;
  pool: string;
  region: string;
}

/**
 * A check's identity: what is probed — type, address (canonical text, as the zone reader writes it; an
 * IPv4-mapped one as its IPv4 address), port,
 * and for HTTP(S) the Host/SNI, path, headers, expected statuses, body and TLS verification. Pools probing
 * the same target the same way share one prober and one state. The timings (interval, timeout, rise, fall,
 * initial) are not part of it: editing them applies to the state already known (a down target stays down)
 * instead of starting over as "not checked yet".
 */
export function healthKey(spec: PoolSpec, written: string): string {
  const c = spec.check;
  // an IPv4-mapped address (::ffff:192.0.2.1) is probed as the IPv4 host it is: one key with 192.0.2.1
  const address = unmappedIPv4(written);
  if (c.type === 'none') return `none|${address}`;
  if (c.type === 'tcp') return `tcp|${address}|${c.port}`;
  // header names are case-insensitive and their order carries no meaning
  const headers = Object.entries(c.headers)
    .map(([k, v]) => [k.toLowerCase(), v])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return `${c.type}|${address}|${c.port}|${c.host.toLowerCase()}|${c.path}|${[...c.expect].sort((a, b) => a - b).join(',')}|${c.body ?? ''}|${c.insecure}|${JSON.stringify(headers)}`;
}

/**
 * Whether `a`'s timings serve a probed target shared with `b`'s: the tighter schedule — the shorter interval,
 * then timeout, then the fewer fall, then rise failures/successes, `initial: down` before up. A total order on
 * the timings, so the choice never depends on file order or on which zones a reload re-read.
 */
export function tighterCheck(a: CheckSpec, b: CheckSpec): boolean {
  if (a.intervalMs !== b.intervalMs) return a.intervalMs < b.intervalMs;
  if (a.timeoutMs !== b.timeoutMs) return a.timeoutMs < b.timeoutMs;
  if (a.fall !== b.fall) return a.fall < b.fall;
  if (a.rise !== b.rise) return a.rise < b.rise;
  return a.initial === 'down' && b.initial !== 'down';
}

/** The distinct checks of `uses`, in the order first used; a target shared by pools gets the tighter check. */
export function probeList(uses: Iterable<ProbedUse>): CheckTarget[] {
  const byKey = new Map<string, CheckTarget>();
  for (const u of uses) {
    let c = byKey.get(u.key);
    if (!c) {
      // an IPv4-mapped target is probed at its IPv4 address (its identity), whichever form a pool wrote first
      c = { key: u.key, address: unmappedIPv4(u.address), check: u.check, uses: [] };
      byKey.set(u.key, c);
    } else if (tighterCheck(u.check, c.check)) c.check = u.check; // shared: the tighter schedule
    c.uses.push({ zone: u.zone, pool: u.pool, region: u.region });
  }
  return [...byKey.values()];
}
