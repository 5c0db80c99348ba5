import test from 'ava';
import { dig, query, SAMPLE_ZONE, startServer, tcp, udp } from '../helpers/server.js';

test('answers an A query over UDP and TCP, and to dig', async (t) => {
  const s = await startServer({ 'example.test.yaml': SAMPLE_ZONE });
  try {
    const u = await udp(s.port, query('ns1.example.test', 'A'));
    t.is(u.msg.rcode, 'NOERROR');
    t.deepEqual(
      u.msg.answers?.map((a) => a.data),
      ['192.0.2.53'],
    );
    const c = await tcp(s.port, query('ns1.example.test', 'A'));
    t.deepEqual(
      c.msg.answers?.map((a) => a.data),
      ['192.0.2.53'],
    );
    const out = await dig(s.port, ['+short', 'ns1.example.test']);
    t.is(out.trim(), '192.0.2.53');
  } finally {
    await s.stop();
  }
});
