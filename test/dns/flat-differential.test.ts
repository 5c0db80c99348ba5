// The flat zone form (dns/flat-zone.ts, dns/flat-lookup.ts) against the prepared object zones
// (test/helpers/object-zone.ts, object-lookup.ts), the oracle: the same zone files read twice, one query asked of each and both answers
// written by the same writer must give the same bytes — for every name of the zones (empty non-terminals
// included) × every type, names that do not exist, names outside every zone, mixed case, UDP without EDNS,
// at EDNS sizes 512, 1232 and above, TCP, with and without Client Subnet — and the same zone, wildcard and
// cut for the rate limiter. Zones: the repository's samples with big.test (answers of every size), and seeded
// generated zones (wildcards, cuts, glue in and out of bailiwick, CNAME chains and loops, DS, ANY, empty
// non-terminals, pools of every all_down kind, hosted child zones delegated to or not). The GSLB environment
// is deterministic: a health table shared by both sides, and per side a Rotation and a seeded random source
// that see the same decisions in the same order, so their counters move in step.
// The rules both implement: docs/dns-behaviour.md#lookup.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig, type ServerConfig } from '../../src/config/server-config.js';
import { parseZone } from '../../src/config/zone-file.js';
import type { QueryClient } from '../../src/dns/dynamic.js';
import { FlatAnswer } from '../../src/dns/flat-answer.js';
import { lookupFlat } from '../../src/dns/flat-lookup.js';
import { FlatZones } from '../../src/dns/flat-zone.js';
import { parseQuery } from '../../src/dns/query.js';
import { type WrittenMessage, writeResponse } from '../../src/dns/writer.js';
import { poolResolver } from '../../src/gslb/decide.js';
import type { GeoContext } from '../../src/gslb/locate.js';
import type { Pool } from '../../src/gslb/pool.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { prepareZone, type ServedZone } from '../../src/served-zone.js';
import { geoContext, loadDatabase } from '../../src/snapshot.js';
import { lookup, type ZoneTable } from '../helpers/object-lookup.js';
import { type ObjectZone, prepareObjectZone } from '../helpers/object-zone.js';
import { mulberry32 } from '../helpers/random.js';
import { ROOT } from '../helpers/server.js';
import { ecsOption, optRecord, rawQuery } from '../helpers/wire.js';
import { generateZones } from '../helpers/zone-gen.js';
import { BIG_ZONE, HOSTED_CHILD_ZONE, undelegatedZone } from '../helpers/zones.js';

const CONFIG = readFileSync(join(ROOT, 'steerdns.yaml'), 'utf8');

interface Forms {
  objects: ZoneTable<Pool>;
  flat: FlatZones<Pool>;
  geo: GeoContext;
  /** Every node name of every zone (the object form's), and a few names that exist nowhere. */
  names: string[];
}

/** The zone files read twice, once per form, with the serial they write (1 when none). */
function loadForms(files: Record<string, string>): Forms {
  const parsed = parseServerConfig(join(ROOT, 'steerdns.yaml'), CONFIG);
  const cfg: ServerConfig = parsed.config!;
  const objects = new Map<string, ObjectZone>();
  const flat: ServedZone[] = [];
  for (const [file, text] of Object.entries(files)) {
    const read = () => {
      const r = parseZone(join(cfg.zonesDir, file), text, cfg);
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      if (!r.zone || errors.length) throw new Error(`${file}: ${errors.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n')}`);
      return r.zone;
    };
    const a = read();
    objects.set(a.origin, prepareObjectZone(a, a.soa.serial ?? 1, cfg));
    const b = read();
    flat.push(prepareZone(b, b.soa.serial ?? 1, cfg));
  }
  const names: string[] = [];
  for (const z of objects.values()) names.push(...z.nodes.keys(), `nx-none.${z.origin}`, `a.b.nx-none.${z.origin}`, `*.${z.origin}`);
  names.push('', 'test', 'example.com', 'deep.x.y.z.example.com');
  return { objects: { zones: objects }, flat: new FlatZones(flat), geo: geoContext(cfg, loadDatabase(cfg, null).db), names };
}

const TYPES = [1, 28, 15, 16, 2, 6, 33, 5, 255, 43, 257, 12, 52, 35, 44, 99];
/** UDP without EDNS, at EDNS payload sizes, and TCP. */
const TRANSPORTS: { tcp: boolean; payload: number | null }[] = [
  { tcp: false, payload: null },
  { tcp: false, payload: 512 },
  { tcp: false, payload: 1232 },
  { tcp: false, payload: 4096 },
  { tcp: true, payload: null },
  { tcp: true, payload: 4096 },
];
const SOURCES = ['127.0.0.1', '81.2.69.142', '192.0.2.200', '2001:db8::1'];
const SUBNETS: [number, number, number[]][] = [
  [1, 24, [81, 2, 69]],
  [1, 24, [8, 8, 8]],
  [1, 24, [103, 21, 244]],
  [1, 16, [10, 30]],
  [2, 56, [0x24, 0x00, 0xcb, 0x00, 0, 0, 0]],
];

interface Side {
  lookup(
    name: string,
    qtype: number,
    client: QueryClient,
  ): {
    rcode: number;
    aa: boolean;
    ecsScope: number;
    zone: string | null;
    wildcard: string | null;
    cut: string | null;
  };
  write(msg: Buffer, maxSize: number, written: WrittenMessage): Buffer;
}

/** The two forms answering side by side, each with its own round-robin counters and random source. */
function sides(forms: Forms, health: HealthTable): [Side, Side] {
  const objectSide = (): Side => {
    const env = { health, rotation: new Rotation(), random: mulberry32(5) };
    const resolve = poolResolver(env, () => forms.geo);
    let ans: ReturnType<typeof lookup> | null = null;
    return {
      lookup(name, qtype, client) {
        const a = lookup(forms.objects, name, qtype, client, resolve);
        ans = a;
        return a;
      },
      write: (msg, maxSize, written) => write(msg, ans!, ans!, maxSize, env.rotation, written),
    };
  };
  const flatSide = (): Side => {
    const env = { health, rotation: new Rotation(), random: mulberry32(5) };
    const resolve = poolResolver(env, () => forms.geo);
    const ans = new FlatAnswer<Pool>();
    return {
      lookup(name, qtype, client) {
        lookupFlat(forms.flat, name, qtype, client, resolve, ans);
        return { rcode: ans.rcode, aa: ans.aa, ecsScope: ans.ecsScope, zone: ans.origin, wildcard: ans.wildcardName(), cut: ans.cutName() };
      },
      write: (msg, maxSize, written) => write(msg, ans, ans, maxSize, env.rotation, written),
    };
  };
  return [objectSide(), flatSide()];
}

function write(
  msg: Buffer,
  ans: Parameters<typeof writeResponse>[2],
  flags: { rcode: number; aa: boolean; ecsScope: number },
  maxSize: number,
  rotation: Rotation,
  written: WrittenMessage,
): Buffer {
  const opts = { rcode: flags.rcode, aa: flags.aa, maxSize, rotation, nsid: null, ecsScope: flags.ecsScope, truncate: false };
  return writeResponse(msg, parseQuery(msg), ans, opts, written);
}

interface Tally {
  queries: number;
  byRcode: Map<number, number>;
  truncated: number;
  wildcard: number;
  referral: number;
  chained: number;
}

/** Asks both sides every query; returns the differences found (at most a few, with the query). */
function compare(forms: Forms, queries: Iterable<{ msg: Buffer; tcp: boolean; source: string }>, tally: Tally): string[] {
  const health = new HealthTable();
  const [a, b] = sides(forms, health);
  const problems: string[] = [];
  const wa: WrittenMessage = { truncated: false, answerCount: 0, authorityCount: 0, additionalCount: 0 };
  const wb: WrittenMessage = { ...wa };
  for (const { msg, tcp, source } of queries) {
    const q = parseQuery(msg);
    const { name, qtype } = q.question!;
    const ecs = q.edns?.ecs ?? null;
    const x = a.lookup(name, qtype, { address: source, ecs });
    const y = b.lookup(name, qtype, { address: source, ecs });
    const maxSize = tcp ? 65535 : q.edns ? Math.min(Math.max(q.edns.payload, 512), 1232) : 512;
    const out = [a.write(msg, maxSize, wa), b.write(msg, maxSize, wb)];
    tally.queries++;
    tally.byRcode.set(x.rcode, (tally.byRcode.get(x.rcode) ?? 0) + 1);
    if (wa.truncated) tally.truncated++;
    if (x.wildcard) tally.wildcard++;
    if (x.cut) tally.referral++;
    if (wa.answerCount > 1 && msg.readUInt16BE(4) === 1) tally.chained++;
    const same =
      out[0]!.equals(out[1]!) &&
      JSON.stringify(wa) === JSON.stringify(wb) &&
      JSON.stringify([x.zone, x.wildcard, x.cut]) === JSON.stringify([y.zone, y.wildcard, y.cut]);
    if (!same && problems.length < 5) {
      problems.push(
        `${name} type ${qtype} ${tcp ? 'tcp' : 'udp'} from ${source}${ecs ? ' with ECS' : ''}:\n` +
          `  object: ${JSON.stringify(x)} ${out[0]!.toString('hex')}\n  flat:   ${JSON.stringify(y)} ${out[1]!.toString('hex')}`,
      );
    }
  }
  return problems;
}

/** Every name × every type × every transport, then as many random queries (case, names, ECS, source). */
function* queries(forms: Forms, seed: number): Generator<{ msg: Buffer; tcp: boolean; source: string }> {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const query = (name: string, qtype: number, t: (typeof TRANSPORTS)[number], ecs: boolean) => {
    const options = ecs && t.payload !== null ? [ecsOption(...pick(SUBNETS))] : [];
    const records = t.payload === null ? [] : [optRecord({ payload: t.payload, options })];
    return { msg: rawQuery({ name, qtype, records }), tcp: t.tcp, source: pick(SOURCES) };
  };
  for (const name of forms.names) for (const qtype of TYPES) for (const t of TRANSPORTS) yield query(name, qtype, t, rnd() < 0.3);
  const variants = (n: string) => [n, `zz${Math.floor(rnd() * 9)}.${n}`, `${pick(['x', '*', 'a.b'])}.${n}`, n.toUpperCase()];
  for (let i = 0; i < forms.names.length * 20; i++) {
    const name = pick(variants(pick(forms.names)));
    const mixed = [...name].map((c) => (rnd() < 0.3 ? c.toUpperCase() : c)).join('');
    yield query(mixed, pick(TYPES), pick(TRANSPORTS), rnd() < 0.5);
  }
}

const newTally = (): Tally => ({ queries: 0, byRcode: new Map(), truncated: 0, wildcard: 0, referral: 0, chained: 0 });
const report = (t: Tally) =>
  `${t.queries} queries (rcodes ${[...t.byRcode].map(([k, v]) => `${k}: ${v}`).join(', ')}), ${t.truncated} truncated, ` +
  `${t.wildcard} from wildcards, ${t.referral} referrals, ${t.chained} with several answer records`;

test('the sample zones and big.test answer byte for byte the same from the flat form as from the object form (docs/dns-behaviour.md#lookup)', (t) => {
  const files: Record<string, string> = { 'big.test.yaml': BIG_ZONE };
  for (const f of readdirSync(join(ROOT, 'zones')).filter((f) => f.endsWith('.yaml')))
    files[f] = readFileSync(join(ROOT, 'zones', f), 'utf8');
  files['deep.example.test.yaml'] = HOSTED_CHILD_ZONE;
  files['nocut.example.test.yaml'] = undelegatedZone('nocut.example.test');
  const forms = loadForms(files);
  const tally = newTally();
  // twice over: the round-robin counters have moved on the second pass
  const problems = [...compare(forms, queries(forms, 1), tally), ...compare(forms, queries(forms, 2), tally)];
  t.deepEqual(problems, []);
  t.log(report(tally));
  t.true(tally.truncated > 100 && tally.wildcard > 20 && tally.referral > 100 && tally.chained > 100, report(tally));
});

for (const seed of [11, 12, 13, 14]) {
  test(`generated zones (seed ${seed}) answer byte for byte the same from the flat form as from the object form (docs/dns-behaviour.md#lookup)`, (t) => {
    const { files } = generateZones(seed);
    const forms = loadForms(files);
    const tally = newTally();
    const problems = compare(forms, queries(forms, seed), tally);
    t.deepEqual(problems, []);
    t.log(report(tally));
    for (const rcode of [0, 2, 3, 5]) t.true((tally.byRcode.get(rcode) ?? 0) > 0, `rcode ${rcode} seen: ${report(tally)}`);
    t.true(tally.wildcard > 100 && tally.referral > 100 && tally.chained > 1000, report(tally));
  });
}
