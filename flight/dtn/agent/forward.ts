// Forwarding to the next hop routing.ts chose: the RFC 9171 5.4 edits, the seal for a session
// peer, fragmentation to what the link takes, and the send. The bundle leaves the store only once
// the next hop acknowledged it.
import { AGENT_EVENTS } from '../agent-dictionary.js';
import { BlockType, type Bundle } from '../bundle.js';
import { BundleError, StatusReason } from '../bundle-error.js';
import { withBundleAge, withHopIncremented, withPreviousNode } from '../edit.js';
import { ipn } from '../eid.js';
import { fragmentBundle } from '../fragment.js';
import { storeFault, type AgentContext, type NeighbourLink } from './context.js';
import type { StatusReporter } from './report.js';
import type { Sealing } from './seal.js';

export interface Route {
  hop: number;
  neighbour: NeighbourLink;
}

/** What became of a forward: sent (acknowledged), deleted for good, or to be tried again later. */
export type ForwardOutcome = 'sent' | 'deleted' | 'retry';

export class Forwarder {
  constructor(
    private readonly ctx: AgentContext,
    private readonly sealing: Sealing,
    private readonly reporter: StatusReporter,
  ) {}

  async forward(id: string, expiryMs: number, bundle: Bundle, to: { node: number; service: number }, route: Route): Promise<ForwardOutcome> {
    const { ctx } = this;
    let inbound = bundle;
    if (this.sealing.gatewayFor(to.node) && bundle.encrypted.size > 0) {
      if (bundle.primary.fragment) {
        ctx.ch.bcbUnopened.add(); // its payload opens only whole, at the destination
      } else {
        try {
          inbound = this.sealing.open(bundle);
        } catch (error) {
          ctx.bundleTlm.rejected(error);
          await ctx.store.delete(id, StatusReason.failedSecurityOperation).catch((e: Error) => storeFault(ctx, 'delete', e));
          this.reporter.report(bundle, 'deleted', StatusReason.failedSecurityOperation);
          return 'deleted';
        }
      }
    }
    try {
      const outgoing = this.sealing.protect(this.prepareForward(inbound, expiryMs, ctx.now()), to);
      if (!outgoing) {
        ctx.ch.awaitingSession.add();
        return 'retry';
      }
      const { link, maxBundleBytes } = route.neighbour;
      if (outgoing.bytes.length <= maxBundleBytes) {
        await link.send(outgoing.bytes);
      } else {
        const fragments = fragmentBundle(outgoing, maxBundleBytes);
        ctx.bundleTlm.channels.fragmentsCreated.add(fragments.length);
        for (const fragment of fragments) await link.send(fragment.bytes);
      }
    } catch (error) {
      if (error instanceof BundleError) {
        // Cannot be made to fit (must-not-fragment, or blocks too large) or sealed: no retry will help.
        ctx.bundleTlm.rejected(error);
        await ctx.store.delete(id, StatusReason.transmissionCanceled).catch((e: Error) => storeFault(ctx, 'delete', e));
        this.reporter.report(bundle, 'deleted', StatusReason.transmissionCanceled);
        return 'deleted';
      }
      ctx.ch.forwardFailures.add();
      ctx.events.emit(AGENT_EVENTS.forwardFailed, { bundle: id, nextHop: route.hop, error: (error as Error).message });
      return 'retry';
    }
    await ctx.store.markForwarded(id).catch((e: Error) => storeFault(ctx, 'markForwarded', e));
    ctx.ch.forwarded.add();
    this.reporter.report(bundle, 'forwarded', StatusReason.noInformation);
    return 'sent';
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
      (b) => withPreviousNode(b, ipn(this.ctx.node, 0)),
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
}
