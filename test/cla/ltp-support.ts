// Two LTP engines joined by an in-memory link on a virtual clock: the test decides which
// segments are lost (by a filter) and when time moves, so every retransmission is deterministic.
import { ltpChannelDefs, type LtpChannels } from '../../flight/cla/dictionary.js';
import { LtpEngine } from '../../flight/cla/ltp/engine.js';
import type { LtpSettings } from '../../flight/cla/ltp/session.js';
import { VirtualTimers } from '../../flight/cla/ltp/timers.js';
import { decodeSegment, type Segment } from '../../flight/cla/ltp/wire.js';
import { silent, testNode, type TestNode } from './support.js';

export const TEST_SETTINGS: LtpSettings = {
  segmentBytes: 100,
  oneWayLightTimeMs: 10,
  marginMs: 30,
  maxRetries: 3,
  maxExportSessions: 4,
  maxImportSessions: 8,
  maxBlockBytes: 1 << 20,
  sessionTimeoutMs: 5000,
};

export interface EngineEnd extends TestNode {
  engine: LtpEngine;
  channels: LtpChannels;
  delivered: Uint8Array[];
  /** The sink's verdict for each block (default: accept). */
  verdict: (block: Uint8Array) => Promise<void>;
  linkUp: boolean;
}

/** Segments in flight between the two engines; `drop` decides per segment (true: lost). */
export class VirtualLink {
  readonly timers = new VirtualTimers();
  readonly a: EngineEnd;
  readonly b: EngineEnd;
  readonly wire: Array<{ to: EngineEnd; bytes: Uint8Array; segment: Segment }> = [];
  readonly log: Array<{ from: number; segment: Segment }> = [];
  drop: (segment: Segment, from: number) => boolean = () => false;

  constructor(settings: Partial<LtpSettings> = {}) {
    this.a = this.end(1, 2, { ...TEST_SETTINGS, ...settings });
    this.b = this.end(2, 1, { ...TEST_SETTINGS, ...settings });
  }

  /** Delivers segments until none is in flight (time does not move). */
  async flush(): Promise<void> {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      await new Promise((resolve) => setImmediate(resolve));
      const batch = this.wire.splice(0);
      if (batch.length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.wire.length === 0) return;
        continue;
      }
      for (const { to, bytes } of batch) to.engine.receive(bytes, 'virtual');
    }
    throw new Error('the link never went quiet');
  }

  /** Advances time by `ms` in steps of `step`, delivering segments between steps. */
  async run(ms: number, step = 5): Promise<void> {
    await this.flush();
    for (let t = 0; t < ms; t += step) {
      this.timers.advance(step);
      await this.flush();
    }
  }

  private end(id: number, peer: number, settings: LtpSettings): EngineEnd {
    const node = testNode();
    const channels = node.tlm.defineAll(ltpChannelDefs('cla.ltp'));
    const end = { ...node, channels, delivered: [] as Uint8Array[], verdict: () => Promise.resolve(), linkUp: true } as unknown as EngineEnd;
    end.engine = new LtpEngine({
      engineId: id,
      settings,
      timers: this.timers,
      channels,
      transmit: (bytes) => {
        const segment = decodeSegment(bytes);
        this.log.push({ from: id, segment });
        if (!this.drop(segment, id)) this.wire.push({ to: id === 1 ? this.b : this.a, bytes, segment });
        return Promise.resolve();
      },
      deliver: (block) => end.verdict(block).then(() => {
        end.delivered.push(block);
      }),
      knows: (engine) => engine === peer,
      linkUp: () => end.linkUp,
      events: node.eventLog,
      log: silent,
    });
    return end;
  }
}

/** A block of `n` bytes whose content says where each byte sits (a misplaced byte shows). */
export function patternBlock(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}
