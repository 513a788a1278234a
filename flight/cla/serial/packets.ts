// The byte stream inside the frames: CCSDS encapsulation packets (133.1-B). An LTP segment
// travels as one packet with protocol id 001 (LTP, SANA) and a 2-byte length: header
// 0xE6 0x00 length:u16 (total packet length), then the segment. Idle fill is the one-byte idle
// packet 0xE0. Each frame's first header pointer says where the first packet starts in it, so
// after a lost frame the receiver drops the broken packet and picks the stream up again there.
import { FHP_IDLE, FHP_NO_PACKET, type TransferFrame } from './frames.js';
import type { SerialChannels } from '../dictionary.js';
import { SerialPacketError } from './errors.js';

const LTP_PACKET = 0xe6; // version 111, protocol id 001 (LTP), length of length 10
const IDLE_PACKET = 0xe0; // version 111, protocol id 000 (idle), length of length 00
// A lockstep HIL bench's step request or a node's step report (flight/exec/lockstep.ts): protocol
// id 110 (mission-specific), laid out as an LTP packet. A node not in lockstep refuses it.
const LOCKSTEP_PACKET = 0xfa; // version 111, protocol id 110, length of length 10
const HEADER = 4;
/** Largest packet: the 16-bit length field. */
export const MAX_PACKET_BYTES = 0xffff;

export function encodePacket(segment: Uint8Array, protocol: 'ltp' | 'lockstep' = 'ltp'): Uint8Array {
  const out = new Uint8Array(HEADER + segment.length);
  out[0] = protocol === 'ltp' ? LTP_PACKET : LOCKSTEP_PACKET;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out.set(segment, HEADER);
  return out;
}

/** Packets waiting to go, cut into frame data fields. */
export interface PendingPacket {
  readonly bytes: Uint8Array;
  /** Called once the packet's last byte is in a frame that has been written to the line. */
  readonly sent: () => void;
}

/**
 * Fills one data field of `size` bytes from `take()` (the next packet, or undefined), continuing
 * the packet cut at the end of the previous field. Returns the field, its first header pointer
 * and the packets that ended in it.
 */
export class Packetiser {
  private current: PendingPacket | undefined;
  private offset = 0;

  constructor(private readonly take: () => PendingPacket | undefined) {}

  /** Whether a frame now would carry packet bytes (not only idle fill). */
  get busy(): boolean {
    return this.current !== undefined;
  }

  fill(size: number): { data: Uint8Array; firstHeader: number; ended: PendingPacket[] } {
    const data = new Uint8Array(size);
    const ended: PendingPacket[] = [];
    let at = 0;
    let firstHeader = -1;
    while (at < size) {
      if (!this.current) {
        this.current = this.take();
        this.offset = 0;
        if (!this.current) break;
      }
      if (this.offset === 0 && firstHeader < 0) firstHeader = at;
      const n = Math.min(size - at, this.current.bytes.length - this.offset);
      data.set(this.current.bytes.subarray(this.offset, this.offset + n), at);
      at += n;
      this.offset += n;
      if (this.offset === this.current.bytes.length) {
        ended.push(this.current);
        this.current = undefined;
      }
    }
    if (at < size) {
      data.fill(IDLE_PACKET, at);
      if (firstHeader < 0) firstHeader = at === 0 ? FHP_IDLE : at;
    }
    return { data, firstHeader: firstHeader < 0 ? FHP_NO_PACKET : firstHeader, ended };
  }
}

/** Reassembles packets from consecutive frames' data fields; hands on each LTP segment. */
export class Depacketiser {
  private partial: Uint8Array | undefined;
  private partialLength = 0;
  private inSync = false;
  private lastVc = -1;

  constructor(
    private readonly channels: SerialChannels,
    private readonly onSegment: (segment: Uint8Array) => void,
    private readonly onError: (error: SerialPacketError) => void,
    /** Lockstep packets; absent on a node not in lockstep, which refuses them. */
    private readonly onLockstep?: (payload: Uint8Array) => void,
  ) {}

  onFrame(frame: TransferFrame): void {
    const continuous = this.lastVc >= 0 && frame.vcCount === ((this.lastVc + 1) & 0xff);
    if (this.lastVc >= 0 && !continuous) this.channels.frameGaps.add();
    this.lastVc = frame.vcCount;
    if (!continuous) this.resync();
    if (frame.firstHeader === FHP_IDLE) {
      this.resync();
      this.inSync = true;
      return;
    }
    let at = 0;
    if (!this.inSync) {
      if (frame.firstHeader === FHP_NO_PACKET) return;
      if (frame.firstHeader >= frame.data.length) {
        this.fail(new SerialPacketError('SERIAL_BAD_FIRST_HEADER', `first header pointer ${frame.firstHeader} beyond the ${frame.data.length}-byte data field`));
        return;
      }
      at = frame.firstHeader;
      this.inSync = true;
    }
    while (at < frame.data.length && this.inSync) at = this.consume(frame.data, at);
  }

  /** Takes bytes from `data` at `at` into the current packet; returns where it stopped. */
  private consume(data: Uint8Array, at: number): number {
    if (!this.partial) {
      if (data[at] === IDLE_PACKET) return at + 1;
      this.partial = new Uint8Array(HEADER);
      this.partialLength = 0;
    }
    const want = this.partial.length;
    const n = Math.min(want - this.partialLength, data.length - at);
    this.partial.set(data.subarray(at, at + n), this.partialLength);
    this.partialLength += n;
    at += n;
    if (this.partialLength < want) return at;
    if (want === HEADER) {
      const length = (this.partial[2]! << 8) | this.partial[3]!;
      const known = this.partial[0] === LTP_PACKET || (this.partial[0] === LOCKSTEP_PACKET && this.onLockstep !== undefined);
      if (!known || this.partial[1] !== 0 || length <= HEADER) {
        this.fail(new SerialPacketError('SERIAL_BAD_PACKET', `packet header ${Buffer.from(this.partial).toString('hex')}: not an LTP or lockstep encapsulation packet`));
        return data.length;
      }
      const grown = new Uint8Array(length);
      grown.set(this.partial);
      this.partial = grown;
      return at;
    }
    const segment = this.partial.subarray(HEADER);
    const lockstep = this.partial[0] === LOCKSTEP_PACKET;
    this.partial = undefined;
    this.channels.packetsIn.add();
    if (lockstep) this.onLockstep!(segment);
    else this.onSegment(segment);
    return at;
  }

  private fail(error: SerialPacketError): void {
    this.channels.packetErrors.add();
    this.onError(error);
    this.resync();
  }

  /** Drops the packet in progress; the stream resumes at the next frame's first header. */
  private resync(): void {
    this.partial = undefined;
    this.inSync = false;
  }
}
