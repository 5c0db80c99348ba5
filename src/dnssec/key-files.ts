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
  /** When BIND publishes and withdraws the key's CDS/CDNSKEY (kept through a round trip; no role depends on them). */
  syncPublish?: number;
  syncDelete?: number;
}

/** A role a `.key` file states outright in a `; publish: yes` / `; active: no` comment line, docs/configuration.md#dnssec). */
export interface KeyRoleFlags {
  publish?: boolean;
  active?: boolean;
}

/** The names of the time fields (comment lines of `.key`, fields of `.private`), lower case; `Active` is read as
 *  a spelling of `Activate`. */
const TIMING_FIELDS: Record<string, keyof KeyTiming> = {
  created: 'created',
  publish: 'publish',
  activate: 'activate',
  active: 'activate',
  inactive: 'inactive',
  delete: 'delete',
  revoke: 'revoke',
  syncpublish: 'syncPublish',
  syncdelete: 'syncDelete',
};

/** The comment words that may state a role as true/false/yes/no. */
const FLAG_FIELDS: Record<string, keyof KeyRoleFlags> = { publish: 'publish', active: 'active', activate: 'active' };
const BOOLEANS: Record<string, boolean> = { true: true, yes: true, false: false, no: false };
/** A comment word that looks like a role or a time of one but is none of the forms read: refused, not ignored. */
const ROLE_LIKE = /^(publish|activ|inactiv|retir|delet|remov|revok|creat|sync|role|enabl|disabl)/i;
const COMMENT_FORMS =
  'write "; publish: true|false|yes|no", "; active: true|false|yes|no", or a time as BIND does: "; Publish: YYYYMMDDHHMMSS" (also Created, Activate, Inactive, Delete, Revoke, SyncPublish, SyncDelete)';

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
  roleFlags: KeyRoleFlags;
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
  const roleFlags: KeyRoleFlags = {};
  const seen = new Map<string, number>();
  const data: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    readRoleComment(raw, i + 1, timing, roleFlags, seen);
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
  return { owner, ttl, flags, protocol, algorithm, publicKey: Buffer.from(b64, 'base64'), timing, roleFlags };
}

/**
 * A comment line of a `.key` file that states a role or a time (docs/configuration.md#dnssec): `; publish:` or
 * `; active:` (or `Activate`) with true, false, yes or no; a time field as BIND writes it (`; Publish:
 * 20261203150212 (Thu Dec  3 15:02:12 2026)`), `Active` read as `Activate`. Any other comment whose word looks
 * like a role (`; published: yes`, `; active = no`, `; publish false`) is an error rather than a role silently
 * lost; other comments (BIND's `; This is a key-signing key...`, notes) are not read.
 */
function readRoleComment(raw: string, line: number, timing: KeyTiming, flags: KeyRoleFlags, seen: Map<string, number>): void {
  const field = /^\s*;+\s*([A-Za-z]+)\s*([:=])\s*(.*?)\s*$/.exec(raw);
  const bare = /^\s*;+\s*(publish|active|activate)\s+(true|false|yes|no|\d{14})\b/i.exec(raw);
  if (!field && !bare) return;
  const word = (field?.[1] ?? bare![1]!).toLowerCase();
  const known = field !== null && field[2] === ':' && (word in TIMING_FIELDS || word in FLAG_FIELDS);
  if (!known) {
    if (bare || ROLE_LIKE.test(word)) throw new Error(`line ${line}: "${raw.trim()}" is not a role line steerdns reads: ${COMMENT_FORMS}`);
    return; // a comment of another kind
  }
  const [, value = '', rest = ''] = /^(\S*)\s*(.*)$/.exec(field![3]!) ?? [];
  const flag = FLAG_FIELDS[word];
  const boolean = BOOLEANS[value.toLowerCase()];
  let slot: string;
  if (flag && boolean !== undefined && rest === '') {
    slot = `${flag} flag`;
    flags[flag] = boolean;
  } else if (/^\d{14}$/.test(value) && (rest === '' || /^\(.*\)$/.test(rest))) {
    const t = parseKeyTime(value);
    if (t === null) throw new Error(`line ${line}: "${value}" is not a time (YYYYMMDDHHMMSS)`);
    const key = TIMING_FIELDS[word]!;
    slot = `${key} time`;
    timing[key] = t;
  } else {
    throw new Error(
      `line ${line}: "${field![3]}" is not ${flag ? 'true, false, yes, no or a time' : 'a time'} (${word}: ${flag ? 'true|false|yes|no or ' : ''}YYYYMMDDHHMMSS)`,
    );
  }
  const before = seen.get(slot);
  if (before !== undefined) throw new Error(`line ${line}: the ${slot} is given twice (also on line ${before})`);
  seen.set(slot, line);
}

/** Reads a `.private` file (`Private-key-format: v1.x`); throws an Error that says what is wrong. */
export function parsePrivateKeyFile(text: string): PrivateKeyFile {
  const fields = privateFields(text);
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
  return { algorithm, privateKey: Buffer.from(pk.value, 'base64'), timing: privateTiming(fields) };
}

/** The times of a `.private` file alone, its key not read (a key only published needs no private key, but its
 *  times may be kept there only); throws an Error that says what is wrong with a time or the file's format. */
export function parsePrivateKeyTiming(text: string): KeyTiming {
  const fields = privateFields(text);
  const format = fields.get('private-key-format');
  if (!format || !/^v1\.\d+$/.test(format.value)) throw new Error('not a private key file (no "Private-key-format: v1.x" line)');
  return privateTiming(fields);
}

type PrivateFields = Map<string, { value: string; line: number }>;

function privateFields(text: string): PrivateFields {
  const fields: PrivateFields = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    const m = /^\s*([A-Za-z0-9_-]+):\s*(.*?)\s*$/.exec(raw);
    if (m) fields.set(m[1]!.toLowerCase(), { value: m[2]!, line: i + 1 });
  });
  return fields;
}

function privateTiming(fields: PrivateFields): KeyTiming {
  const timing: KeyTiming = {};
  for (const [name, field] of Object.entries(TIMING_FIELDS)) {
    const f = fields.get(name);
    if (!f) continue;
    const t = parseKeyTime(f.value);
    if (t === null) throw new Error(`line ${f.line}: "${f.value}" is not a time (YYYYMMDDHHMMSS)`);
    timing[field] = t;
  }
  return timing;
}

const TIMING_ORDER: [keyof KeyTiming, string][] = [
  ['created', 'Created'],
  ['publish', 'Publish'],
  ['activate', 'Activate'],
  ['revoke', 'Revoke'],
  ['inactive', 'Inactive'],
  ['delete', 'Delete'],
  ['syncPublish', 'SyncPublish'],
  ['syncDelete', 'SyncDelete'],
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
