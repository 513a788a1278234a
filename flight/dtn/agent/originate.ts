// Bundles this node creates: a local service's (send) and the agent's own (status reports).
// They are stored like received ones and queued for dispatch.
import { hopCountBlock, qualityOfServiceBlock } from '../blocks.js';
import { bundleKey, type Bundle, type Priority } from '../bundle.js';
import { createBundle } from '../codec.js';
import type { CreationClock, CreationStamp } from '../creation.js';
import { ipn, type Eid } from '../eid.js';
import { metaOf, type AgentContext } from './context.js';
import type { DispatchQueues } from './queues.js';

/** What a local service sends. */
export interface Outgoing {
  destination: Eid;
  /** The sending service on this node (the source EID's service number). */
  service: number;
  payload: Uint8Array;
  lifetimeMs: number;
  flags?: number;
  /** Class of service (a QoS block); standard when absent. */
  priority?: Priority;
  /** Unix ms creation time; now when absent. */
  createdAt?: number;
}

export class Originator {
  constructor(private readonly ctx: AgentContext, private readonly queues: DispatchQueues, private readonly clock: CreationClock) {}

  /** Creates a bundle from a local service; resolves with its id once it is durable. */
  async send(out: Outgoing): Promise<string> {
    const created = this.clock.stamp(out.createdAt ?? this.ctx.now());
    const bundle = createBundle({
      destination: out.destination,
      source: ipn(this.ctx.node, out.service),
      flags: out.flags ?? 0,
      creationTime: created.time,
      sequence: created.sequence,
      lifetime: out.lifetimeMs,
      blocks: [hopCountBlock({ limit: this.ctx.limits.hopLimit, count: 0 }), ...(out.priority === undefined ? [] : [qualityOfServiceBlock({ priority: out.priority })])],
      payload: out.payload,
    });
    return this.originate(bundle);
  }

  /** The creation timestamp of a bundle the agent makes now (a status report). */
  stamp(): CreationStamp {
    return this.clock.stamp(this.ctx.now());
  }

  /** Stores `bundle` and queues it; `essential` (a status report) is written even from the store's reserve. */
  async originate(bundle: Bundle, essential = false): Promise<string> {
    const id = bundleKey(bundle);
    const meta = metaOf(this.ctx.node, bundle, id, this.ctx.now());
    await this.ctx.store.put(meta, bundle.bytes, { essential });
    this.ctx.ch.originated.add();
    this.queues.enqueue(id, meta.priority);
    return id;
  }
}
