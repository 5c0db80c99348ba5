// Zone files (`zones/*.yaml`, docs/zone-format.md): the entry that reads one file into a ZoneSpec. Here: the
// file itself (not a file, too large, a dangling link, not UTF-8 text), the top-level keys, the fast path for
// the one-line records of large zones, and the content hash. The parts: zone-records.ts (soa and names),
// zone-pools.ts (pools and checks), zone-rules.ts (the rules between records); the types are zone-spec.ts's.
// The result is a plain ZoneSpec; src/served-zone.ts prepares it for answering.

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats, statSync } from 'node:fs';
import { type Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { isSubdomain, resolveName } from '../dns/name.js';
import { ipFamily, ipToBytes } from '../net/address.js';
import { type FastEntry, type FastRecords, type FastValue, splitFastRecords } from './fast-records.js';
import type { RecordData, RecordType } from './records.js';
import type { ServerConfig } from './server-spec.js';
import { displayPath, type Entry, entryMap, notARegularFile, reportable, SourceFile } from './source.js';
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

const ZONE_KEYS = ['origin', 'ttl', 'soa', 'records'];

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
    return fail(
      display,
      link
        ? `cannot read zone file: it is a symbolic link to ${link}, which does not exist`
        : `cannot read zone file: ${(e as Error).message}`,
    );
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
    for (let i = 0; i < b.length && (at < 0 || i < at); ) {
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
  const z: ZoneReading = { src, cfg, origin, ttl, names: new Map() };
  if (e.get('records')) readRecords(z, e.get('records')!.value, fast);
  if (soa) checkZone(z, e.get('soa')!.keyNode);
  if (src.hasErrors || !soa) return { zone: null, diagnostics: src.diagnostics };
  const originPos = src.position(e.get('origin')!.value);
  const zone: ZoneSpec = { file: path, origin, originPos, ttl, soa, names: z.names, contentHash: '' };
  zone.contentHash = hashZone(zone);
  return { zone, diagnostics: src.diagnostics };
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
      h.update(
        `\n ${t} ${rr.ttl} ${rr.records
          .map((r) => r.rdata.toString('hex'))
          .sort()
          .join(',')}`,
      );
    }
    if (n.pool) h.update(`\n pool ${JSON.stringify(n.pool, (k, v) => (k === 'at' || k === 'bytes' || k === 'check' ? undefined : v))}`);
  }
  return h.digest('hex');
}
