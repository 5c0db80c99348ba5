// Locating a client (docs/dns-behaviour.md#step-1-locate-the-client): the `geoip.networks` overlay first
// (longest prefix wins), then the GeoIP database (MaxMind GeoIP2/GeoLite2 City or Country schema, or the flat
// schema of the @ip-location-db packages). A country-only record is placed at the country's population centre
// (generated at build time from GeoNames, tools/country-points.mjs) and marked coarse. IPv4-mapped, 6to4
// and Teredo IPv6 addresses are looked up by their embedded IPv4 address. Answers come from the compiled
// decision tables (compile.ts, table.ts); the locator shows where a client is (explain) and is their tests'
// reference. Opening the database file is here too; its structural check is gslb/mmdb-check.ts's.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'maxmind';
import type { GeoOverlay } from '../config/server-config.js';
import { notARegularFile } from '../config/source.js';
import { bytesToIp } from '../net/address.js';
import { inNetwork, maskBytes } from '../net/cidr.js';
import { embeddedIPv4, privatePrefix } from '../net/ranges.js';
import COUNTRY_POINTS from './country-points.generated.json' with { type: 'json' };
import { layoutError, metadataStart } from './mmdb-check.js';

export type LocationSource = 'overlay' | 'database' | 'coarse' | 'unknown';

/** Where a client is, as far as ordering regions goes (order.ts reads nothing else). */
export interface Place {
  source: LocationSource;
  /** Overlay pin to a region. */
  region?: string;
  lat?: number;
  lon?: number;
  country?: string;
  continent?: string;
  subdivision?: string;
}

export interface Location extends Place {
  /** The block that decided (overlay network or database network), "addr/len". */
  network: string | null;
  /**
   * Prefix length (in the family of the address asked) of the block the database (or overlay) answered with
   * this location, lengthened to the longest overlay network nested inside it.
   */
  prefix: number;
}

interface CountryPoint {
  continent?: string;
  lat?: number;
  lon?: number;
}

const COUNTRIES = COUNTRY_POINTS as Record<string, CountryPoint>;

/** The country point table (continent and population centre per ISO code). */
export function countryPoint(code: string): CountryPoint | undefined {
  return COUNTRIES[code];
}

// ---- database records ---------------------------------------------------------------------------

export interface GeoFields {
  lat?: number;
  lon?: number;
  country?: string;
  continent?: string;
  subdivision?: string;
}

type Rec = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const obj = (v: unknown): Rec | undefined => (v && typeof v === 'object' ? (v as Rec) : undefined);

/** Reads both schemas: GeoIP2/GeoLite2 (nested) and @ip-location-db (flat). */
export function readRecord(r: Rec): GeoFields {
  const loc = obj(r.location);
  const subs = Array.isArray(r.subdivisions) ? obj(r.subdivisions[0]) : undefined;
  const out: GeoFields = {
    lat: num(loc?.latitude) ?? num(r.latitude),
    lon: num(loc?.longitude) ?? num(r.longitude),
    country: str(obj(r.country)?.iso_code) ?? str(r.country_code) ?? str(obj(r.registered_country)?.iso_code),
    continent: str(obj(r.continent)?.code) ?? str(r.continent_code) ?? str(r.continent),
    subdivision: str(subs?.iso_code) ?? str(r.state1_code),
  };
  if (out.country) out.country = out.country.toUpperCase();
  return out;
}

/** Where a database record places a client: at its coordinates, else at its country's point (coarse), else nowhere. */
export function recordPlace(f: GeoFields): Place {
  const c = f.country ? countryPoint(f.country) : undefined;
  const base = { country: f.country, continent: f.continent ?? c?.continent, subdivision: f.subdivision };
  if (f.lat !== undefined && f.lon !== undefined) return { source: 'database', lat: f.lat, lon: f.lon, ...base };
  if (c?.lat !== undefined && c.lon !== undefined) return { source: 'coarse', lat: c.lat, lon: c.lon, ...base };
  // a continent alone is no position (neither coordinates nor country = unknown:
  // docs/dns-behaviour.md#step-1-locate-the-client)
  return { source: 'unknown', ...base };
}

/**
 * Where an overlay network places a client: pinned to a region (at the region's point), at a location, or at
 * a country's point (like a country-only record).
 */
export function overlayPlace(o: GeoOverlay, regionPoint: (region: string) => [number, number] | undefined): Place {
  const pinned = o.region ? regionPoint(o.region) : undefined;
  const c = o.country ? countryPoint(o.country) : undefined;
  return {
    source: 'overlay',
    region: o.region,
    lat: o.location?.[0] ?? pinned?.[0] ?? c?.lat,
    lon: o.location?.[1] ?? pinned?.[1] ?? c?.lon,
    country: o.country,
    continent: o.continent ?? c?.continent,
  };
}

// ---- the locator --------------------------------------------------------------------------------

export interface GeoDatabase {
  path: string;
  /** The file's bytes: the decision tables are compiled from them (compile.ts). */
  bytes: Buffer;
  reader: Reader<Rec>;
  description: string;
  mtimeMs: number;
  stamp: string;
  ipVersion: number;
}

/** The bundled CC0 country database (IPv4 + IPv6), used when `geoip.database` is not set. */
export function bundledDatabasePath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
}

/** Decoded records by data offset, bounded (cleared when full: cheap, and hot entries come straight back). */
class RecordCache {
  private readonly map = new Map<string | number, unknown>();

  constructor(private readonly max: number) {}

  get(key: string | number): unknown {
    return this.map.get(key);
  }

  set(key: string | number, value: unknown): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, value);
  }
}

/** Opens a MaxMind DB file; throws with a readable message when it is not one. */
export function openDatabase(path: string): GeoDatabase {
  const st = statSync(path);
  // a directory, or a link to a named pipe or a device: reading would fail, block the event loop or never end
  const kind = notARegularFile(st);
  if (kind) throw new Error(`${path}: not a MaxMind DB: it is ${kind}`);
  const buf = readFileSync(path);
  // without the metadata marker the reader fails with a message about the first bytes it misreads
  const metadataAt = metadataStart(buf);
  if (metadataAt < 0)
    throw new Error(`${path}: not a readable MaxMind DB: no metadata section (the file is truncated or of another format)`);
  let reader: Reader<Rec>;
  try {
    reader = new Reader<Rec>(buf, { cache: new RecordCache(10_000) });
  } catch (e) {
    throw new Error(`${path}: not a readable MaxMind DB: ${(e as Error).message}`);
  }
  // the search tree, the separator after it and every value of the data section (mmdb-check.ts)
  const md = reader.metadata;
  const bad = layoutError(buf, md, metadataAt);
  if (bad) throw new Error(`${path}: corrupt MaxMind DB: ${bad}`);
  // a broken tree or data section throws on lookups: walk a spread of addresses of each family
  try {
    for (let i = 0; i < 256; i += 5) reader.getWithPrefixLength(`${i}.${(i * 37) & 255}.${(i * 91) & 255}.1`);
    if (md.ipVersion === 6)
      for (const a of ['2001:4860::1', '2a00:1450::1', '2400:cb00::1', '2600:1f00::1', '::1']) reader.getWithPrefixLength(a);
  } catch (e) {
    throw new Error(`${path}: corrupt MaxMind DB: ${(e as Error).message}`);
  }
  return {
    path,
    bytes: buf,
    reader,
    description: md.databaseType,
    mtimeMs: st.mtimeMs,
    stamp: `${st.ino}:${st.size}:${st.mtimeMs}`,
    ipVersion: md.ipVersion,
  };
}

/** Identity of a database file on disk: a replaced or rewritten file has another stamp. */
export function databaseStamp(path: string): string {
  const st = statSync(path);
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export class GeoLocator {
  private readonly overlays4: GeoOverlay[];
  private readonly overlays6: GeoOverlay[];

  constructor(
    overlays: GeoOverlay[],
    readonly db: GeoDatabase | null,
    private readonly regionPoint: (region: string) => [number, number] | undefined,
  ) {
    const byLength = (a: GeoOverlay, b: GeoOverlay) => b.network.prefix - a.network.prefix;
    this.overlays4 = overlays.filter((o) => o.network.family === 4).sort(byLength);
    this.overlays6 = overlays.filter((o) => o.network.family === 6).sort(byLength);
  }

  /** Locates an address (4 or 16 bytes). */
  locate(addr: Uint8Array): Location {
    const e = embeddedIPv4(addr);
    if (e) {
      const inner = this.lookup(e.v4);
      // the embedded block, expressed as a prefix of the IPv6 address asked
      return { ...inner, prefix: e.offsetBits < 0 ? 128 : Math.min(128, e.offsetBits + inner.prefix) };
    }
    return this.lookup(addr);
  }

  /**
   * Where a private address that no overlay network maps is: nowhere (a private address says nothing of
   * where its network is, and is not unique across networks). The block is the private range, or the
   * query's source prefix when that is longer, lengthened for overlay networks inside it.
   */
  unlocatedPrivate(addr: Uint8Array, sourcePrefix: number): Location {
    const e = embeddedIPv4(addr);
    if (e && e.offsetBits === 96) {
      // an IPv4-mapped address is the IPv4 address it carries, as in locate(): the IPv4 overlays lengthen its block
      const inner = this.unlocatedPrivate(e.v4, Math.max(0, sourcePrefix - 96));
      return { ...inner, network: `::ffff:${inner.network}`, prefix: 96 + inner.prefix };
    }
    const overlays = addr.length === 4 ? this.overlays4 : this.overlays6;
    const range = Math.max(privatePrefix(addr) ?? addr.length * 8, Math.min(sourcePrefix, addr.length * 8));
    return {
      source: 'unknown',
      network: `${bytesToIp(maskBytes(addr, range))}/${range}`,
      prefix: this.nestedPrefix(overlays, addr, range),
    };
  }

  private lookup(addr: Uint8Array): Location {
    const overlays = addr.length === 4 ? this.overlays4 : this.overlays6;
    const o = overlays.find((x) => inNetwork(x.network, addr));
    if (o)
      return { ...overlayPlace(o, this.regionPoint), network: o.network.text, prefix: this.nestedPrefix(overlays, addr, o.network.prefix) };
    if (!this.db) return { source: 'unknown', network: null, prefix: this.nestedPrefix(overlays, addr, 0) };
    // an IPv4-only database knows nothing of IPv6 (its reader would walk the IPv4 tree with IPv6 bits)
    if (this.db.ipVersion === 4 && addr.length === 16)
      return { source: 'unknown', network: '::/0', prefix: this.nestedPrefix(overlays, addr, 0) };
    let rec: Rec | null;
    let dbPrefix: number;
    try {
      [rec, dbPrefix] = this.db.reader.getWithPrefixLength(bytesToIp(addr));
    } catch {
      // a damaged database (MaxMind publishes such test files) must not fail the query: unknown here
      return { source: 'unknown', network: null, prefix: addr.length * 8 };
    }
    const prefix = this.nestedPrefix(overlays, addr, dbPrefix);
    const network = `${bytesToIp(maskBytes(addr, dbPrefix))}/${dbPrefix}`;
    if (!rec) return { source: 'unknown', network, prefix };
    return { ...recordPlace(readRecord(rec)), network, prefix };
  }

  /**
   * A block answered one way may contain overlay networks answered another way: the ECS scope must then
   * be at least as long as the longest overlay network inside the block (docs/dns-behaviour.md#step-7-ecs-scope).
   */
  private nestedPrefix(overlays: GeoOverlay[], addr: Uint8Array, prefix: number): number {
    let p = prefix;
    const block = { bytes: maskBytes(addr, prefix), prefix };
    for (const o of overlays) {
      // the scope is at least as long as any overlay network inside the block (that is safe; one bit past
      // the prefix the address shares with the overlay would be too, and wider, but the contract names the
      // overlay's length: docs/dns-behaviour.md#step-7-ecs-scope)
      if (o.network.prefix > p && inNetwork(block, o.network.bytes)) p = o.network.prefix;
    }
    return p;
  }
}
