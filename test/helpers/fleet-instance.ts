// One fleet instance in a process of its own, for tests that kill it (SIGKILL: its lease is not revoked):
// `node --import tsx test/helpers/fleet-instance.ts ENDPOINT PREFIX INSTANCE LEASE_TTL_S HEALTH_KEY`. Publishes
// HEALTH_KEY up, prints "connected" once the link is, then waits to be killed.
import { pino } from 'pino';
import { FleetLink } from '../../src/fleet/link.js';

const [endpoint, prefix, instance, ttl, key] = process.argv.slice(2) as [string, string, string, string, string];
const link = new FleetLink({
  etcd: { endpoints: [endpoint], secure: false, prefix, username: null, passwordFile: null, tls: null },
  instance,
  leaseTtlS: Number(ttl),
  log: pino({ level: 'silent' }),
  onObservation: () => undefined,
  onResync: () => undefined,
  onOverrides: () => undefined,
  onState: (c) => {
    if (c) process.stdout.write('connected\n');
  },
});
link.publish(key, { up: true, reason: 'HTTP 200', rttMs: 1, at: Date.now() });
await link.start();
setInterval(() => undefined, 60_000);
