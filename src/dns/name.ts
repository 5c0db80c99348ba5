// Domain names (RFC 1034 §3.1, RFC 1035 §2.3.1). Internally a name is lower-case, without the trailing
// dot; the root is "". `resolveName` reads the presentation format of a name written relative to an origin.
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;
const LOOSE_LABEL = /^[a-z0-9_-]{1,63}$/i;

/** Wire length of a name in internal form. */
export function wireLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}

/**
 * Resolves `name` against `origin` (`@` = origin; a trailing dot = absolute) and checks its syntax.
 * `owner` allows a leading `*` label (wildcards). Returns an error message on bad input.
 */
export function resolveName(raw: string, origin: string, opts: { owner?: boolean } = {}): string | { error: string } {
  let abs: string;
  if (raw === '@') abs = origin;
  else if (raw === '.') abs = '';
  else if (raw.endsWith('.')) abs = raw.slice(0, -1);
  else abs = origin === '' ? raw : `${raw}.${origin}`;
  abs = abs.toLowerCase();
  if (abs === '') return abs;
  const labels = abs.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l === '') return { error: `"${raw}" has an empty label` };
    if (l.length > 63) return { error: `"${raw}" has a label longer than 63 octets` };
    if (l === '*' && i === 0 && opts.owner) continue;
    if (l.includes('*')) return { error: `"${raw}": "*" is only allowed as the whole leftmost label of an owner name` };
    if (!LOOSE_LABEL.test(l)) return { error: `"${raw}" has a label with characters other than letters, digits, "-" and "_"` };
  }
  if (wireLength(abs) > 255) return { error: `"${raw}" is longer than 255 octets` };
  return abs;
}

/** True when every label of a host name (A/AAAA owner, NS/MX target) is LDH/underscore without edge hyphens. */
export function isHostName(name: string): boolean {
  return name === '' || name.split('.').every((l) => HOST_LABEL.test(l));
}

/** A host name as RFC 952/1123 has it: letters, digits and inner hyphens (no underscore), or the root. */
export function isLdhHostName(name: string): boolean {
  return name === '' || name.split('.').every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}

export function isSubdomain(name: string, of: string): boolean {
  return of === '' || name === of || name.endsWith(`.${of}`);
}

export function parentName(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? '' : name.slice(i + 1);
}

/** Name relative to `origin` for messages (`@` for the apex). */
export function relativeName(name: string, origin: string): string {
  if (name === origin) return '@';
  if (origin !== '' && name.endsWith(`.${origin}`)) return name.slice(0, -origin.length - 1);
  return `${name}.`;
}
