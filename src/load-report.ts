// What a zone load tells the rest of the process besides its new snapshot: the log lines of what did not
// load, the metrics of zones, targets and pools, and the probe list the prober works from.
import type { Logger } from 'pino';
import { type ProbedUse, probeList } from './health/probe-list.js';
import type { CheckTarget } from './health/prober.js';
import type { HealthView } from './health/table.js';
import type { Metrics } from './metrics.js';
import type { LoadReport, Snapshot } from './snapshot.js';

/** The load's diagnostics, and each file that did not load with what keeps serving in its place. */
export function logLoadProblems(report: LoadReport, log: Logger): void {
  for (const m of report.messages) log[m.level]({ file: m.file }, m.text);
  for (const f of report.failed) {
    const kept = report.snapshot.files.get(f)?.zone;
    log.error(
      { file: f, keeping: kept ? kept.serial : null },
      kept
        ? `zone ${kept.origin}. did not load: the last good version (serial ${kept.serial}) keeps serving`
        : 'zone file did not load: it is not served',
    );
  }
}

/**
 * The metrics a load changes — target health (`probes`: only the probing process exports it, a worker's copy
 * would be stale), zone serials, load errors, a decision cell per pool — and a 'zone loaded' line per zone
 * built anew.
 */
export function recordLoad(report: LoadReport, m: Metrics, log: Logger, health: HealthView, probes: boolean): void {
  const zones = report.snapshot.zones;
  m.targetUp.reset();
  if (probes)
    for (const z of zones.values()) {
      for (const p of z.pools) {
        for (const r of p.regions) {
          for (const t of r.targets)
            m.targetUp.set(
              { zone: z.origin, pool: p.name, region: r.name, address: t.address },
              !t.adminDown && health.isUp(t.healthKey) ? 1 : 0,
            );
        }
      }
    }
  m.zoneSerial.reset();
  for (const z of zones.values()) m.zoneSerial.set({ zone: z.origin }, z.serial);
  // every zone has its series from the start (an alert on increase() must see the first failure)
  for (const [f, st] of report.snapshot.files) m.zoneLoadErrors.inc({ zone: st.zone?.origin ?? zoneNameOfFile(f) }, 0);
  for (const f of report.failed) {
    const st = report.snapshot.files.get(f);
    m.zoneLoadErrors.inc({ zone: st?.zone?.origin ?? zoneNameOfFile(f) });
  }
  for (const z of zones.values()) for (const p of z.pools) m.decisionCell(z.origin, p.name);
  for (const z of zones.values()) {
    if (report.changed.some((f) => report.snapshot.files.get(f)?.zone === z)) {
      log.info({ zone: z.origin, serial: z.serial, file: z.spec.file }, 'zone loaded');
    }
  }
}

/** For metrics and /status of a zone file that never loaded: its file name without `.yaml` (bounded by the folder). */
export function zoneNameOfFile(file: string): string {
  return (file.split('/').pop() ?? file).replace(/\.yaml$/, '');
}

/** What the prober probes: every pool target but the admin-down ones, each distinct check once. */
export function probeListOf(snapshot: Pick<Snapshot, 'zones'>): CheckTarget[] {
  return probeList(probedUses(snapshot));
}

function* probedUses(snapshot: Pick<Snapshot, 'zones'>): Generator<ProbedUse> {
  for (const z of snapshot.zones.values()) {
    for (const p of z.pools) {
      for (const r of p.regions) {
        for (const t of r.targets) {
          if (!t.adminDown)
            yield { key: t.healthKey, address: t.address, check: p.spec.check, zone: z.origin, pool: p.name, region: r.name };
        }
      }
    }
  }
}
