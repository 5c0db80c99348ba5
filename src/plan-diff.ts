// What a change moves (`steerdns plan`): two loaded snapshots compared name by name — static RRsets by their
// records and TTL, pools by the answer each sample client gets, computed by `explain` (the server's own lookup
// and pool decision, docs/dns-behaviour.md), so the plan cannot drift from what the servers will answer.
import { rdataToText } from './dns/rdata-text.js';
import { TYPE, typeName } from './dns/registry.js';
import { explain } from './explain.js';
import type { Pool } from './gslb/pool.js';
import type { HealthView } from './health/table.js';
import type { SampleClient } from './plan-clients.js';
import type { Snapshot } from './snapshot.js';

/** One client whose answer for a pool name moves. */
export interface ClientChange {
  client: string;
  /** Where the client stands for (a country code, an overlay network, a line of --clients). */
  label: string;
  /** The addresses answered, sorted (empty: none, see the rcode). */
  from: string[];
  to: string[];
  from_region: string | null;
  to_region: string | null;
  from_rcode: string;
  to_rcode: string;
}

/** A static record added or removed, as its presentation RDATA. */
export interface RecordChange {
  client: '*';
  from: string[];
  to: string[];
}

export interface NameChange {
  /** The owner name (no trailing dot, as /status names pools). */
  name: string;
  type: string;
  /** `pool`: answers per client; `records`: a static RRset added, removed or changed. */
  kind: 'pool' | 'records';
  change: 'added' | 'removed' | 'changed';
  ttl: { from: number; to: number } | null;
  changes: (ClientChange | RecordChange)[];
}

export interface PlanDiff {
  zones: { added: string[]; removed: string[] };
  names: NameChange[];
  /** Sample clients whose answer for some pool name changed. */
  clientsChanged: number;
  /** Static RRsets of the old revision changed or removed (octoDNS's measure), and their count there. */
  rrsetsTouched: number;
  rrsetsBefore: number;
}

interface StaticSet {
  name: string;
  type: number;
  ttl: number;
  records: string[];
}

/** The static RRsets of a snapshot by `name type`; the SOA without its serial (it moves with every change). */
function staticSets(s: Snapshot): Map<string, StaticSet> {
  const out = new Map<string, StaticSet>();
  for (const z of s.zones.values()) {
    for (let node = 0; node < z.nodeCount; node++) {
      const name = z.nameOf(node);
      for (const set of z.rrsetsAt(node)) {
        let records = set.rdata.map((rd) => rdataToText(set.type, rd));
        if (set.type === TYPE.SOA) records = records.map((r) => r.split(' ').toSpliced(2, 1, '(serial)').join(' '));
        // by zone too: a parent's delegation NS and glue and the child zone's apex records share a name
        out.set(`${z.origin}\u0000${name} ${set.type}`, { name, type: set.type, ttl: set.ttl, records: records.sort() });
      }
    }
  }
  return out;
}

function poolsByName(s: Snapshot): Map<string, Pool> {
  const out = new Map<string, Pool>();
  for (const z of s.zones.values()) {
    for (let node = 0; node < z.nodeCount; node++) {
      const pool = z.dynamicAt(node);
      if (pool) out.set(z.nameOf(node), pool);
    }
  }
  return out;
}

interface Answer {
  addresses: string[];
  region: string | null;
  rcode: string;
}

/** The answer `client` gets for `name` (A or AAAA), as the server computes it; a fixed draw for weighted choices. */
function answerOf(s: Snapshot, health: HealthView, name: string, type: 'A' | 'AAAA', c: SampleClient): Answer {
  const r = explain(s, health, 'configured', { name, type, from: c.from }, () => 0.5);
  if ('error' in r) return { addresses: [], region: null, rcode: r.error };
  const addresses = r.answer.answer
    .map((l) => l.split(' '))
    .filter((w) => w[3] === type)
    .map((w) => w[4]!)
    .sort();
  const region = r.pools.find((p) => p.chosen !== null)?.chosen ?? null;
  return { addresses, region, rcode: r.answer.rcode };
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Compares two snapshots (`before`, `after`) for `clients`, each with its health view. */
export function planDiff(
  before: { snapshot: Snapshot; health: HealthView },
  after: { snapshot: Snapshot; health: HealthView },
  clients: SampleClient[],
): PlanDiff {
  const a = before.snapshot;
  const b = after.snapshot;
  const zonesA = new Set(a.zones.keys());
  const zonesB = new Set(b.zones.keys());
  const zones = {
    added: [...zonesB].filter((z) => !zonesA.has(z)).sort(),
    removed: [...zonesA].filter((z) => !zonesB.has(z)).sort(),
  };
  const names: NameChange[] = [];
  const moved = new Set<string>();

  const poolsA = poolsByName(a);
  const poolsB = poolsByName(b);
  for (const name of [...new Set([...poolsA.keys(), ...poolsB.keys()])].sort()) {
    const pa = poolsA.get(name);
    const pb = poolsB.get(name);
    for (const type of ['A', 'AAAA'] as const) {
      const has = (p: Pool | undefined) => !!p && (type === 'A' ? p.has4 : p.has6);
      if (!has(pa) && !has(pb)) continue;
      const changes: ClientChange[] = [];
      for (const c of clients) {
        const x = answerOf(a, before.health, name, type, c);
        const y = answerOf(b, after.health, name, type, c);
        if (x.region === y.region && x.rcode === y.rcode && same(x.addresses, y.addresses)) continue;
        moved.add(c.client);
        changes.push({
          client: c.client,
          label: c.label,
          from: x.addresses,
          to: y.addresses,
          from_region: x.region,
          to_region: y.region,
          from_rcode: x.rcode,
          to_rcode: y.rcode,
        });
      }
      const ttl = pa && pb && pa.ttl !== pb.ttl ? { from: pa.ttl, to: pb.ttl } : null;
      if (changes.length === 0 && !ttl && has(pa) === has(pb)) continue;
      names.push({ name, type, kind: 'pool', change: !has(pa) ? 'added' : !has(pb) ? 'removed' : 'changed', ttl, changes });
    }
  }

  const setsA = staticSets(a);
  const setsB = staticSets(b);
  let touched = 0;
  const keys = [...new Set([...setsA.keys(), ...setsB.keys()])];
  const order = (k: string) => {
    const s = (setsA.get(k) ?? setsB.get(k))!;
    return [s.name, s.type] as const;
  };
  keys.sort((k1, k2) => {
    const [n1, t1] = order(k1);
    const [n2, t2] = order(k2);
    return n1 < n2 ? -1 : n1 > n2 ? 1 : t1 - t2;
  });
  for (const k of keys) {
    const x = setsA.get(k);
    const y = setsB.get(k);
    const s = (x ?? y)!;
    const from = x?.records ?? [];
    const to = y?.records ?? [];
    const ttl = x && y && x.ttl !== y.ttl ? { from: x.ttl, to: y.ttl } : null;
    if (same(from, to) && !ttl) continue;
    if (x) touched++;
    const removed = from.filter((r) => !to.includes(r));
    const added = to.filter((r) => !from.includes(r));
    names.push({
      name: s.name,
      type: typeName(s.type),
      kind: 'records',
      change: !x ? 'added' : !y ? 'removed' : 'changed',
      ttl,
      changes: removed.length || added.length ? [{ client: '*', from: removed, to: added }] : [],
    });
  }
  return { zones, names, clientsChanged: moved.size, rrsetsTouched: touched, rrsetsBefore: setsA.size };
}
