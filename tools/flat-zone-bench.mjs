#!/usr/bin/env node
// The flat zone form against the object form, in-process (needs a build: dist/). For a zone of N A records
// (default 1,000,000, one name per line as tools/zone-scale.sh writes it) and one of 1,000 names:
//   build       each form in a process of its own: the time to prepare the parsed zone (the server's
//               prepareZone / the tests' oracle prepareObjectZone, through tsx; the parse is the same for both
//               and reported apart), the heap after a full
//               GC, the ArrayBuffers, the flat zone's own buffer, the RSS then, and the process's peak RSS
//               (the parse's, mostly);
//   allocation  bytes allocated per lookup, in a process whose young generation holds 100,000 lookups (heap
//               growth with no GC in between, less that of making the names);
//   speed       each form in a process of its own (the other form's heap would slow its collections), the
//               two processes run twice in turn: ns per lookup of 10,000 random names of the zone (10% that
//               do not exist), and per lookup plus the written response, best of 2 × 15 rounds of 200,000.
//               Each name is made anew from bytes per lookup, as the query reader does (a string's cached
//               hash would flatter the object form's Map).
// Then the flat lookup's speed relative to the object lookup's, on the big zone and on the small one.
// A micro benchmark of one thread on a shared machine: say the load (uptime) with the figures. The server's
// QPS is measured with dnsperf (tools/zone-scale.sh).
//
//   npm run build && node tools/flat-zone-bench.mjs          # N=1000000
//   N=200000 node tools/flat-zone-bench.mjs
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const FORMS = ['object', 'flat'];

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], Number(process.argv[5]));
else parent();

function parent() {
  const n = Number(process.env.N ?? 1_000_000);
  const self = fileURLToPath(import.meta.url);
  const run = (flags, what, form, count) =>
    JSON.parse(execFileSync(process.execPath, [...flags, self, '--child', what, form, String(count)], { encoding: 'utf8' }));
  console.log(`flat-zone-bench: ${n.toLocaleString('en')} A records vs 1,000 names · node ${process.version}`);
  const mb = (b) => (b / 2 ** 20).toFixed(0).padStart(8);
  console.log(
    `${'names'.padStart(9)} form   ${['parse s', 'build s', 'heap MB', 'buf MB', 'zone MB', 'RSS MB', 'peak MB', 'B/lookup'].map((h) => h.padStart(8)).join(' ')}`,
  );
  for (const count of [n, 1000]) {
    for (const form of FORMS) {
      const b = run(['--expose-gc'], 'build', form, count);
      const a = run(['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128'], 'allocation', form, 1000);
      console.log(
        `${count.toLocaleString('en').padStart(9)} ${form.padEnd(6)} ${b.parse.toFixed(1).padStart(8)} ${b.build.toFixed(2).padStart(8)} ` +
          `${mb(b.heap)} ${mb(b.arrayBuffers)} ${b.zoneBytes ? mb(b.zoneBytes) : '—'.padStart(8)} ${mb(b.rss)} ${mb(b.peak)} ${a.allocated.toFixed(0).padStart(8)}`,
      );
    }
  }
  const speed = {};
  for (const count of [n, 1000]) {
    speed[count] = { object: { lookup: Infinity, write: Infinity }, flat: { lookup: Infinity, write: Infinity } };
    for (let turn = 0; turn < 2; turn++) {
      for (const form of FORMS) {
        const s = run([], 'speed', form, count);
        speed[count][form].lookup = Math.min(speed[count][form].lookup, s.lookup);
        speed[count][form].write = Math.min(speed[count][form].write, s.write);
      }
    }
  }
  console.log(`${'names'.padStart(9)} form   ${['ns/lookup', '+write'].map((h) => h.padStart(10)).join(' ')}`);
  for (const count of [n, 1000]) {
    for (const form of FORMS) {
      const s = speed[count][form];
      console.log(
        `${count.toLocaleString('en').padStart(9)} ${form.padEnd(6)} ${s.lookup.toFixed(0).padStart(10)} ${s.write.toFixed(0).padStart(10)}`,
      );
    }
  }
  for (const count of [n, 1000]) {
    const { object: o, flat: f } = speed[count];
    console.log(
      `${count.toLocaleString('en')} names: the flat lookup runs at ${(o.lookup / f.lookup).toFixed(2)}x the object lookup's speed ` +
        `(with the write ${(o.write / f.write).toFixed(2)}x)`,
    );
  }
  for (const form of FORMS) {
    const big = speed[n][form];
    const small = speed[1000][form];
    console.log(
      `${form}: a lookup in the big zone takes ${(big.lookup / small.lookup).toFixed(2)}x one in the small zone ` +
        `(with the write ${(big.write / small.write).toFixed(2)}x)`,
    );
  }
}

async function child(what, form, count) {
  const { parseServerConfig } = await import(dist('config/server-config.js'));
  const { parseZone } = await import(dist('config/zone-file.js'));
  const { prepareZone } = await import(dist('served-zone.js'));
  // the object form is the tests' oracle now (test/helpers/object-zone.ts, object-lookup.ts), read through tsx
  let prepareObjectZone = null;
  let lookup = null;
  if (form === 'object') {
    await import('tsx/esm/api').then((m) => m.register());
    ({ prepareObjectZone } = await import(new URL('../test/helpers/object-zone.ts', import.meta.url).href));
    ({ lookup } = await import(new URL('../test/helpers/object-lookup.ts', import.meta.url).href));
  }
  const { lookupFlat } = await import(dist('dns/flat-lookup.js'));
  const { FlatAnswer } = await import(dist('dns/flat-answer.js'));
  const { FlatZones } = await import(dist('dns/flat-zone.js'));
  const { parseQuery } = await import(dist('dns/query.js'));
  const { writeResponse } = await import(dist('dns/writer.js'));
  const { Rotation } = await import(dist('gslb/rotation.js'));

  const origin = count > 1000 ? 'big.test' : 'small.test';
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
  const prepare = (f, s) => (f === 'flat' ? prepareZone(s, 1, cfg) : prepareObjectZone(s, 1, cfg));

  if (what === 'build') {
    globalThis.gc();
    t0 = performance.now();
    const zone = prepare(form, spec);
    const build = (performance.now() - t0) / 1000;
    // freed ArrayBuffers (the builder's growing arrays) are released after the collection: let it finish
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const m = process.memoryUsage();
    const peak = process.resourceUsage().maxRSS * 1024;
    const zoneBytes = form === 'flat' ? zone.names.buffer.byteLength : 0;
    console.log(JSON.stringify({ parse, build, heap: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss, peak, zoneBytes }));
    return;
  }

  const zone = prepare(form, spec);
  // the query shape of tools/zone-scale.sh: random names of the zone, 10% that do not exist
  let seed = 7;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const names = [];
  for (let i = 0; i < 10_000; i++) names.push(i % 10 === 9 ? `nx${i}.${origin}` : `h${Math.floor(rnd() * count)}.${origin}`);
  const nameBytes = names.map((q) => Buffer.from(q, 'latin1'));
  const msgs = names.map((q) => {
    const wire = q.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
    return Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...wire, Buffer.from([0, 0, 1, 0, 1])]);
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
  const ask = {
    object: (i) => lookup(objects, nameBytes[i].toString('latin1'), 1, client, noDynamic),
    flat: (i) => lookupFlat(flat, nameBytes[i].toString('latin1'), 1, client, noDynamic, ans),
  };
  const write = (i, a) =>
    writeResponse(
      msgs[i],
      queries[i],
      a,
      { rcode: a.rcode, aa: a.aa, maxSize: 512, rotation, nsid: null, ecsScope: 0, truncate: false },
      written,
    );

  if (what === 'allocation') {
    // the names made per lookup (as the query reader makes them) are allocation of both forms alike: not counted
    const allocation = (fn) => {
      for (let i = 0; i < 100_000; i++) fn(i % 10_000);
      globalThis.gc();
      const h0 = process.memoryUsage().heapUsed;
      for (let i = 0; i < 100_000; i++) fn(i % 10_000);
      return (process.memoryUsage().heapUsed - h0) / 100_000;
    };
    console.log(JSON.stringify({ allocated: allocation(ask[form]) - allocation((i) => nameBytes[i].toString('latin1')) }));
    return;
  }

  const best = { lookup: Infinity, write: Infinity };
  const round = (fn) => {
    const start = performance.now();
    for (let i = 0; i < 200_000; i++) fn(i % 10_000);
    return ((performance.now() - start) * 1e6) / 200_000;
  };
  for (let r = 0; r < 15; r++) {
    best.lookup = Math.min(best.lookup, round(ask[form]));
    best.write = Math.min(
      best.write,
      round((i) => write(i, ask[form](i))),
    );
  }
  console.log(JSON.stringify(best));
}
