// Bundles this node creates: a local service's (send) and the agent's own (status reports).
// They are stored like received ones and queued for dispatch.
import { hopCountBlock } from '../blocks.js';
import { bundleKey, dtnNow, type Bundle } from '../bundle.js';
import { createBundle } from '../codec.js';
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
  /** Unix ms creation time; now when absent. */
  createdAt?: number;
}

export class Originator {
  private lastCreation = -1;
  private sequence = 0;

  constructor(private readonly ctx: AgentContext, private readonly queues: DispatchQueues) {}

  /** Creates a bundle from a local service; resolves with its id once it is durable. */
  async send(out: Outgoing): Promise<string> {
    const created = dtnNow(out.createdAt ?? this.ctx.now());
    this.sequence = created === this.lastCreation ? this.sequence + 1 : 0;
    this.lastCreation = created;
    const bundle = createBundle({
      destination: out.destination,
      source: ipn(this.ctx.node, out.service),
      flags: out.flags ?? 0,
      creationTime: created,
      sequence: this.sequence,
      lifetime: out.lifetimeMs,
      blocks: [hopCountBlock({ limit: this.ctx.limits.hopLimit, count: 0 })],
      payload: out.payload,
    });
    return this.originate(bundle);
  }

  /** The sequence number of a status report created now. */
  nextReportSequence(): number {
    return ++this.sequence;
  }

  async originate(bundle: Bundle): Promise<string> {
    const id = bundleKey(bundle);
    const meta = metaOf(this.ctx.node, bundle, id, this.ctx.now());
    await this.ctx.store.put(meta, bundle.bytes);
    this.ctx.ch.originated.add();
    this.queues.enqueue(id, meta.priority);
    return id;
  }
}
