// `steerdns.yaml`: schema, defaults, validation with positions (spec §2).
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { entryMap, notARegularFile, SourceFile, type Diagnostic, type Entry } from './source.js';
import { isMappedIPv4, type Family } from '../net/address.js';
import { inNetwork, parseCidr, type Cidr } from '../net/cidr.js';
import { parseHostName, type HostName } from '../net/host.js';
import { isLoopbackIp, isNat64 } from '../net/ranges.js';
import { HTTP_CONNECTIONS_PER_SOURCE, HTTP_REMOTE_CONNECTIONS } from './http-defaults.js';
import { parseDuration, parseHostPort, parseSize } from './values.js';

export interface ListenAddress {
  host: string;
  port: number;
  family: Family;
  text: string;
}

/** `http:` (spec §10 "HTTP API access"): where the API listens and who may use it. */
export interface HttpConfig extends ListenAddress {
  /** The bearer token file (absolute) and its contents (trimmed), read when the config loads. */
  tokenFile: string | null;
  token: string | null;
  allowedHosts: HostName[];
  /** /metrics needs the token too. */
  metricsAuth: boolean;
  /** Connections held at once per source beyond this host; 0: no cap (clients behind one proxy or NAT address). */
  maxConnectionsPerSource: number;
}

export type RegionState = 'up' | 'down' | 'drain';

export interface Region {
  name: string;
  location: [number, number];
  state: RegionState;
  index: number;            // written order in steerdns.yaml
}

export interface GeoOverlay {
  network: Cidr;
  region?: string;
  location?: [number, number];
  country?: string;
  continent?: string;
}

export interface HealthDefaults {
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  panic: number | null;          // fraction 0..1, null = off
  panicMinTargets: number;
  /** Networks probes may not go to (the defaults and `health.deny`), unless in `allow` (spec §10). */
  deny: ProbeNetwork[];
  allow: ProbeNetwork[];
}

/** A network of health.deny / health.allow; IPv4-mapped IPv6 networks are kept as their IPv4 network. */
export interface ProbeNetwork extends Cidr {
  byDefault?: boolean;
}

/**
 * Probes go where zone authors point them, from the server's own network position. Denied by default: link-local
 * (where cloud metadata services answer, 169.254.169.254) and AWS's IPv6 metadata address. Loopback and private
 * ranges stay allowed: labs, tests and internal backends live there.
 */
export const DEFAULT_PROBE_DENY: readonly string[] = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'];

export interface RrlConfig {
  responsesPerSecond: number;
  window: number;
  slip: number;
  ipv4Prefix: number;
  ipv6Prefix: number;
  exempt: Cidr[];
  tableSize: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ServerConfig {
  file: string;
  dir: string;
  listen: ListenAddress[];
  zonesDir: string;
  http: HttpConfig | null;
  workers: number | 'auto';
  geoip: { database: string | null; databaseAt?: { file: string; line: number; col: number }; networks: GeoOverlay[]; ecs: boolean };
  regions: Map<string, Region>;
  health: HealthDefaults;
  log: { level: LogLevel; queries: boolean };
  nsid: string | null;
  version: string | null;
  stateDir: string;
  limits: { zoneBytes: number; tcpConnections: number; tcpIdleMs: number };
  rrl: RrlConfig | null;
}

export const DEFAULT_HEALTH: HealthDefaults = {
  intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, panic: 0.9, panicMinTargets: 10,
  deny: DEFAULT_PROBE_DENY.map((n) => ({ ...probeNetwork(parseCidr(n) as Cidr), byDefault: true })), allow: [],
};

/** An IPv4-mapped IPv6 network (::ffff:0:0/96 and inside it) as the IPv4 network it is; others as they are. */
function probeNetwork(c: Cidr): ProbeNetwork {
  if (c.family !== 6 || c.prefix < 96 || !isMappedIPv4(c.bytes)) return c;
  const bytes = c.bytes.subarray(12);
  return { family: 4, bytes, prefix: c.prefix - 96, text: c.text };
}

/**
 * The `health.deny` network an address of a probed target is in (not reopened by `health.allow`), or null.
 * An IPv4-mapped IPv6 address (::ffff:169.254.169.254) reaches the IPv4 address, and so does one in NAT64's
 * 64:ff9b::/96 (64:ff9b::a9fe:a9fe) where a translator serves: each is judged as that IPv4 address too.
 */
export function deniedProbeNetwork(h: Pick<HealthDefaults, 'deny' | 'allow'>, address: Uint8Array): ProbeNetwork | null {
  const forms = isMappedIPv4(address) || isNat64(address) ? [address, address.subarray(12)] : [address];
  const denied = h.deny.find((n) => forms.some((f) => inNetwork(n, f)));
  if (!denied) return null;
  return h.allow.some((n) => forms.some((f) => inNetwork(n, f))) ? null : denied;
}

const TOP_KEYS = ['listen', 'zones', 'http', 'workers', 'geoip', 'regions', 'health', 'log', 'nsid', 'version',
  'state_dir', 'limits', 'rrl'] as const;

export interface ConfigResult {
  config: ServerConfig | null;   // null when there are errors
  diagnostics: Diagnostic[];
}

/** Which command loads the config: `serve` (the default) needs the API token; `check` and `explain` can do without. */
export interface LoadOptions {
  command?: 'serve' | 'check' | 'explain';
}

export function loadServerConfig(path: string, opts: LoadOptions = {}): ConfigResult {
  const file = resolve(path);
  let text: string;
  try {
    // a directory, or a named pipe or device (reading would block for ever or never end): refused unread
    const kind = notARegularFile(statSync(file));
    if (kind) {
      return { config: null, diagnostics: [{ file: path, line: 1, col: 1, message: `not a config file: it is ${kind}`, severity: 'error' }] };
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
  const cfg: ServerConfig = {
    file, dir,
    listen: [],
    zonesDir: resolve(dir, 'zones'),
    http: null,
    workers: 1,
    geoip: { database: null, networks: [], ecs: true },
    regions: new Map(),
    health: { ...DEFAULT_HEALTH },
    log: { level: 'info', queries: false },
    nsid: null,
    version: null,
    stateDir: resolve(dir, '.steerdns-state'),
    limits: { zoneBytes: 256 * 1024 * 1024, tcpConnections: 1000, tcpIdleMs: 10_000 },
    rrl: null,
  };
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
      src.warn(item, `listen: "${t}" is a wildcard address: on a host with several addresses UDP replies may leave from another address than the one asked; list each address instead`);
    }
    cfg.listen.push({ ...hp, text: t });
  }
}

/** `http: "addr:port"` or `http: { listen, token_file, allowed_hosts, metrics_auth, max_connections_per_source }`. */
function readHttp(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig, command: NonNullable<LoadOptions['command']>): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const listenAt = (node: Node | null): ListenAddress | null => {
    const t = src.string(node, 'http');
    if (!t) return null;
    const hp = parseHostPort(t);
    if (typeof hp === 'string') {
      src.error(node, `http: ${hp}`);
      return null;
    }
    return { ...hp, text: t };
  };
  const http: HttpConfig = { host: '', port: 0, family: 4, text: '', tokenFile: null, token: null, allowedHosts: [], metricsAuth: false,
    maxConnectionsPerSource: HTTP_CONNECTIONS_PER_SOURCE };
  let listenNode: Node | null = ent.value;
  if (src.isMap(ent.value)) {
    const entries = src.map(ent.value, 'http') ?? [];
    src.knownKeys(entries, ['listen', 'token_file', 'allowed_hosts', 'metrics_auth', 'max_connections_per_source'], 'http');
    const e = entryMap(entries);
    const listen = e.get('listen');
    if (!listen) {
      src.error(ent.keyNode, 'http needs listen: "address:port"');
      return;
    }
    listenNode = listen.value;
    const tf = e.get('token_file');
    if (tf) {
      const v = src.string(tf.value, 'http.token_file');
      if (v) {
        http.tokenFile = resolve(cfg.dir, v);
        http.token = readToken(src, tf.value, http.tokenFile, command);
      }
    }
    const ah = e.get('allowed_hosts');
    for (const item of ah ? src.list(ah.value) : []) {
      const t = src.string(item, 'http.allowed_hosts entry');
      if (!t) continue;
      const h = parseHostName(t, { bareIpv6: true });
      if (!h) src.error(item, `http.allowed_hosts: "${t}" is not a host name or address with an optional :port (IPv6 as [addr]:port)`);
      else http.allowedHosts.push(h);
    }
    const ma = e.get('metrics_auth');
    if (ma) {
      http.metricsAuth = src.boolean(ma.value, 'http.metrics_auth') ?? false;
      if (http.metricsAuth && !tf) src.error(ma.value, 'http.metrics_auth needs http.token_file');
    }
    const mc = e.get('max_connections_per_source');
    if (mc) http.maxConnectionsPerSource = src.integer(mc.value, 'http.max_connections_per_source (0: no cap)', 0, HTTP_REMOTE_CONNECTIONS) ?? http.maxConnectionsPerSource;
  }
  const addr = listenAt(listenNode);
  if (!addr) return;
  if (!http.tokenFile && !isLoopbackIp(addr.host)) {
    src.warn(listenNode, `http: "${addr.text}" is reachable beyond this host and no http.token_file is set: anyone who can connect reads /status and /explain (pool targets, check URLs, file paths); listen on 127.0.0.1 or set a token`);
  }
  cfg.http = { ...http, ...addr };
}

/**
 * The token: one line of visible characters, not empty (a trailing newline is ignored). A file that cannot
 * be read is an error for `serve`; for `check` and `explain` a warning (CI, a laptop: secrets not mounted).
 */
function readToken(src: SourceFile, at: Node | null, file: string, command: NonNullable<LoadOptions['command']>): string | null {
  let text: string;
  try {
    const st = statSync(file);
    const kind = notARegularFile(st);
    if (kind) {
      src.error(at, `http.token_file: ${file} is not a token file: it is ${kind}`);
      return null;
    }
    text = readFileSync(file, 'utf8');
    if (st.mode & 0o004) src.warn(at, `http.token_file: ${file} is readable by every user of this host (chmod 600 it)`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = `http.token_file: cannot read ${file}: ${code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`;
    if (command === 'serve') src.error(at, why);
    else src.warn(at, `${why} (serve refuses to start without it)`);
    return null;
  }
  const token = text.trim();
  if (token === '') {
    src.error(at, `http.token_file: ${file} is empty`);
    return null;
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    src.error(at, `http.token_file: the token in ${file} must be one line of visible ASCII characters (no spaces)`);
    return null;
  }
  if (token.length < 16) src.warn(at, `http.token_file: the token in ${file} is short (${token.length} characters): use at least 16 random characters`);
  return token;
}

function location(src: SourceFile, node: Node | null, what: string): [number, number] | null {
  const items = src.isSeq(node) ? src.list(node) : [];
  if (items.length !== 2) {
    src.error(node, `${what} must be [latitude, longitude]`);
    return null;
  }
  const lat = src.number(items[0]!, `${what} latitude`, -90, 90);
  const lon = src.number(items[1]!, `${what} longitude`, -180, 180);
  return lat === null || lon === null ? null : [lat, lon];
}

function readRegions(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'regions');
  if (!entries) return;
  for (const r of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r.key)) {
      src.error(r.keyNode, `region name "${r.key}" may only use letters, digits, ".", "_" and "-"`);
      continue;
    }
    const body = src.map(r.value, `region "${r.key}"`);
    if (!body) continue;
    src.knownKeys(body, ['location', 'state'], `region "${r.key}"`);
    const b = entryMap(body);
    const locEnt = b.get('location');
    if (!locEnt) {
      src.error(r.keyNode, `region "${r.key}" needs a location: [latitude, longitude]`);
      continue;
    }
    const loc = location(src, locEnt.value, `region "${r.key}" location`);
    const stEnt = b.get('state');
    const state = stEnt ? src.oneOf(stEnt.value, `region "${r.key}" state`, ['up', 'down', 'drain'] as const) : 'up';
    if (loc && state) cfg.regions.set(r.key, { name: r.key, location: loc, state, index: cfg.regions.size });
  }
}

function readGeoip(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'geoip');
  if (!entries) return;
  src.knownKeys(entries, ['database', 'networks', 'ecs'], 'geoip');
  const e = entryMap(entries);
  const db = e.get('database');
  if (db && src.scalar(db.value) !== null) {
    const v = src.string(db.value, 'geoip.database');
    if (v) {
      cfg.geoip.database = resolve(cfg.dir, v);
      cfg.geoip.databaseAt = { file: src.display, ...src.position(db.value) };
    }
  }
  const ecs = e.get('ecs');
  if (ecs) {
    const v = src.boolean(ecs.value, 'geoip.ecs');
    if (v !== null) cfg.geoip.ecs = v;
  }
  const nets = e.get('networks');
  if (!nets || src.scalar(nets.value) === null) return;
  const list = src.map(nets.value, 'geoip.networks');
  for (const n of list ?? []) {
    const cidr = parseCidr(n.key);
    if (typeof cidr === 'string') {
      src.error(n.keyNode, `geoip.networks: ${cidr}`);
      continue;
    }
    const body = src.map(n.value, `geoip.networks "${n.key}"`);
    if (!body) continue;
    src.knownKeys(body, ['region', 'location', 'country', 'continent'], `geoip.networks "${n.key}"`);
    const b = entryMap(body);
    const overlay: GeoOverlay = { network: cidr };
    const region = b.get('region');
    if (region) {
      const r = src.string(region.value, 'region');
      if (r && !cfg.regions.has(r)) src.error(region.value, `geoip.networks "${n.key}": region "${r}" is not declared in regions`);
      else if (r) overlay.region = r;
    }
    const loc = b.get('location');
    if (loc) overlay.location = location(src, loc.value, `geoip.networks "${n.key}" location`) ?? undefined;
    const country = b.get('country');
    if (country) {
      const c = src.string(country.value, 'country');
      if (c && !/^[A-Za-z]{2}$/.test(c)) src.error(country.value, `country must be a two-letter ISO code, got "${c}"`);
      else if (c) overlay.country = c.toUpperCase();
    }
    const continent = b.get('continent');
    if (continent) {
      const c = src.oneOf(continent.value, 'continent', ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const);
      if (c) overlay.continent = c;
    }
    if (region && (loc || country || continent)) src.error(n.keyNode, `geoip.networks "${n.key}": give either region or a location, not both`);
    else if (!region && !loc && !country) src.error(n.keyNode, `geoip.networks "${n.key}" needs region or location`);
    cfg.geoip.networks.push(overlay);
  }
}

export function durationOf(src: SourceFile, node: Node | null, what: string, minMs = 1): number | null {
  const ms = parseDuration(src.scalar(node));
  if (ms === null || ms < minMs) {
    src.error(node, `${what} must be a duration such as 500ms, 5s or 1m${ms !== null ? ` of at least ${minMs}ms` : ''}`);
    return null;
  }
  return ms;
}

/** `90%`, `0.9`, or `off` → fraction or null. */
function readPanic(src: SourceFile, node: Node | null): number | null | undefined {
  const v = src.scalar(node);
  if (v === 'off' || v === false) return null;
  if (typeof v === 'string' && /^\d+(\.\d+)?%$/.test(v)) {
    const p = Number(v.slice(0, -1));
    if (p > 0 && p <= 100) return p / 100;
  }
  if (typeof v === 'number' && v > 0 && v <= 1) return v;
  src.error(node, 'health.panic must be a percentage such as "90%", or off');
  return undefined;
}

function readHealth(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'health');
  if (!entries) return;
  src.knownKeys(entries, ['interval', 'timeout', 'rise', 'fall', 'panic', 'panic_min_targets', 'deny', 'allow'], 'health');
  const e = entryMap(entries);
  const h = cfg.health;
  const iv = e.get('interval');
  if (iv) h.intervalMs = durationOf(src, iv.value, 'health.interval', 100) ?? h.intervalMs;
  const to = e.get('timeout');
  if (to) h.timeoutMs = durationOf(src, to.value, 'health.timeout', 10) ?? h.timeoutMs;
  const rise = e.get('rise');
  if (rise) h.rise = src.integer(rise.value, 'health.rise', 1, 100) ?? h.rise;
  const fall = e.get('fall');
  if (fall) h.fall = src.integer(fall.value, 'health.fall', 1, 100) ?? h.fall;
  const panic = e.get('panic');
  if (panic) {
    const p = readPanic(src, panic.value);
    if (p !== undefined) h.panic = p;
  }
  const pmt = e.get('panic_min_targets');
  if (pmt) h.panicMinTargets = src.integer(pmt.value, 'health.panic_min_targets', 1, 1_000_000) ?? h.panicMinTargets;
  // deny adds to the default networks (a list of one's own must not silently reopen the metadata address);
  // allow reopens any of them
  h.deny = [...h.deny, ...probeNetworks(src, e.get('deny'), 'health.deny')];
  h.allow = probeNetworks(src, e.get('allow'), 'health.allow');
}

function probeNetworks(src: SourceFile, ent: Entry | undefined, what: string): ProbeNetwork[] {
  const out: ProbeNetwork[] = [];
  if (!ent || src.scalar(ent.value) === null) return out;
  for (const item of src.list(ent.value)) {
    const t = src.string(item, `${what} network`);
    if (t === null) continue;
    const c = parseCidr(t);
    if (typeof c === 'string') src.error(item, `${what}: ${c}`);
    else out.push(probeNetwork(c));
  }
  return out;
}

function readLog(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'log');
  if (!entries) return;
  src.knownKeys(entries, ['level', 'queries'], 'log');
  const e = entryMap(entries);
  const level = e.get('level');
  if (level) {
    const l = src.oneOf(level.value, 'log.level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const);
    if (l) cfg.log.level = l;
  }
  const q = e.get('queries');
  if (q) cfg.log.queries = src.boolean(q.value, 'log.queries') ?? false;
}

function readLimits(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'limits');
  if (!entries) return;
  src.knownKeys(entries, ['zone_bytes', 'tcp_connections', 'tcp_idle'], 'limits');
  const e = entryMap(entries);
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
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'rrl');
  if (!entries) return;
  src.knownKeys(entries, ['responses_per_second', 'window', 'slip', 'ipv4_prefix', 'ipv6_prefix', 'exempt', 'table_size'], 'rrl');
  const e = entryMap(entries);
  const rrl: RrlConfig = { responsesPerSecond: 20, window: 5, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [], tableSize: 65536 };
  const int = (key: string, what: string, min: number, max: number, set: (n: number) => void) => {
    const x = e.get(key);
    if (!x) return;
    const n = src.integer(x.value, what, min, max);
    if (n !== null) set(n);
  };
  int('responses_per_second', 'rrl.responses_per_second', 1, 1_000_000, (n) => { rrl.responsesPerSecond = n; });
  int('window', 'rrl.window', 1, 3600, (n) => { rrl.window = n; });
  int('slip', 'rrl.slip', 0, 10, (n) => { rrl.slip = n; });
  int('ipv4_prefix', 'rrl.ipv4_prefix', 1, 32, (n) => { rrl.ipv4Prefix = n; });
  int('ipv6_prefix', 'rrl.ipv6_prefix', 1, 128, (n) => { rrl.ipv6Prefix = n; });
  int('table_size', 'rrl.table_size', 1024, 16_777_216, (n) => { rrl.tableSize = n; });
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
