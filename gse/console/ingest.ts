// What the console does with each downlink bundle: decode it, archive it, then acknowledge it,
// show it and print it. Bundles that arrive in the same event-loop turn are committed together
// (group commit: one transaction, one fsync), and each is acknowledged only after that commit,
// so a busy console spends one fsync per turn instead of one per bundle and still acknowledges
// nothing it has not stored.
import type { PeerInfo } from '../../flight/cla/cla.js';
import type { Logger } from '../../flight/log.js';
import { decodeDownlink, MalformedDownlink, type DownlinkItem } from '../tlm.js';
import { ArchiveError, plainJson, type Archive } from './archive.js';
import type { LiveState } from './live.js';
import type { GroundCounters } from './server.js';

interface Waiting {
  readonly items: DownlinkItem[];
  readonly done: { resolve: () => void; reject: (error: unknown) => void };
}

export class GroundIngest {
  private waiting: Waiting[] = [];

  constructor(
    private readonly archive: Archive,
    private readonly live: LiveState,
    private readonly counters: GroundCounters,
    private readonly log: Logger,
    private readonly print?: (line: string) => void,
  ) {}

  /** The ground listener's handler: resolves when the bundle's items are committed. */
  payload(payload: Uint8Array, from: PeerInfo, source: string): void | Promise<void> {
    this.counters.bundles++;
    let items: DownlinkItem[];
    try {
      items = decodeDownlink(payload);
    } catch (error) {
      // A damaged payload is counted and acknowledged: sending it again would not mend it.
      if (!(error instanceof MalformedDownlink)) throw error;
      this.counters.malformed++;
      this.log.warn({ source, cla: from.cla, err: error.message }, 'malformed downlink payload');
      return;
    }
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.commit());
      this.waiting.push({ items, done: { resolve, reject } });
    });
  }

  private commit(): void {
    const batch = this.waiting;
    this.waiting = [];
    const receivedMs = Date.now();
    try {
      this.archive.store(batch.flatMap((b) => b.items), receivedMs);
    } catch (error) {
      // Not stored, so not acknowledged: the station keeps the bundles and offers them again.
      for (const b of batch) b.done.reject(error);
      if (!(error instanceof ArchiveError)) throw error;
      this.counters.archiveErrors++;
      this.counters.lastArchiveError = error.message;
      this.log.error({ code: error.code, err: error.message, bundles: batch.length }, 'archive refused bundles: not acknowledged');
      this.live.publish('status', this.counters);
      return;
    }
    for (const b of batch) {
      b.done.resolve();
      this.counters.items += b.items.length;
      for (const item of b.items) {
        this.print?.(plainJson({ kind: item.kind, ...item.record }));
        if (item.kind === 'hk') this.live.publish('hk', { tMs: receivedMs, view: this.live.housekeeping(item.record, receivedMs) });
        else this.live.publish(item.kind, { tMs: receivedMs, ...item.record });
      }
    }
  }
}
