// The structural check of a MaxMind DB (.mmdb) file, before it is used: the metadata marker, the search tree
// ending on the data section separator, and every value of the data section (types, sizes, pointers, nesting),
// per the MaxMind DB file format spec. The reader trusts what it reads; a file that passes here does not send
// it into garbage or loops. Pure functions of the file's bytes: gslb/geo.ts opens the file and calls them.

const SEPARATOR = Buffer.alloc(16);
const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);

/** Where the metadata section starts (its marker), or -1 when the file has none. */
export function metadataStart(buf: Buffer): number {
  return buf.lastIndexOf(METADATA_MARKER);
}

/** What of a file's metadata places the search tree. */
export interface TreeShape {
  searchTreeSize: number;
  nodeCount: number;
  recordSize: number;
}

/**
 * What is wrong with the layout of a file whose metadata the reader could read (the search tree, the separator
 * after it, the data section up to the metadata at `metadataAt`), as the message ends; null for a sound file.
 */
export function layoutError(buf: Buffer, md: TreeShape, metadataAt: number): string | null {
  // the search tree must end before the metadata (MaxMind's "invalid node count" test file does not)
  if (md.searchTreeSize + 16 > metadataAt) {
    return `the search tree (${md.nodeCount} nodes) runs past the data section`;
  }
  // the tree ends with the 16 zero bytes of the data section separator: a node count or record size that is
  // off by a little still lands inside the file, but not on them
  if (!buf.subarray(md.searchTreeSize, md.searchTreeSize + 16).equals(SEPARATOR)) {
    return `no data section separator after the search tree (${md.nodeCount} nodes of ${md.recordSize} bits): the node count or record size is wrong`;
  }
  // the reader trusts the sizes it is given (a double of 2 bytes is read as 8, and the record around it as
  // garbage): every value of the data section is checked once, here
  return checkDataSection(buf, md.searchTreeSize + 16, metadataAt);
}

/** Maps and arrays nested deeper than this in the data section are refused (real databases nest 4 deep). */
export const MAX_DATA_DEPTH = 64;

/** The data types of the MaxMind DB format by number (0: extended), as named in messages. */
const MMDB_TYPE_WORDS = [
  'an extended type',
  'a pointer',
  'a string',
  'a double',
  'a bytes field',
  'a uint16',
  'a uint32',
  'a map',
  'an int32',
  'a uint64',
  'a uint128',
  'an array',
  'a data cache container',
  'an end marker',
  'a boolean',
  'a float',
];
/** Payload bytes by type: exactly (double, float) or at most (integers); -1 for no limit. */
const EXACT_BYTES = [-1, -1, -1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 4];
const MAX_BYTES = [-1, -1, -1, -1, -1, 2, 4, -1, 4, 8, 16, -1, -1, -1, -1, -1];
const SIZE_WORDS = [
  '',
  '',
  '',
  'doubles are 8',
  '',
  'uint16s are at most 2',
  'uint32s are at most 4',
  '',
  'int32s are at most 4',
  'uint64s are at most 8',
  'uint128s are at most 16',
  '',
  '',
  '',
  '',
  'floats are 4',
];

/** The type number of the value whose control byte is at `at` (an extended type's from its second byte). */
function typeAt(buf: Uint8Array, at: number): number {
  const t = buf[at]! >>> 5;
  return t === 0 ? 7 + (buf[at + 1] ?? 0) : t;
}

/**
 * Walks the data section (file bytes `start` to `end`, the metadata marker) value by value, per the MaxMind
 * DB spec: every control byte, size and payload, every pointer. Returns what is wrong with it, or null.
 * Iterative: maps and arrays are a stack of at most MAX_DATA_DEPTH counters. Refused: a double that is not
 * 8 bytes or a float not 4 (the reader reads 8 and 4 whatever the size says), integers longer than their
 * type, a boolean other than 0 or 1, unknown and deprecated types, a map key that is not a string, a value
 * running past the end, values nested too deep, and pointers that leave the data section, do not land on
 * the start of a value, land on another pointer (illegal) or on a map or array they are inside (a loop).
 */
function checkDataSection(buf: Uint8Array, start: number, end: number): string | null {
  const len = end - start;
  const past = (what: string, off: number) => `${what} at data offset ${off} runs past the end of the data section (${len} bytes)`;
  // where each value starts (a pointer must land on one), a bit per byte
  const starts = new Uint8Array((len >>> 3) + 1);
  // the open maps and arrays: items left in each (a map's keys and values both count), where it starts
  const left = new Int32Array(MAX_DATA_DEPTH + 1);
  const opened = new Int32Array(MAX_DATA_DEPTH + 1);
  const isMap = new Uint8Array(MAX_DATA_DEPTH + 1);
  let depth = 0;
  // pointers to data not walked yet: (pointer offset, target, 1 for a map key) triples, checked at the end
  const ahead: number[] = [];
  let i = start;
  while (i < end) {
    const off = i - start;
    starts[off >>> 3] |= 1 << (off & 7);
    const ctrl = buf[i]!;
    let type = ctrl >>> 5;
    if (type === 1) {
      // 001SSVVV: SS + 1 more bytes of pointer; sizes 1 and 2 add 2048 and 526336; size 3 ignores VVV
      const ss = (ctrl >>> 3) & 3;
      if (i + 2 + ss > end) return past('a pointer', off);
      let target: number;
      if (ss === 0) target = ((ctrl & 7) << 8) | buf[i + 1]!;
      else if (ss === 1) target = (((ctrl & 7) << 16) | (buf[i + 1]! << 8) | buf[i + 2]!) + 2048;
      else if (ss === 2) target = (ctrl & 7) * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) + 526336;
      else target = buf[i + 1]! * 0x1000000 + ((buf[i + 2]! << 16) | (buf[i + 3]! << 8) | buf[i + 4]!);
      i += 2 + ss;
      if (target >= len) return `a pointer at data offset ${off} to data offset ${target}, outside the data section (${len} bytes)`;
      if (target < off) {
        const to = buf[start + target]! >>> 5;
        if ((starts[target >>> 3]! & (1 << (target & 7))) === 0 || to === 1 || (to !== 2 && atKey(depth, isMap, left))) {
          return pointerTarget(buf, start, starts, off, target, atKey(depth, isMap, left));
        }
        // pointing back at a map or array it is inside: the reader would follow it for ever
        if (depth > 0 && target >= opened[1]!) {
          for (let d = 1; d <= depth; d++) {
            if (opened[d] === target)
              return `a pointer at data offset ${off} to data offset ${target}, ${MMDB_TYPE_WORDS[isMap[d] ? 7 : 11]} that contains it (a loop)`;
          }
        }
      } else ahead.push(off, target, atKey(depth, isMap, left) ? 1 : 0);
    } else {
      let p = i + 1;
      if (type === 0) {
        if (p >= end) return past('an extended type', off);
        type = 7 + buf[p++]!;
        if (type < 8 || type > 15) return `an unknown data type (extended type byte ${type - 7}) at data offset ${off}`;
      }
      let size = ctrl & 31;
      if (size >= 29) {
        // 29, 30, 31: the size is 29, 285 or 65,821 plus the next 1, 2 or 3 bytes
        const n = size - 28;
        if (p + n > end) return past(MMDB_TYPE_WORDS[type]!, off);
        size =
          n === 1
            ? 29 + buf[p]!
            : n === 2
              ? 285 + ((buf[p]! << 8) | buf[p + 1]!)
              : 65_821 + ((buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!);
        p += n;
      }
      if (type !== 2 && atKey(depth, isMap, left)) return `a map key at data offset ${off} is ${MMDB_TYPE_WORDS[type]} (keys are strings)`;
      if (type === 7 || type === 11) {
        if (depth === MAX_DATA_DEPTH) return `maps and arrays nested more than ${MAX_DATA_DEPTH} deep at data offset ${off}`;
        if (size > 0) {
          depth++;
          left[depth] = type === 7 ? size * 2 : size;
          opened[depth] = off;
          isMap[depth] = type === 7 ? 1 : 0;
          i = p;
          continue;
        }
        i = p;
      } else if (type === 14) {
        // a boolean's size is its value: no payload
        if (size > 1) return `a boolean of size ${size} at data offset ${off} (booleans are 0 or 1)`;
        i = p;
      } else {
        if (type === 12 || type === 13) return `${MMDB_TYPE_WORDS[type]} at data offset ${off} (a deprecated type, not read by readers)`;
        if ((EXACT_BYTES[type]! >= 0 && size !== EXACT_BYTES[type]) || (MAX_BYTES[type]! >= 0 && size > MAX_BYTES[type]!)) {
          return `${MMDB_TYPE_WORDS[type]} of ${size} bytes at data offset ${off} (${SIZE_WORDS[type]})`;
        }
        if (p + size > end) return past(MMDB_TYPE_WORDS[type]!, off);
        i = p + size;
      }
    }
    // a value done: so are the maps and arrays it was the last item of
    while (depth > 0 && --left[depth] === 0) depth--;
  }
  if (depth > 0) return past(MMDB_TYPE_WORDS[isMap[depth] ? 7 : 11]!, opened[depth]!);
  for (let k = 0; k < ahead.length; k += 3) {
    const bad = pointerTarget(buf, start, starts, ahead[k]!, ahead[k + 1]!, ahead[k + 2] === 1);
    if (bad) return bad;
  }
  return null;
}

/** Whether the next value is a map key: a map's items alternate key, value, so its count left is even before a key. */
function atKey(depth: number, isMap: Uint8Array, left: Int32Array): boolean {
  return depth > 0 && isMap[depth] === 1 && (left[depth]! & 1) === 0;
}

/** A pointer's target, in the data walked: the start of a value, not a pointer, a string for a map key. */
function pointerTarget(buf: Uint8Array, start: number, starts: Uint8Array, off: number, target: number, key: boolean): string | null {
  if ((starts[target >>> 3]! & (1 << (target & 7))) === 0)
    return `a pointer at data offset ${off} to data offset ${target}, which is not the start of a value`;
  const type = typeAt(buf, start + target);
  if (type === 1) return `a pointer at data offset ${off} to another pointer (at data offset ${target})`;
  if (key && type !== 2)
    return `a map key at data offset ${off} points to ${MMDB_TYPE_WORDS[type] ?? 'an unknown type'} at data offset ${target} (keys are strings)`;
  return null;
}
