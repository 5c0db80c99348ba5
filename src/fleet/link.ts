// This instance's link to the fleet's etcd (docs/architecture.md#the-fleet-in-etcd): a lease of its own, its
// registration and observations bound to it, the other instances' observations and the overrides read once and
// then watched. Connecting: grant a lease → register (refused while another live instance holds the name) →
// publish every local observation → revoke the previous lease → read the fleet's keys page by page at one
// revision → hand them over whole → watch from the next revision. Observations go out on change only (a dirty
// map flushed once per event-loop turn, at most 128 operations a transaction), never on every probe. Losing
// etcd (the lease, the watch, a failed write) starts that sequence again with backoff (0.1 s doubling to 2 s);
// lost for longer than the lease TTL, the other instances' observations are dropped (onResync with nothing).
// Nothing on the query path waits for any of this: the owner applies what the callbacks give.
import type { Etcd3, IKeyValue, Lease, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { EtcdConfig } from '../config/server-fleet.js';
import type { Override } from '../gslb/adjust.js';
import { decodeObservation, decodeOverride, encodeObservation, encodeOverride, FleetKeys, type Observation } from './codec.js';

export interface FleetLinkOptions {
  etcd: EtcdConfig;
  instance: string;
  leaseTtlS: number;
  log: Logger;
  /** Another instance's observation changed (null: withdrawn, or its lease ended). */
  onObservation(instance: string, healthKey: string, o: Observation | null): void;
  /** Every other instance's observations at once: after (re)connecting, or none when etcd was lost too long. */
  onResync(all: Map<string, Map<string, Observation>>): void;
  /** The overrides in etcd, whole, after every change. */
  onOverrides(list: Override[]): void;
  /** Connected or not (logged here too). */
  onState?(connected: boolean): void;
}

/** Keys read per range request: one range of 30,000 keys exceeds gRPC's 4 MB message limit. */
const PAGE = 2000;
/** Operations per transaction (etcd's default --max-txn-ops is 128). */
const TXN_OPS = 128;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/** Unary calls give up after this (a stream is never given a deadline: it would be cut). */
const CALL_DEADLINE_MS = 3000;

const prefixEnd = (p: string): Buffer => {
  const b = Buffer.from(p);
  b[b.length - 1]!++;
  return b;
};

export class FleetLink {
  readonly keys: FleetKeys;
  connected = false;
  /** When the fleet's keys were last read whole (epoch ms), null before. */
  lastSync: number | null = null;
  private client: Etcd3 | null = null;
  private lease: Lease | null = null;
  private leaseId: string | null = null;
  private watcher: Watcher | null = null;
  private readonly local = new Map<string, Observation>();
  private readonly dirty = new Map<string, Observation | null>();
  private flushing = false;
  private readonly overrides = new Map<string, Override>();
  /** The live instances of the fleet (registered, lease alive), this one included once connected. */
  private readonly members = new Set<string>();
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private lostTimer: NodeJS.Timeout | null = null;
  /** Bumped by every (re)connection: events of an older one are ignored. */
  private epoch = 0;

  constructor(private readonly opts: FleetLinkOptions) {
    this.keys = new FleetKeys(opts.etcd.prefix);
  }

  /** Connects in the background (etcd3 is loaded now: a server without a fleet never loads it). */
  async start(): Promise<void> {
    const { Etcd3 } = await import('etcd3');
    const { ExponentialBackoff, noop } = await import('cockatiel');
    const e = this.opts.etcd;
    const file = (f: { text: string | null } | null) => (f?.text ? Buffer.from(f.text) : undefined);
    this.client = new Etcd3({
      hosts: e.endpoints,
      auth: e.username && e.passwordFile?.text ? { username: e.username, password: e.passwordFile.text.trim() } : undefined,
      credentials: e.tls?.ca?.text
        ? { rootCertificate: file(e.tls.ca)!, certChain: file(e.tls.cert), privateKey: file(e.tls.key) }
        : undefined,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      // the watch's default backoff grows to 30 s: a watch back within 2 s once etcd is
      // no retries and no circuit breaker of the client's own (it held a host closed for 5 s after three failures):
      // this link retries its whole sequence with its own backoff
      faultHandling: {
        host: () => noop,
        global: noop,
        watchBackoff: new ExponentialBackoff({ initialDelay: RETRY_MIN_MS, maxDelay: RETRY_MAX_MS }).next(),
      },
      dialTimeout: CALL_DEADLINE_MS,
    });
    void this.connect();
  }

  /** This instance's observation of a target changed (null: no longer probed). */
  publish(healthKey: string, o: Observation | null): void {
    if (o) this.local.set(healthKey, o);
    else this.local.delete(healthKey);
    this.dirty.set(healthKey, o);
    if (!this.flushing && this.connected) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  /** The fleet's live instances, by name (as last read or watched). */
  instances(): string[] {
    return [...this.members].sort();
  }

  /** The overrides as last read or watched. */
  overrideList(): Override[] {
    return [...this.overrides.values()].sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  }

  /** Stores an override under a lease of its own (etcd removes it at its expiry); resolves once etcd acknowledged it. */
  async putOverride(o: Override, now = Date.now()): Promise<void> {
    const client = this.ready();
    const ttl = Math.max(1, Math.ceil((o.until - now) / 1000));
    const lease = client.lease(ttl, { autoKeepAlive: false });
    try {
      await lease.grant();
      await lease.put(this.keys.override(o.id)).value(encodeOverride(o));
    } finally {
      lease.release();
    }
  }

  /** Ends an override; false when etcd has no such override. */
  async deleteOverride(id: string): Promise<boolean> {
    const client = this.ready();
    const r = await client.delete().key(this.keys.override(id));
    return Number(r.deleted) > 0;
  }

  private ready(): Etcd3 {
    if (!this.client || !this.connected) throw new Error(`etcd is unreachable (${this.opts.etcd.endpoints.join(', ')}): not stored`);
    return this.client;
  }

  /** Revokes the lease (this instance's observations leave at once) and closes the client. */
  async close(): Promise<void> {
    this.closed = true;
    this.epoch++;
    for (const t of [this.retryTimer, this.lostTimer]) if (t) clearTimeout(t);
    await this.watcher?.cancel().catch(() => undefined);
    if (this.lease && !this.lease.revoked()) await this.lease.revoke().catch(() => undefined);
    this.client?.close();
    this.client = null;
  }

  private async connect(): Promise<void> {
    if (this.closed || !this.client) return;
    const epoch = ++this.epoch;
    const client = this.client;
    const previous = this.lease;
    const previousId = this.leaseId;
    try {
      const lease = client.lease(this.opts.leaseTtlS);
      const id = await lease.grant();
      lease.on('lost', (err) => this.lost(epoch, `lease lost: ${err.message}`));
      this.lease = lease;
      this.leaseId = id;
      await this.register(client, id, previousId);
      await this.putAll(client, id);
      if (previous && !previous.revoked()) await previous.revoke().catch(() => undefined);
      const { revision, kvs } = await this.readAll(client);
      if (epoch !== this.epoch) return;
      this.resync(kvs);
      const watcher = await client
        .watch()
        .prefix(this.opts.etcd.prefix)
        .startRevision(String(revision + 1n))
        .create();
      if (epoch !== this.epoch) {
        await watcher.cancel();
        return;
      }
      await this.watcher?.cancel().catch(() => undefined);
      this.watcher = watcher;
      watcher.on('put', (kv) => this.changed(kv, false));
      watcher.on('delete', (kv) => this.changed(kv, true));
      watcher.on('disconnected', (err) => this.lost(epoch, `watch: ${err.message}`));
      this.lastSync = Date.now();
      this.retryMs = RETRY_MIN_MS;
      if (this.lostTimer) clearTimeout(this.lostTimer);
      this.lostTimer = null;
      this.setConnected(true);
      // what changed while the sequence ran goes out now
      if (this.dirty.size && !this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    } catch (e) {
      this.lost(epoch, (e as Error).message);
    }
  }

  /** instances/<me> under the new lease, unless another live instance holds the name. */
  private async register(client: Etcd3, id: string, previousId: string | null): Promise<void> {
    const key = this.keys.instance(this.opts.instance);
    const value = JSON.stringify({ instance: this.opts.instance, since: Date.now() });
    const r = await client.if(key, 'Create', '==', 0).then(client.put(key).value(value).lease(id)).commit();
    if (r.succeeded) return;
    const held = await client.get(key).exec();
    const kv = held.kvs[0];
    // held under this process's previous lease (a reconnection), or by nobody any more: take it over
    if (kv && kv.lease !== '0' && kv.lease !== previousId) {
      throw new Error(`instance name ${this.opts.instance} is in use by another live instance of the fleet (lease ${kv.lease})`);
    }
    await client.put(key).value(value).lease(id);
  }

  /** Every local observation, under the new lease (a full resync), in transactions of TXN_OPS. */
  private async putAll(client: Etcd3, id: string): Promise<void> {
    const all = [...this.local];
    this.dirty.clear();
    for (let i = 0; i < all.length; i += TXN_OPS) {
      const ops = all
        .slice(i, i + TXN_OPS)
        .map(([k, o]) => client.put(this.keys.obs(this.opts.instance, k)).value(encodeObservation(o)).lease(id));
      await client
        .if(this.keys.instance(this.opts.instance), 'Create', '>', 0)
        .then(...ops)
        .commit();
    }
  }

  /** Sends what changed since the last flush; a failure keeps it for the next connection's full resync. */
  private async flush(): Promise<void> {
    this.flushing = false;
    const client = this.client;
    const id = this.leaseId;
    if (!client || !id || !this.connected || this.dirty.size === 0) return;
    const batch = [...this.dirty].slice(0, TXN_OPS);
    for (const [k] of batch) this.dirty.delete(k);
    const ops = batch.map(([k, o]) =>
      o
        ? client.put(this.keys.obs(this.opts.instance, k)).value(encodeObservation(o)).lease(id)
        : client.delete().key(this.keys.obs(this.opts.instance, k)),
    );
    try {
      await client
        .if(this.keys.instance(this.opts.instance), 'Create', '>', 0)
        .then(...ops)
        .commit();
    } catch (e) {
      for (const [k, o] of batch) if (!this.dirty.has(k)) this.dirty.set(k, o);
      this.lost(this.epoch, `publishing observations: ${(e as Error).message}`);
      return;
    }
    if (this.dirty.size && !this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  /** The fleet's keys at one revision, page by page. */
  private async readAll(client: Etcd3): Promise<{ revision: bigint; kvs: IKeyValue[] }> {
    const end = prefixEnd(this.opts.etcd.prefix);
    let key = Buffer.from(this.opts.etcd.prefix);
    let revision: bigint | null = null;
    const kvs: IKeyValue[] = [];
    for (;;) {
      const r = await client.kv.range({ key, range_end: end, limit: PAGE, revision: revision === null ? undefined : String(revision) });
      if (revision === null) revision = BigInt(r.header.revision);
      kvs.push(...r.kvs);
      if (!r.more || r.kvs.length === 0) break;
      key = Buffer.concat([r.kvs[r.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return { revision: revision!, kvs };
  }

  private resync(kvs: IKeyValue[]): void {
    const remote = new Map<string, Map<string, Observation>>();
    this.overrides.clear();
    this.members.clear();
    for (const kv of kvs) {
      const key = kv.key.toString();
      const member = this.keys.parseInstance(key);
      if (member) {
        this.members.add(member);
        continue;
      }
      const obs = this.keys.parseObs(key);
      if (obs) {
        if (obs.instance === this.opts.instance) continue;
        const o = decodeObservation(kv.value.toString());
        if (!o) continue;
        let m = remote.get(obs.instance);
        if (!m) {
          m = new Map();
          remote.set(obs.instance, m);
        }
        m.set(obs.healthKey, o);
        continue;
      }
      const id = this.keys.parseOverride(key);
      const o = id ? decodeOverride(kv.value.toString()) : null;
      if (id && o) this.overrides.set(id, o);
    }
    this.opts.onResync(remote);
    this.opts.onOverrides(this.overrideList());
  }

  private changed(kv: IKeyValue, deleted: boolean): void {
    const key = kv.key.toString();
    const member = this.keys.parseInstance(key);
    if (member) {
      if (deleted) this.members.delete(member);
      else this.members.add(member);
      return;
    }
    const obs = this.keys.parseObs(key);
    if (obs) {
      if (obs.instance === this.opts.instance) return;
      this.opts.onObservation(obs.instance, obs.healthKey, deleted ? null : decodeObservation(kv.value.toString()));
      return;
    }
    const id = this.keys.parseOverride(key);
    if (!id) return;
    const o = deleted ? null : decodeOverride(kv.value.toString());
    if (o) this.overrides.set(id, o);
    else this.overrides.delete(id);
    this.opts.onOverrides(this.overrideList());
  }

  private setConnected(c: boolean): void {
    if (this.connected === c) return;
    this.connected = c;
    if (c) this.opts.log.info({ etcd: this.opts.etcd.endpoints, instance: this.opts.instance }, 'fleet: connected to etcd');
    this.opts.onState?.(c);
  }

  /** Connection lost (or never made): retry with backoff; past the lease TTL, the others' observations go. */
  private lost(epoch: number, why: string): void {
    if (this.closed || epoch !== this.epoch) return;
    this.epoch++;
    const was = this.connected;
    this.setConnected(false);
    if (was || this.retryMs === RETRY_MIN_MS)
      this.opts.log.warn(
        { etcd: this.opts.etcd.endpoints, why },
        `fleet: etcd unreachable (${why}): local health and the last overrides serve; retrying`,
      );
    if (!this.lostTimer && this.lastSync !== null)
      this.lostTimer = setTimeout(() => {
        this.lostTimer = null;
        if (!this.connected) this.opts.onResync(new Map());
      }, this.opts.leaseTtlS * 1000).unref();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delay = this.retryMs * (0.8 + Math.random() * 0.4);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
