// ML-DSA (FIPS 204) behind one interface, with two backends: node:crypto where the runtime has
// it (Node >= 24 on OpenSSL 3.5) and @noble/post-quantum everywhere else. Flight code verifies
// through `MlDsa`; which backend runs is decided once at start-up and reported in telemetry.
//
// Both backends take the same key material: a 32-byte seed (xi, FIPS 204 Algorithm 1) for the
// signing key and the raw encoded public key, so keys and signatures move between them freely.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';

export type MlDsaParameterSet = 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';
export type MlDsaBackendName = 'noble' | 'node';

/** Byte lengths of FIPS 204 Table 2. */
export const ML_DSA_LENGTHS = {
  'ML-DSA-44': { publicKey: 1312, signature: 2420 },
  'ML-DSA-65': { publicKey: 1952, signature: 3309 },
  'ML-DSA-87': { publicKey: 2592, signature: 4627 },
} as const satisfies Record<MlDsaParameterSet, { publicKey: number; signature: number }>;

export const ML_DSA_SEED_BYTES = 32;
/** FIPS 204 limits the context string to 255 bytes. */
export const ML_DSA_MAX_CONTEXT = 255;

export interface MlDsa {
  readonly backend: MlDsaBackendName;
  readonly set: MlDsaParameterSet;
  /** The encoded public key of the key pair generated from `seed` (FIPS 204 ML-DSA.KeyGen_internal). */
  publicKey(seed: Uint8Array): Uint8Array;
  /** ML-DSA.Sign (pure, external interface) with a context string; hedged (randomized). */
  sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Uint8Array;
  /**
   * ML-DSA.Verify (pure, external interface). A key or signature of the wrong length, or a
   * context longer than 255 bytes (FIPS 204 Algorithm 3 returns false for it), is simply not
   * valid (false); it never throws for bad input.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array): boolean;
}

function checkContext(context: Uint8Array): void {
  // Signing takes only the contexts this code builds: a longer one is a programming error.
  if (context.length > ML_DSA_MAX_CONTEXT) throw new RangeError(`ML-DSA context of ${context.length} bytes exceeds 255`);
}

const NOBLE = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 } as const;

/** The noble implementation, also exposing FIPS 204's internal interface (used by ACVP tests). */
export class NobleMlDsa implements MlDsa {
  readonly backend = 'noble';
  private readonly impl;

  constructor(readonly set: MlDsaParameterSet) {
    this.impl = NOBLE[set];
  }

  publicKey(seed: Uint8Array): Uint8Array {
    return this.impl.keygen(seed).publicKey;
  }

  sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Uint8Array {
    checkContext(context);
    return this.impl.sign(message, this.impl.keygen(seed).secretKey, { context });
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array): boolean {
    if (context.length > ML_DSA_MAX_CONTEXT || !this.lengthsOk(publicKey, signature)) return false;
    return this.impl.verify(signature, message, publicKey, { context });
  }

  /**
   * ML-DSA.Verify_internal (FIPS 204 Algorithm 8) on a formatted message M', or on mu itself
   * when `externalMu` is set. Not used by flight code: there for the ACVP internal-interface
   * groups and for HashML-DSA, whose M' the caller formats.
   */
  verifyInternal(publicKey: Uint8Array, messageOrMu: Uint8Array, signature: Uint8Array, externalMu: boolean): boolean {
    if (!this.lengthsOk(publicKey, signature)) return false;
    return this.impl.internal.verify(signature, messageOrMu, publicKey, { externalMu });
  }

  private lengthsOk(publicKey: Uint8Array, signature: Uint8Array): boolean {
    const lengths = ML_DSA_LENGTHS[this.set];
    return publicKey.length === lengths.publicKey && signature.length === lengths.signature;
  }
}

// DER pieces for node:crypto key import. The algorithm identifiers are the NIST OIDs
// 2.16.840.1.101.3.4.3.{17,18,19} (RFC 9881); the private key uses the seed-only CHOICE [0].
const OID_LAST = { 'ML-DSA-44': 0x11, 'ML-DSA-65': 0x12, 'ML-DSA-87': 0x13 } as const;

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  return Uint8Array.of(0x82, n >> 8, n & 0xff);
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return Buffer.concat([Uint8Array.of(tag), derLength(body.length), body]);
}

function algorithmIdentifier(set: MlDsaParameterSet): Uint8Array {
  return der(0x30, Uint8Array.of(0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, OID_LAST[set]));
}

/** The node:crypto implementation (OpenSSL 3.5 or later); construct only where `nodeHasMlDsa()`. */
export class NodeMlDsa implements MlDsa {
  readonly backend = 'node';
  // Parsing a key into a KeyObject costs more than a verification's hashing of a short
  // message, so the few operator keys in use are kept parsed.
  private readonly keys = new Map<string, KeyObject>();
  private static readonly KEY_CACHE = 64;

  constructor(readonly set: MlDsaParameterSet) {}

  private privateKey(seed: Uint8Array): KeyObject {
    if (seed.length !== ML_DSA_SEED_BYTES) throw new RangeError(`ML-DSA seed must be 32 bytes, got ${seed.length}`);
    const pkcs8 = der(0x30, Uint8Array.of(0x02, 0x01, 0x00), algorithmIdentifier(this.set), der(0x04, der(0x80, seed)));
    return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  }

  private publicKeyObject(publicKey: Uint8Array): KeyObject {
    const id = Buffer.from(publicKey).toString('base64');
    let key = this.keys.get(id);
    if (!key) {
      const spki = der(0x30, algorithmIdentifier(this.set), der(0x03, Uint8Array.of(0), publicKey));
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      if (this.keys.size >= NodeMlDsa.KEY_CACHE) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(id, key);
    }
    return key;
  }

  publicKey(seed: Uint8Array): Uint8Array {
    const spki = createPublicKey(this.privateKey(seed)).export({ format: 'der', type: 'spki' });
    // The BIT STRING holding the key is the SPKI's tail.
    return new Uint8Array(spki.subarray(spki.length - ML_DSA_LENGTHS[this.set].publicKey));
  }

  sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array): Uint8Array {
    checkContext(context);
    // @types/node 20 does not know the `context` option; Node 24 does.
    const key = { key: this.privateKey(seed), context } as unknown as KeyObject;
    return new Uint8Array(nodeSign(null, message, key));
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array): boolean {
    const lengths = ML_DSA_LENGTHS[this.set];
    if (context.length > ML_DSA_MAX_CONTEXT || publicKey.length !== lengths.publicKey || signature.length !== lengths.signature) return false;
    const key = { key: this.publicKeyObject(publicKey), context } as unknown as KeyObject;
    return nodeVerify(null, message, key, signature);
  }
}

let nodeSupport: boolean | undefined;

/** Whether this runtime's node:crypto does ML-DSA (and takes a context string). Probed once. */
export function nodeHasMlDsa(): boolean {
  if (nodeSupport === undefined) {
    try {
      const { privateKey, publicKey } = generateKeyPairSync('ml-dsa-65' as 'ed25519');
      const context = Uint8Array.of(1);
      const signature = nodeSign(null, context, { key: privateKey, context } as unknown as KeyObject);
      // A runtime that ignores `context` would accept this under the wrong context: not usable.
      const wrong = nodeVerify(null, context, { key: publicKey, context: Uint8Array.of(2) } as unknown as KeyObject, signature);
      nodeSupport = !wrong && nodeVerify(null, context, { key: publicKey, context } as unknown as KeyObject, signature);
    } catch {
      // Only the answer matters here: an unknown key type means "no ML-DSA in this runtime".
      nodeSupport = false;
    }
  }
  return nodeSupport;
}

/** The fastest available backend, or the one asked for (`node` fails where the runtime lacks it). */
export function mlDsa(set: MlDsaParameterSet, backend: MlDsaBackendName | 'auto' = 'auto'): MlDsa {
  if (backend === 'noble') return new NobleMlDsa(set);
  if (backend === 'node' && !nodeHasMlDsa()) {
    throw new Error(`node:crypto in Node ${process.version} (OpenSSL ${process.versions.openssl}) has no ML-DSA`);
  }
  return nodeHasMlDsa() ? new NodeMlDsa(set) : new NobleMlDsa(set);
}
