// Creation timestamps (RFC 9171 4.2.2): every bundle a node creates must differ from every other
// bundle of the same source in (creation time, sequence number), or a receiver takes the second
// one for a duplicate and drops it. One allocator serves every bundle source of a node (local
// services, status reports, session handshakes) and the ground tools.
//
// The sequence number never restarts at zero: it only grows, so the pair stays unique whatever
// the clock does (two bundles in one millisecond, an OBC whose clock restarts from an old time
// after a reset). A node keeps a high-water mark on disk and hands out numbers below it; the
// mark is moved ahead in blocks, long before the numbers run out, so a restart starts above any
// number used before it, at the cost of a gap. A short-lived ground tool has no such state shared
// with the other ground tools that send as the same node, perhaps from other machines: it starts
// at a random point of the 2^53 sequence space and counts up from there (see randomStart).
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { dtnNow } from './bundle.js';
import { fsyncDirectory } from '../durable.js';
import { TernError } from '../errors.js';

export interface CreationStamp {
  /** DTN time, ms (0 when the node has no clock). */
  readonly time: number;
  readonly sequence: number;
}

/** No sequence number can be handed out: the high-water mark could not be moved (disk full). */
export class CreationStampError extends TernError {
  readonly code = 'DTN_CREATION_STAMP';
  constructor(path: string, cause: string) {
    super(`no creation sequence number left below the mark in ${path}: ${cause}`);
    this.name = 'CreationStampError';
  }
}

/** Numbers reserved per write of the mark; it moves again when half of them are used. */
const RESERVE = 1 << 16;
/** The mark is written at a fixed width, overwriting itself in place (no new blocks on a full disk). */
const MARK_WIDTH = 20;

export class CreationClock {
  private nextSequence: number;
  /** First number not reserved yet (on disk, for a persistent clock). */
  private limit: number;
  private advancing = false;
  private lastError = 'the mark was never written';

  private constructor(
    start: number,
    limit: number,
    private readonly markPath: string | undefined,
    private readonly now: () => number,
  ) {
    this.nextSequence = start;
    this.limit = limit;
  }

  /**
   * A node's clock, its mark in `path`. Reads and moves the mark synchronously: call it at
   * start-up, before frames run. A mark that cannot be written (a full disk) is not fatal: the
   * clock refuses to stamp (CreationStampError) until a later write succeeds.
   */
  static persistent(path: string, now: () => number = Date.now): CreationClock {
    let mark = 0;
    try {
      // Empty: made on a full disk, never written, so no number below it was handed out.
      const text = readFileSync(path, 'utf8').trim();
      if (text !== '' && (!/^\d{1,20}$/.test(text) || !Number.isSafeInteger(Number(text)))) throw new CreationMarkError(path, text);
      mark = Number(text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const clock = new CreationClock(mark, mark, path, now);
    try {
      writeMarkSync(path, mark + RESERVE);
      clock.limit = mark + RESERVE;
    } catch (error) {
      clock.lastError = (error as Error).message;
    }
    return clock;
  }

  /**
   * A ground tool's clock: a random start below 2^53 - 2^32. Two ground processes that send as
   * one node in the same millisecond collide only if their starts are closer than the numbers
   * they use: 2^-53 for one bundle each (a command), about 2^-42 for a thousand each.
   */
  static randomStart(now: () => number = Date.now): CreationClock {
    const start = Number(randomBytes(8).readBigUInt64BE() % BigInt(Number.MAX_SAFE_INTEGER - 2 ** 32));
    return new CreationClock(start, Number.MAX_SAFE_INTEGER, undefined, now);
  }

  /** A fresh (time, sequence) pair; `unixMs` is the creation time when not now. */
  stamp(unixMs?: number): CreationStamp {
    if (this.markPath !== undefined && this.limit - this.nextSequence <= RESERVE / 2) this.advance();
    if (this.nextSequence >= this.limit) {
      throw new CreationStampError(this.markPath ?? 'memory', this.advancing ? 'the mark is being moved ahead' : this.lastError);
    }
    return { time: dtnNow(unixMs ?? this.now()), sequence: this.nextSequence++ };
  }

  /** Moves the mark ahead between frames; the numbers below the old mark stay usable meanwhile. */
  private advance(): void {
    if (this.advancing) return;
    this.advancing = true;
    const path = this.markPath!;
    const target = Math.max(this.limit, this.nextSequence) + RESERVE;
    writeMark(path, target).then(
      () => {
        this.limit = target;
      },
      (error: Error) => {
        this.lastError = error.message;
      },
    ).finally(() => {
      this.advancing = false;
    });
  }
}

/** The mark file holds something else than a mark: refused rather than guessed. */
export class CreationMarkError extends TernError {
  readonly code = 'DTN_CREATION_MARK';
  constructor(path: string, text: string) {
    super(`${path}: not a creation sequence mark: ${JSON.stringify(text.slice(0, 40))}`);
    this.name = 'CreationMarkError';
  }
}

function markText(value: number): Buffer {
  return Buffer.from(`${String(value).padStart(MARK_WIDTH - 1, '0')}\n`);
}

/**
 * Overwrites the mark in place and fdatasyncs it: a torn write cannot happen within one sector,
 * and overwriting existing bytes needs no free space. A new file is made once, with its
 * directory entry synced.
 */
function writeMarkSync(path: string, value: number): void {
  let created = false;
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    fd = openSync(path, 'wx', 0o644);
    created = true;
  }
  try {
    writeSync(fd, markText(value), 0, MARK_WIDTH, 0);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDirectory(dirname(path));
}

async function writeMark(path: string, value: number): Promise<void> {
  let file;
  let created = false;
  try {
    file = await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    file = await open(path, 'wx', 0o644);
    created = true;
  }
  try {
    await file.write(markText(value), 0, MARK_WIDTH, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  if (created) {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
