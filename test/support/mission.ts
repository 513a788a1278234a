// Mission configs for multi-node tests, and a "ground" peer that speaks UDPCL or TCPCLv4 from
// the test process itself, so tests can put bundles into a constellation of real node processes
// and collect what comes back.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BundleSink, PeerInfo } from '../../flight/cla/cla.js';
import { TcpCla } from '../../flight/cla/tcpcl.js';
import { UdpCla } from '../../flight/cla/udp.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';

/** A port that was free a moment ago (bound with port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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
  private waiters: Array<() => void> = [];

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
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve();
  }

  /** Resolves once `count` bundles have arrived (or rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`ground peer got ${this.received.length} of ${count} bundles`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.tcp.close(), this.udp.close()]);
  }
}
