// Unit tests of host names as the HTTP Host header and http.allowed_hosts write them (src/net/host.ts).
import test from 'ava';
import { canonicalIp, parseHostName } from '../../src/net/host.js';

test('parseHostName: names lower-cased without the trailing dot, bracketed IPv6 canonical, ports 1-65535', (t) => {
  t.deepEqual(parseHostName('API.Example.Test.:8053'), { host: 'api.example.test', port: 8053 });
  t.deepEqual(parseHostName('localhost'), { host: 'localhost', port: null });
  t.deepEqual(parseHostName('[0:0::1]:80'), { host: '::1', port: 80 });
  t.deepEqual(parseHostName('127.0.0.1:65535'), { host: '127.0.0.1', port: 65535 });
  for (const bad of ['::1', '[::1', 'a..b', 'x:0', 'x:65536', 'user@x', 'x/y', 'a b', '', '[example.test]:80'])
    t.is(parseHostName(bad), null, bad);
});

test('parseHostName: a bare IPv6 address only when allowed (allowed_hosts entries)', (t) => {
  t.is(parseHostName('2001:DB8::1'), null);
  t.deepEqual(parseHostName('2001:DB8::1', { bareIpv6: true }), { host: '2001:db8::1', port: null });
});

test('canonicalIp: IPv6 compressed and lower-case, IPv4 as written', (t) => {
  t.is(canonicalIp('2001:0DB8:0:0::1'), '2001:db8::1');
  t.is(canonicalIp('192.0.2.1'), '192.0.2.1');
});
