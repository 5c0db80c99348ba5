#!/usr/bin/env node
// The flat zone form against the object form, in-process (needs a build: dist/). For a zone of N A records
// (default 1,000,000, one name per line as tools/zone-scale.sh writes it) and one of 1,000 names, each form
// is built in a process of its own and reports:
//   build       time to prepare the parsed zone (prepareZone / prepareFlatZone; the parse is the same for both
//               and reported apart), its heap after a full GC, its ArrayBuffers, the RSS then and the peak RSS;
//   lookups     ns per lookup of 10,000 random names of the zone (10% that do not exist), and per lookup plus
//               the written response, best of 5 runs of 1,000,000; each name is made anew from bytes per
//               lookup, as the query reader does (a string's cached hash would flatter the object form's Map);
//   allocation  bytes allocated per lookup (heap growth over 100,000 lookups with no GC in between, in a
//               process of its own whose young generation holds them all).
// Then the flat lookup's speed relative to the object lookup's, on the big zone and on the small one.
// A micro benchmark of one thread: the server's QPS is measured with dnsperf (tools/zone-scale.sh).
//
//   npm run build && node tools/flat-zone-bench.mjs          # N=1000000
//   N=200000 node tools/flat-zone-bench.mjs
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;

if (process.argv[2] === '--child') await child(process.argv[3], Number(process.argv[4]));
else parent();

function parent() {
  const n = Number(process.env.N ?? 1_000_000);
  const self = fileURLToPath(import.meta.url);
  const child = (flags, form, count) =>
    JSON.parse(execFileSync(process.execPath, [...flags, self, '--child', form, String(count)], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  const run = (form, count) => ({
    ...child(['--expose-gc'], form, count),
    allocated: child(['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128'], form, Math.min(count, 1000)).allocated,
  });
  console.log(`flat-zone-bench: ${n.toLocaleString('en')} A records vs 1,000 names · node ${process.version}`);
  const rows = [];
  for (const count of [n, 1000]) for (const form of ['object', 'flat']) rows.push(run(form, count));
  const mb = (b) => (b / 2 ** 20).toFixed(0);
  console.log(
    `${'names'.padStart(9)} ${'form'.padEnd(6)} ${'parse s'.padStart(8)} ${'build s'.padStart(8)} ${'heap MB'.padStart(8)} ${'buffers MB'.padStart(10)} ` +
      `${'RSS MB'.padStart(7)} ${'peak MB'.padStart(8)} ${'ns/lookup'.padStart(10)} ${'+write'.padStart(7)} ${'B/lookup'.padStart(9)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.names.toLocaleString('en').padStart(9)} ${r.form.padEnd(6)} ${r.parse.toFixed(1).padStart(8)} ${r.build.toFixed(2).padStart(8)} ` +
        `${mb(r.heap).padStart(8)} ${mb(r.arrayBuffers).padStart(10)} ${mb(r.rss).padStart(7)} ${mb(r.peak).padStart(8)} ` +
        `${r.lookupNs.toFixed(0).padStart(10)} ${r.writeNs.toFixed(0).padStart(7)} ${r.allocated.toFixed(0).padStart(9)}`,
    );
  }
  const at = (names, form) => rows.find((r) => r.names === names && r.form === form);
  for (const names of [n, 1000]) {
    const o = at(names, 'object');
    const f = at(names, 'flat');
    console.log(
      `${names.toLocaleString('en')} names: flat lookup ${(o.lookupNs / f.lookupNs).toFixed(2)}x the object lookup's speed, ` +
        `with the write ${(o.writeNs / f.writeNs).toFixed(2)}x`,
    );
  }
  for (const form of ['object', 'flat']) {
    const big = at(n, form);
    const small = at(1000, form);
    console.log(
      `${form}: the big zone's lookup takes ${(big.lookupNs / small.lookupNs).toFixed(2)}x the small zone's ` +
        `(with the write ${(big.writeNs / small.writeNs).toFixed(2)}x)`,
    );
  }
}

/** One form of one zone size: build, memory, lookups. Prints one JSON line. */
async function child(form, count) {
  const { parseServerConfig } = await import(dist('config/server-config.js'));
  const { parseZone } = await import(dist('config/zone-file.js'));
  const { prepareZone, prepareFlatZone } = await import(dist('served-zone.js'));
  const { lookup } = await import(dist('dns/lookup.js'));
  const { lookupFlat } = await import(dist('dns/flat-lookup.js'));
  const { FlatAnswer } = await import(dist('dns/flat-answer.js'));
  const { FlatZones } = await import(dist('dns/flat-zone.js'));
  const { parseQuery } = await import(dist('dns/query.js'));
  const { writeResponse } = await import(dist('dns/writer.js'));
  const { Rotation } = await import(dist('gslb/rotation.js'));

  const name = count > 1000 ? 'big' : 'small';
  const origin = `${name}.test`;
  const parts = [
    `origin: ${origin}\nttl: 300\nsoa: { ns: ns1.${origin}., email: h@${origin}, serial: 1 }\nrecords:\n  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n`,
  ];
  for (let i = 0; i < count; i++) parts.push(`  h${i}: { A: ${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1 }\n`);
  let text = parts.join('');
  parts.length = 0;
  const cfg = parseServerConfig('/srv/steerdns/steerdns.yaml', 'listen: ["127.0.0.1:53"]\nlimits: { zone_bytes: 2GB }\n').config;
  let t0 = performance.now();
  const spec = parseZone('/srv/steerdns/zones/z.yaml', text, cfg).zone;
  const parse = (performance.now() - t0) / 1000;
  text = null;
  globalThis.gc();
  const before = process.memoryUsage();
  t0 = performance.now();
  const zone = form === 'flat' ? prepareFlatZone(spec, 1, cfg) : prepareZone(spec, 1, cfg);
  const build = (performance.now() - t0) / 1000;
  globalThis.gc();
  const after = process.memoryUsage();

  // the same query shape as tools/zone-scale.sh: random names of the zone, 10% that do not exist
  let seed = 7;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const names = [];
  for (let i = 0; i < 10_000; i++) names.push(i % 10 === 9 ? `nx${i}.${origin}` : `h${Math.floor(rnd() * count)}.${origin}`);
  const nameBytes = names.map((q) => Buffer.from(q, 'latin1'));
  const msgs = names.map((q) => {
    const labels = q.split('.');
    const wire = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0, 0, 1, 0, 1])]);
    return Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), wire]);
  });
  const queries = msgs.map((m) => parseQuery(m));
  const client = { address: '192.0.2.1', ecs: null };
  const noDynamic = () => {
    throw new Error('no dynamic names in this zone');
  };
  const objects = { zones: new Map([[origin, zone]]) };
  const flat = form === 'flat' ? new FlatZones([zone]) : null;
  const ans = new FlatAnswer();
  const rotation = new Rotation();
  const written = { truncated: false, answerCount: 0, authorityCount: 0, additionalCount: 0 };
  const ask =
    form === 'flat'
      ? (i) => lookupFlat(flat, nameBytes[i].toString('latin1'), 1, client, noDynamic, ans)
      : (i) => lookup(objects, nameBytes[i].toString('latin1'), 1, client, noDynamic);
  const write = (i, a) =>
    writeResponse(
      msgs[i],
      queries[i],
      a,
      { rcode: a.rcode, aa: a.aa, maxSize: 512, rotation, nsid: null, ecsScope: 0, truncate: false },
      written,
    );
  const time = (fn, runs = 5, n = 1_000_000) => {
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      for (let i = 0; i < n; i++) fn(i % 10_000);
      best = Math.min(best, ((performance.now() - start) * 1e6) / n);
    }
    return best;
  };
  // the names made per lookup (as the query reader makes them) are allocation of both forms alike: not counted
  const empty = (i) => nameBytes[i].toString('latin1');
  const allocation = (fn) => {
    for (let i = 0; i < 100_000; i++) fn(i % 10_000);
    globalThis.gc();
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) fn(i % 10_000);
    return (process.memoryUsage().heapUsed - h0) / 100_000;
  };
  const allocated = allocation(ask) - allocation(empty);
  const lookupNs = time(ask);
  const writeNs = time((i) => write(i, ask(i)));
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      form,
      names: count,
      parse,
      build,
      heap: after.heapUsed,
      arrayBuffers: after.arrayBuffers,
      rss: after.rss,
      rssBefore: before.rss,
      peak,
      lookupNs,
      writeNs,
      allocated,
    }),
  );
}
