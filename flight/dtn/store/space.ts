// Room on the store's device: the reserve (bytes held in a file of their own while the device has
// room, given up when it fills so that deletions and status reports can still be written) and
// the probe that tells when space has returned. Files beside the segments; recovery reads only
// *.seg. The segment log decides when to use either (segment-log.ts).
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventLog } from '../../tlm/events.js';
import { STORE_EVENTS } from './dictionary.js';

const PROBE_FILE = 'space.probe';
const RESERVE_FILE = 'space.reserve';

/**
 * Writes a file of `bytes` zeros and fdatasyncs it; kept (the reserve, a spare segment) or
 * removed (a probe). A file that failed is removed either way, and the error thrown.
 */
export async function writeZeros(path: string, bytes: number, keep: boolean): Promise<void> {
  let ok = false;
  try {
    const handle = await open(path, 'w');
    try {
      // Zeros written, not a hole: a sparse file would hold no blocks to give back.
      const chunk = Buffer.alloc(Math.min(bytes, 64 * 1024));
      // A nearly full device takes part of a write and fails the next: count what was taken.
      for (let at = 0; at < bytes; ) {
        const { bytesWritten } = await handle.write(chunk, 0, Math.min(chunk.length, bytes - at), at);
        if (bytesWritten === 0) throw new Error(`${path}: write made no progress`);
        at += bytesWritten;
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
    ok = true;
  } finally {
    if (!keep || !ok) await rm(path, { force: true });
  }
}

export class SpaceReserve {
  /** The reserve file is there, whole. */
  private held = false;

  constructor(
    private readonly dir: string,
    readonly bytes: number,
    private readonly events: EventLog,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  /** Makes the reserve file if it is not there (kept from the last run otherwise); false if it cannot be made. */
  async hold(): Promise<boolean> {
    if (this.held || this.bytes === 0) return this.held;
    const path = join(this.dir, RESERVE_FILE);
    if (await stat(path).then((st) => st.size === this.bytes, () => false)) return (this.held = true);
    try {
      await writeZeros(path, this.bytes, true);
      this.held = true;
    } catch (error) {
      // The store works without it (a file size limit, a full device): said, not fatal.
      this.events.emit(STORE_EVENTS.noReserve, { bytes: this.bytes, error: (error as Error).message });
    }
    return this.held;
  }

  /** Gives the reserve's bytes back to the device; false if there was none. */
  async release(): Promise<boolean> {
    if (!this.held) return false;
    this.held = false;
    await rm(join(this.dir, RESERVE_FILE), { force: true });
    return true;
  }

  /** Whether `bytes` can be written and fdatasync'd now (the probe file is removed again); throws on other failures. */
  async probe(bytes: number, isNoSpace: (error: unknown) => boolean): Promise<boolean> {
    try {
      await writeZeros(join(this.dir, PROBE_FILE), bytes, false);
      return true;
    } catch (error) {
      if (isNoSpace(error)) return false;
      throw error;
    }
  }
}
