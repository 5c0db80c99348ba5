// Unit tests of a socket's source address as bytes (src/net/source.ts).
import test from 'ava';
import { literalBytes, sourceBytes } from '../../src/net/source.js';

test('sourceBytes: IPv4, IPv6, and an IPv4-mapped source as its 4 IPv4 bytes; the same address gives the cached bytes', (t) => {
  t.deepEqual([...sourceBytes('192.0.2.1')], [192, 0, 2, 1]);
  t.is(sourceBytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
  t.deepEqual([...sourceBytes('::ffff:192.0.2.7')], [192, 0, 2, 7]);
  t.is(sourceBytes('198.51.100.9'), sourceBytes('198.51.100.9'), 'parsed once');
});

test('literalBytes: a zone suffix is dropped, mapped IPv6 is IPv4, anything else is null', (t) => {
  t.deepEqual([...literalBytes('::ffff:127.0.0.1')!], [127, 0, 0, 1]);
  t.is(literalBytes('fe80::1%eth0')!.toString('hex'), 'fe800000000000000000000000000001');
  t.deepEqual([...literalBytes('10.0.0.1')!], [10, 0, 0, 1]);
  t.is(literalBytes('localhost'), null);
  t.is(literalBytes(''), null);
});
