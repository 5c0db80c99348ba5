// Unit tests of domain names in presentation and internal form (src/dns/name.ts).
import test from 'ava';
import { isHostName, isSubdomain, parentName, relativeName, resolveName, wireLength } from '../../src/dns/name.js';

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
  t.deepEqual(resolveName('a*b', 'example.test', { owner: true }), {
    error: '"a*b": "*" is only allowed as the whole leftmost label of an owner name',
  });
  t.deepEqual(resolveName('x.*', 'example.test', { owner: true }), {
    error: '"x.*": "*" is only allowed as the whole leftmost label of an owner name',
  });
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
