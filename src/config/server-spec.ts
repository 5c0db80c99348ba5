// What `steerdns.yaml` becomes (docs/configuration.md): the ServerConfig type and its sections, the defaults
// of a file that sets nothing, and the rule of health.deny / health.allow that zone files are checked
// against. The readers are server-config.ts (the entry and the small sections), server-http.ts,
// server-geo.ts, server-health.ts, server-dnssec.ts and server-fleet.ts.
import { dirname, resolve } from 'node:path';
import { type Family, isMappedIPv4 } from '../net/address.js';
import { type Cidr, inNetwork, parseCidr } from '../net/cidr.js';
import type { HostName } from '../net/host.js';
import { isNat64 } from '../net/ranges.js';
import type { ConfigPosition, DnssecZoneConfig } from './server-dnssec.js';
import type { FleetConfig } from './server-fleet.js';

export interface ListenAddress {
  host: string;
  port: number;
  family: Family;
  text: string;
}

/** `http:` (docs/http-api.md#access-rules): where the API listens and who may use it. */
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
  index: number; // written order in steerdns.yaml
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
  panic: number | null; // fraction 0..1, null = off
  panicMinTargets: number;
  /** Networks probes may not go to (the defaults and `health.deny`), unless in `allow` (docs/configuration.md#probe-destinations). */
  deny: ProbeNetwork[];
  allow: ProbeNetwork[];
}

/** `health.source`: the address probes of its family leave from (docs/configuration.md#health). */
export interface ProbeSource {
  /** Canonical text; an IPv4-mapped address as the IPv4 address. */
  address: string;
  family: Family;
  at: ConfigPosition;
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
  /** Signed zones by name (internal form), `dnssec:`. */
  dnssec: Map<string, DnssecZoneConfig>;
  /** `health.source`; kept out of `health`, whose every field is an input of the prepared zones. Restart only. */
  healthSource: ProbeSource | null;
  /** `fleet:`; null: a standalone server. Restart only. */
  fleet: FleetConfig | null;
}

/** Which command loads the config: `serve` (the default) needs the API token; `check` and `explain` can do without. */
export interface LoadOptions {
  command?: 'serve' | 'check' | 'explain';
}

export const DEFAULT_HEALTH: HealthDefaults = {
  intervalMs: 5000,
  timeoutMs: 2000,
  rise: 2,
  fall: 3,
  panic: 0.9,
  panicMinTargets: 10,
  deny: DEFAULT_PROBE_DENY.map((n) => ({ ...probeNetwork(parseCidr(n) as Cidr), byDefault: true })),
  allow: [],
};

/** An IPv4-mapped IPv6 network (::ffff:0:0/96 and inside it) as the IPv4 network it is; others as they are. */
export function probeNetwork(c: Cidr): ProbeNetwork {
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

/** The config of a file that sets nothing but what is required, with paths resolved from its folder. */
export function defaultConfig(file: string): ServerConfig {
  const dir = dirname(file);
  return {
    file,
    dir,
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
    dnssec: new Map(),
    healthSource: null,
    fleet: null,
  };
}
