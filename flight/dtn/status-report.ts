// Bundle status reports (RFC 9171 6.1): administrative records, type 1, sent to a bundle's
// report-to endpoint when its flags ask for them. A report asserts received / forwarded /
// delivered / deleted (with the time when the subject asked for it) and a reason code.
import { BundleFlag, type Bundle, type CrcType, payloadBlock } from './bundle.js';
import { BundleError } from './bundle-error.js';
import { CborReader, encodeCbor, uint, type CborValue } from './cbor.js';
import { createBundle } from './codec.js';
import { eidFields, eidValue, isNullEid, readEid, type Eid } from './eid.js';

export const ADMIN_RECORD_STATUS_REPORT = 1;
const SUBJECT_SOURCE = eidFields('statusReport.source');

export type StatusKind = 'received' | 'forwarded' | 'delivered' | 'deleted';
export const STATUS_KINDS: readonly StatusKind[] = ['received', 'forwarded', 'delivered', 'deleted'];

const KIND_FLAG: Record<StatusKind, number> = {
  received: BundleFlag.reportReception,
  forwarded: BundleFlag.reportForwarding,
  delivered: BundleFlag.reportDelivery,
  deleted: BundleFlag.reportDeletion,
};

/**
 * Whether a bundle (its primary block, or the facts the store kept of it) asks for a `kind`
 * report and one may be sent (RFC 9171 4.2.3, 5.x).
 */
export function reportRequested(p: Pick<ReportSubject, 'flags' | 'source' | 'reportTo'>, kind: StatusKind): boolean {
  return (p.flags & KIND_FLAG[kind]) !== 0 && (p.flags & BundleFlag.adminRecord) === 0 &&
    !isNullEid(p.reportTo) && !isNullEid(p.source);
}

/**
 * The facts of a bundle's primary block a status report about it needs. A bundle gives them
 * (`subjectOf`); so does the store's metadata of a bundle whose bytes are damaged (quarantine).
 */
export interface ReportSubject {
  /** Bundle processing control flags; only the report requests and statusTimeRequested matter. */
  readonly flags: number;
  readonly source: Eid;
  readonly reportTo: Eid;
  readonly creationTime: number;
  readonly sequence: number;
  /** For a fragment: its offset and payload length. */
  readonly fragment?: { readonly offset: number; readonly length: number };
}

export function subjectOf(bundle: Bundle): ReportSubject {
  const p = bundle.primary;
  return {
    flags: p.flags, source: p.source, reportTo: p.reportTo, creationTime: p.creationTime, sequence: p.sequence,
    ...(p.fragment ? { fragment: { offset: p.fragment.offset, length: payloadBlock(bundle).data.length } } : {}),
  };
}

export interface StatusReport {
  /** Asserted statuses; `time` (DTN ms) when the subject requested times. */
  readonly asserted: Partial<Record<StatusKind, { readonly time?: number }>>;
  readonly reason: number;
  readonly subject: {
    readonly source: Eid;
    readonly creationTime: number;
    readonly sequence: number;
    /** For a fragment: its offset and payload length. */
    readonly fragment?: { readonly offset: number; readonly length: number };
  };
}

export interface ReportOptions {
  /** This node's administrative endpoint, the report's source. */
  readonly source: Eid;
  /** Current DTN time (ms), the report's creation time and the asserted status time. */
  readonly now: number;
  readonly sequence: number;
  readonly lifetime: number;
  readonly crcType?: CrcType;
}

/**
 * The status report about `subject` for those `kinds` it asked for, or undefined when it asked
 * for none of them (or may not get reports at all).
 */
export function createStatusReport(subject: Bundle, kinds: readonly StatusKind[], reason: number, options: ReportOptions): Bundle | undefined {
  return createReportAbout(subjectOf(subject), kinds, reason, options);
}

/** createStatusReport() from the facts of the subject's primary block alone. */
export function createReportAbout(p: ReportSubject, kinds: readonly StatusKind[], reason: number, options: ReportOptions): Bundle | undefined {
  const wanted = kinds.filter((k) => reportRequested(p, k));
  if (wanted.length === 0) return undefined;
  const withTime = (p.flags & BundleFlag.statusTimeRequested) !== 0;
  const info = STATUS_KINDS.map((k): CborValue => (!wanted.includes(k) ? [false] : withTime ? [true, uint(options.now)] : [true]));
  const content: CborValue[] = [info, uint(reason), eidValue(p.source), [uint(p.creationTime), uint(p.sequence)]];
  if (p.fragment) content.push(uint(p.fragment.offset), uint(p.fragment.length));
  return createBundle({
    destination: p.reportTo,
    source: options.source,
    flags: BundleFlag.adminRecord,
    crcType: options.crcType,
    creationTime: options.now,
    sequence: options.sequence,
    lifetime: options.lifetime,
    payload: encodeCbor([ADMIN_RECORD_STATUS_REPORT, content]),
  });
}

/** Decodes the status report a bundle carries; BUNDLE_ADMIN_RECORD for anything else. */
export function decodeStatusReport(bundle: Bundle): StatusReport {
  if (!(bundle.primary.flags & BundleFlag.adminRecord)) {
    throw new BundleError('BUNDLE_ADMIN_RECORD', 'primary.flags', 'not an administrative record', { index: 0 });
  }
  const blocks = bundle.blocks;
  const data = payloadBlock(bundle).data;
  const r = new CborReader(data, 0, data.length, { index: blocks.length, type: 1, number: 1 });
  try {
    r.tuple('adminRecord', 2);
    const type = r.uint('adminRecord.type');
    if (type !== ADMIN_RECORD_STATUS_REPORT) r.fail('BUNDLE_ADMIN_RECORD', 'adminRecord.type', `record type ${type} is not a status report`);
    const n = r.array('statusReport');
    if (n !== 4 && n !== 6) r.fail('BUNDLE_ADMIN_RECORD', 'statusReport', `${n} elements; a status report has 4 or 6`);
    r.tuple('statusReport.info', 4);
    const asserted: Partial<Record<StatusKind, { time?: number }>> = {};
    for (const kind of STATUS_KINDS) {
      const f = `statusReport.info.${kind}`;
      const len = r.array(f);
      if (len < 1 || len > 2) r.fail('BUNDLE_ADMIN_RECORD', f, `${len} elements; an assertion has 1 or 2`);
      const yes = r.bool(f);
      if (!yes && len === 2) r.fail('BUNDLE_ADMIN_RECORD', f, 'a time on a status that is not asserted');
      if (yes) asserted[kind] = len === 2 ? { time: r.uint(`${f}.time`) } : {};
    }
    const reason = r.uint('statusReport.reason');
    const source = readEid(r, SUBJECT_SOURCE);
    r.tuple('statusReport.creationTimestamp', 2);
    const creationTime = r.uint('statusReport.creationTimestamp.time');
    const sequence = r.uint('statusReport.creationTimestamp.sequence');
    let fragment: { offset: number; length: number } | undefined;
    if (n === 6) fragment = { offset: r.uint('statusReport.fragmentOffset'), length: r.uint('statusReport.fragmentLength') };
    r.done('adminRecord');
    return { asserted, reason, subject: { source, creationTime, sequence, ...(fragment ? { fragment } : {}) } };
  } catch (err) {
    // The reader names CBOR faults BUNDLE_CBOR; inside a payload they are a bad administrative record.
    if (err instanceof BundleError && err.code !== 'BUNDLE_ADMIN_RECORD') {
      throw new BundleError('BUNDLE_ADMIN_RECORD', err.field, err.reason, err.block);
    }
    throw err;
  }
}
