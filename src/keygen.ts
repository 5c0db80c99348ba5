// `steerdns keygen ZONE [--algorithm 13|15] [--dir DIR]` (docs/operations.md#commands, README "DNSSEC"):
// makes a combined signing key (flags 257) in BIND's file format, the private key readable by its owner
// only, and prints the key's base path, then its DS record for the parent zone in presentation form.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveName } from './dns/name.js';
import { algorithmOf, ECDSAP256SHA256 } from './dnssec/algorithms.js';
import { formatPrivateKeyFile, formatPublicKeyFile } from './dnssec/key-files.js';
import { baseNameOf, DIGEST_SHA256, dsRdata, generateKey } from './dnssec/keys.js';
import { dsText } from './dnssec/present.js';
import { namePresentation, nameWire } from './dnssec/wire.js';

export interface KeygenResult {
  /** The key files' path without `.key` / `.private`. */
  base: string;
  /** The DS records in presentation form. */
  ds: string[];
}

/** Makes the key files; returns what to print, or an error message (bad zone or algorithm, files not writable). */
export function keygen(zoneText: string, algorithmText: string | undefined, dir: string): KeygenResult | { error: string } {
  const zone = resolveName(zoneText, '');
  if (typeof zone !== 'string') return { error: `zone ${zone.error}` };
  const algorithm = algorithmText === undefined ? ECDSAP256SHA256 : /^\d+$/.test(algorithmText) ? Number(algorithmText) : NaN;
  if (!algorithmOf(algorithm)) return { error: `--algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519), not "${algorithmText}"` };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return { error: `cannot make ${dir}: ${(e as Error).message}` };
  }
  // a key tag already taken in the folder (a key of this zone and algorithm) is drawn again, as BIND does
  for (let attempt = 0; attempt < 16; attempt++) {
    const { key, privateKey } = generateKey(zone, algorithm);
    const base = join(dir, baseNameOf(key));
    if (existsSync(`${base}.key`)) continue;
    try {
      // exclusive creation: an existing file is never overwritten; the private key is 0600 from its first byte
      writeFileSync(`${base}.private`, formatPrivateKeyFile({ algorithm, privateKey, timing: key.timing }), { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      return { error: `cannot write ${base}.private: ${(e as Error).message}` };
    }
    try {
      writeFileSync(`${base}.key`, formatPublicKeyFile(key), { flag: 'wx', mode: 0o644 });
    } catch (e) {
      return { error: `cannot write ${base}.key: ${(e as Error).message}` };
    }
    const owner = namePresentation(nameWire(zone));
    return { base, ds: [`${owner} IN DS ${dsText(dsRdata(zone, key.dnskey, DIGEST_SHA256))}`] };
  }
  return { error: `every key drawn had a key tag already used by a key file in ${dir}` };
}
