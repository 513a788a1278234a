// What the console knows now: each node's latest housekeeping judged against the dictionary's
// limits (the flight registry judges them, as on board), and the pages watching, fed over
// Server-Sent Events. A page that stops reading is cut off, not buffered without bound; its
// EventSource reconnects and reloads the state.
import type { ServerResponse } from 'node:http';
import type { Dictionary } from '../../flight/cmd/export.js';
import { TelemetryRegistry, type LimitState } from '../../flight/tlm/channels.js';
import type { HousekeepingRecord } from '../../flight/tlm/housekeeping.js';

export interface NodeView {
  readonly node: number;
  readonly mode: string;
  readonly seq: number;
  readonly lastContactMs: number;
  readonly records: number;
  readonly health: LimitState;
  /** Channels out of their limits now, worst first. */
  readonly limits: Array<{ channel: string; state: LimitState; value: number; units: string }>;
  readonly store?: { bundles?: number; bytes?: number; fill?: number };
  readonly channels: Record<string, number>;
}

/** Bytes a page may have unread before it is cut off. */
const MAX_UNREAD_BYTES = 4 << 20;

export class LiveState {
  private readonly nodes = new Map<number, NodeView>();
  private readonly registry = new TelemetryRegistry();
  private readonly pages = new Set<ServerResponse>();
  private nextId = 0;
  /** Pages cut off for not reading (shown in the status line). */
  pagesDropped = 0;

  constructor(dictionary: Dictionary) {
    for (const def of dictionary.channels) this.registry.define(def);
  }

  housekeeping(record: HousekeepingRecord, receivedMs: number): NodeView {
    const limits: NodeView['limits'] = [];
    let health: LimitState = 'nominal';
    for (const [name, value] of Object.entries(record.channels)) {
      const channel = this.registry.get(name);
      if (!channel) continue;
      channel.set(value);
      const state = channel.limitState();
      if (state === 'nominal') continue;
      limits.push({ channel: name, state, value, units: channel.def.units });
      if (state === 'red' || health === 'nominal') health = state;
    }
    limits.sort((a, b) => (a.state === b.state ? a.channel.localeCompare(b.channel) : a.state === 'red' ? -1 : 1));
    const c = record.channels;
    const store = c['dtn.store.bundles'] === undefined && c['dtn.store.fill'] === undefined
      ? undefined
      : { bundles: c['dtn.store.bundles'], bytes: c['dtn.store.bytes'], fill: c['dtn.store.fill'] };
    const view: NodeView = {
      node: record.node, mode: record.mode, seq: record.seq, lastContactMs: receivedMs,
      records: (this.nodes.get(record.node)?.records ?? 0) + 1, health, limits, channels: record.channels,
      ...(store ? { store } : {}),
    };
    this.nodes.set(record.node, view);
    return view;
  }

  overview(): NodeView[] {
    return [...this.nodes.values()].sort((a, b) => a.node - b.node);
  }

  /** Starts an SSE stream on `response`. */
  watch(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write('retry: 1000\n\n');
    this.pages.add(response);
    response.on('close', () => this.pages.delete(response));
  }

  get watching(): number {
    return this.pages.size;
  }

  publish(type: string, data: unknown): void {
    if (this.pages.size === 0) return;
    const text = `id: ${this.nextId++}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const page of this.pages) {
      if (page.writableLength > MAX_UNREAD_BYTES) {
        this.pagesDropped++;
        this.pages.delete(page);
        page.destroy();
        continue;
      }
      page.write(text);
    }
  }

  close(): void {
    for (const page of this.pages) page.end();
    this.pages.clear();
  }
}
