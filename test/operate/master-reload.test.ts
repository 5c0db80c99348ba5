// Master files on a running server follow the same reload and last-good rules as YAML zones
// (docs/zone-format.md#reload-and-the-last-good-version): an edited `*.zone` file is served within 2 s,
// a broken edit keeps the last good version serving with file:line:col in /status, a fix recovers, and a
// new `*.zone` dropped into the folder is served.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { displayPath } from '../../src/config/source.js';
import { BASE_CONFIG, startServer } from '../helpers/server.js';
import { addressesOf, get, poll } from './helpers.js';

const SERVED_WITHIN = 2000;
const ZONE = (www: string) => `$TTL 300\n@ SOA ns1 hostmaster ( 1 3600 600\n  86400 300 )\n@ NS ns1\nns1 A 192.0.2.53\nwww A ${www}\n`;

interface StatusZone {
  origin: string | null;
  file: string;
  state: string;
  errors: string[];
}

test('a master file: an edit is served, a broken edit keeps the last good version with file:line:col, a fix recovers', async (t) => {
  const s = await startServer({ 'example.test.zone': ZONE('192.0.2.1') }, `${BASE_CONFIG}http: "127.0.0.1:0"\n`);
  t.teardown(() => s.stop());
  const file = join(s.dir, 'zones', 'example.test.zone');
  const zoneStatus = async () =>
    (JSON.parse((await get(s.server.httpPort!, '/status')).body) as { zones: StatusZone[] }).zones.find((z) => z.file === file);
  t.deepEqual(await addressesOf(s.port, 'www.example.test'), ['192.0.2.1']);

  writeFileSync(file, ZONE('192.0.2.2'));
  const { ms } = await poll(async () => ((await addressesOf(s.port, 'www.example.test'))[0] === '192.0.2.2' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the edit served',
  });
  t.true(ms < SERVED_WITHIN, `served after ${ms} ms`);

  writeFileSync(file, ZONE('192.0.2.300'));
  const want = `${displayPath(file)}:6:7: A at "www": "192.0.2.300" is not an IPv4 address`;
  const { value: st } = await poll(async () => ((await zoneStatus())?.errors[0] === want ? zoneStatus() : undefined), {
    timeoutMs: 10_000,
    what: `/status shows ${want}`,
  });
  t.like(st, { origin: 'example.test', state: 'stale' });
  t.deepEqual(await addressesOf(s.port, 'www.example.test'), ['192.0.2.2'], 'the last good version keeps serving');

  writeFileSync(file, ZONE('192.0.2.3'));
  await poll(async () => ((await addressesOf(s.port, 'www.example.test'))[0] === '192.0.2.3' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the fix served',
  });
  t.like(await zoneStatus(), { state: 'loaded', errors: [] });

  writeFileSync(join(s.dir, 'zones', 'new.test.zone'), ZONE('192.0.2.4'));
  await poll(async () => ((await addressesOf(s.port, 'www.new.test'))[0] === '192.0.2.4' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'a new master file served',
  });
  t.pass();
});

test('a file a zone includes: an edit to it is served, as an edit of the zone file is', async (t) => {
  const s = await startServer(
    {
      'example.test.zone': `${ZONE('192.0.2.1')}$INCLUDE inc/hosts.inc\n`,
      'inc/hosts.inc': 'app A 192.0.2.10\n',
      'other.test.yaml':
        'origin: other.test\nsoa: { ns: ns1.other.test., email: h@other.test }\ninclude: inc/other.inc\nrecords:\n  "@": { NS: ns1 }\n  ns1: { A: 192.0.2.53 }\n',
      'inc/other.inc': 'app A 192.0.2.20\n',
    },
    BASE_CONFIG,
  );
  t.teardown(() => s.stop());
  t.deepEqual(await addressesOf(s.port, 'app.example.test'), ['192.0.2.10']);
  t.deepEqual(await addressesOf(s.port, 'app.other.test'), ['192.0.2.20']);
  for (const [file, name, address] of [
    ['hosts.inc', 'app.example.test', '192.0.2.11'],
    ['other.inc', 'app.other.test', '192.0.2.21'],
  ] as const) {
    writeFileSync(join(s.dir, 'zones', 'inc', file), `app A ${address}\n`);
    const { ms } = await poll(async () => ((await addressesOf(s.port, name))[0] === address ? true : undefined), {
      timeoutMs: 10_000,
      what: `the edit of inc/${file} served`,
    });
    t.true(ms < SERVED_WITHIN, `inc/${file}: served after ${ms} ms`);
  }
});
