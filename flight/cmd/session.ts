// Session keys between two nodes for BPSec confidentiality (BCB, AES-256-GCM as RFC 9173 uses
// it). A two-message handshake, each message signed with the sender's ML-DSA-65 identity key:
//
//   offer  = [ "offer", 1, from, to, epoch, issuedMs, ek ]          ek: fresh ML-KEM-768 key
//   accept = [ "accept", 1, from, to, epoch, SHA-256(offer), c ]    c: ML-KEM-768 ciphertext to ek
//   wire   = [ body: bstr, ML-DSA-65 signature over body, context "tern-session-v1:<to>" ]
//
// Both ends then derive, with HKDF-SHA256 (salt = SHA-256(offer body || accept body), info
// naming the direction and epoch), one AES-256 key per direction and an 8-byte key id. The
// initiator makes a new offer when the session is older than rekeyMs or has sealed rekeyBlocks
// blocks; the previous session stays usable for decryption until the next one replaces it, so
// bundles in flight across a rekey still open. Keys live in memory only: after a reboot the
// node simply rekeys, and a counter IV can never repeat under one key.
import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { TernError } from '../errors.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { CMD_EVENTS } from './dictionary.js';
import type { MlDsa } from './mldsa.js';
import { MlKem } from './mlkem.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export class SessionRejected extends TernError {
  readonly code = 'CMD_SESSION_REJECTED';
  constructor(detail: string) {
    super(`session handshake rejected: ${detail}`);
    this.name = 'SessionRejected';
  }
}

export class BcbOpenFailed extends TernError {
  readonly code = 'CMD_BCB_OPEN_FAILED';
  constructor(detail: string) {
    super(`BCB block does not open: ${detail}`);
    this.name = 'BcbOpenFailed';
  }
}

export function sessionContext(to: number): Uint8Array {
  return new TextEncoder().encode(`tern-session-v1:${to}`);
}

/** What a BCB carries for AES-256-GCM (RFC 9173 section 4): the IV, ciphertext and tag, and which key. */
export interface SealedBlock {
  readonly keyId: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** One epoch's keys with one peer. */
export class BcbSession {
  private sealed = 0;

  constructor(
    readonly peer: number,
    readonly epoch: number,
    readonly keyId: Uint8Array,
    private readonly sealKey: Uint8Array,
    private readonly openKey: Uint8Array,
    readonly establishedMs: number,
  ) {}

  get blocksSealed(): number {
    return this.sealed;
  }

  /** Encrypts a block's data; `aad` is the additional authenticated data BPSec computes. */
  seal(plaintext: Uint8Array, aad: Uint8Array): SealedBlock {
    // A 96-bit counter IV: unique under this key for 2^32 blocks, far beyond any rekey limit.
    if (this.sealed >= 0xffff_ffff) throw new BcbOpenFailed('session exhausted its IVs; rekey');
    const iv = new Uint8Array(IV_BYTES);
    new DataView(iv.buffer).setUint32(8, ++this.sealed);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv).setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: this.keyId, iv, ciphertext: new Uint8Array(ciphertext), tag: new Uint8Array(cipher.getAuthTag()) };
  }

  open(block: SealedBlock, aad: Uint8Array): Uint8Array {
    if (block.iv.length !== IV_BYTES || block.tag.length !== TAG_BYTES) throw new BcbOpenFailed(`IV must be ${IV_BYTES} bytes and tag ${TAG_BYTES}`);
    const decipher = createDecipheriv('aes-256-gcm', this.openKey, block.iv).setAAD(aad).setAuthTag(block.tag);
    try {
      return new Uint8Array(Buffer.concat([decipher.update(block.ciphertext), decipher.final()]));
    } catch {
      // GCM's only failure here is a tag mismatch: the block was altered or the AAD differs.
      throw new BcbOpenFailed('authentication tag mismatch');
    }
  }
}

export interface SessionOptions {
  readonly node: number;
  /** This node's ML-DSA-65 identity key seed. */
  readonly identitySeed: Uint8Array;
  /** Peers' ML-DSA-65 identity public keys, by node number. */
  readonly peers: ReadonlyMap<number, Uint8Array>;
  readonly dsa: MlDsa;
  readonly wallMs: () => number;
  readonly rekeyMs: number;
  readonly rekeyBlocks: number;
  /** Oldest offer accepted (clock skew plus the delay of a relayed bundle). */
  readonly offerMaxAgeMs: number;
  readonly events: EventLog;
  readonly rekeys: Channel;
}

interface OutstandingOffer {
  readonly epoch: number;
  readonly body: Uint8Array;
  readonly decapsulationKey: Uint8Array;
}

interface PeerState {
  current?: BcbSession;
  previous?: BcbSession;
  offer?: OutstandingOffer;
  /** Highest epoch accepted from this peer as responder: older offers are replays. */
  lastEpoch: number;
}

export class SessionKeys {
  private readonly kem = new MlKem('ML-KEM-768');
  private readonly state = new Map<number, PeerState>();

  constructor(private readonly o: SessionOptions) {}

  /** The session to seal with for `peer`, if one is established. */
  session(peer: number): BcbSession | undefined {
    return this.state.get(peer)?.current;
  }

  /** Whether the initiator should make a new offer to `peer` now. */
  needsRekey(peer: number): boolean {
    const current = this.session(peer);
    if (!current) return true;
    return this.o.wallMs() - current.establishedMs >= this.o.rekeyMs || current.blocksSealed >= this.o.rekeyBlocks;
  }

  /** Initiator: a signed offer with a fresh ML-KEM-768 key for `peer`. */
  offer(peer: number): Uint8Array {
    this.peerKey(peer);
    const state = this.peerState(peer);
    const nowMs = this.o.wallMs();
    // Epochs grow with the clock, so they keep growing across a reboot without being stored.
    const epoch = Math.max(nowMs, (state.offer?.epoch ?? state.current?.epoch ?? 0) + 1);
    const { encapsulationKey, decapsulationKey } = this.kem.keygen();
    const body = cbor.encode(['offer', VERSION, this.o.node, peer, epoch, nowMs, encapsulationKey]);
    state.offer = { epoch, body, decapsulationKey };
    return this.signed(body, peer);
  }

  /** Responder: checks an offer, answers it, and starts using the new session. */
  accept(wire: Uint8Array): { reply: Uint8Array; session: BcbSession } {
    const { body, fields } = this.verified(wire, 'offer');
    const [, , from, , epoch, issuedMs, encapsulationKey] = fields as [string, number, number, number, number, number, Uint8Array];
    if (!Number.isSafeInteger(issuedMs) || !(encapsulationKey instanceof Uint8Array)) throw new SessionRejected('malformed offer');
    const state = this.peerState(from);
    if (epoch <= state.lastEpoch) throw new SessionRejected(`offer epoch ${epoch} from node ${from} is not newer than ${state.lastEpoch} (replay?)`);
    if (Math.abs(this.o.wallMs() - issuedMs) > this.o.offerMaxAgeMs) throw new SessionRejected(`offer issued at ${issuedMs} is outside ${this.o.offerMaxAgeMs} ms of now`);
    const { ciphertext, sharedSecret } = this.kem.encapsulate(encapsulationKey);
    const acceptBody = cbor.encode(['accept', VERSION, this.o.node, from, epoch, sha256(body), ciphertext]);
    state.lastEpoch = epoch;
    const session = this.establish(from, epoch, sharedSecret, body, acceptBody, false);
    return { reply: this.signed(acceptBody, from), session };
  }

  /** Initiator: checks the answer to its outstanding offer and starts using the session. */
  complete(wire: Uint8Array): BcbSession {
    const { body, fields } = this.verified(wire, 'accept');
    const [, , from, , epoch, offerDigest, ciphertext] = fields as [string, number, number, number, number, Uint8Array, Uint8Array];
    const offer = this.state.get(from)?.offer;
    if (!offer || offer.epoch !== epoch) throw new SessionRejected(`no outstanding offer to node ${from} for epoch ${epoch}`);
    if (!(offerDigest instanceof Uint8Array) || !Buffer.from(offerDigest).equals(Buffer.from(sha256(offer.body)))) {
      throw new SessionRejected('accept answers another offer');
    }
    if (!(ciphertext instanceof Uint8Array)) throw new SessionRejected('malformed accept');
    const sharedSecret = this.kem.decapsulate(ciphertext, offer.decapsulationKey);
    this.peerState(from).offer = undefined;
    return this.establish(from, epoch, sharedSecret, offer.body, body, true);
  }

  /** Opens a block from `peer` with whichever of its sessions the key id names. */
  open(peer: number, block: SealedBlock, aad: Uint8Array): Uint8Array {
    const state = this.state.get(peer);
    const session = [state?.current, state?.previous].find((s) => s && Buffer.from(s.keyId).equals(Buffer.from(block.keyId)));
    if (!session) throw new BcbOpenFailed(`no session with node ${peer} has key ${Buffer.from(block.keyId).toString('hex')}`);
    return session.open(block, aad);
  }

  private establish(peer: number, epoch: number, secret: Uint8Array, offerBody: Uint8Array, acceptBody: Uint8Array, initiator: boolean): BcbSession {
    const [first, second] = initiator ? [this.o.node, peer] : [peer, this.o.node];
    const salt = createHash('sha256').update(offerBody).update(acceptBody).digest();
    const okm = new Uint8Array(hkdfSync('sha256', secret, salt, `tern-bcb-v1|${first}>${second}|${epoch}`, 72));
    const [initiatorToResponder, responderToInitiator, keyId] = [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 72)];
    const session = initiator
      ? new BcbSession(peer, epoch, keyId, initiatorToResponder, responderToInitiator, this.o.wallMs())
      : new BcbSession(peer, epoch, keyId, responderToInitiator, initiatorToResponder, this.o.wallMs());
    const state = this.peerState(peer);
    state.previous = state.current;
    state.current = session;
    this.o.rekeys.add();
    this.o.events.emit(CMD_EVENTS.sessionRekeyed, { peer, epoch });
    return session;
  }

  private signed(body: Uint8Array, to: number): Uint8Array {
    return cbor.encode([body, this.o.dsa.sign(this.o.identitySeed, body, sessionContext(to))]);
  }

  /** Decodes a handshake message, checks its shape, addressee and sender signature. */
  private verified(wire: Uint8Array, kind: 'offer' | 'accept'): { body: Uint8Array; fields: unknown[] } {
    let outer: unknown;
    let fields: unknown;
    try {
      outer = cbor.decode(wire);
      if (!Array.isArray(outer) || outer.length !== 2 || !(outer[0] instanceof Uint8Array) || !(outer[1] instanceof Uint8Array)) throw new Error('not [body, signature]');
      fields = cbor.decode(outer[0]);
    } catch (error) {
      throw new SessionRejected(`malformed ${kind}: ${(error as Error).message}`);
    }
    if (!Array.isArray(fields) || fields.length !== 7 || fields[0] !== kind || fields[1] !== VERSION) throw new SessionRejected(`not a version ${VERSION} ${kind}`);
    const [, , from, to, epoch] = fields as unknown[];
    if (to !== this.o.node) throw new SessionRejected(`${kind} addressed to node ${String(to)}`);
    if (!Number.isSafeInteger(epoch)) throw new SessionRejected(`${kind} epoch is not an integer`);
    const [body, signature] = outer as [Uint8Array, Uint8Array];
    if (!this.o.dsa.verify(this.peerKey(from), body, signature, sessionContext(this.o.node))) {
      throw new SessionRejected(`${kind} signature of node ${String(from)} does not verify`);
    }
    return { body, fields };
  }

  private peerKey(peer: unknown): Uint8Array {
    const key = typeof peer === 'number' ? this.o.peers.get(peer) : undefined;
    if (!key) throw new SessionRejected(`node ${String(peer)} is not a known peer`);
    return key;
  }

  private peerState(peer: number): PeerState {
    let state = this.state.get(peer);
    if (!state) this.state.set(peer, (state = { lastEpoch: 0 }));
    return state;
  }
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
