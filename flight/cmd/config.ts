// The `cmd` section of a mission config: the genesis operators and k (the root of trust of the
// key store), the verification backend, and the dispatcher's per-slot bounds. Rates and windows
// that operators tune in flight are parameters (CMD_PARAMS), not config.
//
//   "cmd": {
//     "approvals": 2,
//     "operators": [
//       { "id": 1, "name": "alice", "roles": ["operate", "approve"], "publicKeyFile": "keys/alice.pub.json" },
//       { "id": 2, "name": "bob", "roles": ["approve"], "publicKey": "<base64 ML-DSA-65 public key>" }
//     ],
//     "backend": "auto",
//     "dispatch": { "budgetUs": 20000, "queue": 64, "envelopesPerSlot": 16, "verificationsPerSlot": 2,
//                   "executionsPerSlot": 4, "pendingApprovals": 16 },
//     "sequence": { "budgetUs": 5000, "stepsPerSlot": 4 },
//     "uplink": { "incomingBytes": 67108864 },
//     "session": { "identityKeyFile": "keys/node-7.key", "rekeyS": 3600, "rekeyBlocks": 1000000, "offerMaxAgeS": 600,
//                  "offerRetryS": 60, "handshakesPerMinute": 30, "gatewayFor": [],
//                  "peers": [ { "node": 8, "publicKeyFile": "keys/node-8.key.pub.json", "gatewayFor": [100] } ] }
//   }
// `session` is optional: without it the node has no BPSec session keys. With it, every bundle
// this node sends towards a listed peer, or towards a node a peer is the gateway for (the ground
// console behind a ground station), travels with its payload under a BCB for that peer; a node
// opens the bundles sealed for the nodes in its own `gatewayFor` (flight/dtn/DESIGN.md).
import { dirname, resolve } from 'node:path';
import type { Fields } from '../config/fields.js';
import { ConfigError } from '../errors.js';
import { readPublicKeyFile } from './keyfile.js';
import { join } from '../config/fields.js';
import type { DispatcherLimits } from './dispatcher.js';
import type { MlDsaBackendName } from './mldsa.js';
import { ML_DSA_LENGTHS, nodeHasMlDsa } from './mldsa.js';
import type { OperatorSpec, Role } from './operators.js';
import { INCOMING_BYTES } from './uplink.js';

export interface CmdConfig {
  readonly approvals: number;
  readonly operators: readonly OperatorSpec[];
  readonly backend: MlDsaBackendName | 'auto';
  readonly dispatch: DispatcherLimits & { readonly budgetUs: number };
  readonly sequence: { readonly budgetUs: number; readonly stepsPerSlot: number };
  /** The file service (uplink.ts); absent: its defaults. */
  readonly uplink?: { readonly incomingBytes: number };
  readonly session?: SessionConfig;
}

export interface SessionConfig {
  /** Secret ML-DSA-65 key file of this node (tern gse keygen format), absolute path. */
  readonly identityKeyFile: string;
  readonly peers: ReadonlyMap<number, SessionPeer>;
  /** Nodes outside the sessions this node is the gateway for: it opens bundles sealed for them. */
  readonly gatewayFor: ReadonlySet<number>;
  readonly rekeyS: number;
  readonly rekeyBlocks: number;
  readonly offerMaxAgeS: number;
  readonly offerRetryS: number;
  readonly handshakesPerMinute: number;
}

export interface SessionPeer {
  /** The peer's ML-DSA-65 identity public key. */
  readonly publicKey: Uint8Array;
  /** Nodes the peer is the gateway for: bundles for them are sealed for the peer, which opens them. */
  readonly gatewayFor: ReadonlySet<number>;
}

const ROLES = ['operate', 'approve'] as const satisfies readonly Role[];
const PUBLIC_KEY_BYTES = ML_DSA_LENGTHS['ML-DSA-65'].publicKey;

function publicKey(f: Fields, text: string, field: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (bytes.length !== PUBLIC_KEY_BYTES || Buffer.from(bytes).toString('base64') !== text.replace(/\s/g, '')) {
    f.fail(field, `base64 of a ${PUBLIC_KEY_BYTES}-byte ML-DSA-65 public key`, `${text.length} characters`);
  }
  return bytes;
}

/** Reads a public key file written by `tern gse keygen` (FILE.pub.json). */
function publicKeyFile(f: Fields, path: string, field: string): Uint8Array {
  try {
    return readPublicKeyFile(path).publicKey;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return f.fail(field, 'a readable public key file (tern gse keygen writes FILE.pub.json)', error.message);
  }
}

/** The public key of an entry with exactly one of publicKey (base64) and publicKeyFile. */
function keyOf(f: Fields, o: Record<string, unknown>, at: string): Uint8Array {
  if ((o.publicKey === undefined) === (o.publicKeyFile === undefined)) f.fail(at, 'exactly one of publicKey, publicKeyFile');
  return o.publicKey !== undefined
    ? publicKey(f, f.string(o.publicKey, join(at, 'publicKey')), join(at, 'publicKey'))
    : publicKeyFile(f, resolve(dirname(f.file), f.string(o.publicKeyFile, join(at, 'publicKeyFile'))), join(at, 'publicKeyFile'));
}

function nodeSet(f: Fields, raw: unknown, field: string): Set<number> {
  if (raw === undefined) return new Set();
  return new Set(f.array(raw, field).map((n, i) => f.integer(n, join(field, i), 1, Number.MAX_SAFE_INTEGER)));
}

function parseSession(f: Fields, raw: unknown, field: string): SessionConfig {
  const s = f.object(raw, field, ['identityKeyFile', 'peers', 'gatewayFor', 'rekeyS', 'rekeyBlocks', 'offerMaxAgeS', 'offerRetryS', 'handshakesPerMinute']);
  const peers = new Map<number, SessionPeer>();
  f.array(s.peers, join(field, 'peers')).forEach((entry, i) => {
    const at = join(join(field, 'peers'), i);
    const p = f.object(entry, at, ['node', 'publicKey', 'publicKeyFile', 'gatewayFor']);
    const node = f.integer(p.node, join(at, 'node'), 1, Number.MAX_SAFE_INTEGER);
    if (peers.has(node)) f.fail(join(at, 'node'), 'a node listed once', node);
    peers.set(node, { publicKey: keyOf(f, p, at), gatewayFor: nodeSet(f, p.gatewayFor, join(at, 'gatewayFor')) });
  });
  // A node reached through a gateway must not be a peer itself, nor behind two gateways.
  const behind = new Map<number, number>();
  for (const [peer, { gatewayFor }] of peers) {
    for (const node of gatewayFor) {
      if (peers.has(node)) f.fail(join(field, 'peers'), `node ${node} either a peer or behind a gateway, not both`);
      if (behind.has(node)) f.fail(join(field, 'peers'), `node ${node} behind one gateway, not nodes ${behind.get(node)} and ${peer}`);
      behind.set(node, peer);
    }
  }
  return {
    identityKeyFile: resolve(dirname(f.file), f.string(s.identityKeyFile, join(field, 'identityKeyFile'))),
    peers,
    gatewayFor: nodeSet(f, s.gatewayFor, join(field, 'gatewayFor')),
    rekeyS: s.rekeyS === undefined ? 3600 : f.integer(s.rekeyS, join(field, 'rekeyS'), 10, 30 * 86400),
    rekeyBlocks: s.rekeyBlocks === undefined ? 1_000_000 : f.integer(s.rekeyBlocks, join(field, 'rekeyBlocks'), 1, 0xffff_fff0),
    offerMaxAgeS: s.offerMaxAgeS === undefined ? 600 : f.integer(s.offerMaxAgeS, join(field, 'offerMaxAgeS'), 1, 86400),
    offerRetryS: s.offerRetryS === undefined ? 60 : f.integer(s.offerRetryS, join(field, 'offerRetryS'), 1, 86400),
    handshakesPerMinute: s.handshakesPerMinute === undefined ? 30 : f.integer(s.handshakesPerMinute, join(field, 'handshakesPerMinute'), 1, 6000),
  };
}

function parseBackend(f: Fields, raw: unknown, field: string): CmdConfig['backend'] {
  const backend = raw === undefined ? 'auto' : f.oneOf(raw, field, ['auto', 'noble', 'node'] as const);
  if (backend === 'node' && !nodeHasMlDsa()) {
    f.fail(field, `auto or noble: node:crypto of Node ${process.version} (OpenSSL ${process.versions.openssl}) has no ML-DSA`, backend);
  }
  return backend;
}

export function parseCmdConfig(f: Fields, raw: unknown, field = 'cmd'): CmdConfig {
  const top = f.object(raw, field, ['approvals', 'operators', 'backend', 'dispatch', 'sequence', 'uplink', 'session']);
  const ids = new Set<number>();
  const keys = new Set<string>();
  const operators = f.array(top.operators, join(field, 'operators')).map((entry, i): OperatorSpec => {
    const at = join(join(field, 'operators'), i);
    const o = f.object(entry, at, ['id', 'name', 'roles', 'publicKey', 'publicKeyFile']);
    const id = f.integer(o.id, join(at, 'id'), 1, 0xffff_ffff);
    if (ids.has(id)) f.fail(join(at, 'id'), 'an id no other operator has', id);
    ids.add(id);
    const roles = f.array(o.roles, join(at, 'roles')).map((r, j) => f.oneOf(r, join(join(at, 'roles'), j), ROLES));
    if (roles.length === 0) f.fail(join(at, 'roles'), 'at least one role', roles);
    const key = keyOf(f, o, at);
    const text = Buffer.from(key).toString('base64');
    if (keys.has(text)) f.fail(at, 'a public key no other operator has');
    keys.add(text);
    return { id, name: o.name === undefined ? `operator-${id}` : f.string(o.name, join(at, 'name')), roles: [...new Set(roles)], publicKey: key };
  });
  const approvers = operators.filter((o) => o.roles.includes('approve')).length;
  const approvals = f.integer(top.approvals, join(field, 'approvals'), 1, 8);
  if (approvals > approvers) f.fail(join(field, 'approvals'), `at most the number of operators with the approve role (${approvers})`, approvals);
  if (!operators.some((o) => o.roles.includes('operate'))) f.fail(join(field, 'operators'), 'at least one operator with the operate role');

  const d = top.dispatch === undefined ? {} : f.object(top.dispatch, join(field, 'dispatch'),
    ['budgetUs', 'queue', 'envelopesPerSlot', 'verificationsPerSlot', 'executionsPerSlot', 'pendingApprovals']);
  const s = top.sequence === undefined ? {} : f.object(top.sequence, join(field, 'sequence'), ['budgetUs', 'stepsPerSlot']);
  const u = top.uplink === undefined ? {} : f.object(top.uplink, join(field, 'uplink'), ['incomingBytes']);
  const int = (obj: Record<string, unknown>, key: string, at: string, min: number, max: number, fallback: number): number =>
    obj[key] === undefined ? fallback : f.integer(obj[key], join(at, key), min, max);
  const dAt = join(field, 'dispatch');
  const sAt = join(field, 'sequence');
  const uAt = join(field, 'uplink');
  return {
    approvals,
    operators,
    backend: parseBackend(f, top.backend, join(field, 'backend')),
    dispatch: {
      budgetUs: int(d, 'budgetUs', dAt, 100, 1_000_000, 20_000),
      queue: int(d, 'queue', dAt, 1, 4096, 64),
      envelopesPerSlot: int(d, 'envelopesPerSlot', dAt, 1, 1024, 16),
      verificationsPerSlot: int(d, 'verificationsPerSlot', dAt, 1, 64, 2),
      executionsPerSlot: int(d, 'executionsPerSlot', dAt, 1, 64, 4),
      pendingApprovals: int(d, 'pendingApprovals', dAt, 1, 256, 16),
    },
    sequence: {
      budgetUs: int(s, 'budgetUs', sAt, 100, 1_000_000, 5_000),
      stepsPerSlot: int(s, 'stepsPerSlot', sAt, 1, 64, 4),
    },
    uplink: { incomingBytes: int(u, 'incomingBytes', uAt, 1 << 20, 2 ** 40, INCOMING_BYTES) },
    ...(top.session === undefined ? {} : { session: parseSession(f, top.session, join(field, 'session')) }),
  };
}
