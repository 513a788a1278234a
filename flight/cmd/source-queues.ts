// Envelopes waiting for the dispatcher, one queue per source, so that a flood from one source
// cannot push out or hold back the commands of another. A source is the session peer whose BCB
// the command arrived under (its hop is authenticated: AES-GCM opened it) or, for a command that
// arrived in clear, the source node its bundle claims; claims cost nothing, so clear sources
// share CLEAR_QUEUES queues by node number (stochastic fair queueing: a forger that claims many
// nodes still gets CLEAR_QUEUES turns, not one per claim). Sealed sources are served first and
// round-robin among themselves, then clear queues round-robin: forgeries in clear never delay a
// command a peer sealed. When the queues are full, the newest envelope of the longest queue is
// dropped, so the flooder loses its own envelopes, not the others'.

/** How a command reached this node, as the bundle agent tells at delivery. */
export interface Origin {
  /** The session peer that sealed the payload for this node (a BCB it opened); absent in clear. */
  readonly sealedBy?: number;
  /** The bundle's source node as claimed (undefined when not an ipn endpoint). */
  readonly sourceNode?: number;
}

/** Queues that clear sources share, by node number modulo this. */
export const CLEAR_QUEUES = 16;

export interface Queued<T> {
  readonly item: T;
  /** The source's name, also the key of its rate limit. */
  readonly source: string;
}

export class SourceQueues<T> {
  // Only non-empty queues are held; Map order is the round-robin order (served keys move last).
  private readonly sealed = new Map<string, T[]>();
  private readonly clear = new Map<string, T[]>();
  private count = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** The source name of `origin`: `sealed:<peer>`, `clear:<node mod CLEAR_QUEUES>` or `clear:unknown`. */
  sourceOf(origin: Origin): string {
    if (origin.sealedBy !== undefined) return `sealed:${origin.sealedBy}`;
    return origin.sourceNode === undefined ? 'clear:unknown' : `clear:${origin.sourceNode % CLEAR_QUEUES}`;
  }

  /**
   * Queues `item`; when the queues are full, returns what was dropped to make room (the newest of
   * the longest queue, which may be `item` itself).
   */
  push(item: T, origin: Origin): T | undefined {
    const source = this.sourceOf(origin);
    const tier = source.startsWith('sealed:') ? this.sealed : this.clear;
    if (this.count >= this.capacity) {
      const own = tier.get(source);
      const longest = this.longest();
      if (!longest || (own?.length ?? 0) >= longest.length) return item;
      const dropped = longest.pop()!;
      this.count--;
      this.forgetEmpty();
      this.append(tier, source, item);
      return dropped;
    }
    this.append(tier, source, item);
    return undefined;
  }

  /** The next envelope in service order, left queued (see take()). */
  peek(): Queued<T> | undefined {
    for (const tier of [this.sealed, this.clear]) {
      for (const [source, queue] of tier) return { item: queue[0]!, source };
    }
    return undefined;
  }

  /** Removes the envelope peek() returned; its source goes to the back of its tier. */
  take(): void {
    const tier = this.sealed.size > 0 ? this.sealed : this.clear;
    const [source, queue] = tier.entries().next().value!;
    queue.shift();
    this.count--;
    tier.delete(source);
    if (queue.length > 0) tier.set(source, queue);
  }

  private append(tier: Map<string, T[]>, source: string, item: T): void {
    const queue = tier.get(source);
    if (queue) queue.push(item);
    else tier.set(source, [item]);
    this.count++;
  }

  private longest(): T[] | undefined {
    let longest: T[] | undefined;
    for (const tier of [this.sealed, this.clear]) {
      for (const queue of tier.values()) if (!longest || queue.length > longest.length) longest = queue;
    }
    return longest;
  }

  private forgetEmpty(): void {
    for (const tier of [this.sealed, this.clear]) {
      for (const [source, queue] of tier) if (queue.length === 0) tier.delete(source);
    }
  }
}
