// Unit tests of the DNS registry: numbers and names in both directions (src/dns/registry.ts).
import test from 'ava';
import {
  CLASS,
  CLASS_NAMES,
  className,
  OPTION,
  OPTION_NAMES,
  RCODE,
  RCODE_NAMES,
  rcodeName,
  TYPE,
  TYPE_NAMES,
  typeCode,
  typeName,
} from '../../src/dns/registry.js';

test('every table reads back in both directions', (t) => {
  for (const [table, names] of [
    [TYPE, TYPE_NAMES],
    [CLASS, CLASS_NAMES],
    [RCODE, RCODE_NAMES],
    [OPTION, OPTION_NAMES],
  ] as const) {
    for (const [name, code] of Object.entries(table)) t.is(names[code], name);
    t.is(Object.keys(names).length, Object.keys(table).length, 'no two names share a code');
  }
});

test('the IANA numbers of the types, classes, rcodes and options steerdns uses', (t) => {
  t.like(TYPE, { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, DS: 43, ANY: 255, CAA: 257 });
  t.like(CLASS, { IN: 1, CH: 3 });
  t.like(RCODE, { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 });
  t.like(OPTION, { NSID: 3, ECS: 8 });
});

test('typeName / typeCode: mnemonics, and the generic TYPEnnn form of RFC 3597 for the rest', (t) => {
  t.is(typeName(28), 'AAAA');
  t.is(typeName(99), 'TYPE99');
  t.is(typeCode('AAAA'), 28);
  t.is(typeCode('TYPE99'), 99);
  t.is(typeCode('TYPE28'), 28);
  t.is(typeCode('aaaa'), null, 'names are upper-case');
  t.is(typeCode('BOGUS'), null);
  t.is(typeCode('TOSTRING'), null);
  t.is(typeCode('constructor'), null, 'never a property of every object');
});

test('className and rcodeName', (t) => {
  t.is(className(1), 'IN');
  t.is(className(3), 'CH');
  t.is(className(4), 'CLASS4');
  t.is(rcodeName(3), 'NXDOMAIN');
  t.is(rcodeName(9), '9');
});
