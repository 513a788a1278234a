// How signed command envelopes leave the ground tools. `tern gse send` calls transmit() and
// nothing else: wiring the ground station to the constellation means replacing the body of this
// one function with a bundle sent to the target node's command endpoint. Until then it writes
// the envelope to a file (or stdout with "-"), from which a test or an operator hands it on.
import { writeSync } from 'node:fs';
import { writeFileDurable } from '../flight/durable.js';
import { TernError } from '../flight/errors.js';

export interface TransmitOptions {
  /** File to write the envelope to, "-" for stdout (raw CBOR). */
  readonly out?: string;
}

export class NoTransport extends TernError {
  readonly code = 'GSE_NO_TRANSPORT';
  constructor() {
    super('no transport to the constellation yet: give --out FILE (or --out - for stdout)');
    this.name = 'NoTransport';
  }
}

/**
 * Sends one signed command envelope (CBOR) to node `target` (the bundle transport addresses its
 * command endpoint; the file stand-in needs no address).
 */
export async function transmit(envelope: Uint8Array, target: number, options: TransmitOptions): Promise<void> {
  if (options.out === undefined) throw new NoTransport();
  if (options.out === '-') writeSync(1, envelope);
  else writeFileDurable(options.out, envelope);
}
