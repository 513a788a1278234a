// The check every record read back from a segment passes before the store trusts it: a get, a
// compaction copy, a deletion's read-back, a quarantine and `tern store ls` all use it.
import { HEAD_BYTES, RecordKind, RecordView, crc32c, newBundleFields, newHead } from './format.js';

/** Why a record read back from disk is not the bundle the index expects; undefined if it is. */
export function checkRecord(record: Buffer, segment: number, offset: number, id: string, instance: number): string | undefined {
  const view = new RecordView(record);
  const head = newHead();
  if (record.length < HEAD_BYTES || !view.head(0, head)) return 'no record magic';
  if (head.kind !== RecordKind.bundle || head.segment !== segment || head.offset !== offset) return 'record out of place';
  if (HEAD_BYTES + head.metaLength + head.dataLength !== record.length) return 'record length mismatch';
  if (!view.headCrcValid(0, head.metaLength)) return 'head CRC mismatch';
  const fields = newBundleFields();
  if (!view.bundleFields(0, head.metaLength, fields) || fields.instance !== instance
    || view.text(fields.idStart, fields.idStart + fields.idLength) !== id) return 'metadata mismatch';
  if (crc32c(record.subarray(HEAD_BYTES + head.metaLength)) !== head.dataCrc) return 'data CRC mismatch';
  return undefined;
}
