// Placing the client of a query (docs/dns-behaviour.md#step-1-locate-the-client): the ECS address when present
// and enabled, else the packet's source address. A pool decision looks that address up in its compiled
// decision table (table.ts); `explain` also places the client with the GeoIP locator (locateClient), once per
// query, kept on the query's client object, to show where it is.
import type { QueryClient } from '../dns/dynamic.js';
import { isPrivate } from '../net/ranges.js';
import { sourceBytes } from '../net/source.js';
import type { GeoTables } from './compile.js';
import type { GeoLocator, Location } from './geo.js';

/** dns/'s client of a query, with where it was placed (set on first use within one query). */
export interface ClientInfo extends QueryClient {
  located?: ClientLocation;
}

export interface ClientLocation {
  loc: Location;
  /** Which address decided: the ECS subnet, or the packet's source address. */
  via: 'ecs' | 'source';
  /** Why ECS was not used, when the query had it. */
  ecsIgnored?: string;
  /** Why an ECS address that decided has no location: the client is unknown (not the resolver's place). */
  unlocated?: 'private address' | 'located by nothing';
  /**
   * The least ECS scope an answer for this client may claim: the unlocated block, at least the source prefix
   * (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses).
   */
  minScope?: number;
  /** The address looked up, 4 or 16 bytes (ECS address padded with zeros). */
  bytes: Buffer;
}

export interface GeoContext {
  /** The locator (explain shows where a client is, and it is the reference of the compiled tables' tests). */
  geo: GeoLocator;
  /** `geoip.ecs`: use EDNS Client Subnet when present. */
  useEcs: boolean;
  /** The decision tables of the database and overlays, by ordering key. */
  tables: GeoTables;
}

/** Where a client is when nothing is known: regions in written order, the map's `default`. */
export const NOWHERE: Location = { source: 'unknown', network: null, prefix: 0 };

/** Why a query's ECS option was not used when `geoip.ecs` is false (the server does not echo it either). */
export const ECS_OFF = 'geoip.ecs is off';

/** The Client Subnet that places the client, or null when its source address does (no ECS, off, or opted out). */
export function usableEcs(client: QueryClient, ctx: GeoContext): QueryClient['ecs'] {
  const ecs = client.ecs;
  return ecs && ctx.useEcs && ecs.sourcePrefix > 0 ? ecs : null;
}

/**
 * Places the client: the ECS address when present and enabled, else the source address. An ECS address
 * decides even when nothing locates it (private and not in `geoip.networks`, or unknown to the database):
 * the client is then unknown — regions in written order, the map's `default` — and never placed where its
 * resolver is, since the answer is cached for the client's block (RFC 7871 §7.3.1), not for the resolver.
 */
export function locateClient(client: ClientInfo, ctx: Pick<GeoContext, 'geo' | 'useEcs'>): ClientLocation {
  if (client.located) return client.located;
  let ignored: string | undefined;
  const ecs = client.ecs;
  if (ecs && !ctx.useEcs) ignored = ECS_OFF;
  else if (ecs && ecs.sourcePrefix === 0) ignored = 'source prefix 0 (the client opted out)';
  else if (ecs) {
    const bytes = Buffer.alloc(ecs.family === 1 ? 4 : 16);
    ecs.address.copy(bytes);
    const loc = ctx.geo.locate(bytes);
    // a private address counts only where an overlay network maps it (your own resolvers' clients)
    if (loc.source !== 'overlay' && isPrivate(bytes)) {
      client.located = { loc: ctx.geo.unlocatedPrivate(bytes, ecs.sourcePrefix), via: 'ecs', bytes, unlocated: 'private address' };
    } else if (loc.source === 'unknown') {
      client.located = { loc, via: 'ecs', bytes, unlocated: 'located by nothing', minScope: ecs.sourcePrefix };
    } else client.located = { loc, via: 'ecs', bytes };
    return client.located;
  }
  const bytes = sourceBytes(client.address);
  client.located = { loc: ctx.geo.locate(bytes), via: 'source', bytes, ...(ignored ? { ecsIgnored: ignored } : {}) };
  return client.located;
}
