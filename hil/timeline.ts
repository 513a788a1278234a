// The NDJSON timeline of a run: one line per bundle, command, response, event, housekeeping
// record, contact change, fault and step, each with its wall time (tMs) and its offset from the
// run's start (dtMs), so a failure can be read back in order and replayed.
import { createWriteStream, type WriteStream } from 'node:fs';

export class Timeline {
  private readonly startMs = Date.now();
  private readonly out: WriteStream | undefined;
  /** The scenario the lines belong to. */
  scenario = '';

  constructor(file?: string) {
    this.out = file === undefined ? undefined : createWriteStream(file, { flags: 'w' });
  }

  record(kind: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    this.out?.write(`${JSON.stringify({ tMs: now, dtMs: now - this.startMs, scenario: this.scenario, kind, ...fields }, bytesAsHex)}\n`);
  }

  close(): Promise<void> {
    const out = this.out;
    return out ? new Promise((resolve) => out.end(() => resolve())) : Promise.resolve();
  }
}

function bytesAsHex(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? `hex:${Buffer.from(raw).toString('hex')}` : value;
}
