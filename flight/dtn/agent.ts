// The bundle agent of one node (RFC 9171 section 5): receive -> validate -> (BPSec) -> store ->
// forward or deliver. Convergence layers hand bundles in through accept() (the BundleSink);
// the agent acknowledges a bundle only once the store made it durable. Two executive tasks do
// the work in bounded slices. Inbound bundles are validated and stored as they arrive, up to
// `ingestPerSlot` of them per slot of dtn.ingest (its credit); beyond that they wait in a
// bounded queue for the next slot, and are refused when it is full. So a flood costs each frame
// at most that many validations and cannot starve the frame, while a trickle is not held back a
// whole frame (which would cap a contact's rate at one batch per frame). dtn.dispatch starts at
// most `dispatchPerSlot` forwards or deliveries per slot. Sends, disk reads and fdatasyncs
// complete between frames, on the event loop.
import type { BundleLink, BundleSink, PeerInfo } from '../cla/cla.js';
import { BundleRefusedError } from '../cla/errors.js';
import { REFUSE_REASON } from '../cla/tcpcl-wire.js';
import type { Task } from '../exec/task.js';
import type { Logger } from '../log.js';
import type { Router } from '../route/router.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { AGENT_CHANNELS, AGENT_EVENTS } from './agent-dictionary.js';
import { hopCountBlock } from './blocks.js';
import { decryptBundle, encryptBundle, verifyIntegrity } from './bpsec.js';
import {
  BlockType, DTN_EPOCH_UNIX_MS, aduKey, bundleKey, bundlePriority, dtnNow, expiresAt, payloadBlock, type Bundle,
} from './bundle.js';
import { BundleError, StatusReason } from './bundle-error.js';
import { createBundle, decodeBundle } from './codec.js';
import { withBundleAge, withHopIncremented, withPreviousNode } from './edit.js';
import { eidToString, ipn, type Eid } from './eid.js';
import { Reassembler, fragmentBundle } from './fragment.js';
import type { SecurityKey } from './keys.js';
import { checkHopLimit, checkLifetime, checkValidity, processUnknownBlocks } from './policy.js';
import { createStatusReport, type StatusKind } from './status-report.js';
import { StoreDuplicateError, StoreRefusedError } from './store/errors.js';
import { PRIORITIES, type BundleMeta, type Priority, type StoredBundle } from './store/meta.js';
import type { BundleStore } from './store/store.js';
import { BundleTelemetry } from './telemetry.js';

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

/** A local service's handler; the bundle is removed from the store once it resolves. */
export type ServiceHandler = (bundle: Bundle) => void | Promise<void>;

export interface AgentLimits {
  /** Received bundles waiting for ingest; more are refused (TCPCL: XFER_REFUSE No Resources). */
  inboundQueue: number;
  ingestPerSlot: number;
  dispatchPerSlot: number;
  /** Forwards and deliveries under way at once. */
  inFlight: number;
  /** Wait before retrying a bundle whose send failed, or that waits for its service. */
  retryMs: number;
  /**
   * Bundles with no route or no link wait in limbo until a contact begins (contact()); this is
   * the longest they wait without one, for routes that change with time.
   */
  limboMs: number;
  /** Hop limit put in the hop count block of bundles this node creates. */
  hopLimit: number;
  ingestBudgetUs: number;
  dispatchBudgetUs: number;
}

export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  inboundQueue: 256,
  ingestPerSlot: 64,
  dispatchPerSlot: 64,
  inFlight: 64,
  retryMs: 1000,
  limboMs: 30_000,
  hopLimit: 32,
  ingestBudgetUs: 4000,
  dispatchBudgetUs: 2000,
};

export interface AgentOptions {
  node: number;
  store: BundleStore;
  router: Router;
  links: LinkTable;
  tlm: TelemetryRegistry;
  events: EventLog;
  log: Logger;
  limits?: Partial<AgentLimits>;
  /** BPSec keys: BIBs are verified and BCBs for this node decrypted where a key is held. */
  keys?: readonly SecurityKey[];
  /** Wall clock, Unix ms (DTN time is derived from it). */
  now?: () => number;
}

/** What a local service sends. */
export interface Outgoing {
  destination: Eid;
  /** The sending service on this node (the source EID's service number). */
  service: number;
  payload: Uint8Array;
  lifetimeMs: number;
  flags?: number;
  /** Unix ms creation time; now when absent. */
  createdAt?: number;
}

interface Inbound {
  bytes: Uint8Array;
  from: PeerInfo;
  resolve(): void;
  reject(error: Error): void;
}

const PRIORITY_NAME: Record<number, Priority> = { 0: 'bulk', 1: 'normal', 2: 'expedited' };
/** An ipn destination as the store records it (eidToString): node and service. */
const IPN = /^ipn:(\d+)\.(\d+)$/;
/** Ids remembered after local delivery, so that a late duplicate is not delivered twice. */
const DELIVERED_MEMORY = 4096;

export class BundleAgent implements BundleSink {
  readonly node: number;
  readonly limits: AgentLimits;
  readonly bundleTlm: BundleTelemetry;
  private readonly ch: Record<keyof typeof AGENT_CHANNELS, Channel>;
  private readonly store: BundleStore;
  private readonly router: Router;
  private readonly links: LinkTable;
  private readonly events: EventLog;
  private readonly log: Logger;
  private readonly keys: readonly SecurityKey[];
  private sessions: BcbSessions | undefined;
  private readonly now: () => number;
  private readonly inbound: Inbound[] = [];
  /** Inbound bundles that may still be validated before the next dtn.ingest slot. */
  private credit: number;
  /** Stored bundles ready to dispatch, one queue per priority class (a Set keeps insertion order). */
  private readonly ready: Array<Set<string>> = PRIORITIES.map(() => new Set());
  /**
   * Bundles waiting for a retry (no route, no link, no service, a failed send): id -> time of the
   * retry. Always appended `retryMs` ahead, so each map is in time order and a slot looks only at
   * the retries that are due, however many bundles wait for a contact.
   */
  private readonly later: Array<Map<string, number>> = PRIORITIES.map(() => new Map());
  /** Bundles with no route or link now, by priority; released by contact() or after limboMs. */
  private readonly limbo: Array<Set<string>> = PRIORITIES.map(() => new Set());
  private limboSince = 0;
  private readonly busy = new Set<string>();
  private readonly services = new Map<number, ServiceHandler>();
  private readonly deliveredIds = new Set<string>();
  private readonly reassembler = new Reassembler();
  /** Store ids of the fragments held for each partial bundle (by ADU key). */
  private readonly fragmentIds = new Map<string, string[]>();
  private lastCreation = -1;
  private sequence = 0;

  constructor(options: AgentOptions) {
    this.node = options.node;
    this.limits = { ...DEFAULT_AGENT_LIMITS, ...options.limits };
    this.store = options.store;
    this.router = options.router;
    this.links = options.links;
    this.events = options.events;
    this.log = options.log;
    this.keys = options.keys ?? [];
    this.now = options.now ?? Date.now;
    this.bundleTlm = new BundleTelemetry(options.tlm, options.events);
    this.ch = options.tlm.defineAll(AGENT_CHANNELS);
    this.credit = this.limits.ingestPerSlot;
  }

  /** The executive tasks that run the agent. */
  tasks(): Task[] {
    return [
      { name: 'dtn.ingest', criticality: 'normal', budgetUs: this.limits.ingestBudgetUs, run: () => this.ingest() },
      { name: 'dtn.dispatch', criticality: 'normal', budgetUs: this.limits.dispatchBudgetUs, run: () => this.dispatch() },
    ];
  }

  /** Queues every bundle the store recovered for dispatch; call once after the store opened. */
  resume(): void {
    const stored = this.store.list();
    for (const b of stored) this.enqueue(b.id, b.priority);
    if (stored.length > 0) this.events.emit(AGENT_EVENTS.recovered, { count: stored.length });
  }

  /** Seals bundles for session peers and opens theirs from now on; set at composition, before start. */
  protectWith(sessions: BcbSessions): void {
    this.sessions = sessions;
  }

  /** Serves SERVICE.echo: every payload goes back to its source, with the same lifetime. */
  registerEcho(): void {
    this.register(SERVICE.echo, async (bundle) => {
      await this.send({
        destination: bundle.primary.source,
        service: SERVICE.echo,
        payload: payloadBlock(bundle).data,
        lifetimeMs: bundle.primary.lifetime,
      });
    });
  }

  /** A contact began (a link came up): bundles in limbo get another try at the next dispatch. */
  contact(): void {
    this.limbo.forEach((parked, p) => {
      for (const id of parked) this.ready[p]!.add(id);
      parked.clear();
    });
    this.limboSince = this.now();
  }

  /** Registers the handler of local service `service` (ipn:node.service). */
  register(service: number, handler: ServiceHandler): void {
    this.services.set(service, handler);
    // Bundles that waited (perhaps for this service) go out at the next dispatch.
    this.later.forEach((waiting, p) => {
      for (const id of waiting.keys()) this.ready[p]!.add(id);
      waiting.clear();
    });
  }

  // ---- Inbound ------------------------------------------------------------------------------

  accept(bytes: Uint8Array, from: PeerInfo): Promise<void> {
    this.ch.received.add();
    if (this.inbound.length >= this.limits.inboundQueue) {
      this.ch.queueFull.add();
      this.events.emit(AGENT_EVENTS.refused, { peer: describePeer(from), reason: 'inbound queue full' });
      return Promise.reject(new BundleRefusedError(REFUSE_REASON.NO_RESOURCES, 'inbound queue full'));
    }
    return new Promise((resolve, reject) => {
      const item = { bytes, from, resolve, reject };
      if (this.credit > 0 && this.inbound.length === 0) {
        this.credit--;
        this.ingestOne(item);
        return;
      }
      this.inbound.push(item);
      this.ch.inboundQueued.set(this.inbound.length);
    });
  }

  /** The dtn.ingest slot: renews the credit and spends it on the queue first. */
  private ingest(): void {
    this.credit = this.limits.ingestPerSlot;
    const n = Math.min(this.credit, this.inbound.length);
    this.credit -= n;
    for (const item of this.inbound.splice(0, n)) this.ingestOne(item);
    this.ch.inboundQueued.set(this.inbound.length);
  }

  private ingestOne(item: Inbound): void {
    const nowUnix = this.now();
    const nowDtn = dtnNow(nowUnix);
    let bundle: Bundle;
    try {
      bundle = decodeBundle(item.bytes);
      this.bundleTlm.channels.bundlesDecoded.add();
      checkValidity(bundle);
      const unknown = processUnknownBlocks(bundle);
      if (unknown.discarded.length > 0) this.bundleTlm.channels.blocksDiscarded.add(unknown.discarded.length);
      bundle = unknown.bundle;
      checkHopLimit(bundle);
      checkLifetime(bundle, nowDtn, nowDtn);
      if (this.keys.length > 0 && bundle.security.length > 0) this.bundleTlm.security(verifyIntegrity(bundle, this.keys));
    } catch (error) {
      const rejected = this.bundleTlm.rejected(error);
      item.reject(new BundleRefusedError(REFUSE_REASON.NOT_ACCEPTABLE, rejected.message));
      return;
    }
    const id = bundleKey(bundle);
    if (this.store.has(id) || this.deliveredIds.has(id)) {
      this.ch.duplicates.add();
      item.resolve();
      return;
    }
    const meta = this.metaOf(bundle, id, nowUnix);
    this.store.put(meta, bundle.bytes).then(
      () => {
        this.ch.accepted.add();
        item.resolve();
        this.enqueue(id, meta.priority);
        this.report(bundle, 'received', StatusReason.noInformation);
      },
      (error: Error) => {
        if (error instanceof StoreDuplicateError) {
          this.ch.duplicates.add();
          item.resolve();
          return;
        }
        if (error instanceof StoreRefusedError) {
          this.ch.refusedFull.add();
          this.report(bundle, 'deleted', StatusReason.depletedStorage);
        } else {
          this.storeFault('put', error);
        }
        this.events.emit(AGENT_EVENTS.refused, { peer: describePeer(item.from), reason: error.message });
        item.reject(new BundleRefusedError(REFUSE_REASON.NO_RESOURCES, error.message));
      },
    );
  }

  private metaOf(bundle: Bundle, id: string, receivedUnix: number): BundleMeta {
    const p = bundle.primary;
    const destination = p.destination;
    const local = destination.scheme === 'ipn' && destination.node === this.node;
    return {
      id,
      source: eidToString(p.source),
      destination: eidToString(destination),
      priority: PRIORITY_NAME[bundlePriority(bundle)]!,
      state: local ? 'delivery-pending' : 'forward-pending',
      creationMs: p.creationTime === 0 ? 0 : p.creationTime + DTN_EPOCH_UNIX_MS,
      expiryMs: expiresAt(bundle, dtnNow(receivedUnix)) + DTN_EPOCH_UNIX_MS,
    };
  }

  // ---- Local senders ------------------------------------------------------------------------

  /** Creates a bundle from a local service; resolves with its id once it is durable. */
  async send(out: Outgoing): Promise<string> {
    const created = dtnNow(out.createdAt ?? this.now());
    this.sequence = created === this.lastCreation ? this.sequence + 1 : 0;
    this.lastCreation = created;
    const bundle = createBundle({
      destination: out.destination,
      source: ipn(this.node, out.service),
      flags: out.flags ?? 0,
      creationTime: created,
      sequence: this.sequence,
      lifetime: out.lifetimeMs,
      blocks: [hopCountBlock({ limit: this.limits.hopLimit, count: 0 })],
      payload: out.payload,
    });
    return this.originate(bundle);
  }

  private async originate(bundle: Bundle): Promise<string> {
    const id = bundleKey(bundle);
    const meta = this.metaOf(bundle, id, this.now());
    await this.store.put(meta, bundle.bytes);
    this.ch.originated.add();
    this.enqueue(id, meta.priority);
    return id;
  }

  /** Sends the status report `subject` asked for, if it asked; failures are counted, not thrown. */
  private report(subject: Bundle, kind: StatusKind, reason: number): void {
    let report: Bundle | undefined;
    try {
      this.sequence++;
      report = createStatusReport(subject, [kind], reason, {
        source: ipn(this.node, SERVICE.admin),
        now: dtnNow(this.now()),
        sequence: this.sequence,
        lifetime: subject.primary.lifetime,
      });
    } catch (error) {
      this.bundleTlm.rejected(error);
      return;
    }
    if (!report) return;
    this.bundleTlm.channels.statusReportsSent.add();
    this.originate(report).catch((error: Error) => this.storeFault('status report', error));
  }

  // ---- Dispatch -----------------------------------------------------------------------------

  private enqueue(id: string, priority: Priority): void {
    this.ready[PRIORITIES.indexOf(priority)]!.add(id);
    this.updateCounts();
  }

  private updateCounts(): void {
    let pending = 0;
    for (let p = 0; p < PRIORITIES.length; p++) pending += this.ready[p]!.size + this.later[p]!.size + this.limbo[p]!.size;
    this.ch.pending.set(pending);
    this.ch.inFlight.set(this.busy.size);
  }

  private dispatch(): void {
    const now = this.now();
    // Partial bundles past the reassembly timeout (at most maxBundles of them to look at).
    const dropped = this.reassembler.expire(now);
    if (dropped > 0) this.bundleTlm.channels.reassemblyTimeouts.add(dropped);
    if (now - this.limboSince >= this.limits.limboMs) this.contact();
    let started = 0;
    // Expedited first, then normal, then bulk (RFC 9171 leaves the order to the node).
    for (let p = PRIORITIES.length - 1; p >= 0; p--) {
      const queue = this.ready[p]!;
      const waiting = this.later[p]!;
      for (const [id, due] of waiting) {
        if (due > now) break;
        waiting.delete(id);
        queue.add(id);
      }
      for (const id of queue) {
        if (started >= this.limits.dispatchPerSlot || this.busy.size >= this.limits.inFlight) {
          this.updateCounts();
          return;
        }
        queue.delete(id);
        this.busy.add(id);
        started++;
        this.dispatchOne(id)
          .catch((error: Error) => {
            // A bug, not bad input (that is handled where it is met): the bundle stays stored and
            // is tried again after retryMs, and the node keeps running.
            this.events.emit(AGENT_EVENTS.dispatchFault, { bundle: id, error: error.message });
            this.log.error({ err: error, bundle: id }, 'dispatch failed');
            this.retry(id, this.store.meta(id)?.priority ?? 'normal');
          })
          .finally(() => {
            this.busy.delete(id);
            this.updateCounts();
          });
      }
    }
    this.updateCounts();
  }

  private retry(id: string, priority: Priority): void {
    const waiting = this.later[PRIORITIES.indexOf(priority)]!;
    waiting.delete(id); // re-appended, so the map stays in time order
    waiting.set(id, this.now() + this.limits.retryMs);
    this.updateCounts();
  }

  /** The link a bundle for `node` goes out on now: a neighbour in contact, else the router's choice. */
  private route(node: number): { hop: number; neighbour: NeighbourLink } | undefined {
    const direct = this.links.link(node);
    if (direct) return { hop: node, neighbour: direct };
    const hop = this.router.nextHop(node, this.now());
    const neighbour = hop === undefined ? undefined : this.links.link(hop);
    return neighbour && { hop: hop!, neighbour };
  }

  private async dispatchOne(id: string): Promise<void> {
    const meta = this.store.meta(id);
    if (!meta) return; // deleted meanwhile (expired, evicted)
    // Decided from the metadata, before the bundle is read: a store full of bundles waiting for
    // a contact must not be read from disk at every retry.
    const destination = IPN.exec(meta.destination);
    const node = destination ? Number(destination[1]) : undefined;
    const service = destination ? Number(destination[2]) : undefined;
    const local = node === this.node;
    const expired = this.now() > meta.expiryMs;
    const route = expired || local || node === undefined ? undefined : this.route(node);
    if (!expired && local && !this.services.has(service!)) {
      this.retry(id, meta.priority); // held until its service registers
      return;
    }
    if (!expired && !local && !route) {
      this.ch.noRoute.add();
      this.limbo[PRIORITIES.indexOf(meta.priority)]!.add(id);
      this.updateCounts();
      return;
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.store.get(id);
    } catch (error) {
      this.storeFault('read', error as Error);
      return;
    }
    if (!bytes) return;
    let bundle: Bundle;
    try {
      bundle = decodeBundle(bytes);
    } catch (error) {
      // The store checks its CRC on every read, so this is a bundle stored by an older
      // codec that this one refuses: count it and drop it rather than retry forever.
      this.bundleTlm.rejected(error);
      await this.store.delete(id, StatusReason.blockUnintelligible).catch((e: Error) => this.storeFault('delete', e));
      return;
    }
    if (expired) {
      this.ch.expired.add();
      await this.store.delete(id, StatusReason.lifetimeExpired).catch((e: Error) => this.storeFault('delete', e));
      this.report(bundle, 'deleted', StatusReason.lifetimeExpired);
      return;
    }
    if (local) await this.deliver(id, meta.priority, bundle, service!);
    else await this.forward(id, meta.priority, meta.expiryMs, bundle, { node: node!, service: service! }, route!.hop, route!.neighbour);
  }

  private async deliver(id: string, priority: Priority, bundle: Bundle, service: number): Promise<void> {
    const handler = this.services.get(service)!;
    // A fragment stays stored until its whole bundle is delivered: after a crash, resume()
    // feeds the stored fragments to the reassembler again.
    let ids = [id];
    if (bundle.primary.fragment) {
      const adu = aduKey(bundle);
      const held = [...(this.fragmentIds.get(adu) ?? []), id];
      let whole: Bundle | undefined;
      try {
        whole = this.reassembler.add(bundle, this.now());
      } catch (error) {
        this.bundleTlm.rejected(error);
        await this.store.delete(id, StatusReason.depletedStorage).catch((e: Error) => this.storeFault('delete', e));
        return;
      }
      if (!whole) {
        this.fragmentIds.set(adu, held);
        return;
      }
      this.fragmentIds.delete(adu);
      this.bundleTlm.channels.reassembled.add();
      bundle = whole;
      ids = held;
    }
    try {
      await handler(this.opened(bundle));
    } catch (error) {
      this.ch.deliveryFailures.add();
      if (error instanceof BundleError) this.bundleTlm.rejected(error);
      this.events.emit(AGENT_EVENTS.deliveryFailed, { service, bundle: id, error: (error as Error).message });
      this.log.warn({ err: error, bundle: id, service }, 'delivery failed');
      // A service that cannot take this bundle will not take it later either: delete it.
      for (const failed of ids) await this.store.delete(failed, StatusReason.noInformation).catch((e: Error) => this.storeFault('delete', e));
      this.report(bundle, 'deleted', StatusReason.noInformation);
      return;
    }
    for (const delivered of ids) {
      this.rememberDelivered(delivered);
      await this.store.markDelivered(delivered).catch((e: Error) => this.storeFault('delete', e));
    }
    this.ch.delivered.add();
    this.report(bundle, 'delivered', StatusReason.noInformation);
  }

  /** The bundle with the BCBs this node holds keys for removed; a payload still sealed is an error. */
  private opened(bundle: Bundle): Bundle {
    if (bundle.encrypted.size === 0) return bundle;
    const keys = this.sessions ? [...this.keys, ...this.sessions.openingKeys()] : this.keys;
    const payload = payloadBlock(bundle).number;
    try {
      const { bundle: plain, results } = decryptBundle(bundle, keys);
      this.bundleTlm.security(results);
      if (plain.encrypted.has(payload)) {
        throw new BundleError('BPSEC_CONFIDENTIALITY', 'payload', `no key held opens the BCB over the payload (security source ${results.find((r) => r.target === payload)?.source ?? 'unknown'})`);
      }
      return plain;
    } catch (error) {
      if (error instanceof BundleError && error.code === 'BPSEC_CONFIDENTIALITY') this.askForKeys(bundle, payload);
      throw error;
    }
  }

  /** Session peers whose BCB over the payload did not open here are asked for new keys. */
  private askForKeys(bundle: Bundle, payload: number): void {
    for (const { block, asb } of bundle.security) {
      if (block.type !== BlockType.confidentiality || !asb?.targets.includes(payload)) continue;
      if (asb.source.scheme === 'ipn' && asb.source.service === 0) this.sessions?.unreadable(asb.source.node);
    }
  }

  private rememberDelivered(id: string): void {
    if (this.deliveredIds.size >= DELIVERED_MEMORY) {
      this.deliveredIds.delete(this.deliveredIds.values().next().value!);
    }
    this.deliveredIds.add(id);
  }

  private async forward(
    id: string, priority: Priority, expiryMs: number, bundle: Bundle, to: { node: number; service: number }, hop: number, neighbour: NeighbourLink,
  ): Promise<void> {
    let inbound = bundle;
    if (this.sessions?.gatewayFor(to.node) && bundle.encrypted.size > 0) {
      if (bundle.primary.fragment) {
        this.ch.bcbUnopened.add(); // its payload opens only whole, at the destination
      } else {
        try {
          inbound = this.opened(bundle);
        } catch (error) {
          this.bundleTlm.rejected(error);
          await this.store.delete(id, StatusReason.failedSecurityOperation).catch((e: Error) => this.storeFault('delete', e));
          this.report(bundle, 'deleted', StatusReason.failedSecurityOperation);
          return;
        }
      }
    }
    try {
      const outgoing = this.protect(this.prepareForward(inbound, expiryMs, this.now()), to);
      if (!outgoing) {
        this.ch.awaitingSession.add();
        this.retry(id, priority);
        return;
      }
      if (outgoing.bytes.length <= neighbour.maxBundleBytes) {
        await neighbour.link.send(outgoing.bytes);
      } else {
        const fragments = fragmentBundle(outgoing, neighbour.maxBundleBytes);
        this.bundleTlm.channels.fragmentsCreated.add(fragments.length);
        for (const fragment of fragments) await neighbour.link.send(fragment.bytes);
      }
    } catch (error) {
      if (error instanceof BundleError) {
        // Cannot be made to fit (must-not-fragment, or blocks too large) or sealed: no retry will help.
        this.bundleTlm.rejected(error);
        await this.store.delete(id, StatusReason.transmissionCanceled).catch((e: Error) => this.storeFault('delete', e));
        this.report(bundle, 'deleted', StatusReason.transmissionCanceled);
        return;
      }
      this.ch.forwardFailures.add();
      this.events.emit(AGENT_EVENTS.forwardFailed, { bundle: id, nextHop: hop, error: (error as Error).message });
      this.retry(id, priority);
      return;
    }
    await this.store.markForwarded(id).catch((e: Error) => this.storeFault('delete', e));
    this.ch.forwarded.add();
    this.report(bundle, 'forwarded', StatusReason.noInformation);
  }

  /**
   * The bundle as it leaves for a session peer (or a node behind one): its payload under a BCB
   * for that peer with this node as the security source, sealed again at every send (a fresh IV
   * each time) while the stored copy stays as it came. Undefined while the session is being
   * made: the bundle waits rather than go out in clear. A payload already under a BCB (its
   * source or an earlier node sealed it) goes as it is;
   * so do fragments (a waypoint cannot seal a part of a payload the destination reassembles) and
   * a payload whose BIB also covers other blocks (encrypting the BIB would hide those blocks'
   * protection): both counted in dtn.bcb.clear.
   */
  private protect(bundle: Bundle, to: { node: number; service: number }): Bundle | undefined {
    const sessions = this.sessions;
    const acceptor = sessions && to.service !== SERVICE.session ? sessions.acceptor(to.node) : undefined;
    if (acceptor === undefined) return bundle;
    const payload = payloadBlock(bundle).number;
    if (bundle.encrypted.has(payload)) return bundle;
    const coveredWithOthers = bundle.security.some((s) => s.block.type === BlockType.integrity && s.asb?.targets.includes(payload) && s.asb.targets.length > 1);
    if (bundle.primary.fragment || coveredWithOthers) {
      this.ch.bcbClear.add();
      return bundle;
    }
    const session = sessions!.sealFor(acceptor);
    if (!session) return undefined;
    const sealed = encryptBundle(bundle, { key: session.key, source: ipn(this.node, 0), targets: [payload], nextIv: () => session.nextIv() });
    this.ch.bcbSealed.add();
    return sealed;
  }

  /**
   * RFC 9171 5.4: count the hop, name this node as the previous node, and bring the bundle age
   * up to date where the bundle carries one (it must when the source had no clock). A block
   * that BPSec protects is left as it is: changing it would break the security operation.
   */
  private prepareForward(bundle: Bundle, expiryMs: number, nowUnix: number): Bundle {
    let out = bundle;
    const edits: Array<(b: Bundle) => Bundle> = [
      withHopIncremented,
      (b) => withPreviousNode(b, ipn(this.node, 0)),
    ];
    if (bundle.primary.creationTime === 0 || bundle.blocks.some((b) => b.type === BlockType.bundleAge)) {
      // age now = lifetime - time left, which holds with or without a clock at the source.
      const ageMs = Math.max(0, bundle.primary.lifetime - (expiryMs - nowUnix));
      edits.push((b) => withBundleAge(b, ageMs));
    }
    for (const edit of edits) {
      try {
        out = edit(out);
      } catch (error) {
        if (!(error instanceof BundleError && error.code === 'BUNDLE_SECURITY')) throw error;
      }
    }
    return out;
  }

  // ---- Expiry -------------------------------------------------------------------------------
  // Every stored bundle comes up for dispatch at least every `limboMs` (limbo) or `retryMs`
  // (retries), and dispatch deletes an expired bundle with the "deleted" status report it asked
  // for (lifetime expired). The store's maintenance task (dtn.store) sweeps, with metadata only,
  // what dispatch did not reach: the node runs it `expiryBackstopMs()` behind the clock.

  /** How far behind the clock the store's sweep runs: two limbo periods. */
  expiryBackstopMs(): number {
    return 2 * this.limits.limboMs;
  }

  /** Bundles the store's sweep deleted: they leave the dispatch queues. */
  expired(bundles: readonly StoredBundle[]): void {
    this.ch.expired.add(bundles.length);
    for (const b of bundles) {
      const p = PRIORITIES.indexOf(b.priority);
      this.ready[p]!.delete(b.id);
      this.later[p]!.delete(b.id);
      this.limbo[p]!.delete(b.id);
    }
    this.updateCounts();
    this.events.emit(AGENT_EVENTS.expired, { count: bundles.length });
  }

  private storeFault(operation: string, error: Error): void {
    this.events.emit(AGENT_EVENTS.storeFault, { operation, error: error.message });
    this.log.error({ err: error, operation }, 'bundle store fault');
  }
}

function describePeer(peer: PeerInfo): string {
  return `${peer.cla}:${peer.address}:${peer.port}${peer.nodeId ? ` (${peer.nodeId})` : ''}`;
}
