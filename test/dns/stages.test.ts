// The answer stages in process, over the repository's sample zones and big.test: what each stage leaves in
// the Exchange for the next. The writer's TC and section counts are those of the message it wrote; the
// rate limiter keys each kind of response on its own name (as BIND: the wildcard, the zone cut, the zone);
// a slip is written from the query already parsed and equals one written from a fresh parse; an internal
// fault answers a bare SERVFAIL; an Exchange reused for the next query carries nothing over.
import test from 'ava';
import { pino } from 'pino';
import { Exchange, type Transport } from '../../src/dns/exchange.js';
import { parseQuery } from '../../src/dns/query.js';
import { keyName, limitResponse, ResponseRateLimiter, RRL_KIND, type RrlKind, responseKind } from '../../src/dns/rrl.js';
import { writeResponse } from '../../src/dns/writer.js';
import { Rotation } from '../../src/gslb/rotation.js';
import { HealthTable } from '../../src/health/table.js';
import { Metrics } from '../../src/metrics.js';
import { AnswerPath, queryHandler, Responder, respondTo } from '../../src/pipeline.js';
import { ecsOption, ednsOption, optRecord, rawQuery } from '../helpers/wire.js';
import { loadZonesFixture, mulberry32, poolHooks, respondOnce } from '../helpers/zones.js';

const fixture = loadZonesFixture();
test.after.always(() => fixture.cleanup());
const { snapshot } = fixture;
const identity = (nsid: string | null, version: string | null) => ({ nsid, version, geoip: { ecs: snapshot.geo.useEcs } });
const responder = new Responder(
  () => snapshot,
  identity('ns-test', '1.0'),
  poolHooks(snapshot, { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(3) }),
);

const A = 1;
const NS = 2;
const MX = 15;
const TXT = 16;
const AAAA = 28;
const ANY = 255;

/** One query through parse → lookup → write, in `ex`. */
function run(ex: Exchange, msg: Buffer, transport: Transport = 'udp', address = '192.0.2.7'): Buffer | null {
  ex.begin(msg, address, transport, 0);
  return respondTo(responder, ex);
}

test('write: TC and the section counts in the exchange are those of the message written (every size, UDP with and without EDNS, TCP)', (t) => {
  const ex = new Exchange();
  const names = [
    'www.example.test',
    'nope.example.test',
    'x.static.example.test',
    'deep.x.sub.example.test',
    'example.test',
    'example.com',
    'big.test',
    'many.big.test',
    'big.big.test',
    'mid.big.test',
    'alias.big.test',
    'x.w.big.test',
    'deleg.big.test',
    'a.deleg.big.test',
  ];
  const seen = { truncated: 0, additional: 0, authority: 0 };
  for (const name of names) {
    for (const qtype of [A, AAAA, MX, TXT, NS, ANY]) {
      for (const [transport, payload] of [
        ['udp', 0],
        ['udp', 512],
        ['udp', 1232],
        ['tcp', 0],
      ] as const) {
        const msg = rawQuery({ name, qtype, records: payload ? [optRecord({ payload, options: [ednsOption(3)] })] : [] });
        const out = run(ex, msg, transport)!;
        const what = `${name} ${qtype} ${transport} ${payload}`;
        t.is(ex.response, out, what);
        t.is(ex.truncated, (out[2]! & 0x02) !== 0, what);
        t.is(ex.answerCount, out.readUInt16BE(6), what);
        t.is(ex.authorityCount, out.readUInt16BE(8), what);
        t.is(ex.additionalCount + (payload ? 1 : 0), out.readUInt16BE(10), `${what}: the OPT is not counted`);
        t.is(ex.rcode & 0xf, out[3]! & 0xf, what);
        t.is(ex.name, name, what);
        t.is(ex.qtype, qtype, what);
        if (ex.truncated) seen.truncated++;
        if (ex.additionalCount) seen.additional++;
        if (ex.authorityCount) seen.authority++;
      }
    }
  }
  t.true(seen.truncated > 10 && seen.additional > 10 && seen.authority > 10, JSON.stringify(seen));
});

test('limit: the key of each kind of response (as BIND): the name, the wildcard, the zone cut, the zone', (t) => {
  const ex = new Exchange();
  const cases: { what: string; msg: Buffer; kind: RrlKind; key: string }[] = [
    { what: 'answer', msg: rawQuery({ name: 'Mail.example.test', qtype: A }), kind: RRL_KIND.Answer, key: 'mail.example.test' },
    { what: 'NODATA', msg: rawQuery({ name: 'mail.example.test', qtype: MX }), kind: RRL_KIND.NoData, key: 'mail.example.test' },
    { what: 'NXDOMAIN: the zone', msg: rawQuery({ name: 'nope.example.test', qtype: A }), kind: RRL_KIND.NxDomain, key: 'example.test' },
    {
      what: 'an answer from a wildcard: the wildcard',
      msg: rawQuery({ name: 'x.static.example.test', qtype: A }),
      kind: RRL_KIND.Answer,
      key: '*.static.example.test',
    },
    {
      what: 'NODATA from a wildcard: the wildcard',
      msg: rawQuery({ name: 'x.static.example.test', qtype: MX }),
      kind: RRL_KIND.NoData,
      key: '*.static.example.test',
    },
    {
      what: 'a referral: the zone cut',
      msg: rawQuery({ name: 'deep.x.sub.example.test', qtype: A }),
      kind: RRL_KIND.Referral,
      key: 'sub.example.test',
    },
    { what: 'REFUSED outside every zone: no zone', msg: rawQuery({ name: 'example.com', qtype: A }), kind: RRL_KIND.Error, key: '' },
    {
      what: 'FORMERR (QDCOUNT 2): no zone',
      msg: rawQuery({ name: 'www.example.test', qtype: A, counts: [2, 0, 0, 0] }),
      kind: RRL_KIND.Error,
      key: '',
    },
    {
      what: 'truncated without EDNS (no answer records): NODATA',
      msg: rawQuery({ name: 'many.big.test', qtype: A }),
      kind: RRL_KIND.NoData,
      key: 'many.big.test',
    },
    {
      what: 'a CNAME in front of a referral: an answer, the name asked',
      msg: rawQuery({ name: 'to-deleg.big.test', qtype: A }),
      kind: RRL_KIND.Answer,
      key: 'to-deleg.big.test',
    },
    {
      what: 'a referral whose glue does not fit 512 (TC=1): still the zone cut',
      msg: rawQuery({ name: 'a.deleg.big.test', qtype: A }),
      kind: RRL_KIND.Referral,
      key: 'deleg.big.test',
    },
    {
      what: 'SERVFAIL from a pool: an error, the zone',
      msg: rawQuery({ name: 'dead.big.test', qtype: A }),
      kind: RRL_KIND.Error,
      key: 'big.test',
    },
  ];
  for (const c of cases) {
    const out = run(ex, c.msg)!;
    if (c.what.includes('TC=1')) t.true(ex.truncated && (out[2]! & 0x02) !== 0, c.what);
    t.is(responseKind(ex), c.kind, c.what);
    t.is(keyName(ex, c.kind), c.key, c.what);
  }
});

test('limit: a slip is the response cut to header, question and OPT (TC=1), written from the query already parsed', (t) => {
  const ex = new Exchange();
  // one response a second, every limited one slips; the clock stands still
  const rrl = new ResponseRateLimiter(
    { responsesPerSecond: 1, window: 1, slip: 1, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [], tableSize: 1024 },
    () => 1000,
  );
  const msg = rawQuery({
    name: 'WWW.example.test',
    qtype: A,
    records: [optRecord({ payload: 1232, flags: 0x8000, options: [ednsOption(3), ecsOption(1, 24, [81, 2, 69])] })],
  });
  const full = run(ex, msg)!;
  t.is(limitResponse(rrl, ex), full, 'the first response is sent');
  t.is(ex.rrlAction, 'send');
  const again = run(ex, msg)!;
  const slip = limitResponse(rrl, ex)!;
  t.is(ex.rrlAction, 'slip');
  t.not(slip, again);
  t.true(ex.truncated && ex.answerCount === 0 && ex.authorityCount === 0 && ex.additionalCount === 0, 'the exchange describes the slip');
  t.is(slip[2]! & 0x02, 0x02, 'TC=1');
  t.deepEqual(
    [slip.readUInt16BE(4), slip.readUInt16BE(6), slip.readUInt16BE(8), slip.readUInt16BE(10)],
    [1, 0, 0, 1],
    'question and OPT only',
  );
  // what a fresh parse of the same bytes writes (as the limiter did before the exchange held the query)
  const scratch = new Exchange();
  const fresh = writeResponse(
    msg,
    parseQuery(msg, undefined, !snapshot.geo.useEcs),
    null,
    { rcode: 0, aa: false, maxSize: 512, rotation: null, nsid: null, ecsScope: 0, truncate: true },
    scratch,
  );
  t.deepEqual(slip, fresh);
});

test('an internal fault answers a bare SERVFAIL echoing the header, and is reported once', (t) => {
  const faults: Error[] = [];
  let broken = true;
  const r = new Responder(
    () => {
      if (broken) throw new Error('a bug');
      return snapshot;
    },
    identity(null, null),
    poolHooks(snapshot, { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(1) }),
  );
  r.onError = (e) => faults.push(e);
  const ex = new Exchange();
  const msg = rawQuery({ id: 0xbeef, name: 'www.example.test', qtype: A, flags: 0x0110 });
  ex.begin(msg, '192.0.2.7', 'udp', 0);
  const out = respondTo(r, ex)!;
  t.is(faults.length, 1);
  t.deepEqual([...out], [0xbe, 0xef, 0x81, 0x02, 0, 0, 0, 0, 0, 0, 0, 0], 'QR and RD set, CD not echoed, SERVFAIL, no sections');
  t.is(ex.rcode, 2);
  t.is(ex.response, out);
  t.false(ex.truncated);
  broken = false;
  ex.begin(msg, '192.0.2.7', 'udp', 0);
  t.is(respondTo(r, ex)![3]! & 0xf, 0, 'the next query is answered');
  t.is(respondOnce(r, Buffer.alloc(5), 'udp', '192.0.2.7'), null, 'a message shorter than a header is dropped, not a fault');
  t.is(faults.length, 1);
});

test('an exchange reused for the next query carries nothing over', (t) => {
  const ex = new Exchange();
  const rrl = new ResponseRateLimiter(
    { responsesPerSecond: 1, window: 1, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [], tableSize: 1024 },
    () => 5,
  );
  const msg = rawQuery({ name: 'x.static.example.test', qtype: A });
  run(ex, msg);
  limitResponse(rrl, ex);
  run(ex, msg);
  limitResponse(rrl, ex);
  t.not(ex.rrlAction, 'send');
  t.not(ex.answer, null);
  t.is(run(ex, Buffer.from([0x12, 0x34, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0])), null, 'a response (QR=1) is dropped unread');
  t.like(ex, {
    query: null,
    name: '',
    qtype: 0,
    rcode: 0,
    answer: null,
    zone: null,
    response: null,
    truncated: false,
    answerCount: 0,
    authorityCount: 0,
    additionalCount: 0,
    rrlAction: 'send',
  });
});

test('observe: the query log names the type and the rcode (RFC 3597 form for an unknown type); a message dropped unread logs only that', (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const r = new Responder(
    () => snapshot,
    identity(null, null),
    poolHooks(snapshot, { health: new HealthTable(), rotation: new Rotation(), random: mulberry32(5) }),
  );
  const path = new AnswerPath(r, new Metrics({ processMetrics: false }), log, {
    ...identity(null, null),
    rrl: null,
    log: { queries: true },
  });
  const handle = queryHandler(path);
  t.truthy(handle(rawQuery({ name: 'www.example.test', qtype: 65280 }), '192.0.2.7', 'udp'));
  t.truthy(handle(rawQuery({ name: 'nope.example.test', qtype: A }), '192.0.2.7', 'tcp'));
  t.is(handle(Buffer.alloc(5), '192.0.2.8', 'udp'), null);
  t.is(lines.length, 3);
  t.like(lines[0], {
    msg: 'query',
    client: '192.0.2.7',
    transport: 'udp',
    qname: 'www.example.test',
    qtype: 'TYPE65280',
    rcode: 'NOERROR',
  });
  t.like(lines[1], { msg: 'query', transport: 'tcp', qname: 'nope.example.test', qtype: 'A', rcode: 'NXDOMAIN' });
  const { level, time, pid, hostname, ...dropped } = lines[2]!;
  t.deepEqual(dropped, { msg: 'query', client: '192.0.2.8', transport: 'udp', dropped: true });
});
