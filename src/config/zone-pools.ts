// Pools of a zone file (docs/zone-format.md#pools): policy, map, selection, all_down, the regions and their
// targets, and the health check with its HTTP path and header rules. A pool is read where its name is
// (zone-records.ts); that an all_down fallback names a pool of the zone is a whole-zone rule (zone-rules.ts).
import { validateHeaderValue } from 'node:http';
import type { Node } from 'yaml';
import { isHostName, relativeName, resolveName } from '../dns/name.js';
import { bytesToIp, ipFamily, ipToBytes, unmappedIPv4 } from '../net/address.js';
import { deniedProbeNetwork, type HealthDefaults, type ServerConfig } from './server-spec.js';
import { type Entry, entryMap, type SourceFile } from './source.js';
import { durationOf } from './values.js';
import { type AllDown, type CheckSpec, type PoolRegionSpec, type PoolSpec, readTtl, type TargetSpec } from './zone-spec.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: a character past U+00FF (Node sends a path of one octet per character)
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: what a probe path must not contain
const SPACE_OR_CONTROL = /[\s\x00-\x1f\x7f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: what would split or end a header line
const LINE_BREAK_OR_NUL = /[\r\n\x00]/;

/** What reading a pool needs: the file, the server config (regions, health defaults and networks), the origin. */
export interface PoolReading {
  src: SourceFile;
  cfg: ServerConfig;
  origin: string;
}

const POOL_KEYS = ['ttl', 'policy', 'map', 'answers', 'select', 'min_healthy', 'family_fallback', 'all_down', 'check', 'regions'];
const CHECK_KEYS = [
  'type',
  'port',
  'path',
  'host',
  'headers',
  'expect',
  'body',
  'insecure',
  'interval',
  'timeout',
  'rise',
  'fall',
  'initial',
];

/**
 * Headers that break the probe, refused in a check's `headers:` (why, for the message). Node throws on
 * Trailer only when the request ends; a body length on a GET without a body leaves the backend waiting for it
 * until the timeout. (Host and Connection, which the probe sets itself, are warnings: zones written before
 * this rule used them, and refusing them would keep such a zone from loading after an upgrade.)
 */
const PROBE_BREAKING_HEADERS: Record<string, string> = {
  trailer: "the probe's GET has no body, so no trailer (Node refuses to send it)",
  'content-length': "the probe's GET has no body (the backend would wait for one until the timeout)",
  'transfer-encoding': "the probe's GET has no body (the backend would wait for one until the timeout)",
};
const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

/** A name's `pool:`, with every part checked where it is written. */
export function readPool(z: PoolReading, name: string, item: Entry): PoolSpec | null {
  const { src } = z;
  const label = `pool "${relativeName(name, z.origin)}"`;
  const entries = src.map(item.value, label);
  if (!entries) return null;
  src.knownKeys(entries, POOL_KEYS, label);
  const e = entryMap(entries);
  const pool: PoolSpec = {
    name,
    ttl: 30,
    policy: 'nearest',
    map: [],
    answers: 0,
    select: 'round-robin',
    minHealthy: { count: 1 },
    familyFallback: 'none',
    allDown: { kind: 'serve-all' },
    check: null as unknown as CheckSpec,
    regions: [],
    at: item.keyNode,
  };
  if (e.get('ttl')) pool.ttl = readTtl(src, e.get('ttl')!.value, `${label} ttl`) ?? pool.ttl;
  if (e.get('policy'))
    pool.policy = src.oneOf(e.get('policy')!.value, `${label} policy`, ['nearest', 'failover', 'map'] as const) ?? pool.policy;
  if (e.get('answers')) pool.answers = src.integer(e.get('answers')!.value, `${label} answers (0 = all)`, 0, 64) ?? 0;
  if (e.get('select')) {
    pool.select =
      src.oneOf(e.get('select')!.value, `${label} select`, ['round-robin', 'weighted', 'random', 'sticky', 'fastest'] as const) ??
      pool.select;
  }
  if (e.get('min_healthy')) {
    const node = e.get('min_healthy')!.value;
    const v = src.scalar(node);
    if (typeof v === 'string' && /^\d{1,3}%$/.test(v) && Number(v.slice(0, -1)) <= 100)
      pool.minHealthy = { percent: Number(v.slice(0, -1)) };
    else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) pool.minHealthy = { count: v };
    else src.error(node, `${label} min_healthy must be a count or a percentage such as "50%"`);
  }
  if (e.get('family_fallback')) {
    pool.familyFallback =
      src.oneOf(e.get('family_fallback')!.value, `${label} family_fallback`, ['none', 'next-region'] as const) ?? 'none';
  }
  if (e.get('all_down')) pool.allDown = readAllDown(z, e.get('all_down')!.value, label) ?? pool.allDown;

  const checkEnt = e.get('check');
  if (!checkEnt) src.error(item.keyNode, `${label} has no check (write check: { type: none } to serve without probing)`);
  else pool.check = readCheck(z, checkEnt.value, `${label} check`, name) as CheckSpec;

  const regEnt = e.get('regions');
  if (!regEnt) src.error(item.keyNode, `${label} has no regions`);
  else readPoolRegions(z, pool, regEnt.value, label);

  const mapEnt = e.get('map');
  if (mapEnt) {
    if (pool.policy !== 'map') src.error(mapEnt.keyNode, `${label}: map is only used with policy: map`);
    else readMap(z, pool, mapEnt.value, label);
  } else if (pool.policy === 'map') src.error(item.keyNode, `${label}: policy map needs a map: table`);

  // known traps (docs/zone-format.md#pools): warnings, the zone loads
  if (pool.select === 'weighted' && pool.answers === 0) {
    src.warn(
      e.get('answers')?.value ?? e.get('select')!.value,
      `${label}: select: weighted with answers: 0 (every address) only orders the answer, and resolvers and clients reorder it again: weights split traffic only with answers: 1 (or a few)`,
    );
  }
  if (pool.ttl > 300 && e.get('ttl')) {
    src.warn(
      e.get('ttl')!.value,
      `${label} ttl ${pool.ttl} is above 300 s: resolvers keep a steered answer that long, so a failover or a region change reaches clients only after it`,
    );
  }
  const weighted = pool.regions.flatMap((r) => r.targets).find((t) => t.weight !== 0 && t.weight !== 1);
  if (weighted && pool.select !== 'weighted') {
    src.error(weighted.at, `${label}: weight ${weighted.weight} needs select: weighted (without it only 0 = standby and 1 are allowed)`);
  }
  return pool;
}

function readAllDown(z: PoolReading, node: Node | null, label: string): AllDown | null {
  const { src } = z;
  if (src.isMap(node)) {
    const entries = src.map(node, `${label} all_down`) ?? [];
    src.knownKeys(entries, ['fallback'], `${label} all_down`);
    const f = entryMap(entries).get('fallback');
    if (!f) {
      src.error(node, `${label} all_down must be serve-all, nodata, servfail or { fallback: POOL }`);
      return null;
    }
    const raw = src.string(f.value, `${label} all_down fallback`);
    if (raw === null) return null;
    const n = resolveName(raw, z.origin);
    if (typeof n !== 'string') {
      src.error(f.value, `${label} all_down fallback: ${n.error}`);
      return null;
    }
    return { kind: 'fallback', pool: n, at: f.value ?? f.keyNode };
  }
  const v = src.oneOf(node, `${label} all_down`, ['serve-all', 'nodata', 'servfail'] as const);
  return v ? { kind: v } : null;
}

function readCheck(z: PoolReading, node: Node | null, what: string, poolName: string): CheckSpec | null {
  const { src, cfg } = z;
  const entries = src.map(node, what);
  if (!entries) return null;
  src.knownKeys(entries, CHECK_KEYS, what);
  const e = entryMap(entries);
  const h: HealthDefaults = cfg.health;
  if (!e.get('type')) {
    src.error(node, `${what} needs type (tcp, http, https or none)`);
    return null;
  }
  const type = src.oneOf(e.get('type')!.value, `${what} type`, ['tcp', 'http', 'https', 'none'] as const);
  if (!type) return null;
  const check: CheckSpec = {
    type,
    port: type === 'https' ? 443 : 80,
    path: '/',
    host: poolName,
    headers: {},
    expect: [200],
    body: null,
    insecure: false,
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    rise: h.rise,
    fall: h.fall,
    initial: 'up',
    pos: src.position(node!),
  };
  if (e.get('port')) check.port = src.integer(e.get('port')!.value, `${what} port`, 1, 65535) ?? check.port;
  else if (type === 'tcp') src.error(node, `${what}: a tcp check needs port`);
  if (e.get('path')) {
    const p = src.string(e.get('path')!.value, `${what} path`);
    // Node sends a path of U+0021–U+00FF only (one octet each) and throws on anything else
    const beyond = p === null ? null : BEYOND_LATIN1.exec(p)?.[0];
    if (p !== null && (!p.startsWith('/') || SPACE_OR_CONTROL.test(p)))
      src.error(e.get('path')!.value, `${what} path must start with "/" and contain no spaces or control characters`);
    else if (beyond)
      src.error(
        e.get('path')!.value,
        `${what} path contains "${JSON.stringify(beyond).slice(1, -1)}" (${codePoint(beyond)}), which cannot be sent in a request line: percent-encode it${percentEncoded(beyond)}`,
      );
    else if (p !== null) check.path = p;
  }
  if (e.get('host')) {
    const hst = src.string(e.get('host')!.value, `${what} host`);
    if (hst !== null && !isHostName(hst.replace(/\.$/, '').toLowerCase()))
      src.error(e.get('host')!.value, `${what} host "${hst}" is not a host name`);
    else if (hst !== null) check.host = hst.replace(/\.$/, '');
  }
  if (e.get('headers')) {
    for (const hd of src.map(e.get('headers')!.value, `${what} headers`) ?? []) {
      const v = src.string(hd.value, `${what} header ${hd.key}`);
      const name = hd.key.toLowerCase();
      const breaking = PROBE_BREAKING_HEADERS[name];
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(hd.key)) src.error(hd.keyNode, `${what}: "${hd.key}" is not a valid header name`);
      else if (breaking) src.error(hd.keyNode, `${what}: header ${hd.key} cannot be set in headers: ${breaking}`);
      else if (name === 'connection')
        src.warn(hd.keyNode, `${what}: header ${hd.key} is ignored: each probe opens its own connection and closes it (Connection: close)`);
      else if (name === 'host') {
        // the probe sends host: as Host and as TLS SNI; a Host header stands for host: when that is not written
        const hv = v?.replace(/\.$/, '') ?? null;
        if (hv === null) continue;
        if (e.get('host')) {
          if (hv.toLowerCase() !== check.host.toLowerCase())
            src.error(
              hd.value,
              `${what}: header ${hd.key} "${v}" differs from host: "${check.host}" (the probe sends host: as Host and as TLS SNI)`,
            );
          else src.warn(hd.keyNode, `${what}: header ${hd.key} repeats host: and is ignored`);
        } else if (!isHostName(hv.toLowerCase()))
          src.error(hd.value, `${what}: header ${hd.key} "${v}" is not a host name (write the port in port:)`);
        else {
          check.host = hv;
          src.warn(hd.keyNode, `${what}: header ${hd.key} is taken as host: "${hv}" (sent as Host and as TLS SNI): write host: instead`);
        }
      } else if (v !== null && LINE_BREAK_OR_NUL.test(v)) src.error(hd.value, `${what}: header ${hd.key} contains a line break`);
      else if (v !== null && !sendableHeaderValue(hd.key, v)) {
        const bad = /[^\t\x20-\x7e\x80-\xff]/u.exec(v)?.[0] ?? '';
        src.error(
          hd.value,
          `${what}: header ${hd.key} contains ${bad ? `"${JSON.stringify(bad).slice(1, -1)}" (${codePoint(bad)})` : 'a character'} that cannot be sent in an HTTP header (control characters and characters beyond U+00FF are refused)`,
        );
      } else if (v !== null) check.headers[hd.key] = v;
    }
  }
  if (e.get('expect')) {
    check.expect = [];
    for (const x of src.list(e.get('expect')!.value)) {
      const n = src.integer(x, `${what} expect status`, 100, 599);
      if (n !== null) check.expect.push(n);
    }
  }
  if (e.get('body')) check.body = src.string(e.get('body')!.value, `${what} body`);
  if (e.get('insecure')) check.insecure = src.boolean(e.get('insecure')!.value, `${what} insecure`) ?? false;
  if (e.get('interval')) check.intervalMs = durationOf(src, e.get('interval')!.value, `${what} interval`, 100) ?? check.intervalMs;
  if (e.get('timeout')) check.timeoutMs = durationOf(src, e.get('timeout')!.value, `${what} timeout`, 10) ?? check.timeoutMs;
  if (e.get('rise')) check.rise = src.integer(e.get('rise')!.value, `${what} rise`, 1, 100) ?? check.rise;
  if (e.get('fall')) check.fall = src.integer(e.get('fall')!.value, `${what} fall`, 1, 100) ?? check.fall;
  if (e.get('initial')) check.initial = src.oneOf(e.get('initial')!.value, `${what} initial`, ['up', 'down'] as const) ?? 'up';
  if (type !== 'none' && check.timeoutMs >= check.intervalMs) {
    src.warn(
      e.get('timeout')?.value ?? e.get('interval')?.value ?? node,
      `${what}: timeout ${check.timeoutMs}ms is not shorter than the interval ${check.intervalMs}ms: probes run back to back and a hanging target takes fall × timeout to go down`,
    );
  }
  if (type !== 'http' && type !== 'https') {
    for (const k of ['path', 'host', 'headers', 'expect', 'body', 'insecure']) {
      if (e.get(k)) src.error(e.get(k)!.keyNode, `${what}: ${k} only applies to http and https checks`);
    }
  }
  return check;
}

function readPoolRegions(z: PoolReading, pool: PoolSpec, node: Node | null, label: string): void {
  const { src, cfg } = z;
  const entries = src.map(node, `${label} regions`);
  if (!entries) return;
  if (entries.length === 0) src.error(node, `${label} has no regions`);
  /** Canonical address → as first written. */
  const seen = new Map<string, string>();
  const probes = pool.check !== null && pool.check.type !== 'none';
  for (const r of entries) {
    if (!cfg.regions.has(r.key)) {
      src.error(r.keyNode, `${label}: region "${r.key}" is not declared in steerdns.yaml`);
      continue;
    }
    const region: PoolRegionSpec = { region: r.key, targets: [], at: r.keyNode };
    const items = src.isSeq(r.value) ? src.list(r.value) : null;
    if (!items || items.length === 0) {
      src.error(r.value ?? r.keyNode, `${label}: region "${r.key}" needs a list of target addresses`);
      continue;
    }
    for (const t of items) {
      const target = readTarget(z, t, `${label} region "${r.key}" target`);
      if (!target) continue;
      // one address written two ways (2001:db8::1, 2001:DB8:0::1) is still one RR and one probe; an IPv4
      // host and its IPv4-mapped form (::ffff:192.0.2.1) are one host and one probe
      const host = unmappedIPv4(target.address);
      const prev = seen.get(host);
      if (prev !== undefined) {
        src.error(
          t,
          prev === target.written
            ? `${label}: target ${target.written} is listed twice`
            : ipFamily(prev) !== target.family
              ? `${label}: target ${target.written} is listed twice: it and ${prev} are one IPv4 host (${host}), once in its IPv4-mapped IPv6 form`
              : `${label}: target ${target.written} is listed twice: it is ${prev} written another way (both are ${target.address})`,
        );
        continue;
      }
      seen.set(host, target.written);
      if (probes) checkProbeDestination(z, target, label);
      const { written: _written, ...spec } = target;
      region.targets.push(spec);
    }
    pool.regions.push(region);
  }
}

function readTarget(z: PoolReading, node: Node, what: string): (TargetSpec & { written: string }) | null {
  const { src } = z;
  let addrNode: Node | null = node;
  let weight = 1;
  let state: 'up' | 'down' = 'up';
  if (src.isMap(node)) {
    const entries = src.map(node, what) ?? [];
    src.knownKeys(entries, ['address', 'weight', 'state'], what);
    const e = entryMap(entries);
    if (!e.get('address')) {
      src.error(node, `${what} needs address`);
      return null;
    }
    addrNode = e.get('address')!.value;
    if (e.get('weight')) weight = src.integer(e.get('weight')!.value, `${what} weight`, 0, 1000) ?? 1;
    if (e.get('state')) state = src.oneOf(e.get('state')!.value, `${what} state`, ['up', 'down'] as const) ?? 'up';
  }
  const address = src.string(addrNode, `${what} address`);
  if (address === null) return null;
  const family = ipFamily(address);
  if (!family) {
    src.error(addrNode, `${what}: "${address}" is not an IP address`);
    return null;
  }
  const bytes = ipToBytes(address);
  // the canonical text (RFC 5952 for IPv6): the same address has one form in health keys, /status and metrics
  return { address: bytesToIp(bytes), written: address, family, bytes, weight, state, at: addrNode ?? node };
}

/** A probed target must not be in a network `health.deny` closes (and `health.allow` does not reopen). */
function checkProbeDestination(z: PoolReading, target: TargetSpec & { written: string }, label: string): void {
  const denied = deniedProbeNetwork(z.cfg.health, target.bytes);
  if (!denied) return;
  z.src.error(
    target.at,
    `${label}: target ${target.written} is in ${denied.text}, a network health checks may not probe (health.deny in steerdns.yaml${denied.byDefault ? ', by default' : ''}); list it under health.allow to probe it, or use check: { type: none }`,
  );
}

function readMap(z: PoolReading, pool: PoolSpec, node: Node | null, label: string): void {
  const { src } = z;
  const entries = src.map(node, `${label} map`);
  if (!entries) return;
  const poolRegions = new Set(pool.regions.map((r) => r.region));
  for (const m of entries) {
    const k = m.key;
    const valid =
      k === 'default' ||
      (/^continent:[A-Z]{2}$/.test(k) && CONTINENTS.includes(k.slice(10))) ||
      /^[A-Z]{2}$/.test(k) ||
      /^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(k);
    if (!valid) {
      src.error(m.keyNode, `${label} map key "${k}" must be continent:XX, a country code (GB), a subdivision (US-CA) or default`);
      continue;
    }
    const regions: string[] = [];
    for (const x of src.list(m.value)) {
      const r = src.string(x, `${label} map region`);
      if (r === null) continue;
      if (!poolRegions.has(r)) src.error(x, `${label} map "${k}": region "${r}" is not one of the pool's regions`);
      else regions.push(r);
    }
    if (regions.length === 0) src.error(m.value ?? m.keyNode, `${label} map "${k}" needs at least one region`);
    pool.map.push({ key: k, regions });
  }
  if (!pool.map.some((m) => m.key === 'default')) src.error(node, `${label} map needs a default entry`);
}

/** " (%E2%82%AC)" for a character, or nothing for one UTF-8 cannot encode (a lone surrogate). */
function percentEncoded(c: string): string {
  try {
    return ` (${encodeURIComponent(c)})`;
  } catch {
    return '';
  }
}

/** "U+20AC" for a character. */
function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether Node will send this header value (it throws on control characters and characters beyond U+00FF). */
function sendableHeaderValue(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
