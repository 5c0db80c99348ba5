// Zone files (`zones/*.yaml`, docs/zone-format.md): the entry that reads one file into a ZoneSpec. Here: the
// file itself (not a file, too large, a dangling link, not UTF-8 text), the top-level keys, the fast path for
// the one-line records of large zones, and the content hash. The parts: zone-records.ts (soa and names),
// zone-pools.ts (pools and checks), zone-rules.ts (the rules between records); the types are zone-spec.ts's.
// The result is a plain ZoneSpec; src/served-zone.ts prepares it for answering.

import { type Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { isSubdomain, resolveName } from '../dns/name.js';
import { ipFamily, ipToBytes } from '../net/address.js';
import { type FastEntry, type FastRecords, type FastValue, splitFastRecords } from './fast-records.js';
import { MASTER_SUFFIX, parseMasterZone } from './master-file.js';
import { nameWire } from './master-text.js';
import type { RecordData, RecordType } from './records.js';
import type { ServerConfig } from './server-spec.js';
import { displayPath, type Entry, entryMap, reportable, SourceFile } from './source.js';
import { hashZone } from './zone-hash.js';
import { readYamlIncludes } from './zone-include.js';
import { readZoneText } from './zone-read.js';
import { readName, readSoa, type ZoneReading } from './zone-records.js';
import { checkZone } from './zone-rules.js';
import { MAX_TTL, type RRsetSpec, readTtl, type ZoneResult, type ZoneSpec } from './zone-spec.js';

export type {
  AllDown,
  CheckSpec,
  NameSpec,
  PoolRegionSpec,
  PoolSpec,
  RRsetSpec,
  SelectMode,
  SoaSpec,
  TargetSpec,
  ZoneResult,
  ZoneSpec,
} from './zone-spec.js';

const ZONE_KEYS = ['origin', 'ttl', 'soa', 'records', 'include'];

export function loadZoneFile(path: string, cfg: ServerConfig): ZoneResult {
  const read = readZoneText(path, cfg.limits.zoneBytes);
  if (!('text' in read)) return fail(displayPath(path), read.message, read.line, read.col);
  // RFC 1035 master files are zones of their own; every other zone file is YAML
  if (path.endsWith(MASTER_SUFFIX)) return parseMasterZone(path, read.text, cfg);
  return parseZone(path, read.text, cfg);
}

function fail(file: string, message: string, line = 1, col = 1): ZoneResult {
  return { zone: null, diagnostics: [{ file, line, col, message, severity: 'error' }] };
}

export function parseZone(path: string, text: string, cfg: ServerConfig, opts: { fastRecords?: boolean } = {}): ZoneResult {
  const r = readZone(path, text, cfg, opts);
  return { zone: r.zone, diagnostics: reportable(r.diagnostics), ...(r.includes && { includes: r.includes }) };
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
  // with `include:`, the records (and the SOA) may all come from the included master files
  const include = e.get('include');
  for (const k of ['origin', 'soa', 'records']) if (!e.has(k) && !(include && k !== 'origin')) src.error(root, `zone file needs ${k}`);

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

  let soa = e.get('soa') ? readSoa(src, e.get('soa')!.value, origin, ttl) : null;
  let soaAt: number | null = e.get('soa') ? src.offsetOf(e.get('soa')!.keyNode) : null;
  const z: ZoneReading = { src, cfg, origin, ttl, names: new Map() };
  if (e.get('records')) readRecords(z, e.get('records')!.value, fast);
  let includes: string[] | undefined;
  if (include) {
    const inc = readYamlIncludes(z, path, include.value, e.get('soa')?.keyNode ?? null, Buffer.byteLength(text));
    includes = inc.files;
    if (inc.soa) [soa, soaAt] = [inc.soa, inc.soaAt];
    if (!soa && !e.get('soa') && !src.hasErrors) src.error(root, 'zone file needs soa (here, or an SOA record in the included file)');
  }
  if (soa && soaAt !== null) checkZone(z, soaAt);
  if (src.hasErrors || !soa) return { zone: null, diagnostics: src.diagnostics, ...(includes && { includes }) };
  const originPos = src.position(e.get('origin')!.value);
  const zone: ZoneSpec = { file: path, origin, originPos, ttl, soa, names: z.names, contentHash: '', ...(includes && { includes }) };
  zone.contentHash = hashZone(zone);
  return { zone, diagnostics: src.diagnostics, ...(includes && { includes }) };
}

function readRecords(z: ZoneReading, node: Node | null, fast: FastRecords | null = null): void {
  // every record line may have been taken by the fast reader: `records:` then has no value left here
  const entries = fast?.count && z.src.scalar(node) === null ? [] : z.src.map(node, 'records');
  for (const ent of entries ?? []) readName(z, ent);
  // a valid line is taken directly; anything the quick reading cannot vouch for goes the usual way,
  // so its error reads exactly as it would otherwise
  fast?.each((f) => {
    if (!readFastName(z, f)) readName(z, fastEntry(f));
  });
}

/** A fast line of A/AAAA/CNAME/NS/PTR records, when every part of it is valid; false otherwise. */
function readFastName(z: ZoneReading, f: FastEntry): boolean {
  const { origin } = z;
  const name = resolveName(f.key.value, origin, { owner: true });
  if (typeof name !== 'string' || !isSubdomain(name, origin) || z.names.has(name)) return false;
  let ttl = z.ttl;
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
  z.names.set(name, { name, at: f.key.at, rrsets, pool: null });
  return true;
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
