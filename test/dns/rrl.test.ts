// Response rate limiting (docs/dns-behaviour.md#response-rate-limiting): a flood of identical queries from one
// /24 is cut to the budget with every `slip`-th answer truncated; another /24 at the same time is untouched;
// 100,000 random spoofed sources keep the table within its fixed size.
//
// The model (src/dns/rrl.ts, as in BIND): each key — (client /24 or /56, qname or the zone for NXDOMAIN and
// errors, qtype, response kind) — holds a balance of at most `responses_per_second` (R) tokens, refilled at R
// per second. A response costs one token; with less than one token left the response is limited, and a
// limited response costs a token too (debt), down to a floor of −R × window. So a flood faster than R gets
// its initial budget (a new key starts with a full second: R responses) plus what refilled while that budget
// was being spent, and then nothing in full until it stops: it must stay quiet (or under the rate) for up to
// `window` seconds. Of the limited responses, every `slip`-th goes out truncated (TC=1) and the rest are
// dropped; slip 0 drops all, slip 1 truncates all. TCP and `exempt` networks are never limited.
//
// End-to-end parts run the real server on loopback; the client sockets bind to 127.0.0.1, 127.0.0.2 (same /24)
// and 127.0.1.1, 127.0.2.1 (other /24s): Linux routes all of 127/8 to `lo`. The server runs in this process,
// so floods are sent in bursts that yield to the event loop in between (no kernel drops: every silence is the
// server's own decision), and each client socket ends with a sentinel query of a fresh key: the server reads
// one socket's datagrams in order, so the sentinel's reply means every earlier one was decided.
// The unit parts drive ResponseRateLimiter with an injected clock.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import packet from 'dns-packet';
import type { RrlConfig } from '../../src/config/server-config.js';
import { ResponseRateLimiter, RRL_KIND, type RrlAction } from '../../src/dns/rrl.js';
import { ipToBytes } from '../../src/net/address.js';
import { type Cidr, parseCidr } from '../../src/net/cidr.js';
import type { Server } from '../../src/server.js';
import { BASE_CONFIG, decode, query, ROOT, startServer, type TestServer, tcpMany } from '../helpers/server.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers: traffic from several loopback sources, metrics

interface Sent {
  from: string;
  msg: Buffer;
}

interface Outcome {
  /** Reply per planned message (same index), or null: silence (dropped). */
  replies: (Buffer | null)[];
  /** Seconds from the first send to the last sentinel reply: the span over which the server decided. */
  elapsed: number;
}

function openSocket(address: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      s.off('error', reject);
      s.setRecvBufferSize(4 * 1024 * 1024);
      resolve(s);
    });
  });
}

const BURST = 16;
let sentinelSeq = 0;

/**
 * Sends `plan` in order, as fast as the (in-process) server reads: bursts of BURST datagrams, yielding to the
 * event loop between bursts. IDs are rewritten to the plan index (the RRL key ignores the ID). Each source
 * then sends one sentinel (a name under the `*.static` wildcard, keyed as the wildcard, which no flood here
 * asks for: a key with budget to spare) and the run ends when every sentinel is answered.
 */
async function traffic(port: number, plan: Sent[]): Promise<Outcome> {
  if (plan.length > 60_000) throw new Error('plan too long for 16-bit IDs');
  const sockets = new Map<string, dgram.Socket>();
  for (const p of plan) if (!sockets.has(p.from)) sockets.set(p.from, await openSocket(p.from));
  const replies: (Buffer | null)[] = plan.map(() => null);
  const sentinelIds = new Map<string, number>();
  let waiting = sockets.size;
  let finished!: () => void;
  const done = new Promise<void>((r) => {
    finished = r;
  });
  for (const [from, s] of sockets) {
    s.on('message', (m: Buffer) => {
      const id = m.readUInt16BE(0);
      if (id === sentinelIds.get(from)) {
        if (--waiting === 0) finished();
        return;
      }
      if (plan[id]?.from !== from) throw new Error(`reply to ${from} with unexpected id ${id}`);
      if (replies[id]) throw new Error(`two replies to query ${id}`);
      replies[id] = m;
    });
  }
  const timer = setTimeout(() => finished(), 20_000);
  const started = performance.now();
  for (let i = 0; i < plan.length; i++) {
    const m = Buffer.from(plan[i]!.msg);
    m.writeUInt16BE(i, 0);
    sockets.get(plan[i]!.from)!.send(m, port, '127.0.0.1');
    if (i % BURST === BURST - 1) await new Promise((r) => setImmediate(r));
  }
  let sid = 60_000;
  for (const [from, s] of sockets) {
    sentinelIds.set(from, sid);
    s.send(query(`sentinel-${sentinelSeq++}.static.example.test`, 'A', { id: sid++ }), port, '127.0.0.1');
  }
  await done;
  const elapsed = (performance.now() - started) / 1000;
  clearTimeout(timer);
  if (waiting > 0) throw new Error(`${waiting} sentinel(s) never answered`);
  for (const s of sockets.values()) s.close();
  return { replies, elapsed };
}

type Kind = 'full' | 'tc' | 'silence';

function kindOf(r: Buffer | null): Kind {
  if (!r) return 'silence';
  return (r[2]! & 0x02) !== 0 ? 'tc' : 'full';
}

function tally(replies: (Buffer | null)[]): Record<Kind, number> {
  const c = { full: 0, tc: 0, silence: 0 };
  for (const r of replies) c[kindOf(r)]++;
  return c;
}

async function rrlCounts(server: Server): Promise<{ slip: number; drop: number }> {
  const text = await server.metrics.registry.metrics();
  const get = (action: string) => Number(new RegExp(`^steerdns_rrl_total\\{action="${action}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { slip: get('slip'), drop: get('drop') };
}

/** steerdns_queries_total over UDP (all labels summed) and steerdns_responses_truncated_total. */
async function queryCounts(server: Server): Promise<{ udp: number; truncated: number }> {
  const text = await server.metrics.registry.metrics();
  let udp = 0;
  for (const m of text.matchAll(/^steerdns_queries_total\{[^}]*transport="udp"[^}]*\} (\d+)$/gm)) udp += Number(m[1]);
  return { udp, truncated: Number(/^steerdns_responses_truncated_total (\d+)$/m.exec(text)?.[1] ?? 0) };
}

function rrlConfig(rrl: string): string {
  return `${BASE_CONFIG}rrl: ${rrl}\n`;
}

// the repository's sample zone, and a second zone for "NXDOMAIN in another zone is another key"
const OTHER_ZONE = `
origin: other.test
ttl: 300
soa: { ns: ns1.other.test., email: hostmaster@other.test, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.1 }
`;
const ZONES = { 'example.test.yaml': readFileSync(join(ROOT, 'zones', 'example.test.yaml'), 'utf8'), 'other.test.yaml': OTHER_ZONE };

async function withServer(rrl: string, fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startServer(ZONES, rrlConfig(rrl));
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One UDP exchange from `from`; resolves with the reply or null (silence) after `ms`. */
async function ask(port: number, msg: Buffer, from = '127.0.0.1', ms = 500): Promise<Buffer | null> {
  const s = await openSocket(from);
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      s.send(msg, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// End to end, real UDP and TCP

test('flood from one /24 is cut to its budget, every slip-th limited answer truncated, the rest dropped; another /24 untouched; metrics match', async (t) => {
  const R = 20;
  const W = 2;
  const S = 3;
  await withServer(`{ responses_per_second: ${R}, window: ${W}, slip: ${S} }`, async (s) => {
    const N = 3000;
    const q = query('ns1.example.test', 'A');
    const plan: Sent[] = [];
    const flood: number[] = [];
    const sameNet: number[] = [];
    const otherNet: number[] = [];
    for (let i = 0; i < N; i++) {
      flood.push(plan.push({ from: '127.0.0.1', msg: q }) - 1);
      // the same /24 from another address, once the budget is surely spent: it shares the key
      if (i >= N / 2 && i % 49 === 0) sameNet.push(plan.push({ from: '127.0.0.2', msg: q }) - 1);
      // another /24 at the same time, the same question, its whole budget (R answers): untouched
      if (i % Math.floor(N / R) === 7) otherNet.push(plan.push({ from: '127.0.1.1', msg: q }) - 1);
    }
    t.is(otherNet.length, R);
    const { replies, elapsed } = await traffic(s.port, plan);
    const of = (idx: number[]) => tally(idx.map((i) => replies[i]!));
    const main = of(flood);
    const same = of(sameNet);
    const other = of(otherNet);
    t.log(
      `R=${R} window=${W} slip=${S}: ${N} queries from 127.0.0.1 in ${elapsed.toFixed(3)} s (${Math.round(N / elapsed)}/s):`,
      JSON.stringify(main),
      '127.0.0.2:',
      JSON.stringify(same),
      '127.0.1.1:',
      JSON.stringify(other),
    );

    // the initial budget: the first R queries of the key are answered in full
    for (let i = 0; i < R; i++) t.is(kindOf(replies[flood[i]!]!), 'full', `flood query ${i}`);
    // no more in full than the initial budget plus what refills over the whole run (R per second), +1 for
    // the fraction of a token; and the flood ran far faster than R, so the key is in debt after its budget
    t.true(N / elapsed > 10 * R, `the flood must outpace the rate: ${N / elapsed}/s`);
    const fullAll = main.full + same.full;
    t.true(
      fullAll >= R && fullAll <= R + Math.ceil(R * elapsed) + 1,
      `answered in full: ${fullAll}, budget ${R} + ${R} × ${elapsed.toFixed(3)} s`,
    );
    // the other address of the same /24 shares the key (in debt by then): never answered in full
    t.is(same.full, 0);
    // every slip-th limited response of the key is truncated (TC=1), the others dropped
    const limited = main.tc + main.silence + same.tc + same.silence;
    t.is(limited, N + sameNet.length - fullAll);
    t.is(main.tc + same.tc, Math.floor(limited / S));
    t.is(main.silence + same.silence, limited - Math.floor(limited / S));
    // the exact pattern, in arrival order (one socket, before 127.0.0.2 joins: in order): the S-th, 2S-th, ...
    // limited response of the key is TC, the others silent
    const pattern = flood
      .slice(0, N / 2)
      .map((i) => kindOf(replies[i]!))
      .filter((k) => k !== 'full');
    t.deepEqual(
      pattern,
      pattern.map((_, k) => ((k + 1) % S === 0 ? 'tc' : 'silence')),
    );
    // another /24 at the same time: all R answered in full
    t.deepEqual(other, { full: R, tc: 0, silence: 0 });
    // the metrics count exactly what the clients saw
    t.deepEqual(await rrlCounts(s.server), { slip: main.tc + same.tc, drop: main.silence + same.silence });
    // every full answer is the real answer
    const full = decode(replies[flood[0]!]!).msg;
    t.is(full.rcode, 'NOERROR');
    t.deepEqual(
      full.answers.map((a) => a.data),
      ['192.0.2.53'],
    );
  });
});

test('TCP is never limited: the same flood over TCP is answered in full while UDP from that /24 stays limited', async (t) => {
  await withServer('{ responses_per_second: 10, window: 2, slip: 2 }', async (s) => {
    const q = query('mail.example.test', 'A');
    // spend the UDP budget and go into debt
    const udpFlood = await traffic(
      s.port,
      Array.from({ length: 400 }, () => ({ from: '127.0.0.1', msg: q })),
    );
    t.true(tally(udpFlood.replies).full <= 10 + Math.ceil(10 * udpFlood.elapsed) + 1);
    const before = await rrlCounts(s.server);
    // 2000 identical queries pipelined on TCP from the same address: every one answered in full
    const msgs = Array.from({ length: 2000 }, (_, i) => {
      const m = Buffer.from(q);
      m.writeUInt16BE(i, 0);
      return m;
    });
    const replies = await tcpMany(s.port, msgs, '127.0.0.1', 20_000);
    t.is(replies.length, 2000);
    for (const [i, r] of replies.entries()) {
      const { msg } = decode(r);
      if (msg.id !== i || msg.flag_tc || msg.rcode !== 'NOERROR' || msg.answers.length !== 1)
        t.fail(`TCP reply ${i}: ${JSON.stringify(msg)}`);
    }
    // TCP did not touch the counters, and UDP from that /24 is still limited right after
    t.deepEqual(await rrlCounts(s.server), before);
    const again = await traffic(
      s.port,
      Array.from({ length: 20 }, () => ({ from: '127.0.0.1', msg: q })),
    );
    t.is(tally(again.replies).full, 0);
  });
});

test('exempt networks are never limited, while the same flood from another /24 is', async (t) => {
  await withServer('{ responses_per_second: 10, window: 2, slip: 2, exempt: ["127.0.2.0/24"] }', async (s) => {
    const q = query('ns2.example.test', 'A');
    const plan: Sent[] = [];
    for (let i = 0; i < 1500; i++) plan.push({ from: '127.0.2.1', msg: q }, { from: '127.0.0.1', msg: q });
    const { replies, elapsed } = await traffic(s.port, plan);
    const exempt = tally(replies.filter((_, i) => plan[i]!.from === '127.0.2.1'));
    const limited = tally(replies.filter((_, i) => plan[i]!.from === '127.0.0.1'));
    t.deepEqual(exempt, { full: 1500, tc: 0, silence: 0 });
    t.true(limited.full >= 10 && limited.full <= 10 + Math.ceil(10 * elapsed) + 1, JSON.stringify(limited));
    t.deepEqual(await rrlCounts(s.server), { slip: limited.tc, drop: limited.silence });
  });
});

test('NXDOMAIN for random names of one zone count under one key (the zone): a random-subdomain flood is limited', async (t) => {
  const R = 10;
  await withServer(`{ responses_per_second: ${R}, window: 2, slip: 2 }`, async (s) => {
    const plan: Sent[] = [];
    const rnd = () => Math.random().toString(36).slice(2, 10);
    for (let i = 0; i < 1000; i++) plan.push({ from: '127.0.0.1', msg: query(`r${i}-${rnd()}.example.test`, 'A') });
    // meanwhile: NXDOMAIN in another zone is another key; NOERROR answers for many names are keyed per name
    for (let i = 0; i < R; i++) plan.push({ from: '127.0.0.1', msg: query(`r${i}-${rnd()}.other.test`, 'A') });
    const names = ['ns1', 'ns2', 'mail', 'sip1', 'sip2', 'host1', 'static', 'ns.sub'];
    for (let i = 0; i < names.length * (R - 1); i++)
      plan.push({ from: '127.0.0.1', msg: query(`${names[i % names.length]}.example.test`, 'A') });
    const { replies, elapsed } = await traffic(s.port, plan);
    const nx = tally(replies.slice(0, 1000));
    t.true(nx.full >= R && nx.full <= R + Math.ceil(R * elapsed) + 1, `random names answered in full: ${nx.full}`);
    for (const r of replies.slice(0, R)) t.is(decode(r!).msg.rcode, 'NXDOMAIN');
    t.is(nx.tc, Math.floor((1000 - nx.full) / 2));
    const otherZone = tally(replies.slice(1000, 1000 + R));
    t.deepEqual(otherZone, { full: R, tc: 0, silence: 0 });
    const many = replies.slice(1000 + R);
    t.deepEqual(
      tally(many),
      { full: many.length, tc: 0, silence: 0 },
      'a resolver asking many names under the rate each is never throttled',
    );
    // the slipped NXDOMAIN keeps its rcode
    const slipped = replies.slice(0, 1000).find((r) => kindOf(r) === 'tc')!;
    t.is(decode(slipped).msg.rcode, 'NXDOMAIN');
  });
});

/** `msg` (a query without EDNS) asking for `qtype` instead. */
function withQtype(msg: Buffer, qtype: number): Buffer {
  const m = Buffer.from(msg);
  m.writeUInt16BE(qtype, m.length - 4);
  return m;
}

test('no fresh budget from rotating the qtype, random names under a wildcard or a delegation, or random names outside every zone: each flood is one key', async (t) => {
  const R = 10;
  const rnd = () => Math.random().toString(36).slice(2, 10);
  const floods: { what: string; msg: (i: number) => Buffer; rcode: string; check?: (r: ReturnType<typeof decode>) => void }[] = [
    {
      what: 'NXDOMAIN, random names and qtypes',
      msg: (i) => withQtype(query(`x${i}-${rnd()}.example.test`, 'A'), 1000 + i),
      rcode: 'NXDOMAIN',
    },
    { what: 'NODATA at one name, qtype rotating', msg: (i) => withQtype(query('mail.example.test', 'A'), 1000 + i), rcode: 'NOERROR' },
    { what: 'answers under a wildcard, random names', msg: (i) => query(`w${i}-${rnd()}.static.example.test`, 'TXT'), rcode: 'NOERROR' },
    { what: 'NODATA under a wildcard, random names', msg: (i) => query(`m${i}-${rnd()}.static.example.test`, 'MX'), rcode: 'NOERROR' },
    {
      what: 'referrals, random names below the cut',
      msg: (i) => query(`r${i}-${rnd()}.sub.example.test`, 'A'),
      rcode: 'NOERROR',
      check: (r) =>
        t.true(
          r.msg.authorities.some((a) => a.type === 'NS' && a.name === 'sub.example.test'),
          'a referral',
        ),
    },
    {
      what: 'REFUSED, random names outside every zone and qtypes',
      msg: (i) => withQtype(query(`o${i}-${rnd()}.elsewhere.invalid`, 'A'), 1000 + i),
      rcode: 'REFUSED',
    },
  ];
  for (const f of floods) {
    await withServer(`{ responses_per_second: ${R}, window: 2, slip: 2 }`, async (s) => {
      const plan: Sent[] = Array.from({ length: 600 }, (_, i) => ({ from: '127.0.0.1', msg: f.msg(i) }));
      const { replies, elapsed } = await traffic(s.port, plan);
      const c = tally(replies);
      t.true(c.full >= R && c.full <= R + Math.ceil(R * elapsed) + 1, `${f.what}: ${c.full} answered in full in ${elapsed.toFixed(2)} s`);
      t.is(c.tc, Math.floor((600 - c.full) / 2), `${f.what}: every other limited response truncated`);
      for (const r of replies.filter((x) => kindOf(x) === 'full').slice(0, 3)) {
        const d = decode(r!);
        t.is(d.msg.rcode, f.rcode, f.what);
        f.check?.(d);
      }
    });
  }
});

test('a reload with the same rrl settings keeps the table: a flood stays limited across SIGHUP', async (t) => {
  const R = 10;
  await withServer(`{ responses_per_second: ${R}, window: 5, slip: 0 }`, async (s) => {
    const q = query('static.example.test', 'A');
    const first = tally(
      (
        await traffic(
          s.port,
          Array.from({ length: 300 }, () => ({ from: '127.0.0.1', msg: q })),
        )
      ).replies,
    );
    t.true(first.full <= R + 5, JSON.stringify(first));
    await s.server.reload();
    // in debt for `window` seconds: the next burst right after the reload is still limited
    const after = tally(
      (
        await traffic(
          s.port,
          Array.from({ length: 50 }, () => ({ from: '127.0.0.1', msg: q })),
        )
      ).replies,
    );
    t.true(after.full <= 5, `after the reload: ${JSON.stringify(after)}`);
  });
});

test('slip 0 drops every limited response; slip 1 truncates every one', async (t) => {
  for (const slip of [0, 1]) {
    await withServer(`{ responses_per_second: 5, window: 1, slip: ${slip} }`, async (s) => {
      const q = query('static.example.test', 'A');
      const before = await queryCounts(s.server);
      t.deepEqual(await rrlCounts(s.server), { slip: 0, drop: 0 }, 'both series exist from the start');
      const { replies } = await traffic(
        s.port,
        Array.from({ length: 500 }, () => ({ from: '127.0.0.1', msg: q })),
      );
      const c = tally(replies);
      const limited = 500 - c.full;
      t.true(c.full >= 5 && limited > 400, JSON.stringify(c));
      if (slip === 0) t.deepEqual(c, { full: c.full, tc: 0, silence: limited });
      else t.deepEqual(c, { full: c.full, tc: limited, silence: 0 });
      t.deepEqual(await rrlCounts(s.server), slip === 0 ? { slip: 0, drop: limited } : { slip: limited, drop: 0 });
      // every query is counted, limited ones too (+1: the sentinel), and the slipped ones as truncated
      const after = await queryCounts(s.server);
      t.deepEqual({ udp: after.udp - before.udp, truncated: after.truncated - before.truncated }, { udp: 501, truncated: c.tc });
    });
  }
});

test('a slip response is header + question (+ OPT when the query had EDNS) with TC=1, and decodes with dns-packet', async (t) => {
  await withServer('{ responses_per_second: 1, window: 1, slip: 1 }', async (s) => {
    const ecs = Buffer.from([0, 1, 24, 0, 198, 51, 100]);
    const cases: [string, Buffer, number][] = [
      // [what, query, size of the OPT the slip must carry]
      ['plain', query('App.Example.Test', 'A'), 0],
      ['EDNS', query('App.Example.Test', 'AAAA', { edns: true, payload: 4096 }), 11],
      ['EDNS + ECS', query('App.Example.Test', 'MX', { edns: true, options: [{ code: 8, data: ecs }] }), 11 + 4 + ecs.length],
      ['NXDOMAIN', query('nowhere.example.test', 'TXT', { edns: true }), 11],
    ];
    for (const [what, q, optLen] of cases) {
      const { replies } = await traffic(
        s.port,
        Array.from({ length: 3 }, () => ({ from: '127.0.0.1', msg: q })),
      );
      t.deepEqual(replies.map(kindOf), ['full', 'tc', 'tc'], what);
      const questionEnd = q.length - (optLen ? 11 + (what === 'EDNS + ECS' ? 4 + ecs.length : 0) : 0);
      for (const [i, raw] of replies.slice(1).entries()) {
        const id = i + 1;
        const { msg } = decode(raw!);
        t.is(raw!.length, questionEnd + optLen, `${what}: header + question${optLen ? ' + OPT' : ''}`);
        t.true(raw!.subarray(12, questionEnd).equals(q.subarray(12, questionEnd)), `${what}: question echoed as asked`);
        t.is(msg.id, id);
        t.is(msg.type, 'response');
        t.true(msg.flag_tc);
        t.false(msg.flag_aa);
        t.is(msg.rcode, what === 'NXDOMAIN' ? 'NXDOMAIN' : 'NOERROR');
        t.deepEqual(msg.questions, [packet.decode(q).questions![0]]);
        t.deepEqual([msg.answers.length, msg.authorities.length], [0, 0]);
        t.deepEqual(
          msg.additionals.map((a) => a.type),
          optLen ? ['OPT'] : [],
          what,
        );
        if (what === 'EDNS + ECS') t.is(msg.additionals[0]!.options![0]!.sourcePrefixLength, 24);
      }
    }
  });
});

test('a flood that stops is answered again within `window` seconds (real clock)', async (t) => {
  const W = 1;
  await withServer(`{ responses_per_second: 20, window: ${W}, slip: 2 }`, async (s) => {
    // two keys flooded together: one probed half a window later, one a window later (a probe costs a token
    // and would itself delay the next answer of its key)
    const early = query('host1.example.test', 'A');
    const late = query('sip1.example.test', 'A');
    const plan: Sent[] = [];
    for (let i = 0; i < 600; i++) plan.push({ from: '127.0.0.1', msg: early }, { from: '127.0.0.1', msg: late });
    const flood = await traffic(s.port, plan);
    t.true(tally(flood.replies).full <= 2 * (20 + Math.ceil(20 * flood.elapsed) + 1));
    const stopped = performance.now();
    // half a window later the debt (at its floor of R × window) is half repaid: still limited
    await sleep(W * 500);
    const earlyAt = (performance.now() - stopped) / 1000;
    const e = await ask(s.port, early);
    if (earlyAt < W - 0.2) t.not(kindOf(e), 'full', `asked ${earlyAt.toFixed(3)} s after the flood`);
    else t.log(`early probe came late (${earlyAt.toFixed(3)} s): not judged`);
    // one window after the flood (+ a margin for timers): answered in full
    await sleep(Math.max(0, W * 1000 + 50 - (performance.now() - stopped)));
    const l = await ask(s.port, late, '127.0.0.1', 2000);
    t.is(kindOf(l), 'full', `asked ${((performance.now() - stopped) / 1000).toFixed(3)} s after the flood`);
  });
});

// serial (AVA runs serial tests before the others): nothing else in this process allocates while it measures memory
test.serial(
  '100,000 spoofed random sources through the running server: table size fixed, memory bounded, a client under its rate is answered throughout',
  async (t) => {
    const R = 20;
    await withServer(`{ responses_per_second: ${R}, window: 2, slip: 2, table_size: 1024 }`, async (s) => {
      const srv = s.server as unknown as {
        handler(): (msg: Buffer, address: string, transport: 'udp' | 'tcp') => Buffer | null;
        answering: { rrl: ResponseRateLimiter };
      };
      const handle = srv.handler(); // the same function the UDP listener calls per datagram
      const capacity = srv.answering.rrl.capacity;
      t.is(capacity, 1024);
      const q = query('sip1.example.test', 'A');
      let answered = 0;
      const spoof = (n: number) => {
        for (let i = 0; i < n; i++) {
          const a =
            Math.random() < 0.8
              ? `${1 + ((Math.random() * 223) | 0)}.${(Math.random() * 256) | 0}.${(Math.random() * 256) | 0}.${(Math.random() * 256) | 0}`
              : `2001:db8:${((Math.random() * 0x10000) | 0).toString(16)}:${((Math.random() * 0x10000) | 0).toString(16)}::${((Math.random() * 0x10000) | 0).toString(16)}`;
          if (handle(q, a, 'udp')) answered++;
        }
      };
      // the legitimate client: 127.0.0.1, one query per 100 ms (10/s, under R), over real UDP, between chunks
      let legit = 0;
      let legitFull = 0;
      const legitQ = query('sip2.example.test', 'A');
      const legitRound = async () => {
        const r = await ask(s.port, legitQ, '127.0.0.1', 1000);
        legit++;
        if (kindOf(r) === 'full') legitFull++;
      };
      // 100,000 spoofed sources in 20 chunks of 5,000, a legitimate query every 100 ms between them
      let last = 0;
      const spoof100k = async () => {
        for (let chunk = 0; chunk < 20; chunk++) {
          spoof(5000);
          await sleep(Math.max(0, 100 - (performance.now() - last)));
          last = performance.now();
          await legitRound();
        }
      };
      gc();
      const mem0 = memory();
      last = performance.now();
      await spoof100k();
      gc();
      const mem1 = memory();
      // a second 100,000: memory must not keep growing with the number of sources
      await spoof100k();
      gc();
      const mem2 = memory();
      t.log(
        `heap+buffers: start ${mb(mem0)}, after 100k sources ${mb(mem1)}, after 200k ${mb(mem2)}; rss ${mb(process.memoryUsage().rss)}`,
      );
      t.is(srv.answering.rrl.capacity, capacity);
      // random sources are each a new key with a full second of budget: all answered, nothing counted
      t.is(answered, 200_000);
      t.is(legitFull, legit);
      t.is(legit, 40);
      // bounded: the table is allocated once; the only other state (the server's cache of source addresses,
      // capped at 65,536 entries) stops growing, so the second 100,000 adds (almost) nothing
      t.true(mem2 - mem1 < 4 * 2 ** 20, `grew ${mb(mem2 - mem1)} over the second 100,000 sources`);
      t.true(mem1 - mem0 < 32 * 2 ** 20, `grew ${mb(mem1 - mem0)} over the first 100,000 sources`);
    });
  },
);

// ---------------------------------------------------------------------------------------------------------
// Unit: ResponseRateLimiter with an injected clock

function cfg(over: Partial<RrlConfig> = {}): RrlConfig {
  return { responsesPerSecond: 10, window: 5, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [], tableSize: 1024, ...over };
}

/** A limiter on a fake clock (seconds; starts well above 0 — 0 marks an empty slot). */
function clocked(over: Partial<RrlConfig> = {}) {
  const clock = { now: 1024 };
  const rrl = new ResponseRateLimiter(cfg(over), () => clock.now);
  return { rrl, clock };
}

const ip = (s: string) => ipToBytes(s);
const A = RRL_KIND.Answer;

function run(
  rrl: ResponseRateLimiter,
  n: number,
  client = ip('192.0.2.1'),
  name = 'www.example.test',
  qtype = 1,
  kind: number = A,
): RrlAction[] {
  return Array.from({ length: n }, () => rrl.decide(client, name, qtype, kind as never));
}

const count = (acts: RrlAction[], a: RrlAction) => acts.filter((x) => x === a).length;

test('unit: a new key has a full second of budget (R), refilled at R per second and never above R', (t) => {
  const { rrl, clock } = clocked({ responsesPerSecond: 10 });
  t.is(count(run(rrl, 10), 'send'), 10);
  t.not(run(rrl, 1)[0], 'send');
  // the one limited response above cost a token: −1; half a second refills 5 → 4 sends (and 6 limited: −6)
  clock.now += 0.5;
  t.is(count(run(rrl, 10), 'send'), 4);
  // 3 s of quiet (under the 5 s window) refill 30 tokens, capped at R: a burst of at most one second
  clock.now += 3;
  let acts = run(rrl, 30);
  t.is(count(acts, 'send'), 10);
  t.deepEqual(acts.slice(0, 10), Array(10).fill('send'));
  // a whole window of quiet: a full budget again, whatever the debt
  clock.now += 5;
  acts = run(rrl, 30);
  t.is(count(acts, 'send'), 10);
  // a client steadily at the rate is always answered
  const steady = clocked({ responsesPerSecond: 10 });
  for (let i = 0; i < 1000; i++) {
    steady.clock.now += 0.1;
    t.is(steady.rrl.decide(ip('192.0.2.1'), 'a.example.test', 1, A), 'send');
  }
  // a flood of exactly 2R per second for 10 s (R = 8; powers of two keep the fake clock exact): the balance
  // starts at R and falls by R per second, so the k-th query finds 8 − (k − 1)/2 tokens: 15 sends, then the
  // limited ones keep it in debt (down to the floor) and nothing more is sent
  const f = clocked({ responsesPerSecond: 8, window: 2 });
  const acts2: RrlAction[] = [];
  for (let i = 0; i < 160; i++) {
    f.clock.now += 1 / 16;
    acts2.push(f.rrl.decide(ip('192.0.2.1'), 'a.example.test', 1, A));
  }
  t.deepEqual(acts2.slice(0, 15), Array(15).fill('send'));
  t.is(count(acts2, 'send'), 15);
});

test('unit: debt is floored at window × R — a flood that stops is answered again after at most `window` seconds', (t) => {
  // powers of two: the fake clock's sums are exact
  const R = 8;
  const W = 4;
  // the wait after a flood, probed on a fresh limiter per delay (a probe itself costs a token)
  const answeredAfter = (floodSize: number, delay: number): RrlAction => {
    const { rrl, clock } = clocked({ responsesPerSecond: R, window: W, slip: 0 });
    run(rrl, floodSize);
    clock.now += delay;
    return rrl.decide(ip('192.0.2.1'), 'www.example.test', 1, A);
  };
  // a flood of R + k (k < R × W) leaves a debt of k: repaid in k / R seconds, then one more token
  t.is(answeredAfter(R + 16, 2 + 1 / 16), 'drop');
  t.is(answeredAfter(R + 16, 2 + 1 / 8), 'send');
  // a flood far beyond the floor: the debt stopped at R × W, so the wait is `window`, however long the flood
  for (const size of [R + R * W, R + 3 * R * W, 1_000_000]) {
    t.is(answeredAfter(size, W - 1 / 16), 'drop', `flood of ${size}, ${W - 1 / 16} s later`);
    t.is(answeredAfter(size, W), 'send', `flood of ${size}, ${W} s later`);
  }
  // the floor, step by step: every second of quiet repays R tokens of it
  const { rrl, clock } = clocked({ responsesPerSecond: R, window: W, slip: 0 });
  run(rrl, 100_000);
  clock.now += W / 2;
  t.is(run(rrl, 1)[0], 'drop'); // −R·W + R·W/2, and the probe costs one more: −R·W/2 − 1
  clock.now += W / 2 + 1 / R;
  t.is(run(rrl, 1)[0], 'drop'); // 0: less than a token (and this probe costs one: −1) ...
  clock.now += 2 / R;
  t.is(run(rrl, 1)[0], 'send'); // ... two more tokens' time: answered
});

test('unit: keys are separated by client prefix (/24, /56), qname, qtype and response kind', (t) => {
  const { rrl } = clocked({ responsesPerSecond: 5, slip: 0 });
  const spend = (client: string, name = 'www.example.test', qtype = 1, kind: number = A) => run(rrl, 5, ip(client), name, qtype, kind);
  spend('192.0.2.1');
  t.is(run(rrl, 1, ip('192.0.2.1'))[0], 'drop');
  t.is(run(rrl, 1, ip('192.0.2.200'))[0], 'drop', '192.0.2.200 shares 192.0.2.0/24');
  t.is(count(run(rrl, 5, ip('192.0.3.1')), 'send'), 5, '192.0.3.1 is another /24');
  t.is(count(run(rrl, 5, ip('192.0.2.1'), 'mail.example.test'), 'send'), 5, 'another qname');
  t.is(count(run(rrl, 5, ip('192.0.2.1'), 'www.example.test', 28), 'send'), 5, 'another qtype');
  t.is(count(run(rrl, 5, ip('192.0.2.1'), 'www.example.test', 1, RRL_KIND.NoData), 'send'), 5, 'another kind');
  // IPv6: /56
  spend('2001:db8:0:100::1');
  t.is(run(rrl, 1, ip('2001:db8:0:1ff:ffff::2'))[0], 'drop', 'the same /56');
  t.is(count(run(rrl, 5, ip('2001:db8:0:200::1')), 'send'), 5, 'the next /56');
  t.is(count(run(rrl, 5, ip('::ffff:192.0.2.1')), 'send'), 5, 'an IPv6 address is never the IPv4 key');
  // configured prefixes
  const p = clocked({ responsesPerSecond: 5, slip: 0, ipv4Prefix: 32, ipv6Prefix: 64 });
  run(p.rrl, 5, ip('192.0.2.1'));
  t.is(count(run(p.rrl, 5, ip('192.0.2.2')), 'send'), 5, '/32: every address its own key');
  run(p.rrl, 5, ip('2001:db8::1'));
  t.is(run(p.rrl, 1, ip('2001:db8::ffff:1'))[0], 'drop', '/64 shared');
  t.is(count(run(p.rrl, 5, ip('2001:db8:0:1::1')), 'send'), 5, 'the next /64');
});

test('unit: slip — every slip-th limited response truncated; 0 drops all; 1 truncates all', (t) => {
  for (const slip of [0, 1, 2, 3, 10]) {
    const { rrl } = clocked({ responsesPerSecond: 4, slip });
    const acts = run(rrl, 4 + 60);
    t.deepEqual(acts.slice(0, 4), Array(4).fill('send'));
    const expected = Array.from({ length: 60 }, (_, k) => (slip !== 0 && (k + 1) % slip === 0 ? 'slip' : 'drop'));
    t.deepEqual(acts.slice(4), expected, `slip ${slip}`);
  }
});

test('unit: exempt networks are never limited', (t) => {
  const exempt = ['192.0.2.0/24', '2001:db8:aa::/48'].map((c) => parseCidr(c) as Cidr);
  const { rrl } = clocked({ responsesPerSecond: 1, slip: 0, exempt });
  t.deepEqual(run(rrl, 1000, ip('192.0.2.77')), Array(1000).fill('send'));
  t.deepEqual(run(rrl, 1000, ip('2001:db8:aa:ffff::1')), Array(1000).fill('send'));
  t.is(count(run(rrl, 10, ip('192.0.3.1')), 'send'), 1);
  t.is(count(run(rrl, 10, ip('2001:db8:ab::1')), 'send'), 1);
});

test('unit: 100,000 random spoofed sources — capacity fixed, memory bounded, a client under its rate never starved', (t) => {
  for (const tableSize of [1024, 65536]) {
    const R = 5;
    const { rrl, clock } = clocked({ responsesPerSecond: R, window: 5, slip: 2, tableSize });
    const capacity = rrl.capacity;
    t.is(capacity, tableSize);
    const legit = ip('198.51.100.7');
    const flooder = ip('203.0.113.9');
    const v4 = new Uint8Array(4);
    const v6 = new Uint8Array(16);
    let legitSent = 0;
    let legitAsked = 0;
    let flooderSent = 0;
    let spoofSent = 0;
    gc();
    const before = memory();
    for (let i = 0; i < 100_000; i++) {
      clock.now += 0.0001; // 100,000 sources over 10 s
      // random sources (mostly IPv4, some IPv6), random names and types: each a fresh key
      const src = Math.random() < 0.8 ? v4 : v6;
      for (let b = 0; b < src.length; b++) src[b] = (Math.random() * 256) | 0;
      if (rrl.decide(src, `n${i & 63}.example.test`, 1 + (i & 3), A) === 'send') spoofSent++;
      // the legitimate client: 2 queries per second (R = 5)
      if (i % 5000 === 0) {
        legitAsked++;
        if (rrl.decide(legit, 'www.example.test', 1, A) === 'send') legitSent++;
      }
      // a flooder: 1000 queries per second on one key
      if (i % 10 === 0 && rrl.decide(flooder, 'www.example.test', 1, A) === 'send') flooderSent++;
    }
    gc();
    const grew = memory() - before;
    t.log(
      `table ${tableSize}: memory grew ${mb(grew)}; spoofed answered ${spoofSent}/100000; legit ${legitSent}/${legitAsked}; flooder ${flooderSent}/10000`,
    );
    t.is(rrl.capacity, capacity);
    t.true(grew < 1024 * 1024, `memory grew ${mb(grew)}`);
    t.is(legitSent, legitAsked, 'the client under its rate is always answered');
    t.is(spoofSent, 100_000, 'every new key starts with a full second of budget');
    // the flooder (on a table large enough to keep it): its initial budget and little else
    if (tableSize === 65536) t.true(flooderSent <= R + 2, `flooder sent ${flooderSent}`);
  }
  // a key evicted by churn comes back with a full second of budget, not with its old debt nor nothing
  const { rrl, clock } = clocked({ responsesPerSecond: 3, tableSize: 1024 });
  const client = ip('198.51.100.7');
  t.is(count(run(rrl, 3 + 100, client), 'send'), 3); // in debt
  const v4 = new Uint8Array(4);
  for (let i = 0; i < 20_000; i++) {
    clock.now += 0.00001;
    for (let b = 0; b < 4; b++) v4[b] = (Math.random() * 256) | 0;
    rrl.decide(v4, 'x.example.test', 1, A);
  }
  t.is(count(run(rrl, 5, client), 'send'), 3);
});

// ---------------------------------------------------------------------------------------------------------
// Memory measurement: a full GC before reading heap + array buffers

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

function gc(): void {
  gcFn();
  gcFn();
}

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function mb(n: number): string {
  return `${(n / 2 ** 20).toFixed(2)} MB`;
}
