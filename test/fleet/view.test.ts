// The fleet's verdict on each probed target (docs/configuration.md#fleet): majority (down when more than half of
// the live observers see it down; a tie is up), any_up (up while any observer sees it up), local (this
// instance's own checks); the served table follows the local prober and the other instances' observations, and
// the keys and values the instances exchange through etcd decode only when well formed.
import test from 'ava';
import { decodeObservation, decodeOverride, encodeObservation, FleetKeys } from '../../src/fleet/codec.js';
import { FleetView, verdict } from '../../src/fleet/view.js';
import { HealthTable } from '../../src/health/table.js';

const ROWS: [string, Parameters<typeof verdict>, boolean][] = [
  ['majority: one of three down', ['majority', true, [false, true]], true],
  ['majority: two of three down', ['majority', false, [false, true]], false],
  ['majority: this instance alone sees it down', ['majority', false, [true, true]], true],
  ['majority: a tie (one of two) is up', ['majority', false, [true]], true],
  ['majority: not probed here, the others decide', ['majority', undefined, [false, false, true]], false],
  ['majority: nobody observes it: up', ['majority', undefined, []], true],
  ['any_up: one up of three', ['any_up', false, [false, true]], true],
  ['any_up: all down', ['any_up', false, [false, false]], false],
  ['local: this instance down, the others up', ['local', false, [true, true]], false],
  ['local: this instance up, the others down', ['local', true, [false, false]], true],
  ['local: not probed here: up', ['local', undefined, [false]], true],
];
for (const [title, args, want] of ROWS) test(`verdict ${title}`, (t) => t.is(verdict(...args), want));

const obs = (up: boolean) => ({ up, reason: up ? 'HTTP 200' : 'HTTP 503', rttMs: 1.5, at: 1 });

test('the served table follows the local prober and the other instances, and only changes when the verdict does', (t) => {
  const local = new HealthTable();
  const served = new HealthTable();
  const view = new FleetView('majority', local, served);
  local.onChange = (k) => view.localChanged(k);
  local.set('k', { up: false, lastResult: 'HTTP 503' });
  t.false(served.isUp('k'), 'alone, its own observation decides');
  view.setRemote('ns2', 'k', obs(true));
  view.setRemote('ns3', 'k', obs(true));
  t.true(served.isUp('k'), 'two of three see it up');
  t.deepEqual(view.observations('k', 'ns1'), { ns1: 'down', ns2: 'up', ns3: 'up' });
  t.is(view.observers('k'), 3);
  const v = served.version;
  view.setRemote('ns3', 'k', obs(true));
  t.is(served.version, v, 'the same verdict again: plans memoized on the table stay');
  view.setRemote('ns3', 'k', obs(false));
  t.false(served.isUp('k'));
  // ns3's lease expired: its observations leave the quorum
  view.replaceRemote(new Map([['ns2', new Map([['k', obs(true)]])]]));
  t.true(served.isUp('k'), 'a tie is up');
  view.setMode('local');
  t.false(served.isUp('k'));
  view.replaceRemote(new Map());
  view.setMode('majority');
  t.false(served.isUp('k'), 'etcd lost: the local checks alone');
});

test('keys: observations of any health key round-trip; values that do not decode are ignored', (t) => {
  const k = new FleetKeys('/steerdns/prod/');
  const key = k.obs('ns1', 'http://192.0.2.10:80/health?x=/y|host');
  t.is(key, '/steerdns/prod/obs/ns1/http%3A%2F%2F192.0.2.10%3A80%2Fhealth%3Fx%3D%2Fy%7Chost');
  t.deepEqual(k.parseObs(key), { instance: 'ns1', healthKey: 'http://192.0.2.10:80/health?x=/y|host' });
  t.is(k.parseObs('/steerdns/prod/obs/ns1'), null);
  t.is(k.parseOverride(k.override('0123456789ab')), '0123456789ab');
  t.is(k.parseOverride('/steerdns/prod/overrides/../x'), null);
  t.deepEqual(decodeObservation(encodeObservation(obs(false))), obs(false));
  t.is(decodeObservation('{"up":"yes","at":1}'), null);
  t.is(decodeObservation('not json'), null);
  t.is(decodeOverride('{"id":"x","action":"explode"}'), null);
});
