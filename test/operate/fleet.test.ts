// Three steerdns instances as one fleet through a real etcd (Debian's etcd-server on loopback;
// docs/configuration.md#fleet, docs/architecture.md#the-fleet-in-etcd), each probing from its own
// health.source: a backend that fails only for one instance's probes stays served by every instance under
// `majority` and is dropped by that instance alone under `local`; an override written on one instance reaches
// the answers of the others within a second; with etcd gone, answers go on and override writes fail (503)
// with a clear message.

import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Etcd, freePort } from '../helpers/etcd.js';
import { BASE_CONFIG, writeFixture } from '../helpers/server.js';
import { addressesOf, type OwnedServer, startIn } from './helpers.js';

const TOKEN = 'fleet-test-token-0123456789';
const BAD = '127.0.1.50'; // answers 503 to the probes of ns1 only
const GOOD = '127.0.1.51';
const SOURCES = ['127.0.2.1', '127.0.2.2', '127.0.2.3'];

let etcd: Etcd;
let port: number;
const backends: http.Server[] = [];
let fleets = 0;

test.before(async () => {
  etcd = new Etcd();
  await etcd.start();
  port = await freePort();
  for (const address of [BAD, GOOD]) {
    const s = http.createServer((req, res) => {
      const fails = address === BAD && req.socket.remoteAddress === SOURCES[0];
      res.writeHead(fails ? 503 : 200, { connection: 'close' });
      res.end();
    });
    await new Promise<void>((r) => s.listen(port, address, r));
    backends.push(s);
  }
});

test.after.always(async () => {
  for (const s of backends) s.close();
  await etcd?.remove();
});

function zone(): string {
  return `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      ttl: 30
      check: { type: http, port: ${port}, path: /healthz }
      regions:
        us-east: [${BAD}]
        eu-west: [${GOOD}]
`;
}

/** Three instances of one fleet (`health` mode), each probing from its own source address. */
async function fleet(t: ExecutionContext, mode: string): Promise<OwnedServer[]> {
  const name = `f${++fleets}`;
  const out: OwnedServer[] = [];
  for (let i = 0; i < 3; i++) {
    const config = `${BASE_CONFIG}http: { listen: "127.0.0.1:0", token_file: ./api.token }
health: { interval: 500ms, timeout: 2s, rise: 1, fall: 1, source: ${SOURCES[i]}, panic: off }
fleet: { name: ${name}, instance: ns${i + 1}, health: ${mode}, lease_ttl: 2s, etcd: { endpoints: ["${etcd.endpoint}"] } }
`;
    const dir = writeFixture(config, { 'example.test.yaml': zone() });
    writeFileSync(join(dir, 'api.token'), `${TOKEN}\n`, { mode: 0o600 });
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    out.push(await startIn(t, dir));
  }
  return out;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return { value: v, ms: Date.now() - start };
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const answers = (s: OwnedServer[]) => Promise.all(s.map((x) => addressesOf(x.port, 'app.example.test')));

test.serial('majority: a backend failing for one instance’s probes only is served by all three', async (t) => {
  const s = await fleet(t, 'majority');
  // the probes have run and every instance knows the three observations: ns1 sees the backend down, the others up
  await seenAlike(s);
  t.deepEqual(await answers(s), [[BAD], [BAD], [BAD]]);
  // /status: the fleet, and per target each instance's observation and the verdict served
  const st = (await (
    await fetch(`http://127.0.0.1:${s[1]!.server.httpPort}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as {
    fleet: unknown;
    pools: { regions: { targets: { address: string; observations: unknown; verdict: string }[] }[] }[];
  };
  t.deepEqual(st.fleet, { instance: 'ns2', etcd: 'connected', instances: ['ns1', 'ns2', 'ns3'] });
  const bad = st.pools[0]!.regions[0]!.targets[0]!;
  t.like(bad, { address: BAD, observations: { ns1: 'down', ns2: 'up', ns3: 'up' }, verdict: 'up' });
  const metrics = await (await fetch(`http://127.0.0.1:${s[1]!.server.httpPort}/metrics`)).text();
  t.regex(metrics, /^steerdns_fleet_observers\{target="[^"]*127\.0\.1\.50[^"]*"\} 3$/m);
  t.regex(metrics, /^steerdns_etcd_connected 1$/m);
  t.regex(metrics, /^steerdns_etcd_last_sync_timestamp_seconds 1\d{9}(\.\d+)?$/m);
  const page = await (await fetch(`http://127.0.0.1:${s[1]!.server.httpPort}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  t.regex(
    page,
    /fleet: <span class="obs down">ns1 down<\/span>, <span class="obs up">ns2 up<\/span>, <span class="obs up">ns3 up<\/span> → <b class="verdict up">up<\/b>/,
  );
});

test.serial('local: only the instance whose probes fail drops the backend', async (t) => {
  const s = await fleet(t, 'local');
  await seenAlike(s);
  t.deepEqual(await answers(s), [[GOOD], [BAD], [BAD]]);
});

test.serial(
  'an override written on one instance reaches the others within a second; with etcd gone, writes fail (503) and answers go on',
  async (t) => {
    const s = await fleet(t, 'majority');
    await until('all connected', 5000, async () => (s.every((x) => x.server.fleet!.connected) ? true : undefined));
    const post = (x: OwnedServer, body: object) =>
      fetch(`http://127.0.0.1:${x.server.httpPort}/overrides`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const drain = { action: 'drain', pool: 'app', region: 'us-east', for: '10m', reason: 'fleet drain' };
    const r = await post(s[0]!, drain);
    t.is(r.status, 201);
    const { id } = (await r.json()) as { id: string };
    const { ms } = await until('every instance drained us-east', 1000, async () => {
      const a = await answers(s);
      return a.every((x) => x[0] === GOOD) ? true : undefined;
    });
    t.log(`propagation to all three: ${ms} ms`);
    t.true(s.every((x) => x.server.overrides.list().some((o) => o.id === id)));
    // ended on another instance: gone everywhere
    const del = await fetch(`http://127.0.0.1:${s[2]!.server.httpPort}/overrides/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    t.is(del.status, 204);
    await until('every instance serves us-east again', 1000, async () =>
      (await answers(s)).every((x) => x[0] === BAD) ? true : undefined,
    );

    await etcd.stop();
    await until('ns1 sees etcd gone', 5000, async () => (s[0]!.server.fleet!.connected ? undefined : true));
    const ready = await fetch(`http://127.0.0.1:${s[0]!.server.httpPort}/readyz`);
    t.is(ready.status, 200);
    t.is(await ready.text(), 'ready: fleet: etcd unreachable: answering with local health and the last overrides\n');
    const refused = await post(s[0]!, drain);
    t.is(refused.status, 503);
    t.regex(
      ((await refused.json()) as { error: string }).error,
      /^not stored: etcd is unreachable \(http:\/\/127\.0\.0\.1:\d+\): not stored$/,
    );
    t.deepEqual(await answers(s), [[BAD], [BAD], [BAD]], 'answers go on');
    await etcd.start();
    await until('ns1 back', 10_000, async () => (s[0]!.server.fleet!.connected ? true : undefined));
    t.is((await post(s[0]!, drain)).status, 201);
  },
);

test.serial('an instance restarted while etcd is down serves the last overrides from state_dir', async (t) => {
  const s = await fleet(t, 'majority');
  await until('all connected', 5000, async () => (s.every((x) => x.server.fleet!.connected) ? true : undefined));
  const r = await fetch(`http://127.0.0.1:${s[0]!.server.httpPort}/overrides`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'down', address: BAD, for: '10m', reason: 'before the restart' }),
  });
  t.is(r.status, 201);
  await until('ns3 has it', 1000, async () => ((await addressesOf(s[2]!.port, 'app.example.test'))[0] === GOOD ? true : undefined));
  const dir = dirname(s[2]!.server.currentConfig.file);
  await s[2]!.stop();
  await etcd.stop();
  try {
    const again = await startIn(t, dir);
    t.false(again.server.fleet!.connected);
    t.deepEqual(await addressesOf(again.port, 'app.example.test'), [GOOD]);
  } finally {
    await etcd.start();
  }
});

/** Until every instance has the three observations of BAD: ns1 down, ns2 and ns3 up. */
async function seenAlike(s: OwnedServer[]): Promise<void> {
  const want = JSON.stringify({ ns1: 'down', ns2: 'up', ns3: 'up' });
  await until('every instance sees ns1 down, ns2 and ns3 up', 15_000, async () =>
    s.every((x, i) => JSON.stringify(x.server.fleet!.view.observations(keyOf(x), `ns${i + 1}`)) === want) ? true : undefined,
  );
}

/** The health key of the BAD target in an instance's snapshot. */
function keyOf(x: OwnedServer): string {
  for (const z of x.server.snapshot.zones.values())
    for (const p of z.pools) for (const r of p.regions) for (const tg of r.targets) if (tg.address === BAD) return tg.healthKey;
  throw new Error('no BAD target');
}
