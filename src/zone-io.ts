// `steerdns import FILE.zone` and `steerdns export ZONE` (docs/zone-format.md#import-and-export): between RFC
// 1035 master files and the YAML zone format. Import checks its own output: the YAML it prints is read back
// and must hold the same records as the master file.
import { dirname, join, resolve } from 'node:path';
import { listZoneFiles, loadZoneFiles } from './config/load.js';
import { parseMasterZone } from './config/master-file.js';
import { SerialStore } from './config/serial.js';
import { loadServerConfig } from './config/server-config.js';
import { defaultConfig } from './config/server-spec.js';
import { type Diagnostic, displayPath, formatDiagnostic } from './config/source.js';
import { zoneToMaster } from './config/zone-export.js';
import { parseZone, type ZoneSpec } from './config/zone-file.js';
import { zoneToYaml } from './config/zone-import.js';
import { readZoneText } from './config/zone-read.js';
import { resolveName } from './dns/name.js';
import { typeCode } from './dns/registry.js';

const codeOf = (type: string) => typeCode(type)!;

function report(ds: Diagnostic[]): number {
  for (const d of ds) process.stderr.write(`${formatDiagnostic(d)}\n`);
  return ds.filter((d) => d.severity === 'error').length;
}

/** Every record of a zone as sorted canonical lines: owner, type, TTL, RDATA in hex (SOA included). */
export function canonicalRecords(z: ZoneSpec): string[] {
  const s = z.soa;
  const lines = [`${z.origin} SOA ${s.ttl} ${s.mname} ${s.rname} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`];
  for (const n of z.names.values())
    for (const rr of n.rrsets.values()) for (const r of rr.records) lines.push(`${n.name} ${rr.type} ${rr.ttl} ${r.rdata.toString('hex')}`);
  return lines.sort();
}

/** `steerdns import FILE.zone [--origin NAME]`: the equivalent YAML zone on stdout; exit 1 on errors. */
export function importCommand(file: string, origin?: string): number {
  const cfg = defaultConfig(join(dirname(resolve(file)), 'steerdns.yaml'));
  cfg.zonesDir = dirname(resolve(file)); // $INCLUDE stays beside the file
  const read = readZoneText(file, cfg.limits.zoneBytes);
  if (!('text' in read)) {
    process.stderr.write(`${displayPath(file)}:${read.line}:${read.col}: ${read.message}\n`);
    return 1;
  }
  const r = parseMasterZone(resolve(file), read.text, cfg, { origin });
  if (report(r.diagnostics) > 0 || !r.zone) return 1;
  const zone = r.zone;
  const before = canonicalRecords(zone);
  const yaml = zoneToYaml(zone, codeOf, displayPath(file));
  const back = parseZone(join(cfg.zonesDir, `${zone.origin}.yaml`), yaml, cfg);
  const after = back.zone ? canonicalRecords(back.zone) : null;
  if (!after || after.join('\n') !== before.join('\n')) {
    // a bug, never bad input: the YAML written does not read back as the same zone
    report(back.diagnostics);
    process.stderr.write(`steerdns import: the YAML written for ${displayPath(file)} does not read back as the same records\n`);
    return 1;
  }
  process.stdout.write(yaml);
  return 0;
}

/** `steerdns export ZONE [-c steerdns.yaml]`: the static view of a loaded zone as a master file. */
export function exportCommand(configPath: string, name: string | undefined): number {
  if (!name) {
    process.stderr.write('steerdns export: ZONE is required (the origin, e.g. example.test)\n');
    return 2;
  }
  const origin = resolveName(name.endsWith('.') ? name : `${name}.`, '');
  if (typeof origin !== 'string') {
    process.stderr.write(`steerdns export: ${origin.error}\n`);
    return 2;
  }
  const { config, diagnostics } = loadServerConfig(configPath, { command: 'check' });
  if (!config) return Math.min(1, report(diagnostics));
  const files = listZoneFiles(config.zonesDir);
  if (typeof files === 'string') {
    process.stderr.write(`${files}\n`);
    return 1;
  }
  const results = loadZoneFiles(config, files);
  const hit = results.find((r) => r.zone?.origin === origin);
  if (!hit?.zone) {
    // the zone's file may be the one that failed: its errors say why
    const failed = results.filter((r) => !r.zone && r.diagnostics.some((d) => d.severity === 'error'));
    for (const f of failed) report(f.diagnostics);
    const zones = results.flatMap((r) => (r.zone ? [`${r.zone.origin}.`] : []));
    process.stderr.write(`steerdns export: no zone ${origin}. loaded (zones: ${zones.join(', ') || 'none'})\n`);
    return 1;
  }
  const z = hit.zone;
  const serial = z.soa.serial ?? new SerialStore(config.stateDir, false).serialFor(z.origin, z.contentHash);
  process.stdout.write(zoneToMaster(z, serial, codeOf, displayPath(hit.file)));
  return 0;
}
