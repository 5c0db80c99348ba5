// `steerdns explain` and `GET /explain`: runs the real lookup for one (name, type, client) with a trace,
// so what it prints is what the server's own functions decided — it cannot drift from the server. The CLI
// calls it on a snapshot it loads; the HTTP API is handed it bound to the running server's snapshot.
import { FlatAnswer, flatSections } from './dns/flat-answer.js';
import { lookupFlat } from './dns/flat-lookup.js';
import type { FlatZones } from './dns/flat-zone.js';
import { rrsetLines } from './dns/present.js';
import type { ClientSubnet } from './dns/query.js';
import { RCODE, rcodeName, typeCode } from './dns/registry.js';
import type { ZoneSigning } from './dnssec/signer.js';
import type { Adjustments } from './gslb/adjust.js';
import { poolResolver } from './gslb/decide.js';
import type { Location } from './gslb/geo.js';
import { type ClientInfo, ECS_OFF, type GeoContext, locateClient } from './gslb/locate.js';
import type { Pool } from './gslb/pool.js';
import { Rotation } from './gslb/rotation.js';
import type { PoolTrace } from './gslb/trace.js';
import type { HealthView } from './health/table.js';
import { bytesToIp, ipFamily } from './net/address.js';
import { parseCidr } from './net/cidr.js';
import { embeddedIPv4 } from './net/ranges.js';

export interface ExplainRequest {
  name: string;
  type?: string;
  from: string;
  subnet?: string;
}

export interface ExplainClient extends Location {
  /** The address that was looked up (after unwrapping an embedded IPv4 address). */
  address: string;
  via: 'ecs' | 'source';
  ecsIgnored: string | null;
  /** Why the address that decided has no location ('private address', 'located by nothing'), or null. */
  unlocated: string | null;
}

export interface ExplainResult {
  query: { name: string; type: string; from: string; subnet: string | null };
  /** `live`: the running server's health table; `configured`: zone-file states, every probed target up. */
  health: 'live' | 'configured';
  client: ExplainClient | null;
  pools: Omit<PoolTrace, 'client'>[];
  answer: {
    rcode: string;
    aa: boolean;
    answer: string[];
    authority: string[];
    additional: string[];
    ecsScope: number;
    zone: string | null;
  };
  /** Present when the answering zone is signed (`dnssec:`): whether a DO=1 query gets this answer signed, by which keys. */
  dnssec?: { signed: boolean; keys: { tag: number; algorithm: number }[] };
}

/** Validates the request; returns an error message or the parsed parts. */
function parse(req: ExplainRequest): { name: string; qtype: number; typeName: string; ecs: ClientSubnet | null } | string {
  const name = req.name.trim().replace(/\.$/, '').toLowerCase();
  if (!name || name.length > 253 || name.split('.').some((l) => !l || l.length > 63)) return `"${req.name}" is not a domain name`;
  const typeName = (req.type ?? 'A').toUpperCase();
  const qtype = typeCode(typeName) ?? NaN;
  if (!(qtype > 0 && qtype < 65536)) return `unknown record type "${req.type}"`;
  if (!ipFamily(req.from)) return `--from "${req.from}" is not an IP address`;
  let ecs: ClientSubnet | null = null;
  if (req.subnet) {
    const c = parseCidr(req.subnet);
    if (typeof c === 'string') return `--subnet: ${c}`;
    ecs = { family: c.family === 4 ? 1 : 2, sourcePrefix: c.prefix, address: c.bytes.subarray(0, Math.ceil(c.prefix / 8)) };
  }
  return { name, qtype, typeName, ecs };
}

/** What explain reads from a snapshot: the zones (as the answer path finds them) and where clients are. */
export interface ExplainTable {
  flat: FlatZones<Pool>;
  geo: GeoContext;
  /** The signed zones (a snapshot's), if any. */
  signing?: ReadonlyMap<string, ZoneSigning>;
}

export function explain(
  table: ExplainTable,
  health: HealthView,
  healthSource: 'live' | 'configured',
  req: ExplainRequest,
  random: () => number = Math.random,
  adjust: Adjustments | null = null,
): ExplainResult | { error: string } {
  const p = parse(req);
  if (typeof p === 'string') return { error: p };
  const client: ClientInfo = { address: req.from, ecs: p.ecs };
  const trace: PoolTrace[] = [];
  // a fresh rotation: explaining never moves the live round-robin counters
  const resolve = poolResolver({ health, rotation: new Rotation(), random, trace, adjust }, () => table.geo);
  const ans = lookupFlat(table.flat, p.name, p.qtype, client, resolve, new FlatAnswer<Pool>());
  const sections = flatSections(ans);
  // show where the client is even when no pool was asked
  const located = client.located ?? locateClient(client, table.geo);
  const zs = ans.origin !== null ? table.signing?.get(ans.origin) : undefined;
  const dnssec = zs && {
    signed: ans.rcode === RCODE.NOERROR || ans.rcode === RCODE.NXDOMAIN,
    keys: zs.active.map((k) => ({ tag: k.tag, algorithm: k.algorithm })),
  };
  return {
    ...(dnssec && { dnssec }),
    query: { name: p.name, type: p.typeName, from: req.from, subnet: req.subnet ?? null },
    health: healthSource,
    client: located
      ? {
          ...located.loc,
          address: bytesToIp(embeddedIPv4(located.bytes)?.v4 ?? located.bytes),
          via: located.via,
          ecsIgnored: located.ecsIgnored ?? null,
          unlocated: located.unlocated ?? null,
        }
      : null,
    pools: trace.map(({ client: _c, ...rest }) => rest),
    answer: {
      rcode: rcodeName(ans.rcode),
      aa: ans.aa,
      answer: sections.answer.flatMap(rrsetLines),
      authority: sections.authority.flatMap(rrsetLines),
      additional: sections.additional.flatMap(rrsetLines),
      ecsScope: client.ecs ? ans.ecsScope : 0,
      zone: ans.origin,
    },
  };
}

const km = (d: number | null) => (d === null ? '—' : `${Math.round(d).toLocaleString('en-US')} km`);

/** The human-readable form printed by `steerdns explain`. */
export function formatExplain(r: ExplainResult, healthNote: string): string {
  const out: string[] = [];
  const q = r.query;
  out.push(`query:   ${q.name}. ${q.type} from ${q.from}${q.subnet ? ` with client subnet ${q.subnet}` : ''}`);
  out.push(`health:  ${healthNote}`);
  const c = r.client;
  if (c) {
    const where = [
      c.country,
      c.subdivision && c.country ? `${c.country}-${c.subdivision}` : null,
      c.continent ? `continent ${c.continent}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    const pos = c.lat !== undefined && c.lon !== undefined ? `${c.lat.toFixed(2)}, ${c.lon.toFixed(2)}` : 'no coordinates';
    const src =
      c.source === 'overlay'
        ? `overlay network ${c.network}${c.region ? ` → region ${c.region}` : ''}`
        : c.source === 'database'
          ? `database record ${c.network}`
          : c.source === 'coarse'
            ? `database record ${c.network}, country only: placed at the country's population centre (coarse)`
            : c.unlocated === 'private address'
              ? `unknown (a private address, ${c.network}, in no overlay network): regions in written order`
              : `unknown (${c.network ? `no record for ${c.network}` : 'no database'}): regions in written order`;
    out.push(
      `client:  ${c.address} (${c.via === 'ecs' ? 'EDNS client subnet' : 'query source address'})${c.ecsIgnored ? `; client subnet ignored: ${c.ecsIgnored}` : ''}`,
    );
    out.push(`located: ${where || 'nowhere known'} at ${pos}`);
    out.push(`source:  ${src}`);
  }
  for (const p of r.pools) {
    out.push('');
    out.push(`pool ${p.pool}. (IPv${p.family}): policy ${p.policy}${p.mapKey ? ` (map entry "${p.mapKey}")` : ''}, select ${p.select}`);
    p.regions.forEach((g, i) => {
      const mark = g.name === p.chosen ? '  ← chosen' : '';
      const st = g.state === 'up' ? '' : ` [${g.state}]`;
      out.push(
        `  ${i + 1}. ${g.name.padEnd(12)} ${km(g.distanceKm).padStart(10)}   healthy ${g.healthy}/${g.total} (needs ${g.needed}) ${g.qualifies ? 'qualifies' : 'does not qualify'}${st}${mark}`,
      );
    });
    for (const o of p.overrides ?? [])
      out.push(
        `  override ${o.id}: ${o.action}${o.weight !== null ? ` ${o.weight}` : ''} on ${o.scope} until ${o.until} by ${o.author}: ${o.reason}`,
      );
    if (p.note) out.push(`  note: ${p.note}`);
    out.push(`  candidates: ${p.candidates.join(', ') || '—'}`);
    out.push(
      `  answer:     ${p.answer.join(', ') || '—'} (reason ${p.reason ?? '—'}, ttl ${p.ttl}${p.halved ? ', halved: not the all-healthy answer' : ''}, ecs scope /${p.scope})`,
    );
    if (p.select === 'round-robin' || p.select === 'fastest')
      out.push('  (order shown from the first rotation position; the server rotates it on every response)');
  }
  out.push('');
  // with geoip.ecs off the server does not echo the option at all (RFC 7871 §7.2.1)
  const ecsNote = !r.query.subnet
    ? ''
    : c?.ecsIgnored === ECS_OFF
      ? ', no ECS option (geoip.ecs is off)'
      : `, ECS scope /${r.answer.ecsScope}`;
  out.push(`response: ${r.answer.rcode}${r.answer.aa ? ', authoritative' : ''}${ecsNote}`);
  for (const l of r.answer.answer) out.push(`  ${l}`);
  for (const l of r.answer.authority) out.push(`  ${l}   (authority)`);
  const d = r.dnssec;
  if (d) {
    const keys = d.keys.map((k) => `key ${k.tag} (algorithm ${k.algorithm})`).join(', ');
    out.push(
      d.signed ? `dnssec:  signed for DO=1 queries by ${keys}` : `dnssec:  not signed (${r.answer.rcode} answers carry no signatures)`,
    );
  }
  return `${out.join('\n')}\n`;
}
