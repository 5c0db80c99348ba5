// BIND's key files, the format dnssec-keygen writes and BIND, Knot (keymgr import-bind) and ldns read:
// `K<zone>.+<alg>+<tag>.key` holds the DNSKEY record in presentation form after `;` comment lines that say
// when the key is published, activated, retired and deleted; `.private` holds `Private-key-format: v1.3`,
// the algorithm, the private key in base64 and the same times. Times are UTC, YYYYMMDDHHMMSS.
import { algorithmOf } from './algorithms.js';
import { namePresentation, nameWire } from './wire.js';

/** The times of a key's life (unix seconds), as the key files say them; absent: not set. */
export interface KeyTiming {
  created?: number;
  publish?: number;
  activate?: number;
  inactive?: number;
  delete?: number;
  revoke?: number;
}

const TIMING_FIELDS: Record<string, keyof KeyTiming> = {
  created: 'created',
  publish: 'publish',
  activate: 'activate',
  inactive: 'inactive',
  delete: 'delete',
  revoke: 'revoke',
};

/** What a `.key` file says. */
export interface PublicKeyFile {
  /** The owner, in internal form (lower case, no trailing dot). */
  owner: string;
  ttl: number | null;
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Buffer;
  timing: KeyTiming;
}

/** What a `.private` file says. */
export interface PrivateKeyFile {
  algorithm: number;
  privateKey: Buffer;
  timing: KeyTiming;
}

/** A YYYYMMDDHHMMSS time (UTC) → unix seconds, or null. */
export function parseKeyTime(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return t / 1000;
}

/** Unix seconds → YYYYMMDDHHMMSS (UTC). */
export function keyTimeText(unix: number): string {
  return new Date(unix * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Unix seconds → the form BIND puts in parentheses after a time: `Thu Dec  3 15:02:12 2026` (UTC). */
function ctimeText(unix: number): string {
  // "Thu, 03 Dec 2026 15:02:12 GMT"
  const [weekday, day, mon, year, time] = new Date(unix * 1000).toUTCString().split(' ') as [string, string, string, string, string];
  return `${weekday.slice(0, 3)} ${mon} ${String(Number(day)).padStart(2, ' ')} ${time} ${year}`;
}

/** The file name base BIND gives a key: `K<zone>.+<alg>+<tag>` (the zone with its trailing dot). */
export function keyBaseName(zone: string, algorithm: number, tag: number): string {
  return `K${namePresentation(nameWire(zone)).toLowerCase()}+${String(algorithm).padStart(3, '0')}+${String(tag).padStart(5, '0')}`;
}

/** Reads a `.key` file; throws an Error that says what is wrong, with its line. */
export function parsePublicKeyFile(text: string): PublicKeyFile {
  const timing: KeyTiming = {};
  const data: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const comment = /^\s*;\s*([A-Za-z]+):\s*(\d{14})\b/.exec(raw);
    if (comment) {
      const field = TIMING_FIELDS[comment[1]!.toLowerCase()];
      const t = parseKeyTime(comment[2]!);
      if (field && t === null) throw new Error(`line ${i + 1}: "${comment[2]}" is not a time (YYYYMMDDHHMMSS)`);
      if (field) timing[field] = t!;
    }
    const body = raw.replace(/;.*$/, '').trim();
    if (body) data.push({ line: i + 1, text: body });
  });
  if (data.length === 0) throw new Error('no DNSKEY record in the file');
  // one record, possibly spread over lines in parentheses
  const words = data
    .map((d) => d.text)
    .join(' ')
    .replace(/[()]/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  const at = `line ${data[0]!.line}`;
  const ownerText = words.shift()!;
  let ttl: number | null = null;
  for (;;) {
    const w = words[0]?.toUpperCase();
    if (w !== undefined && /^\d+$/.test(w) && ttl === null) ttl = Number(words.shift());
    else if (w === 'IN') words.shift();
    else break;
  }
  if (words.shift()?.toUpperCase() !== 'DNSKEY')
    throw new Error(`${at}: the record is not a DNSKEY (owner [ttl] IN DNSKEY flags 3 algorithm key)`);
  const [flags, protocol, algorithm] = words.splice(0, 3).map((w) => (/^\d+$/.test(w) ? Number(w) : NaN)) as [number, number, number];
  if (!(flags <= 0xffff) || !(protocol <= 0xff) || !(algorithm <= 0xff))
    throw new Error(`${at}: DNSKEY needs flags, protocol and algorithm numbers`);
  const b64 = words.join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error(`${at}: the DNSKEY's public key is not base64`);
  let owner: string;
  try {
    owner = namePresentation(nameWire(ownerText)).toLowerCase().replace(/\.$/, '');
  } catch (e) {
    throw new Error(`${at}: the owner ${(e as Error).message}`);
  }
  if (!ownerText.endsWith('.')) throw new Error(`${at}: the owner "${ownerText}" must be absolute (end in a dot)`);
  return { owner, ttl, flags, protocol, algorithm, publicKey: Buffer.from(b64, 'base64'), timing };
}

/** Reads a `.private` file (`Private-key-format: v1.x`); throws an Error that says what is wrong. */
export function parsePrivateKeyFile(text: string): PrivateKeyFile {
  const fields = new Map<string, { value: string; line: number }>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const m = /^\s*([A-Za-z0-9_-]+):\s*(.*?)\s*$/.exec(raw);
    if (m) fields.set(m[1]!.toLowerCase(), { value: m[2]!, line: i + 1 });
  });
  const format = fields.get('private-key-format');
  if (!format || !/^v1\.\d+$/.test(format.value)) throw new Error('not a private key file (no "Private-key-format: v1.x" line)');
  const alg = fields.get('algorithm');
  const algorithm = alg ? Number(/^(\d+)/.exec(alg.value)?.[1] ?? NaN) : NaN;
  if (!Number.isInteger(algorithm)) throw new Error(`${alg ? `line ${alg.line}: ` : ''}no "Algorithm: N" line`);
  const pk = fields.get('privatekey');
  if (!pk) {
    const known = algorithmOf(algorithm);
    throw new Error(`no "PrivateKey:" line${known ? '' : ` (algorithm ${algorithm} keeps its key in other fields, and is not supported)`}`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(pk.value) || pk.value.length % 4 !== 0) throw new Error(`line ${pk.line}: PrivateKey is not base64`);
  const timing: KeyTiming = {};
  for (const [name, field] of Object.entries(TIMING_FIELDS)) {
    const f = fields.get(name);
    if (!f) continue;
    const t = parseKeyTime(f.value);
    if (t === null) throw new Error(`line ${f.line}: "${f.value}" is not a time (YYYYMMDDHHMMSS)`);
    timing[field] = t;
  }
  return { algorithm, privateKey: Buffer.from(pk.value, 'base64'), timing };
}

const TIMING_ORDER: [keyof KeyTiming, string][] = [
  ['created', 'Created'],
  ['publish', 'Publish'],
  ['activate', 'Activate'],
  ['revoke', 'Revoke'],
  ['inactive', 'Inactive'],
  ['delete', 'Delete'],
];

/** A `.key` file as dnssec-keygen writes it: the role line, the times, the DNSKEY record. */
export function formatPublicKeyFile(key: {
  zone: string;
  flags: number;
  algorithm: number;
  publicKey: Buffer;
  tag: number;
  timing: KeyTiming;
}): string {
  const zone = namePresentation(nameWire(key.zone));
  const role = key.flags & 1 ? 'key-signing' : 'zone-signing';
  const lines = [`; This is a ${role} key, keyid ${key.tag}, for ${zone}`];
  for (const [field, label] of TIMING_ORDER) {
    const t = key.timing[field];
    if (t !== undefined) lines.push(`; ${label}: ${keyTimeText(t)} (${ctimeText(t)})`);
  }
  lines.push(`${zone} IN DNSKEY ${key.flags} 3 ${key.algorithm} ${key.publicKey.toString('base64')}`);
  return `${lines.join('\n')}\n`;
}

/** A `.private` file as dnssec-keygen writes it (`Private-key-format: v1.3`). */
export function formatPrivateKeyFile(key: { algorithm: number; privateKey: Buffer; timing: KeyTiming }): string {
  const alg = algorithmOf(key.algorithm);
  const lines = [
    'Private-key-format: v1.3',
    `Algorithm: ${key.algorithm} (${alg?.mnemonic ?? `ALG${key.algorithm}`})`,
    `PrivateKey: ${key.privateKey.toString('base64')}`,
  ];
  for (const [field, label] of TIMING_ORDER) {
    const t = key.timing[field];
    if (t !== undefined) lines.push(`${label}: ${keyTimeText(t)}`);
  }
  return `${lines.join('\n')}\n`;
}
