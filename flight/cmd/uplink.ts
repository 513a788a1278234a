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
// The cheap checks come first; the one ML-DSA verification (over the header, a few hundred
// bytes) comes before the content is hashed, and at most cmd.uplinkPerMinute files a minute are
// verified (a flood of signed-looking files costs no more; the rest are refused unverified).
import { join } from 'node:path';
import { writeFileDurableAsync } from '../durable.js';
import type { Logger } from '../log.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { UPLINK_CHANNELS, CMD_EVENTS } from './dictionary.js';
import { RevokedKey, UnknownOperator } from './errors.js';
import type { OperatorKeys } from './operators.js';
import { TokenBucket } from './token-bucket.js';
import { decodeFile, fileContext, MAX_FILE_BYTES, sha256Hex, UplinkRefused, type FileKind } from './uplink-envelope.js';

/** The ipn service number of the file service. */
export const UPLINK_SERVICE = 4;

/** Room for the header and signature around a file's content. */
const ENVELOPE_OVERHEAD = 8192;

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
  /** Monotonic milliseconds. */
  readonly nowMs: () => number;
}

export interface StoredFile {
  readonly kind: FileKind;
  readonly sha256: string;
  readonly path: string;
}

/** A file that passed every check, about to be stored. */
interface Checked extends StoredFile {
  readonly name: string;
  readonly operator: number;
  readonly bytes: number;
  readonly content: Uint8Array;
}

export class FileUplink {
  private readonly kinds = new Map<string, UplinkKind>();
  private readonly channels;
  private readonly verifications: TokenBucket;

  constructor(private readonly o: FileUplinkOptions) {
    this.channels = o.tlm.defineAll(UPLINK_CHANNELS);
    this.verifications = new TokenBucket(() => o.perMinute() / 60, o.perMinute, o.nowMs());
  }

  /** This node takes files of `kind` (its activation command reads them from `spec.dir`). */
  accept(kind: FileKind, spec: UplinkKind): void {
    if (spec.maxBytes > MAX_FILE_BYTES) throw new Error(`${kind} files of up to ${spec.maxBytes} bytes: the file service takes at most ${MAX_FILE_BYTES}`);
    this.kinds.set(kind, spec);
  }

  /** A file envelope from a bundle: stored (resolves once durable) or refused (rejects with UplinkRefused). */
  async receive(bytes: Uint8Array): Promise<StoredFile> {
    let stored: Checked;
    try {
      stored = this.check(bytes);
    } catch (error) {
      if (error instanceof UplinkRefused) this.refused(error);
      throw error;
    }
    await writeFileDurableAsync(stored.path, stored.content);
    this.channels.stored.add();
    this.o.events.emit(CMD_EVENTS.fileStored, { kind: stored.kind, name: stored.name, sha256: stored.sha256, bytes: stored.bytes, operator: stored.operator });
    return { kind: stored.kind, sha256: stored.sha256, path: stored.path };
  }

  private check(bytes: Uint8Array): Checked {
    const largest = Math.max(0, ...[...this.kinds.values()].map((k) => k.maxBytes));
    if (bytes.length > largest + ENVELOPE_OVERHEAD) throw new UplinkRefused('oversize', `${bytes.length} bytes; this node takes files of at most ${largest}`);
    const file = decodeFile(bytes, largest);
    const { header, signature, content } = file;
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
    if (!this.verifications.take(this.o.nowMs())) throw new UplinkRefused('rateLimited', `more than ${this.o.perMinute()} files to verify in a minute (cmd.uplinkPerMinute)`);
    if (!this.o.keys.verify(signature, file.headerBytes, this.o.node, fileContext(this.o.node))) {
      throw new UplinkRefused('badSignature', `the signature of operator ${signature.operator} over ${header.kind} ${header.name} does not verify`);
    }
    const sha256 = sha256Hex(content);
    if (content.length !== header.size || sha256 !== header.sha256) {
      throw new UplinkRefused('wrongDigest', `content of ${content.length} bytes with SHA-256 ${sha256}; signed: ${header.size} bytes, ${header.sha256}`);
    }
    if (kind.looksRight && !kind.looksRight(content)) throw new UplinkRefused('wrongKind', `${header.name} is not a ${header.kind} file`);
    return { kind: header.kind as FileKind, sha256, path: join(kind.dir, sha256), name: header.name, operator: header.operator, bytes: content.length, content };
  }

  private refused(error: UplinkRefused): void {
    this.channels.refused.add();
    this.channels[error.reason].add();
    this.o.events.emit(CMD_EVENTS.fileRefused, { reason: error.reason, detail: error.message });
    this.o.log.warn({ err: error, reason: error.reason }, 'uplinked file refused');
  }
}
