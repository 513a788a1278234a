// Worker thread of WorkerCrypto (handshake-crypto.ts): runs the handshake's ML-KEM and ML-DSA
// operations off the frame thread, one request at a time, answering each with its result or
// the message of its error.
import { parentPort, workerData } from 'node:worker_threads';
import { InThreadCrypto, type HandshakeReply, type HandshakeRequest, type HandshakeWorkerData } from './handshake-crypto.js';
import { mlDsa } from './mldsa.js';

const data = workerData as HandshakeWorkerData;
const crypto = new InThreadCrypto(mlDsa('ML-DSA-65', data.backend), data.identitySeed);
const port = parentPort!;

port.on('message', (request: HandshakeRequest) => {
  const run = crypto[request.operation] as (...args: unknown[]) => Promise<unknown>;
  run.apply(crypto, request.args).then(
    (result) => port.postMessage({ id: request.id, result } satisfies HandshakeReply),
    (error: Error) => port.postMessage({ id: request.id, error: `${error.name}: ${error.message}` } satisfies HandshakeReply),
  );
});
