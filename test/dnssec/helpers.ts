// Helpers of the DNSSEC tests: BIND's and Knot's tools run on temporary folders, the small presentation-form
// reader the tests need to turn their output (and the test zone) into wire-form RRsets, and a signer of a
// whole zone with a classic NSEC chain (RFC 4034 §4.1.1), so real verifiers can judge steerdns' signatures.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TYPE, typeCode } from '../../src/dns/registry.js';
import type { DnssecKey } from '../../src/dnssec/keys.js';
import { NXNAME, nsecRdata } from '../../src/dnssec/nsec.js';
import { dnskeyText, dnssecTypeName, nsecText, rrsigText } from '../../src/dnssec/present.js';
import { type SignatureTimes, signRRset } from '../../src/dnssec/rrsig.js';
import { compareNames, lowerName, namePresentation, nameWire } from '../../src/dnssec/wire.js';
import { ipToBytes } from '../../src/net/address.js';

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool to its end (30 s at most), in `cwd`. */
export function tool(command: string, args: string[], cwd: string): ToolResult {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `dnssec-keygen -a ALG -f KSK` in `dir`: a combined signing key (flags 257) as BIND makes it; returns its base path. */
export function bindKeygen(dir: string, zone: string, algorithm: 'ECDSAP256SHA256' | 'ED25519'): string {
  const r = tool('dnssec-keygen', ['-q', '-a', algorithm, '-f', 'KSK', '-K', dir, zone], dir);
  if (r.status !== 0) throw new Error(`dnssec-keygen failed: ${r.stderr}`);
  return join(dir, r.stdout.trim());
}

/** The DNSKEY line of a `.key` file (what a zone file includes). */
export function dnskeyLine(base: string): string {
  return readFileSync(`${base}.key`, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .join('\n');
}

export const ZONE = 'example.test';

/** A small zone with the case of names mixed (owners and RDATA), a wildcard, and RRsets of several records. */
export const ZONE_TEXT = `$TTL 3600
example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2026120301 7200 3600 1209600 300
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS NS2.Example.Test.
example.test. 3600 IN MX 10 Mail.example.test.
example.test. 3600 IN MX 20 backup.EXAMPLE.test.
ns1.example.test. 3600 IN A 192.0.2.1
NS2.example.test. 3600 IN A 192.0.2.2
www.example.test. 300 IN A 192.0.2.10
www.example.test. 300 IN A 192.0.2.11
www.example.test. 300 IN A 192.0.2.12
www.example.test. 300 IN AAAA 2001:db8::10
*.wild.example.test. 60 IN A 192.0.2.20
alias.example.test. 300 IN CNAME WWW.example.test.
_sip._tcp.example.test. 300 IN SRV 10 5 5060 Sip.Example.test.
txt.example.test. 300 IN TXT "Hello" "world"
a.b.c.example.test. 300 IN PTR Host.example.test.
`;

export interface TextRecord {
  owner: string;
  ttl: number;
  type: number;
  rdata: Buffer;
}

/** The records of a zone in presentation form, one a line (as `dnssec-signzone -O full` writes them). */
export function parseZoneText(text: string): TextRecord[] {
  const out: TextRecord[] = [];
  let defaultTtl = 3600;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^;.*$/, '').trim();
    if (!line) continue;
    if (line.startsWith('$TTL')) {
      defaultTtl = Number(line.split(/\s+/)[1]);
      continue;
    }
    const m = /^(\S+)\s+(?:(\d+)\s+)?(?:IN\s+)?([A-Z0-9]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot read the record line: ${line}`);
    const type = typeCode(m[3]!);
    if (type === null) throw new Error(`unknown type ${m[3]}`);
    out.push({ owner: m[1]!, ttl: m[2] ? Number(m[2]) : defaultTtl, type, rdata: rdataOf(type, m[4]!.trim()) });
  }
  return out;
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A YYYYMMDDHHMMSS time (or a plain number) of an RRSIG → the 32-bit field. */
function rrsigTime(text: string): number {
  if (/^\d{14}$/.test(text)) {
    const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(text.slice(i, i + (k === 0 ? 4 : 2))));
    return (Date.UTC(y!, mo! - 1, d, h, mi, s) / 1000) >>> 0;
  }
  return Number(text) >>> 0;
}

/** Presentation RDATA → wire form, for the types of the test zones and of what the signers add; names keep their case. */
export function rdataOf(type: number, text: string): Buffer {
  const w = text.split(/\s+/);
  switch (type) {
    case TYPE.A:
    case TYPE.AAAA:
      return Buffer.from(ipToBytes(text)!);
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      return nameWire(text);
    case TYPE.MX:
      return Buffer.concat([u16(Number(w[0])), nameWire(w[1]!)]);
    case TYPE.SRV:
      return Buffer.concat([u16(Number(w[0])), u16(Number(w[1])), u16(Number(w[2])), nameWire(w[3]!)]);
    case TYPE.SOA:
      return Buffer.concat([nameWire(w[0]!), nameWire(w[1]!), ...w.slice(2, 7).map((n) => u32(Number(n)))]);
    case TYPE.TXT:
      return Buffer.concat(
        [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((q) => {
          const s = Buffer.from(q[1]!.replace(/\\(.)/g, '$1'), 'latin1');
          return Buffer.concat([Buffer.from([s.length]), s]);
        }),
      );
    case TYPE.DNSKEY:
      return Buffer.concat([u16(Number(w[0])), Buffer.from([Number(w[1]), Number(w[2])]), Buffer.from(w.slice(3).join(''), 'base64')]);
    case TYPE.NSEC:
      return nsecRdata(
        w[0]!,
        w.slice(1).map((t) => (t === 'NXNAME' ? NXNAME : typeCode(t)!)),
      );
    case TYPE.RRSIG:
      return Buffer.concat([
        u16(typeCode(w[0]!)!),
        Buffer.from([Number(w[1]), Number(w[2])]),
        u32(Number(w[3])),
        u32(rrsigTime(w[4]!)),
        u32(rrsigTime(w[5]!)),
        u16(Number(w[6])),
        nameWire(w[7]!),
        Buffer.from(w.slice(8).join(''), 'base64'),
      ]);
    default:
      throw new Error(`the test reader does not know type ${type}`);
  }
}

export interface TestRRset {
  /** The owner as the first record of the set writes it (its case kept). */
  owner: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer[];
}

/** Records grouped into RRsets (owners compared without case); RRSIGs apart, by owner and type covered. */
export function groupRRsets(records: TextRecord[]): { sets: Map<string, TestRRset>; rrsigs: Map<string, Buffer[]> } {
  const sets = new Map<string, TestRRset>();
  const rrsigs = new Map<string, Buffer[]>();
  for (const r of records) {
    if (r.type === TYPE.RRSIG) {
      const k = setKey(r.owner, r.rdata.readUInt16BE(0));
      rrsigs.set(k, [...(rrsigs.get(k) ?? []), r.rdata]);
      continue;
    }
    const k = setKey(r.owner, r.type);
    const set = sets.get(k) ?? { owner: r.owner, type: r.type, class: 1, ttl: r.ttl, rdata: [] };
    set.rdata.push(r.rdata);
    sets.set(k, set);
  }
  return { sets, rrsigs };
}

export function setKey(owner: string, type: number): string {
  return `${namePresentation(lowerName(nameWire(owner)))}/${type}`;
}

/**
 * The zone signed by steerdns' primitives: the DNSKEY RRset of `keys` added, a classic NSEC chain (every name
 * in canonical order, the last pointing back to the apex, TTL the SOA minimum), every RRset signed by every
 * key. Returns the zone in presentation form.
 */
export function signZoneText(zoneText: string, keys: DnssecKey[], times: SignatureTimes, now: number): string {
  const records = parseZoneText(zoneText).filter((r) => r.type !== TYPE.DNSKEY);
  for (const k of keys) records.push({ owner: `${ZONE}.`, ttl: 3600, type: TYPE.DNSKEY, rdata: k.dnskey });
  const { sets } = groupRRsets(records);
  const soa = [...sets.values()].find((s) => s.type === TYPE.SOA)!;
  const minimum = soa.rdata[0]!.readUInt32BE(soa.rdata[0]!.length - 4);
  const names = [...new Map([...sets.values()].map((s) => [namePresentation(lowerName(nameWire(s.owner))), nameWire(s.owner)])).values()];
  names.sort(compareNames);
  names.forEach((name, i) => {
    const types = [...sets.values()].filter((s) => lowerName(nameWire(s.owner)).equals(lowerName(name))).map((s) => s.type);
    const next = names[(i + 1) % names.length]!;
    const owner = namePresentation(name);
    sets.set(setKey(owner, TYPE.NSEC), {
      owner,
      type: TYPE.NSEC,
      class: 1,
      ttl: minimum,
      rdata: [nsecRdata(next, [...types, TYPE.RRSIG, TYPE.NSEC])],
    });
  });
  const lines: string[] = [];
  for (const set of sets.values()) {
    const owner = namePresentation(nameWire(set.owner));
    for (const rd of set.rdata) lines.push(`${owner} ${set.ttl} IN ${dnssecTypeName(set.type)} ${presentation(set.type, rd)}`);
    for (const k of keys) lines.push(`${owner} ${set.ttl} IN RRSIG ${rrsigText(signRRset(set, k, times), now)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The presentation form of the types signZoneText writes fresh; the zone's own records as the \\# generic form. */
function presentation(type: number, rdata: Buffer): string {
  if (type === TYPE.NSEC) return nsecText(rdata);
  if (type === TYPE.DNSKEY) return dnskeyText(rdata);
  return `\\# ${rdata.length} ${rdata.toString('hex')}`;
}
