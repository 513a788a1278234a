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
  constructor() {
    super('contact header: the peer does not offer TLS (CAN_TLS), which this node requires');
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
 */
export function parseTcpTls(f: Fields, raw: unknown, field: string): TcpclTls {
  const o = f.object(raw, field, ['key', 'certificate', 'trustedCas', 'required']);
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
  };
}
