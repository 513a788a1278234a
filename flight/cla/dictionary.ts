// Everything the convergence layers tell the ground: telemetry channels per CLA and the events
// of the 0x04xx range. A flight engineer should be able to tell a flood, a slow store, a broken
// peer and a dead link apart from these alone.
import type { Channel, ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const UDPCL_CHANNELS = {
  bundlesIn: { name: 'cla.udp.bundlesIn', type: 'u64', units: 'bundles', doc: 'Datagrams accepted by the agent (durable)' },
  bytesIn: { name: 'cla.udp.bytesIn', type: 'u64', units: 'bytes', doc: 'Bytes of datagrams accepted by the agent' },
  bundlesOut: { name: 'cla.udp.bundlesOut', type: 'u64', units: 'bundles', doc: 'Datagrams handed to the kernel (UDP has no acknowledgement)' },
  bytesOut: { name: 'cla.udp.bytesOut', type: 'u64', units: 'bytes', doc: 'Bytes of datagrams handed to the kernel' },
  oversize: { name: 'cla.udp.oversize', type: 'u64', units: 'datagrams', yellow: { high: 0 }, doc: 'Datagrams in or out above maxDatagramBytes, refused' },
  malformed: { name: 'cla.udp.malformed', type: 'u64', units: 'datagrams', yellow: { high: 0 }, doc: 'Empty datagrams received' },
  refused: { name: 'cla.udp.refused', type: 'u64', units: 'bundles', doc: 'Datagrams the agent refused' },
  dropped: { name: 'cla.udp.dropped', type: 'u64', units: 'datagrams', yellow: { high: 0 }, doc: 'Datagrams dropped because maxInboundPending bundles awaited the agent' },
  inboundPending: { name: 'cla.udp.inboundPending', type: 'u32', units: 'bundles', doc: 'Bundles handed to the agent and not yet settled' },
  sendFailures: { name: 'cla.udp.sendFailures', type: 'u64', units: 'datagrams', yellow: { high: 0 }, doc: 'Sends the kernel refused' },
} as const satisfies Record<string, ChannelDef>;

export const TCPCL_CHANNELS = {
  sessionsOpened: { name: 'cla.tcp.sessionsOpened', type: 'u64', units: 'sessions', doc: 'Sessions established (SESS_INIT exchanged), both roles' },
  sessionsActive: { name: 'cla.tcp.sessionsActive', type: 'u32', units: 'sessions', doc: 'Sessions established and not yet closed' },
  sessionsClosed: { name: 'cla.tcp.sessionsClosed', type: 'u64', units: 'sessions', doc: 'Established sessions that ended' },
  sessionsBusy: { name: 'cla.tcp.sessionsBusy', type: 'u64', units: 'sessions', doc: 'Passive sessions answered SESS_TERM Busy at SESS_INIT: maxSessions general slots in use, and no free reserved slot for the node' },
  sessionsReserved: { name: 'cla.tcp.sessionsReserved', type: 'u32', units: 'sessions', doc: 'Passive sessions with configured neighbours holding their reserved slots' },
  pendingConnections: { name: 'cla.tcp.pendingConnections', type: 'u32', units: 'connections', doc: 'Passive connections accepted that have not completed SESS_INIT' },
  refusedPerAddress: { name: 'cla.tcp.refusedPerAddress', type: 'u64', units: 'connections', yellow: { high: 0 }, doc: 'Connections closed at once: their address already held maxPendingPerAddress pending connections' },
  evictedPending: { name: 'cla.tcp.evictedPending', type: 'u64', units: 'connections', yellow: { high: 0 }, doc: 'Pending connections closed to make room for a newcomer (maxPendingConnections reached)' },
  contactTimeouts: { name: 'cla.tcp.contactTimeouts', type: 'u64', units: 'connections', yellow: { high: 0 }, doc: 'Passive connections closed for sending no contact header within contactTimeoutMs' },
  handshakeTimeouts: { name: 'cla.tcp.handshakeTimeouts', type: 'u64', units: 'connections', yellow: { high: 0 }, doc: 'Connections closed for not completing SESS_INIT within handshakeTimeoutMs' },
  connectFailures: { name: 'cla.tcp.connectFailures', type: 'u64', units: 'attempts', doc: 'Active connections that failed before a session came up' },
  bundlesIn: { name: 'cla.tcp.bundlesIn', type: 'u64', units: 'bundles', doc: 'Transfers accepted by the agent (final XFER_ACK sent)' },
  bytesIn: { name: 'cla.tcp.bytesIn', type: 'u64', units: 'bytes', doc: 'Bytes of transfers accepted by the agent' },
  bundlesOut: { name: 'cla.tcp.bundlesOut', type: 'u64', units: 'bundles', doc: 'Transfers the peer acknowledged in full' },
  bytesOut: { name: 'cla.tcp.bytesOut', type: 'u64', units: 'bytes', doc: 'Bytes of transfers the peer acknowledged in full' },
  refusalsSent: { name: 'cla.tcp.refusalsSent', type: 'u64', units: 'transfers', doc: 'Inbound transfers this node refused (XFER_REFUSE sent)' },
  refusalsReceived: { name: 'cla.tcp.refusalsReceived', type: 'u64', units: 'transfers', doc: 'Outbound transfers the peer refused' },
  transferTimeouts: { name: 'cla.tcp.transferTimeouts', type: 'u64', units: 'transfers', yellow: { high: 0 }, doc: 'Outbound transfers not acknowledged in time' },
  protocolErrors: { name: 'cla.tcp.protocolErrors', type: 'u64', units: 'errors', yellow: { high: 0 }, doc: 'Protocol violations by peers (by code in the events)' },
  keepalivesReceived: { name: 'cla.tcp.keepalivesReceived', type: 'u64', units: 'messages', doc: 'KEEPALIVEs received: a link alive while no bundle moves' },
  keepaliveTimeouts: { name: 'cla.tcp.keepaliveTimeouts', type: 'u64', units: 'sessions', yellow: { high: 0 }, doc: 'Sessions ended because nothing arrived for 2x the keepalive interval' },
  msgRejectsSent: { name: 'cla.tcp.msgRejectsSent', type: 'u64', units: 'messages', doc: 'MSG_REJECT sent (unknown or unexpected message)' },
  msgRejectsReceived: { name: 'cla.tcp.msgRejectsReceived', type: 'u64', units: 'messages', yellow: { high: 0 }, doc: 'MSG_REJECT received: a peer did not understand this node' },
  inboundPending: { name: 'cla.tcp.inboundPending', type: 'u32', units: 'bundles', doc: 'Complete transfers handed to the agent and not yet settled' },
  backpressurePauses: { name: 'cla.tcp.backpressurePauses', type: 'u64', units: 'pauses', doc: 'Times a session stopped reading because maxInboundPending transfers awaited the agent' },
} as const satisfies Record<string, ChannelDef>;

export type TcpclChannels = Record<keyof typeof TCPCL_CHANNELS, Channel>;

export const SERIAL_CHANNELS = {
  framesOut: { name: 'cla.serial.framesOut', type: 'u64', units: 'frames', doc: 'Code blocks written to the line, idle ones included' },
  idleFramesOut: { name: 'cla.serial.idleFramesOut', type: 'u64', units: 'frames', doc: 'Code blocks of idle fill only (nothing to send)' },
  bytesOut: { name: 'cla.serial.bytesOut', type: 'u64', units: 'bytes', doc: 'Bytes written to the line' },
  bytesIn: { name: 'cla.serial.bytesIn', type: 'u64', units: 'bytes', doc: 'Bytes read from the line' },
  framesIn: { name: 'cla.serial.framesIn', type: 'u64', units: 'frames', doc: 'Frames decoded (RS corrected all codewords)' },
  correctedSymbols: { name: 'cla.serial.correctedSymbols', type: 'u64', units: 'symbols', doc: 'RS symbols corrected in received frames' },
  uncorrectableFrames: { name: 'cla.serial.uncorrectableFrames', type: 'u64', units: 'frames', yellow: { high: 0 }, doc: 'Code blocks found at their marker that RS could not correct: lost' },
  syncLosses: { name: 'cla.serial.syncLosses', type: 'u64', units: 'events', doc: 'Times the expected code block was not found and the marker search began again' },
  bytesSkipped: { name: 'cla.serial.bytesSkipped', type: 'u64', units: 'bytes', doc: 'Bytes passed over while searching for the sync marker' },
  foreignFrames: { name: 'cla.serial.foreignFrames', type: 'u64', units: 'frames', yellow: { high: 0 }, doc: 'Frames of another spacecraft id, virtual channel or version: dropped' },
  frameGaps: { name: 'cla.serial.frameGaps', type: 'u64', units: 'events', doc: 'Breaks in the virtual channel frame count: frames lost between two received' },
  packetsIn: { name: 'cla.serial.packetsIn', type: 'u64', units: 'packets', doc: 'LTP packets taken from the frames' },
  packetErrors: { name: 'cla.serial.packetErrors', type: 'u64', units: 'errors', yellow: { high: 0 }, doc: 'Packet stream errors (bad header, bad first header pointer)' },
  contactUp: { name: 'cla.serial.contactUp', type: 'u32', units: 'bool', doc: '1 while good frames arrive (within lossOfSignalMs)' },
  queuedSegments: { name: 'cla.serial.queuedSegments', type: 'u32', units: 'segments', doc: 'LTP segments waiting for the line' },
} as const satisfies Record<string, ChannelDef>;

export type SerialChannels = Record<keyof typeof SERIAL_CHANNELS, Channel>;

/** An LTP engine's channels, under `prefix` (cla.ltp over UDP, cla.serial.ltp over the serial link). */
export function ltpChannelDefs(prefix: string) {
  const c = (name: string, type: 'u64' | 'u32', units: string, doc: string, yellow?: number): ChannelDef =>
    ({ name: `${prefix}.${name}`, type, units, doc, ...(yellow === undefined ? {} : { yellow: { high: yellow } }) });
  return {
    blocksOut: c('blocksOut', 'u64', 'blocks', 'Blocks (bundles) the receiving engine reported received in full'),
    bytesOut: c('bytesOut', 'u64', 'bytes', 'Bytes of blocks reported received in full'),
    blocksIn: c('blocksIn', 'u64', 'blocks', 'Blocks received in full and accepted by the agent'),
    bytesIn: c('bytesIn', 'u64', 'bytes', 'Bytes of blocks accepted by the agent'),
    segmentsOut: c('segmentsOut', 'u64', 'segments', 'Segments handed to the link'),
    segmentsIn: c('segmentsIn', 'u64', 'segments', 'Segments received and decoded'),
    malformed: c('malformed', 'u64', 'segments', 'Segments refused as malformed (by code in the events)', 0),
    reportsSent: c('reportsSent', 'u64', 'segments', 'Report segments sent, retransmissions included'),
    reportsReceived: c('reportsReceived', 'u64', 'segments', 'Report segments received'),
    dataRetransmitted: c('dataRetransmitted', 'u64', 'segments', 'Data segments sent again for ranges a report claimed missing'),
    checkpointRetransmits: c('checkpointRetransmits', 'u64', 'segments', 'Checkpoints sent again when no report came within the timeout'),
    reportRetransmits: c('reportRetransmits', 'u64', 'segments', 'Reports sent again when no report acknowledgement came within the timeout'),
    cancelsSent: c('cancelsSent', 'u64', 'sessions', 'Sessions this engine cancelled (retransmission limit, refusal, timeout)', 0),
    cancelsReceived: c('cancelsReceived', 'u64', 'sessions', 'Sessions the peer cancelled', 0),
    sessionTimeouts: c('sessionTimeouts', 'u64', 'sessions', 'Import sessions dropped after sessionTimeoutMs without a segment', 0),
    refusedSessions: c('refusedSessions', 'u64', 'sessions', 'Import sessions refused: maxImportSessions open, or block beyond maxBlockBytes', 0),
    badBlocks: c('badBlocks', 'u64', 'blocks', 'Blocks refused as not a sequence of whole bundles (CBOR items); event CLA_LTP_BAD_BLOCK', 0),
    duplicates: c('duplicates', 'u64', 'segments', 'Segments of finished sessions, or data already held'),
    exportSessions: c('exportSessions', 'u32', 'sessions', 'Export sessions open'),
    importSessions: c('importSessions', 'u32', 'sessions', 'Import sessions open'),
  } satisfies Record<string, ChannelDef>;
}

export type LtpChannels = Record<keyof ReturnType<typeof ltpChannelDefs>, Channel>;

export const CLA_EVENTS = {
  udpListening: { id: 0x0401, name: 'CLA_UDP_LISTENING', severity: 'activity', format: 'UDPCL listening on {address}:{port}', throttle: 0 },
  udpOversize: { id: 0x0402, name: 'CLA_UDP_OVERSIZE', severity: 'warning', format: 'UDPCL {direction} datagram of {bytes} bytes ({peer}) exceeds {limit}: refused' },
  udpMalformed: { id: 0x0403, name: 'CLA_UDP_MALFORMED', severity: 'warning', format: 'UDPCL datagram from {peer}: {error}' },
  udpDropped: { id: 0x0404, name: 'CLA_UDP_DROPPED', severity: 'warning', format: 'UDPCL dropped a datagram from {peer}: {pending} bundles await the agent' },
  udpRefused: { id: 0x0405, name: 'CLA_UDP_REFUSED', severity: 'warning', format: 'Agent refused a UDPCL bundle from {peer}: {error}' },
  udpSendFailed: { id: 0x0406, name: 'CLA_UDP_SEND_FAILED', severity: 'warning', format: 'UDPCL send of {bytes} bytes to {peer} failed: {error}' },
  tcpListening: { id: 0x0410, name: 'CLA_TCP_LISTENING', severity: 'activity', format: 'TCPCLv4 listening on {address}:{port}', throttle: 0 },
  tcpSessionUp: {
    id: 0x0411, name: 'CLA_TCP_SESSION_UP', severity: 'activity', throttle: 0,
    format: 'TCPCLv4 session {role} with {nodeId} at {peer}: keepalive {keepaliveS} s, peer segment MRU {segmentMru}, transfer MRU {transferMru}, TLS {tls}',
  },
  tcpSessionDown: { id: 0x0412, name: 'CLA_TCP_SESSION_DOWN', severity: 'activity', format: 'TCPCLv4 session with {nodeId} at {peer} closed: {reason}', throttle: 0 },
  tcpProtocolError: { id: 0x0413, name: 'CLA_TCP_PROTOCOL_ERROR', severity: 'warning', format: 'TCPCLv4 peer {peer}: {code}: {error}' },
  tcpKeepaliveTimeout: { id: 0x0414, name: 'CLA_TCP_KEEPALIVE_TIMEOUT', severity: 'warning', format: 'TCPCLv4 session with {peer} silent for {silentMs} ms: SESS_TERM idle timeout' },
  tcpRefusedInbound: { id: 0x0415, name: 'CLA_TCP_REFUSED_INBOUND', severity: 'warning', format: 'Refused transfer {transferId} from {peer}: {reason} ({error})' },
  tcpPeerRefused: { id: 0x0416, name: 'CLA_TCP_PEER_REFUSED', severity: 'warning', format: 'Peer {peer} refused transfer {transferId}: {reason}' },
  tcpMsgRejected: { id: 0x0417, name: 'CLA_TCP_MSG_REJECTED', severity: 'warning', format: 'Peer {peer} rejected message type 0x{header}: {reason}' },
  tcpConnectFailed: { id: 0x0418, name: 'CLA_TCP_CONNECT_FAILED', severity: 'warning', format: 'TCPCLv4 connect to {peer} failed: {error}' },
  tcpBackpressure: { id: 0x0419, name: 'CLA_TCP_BACKPRESSURE', severity: 'diagnostic', format: 'Session with {peer} paused reading: {pending} transfers await the agent' },
  tcpTransferTimeout: { id: 0x041a, name: 'CLA_TCP_TRANSFER_TIMEOUT', severity: 'warning', format: 'Transfer {transferId} to {peer} not acknowledged within {timeoutMs} ms' },
  tcpBusy: { id: 0x041b, name: 'CLA_TCP_BUSY', severity: 'warning', format: 'Refused a TCPCLv4 session with {nodeId} at {peer}: {sessions} sessions open (limit)' },
  claFault: { id: 0x041c, name: 'CLA_FAULT', severity: 'error', format: 'CLA internal fault in {where}: {error}' },
  tcpConnectionRefused: {
    id: 0x041d, name: 'CLA_TCP_CONNECTION_REFUSED', severity: 'warning',
    format: 'Closed a TCPCLv4 connection from {peer} before SESS_INIT: {reason} ({pending} pending)',
  },
  ltpListening: { id: 0x0420, name: 'CLA_LTP_LISTENING', severity: 'activity', format: 'LTP engine {engine} listening on {address}:{port}', throttle: 0 },
  ltpMalformed: { id: 0x0421, name: 'CLA_LTP_MALFORMED', severity: 'warning', format: 'LTP segment from {peer}: {code}: {error}' },
  ltpCancelled: { id: 0x0422, name: 'CLA_LTP_CANCELLED', severity: 'warning', format: 'LTP session {session} with engine {engine} cancelled by {by}: reason {reason}' },
  ltpSessionTimeout: { id: 0x0423, name: 'CLA_LTP_SESSION_TIMEOUT', severity: 'warning', format: 'LTP import session {session} from engine {engine} silent for {timeoutMs} ms: dropped' },
  ltpBadBlock: { id: 0x0424, name: 'CLA_LTP_BAD_BLOCK', severity: 'warning', format: 'LTP block of {bytes} bytes from engine {engine} is not a sequence of bundles: {error}' },
  serialOpened: { id: 0x0428, name: 'CLA_SERIAL_OPENED', severity: 'activity', format: 'Serial link on {device} at {baud} baud: I={interleave}, frame {frameBytes} bytes', throttle: 0 },
  serialContact: { id: 0x0429, name: 'CLA_SERIAL_CONTACT', severity: 'activity', format: 'Serial link on {device}: contact {state}', throttle: 0 },
  serialPacketError: { id: 0x042a, name: 'CLA_SERIAL_PACKET_ERROR', severity: 'warning', format: 'Serial link on {device}: {code}: {error}' },
} as const satisfies Record<string, EventDef>;
