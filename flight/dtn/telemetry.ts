// Counting what the codec reports. The codec functions stay pure; the agent owns one
// BundleTelemetry and calls it where a bundle is rejected or a security operation completes.
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { BundleError } from './bundle-error.js';
import type { SecurityResult } from './bpsec.js';
import { DTN_CHANNELS, DTN_EVENTS, REJECTION_CHANNEL, type DtnChannel } from './dictionary.js';

export class BundleTelemetry {
  readonly channels: Record<DtnChannel, Channel>;

  constructor(
    registry: TelemetryRegistry,
    private readonly events: EventLog,
  ) {
    this.channels = registry.defineAll(DTN_CHANNELS);
  }

  /**
   * Counts a rejection under its code and emits a (throttled) event. Anything that is not a
   * BundleError is a bug in Tern, not bad input: it is rethrown, never counted as a rejection.
   */
  rejected(err: unknown): BundleError {
    if (!(err instanceof BundleError)) throw err;
    this.channels.bundlesRejected.add();
    this.channels[REJECTION_CHANNEL[err.code]].add();
    const security = err.code === 'BPSEC_INTEGRITY' || err.code === 'BPSEC_CONFIDENTIALITY';
    const where = err.block ? (err.block.index === 0 ? 'primary ' : `block ${err.block.number ?? `#${err.block.index}`} `) : '';
    if (security) {
      this.events.emit(DTN_EVENTS.securityFailed, { code: err.code, block: err.block?.number ?? -1, reason: err.reason });
    } else {
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
}
