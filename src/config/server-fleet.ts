// `fleet:` of steerdns.yaml (docs/configuration.md#fleet): the nameservers that share health and overrides
// through etcd — the fleet's name, this instance's, how health is combined, the lease TTL, and how to reach
// etcd (endpoints, key prefix, password authentication, client TLS). The password and the TLS files are read
// here, when the config loads; like http.token_file, one that cannot be read stops `serve` and is a warning for
// `check` and `explain` (a CI machine or a laptop has no secrets mounted).
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Node } from 'yaml';
import { parseHostName } from '../net/host.js';
import { isLoopbackIp } from '../net/ranges.js';
import type { LoadOptions, ServerConfig } from './server-spec.js';
import { type Entry, entryMap, notARegularFile, type SourceFile } from './source.js';
import { parseDuration } from './values.js';

/** How the observations of the fleet's instances make the health a target is served with. */
export type FleetHealth = 'majority' | 'any_up' | 'local';

/** A file of fleet.etcd read when the config loads: its absolute path and its text (null: could not be read, `check`). */
export interface FleetFile {
  path: string;
  text: string | null;
}

export interface EtcdConfig {
  /** `http://host:port` or `https://host:port`, lower-cased, without a trailing slash; all of one scheme. */
  endpoints: string[];
  /** The endpoints are https://. */
  secure: boolean;
  /** Every key of the fleet starts with it; begins and ends with "/". */
  prefix: string;
  username: string | null;
  passwordFile: FleetFile | null;
  /** CA bundle, client certificate (chain) and its key, PEM; only with https:// endpoints. */
  tls: { ca: FleetFile | null; cert: FleetFile | null; key: FleetFile | null } | null;
}

export interface FleetConfig {
  name: string;
  /** This instance's name in the fleet: the host name unless set. */
  instance: string;
  health: FleetHealth;
  /** Seconds: an instance that stops renewing its lease leaves the fleet this long after. */
  leaseTtlS: number;
  etcd: EtcdConfig;
}

const FLEET_KEYS = ['name', 'instance', 'health', 'lease_ttl', 'etcd'] as const;
const ETCD_KEYS = ['endpoints', 'prefix', 'username', 'password_file', 'tls'] as const;
const TLS_KEYS = ['ca', 'cert', 'key'] as const;
export const DEFAULT_LEASE_TTL_S = 10;
/** etcd's smallest lease (1.5 × its default election timeout, rounded up) and a bound on how long a dead instance counts. */
const MIN_LEASE_TTL_S = 2;
const MAX_LEASE_TTL_S = 3600;

/** Fleet and instance names: they are parts of etcd keys, metric labels and log lines. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const NAME_RULE = 'must be 1 to 253 letters, digits, ".", "_" and "-", starting with a letter or digit';

type Command = NonNullable<LoadOptions['command']>;

/** `fleet: { name, instance, health, lease_ttl, etcd: { endpoints, prefix, username, password_file, tls } }`. */
export function readFleet(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig, command: Command): void {
  const e = src.section(ent, 'fleet', FLEET_KEYS);
  if (!e || !ent) return;
  const nameEnt = e.get('name');
  let name: string | null = null;
  if (!nameEnt) src.error(ent.keyNode, "fleet needs name: (the fleet's name, such as prod: etcd keys start with /steerdns/<name>/)");
  else name = fleetName(src, nameEnt.value, 'fleet.name');
  const instEnt = e.get('instance');
  let instance: string | null;
  if (instEnt) instance = fleetName(src, instEnt.value, 'fleet.instance');
  else {
    instance = hostname();
    if (!NAME.test(instance)) {
      src.error(
        ent.keyNode,
        `fleet.instance is not set and the host name "${instance}" is not an instance name (it ${NAME_RULE}): set fleet.instance`,
      );
      instance = null;
    }
  }
  let health: FleetHealth = 'majority';
  const h = e.get('health');
  if (h) health = src.oneOf(h.value, 'fleet.health', ['majority', 'any_up', 'local'] as const) ?? health;
  let leaseTtlS = DEFAULT_LEASE_TTL_S;
  const lt = e.get('lease_ttl');
  if (lt) {
    const ms = parseDuration(src.scalar(lt.value));
    if (ms === null || ms % 1000 !== 0 || ms < MIN_LEASE_TTL_S * 1000 || ms > MAX_LEASE_TTL_S * 1000) {
      src.error(
        lt.value,
        `fleet.lease_ttl must be a whole number of seconds from ${MIN_LEASE_TTL_S}s to 1h, such as 10s (etcd leases count in seconds)`,
      );
    } else leaseTtlS = ms / 1000;
  }
  const etcdEnt = e.get('etcd');
  if (!etcdEnt) src.error(ent.keyNode, 'fleet needs etcd: { endpoints: ["http://127.0.0.1:2379"] } (where the fleet keeps its state)');
  const etcd = etcdEnt ? readEtcd(src, etcdEnt, cfg.dir, name, command) : null;
  if (name !== null && instance !== null && etcd) cfg.fleet = { name, instance, health, leaseTtlS, etcd };
}

function fleetName(src: SourceFile, node: Node | null, what: string): string | null {
  const v = src.string(node, what);
  if (v === null) return null;
  if (!NAME.test(v)) {
    src.error(node, `${what} "${v}" ${NAME_RULE}${v.includes('/') ? ' ("/" separates the parts of etcd keys)' : ''}`);
    return null;
  }
  return v;
}

function readEtcd(src: SourceFile, ent: Entry, dir: string, name: string | null, command: Command): EtcdConfig | null {
  if (src.scalar(ent.value) === null) {
    src.error(ent.keyNode, 'fleet.etcd needs endpoints: ["http://127.0.0.1:2379"]');
    return null;
  }
  const entries = src.map(ent.value, 'fleet.etcd');
  if (!entries) return null;
  src.knownKeys(entries, ETCD_KEYS, 'fleet.etcd');
  const e = entryMap(entries);
  const endpoints = readEndpoints(src, e.get('endpoints'), ent);
  const secure = endpoints?.every((u) => u.startsWith('https:')) ?? false;

  let prefix = name === null ? null : `/steerdns/${name}/`;
  const p = e.get('prefix');
  if (p) {
    const v = src.string(p.value, 'fleet.etcd.prefix');
    if (v !== null && !/^\/(?:[\x21-\x7e]*\/)?$/.test(v)) {
      src.error(
        p.value,
        `fleet.etcd.prefix "${v}" must start and end with "/" and hold only visible ASCII characters (such as /steerdns/prod/)`,
      );
      prefix = null;
    } else prefix = v;
  }

  const user = e.get('username');
  const pwf = e.get('password_file');
  const username = user ? src.string(user.value, 'fleet.etcd.username') : null;
  if (user && !pwf) src.error(user.keyNode, 'fleet.etcd.username needs fleet.etcd.password_file (the file holding its password)');
  if (pwf && !user) src.error(pwf.keyNode, 'fleet.etcd.password_file needs fleet.etcd.username');
  let passwordFile: FleetFile | null = null;
  if (pwf) {
    passwordFile = fleetFile(src, pwf.value, 'fleet.etcd.password_file', dir, command, true);
    if (typeof passwordFile?.text === 'string') passwordFile.text = password(src, pwf.value, passwordFile);
  }
  // etcd's password authentication sends the password in the clear over http:// (grpc's insecure channel)
  if (user && !secure && endpoints?.some((u) => !isLoopbackIp(parseHostName(u.replace(/^https?:\/\//, ''))?.host ?? ''))) {
    src.warn(
      user.keyNode,
      'fleet.etcd.username: the password goes unencrypted over http:// to a host beyond this one: use https:// endpoints',
    );
  }

  const tlsEnt = e.get('tls');
  let tls: EtcdConfig['tls'] = null;
  if (tlsEnt && src.scalar(tlsEnt.value) !== null) {
    if (endpoints && !secure) src.error(tlsEnt.keyNode, 'fleet.etcd.tls needs https:// endpoints (the endpoints are http://)');
    tls = readTls(src, tlsEnt, dir, command);
  }
  if (endpoints === null || prefix === null || (user && username === null)) return null;
  return { endpoints, secure, prefix, username, passwordFile, tls };
}

/** `http(s)://host:port`: a host name or an IP address (IPv6 in brackets) and a port, nothing after it. */
function readEndpoints(src: SourceFile, ent: Entry | undefined, etcd: Entry): string[] | null {
  if (!ent) {
    src.error(etcd.keyNode, 'fleet.etcd needs endpoints: ["http://127.0.0.1:2379"]');
    return null;
  }
  const items = src.list(ent.value);
  if (items.length === 0) {
    src.error(ent.value ?? ent.keyNode, 'fleet.etcd.endpoints needs at least one endpoint');
    return null;
  }
  const out: string[] = [];
  let bad = false;
  for (const item of items) {
    const t = src.string(item, 'fleet.etcd.endpoints entry');
    const u = t === null ? null : endpoint(t);
    if (t === null || u === null) bad = true;
    else if ('error' in u) {
      src.error(item, `fleet.etcd.endpoints: ${u.error}`);
      bad = true;
    } else if (out.includes(u.url)) src.error(item, `fleet.etcd.endpoints: "${t}" is listed twice`);
    else out.push(u.url);
  }
  if (bad) return null;
  const secure = out.filter((u) => u.startsWith('https:')).length;
  if (secure > 0 && secure < out.length) {
    src.error(ent.value, 'fleet.etcd.endpoints mixes http:// and https://: the etcd client talks to every endpoint one way');
    return null;
  }
  return out;
}

function endpoint(t: string): { url: string } | { error: string } {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(t);
  if (!scheme) return { error: `"${t}" is not an http:// or https:// URL${/^[\w.[\]:-]+:\d+$/.test(t) ? ` (write http://${t})` : ''}` };
  const s = scheme[1]!.toLowerCase();
  if (s !== 'http' && s !== 'https') return { error: `"${t}" is not an http:// or https:// URL` };
  const rest = t.slice(scheme[0].length).replace(/\/$/, '');
  const authority = /^[^/?#]*/.exec(rest)![0];
  if (authority.includes('@')) return { error: `"${t}" must not hold a user name or password: use fleet.etcd.username and password_file` };
  if (authority.length < rest.length) return { error: `"${t}" must end at the port: etcd's API has no path, query or fragment` };
  const hp = parseHostName(authority);
  if (!hp) {
    const port = /:(\d+)$/.exec(authority);
    if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) return { error: `port of "${t}" must be 1 to 65535` };
    return { error: `"${t}": "${authority}" is not a host name or IP address with a port (IPv6 as [addr]:port)` };
  }
  if (hp.port === null) return { error: `"${t}" needs a port (etcd's client port is 2379)` };
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  return { url: `${s}://${host}:${hp.port}` };
}

function readTls(src: SourceFile, ent: Entry, dir: string, command: Command): EtcdConfig['tls'] {
  const entries = src.map(ent.value, 'fleet.etcd.tls');
  if (!entries) return null;
  src.knownKeys(entries, TLS_KEYS, 'fleet.etcd.tls');
  const e = entryMap(entries);
  const file = (key: (typeof TLS_KEYS)[number]) => {
    const x = e.get(key);
    return x ? { node: x, file: fleetFile(src, x.value, `fleet.etcd.tls.${key}`, dir, command, key === 'key') } : null;
  };
  const ca = file('ca');
  const cert = file('cert');
  const key = file('key');
  if (cert && !key) src.error(cert.node.keyNode, 'fleet.etcd.tls.cert needs tls.key (the private key of the client certificate)');
  if (key && !cert) src.error(key.node.keyNode, 'fleet.etcd.tls.key needs tls.cert (the client certificate of that key)');
  if (typeof ca?.file?.text === 'string') certificates(src, ca.node.value, ca.file, 'fleet.etcd.tls.ca');
  const leaf = typeof cert?.file?.text === 'string' ? certificates(src, cert.node.value, cert.file, 'fleet.etcd.tls.cert') : null;
  const pk = typeof key?.file?.text === 'string' ? privateKey(src, key.node.value, key.file) : null;
  if (leaf && pk && !leaf.checkPrivateKey(pk)) {
    src.error(key!.node.value, `fleet.etcd.tls.key: ${key!.file!.path} is not the key of the certificate in ${cert!.file!.path}`);
  }
  return { ca: ca?.file ?? null, cert: cert?.file ?? null, key: key?.file ?? null };
}

/** The certificates of a PEM file (each must parse); returns the first, or null after reporting. */
function certificates(src: SourceFile, at: Node | null, f: FleetFile, what: string): X509Certificate | null {
  const blocks = f.text!.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    src.error(at, `${what}: ${f.path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return null;
  }
  const parsed: X509Certificate[] = [];
  for (const [i, b] of blocks.entries()) {
    try {
      parsed.push(new X509Certificate(b));
    } catch (err) {
      src.error(at, `${what}: certificate ${i + 1} of ${f.path} does not parse: ${openSslMessage(err)}`);
      return null;
    }
  }
  return parsed[0]!;
}

function privateKey(src: SourceFile, at: Node | null, f: FleetFile): KeyObject | null {
  const text = f.text!;
  const what = `fleet.etcd.tls.key: ${f.path}`;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) src.error(at, `${what} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  else if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    src.error(at, `${what} is encrypted: the etcd client needs the key unencrypted (chmod 600 it instead)`);
  } else {
    try {
      return createPrivateKey({ key: text, format: 'pem' });
    } catch (err) {
      src.error(at, `${what} does not parse: ${openSslMessage(err)}`);
    }
  }
  return null;
}

/** An OpenSSL error without its code number ("error:068000A8:asn1 encoding routines::wrong tag"). */
function openSslMessage(err: unknown): string {
  return (err as Error).message.replace(/^error:[0-9A-F]+:/i, '');
}

/** The password: the file's one line (a final line break is not part of it). */
function password(src: SourceFile, at: Node | null, f: FleetFile): string | null {
  const text = f.text!.replace(/\r?\n$/, '');
  if (text === '') src.error(at, `fleet.etcd.password_file: ${f.path} is empty`);
  else if (/[\r\n]/.test(text)) src.error(at, `fleet.etcd.password_file: ${f.path} must hold the password on one line`);
  else return text;
  return null;
}

/** A file named by the config, read now; unreadable: an error for `serve`, a warning for the others. */
function fleetFile(src: SourceFile, node: Node | null, what: string, dir: string, command: Command, secret: boolean): FleetFile | null {
  const v = src.string(node, what);
  if (v === null) return null;
  const path = resolve(dir, v);
  try {
    const st = statSync(path);
    const kind = notARegularFile(st);
    if (kind) {
      src.error(node, `${what}: ${path} is not a file: it is ${kind}`);
      return null;
    }
    const text = readFileSync(path, 'utf8');
    if (secret && st.mode & 0o004) src.warn(node, `${what}: ${path} is readable by every user of this host (chmod 600 it)`);
    return { path, text };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = `${what}: cannot read ${path}: ${code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`;
    if (command === 'serve') {
      src.error(node, why);
      return null;
    }
    src.warn(node, `${why} (serve refuses to start without it)`);
    return { path, text: null };
  }
}
