// The SESS_INIT half of the TCPCLv4 handshake (RFC 9174 4.6-4.7): what this node announces, and
// what it makes of the peer's announcement. The contact header before it is the decoder's.
import { CriticalExtensionError, MalformedMessageError, NodeIdMismatchError } from './errors.js';
import type { SessInit } from './tcpcl-decoder.js';
import type { SessionConfig } from './tcpcl-session.js';
import { EXT_CRITICAL, sessInit } from './tcpcl-wire.js';

/** The session parameters both SESS_INITs settle. */
export interface Negotiated {
  /** min of both proposals; 0 means no keepalives. */
  readonly keepaliveS: number;
  readonly peerSegmentMru: number;
  readonly peerTransferMru: number;
  readonly nodeId: string;
}

/** This node's SESS_INIT. Tern defines no session extensions. */
export function localSessInit(config: SessionConfig): Buffer {
  return sessInit({ keepaliveS: config.keepaliveS, segmentMru: config.segmentMru, transferMru: config.transferMru, nodeId: config.localNodeId });
}

/**
 * Checks the peer's SESS_INIT and settles the session's parameters. Throws a ClaProtocolError
 * (the session then ends) on an unknown critical extension (RFC 9174 4.8), an empty node ID, a
 * zero segment MRU, or a node ID other than the one this node meant to reach.
 */
export function negotiate(config: SessionConfig, m: SessInit, expectedNodeId: string | undefined): Negotiated {
  for (const item of m.extensions) {
    if ((item.flags & EXT_CRITICAL) !== 0) throw new CriticalExtensionError('session', item.type);
  }
  if (m.nodeId.length === 0) throw new MalformedMessageError('SESS_INIT', 'node ID', 'empty');
  if (m.segmentMru === 0) throw new MalformedMessageError('SESS_INIT', 'segment MRU', 'zero: no segment could ever be sent');
  if (expectedNodeId !== undefined && m.nodeId !== expectedNodeId) throw new NodeIdMismatchError(expectedNodeId, m.nodeId);
  return {
    keepaliveS: Math.min(config.keepaliveS, m.keepaliveS),
    peerSegmentMru: m.segmentMru,
    peerTransferMru: m.transferMru,
    nodeId: m.nodeId,
  };
}
