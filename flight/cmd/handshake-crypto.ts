// The public-key operations of a session handshake (flight/cmd/session.ts): ML-KEM-768 key
// generation, encapsulation and decapsulation, ML-DSA-65 signing with this node's identity key
// and verifying a peer's. With noble they take 2 to 10 ms each, more than a minor frame has to
// spare, so a flight node runs them in a worker thread (WorkerCrypto) and the frame thread only
// waits for the answer; both ends of a unit test may run them in-thread (InThreadCrypto). The
// worker runs InThreadCrypto itself (handshake-worker.ts): one implementation of each operation.
import { Worker } from 'node:worker_threads';
import { TernError } from '../errors.js';
import type { MlDsa, MlDsaBackendName } from './mldsa.js';
import { MlKem } from './mlkem.js';

export interface HandshakeCrypto {
  keygen(): Promise<{ encapsulationKey: Uint8Array; decapsulationKey: Uint8Array }>;
  /** ML-DSA-65 signature of this node's identity key. */
  sign(body: Uint8Array, context: Uint8Array): Promise<Uint8Array>;
  verify(publicKey: Uint8Array, body: Uint8Array, signature: Uint8Array, context: Uint8Array): Promise<boolean>;
  encapsulate(encapsulationKey: Uint8Array): Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }>;
  decapsulate(ciphertext: Uint8Array, decapsulationKey: Uint8Array): Promise<Uint8Array>;
  /** Answers at once: the node's health monitor (flight/exec/health.ts) pings the worker with it. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** An operation of the handshake failed in the worker (its message says which and why). */
export class HandshakeCryptoFailed extends TernError {
  readonly code = 'CMD_HANDSHAKE_CRYPTO';
  constructor(operation: string, detail: string) {
    super(`session handshake ${operation}: ${detail}`);
    this.name = 'HandshakeCryptoFailed';
  }
}

export class InThreadCrypto implements HandshakeCrypto {
  private readonly kem = new MlKem('ML-KEM-768');

  constructor(
    private readonly dsa: MlDsa,
    private readonly identitySeed: Uint8Array,
  ) {}

  async keygen(): Promise<{ encapsulationKey: Uint8Array; decapsulationKey: Uint8Array }> {
    return this.kem.keygen();
  }

  async sign(body: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    return this.dsa.sign(this.identitySeed, body, context);
  }

  async verify(publicKey: Uint8Array, body: Uint8Array, signature: Uint8Array, context: Uint8Array): Promise<boolean> {
    return this.dsa.verify(publicKey, body, signature, context);
  }

  async encapsulate(encapsulationKey: Uint8Array): Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }> {
    return this.kem.encapsulate(encapsulationKey);
  }

  async decapsulate(ciphertext: Uint8Array, decapsulationKey: Uint8Array): Promise<Uint8Array> {
    return this.kem.decapsulate(ciphertext, decapsulationKey);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

/** What the worker gets at start. */
export interface HandshakeWorkerData {
  readonly backend: MlDsaBackendName;
  readonly identitySeed: Uint8Array;
}

export type HandshakeOperation = Exclude<keyof HandshakeCrypto, 'close'>;
export interface HandshakeRequest { id: number; operation: HandshakeOperation; args: unknown[] }
export type HandshakeReply = { id: number; result: unknown } | { id: number; error: string };

/** The operations in a worker thread; requests are answered in order, one at a time. */
export class WorkerCrypto implements HandshakeCrypto {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { operation: string; resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(dsa: MlDsa, identitySeed: Uint8Array, script = new URL('./handshake-worker.js', import.meta.url)) {
    const workerData: HandshakeWorkerData = { backend: dsa.backend, identitySeed };
    this.worker = new Worker(script, { workerData });
    // An idle worker must not keep a stopping node alive.
    this.worker.unref();
    this.worker.on('message', (reply: HandshakeReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new HandshakeCryptoFailed(waiting.operation, reply.error));
      else waiting.resolve(reply.result);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`handshake worker exited with code ${code}`)));
  }

  keygen(): Promise<{ encapsulationKey: Uint8Array; decapsulationKey: Uint8Array }> {
    return this.call('keygen', []);
  }

  sign(body: Uint8Array, context: Uint8Array): Promise<Uint8Array> {
    return this.call('sign', [body, context]);
  }

  verify(publicKey: Uint8Array, body: Uint8Array, signature: Uint8Array, context: Uint8Array): Promise<boolean> {
    return this.call('verify', [publicKey, body, signature, context]);
  }

  encapsulate(encapsulationKey: Uint8Array): Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }> {
    return this.call('encapsulate', [encapsulationKey]);
  }

  decapsulate(ciphertext: Uint8Array, decapsulationKey: Uint8Array): Promise<Uint8Array> {
    return this.call('decapsulate', [ciphertext, decapsulationKey]);
  }

  ping(): Promise<void> {
    return this.call('ping', []);
  }

  async close(): Promise<void> {
    this.failure ??= new Error('handshake worker closed');
    await this.worker.terminate();
  }

  private call<T>(operation: HandshakeOperation, args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(new HandshakeCryptoFailed(operation, this.failure.message));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { operation, resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, operation, args } satisfies HandshakeRequest);
    });
  }

  /** The worker is gone: every waiting operation fails, and so will every later one. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, waiting] of this.pending) {
      this.pending.delete(id);
      waiting.reject(new HandshakeCryptoFailed(waiting.operation, error.message));
    }
  }
}
