// SVCB and HTTPS RDATA (RFC 9460): SvcPriority, TargetName and the SvcParams, from their presentation form
// (`alpn="h2,h3" port=443`, Appendix A's escapes) or from the YAML mapping of zone-format.md, checked by the
// rules of §2.4 (AliasMode), §7 (each key's value) and §8 (mandatory), and encoded in key order (§2.2).
import { SVC_KEYS, svcKeyName } from '../dns/rdata-text.js';
import { ipFamily, ipToBytes } from '../net/address.js';

/** One SvcParam: its key number and its value in wire form. */
export interface SvcParam {
  key: number;
  value: Buffer;
}

/** The key number of a name written in a record (`alpn`, `key65000`); a string says why not. */
export function svcKeyNumber(name: string): number | string {
  if (Object.hasOwn(SVC_KEYS, name)) return SVC_KEYS[name]!;
  const m = /^key(0|[1-9]\d{0,4})$/.exec(name);
  if (m && Number(m[1]) <= 65535) {
    const key = Number(m[1]);
    return key === 65535 ? 'key65535 is reserved ("Invalid key", RFC 9460 §14.3.2)' : key;
  }
  return `unknown SvcParamKey "${name}" (expected mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNNNN)`;
}

/** Splits a value-list at unescaped commas, resolving `\,` and `\\` (RFC 9460 Appendix A.1). */
export function valueList(octets: Buffer): Buffer[] {
  const items: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < octets.length; i++) {
    const c = octets[i]!;
    if (c === 0x5c && i + 1 < octets.length) cur.push(octets[++i]!);
    else if (c === 0x2c) {
      items.push(Buffer.from(cur));
      cur = [];
    } else cur.push(c);
  }
  items.push(Buffer.from(cur));
  return items;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The wire value of key `key` from its value as octets (char-string escapes already resolved; null when the
 * key is written without `=`). A string says what is wrong.
 */
export function svcValueFromText(key: number, octets: Buffer | null): Buffer | string {
  const name = svcKeyName(key);
  if (key === 2) return octets === null || octets.length === 0 ? Buffer.alloc(0) : `${name} takes no value`;
  if (octets === null || octets.length === 0) {
    // a key of its own number may be written without a value (an empty value)
    return key > 6 ? Buffer.alloc(0) : `${name} needs a value (${name}=...)`;
  }
  const text = octets.toString('latin1');
  const list = () => text.split(',');
  switch (key) {
    case 0:
      return svcValueFromKeys(list());
    case 1:
      return svcValueFromAlpn(valueList(octets));
    case 3:
      return /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? u16(Number(text)) : `port must be an integer from 0 to 65535, got "${text}"`;
    case 4:
    case 6:
      return svcValueFromAddresses(key, list());
    case 5:
      return BASE64.test(text) ? Buffer.from(text, 'base64') : `ech must be base64 (RFC 4648), got "${text}"`;
    default:
      return Buffer.from(octets);
  }
}

export function svcValueFromKeys(names: string[]): Buffer | string {
  const keys: number[] = [];
  for (const n of names) {
    const k = svcKeyNumber(n);
    if (typeof k === 'string') return `mandatory: ${k}`;
    if (k === 0) return 'mandatory may not list "mandatory" itself (RFC 9460 §8)';
    if (keys.includes(k)) return `mandatory lists ${n} twice`;
    keys.push(k);
  }
  keys.sort((a, b) => a - b);
  return Buffer.concat(keys.map(u16));
}

export function svcValueFromAlpn(ids: Buffer[]): Buffer | string {
  const out: Buffer[] = [];
  for (const id of ids) {
    if (id.length === 0 || id.length > 255) return 'alpn: each protocol id is 1 to 255 octets';
    out.push(Buffer.from([id.length]), id);
  }
  return Buffer.concat(out);
}

export function svcValueFromAddresses(key: number, addresses: string[]): Buffer | string {
  const family = key === 4 ? 4 : 6;
  const out: Buffer[] = [];
  for (const a of addresses) {
    if (ipFamily(a) !== family) return `${svcKeyName(key)}: "${a}" is not an IPv${family} address`;
    out.push(ipToBytes(a));
  }
  return Buffer.concat(out);
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

/**
 * The whole RDATA once every param is read: checks the rules between params and writes them in key order.
 * `target` is the TargetName in wire form. A string says what is wrong.
 */
export function svcbRdata(priority: number, target: Buffer, params: SvcParam[]): Buffer | string {
  if (priority === 0 && params.length) return 'AliasMode (priority 0) takes no SvcParams (RFC 9460 §2.4.2)';
  const sorted = [...params].sort((a, b) => a.key - b.key);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]!.key === sorted[i - 1]!.key) return `${svcKeyName(sorted[i]!.key)} is given twice (RFC 9460 §2.2)`;
  const has = (k: number) => sorted.some((p) => p.key === k);
  const mandatory = sorted.find((p) => p.key === 0);
  if (mandatory) {
    for (let i = 0; i < mandatory.value.length; i += 2) {
      const k = mandatory.value.readUInt16BE(i);
      if (!has(k)) return `mandatory lists ${svcKeyName(k)}, which the record does not have (RFC 9460 §8)`;
    }
  }
  if (has(2) && !has(1)) return 'no-default-alpn needs alpn (RFC 9460 §7.1.1)';
  const parts: Buffer[] = [u16(priority), target];
  for (const p of sorted) parts.push(u16(p.key), u16(p.value.length), p.value);
  const rdata = Buffer.concat(parts);
  return rdata.length > 65535 ? `the record is ${rdata.length} octets, over 65535` : rdata;
}
