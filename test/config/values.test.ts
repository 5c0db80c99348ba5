// Unit tests of the scalar parsers of steerdns.yaml (src/config/values.ts): durations, sizes, host:port.
import test from 'ava';
import { parseDuration, parseHostPort, parseSize } from '../../src/config/values.js';

test('parseDuration: units, plain seconds, and rejects', (t) => {
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('5s'), 5000);
  t.is(parseDuration('1m'), 60_000);
  t.is(parseDuration('1h'), 3_600_000);
  t.is(parseDuration('1.5s'), 1500);
  t.is(parseDuration('0s'), 0);
  t.is(parseDuration(' 2s '), 2000);
  t.is(parseDuration(5), 5000, 'a YAML number is seconds');
  t.is(parseDuration(0.25), 250);
  for (const bad of [-1, Infinity, NaN, '5', '5 s', '5sec', '1d', '-1s', 's', '', true, null, undefined, {}, [5]]) {
    t.is(parseDuration(bad), null, JSON.stringify(bad) ?? String(bad));
  }
});

test('parseSize: binary multiples, plain bytes, and rejects', (t) => {
  t.is(parseSize('256MB'), 256 * 1024 * 1024);
  t.is(parseSize('64KB'), 65_536);
  t.is(parseSize('64kb'), 65_536);
  t.is(parseSize('1GiB'), 1024 ** 3);
  t.is(parseSize('1 MiB'), 1024 ** 2);
  t.is(parseSize('100'), 100);
  t.is(parseSize('100B'), 100);
  t.is(parseSize(1024), 1024);
  t.is(parseSize(0), 0);
  for (const bad of [1.5, -1, '12XB', '1TB', '1.5MB', 'MB', '', null, true, {}]) t.is(parseSize(bad), null, JSON.stringify(bad));
});

test('parseHostPort', (t) => {
  t.deepEqual(parseHostPort('127.0.0.1:53'), { host: '127.0.0.1', port: 53, family: 4 });
  t.deepEqual(parseHostPort('127.0.0.1:0'), { host: '127.0.0.1', port: 0, family: 4 });
  t.deepEqual(parseHostPort('[::1]:5300'), { host: '::1', port: 5300, family: 6 });
  t.deepEqual(parseHostPort('[::]:65535'), { host: '::', port: 65535, family: 6 });
  t.is(parseHostPort('::1:53'), '"::1:53" is not host:port (write IPv6 as [addr]:port)');
  t.is(parseHostPort('127.0.0.1'), '"127.0.0.1" is not host:port (write IPv6 as [addr]:port)');
  t.is(parseHostPort('127.0.0.1:'), '"127.0.0.1:" is not host:port (write IPv6 as [addr]:port)');
  t.is(parseHostPort('127.0.0.1:http'), '"127.0.0.1:http" is not host:port (write IPv6 as [addr]:port)');
  t.is(parseHostPort('[::1]:99999'), 'port of "[::1]:99999" must be 0 to 65535');
  t.is(parseHostPort('127.0.0.1:65536'), 'port of "127.0.0.1:65536" must be 0 to 65535');
  t.is(parseHostPort('localhost:53'), '"localhost" is not an IP address');
  t.is(parseHostPort('[fe80::1%eth0]:53'), '"fe80::1%eth0" is not an IP address');
});
