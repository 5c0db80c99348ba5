// Locating a client (docs/dns-behaviour.md#step-1-locate-the-client): readRecord over both database schemas,
// the country point for country-only records, the overlay (longest prefix, region pin), IPv6 addresses located
// by their embedded IPv4, the ECS-scope prefix, and locateClient's choice between the ECS subnet and the
// packet's source address.
import test from 'ava';
import { countryPoint, GeoLocator, readRecord } from '../../src/gslb/geo.js';
import { locateClient } from '../../src/gslb/locate.js';
import { haversineKm } from '../../src/gslb/order.js';
import { writeMmdb } from '../../tools/mmdb-writer.mjs';
import { CITY, city, client, geoFor, ip, memoryDatabase, overlayConfig, serverConfig } from './helpers.js';

const ctx = geoFor();
const locate = (addr: string) => ctx.geo.locate(ip(addr));

// ---- readRecord: both schemas ------------------------------------------------------------------

test('readRecord reads a GeoIP2 City record (nested location, country, continent, subdivisions)', (t) => {
  t.deepEqual(
    readRecord({
      city: { names: { en: 'London' } },
      continent: { code: 'EU', names: { en: 'Europe' } },
      country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
      location: { accuracy_radius: 10, latitude: 51.5142, longitude: -0.0931, time_zone: 'Europe/London' },
      registered_country: { iso_code: 'US' },
      subdivisions: [{ iso_code: 'ENG' }, { iso_code: 'WBK' }],
    }),
    { lat: 51.5142, lon: -0.0931, country: 'GB', continent: 'EU', subdivision: 'ENG' },
  );
});

test('readRecord reads a GeoIP2 Country record (nested, no location)', (t) => {
  t.deepEqual(readRecord({ continent: { code: 'AS' }, country: { iso_code: 'JP' } }), {
    lat: undefined,
    lon: undefined,
    country: 'JP',
    continent: 'AS',
    subdivision: undefined,
  });
});

test('readRecord falls back to registered_country when country is absent', (t) => {
  t.is(readRecord({ registered_country: { iso_code: 'SE' } }).country, 'SE');
});

test('readRecord reads the flat @ip-location-db schema (country_code, latitude, longitude)', (t) => {
  t.deepEqual(readRecord({ country_code: 'au', latitude: -33.87, longitude: 151.21, city: 'Sydney' }), {
    lat: -33.87,
    lon: 151.21,
    country: 'AU',
    continent: undefined,
    subdivision: undefined,
  });
  t.deepEqual(readRecord({ country_code: 'RU' }), {
    lat: undefined,
    lon: undefined,
    country: 'RU',
    continent: undefined,
    subdivision: undefined,
  });
  t.is(readRecord({ country_code: 'FR', continent_code: 'EU' }).continent, 'EU');
});

test('readRecord ignores values of the wrong type and empty strings', (t) => {
  t.deepEqual(readRecord({ latitude: '51.5', longitude: Number.NaN, country_code: '', location: 'x' }), {
    lat: undefined,
    lon: undefined,
    country: undefined,
    continent: undefined,
    subdivision: undefined,
  });
});

test("countryPoint: a population centre with its continent; Russia's is nearer Moscow than Mumbai", (t) => {
  const ru = countryPoint('RU')!;
  t.truthy(ru.continent);
  t.is(typeof ru.lat, 'number');
  t.is(typeof ru.lon, 'number');
  const p: [number, number] = [ru.lat!, ru.lon!];
  t.true(haversineKm(p, [CITY.moscow[0], CITY.moscow[1]]) < haversineKm(p, [CITY.mumbai[0], CITY.mumbai[1]]));
  // west of the Urals, where most Russians live — not the geometric centre in Siberia
  t.true(ru.lon! < 60, `RU lon ${ru.lon}`);
  const gb = countryPoint('GB')!;
  t.is(gb.continent, 'EU');
  t.true(haversineKm([gb.lat!, gb.lon!], [CITY.london[0], CITY.london[1]]) < 250);
  t.is(countryPoint('JP')!.continent, 'AS');
  t.is(countryPoint('ZZ'), undefined);
});

// ---- GeoLocator.locate: the database ----------------------------------------------------------------

test('locate: a GeoIP2 City record → source database with coordinates, country, continent, subdivision', (t) => {
  const l = locate('81.2.0.5');
  t.like(l, {
    source: 'database',
    lat: CITY.london[0],
    lon: CITY.london[1],
    country: 'GB',
    continent: 'EU',
    subdivision: 'ENG',
    network: '81.2.0.0/24',
    prefix: 24,
  });
  t.is(l.region, undefined);
});

test('locate: the most specific database network wins (a /24 inside a /8)', (t) => {
  t.like(locate('9.9.9.9'), { source: 'database', country: 'DE', network: '9.9.9.0/24', prefix: 24 });
  // the rest of the /8 is answered from the largest blocks of the split tree that miss the /24 (as libmaxminddb does)
  t.like(locate('9.1.2.3'), { source: 'database', country: 'US', network: '9.0.0.0/13', prefix: 13 });
  t.like(locate('9.200.0.1'), { country: 'US', network: '9.128.0.0/9', prefix: 9 });
  t.like(locate('9.9.10.1'), { country: 'US', network: '9.9.10.0/23', prefix: 23 });
});

test('locate: a nested GeoIP2 Country record (no location) is placed at the country point, source coarse', (t) => {
  const ru = countryPoint('RU')!;
  t.like(locate('2.2.3.4'), {
    source: 'coarse',
    country: 'RU',
    continent: 'EU',
    lat: ru.lat,
    lon: ru.lon,
    network: '2.2.0.0/16',
    prefix: 16,
  });
});

test('locate: a flat country_code-only record is coarse, continent filled from the table', (t) => {
  const ru = countryPoint('RU')!;
  t.like(locate('3.3.3.3'), { source: 'coarse', country: 'RU', continent: ru.continent, lat: ru.lat, lon: ru.lon, network: '3.3.0.0/16' });
  const india = countryPoint('IN')!;
  t.like(locate('3.4.1.1'), { source: 'coarse', country: 'IN', continent: 'AS', lat: india.lat, lon: india.lon });
});

test('locate: a flat record with latitude/longitude → source database, continent from the table', (t) => {
  t.like(locate('6.6.6.6'), { source: 'database', country: 'AU', continent: 'OC', lat: CITY.sydney[0], lon: CITY.sydney[1], prefix: 16 });
});

test('locate: a record with no country, continent or location, and an address not in the database → unknown', (t) => {
  const empty = locate('7.7.7.7');
  t.like(empty, { source: 'unknown', network: '7.7.0.0/16', prefix: 16 });
  t.is(empty.lat, undefined);
  const missing = locate('8.8.8.8');
  t.is(missing.source, 'unknown');
  t.is(missing.lat, undefined);
  t.is(missing.country, undefined);
});

test('locate: IPv6 networks', (t) => {
  t.like(locate('2001:218::1'), { source: 'database', country: 'JP', network: '2001:218::/32', prefix: 32, lat: CITY.tokyo[0] });
  t.like(locate('2a02:c7f:0:1::5'), { source: 'database', country: 'GB', network: '2a02:c7f::/48', prefix: 48 });
  t.is(locate('2a00:1450::1').source, 'unknown');
});

test('locate: IPv4-mapped, 6to4 and Teredo addresses are located by their embedded IPv4 address', (t) => {
  const plain = locate('81.2.0.5');
  const mapped = locate('::ffff:81.2.0.5');
  t.like(mapped, { source: 'database', country: 'GB', lat: plain.lat, lon: plain.lon, prefix: 96 + 24 });
  // 81.2.0.5 = 5102:0005
  const sixToFour = locate('2002:5102:5::1');
  t.like(sixToFour, { source: 'database', country: 'GB', prefix: 16 + 24 });
  // Teredo: 81.2.0.5 inverted = aefd:fffa
  const teredo = locate('2001:0:4136:e378:8000:63bf:aefd:fffa');
  t.like(teredo, { source: 'database', country: 'GB', prefix: 128 });
  // and a Tokyo client in 6to4 form
  t.like(locate('2002:100:1001::1'), { country: 'JP' });
});

// ---- GeoLocator.locate: the overlay -----------------------------------------------------------------

test("locate: the overlay wins over the database; a region pin takes the region's point", (t) => {
  // 81.2.69.142 is London in the database, but 81.2.69.128/25 is pinned to us-east
  t.like(locate('81.2.69.142'), {
    source: 'overlay',
    region: 'us-east',
    lat: CITY.ashburn[0],
    lon: CITY.ashburn[1],
    network: '81.2.69.128/25',
    prefix: 25,
  });
  t.like(locate('127.0.0.1'), { source: 'overlay', region: 'eu-west', network: '127.0.0.0/8' });
  t.like(locate('2001:db8:aa::1'), { source: 'overlay', region: 'ap-south', network: '2001:db8:aa::/48' });
});

test('locate: the longest overlay prefix wins', (t) => {
  t.like(locate('10.20.5.9'), { source: 'overlay', region: 'sa-east', network: '10.20.5.0/24', prefix: 24 });
  t.like(locate('10.20.6.9'), { source: 'overlay', region: 'ap-southeast', network: '10.20.0.0/16' });
});

test('locate: an overlay location gives coordinates and no region', (t) => {
  const l = locate('10.30.1.1');
  t.like(l, { source: 'overlay', lat: 40.7, lon: -74.0, network: '10.30.0.0/16', prefix: 16 });
  t.is(l.region, undefined);
});

test('locate: an overlay with only a country is placed at the country point, continent from the table', (t) => {
  const de = countryPoint('DE')!;
  t.like(locate('10.40.1.1'), { source: 'overlay', country: 'DE', continent: 'EU', lat: de.lat, lon: de.lon });
});

test('locate: ECS-scope prefix is widened for an overlay network nested inside the matched database block', (t) => {
  // database block 81.2.69.0/24 holds overlay 81.2.69.128/25: the /24 does not all get one answer
  t.like(locate('81.2.69.10'), { source: 'database', country: 'GB', network: '81.2.69.0/24', prefix: 25 });
  // database block 60.0.0.0/12 holds overlay 60.1.2.0/24
  t.like(locate('60.5.0.1'), { source: 'database', country: 'JP', network: '60.0.0.0/12', prefix: 24 });
  t.like(locate('60.1.2.3'), { source: 'overlay', lat: CITY.london[0], network: '60.1.2.0/24', prefix: 24 });
  // an overlay with a longer overlay inside it
  t.is(locate('10.20.1.1').prefix, 24);
  // no overlay nearby: the database prefix as is
  t.is(locate('41.0.0.1').prefix, 16);
});

test('locate: two addresses of one /24 answered differently each get their own location', (t) => {
  for (const order of [
    ['81.2.69.10', '81.2.69.200'],
    ['81.2.69.200', '81.2.69.10'],
  ]) {
    const fresh = geoFor();
    const [a, b] = order.map((x) => fresh.geo.locate(ip(x)));
    t.not(a!.source, b!.source);
  }
  t.like(geoFor().geo.locate(ip('81.2.0.77')), { network: '81.2.0.0/24', country: 'GB' });
});

test('locate without a database: overlay or unknown', (t) => {
  const cfg = overlayConfig();
  const geo = new GeoLocator(cfg.geoip.networks, null, (r) => cfg.regions.get(r)?.location);
  t.like(geo.locate(ip('10.20.5.1')), { source: 'overlay', region: 'sa-east' });
  const u = geo.locate(ip('81.2.0.5'));
  t.like(u, { source: 'unknown', network: null });
  t.is(u.lat, undefined);
});

test('locate: a database block is widened only by the overlay networks inside it', (t) => {
  const cfg = serverConfig(`listen: ["127.0.0.1:5300"]
regions:
  a: { location: [0, 0] }
geoip:
  networks:
    "192.0.2.0/24": { region: a }
`);
  const db = memoryDatabase(
    writeMmdb([
      { network: '192.0.0.0/16', data: city('US', 'NA', CITY.newYork) },
      { network: '198.51.0.0/16', data: city('US', 'NA', CITY.newYork) },
    ]),
  );
  const geo = new GeoLocator(cfg.geoip.networks, db, (r) => cfg.regions.get(r)?.location);
  t.like(geo.locate(ip('192.0.9.1')), { source: 'database', network: '192.0.0.0/16', prefix: 24 });
  t.like(geo.locate(ip('198.51.9.1')), { source: 'database', network: '198.51.0.0/16', prefix: 16 });
});

// ---- locateClient: ECS or source address -------------------------------------------------------------

test('locateClient: without ECS the source address decides', (t) => {
  const c = locateClient(client('81.2.0.5'), ctx);
  t.is(c.via, 'source');
  t.is(c.ecsIgnored, undefined);
  t.like(c.loc, { country: 'GB' });
  t.is(c.bytes.length, 4);
});

test('locateClient: a located public ECS subnet decides over the source address', (t) => {
  const c = locateClient(client('127.0.0.1', '1.0.16.0/24'), ctx);
  t.is(c.via, 'ecs');
  t.like(c.loc, { country: 'JP', source: 'database' });
  t.deepEqual([...c.bytes], [1, 0, 16, 0]);
  const v6 = locateClient(client('127.0.0.1', '2001:218:1::/48'), ctx);
  t.is(v6.via, 'ecs');
  t.is(v6.bytes.length, 16);
  t.like(v6.loc, { country: 'JP' });
});

test('locateClient: ECS source prefix 0 → the source address (the client opted out)', (t) => {
  const optOut = locateClient(client('81.2.0.5', '1.0.16.0/0'), ctx);
  t.is(optOut.via, 'source');
  t.like(optOut.loc, { country: 'GB' });
  t.regex(optOut.ecsIgnored!, /source prefix 0/);
});

// the ECS address decides, located or not, since the resolver caches the answer for the client's block
// (RFC 7871 §7.3.1)
test("locateClient: a private or unlocatable ECS address still decides: the client is unknown, never the resolver's place", (t) => {
  const priv = locateClient(client('81.2.0.5', '192.168.1.0/24'), ctx);
  t.like(priv, { via: 'ecs', unlocated: 'private address', ecsIgnored: undefined });
  t.deepEqual([...priv.bytes], [192, 168, 1, 0]);
  // the block: the source prefix (longer than the private range /16)
  t.like(priv.loc, { source: 'unknown', network: '192.168.1.0/24', prefix: 24, country: undefined });
  // a source prefix shorter than the private range: the range (192.168.0.0/15 reaches into public 192.169/16)
  t.like(locateClient(client('81.2.0.5', '192.168.0.0/15'), ctx).loc, { source: 'unknown', network: '192.168.0.0/16', prefix: 16 });
  // overlay networks inside the block lengthen it (10.20.5.0/24 is mapped elsewhere)
  t.like(locateClient(client('81.2.0.5', '10.0.0.0/8'), ctx).loc, { network: '10.0.0.0/8', prefix: 24 });
  // an IPv4-mapped private address is judged as its IPv4 address: the IPv4 overlays inside lengthen the block
  t.like(locateClient(client('81.2.0.5', '::ffff:10.0.0.0/104'), ctx), {
    via: 'ecs',
    unlocated: 'private address',
    loc: { source: 'unknown', network: '::ffff:10.0.0.0/8', prefix: 120 },
  });
  t.like(locateClient(client('81.2.0.5', 'fd00:1::/48'), ctx), {
    via: 'ecs',
    unlocated: 'private address',
    loc: { source: 'unknown', prefix: 48 },
  });
  // a private address an overlay maps is located by it
  t.like(locateClient(client('81.2.0.5', '10.20.1.0/24'), ctx), {
    via: 'ecs',
    unlocated: undefined,
    loc: { source: 'overlay', region: 'ap-southeast' },
  });

  const nowhere = locateClient(client('81.2.0.5', '8.8.8.0/24'), ctx);
  t.like(nowhere, { via: 'ecs', unlocated: 'located by nothing', minScope: 24, ecsIgnored: undefined });
  t.like(nowhere.loc, { source: 'unknown', country: undefined, lat: undefined });
  t.deepEqual([...nowhere.bytes], [8, 8, 8, 0]);
});

test('locateClient: geoip.ecs false ignores ECS', (t) => {
  const off = geoFor(overlayConfig({ ecs: false }));
  t.false(off.useEcs);
  const c = locateClient(client('81.2.0.5', '1.0.16.0/24'), off);
  t.is(c.via, 'source');
  t.like(c.loc, { country: 'GB' });
  t.truthy(c.ecsIgnored);
});

test('locateClient: an IPv4-mapped source address is located as IPv4, and the result is memoised', (t) => {
  const info = client('::ffff:81.2.0.5');
  const c = locateClient(info, ctx);
  t.is(c.via, 'source');
  t.is(c.bytes.length, 4);
  t.like(c.loc, { country: 'GB' });
  t.is(locateClient(info, ctx), c);
});
