// A UDP relay that records every LTP segment it passes, for the ION interop tests: one relay
// per direction sits between the two engines (each engine's span points at the relay, the relay
// at the other engine). It may drop chosen datagrams, since loopback loses none and ION has no
// loss injection of its own. What it records is written as a capture file of the test vectors.
import { createSocket, type Socket } from 'node:dgram';

export interface CapturedSegment {
  /** Milliseconds since the capture began. */
  readonly t: number;
  /** Which engine sent it, e.g. "ion" or "tern". */
  readonly from: string;
  readonly bytes: Uint8Array;
  /** Dropped by the relay (it never reached the other engine). */
  readonly dropped: boolean;
}

/** The segments of both directions, in the order the relays saw them. */
export class Capture {
  readonly segments: CapturedSegment[] = [];
  private readonly start = Date.now();

  record(from: string, bytes: Uint8Array, dropped: boolean): void {
    this.segments.push({ t: Date.now() - this.start, from, bytes: Uint8Array.from(bytes), dropped });
  }

  /** One JSON object a line: {"t", "from", "dropped", "hex"}. */
  toJsonLines(): string {
    return this.segments.map((s) => JSON.stringify({ t: s.t, from: s.from, dropped: s.dropped, hex: Buffer.from(s.bytes).toString('hex') })).join('\n') + '\n';
  }
}

export function parseCapture(text: string): CapturedSegment[] {
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => {
    const o = JSON.parse(line) as { t: number; from: string; dropped: boolean; hex: string };
    return { t: o.t, from: o.from, dropped: o.dropped, bytes: Uint8Array.from(Buffer.from(o.hex, 'hex')) };
  });
}

export class CaptureRelay {
  private readonly socket: Socket = createSocket('udp4');
  /** Datagrams seen so far (the index the drop rule is given). */
  seen = 0;

  /**
   * `from` names the engine whose datagrams arrive here; they go on to 127.0.0.1:`target`
   * unless `drop(index, bytes)` says otherwise.
   */
  /** Where the segments are recorded; a test gives each exchange a capture of its own. */
  capture = new Capture();
  /** Which datagrams (by index since `seen` was last set to 0) never reach the other engine. */
  drop: (index: number, bytes: Uint8Array) => boolean = () => false;

  /** `from` names the engine whose datagrams arrive here; they go on to 127.0.0.1:`target`. */
  constructor(private readonly from: string, public target: number) {}

  async bind(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.setRecvBufferSize(4 << 20);
    this.socket.on('message', (msg) => {
      const dropped = this.drop(this.seen++, msg);
      this.capture.record(this.from, msg, dropped);
      if (!dropped) this.socket.send(msg, this.target, '127.0.0.1');
    });
    return this.socket.address().port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
