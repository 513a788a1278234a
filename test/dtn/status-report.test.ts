import { describe, expect, it } from 'vitest';
import { BundleFlag, payloadBlock } from '../../flight/dtn/bundle.js';
import { StatusReason } from '../../flight/dtn/bundle-error.js';
import { concatBytes, encodeCbor } from '../../flight/dtn/cbor.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { eidToString, ipn, parseEid } from '../../flight/dtn/eid.js';
import { fragmentBundle } from '../../flight/dtn/fragment.js';
import { createStatusReport, decodeStatusReport, reportRequested, type StatusKind } from '../../flight/dtn/status-report.js';
import { T0, expectBundleError, fromHex, hex, payloadOf, sampleBundle } from './helpers.js';

const NOW = T0 + 90_000;
const options = { source: ipn(30, 0), now: NOW, sequence: 4, lifetime: 86_400_000 };
const ALL = BundleFlag.reportReception | BundleFlag.reportForwarding | BundleFlag.reportDelivery | BundleFlag.reportDeletion;

describe('status reports', () => {
  it('reports only what the subject asked for, to its report-to endpoint, as an administrative record', () => {
    const subject = sampleBundle({ flags: BundleFlag.reportDelivery });
    expect(createStatusReport(subject, ['received', 'forwarded', 'deleted'], 0, options)).toBeUndefined();
    const report = decodeBundle(createStatusReport(subject, ['received', 'delivered'], StatusReason.noInformation, options)!.bytes);
    expect(eidToString(report.primary.destination)).toBe('dtn://ground/reports');
    expect(eidToString(report.primary.source)).toBe('ipn:30.0');
    expect(report.primary.flags).toBe(BundleFlag.adminRecord);
    expect(decodeStatusReport(report)).toEqual({
      asserted: { delivered: {} },
      reason: 0,
      subject: { source: ipn(10, 0), creationTime: T0, sequence: 7 },
    });
  });

  it.each(['received', 'forwarded', 'delivered', 'deleted'] as const)('asserts %s with the time when the subject asked for times', (kind: StatusKind) => {
    const subject = sampleBundle({ flags: ALL | BundleFlag.statusTimeRequested });
    const reason = kind === 'deleted' ? StatusReason.hopLimitExceeded : StatusReason.noInformation;
    const report = decodeStatusReport(decodeBundle(createStatusReport(subject, [kind], reason, options)!.bytes));
    expect(report.asserted).toEqual({ [kind]: { time: NOW } });
    expect(report.reason).toBe(reason);
  });

  it('names a fragment by its offset and payload length (RFC 9171 6.1.1)', () => {
    const parts = fragmentBundle(sampleBundle({ flags: BundleFlag.reportReception, payload: payloadOf(3000) }), 1000);
    const second = decodeBundle(parts[1]!.bytes);
    const report = decodeStatusReport(createStatusReport(second, ['received'], 0, options)!);
    expect(report.subject.fragment).toEqual({ offset: second.primary.fragment!.offset, length: payloadBlock(second).data.length });
  });

  it('encodes the RFC 9171 layout exactly', () => {
    const subject = createBundle({ destination: ipn(2, 1), source: ipn(1, 0), reportTo: ipn(1, 0), flags: BundleFlag.reportDeletion,
      creationTime: 1000, sequence: 3, lifetime: 5000, payload: payloadOf(4) });
    const report = createStatusReport(subject, ['deleted'], StatusReason.lifetimeExpired, { ...options, now: 2000 })!;
    // [1, [[[false], [false], [false], [true]], 1, [2, [1, 0]], [1000, 3]]]
    expect(hex(payloadBlock(report).data)).toBe('820184' + '84' + '81f4'.repeat(3) + '81f5' + '01' + '8202820100' + '821903e803');
  });

  it('never asks for reports about reports, anonymous bundles, or bundles reporting to dtn:none', () => {
    const report = createStatusReport(sampleBundle({ flags: ALL }), ['received'], 0, options)!;
    expect(reportRequested(report.primary, 'received')).toBe(false);
    expect(createStatusReport(sampleBundle({ flags: ALL, reportTo: parseEid('dtn:none') }), ['received'], 0, options)).toBeUndefined();
  });

  it('rejects malformed administrative records with BUNDLE_ADMIN_RECORD', () => {
    const admin = (payload: Uint8Array) => createBundle({ destination: ipn(1, 0), source: ipn(2, 0), flags: BundleFlag.adminRecord, creationTime: T0, lifetime: 1, payload });
    expectBundleError(() => decodeStatusReport(sampleBundle()), 'BUNDLE_ADMIN_RECORD', 'primary.flags');
    expectBundleError(() => decodeStatusReport(admin(Uint8Array.from(encodeCbor([2, []])))), 'BUNDLE_ADMIN_RECORD', 'adminRecord.type');
    expectBundleError(() => decodeStatusReport(admin(fromHex('820183'))), 'BUNDLE_ADMIN_RECORD', 'statusReport');
    expectBundleError(() => decodeStatusReport(admin(fromHex('8201'))), 'BUNDLE_ADMIN_RECORD', 'adminRecord');
    const good = payloadBlock(createStatusReport(sampleBundle({ flags: ALL }), ['received'], 0, options)!).data;
    expectBundleError(() => decodeStatusReport(admin(good.subarray(0, good.length - 1))), 'BUNDLE_ADMIN_RECORD');
    expectBundleError(() => decodeStatusReport(admin(concatBytes([good, Uint8Array.of(0)]))), 'BUNDLE_ADMIN_RECORD', 'adminRecord');
  });
});
