// Name compression of owner names (RFC 1035 §4.1.4), computed on names in wire form. For each suffix of an
// owner name, longest first: the question's name or one of its suffixes is pointed into (so the case as asked
// is echoed); else a suffix written out before in this message (at an offset below 0x4000, where a pointer
// can reach) is pointed at; else the label is written and the suffix remembered. RDATA is never compressed.
// Remembered suffixes live in a table of fixed size stamped per message: nothing is allocated per response.

/** Lower-case form of each byte: ASCII letters fold, every other byte stays as it is (as the query reader). */
const LOWER = new Uint8Array(256).map((_, c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));

/** A name has at most 127 labels (255 octets). */
const MAX_LABELS = 128;
/** Suffixes remembered per message: each starts at a distinct offset below 0x4000 and takes two octets at least. */
const MAX_ENTRIES = 0x2000;
const SLOTS = 0x4000;
const SLOT_MASK = SLOTS - 1;

/**
 * Hash of a suffix from the hash of the suffix after its first label and that label's (folded) octets; 30
 * bits, which V8 keeps unboxed.
 */
function labelHash(after: number, src: Uint8Array, at: number): number {
  const len = src[at]!;
  let h = Math.imul(after ^ len, 0x01000193);
  for (let i = at + 1, end = at + 1 + len; i < end; i++) h = Math.imul(h ^ LOWER[src[i]!]!, 0x01000193);
  return h & 0x3fffffff;
}

export class NameCompressor {
  private buf: Uint8Array = new Uint8Array(0);
  /** Offsets of the question's labels in the message (none: no question, or the root). */
  private qLabels: readonly number[] = [];
  // the owner name being written: its octets, where each label starts, the hash of each suffix
  private src: Uint8Array = new Uint8Array(0);
  private readonly label = new Int32Array(MAX_LABELS);
  private readonly hash = new Int32Array(MAX_LABELS + 1);
  private labels = 0;
  /** How many of the owner's last labels are the question's last labels. */
  private inQuestion = 0;
  // suffixes written out in this message: open addressing over entry numbers, slots stamped with `gen`
  private readonly slotGen = new Uint32Array(SLOTS);
  private readonly slotEntry = new Uint16Array(SLOTS);
  private readonly entryHash = new Int32Array(MAX_ENTRIES);
  private readonly entryPos = new Uint16Array(MAX_ENTRIES);
  private entries = 0;
  private gen = 0;

  /** Starts a message in `buf` whose question's labels are at `qLabels` (already written there). */
  begin(buf: Uint8Array, qLabels: readonly number[]): void {
    this.buf = buf;
    this.qLabels = qLabels;
    this.entries = 0;
    if (++this.gen === 0xffffffff) {
      this.slotGen.fill(0);
      this.gen = 1;
    }
  }

  /** Reads the owner name (uncompressed wire form at `at` of `src`) that the next records are written with. */
  owner(src: Uint8Array, at: number): void {
    this.src = src;
    let n = 0;
    for (let p = at; src[p] !== 0 && n < MAX_LABELS; p += src[p]! + 1) this.label[n++] = p;
    this.labels = n;
    let h = 0x811c9dc5 & 0x3fffffff;
    this.hash[n] = h;
    for (let i = n - 1; i >= 0; i--) this.hash[i] = h = labelHash(h, src, this.label[i]!);
    const q = this.qLabels;
    const buf = this.buf;
    let k = 0;
    while (k < n && k < q.length && sameLabel(src, this.label[n - 1 - k]!, buf, q[q.length - 1 - k]!)) k++;
    this.inQuestion = k;
  }

  /** Writes the owner name read by owner() at `pos`, compressed; returns the offset after it. */
  write(pos: number): number {
    const { buf, src, label, hash, qLabels } = this;
    const n = this.labels;
    for (let i = 0; i < n; i++) {
      const k = n - i; // labels of this suffix
      const at = k <= this.inQuestion ? qLabels[qLabels.length - k]! : this.find(hash[i]!, i);
      if (at >= 0) {
        buf[pos] = 0xc0 | (at >> 8);
        buf[pos + 1] = at & 0xff;
        return pos + 2;
      }
      if (pos < 0x4000) this.remember(hash[i]!, pos);
      const from = label[i]!;
      const len = src[from]!;
      for (let j = 0; j <= len; j++) buf[pos + j] = src[from + j]!;
      pos += len + 1;
    }
    buf[pos] = 0;
    return pos + 1;
  }

  /** Offset of a suffix written out before that equals the owner's suffix from label `i`, or -1. */
  private find(h: number, i: number): number {
    for (let s = h & SLOT_MASK; this.slotGen[s] === this.gen; s = (s + 1) & SLOT_MASK) {
      const e = this.slotEntry[s]!;
      if (this.entryHash[e] === h && this.sameSuffix(i, this.entryPos[e]!)) return this.entryPos[e]!;
    }
    return -1;
  }

  private remember(h: number, pos: number): void {
    const e = this.entries++;
    this.entryHash[e] = h;
    this.entryPos[e] = pos;
    let s = h & SLOT_MASK;
    while (this.slotGen[s] === this.gen) s = (s + 1) & SLOT_MASK;
    this.slotGen[s] = this.gen;
    this.slotEntry[s] = e;
  }

  /** Whether the owner's labels from `i` on spell the name at `pos` of the message (pointers followed). */
  private sameSuffix(i: number, pos: number): boolean {
    const { buf, src, label } = this;
    let p = pos;
    for (let j = i; j < this.labels; j++) {
      while (buf[p]! >= 0xc0) p = ((buf[p]! & 0x3f) << 8) | buf[p + 1]!;
      if (!sameLabel(src, label[j]!, buf, p)) return false;
      p += buf[p]! + 1;
    }
    while (buf[p]! >= 0xc0) p = ((buf[p]! & 0x3f) << 8) | buf[p + 1]!;
    return buf[p] === 0;
  }
}

/** Whether the labels at `a` of `x` and at `b` of `y` are equal, ASCII case folded. */
function sameLabel(x: Uint8Array, a: number, y: Uint8Array, b: number): boolean {
  const len = x[a]!;
  if (y[b] !== len) return false;
  for (let i = 1; i <= len; i++) if (LOWER[x[a + i]!] !== LOWER[y[b + i]!]) return false;
  return true;
}
