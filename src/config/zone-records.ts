// The records of a zone file (docs/zone-format.md#names, #soa): the `soa:` section, and each name of
// `records:` with its RRsets (a name's `pool:` is read by zone-pools.ts). Every value is checked where it is
// written; the rules between names come after, in zone-rules.ts.
import type { Node } from 'yaml';
import { isSubdomain, resolveName, wireLength } from '../dns/name.js';
import { parseRecord, RECORD_TYPES, type RecordData, type RecordType, recordTypeOf, signerTypeRefusal } from './records.js';
import { type Entry, entryMap, type SourceFile } from './source.js';
import { type PoolReading, readPool } from './zone-pools.js';
import { type NameSpec, type RRsetSpec, readTtl, type SoaSpec } from './zone-spec.js';

/** One zone being read: what a pool needs, the zone's default TTL, and the names read so far. */
export interface ZoneReading extends PoolReading {
  ttl: number;
  names: Map<string, NameSpec>;
}

const SOA_KEYS = ['ns', 'email', 'refresh', 'retry', 'expire', 'minimum', 'serial', 'ttl'];

/** The zone's `soa:` section; null when it is broken (each error reported where it is). */
export function readSoa(src: SourceFile, node: Node | null, origin: string, ttl: number): SoaSpec | null {
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
  if (
    typeof mname !== 'string' ||
    rname === null ||
    refresh === null ||
    retry === null ||
    expire === null ||
    minimum === null ||
    soaTtl === null ||
    (e.get('serial') && serial === null)
  )
    return null;
  return { mname, rname, refresh, retry, expire, minimum, ttl: soaTtl, serial };
}

/** One name of `records:`, with its RRsets and pool, added to `z.names` (errors reported where they are). */
export function readName(z: ZoneReading, ent: Entry): void {
  const { src, origin } = z;
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
  if (z.names.has(name)) {
    src.error(ent.keyNode, `name ${label} is given twice (names are case-insensitive)`);
    return;
  }
  const body = src.map(ent.value, `name ${label}`);
  if (!body) return;
  const spec: NameSpec = { name, at: src.offsetOf(ent.keyNode), rrsets: new Map(), pool: null };
  const b = entryMap(body);
  let ttl = z.ttl;
  // `ttl:` is one TTL for every record of the name, or a TTL per type (`ttl: { NS: 86400, A: 300 }`)
  const perType = new Map<string, { ttl: number; at: Node }>();
  const ttlNode = b.get('ttl')?.value ?? null;
  if (ttlNode && src.isMap(ttlNode)) {
    for (const e of src.map(ttlNode, `${label} ttl`) ?? []) {
      const t = recordTypeOf(e.key);
      const v = readTtl(src, e.value, `${label} ttl of ${e.key}`);
      if (!t) src.error(e.keyNode, `${label} ttl: "${e.key}" is not a record type`);
      else if (!body.some((x) => recordTypeOf(x.key)?.type === t.type))
        src.error(e.keyNode, `${label} ttl: ${t.type} is not written at ${label}`);
      else if (v !== null) perType.set(t.type, { ttl: v, at: e.keyNode });
    }
  } else if (ttlNode) ttl = readTtl(src, ttlNode, `${label} ttl`) ?? ttl;
  for (const item of body) {
    if (item.key === 'ttl') continue;
    if (item.key === 'pool') {
      spec.pool = readPool(z, name, item);
      continue;
    }
    if (item.key.toUpperCase() === 'SOA' || item.key.toUpperCase() === 'TYPE6') {
      src.error(item.keyNode, `SOA is written in the zone's soa: section, not under records`);
      continue;
    }
    const signed = signerTypeRefusal(item.key);
    if (signed) {
      src.error(item.keyNode, signed);
      continue;
    }
    const t = recordTypeOf(item.key);
    if (!t) {
      src.error(
        item.keyNode,
        `unknown key "${item.key}" at ${label} (expected ttl, pool or a record type: ${Object.keys(RECORD_TYPES).join(', ')}, or TYPEnnn in the generic form)`,
      );
      continue;
    }
    if (spec.rrsets.has(t.type)) {
      src.error(item.keyNode, `${t.type} is given twice at ${label}`);
      continue;
    }
    const rrset = readRRset(z, name, t, item, label, perType.get(t.type)?.ttl ?? ttl);
    if (rrset) spec.rrsets.set(rrset.type, rrset);
  }
  if (spec.rrsets.size === 0 && !spec.pool && !src.hasErrors) src.error(ent.keyNode, `name ${label} has no records`);
  z.names.set(name, spec);
}

function readRRset(
  z: ZoneReading,
  name: string,
  t: { type: RecordType; code: number; generic: boolean },
  item: Entry,
  label: string,
  ttl: number,
): RRsetSpec | null {
  const { src } = z;
  const type = t.type;
  const what = `${type} at ${label}`;
  if (item.value === null || (src.scalar(item.value) === null && !src.isSeq(item.value) && !src.isMap(item.value))) {
    src.error(item.keyNode, `${what} has no value`);
    return null;
  }
  // TXT: a list of strings is several records, a list item that is itself a list is one record of several strings.
  const items = src.isSeq(item.value) ? src.list(item.value) : [item.value];
  if (type === 'CNAME' && items.length !== 1) {
    src.error(item.value, `${what}: a name has at most one CNAME`);
    return null;
  }
  const records: RecordData[] = [];
  for (const node of items) {
    const r = parseRecord({ src, origin: z.origin }, node, what, t);
    if (!r) continue;
    if (records.some((x) => x.rdata.equals(r.rdata))) {
      src.error(node, `${what}: duplicate record ${r.text}`);
      continue;
    }
    records.push(r);
  }
  if (records.length === 0) return null;
  // header, the question, each record with a compressed owner, and an OPT: it must fit in one message
  const size = 12 + wireLength(name) + 4 + records.reduce((n, r) => n + 12 + r.rdata.length, 0) + 64;
  if (size > 65535) {
    src.error(item.keyNode, `${what} is about ${size} octets on the wire: it cannot fit in a DNS message (65535 octets, even over TCP)`);
    return null;
  }
  return { type, ttl, records, at: src.offsetOf(item.keyNode) };
}
