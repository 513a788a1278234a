// TLS for TCPCLv4 (RFC 9174 section 4.4): when both contact headers carry CAN_TLS, the session
// continues inside TLS 1.3 from the byte after the contact headers, the active entity as the TLS
// client; both present X.509 certificates signed by a CA the other trusts, and each checks that
// the node ID the peer announces in SESS_INIT is a subjectAltName URI of its certificate
// (RFC 9174 4.4.3: `ipn:N.0`). Without `tls` configured a session is exactly as before: CAN_TLS
// clear, plain TCP, the same bytes on the wire (HDTN interoperates with that).
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { connect, createServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import { type Fields, join } from '../config/fields.js';
import { ClaProtocolError } from './errors.js';

export interface TcpclTls {
  /** This node's private key and certificate (PEM); the certificate names it as `URI:ipn:N.0`. */
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  /** The CA certificates a peer's certificate must chain to (PEM). */
  readonly ca: string | Buffer;
  /** Refuse a session whose peer does not offer TLS (otherwise it runs in plain TCP). */
  readonly required: boolean;
  /**
   * Node numbers whose sessions must run inside TLS, though others may run plain: a session
   * announcing `ipn:N.0` for one of them outside TLS is refused at its SESS_INIT. A ground
   * station requires it of the console's node, yet takes plain sessions from its satellites and
   * from `tern gse send` (a command is signed by its operator, whatever carries it).
   */
  readonly requiredFor: readonly number[];
}

/** Whether a session announcing `nodeId` must run inside TLS by this node's `tls` section. */
export function tlsRequiredFor(tls: TcpclTls | undefined, nodeId: string): boolean {
  if (tls === undefined) return false;
  if (tls.required) return true;
  const m = /^ipn:(\d+)\.0$/.exec(nodeId);
  return m !== null && tls.requiredFor.includes(Number(m[1]));
}

/** The peer's certificate does not name the node ID it announced. */
export class TlsNodeIdError extends ClaProtocolError {
  readonly code = 'TCPCL_TLS_NODE_ID';
  constructor(readonly announced: string, readonly named: readonly string[]) {
    super(`SESS_INIT: node ID ${JSON.stringify(announced)} is not named by the peer's certificate (${named.length > 0 ? named.join(', ') : 'no URI'})`);
    this.name = 'TlsNodeIdError';
  }
}

/** The TLS handshake failed: an untrusted or missing certificate, no TLS 1.3, a broken stream. */
export class TlsHandshakeError extends ClaProtocolError {
  readonly code = 'TCPCL_TLS_HANDSHAKE';
  constructor(readonly failure: Error) {
    super(`TLS handshake failed: ${failure.message}`);
    this.name = 'TlsHandshakeError';
  }
}

/** The peer would not use TLS where this node requires it. */
export class TlsRequiredError extends ClaProtocolError {
  readonly code = 'TCPCL_TLS_REQUIRED';
  /** `nodeId`: the node a plain session announced, which this node requires TLS of (requiredFor). */
  constructor(readonly nodeId?: string) {
    super(nodeId === undefined
      ? 'contact header: the peer does not offer TLS (CAN_TLS), which this node requires'
      : `SESS_INIT: ${nodeId} outside TLS, which this node requires of it`);
    this.name = 'TlsRequiredError';
  }
}

/**
 * Starts TLS 1.3 on a connected socket: a client for the active entity, a server asking for the
 * client's certificate for the passive one. Resolves once the handshake succeeded and the peer's
 * certificate chains to a trusted CA; rejects otherwise (the caller closes the session).
 */
export function startTls(socket: Socket, role: 'active' | 'passive', tls: TcpclTls): Promise<TLSSocket> {
  const common = { key: tls.key, cert: tls.cert, ca: tls.ca, minVersion: 'TLSv1.3' as const };
  return new Promise((resolve, reject) => {
    if (role === 'active') {
      // The server is identified by the node ID it announces, checked against its certificate in
      // SESS_INIT, not by a host name.
      const secure = connect({ socket, ...common, rejectUnauthorized: true, checkServerIdentity: () => undefined });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
      return;
    }
    // A tls.Server, not a bare server-side TLSSocket: only the server verifies a client's
    // certificate chain and refuses an untrusted one. It never listens: it is handed this one
    // connection after the contact headers (as for STARTTLS), so its events are this session's.
    const server = createServer({ ...common, requestCert: true, rejectUnauthorized: true });
    server.once('secureConnection', resolve);
    server.once('tlsClientError', reject);
    server.emit('connection', socket);
  });
}

/** The `URI:` subjectAltNames of a certificate. */
export function certificateUris(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(', ').filter((name) => name.startsWith('URI:')).map((name) => name.slice(4));
}

/**
 * The `cla.tcp.tls` section of a mission config: PEM files relative to the config file, read
 * now, so that a missing or unreadable one stops the node before it starts, naming the field.
 *
 *   "tls": { "key": "certs/node-20.key", "certificate": "certs/node-20.crt", "trustedCas": "certs/ca.crt", "required": true }
 *   "tls": { ..., "requiredFor": [100] }     (plain sessions taken, but not from node 100)
 */
export function parseTcpTls(f: Fields, raw: unknown, field: string): TcpclTls {
  const o = f.object(raw, field, ['key', 'certificate', 'trustedCas', 'required', 'requiredFor']);
  const read = (name: string): Buffer => {
    const path = resolve(dirname(f.file), f.string(o[name], join(field, name)));
    try {
      return readFileSync(path);
    } catch (error) {
      return f.fail(join(field, name), 'a readable PEM file', `${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  return {
    key: read('key'), cert: read('certificate'), ca: read('trustedCas'),
    required: o.required === undefined ? false : f.boolean(o.required, join(field, 'required')),
    requiredFor: o.requiredFor === undefined ? [] : f.array(o.requiredFor, join(field, 'requiredFor')).map((n, i) => f.integer(n, join(field, `requiredFor[${i}]`), 1)),
  };
}
