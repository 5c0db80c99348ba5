// The direct query reader (header, question and a lone OPT read from the bytes) against the full decoder
// (dns-packet): on thousands of generated queries both must yield the same parse and byte-identical
// responses from the same answer path.
import { join } from 'node:path';
import test from 'ava';
import { SerialStore } from '../../src/config/serial.js';
import { loadServerConfig } from '../../src/config/server-config.js';
import { Responder } from '../../src/dns/responder.js';
import { parseQuery } from '../../src/dns/query.js';
import { Rotation } from '../../src/gslb/answer.js';
import { HealthTable } from '../../src/health/table.js';
import { loadSnapshot } from '../../src/snapshot.js';
import { query, ROOT } from '../helpers/server.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['www.example.test', 'WWW.Example.TEST', 'app.example.test', 'api.example.test', 'example.test', 'static.example.test',
  'x.static.example.test', 'nope.example.test', 'sub.example.test', 'deep.x.sub.example.test', 'ns1.example.test', 'mail.example.test',
  '_sip._tcp.example.test', 'dkim._domainkey.example.test', '80.2.0.192.in-addr.arpa', 'example.com', 'version.bind', 'id.server'];
const TYPES = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'SRV', 'CNAME', 'ANY', 'DS', 'CAA', 'PTR', 'TLSA', 'NAPTR', 'SSHFP', 'AXFR', 'OPT'];

function ecsOption(rnd: () => number): { code: number; data: Buffer } {
  const v6 = rnd() < 0.3;
  const max = v6 ? 128 : 32;
  const prefix = Math.floor(rnd() * (max + 1));
  const addr = Buffer.alloc(Math.ceil(prefix / 8));
  for (let i = 0; i < addr.length; i++) addr[i] = Math.floor(rnd() * 256);
  if (prefix % 8 && rnd() < 0.9) addr[addr.length - 1]! &= (0xff << (8 - (prefix % 8))) & 0xff; // mostly well-formed
  const data = Buffer.alloc(4 + addr.length);
  data.writeUInt16BE(v6 ? 2 : rnd() < 0.05 ? 3 : 1, 0);
  data[2] = rnd() < 0.03 ? max + 1 : prefix;
  addr.copy(data, 4);
  return { code: 8, data };
}

function generate(rnd: () => number): Buffer {
  const name = NAMES[Math.floor(rnd() * NAMES.length)]!;
  const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
  const klass = rnd() < 0.05 ? 'CH' : 'IN';
  const r = rnd();
  if (r < 0.3) return query(name, type, { klass, rd: rnd() < 0.5 });
  const options: unknown[] = [];
  if (rnd() < 0.4) options.push({ code: 3, data: Buffer.alloc(0) });
  if (rnd() < 0.6) options.push(ecsOption(rnd));
  if (rnd() < 0.2) options.push({ code: 10, data: Buffer.from('cookie!!') });
  if (rnd() < 0.05) options.push(ecsOption(rnd));
  const msg = query(name, type, { klass, edns: true, payload: [0, 512, 1232, 4096][Math.floor(rnd() * 4)], options });
  if (rnd() < 0.05) msg[msg.length - 11 - options.reduce((n: number, o) => n + 4 + (o as { data: Buffer }).data.length, 0) + 5] = 1; // EDNS version 1
  if (rnd() < 0.03) msg[7] |= 0x80; // DO bit area of a neighbouring field: flag noise in the header
  return msg;
}

test('parse: the direct reader and the full decoder agree on 20,000 generated queries', (t) => {
  const rnd = mulberry32(0xd1ff);
  let fast = 0;
  for (let i = 0; i < 20_000; i++) {
    const msg = generate(rnd);
    const a = parseQuery(msg);
    const b = parseQuery(msg, { slow: true });
    if (a.edns || msg.readUInt16BE(10) === 0) fast++;
    t.deepEqual(a, b, msg.toString('hex'));
  }
  t.true(fast > 15_000, `${fast} of 20,000 took the direct path`);
});

test('respond: byte-identical responses from both parsers over the sample zones (10,000 queries, UDP and TCP)', (t) => {
  const { config } = loadServerConfig(join(ROOT, 'steerdns.yaml'));
  const snapshot = loadSnapshot(config!, new SerialStore(config!.stateDir, false), null).snapshot;
  const make = (slow: boolean) => {
    const r = new Responder(() => snapshot, config!, { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) });
    r.slowParse = slow;
    return r;
  };
  const fast = make(false);
  const slow = make(true);
  const rnd = mulberry32(0xbeef);
  for (let i = 0; i < 10_000; i++) {
    const msg = generate(rnd);
    const transport = rnd() < 0.2 ? 'tcp' : 'udp';
    const client = { address: rnd() < 0.5 ? '127.0.0.1' : '81.2.69.142' };
    const a = fast.handle(msg, transport, client);
    const b = slow.handle(msg, transport, client);
    t.deepEqual(a, b, `${transport} ${msg.toString('hex')}`);
  }
});
