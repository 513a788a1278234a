// The file service (ipn:N.4): files uplinked for activation by command, one mechanism for every
// kind (models for infer, contact plans for route). A file is stored only once its envelope
// (uplink-envelope.ts) is signed by an operator of this node's key store with the operate role,
// addressed to this node, of a kind the node takes, within that kind's size, and its content has
// the signed SHA-256: it is then written durably as `<sha256>` in the kind's incoming directory,
// where the kind's activation command (critical, k of n, naming the SHA-256) finds it. Anything
// else is an UplinkRefused with its reason, a counter per reason and an event; nothing is
// stored, and what runs on board is untouched. Kinds are registered by the composition root,
// since the subsystems that use them sit on either side of cmd in the layers.
//
// The cheap checks (bounds, decode, target, kind, size, operator and role, the rate) run when the
// bundle arrives, so junk is refused at once. What costs time runs in the command dispatcher's
// slots (dispatcher.ts, SlotShare), never on the event loop: the one ML-DSA verification (over
// the header, a few hundred bytes; one of the slot's verifications, shared with the commands)
// before any content is hashed, then the SHA-256 over the content, incrementally, a slot's
// worth of bytes at a time with a cursor. At most cmd.uplinkPerMinute files a minute are
// verified (a flood of signed-looking files costs no more; the rest are refused unverified).
// The bundle is acknowledged (receive() settles) only once the file is durably stored or refused.
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileDurableAsync } from '../durable.js';
import type { Clock } from '../exec/clock.js';
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { UPLINK_CHANNELS, CMD_EVENTS } from './dictionary.js';
import type { SlotShare } from './dispatcher.js';
import { RevokedKey, UnknownOperator } from './errors.js';
import type { OperatorKeys } from './operators.js';
import { TokenBucket } from './token-bucket.js';
import { decodeFile, fileContext, MAX_FILE_BYTES, UplinkRefused, type FileKind, type UplinkFile } from './uplink-envelope.js';

/** The ipn service number of the file service. */
export const UPLINK_SERVICE = 4;

/** Room for the header and signature around a file's content. */
const ENVELOPE_OVERHEAD = 8192;

/**
 * Content hashed per microsecond of slot budget: SHA-256 runs at ~500 bytes/us on a laptop
 * (32 MiB in ~60 ms on Node 20); a fifth of that leaves room for a slower flight CPU and a
 * loaded machine. A slot hashes at most its remaining budget times this.
 */
export const HASH_BYTES_PER_US = 100;
/** Hashed between two looks at the clock: a slot that runs late stops within one chunk. */
const HASH_CHUNK = 64 << 10;

export interface UplinkKind {
  /** Where files of this kind are stored, each named by its SHA-256 (hex). */
  readonly dir: string;
  readonly maxBytes: number;
  /** Whether the content is of this kind at all (a cheap look, e.g. a magic number); activation validates it fully. */
  readonly looksRight?: (content: Uint8Array) => boolean;
}

export interface FileUplinkOptions {
  readonly node: number;
  readonly keys: Pick<OperatorKeys, 'signer' | 'verify'>;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  readonly log: Logger;
  /** Files verified per minute at most (a parameter, read on every use). */
  readonly perMinute: () => number;
  /** Monotonic (the executive's): the rate and the slot's deadline. */
  readonly clock: Clock;
}

export interface StoredFile {
  readonly kind: FileKind;
  readonly sha256: string;
  readonly path: string;
}

/** A file that passed the cheap checks, waiting for (or in) its verification in the dispatcher's slots. */
interface Received {
  readonly file: UplinkFile & { readonly signature: NonNullable<UplinkFile['signature']> };
  readonly kind: UplinkKind;
  readonly resolve: (stored: StoredFile) => void;
  readonly reject: (error: unknown) => void;
  /** Set once the signature verified: the content hashed so far and where the next slot goes on. */
  hash?: Hash;
  cursor: number;
}

export class FileUplink implements SlotShare {
  private readonly kinds = new Map<string, UplinkKind>();
  private readonly channels;
  private readonly verifications: TokenBucket;
  private readonly waiting: Received[] = [];

  constructor(private readonly o: FileUplinkOptions) {
    this.channels = o.tlm.defineAll(UPLINK_CHANNELS);
    this.verifications = new TokenBucket(() => o.perMinute() / 60, o.perMinute, this.nowMs());
  }

  /** This node takes files of `kind` (its activation command reads them from `spec.dir`). */
  accept(kind: FileKind, spec: UplinkKind): void {
    if (spec.maxBytes > MAX_FILE_BYTES) throw new Error(`${kind} files of up to ${spec.maxBytes} bytes: the file service takes at most ${MAX_FILE_BYTES}`);
    this.kinds.set(kind, spec);
  }

  /**
   * A file envelope from a bundle: stored (resolves once durable) or refused (rejects with
   * UplinkRefused). The cheap checks run now; the verification runs in the dispatcher's slots.
   */
  receive(bytes: Uint8Array): Promise<StoredFile> {
    let received: Omit<Received, 'resolve' | 'reject'>;
    try {
      received = this.check(bytes);
    } catch (error) {
      if (error instanceof UplinkRefused) this.refused(error);
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.waiting.push({ ...received, resolve, reject }));
  }

  /** One slot's share of the verification (called by the dispatcher task, after its commands). */
  runSlot(untilUs: number, verifications: number): number {
    let used = 0;
    // Bytes, not only time: the virtual clock stands still within a slot, and a slot's estimate
    // holds even when the clock is read late.
    let bytes = Math.max(0, Math.floor((untilUs - this.o.clock.nowUs()) * HASH_BYTES_PER_US));
    while (this.waiting.length > 0 && this.o.clock.nowUs() < untilUs) {
      const head = this.waiting[0]!;
      try {
        if (!head.hash) {
          if (used >= verifications) break;
          used++;
          this.verify(head);
          head.hash = createHash('sha256');
        }
        const end = Math.min(head.file.content.length, head.cursor + bytes);
        while (head.cursor < end && this.o.clock.nowUs() < untilUs) {
          const next = Math.min(end, head.cursor + HASH_CHUNK);
          head.hash.update(head.file.content.subarray(head.cursor, next));
          bytes -= next - head.cursor;
          head.cursor = next;
        }
        if (head.cursor < head.file.content.length) break;
        this.waiting.shift();
        this.store(head, this.digested(head, head.hash.digest('hex')));
      } catch (error) {
        this.waiting.shift();
        if (error instanceof UplinkRefused) this.refused(error);
        head.reject(error);
      }
    }
    return used;
  }

  private nowMs(): number {
    return this.o.clock.nowUs() / 1000;
  }

  private check(bytes: Uint8Array): Omit<Received, 'resolve' | 'reject'> {
    const largest = Math.max(0, ...[...this.kinds.values()].map((k) => k.maxBytes));
    if (bytes.length > largest + ENVELOPE_OVERHEAD) throw new UplinkRefused('oversize', `${bytes.length} bytes; this node takes files of at most ${largest}`);
    const file = decodeFile(bytes, largest);
    const { header, signature } = file;
    if (header.target !== this.o.node) throw new UplinkRefused('wrongTarget', `signed for node ${header.target}, this is node ${this.o.node}`);
    const kind = this.kinds.get(header.kind);
    if (!kind) throw new UplinkRefused('wrongKind', `kind ${JSON.stringify(header.kind)}; this node takes ${[...this.kinds.keys()].join(', ') || 'none'}`);
    if (header.size > kind.maxBytes) throw new UplinkRefused('oversize', `${header.kind} of ${header.size} bytes; at most ${kind.maxBytes}`);
    if (!signature) throw new UplinkRefused('unsigned', `${header.kind} ${header.name} carries no operator signature`);
    if (signature.operator !== header.operator) throw new UplinkRefused('badSignature', `signed by operator ${signature.operator}, the header names operator ${header.operator}`);
    let authorized: boolean;
    try {
      authorized = this.o.keys.signer(signature).roles.has('operate');
    } catch (error) {
      if (error instanceof UnknownOperator || error instanceof RevokedKey) throw new UplinkRefused('unknownOperator', error.message);
      throw error;
    }
    if (!authorized) throw new UplinkRefused('notAuthorized', `operator ${signature.operator} does not have the operate role`);
    if (!this.verifications.take(this.nowMs())) throw new UplinkRefused('rateLimited', `more than ${this.o.perMinute()} files to verify in a minute (cmd.uplinkPerMinute)`);
    return { file: { ...file, signature }, kind, cursor: 0 };
  }

  private verify({ file }: Received): void {
    const { header, signature } = file;
    if (!this.o.keys.verify(signature, file.headerBytes, this.o.node, fileContext(this.o.node))) {
      throw new UplinkRefused('badSignature', `the signature of operator ${signature.operator} over ${header.kind} ${header.name} does not verify`);
    }
  }

  /** The file as stored once its content hashed to `sha256`; UplinkRefused if it is not the signed content. */
  private digested({ file: { header, content }, kind }: Received, sha256: string): StoredFile {
    if (content.length !== header.size || sha256 !== header.sha256) {
      throw new UplinkRefused('wrongDigest', `content of ${content.length} bytes with SHA-256 ${sha256}; signed: ${header.size} bytes, ${header.sha256}`);
    }
    if (kind.looksRight && !kind.looksRight(content)) throw new UplinkRefused('wrongKind', `${header.name} is not a ${header.kind} file`);
    return { kind: header.kind as FileKind, sha256, path: join(kind.dir, sha256) };
  }

  /** Written beside the frames (file I/O is asynchronous); the bundle is acknowledged once durable. */
  private store({ file: { header, content }, resolve, reject }: Received, stored: StoredFile): void {
    writeFileDurableAsync(stored.path, content).then(() => {
      this.channels.stored.add();
      this.o.events.emit(CMD_EVENTS.fileStored, { kind: stored.kind, name: header.name, sha256: stored.sha256, bytes: content.length, operator: header.operator });
      resolve(stored);
    }, reject);
  }

  private refused(error: UplinkRefused): void {
    this.channels.refused.add();
    this.channels[error.reason].add();
    this.o.events.emit(CMD_EVENTS.fileRefused, { reason: error.reason, detail: error.message });
    this.o.log.warn({ err: error, reason: error.reason }, 'uplinked file refused');
  }
}
