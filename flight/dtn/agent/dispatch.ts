// Dispatch: the dtn.dispatch slot starts at most `dispatchPerSlot` forwards or deliveries, with
// at most `inFlight` under way, and computes at most `routeListsPerSlot` cold route lists. What
// happens to a bundle is decided from the store's metadata before it is read (a store full of
// bundles waiting for a contact must not be read from disk at every retry): deliver, forward,
// wait for a service, a route or a contact, or delete it expired.
// Sends, disk reads and fdatasyncs complete between frames, on the event loop.
import { AGENT_EVENTS } from '../agent-dictionary.js';
import type { Bundle } from '../bundle.js';
import { StatusReason } from '../bundle-error.js';
import { decodeBundle } from '../codec.js';
import { StoreClosedError, StoreCorruptError } from '../store/errors.js';
import type { Priority } from '../store/meta.js';
import { storeFault, type AgentContext } from './context.js';
import type { Delivery } from './deliver.js';
import type { Forwarder } from './forward.js';
import type { DispatchQueues } from './queues.js';
import type { FragmentHold } from './reassemble.js';
import type { StatusReporter } from './report.js';
import type { NextHop, Routing } from './routing.js';

/** The longest wait between reads of a bundle whose reads keep failing. */
const READ_BACKOFF_MAX_MS = 60_000;
/** An ipn destination as the store records it (eidToString): node and service. */
const IPN = /^ipn:(\d+)\.(\d+)$/;

export class Dispatcher {
  private readonly busy = new Set<string>();
  /** Failed reads in a row, by bundle: the backoff of its next read. */
  private readonly readFailures = new Map<string, number>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly queues: DispatchQueues,
    private readonly routing: Routing,
    private readonly forwarder: Forwarder,
    private readonly delivery: Delivery,
    private readonly fragments: FragmentHold,
    private readonly reporter: StatusReporter,
  ) {}

  /** The dtn.dispatch slot. */
  slot(): void {
    const now = this.ctx.now();
    const { limits } = this.ctx;
    this.fragments.expire(now);
    if (this.queues.limboAge(now) >= limits.limboMs) this.queues.releaseLimbo(now);
    this.routing.slot(now);
    let started = 0;
    this.queues.drain(
      now,
      () => started < limits.dispatchPerSlot && this.busy.size < limits.inFlight && this.routing.budgetLeft(),
      (id) => {
        this.busy.add(id);
        started++;
        this.dispatchOne(id)
          .catch((error: Error) => {
            // A bug, not bad input (that is handled where it is met): the bundle stays stored and
            // is tried again after retryMs, and the node keeps running.
            this.ctx.events.emit(AGENT_EVENTS.dispatchFault, { bundle: id, error: error.message });
            this.ctx.log.error({ err: error, bundle: id }, 'dispatch failed');
            this.retry(id, this.ctx.store.meta(id)?.priority ?? 'normal');
          })
          .finally(() => {
            this.busy.delete(id);
            this.publish();
          });
      },
    );
    this.publish();
  }

  /**
   * Only corruption deletes a bundle (the store did, and said so); a closed store is shutting
   * down. Anything else (EMFILE, EIO on one read) may pass: the bundle stays stored and is read
   * again after retryMs, doubling per failure up to READ_BACKOFF_MAX_MS.
   */
  private readFailed(id: string, priority: Priority, error: Error): void {
    if (error instanceof StoreCorruptError || error instanceof StoreClosedError) {
      storeFault(this.ctx, 'read', error);
      return;
    }
    const attempt = (this.readFailures.get(id) ?? 0) + 1;
    this.readFailures.set(id, attempt);
    const delayMs = Math.min(READ_BACKOFF_MAX_MS, Math.max(1, this.ctx.limits.retryMs) * 2 ** (attempt - 1));
    this.ctx.ch.readFaults.add();
    this.ctx.events.emit(AGENT_EVENTS.readFault, { bundle: id, error: error.message, attempt, delayMs });
    this.ctx.log.warn({ err: error, bundle: id, attempt, delayMs }, 'stored bundle read failed; retrying');
    this.queues.backOff(id, priority, this.ctx.now() + delayMs);
  }

  retry(id: string, priority: Priority): void {
    this.queues.retryAt(id, priority, this.ctx.now() + this.ctx.limits.retryMs);
  }

  private publish(): void {
    this.ctx.ch.inFlight.set(this.busy.size);
  }

  /**
   * A bundle the store held at start, read once before it is first routed: its previous node
   * block says where it came from (loop avoidance). False if the read failed (tried again later).
   */
  private async readPreviousHop(id: string, priority: Priority): Promise<boolean> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.ctx.store.get(id);
    } catch (error) {
      this.readFailed(id, priority, error as Error);
      return false;
    }
    if (!bytes) return false; // deleted meanwhile
    let bundle: Bundle | undefined;
    try {
      bundle = decodeBundle(bytes);
    } catch {
      // Not counted here: routed without a previous hop, it is read again to be sent, and that
      // read counts and deletes a bundle that does not decode.
      bundle = undefined;
    }
    this.routing.previousHopRead(id, bundle);
    return true;
  }

  private async dispatchOne(id: string): Promise<void> {
    const { ctx } = this;
    const meta = ctx.store.meta(id);
    if (!meta) {
      this.readFailures.delete(id);
      return; // deleted meanwhile (expired, evicted)
    }
    const destination = IPN.exec(meta.destination);
    const node = destination ? Number(destination[1]) : undefined;
    const service = destination ? Number(destination[2]) : undefined;
    const local = node === ctx.node;
    const now = ctx.now();
    const expired = now > meta.expiryMs;
    if (!expired && !local && this.routing.previousHopUnread(id) && !(await this.readPreviousHop(id, meta.priority))) return;
    const next = expired || local || node === undefined ? undefined : this.routing.next(id, meta, node, now);
    if (!expired && local && !this.delivery.serves(service!)) {
      this.retry(id, meta.priority); // held until its service registers
      return;
    }
    if (next === 'held') return; // in its contact's queue until the contact opens
    if (!expired && !local && (next === undefined || next === 'no-route')) {
      ctx.ch.noRoute.add();
      this.queues.park(id, meta.priority);
      return;
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = await ctx.store.get(id);
    } catch (error) {
      this.readFailed(id, meta.priority, error as Error);
      return;
    }
    this.readFailures.delete(id);
    if (!bytes) return;
    let bundle: Bundle;
    try {
      bundle = decodeBundle(bytes);
    } catch (error) {
      // The store checks its CRC on every read, so this is a bundle stored by an older
      // codec that this one refuses: count it and drop it rather than retry forever.
      ctx.bundleTlm.rejected(error);
      this.routing.forget(id);
      await ctx.store.delete(id, StatusReason.blockUnintelligible).catch((e: Error) => storeFault(ctx, 'delete', e));
      return;
    }
    if (expired) {
      this.routing.forget(id);
      ctx.ch.expired.add();
      await ctx.store.delete(id, StatusReason.lifetimeExpired).catch((e: Error) => storeFault(ctx, 'delete', e));
      this.reporter.report(bundle, 'deleted', StatusReason.lifetimeExpired);
      return;
    }
    if (local) {
      await this.delivery.deliver(id, bundle, service!);
      return;
    }
    const outcome = await this.forwarder.forward(id, meta.expiryMs, bundle, { node: node!, service: service! }, next as Exclude<NextHop, string>);
    if (outcome === 'retry') this.retry(id, meta.priority);
    else if (outcome === 'sent') this.routing.sent(id);
    else this.routing.forget(id);
  }
}
