// Domain names in wire form for DNSSEC: the uncompressed label sequence that signatures, digests and NSEC
// records are made of (RFC 4034 §6.2), its canonical order (RFC 4034 §6.1), and the immediate successor of
// a name (RFC 4471 §3.1.2) that compact denial puts in an NSEC's Next Domain Name (RFC 9824 §3.1).
// Names come in the project's internal form (dns/name.ts: lower case, no trailing dot, odd bytes as \DDD)
// or in presentation form (a trailing dot, \DDD and \X escapes); both read the same here.

/** The longest name on the wire, root label included (RFC 1035 §3.1). */
export const MAX_NAME_OCTETS = 255;

/** Upper-case ASCII → lower case, every other octet as it is. Label lengths (0..63) never fall in A..Z. */
const LOWER = new Uint8Array(256).map((_, c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));

/** A name in internal or presentation form → its wire form, case kept. Throws on a malformed name. */
export function nameWire(name: string): Buffer {
  const text = name === '.' ? '' : endsInRootDot(name) ? name.slice(0, -1) : name;
  const out: number[] = [];
  let label: number[] = [];
  const endLabel = () => {
    if (label.length === 0 || label.length > 63) throw new Error(`"${name}" has an empty label or one longer than 63 octets`);
    out.push(label.length, ...label);
    label = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      endLabel();
    } else if (c === 0x5c) {
      const ddd = /^\d{3}/.exec(text.slice(i + 1, i + 4));
      if (ddd) {
        const v = Number(ddd[0]);
        if (v > 255) throw new Error(`"${name}": \\${ddd[0]} is not an octet`);
        label.push(v);
        i += 3;
      } else if (i + 1 < text.length) {
        label.push(text.charCodeAt(++i) & 0xff);
      } else throw new Error(`"${name}" ends in a lone backslash`);
    } else {
      if (c > 0xff) throw new Error(`"${name}" has a character outside one octet`);
      label.push(c);
    }
  }
  if (text !== '') endLabel();
  out.push(0);
  if (out.length > MAX_NAME_OCTETS) throw new Error(`"${name}" is longer than ${MAX_NAME_OCTETS} octets`);
  return Buffer.from(out);
}

/** A final `.` that is not escaped: an even count of backslashes before it. */
function endsInRootDot(name: string): boolean {
  if (!name.endsWith('.')) return false;
  let slashes = 0;
  for (let i = name.length - 2; i >= 0 && name[i] === '\\'; i--) slashes++;
  return slashes % 2 === 0;
}

/** The name with ASCII letters in lower case (the canonical form of a name, RFC 4034 §6.2). */
export function lowerName(wire: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(wire.length);
  for (let i = 0; i < wire.length; i++) out[i] = LOWER[wire[i]!]!;
  return out;
}

/** The offset just past the uncompressed name that starts at `off`; throws when it runs off the end. */
export function nameEnd(buf: Uint8Array, off: number): number {
  let p = off;
  for (;;) {
    if (p >= buf.length) throw new Error('a name runs past the end of its data');
    const len = buf[p]!;
    if (len === 0) return p + 1;
    if (len > 63) throw new Error('a compressed or reserved label inside RDATA');
    p += len + 1;
  }
}

/** The offsets of the labels of a wire name, leftmost first (the root label not counted). */
export function labelOffsets(wire: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; wire[p]! !== 0; p += wire[p]! + 1) out.push(p);
  return out;
}

/** A wire name in presentation form, with a trailing dot; `.` `\` and octets outside printable ASCII escaped. */
export function namePresentation(wire: Uint8Array, off = 0): string {
  let out = '';
  for (let p = off; wire[p]! !== 0; p += wire[p]! + 1) {
    for (let i = p + 1; i <= p + wire[p]!; i++) {
      const c = wire[i]!;
      if (c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24) {
        out += `\\${String.fromCharCode(c)}`;
      } else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, '0')}`;
      else out += String.fromCharCode(c);
    }
    out += '.';
  }
  return out === '' ? '.' : out;
}

/**
 * Canonical DNS name order (RFC 4034 §6.1): label by label from the rightmost, each label compared as a
 * lower-cased octet string (a shorter label that is a prefix of a longer one sorts first), a name that runs
 * out of labels first sorts first. Returns <0, 0 or >0.
 */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  const la = labelOffsets(a);
  const lb = labelOffsets(b);
  for (let i = la.length - 1, j = lb.length - 1; i >= 0 && j >= 0; i--, j--) {
    const pa = la[i]!;
    const pb = lb[j]!;
    const na = a[pa]!;
    const nb = b[pb]!;
    for (let k = 1; k <= na && k <= nb; k++) {
      const d = LOWER[a[pa + k]!]! - LOWER[b[pb + k]!]!;
      if (d !== 0) return d;
    }
    if (na !== nb) return na - nb;
  }
  return la.length - lb.length;
}

/**
 * The immediate successor of a name in canonical order (RFC 4471 §3.1.2.1, the absolute method): the name
 * with a leading `\000` label when that fits in 255 octets; else its first label grown by a zero octet; else
 * that label's last octet incremented (trailing 0xff octets dropped, upper-case letters skipped as they sort
 * as lower case). A label with nothing left to increment is removed: the successor is then past its parent's
 * whole subtree, which is the parent label grown by a zero octet (the name is shorter by then, so it fits)
 * or, at 63 octets, that label incremented the same way.
 */
export function successorName(wire: Uint8Array): Buffer {
  const lower = lowerName(wire);
  if (lower.length + 2 <= MAX_NAME_OCTETS) return Buffer.concat([Buffer.from([1, 0]), lower]);
  const labels: number[][] = labelOffsets(lower).map((p) => [...lower.subarray(p + 1, p + 1 + lower[p]!)]);
  const first = labels[0]!;
  if (first.length < 63 && lower.length + 1 <= MAX_NAME_OCTETS) {
    first.push(0);
    return fromLabels(labels);
  }
  while (labels.length > 0) {
    const label = labels[0]!;
    while (label.length > 0 && label[label.length - 1] === 0xff) label.pop();
    if (label.length > 0) {
      let c = label[label.length - 1]! + 1;
      if (c >= 0x41 && c <= 0x5a) c = 0x5b; // A..Z sort as a..z: the next octet after '@' is '['
      label[label.length - 1] = c;
      return fromLabels(labels);
    }
    labels.shift(); // nothing left to increment in this label: the successor is past its parent's subtree
    const parent = labels[0];
    if (parent && parent.length < 63) {
      parent.push(0);
      return fromLabels(labels);
    }
  }
  throw new Error('the root has no successor');
}

function fromLabels(labels: number[][]): Buffer {
  return Buffer.from([...labels.flatMap((l) => [l.length, ...l]), 0]);
}
