// `health:` of steerdns.yaml (docs/configuration.md#health): the defaults of every pool's check, panic mode,
// the networks probes may not reach (health.deny) or may after all (health.allow), and the address probes
// leave from (health.source).
import { networkInterfaces } from 'node:os';
import type { Node } from 'yaml';
import { bytesToIp, ipFamily, ipToBytes, isMappedIPv4 } from '../net/address.js';
import { inNetwork, maskBytes, parseCidr } from '../net/cidr.js';
import { type ProbeNetwork, type ProbeSource, probeNetwork, type ServerConfig } from './server-spec.js';
import type { Entry, SourceFile } from './source.js';
import { durationOf } from './values.js';

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

export function readHealth(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  const e = src.section(ent, 'health', ['interval', 'timeout', 'rise', 'fall', 'panic', 'panic_min_targets', 'deny', 'allow', 'source']);
  if (!e) return;
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
  const source = e.get('source');
  if (source && src.scalar(source.value) !== null) cfg.healthSource = probeSource(src, source.value);
}

/**
 * One unicast address; an IPv4-mapped one is its IPv4 address, as the targets it would serve are. Not an address
 * of this host: a warning (serve, which binds to it before probing, refuses to start).
 */
function probeSource(src: SourceFile, node: Node | null): ProbeSource | null {
  if (src.isSeq(node) || src.isMap(node)) {
    src.error(node, 'health.source must be one IP address (probes of the other family leave from the address the system picks)');
    return null;
  }
  const t = src.string(node, 'health.source');
  if (t === null) return null;
  const family = ipFamily(t);
  if (!family) {
    src.error(node, `health.source: "${t}" is not an IP address (probes leave from one address of this host)`);
    return null;
  }
  let bytes = ipToBytes(t);
  if (isMappedIPv4(bytes)) bytes = bytes.subarray(12);
  const address = bytesToIp(bytes);
  if (bytes.every((b) => b === 0)) {
    src.error(node, `health.source: "${t}" is the wildcard address: give one address of this host, or leave source out`);
    return null;
  }
  if (bytes.length === 4 ? bytes[0]! >= 224 : bytes[0] === 0xff) {
    src.error(
      node,
      `health.source: "${t}" is a ${bytes.length === 4 && bytes[0]! >= 240 ? 'reserved or broadcast' : 'multicast'} address: probes need a unicast address of this host`,
    );
    return null;
  }
  if (!isLocalAddress(bytes)) {
    src.warn(node, `health.source: ${address} is not an address of this host (serve refuses to start: it cannot bind probes to it)`);
  }
  return { address, family: bytes.length === 4 ? 4 : 6, at: { file: src.display, ...src.position(node) } };
}

/** An address of one of this host's interfaces, or in a loopback interface's network (Linux answers all of 127/8 on lo). */
function isLocalAddress(bytes: Buffer): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const own = ipToBytes(a.address);
      if (own.equals(bytes)) return true;
      const prefix = Number(a.cidr?.split('/')[1]);
      if (a.internal && Number.isInteger(prefix) && inNetwork({ bytes: maskBytes(own, prefix), prefix }, bytes)) return true;
    }
  }
  return false;
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
