// The rules between the records of a zone (docs/zone-format.md#rules-between-records), checked once every
// name is read: CNAME and other data, pools beside static addresses, the apex NS, zone cuts, glue and DS,
// wildcards, the targets of NS, MX and SRV, and all_down fallbacks. Each is an error (or a warning) at the
// record that breaks it.
import { isHostName, isLdhHostName, isSubdomain, parentName, relativeName } from '../dns/name.js';
import type { At, SourceFile } from './source.js';
import type { NameSpec, PoolSpec } from './zone-spec.js';

/** A zone as read: the file (for diagnostics), the origin and every name. */
export interface ZoneRules {
  src: SourceFile;
  origin: string;
  names: Map<string, NameSpec>;
}

/** Every rule between the records of a read zone; `soaAt` places the apex error when the apex has no name. */
export function checkZone(z: ZoneRules, soaAt: At): void {
  const { src, origin, names } = z;
  const rel = (n: string) => `"${relativeName(n, origin)}"`;
  const apex = names.get(origin);
  if (!apex?.rrsets.has('NS')) src.error(apex?.at ?? soaAt, `the apex (@) needs NS records`);
  const cuts = new Set([...names.values()].filter((n) => n.name !== origin && n.rrsets.has('NS')).map((n) => n.name));
  const cutAbove = (name: string): string | null => {
    for (let p = parentName(name); p !== origin && p !== ''; p = parentName(p)) if (cuts.has(p)) return p;
    return null;
  };

  for (const spec of names.values()) {
    const types = [...spec.rrsets.keys()];
    const label = rel(spec.name);
    if (spec.rrsets.has('CNAME') && (types.length > 1 || spec.pool || spec.name === origin)) {
      const others = [...types.filter((t) => t !== 'CNAME'), ...(spec.pool ? ['a pool'] : [])].join(', ');
      // a CNAME beside a pool is not a fallback for it (RFC 1034 §3.6.2: a CNAME stands alone)
      const hint = spec.pool ? ': a CNAME is not a fallback for a pool; write all_down: { fallback: POOL } or serve-all' : '';
      src.error(
        spec.rrsets.get('CNAME')!.at,
        `CNAME at ${label} stands beside other data (${spec.name === origin ? 'the apex has SOA and NS' : others})${hint}`,
      );
    }
    if (spec.pool) {
      for (const t of ['A', 'AAAA'] as const) {
        if (spec.rrsets.has(t))
          src.error(spec.rrsets.get(t)!.at, `static ${t} at ${label} stands beside a pool (the pool owns the name's A and AAAA)`);
      }
      if (spec.rrsets.has('NS') && spec.name !== origin) src.error(spec.pool.at, `pool at ${label} stands beside a delegation (NS)`);
      checkFallback(z, spec.pool);
    }
    const above = cutAbove(spec.name);
    if (above) {
      const bad = types.filter((t) => t !== 'A' && t !== 'AAAA');
      if (bad.length || spec.pool) {
        src.error(
          spec.at,
          `${label} is below the zone cut at ${rel(above)}: only A/AAAA glue may be written there, not ${spec.pool ? 'a pool' : bad.join(', ')}`,
        );
      }
    } else if (cuts.has(spec.name)) {
      const bad = types.filter((t) => !['NS', 'DS', 'A', 'AAAA'].includes(t));
      if (bad.length)
        src.error(spec.at, `${label} is a delegation: only NS, DS and glue addresses may be written there, not ${bad.join(', ')}`);
    } else if (spec.rrsets.has('DS')) {
      src.error(spec.rrsets.get('DS')!.at, `DS at ${label}: DS records belong at a delegation (a name with NS)`);
    }
    if (spec.name.startsWith('*.') && spec.rrsets.has('NS'))
      src.error(spec.rrsets.get('NS')!.at, `NS at the wildcard ${label} is not allowed`);
    for (const t of ['A', 'AAAA'] as const) {
      if (spec.rrsets.has(t) && !isHostName(spec.name.replace(/^\*\./, ''))) {
        src.warn(spec.rrsets.get(t)!.at, `${label} has an address record but is not a valid host name`);
      }
    }
  }

  // Targets of CNAME, NS, MX and SRV: host names, not aliases (RFC 2181 §10.3), never the owner itself.
  const nsTargets = new Set<string>();
  for (const spec of names.values()) {
    const label = rel(spec.name);
    for (const type of ['CNAME', 'NS', 'MX', 'SRV'] as const) {
      const set = spec.rrsets.get(type);
      for (const r of set?.records ?? []) {
        const target = r.text.slice(r.text.lastIndexOf(' ') + 1).slice(0, -1);
        if (type === 'NS') nsTargets.add(target);
        if (type === 'CNAME') {
          if (target === spec.name) src.error(set!.at, `CNAME at ${label} points at itself`);
          continue;
        }
        if (target === '' && type !== 'NS') continue; // "." : no service (RFC 7505 null MX, RFC 2782)
        if (!isLdhHostName(target)) {
          src.error(set!.at, `${type} at ${label}: ${target || '.'}. is not a host name (letters, digits and hyphens)`);
        } else if (names.get(target)?.rrsets.has('CNAME')) {
          src.error(
            set!.at,
            `${type} at ${label}: ${target}. is an alias (CNAME); ${type} must point at the canonical name (RFC 2181 §10.3)`,
          );
        }
      }
    }
  }
  // Below a cut only glue is written; glue that no name server uses is never served.
  for (const spec of names.values()) {
    const above = cutAbove(spec.name);
    if (!above) continue;
    if (spec.name.startsWith('*.')) src.error(spec.at, `${rel(spec.name)}: a wildcard below the zone cut at ${rel(above)} is never served`);
    else if (!nsTargets.has(spec.name) && (spec.rrsets.has('A') || spec.rrsets.has('AAAA'))) {
      src.warn(
        spec.at,
        `${rel(spec.name)} is below the zone cut at ${rel(above)} but no NS record names it: it is glue for nothing and never served`,
      );
    }
  }

  checkWildcards(z);

  // Name servers inside the zone must have addresses: glue below a cut, address records elsewhere.
  for (const spec of names.values()) {
    const ns = spec.rrsets.get('NS');
    if (!ns) continue;
    for (const r of ns.records) {
      const target = r.text.slice(0, -1);
      if (!isSubdomain(target, origin) || names.get(target)?.rrsets.has('CNAME')) continue;
      const t = names.get(target);
      const hasAddress = !!t && (t.rrsets.has('A') || t.rrsets.has('AAAA') || (!!t.pool && !cutAbove(target)));
      if (hasAddress) continue;
      const isGlue = spec.name !== origin && isSubdomain(target, spec.name);
      src.error(
        ns.at,
        isGlue
          ? `delegation ${rel(spec.name)}: name server ${target}. is below the cut and needs glue (A or AAAA at ${rel(target)})`
          : `NS at ${rel(spec.name)}: name server ${target}. is inside the zone but has no A or AAAA record`,
      );
    }
  }
}

function checkFallback(z: ZoneRules, pool: PoolSpec): void {
  if (pool.allDown.kind !== 'fallback') return;
  const target = z.names.get(pool.allDown.pool);
  if (!target?.pool) {
    z.src.error(
      pool.allDown.at,
      `pool "${relativeName(pool.name, z.origin)}": all_down fallback "${relativeName(pool.allDown.pool, z.origin)}" is not a pool of this zone`,
    );
  } else if (target.name === pool.name) {
    z.src.error(pool.allDown.at, `pool "${relativeName(pool.name, z.origin)}": all_down fallback points at itself`);
  }
}

/**
 * Names that shadow a wildcard (docs/zone-format.md#rules-between-records, RFC 4592): warnings, the zone loads.
 * (A `*` that is not the whole leftmost label, `a.*.example`, is already an error of the name.)
 * A name beside the wildcard (`www.example` beside `*.example`), written or made an empty non-terminal by a
 * name below it, exists (a service label `_x` or a delegation aside), so the wildcard never answers for it
 * (§2.2.1, §3.3.1): without an address of its own it answers NODATA to A and AAAA, where the wildcard has
 * addresses; and names below it that are not written answer NXDOMAIN, not the wildcard's data (their closest
 * encloser is that name, which has no wildcard).
 */
function checkWildcards(z: ZoneRules): void {
  const { src, origin, names } = z;
  const rel = (n: string) => `"${relativeName(n, origin)}"`;
  const hasAddress = (n: NameSpec | undefined) => !!n && (!!n.pool || n.rrsets.has('A') || n.rrsets.has('AAAA') || n.rrsets.has('CNAME'));
  const wildcards = [...names.values()].filter((n) => n.name.startsWith('*.') && hasAddress(n));
  if (wildcards.length === 0) return;
  const byParent = new Map(wildcards.map((w) => [w.name.slice(2), w]));
  const reported = new Set<string>();
  for (const spec of names.values()) {
    // the name itself, then each ancestor it makes exist (an empty non-terminal when not written)
    for (let n = spec.name, below: string | null = null; n !== origin && n !== ''; below = n, n = parentName(n)) {
      const w = byParent.get(parentName(n));
      if (!w || n === w.name || reported.has(n)) continue;
      const written = names.get(n);
      // service labels (_dmarc, _domainkey: RFC 8552) are never host names, and a delegation answers with a referral
      // (nor is one whose names below have a wildcard of their own: `apps` of `*.apps`, answered there)
      if (n.startsWith('_') || written?.rrsets.has('NS') || names.has(`*.${n}`)) continue;
      if (below === null ? hasAddress(written) : written !== undefined) continue;
      reported.add(n);
      const why = written ? 'has no address of its own' : `is an empty non-terminal (it exists because of ${rel(spec.name)})`;
      src.warn(
        spec.at,
        `${rel(n)} ${why}: the wildcard ${rel(w.name)} does not answer for a name that exists, so ${rel(n)} answers NODATA to A and AAAA and names below it that are not written answer NXDOMAIN (RFC 4592 §2.2.1)`,
      );
    }
  }
}
