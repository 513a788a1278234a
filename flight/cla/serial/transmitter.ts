// The transmitting side of the serial link: LTP segments in, code blocks out at the line rate.
// A pseudo-terminal (and many USB adapters) take bytes as fast as they are written, so the pace
// is kept here: a code block leaves when the line, at baud / 10 bytes a second (8N1), would have
// finished the previous one. With nothing to send, idle frames keep the stream continuous, as a
// radio expects. Reports, acknowledgements and cancels go before data, so a long block in the
// queue does not hold up the answer that lets the other side's block finish.
import type { SerialChannels } from '../dictionary.js';
import { codeBlockBytes, dataFieldBytes, encodeCodeBlock, FHP_IDLE, type FrameGeometry } from './frames.js';
import { encodePacket, Packetiser, type PendingPacket } from './packets.js';

/** Code blocks of credit kept after a stall: a late timer must not burst past the line rate. */
const MAX_CREDIT_BLOCKS = 2;

export class FrameTransmitter {
  private readonly control: PendingPacket[] = [];
  private readonly data: PendingPacket[] = [];
  private readonly packetiser: Packetiser;
  private readonly blockBytes: number;
  private readonly bytesPerMs: number;
  private mcCount = 0;
  private vcCount = 0;
  private credit = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly g: FrameGeometry,
    baud: number,
    private readonly write: (bytes: Uint8Array) => void,
    private readonly channels: SerialChannels,
  ) {
    this.blockBytes = codeBlockBytes(g);
    this.bytesPerMs = baud / 10 / 1000;
    this.packetiser = new Packetiser(() => this.control.shift() ?? this.data.shift());
  }

  /** Queues a segment; resolves when the frame holding its last byte went to the line. */
  enqueue(segment: Uint8Array): Promise<void> {
    // Types 0-7 are data segments; the rest (reports, acks, cancels) are control.
    const queue = (segment[0]! & 0x0f) <= 0x7 ? this.data : this.control;
    return new Promise((resolve) => {
      queue.push({ bytes: encodePacket(segment), sent: resolve });
      this.channels.queuedSegments.set(this.control.length + this.data.length);
    });
  }

  /** A lockstep packet (flight/exec/lockstep.ts) goes with the control segments, ahead of data. */
  enqueueLockstep(payload: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      this.control.push({ bytes: encodePacket(payload, 'lockstep'), sent: resolve });
      this.channels.queuedSegments.set(this.control.length + this.data.length);
    });
  }

  start(): void {
    this.last = performance.now();
    this.credit = this.blockBytes;
    this.pump();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Whoever waits for a segment to leave learns it never will: the link is closing.
    for (const p of [...this.control.splice(0), ...this.data.splice(0)]) p.sent();
  }

  private pump(): void {
    const now = performance.now();
    this.credit = Math.min(this.credit + (now - this.last) * this.bytesPerMs, MAX_CREDIT_BLOCKS * this.blockBytes);
    this.last = now;
    while (this.credit >= this.blockBytes) {
      this.credit -= this.blockBytes;
      this.sendBlock();
    }
    this.timer = setTimeout(() => this.pump(), Math.max(1, (this.blockBytes - this.credit) / this.bytesPerMs));
  }

  private sendBlock(): void {
    const { data, firstHeader, ended } = this.packetiser.fill(dataFieldBytes(this.g));
    const block = encodeCodeBlock(this.g, this.mcCount, this.vcCount, firstHeader, data);
    this.mcCount = (this.mcCount + 1) & 0xff;
    this.vcCount = (this.vcCount + 1) & 0xff;
    this.write(block);
    this.channels.framesOut.add();
    this.channels.bytesOut.add(block.length);
    if (firstHeader === FHP_IDLE) this.channels.idleFramesOut.add();
    for (const p of ended) p.sent();
    this.channels.queuedSegments.set(this.control.length + this.data.length);
  }
}
