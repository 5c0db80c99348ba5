// LOC RDATA (RFC 1876): latitude and longitude in thousandths of an arc second, altitude in centimetres
// above a base 100 km below the WGS 84 spheroid, and size and precisions as one digit times a power of ten
// centimetres. Read from the presentation form (`52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m`)
// or from the YAML mapping of zone-format.md; a size that the one-digit form cannot hold is an error, not
// silently rounded.

export interface Loc {
  /** Thousandths of an arc second, north and east positive. */
  lat: number;
  lon: number;
  altCm: number;
  sizeCm: number;
  hpCm: number;
  vpCm: number;
}

export const LOC_DEFAULTS = { sizeCm: 100, hpCm: 1_000_000, vpCm: 1000 };
const MAX_ALT_CM = 4_284_967_295; // 2^32 - 1 - 10,000,000
const MIN_ALT_CM = -10_000_000;
const MAX_SIZE_CM = 9_000_000_000;

/** A size or precision in centimetres as its octet (mantissa << 4 | exponent); a string when it has no exact form. */
export function precisionOctet(cm: number, what: string): number | string {
  if (cm === 0) return 0;
  for (let e = 0; e <= 9; e++) {
    const m = cm / 10 ** e;
    if (m < 10 && Number.isInteger(m)) return (m << 4) | e;
  }
  const e = Math.min(9, Math.floor(Math.log10(cm)));
  const lo = Math.floor(cm / 10 ** e) * 10 ** e;
  const hi = lo + 10 ** e;
  const m = (c: number) => `${c / 100}m`;
  return `${what} ${m(cm)} cannot be written in LOC's one digit and a power of ten (RFC 1876 §2): ${m(lo)} or ${m(hi)}`;
}

export function locRdata(v: Loc): Buffer | string {
  const b = Buffer.alloc(16);
  const size = precisionOctet(v.sizeCm, 'size');
  const hp = precisionOctet(v.hpCm, 'horizontal precision');
  const vp = precisionOctet(v.vpCm, 'vertical precision');
  for (const x of [size, hp, vp]) if (typeof x === 'string') return x;
  if (v.altCm < MIN_ALT_CM || v.altCm > MAX_ALT_CM) return 'altitude must be from -100000.00m to 42849672.95m';
  b[1] = size as number;
  b[2] = hp as number;
  b[3] = vp as number;
  b.writeUInt32BE(2 ** 31 + v.lat, 4);
  b.writeUInt32BE(2 ** 31 + v.lon, 8);
  b.writeUInt32BE(v.altCm + 10_000_000, 12);
  return b;
}

/** Metres written `12`, `12.5`, `-2.00m` → centimetres; null when not such a number. */
export function metresToCm(text: string, signed: boolean): number | null {
  const m = (signed ? /^(-?)(\d{1,9})(?:\.(\d{1,2}))?m?$/ : /^()(\d{1,9})(?:\.(\d{1,2}))?m?$/).exec(text);
  if (!m) return null;
  const cm = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -cm : cm;
}

/**
 * An angle `d [m [s]] H` from `words` starting at `i` (H: one of the two hemisphere letters) → thousandths
 * of an arc second and the index after it; a string says what is wrong, with the index of the word at fault.
 */
export function readAngle(
  words: string[],
  i: number,
  hemispheres: [string, string],
  maxDeg: number,
  what: string,
): { mas: number; next: number } | { error: string; at: number } {
  const parts: string[] = [];
  let j = i;
  while (j < words.length && parts.length < 3 && !hemispheres.includes(words[j]!.toUpperCase())) parts.push(words[j++]!);
  const hemi = words[j]?.toUpperCase();
  if (parts.length === 0 || hemi === undefined || !hemispheres.includes(hemi))
    return { error: `${what} must be written "degrees [minutes [seconds]] ${hemispheres.join('|')}"`, at: Math.min(j, words.length - 1) };
  const [d, m = '0', s = '0'] = parts;
  const deg = /^\d{1,3}$/.test(d!) ? Number(d) : Number.NaN;
  const min = /^\d{1,2}$/.test(m) ? Number(m) : Number.NaN;
  const sec = /^\d{1,2}(?:\.\d{1,3})?$/.test(s) ? Number(s) : Number.NaN;
  if (!(deg <= maxDeg)) return { error: `${what} degrees must be an integer from 0 to ${maxDeg}, got "${d}"`, at: i };
  if (!(min < 60)) return { error: `${what} minutes must be an integer from 0 to 59, got "${m}"`, at: i + 1 };
  if (!(sec < 60)) return { error: `${what} seconds must be from 0 to 59.999, got "${s}"`, at: i + 2 };
  const mas = (deg * 3600 + min * 60) * 1000 + Math.round(sec * 1000);
  if (mas > maxDeg * 3_600_000) return { error: `${what} is beyond ${maxDeg} degrees`, at: i };
  return { mas: hemi === hemispheres[0] ? mas : -mas, next: j + 1 };
}

/** LOC from the words of its presentation form; a string error with the index of the word at fault. */
export function locFromWords(words: string[]): Buffer | { error: string; at: number } {
  const lat = readAngle(words, 0, ['N', 'S'], 90, 'latitude');
  if ('error' in lat) return lat;
  const lon = readAngle(words, lat.next, ['E', 'W'], 180, 'longitude');
  if ('error' in lon) return lon;
  let i = lon.next;
  if (i >= words.length) return { error: 'altitude is missing (write it in metres: 0m)', at: words.length - 1 };
  const altCm = metresToCm(words[i]!, true);
  if (altCm === null) return { error: `altitude must be metres such as -24.50m, got "${words[i]}"`, at: i };
  const sizes = [LOC_DEFAULTS.sizeCm, LOC_DEFAULTS.hpCm, LOC_DEFAULTS.vpCm];
  const names = ['size', 'horizontal precision', 'vertical precision'];
  for (let k = 0; k < 3 && ++i < words.length; k++) {
    const cm = metresToCm(words[i]!, false);
    if (cm === null || cm > MAX_SIZE_CM) return { error: `${names[k]} must be metres from 0 to 90000000.00, got "${words[i]}"`, at: i };
    sizes[k] = cm;
  }
  if (i + 1 < words.length) return { error: `unexpected "${words[i + 1]}" after the vertical precision`, at: i + 1 };
  const r = locRdata({ lat: lat.mas, lon: lon.mas, altCm, sizeCm: sizes[0]!, hpCm: sizes[1]!, vpCm: sizes[2]! });
  return typeof r === 'string' ? { error: r, at: Math.min(lon.next + 1, words.length - 1) } : r;
}
