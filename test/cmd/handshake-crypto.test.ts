// The handshake's ML-KEM and ML-DSA in the worker thread a flight node runs them in (the built
// worker of dist/, as `tern flight` starts it): same answers as in-thread, errors typed, and a
// closed or dead worker fails every call instead of leaving it waiting.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HandshakeCryptoFailed, InThreadCrypto, WorkerCrypto } from '../../flight/cmd/handshake-crypto.js';
import { NobleMlDsa } from '../../flight/cmd/mldsa.js';
import { REPO } from '../support/node-process.js';

const WORKER = new URL('dist/flight/cmd/handshake-worker.js', `file://${REPO}`);
const dsa = new NobleMlDsa('ML-DSA-65');
const seed = new Uint8Array(createHash('sha256').update('worker test identity').digest());
const context = new TextEncoder().encode('tern-session-v1:2');

describe('handshake crypto in a worker thread', () => {
  it('signs, verifies, encapsulates and decapsulates as the in-thread crypto does', async () => {
    const worker = new WorkerCrypto(dsa, seed, WORKER);
    const local = new InThreadCrypto(dsa, seed);
    try {
      const body = new TextEncoder().encode('offer body');
      const signature = await worker.sign(body, context);
      expect(await local.verify(dsa.publicKey(seed), body, signature, context)).toBe(true);
      expect(await worker.verify(dsa.publicKey(seed), body, await local.sign(body, context), context)).toBe(true);
      expect(await worker.verify(dsa.publicKey(seed), new TextEncoder().encode('other'), signature, context)).toBe(false);
      const { encapsulationKey, decapsulationKey } = await worker.keygen();
      const { ciphertext, sharedSecret } = await local.encapsulate(encapsulationKey);
      expect(await worker.decapsulate(ciphertext, decapsulationKey)).toEqual(sharedSecret);
      // A bad key from a link fails the call with the worker's reason, typed.
      const failed = worker.encapsulate(new Uint8Array(10));
      await expect(failed).rejects.toThrow(HandshakeCryptoFailed);
      await expect(failed).rejects.toThrow(/encapsulate: KemInputInvalid: ML-KEM encapsulation key rejected/);
    } finally {
      await worker.close();
    }
  });

  it('fails calls once closed, and the calls waiting when its thread dies', async () => {
    const worker = new WorkerCrypto(dsa, seed, WORKER);
    const waiting = worker.keygen();
    await worker.close();
    await expect(waiting).rejects.toThrow(HandshakeCryptoFailed);
    await expect(worker.sign(new Uint8Array(1), context)).rejects.toThrow(/sign: handshake worker closed/);
    const missing = new WorkerCrypto(dsa, seed, new URL('dist/flight/cmd/no-such-worker.js', `file://${REPO}`));
    await expect(missing.keygen()).rejects.toThrow(HandshakeCryptoFailed);
  });
});
