// Delivery to the local services of this node (ipn:N.service): BCBs for this node are opened,
// fragments are reassembled first, and the bundle leaves the store once the service's handler
// resolved. A bundle for a service not (yet) registered is held by dispatch.
import { AGENT_EVENTS } from '../agent-dictionary.js';
import type { Bundle } from '../bundle.js';
import { BundleError, StatusReason } from '../bundle-error.js';
import { storeFault, type AgentContext, type ServiceHandler } from './context.js';
import type { FragmentHold } from './reassemble.js';
import type { StatusReporter } from './report.js';
import type { Sealing } from './seal.js';

/** Ids remembered after local delivery, so that a late duplicate is not delivered twice. */
const DELIVERED_MEMORY = 4096;

export class Delivery {
  private readonly services = new Map<number, ServiceHandler>();
  private readonly deliveredIds = new Set<string>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly fragments: FragmentHold,
    private readonly sealing: Sealing,
    private readonly reporter: StatusReporter,
  ) {}

  register(service: number, handler: ServiceHandler): void {
    this.services.set(service, handler);
  }

  serves(service: number): boolean {
    return this.services.has(service);
  }

  /** Whether `id` was delivered here recently. */
  delivered(id: string): boolean {
    return this.deliveredIds.has(id);
  }

  async deliver(id: string, bundle: Bundle, service: number): Promise<void> {
    const { ctx } = this;
    const handler = this.services.get(service)!;
    let ids = [id];
    if (bundle.primary.fragment) {
      let whole: { bundle: Bundle; ids: string[] } | undefined;
      try {
        whole = this.fragments.add(id, bundle);
      } catch (error) {
        ctx.bundleTlm.rejected(error);
        await ctx.store.delete(id, StatusReason.depletedStorage).catch((e: Error) => storeFault(ctx, 'delete', e));
        return;
      }
      if (!whole) return;
      bundle = whole.bundle;
      ids = whole.ids;
    }
    try {
      const plain = this.sealing.open(bundle);
      const sealedBy = plain === bundle ? undefined : this.sealing.sealer(bundle);
      await handler(plain, sealedBy === undefined ? {} : { sealedBy });
    } catch (error) {
      ctx.ch.deliveryFailures.add();
      if (error instanceof BundleError) ctx.bundleTlm.rejected(error);
      ctx.events.emit(AGENT_EVENTS.deliveryFailed, { service, bundle: id, error: (error as Error).message });
      ctx.log.warn({ err: error, bundle: id, service }, 'delivery failed');
      // A service that cannot take this bundle will not take it later either: delete it.
      for (const failed of ids) await ctx.store.delete(failed, StatusReason.noInformation).catch((e: Error) => storeFault(ctx, 'delete', e));
      this.reporter.report(bundle, 'deleted', StatusReason.noInformation);
      return;
    }
    for (const delivered of ids) {
      this.remember(delivered);
      await ctx.store.markDelivered(delivered).catch((e: Error) => storeFault(ctx, 'markDelivered', e));
    }
    ctx.ch.delivered.add();
    this.reporter.report(bundle, 'delivered', StatusReason.noInformation);
  }

  private remember(id: string): void {
    if (this.deliveredIds.size >= DELIVERED_MEMORY) {
      this.deliveredIds.delete(this.deliveredIds.values().next().value!);
    }
    this.deliveredIds.add(id);
  }
}
