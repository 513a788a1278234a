// Bundle agents with real stores and real BPSec session keys (flight/cmd/session.ts), wired as
// flight/app.ts wires them: bundles for a session peer wait for the handshake (carried in
// bundles between the session endpoints), then leave with the payload under a BCB; the peer
// opens it at delivery, also after fragmentation and reassembly, or, as the gateway of the
// destination, before it forwards the bundle on.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BundleLink, PeerInfo } from '../../flight/cla/cla.js';
import { NobleMlDsa } from '../../flight/cmd/mldsa.js';
import { InThreadCrypto } from '../../flight/cmd/handshake-crypto.js';
import { SessionKeys } from '../../flight/cmd/session.js';
import { BundleAgent, SERVICE, type NeighbourLink } from '../../flight/dtn/agent.js';
import { encryptBundle } from '../../flight/dtn/bpsec.js';
import { BlockType, dtnNow, payloadBlock, type Bundle } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { CreationClock } from '../../flight/dtn/creation.js';
import { eidToString, ipn } from '../../flight/dtn/eid.js';
import { BundleStore } from '../../flight/dtn/store/store.js';
import type { Task } from '../../flight/exec/task.js';
import { createRootLogger } from '../../flight/log.js';
import { StaticRouter } from '../../flight/route/router.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { until } from '../support/wait.js';

const silent = createRootLogger({ level: 'silent' });
const dsa = new NobleMlDsa('ML-DSA-65');
const seedOf = (node: number): Uint8Array => new Uint8Array(createHash('sha256').update(`tern test node ${node} identity`).digest());
/** Nodes 1 and 2 are session peers; node 2 is the gateway of node 3, which is none. */
const GATEWAY = 2;
const BEHIND = 3;
const PEERS = new Map([1, 2].map((n) => [n, { publicKey: dsa.publicKey(seedOf(n)), gatewayFor: new Set(n === GATEWAY ? [BEHIND] : []) }]));

class WireLink implements BundleLink {
  readonly peer: PeerInfo;
  readonly sent: Uint8Array[] = [];
  constructor(from: number, private readonly to: () => { accept(bytes: Uint8Array, from: PeerInfo): Promise<void> }) {
    this.peer = { cla: 'tcp', address: '127.0.0.1', port: from, nodeId: `ipn:${from}.0` };
  }
  async send(bytes: Uint8Array): Promise<void> {
    this.sent.push(bytes);
    await this.to().accept(bytes, this.peer);
  }
}

interface Node {
  agent: BundleAgent;
  sessions: SessionKeys;
  link: WireLink;
  tasks: Map<string, Task>;
  value(name: string): number;
  received: string[];
  /** What delivery told service 42 about each bundle: the peer that sealed it. */
  arrivals: Array<{ sealedBy?: number }>;
}

const stores: BundleStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** Node `id` (1 or 2), linked to the other; node 2 also to node 3, whose bundles `behind` takes. */
async function node(id: number, peer: () => Node, maxBundleBytes: number, behind?: WireLink): Promise<Node> {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(silent, () => 0);
  const store = await BundleStore.open({ dir: mkdtempSync(join(tmpdir(), 'tern-bcb-')), capacityBytes: 16 << 20, log: silent, tlm, events });
  stores.push(store);
  const link = new WireLink(id, () => peer().agent);
  const other = id === 1 ? 2 : 1;
  const links = {
    link: (n: number): NeighbourLink | undefined =>
      n === other ? { link, maxBundleBytes } : n === BEHIND && behind ? { link: behind, maxBundleBytes } : undefined,
  };
  // Node 1 reaches node 3 through node 2.
  const router = new StaticRouter(new Map(id === 1 ? [[BEHIND, GATEWAY]] : []), undefined);
  const creation = CreationClock.persistent(join(mkdtempSync(join(tmpdir(), 'tern-bcb-seq-')), 'creation.seq'));
  const agent = new BundleAgent({ node: id, store, router, links, tlm, events, log: silent, limits: { retryMs: 0 }, creation });
  const def = (name: string) => tlm.define({ name, type: 'u64', units: '', doc: '' });
  const sessions = new SessionKeys({
    node: id, crypto: new InThreadCrypto(dsa, seedOf(id)), peers: PEERS, gatewayFor: new Set(id === GATEWAY ? [BEHIND] : []),
    dataDir: mkdtempSync(join(tmpdir(), 'tern-bcb-keys-')), wallMs: Date.now,
    rekeyMs: 3_600_000, rekeyBlocks: 1000, offerMaxAgeMs: 600_000, offerRetryMs: 60_000, handshakesPerMinute: 60,
    send: (to, wire, lifetimeMs) => agent.send({ destination: ipn(to, SERVICE.session), service: SERVICE.session, payload: wire, lifetimeMs }),
    events, channels: { rekeys: def('rekeys'), rekeyRequests: def('rekeyRequests'), offers: def('offers'), rejected: def('rejected'), rateLimited: def('rateLimited') },
    onError: (error) => {
      throw error;
    },
  });
  agent.protectWith(sessions);
  agent.register(SERVICE.session, (bundle) => sessions.receive(payloadBlock(bundle).data));
  const received: string[] = [];
  const arrivals: Array<{ sealedBy?: number }> = [];
  agent.register(42, (bundle, arrival) => {
    received.push(new TextDecoder().decode(payloadBlock(bundle).data));
    arrivals.push(arrival);
  });
  const tasks = new Map(agent.tasks().map((t): [string, Task] => [t.name, t]));
  return { agent, sessions, link, tasks, received, arrivals, value: (name) => tlm.get(name)!.value };
}

async function pair(maxBundleBytes = 1 << 20, behind?: WireLink): Promise<[Node, Node]> {
  const nodes: Node[] = [];
  nodes.push(await node(1, () => nodes[1]!, maxBundleBytes));
  nodes.push(await node(2, () => nodes[0]!, maxBundleBytes, behind));
  return [nodes[0]!, nodes[1]!];
}

/** Runs both agents' tasks, a round per poll, until `done` holds. */
async function pump(nodes: readonly Node[], done: () => boolean): Promise<void> {
  const frame = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
  await until(() => {
    if (done()) return true;
    for (const n of nodes) {
      n.tasks.get('dtn.ingest')!.run(frame);
      n.tasks.get('dtn.dispatch')!.run(frame);
    }
    return false;
  }, 'the agents to finish the exchange');
}

const decoded = (link: WireLink): Bundle[] => link.sent.map((bytes) => decodeBundle(bytes));
const toService = (bundles: Bundle[], service: number): Bundle[] => bundles.filter((b) => b.primary.destination.scheme === 'ipn' && b.primary.destination.service === service);

describe('bundle agent with BPSec session keys', () => {
  it('holds a bundle for a peer until the handshake completes, then sends its payload under a BCB the peer opens', async () => {
    const [one, two] = await pair();
    const secret = 'telemetry only node 2 may read';
    await one.agent.send({ destination: ipn(2, 42), service: 42, payload: new TextEncoder().encode(secret), lifetimeMs: 60_000 });
    await pump([one, two], () => two.received.length === 1);
    expect(two.received).toEqual([secret]);
    // The service hears which peer sealed it (commands are queued by it, flight/cmd/source-queues.ts).
    expect(two.arrivals).toEqual([{ sealedBy: 1 }]);
    expect(one.value('dtn.bcb.awaitingSession')).toBeGreaterThan(0);
    expect(one.value('dtn.bcb.sealed')).toBe(1);

    const sent = decoded(one.link);
    // The offer travelled in clear (it is signed, and it must not wait for itself) ...
    const [offer] = toService(sent, SERVICE.session);
    expect(offer!.encrypted.size).toBe(0);
    // ... and the data bundle with a BCB whose security source is node 1, the plaintext nowhere on the wire.
    const [data] = toService(sent, 42);
    const bcb = data!.security.find((s) => s.block.type === BlockType.confidentiality)!;
    expect(eidToString(bcb.asb!.source)).toBe('ipn:1.0');
    expect(bcb.asb!.targets).toEqual([payloadBlock(data!).number]);
    expect(one.link.sent.some((bytes) => Buffer.from(bytes).includes(Buffer.from(secret)))).toBe(false);
    // The reply direction has its own handshake: node 2 seals for node 1 under node 2's session.
    await two.agent.send({ destination: ipn(1, 42), service: 42, payload: new TextEncoder().encode('back to 1'), lifetimeMs: 60_000 });
    await pump([one, two], () => one.received.length === 1);
    expect(one.received).toEqual(['back to 1']);
    expect(one.arrivals).toEqual([{ sealedBy: 2 }]);
    expect(toService(decoded(two.link), 42)[0]!.encrypted.size).toBe(1);
  });

  it('seals before fragmenting: every fragment carries the BCB, and the peer opens the reassembled payload', async () => {
    const [one, two] = await pair(700);
    const big = randomBytes(3000).toString('base64');
    await one.agent.send({ destination: ipn(2, 42), service: 42, payload: new TextEncoder().encode(big), lifetimeMs: 60_000 });
    await pump([one, two], () => two.received.length === 1);
    expect(two.received).toEqual([big]);
    const fragments = toService(decoded(one.link), 42);
    expect(fragments.length).toBeGreaterThan(3);
    for (const f of fragments) {
      expect(f.primary.fragment).toBeDefined();
      expect(f.security.some((s) => s.block.type === BlockType.confidentiality)).toBe(true);
    }
  });

  it('refuses to deliver a payload no key opens: counted as a failed security operation, removed from the store', async () => {
    const [one, two] = await pair();
    const plain = createBundle({
      source: ipn(1, 42), destination: ipn(2, 42), creationTime: dtnNow(), sequence: 0, lifetime: 60_000, payload: new TextEncoder().encode('forged'),
    });
    // Sealed under a key node 2 never agreed with node 1.
    const forged = encryptBundle(plain, { key: { alg: 'dir', enc: 'A256GCM', key: randomBytes(32) }, source: ipn(1, 0), targets: [1] });
    await two.agent.accept(forged.bytes, one.link.peer);
    await pump([two], () => two.value('dtn.agent.deliveryFailures') === 1);
    expect(two.received).toEqual([]);
    expect(two.value('dtn.reject.confidentiality')).toBe(1);
    // Also once node 2 holds a key for node 1: the tag does not verify under it.
    await one.agent.send({ destination: ipn(2, 42), service: 42, payload: new TextEncoder().encode('real'), lifetimeMs: 60_000 });
    await pump([one, two], () => two.received.length === 1);
    await two.agent.accept(encryptBundle({ ...plain, ...createBundle({ source: ipn(1, 42), destination: ipn(2, 42), creationTime: dtnNow(), sequence: 1, lifetime: 60_000, payload: new Uint8Array(8) }) },
      { key: { alg: 'dir', enc: 'A256GCM', key: randomBytes(32) }, source: ipn(1, 0), targets: [1] }).bytes, one.link.peer);
    await pump([two], () => two.value('dtn.agent.deliveryFailures') === 2);
    expect(two.value('dtn.reject.confidentiality')).toBe(2);
    expect(two.received).toEqual(['real']);
    // A bundle in clear reaches the service too, with no peer named as its sealer.
    await two.agent.accept(createBundle({ source: ipn(1, 42), destination: ipn(2, 42), creationTime: dtnNow(), sequence: 2, lifetime: 60_000, payload: new TextEncoder().encode('clear') }).bytes, one.link.peer);
    await pump([two], () => two.received.length === 2);
    expect(two.arrivals).toEqual([{ sealedBy: 1 }, {}]);
  });

  it('seals bundles for a node behind a gateway peer for the gateway, which opens them and forwards them on in clear', async () => {
    const atThree: Bundle[] = [];
    const three = new WireLink(GATEWAY, () => ({ accept: async (bytes: Uint8Array) => void atThree.push(decodeBundle(bytes)) }));
    const [one, two] = await pair(1 << 20, three);
    await one.agent.send({ destination: ipn(BEHIND, 2), service: 2, payload: new TextEncoder().encode('downlink'), lifetimeMs: 60_000 });
    await pump([one, two], () => atThree.length === 1);
    const [crossed] = toService(decoded(one.link), 2);
    expect(eidToString(crossed!.security.find((s) => s.block.type === BlockType.confidentiality)!.asb!.source)).toBe('ipn:1.0');
    expect(atThree[0]!.encrypted.size).toBe(0);
    expect(new TextDecoder().decode(payloadBlock(atThree[0]!).data)).toBe('downlink');
    // A bundle for node 3 sealed under a key the gateway does not hold is deleted, not forwarded.
    const plain = createBundle({ source: ipn(1, 2), destination: ipn(BEHIND, 2), creationTime: dtnNow(), sequence: 9, lifetime: 60_000, payload: new Uint8Array(4) });
    await two.agent.accept(encryptBundle(plain, { key: { alg: 'dir', enc: 'A256GCM', key: randomBytes(32) }, source: ipn(1, 0), targets: [1] }).bytes, one.link.peer);
    await pump([two], () => two.value('dtn.reject.confidentiality') === 1);
    expect(atThree).toHaveLength(1);
  });
});
