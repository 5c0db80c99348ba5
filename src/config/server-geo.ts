// `regions:` and `geoip:` of steerdns.yaml (docs/configuration.md#regions, #geoip): the regions pools are
// placed in, with their locations and states, and where clients are located from (the GeoIP database, the
// `geoip.networks` overlay, ECS).
import { resolve } from 'node:path';
import type { Node } from 'yaml';
import { parseCidr } from '../net/cidr.js';
import type { GeoOverlay, ServerConfig } from './server-spec.js';
import { type Entry, entryMap, type SourceFile } from './source.js';

function location(src: SourceFile, node: Node | null, what: string): [number, number] | null {
  const items = src.isSeq(node) ? src.list(node) : [];
  if (items.length !== 2) {
    src.error(node, `${what} must be [latitude, longitude]`);
    return null;
  }
  const lat = src.number(items[0]!, `${what} latitude`, -90, 90);
  const lon = src.number(items[1]!, `${what} longitude`, -180, 180);
  return lat === null || lon === null ? null : [lat, lon];
}

export function readRegions(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  if (!ent || src.scalar(ent.value) === null) return;
  const entries = src.map(ent.value, 'regions');
  if (!entries) return;
  for (const r of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r.key)) {
      src.error(r.keyNode, `region name "${r.key}" may only use letters, digits, ".", "_" and "-"`);
      continue;
    }
    const body = src.map(r.value, `region "${r.key}"`);
    if (!body) continue;
    src.knownKeys(body, ['location', 'state'], `region "${r.key}"`);
    const b = entryMap(body);
    const locEnt = b.get('location');
    if (!locEnt) {
      src.error(r.keyNode, `region "${r.key}" needs a location: [latitude, longitude]`);
      continue;
    }
    const loc = location(src, locEnt.value, `region "${r.key}" location`);
    const stEnt = b.get('state');
    const state = stEnt ? src.oneOf(stEnt.value, `region "${r.key}" state`, ['up', 'down', 'drain'] as const) : 'up';
    if (loc && state) cfg.regions.set(r.key, { name: r.key, location: loc, state, index: cfg.regions.size });
  }
}

export function readGeoip(src: SourceFile, ent: Entry | undefined, cfg: ServerConfig): void {
  const e = src.section(ent, 'geoip', ['database', 'networks', 'ecs']);
  if (!e) return;
  const db = e.get('database');
  if (db && src.scalar(db.value) !== null) {
    const v = src.string(db.value, 'geoip.database');
    if (v) {
      cfg.geoip.database = resolve(cfg.dir, v);
      cfg.geoip.databaseAt = { file: src.display, ...src.position(db.value) };
    }
  }
  const ecs = e.get('ecs');
  if (ecs) {
    const v = src.boolean(ecs.value, 'geoip.ecs');
    if (v !== null) cfg.geoip.ecs = v;
  }
  const nets = e.get('networks');
  if (!nets || src.scalar(nets.value) === null) return;
  const list = src.map(nets.value, 'geoip.networks');
  for (const n of list ?? []) {
    const cidr = parseCidr(n.key);
    if (typeof cidr === 'string') {
      src.error(n.keyNode, `geoip.networks: ${cidr}`);
      continue;
    }
    const body = src.map(n.value, `geoip.networks "${n.key}"`);
    if (!body) continue;
    src.knownKeys(body, ['region', 'location', 'country', 'continent'], `geoip.networks "${n.key}"`);
    const b = entryMap(body);
    const overlay: GeoOverlay = { network: cidr };
    const region = b.get('region');
    if (region) {
      const r = src.string(region.value, 'region');
      if (r && !cfg.regions.has(r)) src.error(region.value, `geoip.networks "${n.key}": region "${r}" is not declared in regions`);
      else if (r) overlay.region = r;
    }
    const loc = b.get('location');
    if (loc) overlay.location = location(src, loc.value, `geoip.networks "${n.key}" location`) ?? undefined;
    const country = b.get('country');
    if (country) {
      const c = src.string(country.value, 'country');
      if (c && !/^[A-Za-z]{2}$/.test(c)) src.error(country.value, `country must be a two-letter ISO code, got "${c}"`);
      else if (c) overlay.country = c.toUpperCase();
    }
    const continent = b.get('continent');
    if (continent) {
      const c = src.oneOf(continent.value, 'continent', ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const);
      if (c) overlay.continent = c;
    }
    if (region && (loc || country || continent))
      src.error(n.keyNode, `geoip.networks "${n.key}": give either region or a location, not both`);
    else if (!region && !loc && !country) src.error(n.keyNode, `geoip.networks "${n.key}" needs region or location`);
    cfg.geoip.networks.push(overlay);
  }
}
