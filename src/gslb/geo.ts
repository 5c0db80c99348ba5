// Locating a client (spec §5 step 1): the `geoip.networks` overlay first (longest prefix wins), then the
// GeoIP database (MaxMind GeoIP2/GeoLite2 City or Country schema, or the flat schema of the
// @ip-location-db packages). A country-only record is placed at the country's population centre
// (generated at build time from GeoNames, tools/country-points.mjs) and marked coarse. IPv4-mapped, 6to4
// and Teredo IPv6 addresses are looked up by their embedded IPv4 address.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'maxmind';
import type { GeoOverlay } from '../config/server-config.js';
import { notARegularFile } from '../config/source.js';
import { bytesToIp } from '../net/address.js';
import { inNetwork, maskBytes } from '../net/cidr.js';
import { embeddedIPv4, privatePrefix } from '../net/ranges.js';
import COUNTRY_POINTS from './country-points.generated.json' with { type: 'json' };

export type LocationSource = 'overlay' | 'database' | 'coarse' | 'unknown';

export interface Location {
  source: LocationSource;
  /** Overlay pin to a region. */
  region?: string;
  lat?: number;
  lon?: number;
  country?: string;
  continent?: string;
  subdivision?: string;
  /** The block that decided (overlay network or database network), "addr/len". */
  network: string | null;
  /**
   * Prefix length (in the family of the address asked) of the largest block around the address that gets
   * this same location, shortened for overlay networks nested inside it — the ECS scope basis.
   */
  prefix: number;
  /** Set when the location is cached for its whole /24 (/56): results may then be memoized on it. */
  shared?: boolean;
  /** A shared location's identity (never reused): the key of per-pool results memoized for it (memo.ts). */
  id?: number;
}

let nextLocationId = 1;

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

interface GeoFields {
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

// ---- the locator --------------------------------------------------------------------------------

export interface GeoDatabase {
  path: string;
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
  const metadataAt = buf.lastIndexOf(METADATA_MARKER);
  if (metadataAt < 0) throw new Error(`${path}: not a readable MaxMind DB: no metadata section (the file is truncated or of another format)`);
  let reader: Reader<Rec>;
  try {
    reader = new Reader<Rec>(buf, { cache: new RecordCache(10_000) });
  } catch (e) {
    throw new Error(`${path}: not a readable MaxMind DB: ${(e as Error).message}`);
  }
  // the search tree must end before the metadata (MaxMind's "invalid node count" test file does not)
  const md = reader.metadata;
  if (md.searchTreeSize + 16 > metadataAt) {
    throw new Error(`${path}: corrupt MaxMind DB: the search tree (${md.nodeCount} nodes) runs past the data section`);
  }
  // the tree ends with the 16 zero bytes of the data section separator: a node count or record size that is
  // off by a little still lands inside the file, but not on them
  if (!buf.subarray(md.searchTreeSize, md.searchTreeSize + 16).equals(SEPARATOR)) {
    throw new Error(`${path}: corrupt MaxMind DB: no data section separator after the search tree (${md.nodeCount} nodes of ${md.recordSize} bits): the node count or record size is wrong`);
  }
  // the reader trusts the sizes it is given (a double of 2 bytes is read as 8, and the record around it as
  // garbage): every value of the data section is checked once, here
  const bad = checkDataSection(buf, md.searchTreeSize + 16, metadataAt);
  if (bad) throw new Error(`${path}: corrupt MaxMind DB: ${bad}`);
  // a broken tree or data section throws on lookups: walk a spread of addresses of each family
  try {
    for (let i = 0; i < 256; i += 5) reader.getWithPrefixLength(`${i}.${(i * 37) & 255}.${(i * 91) & 255}.1`);
    if (md.ipVersion === 6) for (const a of ['2001:4860::1', '2a00:1450::1', '2400:cb00::1', '2600:1f00::1', '::1']) reader.getWithPrefixLength(a);
  } catch (e) {
    throw new Error(`${path}: corrupt MaxMind DB: ${(e as Error).message}`);
  }
  return { path, reader, description: md.databaseType, mtimeMs: st.mtimeMs, stamp: `${st.ino}:${st.size}:${st.mtimeMs}`, ipVersion: md.ipVersion };
}

const SEPARATOR = Buffer.alloc(16);
const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);

/** Maps and arrays nested deeper than this in the data section are refused (real databases nest 4 deep). */
export const MAX_DATA_DEPTH = 64;

/** The data types of the MaxMind DB format by number (0: extended), as named in messages. */
const MMDB_TYPE_WORDS = ['an extended type', 'a pointer', 'a string', 'a double', 'a bytes field', 'a uint16', 'a uint32', 'a map', 'an int32',
  'a uint64', 'a uint128', 'an array', 'a data cache container', 'an end marker', 'a boolean', 'a float'];
/** Payload bytes by type: exactly (double, float) or at most (integers); -1 for no limit. */
const EXACT_BYTES = [-1, -1, -1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 4];
const MAX_BYTES = [-1, -1, -1, -1, -1, 2, 4, -1, 4, 8, 16, -1, -1, -1, -1, -1];
const SIZE_WORDS = ['', '', '', 'doubles are 8', '', 'uint16s are at most 2', 'uint32s are at most 4', '', 'int32s are at most 4',
  'uint64s are at most 8', 'uint128s are at most 16', '', '', '', '', 'floats are 4'];

/** The type number of the value whose control byte is at `at` (an extended type's from its second byte). */
function typeAt(buf: Uint8Array, at: number): number {
  const t = buf[at]! >>> 5;
  return t === 0 ? 7 + (buf[at + 1] ?? 0) : t;
}

/**
 * Walks the data section (file bytes `start` to `end`, the metadata marker) value by value, per the MaxMind
 * DB spec: every control byte, size and payload, every pointer. Returns what is wrong with it, or null.
 * Iterative: maps and arrays are a stack of at most MAX_DATA_DEPTH counters. Refused: a double that is not
 * 8 bytes or a float not 4 (the reader reads 8 and 4 whatever the size says), integers longer than their
 * type, a boolean other than 0 or 1, unknown and deprecated types, a map key that is not a string, a value
 * running past the end, values nested too deep, and pointers that leave the data section, do not land on
 * the start of a value, land on another pointer (illegal) or on a map or array they are inside (a loop).
 */
function checkDataSection(buf: Uint8Array, start: number, end: number): string | null {
  const len = end - start;
  const past = (what: string, off: number) => `${what} at data offset ${off} runs past the end of the data section (${len} bytes)`;
  // where each value starts (a pointer must land on one), a bit per byte
  const starts = new Uint8Array((len >>> 3) + 1);
  // the open maps and arrays: items left in each (a map's keys and values both count), where it starts
  const left = new Int32Array(MAX_DATA_DEPTH + 1);
  const opened = new Int32Array(MAX_DATA_DEPTH + 1);
  const isMap = new Uint8Array(MAX_DATA_DEPTH + 1);
  let depth = 0;
  // pointers to data not walked yet: (pointer offset, target, 1 for a map key) triples, checked at the end
  const ahead: number[] = [];
  let i = start;
  while (i < end) {
    const off = i - start;
    starts[off >>> 3] |= 1 << (off & 7);
    const ctrl = buf[i]!;
    let type = ctrl >>> 5;
    if (type === 1) {
      // 001SSVVV: SS + 1 more bytes of pointer; sizes 1 and 2 add 2048 and 526336; size 3 ignores VVV
      const ss = (ctrl >>> 3) & 3;
      if (i + 2 + ss > end) return past('a pointer', off);
      let target: number;
      if (ss === 0) target = ((ctrl & 7) << 8) | buf[i + 1]!;
      else if (ss === 1) target = (((ctrl & 7) << 16) | (buf[i + 1]! << 8) | buf[i + 2]!) + 2048;
      else if (ss === 2) target = ((ctrl & 7) * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!)) + 526336;
      else target = buf[i + 1]! * 0x1000000 + ((buf[i + 2]! << 16) | (buf[i + 3]! << 8) | buf[i + 4]!);
      i += 2 + ss;
      if (target >= len) return `a pointer at data offset ${off} to data offset ${target}, outside the data section (${len} bytes)`;
      if (target < off) {
        const to = buf[start + target]! >>> 5;
        if ((starts[target >>> 3]! & (1 << (target & 7))) === 0 || to === 1 || (to !== 2 && atKey(depth, isMap, left))) {
          return pointerTarget(buf, start, starts, off, target, atKey(depth, isMap, left));
        }
        // pointing back at a map or array it is inside: the reader would follow it for ever
        if (depth > 0 && target >= opened[1]!) {
          for (let d = 1; d <= depth; d++) {
            if (opened[d] === target) return `a pointer at data offset ${off} to data offset ${target}, ${MMDB_TYPE_WORDS[isMap[d] ? 7 : 11]} that contains it (a loop)`;
          }
        }
      } else ahead.push(off, target, atKey(depth, isMap, left) ? 1 : 0);
    } else {
      let p = i + 1;
      if (type === 0) {
        if (p >= end) return past('an extended type', off);
        type = 7 + buf[p++]!;
        if (type < 8 || type > 15) return `an unknown data type (extended type byte ${type - 7}) at data offset ${off}`;
      }
      let size = ctrl & 31;
      if (size >= 29) {
        // 29, 30, 31: the size is 29, 285 or 65,821 plus the next 1, 2 or 3 bytes
        const n = size - 28;
        if (p + n > end) return past(MMDB_TYPE_WORDS[type]!, off);
        size = n === 1 ? 29 + buf[p]! : n === 2 ? 285 + ((buf[p]! << 8) | buf[p + 1]!) : 65_821 + ((buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!);
        p += n;
      }
      if (type !== 2 && atKey(depth, isMap, left)) return `a map key at data offset ${off} is ${MMDB_TYPE_WORDS[type]} (keys are strings)`;
      if (type === 7 || type === 11) {
        if (depth === MAX_DATA_DEPTH) return `maps and arrays nested more than ${MAX_DATA_DEPTH} deep at data offset ${off}`;
        if (size > 0) {
          depth++;
          left[depth] = type === 7 ? size * 2 : size;
          opened[depth] = off;
          isMap[depth] = type === 7 ? 1 : 0;
          i = p;
          continue;
        }
        i = p;
      } else if (type === 14) {
        // a boolean's size is its value: no payload
        if (size > 1) return `a boolean of size ${size} at data offset ${off} (booleans are 0 or 1)`;
        i = p;
      } else {
        if (type === 12 || type === 13) return `${MMDB_TYPE_WORDS[type]} at data offset ${off} (a deprecated type, not read by readers)`;
        if ((EXACT_BYTES[type]! >= 0 && size !== EXACT_BYTES[type]) || (MAX_BYTES[type]! >= 0 && size > MAX_BYTES[type]!)) {
          return `${MMDB_TYPE_WORDS[type]} of ${size} bytes at data offset ${off} (${SIZE_WORDS[type]})`;
        }
        if (p + size > end) return past(MMDB_TYPE_WORDS[type]!, off);
        i = p + size;
      }
    }
    // a value done: so are the maps and arrays it was the last item of
    while (depth > 0 && --left[depth] === 0) depth--;
  }
  if (depth > 0) return past(MMDB_TYPE_WORDS[isMap[depth] ? 7 : 11]!, opened[depth]!);
  for (let k = 0; k < ahead.length; k += 3) {
    const bad = pointerTarget(buf, start, starts, ahead[k]!, ahead[k + 1]!, ahead[k + 2] === 1);
    if (bad) return bad;
  }
  return null;
}

/** Whether the next value is a map key: a map's items alternate key, value, so its count left is even before a key. */
function atKey(depth: number, isMap: Uint8Array, left: Int32Array): boolean {
  return depth > 0 && isMap[depth] === 1 && (left[depth]! & 1) === 0;
}

/** A pointer's target, in the data walked: the start of a value, not a pointer, a string for a map key. */
function pointerTarget(buf: Uint8Array, start: number, starts: Uint8Array, off: number, target: number, key: boolean): string | null {
  if ((starts[target >>> 3]! & (1 << (target & 7))) === 0) return `a pointer at data offset ${off} to data offset ${target}, which is not the start of a value`;
  const type = typeAt(buf, start + target);
  if (type === 1) return `a pointer at data offset ${off} to another pointer (at data offset ${target})`;
  if (key && type !== 2) return `a map key at data offset ${off} points to ${MMDB_TYPE_WORDS[type] ?? 'an unknown type'} at data offset ${target} (keys are strings)`;
  return null;
}

/** Identity of a database file on disk: a replaced or rewritten file has another stamp. */
export function databaseStamp(path: string): string {
  const st = statSync(path);
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

const CACHE_MAX = 65_536;

export class GeoLocator {
  private readonly overlays4: GeoOverlay[];
  private readonly overlays6: GeoOverlay[];
  private readonly cache4 = new Map<number, Location>();
  private readonly cache6 = new Map<string, Location>();

  constructor(overlays: GeoOverlay[], readonly db: GeoDatabase | null,
    private readonly regionPoint: (region: string) => [number, number] | undefined) {
    const byLength = (a: GeoOverlay, b: GeoOverlay) => b.network.prefix - a.network.prefix;
    this.overlays4 = overlays.filter((o) => o.network.family === 4).sort(byLength);
    this.overlays6 = overlays.filter((o) => o.network.family === 6).sort(byLength);
  }

  /**
   * Locates an address (4 or 16 bytes). Cached per /24 (/56) when the whole block shares the answer; a
   * cached Location is returned as is (the same object for every address of the block).
   */
  locate(addr: Uint8Array): Location {
    const e = embeddedIPv4(addr);
    if (e) {
      const inner = this.locate(e.v4);
      // the embedded block, expressed as a prefix of the IPv6 address asked
      return { ...inner, shared: false, id: undefined, prefix: e.offsetBits < 0 ? 128 : Math.min(128, e.offsetBits + inner.prefix) };
    }
    if (addr.length === 4) {
      const key = (addr[0]! << 16) | (addr[1]! << 8) | addr[2]!;
      const hit = this.cache4.get(key);
      if (hit) return hit;
      const loc = this.lookup(addr);
      if (loc.prefix <= 24) {
        if (this.cache4.size >= CACHE_MAX) this.cache4.clear();
        loc.shared = true;
        loc.id = nextLocationId++;
        this.cache4.set(key, loc);
      }
      return loc;
    }
    const key = Buffer.from(addr.buffer, addr.byteOffset, 7).toString('latin1');
    const hit = this.cache6.get(key);
    if (hit) return hit;
    const loc = this.lookup(addr);
    if (loc.prefix <= 56) {
      if (this.cache6.size >= CACHE_MAX) this.cache6.clear();
      loc.shared = true;
      loc.id = nextLocationId++;
      this.cache6.set(key, loc);
    }
    return loc;
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
    return { source: 'unknown', network: `${bytesToIp(maskBytes(addr, range))}/${range}`, prefix: this.nestedPrefix(overlays, addr, range) };
  }

  private lookup(addr: Uint8Array): Location {
    const overlays = addr.length === 4 ? this.overlays4 : this.overlays6;
    const o = overlays.find((x) => inNetwork(x.network, addr));
    if (o) {
      const pinned = o.region ? this.regionPoint(o.region) : undefined;
      const c = o.country ? countryPoint(o.country) : undefined;
      return {
        source: 'overlay', region: o.region, network: o.network.text,
        prefix: this.nestedPrefix(overlays, addr, o.network.prefix),
        // an overlay with only a country is placed at the country point, like a country-only record
        lat: o.location?.[0] ?? pinned?.[0] ?? c?.lat, lon: o.location?.[1] ?? pinned?.[1] ?? c?.lon,
        country: o.country, continent: o.continent ?? c?.continent,
      };
    }
    if (!this.db) return { source: 'unknown', network: null, prefix: this.nestedPrefix(overlays, addr, 0) };
    // an IPv4-only database knows nothing of IPv6 (its reader would walk the IPv4 tree with IPv6 bits)
    if (this.db.ipVersion === 4 && addr.length === 16) return { source: 'unknown', network: '::/0', prefix: this.nestedPrefix(overlays, addr, 0) };
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
    const f = readRecord(rec);
    const c = f.country ? countryPoint(f.country) : undefined;
    const base = { network, prefix, country: f.country, continent: f.continent ?? c?.continent, subdivision: f.subdivision };
    if (f.lat !== undefined && f.lon !== undefined) return { source: 'database', lat: f.lat, lon: f.lon, ...base };
    if (c?.lat !== undefined && c.lon !== undefined) return { source: 'coarse', lat: c.lat, lon: c.lon, ...base };
    // a continent alone is no position (spec §5 step 1: neither coordinates nor country = unknown)
    return { source: 'unknown', ...base };
  }

  /**
   * A block answered one way may contain overlay networks answered another way: the ECS scope must then
   * be at least as long as the longest overlay network inside the block (spec §4).
   */
  private nestedPrefix(overlays: GeoOverlay[], addr: Uint8Array, prefix: number): number {
    let p = prefix;
    const block = { bytes: maskBytes(addr, prefix), prefix };
    for (const o of overlays) {
      // spec §4: the scope is at least as long as any overlay network inside the block (that is safe; one
      // bit past the prefix the address shares with the overlay would be too, and wider, but the contract
      // names the overlay's length)
      if (o.network.prefix > p && inNetwork(block, o.network.bytes)) p = o.network.prefix;
    }
    return p;
  }
}
