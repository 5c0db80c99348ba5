// Ordering a pool's regions (docs/dns-behaviour.md#step-2-order-the-regions) as a pure function of (pool,
// location): `nearest` by haversine distance on real city coordinates, ties and unknown clients in written
// order, `failover` in written order, `map` most specific key first, the overlay region pin, and regions
// `state: down|drain` from steerdns.yaml.
import test from 'ava';
import type { Location } from '../../src/gslb/geo.js';
import { dependsOnClient, haversineKm, mapEntry, orderIndices, computeOrder as orderRegions } from '../../src/gslb/order.js';
import type { Pool } from '../../src/gslb/pool.js';
import { CITY, geoFor, ip, poolOf, REGIONS, serverConfig } from './helpers.js';

const FIVE = `check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]
  ap-south: [192.0.2.3]
  ap-southeast: [192.0.2.4]
  sa-east: [192.0.2.5]`;

const at = (p: readonly [number, number], extra: Partial<Location> = {}): Location => ({
  source: 'database',
  lat: p[0],
  lon: p[1],
  network: null,
  prefix: 0,
  ...extra,
});
const UNKNOWN: Location = { source: 'unknown', network: null, prefix: 0 };
const names = (pool: Pool, loc: Location) => orderRegions(pool, loc).ranked.map((r) => r.region.name);
const km = (a: readonly [number, number], b: readonly [number, number]) => haversineKm([a[0], a[1]], [b[0], b[1]]);

// ---- haversine --------------------------------------------------------------------------------------

test('haversineKm matches known great-circle distances', (t) => {
  const near = (got: number, want: number, tolerance: number, what: string) =>
    t.true(Math.abs(got - want) <= want * tolerance, `${what}: ${got.toFixed(0)} km, expected ${want} km ±${tolerance * 100}%`);
  near(km([51.5074, -0.1278], CITY.newYork), 5570, 0.01, 'London–New York');
  near(km(CITY.london, CITY.tokyo), 9560, 0.01, 'London–Tokyo');
  near(km(CITY.sydney, CITY.saoPaulo), 13370, 0.01, 'Sydney–São Paulo');
  near(km(CITY.dublin, CITY.london), 464, 0.02, 'Dublin–London');
  // half the circumference between antipodes (sphere of radius 6371 km)
  near(km([0, 0], [0, 180]), Math.PI * 6371, 1e-9, 'antipodes');
  near(km([90, 0], [-90, 0]), Math.PI * 6371, 1e-9, 'pole to pole');
  t.is(km(CITY.ashburn, CITY.ashburn), 0);
  t.is(km(CITY.tokyo, CITY.seattle), km(CITY.seattle, CITY.tokyo));
  // across the antimeridian: Fiji to Samoa is short, not most of the way round
  t.true(km([-17.7, 178.0], [-13.8, -172.0]) < 1200);
});

// ---- nearest ----------------------------------------------------------------------------------------

test('nearest: full region order for clients on six continents (real city coordinates)', (t) => {
  const pool = poolOf(FIVE);
  t.deepEqual(names(pool, at(CITY.london)), ['eu-west', 'us-east', 'ap-south', 'sa-east', 'ap-southeast']);
  t.deepEqual(names(pool, at(CITY.tokyo)), ['ap-south', 'ap-southeast', 'eu-west', 'us-east', 'sa-east']);
  t.deepEqual(names(pool, at(CITY.seattle)), ['us-east', 'eu-west', 'sa-east', 'ap-south', 'ap-southeast']);
  t.deepEqual(names(pool, at(CITY.johannesburg)), ['ap-south', 'sa-east', 'eu-west', 'ap-southeast', 'us-east']);
  t.deepEqual(names(pool, at(CITY.buenosAires)), ['sa-east', 'us-east', 'eu-west', 'ap-southeast', 'ap-south']);
  t.deepEqual(names(pool, at(CITY.singapore)), ['ap-south', 'ap-southeast', 'eu-west', 'us-east', 'sa-east']);
});

test('nearest: distances are reported with each region and increase along the order', (t) => {
  const pool = poolOf(FIVE);
  const o = orderRegions(pool, at(CITY.london));
  t.true(o.clientDependent);
  t.is(o.mapKey, null);
  const d = o.ranked.map((r) => r.distanceKm!);
  t.deepEqual(
    [...d].sort((a, b) => a - b),
    d,
  );
  t.true(Math.abs(d[0]! - 466) < 10, `London–Dublin ${d[0]}`);
  t.is(o.ranked[0]!.distanceKm, km(CITY.london, CITY.dublin));
});

test('nearest: the written order of the pool (not of steerdns.yaml) is the order of distance-less and tied regions', (t) => {
  const cfg = serverConfig(`listen: ["127.0.0.1:5300"]
${REGIONS}  us-east-2: { location: [39.0, -77.5] }
`);
  const a = poolOf(
    `check: { type: none }
regions:
  us-east-2: [192.0.2.1]
  eu-west: [192.0.2.2]
  us-east: [192.0.2.3]`,
    cfg,
  );
  // Ashburn twice: a tie, kept in the pool's written order
  t.deepEqual(names(a, at(CITY.seattle)), ['us-east-2', 'us-east', 'eu-west']);
  t.deepEqual(names(a, at(CITY.london)), ['eu-west', 'us-east-2', 'us-east']);
  const b = poolOf(
    `check: { type: none }
regions:
  us-east: [192.0.2.3]
  eu-west: [192.0.2.2]
  us-east-2: [192.0.2.1]`,
    cfg,
  );
  t.deepEqual(names(b, at(CITY.seattle)), ['us-east', 'us-east-2', 'eu-west']);
  // unknown client: the pool's written order
  t.deepEqual(names(b, UNKNOWN), ['us-east', 'eu-west', 'us-east-2']);
});

test('nearest: an unknown location gives the written order, and still depends on the client (others are placed)', (t) => {
  const pool = poolOf(FIVE);
  const o = orderRegions(pool, UNKNOWN);
  t.deepEqual(
    o.ranked.map((r) => r.region.name),
    ['us-east', 'eu-west', 'ap-south', 'ap-southeast', 'sa-east'],
  );
  // a resolver must not cache this written-order answer for clients that are located elsewhere
  t.true(o.clientDependent);
  t.true(o.ranked.every((r) => r.distanceKm === null));
  // a coarse location without coordinates (a country the table cannot place) is treated the same way
  t.deepEqual(names(pool, { ...UNKNOWN, source: 'coarse', country: 'ZZ' }), ['us-east', 'eu-west', 'ap-south', 'ap-southeast', 'sa-east']);
});

test('nearest: a single-region pool does not depend on the client', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  eu-west: [192.0.2.2]`);
  const o = orderRegions(pool, at(CITY.tokyo));
  t.deepEqual(
    o.ranked.map((r) => r.region.name),
    ['eu-west'],
  );
  t.false(o.clientDependent);
});

test('nearest: a Russian country-only record (coarse) is nearer Dublin than Mumbai, as Moscow is', (t) => {
  const pool = poolOf(`check: { type: none }
regions:
  ap-south: [192.0.2.3]
  eu-west: [192.0.2.2]`);
  const ru = geoFor().geo.locate(ip('3.3.3.3'));
  t.is(ru.source, 'coarse');
  t.deepEqual(names(pool, ru), ['eu-west', 'ap-south']);
  t.deepEqual(names(pool, at(CITY.moscow)), ['eu-west', 'ap-south']);
});

test('nearest: database locations from the fixture order the regions like their cities', (t) => {
  const pool = poolOf(FIVE);
  const geo = geoFor().geo;
  t.is(names(pool, geo.locate(ip('1.0.16.1')))[0], 'ap-south'); // Tokyo
  t.is(names(pool, geo.locate(ip('181.0.1.1')))[0], 'sa-east'); // Buenos Aires
  t.is(names(pool, geo.locate(ip('2804:14c::1')))[0], 'sa-east'); // São Paulo (IPv6)
  t.is(names(pool, geo.locate(ip('6.6.6.6')))[0], 'ap-southeast'); // Sydney (flat schema)
});

// ---- failover ---------------------------------------------------------------------------------------

test('failover: always the written order, wherever the client is', (t) => {
  const pool = poolOf(`policy: failover
${FIVE}`);
  for (const c of [CITY.london, CITY.tokyo, CITY.buenosAires]) {
    const o = orderRegions(pool, at(c));
    t.deepEqual(
      o.ranked.map((r) => r.region.name),
      ['us-east', 'eu-west', 'ap-south', 'ap-southeast', 'sa-east'],
    );
    t.false(o.clientDependent);
  }
});

// ---- map ----------------------------------------------------------------------------------------

const MAP = `policy: map
check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]
  ap-south: [192.0.2.3]
  sa-east: [192.0.2.5]
map:
  "continent:EU": [eu-west, us-east]
  GB: [us-east, eu-west]
  US-CA: [sa-east, us-east]
  US: [us-east, sa-east]
  "continent:AS": [ap-south, eu-west]
  AS: [sa-east]
  default: [us-east, eu-west]`;

const de: Location = at(CITY.berlin, { country: 'DE', continent: 'EU', subdivision: 'BE' });
const gb: Location = at(CITY.london, { country: 'GB', continent: 'EU', subdivision: 'ENG' });
const ca: Location = at(CITY.sanFrancisco, { country: 'US', continent: 'NA', subdivision: 'CA' });
const wa: Location = at(CITY.seattle, { country: 'US', continent: 'NA', subdivision: 'WA' });
const jp: Location = at(CITY.tokyo, { country: 'JP', continent: 'AS', subdivision: '13' });
const za: Location = at(CITY.johannesburg, { country: 'ZA', continent: 'AF' });

test('map: the most specific entry wins (CC-SUB, then country, then continent, then default)', (t) => {
  const pool = poolOf(MAP);
  t.deepEqual(mapEntry(pool, de).key, 'continent:EU');
  t.deepEqual(mapEntry(pool, gb).key, 'GB');
  t.deepEqual(mapEntry(pool, ca).key, 'US-CA');
  t.deepEqual(mapEntry(pool, wa).key, 'US');
  t.deepEqual(mapEntry(pool, za).key, 'default');
  t.deepEqual(mapEntry(pool, UNKNOWN).key, 'default');
  t.deepEqual(names(pool, de), ['eu-west', 'us-east']);
  t.deepEqual(names(pool, gb), ['us-east', 'eu-west']);
  t.deepEqual(names(pool, ca), ['sa-east', 'us-east']);
  t.deepEqual(names(pool, wa), ['us-east', 'sa-east']);
  t.deepEqual(names(pool, za), ['us-east', 'eu-west']);
  const o = orderRegions(pool, gb);
  t.is(o.mapKey, 'GB');
  t.true(o.clientDependent);
});

test('map: a bare two-letter key is a country (AS = American Samoa, not Asia)', (t) => {
  const pool = poolOf(MAP);
  t.is(mapEntry(pool, jp).key, 'continent:AS');
  t.deepEqual(names(pool, jp), ['ap-south', 'eu-west']);
  const samoa = at([-14.28, -170.7], { country: 'AS', continent: 'OC' });
  t.is(mapEntry(pool, samoa).key, 'AS');
  t.deepEqual(names(pool, samoa), ['sa-east']);
});

test('map: a country-only location matches by country and continent without coordinates', (t) => {
  const pool = poolOf(MAP);
  t.deepEqual(names(pool, { ...UNKNOWN, source: 'coarse', country: 'FR', continent: 'EU' }), ['eu-west', 'us-east']);
  t.deepEqual(names(pool, { ...UNKNOWN, source: 'coarse', country: 'US', continent: 'NA', subdivision: 'CA' }), ['sa-east', 'us-east']);
});

// ---- overlay pin and region states ---------------------------------------------------------------

test('an overlay region pin goes first under nearest and map; failover keeps its written order', (t) => {
  const pinned = (p: readonly [number, number], region: string) => at(p, { source: 'overlay', region });
  const nearest = poolOf(FIVE);
  // pinned to a region that is not nearest to its point
  t.deepEqual(names(nearest, pinned(CITY.london, 'sa-east')), ['sa-east', 'eu-west', 'us-east', 'ap-south', 'ap-southeast']);
  // and without coordinates
  t.deepEqual(names(nearest, { ...UNKNOWN, source: 'overlay', region: 'ap-south' }), [
    'ap-south',
    'us-east',
    'eu-west',
    'ap-southeast',
    'sa-east',
  ]);
  t.true(orderRegions(nearest, { ...UNKNOWN, source: 'overlay', region: 'ap-south' }).clientDependent);
  const failover = poolOf(`policy: failover
${FIVE}`);
  // failover is always the written order: a pin does not reorder it, nor make it client-dependent
  t.deepEqual(names(failover, pinned(CITY.london, 'sa-east')), ['us-east', 'eu-west', 'ap-south', 'ap-southeast', 'sa-east']);
  t.false(orderRegions(failover, pinned(CITY.london, 'sa-east')).clientDependent);
  const map = poolOf(MAP);
  t.deepEqual(names(map, { ...gb, source: 'overlay', region: 'eu-west' }), ['eu-west', 'us-east']);
  // a pin to a region the pool does not have changes nothing
  const two = poolOf(`check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]`);
  t.deepEqual(names(two, pinned(CITY.sydney, 'ap-southeast')), ['us-east', 'eu-west']);
});

test('regions: state down in steerdns.yaml is left out, drain goes last', (t) => {
  const cfg = serverConfig(`listen: ["127.0.0.1:5300"]
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3], state: drain }
  ap-south: { location: [19.1, 72.9], state: down }
  sa-east: { location: [-23.55, -46.63] }
`);
  const pool = poolOf(
    `check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]
  ap-south: [192.0.2.3]
  sa-east: [192.0.2.5]`,
    cfg,
  );
  t.deepEqual(names(pool, at(CITY.london)), ['us-east', 'sa-east', 'eu-west']);
  t.deepEqual(names(pool, at(CITY.mumbai)), ['us-east', 'sa-east', 'eu-west']);
  t.deepEqual(names(pool, UNKNOWN), ['us-east', 'sa-east', 'eu-west']);
  // a pin to a drained region does not beat the drain
  t.deepEqual(names(pool, at(CITY.london, { source: 'overlay', region: 'eu-west' })), ['us-east', 'sa-east', 'eu-west']);
  const map = poolOf(
    `policy: map
check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]
  ap-south: [192.0.2.3]
map:
  "continent:EU": [eu-west, ap-south, us-east]
  default: [ap-south]`,
    cfg,
  );
  t.deepEqual(names(map, gb), ['us-east', 'eu-west']);
  t.deepEqual(names(map, UNKNOWN), []);
});

// ---- the ordering key: what the order depends on ------------------------------------------------------

test('ordering key: pools differing only in targets, select, answers, min_healthy or ttl share one key', (t) => {
  const a = poolOf(FIVE);
  const b = poolOf(`check: { type: none }
select: sticky
answers: 1
ttl: 60
min_healthy: 2
regions:
  us-east: [192.0.2.11, 192.0.2.12]
  eu-west: ["2001:db8::2"]
  ap-south: [192.0.2.13]
  ap-southeast: [192.0.2.14]
  sa-east: [192.0.2.15]`);
  t.is(a.keyText, b.keyText);
  t.deepEqual(a.key, b.key);
});

test('ordering key: the policy, the written order of regions, their coordinates and states and the map make other keys', (t) => {
  const base = poolOf(FIVE).keyText;
  t.not(poolOf(`policy: failover\n${FIVE}`).keyText, base);
  const reordered = poolOf(`check: { type: none }
regions:
  eu-west: [192.0.2.2]
  us-east: [192.0.2.1]
  ap-south: [192.0.2.3]
  ap-southeast: [192.0.2.4]
  sa-east: [192.0.2.5]`);
  t.not(reordered.keyText, base);
  const moved = serverConfig(`listen: ["127.0.0.1:5300"]\n${REGIONS.replace('[53.3, -6.3]', '[51.5, -0.1]')}`);
  t.not(poolOf(FIVE, moved).keyText, base);
  const drained = serverConfig(`listen: ["127.0.0.1:5300"]\n${REGIONS.replace('[53.3, -6.3] }', '[53.3, -6.3], state: drain }')}`);
  t.not(poolOf(FIVE, drained).keyText, base);
  t.not(poolOf(MAP).keyText, poolOf(MAP.replace('GB: [us-east, eu-west]', 'GB: [eu-west, us-east]')).keyText);
});

test('orderIndices is the order computeOrder ranks: indices into the written regions, with the map entry', (t) => {
  const pool = poolOf(MAP);
  for (const loc of [de, gb, ca, wa, jp, za, UNKNOWN, { ...gb, source: 'overlay' as const, region: 'eu-west' }]) {
    const o = orderIndices(pool.key, loc);
    t.deepEqual(
      o.indices.map((i) => pool.key.regions[i]!.name),
      names(pool, loc),
    );
    t.is(o.mapKey, mapEntry(pool, loc).key);
  }
  t.deepEqual(orderIndices(poolOf(FIVE).key, at(CITY.tokyo)), { indices: [2, 3, 1, 0, 4], mapKey: null });
});

test('dependsOnClient: map always; nearest with more than one live region; never failover', (t) => {
  t.true(dependsOnClient(poolOf(MAP).key));
  t.true(dependsOnClient(poolOf(FIVE).key));
  t.false(dependsOnClient(poolOf(`policy: failover\n${FIVE}`).key));
  t.false(
    dependsOnClient(
      poolOf(`check: { type: none }
regions:
  eu-west: [192.0.2.2]`).key,
    ),
  );
  const oneLive = serverConfig(`listen: ["127.0.0.1:5300"]
regions:
  us-east: { location: [39.0, -77.5] }
  eu-west: { location: [53.3, -6.3], state: down }
`);
  t.false(
    dependsOnClient(
      poolOf(
        `check: { type: none }
regions:
  us-east: [192.0.2.1]
  eu-west: [192.0.2.2]`,
        oneLive,
      ).key,
    ),
  );
});
