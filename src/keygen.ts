// `steerdns keygen ZONE [--algorithm 13|15] [--dir DIR]` (docs/operations.md#commands, README "DNSSEC"):
// makes a combined signing key (flags 257) in BIND's file format, the private key readable by its owner
// only, and prints the key's base path, then its DS record for the parent zone in presentation form.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
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
    // exclusive creation: an existing file is never overwritten; the private key is 0600 from its first byte
    const written = writeNew(`${base}.private`, formatPrivateKeyFile({ algorithm, privateKey, timing: key.timing }), 0o600);
    if (written === 'exists') continue;
    if (written) return { error: written };
    const pub = writeNew(`${base}.key`, formatPublicKeyFile(key), 0o644);
    if (pub) {
      // a key without both its files is no key: the .private written a moment ago goes too
      rmSync(`${base}.private`, { force: true });
      if (pub === 'exists') continue; // another keygen took the tag since the check above
      return { error: pub };
    }
    const owner = namePresentation(nameWire(zone));
    return { base, ds: [`${owner} IN DS ${dsText(dsRdata(zone, key.dnskey, DIGEST_SHA256))}`] };
  }
  return { error: `every key drawn had a key tag already used by a key file in ${dir}` };
}

/** Creates `file` (never over an existing one) with `text`; null when written, 'exists', or why it failed. A
 *  file begun and not finished (a full disk, a size limit) is removed: only this call created it. */
function writeNew(file: string, text: string, mode: number): null | 'exists' | string {
  let created = false;
  try {
    const fd = openSync(file, 'wx', mode);
    created = true;
    try {
      writeFileSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return null;
  } catch (e) {
    if (!created && (e as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    if (created) rmSync(file, { force: true });
    return `cannot write ${file}: ${(e as Error).message}`;
  }
}
