// The node's downlink: command responses, events and housekeeping records for the ground
// endpoint, as downlink items (downlink-items.ts) packed into bundles. Items pushed during
// one turn of the event loop (a frame's slot) go out together in one bundle, so a slot that
// rejects a burst of commands costs one store write, not one per response. The queue is bounded:
// while a bundle is being stored, more items wait, and beyond `maxQueued` they are dropped and
// counted (a slow disk must not grow memory without bound).
import { encodeDownlink, type DownlinkItem } from './downlink-items.js';
import type { Channel, TelemetryRegistry } from './channels.js';
import { TLM_CHANNELS, TLM_EVENTS } from './dictionary.js';
import type { EventLog } from './events.js';

export interface DownlinkOptions {
  /** Stores one bundle with this payload for the ground endpoint; resolves once it is durable. */
  send(payload: Uint8Array): Promise<unknown>;
  tlm: TelemetryRegistry;
  events: EventLog;
  maxQueued?: number;
  maxItemsPerBundle?: number;
}

export class Downlink {
  private readonly ch: Record<keyof typeof TLM_CHANNELS, Channel>;
  private readonly queued: Uint8Array[] = [];
  private readonly maxQueued: number;
  private readonly maxItemsPerBundle: number;
  private scheduled = false;
  private sending: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: DownlinkOptions) {
    this.ch = options.tlm.defineAll(TLM_CHANNELS);
    this.maxQueued = options.maxQueued ?? 256;
    this.maxItemsPerBundle = options.maxItemsPerBundle ?? 64;
  }

  push(item: DownlinkItem): void {
    if (this.closed || this.queued.length >= this.maxQueued) {
      this.ch.downlinkDropped.add();
      return;
    }
    this.queued.push(encodeDownlink(item));
    this.ch.downlinkItems.add();
    this.schedule();
  }

  /** Nothing queued, scheduled or being stored (a node in lockstep waits for this between steps). */
  get idle(): boolean {
    return !this.scheduled && this.sending === undefined && this.queued.length === 0;
  }

  /** Stops taking items and waits for the bundle being stored; call before the store closes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
  }

  private schedule(): void {
    if (this.scheduled || this.sending || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queued.length === 0) return;
    const items = this.queued.splice(0, this.maxItemsPerBundle);
    this.sending = this.options.send(Buffer.concat(items)).then(
      () => {
        this.ch.downlinkBundles.add();
        // The store takes bundles again: the next failure is news, not a repeat.
        this.options.events.rearm(TLM_EVENTS.downlinkFailed);
      },
      (error: Error) => {
        this.ch.downlinkDropped.add(items.length);
        // This event is itself downlinked; its throttle ends the chain if the store stays broken.
        this.options.events.emit(TLM_EVENTS.downlinkFailed, { items: items.length, error: error.message });
      },
    ).finally(() => {
      this.sending = undefined;
      if (this.queued.length > 0) this.schedule();
    });
  }
}
