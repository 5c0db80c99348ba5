// RFC 1035 master files (docs/zone-format.md#master-files): a `*.zone` file of the zones folder is a zone of
// its own, and a YAML zone may take its static records from one (`include:`). Read here: the directives
// ($ORIGIN, $TTL, $INCLUDE inside the zones folder), owners (`@`, relative, blank = the previous one), TTL
// and class in either order, and each record's RDATA (master-rdata.ts) into the same NameSpecs the YAML
// reader makes, so the rules between records (zone-rules.ts) and everything after loading are shared.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { relativeName, wireLength } from '../dns/name.js';
import { rdataToText } from '../dns/rdata-text.js';
import { TYPE, typeCode, typeName } from '../dns/registry.js';
import { type LogicalLine, logicalLines, type Token } from './master-lexer.js';
import { readRdata, soaFields, ttlValue } from './master-rdata.js';
import { FieldError, Fields, tokenBytes, tokenName } from './master-text.js';
import { RECORD_TYPES, type RecordType, signerTypeRefusal } from './records.js';
import type { ServerConfig } from './server-spec.js';
import { type At, displayPath, lineColumn, reportable, SourceFile } from './source.js';
import { hashZone } from './zone-hash.js';
import { readZoneText } from './zone-read.js';
import { checkZone } from './zone-rules.js';
import { MAX_TTL, type NameSpec, type RRsetSpec, type SoaSpec, type ZoneResult, type ZoneSpec } from './zone-spec.js';

export const MASTER_SUFFIX = '.zone';
/** How deep `$INCLUDE` may nest. */
const MAX_INCLUDE_DEPTH = 8;

/** A master file being read into a zone: shared by the file and everything it includes. */
export interface MasterReading {
  src: SourceFile;
  /** The zones folder, through its links: included files must be inside it. */
  zonesDir: string;
  /** Bytes every file read may still take (limits.zone_bytes for the zone as a whole). */
  budget: number;
  /** The zone's apex: the SOA owner of a zone of its own, the YAML origin of an `include:`. */
  apex: string | null;
  soa: SoaSpec | null;
  soaAt: number | null;
  /** Where the YAML zone gives `soa:` (a second SOA from an included file is then an error). */
  yamlSoa: At | null;
  names: Map<string, NameSpec>;
  /** RRsets made from master files (a type also written in YAML at the same name is an error). */
  own: Set<RRsetSpec>;
  /** Every included file read, absolute. */
  includes: string[];
  /** Real paths of the files being read, outermost first (an include loop is an error). */
  stack: string[];
  warnedNoTtl: boolean;
  /** The first record that is not the SOA, in a zone of its own without one before it (reported once). */
  noSoa: boolean;
}

/** What one file reads and changes as it goes: its origin, default TTL, last TTL and previous owner. */
interface FileState {
  path: string;
  display: string;
  main: boolean;
  origin: string | null;
  defaultTtl: number | null;
  lastTtl: number | null;
  owner: string | null;
}

/**
 * The zone of a `*.zone` file; its origin starts as the file's name (`example.test.zone`) unless `origin`
 * is given, and the zone's apex is its SOA's owner.
 */
export function parseMasterZone(path: string, text: string, cfg: ServerConfig, opts: { origin?: string } = {}): ZoneResult {
  const src = new SourceFile(path, '');
  const m: MasterReading = {
    src,
    zonesDir: realDir(cfg.zonesDir),
    budget: cfg.limits.zoneBytes - Buffer.byteLength(text),
    apex: null,
    soa: null,
    soaAt: null,
    yamlSoa: null,
    names: new Map(),
    own: new Set(),
    includes: [],
    stack: [realOr(path)],
    warnedNoTtl: false,
    noSoa: false,
  };
  const base = basename(path);
  const fromName = opts.origin
    ? tokenNameOrNull(opts.origin.endsWith('.') ? opts.origin : `${opts.origin}.`)
    : base.endsWith(MASTER_SUFFIX)
      ? tokenNameOrNull(`${base.slice(0, -MASTER_SUFFIX.length)}.`)
      : null;
  const st: FileState = { path, display: src.display, main: true, origin: fromName, defaultTtl: null, lastTtl: null, owner: null };
  readMasterText(m, text, st);
  // (a file with errors before its SOA says so; "no SOA" would only repeat them)
  if (!m.soa && !m.noSoa && !src.hasErrors)
    src.error(mainCode(1, 1), 'no SOA record: the first record of a zone file is its SOA (RFC 1035 §5.2)');
  checkSizes(m);
  if (m.soa && m.soaAt !== null) checkZone({ src, origin: m.apex!, names: m.names }, m.soaAt);
  if (src.hasErrors || !m.soa || m.apex === null) return { zone: null, diagnostics: reportable(src.diagnostics), includes: m.includes };
  const zone: ZoneSpec = {
    file: path,
    origin: m.apex,
    originPos: src.position(m.soaAt),
    ttl: m.soa.ttl,
    soa: m.soa,
    names: m.names,
    contentHash: '',
    includes: m.includes,
  };
  zone.contentHash = hashZone(zone);
  return { zone, diagnostics: reportable(src.diagnostics), includes: m.includes };
}

/**
 * Reads the master file `path` into a YAML zone being read (`include:` at `at`): its records join the YAML
 * ones, at the zone's origin and default TTL; an SOA in it is the zone's when YAML gives none.
 */
export function includeMasterFile(m: MasterReading, path: string, at: At, ttl: number): void {
  const text = readIncluded(m, path, at);
  if (text === null) return;
  const st: FileState = {
    path,
    display: displayPath(path),
    main: false,
    origin: m.apex,
    defaultTtl: ttl,
    lastTtl: null,
    owner: null,
  };
  m.stack.push(realOr(path));
  readMasterText(m, text, st);
  m.stack.pop();
}

/** Every RRset read from master files must fit in one DNS message, as zone-records.ts requires of YAML ones. */
export function checkSizes(m: MasterReading): void {
  for (const n of m.names.values()) {
    for (const rr of n.rrsets.values()) {
      if (!m.own.has(rr)) continue;
      // header, the question, each record with a compressed owner, and an OPT
      const size = 12 + wireLength(n.name) + 4 + rr.records.reduce((sum, r) => sum + 12 + r.rdata.length, 0) + 64;
      if (size > 65535)
        m.src.error(
          rr.at,
          `${rr.type} at "${relativeName(n.name, m.apex!)}" is about ${size} octets on the wire: it cannot fit in a DNS message (65535 octets, even over TCP)`,
        );
    }
  }
}

/** The zones folder through its links (or as written when it cannot be resolved). */
export function realDir(dir: string): string {
  return realOr(resolve(dir));
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

function tokenNameOrNull(text: string): string | null {
  try {
    return tokenName({ raw: text, quoted: false, line: 0, col: 0 }, '', 'origin');
  } catch {
    return null;
  }
}

function readMasterText(m: MasterReading, text: string, st: FileState): void {
  const pos = (line: number, col: number) => m.src.fileLineColumn(st.display, line, col);
  const mainPos = (line: number, col: number) => (st.main ? mainCode(line, col) : pos(line, col));
  const at = (t: Token) => mainPos(t.line, t.col);
  for (const item of logicalLines(text)) {
    if ('error' in item) {
      m.src.error(mainPos(item.line, item.col), item.error);
      continue;
    }
    try {
      const first = item.tokens[0]!;
      if (!first.quoted && first.raw.startsWith('$')) directive(m, st, item, at);
      else record(m, st, item, at);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      const t = e.token ?? item.tokens[item.tokens.length - 1]!;
      m.src.error(at(t), e.message);
    }
  }
}

/** A position in the main file (the SourceFile's own line and column codes). */
function mainCode(line: number, col: number): number {
  return lineColumn(line, Math.min(col, 65535));
}

function directive(m: MasterReading, st: FileState, item: LogicalLine, at: (t: Token) => number): void {
  const [d, ...args] = item.tokens as [Token, ...Token[]];
  const name = d.raw.toUpperCase();
  const extra = (n: number) => {
    if (args.length > n) throw new FieldError(`${name}: unexpected "${args[n]!.raw}"`, args[n]!);
  };
  if (name === '$ORIGIN') {
    if (!args[0]) throw new FieldError('$ORIGIN needs a domain name', d);
    extra(1);
    st.origin = tokenName(args[0], st.origin, '$ORIGIN');
    return;
  }
  if (name === '$TTL') {
    if (!args[0]) throw new FieldError('$TTL needs a TTL', d);
    extra(1);
    st.defaultTtl = ttlOf(args[0], '$TTL');
    return;
  }
  if (name === '$INCLUDE') {
    if (!args[0]) throw new FieldError('$INCLUDE needs a file name', d);
    extra(2);
    const file = resolve(dirname(st.path), tokenBytes(args[0]).toString('utf8'));
    const origin = args[1] ? tokenName(args[1], st.origin, '$INCLUDE origin') : st.origin;
    const text = readIncluded(m, file, at(args[0]));
    if (text === null) return;
    // the included file starts from this file's origin and TTLs; what it sets ends with it (RFC 1035 §5.1)
    const inner: FileState = {
      path: file,
      display: displayPath(file),
      main: false,
      origin,
      defaultTtl: st.defaultTtl,
      lastTtl: st.lastTtl,
      owner: null,
    };
    m.stack.push(realOr(file));
    readMasterText(m, text, inner);
    m.stack.pop();
    return;
  }
  throw new FieldError(
    name === '$GENERATE'
      ? '$GENERATE (a BIND extension) is not supported: write the records out'
      : `unknown directive "${d.raw}" (expected $ORIGIN, $TTL or $INCLUDE)`,
    d,
  );
}

/** The text of a file to include, after the checks (inside the zones folder, no loop, the size budget). */
function readIncluded(m: MasterReading, file: string, at: At): string | null {
  const real = realOr(file);
  const rel = relative(m.zonesDir, real);
  const shown = displayPath(file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    m.src.error(at, `cannot include ${shown}: it is outside the zones folder ${displayPath(m.zonesDir)}`);
    return null;
  }
  if (!rel.includes('/') && (rel.endsWith(MASTER_SUFFIX) || rel.endsWith('.yaml'))) {
    m.src.error(at, `cannot include ${shown}: it is a zone file of its own (move the included file into a sub-folder)`);
    return null;
  }
  const loop = m.stack.indexOf(real);
  if (loop >= 0) {
    const chain = [...m.stack.slice(loop), real].map((f) => displayPath(f)).join(' → ');
    m.src.error(at, `include loop: ${chain}`);
    return null;
  }
  if (m.stack.length > MAX_INCLUDE_DEPTH) {
    m.src.error(at, `cannot include ${shown}: includes nest more than ${MAX_INCLUDE_DEPTH} deep`);
    return null;
  }
  // listed before it is read: a file missing now reloads the zone when it appears
  if (!m.includes.includes(resolve(file))) m.includes.push(resolve(file));
  const read = readZoneText(file, Math.max(0, m.budget), 'included file');
  if (!('text' in read)) {
    m.src.error(
      at,
      `${shown}: ${read.message.replace(/over limits\.zone_bytes \(\d+\)/, 'over what limits.zone_bytes leaves for the zone')}`,
    );
    return null;
  }
  m.budget -= Buffer.byteLength(read.text);
  return read.text;
}

function ttlOf(t: Token, what: string): number {
  const v = ttlValue(t.raw);
  if (v === null || v > MAX_TTL)
    throw new FieldError(`${what} must be 0 to ${MAX_TTL} seconds, or with units such as 1h or 2d (RFC 2181 §8), got "${t.raw}"`, t);
  return v;
}

const CLASSES = /^(?:IN|CH|CS|HS|NONE|ANY|CLASS\d+)$/i;

/** The type a token names: its writable name (or TYPEnnn for a type held in generic form only). */
function typeOf(t: Token): { code: number; name: string } {
  const up = t.raw.toUpperCase();
  const signed = signerTypeRefusal(up);
  if (signed) throw new FieldError(signed, t);
  const code = typeCode(up);
  if (code === null || code > 65535) {
    throw new FieldError(`unknown record type "${t.raw}" (a type steerdns does not name is written TYPEnnn \\# LENGTH HEX, RFC 3597)`, t);
  }
  const name = typeName(code);
  if (name in RECORD_TYPES || code === TYPE.SOA) return { code, name };
  if (code === 0 || code === TYPE.OPT || (code >= 128 && code <= 255))
    throw new FieldError(`${t.raw} is a query or meta type, not data a zone holds (RFC 6895 §3.1)`, t);
  if (!/^TYPE\d+$/.test(up)) throw new FieldError(`${t.raw} cannot be written in a zone here: write it TYPE${code} \\# LENGTH HEX`, t);
  return { code, name: `TYPE${code}` };
}

function record(m: MasterReading, st: FileState, item: LogicalLine, at: (t: Token) => number): void {
  const toks = item.tokens;
  let i = 0;
  let owner: string;
  const ownerTok = item.blankOwner ? null : toks[i++]!;
  if (ownerTok) owner = tokenName(ownerTok, st.origin, 'owner', { owner: true });
  else if (st.owner !== null) owner = st.owner;
  else throw new FieldError('the first record of a file needs an owner name (a line that starts blank takes the previous one)', toks[0]!);
  let ttl: number | null = null;
  for (let k = 0; k < 2 && i < toks.length; k++) {
    const t = toks[i]!;
    if (/^\d/.test(t.raw) && ttl === null) ttl = ttlOf(t, 'TTL');
    else if (CLASSES.test(t.raw)) {
      if (!/^(?:IN|CLASS1)$/i.test(t.raw))
        throw new FieldError(`class ${t.raw}: only class IN is served (or written: IN is the default)`, t);
    } else break;
    i++;
  }
  const typeTok = toks[i];
  if (!typeTok) throw new FieldError('the record needs a type and its data', toks[toks.length - 1]!);
  const { code, name: type } = typeOf(typeTok);
  st.owner = owner;
  const label = `"${m.apex === null ? `${owner}.` : relativeName(owner, m.apex)}"`;
  const fields = new Fields(toks.slice(i + 1), st.origin, `${type} at ${label}`, typeTok);
  if (code === TYPE.SOA) {
    soaRecord(m, st, owner, ttl, fields, at(ownerTok ?? typeTok), typeTok);
    return;
  }
  if (m.apex === null) {
    if (!m.noSoa && !m.src.hasErrors)
      m.src.error(at(ownerTok ?? typeTok), 'the first record of a zone file must be its SOA (RFC 1035 §5.2)');
    m.noSoa = true;
    return;
  }
  if (owner !== m.apex && !owner.endsWith(`.${m.apex}`))
    throw new FieldError(`name "${ownerTok?.raw ?? owner}" is outside the zone's origin ${m.apex}.`, ownerTok ?? typeTok);
  const rdata = readRdata(code, type, fields);
  if (rdata.length > 65535) throw new FieldError(`${fields.what} is ${rdata.length} octets, over 65535`, typeTok);
  if (ttl !== null) st.lastTtl = ttl;
  addRecord(m, owner, type as RecordType, code, ttl ?? defaultTtl(m, st, typeTok, at), rdata, at(ownerTok ?? typeTok), at(typeTok));
}

/** A record without a TTL: $TTL, else the last TTL written (RFC 1035 §5.1), else the SOA minimum (as BIND). */
function defaultTtl(m: MasterReading, st: FileState, t: Token, at: (t: Token) => number): number {
  if (st.defaultTtl !== null) return st.defaultTtl;
  if (st.lastTtl !== null) return st.lastTtl;
  const min = m.soa?.minimum ?? 0;
  if (!m.warnedNoTtl) m.src.warn(at(t), `no TTL written and no $TTL before: the SOA minimum ${min} is used (write $TTL)`);
  m.warnedNoTtl = true;
  return min;
}

function soaRecord(m: MasterReading, st: FileState, owner: string, ttl: number | null, f: Fields, ownerAt: number, typeTok: Token): void {
  if (m.soa) {
    const first = m.src.position(m.soaAt);
    throw new FieldError(`a zone has one SOA (the first is at ${m.src.fileOf(m.soaAt!)}:${first.line}:${first.col})`, typeTok);
  }
  if (m.yamlSoa !== null) {
    const p = m.src.position(m.yamlSoa);
    throw new FieldError(`the zone's SOA is already given by soa: at ${m.src.display}:${p.line}:${p.col} (write it in one place)`, typeTok);
  }
  if (m.apex !== null && owner !== m.apex) throw new FieldError(`the SOA must be at the zone's apex ${m.apex}., not ${owner}.`, typeTok);
  const soa = soaFields(f);
  const rname = rnameText(soa.rname, st.origin);
  const [refresh, retry, expire, minimum] = soa.times as [number, number, number, number];
  if (minimum > MAX_TTL) throw new FieldError(`${f.what} minimum must be 0 to ${MAX_TTL}`, f.tokens[6]!);
  if (ttl !== null) st.lastTtl = ttl;
  m.apex = owner;
  m.soaAt = ownerAt;
  const soaTtl = ttl ?? st.defaultTtl ?? st.lastTtl ?? minimum;
  m.soa = { mname: soa.mname, rname, refresh, retry, expire, minimum, ttl: soaTtl, serial: soa.serial };
}

/**
 * RNAME, a mailbox as a name (RFC 1035 §8): its first label may hold dots, escaped (`host\.master.example.test.`),
 * kept escaped in the internal form as the YAML `email:` reader makes it.
 */
function rnameText(t: Token, origin: string | null): string {
  const i = t.raw.search(/(?<!\\)\./);
  const head = i < 0 ? t.raw : t.raw.slice(0, i);
  if (!head.includes('\\.')) return tokenName(t, origin, 'SOA RNAME');
  if (!/^[A-Za-z0-9_+-]+(?:\\\.[A-Za-z0-9_+-]+)+$/.test(head))
    throw new FieldError(`SOA RNAME: "${t.raw}" is not a mailbox name (letters, digits, "-", "_", "+" and "\\." in its first label)`, t);
  const restRaw = i < 0 ? '' : t.raw.slice(i + 1);
  const rest = i < 0 ? origin : restRaw === '' ? '' : tokenName({ ...t, raw: restRaw }, origin, 'SOA RNAME');
  if (rest === null) throw new FieldError(`SOA RNAME: "${t.raw}" is relative, and there is no origin yet`, t);
  return rest === '' ? head.toLowerCase() : `${head.toLowerCase()}.${rest}`;
}

function addRecord(
  m: MasterReading,
  owner: string,
  type: RecordType,
  code: number,
  ttl: number,
  rdata: Buffer,
  ownerAt: number,
  typeAt: number,
): void {
  let spec = m.names.get(owner);
  if (!spec) {
    spec = { name: owner, at: ownerAt, rrsets: new Map(), pool: null };
    m.names.set(owner, spec);
  }
  const text = rdataToText(code, rdata);
  const rr = spec.rrsets.get(type);
  if (!rr) {
    const fresh: RRsetSpec = { type, ttl, records: [{ rdata, text }], at: typeAt };
    spec.rrsets.set(type, fresh);
    m.own.add(fresh);
    return;
  }
  const label = `"${relativeName(owner, m.apex!)}"`; // (only for a message: a zone of a million names passes here once each)
  const first = m.src.position(rr.at);
  const where = `${m.src.fileOf(rr.at)}:${first.line}:${first.col}`;
  if (!m.own.has(rr)) {
    m.src.error(typeAt, `${type} at ${label} is also written at ${where}: write an RRset in one file`);
    return;
  }
  if (type === 'CNAME') {
    m.src.error(typeAt, `CNAME at ${label}: a name has at most one CNAME (the first is at ${where})`);
    return;
  }
  if (rr.records.some((r) => r.rdata.equals(rdata))) {
    m.src.warn(typeAt, `${type} at ${label}: duplicate record ${text} (ignored)`);
    return;
  }
  if (ttl !== rr.ttl)
    m.src.warn(
      typeAt,
      `${type} at ${label}: TTL ${ttl} differs from the TTL ${rr.ttl} of the RRset at ${where}, which is used (RFC 2181 §5.2)`,
    );
  rr.records.push({ rdata, text });
}
