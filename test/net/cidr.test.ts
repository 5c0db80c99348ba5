// Unit tests of networks: parsing, masks, membership (src/net/cidr.ts).
import test from 'ava';
import { ipToBytes } from '../../src/net/address.js';
import { type Cidr, inNetwork, maskBytes, parseCidr } from '../../src/net/cidr.js';

test('maskBytes', (t) => {
  t.deepEqual([...maskBytes(Uint8Array.from([192, 0, 2, 255]), 24)], [192, 0, 2, 0]);
  t.deepEqual([...maskBytes(Uint8Array.from([255, 255, 255, 255]), 0)], [0, 0, 0, 0]);
  t.deepEqual([...maskBytes(Uint8Array.from([255, 255, 255, 255]), 32)], [255, 255, 255, 255]);
  t.deepEqual([...maskBytes(Uint8Array.from([255, 255, 255, 255]), 13)], [255, 248, 0, 0]);
});

test('parseCidr: networks, bare addresses, canonical text', (t) => {
  const v4 = parseCidr('10.0.0.0/8');
  t.deepEqual(v4, { family: 4, bytes: Buffer.from([10, 0, 0, 0]), prefix: 8, text: '10.0.0.0/8' });
  t.is((parseCidr('0.0.0.0/0') as { text: string }).text, '0.0.0.0/0');
  t.is((parseCidr('10.0.0.0/08') as { prefix: number }).prefix, 8);
  t.is((parseCidr('192.0.2.7') as { text: string }).text, '192.0.2.7/32', 'a bare address is a host route');
  t.is((parseCidr('2001:db8::1') as { text: string }).text, '2001:db8::1/128');
  const v6 = parseCidr('2001:0db8::/32');
  t.like(v6, { family: 6, prefix: 32, text: '2001:db8::/32' });
  t.is((parseCidr('::/0') as { text: string }).text, '::/0');
  t.is((parseCidr('::ffff:10.0.0.0/104') as { text: string }).text, '::ffff:10.0.0.0/104');
});

test('parseCidr: errors', (t) => {
  t.is(parseCidr('10.0.0.1/8'), '"10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)');
  t.is(parseCidr('2001:db8::1/64'), '"2001:db8::1/64" has host bits set (the network is 2001:db8::/64)');
  t.is(parseCidr('10.0.0.0/33'), 'prefix length of "10.0.0.0/33" must be 0 to 32');
  t.is(parseCidr('2001:db8::/129'), 'prefix length of "2001:db8::/129" must be 0 to 128');
  t.is(parseCidr('10.0.0.0/'), 'prefix length of "10.0.0.0/" must be 0 to 32');
  t.is(parseCidr('10.0.0.0/x'), 'prefix length of "10.0.0.0/x" must be 0 to 32');
  t.is(parseCidr('10.0.0.0/-1'), 'prefix length of "10.0.0.0/-1" must be 0 to 32');
  t.is(parseCidr('foo/8'), '"foo" is not an IP address');
  t.is(parseCidr('1/2/3'), '"1/2/3" is not a network (expected address/prefix)');
  t.is(parseCidr(''), '"" is not a network (expected address/prefix)');
  t.is(parseCidr('/8'), '"/8" is not a network (expected address/prefix)');
});

test('inNetwork: inside, outside, and never across families', (t) => {
  const v4 = parseCidr('10.0.0.0/8') as Cidr;
  t.true(inNetwork(v4, ipToBytes('10.1.2.3')));
  t.false(inNetwork(v4, ipToBytes('11.0.0.0')));
  t.false(inNetwork(v4, ipToBytes('::ffff:10.1.2.3')), 'mapped bytes are another family');
  const v6 = parseCidr('2001:db8::/32') as Cidr;
  t.true(inNetwork(v6, ipToBytes('2001:db8:ffff::1')));
  t.false(inNetwork(v6, ipToBytes('2001:db9::1')));
  t.true(inNetwork(parseCidr('::/0') as Cidr, ipToBytes('::1')));
  t.false(inNetwork(parseCidr('::/0') as Cidr, ipToBytes('0.0.0.0')));
});
