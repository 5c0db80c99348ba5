// Reading a zone file's text safely (docs/zone-format.md#files): not a file, too large, a dangling link,
// not UTF-8 text — each refused with a message and a position instead of blocking, running out of memory or
// serving U+FFFD. Used for zone files and for the master files they include.
import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats, statSync } from 'node:fs';
import { notARegularFile } from './source.js';

export type ReadResult = { text: string } | { message: string; line: number; col: number };

/** The UTF-8 text of `path`, at most `limit` bytes; `what` names the file in messages ("zone file"). */
export function readZoneText(path: string, limit: number, what = 'zone file'): ReadResult {
  const fail = (message: string) => ({ message, line: 1, col: 1 });
  let raw: Buffer;
  let fd: number | null = null;
  try {
    // a directory, or a link to a named pipe or a device: reading would fail, block for ever or never end.
    // Checked before opening, as opening a named pipe blocks until a writer comes.
    const notFile = notAFile(statSync(path), what);
    if (notFile) return fail(notFile);
    // then one descriptor for the checks and the reading: the file swapped or grown in between cannot get
    // past them (an atomic rename after the stat gives the new file, checked again here)
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    const notFileNow = notAFile(st, what);
    if (notFileNow) return fail(notFileNow);
    const over = (size: number) => fail(`${what} is ${size} bytes, over limits.zone_bytes (${limit})`);
    if (st.size > limit) return over(st.size);
    // to the end of the file, but never more than limit + 1 bytes: one more than the limit means the file
    // grew past it since fstat
    let buf = Buffer.allocUnsafe(Math.min(st.size, limit) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > limit) {
          const now = fstatSync(fd).size;
          return now > limit ? over(now) : fail(`${what} grew past limits.zone_bytes (${limit}) while being read`);
        }
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, limit + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    raw = buf.subarray(0, got);
  } catch (e) {
    const link = (e as NodeJS.ErrnoException).code === 'ENOENT' ? danglingLink(path) : null;
    return fail(
      link ? `cannot read ${what}: it is a symbolic link to ${link}, which does not exist` : `cannot read ${what}: ${(e as Error).message}`,
    );
  } finally {
    if (fd !== null) closeSync(fd);
  }
  // read as UTF-8, invalid bytes would silently become U+FFFD (and be served so in TXT records)
  const bad = notText(raw, what);
  if (bad) return bad;
  return { text: raw.toString('utf8') };
}

/** Why a file's status is not a regular file's (as the message ends), or null for a regular file. */
function notAFile(st: Stats, what: string): string | null {
  const kind = notARegularFile(st);
  return kind && `not a ${what}: it is ${kind}`;
}

function danglingLink(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

/** The first NUL or invalid UTF-8 byte of a file, with its position; null for UTF-8 text. */
function notText(b: Buffer, what: string): { message: string; line: number; col: number } | null {
  let at = b.indexOf(0);
  let message = `${what} is binary, not text (a NUL byte)`;
  if (!isUtf8(b)) {
    for (let i = 0; i < b.length && (at < 0 || i < at); ) {
      const c = b[i]!;
      const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
      if (n === 0 || i + n > b.length || !isUtf8(b.subarray(i, i + n))) {
        at = i;
        message = `${what} is not UTF-8 text (byte 0x${c.toString(16).padStart(2, '0')})`;
        break;
      }
      i += n;
    }
  }
  if (at < 0) return null;
  const lineStart = b.lastIndexOf(0x0a, at - 1) + 1;
  let line = 1;
  for (let i = b.indexOf(0x0a); i >= 0 && i < at; i = b.indexOf(0x0a, i + 1)) line++;
  return { message, line, col: b.subarray(lineStart, at).toString('utf8').length + 1 };
}
