// Mission configs for multi-node tests, and a "ground" peer that speaks UDPCL or TCPCLv4 from
// the test process itself, so tests can put bundles into a constellation of real node processes
// and collect what comes back.
import { createSocket } from 'node:dgram';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { BundleSink, PeerInfo } from '../../flight/cla/cla.js';
import { TcpCla } from '../../flight/cla/tcpcl.js';
import { UdpCla } from '../../flight/cla/udp.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { DEFAULT_WAIT_MS, until } from './wait.js';

/** A port free a moment ago for both TCP and UDP on 127.0.0.1 (a node listens on both with
 *  one number): bound with port 0, then released. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await freeTcpPort();
    if (await udpPortFree(port)) return port;
  }
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

const LOOPBACK_ADDRESS = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/;

/**
 * Copies the mission in `source` (a folder with mission.json and node configs, such as
 * flight/config/missions/local) to `target`, with every loopback address in its JSON files
 * moved to a free port, the same old port to the same new one in every file, so the copy runs
 * beside the original (`npm start`), and every relative path out of the folder made absolute.
 * Returns each old port with its new one.
 */
export async function copyMissionWithFreePorts(source: string, target: string): Promise<Map<number, number>> {
  cpSync(source, target, { recursive: true });
  const files = readdirSync(target).filter((name) => name.endsWith('.json')).map((name) => join(target, name));
  const configs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as unknown);
  const ports = new Map<number, number>();
  const collect = (value: unknown): void => {
    if (typeof value === 'string') {
      const m = LOOPBACK_ADDRESS.exec(value);
      if (m) ports.set(Number(m[2]), 0);
    } else if (value !== null && typeof value === 'object') {
      Object.values(value).forEach(collect);
    }
  };
  configs.forEach(collect);
  const taken = new Set<number>();
  for (const old of ports.keys()) {
    let port = await freePort();
    while (taken.has(port) || ports.has(port)) port = await freePort();
    taken.add(port);
    ports.set(old, port);
  }
  const remap = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const m = LOOPBACK_ADDRESS.exec(value);
      if (m) return `${m[1]}:${ports.get(Number(m[2]))}`;
      // A path out of the mission's folder (the satellites' model in ../shared) names the same file from the copy.
      return value.startsWith('../') ? resolve(source, value) : value;
    }
    if (Array.isArray(value)) return value.map(remap);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, remap(v)]));
    }
    return value;
  };
  files.forEach((file, i) => writeFileSync(file, `${JSON.stringify(remap(configs[i]), null, 2)}\n`));
  // A fresh clone has its keys as git keeps them (no modes); a node refuses a secret key others
  // can read. Tests that start nodes themselves get owner-only keys, as `tern mission` makes them.
  const keys = join(target, 'keys');
  if (existsSync(keys)) for (const name of readdirSync(keys).filter((n) => n.endsWith('.key'))) chmodSync(join(keys, name), 0o600);
  return ports;
}

export interface NodeSpec {
  id: number;
  port: number;
  /** neighbour node -> [cla, port] */
  neighbours?: Record<number, ['tcp' | 'udp', number]>;
  routes?: Record<string, number>;
  dtn?: Record<string, unknown>;
  /** Extra fields of the cla.tcp section. */
  tcp?: Record<string, unknown>;
  minorFrameMs?: number;
  /** Tasks run besides the bundle agent's in each of the 5 slots (e.g. cmd.dispatch). */
  tasks?: [string[], string[], string[], string[], string[]];
  /** Further top-level sections (cmd) and fields of tlm (downlink). */
  cmd?: Record<string, unknown>;
  tlm?: Record<string, unknown>;
}

/** Writes dir/node-<id>.json and returns its path; the node listens on UDP and TCP at `port`. */
export function writeNodeConfig(dir: string, spec: NodeSpec): string {
  mkdirSync(dir, { recursive: true });
  const io = ['dtn.ingest', 'dtn.dispatch'];
  const slots = [io, io, io, [...io, 'dtn.store'], [...io, 'tlm.housekeeping']].map((slot, i) => [...slot, ...(spec.tasks?.[i] ?? [])]);
  const table = { minorFrameMs: spec.minorFrameMs ?? 10, slots };
  const neighbours = Object.fromEntries(
    Object.entries(spec.neighbours ?? {}).map(([node, [cla, port]]) => [node, { cla, address: `127.0.0.1:${port}` }]),
  );
  const config = {
    node: { id: spec.id },
    dataDir: join(dir, `data-${spec.id}`),
    log: { level: 'info' },
    tlm: { summaryEveryMajorFrames: 100, ...spec.tlm },
    dtn: spec.dtn ?? {},
    cla: {
      udp: { listen: `127.0.0.1:${spec.port}` },
      tcp: { listen: `127.0.0.1:${spec.port}`, keepaliveS: 5, ...spec.tcp },
      neighbours,
    },
    routes: spec.routes ?? {},
    ...(spec.cmd ? { cmd: spec.cmd } : {}),
    exec: { modes: { BOOT: table, NOMINAL: table, SAFE: table } },
  };
  const file = join(dir, `node-${spec.id}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A peer in the test process: collects what it receives, acknowledging at once. */
export class GroundPeer implements BundleSink {
  readonly received: Array<{ bytes: Uint8Array; from: PeerInfo }> = [];
  readonly tcp: TcpCla;
  readonly udp: UdpCla;

  constructor(readonly node: number) {
    const log = createRootLogger({ level: 'silent' });
    const tlm = new TelemetryRegistry();
    const events = new EventLog(log, () => 0);
    this.tcp = new TcpCla({
      localNodeId: `ipn:${node}.0`, keepaliveS: 5, segmentMru: 1 << 20, transferMru: 16 << 20, maxInboundPending: 8,
      handshakeTimeoutMs: 5000, transferTimeoutMs: 10_000, closeTimeoutMs: 2000, maxSessions: 16,
      sink: this, tlm, events, log,
    });
    this.udp = new UdpCla({ maxDatagramBytes: 65_507, maxInboundPending: 64, sink: this, tlm, events, log });
  }

  accept(bytes: Uint8Array, from: PeerInfo): Promise<void> {
    this.received.push({ bytes, from });
    return Promise.resolve();
  }

  /** Resolves once `count` bundles have arrived (or rejects at the deadline). */
  waitFor(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return until(() => this.received.length >= count, `${count} bundles at ground peer ${this.node}`, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all([this.tcp.close(), this.udp.close()]);
  }
}
