// NSEC type bitmaps (RFC 4034 §4.1.2) against the RFC's own example (§4.3), and the records of compact
// denial of existence (RFC 9824): NXNAME for a name that does not exist, the types of a name for NODATA,
// RRSIG and NSEC alone for an empty non-terminal, the next name always the query name's successor.
import test from 'ava';
import { TYPE } from '../../src/dns/registry.js';
import { bitmapTypes, compactNsecRdata, NXNAME, nsecRdata, nxnameNsecRdata, parseNsec, typeBitmap } from '../../src/dnssec/nsec.js';
import { nsecText } from '../../src/dnssec/present.js';
import { namePresentation, nameWire } from '../../src/dnssec/wire.js';

const bytes = (...parts: (number | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p.replace(/\s+/g, ''), 'hex'))));

test('the NSEC RDATA of RFC 4034 §4.3 (host.example.com. A MX RRSIG NSEC TYPE1234), octet for octet', (t) => {
  const rdata = nsecRdata('host.example.com.', [TYPE.A, TYPE.MX, TYPE.RRSIG, TYPE.NSEC, 1234]);
  const expected = Buffer.concat([
    Buffer.from('04686f7374076578616d706c6503636f6d00', 'hex'),
    bytes('00 06 40 01 00 00 00 03'),
    bytes('04 1b', '00'.repeat(26), '20'),
  ]);
  t.is(rdata.toString('hex'), expected.toString('hex'));
  t.deepEqual(parseNsec(rdata).types, [1, 15, 46, 47, 1234]);
  t.is(nsecText(rdata), 'host.example.com. A MX RRSIG NSEC TYPE1234');
});

test('type bitmaps: empty windows are left out, trailing zero octets dropped, types in any order and repeated give one bitmap', (t) => {
  t.is(typeBitmap([]).toString('hex'), '');
  t.is(typeBitmap([TYPE.A]).toString('hex'), '000140');
  t.is(typeBitmap([TYPE.NSEC, TYPE.A, TYPE.NSEC]).toString('hex'), typeBitmap([TYPE.A, TYPE.NSEC]).toString('hex'));
  // CAA is 257: window 1, bit 1
  t.is(typeBitmap([TYPE.CAA]).toString('hex'), '010140');
  t.is(typeBitmap([TYPE.A, TYPE.CAA]).toString('hex'), '000140010140');
  // the last type of a window fills all 32 octets
  t.is(typeBitmap([511]).toString('hex'), `0120${'00'.repeat(31)}01`);
  t.is(typeBitmap([65535]).toString('hex'), `ff20${'00'.repeat(31)}01`);
  t.throws(() => typeBitmap([65536]), { message: '65536 is not an RR type' });
});

test('type bitmaps read back: every type of a round trip, and malformed bitmaps refused (RFC 4034 §4.1.2)', (t) => {
  const types = [1, 2, 5, 6, 15, 16, 28, 33, 43, 46, 47, 48, 128, 257, 1234, 32768, 65535];
  t.deepEqual(bitmapTypes(typeBitmap(types)), types);
  t.throws(() => bitmapTypes(bytes('01 01 40 00 01 40')), { message: 'type bitmap windows are not in ascending order' });
  t.throws(() => bitmapTypes(bytes('00 00')), { message: 'type bitmap window 0 has a bad length 0' });
  t.throws(() => bitmapTypes(bytes('00 21', '00'.repeat(33))), { message: 'type bitmap window 0 has a bad length 33' });
  t.throws(() => bitmapTypes(bytes('00 02 40')), { message: 'type bitmap window 0 has a bad length 2' });
  t.throws(() => bitmapTypes(bytes('00')), { message: 'a type bitmap window block is cut short' });
  // trailing zero octets are left out, so a window never ends in one (nor is all zero)
  t.throws(() => bitmapTypes(bytes('00 02 40 00')), {
    message: 'type bitmap window 0 ends in a zero octet (RFC 4034 §4.1.2: trailing zero octets are left out)',
  });
  t.throws(() => bitmapTypes(bytes('00 01 40 01 01 00')), {
    message: 'type bitmap window 1 ends in a zero octet (RFC 4034 §4.1.2: trailing zero octets are left out)',
  });
});

test('type bitmaps hold data types only: type 0, OPT and the meta and query types 128–255 are refused, NXNAME excepted (RFC 4034 §4.1.2, RFC 9824 §6.1)', (t) => {
  t.throws(() => typeBitmap([TYPE.A, 0]), { message: 'type 0 is reserved (RFC 6895 §3.1): it is never in a type bitmap' });
  for (const meta of [TYPE.OPT, 129, 249, 250, 251, TYPE.AXFR, 253, 254, TYPE.ANY]) {
    t.throws(() => typeBitmap([TYPE.A, meta]), {
      message: `type ${meta} is a meta or query type (RFC 6895 §3.1): only NXNAME of them is in a type bitmap (RFC 4034 §4.1.2, RFC 9824 §6.1)`,
    });
  }
  t.is(typeBitmap([NXNAME]).toString('hex'), `0011${'00'.repeat(16)}80`);
  t.notThrows(() => typeBitmap([1, 40, 42, 127, 256, 65535]), 'the data types around them');
});

test('compact denial, a name that does not exist: NSEC at the name, next \\000.<name>, types RRSIG NSEC NXNAME (RFC 9824 §3.1 example)', (t) => {
  const rdata = nxnameNsecRdata('a.example.com');
  t.is(nsecText(rdata), '\\000.a.example.com. RRSIG NSEC NXNAME');
  // NXNAME is 128: window 0 runs to octet 16 (RRSIG and NSEC in octet 5, NXNAME the top bit of octet 16)
  const expected = Buffer.concat([nameWire('\\000.a.example.com.'), bytes('00 11 00 00 00 00 00 03', '00'.repeat(10), '80')]);
  t.is(rdata.toString('hex'), expected.toString('hex'));
  t.is(NXNAME, 128);
});

test('compact denial, NODATA: the types the name has plus RRSIG and NSEC (RFC 9824 §3.2); an empty non-terminal has RRSIG and NSEC only', (t) => {
  t.is(nsecText(compactNsecRdata('www.example.test', [TYPE.A, TYPE.AAAA])), '\\000.www.example.test. A AAAA RRSIG NSEC');
  t.is(
    nsecText(compactNsecRdata('example.test', [TYPE.SOA, TYPE.NS, TYPE.DNSKEY, TYPE.MX])),
    '\\000.example.test. NS SOA MX RRSIG NSEC DNSKEY',
  );
  t.is(nsecText(compactNsecRdata('ent.example.test', [])), '\\000.ent.example.test. RRSIG NSEC');
  // an insecure delegation: NS and no DS at the cut (RFC 4035 §3.1.4.1)
  t.is(nsecText(compactNsecRdata('sub.example.test', [TYPE.NS])), '\\000.sub.example.test. NS RRSIG NSEC');
});

test('compact denial keeps odd octets of the query name in the next name (the name as asked, lowered)', (t) => {
  const rdata = nxnameNsecRdata(nameWire('x\\000y.Example.test.'));
  t.is(namePresentation(parseNsec(rdata).next), '\\000.x\\000y.example.test.');
});
