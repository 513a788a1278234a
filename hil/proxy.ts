// The fault-injecting serial proxy of the HIL bench: it sits between two serial ports (a bench
// computer with two USB-UART adapters, or two pseudo-terminal pairs) and passes bytes each way
// with the faults a radio link has: random bit errors at a bit error rate, bursts of corrupted
// bytes, whole code blocks dropped, latency, and a disconnect. Bytes leave paced at the baud
// (8N1: baud / 10 bytes a second), as a real line would carry them. Every fault comes from one
// seeded generator, so the same seed on the same bytes gives the same damage.
import { SerialPort } from 'serialport';

export interface ProxyFaults {
  /** Probability that each bit is flipped. */
  readonly ber: number;
  /** A burst of `length` corrupted bytes somewhere in every `period` bytes. */
  readonly burst?: { readonly length: number; readonly period: number };
  /** Probability that a code block (from one sync marker 1ACFFC1D to the next) is dropped whole. */
  readonly drop: number;
  /** Latency added to every byte, ms. */
  readonly delayMs: number;
  /** Nothing passes either way from `atS` seconds after start, for `forS` seconds. */
  readonly disconnect?: { readonly atS: number; readonly forS: number };
}

export interface ProxyOptions extends ProxyFaults {
  readonly a: string;
  readonly b: string;
  readonly baud: number;
  readonly seed: number;
}

export interface LaneStats {
  bytesIn: number;
  bytesOut: number;
  bitsFlipped: number;
  bursts: number;
  blocksSeen: number;
  blocksDropped: number;
  bytesLostToDisconnect: number;
}

const ASM = [0x1a, 0xcf, 0xfc, 0x1d];

/** mulberry32: small, seeded, the same numbers on every machine. */
export class Seeded {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
}

/**
 * One direction of the proxy: bytes in, faults applied, bytes out at the line rate. The block
 * drop looks for markers in the bytes as they arrive, before any corruption, so it drops what
 * the sender framed, as a radio losing a frame would.
 */
export class Lane {
  readonly stats: LaneStats = { bytesIn: 0, bytesOut: 0, bitsFlipped: 0, bursts: 0, blocksSeen: 0, blocksDropped: 0, bytesLostToDisconnect: 0 };
  private readonly queue: Array<{ at: number; bytes: Uint8Array }> = [];
  private matched = 0;
  private dropping = false;
  private position = 0;
  private readonly held: number[] = [];
  private burstStart = -1;
  private burstLeft = 0;
  private credit = 0;
  private last = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly faults: ProxyFaults,
    private readonly baud: number,
    private readonly random: Seeded,
    private readonly disconnected: (now: number) => boolean,
    private readonly write: (bytes: Uint8Array) => void,
  ) {}

  push(chunk: Uint8Array, now = performance.now()): void {
    this.stats.bytesIn += chunk.length;
    if (this.disconnected(now)) {
      this.stats.bytesLostToDisconnect += chunk.length;
      return;
    }
    const kept: number[] = this.held.splice(0);
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      this.matched = byte === ASM[this.matched] ? this.matched + 1 : byte === ASM[0] ? 1 : 0;
      if (this.matched === 4) {
        // A code block begins: decide its fate. Its marker's first three bytes went out with the
        // block before (taken back if this one drops, added if that one was dropped).
        this.matched = 0;
        this.stats.blocksSeen++;
        const drop = this.random.next() < this.faults.drop;
        if (drop) this.stats.blocksDropped++;
        if (drop && !this.dropping) kept.splice(Math.max(0, kept.length - 3), 3);
        if (!drop && this.dropping) for (const b of ASM.slice(0, 3)) kept.push(this.corrupt(b));
        this.dropping = drop;
      }
      if (!this.dropping) kept.push(this.corrupt(byte));
    }
    // Bytes that may begin a marker wait for the next chunk: its block may be dropped with them.
    if (!this.dropping && this.matched > 0) this.held.push(...kept.splice(kept.length - this.matched, this.matched));
    if (kept.length > 0) this.queue.push({ at: now + this.faults.delayMs, bytes: Uint8Array.from(kept) });
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private corrupt(byte: number): number {
    let out = byte;
    if (this.faults.ber > 0) {
      for (let bit = 0; bit < 8; bit++) {
        if (this.random.next() < this.faults.ber) {
          out ^= 1 << bit;
          this.stats.bitsFlipped++;
        }
      }
    }
    const burst = this.faults.burst;
    if (burst) {
      const position = this.position++ % burst.period;
      if (position === 0) this.burstStart = Math.floor(this.random.next() * Math.max(1, burst.period - burst.length));
      if (position === this.burstStart) {
        this.burstLeft = burst.length;
        this.stats.bursts++;
      }
      if (this.burstLeft > 0) {
        this.burstLeft--;
        out = Math.floor(this.random.next() * 256);
      }
    }
    return out;
  }

  /** Releases due bytes as the line rate allows, and comes back when more may go. */
  private schedule(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.timer = undefined;
      const now = performance.now();
      const perMs = this.baud / 10 / 1000;
      // At most 250 ms of line time banked: enough for a proxy process the machine stalled to
      // catch up (else its queue, and the link's latency, would grow for good), too little to
      // let a burst run far past the line rate.
      this.credit = Math.min(this.credit + (now - this.last) * perMs, 250 * perMs + 1);
      this.last = now;
      while (this.queue.length > 0 && this.queue[0]!.at <= now && this.credit >= 1) {
        const head = this.queue[0]!;
        const n = Math.min(head.bytes.length, Math.floor(this.credit));
        const out = head.bytes.subarray(0, n);
        if (n === head.bytes.length) this.queue.shift();
        else head.bytes = head.bytes.subarray(n);
        this.credit -= n;
        if (this.disconnected(now)) this.stats.bytesLostToDisconnect += n;
        else {
          this.stats.bytesOut += n;
          this.write(out);
        }
      }
      if (this.queue.length === 0) return;
      const wait = this.queue[0]!.at > now ? this.queue[0]!.at - now : (1 - this.credit) / perMs;
      this.timer = setTimeout(tick, Math.max(1, wait));
    };
    this.timer = setTimeout(tick, 0);
  }
}

/** Two ports, two lanes: A -> B and B -> A, each with its own stream of faults from the seed. */
export class SerialProxy {
  readonly aToB: Lane;
  readonly bToA: Lane;
  private readonly ports: SerialPort[] = [];
  private started = performance.now();
  private closing = false;
  /** Port errors (a write the device refused), each counted and the last kept; none is thrown. */
  private portErrors = 0;
  /** Writes still in flight when the proxy closed, which the close cancelled. */
  private cancelledAtClose = 0;
  private lastPortError: string | undefined;

  constructor(readonly options: ProxyOptions) {
    const disconnected = (now: number): boolean => {
      const d = options.disconnect;
      if (!d) return false;
      const t = (now - this.started) / 1000;
      return t >= d.atS && t < d.atS + d.forS;
    };
    this.aToB = new Lane(options, options.baud, new Seeded(options.seed), disconnected, (bytes) => this.ports[1]?.write(Buffer.from(bytes)));
    this.bToA = new Lane(options, options.baud, new Seeded(options.seed ^ 0x5a5a5a5a), disconnected, (bytes) => this.ports[0]?.write(Buffer.from(bytes)));
  }

  async start(): Promise<void> {
    for (const path of [this.options.a, this.options.b]) {
      const port = new SerialPort({ path, baudRate: this.options.baud, autoOpen: false });
      // Without a listener a port error is thrown, and kills the bench with its node and socat
      // still running: closing cancels the writes still in flight ("Canceled"), which is expected.
      port.on('error', (error: Error) => {
        if (this.closing) {
          this.cancelledAtClose++;
          return;
        }
        this.portErrors++;
        this.lastPortError = `${path}: ${error.message}`;
      });
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(new Error(`${path}: ${error.message}`)) : resolve())));
      this.ports.push(port);
    }
    this.started = performance.now();
    this.ports[0]!.on('data', (chunk: Buffer) => this.aToB.push(chunk));
    this.ports[1]!.on('data', (chunk: Buffer) => this.bToA.push(chunk));
  }

  stats(): { aToB: LaneStats; bToA: LaneStats; portErrors: number; cancelledAtClose: number; lastPortError?: string } {
    return {
      aToB: { ...this.aToB.stats }, bToA: { ...this.bToA.stats }, portErrors: this.portErrors, cancelledAtClose: this.cancelledAtClose,
      ...(this.lastPortError ? { lastPortError: this.lastPortError } : {}),
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.aToB.stop();
    this.bToA.stop();
    await Promise.all(this.ports.map((p) => new Promise<void>((resolve) => (p.isOpen ? p.close(() => resolve()) : resolve()))));
  }
}
