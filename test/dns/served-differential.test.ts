// The running server against the tests' oracle, on the wire: generated zones (wildcards, cuts, glue in and out
// of bailiwick, CNAME chains and loops, DS, ANY, empty non-terminals, pools of every all_down kind, hosted child
// zones delegated to or not: test/helpers/zone-gen.ts) are loaded by the real server from files — snapshot,
// flat zones, the answer path with its exchange, over UDP and TCP — and every response must be byte for byte
// the response the object zones and lookup of the oracle (test/helpers/object-zone.ts, object-lookup.ts) give,
// written by the same writer. The oracle sees the same queries in the same order, so its round-robin counters
// move in step with the server's; pools select round robin (a random selection could not be compared).
// The rules both implement: docs/dns-behaviour.md#lookup.
import dgram from 'node:dgram';
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig } from '../../src/config/server-config.js';
import { parseZone } from '../../src/config/zone-file.js';
import { parseQuery } from '../../src/dns/query.js';
import { type WrittenMessage, writeResponse } from '../../src/dns/writer.js';
import { poolResolver } from '../../src/gslb/decide.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { geoContext, loadDatabase } from '../../src/snapshot.js';
import { lookup } from '../helpers/object-lookup.js';
import { type ObjectZone, prepareObjectZone } from '../helpers/object-zone.js';
import { mulberry32 } from '../helpers/random.js';
import { BASE_CONFIG, startServer, tcpMany } from '../helpers/server.js';
import { ecsOption, optRecord, rawQuery } from '../helpers/wire.js';
import { generateZones } from '../helpers/zone-gen.js';

const TYPES = [1, 28, 15, 16, 2, 6, 33, 5, 255, 43, 12];
/** UDP without EDNS, UDP at 1232 (with Client Subnet for some), TCP. */
const TRANSPORTS = [
  { tcp: false, payload: null },
  { tcp: false, payload: 1232 },
  { tcp: true, payload: 4096 },
] as const;
const SUBNETS: [number, number, number[]][] = [
  [1, 24, [81, 2, 69]],
  [1, 24, [103, 21, 244]],
  [2, 56, [0x24, 0x00, 0xcb, 0x00, 0, 0, 0]],
];

interface Query {
  msg: Buffer;
  tcp: boolean;
}

/** The oracle: the same files and config, read apart and prepared as object zones, answering as the server would. */
function oracle(files: Record<string, string>, config: string, dir: string) {
  const cfg = parseServerConfig(join(dir, 'steerdns.yaml'), config).config!;
  const zones = new Map<string, ObjectZone>();
  for (const [file, text] of Object.entries(files)) {
    const spec = parseZone(join(dir, 'zones', file), text, cfg).zone!;
    zones.set(spec.origin, prepareObjectZone(spec, spec.soa.serial!, cfg));
  }
  const geo = geoContext(cfg, loadDatabase(cfg, null).db);
  const env = { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) };
  const resolve = poolResolver(env, () => geo);
  const written: WrittenMessage = { truncated: false, answerCount: 0, authorityCount: 0, additionalCount: 0 };
  return {
    names: [
      ...[...zones.values()].flatMap((z) => [...z.nodes.keys(), `nx-none.${z.origin}`, `a.b.nx-none.${z.origin}`]),
      'example.com',
      'test',
    ],
    answer(q: Query): Buffer {
      const parsed = parseQuery(q.msg, undefined, !cfg.geoip.ecs);
      const { name, qtype } = parsed.question!;
      const ans = lookup({ zones }, name, qtype, { address: '127.0.0.1', ecs: parsed.edns?.ecs ?? null }, resolve);
      const maxSize = q.tcp ? 65535 : parsed.edns ? Math.min(Math.max(parsed.edns.payload, 512), 1232) : 512;
      const opts = { rcode: ans.rcode, aa: ans.aa, maxSize, rotation: env.rotation, nsid: null, ecsScope: ans.ecsScope, truncate: false };
      return writeResponse(q.msg, parsed, ans, opts, written);
    },
  };
}

/** Sends UDP queries over one socket, a window at a time (the server answers a socket's datagrams in order). */
async function udpBatch(port: number, msgs: Buffer[]): Promise<Buffer[]> {
  const s = dgram.createSocket('udp4');
  const replies = new Map<number, Buffer>();
  try {
    for (let i = 0; i < msgs.length; i += 32) {
      const window = msgs.slice(i, i + 32);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`UDP: no reply to ${window.length - count} of a window`)), 5000);
        let count = 0;
        const onMessage = (m: Buffer) => {
          replies.set(m.readUInt16BE(0), m);
          if (++count === window.length) {
            clearTimeout(timer);
            s.off('message', onMessage);
            resolve();
          }
        };
        s.on('message', onMessage);
        for (const m of window) s.send(m, port, '127.0.0.1');
      });
    }
  } finally {
    s.close();
  }
  return msgs.map((m) => replies.get(m.readUInt16BE(0))!);
}

for (const seed of [21, 22]) {
  test(`generated zones (seed ${seed}) served by the running server answer byte for byte as the oracle does, over UDP and TCP (docs/dns-behaviour.md#lookup)`, async (t) => {
    const { files: generated } = generateZones(seed);
    // round robin everywhere: the server's random source is not the oracle's
    const files = Object.fromEntries(
      Object.entries(generated).map(([f, text]) => [f, text.replace(/select: (random|weighted)/g, 'select: round-robin')]),
    );
    const s = await startServer(files, BASE_CONFIG);
    t.teardown(() => s.stop());
    const o = oracle(files, BASE_CONFIG, s.dir);
    const rnd = mulberry32(seed);
    let id = 0;
    const make = (name: string, qtype: number, transport: (typeof TRANSPORTS)[number]): Query => {
      const options = transport.payload !== null && rnd() < 0.3 ? [ecsOption(...SUBNETS[Math.floor(rnd() * SUBNETS.length)]!)] : [];
      const records = transport.payload === null ? [] : [optRecord({ payload: transport.payload, options })];
      const mixed = [...name].map((c) => (rnd() < 0.2 ? c.toUpperCase() : c)).join('');
      return { msg: rawQuery({ id: id++ & 0xffff, name: mixed, qtype, records }), tcp: transport.tcp };
    };
    // UDP first, then TCP (pipelined on one connection): the oracle asked in the same order
    const udp: Query[] = [];
    const tcp: Query[] = [];
    for (const name of o.names) for (const qtype of TYPES) for (const tr of TRANSPORTS) (tr.tcp ? tcp : udp).push(make(name, qtype, tr));
    t.true(udp.length < 0xffff, 'query ids are unique within the UDP run');
    const got = [
      ...(await udpBatch(
        s.port,
        udp.map((q) => q.msg),
      )),
    ];
    for (let i = 0; i < tcp.length; i += 500)
      got.push(
        ...(await tcpMany(
          s.port,
          tcp.slice(i, i + 500).map((q) => q.msg),
          '127.0.0.1',
          20_000,
        )),
      );
    const problems: string[] = [];
    const rcodes = new Map<number, number>();
    [...udp, ...tcp].forEach((q, i) => {
      const want = o.answer(q);
      const have = got[i]!;
      rcodes.set(want[3]! & 0xf, (rcodes.get(want[3]! & 0xf) ?? 0) + 1);
      if (!have.equals(want) && problems.length < 5)
        problems.push(
          `${parseQuery(q.msg).question!.name} ${q.tcp ? 'tcp' : 'udp'}:\n  server ${have.toString('hex')}\n  oracle ${want.toString('hex')}`,
        );
    });
    t.deepEqual(problems, []);
    t.log(`${udp.length} UDP and ${tcp.length} TCP queries; rcodes ${JSON.stringify(Object.fromEntries(rcodes))}`);
    for (const rcode of [0, 2, 3, 5]) t.true((rcodes.get(rcode) ?? 0) > 0, `rcode ${rcode} seen`);
  });
}
