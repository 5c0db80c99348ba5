// `health:` of steerdns.yaml (docs/configuration.md#health): the defaults of every pool's check, panic mode,
// and the networks probes may not reach (health.deny) or may after all (health.allow).
import type { Node } from 'yaml';
import { parseCidr } from '../net/cidr.js';
import { type ProbeNetwork, probeNetwork, type ServerConfig } from './server-spec.js';
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
  const e = src.section(ent, 'health', ['interval', 'timeout', 'rise', 'fall', 'panic', 'panic_min_targets', 'deny', 'allow']);
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
