// Everything the bundle codec, BPSec, fragmentation and status reports tell the ground: telemetry
// channels and events. Event ids 0x0301-0x033f belong to this part of dtn (0x03xx is dtn's range,
// flight/tlm/dictionary.ts); the bundle store and the agent take ids above 0x033f.
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';
import type { BundleErrorCode } from './bundle-error.js';

export const DTN_CHANNELS = {
  bundlesDecoded: { name: 'dtn.bundlesDecoded', type: 'u64', units: 'bundles', doc: 'Bundles decoded and structurally valid' },
  bundlesRejected: { name: 'dtn.bundlesRejected', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Bundles rejected, all reasons (sum of the dtn.reject.* counters)' },
  rejectTooLarge: { name: 'dtn.reject.tooLarge', type: 'u64', units: 'bundles', doc: 'Rejected: larger than the maximum bundle size' },
  rejectCbor: { name: 'dtn.reject.cbor', type: 'u64', units: 'bundles', doc: 'Rejected: malformed or non-canonical CBOR' },
  rejectStructure: { name: 'dtn.reject.structure', type: 'u64', units: 'bundles', doc: 'Rejected: block layout (array sizes, numbers, payload position)' },
  rejectVersion: { name: 'dtn.reject.version', type: 'u64', units: 'bundles', doc: 'Rejected: bundle protocol version other than 7' },
  rejectEid: { name: 'dtn.reject.eid', type: 'u64', units: 'bundles', doc: 'Rejected: malformed or unsupported endpoint ID' },
  rejectCrc: { name: 'dtn.reject.crc', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Rejected: CRC mismatch or unknown CRC type' },
  rejectFlags: { name: 'dtn.reject.flags', type: 'u64', units: 'bundles', doc: 'Rejected: contradictory processing flags' },
  rejectFragment: { name: 'dtn.reject.fragment', type: 'u64', units: 'bundles', doc: 'Rejected: fragment fields out of range, or cannot fragment' },
  rejectBlock: { name: 'dtn.reject.block', type: 'u64', units: 'bundles', doc: 'Rejected: malformed previous node, bundle age, hop count or QoS block' },
  rejectSecurity: { name: 'dtn.reject.security', type: 'u64', units: 'bundles', doc: 'Rejected: malformed security block or RFC 9172 targeting rule broken' },
  rejectPolicy: { name: 'dtn.reject.policy', type: 'u64', units: 'bundles', doc: 'Rejected by validity policy (no primary CRC, no bundle age without a clock)' },
  rejectExpired: { name: 'dtn.reject.expired', type: 'u64', units: 'bundles', doc: 'Deleted: lifetime expired' },
  rejectHopLimit: { name: 'dtn.reject.hopLimit', type: 'u64', units: 'bundles', doc: 'Deleted: hop limit exceeded' },
  rejectUnsupportedBlock: { name: 'dtn.reject.unsupportedBlock', type: 'u64', units: 'bundles', doc: 'Deleted: an unknown block asked for deletion' },
  rejectIntegrity: { name: 'dtn.reject.integrity', type: 'u64', units: 'bundles', red: { high: 0 }, doc: 'Rejected: BIB HMAC did not verify (tampering or wrong key)' },
  rejectConfidentiality: { name: 'dtn.reject.confidentiality', type: 'u64', units: 'bundles', red: { high: 0 }, doc: 'Rejected: BCB tag did not authenticate (tampering or wrong key)' },
  rejectKey: { name: 'dtn.reject.key', type: 'u64', units: 'bundles', doc: 'Security operation refused: unusable key' },
  rejectAdminRecord: { name: 'dtn.reject.adminRecord', type: 'u64', units: 'bundles', doc: 'Rejected: malformed administrative record' },
  rejectReassembly: { name: 'dtn.reject.reassembly', type: 'u64', units: 'fragments', doc: 'Fragments refused by reassembly (too large)' },
  blocksRenumbered: { name: 'dtn.interop.blocksRenumbered', type: 'u64', units: 'bundles', doc: 'Fragments accepted after renumbering extension blocks numbered 0 (ION 4.1.3), see interop.ts' },
  blocksDiscarded: { name: 'dtn.blocksDiscarded', type: 'u64', units: 'blocks', doc: 'Unknown blocks dropped as their flags asked' },
  bibVerified: { name: 'dtn.bpsec.bibVerified', type: 'u64', units: 'targets', doc: 'BIB targets verified' },
  bcbDecrypted: { name: 'dtn.bpsec.bcbDecrypted', type: 'u64', units: 'targets', doc: 'BCB targets decrypted' },
  securityNoKey: { name: 'dtn.bpsec.noKey', type: 'u64', units: 'targets', doc: 'Security targets left unprocessed for want of a key' },
  securityUnsupported: { name: 'dtn.bpsec.unsupported', type: 'u64', units: 'targets', doc: 'Security targets under an unsupported context or variant' },
  fragmentsCreated: { name: 'dtn.fragmentsCreated', type: 'u64', units: 'fragments', doc: 'Fragments made to fit a convergence layer' },
  reassembled: { name: 'dtn.reassembled', type: 'u64', units: 'bundles', doc: 'Bundles reassembled from fragments' },
  reassemblyPendingBytes: { name: 'dtn.reassemblyPendingBytes', type: 'u64', units: 'bytes', doc: 'Fragment bytes held for reassembly' },
  reassemblyTimeouts: { name: 'dtn.reassemblyTimeouts', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Partial bundles dropped at the reassembly timeout' },
  reassemblyEvictions: { name: 'dtn.reassemblyEvictions', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Partial bundles evicted to stay within reassembly memory' },
  statusReportsSent: { name: 'dtn.statusReportsSent', type: 'u64', units: 'bundles', doc: 'Status reports generated' },
  statusReportsReceived: { name: 'dtn.statusReportsReceived', type: 'u64', units: 'bundles', doc: 'Status reports received and decoded' },
} as const satisfies Record<string, ChannelDef>;

export type DtnChannel = keyof typeof DTN_CHANNELS;

/** The counter each rejection code bumps (besides dtn.bundlesRejected). */
export const REJECTION_CHANNEL: Record<BundleErrorCode, DtnChannel> = {
  BUNDLE_TOO_LARGE: 'rejectTooLarge',
  BUNDLE_CBOR: 'rejectCbor',
  BUNDLE_STRUCTURE: 'rejectStructure',
  BUNDLE_VERSION: 'rejectVersion',
  BUNDLE_EID: 'rejectEid',
  BUNDLE_CRC: 'rejectCrc',
  BUNDLE_FLAGS: 'rejectFlags',
  BUNDLE_FRAGMENT: 'rejectFragment',
  BUNDLE_BLOCK: 'rejectBlock',
  BUNDLE_SECURITY: 'rejectSecurity',
  BUNDLE_POLICY: 'rejectPolicy',
  BUNDLE_EXPIRED: 'rejectExpired',
  BUNDLE_HOP_LIMIT: 'rejectHopLimit',
  BUNDLE_UNSUPPORTED_BLOCK: 'rejectUnsupportedBlock',
  BPSEC_INTEGRITY: 'rejectIntegrity',
  BPSEC_CONFIDENTIALITY: 'rejectConfidentiality',
  BPSEC_KEY: 'rejectKey',
  BUNDLE_ADMIN_RECORD: 'rejectAdminRecord',
  BUNDLE_REASSEMBLY: 'rejectReassembly',
};

export const DTN_EVENTS = {
  bundleRejected: { id: 0x0301, name: 'DTN_BUNDLE_REJECTED', severity: 'warning', format: 'Bundle rejected ({code}) at {where}{field}: {reason}' },
  securityFailed: { id: 0x0302, name: 'DTN_SECURITY_FAILED', severity: 'error', format: 'Security operation failed ({code}) in block {block}: {reason}' },
  blocksDiscarded: { id: 0x0303, name: 'DTN_BLOCKS_DISCARDED', severity: 'activity', format: 'Discarded {count} unknown block(s) of type {types} from {bundle}' },
  reassemblyTimeout: { id: 0x0304, name: 'DTN_REASSEMBLY_TIMEOUT', severity: 'warning', format: 'Dropped {count} partial bundle(s) at the reassembly timeout' },
  reassemblyEvicted: { id: 0x0305, name: 'DTN_REASSEMBLY_EVICTED', severity: 'warning', format: 'Evicted {count} partial bundle(s) to stay within {limit} bytes' },
} as const satisfies Record<string, EventDef>;
