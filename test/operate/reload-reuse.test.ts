// When a reload keeps a prepared zone and when it rebuilds it (docs/configuration.md#reload), against the real
// server: an edit of a pool's `check:` alone reaches the prober (it moves no serial, but the zone is
// prepared anew and logged), and a SIGHUP with an unchanged — or irrelevantly changed — steerdns.yaml
// re-reads no zone, while a changed region location rebuilds every zone and changes the answers.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { addr, HttpBackend } from '../health/backends.js';
import { BASE_CONFIG, dig, type LoggedProcess, servingPort, spawnServe, startServer, writeFixture } from '../helpers/server.js';
import { addressesOf, get, poll, soaSerial } from './helpers.js';

const HTTP_CONFIG = `${BASE_CONFIG}http: "127.0.0.1:0"\n`;

const CHECKED_ZONE = (port: number, check: string) => `origin: example.test
soa: { ns: ns1.example.test., email: hostmaster@example.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      check: { type: http, port: ${port}, ${check}, interval: 100ms, timeout: 80ms, rise: 1, fall: 1 }
      regions:
        us-east: [${addr(231)}]
        eu-west: [${addr(232)}]
`;

interface StatusPool {
  name: string;
  check: string;
  regions: { name: string; targets: { address: string; health: string }[] }[];
}

test.serial(
  'reload: an edit of check: alone reaches the prober (new path and expect probed, health follows, /status shows it), logged, serial unchanged',
  async (t) => {
    // the backend answers 200 on /ok and 404 elsewhere: which path the prober asks decides the target's health
    const backend = await HttpBackend.start(addr(231), {
      handler: (req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(req.url === '/ok' ? 200 : 404, { 'content-type': 'text/plain' });
        res.end(req.url === '/ok' ? 'ok' : 'no');
      },
    });
    t.teardown(() => backend.close());
    // eu-west's backend answers 200 on every path
    const standby = await HttpBackend.start(addr(232), { port: backend.port });
    t.teardown(() => standby.close());
    const s = await startServer({ 'example.test.yaml': CHECKED_ZONE(backend.port, 'path: /ok') }, HTTP_CONFIG);
    t.teardown(() => s.stop());
    const file = join(s.dir, 'zones', 'example.test.yaml');
    const healthOf = async () => {
      const st = JSON.parse((await get(s.server.httpPort!, '/status')).body) as { pools: StatusPool[] };
      const pool = st.pools.find((p) => p.name.startsWith('app.'))!;
      return { check: pool.check, health: pool.regions[0]!.targets.find((x) => x.address === addr(231))!.health };
    };
    await poll(async () => ((await healthOf()).health === 'up' && backend.requests.some((r) => r.url === '/ok') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'target up on /ok',
    });
    await poll(async () => ((await addressesOf(s.port, 'app.example.test')).join(',') === addr(231) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'app on us-east',
    });
    const serial = await soaSerial(s.port, 'example.test');
    const logsFrom = s.logs.length;

    // only the check's path changes, to one the backend answers 404: the new path is probed, the target goes
    // down, and app falls over to eu-west
    const edited = Date.now();
    writeFileSync(file, CHECKED_ZONE(backend.port, 'path: /gone'));
    await poll(() => (backend.requestsSince(edited).some((r) => r.url === '/gone') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'a probe of /gone',
    });
    await poll(async () => ((await healthOf()).health === 'down' ? true : undefined), { timeoutMs: 10_000, what: 'target down on /gone' });
    t.is((await healthOf()).check, `http://app.example.test:${backend.port}/gone`);
    await poll(async () => ((await addressesOf(s.port, 'app.example.test')).join(',') === addr(232) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'app failed over to eu-west',
    });
    t.is(await soaSerial(s.port, 'example.test'), serial, 'a check edit moves no serial');
    const loaded = s.logs.slice(logsFrom).filter((l) => l.msg === 'zone loaded');
    t.is(loaded.length, 1, JSON.stringify(loaded));
    t.like(loaded[0], { zone: 'example.test', serial });

    // then only `expect` changes, to the 404 the backend gives: the same path is healthy again (and eu-west's
    // 200 is now a failure), still no new serial
    const logsFrom2 = s.logs.length;
    writeFileSync(file, CHECKED_ZONE(backend.port, 'path: /gone, expect: [404]'));
    await poll(async () => ((await healthOf()).health === 'up' ? true : undefined), {
      timeoutMs: 10_000,
      what: 'target up with expect 404',
    });
    await poll(async () => ((await addressesOf(s.port, 'app.example.test')).join(',') === addr(231) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'app back on us-east',
    });
    t.is(await soaSerial(s.port, 'example.test'), serial);
    t.is(s.logs.slice(logsFrom2).filter((l) => l.msg === 'zone loaded').length, 1);
    // the prober keeps no probe of the old check running
    const since = Date.now();
    await poll(() => (backend.requestsSince(since).length >= 3 ? true : undefined), { timeoutMs: 10_000, what: 'three more probes' });
    t.deepEqual([...new Set(backend.requestsSince(since).map((r) => r.url))], ['/gone']);
  },
);

// ---- SIGHUP: which zones a config reload rebuilds ----------------------------------------------------------

const ZONES = 12;

/** Zone i: a nearest pool over us-east (192.0.2.1) and eu-west (192.0.2.2), no health checks. */
const POOL_ZONE = (i: number) => `origin: z${i}.test
soa: { ns: ns1.z${i}.test., email: hostmaster@z${i}.test }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  app:
    pool:
      check: { type: none }
      regions:
        us-east: [192.0.2.1]
        eu-west: [192.0.2.2]
`;

// clients on loopback are placed in Dublin: eu-west (also Dublin) is nearest until it is moved to Sydney
const GEO_CONFIG = `${BASE_CONFIG}geoip:
  networks:
    "127.0.0.0/8": { location: [53.3, -6.3], country: IE, continent: EU }
`;

function serve(t: ExecutionContext, dir: string): LoggedProcess {
  const p = spawnServe(dir);
  t.teardown(() => {
    if (!p.done) p.child.kill('SIGKILL');
  });
  return p;
}

/** Sends SIGHUP and resolves with the 'reloaded' line and every line logged from the signal to it. */
async function sighup(p: LoggedProcess): Promise<{ reloaded: Record<string, unknown>; lines: Record<string, unknown>[] }> {
  const from = p.logs.length;
  const reloaded = p.waitForLog((l) => p.logs.indexOf(l) >= from && l.msg === 'reloaded', 15_000);
  process.kill(p.child.pid!, 'SIGHUP');
  const r = await reloaded;
  return { reloaded: r, lines: p.logs.slice(from, p.logs.indexOf(r) + 1) };
}

test.serial(
  'SIGHUP (steerdns serve): an unchanged or irrelevantly changed steerdns.yaml re-reads no zone; a moved region rebuilds every zone',
  async (t) => {
    const zones: Record<string, string> = {};
    for (let i = 0; i < ZONES; i++) zones[`z${i}.test.yaml`] = POOL_ZONE(i);
    const dir = writeFixture(GEO_CONFIG, zones);
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const cfgFile = join(dir, 'steerdns.yaml');
    const p = serve(t, dir);
    const port = await servingPort(p, 30_000);
    t.is(p.logs.filter((l) => l.msg === 'zone loaded').length, ZONES);
    for (let i = 0; i < ZONES; i += 5) t.deepEqual(await addressesOf(port, `app.z${i}.test`), ['192.0.2.2']);

    // the same steerdns.yaml: nothing is read again, nothing rebuilt, nothing logged as loaded
    let r = await sighup(p);
    t.like(r.reloaded, { failed: 0, parsed: 0, rebuilt: 0 });
    t.deepEqual(
      r.lines.filter((l) => l.msg === 'zone loaded'),
      [],
    );

    // a change no zone reads (nsid, rrl, query logging): applied, and still no zone re-read
    writeFileSync(cfgFile, readFileSync(cfgFile, 'utf8').replace('nsid: ns1.test-nsid', 'nsid: ns2.test-nsid'));
    r = await sighup(p);
    t.like(r.reloaded, { failed: 0, parsed: 0, rebuilt: 0 });
    t.deepEqual(
      r.lines.filter((l) => l.msg === 'zone loaded'),
      [],
    );
    t.regex(await dig(port, ['+nsid', 'z0.test', 'SOA']), /NSID: .*\("ns2\.test-nsid"\)/);

    // eu-west moves to Sydney: every zone reads the regions, so every zone is rebuilt, and the Dublin
    // clients now get us-east
    writeFileSync(
      cfgFile,
      readFileSync(cfgFile, 'utf8').replace('eu-west:  { location: [53.3, -6.3] }', 'eu-west:  { location: [-33.9, 151.2] }'),
    );
    r = await sighup(p);
    t.like(r.reloaded, { failed: 0, parsed: ZONES, rebuilt: ZONES });
    t.is(r.lines.filter((l) => l.msg === 'zone loaded').length, ZONES);
    for (let i = 0; i < ZONES; i++) t.deepEqual(await addressesOf(port, `app.z${i}.test`), ['192.0.2.1'], `z${i}.test`);

    // and a health default (which a check's timings are read from) rebuilds them too
    writeFileSync(cfgFile, `${readFileSync(cfgFile, 'utf8')}health: { interval: 7s }\n`);
    r = await sighup(p);
    t.like(r.reloaded, { failed: 0, parsed: ZONES, rebuilt: ZONES });
    t.true(process.kill(p.child.pid!, 'SIGTERM'));
    t.deepEqual(await p.exited, { code: 0, signal: null });
  },
);
