// Incremental TCPCLv4 decoder: bytes arrive from TCP in chunks of any size (one byte at a time
// included); next() returns the contact header, then each complete message, or undefined until
// enough bytes are there. Every violation is thrown as a typed ClaProtocolError; after one, the
// stream is no longer framed and the session ends.
//
// Memory: chunks are kept as they came (no copy); a message is parsed only once all of it is
// buffered, so the buffer is bounded by the largest message this node accepts, i.e. the
// Segment MRU it announced plus a header. Segment data is returned as views of the chunks, and
// the session joins a transfer's segments once, when the transfer ends.
import {
  MalformedMessageError,
  SegmentTooLargeError,
  UnknownMessageTypeError,
  VersionMismatchError,
  ContactHeaderError,
} from './errors.js';
import { CONTACT_HEADER_LENGTH, MAGIC, MSG, VERSION, XFER_START, type ExtensionItem } from './tcpcl-wire.js';

export interface ContactHeader {
  readonly type: 'contact';
  readonly version: number;
  readonly flags: number;
}

export interface XferSegment {
  readonly type: typeof MSG.XFER_SEGMENT;
  readonly flags: number;
  readonly transferId: bigint;
  /** Transfer extension items; only a START segment carries them. */
  readonly extensions: readonly ExtensionItem[];
  readonly dataLength: number;
  /** The segment's data as views of the received chunks, in order. */
  readonly data: readonly Uint8Array[];
}

export interface XferAck {
  readonly type: typeof MSG.XFER_ACK;
  readonly flags: number;
  readonly transferId: bigint;
  readonly acknowledged: number;
}

export interface XferRefuse {
  readonly type: typeof MSG.XFER_REFUSE;
  readonly reason: number;
  readonly transferId: bigint;
}

export interface Keepalive {
  readonly type: typeof MSG.KEEPALIVE;
}

export interface SessTerm {
  readonly type: typeof MSG.SESS_TERM;
  readonly flags: number;
  readonly reason: number;
}

export interface MsgReject {
  readonly type: typeof MSG.MSG_REJECT;
  readonly reason: number;
  readonly rejectedHeader: number;
}

export interface SessInit {
  readonly type: typeof MSG.SESS_INIT;
  readonly keepaliveS: number;
  readonly segmentMru: number;
  readonly transferMru: number;
  readonly nodeId: string;
  readonly extensions: readonly ExtensionItem[];
}

export type Message = XferSegment | XferAck | XferRefuse | Keepalive | SessTerm | MsgReject | SessInit;

export interface DecoderLimits {
  /** Largest XFER_SEGMENT data accepted (the Segment MRU this node announces). */
  readonly segmentMru: number;
  /** Largest session or transfer extension item list accepted. */
  readonly maxExtensionBytes: number;
}

const NO_EXTENSIONS: readonly ExtensionItem[] = Object.freeze([]);
const TWO_32 = 0x1_0000_0000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** U64 as a number; exact up to 2^53, beyond that only "very large" (callers bound it). */
function u64(b: Uint8Array, at: number): number {
  return u32(b, at) * TWO_32 + u32(b, at + 4);
}

function u64Big(b: Uint8Array, at: number): bigint {
  return (BigInt(u32(b, at)) << 32n) | BigInt(u32(b, at + 4));
}

/** Chunks shorter than this are copied into a shared block instead of kept one by one. */
export const SMALL_CHUNK = 512;
const BLOCK_BYTES = 16 * 1024;

/**
 * The bytes received and not yet consumed, as the chunks they arrived in. A peer trickling
 * bytes in tiny chunks would otherwise cost an object per chunk (a hundred times its bytes):
 * small chunks are copied into a shared block, so memory stays proportional to the bytes held.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0;
  private offset = 0;
  private scratch = new Uint8Array(64);
  private block: Uint8Array | undefined;
  private blockFill = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.length += chunk.length;
    if (chunk.length >= SMALL_CHUNK) {
      this.chunks.push(chunk);
      return;
    }
    let block = this.block;
    if (block === undefined || this.blockFill + chunk.length > block.length) {
      block = this.block = new Uint8Array(BLOCK_BYTES);
      this.blockFill = 0;
    }
    const at = this.blockFill;
    block.set(chunk, at);
    this.blockFill += chunk.length;
    // Extend the last chunk when it is this block's view ending where the copy began (its start,
    // and so any read offset into it, stays put); otherwise add a view of the new bytes.
    const last = this.chunks.length - 1;
    const tail = last >= this.first ? this.chunks[last]! : undefined;
    if (tail !== undefined && tail.buffer === block.buffer && tail.byteOffset + tail.length === at) {
      this.chunks[last] = block.subarray(tail.byteOffset, this.blockFill);
    } else {
      this.chunks.push(block.subarray(at, this.blockFill));
    }
  }

  /**
   * A contiguous view of the next n bytes (n <= length). Zero-copy when they lie in one chunk;
   * otherwise a copy in a scratch buffer that the next peek overwrites.
   */
  peek(n: number): Uint8Array {
    const head = this.chunks[this.first]!;
    if (head.length - this.offset >= n) return head.subarray(this.offset, this.offset + n);
    if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, this.scratch.length * 2));
    let filled = 0;
    let index = this.first;
    let offset = this.offset;
    while (filled < n) {
      const chunk = this.chunks[index++]!;
      const count = Math.min(chunk.length - offset, n - filled);
      this.scratch.set(chunk.subarray(offset, offset + count), filled);
      filled += count;
      offset = 0;
    }
    return this.scratch.subarray(0, n);
  }

  skip(n: number): void {
    this.consume(n, undefined);
  }

  /** Removes the next n bytes and returns them as views of the chunks (no copy). */
  take(n: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    this.consume(n, parts);
    return parts;
  }

  private consume(n: number, into: Uint8Array[] | undefined): void {
    this.length -= n;
    while (n > 0) {
      const chunk = this.chunks[this.first]!;
      const count = Math.min(chunk.length - this.offset, n);
      if (into) into.push(chunk.subarray(this.offset, this.offset + count));
      n -= count;
      this.offset += count;
      if (this.offset === chunk.length) {
        this.first++;
        this.offset = 0;
      }
    }
    // Drop consumed chunk references now and then, not on every message.
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 256) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

function parseExtensions(view: Uint8Array, start: number, length: number, message: string): readonly ExtensionItem[] {
  if (length === 0) return NO_EXTENSIONS;
  const items: ExtensionItem[] = [];
  const end = start + length;
  let at = start;
  while (at < end) {
    if (end - at < 5) {
      throw new MalformedMessageError(message, 'extension items', `${end - at} bytes left at item ${items.length}, an item header needs 5`);
    }
    const valueLength = u16(view, at + 3);
    if (at + 5 + valueLength > end) {
      throw new MalformedMessageError(message, 'extension items', `item ${items.length} claims ${valueLength} bytes, ${end - at - 5} left in the list`);
    }
    // A copy: the view may be the queue's scratch buffer.
    items.push({ flags: view[at]!, type: u16(view, at + 1), value: new Uint8Array(view.subarray(at + 5, at + 5 + valueLength)) });
    at += 5 + valueLength;
  }
  return items;
}

export class TcpclDecoder {
  private readonly queue = new ByteQueue();
  private contactDone = false;
  /** Bytes that must be buffered before parsing is worth retrying. */
  private need = 1;

  constructor(private readonly limits: DecoderLimits) {}

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /** Bytes received and not yet returned as a message. */
  get buffered(): number {
    return this.queue.length;
  }

  next(): ContactHeader | Message | undefined {
    if (this.queue.length < this.need) return undefined;
    const result = this.contactDone ? this.message() : this.contactHeader();
    if (typeof result === 'number') {
      this.need = result;
      return undefined;
    }
    this.need = 1;
    return result;
  }

  private contactHeader(): ContactHeader | number {
    const q = this.queue;
    // Check the magic as soon as its first bytes arrive: a non-TCPCL peer is refused at once.
    const seen = q.peek(Math.min(q.length, CONTACT_HEADER_LENGTH));
    for (let i = 0; i < Math.min(seen.length, MAGIC.length); i++) {
      if (seen[i] !== MAGIC[i]) throw new ContactHeaderError(new Uint8Array(seen));
    }
    if (q.length < CONTACT_HEADER_LENGTH) return CONTACT_HEADER_LENGTH;
    const version = seen[4]!;
    const flags = seen[5]!;
    q.skip(CONTACT_HEADER_LENGTH);
    this.contactDone = true;
    if (version !== VERSION) throw new VersionMismatchError(version);
    return { type: 'contact', version, flags };
  }

  private message(): Message | number {
    const q = this.queue;
    const type = q.peek(1)[0]!;
    switch (type) {
      case MSG.XFER_SEGMENT:
        return this.xferSegment();
      case MSG.XFER_ACK: {
        if (q.length < 18) return 18;
        const b = q.peek(18);
        const acknowledged = u64(b, 10);
        if (!Number.isSafeInteger(acknowledged)) {
          throw new MalformedMessageError('XFER_ACK', 'acknowledged length', `${acknowledged} is beyond any transfer this node sends`);
        }
        const message: XferAck = { type, flags: b[1]!, transferId: u64Big(b, 2), acknowledged };
        q.skip(18);
        return message;
      }
      case MSG.XFER_REFUSE: {
        if (q.length < 10) return 10;
        const b = q.peek(10);
        const message: XferRefuse = { type, reason: b[1]!, transferId: u64Big(b, 2) };
        q.skip(10);
        return message;
      }
      case MSG.KEEPALIVE:
        q.skip(1);
        return { type };
      case MSG.SESS_TERM: {
        if (q.length < 3) return 3;
        const b = q.peek(3);
        const message: SessTerm = { type, flags: b[1]!, reason: b[2]! };
        q.skip(3);
        return message;
      }
      case MSG.MSG_REJECT: {
        if (q.length < 3) return 3;
        const b = q.peek(3);
        const message: MsgReject = { type, reason: b[1]!, rejectedHeader: b[2]! };
        q.skip(3);
        return message;
      }
      case MSG.SESS_INIT:
        return this.sessInit();
      default:
        throw new UnknownMessageTypeError(type);
    }
  }

  private extensionLength(length: number, message: string): number {
    if (length > this.limits.maxExtensionBytes) {
      throw new MalformedMessageError(message, 'extension items length', `${length} bytes exceeds this node's limit of ${this.limits.maxExtensionBytes}`);
    }
    return length;
  }

  private xferSegment(): XferSegment | number {
    const q = this.queue;
    if (q.length < 10) return 10;
    let b = q.peek(10);
    const flags = b[1]!;
    let extensions = NO_EXTENSIONS;
    let lengthAt = 10;
    if ((flags & XFER_START) !== 0) {
      if (q.length < 14) return 14;
      const extLength = this.extensionLength(u32(q.peek(14), 10), 'XFER_SEGMENT');
      lengthAt = 14 + extLength;
      if (q.length < lengthAt + 8) return lengthAt + 8;
      b = q.peek(lengthAt + 8);
      extensions = parseExtensions(b, 14, extLength, 'XFER_SEGMENT');
    } else {
      if (q.length < 18) return 18;
      b = q.peek(18);
    }
    const dataLength = u64(b, lengthAt);
    // Refused before any of the data is buffered: the bound is what keeps memory bounded.
    if (dataLength > this.limits.segmentMru) throw new SegmentTooLargeError(dataLength, this.limits.segmentMru);
    const total = lengthAt + 8 + dataLength;
    if (q.length < total) return total;
    const transferId = u64Big(b, 2);
    q.skip(lengthAt + 8);
    return { type: MSG.XFER_SEGMENT, flags, transferId, extensions, dataLength, data: q.take(dataLength) };
  }

  private sessInit(): SessInit | number {
    const q = this.queue;
    if (q.length < 21) return 21;
    let b = q.peek(21);
    const nodeIdEnd = 21 + u16(b, 19);
    if (q.length < nodeIdEnd + 4) return nodeIdEnd + 4;
    const extLength = this.extensionLength(u32(q.peek(nodeIdEnd + 4), nodeIdEnd), 'SESS_INIT');
    const total = nodeIdEnd + 4 + extLength;
    if (q.length < total) return total;
    b = q.peek(total);
    let nodeId: string;
    try {
      nodeId = utf8.decode(b.subarray(21, nodeIdEnd));
    } catch {
      throw new MalformedMessageError('SESS_INIT', 'node ID', 'not valid UTF-8');
    }
    const message: SessInit = {
      type: MSG.SESS_INIT,
      keepaliveS: u16(b, 1),
      // MRUs are limits: anything beyond 2^53 is as good as unlimited here.
      segmentMru: Math.min(u64(b, 3), Number.MAX_SAFE_INTEGER),
      transferMru: Math.min(u64(b, 11), Number.MAX_SAFE_INTEGER),
      nodeId,
      extensions: parseExtensions(b, nodeIdEnd + 4, extLength, 'SESS_INIT'),
    };
    q.skip(total);
    return message;
  }
}
