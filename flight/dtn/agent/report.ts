// RFC 9171 6.1 status reports the agent sends about the bundles it handles, when they ask.
import { BundleFlag, type Bundle } from '../bundle.js';
import { decodeBundle } from '../codec.js';
import { DELETION_CHANNEL } from '../dictionary.js';
import { ipn, parseEid } from '../eid.js';
import type { DeletedBundle } from '../store/store.js';
import { createReportAbout, reportRequested, subjectOf, type ReportSubject, type StatusKind } from '../status-report.js';
import { SERVICE, storeFault, type AgentContext } from './context.js';
import type { Originator } from './originate.js';

export class StatusReporter {
  constructor(private readonly ctx: AgentContext, private readonly originator: Originator) {
    // Bundles the store deletes by itself (evicted for a higher class, swept at expiry,
    // quarantined when damaged beyond repair) come with their bytes or, when those cannot be
    // trusted, with the report's facts the store kept in their metadata.
    ctx.store.onDeleted((deleted) => this.storeDeleted(deleted));
  }

  /**
   * Sends the status report `subject` asked for, if it asked; failures are counted, not thrown.
   * Every deletion passes here, asked for or not, and is counted under its reason code.
   */
  report(subject: Bundle, kind: StatusKind, reason: number): void {
    this.send(subjectOf(subject), subject.primary.lifetime, kind, reason);
  }

  private send(subject: ReportSubject, lifetime: number, kind: StatusKind, reason: number): void {
    if (kind === 'deleted') {
      const channel = DELETION_CHANNEL[reason];
      if (channel) this.ctx.bundleTlm.channels[channel].add();
    }
    // Only a report that will be sent takes a creation timestamp: each one spends a sequence number.
    if (!reportRequested(subject, kind)) return;
    let report: Bundle | undefined;
    let created;
    try {
      created = this.originator.stamp();
    } catch (error) {
      storeFault(this.ctx, 'status report', error as Error);
      return;
    }
    try {
      report = createReportAbout(subject, [kind], reason, {
        source: ipn(this.ctx.node, SERVICE.admin),
        now: created.time,
        sequence: created.sequence,
        lifetime,
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
      this.metadataDeleted(deleted);
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

  /**
   * A deleted bundle without trustworthy bytes (quarantined, or its read-back failed): the
   * report is made from the store's metadata, which holds the report-to EID and status-time
   * request of every bundle that asked for a deletion report, and the id, which is its bundle
   * key (source, creation timestamp, fragment offset and length).
   */
  private metadataDeleted(deleted: DeletedBundle): void {
    if (deleted.reportTo === undefined) {
      // It asked for no report; a bundle stored before the store kept report facts lands here too.
      const channel = DELETION_CHANNEL[deleted.reason];
      if (channel) this.ctx.bundleTlm.channels[channel].add();
      return;
    }
    let subject: ReportSubject | undefined;
    try {
      const key = parseBundleKey(deleted.id, deleted.source);
      if (key) {
        subject = {
          flags: BundleFlag.reportDeletion | (deleted.reportTime ? BundleFlag.statusTimeRequested : 0),
          source: parseEid(deleted.source, 'source'),
          reportTo: parseEid(deleted.reportTo, 'reportTo'),
          ...key,
        };
      }
    } catch (error) {
      this.ctx.log.error({ err: error, id: deleted.id }, 'deleted bundle not reported: an EID in its stored metadata does not parse');
    }
    if (!subject) {
      // Not written by this agent (the store checked the record's CRCs): counted, and the store's event names it.
      this.ctx.bundleTlm.channels.deletedUnreported.add();
      return;
    }
    // Its own lifetime, or (no clock at its source) what was left of it.
    const lifetime = deleted.creationMs !== 0 ? deleted.expiryMs - deleted.creationMs : Math.max(0, deleted.expiryMs - this.ctx.now());
    this.send(subject, lifetime, 'deleted', deleted.reason);
  }
}

/** Inverse of bundleKey() (bundle.ts): `source|time|sequence[|offset|length]`, the source known. */
function parseBundleKey(id: string, source: string): Pick<ReportSubject, 'creationTime' | 'sequence' | 'fragment'> | undefined {
  const fields = id.startsWith(`${source}|`) ? id.slice(source.length + 1).split('|').map((f) => (/^\d{1,16}$/.test(f) ? Number(f) : NaN)) : [];
  if ((fields.length !== 2 && fields.length !== 4) || fields.some((f) => !Number.isSafeInteger(f))) return undefined;
  const [creationTime, sequence, offset, length] = fields as [number, number, number?, number?];
  return { creationTime, sequence, ...(offset !== undefined ? { fragment: { offset, length: length! } } : {}) };
}
