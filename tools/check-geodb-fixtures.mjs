#!/usr/bin/env node
// Developer check: runs steerdns's locate path (dist/, so `npm run build` first) against MaxMind's
// official test databases, which live outside this repository (default ../shared/geodb-fixtures; the
// project's own tests build their fixtures with tools/geodb-build.mjs instead).
//
//   node tools/check-geodb-fixtures.mjs [FIXTURE_DIR]
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GeoLocator, openDatabase } from '../dist/gslb/geo.js';
import { ipToBytes } from '../dist/net/address.js';

const dir = resolve(process.argv[2] ?? join(import.meta.dirname ?? '.', '..', '..', 'shared', 'geodb-fixtures'));
const cases = [
  // [database, address, expected country, expected subdivision or null, approx lat, approx lon]
  ['GeoIP2-City-Test.mmdb', '81.2.69.142', 'GB', 'ENG', 51.51, -0.09],
  ['GeoIP2-City-Test.mmdb', '216.160.83.56', 'US', 'WA', 47.25, -122.31],
  ['GeoIP2-City-Test.mmdb', '2001:218::1', 'JP', null, 35.69, 139.75],
  ['GeoIP2-City-Test.mmdb', '::ffff:81.2.69.142', 'GB', 'ENG', 51.51, -0.09],
  ['GeoIP2-City-Test.mmdb', '2002:5102:458e::1', 'GB', 'ENG', 51.51, -0.09],
  ['GeoLite2-City-Test.mmdb', '81.2.69.142', 'GB', 'ENG', 51.51, -0.09],
  ['GeoLite2-Country-Test.mmdb', '81.2.69.142', 'GB', null, null, null],
];
let failed = 0;
for (const [db, ip, country, sub, lat, lon] of cases) {
  const path = join(dir, db);
  if (!existsSync(path)) {
    console.log(`skip ${db}: not found in ${dir}`);
    continue;
  }
  const geo = new GeoLocator([], openDatabase(path), () => undefined);
  const loc = geo.locate(ipToBytes(ip));
  const ok =
    loc.country === country &&
    (sub === null || loc.subdivision === sub) &&
    (lat === null ? loc.source === 'coarse' : Math.abs(loc.lat - lat) < 0.05 && Math.abs(loc.lon - lon) < 0.05);
  if (!ok) failed++;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${db} ${ip} → ${loc.source} ${loc.country ?? '-'}${loc.subdivision ? `-${loc.subdivision}` : ''} ${loc.lat ?? '-'},${loc.lon ?? '-'} ${loc.network} (scope /${loc.prefix})`,
  );
}
for (const bad of ['GeoIP2-City-Test-Broken-Double-Format.mmdb', 'GeoIP2-City-Test-Invalid-Node-Count.mmdb']) {
  const path = join(dir, bad);
  if (!existsSync(path)) continue;
  try {
    openDatabase(path);
    failed++;
    console.log(`FAIL ${bad}: opened, but it is broken`);
  } catch (e) {
    console.log(`ok   ${bad}: refused: ${e.message}`);
  }
}
process.exitCode = failed ? 1 : 0;
