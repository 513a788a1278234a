// Everything commanding tells the ground and takes from it: telemetry channels, events (0x05xx),
// the built-in commands and the commanding parameters. The ground dictionary is exported from
// these declarations (flight/cmd/export.ts).
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';
import type { CommandDef } from './commands.js';
import type { RejectCode } from './errors.js';
import type { ParamDef } from './params.js';

export const CMD_CHANNELS = {
  received: { name: 'cmd.received', type: 'u64', units: 'envelopes', doc: 'Envelopes submitted to the dispatcher' },
  accepted: { name: 'cmd.accepted', type: 'u64', units: 'commands', doc: 'Commands that passed every check and were queued to run' },
  executed: { name: 'cmd.executed', type: 'u64', units: 'commands', doc: 'Commands whose handler completed' },
  failed: { name: 'cmd.failed', type: 'u64', units: 'commands', yellow: { high: 0 }, doc: 'Commands whose handler threw' },
  rejected: { name: 'cmd.rejected', type: 'u64', units: 'envelopes', doc: 'Envelopes refused, all reasons' },
  rejMalformed: { name: 'cmd.rejected.malformed', type: 'u64', units: 'envelopes', doc: 'Not CBOR, wrong shape, wrong version or too large' },
  rejOutOfBounds: { name: 'cmd.rejected.outOfBounds', type: 'u64', units: 'envelopes', yellow: { high: 0 }, doc: 'Of the malformed: refused by the CBOR bounds check before decoding (a tag such as a bignum, nesting, items, string size)' },
  rejWrongTarget: { name: 'cmd.rejected.wrongTarget', type: 'u64', units: 'envelopes', doc: 'Addressed to another spacecraft' },
  rejExpired: { name: 'cmd.rejected.expired', type: 'u64', units: 'envelopes', doc: 'Past their expiry time' },
  rejLifetime: { name: 'cmd.rejected.lifetime', type: 'u64', units: 'envelopes', doc: 'Expiry further ahead than cmd.maxLifetimeS' },
  rejUnknownOpcode: { name: 'cmd.rejected.unknownOpcode', type: 'u64', units: 'envelopes', doc: 'Opcode not in the dictionary' },
  rejBadArgument: { name: 'cmd.rejected.badArgument', type: 'u64', units: 'envelopes', doc: 'Argument missing, mistyped, out of range or too long' },
  rejUnknownOperator: { name: 'cmd.rejected.unknownOperator', type: 'u64', units: 'envelopes', doc: 'Signed by an operator (or key) not in the key store' },
  rejRevokedKey: { name: 'cmd.rejected.revokedKey', type: 'u64', units: 'envelopes', yellow: { high: 0 }, doc: 'Signed with a revoked or rotated-out key' },
  rejNotAuthorized: { name: 'cmd.rejected.notAuthorized', type: 'u64', units: 'envelopes', doc: 'Originated by an operator without the operate role' },
  rejReplay: { name: 'cmd.rejected.replay', type: 'u64', units: 'envelopes', yellow: { high: 0 }, doc: 'Sequence number already used or below the accept window' },
  rejBadSignature: { name: 'cmd.rejected.badSignature', type: 'u64', units: 'envelopes', yellow: { high: 0 }, doc: 'ML-DSA signature does not verify' },
  rejRateLimited: { name: 'cmd.rejected.rateLimited', type: 'u64', units: 'envelopes', yellow: { high: 0 }, doc: 'Dropped before verification: their source used up its share of the verifications' },
  rejQueueFull: { name: 'cmd.rejected.queueFull', type: 'u64', units: 'envelopes', doc: 'Dropped: inbound queues (the longest one loses) or approval table full' },
  rejMissingApprovals: { name: 'cmd.rejected.missingApprovals', type: 'u64', units: 'commands', doc: 'Critical commands whose approval window closed short of k' },
  queueDepth: { name: 'cmd.queueDepth', type: 'u32', units: 'envelopes', doc: 'Envelopes waiting for the dispatcher' },
  verifications: { name: 'cmd.verifications', type: 'u64', units: 'signatures', doc: 'ML-DSA verifications run' },
  verifyLastUs: { name: 'cmd.verifyLastUs', type: 'f64', units: 'us', doc: 'Duration of the last ML-DSA verification' },
  pendingApprovals: { name: 'cmd.pendingApprovals', type: 'u32', units: 'commands', doc: 'Critical commands held waiting for more approvals' },
  responsesSuppressed: { name: 'cmd.responsesSuppressed', type: 'u64', units: 'responses', doc: 'Reject responses not sent: response rate limit' },
  lastOpcode: { name: 'cmd.lastOpcode', type: 'u32', units: '', doc: 'Opcode of the last command executed' },
  backend: { name: 'cmd.backend', type: 'enum', units: '', labels: ['noble', 'node'], doc: 'ML-DSA verification backend in use' },
  operators: { name: 'cmd.operators', type: 'u32', units: 'operators', doc: 'Operators with a valid key' },
  keysGeneration: { name: 'cmd.keysGeneration', type: 'u32', units: 'changes', doc: 'Key changes applied since genesis (the mission config)' },
  recordRecoveries: { name: 'cmd.recordRecoveries', type: 'u32', units: 'events', yellow: { high: 0 }, doc: 'Persisted records restored from their backup copy' },
  seqRunning: { name: 'cmd.seq.running', type: 'u32', units: 'sequences', doc: 'Stored sequences running' },
  seqExecuted: { name: 'cmd.seq.executed', type: 'u64', units: 'commands', doc: 'Sequence commands executed' },
  seqSkipped: { name: 'cmd.seq.skipped', type: 'u64', units: 'commands', doc: 'Absolute-time sequence commands skipped, their time passed' },
  seqFailed: { name: 'cmd.seq.failed', type: 'u64', units: 'commands', yellow: { high: 0 }, doc: 'Sequence commands that failed' },
  sessionRekeys: { name: 'cmd.session.rekeys', type: 'u64', units: 'sessions', doc: 'BPSec session keys established (as initiator or responder)' },
  sessionOffers: { name: 'cmd.session.offers', type: 'u64', units: 'offers', doc: 'Session offers made (new sessions, rekeys, retries)' },
  sessionRejected: { name: 'cmd.session.rejected', type: 'u64', units: 'messages', yellow: { high: 0 }, doc: 'Handshake messages refused (forged, replayed, stale, misaddressed, malformed)' },
  sessionRekeyRequests: { name: 'cmd.session.rekeyRequests', type: 'u64', units: 'messages', yellow: { high: 0 }, doc: 'Rekey requests sent: a peer sealed under keys this node does not hold (lost or too old)' },
  sessionRateLimited: { name: 'cmd.session.rateLimited', type: 'u64', units: 'messages', yellow: { high: 0 }, doc: 'Handshake messages dropped unverified: over the per-minute limit' },
} as const satisfies Record<string, ChannelDef>;

/** Files uplinked to the file service (flight/cmd/uplink.ts): stored, and refused per reason (UplinkReason). */
export const UPLINK_CHANNELS = {
  stored: { name: 'cmd.uplink.stored', type: 'u64', units: 'files', doc: 'Uplinked files (models, plans) whose operator signature and digest verified, stored for activation' },
  refused: { name: 'cmd.uplink.refused', type: 'u64', units: 'files', yellow: { high: 0 }, doc: 'Uplinked files refused, all reasons; nothing of them was stored' },
  malformed: { name: 'cmd.uplink.refused.malformed', type: 'u64', units: 'files', doc: 'Not a file envelope: not CBOR, wrong shape or version, outside the CBOR bounds' },
  unsigned: { name: 'cmd.uplink.refused.unsigned', type: 'u64', units: 'files', doc: 'No operator signature' },
  unknownOperator: { name: 'cmd.uplink.refused.unknownOperator', type: 'u64', units: 'files', doc: 'Signed by an operator or key not in the key store, or a revoked key' },
  notAuthorized: { name: 'cmd.uplink.refused.notAuthorized', type: 'u64', units: 'files', doc: 'Signed by an operator without the operate role' },
  badSignature: { name: 'cmd.uplink.refused.badSignature', type: 'u64', units: 'files', doc: 'ML-DSA signature of the header does not verify' },
  wrongTarget: { name: 'cmd.uplink.refused.wrongTarget', type: 'u64', units: 'files', doc: 'Signed for another spacecraft' },
  wrongKind: { name: 'cmd.uplink.refused.wrongKind', type: 'u64', units: 'files', doc: 'A kind this node does not take, or content that is not of its kind' },
  wrongDigest: { name: 'cmd.uplink.refused.wrongDigest', type: 'u64', units: 'files', doc: 'Content whose SHA-256 or size is not the signed one' },
  oversize: { name: 'cmd.uplink.refused.oversize', type: 'u64', units: 'files', doc: 'Larger than its kind allows' },
  rateLimited: { name: 'cmd.uplink.refused.rateLimited', type: 'u64', units: 'files', yellow: { high: 0 }, doc: 'Refused unverified: more than cmd.uplinkPerMinute files to verify' },
  removed: { name: 'cmd.uplink.removed', type: 'u64', units: 'files', doc: 'Stored files removed from the incoming directories: activated (their kind keeps its own copy), dropped or deleted' },
  dropped: { name: 'cmd.uplink.dropped', type: 'u64', units: 'files', yellow: { high: 0 }, doc: 'Of the removed: never activated, dropped oldest first to keep the incoming directories within cmd.uplink.incomingBytes' },
  deleted: { name: 'cmd.uplink.deleted', type: 'u64', units: 'files', doc: 'Of the removed: never activated, deleted by an operator with FILE_DELETE' },
  deleteRefused: { name: 'cmd.uplink.deleteRefused', type: 'u64', units: 'commands', doc: 'FILE_DELETE commands refused, nothing deleted: not a SHA-256, no such file stored, or the file in use (the active plan or model)' },
  incomingBytes: { name: 'cmd.uplink.incomingBytes', type: 'u64', units: 'bytes', doc: 'Bytes held in the incoming directories: files stored and not yet activated' },
} as const satisfies Record<string, ChannelDef>;

/** The reject counter of each code. */
export const REJECT_CHANNEL = {
  CMD_MALFORMED: 'rejMalformed',
  CMD_WRONG_TARGET: 'rejWrongTarget',
  CMD_EXPIRED: 'rejExpired',
  CMD_LIFETIME_EXCEEDED: 'rejLifetime',
  CMD_UNKNOWN_OPCODE: 'rejUnknownOpcode',
  CMD_BAD_ARGUMENT: 'rejBadArgument',
  CMD_UNKNOWN_OPERATOR: 'rejUnknownOperator',
  CMD_REVOKED_KEY: 'rejRevokedKey',
  CMD_NOT_AUTHORIZED: 'rejNotAuthorized',
  CMD_REPLAY: 'rejReplay',
  CMD_BAD_SIGNATURE: 'rejBadSignature',
  CMD_RATE_LIMITED: 'rejRateLimited',
  CMD_QUEUE_FULL: 'rejQueueFull',
  CMD_MISSING_APPROVALS: 'rejMissingApprovals',
} as const satisfies Record<RejectCode, keyof typeof CMD_CHANNELS>;

export const CMD_EVENTS = {
  executed: { id: 0x0501, name: 'CMD_EXECUTED', severity: 'activity', format: '{command} from operator {operator} (seq {seq}) executed', throttle: 0 },
  failed: { id: 0x0502, name: 'CMD_FAILED', severity: 'warning', format: '{command} from operator {operator} failed: {error}', throttle: 0 },
  rejected: { id: 0x0503, name: 'CMD_REJECTED', severity: 'warning', format: 'Command rejected ({reason}): {detail}' },
  approvalPending: { id: 0x0504, name: 'CMD_APPROVAL_PENDING', severity: 'activity', format: '{command} {digest} held: {have} of {need} approvals, until {until}', throttle: 0 },
  approvalExpired: { id: 0x0505, name: 'CMD_APPROVAL_EXPIRED', severity: 'warning', format: '{command} {digest} expired with {have} of {need} approvals', throttle: 0 },
  rateLimited: { id: 0x0506, name: 'CMD_RATE_LIMITED', severity: 'warning', format: 'Verification rate limit: envelope dropped ({dropped} so far)' },
  paramSet: { id: 0x0507, name: 'CMD_PARAM_SET', severity: 'activity', format: 'Parameter {param} = {value} (was {was})', throttle: 0 },
  recordRecovered: { id: 0x0508, name: 'CMD_RECORD_RECOVERED', severity: 'warning', format: '{file}: {problem}; restored from the {from} copy', throttle: 0 },
  recordLost: { id: 0x0509, name: 'CMD_RECORD_LOST', severity: 'error', format: '{file}: both copies unusable ({problem}); {fallback}', throttle: 0 },
  keysChanged: { id: 0x050a, name: 'CMD_KEYS_CHANGED', severity: 'activity', format: 'Operator {operator} {change}; key store generation {generation}', throttle: 0 },
  keysRegenesis: { id: 0x050b, name: 'CMD_KEYS_REGENESIS', severity: 'warning', format: 'Operator list in the mission config changed: key store restarted from it ({dropped} change(s) dropped)', throttle: 0 },
  seqLoaded: { id: 0x050c, name: 'CMD_SEQ_LOADED', severity: 'activity', format: 'Sequence slot {slot}: {steps} command(s) loaded', throttle: 0 },
  seqStarted: { id: 0x050d, name: 'CMD_SEQ_STARTED', severity: 'activity', format: 'Sequence slot {slot} started', throttle: 0 },
  seqSkipped: { id: 0x050e, name: 'CMD_SEQ_SKIPPED', severity: 'warning', format: 'Sequence slot {slot} step {step} ({command}) skipped: its time {time} passed' },
  seqStepFailed: { id: 0x050f, name: 'CMD_SEQ_STEP_FAILED', severity: 'warning', format: 'Sequence slot {slot} step {step} ({command}) failed: {error}', throttle: 0 },
  seqDone: { id: 0x0510, name: 'CMD_SEQ_DONE', severity: 'activity', format: 'Sequence slot {slot} {outcome} after {steps} step(s)', throttle: 0 },
  sessionRekeyed: { id: 0x0511, name: 'CMD_SESSION_REKEYED', severity: 'activity', format: 'BPSec session with node {peer}: epoch {epoch} keys in use for {use}' },
  countersCleared: { id: 0x0512, name: 'CMD_COUNTERS_CLEARED', severity: 'activity', format: 'Command counters cleared', throttle: 0 },
  sessionUnreadable: { id: 0x0514, name: 'CMD_SESSION_UNREADABLE', severity: 'warning', format: 'A BCB from node {peer} opens under no key held here: asked node {peer} for new keys' },
  started: { id: 0x0513, name: 'CMD_STARTED', severity: 'activity', format: 'Commanding up: {operators} operator(s), k={k}, ML-DSA backend {backend}', throttle: 0 },
  fileStored: { id: 0x0515, name: 'CMD_FILE_STORED', severity: 'activity', format: 'Uplinked {kind} {name} stored as {sha256} ({bytes} bytes, signed by operator {operator})', throttle: 0 },
  fileRefused: { id: 0x0516, name: 'CMD_FILE_REFUSED', severity: 'warning', format: 'Uplinked file refused ({reason}): {detail}' },
  fileRemoved: { id: 0x0517, name: 'CMD_FILE_REMOVED', severity: 'activity', format: 'Uplinked {kind} {sha256} activated: removed from the incoming directory ({bytes} bytes)', throttle: 0 },
  fileDropped: { id: 0x0518, name: 'CMD_FILE_DROPPED', severity: 'warning', format: 'Uplinked {kind} {sha256}, never activated, dropped to make room ({bytes} bytes; cmd.uplink.incomingBytes)', throttle: 0 },
  fileDeleted: { id: 0x0519, name: 'CMD_FILE_DELETED', severity: 'activity', format: 'Uplinked {kind} {sha256}, never activated, deleted by operator {operator} ({bytes} bytes)', throttle: 0 },
} as const satisfies Record<string, EventDef>;

const SLOT = { name: 'slot', type: 'int', min: 0, max: 7, doc: 'Sequence slot' } as const;
const OPERATOR = { name: 'operator', type: 'int', min: 1, max: 0xffff_ffff, doc: 'Operator id' } as const;
const PUBLIC_KEY = {
  name: 'publicKey', type: 'bytes', minLength: 1952, maxLength: 1952, content: 'ml-dsa-65-public-key',
  doc: 'ML-DSA-65 public key (FIPS 204 encoding)',
} as const;
const ROLES = { name: 'roles', type: 'enum', values: ['OPERATE', 'APPROVE', 'OPERATE_APPROVE'], doc: 'May originate commands, approve critical ones, or both' } as const;

export const CMD_COMMANDS = {
  noop: { name: 'NOOP', opcode: 0x0501, owner: 'cmd', criticality: 'normal', args: [], doc: 'Does nothing; proves the command path' },
  ping: {
    name: 'PING', opcode: 0x0502, owner: 'cmd', criticality: 'normal', doc: 'Answers with the token and the node time',
    args: [{ name: 'token', type: 'int', min: 0, max: 0xffff_ffff, doc: 'Echoed back' }],
  },
  clearCounters: { name: 'CLEAR_COUNTERS', opcode: 0x0503, owner: 'cmd', criticality: 'normal', args: [], doc: 'Zeroes the cmd accepted/rejected/executed/failed counters' },
  setParam: {
    name: 'SET_PARAM', opcode: 0x0510, owner: 'cmd', criticality: 'normal', criticalWhen: 'the parameter is declared critical',
    doc: 'Sets a parameter and persists it (CRC-32C, primary and backup copies)',
    args: [
      { name: 'param', type: 'string', maxLength: 64, doc: 'Parameter name' },
      { name: 'value', type: 'float', doc: 'New value, checked against the parameter declaration' },
    ],
  },
  getParam: {
    name: 'GET_PARAM', opcode: 0x0511, owner: 'cmd', criticality: 'normal', doc: 'Answers with a parameter value',
    args: [{ name: 'param', type: 'string', maxLength: 64, doc: 'Parameter name' }],
  },
  seqUpload: {
    name: 'SEQ_UPLOAD', opcode: 0x0520, owner: 'cmd', criticality: 'normal', criticalWhen: 'the sequence holds a critical command',
    doc: 'Validates and stores a sequence of time-tagged commands in a slot',
    args: [SLOT, { name: 'sequence', type: 'bytes', minLength: 1, maxLength: 16384, content: 'sequence', doc: 'Sequence (CBOR, see flight/cmd/DESIGN.md)' }],
  },
  seqStart: { name: 'SEQ_START', opcode: 0x0521, owner: 'cmd', criticality: 'normal', args: [SLOT], doc: 'Starts the sequence stored in a slot' },
  seqStop: { name: 'SEQ_STOP', opcode: 0x0522, owner: 'cmd', criticality: 'normal', args: [SLOT], doc: 'Stops the sequence running in a slot' },
  operatorAdd: {
    name: 'OPERATOR_ADD', opcode: 0x0530, owner: 'cmd', criticality: 'critical', doc: 'Adds an operator key',
    args: [OPERATOR, ROLES, PUBLIC_KEY],
  },
  operatorRevoke: { name: 'OPERATOR_REVOKE', opcode: 0x0531, owner: 'cmd', criticality: 'critical', args: [OPERATOR], doc: 'Revokes an operator and its key' },
  operatorRotate: {
    name: 'OPERATOR_ROTATE', opcode: 0x0532, owner: 'cmd', criticality: 'critical', doc: 'Replaces an operator key; the old one is revoked',
    args: [OPERATOR, PUBLIC_KEY],
  },
  fileDelete: {
    name: 'FILE_DELETE', opcode: 0x0540, owner: 'cmd', criticality: 'normal',
    doc: 'Deletes an uplinked file (tern gse upload, any kind) that was never activated, by its SHA-256; refuses the file in use (the active plan or model)',
    args: [{ name: 'sha256', type: 'string', maxLength: 64, doc: 'SHA-256 of the uplinked file (tern gse upload prints it)' }],
  },
  // Declared here as built-ins; their handlers belong to exec and dtn and are bound at composition.
  setMode: {
    name: 'SET_MODE', opcode: 0x0101, owner: 'exec', criticality: 'normal', criticalWhen: 'leaving SAFE',
    doc: 'Requests an executive mode change at the start of the next minor frame',
    args: [{ name: 'mode', type: 'enum', values: ['BOOT', 'NOMINAL', 'SAFE'], doc: 'Target mode' }],
  },
  listBundles: {
    name: 'LIST_BUNDLES', opcode: 0x0301, owner: 'dtn', criticality: 'normal', doc: 'Answers with a page of the bundle store listing',
    args: [
      { name: 'offset', type: 'int', min: 0, max: 0xffff_ffff, doc: 'First entry' },
      { name: 'limit', type: 'int', min: 1, max: 64, doc: 'Entries at most' },
    ],
  },
} as const satisfies Record<string, CommandDef>;

export const CMD_PARAMS = {
  verifyPerSecond: {
    name: 'cmd.verifyPerSecond', type: 'int', min: 1, max: 1000, default: 20, units: 'signatures/s', criticality: 'normal',
    doc: 'Token bucket refill: ML-DSA verifications allowed per second',
  },
  verifyBurst: {
    name: 'cmd.verifyBurst', type: 'int', min: 1, max: 100, default: 10, units: 'signatures', criticality: 'normal',
    doc: 'Token bucket depth: verifications allowed in a burst',
  },
  uplinkPerMinute: {
    name: 'cmd.uplinkPerMinute', type: 'int', min: 1, max: 600, default: 30, units: 'files/min', criticality: 'normal',
    doc: 'Uplinked files whose signature the file service verifies per minute at most (as many at once); the rest are refused unverified',
  },
  responsesPerSecond: {
    name: 'cmd.responsesPerSecond', type: 'int', min: 1, max: 1000, default: 10, units: 'responses/s', criticality: 'normal',
    doc: 'Reject responses sent to the ground per second at most (the rest are counted)',
  },
  maxLifetimeS: {
    name: 'cmd.maxLifetimeS', type: 'int', min: 10, max: 7 * 86400, default: 86400, units: 's', criticality: 'critical',
    doc: 'Furthest expiry a command may carry: bounds how long a captured command stays replayable if replay state is lost',
  },
  approvalWindowS: {
    name: 'cmd.approvalWindowS', type: 'int', min: 10, max: 7 * 86400, default: 900, units: 's', criticality: 'critical',
    doc: 'How long a partly approved critical command is held for more approvals',
  },
  seqLateToleranceMs: {
    name: 'cmd.seqLateToleranceMs', type: 'int', min: 0, max: 3_600_000, default: 1000, units: 'ms', criticality: 'normal',
    doc: 'An absolute-time sequence command later than this is skipped, not run',
  },
} as const satisfies Record<string, ParamDef>;
