// How the ground tools reach the constellation: the ground is a DTN node of its own (ipn:<from>,
// 100 by default). `tern gse send` wraps a signed command envelope in a bundle for the target's
// command endpoint (ipn:<node>.1) and hands it to a ground-station node over TCPCLv4 (resolving
// once the station acknowledged the transfer, i.e. stored it durably) or UDP (no acknowledgement);
// the station relays it like any bundle. `tern gse tlm --listen` is the other direction: it
// listens as the ground node over TCPCLv4 and UDP and hands each bundle's payload (downlink
// items) to the printer. `--out FILE` keeps the envelope offline, for a test or another channel.
import { isIP } from 'node:net';
import { writeSync } from 'node:fs';
import type { BundleSink, PeerInfo } from '../flight/cla/cla.js';
import { BundleRefusedError, TransferRefusedError } from '../flight/cla/errors.js';
import { TcpCla } from '../flight/cla/tcpcl.js';
import type { TcpclTls } from '../flight/cla/tcpcl-tls.js';
import { REFUSE_REASON } from '../flight/cla/tcpcl-wire.js';
import { UdpCla, MAX_UDP_PAYLOAD } from '../flight/cla/udp.js';
import { SERVICE } from '../flight/dtn/agent.js';
import { hopCountBlock } from '../flight/dtn/blocks.js';
import { payloadBlock } from '../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../flight/dtn/codec.js';
import { CreationClock } from '../flight/dtn/creation.js';
import { eidToString, ipn } from '../flight/dtn/eid.js';
import { writeFileDurable } from '../flight/durable.js';
import { TernError } from '../flight/errors.js';
import { createRootLogger } from '../flight/log.js';
import { TelemetryRegistry } from '../flight/tlm/channels.js';
import { EventLog } from '../flight/tlm/events.js';

/** The ground's ipn node number when --from is not given. */
export const GROUND_NODE = 100;

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface TransmitOptions {
  /** File to write the envelope to, "-" for stdout (raw CBOR): nothing goes on the air. */
  readonly out?: string;
  /** File to write the command bundle to as it would go on the wire, "-" for stdout. */
  readonly bundleOut?: string;
  /** The ground-station node that takes the command bundle. */
  readonly via?: Address;
  readonly cla?: 'tcp' | 'udp';
  /** The ground's node number (the bundle's source is ipn:<from>.1). */
  readonly from?: number;
  /** Unix ms after which the command is refused anyway; the bundle lives as long. */
  readonly expiryMs: number;
  /** The target's service (ipn:<target>.<service>): the command endpoint unless given (the file service for uploads). */
  readonly service?: number;
}

export class NoTransport extends TernError {
  readonly code = 'GSE_NO_TRANSPORT';
  constructor() {
    super('no way to send: give --via HOST:PORT (a ground-station node) or --out FILE (- for stdout)');
    this.name = 'NoTransport';
  }
}

/** The ground station did not take the bundle (connection refused, transfer refused, timeout). */
export class TransmitFailed extends TernError {
  readonly code = 'GSE_TRANSMIT_FAILED';
  constructor(via: Address, detail: string, what = 'command bundle') {
    super(`ground station ${via.host}:${via.port} did not take the ${what}: ${detail}`);
    this.name = 'TransmitFailed';
  }
}

export class BadAddress extends TernError {
  readonly code = 'GSE_BAD_ADDRESS';
  constructor(option: string, text: string) {
    super(`${option} must be an IP address and port such as 127.0.0.1:4610, got ${JSON.stringify(text)}`);
    this.name = 'BadAddress';
  }
}

/** `host:port` or `[v6]:port`, an IP literal (a ground station is configured, not looked up). */
export function parseAddress(option: string, text: string): Address {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || isIP(host) === 0 || port < 1 || port > 65535) throw new BadAddress(option, text);
  return { host, port };
}

/** CLAs of a short-lived ground tool: quiet, their failures surface as rejected promises. */
function clas(localNodeId: string, sink: BundleSink, tls?: TcpclTls): { tcp: TcpCla; udp: UdpCla } {
  const log = createRootLogger({ level: 'silent' });
  const tlm = new TelemetryRegistry();
  const events = new EventLog(log, () => 0);
  const tcp = new TcpCla({
    localNodeId, keepaliveS: 15, segmentMru: 1 << 20, transferMru: 16 << 20, maxInboundPending: 16,
    handshakeTimeoutMs: 5000, transferTimeoutMs: 10_000, closeTimeoutMs: 2000, maxSessions: 16,
    sink, tlm, events, log, ...(tls ? { tls } : {}),
  });
  const udp = new UdpCla({ maxDatagramBytes: MAX_UDP_PAYLOAD, maxInboundPending: 64, sink, tlm, events, log });
  return { tcp, udp };
}

/**
 * Creation timestamps of this process's bundles. Every ground tool sending as the ground node is
 * a process of its own, perhaps on another machine, so no counter on disk is shared by them all:
 * each starts at a random sequence number (creation.ts says how unlikely a collision is).
 */
const groundClock = CreationClock.randomStart();

/** The command bundle: ground -> ipn:<target>.1 (or another service), living until the command expires. */
export function commandBundle(envelope: Uint8Array, target: number, from: number, expiryMs: number, now = Date.now(), service: number = SERVICE.command): Uint8Array {
  const created = groundClock.stamp(now);
  return createBundle({
    destination: ipn(target, service),
    source: ipn(from, SERVICE.command),
    creationTime: created.time,
    sequence: created.sequence,
    lifetime: Math.max(1, expiryMs - now),
    blocks: [hopCountBlock({ limit: 32, count: 0 })],
    payload: envelope,
  }).bytes;
}

/** Sends one signed command envelope to node `target`; returns where it went, for the operator. */
export async function transmit(envelope: Uint8Array, target: number, options: TransmitOptions): Promise<string> {
  const service = options.service ?? SERVICE.command;
  if (options.out !== undefined) {
    if (options.out === '-') writeSync(1, envelope);
    else writeFileDurable(options.out, envelope);
    return options.out;
  }
  if (options.bundleOut !== undefined) {
    const bundle = commandBundle(envelope, target, options.from ?? GROUND_NODE, options.expiryMs, Date.now(), service);
    if (options.bundleOut === '-') writeSync(1, bundle);
    else writeFileDurable(options.bundleOut, bundle);
    return `${options.bundleOut} as ${bundle.length}-byte bundle to ipn:${target}.${service}`;
  }
  const via = options.via;
  if (!via) throw new NoTransport();
  const bundle = commandBundle(envelope, target, options.from ?? GROUND_NODE, options.expiryMs, Date.now(), service);
  const refuse: BundleSink = { accept: () => Promise.reject(new BundleRefusedError('not-acceptable', 'a sending ground tool takes no bundles')) };
  // Not ipn:<from>.0: the station would take this short session for the ground console's (same
  // node) and try to hand it telemetry. A dtn name that no route leads to keeps them apart.
  const { tcp, udp } = clas(`dtn://ground-${options.from ?? GROUND_NODE}/send`, refuse);
  try {
    if (options.cla === 'udp') {
      await udp.send(bundle, via.host, via.port);
    } else {
      const session = await tcp.connect(via.host, via.port);
      await session.send(bundle); // the station's XFER_ACK: the bundle is durable there
    }
  } catch (error) {
    throw new TransmitFailed(via, refusalText(error as Error, target), service === SERVICE.command ? 'command bundle' : `bundle for ipn:${target}.${service}`);
  } finally {
    await Promise.all([tcp.close(), udp.close()]);
  }
  return `${options.cla ?? 'tcp'}://${via.host}:${via.port} as ${bundle.length}-byte bundle to ipn:${target}.${service}`;
}

/** Why the station did not take the bundle, in the operator's terms where its answer allows. */
function refusalText(error: Error, target: number): string {
  // XFER_REFUSE carries a reason code only; a Tern station answers Not Acceptable for a bundle
  // none of its routes or neighbours leads to (and for one that fails its checks).
  if (error instanceof TransferRefusedError && error.reason === REFUSE_REASON.NOT_ACCEPTABLE) {
    return `${error.message}: the station has no route to node ${target}, or the bundle failed its checks`;
  }
  return error.message;
}

/**
 * What a listening ground node does with each bundle addressed to it. The transfer is
 * acknowledged when the handler returns, or, if it returns a promise, once that resolves (the
 * console's archive commits several bundles at once); a rejection refuses the transfer.
 */
export type PayloadHandler = (payload: Uint8Array, from: PeerInfo, source: string) => void | Promise<void>;

export interface GroundListener {
  readonly tcpPort: number;
  readonly udpPort: number;
  close(): Promise<void>;
}

/**
 * Listens as ground node `node` on TCPCLv4 and UDP at `at`; each bundle for this node is decoded
 * and its payload handed on before the transfer is acknowledged. Bundles for other nodes and
 * undecodable ones are refused (a console is an end point, not a relay). With `tls` its TCPCLv4
 * sessions run inside TLS (the console's link with its stations, flight/cla/tcpcl-tls.ts).
 */
export async function listenAsGround(node: number, at: Address, onPayload: PayloadHandler, onRefused: (why: string) => void, tls?: TcpclTls): Promise<GroundListener> {
  const sink: BundleSink = {
    accept: (bytes, from) => {
      let why: string;
      try {
        const bundle = decodeBundle(bytes);
        const destination = bundle.primary.destination;
        if (destination.scheme === 'ipn' && destination.node === node) {
          const handled = onPayload(payloadBlock(bundle).data, from, eidToString(bundle.primary.source));
          return handled instanceof Promise ? handled : Promise.resolve();
        }
        why = `bundle for ${eidToString(destination)}, not this ground node ipn:${node}`;
      } catch (error) {
        why = `undecodable bundle: ${(error as Error).message}`;
      }
      onRefused(why);
      return Promise.reject(new BundleRefusedError('not-acceptable', why));
    },
  };
  const { tcp, udp } = clas(`ipn:${node}.0`, sink, tls);
  const tcpAddress = await tcp.listen(at.host, at.port);
  const udpAddress = await udp.listen(at.host, at.port);
  return {
    tcpPort: tcpAddress.port,
    udpPort: udpAddress.port,
    close: async () => {
      await Promise.all([tcp.close(), udp.close()]);
    },
  };
}
