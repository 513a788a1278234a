// Spare segment files: files already written through, kept under names recovery does not read,
// so that a new segment is made by renaming one and writing over it in place. An O_DSYNC write
// inside a file's size changes neither its size nor its extents, so it needs no journal commit;
// an append does, and that commit is most of a batch's time on the ingest path (DESIGN.md,
// "Segment recycling"). Zeros are written once per file, when the store is created; after that
// compaction hands the segments it empties back here instead of deleting them, as databases
// recycle their write-ahead log files, so flash sees each byte written once per use.
//
// What a spare holds (zeros, or the records of an earlier segment) never passes for a record of
// the segment it becomes: every record head names its segment number and offset, and the log
// never reuses a number. `highestOrigin` lets it keep that promise when no segment is left to
// say which numbers were used: it is the highest segment number a spare's header names.
import { constants } from 'node:fs';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Channel } from '../../tlm/channels.js';
import { isNoSpace } from './errors.js';
import { SEGMENT_HEADER_BYTES, segmentHeaderNumber } from './format.js';
import { readFully } from './segment-reader.js';
import { writeZeros } from './space.js';

const SPARE_PATTERN = /^(\d{10})\.spare$/;

function spareFileName(id: number): string {
  return `${String(id).padStart(10, '0')}.spare`;
}

export class SpareSegments {
  /** File ids of the spares, in the order they are handed out (oldest first). */
  private readonly ids: number[] = [];
  private nextId = 1;
  /** Highest segment number a spare's header names (0: none, or zeros). */
  highestOrigin = 0;

  constructor(
    private readonly dir: string,
    /** How many spares the store keeps: compaction recycles a segment only while there are fewer. */
    readonly target: number,
    private readonly gauge: Channel,
  ) {}

  get count(): number {
    return this.ids.length;
  }

  /** Finds the spares in the store directory and the segment numbers their headers name. */
  async list(): Promise<void> {
    for (const file of await readdir(this.dir)) {
      const match = SPARE_PATTERN.exec(file);
      if (!match) continue;
      const id = Number(match[1]);
      this.ids.push(id);
      this.nextId = Math.max(this.nextId, id + 1);
      const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const handle = await open(join(this.dir, file), 'r');
      try {
        await readFully(handle, header, SEGMENT_HEADER_BYTES, 0);
      } finally {
        await handle.close();
      }
      this.highestOrigin = Math.max(this.highestOrigin, segmentHeaderNumber(header));
    }
    this.ids.sort((a, b) => a - b);
    this.gauge.set(this.ids.length);
  }

  /**
   * Writes spares of `bytes` zeros until there are `target` (the store being created). Each is
   * fdatasync'd; the caller syncs the directory. A full device stops it: the store works
   * without spares, appending as it would with none configured.
   */
  async format(bytes: number): Promise<void> {
    while (this.ids.length < this.target) {
      const id = this.nextId++;
      try {
        await writeZeros(join(this.dir, spareFileName(id)), bytes, true);
      } catch (error) {
        if (isNoSpace(error)) return;
        throw error;
      }
      this.ids.push(id);
      this.gauge.set(this.ids.length);
    }
  }

  /**
   * Opens a new segment's file at `path` with `flags`: a spare renamed there if there is one
   * (`recycled`), else a new file. The caller writes the header and syncs the directory.
   */
  async openSegment(path: string, flags: number): Promise<{ handle: FileHandle; recycled: boolean }> {
    const id = this.ids.shift();
    if (id === undefined) return { handle: await open(path, flags | constants.O_CREAT | constants.O_EXCL), recycled: false };
    this.gauge.set(this.ids.length);
    await rename(join(this.dir, spareFileName(id)), path);
    try {
      return { handle: await open(path, flags), recycled: true };
    } catch (error) {
      await rm(path, { force: true }); // renamed but not opened: neither a spare nor a segment
      throw error;
    }
  }

  /** Whether a segment being deleted should become a spare instead. */
  wanted(): boolean {
    return this.ids.length < this.target;
  }

  /** Renames a deleted segment's file to a spare (the caller syncs the directory). */
  async give(path: string, segment: number): Promise<void> {
    const id = this.nextId++;
    await rename(path, join(this.dir, spareFileName(id)));
    this.ids.push(id);
    this.highestOrigin = Math.max(this.highestOrigin, segment);
    this.gauge.set(this.ids.length);
  }
}
