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
//
// Files do not pile up: once its kind activates a file (the kind tells the file service), the
// file leaves the incoming directory, durably: the kind keeps its own copy of what a restart or a
// rollback reads (DATA/contact-plan; infer/models/<sha256>.tern), so the incoming directories
// hold only files nobody activated yet. Those are bounded, all kinds together, by
// cmd.uplink.incomingBytes: a new file past it drops the oldest never-activated ones first, each
// counted and reported with its SHA-256 (the ground sends it again if it still wants it), so the
// intake never wedges on forgotten files; a file larger than the whole bound is refused. An operator
// deletes a wrong upload on purpose with FILE_DELETE <sha256> (one operator: it only deletes what
// never ran), never the file of the plan or model in use.
import { createHash, type Hash } from 'node:crypto';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDirectoryAsync, removeFileDurable, removeFileDurableAsync, writeFileDurableAsync } from '../durable.js';
import { describe, TernError } from '../errors.js';
import type { Clock } from '../exec/clock.js';
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { UPLINK_CHANNELS, CMD_EVENTS } from './dictionary.js';
import type { CommandBinding } from './commands.js';
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

/** Default of cmd.uplink.incomingBytes: two of the largest plans, or eight models of the default size. */
export const INCOMING_BYTES = 64 << 20;

/** A stored file's name: its SHA-256 in hex. */
const STORED_NAME = /^[0-9a-f]{64}$/;
/** A write a crash cut short (writeFileDurableAsync's temporary): never acknowledged, so the ground sends it again. */
const TORN_NAME = /^[0-9a-f]{64}\.tmp-\d+$/;

export interface UplinkKind {
  /** Where files of this kind are stored, each named by its SHA-256 (hex). */
  readonly dir: string;
  readonly maxBytes: number;
  /** Whether the content is of this kind at all (a cheap look, e.g. a magic number); activation validates it fully. */
  readonly looksRight?: (content: Uint8Array) => boolean;
  /** Gives the file service a listener the kind calls with the SHA-256 of each file it activated
   *  (its own copy kept): the file then leaves the incoming directory. */
  readonly onActivated?: (listener: (sha256: string) => void) => void;
  /** The SHA-256 of this kind's file in use now (the active plan, the active model), if the kind
   *  can tell: FILE_DELETE refuses to delete it (an upload of the same bytes again). */
  readonly active?: () => string | undefined;
}

/** Why FILE_DELETE deleted nothing: the code in the command's response (and cmd.uplink.deleteRefused). */
const DELETE_CODES = {
  badSha256: 'UPLINK_DELETE_BAD_SHA256',
  notStored: 'UPLINK_DELETE_NOT_STORED',
  active: 'UPLINK_DELETE_ACTIVE',
} as const;
export type DeleteReason = keyof typeof DELETE_CODES;

/** A FILE_DELETE that deleted nothing. */
export class FileDeleteRefused extends TernError {
  readonly code: (typeof DELETE_CODES)[DeleteReason];
  constructor(readonly reason: DeleteReason, detail: string) {
    super(`FILE_DELETE refused (${reason}): ${detail}`);
    this.name = 'FileDeleteRefused';
    this.code = DELETE_CODES[reason];
  }
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
  /** Bytes the incoming directories hold at most, all kinds together (cmd.uplink.incomingBytes). */
  readonly incomingBytes?: number;
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

const REMOVAL_EVENTS = { activated: CMD_EVENTS.fileRemoved, dropped: CMD_EVENTS.fileDropped, deleted: CMD_EVENTS.fileDeleted } as const;

/** A file in an incoming directory, never activated. */
interface Held {
  readonly kind: FileKind;
  readonly sha256: string;
  readonly bytes: number;
}

export class FileUplink implements SlotShare {
  private readonly kinds = new Map<string, UplinkKind>();
  private readonly channels;
  private readonly verifications: TokenBucket;
  private readonly waiting: Received[] = [];
  /** Every file in the incoming directories by path, oldest first (Map order). */
  private readonly held = new Map<string, Held>();
  private heldBytes = 0;
  /** Held files whose durable write has not ended yet: not stored, so not deletable. */
  private readonly writing = new Set<string>();
  private readonly incomingBytes: number;

  constructor(private readonly o: FileUplinkOptions) {
    this.channels = o.tlm.defineAll(UPLINK_CHANNELS);
    this.verifications = new TokenBucket(() => o.perMinute() / 60, o.perMinute, this.nowMs());
    this.incomingBytes = o.incomingBytes ?? INCOMING_BYTES;
  }

  /** This node takes files of `kind` (its activation command reads them from `spec.dir`); the
   *  files already there (a restart) count towards the bound, oldest first, and torn writes go. */
  accept(kind: FileKind, spec: UplinkKind): void {
    if (spec.maxBytes > MAX_FILE_BYTES) throw new Error(`${kind} files of up to ${spec.maxBytes} bytes: the file service takes at most ${MAX_FILE_BYTES}`);
    this.kinds.set(kind, spec);
    const names = readdirSync(spec.dir);
    for (const name of names.filter((n) => TORN_NAME.test(n))) {
      removeFileDurable(join(spec.dir, name));
      this.o.log.warn({ kind, file: name }, 'partly written uplinked file removed (its write was cut short)');
    }
    const found = names.filter((name) => STORED_NAME.test(name))
      .map((sha256) => ({ sha256, stat: statSync(join(spec.dir, sha256)) }))
      .sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs);
    for (const { sha256, stat } of found) this.hold(join(spec.dir, sha256), { kind, sha256, bytes: stat.size });
    spec.onActivated?.((sha256) => this.activated(join(spec.dir, sha256)));
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

  /** The handler of FILE_DELETE (flight/cmd/dictionary.ts), bound by commanding. */
  bindings(): { FILE_DELETE: CommandBinding } {
    return { FILE_DELETE: { handler: (args, context) => this.delete(String(args.sha256), context.operator) } };
  }

  /**
   * Deletes a stored, never-activated file of any kind by its SHA-256; FileDeleteRefused (nothing
   * changed) for a string that is no SHA-256, a file not stored (never, not yet, or no longer) or
   * the one in use. The unlink runs now, in the command's slot (metadata only, no flush), so an
   * activation after the command finds nothing; the directory fsync that makes it durable runs
   * beside the frames, then the deletion is counted and reported.
   */
  delete(sha256: string, operator: number): { kind: FileKind; sha256: string; bytes: number } {
    if (!STORED_NAME.test(sha256)) throw this.deleteRefused('badSha256', `${describe(sha256)} is not a SHA-256 (64 lowercase hex digits)`);
    for (const [kind, spec] of this.kinds) {
      if (spec.active?.() === sha256) throw this.deleteRefused('active', `${sha256} is the ${kind} in use; the node keeps its own copy, which no command deletes`);
    }
    const path = [...this.kinds.values()].map((spec) => join(spec.dir, sha256)).find((p) => this.held.has(p) && !this.writing.has(p));
    if (!path) throw this.deleteRefused('notStored', `no uplinked file ${sha256} is stored waiting for activation`);
    const file = this.held.get(path)!;
    unlinkSync(path);
    this.release(path);
    fsyncDirectoryAsync(dirname(path)).then(() => this.removed(file, 'deleted', { operator }), (error: unknown) => {
      this.o.log.error({ err: error, path, reason: 'deleted' }, 'uplinked file unlinked, but its directory not synced: a power loss may bring it back');
    });
    return { kind: file.kind, sha256, bytes: file.bytes };
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
    if (header.size > this.incomingBytes) throw new UplinkRefused('oversize', `${header.kind} of ${header.size} bytes; the incoming directories hold at most ${this.incomingBytes} (cmd.uplink.incomingBytes)`);
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

  /** Written beside the frames (file I/O is asynchronous), once the oldest files made room for
   *  it; the bundle is acknowledged once durable. */
  private store({ file: { header, content }, resolve, reject }: Received, stored: StoredFile): void {
    this.release(stored.path);
    const drops: Promise<void>[] = [];
    for (const [path, file] of this.held) {
      if (this.heldBytes + content.length <= this.incomingBytes) break;
      drops.push(this.remove(path, file, 'dropped'));
    }
    this.hold(stored.path, { kind: stored.kind, sha256: stored.sha256, bytes: content.length });
    this.writing.add(stored.path);
    Promise.all(drops).then(() => writeFileDurableAsync(stored.path, content)).then(() => {
      this.writing.delete(stored.path);
      this.channels.stored.add();
      this.o.events.emit(CMD_EVENTS.fileStored, { kind: stored.kind, name: header.name, sha256: stored.sha256, bytes: content.length, operator: header.operator });
      resolve(stored);
    }, (error: unknown) => {
      this.writing.delete(stored.path);
      this.release(stored.path);
      reject(error);
    });
  }

  /** Its kind activated the file at `path` and keeps its own copy: the incoming one goes. */
  private activated(path: string): void {
    const file = this.held.get(path);
    if (file) void this.remove(path, file, 'activated');
  }

  /** Removes a held file durably, counted and reported; a failure is logged and the file stays counted. */
  private remove(path: string, file: Held, reason: 'activated' | 'dropped'): Promise<void> {
    this.release(path);
    return removeFileDurableAsync(path).then(() => this.removed(file, reason), (error: unknown) => {
      this.o.log.error({ err: error, path, reason }, 'uplinked file not removed');
      this.hold(path, file);
    });
  }

  /** A held file durably gone: counted and reported. */
  private removed(file: Held, reason: 'activated' | 'dropped' | 'deleted', more: Record<string, unknown> = {}): void {
    this.channels.removed.add();
    if (reason !== 'activated') this.channels[reason].add();
    this.o.events.emit(REMOVAL_EVENTS[reason], { kind: file.kind, sha256: file.sha256, bytes: file.bytes, ...more });
  }

  private deleteRefused(reason: DeleteReason, detail: string): FileDeleteRefused {
    const error = new FileDeleteRefused(reason, detail);
    this.channels.deleteRefused.add();
    this.o.log.warn({ err: error, reason }, 'FILE_DELETE refused');
    return error;
  }

  private hold(path: string, file: Held): void {
    this.held.set(path, file);
    this.heldBytes += file.bytes;
    this.channels.incomingBytes.set(this.heldBytes);
  }

  private release(path: string): void {
    const file = this.held.get(path);
    if (!file) return;
    this.held.delete(path);
    this.heldBytes -= file.bytes;
    this.channels.incomingBytes.set(this.heldBytes);
  }

  private refused(error: UplinkRefused): void {
    this.channels.refused.add();
    this.channels[error.reason].add();
    this.o.events.emit(CMD_EVENTS.fileRefused, { reason: error.reason, detail: error.message });
    this.o.log.warn({ err: error, reason: error.reason }, 'uplinked file refused');
  }
}
