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

/** The convergence layers a node can run; each has a section of the same name in `cla`. */
export type ClaKind = 'udp' | 'tcp' | 'ltp' | 'serial';

/** Where a bundle came from (or goes to). */
export interface PeerInfo {
  readonly cla: ClaKind;
  /** IP address of the peer's socket; a serial link names its device path, port 0. */
  readonly address: string;
  readonly port: number;
  /** TCPCL: the node ID from the peer's SESS_INIT; LTP: ipn:<engine id>.0. UDP has none. */
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
   * XFER_ACK); rejects on XFER_REFUSE, transfer timeout or session loss. LTP (over UDP or a
   * serial link): resolves when the receiving engine reported the whole red block received;
   * rejects when the session was cancelled or timed out. UDP: resolves when the
   * datagram was handed to the kernel; UDP has no acknowledgement, so a resolved send says
   * nothing about delivery (custody or a later contact must cover loss).
   */
  send(bytes: Uint8Array): Promise<void>;
}

/** A link to a neighbour now, and the largest bundle it carries. */
export interface LinkOffer {
  readonly link: BundleLink;
  readonly maxBundleBytes: number;
}

/** What every convergence layer needs from the node that runs it. */
export interface ClaContext {
  /** This node's ipn node number (TCPCL node ID ipn:N.0, LTP engine id N). */
  readonly node: number;
  readonly sink: BundleSink;
  /** A contact with `node` came up (true) or went down (false); undefined: not known which node. */
  readonly contact: (node: number | undefined, up: boolean) => void;
}

/**
 * One convergence layer as the node's link table sees it: the registry (registry.ts) builds one
 * per configured section, and the table asks each for links to the neighbours listed under it,
 * so a new kind of link plugs in without the table, the agent or the config parser knowing it.
 */
export interface ConvergenceLayer {
  readonly kind: ClaKind;
  /** Opens the configured listener (port, device); resolves with what it listens on, if anything. */
  start(): Promise<ListenInfo | undefined>;
  /** A link to `node` now (a neighbour listed under this layer); undefined without a contact. */
  link(node: number): LinkOffer | undefined;
  /**
   * Called every retry period: re-open links to neighbours that dropped. With `inContact` (the
   * node's contact plan), only to neighbours in a contact now, and sessions with nodes whose
   * contact ended are closed.
   */
  maintain(inContact?: (node: number) => boolean): void;
  /** The layer's telemetry channels by name: counters a flight engineer debugs from. */
  counters(): Record<string, number>;
  /** Ends sessions and closes listeners; resolves when all is closed. */
  close(): Promise<void>;
}

/** Where a layer listens: an IP socket address, or a serial device (port 0). */
export interface ListenInfo {
  readonly address: string;
  readonly port: number;
}
