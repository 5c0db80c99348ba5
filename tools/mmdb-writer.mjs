// A MaxMind DB writer (format spec: https://maxmind.github.io/MaxMind-DB/), small enough to read in one
// sitting. It builds an IPv6 tree (IPv4 networks live at ::/96, as in MaxMind's own databases) whose
// records point at deduplicated values in the data section. Used by `tools/geodb-build.mjs` for operators'
// private-network databases and by the project's tests to build their GeoIP fixtures.
import { isIPv4, isIPv6 } from 'node:net';

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);

/** @typedef {string | number | boolean | {[k: string]: Value} | Value[] | {type: 'uint16'|'uint32'|'uint64'|'double', value: number}} Value */

// ---- data section encoding ---------------------------------------------------------------------

function control(type, size) {
  // type 1..7 in the first byte; extended types (8+) get 0 there and type - 7 in the next byte
  const head = [];
  let sizeBits;
  let extra = [];
  if (size < 29) sizeBits = size;
  else if (size < 29 + 256) {
    sizeBits = 29;
    extra = [size - 29];
  } else if (size < 285 + 65536) {
    sizeBits = 30;
    const v = size - 285;
    extra = [v >> 8, v & 0xff];
  } else {
    sizeBits = 31;
    const v = size - 65821;
    extra = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  }
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...extra]);
}

function uintBytes(v) {
  const out = [];
  let n = BigInt(v);
  while (n > 0n) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return Buffer.from(out);
}

/** Encodes one value (MaxMind DB data field). */
export function encodeValue(v) {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([control(2, b.length), b]);
  }
  if (typeof v === 'boolean') return control(14, v ? 1 : 0);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return encodeValue({ type: 'uint32', value: v });
    return encodeValue({ type: 'double', value: v });
  }
  if (Array.isArray(v)) return Buffer.concat([control(11, v.length), ...v.map(encodeValue)]);
  if (v && typeof v === 'object' && 'type' in v && 'value' in v && Object.keys(v).length === 2) {
    const typed = /** @type {{type: string, value: number}} */ (v);
    if (typed.type === 'double') {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(typed.value);
      return Buffer.concat([control(3, 8), b]);
    }
    const code = { uint16: 5, uint32: 6, uint64: 9 }[typed.type];
    if (!code) throw new Error(`unknown typed value ${typed.type}`);
    const max = { uint16: 0xffff, uint32: 0xffffffff, uint64: 2 ** 64 - 1 }[typed.type];
    if (!Number.isInteger(typed.value) || typed.value < 0 || typed.value > max)
      throw new Error(`${typed.type} out of range: ${typed.value}`);
    const b = uintBytes(typed.value);
    return Buffer.concat([control(code, b.length), b]);
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, x]) => [encodeValue(k), encodeValue(x)])]);
  }
  throw new Error(`cannot encode ${JSON.stringify(v)}`);
}

// ---- networks -----------------------------------------------------------------------------------

/** `addr/len` → 16 bytes (IPv4 mapped into ::/96) and the prefix length in the IPv6 tree. */
export function parseNetwork(text) {
  const n = parseNetworkBits(text);
  // host bits set (10.0.0.1/8) is a typo more often than not: refuse, like steerdns.yaml's own parser
  for (let i = n.prefix; i < 128; i++) {
    if (bit(n.bytes, i)) throw new Error(`"${text}" has host bits set`);
  }
  return n;
}

function parseNetworkBits(text) {
  const [addr, lenText, extra] = String(text).split('/');
  if (extra !== undefined || (lenText !== undefined && !/^\d{1,3}$/.test(lenText))) throw new Error(`bad prefix length in ${text}`);
  if (isIPv4(addr)) {
    const len = lenText === undefined ? 32 : Number(lenText);
    if (!(Number.isInteger(len) && len >= 0 && len <= 32)) throw new Error(`bad prefix length in ${text}`);
    const bytes = Buffer.alloc(16);
    Buffer.from(addr.split('.').map(Number)).copy(bytes, 12);
    return { bytes, prefix: 96 + len };
  }
  if (isIPv6(addr)) {
    const len = lenText === undefined ? 128 : Number(lenText);
    if (!(Number.isInteger(len) && len >= 0 && len <= 128)) throw new Error(`bad prefix length in ${text}`);
    return { bytes: ipv6Bytes(addr), prefix: len };
  }
  throw new Error(`"${text}" is not an IP network`);
}

function ipv6Bytes(s) {
  let text = s;
  const tail = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...v4[1].split('.').map(Number));
    text = `${text.slice(0, -v4[1].length)}0:0`;
  }
  const [head, rest] = text.split('::');
  const words = (p) => (p ? p.split(':').map((w) => parseInt(w, 16)) : []);
  const hw = words(head);
  const tw = rest === undefined ? [] : words(rest);
  const all = [...hw, ...new Array(rest === undefined ? 0 : 8 - hw.length - tw.length).fill(0), ...tw];
  const out = Buffer.alloc(16);
  for (let i = 0; i < all.length; i++) out.writeUInt16BE(all[i], i * 2);
  if (tail.length) Buffer.from(tail).copy(out, 12);
  return out;
}

const bit = (bytes, i) => (bytes[i >> 3] >> (7 - (i & 7))) & 1;

// ---- the writer ---------------------------------------------------------------------------------

// the IPv6 networks MaxMind's own writer points at the IPv4 subtree (IPv4-mapped, Teredo, 6to4)
const ALIASES = [
  { bytes: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]), prefix: 96 },
  { bytes: Buffer.from([0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), prefix: 32 },
  { bytes: Buffer.from([0x20, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), prefix: 16 },
];

/**
 * Builds a MaxMind DB. `networks`: [{ network: 'addr/len', data: Value }]; a more specific network wins
 * over a less specific one that contains it, whatever the order given. Options for other shapes of tree:
 * `recordSize` (24, 28 or 32 bits, when the tree fits; default the smallest that fits), `ipVersion: 4` (an
 * IPv4-only tree: IPv4 networks only), `aliases` (as MaxMind's databases: ::ffff:0:0/96, 2001::/32 and
 * 2002::/16 point at the IPv4 subtree, one node reached by several paths).
 * @param {{ network: string, data: Value }[]} networks
 * @param {{ databaseType?: string, description?: string, languages?: string[], buildEpoch?: number, recordSize?: 24 | 28 | 32, ipVersion?: 4 | 6, aliases?: boolean }} [opts]
 * @returns {Buffer}
 */
export function writeMmdb(networks, opts = {}) {
  const v4only = opts.ipVersion === 4;
  // tree: a node is [left, right]; a child is a node, {data: index}, or null (no data)
  const root = [null, null];
  const values = [];
  const valueIndex = new Map();
  const parsed = networks.map((n) => ({ ...parseNetwork(n.network), data: n.data, text: n.network })).sort((a, b) => a.prefix - b.prefix);
  if (v4only) {
    for (const n of parsed) {
      if (n.prefix < 96 || !n.bytes.subarray(0, 12).equals(Buffer.alloc(12)))
        throw new Error(`${n.text}: an IPv4-only tree holds IPv4 networks only`);
      // the IPv4 tree starts at the root: drop the 96 bits of ::/96
      n.bytes = Buffer.concat([n.bytes.subarray(12), Buffer.alloc(12)]);
      n.prefix -= 96;
    }
  }
  for (const n of parsed) {
    const key = JSON.stringify(n.data);
    if (!valueIndex.has(key)) {
      valueIndex.set(key, values.length);
      values.push(n.data);
    }
    const leaf = { data: valueIndex.get(key) };
    if (n.prefix === 0) throw new Error('a /0 network is not supported');
    let node = root;
    for (let i = 0; i < n.prefix - 1; i++) {
      const b = bit(n.bytes, i);
      let child = node[b];
      if (child === null || !Array.isArray(child)) {
        // descend into a less specific network's leaf: split it so the rest keeps its data
        child = [child, child];
        node[b] = child;
      }
      node = child;
    }
    node[bit(n.bytes, n.prefix - 1)] = leaf;
  }

  if (opts.aliases && !v4only) {
    // the node (or leaf) at ::/96, reached again from each alias network
    let v4 = root;
    for (let i = 0; i < 96 && Array.isArray(v4); i++) v4 = v4[0];
    for (const a of ALIASES) {
      let node = root;
      for (let i = 0; i < a.prefix - 1; i++) {
        const b = bit(a.bytes, i);
        if (!Array.isArray(node[b])) node[b] = [node[b], node[b]];
        node = node[b];
      }
      node[bit(a.bytes, a.prefix - 1)] = v4;
    }
  }

  // number the nodes breadth-first (a node reached by several paths once)
  const nodes = [];
  const ids = new Map();
  const queue = [root];
  ids.set(root, 0);
  while (queue.length) {
    const n = queue.shift();
    nodes.push(n);
    for (const c of n) {
      if (Array.isArray(c) && !ids.has(c)) {
        ids.set(c, ids.size);
        queue.push(c);
      }
    }
  }
  const nodeCount = nodes.length;

  const encoded = values.map(encodeValue);
  const offsets = [];
  let off = 0;
  for (const e of encoded) {
    offsets.push(off);
    off += e.length;
  }
  const dataSection = Buffer.concat(encoded);
  const recordValue = (c) => (c === null ? nodeCount : Array.isArray(c) ? ids.get(c) : nodeCount + 16 + offsets[c.data]);
  const maxRecord = nodeCount + 16 + dataSection.length;
  const fits = maxRecord < 2 ** 24 ? 24 : maxRecord < 2 ** 28 ? 28 : 32;
  const recordSize = opts.recordSize ?? fits;
  if (![24, 28, 32].includes(recordSize) || recordSize < fits)
    throw new Error(`records of ${recordSize} bits cannot hold this tree (${fits} needed)`);
  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  nodes.forEach((n, i) => {
    const l = recordValue(n[0]);
    const r = recordValue(n[1]);
    const o = i * nodeBytes;
    if (recordSize === 24) {
      tree.writeUIntBE(l, o, 3);
      tree.writeUIntBE(r, o + 3, 3);
    } else if (recordSize === 28) {
      tree.writeUIntBE(l & 0xffffff, o, 3);
      tree[o + 3] = ((l >>> 24) << 4) | (r >>> 24);
      tree.writeUIntBE(r & 0xffffff, o + 4, 3);
    } else {
      tree.writeUInt32BE(l, o);
      tree.writeUInt32BE(r, o + 4);
    }
  });

  const metadata = encodeValue({
    binary_format_major_version: { type: 'uint16', value: 2 },
    binary_format_minor_version: { type: 'uint16', value: 0 },
    build_epoch: { type: 'uint64', value: opts.buildEpoch ?? Math.floor(Date.now() / 1000) },
    database_type: opts.databaseType ?? 'steerdns-geo',
    description: { en: opts.description ?? 'steerdns GeoIP database' },
    ip_version: { type: 'uint16', value: v4only ? 4 : 6 },
    languages: opts.languages ?? ['en'],
    node_count: { type: 'uint32', value: nodeCount },
    record_size: { type: 'uint16', value: recordSize },
  });
  return Buffer.concat([tree, Buffer.alloc(16), dataSection, METADATA_MARKER, metadata]);
}
