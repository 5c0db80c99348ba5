// Edge cases found in review, over sockets: RRsets too large for one message, the TCP connection cap across
// listen addresses, serials that must not move when nothing in the zone changed, BADVERS before option
// validation, a truncated reply that cannot hold the NSID, and static RRsets rotating on counters of their
// own. (CNAMEs into delegations and wildcard CNAMEs are lookup rules: lookup-cname.test.ts and
// lookup-wildcards.test.ts.)

import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig } from '../../src/config/server-config.js';
import { parseZone } from '../../src/config/zone-file.js';
import { BASE_CONFIG, query, type Reply, startServer, tcp, udp } from '../helpers/server.js';
import { ecsOption, ednsOption, nameOfLength, optRecord, rawQuery } from '../helpers/wire.js';
import { heldStill } from '../operate/helpers.js';

const ZONE = `
origin: example.test
ttl: 300
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  sub: { NS: [ns.sub] }
  ns.sub: { A: 192.0.2.99 }
  "*.long": { TXT: ["${'t'.repeat(200)}", "${'u'.repeat(200)}"] }
  rr: { A: [192.0.2.1, 192.0.2.2], AAAA: ["2001:db8::1", "2001:db8::2"] }
  big: { TXT: [${Array.from({ length: 300 }, (_, i) => `"${String(i).padStart(3, '0')}${'x'.repeat(200)}"`).join(', ')}] }
`;

test('an RRset larger than a UDP answer: TC over UDP, the whole RRset over TCP, no SERVFAIL', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE });
  try {
    const u = await udp(s.port, query('big.example.test', 'TXT', { edns: true, payload: 4096 }));
    t.true(u.msg.flag_tc);
    t.is(u.msg.answers.length, 0);
    const c = await tcp(s.port, query('big.example.test', 'TXT'));
    t.is(c.msg.rcode, 'NOERROR');
    t.is(c.msg.answers.length, 300);
    t.true(c.raw.length > 60_000);
  } finally {
    await s.stop();
  }
});

test('check: an RRset that cannot fit in a 65535-octet message is an error', (t) => {
  const cfg = parseServerConfig('/tmp/steerdns.yaml', BASE_CONFIG).config!;
  const huge = `${ZONE.replace(/ {2}big: .*\n/, '')}  huge: { TXT: [${Array.from({ length: 400 }, (_, i) => `"${String(i).padStart(3, '0')}${'y'.repeat(247)}"`).join(', ')}] }\n`;
  const { zone, diagnostics } = parseZone('/tmp/zones/example.test.yaml', huge, cfg);
  t.is(zone, null);
  t.regex(
    diagnostics.map((d) => d.message).join('\n'),
    /TXT at "huge" is about \d+ octets on the wire: it cannot fit in a DNS message \(65535 octets, even over TCP\)/,
  );
});

test('limits.tcp_connections counts the connections of every listen address together', async (t) => {
  const config =
    BASE_CONFIG.replace('listen: ["127.0.0.1:0"]', 'listen: ["127.0.0.1:0", "127.0.0.2:0"]') +
    'limits: { tcp_connections: 2, tcp_idle: 30s }\n';
  const s = await startServer({ 'example.test.yaml': ZONE }, config);
  const socks: net.Socket[] = [];
  try {
    const open: boolean[] = [];
    for (const b of s.server.bound) {
      for (let i = 0; i < 3; i++) {
        const sock = net.connect({ host: b.host, port: b.port });
        const idx = socks.push(sock) - 1;
        open[idx] = true;
        sock.on('close', () => {
          open[idx] = false;
        });
        sock.on('error', () => undefined);
        await new Promise<void>((r) => sock.once('connect', () => r()));
        await new Promise((r) => setTimeout(r, 15)); // distinct idle ages
      }
    }
    const deadline = Date.now() + 3000;
    while (open.filter(Boolean).length > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.is(open.filter(Boolean).length, 2, 'the server keeps 2 connections in all');
    t.deepEqual(open.slice(4), [true, true], 'the two newest stay open');
  } finally {
    for (const sock of socks) sock.destroy();
    await s.stop();
  }
});

test('serial: editing health defaults in steerdns.yaml does not move a zone serial', async (t) => {
  const zone = `${ZONE}  app: { pool: { check: { type: tcp, port: 9 }, regions: { us-east: [127.0.0.1] } } }\n`;
  const s = await startServer({ 'example.test.yaml': zone });
  try {
    const serial = async () => (await udp(s.port, query('example.test', 'SOA'))).msg.answers[0]!.data.serial as number;
    const before = await serial();
    const cfgFile = join(s.dir, 'steerdns.yaml');
    writeFileSync(cfgFile, `${readFileSync(cfgFile, 'utf8')}health: { interval: 7s, fall: 5 }\n`);
    const r = await s.server.reload();
    t.true(r.ok);
    t.is(await serial(), before, 'no record changed');
    writeFileSync(join(s.dir, 'zones', 'example.test.yaml'), zone.replace('192.0.2.99', '192.0.2.98'));
    await heldStill(join(s.dir, 'zones', 'example.test.yaml')); // (a SIGHUP reads only a file that held still)
    await s.server.reload();
    t.true((await serial()) > before, 'a record change still moves it');
  } finally {
    await s.stop();
  }
});

const optOf = (r: Reply) => r.msg.additionals.find((a) => a.type === 'OPT');

test('EDNS version 1 with a malformed Client Subnet option: BADVERS (extended RCODE 1, header RCODE 0), not FORMERR', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE });
  try {
    const malformed = {
      'source prefix 33 for IPv4': ecsOption(1, 33, [192, 0, 2, 1, 0]),
      'family 3': ecsOption(3, 24, [192, 0, 2]),
      'address bits past the prefix': ecsOption(1, 23, [192, 0, 3]),
      'too short': ednsOption(8, Buffer.from([0, 1])),
    };
    for (const [what, ecs] of Object.entries(malformed)) {
      // options are defined per EDNS version (RFC 6891 §6.1.3): under a version we do not implement they are not read
      for (const version of [1, 255]) {
        const msg = rawQuery({
          name: 'ns1.example.test',
          qtype: 1,
          records: [optRecord({ version, flags: 0x8000, options: [ednsOption(3), ecs] })],
        });
        for (const ask of [udp, tcp]) {
          const r = await ask(s.port, msg);
          const opt = optOf(r);
          t.is(r.raw[3]! & 0x0f, 0, `${what}, version ${version}: header RCODE 0`);
          t.is(opt?.extendedRcode, 1, `${what}, version ${version}: BADVERS (16) is extended RCODE 1`);
          t.is(opt?.ednsVersion, 0, 'we speak version 0');
          t.is((opt?.flags ?? 0) & 0x8000, 0x8000, 'DO copied');
          t.deepEqual(opt?.options ?? [], [], 'no NSID, no ECS echo: the options were not read');
          t.is(r.msg.answers.length, 0);
        }
      }
      // the same option under version 0 is read, and malformed: FORMERR
      const v0 = await udp(
        s.port,
        rawQuery({ name: 'ns1.example.test', qtype: 1, records: [optRecord({ options: [ednsOption(3), ecs] })] }),
      );
      t.is(v0.msg.rcode, 'FORMERR', `${what}, version 0`);
      t.is(optOf(v0)?.extendedRcode, 0);
    }
  } finally {
    await s.stop();
  }
});

test('a truncated UDP reply with a 255-octet question, a /128 ECS and a 255-octet NSID drops the NSID to stay within 512; a short NSID stays', async (t) => {
  // header 12 + question 259 + OPT 11 + ECS 24 = 306; the NSID option (4 + 255) would make it 565
  const name = nameOfLength(255, 'long.example.test');
  const ecs = ecsOption(2, 128, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
  const ask = (payload: number) => rawQuery({ name, qtype: 16, records: [optRecord({ payload, options: [ednsOption(3), ecs] })] });
  const longNsid = 'n'.repeat(255);
  for (const nsid of [longNsid, 'ns1.test-nsid']) {
    const s = await startServer({ 'example.test.yaml': ZONE }, BASE_CONFIG.replace('nsid: ns1.test-nsid', `nsid: ${nsid}`));
    try {
      // a payload under 512 means 512 (RFC 6891 §6.2.5)
      for (const payload of [0, 1, 511, 512]) {
        const what = `NSID of ${nsid.length}, payload ${payload}`;
        const msg = ask(payload);
        const r = await udp(s.port, msg);
        t.true(r.msg.flag_tc, `${what}: the TXT answer does not fit`);
        t.is(r.msg.answers.length, 0, what);
        t.true(r.raw.length <= 512, `${what}: ${r.raw.length} bytes`);
        t.true(r.raw.subarray(12, 12 + 259).equals(msg.subarray(12, 12 + 259)), `${what}: question echoed`);
        const options = optOf(r)?.options ?? [];
        t.deepEqual(
          options.map((o) => o.code),
          nsid === longNsid ? [8] : [3, 8],
          `${what}: ${nsid === longNsid ? 'NSID dropped' : 'NSID kept'}, ECS echoed`,
        );
        t.is(options.find((o) => o.code === 8)?.sourcePrefixLength, 128, what);
        if (nsid !== longNsid) t.is(options.find((o) => o.code === 3)?.data.toString(), nsid, what);
      }
      // with room for it the long NSID is sent, next to the whole answer
      const r = await udp(s.port, ask(1232));
      t.false(r.msg.flag_tc);
      t.is(r.msg.answers.length, 2);
      t.true(r.raw.length <= 1232);
      t.is(
        optOf(r)
          ?.options?.find((o) => o.code === 3)
          ?.data.toString(),
        nsid,
      );
    } finally {
      await s.stop();
    }
  }
});

test('static rotation: a client alternating A and AAAA queries sees both orders of each set over 4 queries (a counter per RRset)', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE });
  try {
    const seen: Record<'A' | 'AAAA', string[]> = { A: [], AAAA: [] };
    for (const type of ['A', 'AAAA', 'A', 'AAAA'] as const) {
      const { msg } = await udp(s.port, query('rr.example.test', type));
      t.is(msg.answers.length, 2);
      seen[type].push(msg.answers.map((a) => a.data as string).join(' '));
    }
    // one counter shared by both sets would move on every query and give each type the same order twice
    t.deepEqual([...new Set(seen.A)].sort(), ['192.0.2.1 192.0.2.2', '192.0.2.2 192.0.2.1'], seen.A.join(' | '));
    t.deepEqual([...new Set(seen.AAAA)].sort(), ['2001:db8::1 2001:db8::2', '2001:db8::2 2001:db8::1'], seen.AAAA.join(' | '));
  } finally {
    await s.stop();
  }
});
