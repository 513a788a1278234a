// The link emulator: stands between the node processes of a local mission (or a test) on
// 127.0.0.1 and lets each link exist only as the contact plan says. Each emulated link is one
// node's view of a neighbour: the node's config points at the emulator's listen address, and
// the emulator relays to the neighbour's real one.
//
// - Window: a TCP connection is accepted only while a contact between the two nodes (either
//   way) is open, and cut when the last overlapping contact ends; bytes not yet delivered then
//   are lost with the connection, as a real link loses them (TCPCLv4 did not acknowledge the
//   transfer, so the sender keeps the bundle). A UDP datagram outside a window is dropped.
// - One-way light time: each chunk (datagram) is delivered owlt after it came, per direction.
// - Rate: chunks leave no faster than the contact's rate (bytes per plan second).
// - Loss: a datagram is dropped with probability lossRate. TCP retransmits lost segments, so on
//   a TCP link loss shows only as lower throughput: it is not emulated there.
// - Time scale: plan time t is real time epochMs + 1000 t / timeScale, as the nodes map it.
// Every TCPCLv4 transfer that crosses (its last segment delivered) is reported with its plan
// time, from a passive decoder on each direction: the independent record the tests check.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, Server, type Socket } from 'node:net';
import { TcpclDecoder } from '../flight/cla/tcpcl-decoder.js';
import { MSG, XFER_END } from '../flight/cla/tcpcl-wire.js';
import type { Contact, ContactPlan } from '../flight/route/plan.js';

export interface EmulatedLink {
  /** The node whose config points here, and the neighbour the link leads to. */
  readonly from: number;
  readonly to: number;
  readonly cla: 'tcp' | 'udp';
  /** Where the emulator listens (port 0: any free one; see addresses()). */
  readonly listen: { readonly host: string; readonly port: number };
  /** The neighbour's real address. */
  readonly target: { readonly host: string; readonly port: number };
}

export interface EmulatorOptions {
  readonly plan: ContactPlan;
  /** Unix ms of plan time 0. */
  readonly epochMs: number;
  readonly timeScale?: number;
  /** Probability a datagram is dropped, in [0, 1). */
  readonly lossRate?: number;
  readonly links: readonly EmulatedLink[];
  /** Each record: crossings, refusals, cuts, drops (NDJSON on the command line). */
  readonly record?: (record: EmulatorRecord) => void;
  readonly random?: () => number;
  readonly now?: () => number;
}

export type EmulatorRecord =
  | { kind: 'crossed'; from: number; to: number; transfer: string; bytes: number; planTime: number }
  | { kind: 'refused'; from: number; to: number; planTime: number }
  /** transfersCut: TCPCL transfers under way (begun, final acknowledgement not delivered) that the cut broke. */
  | { kind: 'cut'; from: number; to: number; planTime: number; transfersCut: number }
  | { kind: 'dropped'; from: number; to: number; planTime: number; why: 'window' | 'loss' };

/** Counters by what happened. */
export interface EmulatorCounters {
  crossed: number;
  refused: number;
  cut: number;
  droppedWindow: number;
  droppedLoss: number;
}

/** A passive TCPCLv4 decoder on one direction of a link: which transfers end in each chunk. */
interface Tap {
  readonly decoder: TcpclDecoder;
  /** Bytes seen so far of each transfer under way. */
  readonly transfers: Map<string, number>;
  /** Shared by both directions of a connection: "from>to:id" of transfers begun and not finally acknowledged. */
  readonly unacked: Set<string>;
  on: boolean;
}

/** What one chunk of a direction carries: transfers whose last segment it holds, and final acknowledgements. */
function transfersEnding(tap: Tap, chunk: Uint8Array, from: number, to: number): { ended: Array<{ transfer: string; bytes: number }>; acked: string[] } {
  const ended: Array<{ transfer: string; bytes: number }> = [];
  const acked: string[] = [];
  if (!tap.on) return { ended, acked };
  try {
    tap.decoder.push(new Uint8Array(chunk));
    for (let m = tap.decoder.next(); m !== undefined; m = tap.decoder.next()) {
      if (m.type === MSG.XFER_ACK && m.flags & XFER_END) acked.push(`${to}>${from}:${m.transferId}`);
      if (m.type !== MSG.XFER_SEGMENT) continue;
      const id = m.transferId.toString();
      tap.unacked.add(`${from}>${to}:${id}`);
      const bytes = (tap.transfers.get(id) ?? 0) + m.dataLength;
      if (m.flags & XFER_END) {
        tap.transfers.delete(id);
        ended.push({ transfer: id, bytes });
      } else {
        tap.transfers.set(id, bytes);
      }
    }
  } catch {
    tap.on = false;
  }
  return { ended, acked };
}

export class LinkEmulator {
  readonly counters: EmulatorCounters = { crossed: 0, refused: 0, cut: 0, droppedWindow: 0, droppedLoss: 0 };
  private readonly scale: number;
  private readonly now: () => number;
  private readonly servers: Array<Server | UdpSocket> = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Contacts of each direction "from>to", sorted by start. */
  private readonly byPair = new Map<string, Contact[]>();
  private readonly bound: Array<{ link: EmulatedLink; port: number }> = [];

  constructor(private readonly o: EmulatorOptions) {
    this.scale = o.timeScale ?? 1;
    this.now = o.now ?? Date.now;
    for (const c of o.plan.contacts) {
      const key = `${c.from}>${c.to}`;
      if (!this.byPair.has(key)) this.byPair.set(key, []);
      this.byPair.get(key)!.push(c);
    }
  }

  planTime(ms = this.now()): number {
    return ((ms - this.o.epochMs) * this.scale) / 1000;
  }

  private realMs(t: number): number {
    return this.o.epochMs + (t * 1000) / this.scale;
  }

  /** The contact from -> to open at plan time t, if any. */
  contact(from: number, to: number, t: number): Contact | undefined {
    return this.byPair.get(`${from}>${to}`)?.find((c) => c.start <= t && t < c.end);
  }

  /** When the window between a and b (either way, overlapping contacts joined) that is open at t ends; undefined: closed. */
  windowEnd(a: number, b: number, t: number): number | undefined {
    let end: number | undefined;
    for (let at = t; ;) {
      const open = [this.contact(a, b, at), this.contact(b, a, at)].filter((c): c is Contact => c !== undefined);
      if (open.length === 0) return end;
      end = Math.max(...open.map((c) => c.end));
      at = end;
    }
  }

  async start(): Promise<void> {
    for (const link of this.o.links) {
      const port = link.cla === 'tcp' ? await this.tcp(link) : await this.udp(link);
      this.bound.push({ link, port });
    }
  }

  /** Where each link listens, by "from>to" and CLA. */
  addresses(): Array<{ from: number; to: number; cla: string; port: number }> {
    return this.bound.map(({ link, port }) => ({ from: link.from, to: link.to, cla: link.cla, port }));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => (s instanceof Server ? s.close(() => resolve()) : s.close(() => resolve())))));
  }

  private emit(record: EmulatorRecord): void {
    this.o.record?.(record);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
  }

  private tcp(link: EmulatedLink): Promise<number> {
    const server = createServer((inbound) => {
      this.sockets.add(inbound);
      inbound.on('close', () => this.sockets.delete(inbound));
      inbound.on('error', () => inbound.destroy());
      const t = this.planTime();
      const end = this.windowEnd(link.from, link.to, t);
      if (end === undefined) {
        this.counters.refused++;
        this.emit({ kind: 'refused', from: link.from, to: link.to, planTime: t });
        inbound.destroy();
        return;
      }
      const outbound = createConnection(link.target.port, link.target.host);
      this.sockets.add(outbound);
      outbound.on('close', () => {
        this.sockets.delete(outbound);
        inbound.destroy();
      });
      outbound.on('error', () => outbound.destroy());
      inbound.on('close', () => outbound.destroy());
      const unacked = new Set<string>();
      this.relay(inbound, outbound, link.from, link.to, unacked);
      this.relay(outbound, inbound, link.to, link.from, unacked);
      this.later(this.realMs(end) - this.now(), () => {
        if (inbound.destroyed && outbound.destroyed) return;
        this.counters.cut++;
        const transfersCut = unacked.size;
        this.emit({ kind: 'cut', from: link.from, to: link.to, planTime: this.planTime(), transfersCut });
        inbound.destroy();
        outbound.destroy();
      });
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(link.listen.port, link.listen.host, () => resolve((server.address() as { port: number }).port));
    });
  }

  /** One direction of a TCP link: delayed by the OWLT, paced at the contact's rate, transfers reported. */
  private relay(source: Socket, sink: Socket, from: number, to: number, unacked: Set<string>): void {
    // A stream the decoder cannot follow (not TCPCL) is still relayed, just not reported.
    const tap: Tap = { decoder: new TcpclDecoder({ segmentMru: 1 << 30, maxExtensionBytes: 1 << 20 }), transfers: new Map(), unacked, on: true };
    let freeAt = 0;
    source.on('data', (chunk: Buffer) => {
      const now = this.now();
      const c = this.contact(from, to, this.planTime(now)) ?? this.contact(to, from, this.planTime(now));
      const owltMs = ((c?.owlt ?? 0) * 1000) / this.scale;
      const rate = (c?.rate ?? Infinity) * this.scale; // bytes per real second
      freeAt = Math.max(now, freeAt) + (chunk.length / rate) * 1000;
      const { ended, acked } = transfersEnding(tap, chunk, from, to);
      this.later(freeAt + owltMs - now, () => {
        // The window may have ended while the chunk was on its way: the link is gone.
        const t = this.planTime();
        if (sink.destroyed || this.windowEnd(from, to, t) === undefined) return;
        sink.write(chunk);
        for (const id of acked) unacked.delete(id);
        for (const { transfer, bytes } of ended) {
          this.counters.crossed++;
          this.emit({ kind: 'crossed', from, to, transfer, bytes, planTime: t });
        }
      });
    });
  }

  private udp(link: EmulatedLink): Promise<number> {
    const socket = createSocket('udp4');
    const out = createSocket('udp4');
    this.servers.push(socket, out);
    let freeAt = 0;
    socket.on('message', (datagram) => {
      const now = this.now();
      const t = this.planTime(now);
      const c = this.contact(link.from, link.to, t);
      if (!c) {
        this.counters.droppedWindow++;
        this.emit({ kind: 'dropped', from: link.from, to: link.to, planTime: t, why: 'window' });
        return;
      }
      if ((this.o.random ?? Math.random)() < (this.o.lossRate ?? 0)) {
        this.counters.droppedLoss++;
        this.emit({ kind: 'dropped', from: link.from, to: link.to, planTime: t, why: 'loss' });
        return;
      }
      freeAt = Math.max(now, freeAt) + (datagram.length / (c.rate * this.scale)) * 1000;
      this.later(freeAt + (c.owlt * 1000) / this.scale - now, () => {
        out.send(datagram, link.target.port, link.target.host);
        this.counters.crossed++;
        this.emit({ kind: 'crossed', from: link.from, to: link.to, transfer: 'datagram', bytes: datagram.length, planTime: this.planTime() });
      });
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(link.listen.port, link.listen.host, () => resolve(socket.address().port));
    });
  }
}
