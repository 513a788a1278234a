// A small persisted record (parameters, operator keys, replay state, stored sequences) kept as
// two CRC-protected copies, `<file>` and `<file>.bak`, each replaced durably (tmp + fsync +
// rename). The primary is written first, then the backup: a power loss between the two leaves
// one good copy of either the old or the new record, and a bit flip in one copy is repaired
// from the other on the next read.
//
// Layout of each copy: "TREC" | u32 BE payload length | payload | u32 BE CRC-32C of all before.
import { existsSync, readFileSync } from 'node:fs';
import { core } from '../core/wasm.js';
import { writeFileDurable, writeFileDurableAsync } from '../durable.js';

const MAGIC = Uint8Array.of(0x54, 0x52, 0x45, 0x43); // "TREC"
const HEADER = 8;
const TRAILER = 4;

export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length + TRAILER);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, payload.length);
  out.set(payload, HEADER);
  view.setUint32(HEADER + payload.length, core().crc32c(out.subarray(0, HEADER + payload.length)));
  return out;
}

/** The payload of a framed record, or why it is unusable. */
export function unframeRecord(bytes: Uint8Array): Uint8Array | string {
  if (bytes.length < HEADER + TRAILER) return `${bytes.length} bytes is shorter than a record`;
  if (!MAGIC.every((b, i) => bytes[i] === b)) return 'not a Tern record (bad magic)';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4);
  if (length !== bytes.length - HEADER - TRAILER) return `length field ${length} does not match the file (${bytes.length} bytes)`;
  const stored = view.getUint32(HEADER + length);
  const computed = core().crc32c(bytes.subarray(0, HEADER + length));
  if (stored !== computed) return `CRC-32C mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`;
  return bytes.subarray(HEADER, HEADER + length);
}

export type RecordRead =
  | { status: 'absent' }
  | { status: 'ok'; payload: Uint8Array }
  /** One copy was bad (or missing) and has been rewritten from the other. */
  | { status: 'recovered'; payload: Uint8Array; from: 'primary' | 'backup'; problem: string }
  | { status: 'lost'; problem: string };

export class RecordFile {
  readonly backup: string;

  constructor(readonly path: string) {
    this.backup = `${path}.bak`;
  }

  write(payload: Uint8Array): void {
    const framed = frameRecord(payload);
    writeFileDurable(this.path, framed);
    writeFileDurable(this.backup, framed);
  }

  /** write() without blocking the event loop: for records written between frames. */
  async writeAsync(payload: Uint8Array): Promise<void> {
    const framed = frameRecord(payload);
    await writeFileDurableAsync(this.path, framed);
    await writeFileDurableAsync(this.backup, framed);
  }

  private readCopy(path: string): Uint8Array | string {
    if (!existsSync(path)) return 'missing';
    return unframeRecord(new Uint8Array(readFileSync(path)));
  }

  /**
   * Reads the record, repairing a bad copy from the good one. `valid` lets the caller reject a
   * copy whose CRC is fine but whose content is not (returns a problem string, or undefined).
   */
  read(valid: (payload: Uint8Array) => string | undefined = () => undefined): RecordRead {
    const check = (copy: Uint8Array | string): Uint8Array | string => (typeof copy === 'string' ? copy : valid(copy) ?? copy);
    const primary = check(this.readCopy(this.path));
    const backup = check(this.readCopy(this.backup));
    if (primary === 'missing' && backup === 'missing') return { status: 'absent' };
    if (typeof primary !== 'string') {
      if (typeof backup === 'string' || !Buffer.from(backup).equals(Buffer.from(primary))) {
        // Also the normal outcome of a power loss between the two writes: finish the second one.
        writeFileDurable(this.backup, frameRecord(primary));
        if (typeof backup === 'string') return { status: 'recovered', payload: primary, from: 'primary', problem: `backup ${backup}` };
      }
      return { status: 'ok', payload: primary };
    }
    if (typeof backup !== 'string') {
      writeFileDurable(this.path, frameRecord(backup));
      return { status: 'recovered', payload: backup, from: 'backup', problem: `primary ${primary}` };
    }
    return { status: 'lost', problem: `primary ${primary}, backup ${backup}` };
  }
}
