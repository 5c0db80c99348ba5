// `dnssec:` of steerdns.yaml (docs/configuration.md#dnssec): per zone, the key files it is signed with and
// the validity of its signatures. Only the shape is read here, with each key's position; the key files
// themselves are read and judged when the config is checked or served (src/zone-keys.ts), where the DNSSEC
// code lives.
import { resolve } from 'node:path';
import type { Node } from 'yaml';
import { resolveName } from '../dns/name.js';
import type { ServerConfig } from './server-spec.js';
import { type Entry, entryMap, type SourceFile } from './source.js';
import { parseDuration } from './values.js';

/** Where in steerdns.yaml a value is written, for the messages of checks made after loading. */
export interface ConfigPosition {
  file: string;
  line: number;
  col: number;
}

/** One key of a signed zone: its files' base path and the role the config gives it (null: the key file's times decide). */
export interface DnssecKeyRef {
  /** Absolute path without `.key` / `.private`. */
  path: string;
  publish: boolean | null;
  active: boolean | null;
  at: ConfigPosition;
}

export interface DnssecZoneConfig {
  /** The zone, internal form. */
  zone: string;
  keys: DnssecKeyRef[];
  /** How long a signature is valid from when it is made (its inception is backdated on top of this). */
  signatureValidityMs: number;
  /** A signature or key this close to its expiry is warned of (log, /status). */
  expiryWarningMs: number;
  at: ConfigPosition;
}

/** Signatures valid for two weeks unless the zone says otherwise. */
export const DEFAULT_SIGNATURE_VALIDITY_MS = 14 * 86_400_000;
/** Warned of a week ahead unless the zone says otherwise. */
export const DEFAULT_EXPIRY_WARNING_MS = 7 * 86_400_000;
const MIN_VALIDITY_MS = 3_600_000;
const MAX_VALIDITY_MS = 365 * 86_400_000;

/** A duration in days as well as the units of every duration (`14d`, `336h`). */
function validityMs(v: unknown): number | null {
  const days = typeof v === 'string' ? /^(\d+(?:\.\d+)?)d$/.exec(v.trim()) : null;
  return days ? Math.round(Number(days[1]) * 86_400_000) : parseDuration(v);
}

/** `dnssec: { "<zone>": { keys: [path | { path, publish, active }], signature_validity } }`. */
export function readDnssec(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const zones = src.map(ent.value, 'dnssec');
  if (!zones) return;
  for (const z of zones) {
    const zone = resolveName(z.key, '');
    if (typeof zone !== 'string') {
      src.error(z.keyNode, `dnssec: zone ${zone.error}`);
      continue;
    }
    const what = `dnssec."${z.key}"`;
    if (cfg.dnssec.has(zone)) {
      src.error(z.keyNode, `${what}: zone ${zone || '.'} is listed twice`);
      continue;
    }
    const body = src.map(z.value, what);
    if (!body) continue;
    src.knownKeys(body, ['keys', 'signature_validity', 'expiry_warning'], what);
    const b = entryMap(body);
    const keys = readKeys(src, b.get('keys'), cfg.dir, what, z.keyNode);
    let signatureValidityMs = DEFAULT_SIGNATURE_VALIDITY_MS;
    const sv = b.get('signature_validity');
    if (sv) {
      const ms = validityMs(src.scalar(sv.value));
      if (ms === null || ms < MIN_VALIDITY_MS || ms > MAX_VALIDITY_MS) {
        src.error(sv.value, `${what}.signature_validity must be a duration such as 14d or 336h, from 1h to 365d`);
      } else signatureValidityMs = ms;
    }
    let expiryWarningMs = DEFAULT_EXPIRY_WARNING_MS;
    const ew = b.get('expiry_warning');
    if (ew) {
      const ms = validityMs(src.scalar(ew.value));
      if (ms === null || ms < 0 || ms > MAX_VALIDITY_MS)
        src.error(ew.value, `${what}.expiry_warning must be a duration such as 7d, up to 365d`);
      else expiryWarningMs = ms;
    }
    cfg.dnssec.set(zone, { zone, keys, signatureValidityMs, expiryWarningMs, at: { file: src.display, ...src.position(z.keyNode) } });
  }
}

function readKeys(src: SourceFile, ent: Entry | undefined, dir: string, what: string, zoneNode: Node): DnssecKeyRef[] {
  const out: DnssecKeyRef[] = [];
  if (!ent) {
    src.error(zoneNode, `${what} needs keys: [key file paths] (made by steerdns keygen or dnssec-keygen)`);
    return out;
  }
  const items = src.list(ent.value);
  if (items.length === 0) src.error(ent.value ?? ent.keyNode, `${what}.keys needs at least one key`);
  const seen = new Set<string>();
  for (const item of items) {
    let pathNode: Node | null = item;
    let publish: boolean | null = null;
    let active: boolean | null = null;
    if (src.isMap(item)) {
      const fields = src.map(item, `${what} key`) ?? [];
      src.knownKeys(fields, ['path', 'publish', 'active'], `${what} key`);
      const f = entryMap(fields);
      const p = f.get('path');
      if (!p) {
        src.error(item, `${what}: a key written as a mapping needs path:`);
        continue;
      }
      pathNode = p.value;
      const pub = f.get('publish');
      if (pub) publish = src.boolean(pub.value, `${what} key publish`);
      const act = f.get('active');
      if (act) active = src.boolean(act.value, `${what} key active`);
      if (publish === false && active === true) {
        src.error(
          item,
          `${what}: an active key must be published (publish: false, active: true): resolvers could not validate its signatures`,
        );
        continue;
      }
    }
    const raw = src.string(pathNode, `${what} key path`);
    if (!raw) continue;
    const path = resolve(dir, raw.replace(/\.(key|private)$/, ''));
    if (seen.has(path)) {
      src.error(pathNode, `${what}: key "${raw}" is listed twice`);
      continue;
    }
    seen.add(path);
    out.push({ path, publish, active, at: { file: src.display, ...src.position(pathNode) } });
  }
  return out;
}
