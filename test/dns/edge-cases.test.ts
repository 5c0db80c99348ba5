// Edge cases found in review: CNAMEs into delegations, wildcard CNAMEs, RRsets too large for one message,
// the TCP connection cap across listen addresses, and serials that must not move when nothing in the
// zone changed.
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseServerConfig } from '../../src/config/server-config.js';
import { parseZone } from '../../src/config/zone-file.js';
import { BASE_CONFIG, query, startServer, tcp, udp } from '../helpers/server.js';

const ZONE = `
origin: example.test
ttl: 300
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  sub: { NS: [ns.sub] }
  ns.sub: { A: 192.0.2.99 }
  into-sub: { CNAME: host.sub }
  "*.wild": { CNAME: ns1 }
  big: { TXT: [${Array.from({ length: 300 }, (_, i) => `"${String(i).padStart(3, '0')}${'x'.repeat(200)}"`).join(', ')}] }
`;

test('a CNAME into a delegation: the CNAME with AA, then the referral (NS in authority, glue)', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE });
  try {
    for (const ask of [udp, tcp]) {
      const { msg } = await ask(s.port, query('into-sub.example.test', 'A'));
      t.is(msg.rcode, 'NOERROR');
      t.true(msg.flag_aa, 'AA describes the first owner name, which is ours');
      t.deepEqual(msg.answers.map((a) => [a.name, a.type, a.data]), [['into-sub.example.test', 'CNAME', 'host.sub.example.test']]);
      t.deepEqual(msg.authorities.map((a) => [a.name, a.type, a.data]), [['sub.example.test', 'NS', 'ns.sub.example.test']]);
      t.deepEqual(msg.additionals.filter((a) => a.type === 'A').map((a) => [a.name, a.data]), [['ns.sub.example.test', '192.0.2.99']]);
    }
  } finally {
    await s.stop();
  }
});

test('a wildcard CNAME is synthesized at the query name and followed', async (t) => {
  const s = await startServer({ 'example.test.yaml': ZONE });
  try {
    const { msg } = await udp(s.port, query('Any.Wild.example.test', 'A'));
    t.is(msg.rcode, 'NOERROR');
    t.deepEqual(msg.answers.map((a) => [a.name, a.type, a.data]), [
      ['Any.Wild.example.test', 'CNAME', 'ns1.example.test'],
      ['ns1.example.test', 'A', '192.0.2.53'],
    ]);
  } finally {
    await s.stop();
  }
});

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
  const huge = `${ZONE.replace(/  big: .*\n/, '')}  huge: { TXT: [${Array.from({ length: 400 }, (_, i) => `"${String(i).padStart(3, '0')}${'y'.repeat(247)}"`).join(', ')}] }\n`;
  const { zone, diagnostics } = parseZone('/tmp/zones/example.test.yaml', huge, cfg);
  t.is(zone, null);
  t.regex(diagnostics.map((d) => d.message).join('\n'), /TXT at "huge" is about \d+ octets on the wire: it cannot fit in a DNS message \(65535 octets, even over TCP\)/);
});

test('limits.tcp_connections counts the connections of every listen address together', async (t) => {
  const config = BASE_CONFIG.replace('listen: ["127.0.0.1:0"]', 'listen: ["127.0.0.1:0", "127.0.0.2:0"]') + 'limits: { tcp_connections: 2, tcp_idle: 30s }\n';
  const s = await startServer({ 'example.test.yaml': ZONE }, config);
  const socks: net.Socket[] = [];
  try {
    const open: boolean[] = [];
    for (const b of s.server.bound) {
      for (let i = 0; i < 3; i++) {
        const sock = net.connect({ host: b.host, port: b.port });
        const idx = socks.push(sock) - 1;
        open[idx] = true;
        sock.on('close', () => { open[idx] = false; });
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
    const r = s.server.reload();
    t.true(r.ok);
    t.is(await serial(), before, 'no record changed');
    writeFileSync(join(s.dir, 'zones', 'example.test.yaml'), zone.replace('192.0.2.99', '192.0.2.98'));
    s.server.reload();
    t.true((await serial()) > before, 'a record change still moves it');
  } finally {
    await s.stop();
  }
});
