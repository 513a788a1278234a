// TM transfer frames (CCSDS 132.0-B primary header, no secondary header, no FECF: RS protects
// the frame) in code blocks (CCSDS 131.0-B): ASM 0x1ACFFC1D, then the frame and its RS parity
// (interleave I, virtual fill Q = 223 - frameBytes / I), randomised. The Deframer finds code
// blocks in a byte stream that loses, gains and corrupts bytes: while locked it expects the next
// block right after the last and takes it if its marker is close enough or RS accepts it;
// otherwise it searches for the marker (tolerating bit errors) and takes the first candidate
// that RS decodes. Every corrected symbol and every lost frame is counted.
import { core, rsBlockLength, TM_ASM, type RsCode } from '../../core/wasm.js';
import type { SerialChannels } from '../dictionary.js';

/** First header pointer values of 132.0-B: no packet starts here; only idle data. */
export const FHP_NO_PACKET = 0x7ff;
export const FHP_IDLE = 0x7fe;
const HEADER = 6;

export interface TransferFrame {
  readonly vcCount: number;
  readonly firstHeader: number;
  readonly data: Uint8Array;
}

export interface FrameGeometry {
  readonly interleave: number;
  readonly frameBytes: number;
  readonly spacecraftId: number;
}

export function rsCodeOf(g: FrameGeometry): RsCode {
  return { basis: 'dual', interleave: g.interleave, fill: 223 - g.frameBytes / g.interleave };
}

/** Bytes of one code block on the line, marker included. */
export function codeBlockBytes(g: FrameGeometry): number {
  return TM_ASM.length + rsBlockLength(rsCodeOf(g));
}

/** Data field bytes of a frame: what packets get of it. */
export const dataFieldBytes = (g: FrameGeometry): number => g.frameBytes - HEADER;

/** One frame of virtual channel 0 -> its code block on the line. */
export function encodeCodeBlock(g: FrameGeometry, mcCount: number, vcCount: number, firstHeader: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(g.frameBytes);
  // version 00, SCID (10 bits), VCID 0, no OCF | MC count | VC count | status: segment length id 11, FHP
  frame[0] = (g.spacecraftId >> 4) & 0x3f;
  frame[1] = (g.spacecraftId & 0x0f) << 4;
  frame[2] = mcCount & 0xff;
  frame[3] = vcCount & 0xff;
  frame[4] = 0x18 | ((firstHeader >> 8) & 0x07);
  frame[5] = firstHeader & 0xff;
  frame.set(data, HEADER);
  const block = core().rsEncode(frame, rsCodeOf(g));
  core().tmRandomise(block);
  const out = new Uint8Array(TM_ASM.length + block.length);
  out.set(TM_ASM);
  out.set(block, TM_ASM.length);
  return out;
}

/** Bit errors of a marker candidate at `at`. */
function markerErrors(bytes: Uint8Array, at: number): number {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    let x = bytes[at + i]! ^ TM_ASM[i]!;
    while (x) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

/** Marker bit errors still taken as the expected block's while locked (flywheel). */
const LOCKED_MARKER_ERRORS = 10;
/** Bytes of code blocks decoded in one RS call at most: the core's scratch, one chunk. */
const MAX_RUN_BYTES = 64 * 1024;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class Deframer {
  private buffer = new Uint8Array(0);
  private locked = false;
  private readonly blockBytes: number;
  private readonly code: RsCode;
  private readonly maxRun: number;

  constructor(
    private readonly g: FrameGeometry,
    private readonly maxSyncErrors: number,
    private readonly channels: SerialChannels,
    private readonly onFrame: (frame: TransferFrame) => void,
  ) {
    this.code = rsCodeOf(g);
    this.blockBytes = codeBlockBytes(g);
    this.maxRun = Math.max(1, Math.floor(MAX_RUN_BYTES / (this.blockBytes - 4)));
  }

  push(chunk: Uint8Array): void {
    const joined = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    let at = 0;
    for (;;) {
      if (this.locked) {
        // Blocks where they are expected, markers intact enough: decoded together, one RS call.
        let run = 0;
        while (run < this.maxRun && joined.length - at - run * this.blockBytes >= this.blockBytes && markerErrors(joined, at + run * this.blockBytes) <= LOCKED_MARKER_ERRORS) run++;
        if (run > 0) {
          this.decodeRun(joined, at, run);
          at += run * this.blockBytes;
          continue;
        }
        if (joined.length - at < this.blockBytes) break;
        // The marker is gone; the block may still be there (a burst on the marker): RS decides.
        if (this.decode(joined, at) !== undefined) {
          at += this.blockBytes;
          continue;
        }
        this.locked = false;
        this.channels.syncLosses.add();
        at += 1;
      }
      const found = core().tmFindSync(joined, at, this.maxSyncErrors);
      if (found < 0) {
        const keep = Math.max(at, joined.length - 3);
        this.channels.bytesSkipped.add(keep - at);
        at = keep;
        break;
      }
      this.channels.bytesSkipped.add(found - at);
      at = found;
      if (joined.length - at < this.blockBytes) break;
      if (this.decode(joined, at) !== undefined) {
        this.locked = true;
        at += this.blockBytes;
      } else {
        at += 1; // a false marker, or a block RS cannot save: search on
      }
    }
    this.buffer = joined.slice(at);
  }

  /** Decodes `run` consecutive blocks from `at` whose markers were found; a failure is a lost frame. */
  private decodeRun(bytes: Uint8Array, at: number, run: number): void {
    const body = this.blockBytes - 4;
    const blocks = new Uint8Array(run * body);
    for (let b = 0; b < run; b++) blocks.set(bytes.subarray(at + b * this.blockBytes + 4, at + (b + 1) * this.blockBytes), b * body);
    core().tmRandomise(blocks, body);
    const result = core().rsDecode(blocks, this.code);
    const I = this.code.interleave;
    for (let b = 0; b < run; b++) {
      let ok = true;
      let corrected = 0;
      for (let w = b * I; w < (b + 1) * I; w++) {
        const n = result.corrected[w]!;
        if (n < 0) ok = false;
        else corrected += n;
      }
      if (!ok) {
        this.channels.uncorrectableFrames.add();
        continue;
      }
      this.accept(result.data.subarray(b * this.g.frameBytes, (b + 1) * this.g.frameBytes), corrected);
    }
  }

  /** De-randomises and RS-decodes the one block at `at`; its frame if RS took it and it is this link's. */
  private decode(bytes: Uint8Array, at: number): TransferFrame | undefined {
    const block = bytes.slice(at + 4, at + this.blockBytes);
    core().tmRandomise(block);
    const result = core().rsDecode(block, this.code);
    if (result.uncorrectable.length > 0) return undefined;
    return this.accept(result.data, result.correctedSymbols);
  }

  /** Checks a decoded frame's header and hands the frame on. */
  private accept(frame: Uint8Array, correctedSymbols: number): TransferFrame | undefined {
    const version = frame[0]! >> 6;
    const scid = ((frame[0]! & 0x3f) << 4) | (frame[1]! >> 4);
    const vcid = (frame[1]! >> 1) & 0x07;
    if (version !== 0 || scid !== this.g.spacecraftId || vcid !== 0) {
      this.channels.foreignFrames.add();
      return undefined;
    }
    this.channels.correctedSymbols.add(correctedSymbols);
    this.channels.framesIn.add();
    const parsed = { vcCount: frame[3]!, firstHeader: ((frame[4]! & 0x07) << 8) | frame[5]!, data: frame.subarray(HEADER) };
    this.onFrame(parsed);
    return parsed;
  }
}
