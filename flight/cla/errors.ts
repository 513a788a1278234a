// Typed errors of the convergence layers. Everything a peer can get wrong on the wire is a
// subclass of ClaProtocolError; the outcomes of a send (refused, timed out, session gone) have
// their own classes so the agent can decide per cause whether to retry, reroute or drop.
import { TernError } from '../errors.js';
import type { RefusalReason } from './cla.js';

/** A peer broke the UDPCL or TCPCLv4 rules. Counted per `code` by the CLA that saw it. */
export abstract class ClaProtocolError extends TernError {}

/** The first bytes of a TCP connection are not the TCPCL magic "dtn!". */
export class ContactHeaderError extends ClaProtocolError {
  readonly code = 'TCPCL_BAD_CONTACT_HEADER';
  constructor(readonly got: Uint8Array) {
    super(`contact header: expected magic "dtn!", got ${Buffer.from(got).toString('hex')}`);
    this.name = 'ContactHeaderError';
  }
}

/** The peer speaks a TCPCL version other than 4. */
export class VersionMismatchError extends ClaProtocolError {
  readonly code = 'TCPCL_VERSION_MISMATCH';
  constructor(readonly version: number) {
    super(`contact header: TCPCL version ${version}, this node speaks only version 4`);
    this.name = 'VersionMismatchError';
  }
}

/** A message type this node does not know; the stream cannot be framed past it. */
export class UnknownMessageTypeError extends ClaProtocolError {
  readonly code = 'TCPCL_UNKNOWN_MESSAGE_TYPE';
  constructor(readonly messageType: number) {
    super(`message type 0x${messageType.toString(16).padStart(2, '0')} is unknown`);
    this.name = 'UnknownMessageTypeError';
  }
}

/** A well-formed message that makes no sense in the session's state. */
export class UnexpectedMessageError extends ClaProtocolError {
  readonly code = 'TCPCL_UNEXPECTED_MESSAGE';
  constructor(detail: string) {
    super(detail);
    this.name = 'UnexpectedMessageError';
  }
}

/** A message whose fields are out of range or inconsistent. Names the message and field. */
export class MalformedMessageError extends ClaProtocolError {
  readonly code = 'TCPCL_MALFORMED_MESSAGE';
  constructor(
    readonly messageName: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${messageName}: ${field}: ${reason}`);
    this.name = 'MalformedMessageError';
  }
}

/** An XFER_SEGMENT longer than the Segment MRU this node announced. */
export class SegmentTooLargeError extends ClaProtocolError {
  readonly code = 'TCPCL_SEGMENT_TOO_LARGE';
  constructor(readonly length: number, readonly limit: number) {
    super(`XFER_SEGMENT of ${length} bytes exceeds the segment MRU of ${limit}`);
    this.name = 'SegmentTooLargeError';
  }
}

/** A transfer longer than the Transfer MRU (inbound), or than the peer's (outbound send). */
export class TransferTooLargeError extends ClaProtocolError {
  readonly code = 'TCPCL_TRANSFER_TOO_LARGE';
  constructor(readonly length: number, readonly limit: number) {
    super(`transfer of ${length} bytes exceeds the transfer MRU of ${limit}`);
    this.name = 'TransferTooLargeError';
  }
}

/** A transfer whose data does not add up to its Transfer Length extension. */
export class TransferLengthMismatchError extends ClaProtocolError {
  readonly code = 'TCPCL_TRANSFER_LENGTH_MISMATCH';
  constructor(readonly declared: number, readonly received: number) {
    super(`transfer declared ${declared} bytes in its Transfer Length extension, carried ${received}`);
    this.name = 'TransferLengthMismatchError';
  }
}

/** A session or transfer extension item of unknown type with its CRITICAL flag set. */
export class CriticalExtensionError extends ClaProtocolError {
  readonly code = 'TCPCL_UNKNOWN_CRITICAL_EXTENSION';
  constructor(readonly scope: 'session' | 'transfer', readonly itemType: number) {
    super(`unknown critical ${scope} extension item type 0x${itemType.toString(16).padStart(4, '0')}`);
    this.name = 'CriticalExtensionError';
  }
}

/** The peer's SESS_INIT names another node than the neighbour this node meant to reach. */
export class NodeIdMismatchError extends ClaProtocolError {
  readonly code = 'TCPCL_NODE_ID_MISMATCH';
  constructor(readonly expected: string, readonly got: string) {
    super(`SESS_INIT: node ID ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    this.name = 'NodeIdMismatchError';
  }
}

/** Contact header and SESS_INIT were not exchanged in time. */
export class HandshakeTimeoutError extends ClaProtocolError {
  readonly code = 'TCPCL_HANDSHAKE_TIMEOUT';
  constructor(readonly timeoutMs: number, readonly stage: string) {
    super(`no ${stage} within ${timeoutMs} ms`);
    this.name = 'HandshakeTimeoutError';
  }
}

/**
 * Nothing (not even a KEEPALIVE) arrived for twice the negotiated keepalive interval. A dead
 * link as often as a broken peer, so it is not counted as a protocol error.
 */
export class IdleTimeoutError extends TernError {
  readonly code = 'TCPCL_IDLE_TIMEOUT';
  constructor(readonly silentMs: number) {
    super(`nothing received for ${Math.round(silentMs)} ms, twice the keepalive interval or more`);
    this.name = 'IdleTimeoutError';
  }
}

/** A UDP datagram (a bundle) larger than the configured maximum, inbound or outbound. */
export class DatagramTooLargeError extends ClaProtocolError {
  readonly code = 'UDPCL_DATAGRAM_TOO_LARGE';
  constructor(readonly length: number, readonly limit: number) {
    super(`datagram of ${length} bytes exceeds the UDPCL limit of ${limit}`);
    this.name = 'DatagramTooLargeError';
  }
}

/** A zero-length datagram or send: no bundle is empty. */
export class EmptyBundleError extends ClaProtocolError {
  readonly code = 'CLA_EMPTY_BUNDLE';
  constructor(readonly where: string) {
    super(`${where}: zero bytes, no bundle is empty`);
    this.name = 'EmptyBundleError';
  }
}

/** The peer answered a transfer with XFER_REFUSE. `reason` is the RFC 9174 reason code. */
export class TransferRefusedError extends TernError {
  readonly code = 'TCPCL_TRANSFER_REFUSED';
  constructor(readonly reason: number, readonly reasonName: string) {
    super(`peer refused the transfer: ${reasonName} (0x${reason.toString(16).padStart(2, '0')})`);
    this.name = 'TransferRefusedError';
  }
}

/** No final XFER_ACK (nor refusal) within the transfer timeout. */
export class TransferTimeoutError extends TernError {
  readonly code = 'TCPCL_TRANSFER_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`transfer not acknowledged within ${timeoutMs} ms`);
    this.name = 'TransferTimeoutError';
  }
}

/** The session ended (or was ending, or never came up) before the transfer completed. */
export class SessionClosedError extends TernError {
  readonly code = 'TCPCL_SESSION_CLOSED';
  constructor(readonly reason: string) {
    super(`session closed: ${reason}`);
    this.name = 'SessionClosedError';
  }
}

/**
 * Thrown (as a rejection) by a bundle sink that refuses a bundle, with a reason any convergence
 * layer can carry; TCPCLv4 sends it as an XFER_REFUSE reason code, and any other rejection as
 * "Unknown".
 */
export class BundleRefusedError extends TernError {
  readonly code = 'CLA_BUNDLE_REFUSED';
  constructor(readonly reason: RefusalReason, readonly why: string) {
    super(`bundle refused: ${why}`);
    this.name = 'BundleRefusedError';
  }
}
