// Counting what the codec reports. The codec functions stay pure; the agent owns one
// BundleTelemetry and calls it where a bundle is rejected, a security operation completes,
// unknown blocks are dropped, or reassembly moves on. Counters it has no method for
// (fragmentsCreated, statusReportsSent, ...) the agent bumps through `channels` directly.
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { bundleKey, type Bundle } from './bundle.js';
import { BundleError } from './bundle-error.js';
import type { SecurityResult } from './bpsec.js';
import { DTN_CHANNELS, DTN_EVENTS, REJECTION_CHANNEL, type DtnChannel } from './dictionary.js';
import type { ReassemblyStats } from './fragment.js';
import type { UnknownBlockOutcome } from './policy.js';

export class BundleTelemetry {
  readonly channels: Record<DtnChannel, Channel>;
  private reassemblySeen = { timedOut: 0, evicted: 0, reassembled: 0 };

  constructor(
    registry: TelemetryRegistry,
    private readonly events: EventLog,
    /** Reassembly memory limit, quoted in the eviction event. */
    private readonly reassemblyLimitBytes = 0,
  ) {
    this.channels = registry.defineAll(DTN_CHANNELS);
  }

  decoded(): void {
    this.channels.bundlesDecoded.add();
  }

  /**
   * Counts a rejection under its code and emits a (throttled) event. Anything that is not a
   * BundleError is a bug in Tern, not bad input: it is rethrown, never counted as a rejection.
   */
  rejected(err: unknown): BundleError {
    if (!(err instanceof BundleError)) throw err;
    this.channels.bundlesRejected.add();
    this.channels[REJECTION_CHANNEL[err.code]].add();
    if (err.code === 'BPSEC_INTEGRITY' || err.code === 'BPSEC_CONFIDENTIALITY') {
      this.events.emit(DTN_EVENTS.securityFailed, { code: err.code, block: err.block?.number ?? -1, reason: err.reason });
    } else {
      const where = err.block ? (err.block.index === 0 ? 'primary ' : `block ${err.block.number ?? `#${err.block.index}`} `) : '';
      this.events.emit(DTN_EVENTS.bundleRejected, { code: err.code, where, field: err.field, reason: err.reason });
    }
    return err;
  }

  /** Counts the outcome of verifyIntegrity / decryptBundle. */
  security(results: readonly SecurityResult[]): void {
    for (const r of results) {
      if (r.status === 'verified') this.channels.bibVerified.add();
      else if (r.status === 'decrypted') this.channels.bcbDecrypted.add();
      else if (r.status === 'no-key') this.channels.securityNoKey.add();
      else if (r.status === 'unsupported') this.channels.securityUnsupported.add();
    }
  }

  /** Counts (and reports) unknown blocks dropped by processUnknownBlocks. */
  unknownBlocks(bundle: Bundle, outcome: UnknownBlockOutcome): void {
    if (outcome.discarded.length === 0) return;
    this.channels.blocksDiscarded.add(outcome.discarded.length);
    this.events.emit(DTN_EVENTS.blocksDiscarded, {
      count: outcome.discarded.length,
      types: [...new Set(outcome.discarded.map((b) => b.type))].join(','),
      bundle: bundleKey(bundle),
    });
  }

  /** Publishes a Reassembler's stats; emits an event for each new timeout or eviction batch. */
  reassembly(stats: Readonly<ReassemblyStats>): void {
    const seen = this.reassemblySeen;
    this.channels.reassemblyPendingBytes.set(stats.pendingBytes);
    this.channels.reassembled.add(stats.reassembled - seen.reassembled);
    if (stats.timedOut > seen.timedOut) {
      this.channels.reassemblyTimeouts.add(stats.timedOut - seen.timedOut);
      this.events.emit(DTN_EVENTS.reassemblyTimeout, { count: stats.timedOut - seen.timedOut });
    }
    if (stats.evicted > seen.evicted) {
      this.channels.reassemblyEvictions.add(stats.evicted - seen.evicted);
      this.events.emit(DTN_EVENTS.reassemblyEvicted, { count: stats.evicted - seen.evicted, limit: this.reassemblyLimitBytes });
    }
    this.reassemblySeen = { timedOut: stats.timedOut, evicted: stats.evicted, reassembled: stats.reassembled };
  }
}
