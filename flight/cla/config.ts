// The `cla` section of a mission config: which convergence layers listen where, their limits,
// and the neighbours this node reaches over them. Addresses are IP literals (a node has no DNS
// in orbit); listeners default to 127.0.0.1:4556, the IANA port of both UDPCL and TCPCL.
//
//   "cla": {
//     "udp": { "listen": "127.0.0.1:4556", "maxDatagramBytes": 65507 },
//     "tcp": { "listen": "127.0.0.1:4556", "keepaliveS": 15, "segmentMru": 1048576, "contactTimeoutMs": 2000 },
//     "ltp": { "listen": "127.0.0.1:1113", "segmentBytes": 1024 },
//     "serial": { "device": "/dev/ttyS1", "baud": 115200 },
//     "neighbours": { "2": { "cla": "tcp", "address": "127.0.0.1:4557" }, "3": { "cla": "serial" } }
//   }
//
// Each section is parsed by its layer's parser (CLA_SECTIONS below); a neighbour names the layer
// it is reached over, which must be configured. A serial link is point to point: its neighbour
// has no address, and at most one neighbour is listed under it.
import { isIP } from 'node:net';
import { Fields, join } from '../config/fields.js';
import type { ClaKind } from './cla.js';
import { parseLtpConfig, type LtpClaConfig } from './ltp/config.js';
import { parseSerialConfig, type SerialClaConfig } from './serial/config.js';
import type { AdmissionLimits } from './tcpcl-admission.js';
import type { SessionConfig } from './tcpcl-session.js';
import { parseTcpTls } from './tcpcl-tls.js';
import { MAX_UDP_PAYLOAD } from './udp.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface UdpClaConfig {
  /** Absent: this node only sends over UDP. */
  readonly listen?: Endpoint;
  readonly maxDatagramBytes: number;
  readonly maxInboundPending: number;
}

export interface TcpClaConfig extends Omit<SessionConfig, 'localNodeId'>, AdmissionLimits {
  /** Absent: this node only opens active sessions. */
  readonly listen?: Endpoint;
}

/**
 * The listener's defences, also used by a TcpCla built without a config (ground tools, tests).
 * A contact header comes at once from any real peer, so 2 s is generous even on a loaded link;
 * a pending connection costs a socket and at most one SESS_INIT, so 256 stay far below the
 * process's descriptor limit, and one address may hold half of them.
 */
export const TCP_ADMISSION_DEFAULTS = {
  contactTimeoutMs: 2000,
  maxSessions: 16,
  maxPendingConnections: 256,
  maxPendingPerAddress: 128,
} as const;

/** A neighbour reached over an IP convergence layer, at a socket address. */
export interface IpNeighbour {
  /** ipn node number (and, over LTP, the neighbour's engine id). */
  readonly node: number;
  readonly cla: 'udp' | 'tcp' | 'ltp';
  readonly host: string;
  readonly port: number;
}

/** The neighbour at the other end of the serial line. */
export interface SerialNeighbour {
  readonly node: number;
  readonly cla: 'serial';
}

export type Neighbour = IpNeighbour | SerialNeighbour;

export interface ClaConfig {
  readonly udp?: UdpClaConfig;
  readonly tcp?: TcpClaConfig;
  readonly ltp?: LtpClaConfig;
  readonly serial?: SerialClaConfig;
  readonly neighbours: readonly Neighbour[];
}

export const DEFAULT_PORT = 4556;
const DEFAULT_HOST = '127.0.0.1';

/** `host:port` or `[v6]:port`; port 0 (listeners only) picks a free port. */
export function parseEndpoint(f: Fields, value: unknown, field: string, minPort: number): Endpoint {
  const text = f.string(value, field);
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || isIP(host) === 0 || port < minPort || port > 65535) {
    f.fail(field, `an IP address and port, "127.0.0.1:${DEFAULT_PORT}" or "[::1]:${DEFAULT_PORT}" (port ${minPort}-65535)`, value);
  }
  return { host, port };
}

export function parseListen(f: Fields, value: unknown, field: string, defaultPort = DEFAULT_PORT): Endpoint | undefined {
  if (value === undefined) return { host: DEFAULT_HOST, port: defaultPort };
  if (value === false) return undefined;
  return parseEndpoint(f, value, field, 0);
}

export function optionalInteger(f: Fields, value: unknown, field: string, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : f.integer(value, field, min, max);
}

const UDP_FIELDS = ['listen', 'maxDatagramBytes', 'maxInboundPending'] as const;
const TCP_FIELDS = [
  'listen', 'keepaliveS', 'segmentMru', 'transferMru', 'maxInboundPending', 'maxSessions',
  'contactTimeoutMs', 'handshakeTimeoutMs', 'transferTimeoutMs', 'closeTimeoutMs', 'maxPendingConnections',
  'maxPendingPerAddress', 'tls',
] as const;

function parseUdp(f: Fields, raw: unknown, field: string): UdpClaConfig {
  const o = f.object(raw, field, UDP_FIELDS);
  const listen = parseListen(f, o.listen, join(field, 'listen'));
  return {
    ...(listen ? { listen } : {}),
    maxDatagramBytes: optionalInteger(f, o.maxDatagramBytes, join(field, 'maxDatagramBytes'), MAX_UDP_PAYLOAD, 1, MAX_UDP_PAYLOAD),
    maxInboundPending: optionalInteger(f, o.maxInboundPending, join(field, 'maxInboundPending'), 64, 1, 65_536),
  };
}

function parseTcp(f: Fields, raw: unknown, field: string): TcpClaConfig {
  const o = f.object(raw, field, TCP_FIELDS);
  const listen = parseListen(f, o.listen, join(field, 'listen'));
  const segmentMru = optionalInteger(f, o.segmentMru, join(field, 'segmentMru'), 1 << 20, 1, Number.MAX_SAFE_INTEGER);
  const handshakeTimeoutMs = optionalInteger(f, o.handshakeTimeoutMs, join(field, 'handshakeTimeoutMs'), 10_000, 100, 600_000);
  const maxPendingConnections = optionalInteger(f, o.maxPendingConnections, join(field, 'maxPendingConnections'),
    TCP_ADMISSION_DEFAULTS.maxPendingConnections, 1, 65_536);
  return {
    ...(listen ? { listen } : {}),
    keepaliveS: optionalInteger(f, o.keepaliveS, join(field, 'keepaliveS'), 15, 0, 65_535),
    segmentMru,
    transferMru: optionalInteger(f, o.transferMru, join(field, 'transferMru'), 16 << 20, segmentMru, Number.MAX_SAFE_INTEGER),
    maxInboundPending: optionalInteger(f, o.maxInboundPending, join(field, 'maxInboundPending'), 4, 1, 1024),
    maxSessions: optionalInteger(f, o.maxSessions, join(field, 'maxSessions'), TCP_ADMISSION_DEFAULTS.maxSessions, 1, 4096),
    maxPendingConnections,
    maxPendingPerAddress: optionalInteger(f, o.maxPendingPerAddress, join(field, 'maxPendingPerAddress'),
      Math.min(TCP_ADMISSION_DEFAULTS.maxPendingPerAddress, maxPendingConnections), 1, maxPendingConnections),
    handshakeTimeoutMs,
    contactTimeoutMs: optionalInteger(f, o.contactTimeoutMs, join(field, 'contactTimeoutMs'),
      Math.min(TCP_ADMISSION_DEFAULTS.contactTimeoutMs, handshakeTimeoutMs), 100, handshakeTimeoutMs),
    transferTimeoutMs: optionalInteger(f, o.transferTimeoutMs, join(field, 'transferTimeoutMs'), 60_000, 100, 86_400_000),
    closeTimeoutMs: optionalInteger(f, o.closeTimeoutMs, join(field, 'closeTimeoutMs'), 5_000, 100, 600_000),
    ...(o.tls === undefined ? {} : { tls: parseTcpTls(f, o.tls, join(field, 'tls')) }),
  };
}

/** Each layer's section parser; a new layer adds its line here and its factory in registry.ts. */
const CLA_SECTIONS = {
  udp: parseUdp,
  tcp: parseTcp,
  ltp: parseLtpConfig,
  serial: parseSerialConfig,
} as const satisfies Record<ClaKind, (f: Fields, raw: unknown, field: string) => unknown>;

const CLA_KINDS = Object.keys(CLA_SECTIONS) as ClaKind[];

function parseNeighbours(f: Fields, raw: unknown, section: string, present: ReadonlySet<ClaKind>): Neighbour[] {
  if (raw === undefined) return [];
  const field = join(section, 'neighbours');
  const o = f.object(raw, field);
  const neighbours = Object.entries(o).map(([key, value]): Neighbour => {
    const at = join(field, key);
    const node = /^[1-9][0-9]*$/.test(key) ? Number(key) : NaN;
    if (!Number.isSafeInteger(node)) f.fail(at, 'a key that is an ipn node number (1, 2, ...)', key);
    const entry = f.object(value, at, ['cla', 'address']);
    const cla = f.oneOf(entry.cla, join(at, 'cla'), CLA_KINDS);
    if (!present.has(cla)) f.fail(join(at, 'cla'), `a convergence layer configured in ${join(section, cla)}`, cla);
    if (cla === 'serial') {
      if (entry.address !== undefined) f.fail(join(at, 'address'), 'no address: a serial neighbour is the other end of the line', entry.address);
      return { node, cla };
    }
    const { host, port } = parseEndpoint(f, entry.address, join(at, 'address'), 1);
    return { node, cla, host, port };
  });
  const serial = neighbours.filter((n) => n.cla === 'serial');
  if (serial.length > 1) f.fail(field, 'at most one neighbour over the serial link (it is point to point)', serial.map((n) => n.node));
  return neighbours;
}

/** Validates the `cla` section (absent: no convergence layer at all). */
export function parseClaConfig(f: Fields, raw: unknown, field: string): ClaConfig {
  if (raw === undefined) return { neighbours: [] };
  const o = f.object(raw, field, [...CLA_KINDS, 'neighbours']);
  const sections: Record<string, unknown> = {};
  for (const kind of CLA_KINDS) {
    if (o[kind] !== undefined) sections[kind] = CLA_SECTIONS[kind](f, o[kind], join(field, kind));
  }
  const neighbours = parseNeighbours(f, o.neighbours, field, new Set(Object.keys(sections) as ClaKind[]));
  return { ...(sections as Omit<ClaConfig, 'neighbours'>), neighbours };
}
