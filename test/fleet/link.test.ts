// The fleet link against a real etcd (Debian's etcd-server, started on loopback by the test;
// docs/architecture.md#the-fleet-in-etcd): observations published on change reach the other instance, and a
// fresh instance reads them whole; overrides stored under their own lease reach every instance, and their
// deletion too; an instance that stops (lease revoked) or dies (lease expires) leaves the quorum within
// lease_ttl; a name held by a live instance is refused; etcd unreachable: writes fail with a clear message at
// once, and the link connects when etcd comes back.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import type { EtcdConfig } from '../../src/config/server-fleet.js';
import type { Observation } from '../../src/fleet/codec.js';
import { FleetLink } from '../../src/fleet/link.js';
import type { Override } from '../../src/gslb/adjust.js';
import { Etcd } from '../helpers/etcd.js';
import { ROOT } from '../helpers/server.js';

const LEASE_TTL_S = 2;
let prefixes = 0;

interface Seen {
  link: FleetLink;
  remote: Map<string, Map<string, Observation>>;
  overrides: Override[];
  states: boolean[];
}

function link(t: ExecutionContext, etcd: Etcd, instance: string, prefix: string): Seen {
  const cfg: EtcdConfig = { endpoints: [etcd.endpoint], secure: false, prefix, username: null, passwordFile: null, tls: null };
  const seen: Seen = { link: null as unknown as FleetLink, remote: new Map(), overrides: [], states: [] };
  seen.link = new FleetLink({
    etcd: cfg,
    instance,
    leaseTtlS: LEASE_TTL_S,
    log: pino({ level: 'silent' }),
    onObservation: (i, k, o) => {
      let m = seen.remote.get(i);
      if (!m) {
        m = new Map();
        seen.remote.set(i, m);
      }
      if (o) m.set(k, o);
      else m.delete(k);
    },
    onResync: (all) => {
      seen.remote = new Map([...all].map(([i, m]) => [i, new Map(m)]));
    },
    onOverrides: (list) => {
      seen.overrides = list;
    },
    onState: (c) => seen.states.push(c),
  });
  t.teardown(() => seen.link.close());
  return seen;
}

async function until(what: string, ms: number, ok: () => boolean): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

const obs = (up: boolean): Observation => ({ up, reason: up ? 'HTTP 200' : 'HTTP 503', rttMs: 2, at: Date.now() });

function override(id: string, forMs: number): Override {
  const now = Date.now();
  return {
    id,
    action: 'drain',
    zone: null,
    pool: null,
    region: 'eu-west',
    address: null,
    weight: null,
    reason: 'test',
    author: 'a',
    created: now,
    until: now + forMs,
  };
}

let etcd: Etcd;
test.before(async () => {
  etcd = new Etcd();
  await etcd.start();
});
test.after.always(async () => {
  await etcd?.remove();
});

test('observations published on change reach the other instance; a fresh instance reads them whole; a stop withdraws them', async (t) => {
  const prefix = `/steerdns/t${++prefixes}/`;
  const a = link(t, etcd, 'ns1', prefix);
  a.link.publish('tcp://192.0.2.10:80', obs(false));
  await a.link.start();
  await until('ns1 connected', 5000, () => a.link.connected);
  const b = link(t, etcd, 'ns2', prefix);
  await b.link.start();
  await until('ns2 reads ns1 at connect', 5000, () => b.remote.get('ns1')?.get('tcp://192.0.2.10:80')?.up === false);
  a.link.publish('tcp://192.0.2.10:80', obs(true));
  a.link.publish('tcp://192.0.2.11:80', obs(false));
  const ms = await until(
    'ns2 sees the change',
    2000,
    () => b.remote.get('ns1')?.get('tcp://192.0.2.10:80')?.up === true && b.remote.get('ns1')?.size === 2,
  );
  t.log(`put → watch: ${ms} ms`);
  t.false(a.remote.has('ns1'), 'an instance never counts its own observations twice');
  await a.link.close();
  await until('ns1 left', 2000, () => (b.remote.get('ns1')?.size ?? 0) === 0);
  t.pass();
});

test('an instance killed (SIGKILL: its lease not revoked) leaves the quorum within lease_ttl; its name is refused to another while it lives', async (t) => {
  const prefix = `/steerdns/t${++prefixes}/`;
  const child = spawn(
    process.execPath,
    ['--import=tsx', join(ROOT, 'test/helpers/fleet-instance.ts'), etcd.endpoint, prefix, 'ns1', String(LEASE_TTL_S), 'k'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('connected')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the instance exited (${code})`)));
  });
  const b = link(t, etcd, 'ns2', prefix);
  await b.link.start();
  await until('ns2 sees ns1', 5000, () => b.remote.get('ns1')?.has('k') === true);
  // the same name again while ns1 lives: refused
  const dup = link(t, etcd, 'ns1', prefix);
  await dup.link.start();
  await new Promise((r) => setTimeout(r, 500));
  t.false(dup.link.connected);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  const died = Date.now();
  await exited;
  await until('ns1 expired', LEASE_TTL_S * 1000 + 2000, () => !b.remote.get('ns1')?.has('k'));
  const gone = Date.now() - died;
  t.log(`lease expiry seen after ${gone} ms (lease_ttl ${LEASE_TTL_S} s)`);
  // and the name is free again: the second ns1 takes it over and publishes
  await until('the name is taken over', 5000, () => dup.link.connected);
  t.pass();
});

test('overrides stored under their own lease reach every instance; a delete ends them; etcd ends them at expiry', async (t) => {
  const prefix = `/steerdns/t${++prefixes}/`;
  const a = link(t, etcd, 'ns1', prefix);
  const b = link(t, etcd, 'ns2', prefix);
  await a.link.start();
  await b.link.start();
  await until('both connected', 5000, () => a.link.connected && b.link.connected);
  const o = override('0123456789ab', 60_000);
  await a.link.putOverride(o);
  await until('ns2 has it', 2000, () => b.overrides.some((x) => x.id === o.id));
  t.deepEqual(b.overrides, [o]);
  t.true(await b.link.deleteOverride(o.id));
  await until('ns1 saw the delete', 2000, () => a.overrides.length === 0);
  t.false(await b.link.deleteOverride(o.id));
  const short = override('0123456789ac', 1000);
  await a.link.putOverride(short);
  await until('ns2 has the short one', 2000, () => b.overrides.length === 1);
  await until('etcd ended it at expiry', 4000, () => b.overrides.length === 0);
  t.pass();
});

test('etcd unreachable: writes fail at once with a clear message; the link connects and syncs when etcd comes back', async (t) => {
  const down = new Etcd();
  t.teardown(() => down.remove());
  await down.start();
  await down.stop();
  const prefix = `/steerdns/t${++prefixes}/`;
  const a = link(t, down, 'ns1', prefix);
  a.link.publish('k', obs(false));
  await a.link.start();
  await new Promise((r) => setTimeout(r, 300));
  t.false(a.link.connected);
  await t.throwsAsync(a.link.putOverride(override('0123456789ad', 60_000)), {
    message: /^etcd is unreachable \(http:\/\/127\.0\.0\.1:\d+\): not stored$/,
  });
  await down.start();
  const ms = await until('connected after etcd returned', 10_000, () => a.link.connected);
  t.log(`connected ${ms} ms after etcd was healthy again`);
  const b = link(t, down, 'ns2', prefix);
  await b.link.start();
  await until('ns1 published what it had', 5000, () => b.remote.get('ns1')?.get('k')?.up === false);
  t.pass();
});
