// The flat zone form's own edges: it is built in a worker_thread and handed over without a copy (the buffer
// transferred, the dynamic names attached on this side), and names no zone file can hold — labels over 63
// octets, characters past latin1, escaped octets, empty labels, upper case, names far over 255 octets — are
// answered as the object form answers them. The differential tests (flat-differential.test.ts) cover the
// lookup rules; docs/dns-behaviour.md#lookup states them.
import { Worker } from 'node:worker_threads';
import test from 'ava';
import type { DynamicName } from '../../src/dns/dynamic.js';
import { FlatAnswer } from '../../src/dns/flat-answer.js';
import { attachFlatZone, buildFlatZone } from '../../src/dns/flat-build.js';
import { lookupFlat } from '../../src/dns/flat-lookup.js';
import { type FlatZoneData, FlatZones } from '../../src/dns/flat-zone.js';
import { encodeRdata } from '../../src/dns/rdata.js';
import { TYPE } from '../../src/dns/registry.js';
import type { NameInput, ZoneInput } from '../../src/dns/zone-input.js';
import { actual, type LookupCase, ZONE_FORMS } from '../helpers/lookup.js';

interface Dyn extends DynamicName {
  id: string;
}

/** A zone input of plain data (as a worker receives it): addresses, a delegation, a wildcard, dynamic names. */
function input(): ZoneInput<Dyn> {
  const names: NameInput<Dyn>[] = [
    { name: '', rrsets: [{ type: TYPE.NS, ttl: 300, rdata: [encodeRdata('NS', 'ns1.w.test')] }], dynamic: null },
  ];
  names[0]!.name = 'w.test';
  names.push({ name: 'ns1.w.test', rrsets: [{ type: TYPE.A, ttl: 300, rdata: [Buffer.from([192, 0, 2, 1])] }], dynamic: null });
  for (let i = 0; i < 2000; i++) {
    const rdata = [Buffer.from([10, i >> 8, i & 255, 1]), Buffer.from([10, i >> 8, i & 255, 2])];
    names.push({ name: `h${i}.a${i % 7}.w.test`, rrsets: [{ type: TYPE.A, ttl: 60, rdata }], dynamic: null });
  }
  names.push({ name: 'sub.w.test', rrsets: [{ type: TYPE.NS, ttl: 300, rdata: [encodeRdata('NS', 'ns.sub.w.test')] }], dynamic: null });
  names.push({ name: 'ns.sub.w.test', rrsets: [{ type: TYPE.A, ttl: 300, rdata: [Buffer.from([192, 0, 2, 9])] }], dynamic: null });
  names.push({ name: '*.wild.w.test', rrsets: [{ type: TYPE.TXT, ttl: 300, rdata: [Buffer.from('\u0004wild')] }], dynamic: null });
  names.push({ name: 'pool.w.test', rrsets: [], dynamic: { id: 'pool', has4: true, has6: false, ttl: 20 } });
  return {
    origin: 'w.test',
    soa: { mname: 'ns1.w.test', rname: 'h.w.test', refresh: 1, retry: 2, expire: 3, minimum: 60, ttl: 300 },
    serial: 5,
    names,
  };
}

// runs buildFlatZone (the TypeScript source itself) in a worker_thread and transfers the result back; a
// worker does not inherit the test process's --import loader, so it registers tsx first
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import('tsx/esm/api')
  .then(({ register }) => register())
  .then(() => import(workerData.module))
  .then(({ buildFlatZone }) => {
    const data = buildFlatZone(workerData.input);
    parentPort.postMessage(data, [data.buffer]);
  });
`;

test('a flat zone built in a worker_thread arrives as one transferred buffer identical to one built here, and answers with the dynamic names attached here', async (t) => {
  const here = buildFlatZone(input());
  const module = new URL('../../src/dns/flat-build.ts', import.meta.url).href;
  const data = await new Promise<FlatZoneData<Dyn>>((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { module, input: input() } });
    w.once('message', (m) => {
      resolve(m as FlatZoneData<Dyn>);
      void w.terminate();
    });
    w.once('error', reject);
  });
  t.true(data.buffer instanceof ArrayBuffer);
  t.deepEqual(data.layout, here.layout);
  t.true(Buffer.from(data.buffer).equals(Buffer.from(here.buffer)), 'the same bytes');
  t.deepEqual(data.dynamic, here.dynamic, 'the dynamic names, as plain data');
  // attached with this side's own dynamic-name objects, in the builder's order
  const pools: Dyn[] = [{ id: 'pool (this side)', has4: true, has6: false, ttl: 20 }];
  const zone = attachFlatZone(data, { file: 'w.test.yaml' }, pools);
  t.is(zone.file, 'w.test.yaml');
  const seen: string[] = [];
  const ans = lookupFlat(
    new FlatZones([zone]),
    'pool.w.test',
    TYPE.A,
    { address: '192.0.2.1', ecs: null },
    (d) => {
      seen.push(d.id);
      return { kind: 'answer', rdata: [Buffer.from([198, 51, 100, 1])], ttl: 20, scope: 0 };
    },
    new FlatAnswer(),
  );
  t.deepEqual(seen, ['pool (this side)']);
  t.is(ans.answerCount, 1);
  t.is(lookupFlat(new FlatZones([zone]), 'h5.a5.w.test', TYPE.A, { address: '', ecs: null }, () => null!, new FlatAnswer()).answerCount, 1);
  t.is(
    lookupFlat(new FlatZones([zone]), 'x.sub.w.test', TYPE.A, { address: '', ecs: null }, () => null!, new FlatAnswer()).cutName(),
    'sub.w.test',
  );
});

const ZONES = {
  'example.test.yaml': `
origin: example.test
ttl: 3600
soa: { ns: ns1.example.test., email: hostmaster@example.test, minimum: 60, serial: 1 }
records:
  "@": { NS: [ns1] }
  ns1: { A: 192.0.2.53 }
  c: { A: 192.0.2.3 }
  "*.w": { TXT: ["wildcard"] }
  alias: { CNAME: c }
`,
};

const long = 'a'.repeat(64);
const odd = (name: string, qtype = 'A'): LookupCase => ({ name: `"${name.slice(0, 40)}"`, qname: name, qtype, rcode: 'NOERROR' });
const CASES = [
  odd(`${long}.example.test`),
  odd(`${long}.w.example.test`, 'TXT'),
  odd(`x.${'b'.repeat(300)}.example.test`),
  odd('\u0163.example.test'),
  odd('\u0163.w.example.test', 'TXT'),
  odd('\u012e.example.test'),
  odd('c\u012eexample.test'),
  odd('a\\046b.w.example.test', 'TXT'),
  odd('\\099.example.test'),
  odd('c..example.test'),
  odd('x..w.example.test', 'TXT'),
  odd('C.example.test'),
  odd('Example.TEST', 'SOA'),
  odd(`${'x.'.repeat(2000)}example.test`),
  odd(`${'y'.repeat(5000)}.w.example.test`, 'TXT'),
  odd('example.test.', 'SOA'),
  odd('\u0000.example.test'),
];

test('names no zone holds are answered by the flat form as by the object form (docs/dns-behaviour.md#lookup)', (t) => {
  for (const c of CASES) {
    const [object, flat] = ZONE_FORMS.map((form) => actual(c, ZONES, { form }));
    t.deepEqual(flat, object, c.name);
  }
});
