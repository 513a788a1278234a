// Outbound TCPCLv4 transfers of one session: a bundle is cut into segments of the negotiated
// size and written at once; its promise settles on the final XFER_ACK, an XFER_REFUSE, or the
// transfer timeout. Late answers to a timed-out transfer are recognised and ignored.
import { performance } from 'node:perf_hooks';
import { CLA_EVENTS } from './dictionary.js';
import { EmptyBundleError, MalformedMessageError, TransferRefusedError, TransferTimeoutError, TransferTooLargeError, UnexpectedMessageError } from './errors.js';
import type { XferAck, XferRefuse } from './tcpcl-decoder.js';
import type { SessionIo } from './tcpcl-session.js';
import { MSG, XFER_END, XFER_START, refuseReasonName, xferSegmentHeader } from './tcpcl-wire.js';

/** Transfer IDs of timed-out transfers remembered, so a late ack is not taken for an error. */
const MAX_ABANDONED = 1024;

interface OutboundTransfer {
  readonly total: number;
  acked: number;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class OutboundTransfers {
  private readonly inFlight = new Map<bigint, OutboundTransfer>();
  private readonly abandoned = new Set<bigint>();
  private nextTransferId = 0n;

  constructor(private readonly io: SessionIo) {}

  /** Transfers sent and not yet acknowledged in full, refused or timed out. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Sends one bundle within the peer's MRUs; resolves on its final XFER_ACK. */
  send(bytes: Uint8Array, peerSegmentMru: number, peerTransferMru: number): Promise<void> {
    if (bytes.length === 0) return Promise.reject(new EmptyBundleError('TCPCL send'));
    // The agent fragments bundles to the peer's Transfer MRU; a bigger one is its mistake.
    if (bytes.length > peerTransferMru) return Promise.reject(new TransferTooLargeError(bytes.length, peerTransferMru));
    const { config } = this.io;
    const id = this.nextTransferId++;
    const segment = Math.min(peerSegmentMru, config.segmentMru);
    const promise = new Promise<void>((resolve, reject) => {
      this.inFlight.set(id, { total: bytes.length, acked: 0, deadline: performance.now() + config.transferTimeoutMs, resolve, reject });
    });
    const multiSegment = bytes.length > segment;
    // All segments are written now, back to back (RFC 9174 forbids interleaving transfers;
    // writing a transfer in one go guarantees it), and leave in one writev (see the session's write).
    for (let offset = 0; offset < bytes.length; offset += segment) {
      const end = Math.min(bytes.length, offset + segment);
      const flags = (offset === 0 ? XFER_START : 0) | (end === bytes.length ? XFER_END : 0);
      // RFC 9174 5.2.5.1: the Transfer Length extension only where it says something new.
      this.io.write(xferSegmentHeader(flags, id, end - offset, offset === 0 && multiSegment ? bytes.length : undefined));
      this.io.write(bytes.subarray(offset, end));
    }
    return promise;
  }

  onAck(m: XferAck): void {
    const t = this.inFlight.get(m.transferId);
    if (t === undefined) {
      if (this.abandoned.has(m.transferId)) {
        if ((m.flags & XFER_END) !== 0) this.abandoned.delete(m.transferId);
        return;
      }
      this.io.rejectMessage(new UnexpectedMessageError(`XFER_ACK for transfer ${m.transferId}, which is not in flight`), MSG.XFER_ACK);
      return;
    }
    const end = (m.flags & XFER_END) !== 0;
    if (m.acknowledged < t.acked || m.acknowledged > t.total || (end && m.acknowledged !== t.total)) {
      this.inFlight.delete(m.transferId);
      const error = new MalformedMessageError('XFER_ACK', 'acknowledged length', `${m.acknowledged} for a transfer of ${t.total} acknowledged up to ${t.acked}`);
      this.io.record(error);
      t.reject(error);
      return;
    }
    t.acked = m.acknowledged;
    if (!end) return;
    this.inFlight.delete(m.transferId);
    this.io.channels.bundlesOut.add();
    this.io.channels.bytesOut.add(t.total);
    t.resolve();
    this.io.maybeFinish();
  }

  onRefuse(m: XferRefuse): void {
    const t = this.inFlight.get(m.transferId);
    if (t === undefined) {
      if (this.abandoned.delete(m.transferId)) return;
      this.io.rejectMessage(new UnexpectedMessageError(`XFER_REFUSE for transfer ${m.transferId}, which is not in flight`), MSG.XFER_REFUSE);
      return;
    }
    this.inFlight.delete(m.transferId);
    this.io.channels.refusalsReceived.add();
    const name = refuseReasonName(m.reason);
    this.io.events.emit(CLA_EVENTS.tcpPeerRefused, { peer: this.io.peerName(), transferId: String(m.transferId), reason: name });
    t.reject(new TransferRefusedError(m.reason, name));
    this.io.maybeFinish();
  }

  /** Fails the transfers whose deadline passed; their late answers will be ignored. */
  expire(now: number): void {
    const { transferTimeoutMs } = this.io.config;
    for (const [id, t] of this.inFlight) {
      if (t.deadline > now) break; // insertion order is deadline order
      this.inFlight.delete(id);
      if (this.abandoned.size >= MAX_ABANDONED) this.abandoned.delete(this.abandoned.values().next().value!);
      this.abandoned.add(id);
      this.io.channels.transferTimeouts.add();
      this.io.events.emit(CLA_EVENTS.tcpTransferTimeout, { peer: this.io.peerName(), transferId: String(id), timeoutMs: transferTimeoutMs });
      t.reject(new TransferTimeoutError(transferTimeoutMs));
    }
  }

  /** The session is gone: every transfer in flight fails with `error`. */
  failAll(error: Error): void {
    for (const t of this.inFlight.values()) t.reject(error);
    this.inFlight.clear();
  }
}
