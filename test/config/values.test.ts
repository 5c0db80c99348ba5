// Unit tests of the scalar parsers shared by steerdns.yaml and the zone files (src/config/values.ts).
import test from 'ava';
import {
  bytesToIp, ipFamily, ipToBytes, isHostName, isSubdomain, maskBytes, parentName, parseCidr, parseDuration,
  parseHostPort, parseSize, relativeName, resolveName, wireLength,
} from '../../src/config/values.js';

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

test('resolveName: relative, absolute, apex, root, case', (t) => {
  t.is(resolveName('@', 'example.test'), 'example.test');
  t.is(resolveName('www', 'example.test'), 'www.example.test');
  t.is(resolveName('a.b', 'example.test'), 'a.b.example.test');
  t.is(resolveName('WWW.Example.Test.', 'example.test'), 'www.example.test');
  t.is(resolveName('Mail', 'Example.TEST'), 'mail.example.test');
  t.is(resolveName('ns.example.net.', 'example.test'), 'ns.example.net', 'absolute names may leave the origin');
  t.is(resolveName('.', 'example.test'), '');
  t.is(resolveName('www', ''), 'www', 'relative to the root');
  t.is(resolveName('x.', ''), 'x');
  t.is(resolveName('_sip._tcp', 'example.test'), '_sip._tcp.example.test');
  t.is(resolveName('*.static', 'example.test', { owner: true }), '*.static.example.test');
});

test('resolveName: errors', (t) => {
  t.deepEqual(resolveName('a..b', 'example.test'), { error: '"a..b" has an empty label' });
  t.deepEqual(resolveName('..', 'example.test'), { error: '".." has an empty label' });
  t.deepEqual(resolveName('*.x', 'example.test'), { error: '"*.x": "*" is only allowed as the whole leftmost label of an owner name' });
  t.deepEqual(resolveName('a*b', 'example.test', { owner: true }), { error: '"a*b": "*" is only allowed as the whole leftmost label of an owner name' });
  t.deepEqual(resolveName('x.*', 'example.test', { owner: true }), { error: '"x.*": "*" is only allowed as the whole leftmost label of an owner name' });
  t.deepEqual(resolveName('x y', 'example.test'), { error: '"x y" has a label with characters other than letters, digits, "-" and "_"' });
  t.deepEqual(resolveName('café', 'example.test'), { error: '"café" has a label with characters other than letters, digits, "-" and "_"' });
  const long = 'a'.repeat(64);
  t.deepEqual(resolveName(long, 'example.test'), { error: `"${long}" has a label longer than 63 octets` });
  t.is(typeof resolveName('a'.repeat(63), 'example.test'), 'string', '63 octets is fine');
  // 253 characters of text = 255 octets on the wire: the longest legal name
  const l63 = 'a'.repeat(63);
  const max = `${l63}.${l63}.${l63}.${'a'.repeat(61)}.`;
  t.is(resolveName(max, ''), max.slice(0, -1));
  const over = `${l63}.${l63}.${l63}.${'a'.repeat(62)}.`;
  t.deepEqual(resolveName(over, ''), { error: `"${over}" is longer than 255 octets` });
});

test('name helpers', (t) => {
  t.is(wireLength(''), 1);
  t.is(wireLength('example.test'), 14);
  t.true(isHostName('www.example.test'));
  t.true(isHostName(''));
  t.true(isHostName('_dmarc.example.test'));
  t.false(isHostName('-x.example.test'));
  t.false(isHostName('x-.example.test'));
  t.false(isHostName('*.example.test'));
  t.true(isSubdomain('a.example.test', 'example.test'));
  t.true(isSubdomain('example.test', 'example.test'));
  t.true(isSubdomain('anything', ''));
  t.false(isSubdomain('badexample.test', 'example.test'));
  t.false(isSubdomain('example.test', 'a.example.test'));
  t.is(parentName('a.b.c'), 'b.c');
  t.is(parentName('c'), '');
  t.is(relativeName('example.test', 'example.test'), '@');
  t.is(relativeName('www.example.test', 'example.test'), 'www');
  t.is(relativeName('ns.example.net', 'example.test'), 'ns.example.net.');
  t.is(relativeName('www', ''), 'www.');
});
