// Name compression of owner names in written responses (RFC 1035 §4.1.4), through writeResponse itself:
// owners that are the question's name or its suffix point into the question (its case as asked is echoed),
// owners written before point at their first occurrence, only offsets below 0x4000 are ever pointed at,
// and every message decodes to the owners it was given.
import test from 'ava';
import packet from 'dns-packet';
import { parseQuery } from '../../src/dns/query.js';
import { TYPE } from '../../src/dns/registry.js';
import { type Answer, emptyAnswer, type RRset, rrset } from '../../src/dns/rrset.js';
import { type WrittenMessage, writeResponse } from '../../src/dns/writer.js';
import type { Msg } from '../helpers/server.js';
import { rawQuery } from '../helpers/wire.js';

const a = (owner: string, last: number): RRset => rrset(owner, TYPE.A, 300, [Buffer.from([192, 0, 2, last])], false);

function write(qname: string, ans: Answer, maxSize = 65535): Buffer {
  const msg = rawQuery({ name: qname, qtype: TYPE.A });
  const written: WrittenMessage = { truncated: false, answerCount: 0, authorityCount: 0, additionalCount: 0 };
  const opts = { rcode: 0, aa: true, maxSize, rotation: null, nsid: null, ecsScope: 0, truncate: false };
  return writeResponse(msg, parseQuery(msg), ans, opts, written);
}

/** Every compression pointer in the records after the question: [offset of the pointer, its target]. */
function pointers(out: Buffer): [number, number][] {
  const found: [number, number][] = [];
  let p = 12;
  while (out[p] !== 0) p += out[p]! + 1;
  p += 5;
  const count = out.readUInt16BE(6) + out.readUInt16BE(8) + out.readUInt16BE(10);
  for (let i = 0; i < count; i++) {
    for (;;) {
      const len = out[p]!;
      if (len >= 0xc0) {
        found.push([p, ((len & 0x3f) << 8) | out[p + 1]!]);
        p += 2;
        break;
      }
      p += len + 1;
      if (len === 0) break;
    }
    p += 8;
    p += out.readUInt16BE(p) + 2;
  }
  return found;
}

test('an owner that is the question name, in any case, points at the question; a suffix of it points at its label there (RFC 1035 §4.1.4)', (t) => {
  const ans = emptyAnswer(0, 'example.test', true);
  ans.answer.push(a('www.example.test', 1), a('example.test', 2), a('test', 3));
  const out = write('WWW.Example.TEST', ans);
  t.deepEqual(
    pointers(out).map(([, to]) => to),
    [12, 16, 24],
    'www.example.test → the question, example.test → its second label, test → its third',
  );
  const res = packet.decode(out) as unknown as Msg;
  t.deepEqual(
    res.answers.map((r) => r.name),
    ['WWW.Example.TEST', 'Example.TEST', 'TEST'],
    'the case as asked',
  );
});

test('an owner written out once is pointed at afterwards, and so is each of its suffixes (RFC 1035 §4.1.4)', (t) => {
  const ans = emptyAnswer(0, 'example.test', true);
  ans.answer.push(a('a.b.example.test', 1), a('a.b.example.test', 2), a('c.b.example.test', 3), a('b.example.test', 4));
  const out = write('q.example.test', ans);
  // records start at 32, after the question (q.example.test: 16 octets) and its type and class; each
  // record's fixed part and address take 14 octets after its owner
  t.deepEqual(pointers(out), [
    [36, 14], // "a" "b" written, then example.test in the question
    [52, 32], // a.b.example.test again (the first record: 4 + 2 + 14 octets)
    [70, 34], // "c" written, then b.example.test (the second record: 2 + 14)
    [86, 34], // b.example.test (the third record: 2 + 2 + 14)
  ]);
  const res = packet.decode(out) as unknown as Msg;
  t.deepEqual(
    res.answers.map((r) => r.name),
    ['a.b.example.test', 'a.b.example.test', 'c.b.example.test', 'b.example.test'],
  );
});

test('names written at or past offset 0x4000 are never pointed at: a pointer has 14 bits (RFC 1035 §4.1.4)', (t) => {
  const ans = emptyAnswer(0, 'example.test', true);
  // 1,400 owners of 20-odd octets: the message runs well past 0x4000 (TCP)
  for (let i = 0; i < 1400; i++) ans.answer.push(a(`n${i % 700}.sub${i % 700}.example.test`, i & 0xff));
  const out = write('example.test', ans);
  t.true(out.length > 0x6000, `${out.length} octets`);
  const ptrs = pointers(out);
  t.true(
    ptrs.every(([, to]) => to < 0x4000),
    'every target below 0x4000',
  );
  // the second half repeats the first: owners first written before 0x4000 are pointers, the others written again
  const repeatedAsPointer = ptrs.filter(([at, to]) => at >= 0x4000 && to > 12 + 18).length;
  t.true(repeatedAsPointer > 0 && repeatedAsPointer < 700, `${repeatedAsPointer} of 700 repeated owners pointed at`);
  const res = packet.decode(out) as unknown as Msg;
  t.is(res.answers.length, 1400);
  t.true(res.answers.every((r, i) => r.name === `n${i % 700}.sub${i % 700}.example.test`));
});
