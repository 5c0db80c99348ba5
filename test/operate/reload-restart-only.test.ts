// The restart-only settings of docs/configuration.md#reload that no socket holds: `fleet`. A SIGHUP
// (Server.reload, as the signal calls it) that changes it logs `fleet changed: it takes effect on restart` and
// goes on with the running value while the rest of the file applies; one that leaves it alone logs nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { BASE_CONFIG, startServer } from '../helpers/server.js';

const restartLines = (logs: Record<string, unknown>[]) =>
  logs.filter((l) => typeof l.msg === 'string' && l.msg.endsWith('changed: it takes effect on restart')).map((l) => [l.level, l.msg]);

const ZONE = `origin: example.test
soa: { ns: ns1.example.test., email: h@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
`;

test('reload: a changed fleet is logged as needing a restart and the running one stays; the rest applies', async (t) => {
  const config = (fleetHealth: string, nsid: string) =>
    `${BASE_CONFIG.replace('nsid: ns1.test-nsid', `nsid: ${nsid}`)}fleet: { name: prod, instance: ns1, health: ${fleetHealth}, etcd: { endpoints: ["http://127.0.0.1:2379"] } }
`;
  const s = await startServer({ 'x.yaml': ZONE }, config('majority', 'ns1.before'));
  t.teardown(() => s.stop());
  const file = join(s.dir, 'steerdns.yaml');

  // unchanged: nothing said about it
  writeFileSync(file, config('majority', 'ns1.again'));
  t.true(s.server.reload().ok);
  t.deepEqual(restartLines(s.logs), []);
  t.is(s.server.currentConfig.nsid, 'ns1.again');

  // changed: said at warn level; the running fleet stays, the nsid applies
  writeFileSync(file, config('local', 'ns1.after'));
  t.true(s.server.reload().ok);
  t.deepEqual(restartLines(s.logs), [[40, 'fleet changed: it takes effect on restart']]);
  t.is(s.server.currentConfig.nsid, 'ns1.after');
  t.is(s.server.currentConfig.fleet?.health, 'majority');

  // said again at the next SIGHUP while the file still differs from what runs; a fleet removed is a change too
  t.true(s.server.reload().ok);
  writeFileSync(file, BASE_CONFIG);
  t.true(s.server.reload().ok);
  t.is(restartLines(s.logs).length, 3);
  t.is(s.server.currentConfig.fleet?.name, 'prod');
});
