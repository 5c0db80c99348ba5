#!/usr/bin/env node
// Writes the query files of tools/bench.sh into DIR:
//   static.txt   dnsperf text: static names (A at a 4-address RRset, MX, TXT, NXDOMAIN, NODATA)
//   dyn.txt      dnsperf text: the geo-steered pool name
//   ecs-10k.bin  dnsperf -B (length-prefixed wire format): the pool name with 10,000 distinct client /24s in
//                EDNS Client Subnet, so every answer needs a GeoIP lookup (dnsperf -E sends one fixed ECS)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import packet from 'dns-packet';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node tools/bench-queries.mjs DIR');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const lines = (rows) => `${rows.join('\n')}\n`;
const staticRows = [];
for (let i = 0; i < 1000; i++) {
  const r = i % 20;
  staticRows.push(r < 12 ? 'www.example.test A' : r < 14 ? 'example.test MX' : r < 15 ? 'example.test TXT'
    : r < 17 ? `nx${i}.example.test A` : r < 18 ? 'www.example.test AAAA' : 'ns1.example.test A');
}
writeFileSync(join(dir, 'static.txt'), lines(staticRows));
writeFileSync(join(dir, 'dyn.txt'), lines(Array.from({ length: 1000 }, () => 'geo.example.test A')));

// 10,000 distinct public /24s, spread over the address space (seeded: the same file every run)
let seed = 0x5eed;
const rnd = () => { // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const seen = new Set();
const msgs = [];
while (msgs.length < 10_000) {
  const a = 1 + Math.floor(rnd() * 222);
  if ([10, 100, 127, 169, 172, 192, 198, 203].includes(a)) continue;
  const b = Math.floor(rnd() * 256);
  const c = Math.floor(rnd() * 256);
  const key = `${a}.${b}.${c}`;
  if (seen.has(key)) continue;
  seen.add(key);
  const q = packet.encode({
    type: 'query', id: msgs.length & 0xffff, flags: packet.RECURSION_DESIRED,
    questions: [{ name: 'geo.example.test', type: 'A' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, a, b, c]) }] }],
  });
  const framed = Buffer.alloc(q.length + 2);
  framed.writeUInt16BE(q.length, 0);
  q.copy(framed, 2);
  msgs.push(framed);
}
writeFileSync(join(dir, 'ecs-10k.bin'), Buffer.concat(msgs));
console.error(`bench-queries: static.txt, dyn.txt, ecs-10k.bin (${msgs.length} client subnets) in ${dir}`);
