// ML-KEM (FIPS 203) through @noble/post-quantum, with the input checks of FIPS 203 section 7
// (encapsulation key modulus check, decapsulation key hash check) surfaced as a typed error:
// the peer's encapsulation key arrives over a link and is untrusted.
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { TernError } from '../errors.js';

export type MlKemParameterSet = 'ML-KEM-512' | 'ML-KEM-768' | 'ML-KEM-1024';

export class KemInputInvalid extends TernError {
  readonly code = 'CMD_KEM_INPUT_INVALID';
  constructor(what: string, detail: string) {
    super(`ML-KEM ${what} rejected: ${detail}`);
    this.name = 'KemInputInvalid';
  }
}

const IMPL = { 'ML-KEM-512': ml_kem512, 'ML-KEM-768': ml_kem768, 'ML-KEM-1024': ml_kem1024 } as const;

export class MlKem {
  private readonly impl;

  constructor(readonly set: MlKemParameterSet) {
    this.impl = IMPL[set];
  }

  get lengths(): { encapsulationKey: number; ciphertext: number } {
    return { encapsulationKey: this.impl.lengths.publicKey!, ciphertext: this.impl.lengths.cipherText! };
  }

  keygen(): { encapsulationKey: Uint8Array; decapsulationKey: Uint8Array } {
    const { publicKey, secretKey } = this.impl.keygen();
    return { encapsulationKey: publicKey, decapsulationKey: secretKey };
  }

  /**
   * ML-KEM.Encaps. `m` (32 bytes) makes it deterministic (ML-KEM.Encaps_internal) for the ACVP
   * vectors; flight code leaves it to the random source.
   */
  encapsulate(encapsulationKey: Uint8Array, m?: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
    if (encapsulationKey.length !== this.lengths.encapsulationKey) {
      throw new KemInputInvalid('encapsulation key', `${encapsulationKey.length} bytes, expected ${this.lengths.encapsulationKey}`);
    }
    let result;
    try {
      result = this.impl.encapsulate(encapsulationKey, m);
    } catch (error) {
      // noble refuses a key that fails the modulus check; report it as the typed input error.
      throw new KemInputInvalid('encapsulation key', (error as Error).message);
    }
    return { ciphertext: result.cipherText, sharedSecret: result.sharedSecret };
  }

  /** ML-KEM.Decaps. A bad ciphertext yields the implicit-rejection secret, as FIPS 203 says. */
  decapsulate(ciphertext: Uint8Array, decapsulationKey: Uint8Array): Uint8Array {
    if (ciphertext.length !== this.lengths.ciphertext) {
      throw new KemInputInvalid('ciphertext', `${ciphertext.length} bytes, expected ${this.lengths.ciphertext}`);
    }
    try {
      return this.impl.decapsulate(ciphertext, decapsulationKey);
    } catch (error) {
      throw new KemInputInvalid('decapsulation key', (error as Error).message);
    }
  }
}
