// A UDP relay for LTP tests: forwards datagrams from its port to `target`, losing a share (from
// a seeded generator) and delaying the rest, as a lossy long link would.
import { createSocket, type Socket } from 'node:dgram';
import type { Prng } from '../support/prng.js';

/** Forwards datagrams from its port to `target`, losing a share and delaying the rest. */
export class LossyRelay {
  readonly socket: Socket = createSocket('udp4');
  target = 0;
  forwarded = 0;
  lost = 0;
  /** Datagrams held for their delay: cancelled at close, so none is sent on a closed socket. */
  private readonly held = new Set<NodeJS.Timeout>();
  constructor(private readonly loss: number, private readonly delayMs: number, private readonly rng: Prng) {}

  async bind(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.setRecvBufferSize(4 << 20);
    this.socket.on('message', (msg) => {
      if (this.rng.float() < this.loss) {
        this.lost++;
        return;
      }
      const timer = setTimeout(() => {
        this.held.delete(timer);
        this.forwarded++;
        this.socket.send(msg, this.target, '127.0.0.1');
      }, this.delayMs);
      this.held.add(timer);
    });
    return this.socket.address().port;
  }

  close(): Promise<void> {
    for (const timer of this.held) clearTimeout(timer);
    this.held.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

