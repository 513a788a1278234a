// One bundle agent in process for the agent tests: a real bundle store on disk (io seam
// optional), a creation mark on disk, a link to node 2 the test controls, and the agent's tasks
// run by hand. Waits are conditions (test/support/wait.ts), never fixed sleeps.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BundleLink, PeerInfo } from '../../flight/cla/cla.js';
import { BundleAgent, type AgentLimits, type NeighbourLink } from '../../flight/dtn/agent.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { dtnNow, type Bundle } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { CreationClock } from '../../flight/dtn/creation.js';
import { ipn } from '../../flight/dtn/eid.js';
import type { SecurityKey } from '../../flight/dtn/keys.js';
import { BundleStore, type BundleStoreOptions } from '../../flight/dtn/store/store.js';
import type { Task } from '../../flight/exec/task.js';
import { createRootLogger } from '../../flight/log.js';
import { StaticRouter, type Router } from '../../flight/route/router.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { until } from '../support/wait.js';

export const FROM: PeerInfo = { cla: 'tcp', address: '127.0.0.1', port: 1, nodeId: 'ipn:5.0' };
export const silent = createRootLogger({ level: 'silent' });

export class FakeLink implements BundleLink {
  readonly peer = FROM;
  sent: Uint8Array[] = [];
  fail = false;
  /** Whether there is a contact with node 2 now. */
  up = true;
  async send(bytes: Uint8Array): Promise<void> {
    if (this.fail) throw new Error('session lost');
    this.sent.push(bytes);
  }
}

export interface Setup {
  agent: BundleAgent;
  store: BundleStore;
  tlm: TelemetryRegistry;
  link: FakeLink;
  /** Names of the events emitted. */
  events: string[];
  /** The store's directory and the creation mark's path, to open them again (a restart). */
  dir: string;
  markPath: string;
  run(name: string): void;
  value(name: string): number;
  /** Runs a dtn.dispatch slot and waits until what it started has finished. */
  dispatch(): Promise<void>;
}

export interface SetupOptions {
  /** The agent's node number (1 by default). */
  node?: number;
  strictBlockNumbers?: boolean;
  limits?: Partial<AgentLimits>;
  now?: () => number;
  keys?: SecurityKey[];
  router?: Router;
  /** Open this store directory and mark (a restart) instead of new ones. */
  dir?: string;
  markPath?: string;
  store?: Partial<BundleStoreOptions>;
}

const open: BundleStore[] = [];

/** Closes the stores the tests opened (afterEach). */
export async function closeStores(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
}

export async function setup(options: SetupOptions = {}): Promise<Setup> {
  const now = options.now ?? Date.now;
  const tlm = new TelemetryRegistry();
  const events = new EventLog(silent, () => 0);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tern-agent-'));
  const markPath = options.markPath ?? join(mkdtempSync(join(tmpdir(), 'tern-agent-seq-')), 'creation.seq');
  const store = await BundleStore.open({ dir, capacityBytes: 64 << 20, log: silent, tlm, events, ...options.store });
  open.push(store);
  const link = new FakeLink();
  const links = { link: (node: number): NeighbourLink | undefined => (node === 2 && link.up ? { link, maxBundleBytes: 1 << 20 } : undefined) };
  const agent = new BundleAgent({
    node: options.node ?? 1, strictBlockNumbers: options.strictBlockNumbers ?? false, store, router: options.router ?? new StaticRouter(new Map([[3, 2]]), undefined), links, tlm, events, log: silent,
    limits: { retryMs: 0, ...options.limits }, now, keys: options.keys ?? [], creation: CreationClock.persistent(markPath, now),
  });
  const tasks = new Map(agent.tasks().map((t): [string, Task] => [t.name, t]));
  const frame = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
  const seen: string[] = [];
  events.onEvent((e) => seen.push(e.name));
  const run = (name: string): void => tasks.get(name)!.run(frame);
  const value = (name: string): number => tlm.get(name)!.value;
  return {
    agent, store, tlm, link, events: seen, dir, markPath, run, value,
    dispatch: async () => {
      run('dtn.dispatch');
      await until(() => value('dtn.agent.inFlight') === 0, 'the dispatched bundles to finish');
    },
  };
}

export function bundle(destination: number, service: number, seq: number, payload = 'hello'): Bundle {
  return createBundle({
    destination: ipn(destination, service), source: ipn(5, 1), creationTime: dtnNow(), sequence: seq, lifetime: 60_000,
    blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: new TextEncoder().encode(payload),
  });
}
