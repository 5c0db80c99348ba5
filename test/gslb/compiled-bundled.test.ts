// The compiled GeoIP decision table (src/gslb/compile.ts, table.ts) over the bundled country database, the
// default of every server, against the straightforward path (the locator over the MaxMind reader, then
// orderIndices): every network's order, and the compiled blocks it falls in (docs/dns-behaviour.md#step-7-ecs-scope).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import test from 'ava';
import { orderIndices } from '../../src/gslb/order.js';
import { ecsLookup, HIT } from '../../src/gslb/table.js';
import { bytesToIp } from '../../src/net/address.js';
import { privatePrefix } from '../../src/net/ranges.js';
import { configFor, keys, locatorFor, tablesFor } from './compiled-fixtures.js';
import { ALIAS_NETS, BITS, blockEnd, blockStart, toBytes } from './geo-oracle.js';

const V4_COMPAT: [bigint, number] = [0n, 96];

// The bundled database has some 1.3 million networks: each is visited once, in address order, by the locator
// itself (its network is the next step), without overlays; the compiled blocks met on the way must each get one
// answer from every network they hold, the same as the locator's.
test('the bundled country database: every network, nearest: the same order, a scope not narrower and uniform', (t) => {
  const require = createRequire(import.meta.url);
  const buf = readFileSync(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'));
  const cfg = configFor({}, false);
  const key = keys(cfg)[0]!.key;
  const geo = locatorFor(buf, cfg);
  const [table] = tablesFor(buf, [key], cfg);
  const failures: string[] = [];
  let networks = 0;
  let blocks = 0;
  let wider = 0;
  const orders = new Map<string, string>();
  for (const family of [4, 6] as const) {
    const bits = BITS[family];
    const top = 1n << BigInt(bits);
    // the compiled block being walked through: its end, and the answer every network in it must give
    let blockEndAt = -1n;
    let blockAnswer = '';
    for (let a = 0n; a < top && failures.length < 5; ) {
      // ::/96 holds the IPv4 data again (walked exactly, as the IPv4 networks above); alias networks are IPv4
      const alias = family === 6 ? [...ALIAS_NETS, V4_COMPAT].find(([s, p]) => blockStart(a, p, 6) === s) : undefined;
      if (alias) {
        a = blockEnd(alias[0], alias[1], 6) + 1n;
        blockEndAt = a - 1n;
        continue;
      }
      const bytes = toBytes(a, family);
      const loc = geo.locate(bytes);
      const priv = privatePrefix(bytes) !== null;
      const place = JSON.stringify([loc.lat, loc.lon, loc.country, loc.continent]);
      let want = priv ? table!.orders[table!.nowhere]!.join(',') : orders.get(place);
      if (want === undefined) {
        want = orderIndices(key, loc).indices.join(',');
        orders.set(place, want);
      }
      ecsLookup(table!, bytes, family === 4, bits);
      const got = table!.orders[HIT.order]!.join(',');
      const scope = HIT.scope;
      if (got !== want) failures.push(`${bytesToIp(bytes)}: order ${got}, the reference ${want}`);
      if (a > blockEndAt) {
        blocks++;
        blockEndAt = blockEnd(blockStart(a, scope, family), scope, family);
        blockAnswer = got;
        if (!priv && loc.source !== 'unknown' && scope < loc.prefix) wider++;
        if (!priv && loc.source !== 'unknown' && scope > loc.prefix)
          failures.push(`${bytesToIp(bytes)}: scope /${scope} narrower than the database's /${loc.prefix}`);
      } else if (want !== blockAnswer)
        failures.push(`${bytesToIp(bytes)}: in a compiled block answered ${blockAnswer}, it answers ${want}`);
      networks++;
      a = blockEnd(blockStart(a, loc.prefix, family), loc.prefix, family) + 1n;
    }
  }
  t.deepEqual(failures, []);
  t.log(
    `${networks.toLocaleString('en-US')} networks in ${blocks.toLocaleString('en-US')} compiled blocks; ${wider.toLocaleString('en-US')} blocks wider than their first network`,
  );
});
