import { describe, expect, it } from 'vitest';
import {
  HEAD_BYTES, RecordKind, RecordView, SEGMENT_HEADER_BYTES, bundleHead, checkSegmentHeader, newBundleFields, newHead,
  parseSegmentFileName, placeHead, readTrailer, segmentFileName, segmentHeader,
  tombstoneHead, trailer, Disposition, crc32c,
} from '../../../flight/dtn/store/format.js';
import { meta } from './support.js';

describe('store format', () => {
  it('names segment files so that they sort in segment order, and reads the names back', () => {
    expect(segmentFileName(42)).toBe('0000000042.seg');
    expect(parseSegmentFileName('0000000042.seg')).toBe(42);
    expect(parseSegmentFileName('42.seg')).toBeUndefined();
    expect(parseSegmentFileName('0000000042.seg.tmp')).toBeUndefined();
    expect([7, 100, 12].map(segmentFileName).sort().map(parseSegmentFileName)).toEqual([7, 12, 100]);
  });

  it('checks segment headers: valid, corrupt, wrong segment, newer version', () => {
    const header = segmentHeader(9);
    expect(header.length).toBe(SEGMENT_HEADER_BYTES);
    expect(checkSegmentHeader(header, 9)).toBe('valid');
    expect(checkSegmentHeader(header, 10)).toBe('corrupt');
    const flipped = Buffer.from(header);
    flipped[3]! ^= 1;
    expect(checkSegmentHeader(flipped, 9)).toBe('corrupt');
    const newer = Buffer.from(header);
    newer.writeUInt32LE(2, 8);
    newer.writeUInt32LE(crc32c(newer.subarray(0, 28)), 28);
    expect(checkSegmentHeader(newer, 9)).toBe(2);
  });

  it('round-trips a bundle record head and detects any flipped bit in it', () => {
    const m = meta('ipn:12.1-1700000000000-7', { priority: 'expedited', state: 'reassembly-pending', source: 'dtn://sat-12/tlm' });
    const b = bundleHead(m, 12345, 1000, 0xdeadbeef);
    placeHead(b, 3, 4096, 2048);
    const head = newHead();
    const view = new RecordView(b);
    expect(view.head(0, head)).toBe(true);
    expect(head).toEqual({ kind: RecordKind.bundle, metaLength: b.length - HEAD_BYTES, dataLength: 1000, segment: 3, offset: 4096, batchOffset: 2048, dataCrc: 0xdeadbeef });
    expect(view.headCrcValid(0, head.metaLength)).toBe(true);
    const f = newBundleFields();
    expect(view.bundleFields(0, head.metaLength, f)).toBe(true);
    expect(f).toMatchObject({ instance: 12345, creationMs: m.creationMs, expiryMs: m.expiryMs, priority: 2, state: 2, idStart: HEAD_BYTES + 32 });
    expect(view.text(f.idStart, f.idStart + f.idLength)).toBe(m.id);
    expect(view.text(f.sourceStart, f.sourceStart + f.sourceLength)).toBe(m.source);
    expect(view.text(f.destinationStart, f.destinationStart + f.destinationLength)).toBe(m.destination);
    for (let bit = 8 * 8; bit < b.length * 8; bit += 7) {
      const bad = Buffer.from(b);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(new RecordView(bad).headCrcValid(0, head.metaLength)).toBe(false);
    }
  });

  it('round-trips a tombstone', () => {
    const b = tombstoneHead('x-1', 77, Disposition.forwarded, 0);
    placeHead(b, 1, 32, 32);
    const head = newHead();
    const view = new RecordView(b);
    view.head(0, head);
    expect(head.kind).toBe(RecordKind.tombstone);
    expect(view.headCrcValid(0, head.metaLength)).toBe(true);
    expect(view.tombstoneFields(0, head.metaLength)).toEqual({ instance: 77, disposition: Disposition.forwarded, reason: 0, idStart: HEAD_BYTES + 12, idLength: 3 });
    expect(view.text(HEAD_BYTES + 12, HEAD_BYTES + 15)).toBe('x-1');
  });

  it('reads a trailer only for its own segment and intact', () => {
    const t = trailer(5, 123456);
    expect(readTrailer(t, 5)).toBe(123456);
    expect(readTrailer(t, 6)).toBe(-1);
    const bad = Buffer.from(t);
    bad[5]! ^= 0x10;
    expect(readTrailer(bad, 5)).toBe(-1);
    expect(readTrailer(t.subarray(0, 12), 5)).toBe(-1);
  });
});
