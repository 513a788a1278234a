// Session keys between two nodes for BPSec confidentiality (BCB-AES-GCM, RFC 9173 section 4).
// A two-message handshake carried in bundles between the nodes' session endpoints (ipn:N.3),
// each message signed with the sender's ML-DSA-65 identity key:
//
//   offer  = [ "offer", 1, from, to, epoch, issuedMs, ek ]          ek: fresh ML-KEM-768 key
//   accept = [ "accept", 1, from, to, epoch, SHA-256(offer), c ]    c: ML-KEM-768 ciphertext to ek
//   rekey  = [ "rekey", 1, from, to, issuedMs ]                     "what you seal for me does not open"
//   wire   = [ body: bstr, ML-DSA-65 signature over body, context "tern-session-v1:<to>" ]
//
// Both ends derive, with HKDF-SHA256 (salt = SHA-256(offer body || accept body), info naming the
// two nodes and the epoch), one AES-256 key for the initiator-to-responder direction. A node
// seals for a peer only under a session it initiated, and opens what a peer sealed under the
// sessions that peer initiated. So each direction has its own handshake, and a node seals only
// once the accept proved the peer holds the key: a lost accept costs a retry, never a bundle
// the peer cannot open.
//
// The sealing side keeps its key in memory only: after a reboot it makes a new offer, so its
// 96-bit counter IV never repeats under one key. The opening side persists its keys (this
// epoch's and the one before, per peer) and the highest epoch accepted, so bundles sealed before
// its reboot still open after it and an offer captured before it is still a replay. A node whose
// keys are gone all the same (a new data directory, both record copies lost) asks the peer to
// rekey as soon as one of its BCBs does not open, rather than losing its bundles until the next
// scheduled rekey. ML-KEM and
// ML-DSA run through HandshakeCrypto, in a worker thread on a flight node (handshake-crypto.ts).
import { createHash, hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import { checkCborBounds, type CborBounds } from '../dtn/cbor.js';
import type { RegionMaker } from '../ecc/node.js';
import type { ProtectedRegion } from '../ecc/region.js';
import type { SecurityKey } from '../dtn/keys.js';
import type { SessionPeer } from './config.js';
import { ipn, eidToString } from '../dtn/eid.js';
import { TernError } from '../errors.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { CMD_EVENTS } from './dictionary.js';
import type { HandshakeCrypto } from './handshake-crypto.js';
import { RecordFile } from './record-file.js';
import { TokenBucket } from './token-bucket.js';

const VERSION = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
/** Opening keys kept per peer: the current epoch's and the one before (bundles in flight across a rekey). */
const OPENING_KEYS = 2;
export const SESSION_KEYS_REGION = 'session-keys';
/** Fields of each handshake message. */
const MESSAGE_FIELDS: Readonly<Record<string, number>> = { offer: 7, accept: 7, rekey: 5 };
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
/** A handshake message and its body, checked before cbor-x decodes them: flat arrays of numbers, strings and keys. */
const HANDSHAKE_BOUNDS: CborBounds = { maxDepth: 1, maxItems: 16, maxStringBytes: 8192, maps: false };

export class SessionRejected extends TernError {
  readonly code = 'CMD_SESSION_REJECTED';
  constructor(detail: string) {
    super(`session handshake rejected: ${detail}`);
    this.name = 'SessionRejected';
  }
}

/**
 * The link-input half of receiving a handshake message: bounds, CBOR and shape, no signature.
 * Throws SessionRejected for anything that is not `[body, signature]` with a version-1 body.
 */
export function decodeHandshake(wire: Uint8Array): { body: Uint8Array; signature: Uint8Array; fields: unknown[] } {
  let outer: unknown;
  let fields: unknown;
  try {
    checkCborBounds(wire, HANDSHAKE_BOUNDS);
    outer = cbor.decode(wire);
    if (!Array.isArray(outer) || outer.length !== 2 || !(outer[0] instanceof Uint8Array) || !(outer[1] instanceof Uint8Array)) throw new Error('not [body, signature]');
    checkCborBounds(outer[0], HANDSHAKE_BOUNDS);
    fields = cbor.decode(outer[0]);
  } catch (error) {
    throw new SessionRejected(`malformed handshake message: ${(error as Error).message}`);
  }
  const length = Array.isArray(fields) ? MESSAGE_FIELDS[String(fields[0])] : undefined;
  if (!Array.isArray(fields) || length === undefined || fields.length !== length || fields[1] !== VERSION) {
    throw new SessionRejected(`not a version ${VERSION} offer, accept or rekey request`);
  }
  const [body, signature] = outer as [Uint8Array, Uint8Array];
  return { body, signature, fields };
}

/** A handshake reached a node whose config has no `cmd.session`: it makes no session keys. */
export class SessionsAbsent extends TernError {
  readonly code = 'CMD_SESSION_NOT_CONFIGURED';
  constructor(file: string) {
    super(`this node makes no BPSec sessions: ${file} has no cmd.session section`);
    this.name = 'SessionsAbsent';
  }
}

export function sessionContext(to: number): Uint8Array {
  return new TextEncoder().encode(`tern-session-v1:${to}`);
}

/** The key this node seals bundles for one peer with, in the form BPSec's encryptBundle takes. */
export class SealingSession {
  private sealed = 0;

  constructor(
    readonly peer: number,
    readonly epoch: number,
    /** In the form BPSec's encryptBundle takes; its bytes read through a protected region when the node has one. */
    readonly key: SecurityKey,
    readonly establishedMs: number,
  ) {}

  get blocksSealed(): number {
    return this.sealed;
  }

  /** A 96-bit counter IV: unique under this key for 2^32 blocks, beyond any rekey limit. */
  nextIv(): Uint8Array {
    if (this.sealed >= 0xffff_ffff) throw new SessionRejected(`session with node ${this.peer} used all its IVs`);
    const iv = new Uint8Array(IV_BYTES);
    new DataView(iv.buffer).setUint32(8, ++this.sealed);
    return iv;
  }
}

export interface SessionChannels {
  readonly rekeys: Channel;
  readonly rekeyRequests: Channel;
  readonly offers: Channel;
  readonly rejected: Channel;
  readonly rateLimited: Channel;
}

export interface SessionOptions {
  readonly node: number;
  /** ML-KEM and ML-DSA (with this node's identity key), off the frame thread in flight. */
  readonly crypto: HandshakeCrypto;
  /** Peers (their ML-DSA-65 identity public keys, the nodes they are gateways for), by node number. */
  readonly peers: ReadonlyMap<number, SessionPeer>;
  /** Nodes this node is the gateway for. */
  readonly gatewayFor: ReadonlySet<number>;
  /** Where the opening keys persist (sessions.rec and its backup). */
  readonly dataDir: string;
  readonly wallMs: () => number;
  readonly rekeyMs: number;
  readonly rekeyBlocks: number;
  /** Oldest offer accepted (clock skew plus the delay of a relayed bundle). */
  readonly offerMaxAgeMs: number;
  /** An offer unanswered this long is made again. */
  readonly offerRetryMs: number;
  /** Handshake messages verified per minute at most: forged ones cannot buy unbounded ML-DSA work. */
  readonly handshakesPerMinute: number;
  /** Sends a handshake message to the session endpoint of `peer` (a bundle). */
  readonly send: (peer: number, wire: Uint8Array, lifetimeMs: number) => Promise<unknown>;
  readonly events: EventLog;
  readonly channels: SessionChannels;
  readonly onError: (error: Error) => void;
}

interface Offer {
  readonly epoch: number;
  readonly body: Uint8Array;
  readonly decapsulationKey: Uint8Array;
  readonly madeMs: number;
}

/** What the opening side keeps of a peer: persisted. */
interface Opening {
  /** Highest epoch accepted from this peer: an offer not newer is a replay. */
  lastEpoch: number;
  /** Newest first, at most OPENING_KEYS. */
  keys: Uint8Array[];
}

export class SessionKeys {
  private readonly sealing = new Map<number, SealingSession>();
  private readonly offers = new Map<number, Offer>();
  /** Peers an offer is being made for (its key generation and signature run off-thread). */
  private readonly offering = new Set<number>();
  /** When this node last asked each peer to rekey (wall ms). */
  private readonly rekeyAsked = new Map<number, number>();
  /** Received messages are handled one at a time, in order: each may change a peer's state. */
  private received: Promise<void> = Promise.resolve();
  private readonly opening = new Map<number, Opening>();
  private readonly record: RecordFile;
  private readonly handshakes: TokenBucket;
  private openingKeyList: SecurityKey[] = [];
  /** When protected: per peer (config order), the sealing key then OPENING_KEYS opening keys. */
  private region: ProtectedRegion | undefined;
  private peerIndex = new Map<number, number>();

  constructor(private readonly o: SessionOptions) {
    this.record = new RecordFile(join(o.dataDir, 'sessions.rec'));
    // A minute's worth at once: a node that starts (or restarts) handshakes with every peer together.
    this.handshakes = new TokenBucket(() => o.handshakesPerMinute / 60, () => o.handshakesPerMinute, o.wallMs());
    this.load();
  }

  /**
   * Keeps the keys in use in a critical protected region from now on: a flipped bit in a key
   * would fail every bundle of that link. BPSec reads each key's bytes through the region when it
   * seals or opens (the key objects' `key` reads the region).
   */
  protect(region: RegionMaker): void {
    if (this.o.peers.size === 0) return; // no peer, no keys to keep
    this.peerIndex = new Map([...this.o.peers.keys()].map((peer, i) => [peer, i]));
    this.region = region(SESSION_KEYS_REGION, new Uint8Array(this.peerIndex.size * (1 + OPENING_KEYS) * KEY_BYTES), true);
    for (const [peer, session] of this.sealing) {
      this.sealing.set(peer, new SealingSession(peer, session.epoch, this.keyIn(peer, 0, session.key.key, 'encrypt'), session.establishedMs));
    }
    this.listOpeningKeys();
  }

  /**
   * `key` as a SecurityKey: plain, or written to slot `slot` of `peer` (0 sealing, 1.. opening)
   * and read back through the region whenever BPSec takes its bytes.
   */
  private keyIn(peer: number, slot: number, key: Uint8Array, op: 'encrypt' | 'decrypt'): SecurityKey {
    // kid of an opening key: the security source a peer's BCBs name (its administrative endpoint).
    const kid = op === 'decrypt' ? { kid: eidToString(ipn(peer, 0)) } : {};
    const region = this.region;
    if (!region) return { ...kid, alg: 'dir', enc: 'A256GCM', ops: [op], key: Buffer.from(key) };
    const at = (this.peerIndex.get(peer)! * (1 + OPENING_KEYS) + slot) * KEY_BYTES;
    region.write(at, key);
    return {
      ...kid, alg: 'dir', enc: 'A256GCM', ops: [op],
      get key() {
        return Buffer.from(region.read(at, KEY_BYTES));
      },
    };
  }

  /**
   * The peer that opens bundles for `node`: `node` itself when it is a peer, else the peer that
   * is its gateway; undefined when bundles for `node` travel in clear.
   */
  acceptor(node: number): number | undefined {
    if (node === this.o.node) return undefined;
    if (this.o.peers.has(node)) return node;
    for (const [peer, { gatewayFor }] of this.o.peers) if (peer !== this.o.node && gatewayFor.has(node)) return peer;
    return undefined;
  }

  /** Whether this node opens bundles sealed for `node` before it forwards them. */
  gatewayFor(node: number): boolean {
    return this.o.gatewayFor.has(node);
  }

  /**
   * The session to seal bundles for `peer` with; undefined until one is established. Starts a
   * handshake when there is no session, or when the current one is due for a rekey (it stays in
   * use until the new one replaces it).
   */
  sealFor(peer: number): SealingSession | undefined {
    const current = this.sealing.get(peer);
    const now = this.o.wallMs();
    const due = !current || now - current.establishedMs >= this.o.rekeyMs || current.blocksSealed >= this.o.rekeyBlocks;
    const pending = this.offers.get(peer);
    if (due && !this.offering.has(peer) && (!pending || now - pending.madeMs >= this.o.offerRetryMs)) this.sendOffer(peer);
    return current;
  }

  /** Keys that open BCBs from session peers, in the form BPSec's decryptBundle takes. */
  openingKeys(): readonly SecurityKey[] {
    return this.openingKeyList;
  }

  /**
   * A handshake message from a peer's session endpoint: an offer is answered, an accept
   * completes. Messages over the rate limit are refused before any signature is checked.
   */
  receive(wire: Uint8Array): Promise<void> {
    if (!this.handshakes.take(this.o.wallMs())) {
      this.o.channels.rateLimited.add();
      return Promise.reject(new SessionRejected(`more than ${this.o.handshakesPerMinute} handshake messages a minute`));
    }
    const handled = this.received.then(() => this.handle(wire));
    // The chain only orders the messages; each caller gets its own message's outcome.
    this.received = handled.then(() => undefined, () => undefined);
    return handled;
  }

  private async handle(wire: Uint8Array): Promise<void> {
    try {
      const { body, fields } = await this.verified(wire);
      if (fields[0] === 'offer') {
        const { peer, reply } = await this.accept(body, fields);
        await this.o.send(peer, reply, this.o.offerMaxAgeMs);
      } else if (fields[0] === 'accept') {
        await this.complete(body, fields);
      } else {
        this.rekeyRequested(fields);
      }
    } catch (error) {
      if (error instanceof SessionRejected) this.o.channels.rejected.add();
      throw error;
    }
  }

  /** Initiator: a signed offer with a fresh ML-KEM-768 key for `peer`. */
  async offer(peer: number): Promise<Uint8Array> {
    this.peerKey(peer);
    const nowMs = this.o.wallMs();
    // Epochs grow with the clock, so they keep growing across a reboot without being stored.
    const epoch = Math.max(nowMs, (this.offers.get(peer)?.epoch ?? this.sealing.get(peer)?.epoch ?? 0) + 1);
    const { encapsulationKey, decapsulationKey } = await this.o.crypto.keygen();
    const body = cbor.encode(['offer', VERSION, this.o.node, peer, epoch, nowMs, encapsulationKey]);
    const wire = await this.signed(body, peer);
    this.offers.set(peer, { epoch, body, decapsulationKey, madeMs: nowMs });
    this.o.channels.offers.add();
    return wire;
  }

  private sendOffer(peer: number): void {
    this.offering.add(peer);
    this.offer(peer)
      .then((wire) => this.o.send(peer, wire, this.o.offerMaxAgeMs))
      .catch((error: Error) => this.o.onError(error))
      .finally(() => this.offering.delete(peer));
  }

  /**
   * A BCB that `peer` sealed opens under no key held here (they were lost, or are older than the
   * two kept): asks the peer, at most once per offerRetryMs, to drop its session and make a new
   * one, so that only the bundles already sealed under the lost keys are lost.
   */
  unreadable(peer: number): void {
    if (!this.o.peers.has(peer) || peer === this.o.node) return;
    const now = this.o.wallMs();
    const asked = this.rekeyAsked.get(peer);
    if (asked !== undefined && now - asked < this.o.offerRetryMs) return;
    this.rekeyAsked.set(peer, now);
    this.o.channels.rekeyRequests.add();
    this.o.events.emit(CMD_EVENTS.sessionUnreadable, { peer });
    this.signed(cbor.encode(['rekey', VERSION, this.o.node, peer, now]), peer)
      .then((wire) => this.o.send(peer, wire, this.o.offerMaxAgeMs))
      .catch((error: Error) => this.o.onError(error));
  }

  /**
   * Sealing side: the peer cannot open what this node seals. The session is dropped (bundles for
   * the peer wait, instead of going out under a key it lacks) and an offer goes out, unless the
   * session already is newer than the request.
   */
  private rekeyRequested(fields: unknown[]): void {
    const [, , from, , issuedMs] = fields as [string, number, number, number, number];
    if (Math.abs(this.o.wallMs() - issuedMs) > this.o.offerMaxAgeMs) throw new SessionRejected(`rekey request issued at ${issuedMs} is outside ${this.o.offerMaxAgeMs} ms of now`);
    const current = this.sealing.get(from);
    if (current && current.establishedMs > issuedMs) return;
    this.sealing.delete(from);
    // An offer already out makes keys the peer will hold just as well as a new one would.
    if (!this.offering.has(from) && !this.offers.has(from)) this.sendOffer(from);
  }

  /** Releases the worker thread of the handshake crypto. */
  close(): Promise<void> {
    return this.o.crypto.close();
  }

  /** Responder: checks an offer, keeps the key it gives, and answers it. */
  private async accept(offerBody: Uint8Array, fields: unknown[]): Promise<{ peer: number; reply: Uint8Array }> {
    const [, , from, , epoch, issuedMs, encapsulationKey] = fields as [string, number, number, number, number, number, Uint8Array];
    if (!Number.isSafeInteger(issuedMs) || !(encapsulationKey instanceof Uint8Array)) throw new SessionRejected('malformed offer');
    const opening = this.opening.get(from) ?? { lastEpoch: 0, keys: [] };
    if (epoch <= opening.lastEpoch) throw new SessionRejected(`offer epoch ${epoch} from node ${from} is not newer than ${opening.lastEpoch} (replay?)`);
    if (Math.abs(this.o.wallMs() - issuedMs) > this.o.offerMaxAgeMs) throw new SessionRejected(`offer issued at ${issuedMs} is outside ${this.o.offerMaxAgeMs} ms of now`);
    let encapsulated: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
    try {
      encapsulated = await this.o.crypto.encapsulate(encapsulationKey);
    } catch (error) {
      throw new SessionRejected(`offer's encapsulation key: ${(error as Error).message}`);
    }
    const { ciphertext, sharedSecret } = encapsulated;
    const acceptBody = cbor.encode(['accept', VERSION, this.o.node, from, epoch, sha256(offerBody), ciphertext]);
    const reply = await this.signed(acceptBody, from);
    // Received messages are handled one at a time (receive()): `opening` has not changed meanwhile.
    const key = deriveKey(sharedSecret, offerBody, acceptBody, from, this.o.node, epoch);
    this.opening.set(from, { lastEpoch: epoch, keys: [key, ...opening.keys].slice(0, OPENING_KEYS) });
    // Durable before the accept leaves: the initiator seals as soon as it has it.
    await this.save();
    this.established(from, epoch, 'opening');
    return { peer: from, reply };
  }

  /** Initiator: checks the answer to its outstanding offer and seals under the new key from now on. */
  private async complete(acceptBody: Uint8Array, fields: unknown[]): Promise<void> {
    const [, , from, , epoch, offerDigest, ciphertext] = fields as [string, number, number, number, number, Uint8Array, Uint8Array];
    const offer = this.offers.get(from);
    if (!offer || offer.epoch !== epoch) throw new SessionRejected(`no outstanding offer to node ${from} for epoch ${epoch}`);
    if (!(offerDigest instanceof Uint8Array) || !Buffer.from(offerDigest).equals(Buffer.from(sha256(offer.body)))) {
      throw new SessionRejected('accept answers another offer');
    }
    if (!(ciphertext instanceof Uint8Array)) throw new SessionRejected('malformed accept');
    let sharedSecret: Uint8Array;
    try {
      sharedSecret = await this.o.crypto.decapsulate(ciphertext, offer.decapsulationKey);
    } catch (error) {
      throw new SessionRejected(`accept's ciphertext: ${(error as Error).message}`);
    }
    // sealFor() may have made a newer offer while this one decapsulated: that one is answered next.
    if (this.offers.get(from) !== offer) throw new SessionRejected(`offer to node ${from} for epoch ${epoch} was replaced meanwhile`);
    this.offers.delete(from);
    const key = deriveKey(sharedSecret, offer.body, acceptBody, this.o.node, from, epoch);
    this.sealing.set(from, new SealingSession(from, epoch, this.keyIn(from, 0, key, 'encrypt'), this.o.wallMs()));
    this.region?.commit();
    this.established(from, epoch, 'sealing');
  }

  private established(peer: number, epoch: number, use: 'sealing' | 'opening'): void {
    this.o.channels.rekeys.add();
    this.o.events.emit(CMD_EVENTS.sessionRekeyed, { peer, epoch, use });
  }

  private async signed(body: Uint8Array, to: number): Promise<Uint8Array> {
    return cbor.encode([body, await this.o.crypto.sign(body, sessionContext(to))]);
  }

  /** Decodes a handshake message, checks its shape, addressee and sender signature. */
  private async verified(wire: Uint8Array): Promise<{ body: Uint8Array; fields: unknown[] }> {
    const { body, signature, fields } = decodeHandshake(wire);
    const [kind, , from, to, epoch] = fields as unknown[];
    if (to !== this.o.node) throw new SessionRejected(`${String(kind)} addressed to node ${String(to)}`);
    // The epoch of an offer or accept, the issue time of a rekey request.
    if (!Number.isSafeInteger(epoch)) throw new SessionRejected(`${String(kind)} epoch or time is not an integer`);
    if (!(await this.o.crypto.verify(this.peerKey(from), body, signature, sessionContext(this.o.node)))) {
      throw new SessionRejected(`${String(kind)} signature of node ${String(from)} does not verify`);
    }
    return { body, fields };
  }

  private peerKey(peer: unknown): Uint8Array {
    const key = typeof peer === 'number' ? this.o.peers.get(peer)?.publicKey : undefined;
    if (!key) throw new SessionRejected(`node ${String(peer)} is not a known peer`);
    return key;
  }

  // ---- Persistence of the opening side ------------------------------------------------------
  // sessions.rec payload: CBOR [1, [* [peer, lastEpoch, [* key]]]]

  private async save(): Promise<void> {
    const peers = [...this.opening].map(([peer, o]) => [peer, o.lastEpoch, o.keys]);
    this.listOpeningKeys();
    await this.record.writeAsync(cbor.encode([VERSION, peers]));
  }

  private listOpeningKeys(): void {
    this.openingKeyList = [...this.opening].flatMap(([peer, o]) => o.keys.map((key, i) => this.keyIn(peer, 1 + i, key, 'decrypt')));
    this.region?.commit();
  }

  private load(): void {
    const read = this.record.read((payload) => (parseOpening(payload) ? undefined : 'not a sessions record'));
    if (read.status === 'absent') return;
    if (read.status === 'lost') {
      // Bundles sealed under the lost keys no longer open; new offers make new keys.
      this.o.events.emit(CMD_EVENTS.recordLost, { file: this.record.path, problem: read.problem, fallback: 'session keys start empty' });
      return;
    }
    if (read.status === 'recovered') this.o.events.emit(CMD_EVENTS.recordRecovered, { file: this.record.path, problem: read.problem, from: read.from });
    for (const [peer, opening] of parseOpening(read.payload)!) if (this.o.peers.has(peer)) this.opening.set(peer, opening);
    this.listOpeningKeys();
  }
}

function parseOpening(payload: Uint8Array): Map<number, Opening> | undefined {
  let top: unknown;
  try {
    top = cbor.decode(payload);
  } catch {
    return undefined; // the CRC matched but the content is not ours: the caller says so
  }
  if (!Array.isArray(top) || top[0] !== VERSION || !Array.isArray(top[1])) return undefined;
  const out = new Map<number, Opening>();
  for (const entry of top[1] as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined;
    const [peer, lastEpoch, keys] = entry as [unknown, unknown, unknown];
    if (!Number.isSafeInteger(peer) || !Number.isSafeInteger(lastEpoch) || !Array.isArray(keys)) return undefined;
    if (!keys.every((k) => k instanceof Uint8Array && k.length === KEY_BYTES)) return undefined;
    out.set(peer as number, { lastEpoch: lastEpoch as number, keys: keys as Uint8Array[] });
  }
  return out;
}

function deriveKey(secret: Uint8Array, offerBody: Uint8Array, acceptBody: Uint8Array, initiator: number, responder: number, epoch: number): Uint8Array {
  const salt = createHash('sha256').update(offerBody).update(acceptBody).digest();
  return new Uint8Array(hkdfSync('sha256', secret, salt, `tern-bcb-v1|${initiator}>${responder}|${epoch}`, KEY_BYTES));
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
