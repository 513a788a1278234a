// Reassembly of one inbound TCPCLv4 transfer from its segments, with memory in proportion to
// its bytes whatever the peer's segment sizes.
import { SMALL_CHUNK } from './tcpcl-decoder.js';

const BLOCK_BYTES = 16 * 1024;

/**
 * A transfer's data until its last segment: parts of SMALL_CHUNK bytes or more are kept as views
 * of the received chunks, smaller ones (a peer sending tiny segments) are copied into shared
 * blocks so they do not cost an object each. Joined once, when the transfer ends.
 */
export class TransferData {
  length = 0;
  private parts: Uint8Array[] = [];
  private block: Uint8Array | undefined;
  private blockFill = 0;

  append(part: Uint8Array): void {
    this.length += part.length;
    if (part.length >= SMALL_CHUNK) {
      this.closeBlock();
      this.parts.push(part);
      return;
    }
    if (this.block !== undefined && this.blockFill + part.length > this.block.length) this.closeBlock();
    this.block ??= new Uint8Array(BLOCK_BYTES);
    this.block.set(part, this.blockFill);
    this.blockFill += part.length;
  }

  /** The whole transfer as one buffer. */
  join(): Uint8Array {
    this.closeBlock();
    const parts = this.parts;
    this.parts = [];
    const only = parts[0];
    // One view covering its whole buffer is handed on as is; anything else is copied once, so
    // the sink never pins a socket buffer larger than the bundle.
    if (parts.length === 1 && only !== undefined && only.byteLength === only.buffer.byteLength) return only;
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  private closeBlock(): void {
    if (this.block === undefined) return;
    this.parts.push(this.block.subarray(0, this.blockFill));
    this.block = undefined;
    this.blockFill = 0;
  }
}
