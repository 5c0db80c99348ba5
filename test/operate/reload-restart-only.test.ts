// The restart-only settings of docs/configuration.md#reload that no socket holds: `fleet` and `health.source`.
// A SIGHUP (Server.reload, as the signal calls it) that changes one logs `<key> changed: it takes effect on
// restart` and goes on with the running value — probes keep leaving from the source they started with —
// while the rest of the file applies; one that leaves them alone logs nothing about them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { HttpBackend, waitFor } from '../health/backends.js';
import { BASE_CONFIG, startServer } from '../helpers/server.js';

const restartLines = (logs: Record<string, unknown>[]) =>
  logs.filter((l) => typeof l.msg === 'string' && l.msg.endsWith('changed: it takes effect on restart')).map((l) => [l.level, l.msg]);

test('reload: a changed fleet or health.source is logged as needing a restart and the running one stays; the rest applies', async (t) => {
  const b = await HttpBackend.start('127.0.9.20');
  t.teardown(() => b.close());
  const zone = `origin: example.test
soa: { ns: ns1.example.test., email: h@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      check: { type: http, port: ${b.port}, path: /healthz, interval: 200ms, timeout: 150ms }
      regions: { us-east: [${b.host}] }
`;
  const config = (fleetHealth: string, source: string, nsid: string) =>
    `${BASE_CONFIG.replace('nsid: ns1.test-nsid', `nsid: ${nsid}`)}health: { source: ${source} }
fleet: { name: prod, instance: ns1, health: ${fleetHealth}, etcd: { endpoints: ["http://127.0.0.1:2379"] } }
`;
  const s = await startServer({ 'x.yaml': zone }, config('majority', '127.0.10.20', 'ns1.before'));
  t.teardown(() => s.stop());
  const file = join(s.dir, 'steerdns.yaml');
  await waitFor(() => b.requests.length >= 1, 10_000, 'a probe');

  // unchanged: nothing said about them
  writeFileSync(file, config('majority', '127.0.10.20', 'ns1.again'));
  t.true((await s.server.reload()).ok);
  t.deepEqual(restartLines(s.logs), []);
  t.is(s.server.currentConfig.nsid, 'ns1.again');

  // changed: both said, at warn level; the running values stay, the nsid applies
  writeFileSync(file, config('local', '127.0.10.21', 'ns1.after'));
  t.true((await s.server.reload()).ok);
  t.deepEqual(restartLines(s.logs), [
    [40, 'health.source changed: it takes effect on restart'],
    [40, 'fleet changed: it takes effect on restart'],
  ]);
  const running = s.server.currentConfig;
  t.is(running.nsid, 'ns1.after');
  t.is(running.fleet?.health, 'majority');
  t.is(running.healthSource?.address, '127.0.10.20');
  // the probes still leave from the source the server started with
  const seen = b.requests.length;
  await waitFor(() => b.requests.length >= seen + 3, 10_000, 'three probes after the reload');
  t.deepEqual(new Set(b.requests.map((r) => r.from)), new Set(['127.0.10.20']));

  // said again at the next SIGHUP while the file still differs from what runs; removing them is a change too
  t.true((await s.server.reload()).ok);
  t.is(restartLines(s.logs).length, 4);
  writeFileSync(file, BASE_CONFIG);
  t.true((await s.server.reload()).ok);
  t.is(restartLines(s.logs).length, 6);
  t.is(s.server.currentConfig.fleet?.name, 'prod');
  t.is(s.server.currentConfig.healthSource?.address, '127.0.10.20');
});
