// Presentation format (RFC 1035 §5 style, as dig prints it) of prepared RRsets, for `explain` and /status.
import packet from 'dns-packet';
import { className, typeName } from './registry.js';
import type { RRset } from './rrset.js';

type Decoder = { decode(buf: Buffer, offset?: number): unknown };

function decodeRdata(typeName: string, rdata: Buffer): unknown {
  const dec = (packet as unknown as { record(t: string): Decoder }).record(typeName);
  const framed = Buffer.alloc(rdata.length + 2);
  framed.writeUInt16BE(rdata.length, 0);
  rdata.copy(framed, 2);
  return dec.decode(framed, 0);
}

const fq = (n: string) => (n === '.' || n.endsWith('.') ? n : `${n}.`);
const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

export function rdataText(type: number, rdata: Buffer): string {
  const name = typeName(type);
  try {
    const d = decodeRdata(name, rdata) as Record<string, unknown> & string & Buffer[];
    switch (name) {
      case 'A':
      case 'AAAA':
        return String(d);
      case 'NS':
      case 'CNAME':
      case 'PTR':
        return fq(String(d));
      case 'MX':
        return `${d.preference} ${fq(String(d.exchange))}`;
      case 'TXT':
        return (d as Buffer[]).map((b) => quote(b.toString('utf8'))).join(' ');
      case 'SRV':
        return `${d.priority} ${d.weight} ${d.port} ${fq(String(d.target))}`;
      case 'CAA':
        return `${d.flags} ${d.tag} ${quote(String(d.value))}`;
      case 'SOA':
        return `${fq(String(d.mname))} ${fq(String(d.rname))} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
      default:
        break;
    }
  } catch {
    // fall through to the generic form
  }
  return `\\# ${rdata.length} ${rdata.toString('hex')}`;
}

/** Every record of an RRset as a presentation line. */
export function rrsetLines(set: RRset): string[] {
  const owner = set.owner === '' ? '.' : `${set.owner}.`;
  const type = typeName(set.type);
  const klass = className(set.class);
  return set.rdata.map((rd) => `${owner} ${set.ttl} ${klass} ${type} ${rdataText(set.type, rd)}`);
}
