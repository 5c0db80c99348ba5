// This instance as a member of its fleet (docs/configuration.md#fleet), for a single process or a primary: the
// prober writes a local table, the fleet view combines it with the other instances' observations into the
// table the answer path reads, the link publishes this instance's observations on change and keeps the
// overrides in step with etcd. The override store still serves the answer path, so the last known overrides
// (state_dir) answer while etcd is away; its writes go to etcd and return once etcd acknowledged them.
import type { Logger } from 'pino';
import type { FleetConfig } from './config/server-fleet.js';
import type { Observation } from './fleet/codec.js';
import type { FleetLink } from './fleet/link.js';
import { FleetView } from './fleet/view.js';
import type { Override } from './gslb/adjust.js';
import type { HealthTable } from './health/table.js';
import type { FleetStatusSource } from './http/status.js';
import type { OverrideBackend, OverrideStore } from './overrides.js';

export class FleetMember implements OverrideBackend {
  readonly view: FleetView;
  private link: FleetLink | null = null;
  /** The up/down last published per health key: a probe that changes nothing else sends nothing. */
  private readonly published = new Map<string, boolean>();

  constructor(
    readonly config: FleetConfig,
    private readonly local: HealthTable,
    served: HealthTable,
    private readonly store: OverrideStore,
    private readonly log: Logger,
  ) {
    this.view = new FleetView(config.health, local, served);
    local.onChange = (key, entry) => {
      this.view.localChanged(key);
      const up = entry?.up;
      if (this.published.get(key) === up) return;
      if (up === undefined) this.published.delete(key);
      else this.published.set(key, up);
      const o: Observation | null = entry ? { up: entry.up, reason: entry.lastResult, rttMs: entry.rttMs, at: Date.now() } : null;
      this.link?.publish(key, o);
    };
  }

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  get lastSync(): number | null {
    return this.link?.lastSync ?? null;
  }

  /** How many instances observe each target (steerdns_fleet_observers). */
  observers(): [string, number][] {
    return this.view.allObservers();
  }

  /** The fleet's live instances as etcd last said (this one included once registered). */
  instances(): string[] {
    return this.link?.instances() ?? [];
  }

  /** /status's `fleet` and, per probed target, each instance's observation and the verdict served. */
  statusSource(served: HealthTable): FleetStatusSource {
    return {
      status: () => ({ instance: this.config.instance, etcd: this.connected ? 'connected' : 'unreachable', instances: this.instances() }),
      target: (key) => {
        const observations = this.view.observations(key, this.config.instance);
        return Object.keys(observations).length ? { observations, verdict: served.isUp(key) ? 'up' : 'down' } : null;
      },
    };
  }

  /** Connects in the background: answers go on from local health and the last overrides meanwhile. */
  async start(): Promise<void> {
    const { FleetLink } = await import('./fleet/link.js');
    const link = new FleetLink({
      etcd: this.config.etcd,
      instance: this.config.instance,
      leaseTtlS: this.config.leaseTtlS,
      log: this.log,
      onObservation: (i, k, o) => this.view.setRemote(i, k, o),
      onResync: (all) => this.view.replaceRemote(all),
      onOverrides: (list) => this.store.replace(list, true),
    });
    for (const [key, up] of this.published) {
      const e = this.local.get(key);
      link.publish(key, { up, reason: e?.lastResult ?? null, rttMs: e?.rttMs ?? null, at: Date.now() });
    }
    this.link = link;
    // an override that ends here is deleted from etcd too (a leader change resets lease TTLs in etcd 3.4)
    this.store.onExpired = (o) => void link.deleteOverride(o.id).catch(() => undefined);
    await link.start();
  }

  async add(o: Override): Promise<void> {
    if (!this.link) throw new Error('the fleet link has not started');
    await this.link.putOverride(o);
  }

  async remove(id: string): Promise<boolean> {
    if (!this.link) throw new Error('the fleet link has not started');
    return this.link.deleteOverride(id);
  }

  async stop(): Promise<void> {
    await this.link?.close();
  }
}
