// Zone files (`zones/*.yaml`, spec §3): schema, record parsing, pools, and the whole-zone rules that
// `steerdns check` enforces. The result is a plain ZoneSpec; src/dns/zone.ts prepares it for answering.
import { createHash } from 'node:crypto';
import { validateHeaderValue } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { splitFastRecords, type FastEntry, type FastRecords, type FastValue } from './fast-records.js';
import { RECORD_PARSERS, RECORD_TYPES, type RecordData, type RecordType } from './records.js';
import { deniedProbeNetwork, durationOf, type HealthDefaults, type ServerConfig } from './server-config.js';
import { entryMap, SourceFile, displayPath, notARegularFile, reportable, type Diagnostic, type Entry } from './source.js';
import { isHostName, isSubdomain, parentName, relativeName, resolveName, wireLength } from '../dns/name.js';
import { bytesToIp, ipFamily, ipToBytes, unmappedIPv4, type Family } from '../net/address.js';

export interface RRsetSpec {
  type: RecordType;
  ttl: number;
  records: RecordData[];
  /** Where it is written (an offset: a zone of a million names keeps no YAML nodes around). */
  at: number;
}

export interface TargetSpec {
  address: string;
  family: Family;
  bytes: Buffer;
  weight: number;
  state: 'up' | 'down';
  at: Node;
}

export interface PoolRegionSpec {
  region: string;
  targets: TargetSpec[];
  at: Node;
}

export interface CheckSpec {
  type: 'tcp' | 'http' | 'https' | 'none';
  port: number;
  path: string;
  host: string;
  headers: Record<string, string>;
  expect: number[];
  body: string | null;
  insecure: boolean;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  initial: 'up' | 'down';
  /** Where the check is written (for diagnostics that span files; not part of what is probed). */
  pos?: { line: number; col: number };
}

export type SelectMode = 'round-robin' | 'weighted' | 'random' | 'sticky' | 'fastest';
export type AllDown = { kind: 'serve-all' } | { kind: 'nodata' } | { kind: 'servfail' } | { kind: 'fallback'; pool: string; at: Node };

export interface PoolSpec {
  name: string;
  ttl: number;
  policy: 'nearest' | 'failover' | 'map';
  map: { key: string; regions: string[] }[];
  answers: number;
  select: SelectMode;
  minHealthy: { count: number } | { percent: number };
  familyFallback: 'none' | 'next-region';
  allDown: AllDown;
  check: CheckSpec;
  regions: PoolRegionSpec[];
  at: Node;
}

export interface NameSpec {
  name: string;
  /** Where the name is written (offset in the file). */
  at: number;
  rrsets: Map<RecordType, RRsetSpec>;
  pool: PoolSpec | null;
}

export interface SoaSpec {
  mname: string;
  rname: string;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  ttl: number;
  serial: number | null;
}

export interface ZoneSpec {
  file: string;
  origin: string;
  originPos: { line: number; col: number };
  ttl: number;
  soa: SoaSpec;
  names: Map<string, NameSpec>;
  /** Hash of everything that answers are made of: a change moves the automatic serial. */
  contentHash: string;
}

export interface ZoneResult {
  zone: ZoneSpec | null;
  diagnostics: Diagnostic[];
}

const MAX_TTL = 2_147_483_647; // RFC 2181 §8
const ZONE_KEYS = ['origin', 'ttl', 'soa', 'records'];
const SOA_KEYS = ['ns', 'email', 'refresh', 'retry', 'expire', 'minimum', 'serial', 'ttl'];
const POOL_KEYS = ['ttl', 'policy', 'map', 'answers', 'select', 'min_healthy', 'family_fallback', 'all_down', 'check', 'regions'];
const CHECK_KEYS = ['type', 'port', 'path', 'host', 'headers', 'expect', 'body', 'insecure', 'interval', 'timeout', 'rise', 'fall', 'initial'];

/**
 * Headers that break the probe, refused in a check's `headers:` (why, for the message). Node throws on
 * Trailer only when the request ends; a body length on a GET without a body leaves the backend waiting for it
 * until the timeout. (Host and Connection, which the probe sets itself, are warnings: zones written before
 * this rule used them, and refusing them would keep such a zone from loading after an upgrade.)
 */
const PROBE_BREAKING_HEADERS: Record<string, string> = {
  trailer: 'the probe\'s GET has no body, so no trailer (Node refuses to send it)',
  'content-length': 'the probe\'s GET has no body (the backend would wait for one until the timeout)',
  'transfer-encoding': 'the probe\'s GET has no body (the backend would wait for one until the timeout)',
};
const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

export function loadZoneFile(path: string, cfg: ServerConfig): ZoneResult {
  const display = displayPath(path);
  let raw: Buffer;
  let fd: number | null = null;
  try {
    // a directory, or a link to a named pipe or a device: reading would fail, block for ever or never end.
    // Checked before opening, as opening a named pipe blocks until a writer comes.
    const notFile = notAFile(statSync(path));
    if (notFile) return fail(display, notFile);
    // then one descriptor for the checks and the reading: the file swapped or grown in between cannot get
    // past them (an atomic rename after the stat gives the new file, checked again here)
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    const notFileNow = notAFile(st);
    if (notFileNow) return fail(display, notFileNow);
    const limit = cfg.limits.zoneBytes;
    const over = (size: number) => fail(display, `zone file is ${size} bytes, over limits.zone_bytes (${limit})`);
    if (st.size > limit) return over(st.size);
    // to the end of the file, but never more than limit + 1 bytes: one more than the limit means the file
    // grew past it since fstat
    let buf = Buffer.allocUnsafe(Math.min(st.size, limit) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > limit) {
          const now = fstatSync(fd).size;
          return now > limit ? over(now) : fail(display, `zone file grew past limits.zone_bytes (${limit}) while being read`);
        }
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, limit + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    raw = buf.subarray(0, got);
  } catch (e) {
    const link = (e as NodeJS.ErrnoException).code === 'ENOENT' ? danglingLink(path) : null;
    return fail(display, link ? `cannot read zone file: it is a symbolic link to ${link}, which does not exist` : `cannot read zone file: ${(e as Error).message}`);
  } finally {
    if (fd !== null) closeSync(fd);
  }
  // read as UTF-8, invalid bytes would silently become U+FFFD (and be served so in TXT records)
  const bad = notText(raw);
  if (bad) return fail(display, bad.message, bad.line, bad.col);
  return parseZone(path, raw.toString('utf8'), cfg);
}

/** Why a file's status is not a regular file's (as the message ends), or null for a regular file. */
function notAFile(st: Stats): string | null {
  const kind = notARegularFile(st);
  return kind && `not a zone file: it is ${kind}`;
}

function danglingLink(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

/** The first NUL or invalid UTF-8 byte of a file, with its position; null for UTF-8 text. */
function notText(b: Buffer): { message: string; line: number; col: number } | null {
  let at = b.indexOf(0);
  let message = 'zone file is binary, not text (a NUL byte)';
  if (!isUtf8(b)) {
    for (let i = 0; i < b.length && (at < 0 || i < at);) {
      const c = b[i]!;
      const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
      if (n === 0 || i + n > b.length || !isUtf8(b.subarray(i, i + n))) {
        at = i;
        message = `zone file is not UTF-8 text (byte 0x${c.toString(16).padStart(2, '0')})`;
        break;
      }
      i += n;
    }
  }
  if (at < 0) return null;
  const lineStart = b.lastIndexOf(0x0a, at - 1) + 1;
  let line = 1;
  for (let i = b.indexOf(0x0a); i >= 0 && i < at; i = b.indexOf(0x0a, i + 1)) line++;
  return { message, line, col: b.subarray(lineStart, at).toString('utf8').length + 1 };
}

function fail(file: string, message: string, line = 1, col = 1): ZoneResult {
  return { zone: null, diagnostics: [{ file, line, col, message, severity: 'error' }] };
}

export function parseZone(path: string, text: string, cfg: ServerConfig, opts: { fastRecords?: boolean } = {}): ZoneResult {
  const r = readZone(path, text, cfg, opts);
  return { zone: r.zone, diagnostics: reportable(r.diagnostics) };
}

function readZone(path: string, text: string, cfg: ServerConfig, opts: { fastRecords?: boolean }): ZoneResult {
  // a large zone's one-line records are read directly; the rest goes through the YAML parser as usual
  const fast = splitFastRecords(text, opts.fastRecords === false ? Infinity : 2000);
  const src = new SourceFile(path, fast.yamlText);
  if (src.hasErrors) return { zone: null, diagnostics: src.diagnostics };
  const root = src.root;
  if (root === null) {
    src.error(0, 'zone file is empty (it needs origin, soa and records)');
    return { zone: null, diagnostics: src.diagnostics };
  }
  const top = src.map(root, 'zone file');
  if (!top) return { zone: null, diagnostics: src.diagnostics };
  src.knownKeys(top, ZONE_KEYS, 'zone file');
  const e = entryMap(top);
  for (const k of ['origin', 'soa', 'records']) if (!e.has(k)) src.error(root, `zone file needs ${k}`);

  const originRaw = e.get('origin') ? src.string(e.get('origin')!.value, 'origin') : null;
  let origin: string | null = null;
  if (originRaw !== null) {
    const o = resolveName(originRaw.endsWith('.') ? originRaw : `${originRaw}.`, '');
    if (typeof o === 'string') origin = o;
    else src.error(e.get('origin')!.value, `origin: ${o.error}`);
  }
  let ttl = 3600;
  if (e.get('ttl')) ttl = readTtl(src, e.get('ttl')!.value, 'ttl') ?? ttl;
  if (origin === null) return { zone: null, diagnostics: src.diagnostics };

  const soa = e.get('soa') ? readSoa(src, e.get('soa')!.value, origin, ttl) : null;
  const z = new ZoneReader(src, cfg, origin, ttl);
  if (e.get('records')) z.readRecords(e.get('records')!.value, fast);
  if (soa) z.checkZone(e.get('soa')!.keyNode);
  if (src.hasErrors || !soa) return { zone: null, diagnostics: src.diagnostics };
  const originPos = src.position(e.get('origin')!.value);
  const zone: ZoneSpec = { file: path, origin, originPos, ttl, soa, names: z.names, contentHash: '' };
  zone.contentHash = hashZone(zone);
  return { zone, diagnostics: src.diagnostics };
}

function readTtl(src: SourceFile, node: Node | null, what: string): number | null {
  return src.integer(node, `${what} (seconds)`, 0, MAX_TTL);
}

function readSoa(src: SourceFile, node: Node | null, origin: string, ttl: number): SoaSpec | null {
  const entries = src.map(node, 'soa');
  if (!entries) return null;
  src.knownKeys(entries, SOA_KEYS, 'soa');
  const e = entryMap(entries);
  for (const k of ['ns', 'email']) if (!e.has(k)) src.error(node, `soa needs ${k}`);
  const nsRaw = e.get('ns') ? src.string(e.get('ns')!.value, 'soa.ns') : null;
  const mname = nsRaw === null ? null : resolveName(nsRaw, origin);
  if (typeof mname === 'object' && mname !== null) src.error(e.get('ns')!.value, `soa.ns: ${mname.error}`);
  const emailRaw = e.get('email') ? src.string(e.get('email')!.value, 'soa.email') : null;
  let rname: string | null = null;
  if (emailRaw !== null) {
    const at = emailRaw.indexOf('@');
    if (at >= 0) {
      const local = emailRaw.slice(0, at);
      const domain = resolveName(`${emailRaw.slice(at + 1)}.`, '');
      if (!/^[A-Za-z0-9._+-]{1,63}$/.test(local) || typeof domain !== 'string') {
        src.error(e.get('email')!.value, `soa.email "${emailRaw}" is not a valid address`);
      } else rname = `${local.replace(/\./g, '\\.')}.${domain}`;
    } else {
      const n = resolveName(emailRaw, origin);
      if (typeof n === 'string') rname = n;
      else src.error(e.get('email')!.value, `soa.email: ${n.error}`);
    }
  }
  const u32 = (k: string, def: number, min = 0) => {
    const x = e.get(k);
    return x ? src.integer(x.value, `soa.${k}`, min, 4_294_967_295) : def;
  };
  const refresh = u32('refresh', 7200);
  const retry = u32('retry', 3600);
  const expire = u32('expire', 1_209_600);
  const minimum = e.get('minimum') ? readTtl(src, e.get('minimum')!.value, 'soa.minimum') : 60;
  const serial = e.get('serial') ? u32('serial', 0) : null;
  const soaTtl = e.get('ttl') ? readTtl(src, e.get('ttl')!.value, 'soa.ttl') : ttl;
  if (typeof mname !== 'string' || rname === null || refresh === null || retry === null || expire === null
    || minimum === null || soaTtl === null || (e.get('serial') && serial === null)) return null;
  return { mname, rname, refresh, retry, expire, minimum, ttl: soaTtl, serial };
}

class ZoneReader {
  readonly names = new Map<string, NameSpec>();
  private currentName = '';

  constructor(private readonly src: SourceFile, private readonly cfg: ServerConfig,
    private readonly origin: string, private readonly ttl: number) {}

  readRecords(node: Node | null, fast: FastRecords | null = null): void {
    // every record line may have been taken by the fast reader: `records:` then has no value left here
    const entries = fast?.count && this.src.scalar(node) === null ? [] : this.src.map(node, 'records');
    for (const ent of entries ?? []) this.readName(ent);
    // a valid line is taken directly; anything the quick reading cannot vouch for goes the usual way,
    // so its error reads exactly as it would otherwise
    fast?.each((f) => {
      if (!this.readFastName(f)) this.readName(fastEntry(f));
    });
  }

  /** A fast line of A/AAAA/CNAME/NS/PTR records, when every part of it is valid; false otherwise. */
  private readFastName(f: FastEntry): boolean {
    const { origin } = this;
    const name = resolveName(f.key.value, origin, { owner: true });
    if (typeof name !== 'string' || !isSubdomain(name, origin) || this.names.has(name)) return false;
    let ttl = this.ttl;
    const rrsets = new Map<RecordType, RRsetSpec>();
    for (const field of f.fields) {
      if (field.key.value === 'ttl') {
        ttl = Number(field.values[0]!.value);
        if (ttl > MAX_TTL) return false;
      }
    }
    for (const field of f.fields) {
      const type = field.key.value as RecordType;
      if (type === ('ttl' as RecordType)) continue;
      if (type === 'CNAME' && field.values.length !== 1) return false;
      const records: RecordData[] = [];
      for (const v of field.values) {
        let r: RecordData;
        if (type === 'A' || type === 'AAAA') {
          if (ipFamily(v.value) !== (type === 'A' ? 4 : 6)) return false;
          r = { rdata: ipToBytes(v.value), text: v.value.toLowerCase() };
        } else {
          const target = resolveName(v.value, origin);
          if (typeof target !== 'string') return false;
          r = { rdata: nameWire(target), text: `${target}.` };
        }
        for (const x of records) if (x.rdata.equals(r.rdata)) return false;
        records.push(r);
      }
      rrsets.set(type, { type, ttl, records, at: field.key.at });
    }
    this.names.set(name, { name, at: f.key.at, rrsets, pool: null });
    return true;
  }

  private readName(ent: Entry): void {
    const { src, origin } = this;
    const name = resolveName(ent.key, origin, { owner: true });
    if (typeof name !== 'string') {
      src.error(ent.keyNode, `name ${name.error}`);
      return;
    }
    if (!isSubdomain(name, origin)) {
      src.error(ent.keyNode, `name "${ent.key}" is outside the zone's origin ${origin}.`);
      return;
    }
    const label = `"${ent.key}"`;
    if (this.names.has(name)) {
      src.error(ent.keyNode, `name ${label} is given twice (names are case-insensitive)`);
      return;
    }
    const body = src.map(ent.value, `name ${label}`);
    if (!body) return;
    const spec: NameSpec = { name, at: src.offsetOf(ent.keyNode), rrsets: new Map(), pool: null };
    this.currentName = name;
    const b = entryMap(body);
    let ttl = this.ttl;
    if (b.get('ttl')) ttl = readTtl(src, b.get('ttl')!.value, `${label} ttl`) ?? ttl;
    for (const item of body) {
      if (item.key === 'ttl') continue;
      if (item.key === 'pool') {
        spec.pool = this.readPool(name, item);
        continue;
      }
      const type = item.key.toUpperCase();
      if (type === 'SOA') {
        src.error(item.keyNode, `SOA is written in the zone's soa: section, not under records`);
        continue;
      }
      if (!(type in RECORD_TYPES)) {
        src.error(item.keyNode, `unknown key "${item.key}" at ${label} (expected ttl, pool or a record type: ${Object.keys(RECORD_TYPES).join(', ')})`);
        continue;
      }
      if (spec.rrsets.has(type as RecordType)) {
        src.error(item.keyNode, `${type} is given twice at ${label}`);
        continue;
      }
      const rrset = this.readRRset(type as RecordType, item, label, ttl);
      if (rrset) spec.rrsets.set(rrset.type, rrset);
    }
    if (spec.rrsets.size === 0 && !spec.pool && !src.hasErrors) src.error(ent.keyNode, `name ${label} has no records`);
    this.names.set(name, spec);
  }

  private readRRset(type: RecordType, item: Entry, label: string, ttl: number): RRsetSpec | null {
    const { src } = this;
    const what = `${type} at ${label}`;
    if (item.value === null || src.scalar(item.value) === null && !src.isSeq(item.value) && !src.isMap(item.value)) {
      src.error(item.keyNode, `${what} has no value`);
      return null;
    }
    // TXT: a list of strings is several records, a list item that is itself a list is one record of several strings.
    const items = src.isSeq(item.value) ? src.list(item.value) : [item.value];
    if (type === 'CNAME' && items.length !== 1) {
      src.error(item.value, `${what}: a name has at most one CNAME`);
      return null;
    }
    const parser = RECORD_PARSERS[type];
    const records: RecordData[] = [];
    for (const node of items) {
      const r = parser({ src, origin: this.origin }, node, what);
      if (!r) continue;
      if (records.some((x) => x.rdata.equals(r.rdata))) {
        src.error(node, `${what}: duplicate record ${r.text}`);
        continue;
      }
      records.push(r);
    }
    if (records.length === 0) return null;
    // header, the question, each record with a compressed owner, and an OPT: it must fit in one message
    const size = 12 + wireLength(this.currentName) + 4 + records.reduce((n, r) => n + 12 + r.rdata.length, 0) + 64;
    if (size > 65535) {
      src.error(item.keyNode, `${what} is about ${size} octets on the wire: it cannot fit in a DNS message (65535 octets, even over TCP)`);
      return null;
    }
    return { type, ttl, records, at: src.offsetOf(item.keyNode) };
  }

  // ---- pools ---------------------------------------------------------------------------------

  private readPool(name: string, item: Entry): PoolSpec | null {
    const { src, cfg } = this;
    const label = `pool "${relativeName(name, this.origin)}"`;
    const entries = src.map(item.value, label);
    if (!entries) return null;
    src.knownKeys(entries, POOL_KEYS, label);
    const e = entryMap(entries);
    const pool: PoolSpec = {
      name, ttl: 30, policy: 'nearest', map: [], answers: 0, select: 'round-robin', minHealthy: { count: 1 },
      familyFallback: 'none', allDown: { kind: 'serve-all' }, check: null as unknown as CheckSpec, regions: [], at: item.keyNode,
    };
    if (e.get('ttl')) pool.ttl = readTtl(src, e.get('ttl')!.value, `${label} ttl`) ?? pool.ttl;
    if (e.get('policy')) pool.policy = src.oneOf(e.get('policy')!.value, `${label} policy`, ['nearest', 'failover', 'map'] as const) ?? pool.policy;
    if (e.get('answers')) pool.answers = src.integer(e.get('answers')!.value, `${label} answers (0 = all)`, 0, 64) ?? 0;
    if (e.get('select')) {
      pool.select = src.oneOf(e.get('select')!.value, `${label} select`, ['round-robin', 'weighted', 'random', 'sticky', 'fastest'] as const) ?? pool.select;
    }
    if (e.get('min_healthy')) {
      const node = e.get('min_healthy')!.value;
      const v = src.scalar(node);
      if (typeof v === 'string' && /^\d{1,3}%$/.test(v) && Number(v.slice(0, -1)) <= 100) pool.minHealthy = { percent: Number(v.slice(0, -1)) };
      else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) pool.minHealthy = { count: v };
      else src.error(node, `${label} min_healthy must be a count or a percentage such as "50%"`);
    }
    if (e.get('family_fallback')) {
      pool.familyFallback = src.oneOf(e.get('family_fallback')!.value, `${label} family_fallback`, ['none', 'next-region'] as const) ?? 'none';
    }
    if (e.get('all_down')) pool.allDown = this.readAllDown(e.get('all_down')!.value, label) ?? pool.allDown;

    const checkEnt = e.get('check');
    if (!checkEnt) src.error(item.keyNode, `${label} has no check (write check: { type: none } to serve without probing)`);
    else pool.check = this.readCheck(checkEnt.value, `${label} check`, name) as CheckSpec;

    const regEnt = e.get('regions');
    if (!regEnt) src.error(item.keyNode, `${label} has no regions`);
    else this.readPoolRegions(pool, regEnt.value, label);

    const mapEnt = e.get('map');
    if (mapEnt) {
      if (pool.policy !== 'map') src.error(mapEnt.keyNode, `${label}: map is only used with policy: map`);
      else this.readMap(pool, mapEnt.value, label);
    } else if (pool.policy === 'map') src.error(item.keyNode, `${label}: policy map needs a map: table`);

    const weighted = pool.regions.flatMap((r) => r.targets).find((t) => t.weight !== 0 && t.weight !== 1);
    if (weighted && pool.select !== 'weighted') {
      src.error(weighted.at, `${label}: weight ${weighted.weight} needs select: weighted (without it only 0 = standby and 1 are allowed)`);
    }
    return pool;
  }

  private readAllDown(node: Node | null, label: string): AllDown | null {
    const { src } = this;
    if (src.isMap(node)) {
      const entries = src.map(node, `${label} all_down`) ?? [];
      src.knownKeys(entries, ['fallback'], `${label} all_down`);
      const f = entryMap(entries).get('fallback');
      if (!f) {
        src.error(node, `${label} all_down must be serve-all, nodata, servfail or { fallback: POOL }`);
        return null;
      }
      const raw = src.string(f.value, `${label} all_down fallback`);
      if (raw === null) return null;
      const n = resolveName(raw, this.origin);
      if (typeof n !== 'string') {
        src.error(f.value, `${label} all_down fallback: ${n.error}`);
        return null;
      }
      return { kind: 'fallback', pool: n, at: f.value ?? f.keyNode };
    }
    const v = src.oneOf(node, `${label} all_down`, ['serve-all', 'nodata', 'servfail'] as const);
    return v ? { kind: v } : null;
  }

  private readCheck(node: Node | null, what: string, poolName: string): CheckSpec | null {
    const { src, cfg } = this;
    const entries = src.map(node, what);
    if (!entries) return null;
    src.knownKeys(entries, CHECK_KEYS, what);
    const e = entryMap(entries);
    const h: HealthDefaults = cfg.health;
    if (!e.get('type')) {
      src.error(node, `${what} needs type (tcp, http, https or none)`);
      return null;
    }
    const type = src.oneOf(e.get('type')!.value, `${what} type`, ['tcp', 'http', 'https', 'none'] as const);
    if (!type) return null;
    const check: CheckSpec = {
      type, port: type === 'https' ? 443 : 80, path: '/', host: poolName, headers: {}, expect: [200], body: null, insecure: false,
      intervalMs: h.intervalMs, timeoutMs: h.timeoutMs, rise: h.rise, fall: h.fall, initial: 'up', pos: src.position(node!),
    };
    if (e.get('port')) check.port = src.integer(e.get('port')!.value, `${what} port`, 1, 65535) ?? check.port;
    else if (type === 'tcp') src.error(node, `${what}: a tcp check needs port`);
    if (e.get('path')) {
      const p = src.string(e.get('path')!.value, `${what} path`);
      // Node sends a path of U+0021–U+00FF only (one octet each) and throws on anything else
      const beyond = p === null ? null : /[^\u0000-\u00ff]/u.exec(p)?.[0];
      if (p !== null && (!p.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(p))) src.error(e.get('path')!.value, `${what} path must start with "/" and contain no spaces or control characters`);
      else if (beyond) src.error(e.get('path')!.value, `${what} path contains "${JSON.stringify(beyond).slice(1, -1)}" (${codePoint(beyond)}), which cannot be sent in a request line: percent-encode it${percentEncoded(beyond)}`);
      else if (p !== null) check.path = p;
    }
    if (e.get('host')) {
      const hst = src.string(e.get('host')!.value, `${what} host`);
      if (hst !== null && !isHostName(hst.replace(/\.$/, '').toLowerCase())) src.error(e.get('host')!.value, `${what} host "${hst}" is not a host name`);
      else if (hst !== null) check.host = hst.replace(/\.$/, '');
    }
    if (e.get('headers')) {
      for (const hd of src.map(e.get('headers')!.value, `${what} headers`) ?? []) {
        const v = src.string(hd.value, `${what} header ${hd.key}`);
        const name = hd.key.toLowerCase();
        const breaking = PROBE_BREAKING_HEADERS[name];
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(hd.key)) src.error(hd.keyNode, `${what}: "${hd.key}" is not a valid header name`);
        else if (breaking) src.error(hd.keyNode, `${what}: header ${hd.key} cannot be set in headers: ${breaking}`);
        else if (name === 'connection') src.warn(hd.keyNode, `${what}: header ${hd.key} is ignored: each probe opens its own connection and closes it (Connection: close)`);
        else if (name === 'host') {
          // the probe sends host: as Host and as TLS SNI; a Host header stands for host: when that is not written
          const hv = v?.replace(/\.$/, '') ?? null;
          if (hv === null) continue;
          if (e.get('host')) {
            if (hv.toLowerCase() !== check.host.toLowerCase()) src.error(hd.value, `${what}: header ${hd.key} "${v}" differs from host: "${check.host}" (the probe sends host: as Host and as TLS SNI)`);
            else src.warn(hd.keyNode, `${what}: header ${hd.key} repeats host: and is ignored`);
          } else if (!isHostName(hv.toLowerCase())) src.error(hd.value, `${what}: header ${hd.key} "${v}" is not a host name (write the port in port:)`);
          else {
            check.host = hv;
            src.warn(hd.keyNode, `${what}: header ${hd.key} is taken as host: "${hv}" (sent as Host and as TLS SNI): write host: instead`);
          }
        }
        else if (v !== null && /[\r\n\x00]/.test(v)) src.error(hd.value, `${what}: header ${hd.key} contains a line break`);
        else if (v !== null && !sendableHeaderValue(hd.key, v)) {
          const bad = /[^\t\x20-\x7e\x80-\xff]/u.exec(v)?.[0] ?? '';
          src.error(hd.value, `${what}: header ${hd.key} contains ${bad ? `"${JSON.stringify(bad).slice(1, -1)}" (${codePoint(bad)})` : 'a character'} that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)`);
        } else if (v !== null) check.headers[hd.key] = v;
      }
    }
    if (e.get('expect')) {
      check.expect = [];
      for (const x of src.list(e.get('expect')!.value)) {
        const n = src.integer(x, `${what} expect status`, 100, 599);
        if (n !== null) check.expect.push(n);
      }
    }
    if (e.get('body')) check.body = src.string(e.get('body')!.value, `${what} body`);
    if (e.get('insecure')) check.insecure = src.boolean(e.get('insecure')!.value, `${what} insecure`) ?? false;
    if (e.get('interval')) check.intervalMs = durationOf(src, e.get('interval')!.value, `${what} interval`, 100) ?? check.intervalMs;
    if (e.get('timeout')) check.timeoutMs = durationOf(src, e.get('timeout')!.value, `${what} timeout`, 10) ?? check.timeoutMs;
    if (e.get('rise')) check.rise = src.integer(e.get('rise')!.value, `${what} rise`, 1, 100) ?? check.rise;
    if (e.get('fall')) check.fall = src.integer(e.get('fall')!.value, `${what} fall`, 1, 100) ?? check.fall;
    if (e.get('initial')) check.initial = src.oneOf(e.get('initial')!.value, `${what} initial`, ['up', 'down'] as const) ?? 'up';
    if (type !== 'none' && check.timeoutMs >= check.intervalMs) {
      src.warn(e.get('timeout')?.value ?? e.get('interval')?.value ?? node, `${what}: timeout ${check.timeoutMs}ms is not shorter than the interval ${check.intervalMs}ms: probes run back to back and a hanging target takes fall × timeout to go down`);
    }
    if (type !== 'http' && type !== 'https') {
      for (const k of ['path', 'host', 'headers', 'expect', 'body', 'insecure']) {
        if (e.get(k)) src.error(e.get(k)!.keyNode, `${what}: ${k} only applies to http and https checks`);
      }
    }
    return check;
  }

  private readPoolRegions(pool: PoolSpec, node: Node | null, label: string): void {
    const { src, cfg } = this;
    const entries = src.map(node, `${label} regions`);
    if (!entries) return;
    if (entries.length === 0) src.error(node, `${label} has no regions`);
    /** Canonical address → as first written. */
    const seen = new Map<string, string>();
    const probes = pool.check !== null && pool.check.type !== 'none';
    for (const r of entries) {
      if (!cfg.regions.has(r.key)) {
        src.error(r.keyNode, `${label}: region "${r.key}" is not declared in steerdns.yaml`);
        continue;
      }
      const region: PoolRegionSpec = { region: r.key, targets: [], at: r.keyNode };
      const items = src.isSeq(r.value) ? src.list(r.value) : null;
      if (!items || items.length === 0) {
        src.error(r.value ?? r.keyNode, `${label}: region "${r.key}" needs a list of target addresses`);
        continue;
      }
      for (const t of items) {
        const target = this.readTarget(t, `${label} region "${r.key}" target`);
        if (!target) continue;
        // one address written two ways (2001:db8::1, 2001:DB8:0::1) is still one RR and one probe; an IPv4
        // host and its IPv4-mapped form (::ffff:192.0.2.1) are one host and one probe
        const host = unmappedIPv4(target.address);
        const prev = seen.get(host);
        if (prev !== undefined) {
          src.error(t, prev === target.written ? `${label}: target ${target.written} is listed twice`
            : ipFamily(prev) !== target.family
              ? `${label}: target ${target.written} is listed twice: it and ${prev} are one IPv4 host (${host}), once in its IPv4-mapped IPv6 form`
              : `${label}: target ${target.written} is listed twice: it is ${prev} written another way (both are ${target.address})`);
          continue;
        }
        seen.set(host, target.written);
        if (probes) this.checkProbeDestination(target, label);
        const { written: _written, ...spec } = target;
        region.targets.push(spec);
      }
      pool.regions.push(region);
    }
  }

  private readTarget(node: Node, what: string): (TargetSpec & { written: string }) | null {
    const { src } = this;
    let addrNode: Node | null = node;
    let weight = 1;
    let state: 'up' | 'down' = 'up';
    if (src.isMap(node)) {
      const entries = src.map(node, what) ?? [];
      src.knownKeys(entries, ['address', 'weight', 'state'], what);
      const e = entryMap(entries);
      if (!e.get('address')) {
        src.error(node, `${what} needs address`);
        return null;
      }
      addrNode = e.get('address')!.value;
      if (e.get('weight')) weight = src.integer(e.get('weight')!.value, `${what} weight`, 0, 1000) ?? 1;
      if (e.get('state')) state = src.oneOf(e.get('state')!.value, `${what} state`, ['up', 'down'] as const) ?? 'up';
    }
    const address = src.string(addrNode, `${what} address`);
    if (address === null) return null;
    const family = ipFamily(address);
    if (!family) {
      src.error(addrNode, `${what}: "${address}" is not an IP address`);
      return null;
    }
    const bytes = ipToBytes(address);
    // the canonical text (RFC 5952 for IPv6): the same address has one form in health keys, /status and metrics
    return { address: bytesToIp(bytes), written: address, family, bytes, weight, state, at: addrNode ?? node };
  }

  /** A probed target must not be in a network `health.deny` closes (and `health.allow` does not reopen). */
  private checkProbeDestination(target: TargetSpec & { written: string }, label: string): void {
    const denied = deniedProbeNetwork(this.cfg.health, target.bytes);
    if (!denied) return;
    this.src.error(target.at, `${label}: target ${target.written} is in ${denied.text}, a network health checks may not probe (health.deny in steerdns.yaml${denied.byDefault ? ', by default' : ''}); list it under health.allow to probe it, or use check: { type: none }`);
  }

  private readMap(pool: PoolSpec, node: Node | null, label: string): void {
    const { src } = this;
    const entries = src.map(node, `${label} map`);
    if (!entries) return;
    const poolRegions = new Set(pool.regions.map((r) => r.region));
    for (const m of entries) {
      const k = m.key;
      const valid = k === 'default' || /^continent:[A-Z]{2}$/.test(k) && CONTINENTS.includes(k.slice(10))
        || /^[A-Z]{2}$/.test(k) || /^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(k);
      if (!valid) {
        src.error(m.keyNode, `${label} map key "${k}" must be continent:XX, a country code (GB), a subdivision (US-CA) or default`);
        continue;
      }
      const regions: string[] = [];
      for (const x of src.list(m.value)) {
        const r = src.string(x, `${label} map region`);
        if (r === null) continue;
        if (!poolRegions.has(r)) src.error(x, `${label} map "${k}": region "${r}" is not one of the pool's regions`);
        else regions.push(r);
      }
      if (regions.length === 0) src.error(m.value ?? m.keyNode, `${label} map "${k}" needs at least one region`);
      pool.map.push({ key: k, regions });
    }
    if (!pool.map.some((m) => m.key === 'default')) src.error(node, `${label} map needs a default entry`);
  }

  // ---- whole-zone rules ------------------------------------------------------------------------

  checkZone(soaAt: Node): void {
    const { src, origin, names } = this;
    const rel = (n: string) => `"${relativeName(n, origin)}"`;
    const apex = names.get(origin);
    if (!apex?.rrsets.has('NS')) src.error(apex?.at ?? soaAt, `the apex (@) needs NS records`);
    const cuts = new Set([...names.values()].filter((n) => n.name !== origin && n.rrsets.has('NS')).map((n) => n.name));
    const cutAbove = (name: string): string | null => {
      for (let p = parentName(name); p !== origin && p !== ''; p = parentName(p)) if (cuts.has(p)) return p;
      return null;
    };

    for (const spec of names.values()) {
      const types = [...spec.rrsets.keys()];
      const label = rel(spec.name);
      if (spec.rrsets.has('CNAME') && (types.length > 1 || spec.pool || spec.name === origin)) {
        const others = [...types.filter((t) => t !== 'CNAME'), ...(spec.pool ? ['a pool'] : [])].join(', ');
        src.error(spec.rrsets.get('CNAME')!.at, `CNAME at ${label} stands beside other data (${spec.name === origin ? 'the apex has SOA and NS' : others})`);
      }
      if (spec.pool) {
        for (const t of ['A', 'AAAA'] as const) {
          if (spec.rrsets.has(t)) src.error(spec.rrsets.get(t)!.at, `static ${t} at ${label} stands beside a pool (the pool owns the name's A and AAAA)`);
        }
        if (spec.rrsets.has('NS') && spec.name !== origin) src.error(spec.pool.at, `pool at ${label} stands beside a delegation (NS)`);
        this.checkFallback(spec.pool);
      }
      const above = cutAbove(spec.name);
      if (above) {
        const bad = types.filter((t) => t !== 'A' && t !== 'AAAA');
        if (bad.length || spec.pool) {
          src.error(spec.at, `${label} is below the zone cut at ${rel(above)}: only A/AAAA glue may be written there, not ${spec.pool ? 'a pool' : bad.join(', ')}`);
        }
      } else if (cuts.has(spec.name)) {
        const bad = types.filter((t) => !['NS', 'DS', 'A', 'AAAA'].includes(t));
        if (bad.length) src.error(spec.at, `${label} is a delegation: only NS, DS and glue addresses may be written there, not ${bad.join(', ')}`);
      } else if (spec.rrsets.has('DS')) {
        src.error(spec.rrsets.get('DS')!.at, `DS at ${label}: DS records belong at a delegation (a name with NS)`);
      }
      if (spec.name.startsWith('*.') && spec.rrsets.has('NS')) src.error(spec.rrsets.get('NS')!.at, `NS at the wildcard ${label} is not allowed`);
      for (const t of ['A', 'AAAA'] as const) {
        if (spec.rrsets.has(t) && !isHostName(spec.name.replace(/^\*\./, ''))) {
          src.warn(spec.rrsets.get(t)!.at, `${label} has an address record but is not a valid host name`);
        }
      }
    }

    // Targets of CNAME, NS, MX and SRV: host names, not aliases (RFC 2181 §10.3), never the owner itself.
    const nsTargets = new Set<string>();
    for (const spec of names.values()) {
      const label = rel(spec.name);
      for (const type of ['CNAME', 'NS', 'MX', 'SRV'] as const) {
        const set = spec.rrsets.get(type);
        for (const r of set?.records ?? []) {
          const target = r.text.slice(r.text.lastIndexOf(' ') + 1).slice(0, -1);
          if (type === 'NS') nsTargets.add(target);
          if (type === 'CNAME') {
            if (target === spec.name) src.error(set!.at, `CNAME at ${label} points at itself`);
            continue;
          }
          if (target === '' && type !== 'NS') continue; // "." : no service (RFC 7505 null MX, RFC 2782)
          if (!isLdhHostName(target)) {
            src.error(set!.at, `${type} at ${label}: ${target || '.'}. is not a host name (letters, digits and hyphens)`);
          } else if (names.get(target)?.rrsets.has('CNAME')) {
            src.error(set!.at, `${type} at ${label}: ${target}. is an alias (CNAME); ${type} must point at the canonical name (RFC 2181 §10.3)`);
          }
        }
      }
    }
    // Below a cut only glue is written; glue that no name server uses is never served.
    for (const spec of names.values()) {
      const above = cutAbove(spec.name);
      if (!above) continue;
      if (spec.name.startsWith('*.')) src.error(spec.at, `${rel(spec.name)}: a wildcard below the zone cut at ${rel(above)} is never served`);
      else if (!nsTargets.has(spec.name) && (spec.rrsets.has('A') || spec.rrsets.has('AAAA'))) {
        src.warn(spec.at, `${rel(spec.name)} is below the zone cut at ${rel(above)} but no NS record names it: it is glue for nothing and never served`);
      }
    }

    // Name servers inside the zone must have addresses: glue below a cut, address records elsewhere.
    for (const spec of names.values()) {
      const ns = spec.rrsets.get('NS');
      if (!ns) continue;
      for (const r of ns.records) {
        const target = r.text.slice(0, -1);
        if (!isSubdomain(target, origin) || names.get(target)?.rrsets.has('CNAME')) continue;
        const t = names.get(target);
        const hasAddress = !!t && (t.rrsets.has('A') || t.rrsets.has('AAAA') || (!!t.pool && !cutAbove(target)));
        if (hasAddress) continue;
        const isGlue = spec.name !== origin && isSubdomain(target, spec.name);
        src.error(ns.at, isGlue
          ? `delegation ${rel(spec.name)}: name server ${target}. is below the cut and needs glue (A or AAAA at ${rel(target)})`
          : `NS at ${rel(spec.name)}: name server ${target}. is inside the zone but has no A or AAAA record`);
      }
    }
  }

  private checkFallback(pool: PoolSpec): void {
    if (pool.allDown.kind !== 'fallback') return;
    const target = this.names.get(pool.allDown.pool);
    if (!target?.pool) {
      this.src.error(pool.allDown.at, `pool "${relativeName(pool.name, this.origin)}": all_down fallback "${relativeName(pool.allDown.pool, this.origin)}" is not a pool of this zone`);
    } else if (target.name === pool.name) {
      this.src.error(pool.allDown.at, `pool "${relativeName(pool.name, this.origin)}": all_down fallback points at itself`);
    }
  }
}

/** A domain name in wire form (uncompressed), as dns-packet encodes it for NS/CNAME/PTR RDATA. */
function nameWire(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const out = Buffer.allocUnsafe(name.length + 2);
  let o = 0;
  for (const label of name.split('.')) {
    out[o++] = label.length;
    o += out.write(label, o, 'latin1');
  }
  out[o] = 0;
  return out;
}

/** A fast-read line as the YAML nodes the reader takes (with the same positions), built one at a time. */
function fastEntry(f: FastEntry): Entry {
  const scalar = (v: FastValue): Scalar => {
    const sc = new Scalar(v.value);
    sc.range = [v.at, v.at + v.length, v.at + v.length];
    return sc;
  };
  const map = new YAMLMap();
  for (const field of f.fields) {
    let value: Node;
    if (field.list) {
      const seq = new YAMLSeq();
      for (const v of field.values) seq.items.push(scalar(v));
      seq.range = [field.values[0]!.at - 1, field.values[field.values.length - 1]!.at, field.values[field.values.length - 1]!.at];
      value = seq;
    } else value = scalar(field.values[0]!);
    const ttlValue = field.key.value === 'ttl' ? new Scalar(Number(field.values[0]!.value)) : null;
    if (ttlValue) ttlValue.range = (value as Scalar).range;
    map.items.push(new Pair(scalar(field.key), ttlValue ?? value));
  }
  map.range = [f.key.at, f.key.at, f.key.at];
  return { key: f.key.value, keyNode: scalar(f.key), value: map };
}

/** A host name as RFC 952/1123 has it: letters, digits and inner hyphens (no underscore), or the root. */
function isLdhHostName(name: string): boolean {
  return name === '' || name.split('.').every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}

/** A stable digest of the zone's answer data (records, TTLs, SOA fields but the serial, pools without their
 * health checks, which are server behaviour, not zone content: editing `health:` defaults moves no serial). */
function hashZone(z: ZoneSpec): string {
  const h = createHash('sha256');
  const { serial: _serial, ...soa } = z.soa;
  h.update(JSON.stringify({ origin: z.origin, ttl: z.ttl, soa }));
  for (const name of [...z.names.keys()].sort()) {
    const n = z.names.get(name)!;
    h.update(`\n${name}`);
    for (const t of [...n.rrsets.keys()].sort()) {
      const rr = n.rrsets.get(t)!;
      h.update(`\n ${t} ${rr.ttl} ${rr.records.map((r) => r.rdata.toString('hex')).sort().join(',')}`);
    }
    if (n.pool) h.update(`\n pool ${JSON.stringify(n.pool, (k, v) => (k === 'at' || k === 'bytes' || k === 'check' ? undefined : v))}`);
  }
  return h.digest('hex');
}

/** " (%E2%82%AC)" for a character, or nothing for one UTF-8 cannot encode (a lone surrogate). */
function percentEncoded(c: string): string {
  try {
    return ` (${encodeURIComponent(c)})`;
  } catch {
    return '';
  }
}

/** "U+20AC" for a character. */
function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether Node will send this header value (it throws on control characters and characters beyond U+00FF). */
function sendableHeaderValue(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
