// The YAML mappings of LOC (RFC 1876), SVCB and HTTPS (RFC 9460) and URI (RFC 7553), as
// docs/zone-format.md#record-types writes them; each checked by the same rules as its presentation form.
import type { Node } from 'yaml';
import { rdataToText } from '../dns/rdata-text.js';
import { TYPE } from '../dns/registry.js';
import { LOC_DEFAULTS, type Loc, locRdata, precisionOctet, readAngle } from './loc.js';
import { nameWire } from './master-text.js';
import { type Ctx, name, type Parser, type RecordData } from './record-fields.js';
import { entryMap } from './source.js';
import {
  type SvcParam,
  svcbRdata,
  svcKeyNumber,
  svcValueFromAddresses,
  svcValueFromAlpn,
  svcValueFromKeys,
  svcValueFromText,
} from './svcb.js';

/** The entries of a record's mapping with `required` and `optional` keys (each error reported); null if broken. */
function keyed(ctx: Ctx, node: Node, what: string, required: string[], optional: string[]): Map<string, Node | null> | null {
  const entries = ctx.src.map(node, what);
  if (!entries) return null;
  ctx.src.knownKeys(entries, [...required, ...optional], what);
  const m = entryMap(entries);
  let ok = entries.every((e) => required.includes(e.key) || optional.includes(e.key));
  for (const k of required) {
    if (!m.has(k)) {
      ctx.src.error(node, `${what} needs ${k}`);
      ok = false;
    }
  }
  return ok ? new Map(entries.map((e) => [e.key, e.value])) : null;
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

const done = (code: number, rdata: Buffer): RecordData => ({ rdata, text: rdataToText(code, rdata) });

/** A list of strings, or one string as a list of one (numbers taken as their text). */
function strings(ctx: Ctx, node: Node | null, what: string): string[] | null {
  const items = ctx.src.isSeq(node) ? ctx.src.list(node) : [node];
  const out: string[] = [];
  for (const item of items) {
    const v = ctx.src.scalar(item);
    if (typeof v !== 'string' && typeof v !== 'number') {
      ctx.src.error(item ?? node, `${what} must be a string or a list of strings`);
      return null;
    }
    out.push(String(v));
  }
  if (out.length) return out;
  ctx.src.error(node, `${what} must not be empty`);
  return null;
}

/** One SvcParam from its YAML key and value. */
function svcParam(ctx: Ctx, keyNode: Node, key: string, value: Node | null, what: string): SvcParam | null {
  const k = svcKeyNumber(key);
  if (typeof k === 'string') {
    ctx.src.error(keyNode, `${what}: ${k}`);
    return null;
  }
  const w = `${what} ${key}`;
  let v: Buffer | string | null = null;
  const scalar = ctx.src.scalar(value);
  if (k === 0) v = ((s) => s && svcValueFromKeys(s))(strings(ctx, value, w));
  else if (k === 1) v = ((s) => s && svcValueFromAlpn(s.map((x) => Buffer.from(x, 'utf8'))))(strings(ctx, value, w));
  else if (k === 2) v = scalar === true || scalar === null ? Buffer.alloc(0) : `${key} is written "${key}: true"`;
  else if (k === 3) v = ((p) => (p === null ? null : u16(p)))(ctx.src.integer(value, w, 0, 65535));
  else if (k === 4 || k === 6) v = ((s) => s && svcValueFromAddresses(k, s))(strings(ctx, value, w));
  else if (k === 5) v = typeof scalar === 'string' ? svcValueFromText(5, Buffer.from(scalar, 'latin1')) : 'ech must be a base64 string';
  else if (scalar === null) v = Buffer.alloc(0);
  else if (typeof scalar === 'string' || typeof scalar === 'number') v = Buffer.from(String(scalar), 'utf8');
  else v = `${key} must be a string (its value's octets, UTF-8)`;
  if (typeof v === 'string') ctx.src.error(value ?? keyNode, `${what}: ${v}`);
  return v === null || typeof v === 'string' ? null : { key: k, value: v };
}

const svcb =
  (code: number): Parser =>
  (ctx, node, what) => {
    const f = keyed(ctx, node, what, ['priority', 'target'], ['params']);
    if (!f) return null;
    const priority = ctx.src.integer(f.get('priority') ?? null, `${what} priority`, 0, 65535);
    const target = name(ctx, f.get('target')!, `${what} target`);
    const params: SvcParam[] = [];
    let ok = priority !== null && target !== null;
    const pnode = f.get('params') ?? null;
    if (pnode !== null && ctx.src.scalar(pnode) !== null) {
      for (const e of ctx.src.map(pnode, `${what} params`) ?? []) {
        const p = svcParam(ctx, e.keyNode, e.key, e.value, what);
        if (p) params.push(p);
        else ok = false;
      }
    }
    if (!ok) return null;
    const rdata = svcbRdata(priority!, nameWire(target!), params);
    if (typeof rdata === 'string') {
      ctx.src.error(pnode ?? node, `${what}: ${rdata}`);
      return null;
    }
    return done(code, rdata);
  };

/** An angle: decimal degrees (north and east positive), or `d [m [s]] H` as in the presentation form. */
function angle(ctx: Ctx, node: Node | null, what: string, hemispheres: [string, string], max: number): number | null {
  const v = ctx.src.scalar(node);
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= max) return Math.round(v * 3_600_000);
  if (typeof v === 'string') {
    const r = readAngle(v.trim().split(/\s+/), 0, hemispheres, max, what);
    if ('mas' in r && r.next === v.trim().split(/\s+/).length) return r.mas;
    if ('error' in r) {
      ctx.src.error(node, r.error);
      return null;
    }
  }
  ctx.src.error(node, `${what} must be decimal degrees from -${max} to ${max}, or "degrees minutes seconds ${hemispheres.join('|')}"`);
  return null;
}

/** Metres (a number, at most two decimals) → centimetres; `precision`: a size, in LOC's one-digit form. */
function metres(
  ctx: Ctx,
  node: Node | null | undefined,
  what: string,
  min: number,
  max: number,
  def: number,
  precision = true,
): number | null {
  if (node === undefined) return def;
  const v = ctx.src.scalar(node);
  const cm = typeof v === 'number' ? Math.round(v * 100) : Number.NaN;
  if (!(cm >= min && cm <= max) || Math.abs(cm - (v as number) * 100) > 1e-6) {
    ctx.src.error(node, `${what} must be metres from ${min / 100} to ${max / 100} (at most two decimals)`);
    return null;
  }
  const octet = precision ? precisionOctet(cm, what) : 0;
  if (typeof octet === 'string') {
    ctx.src.error(node, octet);
    return null;
  }
  return cm;
}

export const MODERN_PARSERS: Record<'LOC' | 'SVCB' | 'HTTPS' | 'URI', Parser> = {
  SVCB: svcb(TYPE.SVCB),
  HTTPS: svcb(TYPE.HTTPS),
  URI(ctx, node, what) {
    const f = keyed(ctx, node, what, ['priority', 'weight', 'target'], []);
    if (!f) return null;
    const priority = ctx.src.integer(f.get('priority')!, `${what} priority`, 0, 65535);
    const weight = ctx.src.integer(f.get('weight')!, `${what} weight`, 0, 65535);
    const target = ctx.src.string(f.get('target')!, `${what} target`);
    if (priority === null || weight === null || target === null) return null;
    return done(TYPE.URI, Buffer.concat([u16(priority), u16(weight), Buffer.from(target, 'utf8')]));
  },
  LOC(ctx, node, what) {
    const f = keyed(ctx, node, what, ['latitude', 'longitude'], ['altitude', 'size', 'horizontal_precision', 'vertical_precision']);
    if (!f) return null;
    const lat = angle(ctx, f.get('latitude')!, `${what} latitude`, ['N', 'S'], 90);
    const lon = angle(ctx, f.get('longitude')!, `${what} longitude`, ['E', 'W'], 180);
    const g = (k: string) => (f.has(k) ? f.get(k)! : undefined);
    const altCm = metres(ctx, g('altitude'), `${what} altitude`, -10_000_000, 4_284_967_295, 0, false);
    const sizeCm = metres(ctx, g('size'), `${what} size`, 0, 9_000_000_000, LOC_DEFAULTS.sizeCm);
    const hpCm = metres(ctx, g('horizontal_precision'), `${what} horizontal_precision`, 0, 9_000_000_000, LOC_DEFAULTS.hpCm);
    const vpCm = metres(ctx, g('vertical_precision'), `${what} vertical_precision`, 0, 9_000_000_000, LOC_DEFAULTS.vpCm);
    if (lat === null || lon === null || altCm === null || sizeCm === null || hpCm === null || vpCm === null) return null;
    const loc: Loc = { lat, lon, altCm, sizeCm, hpCm, vpCm };
    const rdata = locRdata(loc);
    if (typeof rdata === 'string') {
      ctx.src.error(node, `${what}: ${rdata}`);
      return null;
    }
    return done(TYPE.LOC, rdata);
  },
};
