#!/usr/bin/env node
// The query files of tools/bench.sh. Needs a build (dist/): client subnets are chosen with the server's own
// GeoLocator and database.
//
//   node tools/bench-queries.mjs DIR
//     static.txt   dnsperf text: static names (A at a 4-address RRset, MX, TXT, NXDOMAIN, NODATA)
//     dyn.txt      dnsperf text: the geo-steered pool name
//     ecs-10k.bin  dnsperf -B (length-prefixed wire format): the pool name with 10,000 distinct client /24s in
//                  EDNS Client Subnet (dnsperf -E sends one fixed ECS); dnsperf loops over the file.
//     ecs-1m.bin   the same with 1,000,000 distinct client /24s: a /24 comes back only after 999,999 others.
//                  Each query walks the pool's compiled decision table (docs/dns-behaviour.md step 7); the
//                  case shows what a real resolver population costs against one fixed client subnet (before
//                  the table, a per-/24 cache made this the cold case: 46% of the fixed-ECS QPS).
//     checks.tsv   per ECS file, one /24 of it per region (case, subnet, country, expected region), for dig
//   Every subnet is public (not private, reserved or documentation space) and located by the database the
//   server uses (GEODB, else the bundled one): unlocatable ECS would take the source-address path instead.
//   The two sets are disjoint, and exclude the fixed ECS of the dyn-ecs case (214.0.0.0/24).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import packet from 'dns-packet';

const { GeoLocator, openDatabase, bundledDatabasePath } = await import(new URL('../dist/gslb/geo.js', import.meta.url).href);
const { isPrivate } = await import(new URL('../dist/net/ranges.js', import.meta.url).href);

const WARM = 10_000;
const COLD = 1_000_000;
const FIXED_ECS = [214, 0, 0]; // dnsperf -E 8:00011800d60000 in bench.sh
const locator = () => new GeoLocator([], openDatabase(process.env.GEODB || bundledDatabasePath()), () => undefined);

const args = process.argv.slice(2);
if (args.length === 1) generate(args[0]);
else {
  console.error('usage: node tools/bench-queries.mjs DIR');
  process.exit(2);
}

function generate(dir) {
  mkdirSync(dir, { recursive: true });
  const lines = (rows) => `${rows.join('\n')}\n`;
  const staticRows = [];
  for (let i = 0; i < 1000; i++) {
    const r = i % 20;
    staticRows.push(
      r < 12
        ? 'www.example.test A'
        : r < 14
          ? 'example.test MX'
          : r < 15
            ? 'example.test TXT'
            : r < 17
              ? `nx${i}.example.test A`
              : r < 18
                ? 'www.example.test AAAA'
                : 'ns1.example.test A',
    );
  }
  writeFileSync(join(dir, 'static.txt'), lines(staticRows));
  writeFileSync(join(dir, 'dyn.txt'), lines(Array.from({ length: 1000 }, () => 'geo.example.test A')));

  // distinct public, locatable /24s, uniform over the IPv4 space (seeded: the same files every run)
  let seed = 0x5eed;
  const rnd = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const geo = locator();
  const seen = new Set([(FIXED_ECS[0] << 16) | (FIXED_ECS[1] << 8) | FIXED_ECS[2]]);
  const warm = [];
  const cold = [];
  const countries = [new Map(), new Map()];
  let rejected = 0;
  while (cold.length < COLD) {
    const key = Math.floor(rnd() * 2 ** 24);
    if (seen.has(key)) continue;
    seen.add(key);
    const addr = Uint8Array.of(key >>> 16, (key >>> 8) & 255, key & 255, 0);
    const loc = geo.locate(addr);
    // located, and public: what the server's locateClient takes from ECS instead of the source address
    if (reserved(addr) || isPrivate(addr) || loc.source === 'unknown' || loc.source === 'overlay') {
      rejected++;
      continue;
    }
    // the 10,000 set only holds /24s whose database block is a /24 or larger (one answer per /24)
    const set = warm.length < WARM && loc.prefix <= 24 ? 0 : 1;
    (set === 0 ? warm : cold).push(key);
    if (loc.country && !countries[set].has(loc.country)) countries[set].set(loc.country, key);
  }
  writeFileSync(join(dir, 'ecs-10k.bin'), wire(warm));
  writeFileSync(join(dir, 'ecs-1m.bin'), wire(cold));

  // dig checks: per file, the first /24 located in a country whose nearest region is beyond doubt
  const REGION_OF = [
    ['US', 'us-east'],
    ['DE', 'eu-west'],
    ['GB', 'eu-west'],
    ['FR', 'eu-west'],
    ['IN', 'ap-south'],
  ];
  const checks = [];
  for (const [set, name] of [
    [0, 'dyn-ecs-10k'],
    [1, 'dyn-ecs-1m'],
  ]) {
    const done = new Set();
    for (const [cc, region] of REGION_OF) {
      const key = countries[set].get(cc);
      if (key === undefined || done.has(region)) continue;
      done.add(region);
      checks.push([name, `${key >>> 16}.${(key >>> 8) & 255}.${key & 255}.0/24`, cc, region].join('\t'));
    }
  }
  writeFileSync(join(dir, 'checks.tsv'), lines(checks));
  console.error(
    `bench-queries: static.txt, dyn.txt, ecs-10k.bin (${warm.length} client /24s, ${countries[0].size} countries), ` +
      `ecs-1m.bin (${cold.length} client /24s, ${countries[1].size} countries; ${rejected} private, reserved or unlocated /24s skipped) in ${dir}`,
  );
}

/** Reserved or documentation IPv4 space that isPrivate() does not cover. */
function reserved([a, b, c]) {
  return (
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 192 && b === 88 && c === 99) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  );
}

/** dnsperf -B input: each query preceded by its length (16 bits); ECS source prefix 24, three address bytes. */
function wire(keys) {
  const q = packet.encode({
    type: 'query',
    id: 0,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name: 'geo.example.test', type: 'A' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 0, 0, 0]) }] }],
  });
  const size = q.length + 2;
  const out = Buffer.alloc(size * keys.length);
  keys.forEach((key, i) => {
    const at = i * size;
    out.writeUInt16BE(q.length, at);
    q.copy(out, at + 2);
    out.writeUInt16BE(i & 0xffff, at + 2); // the message id
    out[at + size - 3] = key >>> 16; // the ECS address ends the message
    out[at + size - 2] = (key >>> 8) & 255;
    out[at + size - 1] = key & 255;
  });
  return out;
}
