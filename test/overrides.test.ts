// The override store of one instance (docs/operations.md#runtime-overrides): requests checked field by field,
// expiry enforced by the instance itself on the clock it is given (no waiting: the test moves the clock and
// fires the timer), state_dir/overrides.json written crash-safe and read back at start with expired entries
// dropped, and every change logged with who, what and until.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { type Clock, OverrideStore, parseOverrideRequest } from '../src/overrides.js';

const T0 = Date.parse('2026-12-03T12:00:00Z');

/** A clock the test moves, with the one timer the store keeps: fire() runs it when its time has come. */
function testClock(): Clock & { at: number; advance(ms: number): void; due: number | null } {
  let timer: { fn: () => void; at: number } | null = null;
  const c = {
    at: T0,
    now: () => c.at,
    setTimer: (fn: () => void, ms: number) => {
      timer = { fn, at: c.at + ms };
      return timer;
    },
    clearTimer: (h: unknown) => {
      if (timer === h) timer = null;
    },
    get due() {
      return timer?.at ?? null;
    },
    advance(ms: number) {
      c.at += ms;
      while (timer && timer.at <= c.at) {
        const t = timer;
        timer = null;
        t.fn();
      }
    },
  };
  return c;
}

function logger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'steerdns-overrides-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const req = (body: object) => {
  const r = parseOverrideRequest({ for: '30m', reason: 'maintenance', ...body });
  if (typeof r === 'string') throw new Error(r);
  return r;
};

test('a request is checked field by field (spec: action, zone, pool, region, address, weight, for, reason)', (t) => {
  const bad: [unknown, RegExp][] = [
    [[], /JSON object/],
    [{ action: 'drain', region: 'eu-west', for: '30m' }, /reason is required/],
    [{ action: 'pause', region: 'eu-west', for: '30m', reason: 'x' }, /action must be one of drain, down, up, weight/],
    [{ action: 'drain', for: '30m', reason: 'x' }, /say what the override applies to/],
    [{ action: 'drain', address: '192.0.2.300', for: '30m', reason: 'x' }, /not an IP address/],
    [{ action: 'weight', region: 'eu-west', for: '30m', reason: 'x' }, /weight must be an integer from 0 to 1000/],
    [{ action: 'weight', region: 'eu-west', weight: 1.5, for: '30m', reason: 'x' }, /weight must be an integer/],
    [{ action: 'down', region: 'eu-west', weight: 3, for: '30m', reason: 'x' }, /only for the weight action/],
    [{ action: 'drain', region: 'eu-west', reason: 'x' }, /for must be a duration/],
    [{ action: 'drain', region: 'eu-west', for: '31d', reason: 'x' }, /at most 30d/],
    [{ action: 'drain', region: 'eu-west', for: '500ms', reason: 'x' }, /at least 1s/],
    [{ action: 'drain', region: 'eu-west', for: '30m', reason: 'x', until: 'later' }, /unknown field "until"/],
    [{ action: 'drain', region: 7, for: '30m', reason: 'x' }, /region must be a string/],
  ];
  for (const [body, want] of bad) t.regex(String(parseOverrideRequest(body)), want, JSON.stringify(body));
  t.deepEqual(
    parseOverrideRequest({
      action: 'weight',
      zone: 'Example.TEST.',
      pool: 'App',
      address: '2001:DB8:0::1',
      weight: 0,
      for: '1d',
      reason: ' x ',
    }),
    {
      action: 'weight',
      zone: 'example.test',
      pool: 'app',
      region: null,
      address: '2001:db8::1',
      weight: 0,
      forMs: 86_400_000,
      reason: 'x',
      author: null,
    },
  );
});

test('the instance ends an override at its expiry by itself, on its own clock, and the answer path loses it then', (t) => {
  const clock = testClock();
  const { log, lines } = logger();
  const store = new OverrideStore({ dir: null, log, clock });
  const changes: number[] = [];
  store.onChange = (l) => changes.push(l.length);
  const a = store.add(req({ action: 'drain', region: 'eu-west', for: '10m' }), 'alice from 127.0.0.1');
  store.add(req({ action: 'down', address: '192.0.2.10', for: '30m' }), 'bob from 127.0.0.1');
  t.is(a.until, T0 + 600_000);
  t.is(store.adjustments?.overrides.length, 2);
  t.is(clock.due, T0 + 600_000, 'the timer is set for the first expiry');
  clock.advance(599_999);
  t.is(store.list().length, 2);
  clock.advance(1);
  t.deepEqual(
    store.list().map((o) => o.action),
    ['down'],
  );
  t.is(store.adjustments?.overrides.length, 1);
  t.is(clock.due, T0 + 1_800_000);
  clock.advance(1_200_000);
  t.deepEqual(store.list(), []);
  t.is(store.adjustments, null);
  t.is(clock.due, null, 'no timer left');
  t.deepEqual(changes, [1, 2, 1, 0]);
  t.truthy(lines.find((l) => l.msg === `override ${a.id} expired`));
});

test('every change is logged with who, what and until', (t) => {
  const clock = testClock();
  const { log, lines } = logger();
  const store = new OverrideStore({ dir: null, log, clock });
  const o = store.add(req({ action: 'weight', pool: 'app', region: 'eu-west', weight: 0 }), 'alice@ops from 127.0.0.1');
  t.like(lines.at(-1), {
    who: 'alice@ops from 127.0.0.1',
    action: 'weight',
    scope: 'pool app region eu-west',
    weight: 0,
    until: '2026-12-03T12:30:00.000Z',
    reason: 'maintenance',
    msg: `override ${o.id}: weight 0 on pool app region eu-west until 2026-12-03T12:30:00.000Z by alice@ops from 127.0.0.1`,
  });
  t.true(store.remove(o.id, 'a request from 127.0.0.1'));
  t.like(lines.at(-1), { override: o.id, who: 'a request from 127.0.0.1', msg: `override ${o.id} ended by a request from 127.0.0.1` });
  t.false(store.remove(o.id, 'again'));
});

test('state_dir/overrides.json: written on every change without temp files left, read at start with expired ones dropped', (t) => {
  const dir = stateDir(t);
  const clock = testClock();
  const { log } = logger();
  const first = new OverrideStore({ dir, log, clock });
  const short = first.add(req({ action: 'drain', region: 'eu-west', for: '1m' }), 'alice');
  const long = first.add(req({ action: 'down', address: '192.0.2.10', for: '2h' }), 'bob');
  first.close();
  t.deepEqual(readdirSync(dir), ['overrides.json']);
  const saved = JSON.parse(readFileSync(join(dir, 'overrides.json'), 'utf8')) as { overrides: { id: string }[] };
  t.deepEqual(
    saved.overrides.map((o) => o.id),
    [short.id, long.id],
  );

  // a restart an hour later: the short one has expired meanwhile
  clock.at += 3_600_000;
  const { log: log2, lines } = logger();
  const second = new OverrideStore({ dir, log: log2, clock });
  second.load();
  t.deepEqual(second.list(), [long]);
  t.is(second.adjustments?.overrides.length, 1);
  t.like(lines.at(-1), { active: 1, dropped: 1 });
  // and the file no longer holds it
  t.deepEqual(
    (JSON.parse(readFileSync(join(dir, 'overrides.json'), 'utf8')) as { overrides: { id: string }[] }).overrides.map((o) => o.id),
    [long.id],
  );
  second.close();
});

test('an overrides.json that is not JSON, or holds malformed entries, restores what it can and says so', (t) => {
  const dir = stateDir(t);
  const clock = testClock();
  writeFileSync(join(dir, 'overrides.json'), '{"overrides": [');
  const { log, lines } = logger();
  const a = new OverrideStore({ dir, log, clock });
  a.load();
  t.deepEqual(a.list(), []);
  t.regex(String(lines.at(-1)?.msg), /is not JSON .*no overrides restored/);
  const good = {
    id: 'aaaaaaaaaaaa',
    action: 'drain',
    zone: null,
    pool: null,
    region: 'eu-west',
    address: null,
    weight: null,
    reason: 'r',
    author: 'x',
    created: T0,
    until: T0 + 60_000,
  };
  writeFileSync(join(dir, 'overrides.json'), JSON.stringify({ overrides: [good, { ...good, id: 'b', action: 'explode' }, 'junk'] }));
  const b = new OverrideStore({ dir, log, clock });
  b.load();
  t.deepEqual(b.list(), [good] as unknown as ReturnType<typeof b.list>);
  b.close();
});

test('an override that cannot be saved is said in lastError and the log', (t) => {
  const dir = stateDir(t);
  writeFileSync(join(dir, 'not-a-dir'), '');
  const { log, lines } = logger();
  const store = new OverrideStore({ dir: join(dir, 'not-a-dir'), log, clock: testClock() });
  store.add(req({ action: 'drain', region: 'eu-west' }), 'alice');
  t.regex(String(store.lastError), /cannot save overrides in .*overrides\.json/);
  t.is(lines.at(-1)?.level, 50);
  store.close();
});
