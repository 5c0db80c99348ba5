// In-process lookups for the table-driven tests of the RFC 1034 lookup rules (test/dns/lookup-*.test.ts):
// zone YAML goes through the real loader (parseServerConfig, parseZone) and the zone builder, as
// src/snapshot.ts does, and the lookup answers; sections come back in presentation form (dns/present.ts).
// Every table runs twice: against the flat zones the server answers from (lookupFlat()) and against the same
// zones in the object form of the oracle (object-zone.ts, object-lookup.ts), with the same expectations.
// This is the ONE place the lookup tables call lookup, the zone preparation (src/served-zone.ts) or the pool
// resolver: a change of their signatures is adapted here.
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig, type ServerConfig } from '../../src/config/server-config.js';
import type { Diagnostic } from '../../src/config/source.js';
import { parseZone } from '../../src/config/zone-file.js';
import { FlatAnswer, flatSections } from '../../src/dns/flat-answer.js';
import { lookupFlat } from '../../src/dns/flat-lookup.js';
import { FlatZones } from '../../src/dns/flat-zone.js';
import { rrsetLines } from '../../src/dns/present.js';
import { rcodeName, typeCode } from '../../src/dns/registry.js';
import type { RRset } from '../../src/dns/rrset.js';
import { poolResolver } from '../../src/gslb/decide.js';
import type { GeoContext } from '../../src/gslb/locate.js';
import type { Pool } from '../../src/gslb/pool.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { ALL_UP } from '../../src/health/table.js';
import { prepareZone } from '../../src/served-zone.js';
import { geoContext } from '../../src/snapshot.js';
import { lookup, type ZoneTable } from './object-lookup.js';
import { type ObjectZone, prepareObjectZone } from './object-zone.js';

/** Zone files by file name (`example.test.yaml`) → YAML text. */
export type Zones = Readonly<Record<string, string>>;

export interface LookupResult {
  rcode: string;
  aa: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
  /** The additional records a referral must carry whole (in-domain glue, RFC 9471), a prefix of `additional`. */
  mandatory: string[];
}

/** Which form of the zones answers: the prepared object zones, or the flat layout. */
export type ZoneForm = 'object' | 'flat';
export const ZONE_FORMS: readonly ZoneForm[] = ['object', 'flat'];

export interface LookupOptions {
  /** Default: the object zones. */
  form?: ZoneForm;
  /** steerdns.yaml text (default: three regions, no GeoIP overlay). */
  config?: string;
  /** The query's source address (default 192.0.2.200: located by nothing, so regions keep written order). */
  from?: string;
}

const DIR = '/srv/steerdns';
export const LOOKUP_CONFIG = `
listen: ["127.0.0.1:53"]
regions:
  us-east:  { location: [39.0, -77.5] }
  eu-west:  { location: [53.3, -6.3] }
  ap-south: { location: [19.1, 72.9] }
`;
/** The serial of a zone that writes none (the server would take it from its serial store). */
export const DEFAULT_SERIAL = 1;

const fmt = (d: Diagnostic) => `${d.file}:${d.line}:${d.col}: ${d.message}`;
/** Prepared zones and where clients are: what the server's snapshot gives lookup() and the pool resolver. */
export interface LookupTable extends ZoneTable<Pool> {
  geo: GeoContext;
  /** The same zones in the flat layout (each zone file read a second time: preparing consumes the names). */
  flat: FlatZones<Pool>;
}

const tables = new WeakMap<Zones, Map<string, LookupTable>>();

/** The zone table of `zones` under `config`, prepared once per (zones object, config). */
export function zoneTable(zones: Zones, config = LOOKUP_CONFIG): LookupTable {
  let byConfig = tables.get(zones);
  if (!byConfig) {
    byConfig = new Map();
    tables.set(zones, byConfig);
  }
  const known = byConfig.get(config);
  if (known) return known;
  const cfgResult = parseServerConfig(join(DIR, 'steerdns.yaml'), config);
  const cfgErrors = cfgResult.diagnostics.filter((d) => d.severity === 'error');
  if (!cfgResult.config || cfgErrors.length) throw new Error(cfgErrors.map(fmt).join('\n'));
  const cfg: ServerConfig = cfgResult.config;
  const built = new Map<string, ObjectZone>();
  const flat = [];
  for (const [file, text] of Object.entries(zones)) {
    const read = () => {
      const r = parseZone(join(cfg.zonesDir, file), text, cfg);
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      if (!r.zone || errors.length) throw new Error(`${file} does not load:\n${errors.map(fmt).join('\n')}`);
      return r.zone;
    };
    const spec = read();
    if (built.has(spec.origin)) throw new Error(`${file}: zone ${spec.origin} is defined twice`);
    built.set(spec.origin, prepareObjectZone(spec, spec.soa.serial ?? DEFAULT_SERIAL, cfg));
    const again = read();
    flat.push(prepareZone(again, again.soa.serial ?? DEFAULT_SERIAL, cfg));
  }
  const table: LookupTable = { zones: built, geo: geoContext(cfg, null), flat: new FlatZones(flat) };
  byConfig.set(config, table);
  return table;
}

/**
 * Looks `qname` (presentation form, any case, trailing dot optional) of type `qtype` (a mnemonic or TYPEnnn)
 * up in `zones`, as the server would for a query of class IN: every pool target up, a fresh round-robin
 * (each answer starts at the first target), a fixed random source.
 */
export function lookupIn(zones: Zones, qname: string, qtype: string, opts: LookupOptions = {}): LookupResult {
  const table = zoneTable(zones, opts.config);
  const type = typeCode(qtype.toUpperCase());
  if (type === null) throw new Error(`unknown type ${qtype}`);
  // the query parser's internal form: lower case, no trailing dot, the root ""
  const name = qname === '.' ? '' : qname.replace(/\.$/, '').toLowerCase();
  const client = { address: opts.from ?? '192.0.2.200', ecs: null };
  const resolver = poolResolver({ health: ALL_UP, rotation: new Rotation(), random: () => 0 }, () => table.geo);
  const lines = (sets: RRset[]) => sets.flatMap(rrsetLines);
  if (opts.form === 'flat') {
    const ans = lookupFlat(table.flat, name, type, client, resolver, new FlatAnswer());
    const sets = flatSections(ans);
    return {
      rcode: rcodeName(ans.rcode),
      aa: ans.aa,
      answer: lines(sets.answer),
      authority: lines(sets.authority),
      additional: lines(sets.additional),
      mandatory: lines(sets.additional.slice(0, ans.mandatoryAdditional)),
    };
  }
  const ans = lookup(table, name, type, client, resolver);
  return {
    rcode: rcodeName(ans.rcode),
    aa: ans.aa,
    answer: lines(ans.answer),
    authority: lines(ans.authority),
    additional: lines(ans.additional),
    mandatory: lines(ans.additional.slice(0, ans.mandatoryAdditional)),
  };
}

/** One row of a lookup table: a query and the whole expected result (sections default to empty). */
export interface LookupCase {
  /** The behaviour, as the test title. */
  name: string;
  qname: string;
  qtype: string;
  /** The zones to ask (default: the file's shared zones). */
  zones?: Zones;
  rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';
  /** Default: true when the rcode is not REFUSED. */
  aa?: boolean;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  /** Checked only when given. */
  mandatory?: string[];
}

/** The result a row expects, in the shape lookupIn returns (`mandatory` only when the row gives it). */
export function expected(c: LookupCase): Omit<LookupResult, 'mandatory'> & { mandatory?: string[] } {
  return {
    rcode: c.rcode,
    aa: c.aa ?? c.rcode !== 'REFUSED',
    answer: c.answer ?? [],
    authority: c.authority ?? [],
    additional: c.additional ?? [],
    ...(c.mandatory ? { mandatory: c.mandatory } : {}),
  };
}

/** What lookupIn answered for a row, shaped like expected(row). */
export function actual(c: LookupCase, shared: Zones, opts?: LookupOptions): ReturnType<typeof expected> {
  const { mandatory, ...rest } = lookupIn(c.zones ?? shared, c.qname, c.qtype, opts);
  return c.mandatory ? { ...rest, mandatory } : rest;
}

/**
 * Registers each row as a test twice, against the object zones and the flat zones, expecting the same: the
 * title names the row (and `(flat zone)` for the second).
 */
export function lookupTable(cases: readonly LookupCase[], shared: Zones, opts: LookupOptions = {}): void {
  for (const c of cases) {
    for (const form of ZONE_FORMS) {
      test(`${c.name} — ${c.qname} ${c.qtype}${form === 'flat' ? ' (flat zone)' : ''}`, (t) => {
        t.deepEqual(actual(c, shared, { ...opts, form }), expected(c));
      });
    }
  }
}
