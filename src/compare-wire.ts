// The DNS client of `steerdns compare` (docs/operations.md#comparing-the-nameservers-with-compare): one query
// per question, over UDP with an EDNS(0) OPT record carrying the client subnet (RFC 6891, RFC 7871 §6), and
// over TCP when the answer comes back truncated (RFC 7766 §5); the answer read as its rcode and its A/AAAA
// addresses, sorted.
import dgram from 'node:dgram';
import net from 'node:net';
import packet from 'dns-packet';
import { rcodeName } from './dns/registry.js';
import { bytesToIp, ipFamily } from './net/address.js';
import type { Cidr } from './net/cidr.js';

export interface Server {
  /** As shown: `IP` or `IP:port` as given, or `name (IP)` for a member of the NS set. */
  label: string;
  host: string;
  port: number;
}

/** What a server answered a question: `NOERROR 192.0.2.1 192.0.2.2`, `NXDOMAIN`, or `no answer (timeout)`. */
export type Reply = string;

/** `IP`, `IP:port`, `[IPv6]:port`; port 53 unless given. An error as text. */
export function parseServer(s: string): Server | string {
  let host = s;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if (ipFamily(s) === null) {
    const i = s.lastIndexOf(':');
    if (i > 0) {
      host = s.slice(0, i);
      port = Number(s.slice(i + 1));
    }
  }
  if (ipFamily(host) === null) return `--servers: ${s}: not an IP address (IP, IP:port or [IPv6]:port)`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `--servers: ${s}: bad port`;
  return { label: s, host, port };
}

/** A query for `name`/`type`, RD clear, with an OPT record (4096 octets) and the ECS option for `subnet`. */
export function buildQuery(id: number, name: string, type: 'A' | 'AAAA', subnet: Cidr | null): Buffer {
  const options = subnet
    ? [
        {
          code: 'CLIENT_SUBNET',
          family: subnet.family === 4 ? 1 : 2,
          sourcePrefixLength: subnet.prefix,
          scopePrefixLength: 0,
          ip: bytesToIp(subnet.bytes),
        },
      ]
    : [];
  return packet.encode({
    type: 'query',
    id,
    flags: 0,
    questions: [{ name: name.replace(/\.$/, ''), type, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, options } as unknown as packet.Answer],
  });
}

/** The rcode and the sorted A/AAAA addresses of the answer section; `truncated` when TC is set. */
export function readReply(msg: Buffer, id: number): { reply: Reply; truncated: boolean } {
  const d = packet.decode(msg);
  if (d.id !== id) throw new Error('a reply that is not to this query');
  if (d.type !== 'response') throw new Error('not a response');
  const flags = d.flags ?? 0;
  const addresses = (d.answers ?? []).flatMap((a) => (a.type === 'A' || a.type === 'AAAA' ? [a.data as string] : []));
  // the extended rcode bits of an OPT record (RFC 6891 §6.1.3) are not read: compare asks plain questions
  return { reply: [rcodeName(flags & 0x0f), ...addresses.sort()].join(' '), truncated: (flags & 0x0200) !== 0 };
}

function overUdp(server: Server, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (e: Error | null, m?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (e) reject(e);
      else resolve(m!);
    };
    const timer = setTimeout(() => finish(new Error('timeout')), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('message', (m) => {
      if (m.length >= 2 && m.readUInt16BE(0) === query.readUInt16BE(0)) finish(null, m);
    });
    // connected: an ICMP port unreachable ends the wait at once (ECONNREFUSED) instead of the timeout
    sock.connect(server.port, server.host, () => sock.send(query));
  });
}

function overTcp(server: Server, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: server.host, port: server.port });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('timeout')));
    let got = Buffer.alloc(0);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        sock.destroy();
        resolve(got.subarray(2, 2 + got.readUInt16BE(0)));
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('connection closed')));
  });
}

let nextId = 1;

/** Asks `server` one question; a failure (timeout, refused, malformed) is a reply of its own. */
export async function ask(server: Server, name: string, type: 'A' | 'AAAA', subnet: Cidr | null, timeoutMs = 2000): Promise<Reply> {
  nextId = (nextId % 65535) + 1;
  const id = nextId;
  const query = buildQuery(id, name, type, subnet);
  try {
    let r = readReply(await overUdp(server, query, timeoutMs), id);
    if (r.truncated) r = readReply(await overTcp(server, query, timeoutMs), id);
    return r.reply;
  } catch (e) {
    try {
      // one retry: a lost datagram is not a disagreement
      return readReply(await overUdp(server, query, timeoutMs), id).reply;
    } catch {
      return `no answer (${(e as Error).message})`;
    }
  }
}
