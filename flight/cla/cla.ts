// The one interface every convergence layer shares with the bundle agent. A CLA moves opaque
// bundle bytes: it never decodes a bundle, so it depends on nothing in flight/dtn.
//
// Inbound, the CLA hands each received bundle to the agent's sink. The sink's promise is the
// agent's verdict: it resolves once the bundle is durable in the store (TCPCLv4 then sends the
// XFER_ACK of the transfer's last segment), and rejects when the bundle is refused (TCPCLv4
// then sends XFER_REFUSE; a BundleRefusedError's RefusalReason chooses the reason code).
//
// Outbound, a link to one neighbour sends one bundle per call; see BundleLink for what its
// promise means on each CLA.

export type ClaKind = 'udp' | 'tcp';

/** Where a bundle came from (or goes to). */
export interface PeerInfo {
  readonly cla: ClaKind;
  /** IP address of the peer's socket. */
  readonly address: string;
  readonly port: number;
  /** TCPCL: the node ID (an EID such as `ipn:2.0`) from the peer's SESS_INIT. UDP has none. */
  readonly nodeId?: string;
}

/**
 * Why a receiver refuses a bundle, in terms every convergence layer can carry (TCPCLv4 maps it
 * to an XFER_REFUSE reason code; UDP cannot tell the sender). 'no-resources': not now (a queue or
 * the store is full), a later attempt may succeed. 'not-acceptable': never (the bundle is
 * malformed or fails policy), resending it is pointless.
 */
export type RefusalReason = 'no-resources' | 'not-acceptable';

export interface BundleSink {
  /** Resolves when the bundle is durable (the agent decides); rejects when it is refused. */
  accept(bytes: Uint8Array, from: PeerInfo): Promise<void>;
}

export interface BundleLink {
  readonly peer: PeerInfo;
  /**
   * Sends one bundle. TCPCLv4: resolves when the peer acknowledged the whole transfer (the final
   * XFER_ACK); rejects on XFER_REFUSE, transfer timeout or session loss. UDP: resolves when the
   * datagram was handed to the kernel; UDP has no acknowledgement, so a resolved send says
   * nothing about delivery (custody or a later contact must cover loss).
   */
  send(bytes: Uint8Array): Promise<void>;
}
