// The sample clients `steerdns plan` asks for (docs/operations.md#reviewing-a-change-with-plan): one address
// per country of a GeoIP database, one per overlay network of either revision, or a file of addresses and
// subnets.
import { readFileSync } from 'node:fs';
import type { GeoOverlay } from './config/server-spec.js';
import type { GeoDatabase } from './gslb/geo.js';
import { newCuts, openTree, RecordFields, walkTree } from './gslb/mmdb-tree.js';
import { bytesToIp } from './net/address.js';
import { type Cidr, parseCidr } from './net/cidr.js';

export interface SampleClient {
  /** How the client is named in the output: an address, or a subnet as written. */
  client: string;
  /** The query's source address. */
  from: string;
  /** Where it stands for: a country code, `overlay NET`, or the file's line. */
  label: string;
}

/** A host address inside `c`: the network address + 1 when the network has more than one address. */
function hostOf(c: Cidr): string {
  const b = Buffer.from(c.bytes);
  if (c.prefix < b.length * 8) b[b.length - 1]! |= 1;
  return bytesToIp(b);
}

/**
 * One IPv4 address per country of `db`: the first address of the first block (in address order) whose record
 * names that country, sorted by country code. The walk is the decision tables' own (gslb/mmdb-tree.ts).
 */
export function countryClients(db: GeoDatabase): SampleClient[] {
  const tree = openTree(db.bytes);
  const fields = new RecordFields(tree);
  const first = new Map<string, number>();
  let at = 0; // the first address of the next block, as a number (2^32 fits a double exactly)
  walkTree(tree, 4, newCuts(), {
    block(depth, data) {
      if (data >= 0) {
        const cc = fields.fieldsOf[fields.idOf(data)]?.country;
        if (cc && !first.has(cc)) first.set(cc, at);
      }
      at += 2 ** (32 - depth);
      return 0;
    },
    alias(depth) {
      at += 2 ** (32 - depth);
      return 0;
    },
    join: () => 0,
  });
  return [...first]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cc, n]) => {
      const from = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
      return { client: from, from, label: cc };
    });
}

/** One address in each overlay network (`geoip.networks`) of either revision, each network once. */
export function overlayClients(...networks: GeoOverlay[][]): SampleClient[] {
  const seen = new Set<string>();
  const out: SampleClient[] = [];
  for (const list of networks) {
    for (const o of list) {
      if (seen.has(o.network.text)) continue;
      seen.add(o.network.text);
      const from = hostOf(o.network);
      out.push({ client: from, from, label: `overlay ${o.network.text}` });
    }
  }
  return out;
}

/** `--clients FILE`: one address or subnet a line, `#` starts a comment. An error names the file and line. */
export function fileClients(path: string): SampleClient[] | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `--clients: cannot read ${path}: ${(e as Error).message}`;
  }
  const out: SampleClient[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const hash = raw.indexOf('#');
    const s = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!s) continue;
    const c = parseCidr(s);
    if (typeof c === 'string') return `${path}:${i + 1}:${raw.indexOf(s) + 1}: ${c}`;
    out.push({ client: s, from: s.includes('/') ? hostOf(c) : bytesToIp(c.bytes), label: `${path}:${i + 1}` });
  }
  if (out.length === 0) return `--clients: ${path} holds no address`;
  return out;
}
