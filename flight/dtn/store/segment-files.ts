// A segment file as the log keeps it open, and the file primitives the log is written with: a
// write of every byte across short writes, and reads that hold the file open (a segment deleted
// by compaction stays readable until its last read ends).
import { open, type FileHandle } from 'node:fs/promises';
import { readFully } from './segment-reader.js';

export interface Segment {
  readonly number: number;
  readonly path: string;
  /** End of its records: the append position of the active segment, the summary's offset of a sealed one. */
  size: number;
  /** Complete: never appended to again (summarised, or found without a trailer and left as it is). */
  sealed: boolean;
  /** The file goes on past `size` with bytes of an earlier use (a recycled spare): sealing cuts them first. */
  staleTail: boolean;
  /** Bytes of the bundle records in it that the index points at. Kept by the store. */
  liveBytes: number;
  /** Bytes of tombstone records in it. */
  tombstoneBytes: number;
  /** Opened on first use; a promise so that concurrent first reads share one handle. */
  handle: Promise<FileHandle> | undefined;
  /** Reads in progress: a removed segment's handle closes when the last one ends. */
  readers: number;
  removed: boolean;
}

/** Writes every byte of `buffers` at `position`, across short writes and the iovec limit. */
export async function writeAll(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let i = 0;
  let skip = 0;
  while (i < buffers.length) {
    const group: Uint8Array[] = [];
    for (let k = i; k < buffers.length && group.length < 512; k++) group.push(k === i ? buffers[k]!.subarray(skip) : buffers[k]!);
    let { bytesWritten } = await handle.writev(group, position);
    if (bytesWritten === 0) throw new Error('write made no progress');
    position += bytesWritten;
    while (i < buffers.length && bytesWritten > 0) {
      const left = buffers[i]!.length - skip;
      if (bytesWritten >= left) {
        bytesWritten -= left;
        i++;
        skip = 0;
      } else {
        skip += bytesWritten;
        bytesWritten = 0;
      }
    }
  }
}

/** Reads `length` bytes at `offset` of a segment, keeping it open meanwhile; fewer if the file ends first. */
export async function readSegmentBytes(segment: Segment, offset: number, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  segment.readers++;
  let got: number;
  try {
    got = await readFully(await handleOf(segment), bytes, length, offset);
  } finally {
    segment.readers--;
    if (segment.removed && segment.readers === 0) await closeSegment(segment);
  }
  return bytes.subarray(0, got);
}

/** The segment's file handle, opened on first use (for reading: the active one is open already). */
export function handleOf(segment: Segment): Promise<FileHandle> {
  if (segment.handle) return segment.handle;
  const opening = open(segment.path, 'r');
  segment.handle = opening;
  // A failed open (EMFILE, ENFILE) is that read's failure, not the segment's: the next read opens again.
  opening.catch(() => {
    if (segment.handle === opening) segment.handle = undefined;
  });
  return opening;
}

/** Closes a segment's file, if open. */
export async function closeSegment(segment: Segment): Promise<void> {
  const handle = segment.handle;
  segment.handle = undefined;
  // A failed open was reported to the read that asked for it.
  await handle?.then((h) => h.close(), () => undefined);
}
