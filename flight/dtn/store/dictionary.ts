// Everything the bundle store tells the ground: its telemetry channels and its events
// (0x0340-0x035f of the dtn range).
import type { ChannelDef } from '../../tlm/channels.js';
import type { EventDef } from '../../tlm/events.js';

export const STORE_CHANNELS = {
  bundles: { name: 'dtn.store.bundles', type: 'u32', units: 'bundles', doc: 'Bundles stored (including puts not yet durable)' },
  bytes: { name: 'dtn.store.bytes', type: 'u64', units: 'bytes', doc: 'Bytes of stored bundle records, what capacity and quotas count' },
  fill: { name: 'dtn.store.fill', type: 'f64', units: 'ratio', yellow: { high: 0.9 }, red: { high: 0.98 }, doc: 'bytes / capacityBytes' },
  puts: { name: 'dtn.store.puts', type: 'u64', units: 'bundles', doc: 'Bundles made durable by put()' },
  refused: { name: 'dtn.store.refused', type: 'u64', units: 'bundles', doc: 'Bundles refused for capacity, quota or size (status reason 4)' },
  duplicates: { name: 'dtn.store.duplicates', type: 'u64', units: 'bundles', doc: 'Puts refused because the id was already stored' },
  evicted: { name: 'dtn.store.evicted', type: 'u64', units: 'bundles', doc: 'Lower-priority bundles deleted to make room (status reason 4)' },
  expired: { name: 'dtn.store.expired', type: 'u64', units: 'bundles', doc: 'Bundles deleted at the end of their lifetime (status reason 1)' },
  deleted: { name: 'dtn.store.deleted', type: 'u64', units: 'bundles', doc: 'Bundles deleted by the agent with a reason code' },
  forwarded: { name: 'dtn.store.forwarded', type: 'u64', units: 'bundles', doc: 'Bundles removed after the next hop acknowledged them' },
  delivered: { name: 'dtn.store.delivered', type: 'u64', units: 'bundles', doc: 'Bundles removed after local delivery' },
  commits: { name: 'dtn.store.commits', type: 'u64', units: 'batches', doc: 'Write batches made durable (one fdatasync each)' },
  commitRecordsLast: { name: 'dtn.store.commitRecordsLast', type: 'u32', units: 'records', doc: 'Records in the last durable batch (group commit size)' },
  queuedBytes: { name: 'dtn.store.queuedBytes', type: 'u64', units: 'bytes', doc: 'Bytes waiting for the next write batch' },
  corruptRecords: { name: 'dtn.store.corruptRecords', type: 'u64', units: 'records', yellow: { high: 0 }, doc: 'Records that failed their checks at recovery, on read or in compaction; discarded' },
  tornBytes: { name: 'dtn.store.tornBytes', type: 'u64', units: 'bytes', doc: 'Bytes of unfinished writes discarded at recovery' },
  segments: { name: 'dtn.store.segments', type: 'u32', units: 'files', doc: 'Segment files' },
  garbageBytes: { name: 'dtn.store.garbageBytes', type: 'u64', units: 'bytes', doc: 'Bytes of dead records in segment files, reclaimable by compaction' },
  compactedBytes: { name: 'dtn.store.compactedBytes', type: 'u64', units: 'bytes', doc: 'Bytes of live records copied by compaction' },
  segmentsReclaimed: { name: 'dtn.store.segmentsReclaimed', type: 'u64', units: 'files', doc: 'Segment files deleted by compaction' },
  snapshotLoads: { name: 'dtn.store.snapshotLoads', type: 'u32', units: 'opens', doc: 'Opens that loaded the index saved at a clean close instead of rebuilding it' },
  snapshotRejected: { name: 'dtn.store.snapshotRejected', type: 'u32', units: 'opens', yellow: { high: 0 }, doc: 'Index snapshots found torn, corrupt or stale and ignored (index rebuilt from the segments)' },
  recoveryMs: { name: 'dtn.store.recoveryMs', type: 'f64', units: 'ms', doc: 'Time the last open() spent rebuilding the index' },
  ioErrors: { name: 'dtn.store.ioErrors', type: 'u32', units: 'errors', red: { high: 0 }, doc: 'Failed writes or fsyncs other than a full device; the store refuses writes until reopened' },
  noSpace: { name: 'dtn.store.noSpace', type: 'u32', units: 'flag', red: { high: 0 }, doc: '1 while the device is full and writes are refused; 0 once a probe found space again' },
  noSpaceFaults: { name: 'dtn.store.noSpaceFaults', type: 'u32', units: 'faults', yellow: { high: 0 }, doc: 'Times a write found the device full' },
  quarantined: { name: 'dtn.store.quarantined', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Bundles deleted because scrubbing found their record damaged beyond repair (status reason 8)' },
  spaceProbes: { name: 'dtn.store.spaceProbes', type: 'u64', units: 'probes', doc: 'Probes for free space while the device was full' },
} as const satisfies Record<string, ChannelDef>;

export const STORE_EVENTS = {
  recovered: { id: 0x0340, name: 'STORE_RECOVERED', severity: 'activity', throttle: 0, format: 'Recovered {bundles} bundles ({bytes} bytes) from {segments} segments ({summaries} by summary, index from {from}) in {ms} ms' },
  corruptRecords: { id: 0x0341, name: 'STORE_CORRUPT_RECORDS', severity: 'warning', format: 'Segment {segment}: {records} corrupt record(s), {bytes} bytes, discarded' },
  tornTail: { id: 0x0342, name: 'STORE_TORN_TAIL', severity: 'warning', format: 'Segment {segment}: {bytes} bytes of an unfinished write discarded' },
  corruptRead: { id: 0x0343, name: 'STORE_CORRUPT_READ', severity: 'error', format: 'Bundle {id} failed its check ({reason}) in segment {segment} at {offset}: deleted' },
  refused: { id: 0x0344, name: 'STORE_REFUSED', severity: 'warning', format: 'Refused bundle {id} from {source}: {limit} exhausted ({need} bytes needed, {free} free)' },
  evicted: { id: 0x0345, name: 'STORE_EVICTED', severity: 'activity', format: 'Evicted {count} lower-priority bundle(s), {bytes} bytes, to store {priority} bundle {id}' },
  ioFailed: { id: 0x0346, name: 'STORE_IO_FAILED', severity: 'error', throttle: 0, format: 'Store {operation} failed: {error}; writes refused until the store is reopened' },
  segmentReclaimed: { id: 0x0347, name: 'STORE_SEGMENT_RECLAIMED', severity: 'diagnostic', format: 'Segment {segment} reclaimed ({copied} bytes copied forward)' },
  noSpace: { id: 0x0349, name: 'STORE_NO_SPACE', severity: 'warning', throttle: 0, format: 'Store {operation}: the device is full ({error}); bundles refused until space returns' },
  noReserve: { id: 0x034b, name: 'STORE_NO_RESERVE', severity: 'warning', format: 'No reserve of {bytes} bytes for a full device ({error}): deletions and status reports will be refused with bundles' },
  spaceReturned: { id: 0x034a, name: 'STORE_SPACE_RETURNED', severity: 'activity', throttle: 0, format: 'Space returned ({probeBytes} bytes probed): the store takes bundles again' },
  snapshotRejected: { id: 0x034c, name: 'STORE_SNAPSHOT_REJECTED', severity: 'warning', throttle: 0, format: 'Index snapshot ignored ({reason}): index rebuilt from the segments' },
  snapshotFailed: { id: 0x034d, name: 'STORE_SNAPSHOT_FAILED', severity: 'warning', throttle: 0, format: 'Index snapshot not saved at close ({error}): the next open rebuilds the index' },
  quarantined: { id: 0x034e, name: 'STORE_QUARANTINED', severity: 'error', format: 'Bundle {id} damaged beyond repair ({reason}) in segment {segment} at {offset}: deleted (reason 8)' },
  skippedCompaction: { id: 0x0348, name: 'STORE_COMPACTION_SKIPPED', severity: 'error', format: 'Segment {segment} still holds {bytes} live bytes after compaction: kept' },
} as const satisfies Record<string, EventDef>;
