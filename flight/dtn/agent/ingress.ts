// Ingress: bundles a convergence layer hands in are validated, checked for duplicates and made
// durable in the store before the CLA acknowledges them. Inbound bundles are validated as they
// arrive, up to `ingestPerSlot` of them per slot of dtn.ingest (its credit); beyond that they
// wait in a bounded queue for the next slot, and are refused when it is full. So a flood costs
// each frame at most that many validations and cannot starve the frame, while a trickle is not
// held back a whole frame (which would cap a contact's rate at one batch per frame).
import type { PeerInfo } from '../../cla/cla.js';
import { BundleRefusedError } from '../../cla/errors.js';
import { AGENT_EVENTS } from '../agent-dictionary.js';
import { bundleKey, dtnNow, type Bundle } from '../bundle.js';
import { StatusReason } from '../bundle-error.js';
import { decodeBundle } from '../codec.js';
import { verifyIntegrity } from '../bpsec.js';
import { isZeroBlockNumber, renumberZeroBlocks } from '../interop.js';
import type { SecurityKey } from '../keys.js';
import { checkHopLimit, checkLifetime, checkValidity, processUnknownBlocks } from '../policy.js';
import { StoreDuplicateError, StoreNoSpaceError, StoreRefusedError } from '../store/errors.js';
import { describePeer, metaOf, rememberPreviousHop, storeFault, type AgentContext } from './context.js';
import type { DispatchQueues } from './queues.js';
import type { StatusReporter } from './report.js';

interface Inbound {
  bytes: Uint8Array;
  from: PeerInfo;
  resolve(): void;
  reject(error: Error): void;
}

export class Ingress {
  private readonly inbound: Inbound[] = [];
  /** Inbound bundles that may still be validated before the next dtn.ingest slot. */
  private credit: number;

  constructor(
    private readonly ctx: AgentContext,
    private readonly keys: readonly SecurityKey[],
    private readonly queues: DispatchQueues,
    private readonly reporter: StatusReporter,
    /** Whether a bundle with this id was delivered here recently (a late duplicate). */
    private readonly delivered: (id: string) => boolean,
    private readonly strictBlockNumbers: boolean,
    private readonly reaches: (node: number) => boolean,
  ) {
    this.credit = ctx.limits.ingestPerSlot;
  }

  accept(bytes: Uint8Array, from: PeerInfo): Promise<void> {
    const { ch, limits, events } = this.ctx;
    ch.received.add();
    if (this.inbound.length >= limits.inboundQueue) {
      ch.queueFull.add();
      events.emit(AGENT_EVENTS.refused, { peer: describePeer(from), reason: 'inbound queue full' });
      return Promise.reject(new BundleRefusedError('no-resources', 'inbound queue full'));
    }
    return new Promise((resolve, reject) => {
      const item = { bytes, from, resolve, reject };
      if (this.credit > 0 && this.inbound.length === 0) {
        this.credit--;
        this.ingestOne(item);
        return;
      }
      this.inbound.push(item);
      ch.inboundQueued.set(this.inbound.length);
    });
  }

  /** The dtn.ingest slot: renews the credit and spends it on the queue first. */
  slot(): void {
    this.credit = this.ctx.limits.ingestPerSlot;
    const n = Math.min(this.credit, this.inbound.length);
    this.credit -= n;
    for (const item of this.inbound.splice(0, n)) this.ingestOne(item);
    this.ctx.ch.inboundQueued.set(this.inbound.length);
  }

  /** decodeBundle, with ION's fragments repaired unless the node is strict (interop.ts). */
  private decode(bytes: Uint8Array): Bundle {
    try {
      return decodeBundle(bytes);
    } catch (error) {
      if (this.strictBlockNumbers || !isZeroBlockNumber(error)) throw error;
      const repaired = renumberZeroBlocks(bytes);
      if (!repaired) throw error;
      this.ctx.bundleTlm.channels.blocksRenumbered.add();
      return repaired;
    }
  }

  private ingestOne(item: Inbound): void {
    const { ctx } = this;
    const nowUnix = ctx.now();
    const nowDtn = dtnNow(nowUnix);
    let bundle: Bundle;
    let decoded: Bundle | undefined;
    try {
      bundle = decoded = this.decode(item.bytes);
      ctx.bundleTlm.channels.bundlesDecoded.add();
      checkValidity(bundle);
      const unknown = processUnknownBlocks(bundle);
      if (unknown.discarded.length > 0) ctx.bundleTlm.channels.blocksDiscarded.add(unknown.discarded.length);
      bundle = unknown.bundle;
      checkHopLimit(bundle);
      checkLifetime(bundle, nowDtn, nowDtn);
      if (this.keys.length > 0 && bundle.security.length > 0) ctx.bundleTlm.security(verifyIntegrity(bundle, this.keys));
    } catch (error) {
      const rejected = ctx.bundleTlm.rejected(error);
      // Decoded but refused (hop limit, lifetime, security, policy): deleted, with its report.
      if (decoded) this.reporter.report(decoded, 'deleted', rejected.statusReason);
      item.reject(new BundleRefusedError('not-acceptable', rejected.message));
      return;
    }
    // Refused before it is stored: the sender (a ground tool, a neighbour) learns now that the
    // bundle goes nowhere, instead of an acknowledgement for a bundle that waits for ever.
    const destination = bundle.primary.destination;
    if (destination.scheme === 'ipn' && destination.node !== ctx.node && !this.reaches(destination.node)) {
      ctx.ch.refusedNoRoute.add();
      const reason = `no route from node ${ctx.node} to node ${destination.node}`;
      ctx.events.emit(AGENT_EVENTS.refused, { peer: describePeer(item.from), reason });
      this.reporter.report(bundle, 'deleted', StatusReason.noRoute);
      item.reject(new BundleRefusedError('not-acceptable', reason));
      return;
    }
    const id = bundleKey(bundle);
    if (ctx.store.has(id) || this.delivered(id)) {
      ctx.ch.duplicates.add();
      item.resolve();
      return;
    }
    const meta = metaOf(ctx.node, bundle, id, nowUnix);
    ctx.store.put(meta, bundle.bytes).then(
      () => {
        ctx.ch.accepted.add();
        if (meta.state === 'forward-pending') rememberPreviousHop(ctx, id, bundle, item.from);
        item.resolve();
        this.queues.enqueue(id, meta.priority);
        this.reporter.report(bundle, 'received', StatusReason.noInformation);
      },
      (error: Error) => {
        if (error instanceof StoreDuplicateError) {
          ctx.ch.duplicates.add();
          item.resolve();
          return;
        }
        if (error instanceof StoreRefusedError || error instanceof StoreNoSpaceError) {
          // Full: the store's capacity, or the device itself (refused until space returns).
          ctx.ch.refusedFull.add();
          this.reporter.report(bundle, 'deleted', StatusReason.depletedStorage);
        } else {
          storeFault(ctx, 'put', error);
        }
        ctx.events.emit(AGENT_EVENTS.refused, { peer: describePeer(item.from), reason: error.message });
        item.reject(new BundleRefusedError('no-resources', error.message));
      },
    );
  }
}
