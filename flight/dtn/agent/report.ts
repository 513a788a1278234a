// RFC 9171 6.1 status reports the agent sends about the bundles it handles, when they ask.
import type { Bundle } from '../bundle.js';
import { decodeBundle } from '../codec.js';
import { DELETION_CHANNEL } from '../dictionary.js';
import { ipn } from '../eid.js';
import type { DeletedBundle } from '../store/store.js';
import { createStatusReport, type StatusKind } from '../status-report.js';
import { SERVICE, storeFault, type AgentContext } from './context.js';
import type { Originator } from './originate.js';

export class StatusReporter {
  constructor(private readonly ctx: AgentContext, private readonly originator: Originator) {
    // Bundles the store deletes by itself (evicted for a higher class, swept at expiry) come
    // with their bytes: the report needs the bundle's flags, report-to and identity.
    ctx.store.onDeleted((deleted) => this.storeDeleted(deleted));
  }

  /**
   * Sends the status report `subject` asked for, if it asked; failures are counted, not thrown.
   * Every deletion passes here, asked for or not, and is counted under its reason code.
   */
  report(subject: Bundle, kind: StatusKind, reason: number): void {
    if (kind === 'deleted') {
      const channel = DELETION_CHANNEL[reason];
      if (channel) this.ctx.bundleTlm.channels[channel].add();
    }
    let report: Bundle | undefined;
    let created;
    try {
      created = this.originator.stamp();
    } catch (error) {
      storeFault(this.ctx, 'status report', error as Error);
      return;
    }
    try {
      report = createStatusReport(subject, [kind], reason, {
        source: ipn(this.ctx.node, SERVICE.admin),
        now: created.time,
        sequence: created.sequence,
        lifetime: subject.primary.lifetime,
      });
    } catch (error) {
      this.ctx.bundleTlm.rejected(error);
      return;
    }
    if (!report) return;
    this.ctx.bundleTlm.channels.statusReportsSent.add();
    // Essential: a report of a bundle refused for a full device is written from the store's reserve.
    this.originator.originate(report, true).catch((error: Error) => storeFault(this.ctx, 'status report', error));
  }

  private storeDeleted(deleted: DeletedBundle): void {
    if (!deleted.bytes) {
      this.ctx.bundleTlm.channels.deletedUnreported.add();
      return;
    }
    let bundle: Bundle;
    try {
      bundle = decodeBundle(deleted.bytes);
    } catch (error) {
      // Stored by an older codec that this one refuses (the store checked its CRCs).
      this.ctx.bundleTlm.channels.deletedUnreported.add();
      this.ctx.bundleTlm.rejected(error);
      return;
    }
    this.report(bundle, 'deleted', deleted.reason);
  }
}
