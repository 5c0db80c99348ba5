// TCP and probe abuse on real loopback sockets. Every test states its time bound, ends
// within it, and finishes by showing the server answering a normal query over UDP and over a new TCP connection.
//
// TCP (complements test/dns/tcp.test.ts, which covers 300 idle connections under the cap, partial lengths and
// 50 ms trickles, pipelining, the cap's choice among 5, odd short frames and the non-reading client's memory):
// a 65535 length prefix with no body, one byte per second, 65535-byte frames of garbage (whole, pipelined, in
// pieces), 300 connections against a cap of 50, and a non-reading client seen from the server side (it stops
// reading, its queue stays bounded, the connection is closed).
//
// Probes (complements test/health/checks.test.ts and prober.test.ts, which cover endless plain bodies and
// headers and silent servers): redirect loops (never followed: the status decides), slow TLS handshakes (silent,
// a byte every 200 ms), 1xx informational responses without end, endless chunked bodies (big chunks, 1-byte
// chunks, an endless chunk extension) — directly with probe(), and through a running server's prober, whose
// DNS answers keep coming and move to the healthy region. Backend addresses: 127.0.7.x.
//
// The tests run one at a time: the flooding ones (20 MB to a client that never reads, 300 connections) would
// otherwise hold up the timers the others measure.
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { MAX_BODY, MAX_INFORMATIONAL, probe } from '../../src/health/checks.js';
import { checkSpec, HttpBackend, Lateness, sleep, stateChanges, waitFor } from '../health/backends.js';
import { BASE_CONFIG, decode, query, type Reply, startServer, type TestServer, tcpMany, u16, udp, udpRaw } from '../helpers/server.js';
import { Client, destroyAll, TCP_TEST_ZONES } from '../helpers/tcp-client.js';

const ZONES = TCP_TEST_ZONES;

const withLimits = (limits: string) => `${BASE_CONFIG}limits: ${limits}\n`;

// ---- helpers ------------------------------------------------------------------------------------------

/** Fails the test (via ava) if it runs past `ms`, and checks at the end that it stayed within `ms`. */
function bound(t: ExecutionContext, ms: number): () => void {
  t.timeout(ms + 10_000, `bound of ${ms} ms, plus 10 s for ava`);
  const started = Date.now();
  return () => {
    const took = Date.now() - started;
    t.true(took <= ms, `took ${took} ms, bound ${ms} ms`);
    t.log(`took ${took} ms (bound ${ms} ms)`);
  };
}

/** The server's open TCP connections (its own count: the cap and the sweeper work on this set). */
function serverConnections(s: TestServer): number {
  return (s.server as unknown as { tcpConnections: { size: number } }).tcpConnections.size;
}

/** The server's per-connection state, to read how much it has queued for each client. */
function serverSockets(s: TestServer): net.Socket[] {
  const conns = (s.server as unknown as { tcpConnections: { conns: Set<{ socket: net.Socket }> } }).tcpConnections.conns;
  return [...conns].map((c) => c.socket);
}

/** Queries answered over TCP so far (the server's own counter, steerdns_queries_total{transport="tcp"}). */
function tcpAnswered(s: TestServer): number {
  return s.server.metrics.queryStats
    .querySamples()
    .filter((x) => x.labels.transport === 'tcp')
    .reduce((a, x) => a + x.value, 0);
}

function assertA(t: ExecutionContext, r: Reply, name = 'ns1.example.test', addr = '192.0.2.53'): void {
  t.is(r.msg.rcode, 'NOERROR');
  t.is(r.msg.questions[0]?.name, name);
  t.deepEqual(
    r.msg.answers.map((a) => a.data),
    [addr],
  );
}

/** The server answers a normal query over UDP and over a brand-new TCP connection. */
async function answersUdpAndTcp(t: ExecutionContext, port: number): Promise<void> {
  assertA(t, await udp(port, query('ns1.example.test', 'A')));
  const [raw] = await tcpMany(port, [query('mail.example.test', 'A')]);
  assertA(t, decode(raw!), 'mail.example.test', '192.0.2.25');
}

/** No internal error was logged (an exception caught on the answer path, a socket error). */
function noErrorLogs(t: ExecutionContext, s: TestServer): void {
  const errors = s.logs.filter((l) => (l.level as number) >= 50);
  t.deepEqual(
    errors.map((l) => l.msg),
    [],
  );
}

/**
 * The frame of a TCP abuse test: a server (with `limits`, if given) and the clients the test opens; after `body`,
 * the end every one of them shares (a normal query answered over UDP and over a new TCP connection, no error
 * logged), all within `ms`. The clients are destroyed and the server stopped whatever happens.
 */
async function tcpAbuse(
  t: ExecutionContext,
  ms: number,
  limits: string | null,
  body: (s: TestServer, clients: Client[]) => Promise<void>,
): Promise<void> {
  const s = await startServer(ZONES, limits === null ? undefined : withLimits(limits));
  // the bound is on what the abuse costs, from a running server on (not on starting one: its builder thread
  // loads its modules first, seconds under tsx on a busy machine)
  const done = bound(t, ms);
  const clients: Client[] = [];
  try {
    await body(s, clients);
    await answersUdpAndTcp(t, s.port);
    noErrorLogs(t, s);
  } finally {
    destroyAll(clients);
    await s.stop();
  }
  done();
}

/** A small deterministic PRNG (bytes), so the garbage is the same on every run. */
function garbage(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// ---- TCP abuse ----------------------------------------------------------------------------------------

test.serial(
  'TCP: a length prefix of 65535 and no body is closed after tcp_idle; UDP and new TCP answered meanwhile and after',
  async (t) => {
    await tcpAbuse(t, 4000, '{ tcp_idle: 500ms, tcp_connections: 50 }', async (s, clients) => {
      const late = new Lateness(); // from before the first connection opens
      // 20 of them: the server reserves nothing for the announced 64 KB, it only waits
      const waiting = await Promise.all(Array.from({ length: 20 }, () => Client.open(s.port, clients)));
      for (const c of waiting) c.sock.write(u16(0xffff));
      await answersUdpAndTcp(t, s.port); // while they wait
      const closedAt = await Promise.all(waiting.map((c) => c.closedWithin(3000)));
      // closed by the sweeper, which runs every tcp_idle / 4 (125 ms): between 500 and ~625 ms after opening
      for (const [i, at] of closedAt.entries()) {
        t.not(at, null, `connection ${i} was closed`);
        const after = at! - waiting[i]!.openedAt;
        t.true(after >= 450 && after <= 625 + 100 + late.ms, `closed after ${after} ms (lateness ${late.ms} ms)`);
        t.is(waiting[i]!.replies.length, 0);
      }
      await waitFor(() => serverConnections(s) === 0, 2000, 'the server to drop every connection');
    });
  },
);

test.serial('TCP: a client sending one byte per second is closed after tcp_idle (bytes are not activity); others answered', async (t) => {
  await tcpAbuse(t, 5000, '{ tcp_idle: 1500ms, tcp_connections: 50 }', async (s, clients) => {
    const timers: NodeJS.Timeout[] = [];
    const late = new Lateness(); // from before the first connection opens
    try {
      const q = query('ns1.example.test', 'A');
      const framed = Buffer.concat([u16(q.length), q]);
      const slow = await Promise.all(Array.from({ length: 5 }, () => Client.open(s.port, clients)));
      const sent = slow.map(() => 0);
      slow.forEach((c, i) => {
        const tick = () => {
          if (!c.isOpen || sent[i]! >= framed.length) return;
          c.sock.write(framed.subarray(sent[i]!, sent[i]! + 1));
          sent[i]!++;
        };
        tick();
        timers.push(setInterval(tick, 1000));
      });
      await answersUdpAndTcp(t, s.port);
      for (const [i, c] of slow.entries()) {
        const at = await c.closedWithin(4000);
        t.not(at, null, 'closed');
        const after = at! - c.openedAt;
        // idle 1500 ms, sweeper every 375 ms
        t.true(after >= 1450 && after <= 1875 + 100 + late.ms, `closed after ${after} ms (lateness ${late.ms} ms)`);
        t.true(sent[i]! >= 2 && sent[i]! <= 3, `${sent[i]} bytes sent before the close`);
        t.is(c.replies.length, 0, 'the query never completed');
      }
    } finally {
      for (const x of timers) clearInterval(x);
    }
  });
});

/**
 * 65535-byte frames of garbage and what the server must do with each: FORMERR when a header can be read, QR=1
 * dropped, opcodes other than QUERY NOTIMP (docs/dns-behaviour.md#processing-order).
 */
function garbageFrames(): { name: string; frame: Buffer; reply: { id: number; rcode: string } | null }[] {
  const N = 0xffff;
  const zeros = Buffer.alloc(N); // id 0, QUERY, QDCOUNT 0
  const response = Buffer.alloc(N, 0xff); // QR=1
  const longLabel = garbage(1, N); // QUERY, QDCOUNT 1, a first label of 127 octets, then noise
  longLabel.writeUInt16BE(0x1234, 0);
  longLabel.writeUInt16BE(0x0100, 2);
  longLabel.writeUInt16BE(1, 4);
  longLabel[12] = 127;
  const loop = garbage(2, N); // QDCOUNT 1, the question name a compression pointer to itself
  loop.writeUInt16BE(0x2345, 0);
  loop.writeUInt16BE(0x0000, 2);
  loop.writeUInt32BE(0x00010000, 4);
  loop.writeUInt32BE(0, 8);
  loop.writeUInt16BE(0xc00c, 12);
  const lying = Buffer.alloc(N); // every count 65535, the rest pointers to offset 12
  lying.writeUInt16BE(0x3456, 0);
  for (let i = 4; i < 12; i += 2) lying.writeUInt16BE(0xffff, i);
  for (let i = 12; i + 1 < N; i += 2) lying.writeUInt16BE(0xc00c, i);
  const opcode = garbage(3, N); // opcode 5 (UPDATE), then noise
  opcode.writeUInt16BE(0x4567, 0);
  opcode.writeUInt16BE(0x2800, 2);
  return [
    { name: 'zeros (QDCOUNT 0)', frame: zeros, reply: { id: 0, rcode: 'FORMERR' } },
    { name: '0xff (QR=1)', frame: response, reply: null },
    { name: 'label of 127 octets', frame: longLabel, reply: { id: 0x1234, rcode: 'FORMERR' } },
    { name: 'compression loop', frame: loop, reply: { id: 0x2345, rcode: 'FORMERR' } },
    { name: 'counts that lie', frame: lying, reply: { id: 0x3456, rcode: 'FORMERR' } },
    { name: 'opcode UPDATE', frame: opcode, reply: { id: 0x4567, rcode: 'NOTIMP' } },
  ];
}

test.serial('TCP: 65535-byte frames of garbage get FORMERR/NOTIMP or nothing; the connection keeps answering', async (t) => {
  await tcpAbuse(t, 8000, null, async (s, clients) => {
    const frames = garbageFrames();
    const check = (raw: Buffer | undefined, want: { id: number; rcode: string }, what: string) => {
      const r = decode(raw!).msg;
      t.deepEqual({ type: r.type, id: r.id, rcode: r.rcode, answers: r.answers.length }, { type: 'response', ...want, answers: 0 }, what);
      t.true(raw!.length <= 512, `${what}: a ${raw!.length}-byte reply to garbage`);
    };
    // each frame on a connection of its own, a normal query right behind it
    for (const f of frames) {
      const c = await Client.open(s.port, clients);
      c.send(f.frame, query('ns1.example.test', 'A', { id: 4242 }));
      const want = f.reply ? 2 : 1;
      const replies = await c.waitReplies(want);
      if (f.reply) check(replies[0], f.reply, f.name);
      const normal = decode(replies[want - 1]!);
      t.is(normal.msg.id, 4242, f.name);
      assertA(t, normal);
      await sleep(50);
      t.is(c.replies.length, want, `${f.name}: nothing else came back`);
      t.true(c.isOpen, `${f.name}: the connection stays open`);
      assertA(t, await c.ask(query('ns1.example.test', 'A')));
    }
    // all of them pipelined in one 393 KB write, then a normal query: the replies in order
    const piped = await Client.open(s.port, clients);
    piped.send(...frames.map((f) => f.frame), query('mail.example.test', 'A', { id: 777 }));
    const expected = frames.filter((f) => f.reply);
    const all = await piped.waitReplies(expected.length + 1);
    for (const [i, f] of expected.entries()) check(all[i], f.reply!, `pipelined ${f.name}`);
    t.is(decode(all[expected.length]!).msg.id, 777);
    assertA(t, decode(all[expected.length]!), 'mail.example.test', '192.0.2.25');
    // one frame written in 100 pieces (more than the 64 chunks kept before joining), a query right after
    const pieces = await Client.open(s.port, clients);
    const framed = Buffer.concat([
      u16(0xffff),
      frames[3]!.frame,
      u16(query('ns1.example.test', 'A').length),
      query('ns1.example.test', 'A', { id: 888 }),
    ]);
    const step = Math.ceil(framed.length / 100);
    for (let i = 0; i < framed.length; i += step) {
      pieces.sock.write(framed.subarray(i, i + step));
      await new Promise((r) => setImmediate(r));
    }
    const two = await pieces.waitReplies(2);
    check(two[0], frames[3]!.reply!, 'in pieces');
    t.is(decode(two[1]!).msg.id, 888);
  });
});

test.serial('TCP: 300 idle connections against a cap of 50: the cap holds, the oldest are closed, UDP and new TCP answered', async (t) => {
  await tcpAbuse(t, 10_000, '{ tcp_idle: 3s, tcp_connections: 50 }', async (s, clients) => {
    const opened: Client[] = [];
    let most = 0;
    const udpDuring: Promise<Reply>[] = [];
    const started = Date.now();
    for (let i = 0; i < 300; i++) {
      opened.push(await Client.open(s.port, clients)); // one at a time: the server accepts them in this order
      most = Math.max(most, serverConnections(s));
      if (i % 30 === 0) udpDuring.push(udp(s.port, query('ns1.example.test', 'A')));
    }
    t.log(`300 connections opened in ${Date.now() - started} ms`);
    for (const r of await Promise.all(udpDuring)) assertA(t, r);
    t.true(most <= 50, `the server held ${most} connections at most`);
    // every connection past the 50th closed the longest-idle one: the first 250 opened
    await waitFor(() => opened.filter((c) => !c.isOpen).length >= 250, 3000, '250 connections to be closed');
    await sleep(50);
    t.deepEqual(
      opened.map((c, i) => (c.isOpen ? i : -1)).filter((i) => i >= 0),
      Array.from({ length: 50 }, (_, i) => 250 + i),
    );
    t.is(serverConnections(s), 50);
    // the 50 survivors all work (each asked once, oldest first: opened[250] stays the longest idle)
    for (const c of opened.slice(250)) assertA(t, await c.ask(query('ns1.example.test', 'A')));
    const next = await Client.open(s.port, clients);
    t.not(await opened[250]!.closedWithin(1000), null, 'a new connection at the cap closed the longest-idle one');
    assertA(t, await next.ask(query('ns1.example.test', 'A')));
    t.is(opened.slice(251).filter((c) => !c.isOpen).length, 0);
    t.is(serverConnections(s), 50);
    await answersUdpAndTcp(t, s.port);
    // and the idle timeout still empties the table: 3 s after their last query, every one is closed
    await waitFor(() => serverConnections(s) === 0, 3000 + 750 + 1500, 'the sweeper to close every idle connection');
    await waitFor(() => clients.every((c) => !c.isOpen), 1000, 'the clients to see their connections closed');
  });
});

test.serial(
  'TCP: a client that never reads: the server stops reading its queries, queues at most ~256 KB for it, answers others, closes it',
  async (t) => {
    await tcpAbuse(t, 10_000, '{ tcp_idle: 2s, tcp_connections: 50 }', async (s, clients) => {
      const q = query('huge.big.test', 'TXT', { id: 5 });
      const [one] = await tcpMany(s.port, [q]);
      t.true(one!.length > 55_000, `the answer is ${one!.length} bytes`);
      const base = tcpAnswered(s);
      const hog = await Client.open(s.port, clients);
      hog.sock.pause(); // never reads
      // 600,000 queries (20 MB): more than the kernel's socket buffers on both ends can hold
      const N = 600_000;
      const framed = Buffer.concat([u16(q.length), q]);
      const burst = Buffer.alloc(framed.length * N);
      for (let i = 0; i < N; i++) framed.copy(burst, i * framed.length);
      hog.sock.write(burst);
      // the server answers until ~256 KB are queued for the hog, then stops reading: the count settles
      let last = -1;
      let stableSince = Date.now();
      await waitFor(
        () => {
          const now = tcpAnswered(s);
          if (now !== last) {
            last = now;
            stableSince = Date.now();
          }
          return Date.now() - stableSince >= 300;
        },
        1500,
        'the answered count to settle',
        20,
      );
      const answered = tcpAnswered(s) - base;
      const queued = Math.max(0, ...serverSockets(s).map((x) => x.writableLength));
      t.log(
        `answered ${answered} of ${N} queries (${Math.round((answered * one!.length) / 1024)} KB); at most ${Math.round(queued / 1024)} KB queued in the server; ${Math.round(hog.sock.writableLength / 1024 / 1024)} MB still unsent in the client`,
      );
      t.true(answered > 0 && answered < 2000, `${answered} answered: the server stopped reading`);
      t.true(queued <= 256 * 1024 + one!.length + 2, `${queued} bytes queued for the client`);
      t.true(hog.sock.writableLength > 0, 'the client could not send everything: the server is not reading');
      // meanwhile others are served, and the hog gets nothing more
      await answersUdpAndTcp(t, s.port);
      const c = await Client.open(s.port, clients);
      assertA(t, await c.ask(query('ns1.example.test', 'A')));
      c.sock.destroy();
      t.is(tcpAnswered(s) - base, answered + 2, 'only the two normal queries were answered since');
      // no query completes on the hog any more: after tcp_idle (2 s, sweeper every 500 ms) it is closed
      await waitFor(() => serverConnections(s) === 0, 2000 + 500 + 1500, 'the server to close the non-reading connection');
      hog.sock.resume();
      t.not(await hog.closedWithin(3000), null, 'the client sees the close');
    });
  },
);

// ---- probe abuse --------------------------------------------------------------------------------------

/** n-th abusive/normal backend address. */
const host = (n: number) => `127.0.7.${n}`;

/** A raw TCP server whose connections are handed to `onConn`; records opening and closing times and bytes written. */
class Scripted {
  readonly conns: { opened: number; closed: number | null; bytesOut: number; socket: net.Socket }[] = [];
  port = 0;
  private readonly server: net.Server;

  private constructor(
    readonly host: string,
    onConn: (s: net.Socket, write: (b: Buffer | string) => boolean) => void,
  ) {
    this.server = net.createServer((s) => {
      const c = { opened: Date.now(), closed: null as number | null, bytesOut: 0, socket: s };
      this.conns.push(c);
      s.on('error', () => undefined);
      s.once('close', () => {
        c.closed = Date.now();
      });
      s.resume();
      onConn(s, (b) => {
        if (s.destroyed || !s.writable) return false;
        c.bytesOut += Buffer.byteLength(b);
        return s.write(b);
      });
    });
  }

  static async start(h: string, onConn: (s: net.Socket, write: (b: Buffer | string) => boolean) => void, port = 0): Promise<Scripted> {
    const b = new Scripted(h, onConn);
    await new Promise<void>((resolve, reject) => {
      b.server.once('error', reject);
      b.server.listen({ host: h, port, exclusive: true }, () => resolve());
    });
    b.port = (b.server.address() as net.AddressInfo).port;
    return b;
  }

  /** Once the request has arrived, `chunk` every `everyMs` (respecting backpressure) until the client goes. */
  static afterRequest(h: string, head: string, chunk: Buffer | string, everyMs: number, port = 0): Promise<Scripted> {
    return Scripted.start(
      h,
      (s, write) => {
        s.once('data', () => {
          write(head);
          const tick = () => {
            if (s.destroyed || !s.writable) return;
            if (write(chunk)) setTimeout(tick, everyMs);
            else s.once('drain', () => setTimeout(tick, everyMs));
          };
          tick();
        });
      },
      port,
    );
  }

  /** From the accept on, one byte of `bytes` (then of `filler`) every `everyMs`: a TLS server that never finishes its hello. */
  static drip(h: string, bytes: number[], everyMs: number, port = 0): Promise<Scripted> {
    return Scripted.start(
      h,
      (s, write) => {
        let i = 0;
        const timer = setInterval(() => {
          if (!write(Buffer.from([bytes[i++] ?? 0x41]))) clearInterval(timer);
        }, everyMs);
        s.once('close', () => clearInterval(timer));
        write(Buffer.from([bytes[i++] ?? 0x41]));
      },
      port,
    );
  }

  close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// A TLS record header announcing a 16 KB handshake record (TLS 1.2): the client waits for all of it.
const TLS_RECORD_HEAD = [0x16, 0x03, 0x03, 0x40, 0x00];
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';
const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';

/** Runs a probe and measures it; `slack` is what the event loop's measured lateness allows beyond a timer. */
async function timedProbe(address: string, over: Parameters<typeof checkSpec>[0]) {
  const late = new Lateness();
  const started = Date.now();
  const r = await probe({ address, check: checkSpec(over) });
  const ms = Date.now() - started;
  return { r: { ok: r.ok, reason: r.reason, kind: r.kind }, ms, slack: 30 + 2 * late.ms };
}

test.serial('probe: a redirect loop (301/302/307/308 to itself) is not followed: one request, the status decides', async (t) => {
  const done = bound(t, 3000);
  const silent = await Scripted.start(host(2), () => undefined); // where the last redirect points: must never be reached
  const b = await HttpBackend.start(host(1), {
    handler: (req, res) => {
      const code = Number(/^\/(\d+)/.exec(req.url ?? '')?.[1] ?? 301);
      res.writeHead(code, { location: req.url === '/away' ? `http://${silent.host}:${silent.port}/` : req.url });
      res.end();
    },
  });
  t.teardown(() => Promise.all([b.close(), silent.close()]));
  for (const code of [301, 302, 307, 308]) {
    const before = b.requests.length;
    const { r, ms, slack } = await timedProbe(b.host, { port: b.port, path: `/${code}`, timeoutMs: 1000 });
    t.deepEqual(r, { ok: false, reason: `HTTP ${code}`, kind: 'status' });
    t.is(b.requests.length - before, 1, 'exactly one request: the redirect was not followed');
    t.true(ms <= 1000 + slack, `${ms} ms`);
    // a check that expects the redirect is up on it
    const ok = await timedProbe(b.host, { port: b.port, path: `/${code}`, expect: [code], timeoutMs: 1000 });
    t.deepEqual(ok.r, { ok: true, reason: `HTTP ${code}`, kind: 'success' });
  }
  const away = await timedProbe(b.host, { port: b.port, path: '/away', timeoutMs: 1000 });
  t.deepEqual(away.r, { ok: false, reason: 'HTTP 301', kind: 'status' });
  await sleep(100);
  t.is(silent.conns.length, 0, 'the redirect target was never contacted');
  done();
});

test.serial(
  'probe: slow TLS handshakes (silent server, a byte every 200 ms) end at the timeout, connection closed; others unaffected',
  async (t) => {
    const done = bound(t, 4000);
    const TO = 700;
    const silent = await Scripted.start(host(3), () => undefined);
    const drip = await Scripted.drip(host(4), TLS_RECORD_HEAD, 200);
    const dripNoise = await Scripted.drip(host(5), [], 200); // 'A' bytes: not even a record header within the timeout
    const good = await HttpBackend.start(host(6), { tls: true });
    t.teardown(() => Promise.all([silent.close(), drip.close(), dripNoise.close(), good.close()]));
    const slow = [silent, drip, dripNoise];
    const [normal, ...results] = await Promise.all([
      timedProbe(good.host, { type: 'https', port: good.port, insecure: true, timeoutMs: TO }),
      ...slow.map((b) => timedProbe(b.host, { type: 'https', port: b.port, insecure: true, timeoutMs: TO })),
    ]);
    t.deepEqual(normal!.r, { ok: true, reason: 'HTTP 200', kind: 'success' });
    t.true(normal!.ms < TO, `the normal https probe took ${normal!.ms} ms meanwhile`);
    for (const [i, { r, ms, slack }] of results.entries()) {
      t.deepEqual(r, { ok: false, reason: `timeout after ${TO}ms`, kind: 'timeout' }, slow[i]!.host);
      t.true(ms >= TO - 5 && ms <= TO + slack, `${slow[i]!.host}: ${ms} ms (slack ${slack})`);
    }
    for (const b of slow) {
      await waitFor(() => b.conns.length === 1 && b.conns[0]!.closed !== null, 2000, `${b.host}: the prober to close its connection`);
      const c = b.conns[0]!;
      t.true(c.closed! - c.opened <= TO + 100, `${b.host}: the connection lived ${c.closed! - c.opened} ms`);
    }
    t.true(drip.conns[0]!.bytesOut <= 5, `the dripping server got ${drip.conns[0]!.bytesOut} bytes out`);
    done();
  },
);

test.serial(
  `probe: 1xx informational responses without end are cut off after ${MAX_INFORMATIONAL}; a slow trickle of them ends at the timeout`,
  async (t) => {
    const done = bound(t, 4000);
    // 64 informational responses per write, a write every millisecond (and one that floods as fast as it can)
    const burst = (CONTINUE + EARLY_HINTS).repeat(32);
    const paced = await Scripted.afterRequest(host(7), '', burst, 1);
    const flood = await Scripted.afterRequest(host(8), '', burst, 0);
    const trickle = await Scripted.afterRequest(host(9), '', 'HTTP/1.1 102 Processing\r\n\r\n', 100);
    const good = await HttpBackend.start(host(10));
    t.teardown(() => Promise.all([paced.close(), flood.close(), trickle.close(), good.close()]));
    const TO = 2000;
    const [normal, a, b, c] = await Promise.all([
      timedProbe(good.host, { port: good.port, timeoutMs: TO }),
      timedProbe(paced.host, { port: paced.port, timeoutMs: TO }),
      timedProbe(flood.host, { port: flood.port, timeoutMs: TO }),
      timedProbe(trickle.host, { port: trickle.port, timeoutMs: 700 }),
    ]);
    t.deepEqual(normal!.r, { ok: true, reason: 'HTTP 200', kind: 'success' });
    const cut = { ok: false, reason: `more than ${MAX_INFORMATIONAL} informational (1xx) responses`, kind: 'error' };
    t.deepEqual(a!.r, cut);
    t.deepEqual(b!.r, cut);
    t.true(a!.ms < 500 && b!.ms < 500, `cut off after ${a!.ms} / ${b!.ms} ms, long before the ${TO} ms timeout`);
    // a few every 100 ms stay under the limit: the timeout ends it
    t.deepEqual(c!.r, { ok: false, reason: 'timeout after 700ms', kind: 'timeout' });
    t.true(c!.ms <= 700 + c!.slack, `${c!.ms} ms`);
    await waitFor(
      () => [paced, flood, trickle].every((x) => x.conns.length === 1 && x.conns[0]!.closed !== null),
      2000,
      'the connections to close',
    );
    // the read stayed small: the paced server wrote a few bursts (4 KB each), not 2 s worth (~8 MB)
    t.true(paced.conns[0]!.bytesOut <= 16 * burst.length, `the paced server wrote ${paced.conns[0]!.bytesOut} bytes`);
    t.log(`bytes written before the close: paced ${paced.conns[0]!.bytesOut}, flood ${flood.conns[0]!.bytesOut}`);
    done();
  },
);

test.serial('probe: endless chunked bodies with a body check stop at MAX_BODY; an endless chunk extension is a parse error', async (t) => {
  const done = bound(t, 4000);
  const TO = 3000;
  const big = await Scripted.afterRequest(host(11), CHUNKED_HEAD, `4000\r\n${'x'.repeat(0x4000)}\r\n`, 1);
  const tiny = await Scripted.afterRequest(host(12), CHUNKED_HEAD, '1\r\nx\r\n'.repeat(4096), 1); // 4096 one-byte chunks per write
  const ext = await Scripted.afterRequest(host(13), `${CHUNKED_HEAD}1;`, 'a'.repeat(4096), 1); // a chunk extension without end
  const good = await HttpBackend.start(host(14));
  t.teardown(() => Promise.all([big.close(), tiny.close(), ext.close(), good.close()]));
  const [normal, rBig, rTiny, rExt, rNoBody] = await Promise.all([
    timedProbe(good.host, { port: good.port, body: 'ok', timeoutMs: TO }),
    timedProbe(big.host, { port: big.port, body: 'needle', timeoutMs: TO }),
    timedProbe(tiny.host, { port: tiny.port, body: 'needle', timeoutMs: TO }),
    timedProbe(ext.host, { port: ext.port, body: 'needle', timeoutMs: TO }),
    timedProbe(big.host, { port: big.port, timeoutMs: TO }), // no body check: the status is enough
  ]);
  t.deepEqual(normal!.r, { ok: true, reason: 'HTTP 200, body contains "ok"', kind: 'success' });
  const limit = { ok: false, reason: `body did not contain "needle" in the first ${MAX_BODY / 1024} KB`, kind: 'body' };
  t.deepEqual(rBig!.r, limit);
  t.deepEqual(rTiny!.r, limit);
  t.deepEqual(rExt!.r, { ok: false, reason: 'Parse Error: Chunk extensions overflow', kind: 'error' });
  t.deepEqual(rNoBody!.r, { ok: true, reason: 'HTTP 200', kind: 'success' });
  // the reasons above say what ended each probe (the body limit, a parse error, the status), never the timer;
  // and each ended before its timeout could fire (a fixed 1 s bound was a guess that CPU starvation broke)
  for (const x of [rBig!, rTiny!, rExt!, rNoBody!]) t.true(x.ms < TO, `${x.ms} ms: ended by the read limit, not the ${TO} ms timeout`);
  await waitFor(() => [big, tiny, ext].every((x) => x.conns.every((c) => c.closed !== null)), 2000, 'the connections to close');
  // bytes the paced servers got out: the body limit plus what the socket buffers took meanwhile, not 3 s worth
  const out = (b: Scripted) => Math.max(...b.conns.map((c) => c.bytesOut));
  t.true(out(big) <= MAX_BODY + 16 * 0x4008, `big chunks: ${out(big)} bytes`);
  t.true(out(tiny) <= 6 * MAX_BODY + 16 * 6 * 4096, `one-byte chunks: ${out(tiny)} bytes`);
  t.true(out(ext) <= 64 * 1024, `chunk extension: ${out(ext)} bytes`);
  t.log(`bytes written: big ${out(big)}, tiny ${out(tiny)}, extension ${out(ext)}`);
  done();
});

test.serial(
  'prober in a running server: abusive backends go down with their reasons, the healthy region answers, DNS never stops',
  async (t) => {
    const done = bound(t, 15_000);
    const IV = 300;
    const TO = 500;
    // each pool: the abusive backend in us-east (written first: what a client of unknown location gets), a good one on
    // the same port in eu-west
    const redirect = await HttpBackend.start(host(21), {
      handler: (req, res) => {
        res.writeHead(301, { location: req.url });
        res.end();
      },
    });
    const tlsSilent = await Scripted.start(host(22), () => undefined);
    const tlsDrip = await Scripted.drip(host(23), TLS_RECORD_HEAD, 200);
    const info = await Scripted.afterRequest(host(24), '', (CONTINUE + EARLY_HINTS).repeat(32), 1);
    const chunked = await Scripted.afterRequest(host(25), CHUNKED_HEAD, `4000\r\n${'x'.repeat(0x4000)}\r\n`, 1);
    const goods = await Promise.all([
      HttpBackend.start(host(31), { port: redirect.port }),
      HttpBackend.start(host(32), { port: tlsSilent.port, tls: true }),
      HttpBackend.start(host(33), { port: tlsDrip.port, tls: true }),
      HttpBackend.start(host(34), { port: info.port }),
      HttpBackend.start(host(35), { port: chunked.port }),
    ]);
    t.teardown(() =>
      Promise.all([redirect.close(), tlsSilent.close(), tlsDrip.close(), info.close(), chunked.close(), ...goods.map((g) => g.close())]),
    );
    const timing = `interval: ${IV}ms, timeout: ${TO}ms, rise: 2, fall: 2`;
    const pools = [
      {
        name: 'redirect',
        bad: redirect.host,
        good: goods[0]!,
        check: `{ type: http, port: ${redirect.port}, path: /, ${timing} }`,
        reason: 'HTTP 301',
      },
      {
        name: 'tls-silent',
        bad: tlsSilent.host,
        good: goods[1]!,
        check: `{ type: https, port: ${tlsSilent.port}, insecure: true, ${timing} }`,
        reason: `timeout after ${TO}ms`,
      },
      {
        name: 'tls-drip',
        bad: tlsDrip.host,
        good: goods[2]!,
        check: `{ type: https, port: ${tlsDrip.port}, insecure: true, ${timing} }`,
        reason: `timeout after ${TO}ms`,
      },
      {
        name: 'info',
        bad: info.host,
        good: goods[3]!,
        check: `{ type: http, port: ${info.port}, ${timing} }`,
        reason: `more than ${MAX_INFORMATIONAL} informational (1xx) responses`,
      },
      {
        name: 'chunked',
        bad: chunked.host,
        good: goods[4]!,
        check: `{ type: http, port: ${chunked.port}, body: ok, ${timing} }`,
        reason: `body did not contain "ok" in the first ${MAX_BODY / 1024} KB`,
      },
    ];
    const zone = `
origin: probe.test
ttl: 300
soa: { ns: ns1.example.test., email: hostmaster@probe.test }
records:
  "@": { NS: [ns1.example.test.] }
${pools.map((p) => `  ${p.name}: { pool: { ttl: 5, check: ${p.check}, regions: { us-east: [${p.bad}], eu-west: [${p.good.host}] } } }`).join('\n')}
`;
    const s = await startServer({ ...ZONES, 'probe.test.yaml': zone });
    // DNS all along: a query every 20 ms over UDP, every one answered
    let stop = false;
    let asked = 0;
    let unanswered = 0;
    const pinger = (async () => {
      while (!stop) {
        asked++;
        const raw = await udpRaw(s.port, query('ns1.example.test', 'A'), 1000);
        if (!raw) unanswered++;
        await sleep(20);
      }
    })();
    try {
      const answer = async (name: string, via: 'udp' | 'tcp') => {
        const msg = query(`${name}.probe.test`, 'A');
        const r = via === 'udp' ? await udp(s.port, msg) : decode((await tcpMany(s.port, [msg]))[0]!);
        t.is(r.msg.rcode, 'NOERROR');
        return r.msg.answers.map((a) => a.data as string);
      };
      // at first (initial: up) the written order answers: the abusive us-east targets
      for (const p of pools) t.deepEqual(await answer(p.name, 'udp'), [p.bad], p.name);
      // every abusive target goes down (fall 2) with its reason
      const downBy = 2 * IV * 1.1 + TO + 2 * IV + 1000;
      await waitFor(
        () => pools.every((p) => stateChanges(s.logs).some((l) => l.target === p.bad && l.to === 'down')),
        downBy,
        'every abusive target to go down',
      );
      for (const p of pools) {
        const lines = stateChanges(s.logs).filter((l) => l.target === p.bad);
        t.deepEqual(
          lines.map((l) => [l.from, l.to, l.reason]),
          [['up', 'down', p.reason]],
          p.name,
        );
        t.is(lines[0]!.msg, `target ${p.bad} up → down: ${p.reason}`);
      }
      // the good targets never changed, and the pools now answer from them, over UDP and TCP
      t.deepEqual(
        stateChanges(s.logs).filter((l) => pools.some((p) => p.good.host === l.target)),
        [],
      );
      for (const p of pools) {
        t.deepEqual(await answer(p.name, 'udp'), [p.good.host], p.name);
        t.deepEqual(await answer(p.name, 'tcp'), [p.good.host], p.name);
        t.true(p.good.requests.length >= 2, `${p.name}: the good backend was probed ${p.good.requests.length} times`);
      }
      // the abusive backends saw their connections closed: none lives past the check's timeout
      const late = new Lateness();
      await sleep(TO + 200);
      for (const b of [tlsSilent, tlsDrip, info, chunked]) {
        t.true(b.conns.length >= 2);
        for (const c of b.conns.filter((x) => x.opened < Date.now() - TO - 200)) {
          t.not(c.closed, null, `${b.host}: a probe connection left open`);
          t.true(
            c.closed! - c.opened <= TO + 200 + late.ms,
            `${b.host}: a probe connection lived ${c.closed! - c.opened} ms (lateness ${late.ms} ms)`,
          );
        }
      }
      stop = true;
      await pinger;
      t.true(asked >= 20, `${asked} UDP queries while probing`);
      t.is(unanswered, 0, `${unanswered} of ${asked} UDP queries unanswered`);
      await answersUdpAndTcp(t, s.port);
    } finally {
      stop = true;
      await pinger;
      await s.stop();
    }
    done();
  },
);

// ---- spoofed sources ----------------------------------------------------------------------------------

test.serial(
  'UDP: a datagram from source port 0 (spoofed: nothing can be sent there) is dropped, not answered with a throw that ends the process',
  async (t) => {
    const s = await startServer(ZONES);
    try {
      const sockets = (s.server as unknown as { udp: { socket: import('node:dgram').Socket | null }[] }).udp.map((u) => u.socket!);
      t.true(sockets.length > 0);
      // what the kernel hands over for a raw packet with source port 0 (sending one needs a raw socket)
      for (const sock of sockets) {
        t.notThrows(() => sock.emit('message', query('ns1.example.test', 'A'), { address: '127.0.0.1', family: 'IPv4', port: 0, size: 0 }));
      }
      await answersUdpAndTcp(t, s.port);
      noErrorLogs(t, s);
    } finally {
      await s.stop();
    }
  },
);
