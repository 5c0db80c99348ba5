#!/usr/bin/env node
// Builds a GeoIP database (.mmdb, MaxMind DB format) from a CSV or YAML list of networks, for private
// networks or test fixtures. Records use the GeoIP2 City schema (continent.code, country.iso_code,
// location.latitude/longitude, subdivisions[].iso_code), which steerdns reads like MaxMind's own files.
//
//   node tools/geodb-build.mjs networks.yaml -o geodb/private.mmdb
//   node tools/geodb-build.mjs networks.csv  -o geodb/private.mmdb
//
// YAML:  networks: { "10.20.0.0/16": { country: GB, continent: EU, location: [51.5, -0.1], subdivision: ENG } }
// CSV:   network,country,continent,latitude,longitude,subdivision   (header line required; empty = absent)
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { writeMmdb } from './mmdb-writer.mjs';

const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

/**
 * One network's record in the GeoIP2 City schema.
 * @param {{country?: string, continent?: string, location?: [number, number], subdivision?: string}} e
 * @param {string} where
 */
export function geoRecord(e, where) {
  const rec = {};
  if (e.continent !== undefined) {
    const c = String(e.continent).toUpperCase();
    if (!CONTINENTS.includes(c)) throw new Error(`${where}: continent must be one of ${CONTINENTS.join(', ')}`);
    rec.continent = { code: c };
  }
  if (e.country !== undefined) {
    const c = String(e.country).toUpperCase();
    if (!/^[A-Z]{2}$/.test(c)) throw new Error(`${where}: country must be a two-letter ISO code`);
    rec.country = { iso_code: c };
  }
  if (e.location !== undefined) {
    const [lat, lon] = e.location;
    if (!(typeof lat === 'number' && lat >= -90 && lat <= 90 && typeof lon === 'number' && lon >= -180 && lon <= 180)) {
      throw new Error(`${where}: location must be [latitude, longitude]`);
    }
    rec.location = { latitude: { type: 'double', value: lat }, longitude: { type: 'double', value: lon } };
  }
  // a subdivision alone places nothing (map keys are CC-SUB): it needs one of the others
  if (Object.keys(rec).length === 0) throw new Error(`${where}: give at least one of country, continent, location`);
  if (e.subdivision !== undefined) rec.subdivisions = [{ iso_code: String(e.subdivision).toUpperCase() }];
  return rec;
}

/** Parses the input text (YAML or CSV) into [{ network, data }]. */
export function parseNetworks(text, name) {
  if (/\.csv$/i.test(name)) {
    // [text, line number]: errors name the line in the file, comments and blank lines included
    const lines = text
      .split(/\r?\n/)
      .map((l, i) => [l, i + 1])
      .filter(([l]) => l.trim() && !l.startsWith('#'));
    const header = lines
      .shift()?.[0]
      .split(',')
      .map((h) => h.trim());
    if (!header?.includes('network')) throw new Error(`${name}: the first line must be a header naming the columns (network,country,...)`);
    return lines.map(([line, n]) => {
      const cells = line.split(',').map((c) => c.trim());
      const row = Object.fromEntries(header.map((h, j) => [h, cells[j] ?? '']));
      const where = `${name}:${n}`;
      const e = {};
      if (row.country) e.country = row.country;
      if (row.continent) e.continent = row.continent;
      if (row.subdivision) e.subdivision = row.subdivision;
      // an empty cell is missing, not 0: a row with only one coordinate is an error, not a point on the equator
      if (row.latitude || row.longitude) e.location = [Number(row.latitude || NaN), Number(row.longitude || NaN)];
      return { network: row.network, data: geoRecord(e, where) };
    });
  }
  const doc = parse(text);
  const nets = doc?.networks ?? doc;
  if (!nets || typeof nets !== 'object')
    throw new Error(`${name}: expected a networks: mapping of CIDR → { country, continent, location }`);
  return Object.entries(nets).map(([network, e]) => ({ network, data: geoRecord(e ?? {}, `${name}: ${network}`) }));
}

function main(argv) {
  const outIdx = argv.indexOf('-o');
  const input = argv.find((a, i) => !a.startsWith('-') && i !== outIdx + 1);
  const output = outIdx >= 0 ? argv[outIdx + 1] : undefined;
  if (!input || !output) {
    process.stderr.write('usage: node tools/geodb-build.mjs INPUT.(yaml|csv) -o OUTPUT.mmdb\n');
    return 2;
  }
  try {
    const networks = parseNetworks(readFileSync(input, 'utf8'), input);
    writeFileSync(output, writeMmdb(networks, { description: `steerdns networks from ${input}` }));
    process.stdout.write(`${output}: ${networks.length} networks\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`geodb-build: ${e.message}\n`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) process.exitCode = main(process.argv.slice(2));
