// Reading the fields of a record written as a YAML mapping (docs/zone-format.md#record-types): names,
// required keys, hexadecimal, character-strings, integers — each error at the node that breaks the rule.
import type { Node } from 'yaml';
import { resolveName } from '../dns/name.js';
import { entryMap, type SourceFile } from './source.js';

export interface RecordData {
  rdata: Buffer;
  text: string; // presentation form, for messages, duplicate detection and hashing
}

export interface Ctx {
  src: SourceFile;
  origin: string;
}

export type Parser = (ctx: Ctx, node: Node, what: string) => RecordData | null;

export function name(ctx: Ctx, node: Node, what: string): string | null {
  const raw = ctx.src.string(node, what);
  if (raw === null) return null;
  const n = resolveName(raw, ctx.origin);
  if (typeof n !== 'string') {
    ctx.src.error(node, `${what}: ${n.error}`);
    return null;
  }
  return n;
}

export function fields(ctx: Ctx, node: Node, what: string, keys: readonly string[]): Map<string, Node | null> | null {
  const entries = ctx.src.map(node, what);
  if (!entries) return null;
  ctx.src.knownKeys(entries, keys, what);
  const m = entryMap(entries);
  let ok = true;
  for (const k of keys) {
    if (!m.has(k)) {
      ctx.src.error(node, `${what} needs ${k}`);
      ok = false;
    }
  }
  return ok ? new Map(keys.map((k) => [k, m.get(k)!.value])) : null;
}

export function hex(ctx: Ctx, node: Node | null, what: string, length?: number): Buffer | null {
  const s = (ctx.src.sourceText(node) ?? '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(s) || (length !== undefined && s.length !== length * 2)) {
    ctx.src.error(node, `${what} must be ${length ? `${length} octets of ` : ''}hexadecimal`);
    return null;
  }
  return Buffer.from(s, 'hex');
}

export function characterString(ctx: Ctx, node: Node | null, what: string): string | null {
  const v = ctx.src.scalar(node);
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
  if (s === null || Buffer.byteLength(s) > 255) {
    ctx.src.error(node, `${what} must be a string of at most 255 octets`);
    return null;
  }
  return s;
}

export const u16 = (ctx: Ctx, n: Node | null | undefined, what: string) => ctx.src.integer(n ?? null, what, 0, 65535);
export const u8 = (ctx: Ctx, n: Node | null | undefined, what: string) => ctx.src.integer(n ?? null, what, 0, 255);
