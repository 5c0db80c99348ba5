// `steerdns import FILE.zone` (docs/zone-format.md#import-and-export): a zone read from a master file,
// written back as the equivalent YAML zone — each record in its YAML mapping where the format has one, and
// in presentation or generic form where its octets cannot be written so (text that is not UTF-8).
import { isUtf8 } from 'node:buffer';
import { relativeName } from '../dns/name.js';
import { nameText, rdataToText, svcKeyName } from '../dns/rdata-text.js';
import { bytesToIp } from '../net/address.js';
import type { RecordType } from './records.js';
import type { RRsetSpec, ZoneSpec } from './zone-spec.js';

/** A YAML string: plain when YAML reads it back as that same string, else double-quoted (JSON escapes). */
const q = (s: string) =>
  (/^[A-Za-z_][A-Za-z0-9_.@+-]*$/.test(s) && !/^(?:true|false|null|yes|no|on|off|y|n)$/i.test(s)) || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(s)
    ? s
    : JSON.stringify(s);
const flow = (items: string[]) => (items.length === 1 ? items[0]! : `[${items.join(', ')}]`);

/** Octets as a YAML string when they are UTF-8 text (YAML strings are Unicode); null otherwise. */
function text(b: Buffer): string | null {
  return isUtf8(b) ? q(b.toString('utf8')) : null;
}

function mapping(fields: [string, string | number][]): string {
  return `{ ${fields.map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
}

/** Reads wire fields in order (the RDATA was written by steerdns's own readers: it is well formed). */
class Wire {
  o = 0;
  constructor(readonly b: Buffer) {}
  u8 = () => this.b[this.o++]!;
  u16 = () => {
    this.o += 2;
    return this.b.readUInt16BE(this.o - 2);
  };
  name = () => {
    const n = nameText(this.b, this.o)!;
    this.o = n.end;
    return q(n.text);
  };
  string = () => {
    const n = this.u8();
    this.o += n;
    return this.b.subarray(this.o - n, this.o);
  };
  rest = () => {
    const r = this.b.subarray(this.o);
    this.o = this.b.length;
    return r;
  };
}

/** One record as a YAML value of its type; null when it must be written in presentation or generic form. */
function recordYaml(type: RecordType, rdata: Buffer): string | null {
  const w = new Wire(rdata);
  switch (type) {
    case 'A':
    case 'AAAA':
      return q(bytesToIp(rdata));
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return w.name();
    case 'MX':
      return mapping([
        ['preference', w.u16()],
        ['exchange', w.name()],
      ]);
    case 'SRV':
      return mapping([
        ['priority', w.u16()],
        ['weight', w.u16()],
        ['port', w.u16()],
        ['target', w.name()],
      ]);
    case 'TXT': {
      const parts: (string | null)[] = [];
      while (w.o < rdata.length) parts.push(text(w.string()));
      if (parts.some((p) => p === null)) return null;
      // one string is one record; several are a list (a record of several strings)
      return parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
    }
    case 'CAA': {
      const flags = w.u8();
      const tag = w.string().toString('latin1');
      const value = text(w.rest());
      return value === null
        ? null
        : mapping([
            ['flags', flags],
            ['tag', tag],
            ['value', value],
          ]);
    }
    case 'DS':
      return mapping([
        ['key_tag', w.u16()],
        ['algorithm', w.u8()],
        ['digest_type', w.u8()],
        ['digest', q(w.rest().toString('hex'))],
      ]);
    case 'SSHFP':
      return mapping([
        ['algorithm', w.u8()],
        ['fp_type', w.u8()],
        ['fingerprint', q(w.rest().toString('hex'))],
      ]);
    case 'TLSA':
      return mapping([
        ['usage', w.u8()],
        ['selector', w.u8()],
        ['matching_type', w.u8()],
        ['data', q(w.rest().toString('hex'))],
      ]);
    case 'NAPTR': {
      const order = w.u16();
      const preference = w.u16();
      const [flags, services, regexp] = [text(w.string()), text(w.string()), text(w.string())];
      if (flags === null || services === null || regexp === null) return null;
      return mapping([
        ['order', order],
        ['preference', preference],
        ['flags', flags],
        ['services', services],
        ['regexp', regexp],
        ['replacement', w.name()],
      ]);
    }
    case 'URI': {
      const priority = w.u16();
      const weight = w.u16();
      const target = text(w.rest());
      return target === null
        ? null
        : mapping([
            ['priority', priority],
            ['weight', weight],
            ['target', target],
          ]);
    }
    case 'LOC':
      return locYaml(rdataToText(29, rdata));
    case 'SVCB':
    case 'HTTPS':
      return svcbYaml(w);
    default:
      return null;
  }
}

/** LOC as its YAML mapping, from its presentation text (angles kept in degrees, minutes and seconds). */
function locYaml(t: string): string {
  const m = /^(.+ [NS]) (.+ [EW]) (-?[\d.]+)m ([\d.]+)m ([\d.]+)m ([\d.]+)m$/.exec(t)!;
  return mapping([
    ['latitude', q(m[1]!)],
    ['longitude', q(m[2]!)],
    ['altitude', Number(m[3])],
    ['size', Number(m[4])],
    ['horizontal_precision', Number(m[5])],
    ['vertical_precision', Number(m[6])],
  ]);
}

function svcbYaml(w: Wire): string | null {
  const priority = w.u16();
  const target = w.name();
  const params: string[] = [];
  const b = w.rest();
  for (let o = 0; o < b.length; ) {
    const key = b.readUInt16BE(o);
    const v = b.subarray(o + 4, o + 4 + b.readUInt16BE(o + 2));
    o += 4 + v.length;
    const list = (size: number) => {
      const items: string[] = [];
      for (let i = 0; i < v.length; i += size)
        items.push(q(size === 2 ? svcKeyName(v.readUInt16BE(i)) : bytesToIp(v.subarray(i, i + size))));
      return `[${items.join(', ')}]`;
    };
    let value: string | null;
    if (key === 0) value = list(2);
    else if (key === 1) {
      const ids: (string | null)[] = [];
      for (let i = 0; i < v.length; i += 1 + v[i]!) ids.push(text(v.subarray(i + 1, i + 1 + v[i]!)));
      value = ids.some((x) => x === null) ? null : `[${ids.join(', ')}]`;
    } else if (key === 2) value = 'true';
    else if (key === 3) value = String(v.readUInt16BE(0));
    else if (key === 4) value = list(4);
    else if (key === 5) value = q(v.toString('base64'));
    else if (key === 6) value = list(16);
    else value = v.length === 0 ? 'null' : text(v);
    if (value === null) return null;
    params.push(`${q(svcKeyName(key))}: ${value}`);
  }
  const fields: [string, string | number][] = [
    ['priority', priority],
    ['target', target],
  ];
  if (params.length) fields.push(['params', `{ ${params.join(', ')} }`]);
  return mapping(fields);
}

/** The values of an RRset under its type key, or under TYPEnnn in the generic form when one record needs it. */
function rrsetYaml(rr: RRsetSpec, code: number): { key: string; value: string } {
  const values = rr.records.map((r) => recordYaml(rr.type, r.rdata));
  if (values.every((v) => v !== null)) {
    // TXT: a record of several strings is a list inside the list
    const multi = rr.type === 'TXT' && values.some((v) => v!.startsWith('['));
    return { key: rr.type, value: multi ? `[${values.join(', ')}]` : flow(values as string[]) };
  }
  const structured = !['A', 'AAAA', 'NS', 'CNAME', 'PTR', 'TXT'].includes(rr.type) && !rr.type.startsWith('TYPE');
  // a structured type may be written as presentation text; others go generic, every record of the RRset
  if (structured) return { key: rr.type, value: flow(rr.records.map((r) => q(rdataToText(code, r.rdata)))) };
  return { key: `TYPE${code}`, value: flow(rr.records.map((r) => q(`\\# ${r.rdata.length} ${r.rdata.toString('hex')}`.trimEnd()))) };
}

/** The mailbox of an RNAME as `user@domain` when it reads back the same, else the name. */
function emailOf(rname: string): string {
  const m = /^((?:[^.\\]|\\.)+)\.(.+)$/.exec(rname);
  const local = m?.[1]?.replace(/\\\./g, '.');
  if (m && local && /^[A-Za-z0-9._+-]{1,63}$/.test(local)) return `${local}@${m[2]}`;
  return rname === '' ? '.' : `${rname}.`;
}

/**
 * The YAML zone of a zone read from a master file. `codes` maps each written type to its code; `source`
 * names the file in the header comment.
 */
export function zoneToYaml(z: ZoneSpec, codes: (type: string) => number, source: string): string {
  const out: string[] = [`# ${z.origin}. imported by steerdns from ${source}`, `origin: ${q(z.origin)}`];
  // the zone's default TTL: the one most RRsets have
  const counts = new Map<number, number>();
  for (const n of z.names.values()) for (const rr of n.rrsets.values()) counts.set(rr.ttl, (counts.get(rr.ttl) ?? 0) + 1);
  const ttl = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? z.soa.ttl;
  out.push(`ttl: ${ttl}`, 'soa:');
  const s = z.soa;
  out.push(`  ns: ${q(s.mname === '' ? '.' : `${s.mname}.`)}`, `  email: ${q(emailOf(s.rname))}`);
  if (s.serial !== null) out.push(`  serial: ${s.serial}`);
  out.push(`  refresh: ${s.refresh}`, `  retry: ${s.retry}`, `  expire: ${s.expire}`, `  minimum: ${s.minimum}`);
  if (s.ttl !== ttl) out.push(`  ttl: ${s.ttl}`);
  out.push('records:');
  const names = [...z.names.values()];
  names.sort((a, b) => (a.name === z.origin ? -1 : b.name === z.origin ? 1 : 0));
  for (const n of names) {
    const sets = [...n.rrsets.values()];
    const ttls = new Set(sets.map((rr) => rr.ttl));
    out.push(`  ${q(relativeName(n.name, z.origin))}:`);
    for (const rr of sets) {
      const { key, value } = rrsetYaml(rr, codes(rr.type));
      out.push(`    ${key}: ${value}`);
    }
    if (ttls.size === 1 && !ttls.has(ttl)) out.push(`    ttl: ${sets[0]!.ttl}`);
    else if (ttls.size > 1) {
      const per = sets.filter((rr) => rr.ttl !== ttl).map((rr) => `${rrsetYaml(rr, codes(rr.type)).key}: ${rr.ttl}`);
      out.push(`    ttl: { ${per.join(', ')} }`);
    }
  }
  return `${out.join('\n')}\n`;
}
