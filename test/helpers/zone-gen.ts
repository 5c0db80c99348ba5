// Generated zones for the differential tests of the two zone forms (test/dns/flat-differential.test.ts): a
// seeded parent zone with everything the lookup rules distinguish — address RRsets of several records (round
// robin), empty non-terminals, wildcards at several depths (CNAME, pool, MX ones), zone cuts with in-domain,
// sibling and out-of-zone name servers and DS, CNAME chains (into wildcards, cuts, pools, missing names,
// other zones, longer than 16) and loops, NS/MX/SRV additional data pointing everywhere, pools of every
// all_down kind — plus a hosted child zone it delegates to and one it does not. Every zone passes the rules
// of zone-rules.ts by construction.
import { mulberry32 } from './random.js';

export interface GeneratedZones {
  /** Zone files by file name. */
  files: Record<string, string>;
  origin: string;
}

export function generateZones(seed: number): GeneratedZones {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const chance = (p: number) => rnd() < p;
  const origin = `g${seed}.test`;
  const lines: string[] = [];
  const add = (name: string, body: string) => lines.push(`  ${JSON.stringify(name)}: { ${body} }`);
  let addr = 0;
  const v4 = () => `192.0.${2 + (addr >> 8)}.${addr++ & 0xff}`;
  const v6 = () => `"2001:db8::${(addr++).toString(16)}"`;
  const list = (n: number, f: () => string) => `[${Array.from({ length: n }, f).join(', ')}]`;

  const hosts = Array.from({ length: 8 + int(8) }, (_, i) => `h${i}`);
  const cuts = Array.from({ length: 2 + int(3) }, (_, i) => `d${i}`);
  const pools = Array.from({ length: 2 + int(3) }, (_, i) => `p${i}`);
  const wilds = Array.from({ length: 2 + int(3) }, (_, i) => `w${i}`);
  const chains = Array.from({ length: 10 + int(10) }, (_, i) => `c${i}`);
  // names an NS, MX or SRV may point at (host names, never aliases)
  const targets = ['ns1', 'mail', ...hosts, ...pools, ...cuts.map((d) => `ns.${d}`), ...cuts, 'mx.example.net.', 'absent', `www.kid`];

  const apex = [
    `NS: [ns1, ns2${chance(0.5) ? ', ns.example.net.' : ''}]`,
    `MX: [{ preference: 10, exchange: mail }, { preference: 20, exchange: ${pick(targets)} }]`,
  ];
  if (chance(0.5)) apex.push('TXT: ["apex"]');
  add('@', apex.join(', '));
  add('ns1', `A: ${v4()}`);
  add('ns2', `A: ${list(2, v4)}, AAAA: ${v6()}`);
  add('mail', `A: ${list(1 + int(3), v4)}, AAAA: ${list(1 + int(2), v6)}, ttl: ${60 + int(600)}`);
  if (chance(0.3)) add('*', `TXT: ["apex wildcard"], MX: [{ preference: 5, exchange: mail }]`);

  for (const h of hosts) {
    const body: string[] = [];
    if (chance(0.8)) body.push(`A: ${list(1 + int(4), v4)}`);
    if (chance(0.5)) body.push(`AAAA: ${list(1 + int(3), v6)}`);
    if (chance(0.4)) body.push(`TXT: ["${h}", "${'t'.repeat(1 + int(200))}"]`);
    if (chance(0.3)) body.push(`MX: [{ preference: 1, exchange: ${pick(targets)} }, { preference: 2, exchange: ${pick(targets)} }]`);
    if (chance(0.2)) body.push(`CAA: { flags: 0, tag: issue, value: "ca.example" }`);
    if (body.length === 0) body.push(`A: ${v4()}`);
    if (chance(0.3)) body.push(`ttl: ${int(7200)}`);
    add(h, body.join(', '));
    if (chance(0.4)) add(`a.b.${h}`, `A: ${v4()}`); // b.<h> is an empty non-terminal
    if (chance(0.3))
      add(
        `_s${int(3)}._tcp.${h}`,
        `SRV: [{ priority: 0, weight: 1, port: 443, target: ${pick(targets)} }, { priority: 1, weight: 1, port: 80, target: ${pick(targets)} }]`,
      );
    if (chance(0.15)) add(`*.${h}`, `A: ${v4()}`);
  }

  for (const d of cuts) {
    const ns = [`ns.${d}`];
    if (chance(0.6)) ns.push(pick(['ns1', 'ns2', 'mail']));
    if (chance(0.5)) ns.push('ns.example.org.');
    if (chance(0.3)) ns.push(`ns2.${d}`);
    const body = [`NS: [${ns.join(', ')}]`];
    if (chance(0.5)) body.push(`DS: { key_tag: ${int(65536)}, algorithm: 13, digest_type: 2, digest: "${'ab'.repeat(32)}" }`);
    if (chance(0.2)) body.push(`A: ${v4()}`);
    add(d, body.join(', '));
    add(`ns.${d}`, `A: ${list(1 + int(2), v4)}${chance(0.5) ? `, AAAA: ${v6()}` : ''}`);
    if (ns.includes(`ns2.${d}`)) add(`ns2.${d}`, `AAAA: ${v6()}`);
    if (chance(0.3)) add(`deep.glue.${d}`, `A: ${v4()}`);
  }
  // a delegation to the hosted child zone kid.<origin>; orphan.<origin> is hosted but not delegated to
  add('kid', 'NS: [ns.kid]');
  add('ns.kid', `A: ${v4()}`);

  for (const [i, p] of pools.entries()) {
    const down = chance(0.3) ? ', state: down' : '';
    const region = (n: number) => list(n, () => (chance(0.7) ? v4() : v6()));
    const allDown = pick(['servfail', 'nodata', 'serve-all', ...(i > 0 ? [`{ fallback: ${pools[0]} }`] : [])]);
    const select = pick(['round-robin', 'random', 'weighted']);
    lines.push(
      `  ${p}:\n    pool:\n      ttl: ${5 + int(60)}\n      policy: ${pick(['nearest', 'failover'])}\n      select: ${select}\n` +
        `      all_down: ${allDown}\n      answers: ${int(3)}\n      check: { type: none }\n      regions:\n` +
        `        us-east: ${region(1 + int(3))}\n        eu-west: [{ address: ${chance(0.5) ? v4() : v6()}${down} }]\n` +
        `        ap-south: ${region(1 + int(2))}`,
    );
  }

  // pools whose every target is down: SERVFAIL, and NODATA with the pool's negative TTL
  for (const [name, allDown] of [
    ['dead', 'servfail'],
    ['empty', 'nodata'],
  ]) {
    lines.push(
      `  ${name}:\n    pool:\n      ttl: ${5 + int(60)}\n      all_down: ${allDown}\n      check: { type: none }\n      regions:\n` +
        `        us-east: [{ address: ${v4()}, state: down }, { address: ${v6()}, state: down }]`,
    );
  }

  for (const w of wilds) {
    const kind = int(4);
    if (kind === 0) add(`*.${w}`, `A: ${list(1 + int(3), v4)}, TXT: ["wild ${w}"]`);
    else if (kind === 1) add(`*.${w}`, `CNAME: ${pick([...hosts, ...chains, 'nx', `x.${pick(cuts)}`, `via.${pick(wilds)}`])}`);
    else if (kind === 2) add(`*.${w}`, `MX: [{ preference: 1, exchange: ${pick(targets)} }]`);
    else
      lines.push(`  "*.${w}":\n    pool:\n      ttl: 30\n      check: { type: none }\n      regions:\n        us-east: [${v4()}, ${v6()}]`);
    if (chance(0.5)) add(`real.${w}`, `TXT: ["not synthesized"]`);
    if (chance(0.3)) add(`x.y.${w}`, `A: ${v4()}`); // y.<w> is an empty non-terminal below the wildcard's parent
  }

  // a wildcard CNAME whose target another wildcard answers: the first wildcard is the answer's
  add('*.hop', 'CNAME: next.hop2');
  add('*.hop2', `TXT: ["second wildcard"], A: ${v4()}`);

  // CNAMEs: chains, loops, into everything
  const into = [
    ...hosts,
    ...pools,
    ...cuts,
    ...cuts.map((d) => `x.${d}`),
    ...wilds.map((w) => `any${int(9)}.${w}`),
    'nx-missing',
    'b.h0',
    'www.example.net.',
    'www.kid',
    'y.orphan',
    'orphan',
    '"@"',
    'dead',
    'empty',
    'x.hop',
  ];
  for (const [i, c] of chains.entries()) {
    const next = chance(0.5) && i + 1 < chains.length ? chains[i + 1]! : chance(0.2) ? chains[int(chains.length)]! : pick(into);
    add(c, `CNAME: ${next === c ? 'ns1' : next}`);
  }
  for (let i = 0; i < 18; i++) add(`long${i}`, `CNAME: ${i === 17 ? 'mail' : `long${i + 1}`}`);

  const soa = (o: string, serial: number) =>
    `origin: ${o}\nttl: ${300 + int(3600)}\nsoa: { ns: ns1.${origin}., email: hostmaster@${origin}, minimum: ${int(600)}, ttl: ${int(900)}, serial: ${serial} }\nrecords:\n`;
  const files: Record<string, string> = {
    [`${origin}.yaml`]: `${soa(origin, seed)}${lines.join('\n')}\n`,
    [`kid.${origin}.yaml`]: `${soa(`kid.${origin}`, 7)}  "@": { NS: [ns] }\n  ns: { A: 192.0.2.249 }\n  www: { A: 192.0.2.250, TXT: ["kid"] }\n  "*": { TXT: ["kid wildcard"] }\n`,
    [`orphan.${origin}.yaml`]: `${soa(`orphan.${origin}`, 9)}  "@": { NS: [ns1.${origin}.], A: 192.0.2.251 }\n  y: { CNAME: z }\n  z: { AAAA: "2001:db8::251" }\n`,
  };
  return { files, origin };
}
