// RFC 9171 6.1 status reports the agent sends about the bundles it handles, when they ask.
import type { Bundle } from '../bundle.js';
import { ipn } from '../eid.js';
import { createStatusReport, type StatusKind } from '../status-report.js';
import { SERVICE, storeFault, type AgentContext } from './context.js';
import type { Originator } from './originate.js';

export class StatusReporter {
  constructor(private readonly ctx: AgentContext, private readonly originator: Originator) {}

  /** Sends the status report `subject` asked for, if it asked; failures are counted, not thrown. */
  report(subject: Bundle, kind: StatusKind, reason: number): void {
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
}
