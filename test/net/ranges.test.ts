// Unit tests of special address ranges: embedded IPv4, non-routable ranges, loopback (src/net/ranges.ts).
import test from 'ava';
import { ipToBytes as ip } from '../../src/net/address.js';
import { embeddedIPv4, isLoopbackIp, isNat64, isPrivate, privatePrefix } from '../../src/net/ranges.js';

test('isPrivate: RFC 1918, loopback, CGNAT, link-local, unspecified, multicast (IPv4)', (t) => {
  for (const a of [
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '127.0.0.1',
    '127.5.6.7',
    '100.64.0.1',
    '100.127.255.254',
    '169.254.1.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
  ]) {
    t.true(isPrivate(ip(a)), a);
  }
  for (const a of [
    '8.8.8.8',
    '81.2.69.142',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '192.167.1.1',
    '169.253.1.1',
    '11.0.0.1',
    '223.255.255.255',
  ]) {
    t.false(isPrivate(ip(a)), a);
  }
});

test('isPrivate: ::1, ::, ULA, link-local, multicast and IPv4-mapped private (IPv6)', (t) => {
  for (const a of ['::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1', 'ff02::1', '::ffff:10.1.2.3', '::ffff:192.168.0.1']) {
    t.true(isPrivate(ip(a)), a);
  }
  for (const a of ['2001:218::1', '2a02:c7f::1', '::2', 'fec0::1', '::ffff:8.8.8.8', '2002:808:808::1']) {
    t.false(isPrivate(ip(a)), a);
  }
});

test('embeddedIPv4: IPv4-mapped, 6to4 and Teredo (last 32 bits inverted); other IPv6 → null', (t) => {
  const mapped = embeddedIPv4(ip('::ffff:81.2.69.142'))!;
  t.deepEqual([...mapped.v4], [81, 2, 69, 142]);
  t.is(mapped.offsetBits, 96);
  const sixToFour = embeddedIPv4(ip('2002:5102:458e::1'))!;
  t.deepEqual([...sixToFour.v4], [81, 2, 69, 142]);
  t.is(sixToFour.offsetBits, 16);
  // RFC 4380 example shape: server 65.54.227.120, client 81.2.69.142 → last 32 bits = ~0x5102458e
  const teredo = embeddedIPv4(ip('2001:0:4136:e378:8000:63bf:aefd:ba71'))!;
  t.deepEqual([...teredo.v4], [81, 2, 69, 142]);
  t.true(teredo.offsetBits < 0);
  t.is(embeddedIPv4(ip('2001:218::1')), null);
  t.is(embeddedIPv4(ip('2001:db8::1')), null);
  t.is(embeddedIPv4(ip('81.2.69.142')), null);
});

// ---- the country point -----------------------------------------------------------------------------

test('privatePrefix: the length of the non-routable range that holds the address', (t) => {
  t.is(privatePrefix(ip('10.1.2.3')), 8);
  t.is(privatePrefix(ip('100.64.0.1')), 10);
  t.is(privatePrefix(ip('192.168.1.1')), 16);
  t.is(privatePrefix(ip('::ffff:192.168.1.1')), 112, 'IPv4-mapped: 96 + the IPv4 range');
  t.is(privatePrefix(ip('fd00::1')), 7);
  t.is(privatePrefix(ip('8.8.8.8')), null);
});

test('isNat64: the well-known prefix 64:ff9b::/96 only', (t) => {
  t.true(isNat64(ip('64:ff9b::a9fe:a9fe')));
  t.false(isNat64(ip('64:ff9b:1::a9fe:a9fe')), 'a local-use NAT64 prefix is not the well-known one');
  t.false(isNat64(ip('::ffff:169.254.169.254')));
  t.false(isNat64(ip('169.254.169.254')));
});

test('isLoopbackIp: 127/8, ::1 and mapped 127/8 in any text form; other text is not', (t) => {
  for (const a of ['127.0.0.1', '127.255.0.9', '::1', '0:0::1', '::ffff:127.0.0.1', '::1%lo']) t.true(isLoopbackIp(a), a);
  for (const a of ['128.0.0.1', '::2', '::', '::ffff:10.0.0.1', 'localhost', '']) t.false(isLoopbackIp(a), a);
});
