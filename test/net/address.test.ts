// Unit tests of IP addresses as text and bytes (src/net/address.ts).
import test from 'ava';
import { bytesToIp, ipFamily, ipToBytes, isMappedIPv4, unmappedIPv4 } from '../../src/net/address.js';

test('ipFamily', (t) => {
  t.is(ipFamily('192.0.2.1'), 4);
  t.is(ipFamily('2001:db8::1'), 6);
  t.is(ipFamily('::ffff:192.0.2.1'), 6);
  t.is(ipFamily('fe80::1%eth0'), null, 'zone ids are not addresses here');
  t.is(ipFamily('192.0.2.256'), null);
  t.is(ipFamily('localhost'), null);
  t.is(ipFamily(''), null);
});

test('ipToBytes / bytesToIp: IPv4', (t) => {
  t.deepEqual([...ipToBytes('192.0.2.1')], [192, 0, 2, 1]);
  t.is(bytesToIp(ipToBytes('192.0.2.1')), '192.0.2.1');
  t.is(bytesToIp(Uint8Array.from([0, 0, 0, 0])), '0.0.0.0');
  t.is(bytesToIp(Uint8Array.from([255, 255, 255, 255])), '255.255.255.255');
  t.throws(() => ipToBytes('not-an-address'), { message: 'not an IP address: not-an-address' });
});

test('ipToBytes / bytesToIp: IPv6 round trips to the RFC 5952 form', (t) => {
  const cases: [string, string, string][] = [
    ['::', '::', '00000000000000000000000000000000'],
    ['::1', '::1', '00000000000000000000000000000001'],
    ['1::', '1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1', '20010db8000000000000000000000001'],
    // the first of two equally long zero runs is compressed
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    // a single zero word is never "::"
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0', '00010000000100000001000000010000'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6', '20010db8000100020003000400050006'],
    // the longest zero run wins over an earlier shorter one
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3', '00010000000000020000000000000003'],
    // IPv4-mapped: written with the dotted quad (RFC 5952 §5), from either input form
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::FFFF:c000:201', '::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::ffff:0.0.0.0', '::ffff:0.0.0.0', '00000000000000000000ffff00000000'],
    // embedded IPv4 tail in a full-length address
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', '00010002000300040005000601020304'],
    ['::192.0.2.1', '::c000:201', '000000000000000000000000c0000201'],
  ];
  for (const [input, canonical, hex] of cases) {
    const b = ipToBytes(input);
    t.is(b.length, 16, input);
    t.is(b.toString('hex'), hex, input);
    t.is(bytesToIp(b), canonical, input);
    t.deepEqual(ipToBytes(canonical), b, `${canonical} reads back`);
  }
});

test('isMappedIPv4: only ::ffff:0:0/96 in 16 bytes', (t) => {
  t.true(isMappedIPv4(ipToBytes('::ffff:192.0.2.1')));
  t.true(isMappedIPv4(ipToBytes('::ffff:0.0.0.0')));
  t.false(isMappedIPv4(ipToBytes('::192.0.2.1')), 'IPv4-compatible is not mapped');
  t.false(isMappedIPv4(ipToBytes('64:ff9b::c000:201')));
  t.false(isMappedIPv4(ipToBytes('192.0.2.1')), 'IPv4 bytes are not mapped');
});

test('unmappedIPv4: an IPv4-mapped literal is the IPv4 host a probe reaches; other text unchanged', (t) => {
  t.is(unmappedIPv4('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(unmappedIPv4('::FFFF:192.0.2.1'), '192.0.2.1');
  t.is(unmappedIPv4('192.0.2.1'), '192.0.2.1');
  t.is(unmappedIPv4('2001:db8::1'), '2001:db8::1');
  t.is(unmappedIPv4('::ffff:c000:201'), '::ffff:c000:201', 'only the dotted form (canonical text) is rewritten');
});
