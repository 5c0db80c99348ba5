// Runtime overrides on the running server without a fleet (docs/operations.md#runtime-overrides,
// docs/http-api.md#overrides): POST /overrides answers 201 {id, until} and DNS answers follow at once; GET lists
// them with time left; DELETE ends one (204, then 404); writes need the bearer token (401, logged; none
// configured: 403) and reads follow /status's rule; bodies over 16 KB are refused; a restart keeps them
// (state_dir/overrides.json); the `steerdns drain` / `overrides` commands use the same API; with `workers: 2`
// every worker answers with the primary's overrides.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { BASE_CONFIG, CLI, runCli, SAMPLE_ZONE, spawnLogged, tempDir, writeFixture } from '../helpers/server.js';
import { addressesOf, startIn } from './helpers.js';

const TOKEN = 'Zq8wTn3LpX0vR7sKd2Jm';
const HTTP = 'http: { listen: "127.0.0.1:0", token_file: ./api.token }\n';
/** Unlocated (loopback) clients get the written order: us-east first. */
const US_EAST = ['192.0.2.10', '192.0.2.11'];
const EU_WEST = ['198.51.100.10'];

function fixture(t: ExecutionContext, config = `${BASE_CONFIG}${HTTP}`): string {
  const dir = writeFixture(config, { 'example.test.yaml': SAMPLE_ZONE });
  writeFileSync(join(dir, 'api.token'), `${TOKEN}\n`, { mode: 0o600 });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function api(port: number, method: string, path: string, opts: { token?: string | null; body?: unknown; raw?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const ask = () => fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body, signal: AbortSignal.timeout(5000) });
  let r = await ask();
  // 408: the server's loop did not read the request within its headers timeout (a process starved of CPU on a
  // busy machine, as right after a start with workers); RFC 9110 §15.5.9 lets the client repeat it, once
  if (r.status === 408) r = await ask();
  const text = await r.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: r.status, json, headers: r.headers };
}

const DRAIN_US = { action: 'drain', zone: 'example.test', pool: 'app', region: 'us-east', for: '30m', reason: 'network maintenance' };

test('POST /overrides drains a region: 201 {id, until}, answers move at once; GET lists it; DELETE ends it (204, then 404)', async (t) => {
  const s = await startIn(t, fixture(t));
  const http = s.server.httpPort!;
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), US_EAST);
  const before = Date.now();
  const r = await api(http, 'POST', '/overrides', { body: { ...DRAIN_US, author: 'alice@ops' } });
  t.is(r.status, 201);
  const { id, until } = r.json as { id: string; until: string };
  t.regex(id, /^[0-9a-f]{12}$/);
  t.true(Math.abs(Date.parse(until) - (before + 30 * 60_000)) < 5000);
  t.deepEqual(Object.keys(r.json as object).sort(), ['id', 'until']);
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), EU_WEST);
  // the change is logged with who, what and until
  t.truthy(
    s.logs.find(
      (l) =>
        l.override === id &&
        l.who === 'alice@ops from 127.0.0.1' &&
        l.until === until &&
        l.scope === 'zone example.test pool app region us-east',
    ),
  );

  const list = await api(http, 'GET', '/overrides');
  t.is(list.status, 200);
  const [o] = (list.json as { overrides: Record<string, unknown>[] }).overrides;
  t.like(o, {
    id,
    action: 'drain',
    zone: 'example.test',
    pool: 'app',
    region: 'us-east',
    address: null,
    reason: 'network maintenance',
    until,
  });
  t.true((o!.remainingSeconds as number) > 1790 && (o!.remainingSeconds as number) <= 1800);

  // explain shows the override that applied
  const ex = await api(http, 'GET', '/explain?name=app.example.test&from=127.0.0.1');
  t.like((ex.json as { pools: { overrides: unknown[] }[] }).pools[0]!.overrides[0], { id, action: 'drain' });

  t.is((await api(http, 'DELETE', `/overrides/${id}`)).status, 204);
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), US_EAST);
  t.like(await api(http, 'DELETE', `/overrides/${id}`), { status: 404, json: { error: `no active override ${id}` } });
  t.deepEqual((await api(http, 'GET', '/overrides')).json, { overrides: [] });
});

test('writes without the token or with a wrong one are refused (401) and logged; reads follow /status; no token configured: writes 403', async (t) => {
  const s = await startIn(t, fixture(t));
  const http = s.server.httpPort!;
  const none = await api(http, 'POST', '/overrides', { token: null, body: DRAIN_US });
  t.is(none.status, 401);
  t.is(none.headers.get('www-authenticate'), 'Bearer realm="steerdns"');
  t.is((await api(http, 'POST', '/overrides', { token: 'wrong', body: DRAIN_US })).status, 401);
  t.is((await api(http, 'DELETE', '/overrides/000000000000', { token: 'wrong' })).status, 401);
  t.is((await api(http, 'GET', '/overrides', { token: null })).status, 401);
  t.is((await api(http, 'GET', '/status', { token: null })).status, 401);
  t.is((await api(http, 'GET', '/overrides')).status, 200);
  const refused = s.logs.filter((l) => l.status === 401 && l.client === '127.0.0.1');
  t.deepEqual(
    refused.map((l) => l.msg),
    [
      'HTTP API: POST /overrides refused (401, no token)',
      'HTTP API: POST /overrides refused (401, wrong token)',
      'HTTP API: DELETE /overrides/000000000000 refused (401, wrong token)',
      'HTTP API: GET /overrides refused (401, no token)',
      'HTTP API: GET /status refused (401, no token)',
    ],
  );
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), US_EAST, 'nothing was stored');

  const open = await startIn(t, fixture(t, `${BASE_CONFIG}http: "127.0.0.1:0"\n`));
  const w = await api(open.server.httpPort!, 'POST', '/overrides', { token: null, body: DRAIN_US });
  t.is(w.status, 403);
  t.is((await api(open.server.httpPort!, 'GET', '/overrides', { token: null })).status, 200);
  t.truthy(
    open.logs.find((l) => l.status === 403 && l.msg === 'HTTP API: POST /overrides refused (403, write refused: no token configured)'),
  );
});

test('bad requests: over 16 KB (413), not JSON, a field wrong, a scope that matches nothing (400), another method (405)', async (t) => {
  const s = await startIn(t, fixture(t));
  const http = s.server.httpPort!;
  const big = await api(http, 'POST', '/overrides', { body: { ...DRAIN_US, reason: 'x'.repeat(17_000) } });
  t.is(big.status, 413);
  t.like(await api(http, 'POST', '/overrides', { raw: '{"action":' }), { status: 400 });
  t.like(await api(http, 'POST', '/overrides', { body: { ...DRAIN_US, for: '45d' } }), {
    status: 400,
    json: { error: 'for must be at most 30d' },
  });
  t.like(await api(http, 'POST', '/overrides', { body: { ...DRAIN_US, region: 'mars' } }), {
    status: 400,
    json: { error: 'no served pool target matches zone example.test pool app region mars' },
  });
  t.like(await api(http, 'POST', '/overrides', { body: { ...DRAIN_US, region: undefined, address: '203.0.113.99' } }), { status: 400 });
  const put = await api(http, 'PUT', '/overrides');
  t.is(put.status, 405);
  t.is(put.headers.get('allow'), 'GET, HEAD, POST');
  t.is((await api(http, 'GET', '/overrides/abc')).status, 405);
  t.deepEqual((await api(http, 'GET', '/overrides')).json, { overrides: [] });
});

test('a restart keeps the overrides (state_dir/overrides.json) and serves them from its first answer', async (t) => {
  const dir = fixture(t);
  const a = await startIn(t, dir);
  const r = await api(a.server.httpPort!, 'POST', '/overrides', {
    body: { action: 'down', address: '192.0.2.10', for: '1h', reason: 'disk' },
  });
  t.is(r.status, 201);
  t.deepEqual(await addressesOf(a.port, 'app.example.test'), ['192.0.2.11']);
  await a.stop();
  const b = await startIn(t, dir);
  t.deepEqual(await addressesOf(b.port, 'app.example.test'), ['192.0.2.11']);
  t.like((await api(b.server.httpPort!, 'GET', '/overrides')).json, { overrides: [{ id: (r.json as { id: string }).id }] });
});

test('steerdns drain / weight / overrides list / overrides rm talk to the local API with the token of steerdns.yaml', async (t) => {
  const dir = fixture(t);
  const s = await startIn(t, dir);
  // the running server's port: a config for the CLI that names it
  const cfg = join(dir, 'cli.yaml');
  writeFileSync(cfg, `${BASE_CONFIG}http: { listen: "127.0.0.1:${s.server.httpPort}", token_file: ./api.token }\n`);
  const drain = await runCli(
    ['drain', '--zone', 'example.test', '--pool', 'app', '--region', 'us-east', '--for', '30m', '--reason', 'incident 7', '-c', cfg],
    dir,
  );
  t.is(drain.code, 0, drain.stderr);
  const id = /^([0-9a-f]{12}) {2}drain until \S+$/m.exec(drain.stdout)?.[1];
  t.truthy(id, drain.stdout);
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), EU_WEST);
  // TARGET arguments: one override each
  const w = await runCli(['weight', '192.0.2.10', '192.0.2.11', '--weight', '0', '--for', '10m', '--reason', 'standby', '-c', cfg], dir);
  t.is(w.code, 0, w.stderr);
  t.is(w.stdout.trim().split('\n').length, 2);
  const list = await runCli(['overrides', '-c', cfg], dir);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^ID\s+ACTION\s+SCOPE\s+LEFT\s+AUTHOR\s+REASON$/m);
  t.regex(
    list.stdout,
    new RegExp(
      `^${id}\\s+drain\\s+zone example.test pool app region us-east\\s+(29m\\d+s|30m0s)\\s+\\S+@\\S+ from 127.0.0.1\\s+incident 7$`,
      'm',
    ),
  );
  t.regex(list.stdout, /weight 0\s+address 192\.0\.2\.10/);
  const rm = await runCli(['overrides', 'rm', id!, '-c', cfg], dir);
  t.is(rm.code, 0, rm.stderr);
  t.is(rm.stdout, `${id} ended\n`);
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), US_EAST);
  const again = await runCli(['overrides', 'rm', id!, '-c', cfg], dir);
  t.is(again.code, 1);
  t.regex(again.stderr, /HTTP 404: no active override/);
  // a wrong token: the refusal in words
  writeFileSync(join(dir, 'bad.token'), 'nope\n');
  const bad = await runCli(
    [
      'down',
      '192.0.2.10',
      '--for',
      '5m',
      '--reason',
      'x',
      '--api',
      `http://127.0.0.1:${s.server.httpPort}`,
      '--token-file',
      join(dir, 'bad.token'),
    ],
    dir,
  );
  t.is(bad.code, 1);
  t.regex(bad.stderr, /HTTP 401: .*\(the token was refused\)/);
  const missing = await runCli(['drain', '--region', 'us-east', '-c', cfg], dir);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--for DURATION and --reason TEXT are required/);
});

test('with workers: 2 the primary owns the overrides and every worker answers with them', async (t) => {
  const dir = tempDir('steerdns-overrides-workers-');
  mkdirSync(join(dir, 'zones'));
  writeFileSync(join(dir, 'steerdns.yaml'), `${BASE_CONFIG}workers: 2\n${HTTP}`);
  writeFileSync(join(dir, 'api.token'), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'zones', 'example.test.yaml'), SAMPLE_ZONE);
  const p = spawnLogged(process.execPath, [CLI, 'serve', '-c', join(dir, 'steerdns.yaml')], { cwd: dir, detached: true });
  const pgid = p.child.pid!;
  t.teardown(async () => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
    await p.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const serving = await p.waitForLog((l) => l.msg === 'serving', 30_000);
  const dns = Number(/:(\d+)$/.exec((serving.listen as string[])[0]!)![1]);
  const h = await p.waitForLog((l) => l.msg === 'HTTP API listening', 5000);
  const http = Number(/:(\d+)$/.exec(h.http as string)![1]);
  const workerQueries = async () => {
    const text = await (await fetch(`http://127.0.0.1:${http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    return [...text.matchAll(/^steerdns_worker_queries_total\{[^}]*worker="(\w+)"[^}]*\} (\d+)/gm)].map((m) => Number(m[2]));
  };
  t.is((await api(http, 'POST', '/overrides', { body: DRAIN_US })).status, 201);
  // the primary's message reaches the workers on its next turn: asked until both have it, then every answer checked
  const deadline = Date.now() + 5000;
  let answers: string[][] = [];
  for (;;) {
    answers = await Promise.all(Array.from({ length: 20 }, () => addressesOf(dns, 'app.example.test')));
    if (answers.every((a) => a.join() === EU_WEST.join()) || Date.now() > deadline) break;
  }
  t.true(
    answers.every((a) => a.join() === EU_WEST.join()),
    JSON.stringify(answers),
  );
  const counts = await workerQueries();
  t.is(counts.length, 2);
  t.true(
    counts.every((n) => n > 0),
    `both workers answered: ${counts}`,
  );
});

test('/status shows each target’s active overrides with time left, /metrics steerdns_override_active, the page the drained region', async (t) => {
  const s = await startIn(t, fixture(t));
  const http = s.server.httpPort!;
  const drain = (await api(http, 'POST', '/overrides', { body: DRAIN_US })).json as { id: string };
  const down = (await api(http, 'POST', '/overrides', { body: { action: 'down', address: '198.51.100.10', for: '2h', reason: 'disk' } }))
    .json as { id: string };
  interface St {
    pools: {
      name: string;
      regions: { name: string; overrides: { id: string }[]; targets: { address: string; overrides: Record<string, unknown>[] }[] }[];
    }[];
  }
  const st = (await api(http, 'GET', '/status')).json as St;
  const app = st.pools.find((p) => p.name === 'app.example.test')!;
  const us = app.regions.find((r) => r.name === 'us-east')!;
  const eu = app.regions.find((r) => r.name === 'eu-west')!;
  t.deepEqual(
    us.overrides.map((o) => o.id),
    [drain.id],
  );
  const o = us.targets.find((x) => x.address === '192.0.2.10')!.overrides[0]!;
  t.like(o, { id: drain.id, action: 'drain', weight: null, reason: 'network maintenance' });
  t.true((o.remainingSeconds as number) > 1790 && (o.remainingSeconds as number) <= 1800);
  t.deepEqual(eu.overrides, []);
  t.like(eu.targets.find((x) => x.address === '198.51.100.10')!.overrides, [{ id: down.id, action: 'down' }]);

  const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
  t.regex(
    metrics,
    new RegExp(
      `^steerdns_override_active\\{id="${drain.id}",action="drain",zone="example.test",pool="app",region="us-east",address=""\\} 1$`,
      'm',
    ),
  );
  t.regex(
    metrics,
    new RegExp(`^steerdns_override_active\\{id="${down.id}",action="down",zone="",pool="",region="",address="198.51.100.10"\\} 1$`, 'm'),
  );

  const page = (await fetch(`http://127.0.0.1:${http}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  t.regex(
    await page,
    /<h4 class="overridden drain">us-east .*override: <span class="override drain"[^>]*>drain · (29m \d+s|30m 0s) left<\/span>/,
  );

  // ended: gone from /status and /metrics at once
  t.is((await api(http, 'DELETE', `/overrides/${drain.id}`)).status, 204);
  const after = (await api(http, 'GET', '/status')).json as St;
  t.deepEqual(after.pools.find((p) => p.name === 'app.example.test')!.regions.find((r) => r.name === 'us-east')!.overrides, []);
  t.notRegex(await (await fetch(`http://127.0.0.1:${http}/metrics`)).text(), new RegExp(drain.id));
});
