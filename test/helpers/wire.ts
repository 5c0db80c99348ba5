// Query bytes written by hand, for what dns-packet's encoder cannot express: names of exactly 255/256/257
// octets, an OPT with any EDNS version, extended RCODE and flags, malformed options.

/** A name in wire form, exactly as given (no length checks): "" or "." is the root. */
export function wireName(name: string): Buffer {
  const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.');
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]), Buffer.from([0])]);
}

/**
 * A name of exactly `octets` octets on the wire ending in `suffix`: labels of `label` octets (the last ones
 * a little shorter or longer to make the total) in front of it.
 */
export function nameOfLength(octets: number, suffix: string, label = 63): string {
  let room = octets - wireName(suffix).length;
  const labels: string[] = [];
  let i = 0;
  while (room > 0) {
    let len = Math.min(label, room - 1, 63);
    if (room - (len + 1) === 1) len = len < 63 ? len + 1 : len - 1; // never leave a single octet: a label costs two at least
    if (len < 1) throw new Error(`cannot make a ${octets}-octet name ending in ${suffix}`);
    labels.push(String.fromCharCode(0x61 + (i++ % 26)).repeat(len));
    room -= len + 1;
  }
  const name = [...labels, suffix].filter(Boolean).join('.');
  if (wireName(name).length !== octets) throw new Error(`nameOfLength: ${wireName(name).length} != ${octets}`);
  return name;
}

/** One EDNS option (code, length, data). */
export function ednsOption(code: number, data: Buffer | Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(4 + data.length);
  b.writeUInt16BE(code, 0);
  b.writeUInt16BE(data.length, 2);
  Buffer.from(data).copy(b, 4);
  return b;
}

/** A Client Subnet option body: family, source prefix, scope 0, the address bytes as given. */
export function ecsOption(family: number, sourcePrefix: number, address: Buffer | number[]): Buffer {
  return ednsOption(8, Buffer.concat([Buffer.from([family >> 8, family & 0xff, sourcePrefix, 0]), Buffer.from(address)]));
}

export interface OptFields {
  payload?: number;
  extRcode?: number;
  version?: number;
  /** The 16 flag bits (DO = 0x8000). */
  flags?: number;
  options?: Buffer[];
  /** Owner name in wire form (default: the root). */
  owner?: Buffer;
}

/** An OPT record: owner(1) type(2) payload(2) ext-rcode(1) version(1) flags(2) rdlen(2) options. */
export function optRecord(o: OptFields = {}): Buffer {
  const owner = o.owner ?? Buffer.from([0]);
  const rdata = Buffer.concat(o.options ?? []);
  const rr = Buffer.alloc(10);
  rr.writeUInt16BE(41, 0);
  rr.writeUInt16BE(o.payload ?? 1232, 2);
  rr[4] = o.extRcode ?? 0;
  rr[5] = o.version ?? 0;
  rr.writeUInt16BE(o.flags ?? 0, 6);
  rr.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, rr, rdata]);
}

export interface QueryFields {
  id?: number;
  /** The header's flags word (QR must stay 0 for a query); default RD. */
  flags?: number;
  name: string | Buffer;
  qtype: number;
  qclass?: number;
  /** Header counts (default: QDCOUNT 1, ARCOUNT = records.length). */
  counts?: [number, number, number, number];
  /** Records after the question, already in wire form. */
  records?: Buffer[];
  /** Bytes after everything else. */
  trailing?: Buffer;
}

/** Header + question (+ records, trailing bytes), with the counts given or implied. */
export function rawQuery(f: QueryFields): Buffer {
  const records = f.records ?? [];
  const h = Buffer.alloc(12);
  h.writeUInt16BE(f.id ?? 0x1234, 0);
  h.writeUInt16BE(f.flags ?? 0x0100, 2);
  const counts = f.counts ?? [1, 0, 0, records.length];
  for (const [i, c] of counts.entries()) h.writeUInt16BE(c, 4 + 2 * i);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(f.qtype, 0);
  q.writeUInt16BE(f.qclass ?? 1, 2);
  return Buffer.concat([h, typeof f.name === 'string' ? wireName(f.name) : f.name, q, ...records, f.trailing ?? Buffer.alloc(0)]);
}
