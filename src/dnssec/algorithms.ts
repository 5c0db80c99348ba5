// The DNSSEC signing algorithms steerdns implements, through node:crypto: 13, ECDSA P-256 with SHA-256
// (RFC 6605: the public key is X‖Y, 64 octets; a signature is r‖s, 64 octets, never DER) and 15, Ed25519
// (RFC 8080: a 32-octet public key, a 64-octet signature; RFC 8032's signing is deterministic).
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

export interface Algorithm {
  number: number;
  /** The mnemonic of the IANA DNS Security Algorithm Numbers registry (and of BIND's files). */
  mnemonic: string;
  publicKeyOctets: number;
  privateKeyOctets: number;
  signatureOctets: number;
}

export const ALGORITHMS: Readonly<Record<number, Algorithm>> = {
  13: { number: 13, mnemonic: 'ECDSAP256SHA256', publicKeyOctets: 64, privateKeyOctets: 32, signatureOctets: 64 },
  15: { number: 15, mnemonic: 'ED25519', publicKeyOctets: 32, privateKeyOctets: 32, signatureOctets: 64 },
};

export const ECDSAP256SHA256 = 13;
export const ED25519 = 15;

/** The algorithm of a number, or null when steerdns does not implement it. */
export function algorithmOf(n: number): Algorithm | null {
  return Object.hasOwn(ALGORITHMS, n) ? ALGORITHMS[n]! : null;
}

// An Ed25519 seed wrapped as PKCS #8 (RFC 8410 §7): node:crypto's JWK import wants the public half as well
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A public key in DNSKEY form → a node:crypto key; throws when the octets are not a key of the algorithm. */
export function publicKeyObject(algorithm: number, key: Buffer): KeyObject {
  const alg = requireAlgorithm(algorithm);
  if (key.length !== alg.publicKeyOctets)
    throw new Error(`an ${alg.mnemonic} public key has ${alg.publicKeyOctets} octets, not ${key.length}`);
  if (algorithm === ED25519) {
    const fault = ed25519PointFault(key);
    if (fault) throw new Error(fault);
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' });
  }
  const jwk = { kty: 'EC', crv: 'P-256', x: key.subarray(0, 32).toString('base64url'), y: key.subarray(32).toString('base64url') };
  return createPublicKey({ key: jwk, format: 'jwk' });
}

/** A private key as BIND's `PrivateKey:` holds it (the P-256 scalar, the Ed25519 seed) → the key and its public half in DNSKEY form. */
export function privateKeyObject(algorithm: number, raw: Buffer): { privateKey: KeyObject; publicKey: Buffer } {
  const alg = requireAlgorithm(algorithm);
  if (raw.length > alg.privateKeyOctets || raw.length === 0) {
    throw new Error(`an ${alg.mnemonic} private key has ${alg.privateKeyOctets} octets, not ${raw.length}`);
  }
  if (algorithm === ED25519) {
    if (raw.length !== 32) throw new Error(`an ED25519 private key has 32 octets, not ${raw.length}`);
    const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
    return { privateKey, publicKey: Buffer.from(x, 'base64url') };
  }
  const d = Buffer.concat([Buffer.alloc(32 - raw.length), raw]); // a scalar written without its leading zeros
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 ‖ X ‖ Y
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: d.toString('base64url'),
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  };
  return { privateKey: createPrivateKey({ key: jwk, format: 'jwk' }), publicKey: Buffer.from(point.subarray(1)) };
}

/** A new key pair: the private key as BIND stores it and the public key in DNSKEY form. */
export function generateKeyPair(algorithm: number): { privateKey: Buffer; publicKey: Buffer } {
  requireAlgorithm(algorithm);
  const pair = algorithm === ED25519 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const publicKey =
    algorithm === ED25519
      ? Buffer.from(jwk.x!, 'base64url')
      : Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return { privateKey: Buffer.from(jwk.d!, 'base64url'), publicKey };
}

/** The signature of `data` in DNSSEC form (RFC 6605 §4: r‖s for ECDSA; RFC 8080 §4 for Ed25519). */
export function signData(algorithm: number, key: KeyObject, data: Buffer): Buffer {
  if (algorithm === ED25519) return cryptoSign(null, data, key);
  requireAlgorithm(algorithm);
  return cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

/** Whether `signature` (DNSSEC form) is `key`'s over `data`. */
export function verifyData(algorithm: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const alg = requireAlgorithm(algorithm);
  if (signature.length !== alg.signatureOctets) return false;
  if (algorithm === ED25519) return cryptoVerify(null, data, key, signature);
  return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

// ---- Ed25519 points (RFC 8032 §5.1): node:crypto takes any 32 octets as a public key ----------------------

const P = 2n ** 255n - 19n;
const mod = (a: bigint) => ((a % P) + P) % P;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (let x = mod(b); e > 0n; e >>= 1n, x = (x * x) % P) if (e & 1n) r = (r * x) % P;
  return r;
}
const inv = (a: bigint) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** The point an encoding stands for (RFC 8032 §5.1.3), or null when it is none. */
function decodeEd25519(key: Buffer): [bigint, bigint] | null {
  const bytes = Buffer.from(key);
  const sign = bytes[31]! >> 7;
  bytes[31]! &= 0x7f;
  const y = BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
  if (y >= P) return null;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return null;
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y];
}

/** What is wrong with an Ed25519 public key: not a point of the curve, or one of small order (a multiple of it
 *  by 8 is the neutral point), which no private key yields and under which forged signatures verify. */
export function ed25519PointFault(key: Buffer): string | null {
  const point = decodeEd25519(key);
  if (!point) return 'the ED25519 public key is not a point of the curve (RFC 8032 §5.1.3)';
  let [x, y] = point;
  for (let i = 0; i < 3; i++) {
    // doubling on -x² + y² = 1 + d·x²·y² (RFC 8032 §5.1.4, the affine form)
    const dxy = mod(D * x * x * y * y);
    [x, y] = [mod(2n * x * y * inv(1n + dxy)), mod((y * y + x * x) * inv(1n - dxy))];
  }
  return x === 0n && y === 1n ? 'the ED25519 public key is a point of small order, which no private key has (RFC 8032 §5.1.5)' : null;
}

function requireAlgorithm(n: number): Algorithm {
  const alg = algorithmOf(n);
  if (!alg) throw new Error(`DNSSEC algorithm ${n} is not supported (supported: 13 ECDSAP256SHA256, 15 ED25519)`);
  return alg;
}
