// RFC 7766 TCP behaviour (docs/dns-behaviour.md#tcp): idle connections do not stop UDP or new
// TCP service; idle and slow connections are closed after `limits.tcp_idle`; pipelining and split writes;
// the connection cap closes the longest-idle connection; odd frames do not break a connection; a client
// that never reads its answers neither stalls the server for others nor makes it queue without bound.
import test, { type ExecutionContext } from 'ava';
import { type Handle, TcpConnections, TcpListener } from '../../src/dns/transport.js';
import { BASE_CONFIG, decode, query, type Reply, startServer, tcpMany, u16, udp } from '../helpers/server.js';
import { Client, destroyAll, TCP_TEST_ZONES } from '../helpers/tcp-client.js';

const ZONES = TCP_TEST_ZONES;
/** How long a reply on a test connection may take (the shared client waits 3 s unless told). */
const REPLY_WAIT = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function assertA(t: ExecutionContext, r: Reply, name = 'ns1.example.test', addr = '192.0.2.53'): Promise<void> {
  t.is(r.msg.rcode, 'NOERROR');
  t.is(r.msg.questions[0]?.name, name);
  t.deepEqual(
    r.msg.answers.map((a) => a.data),
    [addr],
  );
}

/** UDP and a brand-new TCP connection (several pipelined queries) are both answered. */
async function serviceWorks(t: ExecutionContext, port: number): Promise<void> {
  const udpReplies = await Promise.all(Array.from({ length: 20 }, () => udp(port, query('ns1.example.test', 'A'))));
  for (const r of udpReplies) await assertA(t, r);
  const tcpReplies = await tcpMany(port, [query('ns1.example.test', 'A'), query('mail.example.test', 'A'), query('ns1.example.test', 'A')]);
  t.is(tcpReplies.length, 3);
  await assertA(t, decode(tcpReplies[1]!), 'mail.example.test', '192.0.2.25');
}

const IDLE_CONFIG = `${BASE_CONFIG}limits: { tcp_idle: 500ms }\n`;

test('300 idle TCP connections do not stop UDP or new TCP service', async (t) => {
  const s = await startServer(ZONES);
  const clients: Client[] = [];
  try {
    const idle: Client[] = [];
    for (let batch = 0; batch < 6; batch++) {
      idle.push(...(await Promise.all(Array.from({ length: 50 }, () => Client.open(s.port, clients)))));
    }
    t.is(idle.length, 300);
    await sleep(50);
    await serviceWorks(t, s.port);
    // an idle connection is still usable, and none of the 300 was closed
    await assertA(t, await idle[150]!.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    t.is(idle.filter((c) => !c.isOpen).length, 0);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('an idle connection is closed after limits.tcp_idle; an active one stays open', async (t) => {
  const s = await startServer(ZONES, IDLE_CONFIG);
  const clients: Client[] = [];
  try {
    const idle = await Client.open(s.port, clients);
    const active = await Client.open(s.port, clients);
    // the active one sends a query every 150 ms for 1.2 s, well past the 500 ms idle time
    let last = 0;
    for (let i = 0; i < 8; i++) {
      const sent = Date.now(); // idle time counts from the query's arrival, after this
      await assertA(t, await active.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
      last = sent;
      await sleep(150);
    }
    t.true(active.isOpen, 'a connection that keeps sending stays open');
    const idleClosed = await idle.closedWithin(2000);
    t.not(idleClosed, null, 'the idle connection was closed');
    const idleFor = idleClosed! - idle.openedAt;
    t.true(idleFor >= 400 && idleFor < 2000, `idle connection closed after ${idleFor} ms`);
    // once it stops, the active connection is closed too, counted from its last query
    const activeClosed = await active.closedWithin(2500);
    t.not(activeClosed, null);
    const quietFor = activeClosed! - last;
    t.true(quietFor >= 250 && quietFor < 2000, `closed ${quietFor} ms after its last query`);
    t.is(active.replies.length, 8);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('slow senders (partial length, partial message, a byte at a time) are closed after the idle timeout', async (t) => {
  const s = await startServer(ZONES, IDLE_CONFIG);
  const clients: Client[] = [];
  try {
    const q = query('ns1.example.test', 'A');
    const halfLength = await Client.open(s.port, clients);
    halfLength.sock.write(Buffer.from([0]));
    const partial = await Client.open(s.port, clients);
    partial.sock.write(Buffer.concat([u16(q.length), q.subarray(0, 10)]));
    // a trickle that never completes a message: traffic, but no query, so it counts as idle
    const trickle = await Client.open(s.port, clients);
    trickle.sock.write(u16(0xffff));
    const timer = setInterval(() => trickle.isOpen && trickle.sock.write(Buffer.from([0x41])), 50);
    try {
      for (const c of [halfLength, partial, trickle]) {
        const at = await c.closedWithin(2500);
        t.not(at, null, 'closed');
        const after = at! - c.openedAt;
        t.true(after >= 400 && after < 2000, `closed after ${after} ms`);
        t.is(c.replies.length, 0);
      }
    } finally {
      clearInterval(timer);
    }
    await serviceWorks(t, s.port);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('pipelined queries in one write are answered in order; a query written a byte at a time is answered', async (t) => {
  const s = await startServer(ZONES);
  const clients: Client[] = [];
  try {
    const names = ['ns1.example.test', 'mail.example.test', 'nothere.example.test', 'www.example.org', 'ns2.example.test'];
    const msgs = Array.from({ length: 25 }, (_, i) => query(names[i % names.length]!, 'A', { id: 1000 + i }));
    const c = await Client.open(s.port, clients);
    c.send(...msgs);
    const replies = (await c.waitReplies(msgs.length, REPLY_WAIT)).map((r) => decode(r).msg);
    t.deepEqual(
      replies.map((r) => r.id),
      msgs.map((_, i) => 1000 + i),
    );
    t.deepEqual(
      replies.map((r) => r.questions[0]?.name),
      msgs.map((_, i) => names[i % names.length]),
    );
    t.deepEqual(
      replies.slice(0, 5).map((r) => r.rcode),
      ['NOERROR', 'NOERROR', 'NXDOMAIN', 'REFUSED', 'NOERROR'],
    );

    // one byte per write (no Nagle on either side, a pause between writes so they arrive separately)
    const slow = await Client.open(s.port, clients);
    const framed = Buffer.concat([u16(msgs[0]!.length), msgs[0]!, u16(msgs[1]!.length), msgs[1]!]);
    for (const byte of framed) {
      slow.sock.write(Buffer.from([byte]));
      await sleep(1);
    }
    const two = (await slow.waitReplies(2, REPLY_WAIT)).map((r) => decode(r).msg);
    t.deepEqual(
      two.map((r) => r.id),
      [1000, 1001],
    );
    t.deepEqual(
      two[0]!.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
    t.deepEqual(
      two[1]!.answers.map((a) => a.data),
      ['192.0.2.25'],
    );

    // a write that ends inside a message and the next write that completes it plus a whole one
    const split = await Client.open(s.port, clients);
    const cut = 2 + msgs[0]!.length + 5;
    split.sock.write(framed.subarray(0, cut));
    await sleep(20);
    t.is(split.replies.length, 1);
    split.sock.write(Buffer.concat([framed.subarray(cut), u16(msgs[2]!.length), msgs[2]!]));
    t.deepEqual(
      (await split.waitReplies(3, REPLY_WAIT)).map((r) => decode(r).msg.id),
      [1000, 1001, 1002],
    );
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('connection cap: a new connection closes the longest-idle one, never a recently active one', async (t) => {
  const s = await startServer(ZONES, `${BASE_CONFIG}limits: { tcp_connections: 5 }\n`);
  const clients: Client[] = [];
  try {
    const c: Client[] = [];
    for (let i = 0; i < 5; i++) {
      c.push(await Client.open(s.port, clients));
      await sleep(25);
    }
    // c[2] and c[4] are used; c[0] (opened first, never used) is the longest idle
    await assertA(t, await c[2]!.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    await assertA(t, await c[4]!.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    await sleep(25);
    const sixth = await Client.open(s.port, clients);
    t.not(await c[0]!.closedWithin(1000), null, 'the first, never used connection was closed');
    await assertA(t, await sixth.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    t.deepEqual(
      c.map((x) => x.isOpen),
      [false, true, true, true, true],
    );

    // now c[1] becomes the most recently active; c[3] (opened after it, never used) is the longest idle
    await assertA(t, await c[1]!.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    await sleep(25);
    const seventh = await Client.open(s.port, clients);
    t.not(await c[3]!.closedWithin(1000), null, 'the longest-idle connection was closed');
    await assertA(t, await seventh.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    t.deepEqual(
      c.map((x) => x.isOpen),
      [false, true, true, false, true],
    );
    for (const x of [c[1]!, c[2]!, c[4]!, sixth]) await assertA(t, await x.ask(query('ns1.example.test', 'A'), REPLY_WAIT));
    t.true(seventh.isOpen);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('a zero-length frame and frames with a response or a short message are dropped; the connection goes on', async (t) => {
  const s = await startServer(ZONES);
  const clients: Client[] = [];
  try {
    const c = await Client.open(s.port, clients);
    const response = Buffer.from(query('ns1.example.test', 'A', { id: 77 }));
    response[2]! |= 0x80; // QR=1
    c.send(Buffer.alloc(0), response, Buffer.alloc(11), query('ns1.example.test', 'A', { id: 78 }), Buffer.alloc(0));
    const [first] = await c.waitReplies(1, REPLY_WAIT);
    t.is(decode(first!).msg.id, 78);
    await assertA(t, decode(first!));
    const again = await c.ask(query('mail.example.test', 'A', { id: 79 }), REPLY_WAIT);
    t.is(again.msg.id, 79);
    await assertA(t, again, 'mail.example.test', '192.0.2.25');
    t.is(c.replies.length, 2, 'no reply to the dropped frames');
    t.true(c.isOpen);
    t.is(s.logs.filter((l) => (l.level as number) >= 50).length, 0);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('a client that never reads its answers neither stalls others nor makes the server queue without bound', async (t) => {
  const s = await startServer(ZONES, `${BASE_CONFIG}limits: { tcp_idle: 1s }\n`);
  const clients: Client[] = [];
  try {
    // each ~58 KB answer for a ~30-byte query: 6,000 queries would be ~350 MB of answers
    const q = query('huge.big.test', 'TXT', { id: 5 });
    const one = await tcpMany(s.port, [q]);
    t.true(one[0]!.length > 55_000, `the answer is ${one[0]!.length} bytes`);
    const before = process.memoryUsage().arrayBuffers;
    const hog = await Client.open(s.port, clients);
    hog.sock.pause(); // never reads
    hog.sock.write(Buffer.concat(Array.from({ length: 6000 }, () => Buffer.concat([u16(q.length), q]))));
    await sleep(300);
    // others are answered while the hog's answers pile up
    await serviceWorks(t, s.port); // each UDP query within 2 s, the new TCP connection within 3 s
    const grown = process.memoryUsage().arrayBuffers - before;
    t.true(grown < 48 * 1024 * 1024, `queued ${Math.round(grown / 1024 / 1024)} MB for a client that does not read`);
    // the server stopped reading the stuck connection, so no query completes on it: it goes idle and is
    // closed (what it had queued is dropped), seen by the client once it reads again
    await sleep(1500);
    hog.sock.resume();
    t.not(await hog.closedWithin(3000), null, 'the non-reading connection was closed');
    t.true(hog.replies.length < 6000);
    t.log(`${Math.round(grown / 1024)} KB queued; the client got ${hog.replies.length} answers before the server closed it`);
    await serviceWorks(t, s.port);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
});

test('a handler that throws on TCP closes that connection only, is reported once, and the listener answers the next one', async (t) => {
  const faults: Error[] = [];
  const boom = query('boom.example.test', 'A');
  const fine = Buffer.from(query('ns1.example.test', 'A'));
  const handle: Handle = (msg) => {
    if (msg.equals(boom)) throw new Error('a bug in a stage');
    const out = Buffer.from(msg);
    out[2]! |= 0x80; // QR: the query echoed as its response
    return out;
  };
  const connections = new TcpConnections({ maxConnections: 10, idleMs: 5000 });
  const listener = new TcpListener(
    handle,
    connections,
    () => t.fail('no accept error'),
    (e) => faults.push(e),
  );
  const port = await listener.listen('127.0.0.1', 0, 4);
  const clients: Client[] = [];
  try {
    const bystander = await Client.open(port, clients);
    const victim = await Client.open(port, clients);
    victim.send(fine, boom, fine);
    await victim.closed;
    t.is(victim.replies.length, 1, 'the query before the fault was answered, nothing after it');
    t.is(faults.length, 1);
    t.is(faults[0]!.message, 'a bug in a stage');
    t.true(bystander.isOpen, 'another connection is untouched');
    t.is((await bystander.ask(fine)).msg.id, fine.readUInt16BE(0));
    const next = await Client.open(port, clients);
    t.is((await next.ask(fine)).msg.id, fine.readUInt16BE(0), 'a new connection is answered');
  } finally {
    destroyAll(clients);
    await listener.close();
    await connections.close();
  }
});
