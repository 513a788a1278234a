// What the agent's stages share: the node, its limits, the store, telemetry and the clock, and
// the interfaces the agent is given (links, BPSec sessions, local services). Each stage module
// (ingress, dispatch, forward, seal, deliver, reassemble, originate, report) takes this context.
import type { BundleLink, PeerInfo } from '../../cla/cla.js';
import type { Logger } from '../../log.js';
import type { Channel } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import { AGENT_CHANNELS, AGENT_EVENTS } from '../agent-dictionary.js';
import { BundleFlag, DTN_EPOCH_UNIX_MS, bundlePriority, dtnNow, expiresAt, type Bundle } from '../bundle.js';
import { eidToString } from '../eid.js';
import { reportRequested } from '../status-report.js';
import type { SecurityKey } from '../keys.js';
import type { BundleMeta, Priority } from '../store/meta.js';
import type { BundleStore } from '../store/store.js';
import type { BundleTelemetry } from '../telemetry.js';
import type { AgentLimits } from './limits.js';

/** ipn service numbers of a Tern node's local services. */
export const SERVICE = {
  /** Administrative records: status reports. */
  admin: 0,
  /** Signed commands from the ground. */
  command: 1,
  /** Telemetry, events and command responses for the ground. */
  telemetry: 2,
  /** BPSec session handshakes between nodes (never under a BCB themselves). */
  session: 3,
  /** Echo: sends each payload back to its source (a ping over DTN, as ION's bpecho). */
  echo: 7,
} as const;

/** A neighbour's link as the agent sees it: where to send, and how big a bundle may be. */
export interface NeighbourLink {
  readonly link: BundleLink;
  readonly maxBundleBytes: number;
}

export interface LinkTable {
  /** The usable link to `node` now, if there is a contact with it. */
  link(node: number): NeighbourLink | undefined;
}

/**
 * BPSec session keys with peer nodes (flight/cmd/session.ts): bundles for a peer, or for a node
 * behind a peer that is its gateway, leave with their payload under a BCB this node adds for that
 * peer; BCBs from peers open at delivery, or at a gateway before it forwards.
 */
export interface BcbSessions {
  /** The peer that opens bundles for `node`; undefined when they travel in clear. */
  acceptor(node: number): number | undefined;
  /** Whether this node opens bundles for `node` before forwarding them (it is `node`'s gateway). */
  gatewayFor(node: number): boolean;
  /** The key and IV source to seal for `peer`; undefined while no session exists (one is being made). */
  sealFor(peer: number): { readonly key: SecurityKey; nextIv(): Uint8Array } | undefined;
  /** Keys that open the BCBs peers add (security source ipn:P.0). */
  openingKeys(): readonly SecurityKey[];
  /** A BCB `peer` added opened under none of them: the peer is asked for new keys. */
  unreadable(peer: number): void;
}

/** How a bundle reached this node, told to the service it is delivered to. */
export interface Arrival {
  /** The session peer whose BCB over the payload opened here: the last hop is authenticated. */
  readonly sealedBy?: number;
}

/** A local service's handler; the bundle is removed from the store once it resolves. */
export type ServiceHandler = (bundle: Bundle, arrival: Arrival) => void | Promise<void>;

export type AgentChannels = Record<keyof typeof AGENT_CHANNELS, Channel>;

export interface AgentContext {
  readonly node: number;
  readonly limits: AgentLimits;
  readonly store: BundleStore;
  readonly ch: AgentChannels;
  readonly bundleTlm: BundleTelemetry;
  readonly events: EventLog;
  readonly log: Logger;
  /** Wall clock, Unix ms. */
  readonly now: () => number;
  /**
   * The node each stored bundle came from (its previous node block, else the session's peer), for
   * CGR's loop avoidance. Kept in memory; after a restart it is read again from the previous node
   * block in the stored bytes (as received) before the bundle is first routed (routing.ts).
   */
  readonly previousHops: Map<string, number>;
}

/** A store operation that failed for a reason other than the bundle itself: an event and an error log. */
export function storeFault(ctx: AgentContext, operation: string, error: Error): void {
  ctx.events.emit(AGENT_EVENTS.storeFault, { operation, error: error.message });
  ctx.log.error({ err: error, operation }, 'bundle store fault');
}

const PRIORITY_NAME: Record<number, Priority> = { 0: 'bulk', 1: 'normal', 2: 'expedited' };

/** The store's record of `bundle`, received (or created) at `receivedUnix` by node `node`. */
export function metaOf(node: number, bundle: Bundle, id: string, receivedUnix: number): BundleMeta {
  const p = bundle.primary;
  const destination = p.destination;
  const local = destination.scheme === 'ipn' && destination.node === node;
  return {
    id,
    source: eidToString(p.source),
    destination: eidToString(destination),
    priority: PRIORITY_NAME[bundlePriority(bundle)]!,
    state: local ? 'delivery-pending' : 'forward-pending',
    creationMs: p.creationTime === 0 ? 0 : p.creationTime + DTN_EPOCH_UNIX_MS,
    expiryMs: expiresAt(bundle, dtnNow(receivedUnix)) + DTN_EPOCH_UNIX_MS,
    // What a "deleted" report needs beyond the id (source, timestamp, fragment) and times, kept
    // where damage to the bundle's bytes cannot reach it (quarantine reports).
    ...(reportRequested(bundle.primary, 'deleted')
      ? { reportTo: eidToString(p.reportTo), reportTime: (p.flags & BundleFlag.statusTimeRequested) !== 0 }
      : {}),
  };
}

/** Records where bundle `id` came from: its previous node block, else the TCPCL/LTP peer's node ID (if known). */
export function rememberPreviousHop(ctx: AgentContext, id: string, bundle: Bundle, from?: PeerInfo): void {
  const eid = bundle.previousNode;
  const node = eid?.scheme === 'ipn' ? eid.node : Number(/^ipn:(\d+)\.0$/.exec(from?.nodeId ?? '')?.[1] ?? NaN);
  if (Number.isSafeInteger(node) && node > 0) ctx.previousHops.set(id, node);
}

export function describePeer(peer: PeerInfo): string {
  return `${peer.cla}:${peer.address}:${peer.port}${peer.nodeId ? ` (${peer.nodeId})` : ''}`;
}
