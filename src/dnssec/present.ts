// Presentation form (RFC 4034 §2.2, §3.2, §4.2, §5.3) of the DNSSEC records steerdns makes: DNSKEY, DS,
// RRSIG and NSEC, as dig and BIND's tools print them (times as YYYYMMDDHHMMSS, keys and signatures in
// base64, digests in upper-case hex). For `keygen`'s DS lines, `explain` and tests.
import { typeName } from '../dns/registry.js';
import { keyTimeText } from './key-files.js';
import { NXNAME, parseNsec } from './nsec.js';
import { parseRrsig, unixOfSerial } from './rrsig.js';
import { namePresentation } from './wire.js';

/** The mnemonic of a type, NXNAME (RFC 9824) included. */
export function dnssecTypeName(type: number): string {
  return type === NXNAME ? 'NXNAME' : typeName(type);
}

export function dnskeyText(rdata: Buffer): string {
  return `${rdata.readUInt16BE(0)} ${rdata[2]} ${rdata[3]} ${rdata.subarray(4).toString('base64')}`;
}

export function dsText(rdata: Buffer): string {
  return `${rdata.readUInt16BE(0)} ${rdata[2]} ${rdata[3]} ${rdata.subarray(4).toString('hex').toUpperCase()}`;
}

/** RRSIG RDATA in presentation form; the 32-bit times read as the dates nearest `now` (unix seconds). */
export function rrsigText(rdata: Buffer, now: number = Date.now() / 1000): string {
  const f = parseRrsig(rdata);
  const time = (t: number) => keyTimeText(unixOfSerial(t, now));
  return [
    dnssecTypeName(f.typeCovered),
    f.algorithm,
    f.labels,
    f.originalTtl,
    time(f.expiration),
    time(f.inception),
    f.keyTag,
    namePresentation(f.signer),
    f.signature.toString('base64'),
  ].join(' ');
}

export function nsecText(rdata: Buffer): string {
  const { next, types } = parseNsec(rdata);
  return [namePresentation(next), ...types.map(dnssecTypeName)].join(' ');
}
