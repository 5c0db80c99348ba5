// `steerdns.yaml` (docs/configuration.md): the entry that reads the file into a validated ServerConfig with
// file:line:col diagnostics. The top-level keys and the small sections (listen, zones, workers, nsid and
// version, state_dir, log, limits, rrl) are read here; http, regions and geoip, health, dnssec and fleet by their
// own files (server-http.ts, server-geo.ts, server-health.ts, server-dnssec.ts, server-fleet.ts). The types and
// defaults are server-spec.ts's.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { parseCidr } from '../net/cidr.js';
import { readDnssec } from './server-dnssec.js';
import { readFleet } from './server-fleet.js';
import { readGeoip, readRegions } from './server-geo.js';
import { readHealth } from './server-health.js';
import { readHttp } from './server-http.js';
import { defaultConfig, type LoadOptions, type RrlConfig, type ServerConfig } from './server-spec.js';
import { type Diagnostic, type Entry, entryMap, notARegularFile, SourceFile } from './source.js';
import { durationOf, parseHostPort, parseSize } from './values.js';

export type {
  GeoOverlay,
  HealthDefaults,
  HttpConfig,
  ListenAddress,
  LoadOptions,
  LogLevel,
  ProbeNetwork,
  ProbeSource,
  Region,
  RegionState,
  RrlConfig,
  ServerConfig,
} from './server-spec.js';

const TOP_KEYS = [
  'listen',
  'zones',
  'http',
  'workers',
  'geoip',
  'regions',
  'health',
  'log',
  'nsid',
  'version',
  'state_dir',
  'limits',
  'rrl',
  'dnssec',
  'fleet',
] as const;

export interface ConfigResult {
  config: ServerConfig | null; // null when there are errors
  diagnostics: Diagnostic[];
}

export function loadServerConfig(path: string, opts: LoadOptions = {}): ConfigResult {
  const file = resolve(path);
  let text: string;
  try {
    // a directory, or a named pipe or device (reading would block for ever or never end): refused unread
    const kind = notARegularFile(statSync(file));
    if (kind) {
      return {
        config: null,
        diagnostics: [{ file: path, line: 1, col: 1, message: `not a config file: it is ${kind}`, severity: 'error' }],
      };
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    return { config: null, diagnostics: [{ file: path, line: 1, col: 1, message: `cannot read config: ${msg}`, severity: 'error' }] };
  }
  return parseServerConfig(file, text, opts);
}

export function parseServerConfig(file: string, text: string, opts: LoadOptions = {}): ConfigResult {
  const src = new SourceFile(file, text);
  const dir = dirname(file);
  const cfg = defaultConfig(file);
  if (src.hasErrors) return { config: null, diagnostics: src.diagnostics };
  const root = src.root;
  const top = root === null ? [] : src.map(root, 'steerdns.yaml');
  if (top) {
    src.knownKeys(top, TOP_KEYS, 'steerdns.yaml');
    const e = entryMap(top);
    readListen(src, e.get('listen'), cfg, root);
    const zones = e.get('zones');
    if (zones) {
      const z = src.string(zones.value, 'zones');
      if (z) cfg.zonesDir = resolve(dir, z);
    }
    readHttp(src, e.get('http'), cfg, opts.command ?? 'serve');
    const workers = e.get('workers');
    if (workers) {
      if (src.scalar(workers.value) === 'auto') cfg.workers = 'auto';
      else {
        const n = src.integer(workers.value, 'workers ("auto" or a count)', 1, 256);
        if (n !== null) cfg.workers = n;
      }
    }
    readRegions(src, e.get('regions'), cfg);
    readGeoip(src, e.get('geoip'), cfg);
    readHealth(src, e.get('health'), cfg);
    readLog(src, e.get('log'), cfg);
    for (const key of ['nsid', 'version'] as const) {
      const ent = e.get(key);
      if (!ent) continue;
      const v = src.string(ent.value, key);
      if (v !== null && Buffer.byteLength(v) > 255) src.error(ent.value, `${key} must be at most 255 octets`);
      else if (v !== null) cfg[key] = v;
    }
    const sd = e.get('state_dir');
    if (sd) {
      const v = src.string(sd.value, 'state_dir');
      if (v) cfg.stateDir = resolve(dir, v);
    }
    readLimits(src, e.get('limits'), cfg);
    readRrl(src, e.get('rrl'), cfg);
    readDnssec(src, e.get('dnssec'), cfg);
    readFleet(src, e.get('fleet'), cfg, opts.command ?? 'serve');
  }
  const ok = !src.hasErrors;
  return { config: ok ? cfg : null, diagnostics: src.diagnostics };
}

function readListen(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig, root: Node | null): void {
  if (!ent) {
    src.error(root, 'listen is required (for example listen: ["127.0.0.1:53", "[::1]:53"])');
    return;
  }
  const items = src.list(ent.value);
  if (items.length === 0) src.error(ent.value ?? ent.keyNode, 'listen needs at least one address');
  const seen = new Set<string>();
  for (const item of items) {
    const t = src.string(item, 'listen address');
    if (!t) continue;
    const hp = parseHostPort(t);
    if (typeof hp === 'string') {
      src.error(item, `listen: ${hp}`);
      continue;
    }
    const key = `${hp.host}|${hp.port}`;
    if (seen.has(key) && hp.port !== 0) src.error(item, `listen: "${t}" is listed twice`);
    seen.add(key);
    if (hp.host === '0.0.0.0' || hp.host === '::') {
      src.warn(
        item,
        `listen: "${t}" is a wildcard address: on a host with several addresses UDP replies may leave from another address than the one asked; list each address instead`,
      );
    }
    cfg.listen.push({ ...hp, text: t });
  }
}

function readLog(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  const e = src.section(ent, 'log', ['level', 'queries']);
  if (!e) return;
  const level = e.get('level');
  if (level) {
    const l = src.oneOf(level.value, 'log.level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);
    if (l) cfg.log.level = l;
  }
  const q = e.get('queries');
  if (q) cfg.log.queries = src.boolean(q.value, 'log.queries') ?? false;
}

function readLimits(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  const e = src.section(ent, 'limits', ['zone_bytes', 'tcp_connections', 'tcp_idle']);
  if (!e) return;
  const zb = e.get('zone_bytes');
  if (zb) {
    const n = parseSize(src.scalar(zb.value));
    if (n === null || n < 1024) src.error(zb.value, 'limits.zone_bytes must be a size such as 256MB (at least 1KB)');
    else cfg.limits.zoneBytes = n;
  }
  const tc = e.get('tcp_connections');
  if (tc) cfg.limits.tcpConnections = src.integer(tc.value, 'limits.tcp_connections', 1, 1_000_000) ?? cfg.limits.tcpConnections;
  const ti = e.get('tcp_idle');
  if (ti) cfg.limits.tcpIdleMs = durationOf(src, ti.value, 'limits.tcp_idle', 100) ?? cfg.limits.tcpIdleMs;
}

function readRrl(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  const e = src.section(ent, 'rrl', ['responses_per_second', 'window', 'slip', 'ipv4_prefix', 'ipv6_prefix', 'exempt', 'table_size']);
  if (!e) return;
  const rrl: RrlConfig = { responsesPerSecond: 20, window: 5, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [], tableSize: 65536 };
  const int = (key: string, min: number, max: number, fallback: number): number => {
    const x = e.get(key);
    return (x && src.integer(x.value, `rrl.${key}`, min, max)) ?? fallback;
  };
  rrl.responsesPerSecond = int('responses_per_second', 1, 1_000_000, rrl.responsesPerSecond);
  rrl.window = int('window', 1, 3600, rrl.window);
  rrl.slip = int('slip', 0, 10, rrl.slip);
  rrl.ipv4Prefix = int('ipv4_prefix', 1, 32, rrl.ipv4Prefix);
  rrl.ipv6Prefix = int('ipv6_prefix', 1, 128, rrl.ipv6Prefix);
  rrl.tableSize = int('table_size', 1024, 16_777_216, rrl.tableSize);
  const ex = e.get('exempt');
  for (const item of ex ? src.list(ex.value) : []) {
    const t = src.string(item, 'rrl.exempt network');
    if (!t) continue;
    const c = parseCidr(t);
    if (typeof c === 'string') src.error(item, `rrl.exempt: ${c}`);
    else rrl.exempt.push(c);
  }
  cfg.rrl = rrl;
}
