// An uplinked file (a model, a contact plan) on the wire (CBOR, RFC 8949):
//
//   file      = [ header: bstr, signature: [operator: uint, keyId: bstr .size 8, sig: bstr] / null,
//                 content: bstr ]
//   header    = [ version: 1, target: uint, operator: uint, kind: "model" / "plan",
//                 name: tstr, sha256: bstr .size 32, size: uint ]
//
// One operator signs the header with their ML-DSA-65 command key under the context
// "tern-file-v1:<target>" (a file signature is never a command signature, nor one for another
// spacecraft). The header binds the content by its SHA-256 and size, so the signature covers a
// few hundred bytes whatever the file's size and the node hashes the content natively. Storing a
// file changes nothing on board: a critical command naming the SHA-256 (k of n) activates it.
import { Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { checkCborBounds, CborRefused } from '../dtn/cbor.js';
import { TernError } from '../errors.js';
import { KEY_ID_BYTES, keyId, type Signature, type Signer } from './envelope.js';
import type { MlDsa } from './mldsa.js';

export const FILE_VERSION = 1;
export const FILE_KINDS = ['model', 'plan'] as const;
export type FileKind = (typeof FILE_KINDS)[number];
export const MAX_FILE_NAME = 128;
/** The largest content any kind may have (a model's own limit, infer.maxModelBytes, is at most this). */
export const MAX_FILE_BYTES = 48 << 20;

/** Why an uplinked file was refused: a counter `cmd.uplink.refused.<reason>` each. */
export const UPLINK_REASONS = ['malformed', 'unsigned', 'unknownOperator', 'notAuthorized', 'badSignature', 'wrongTarget', 'wrongKind', 'wrongDigest', 'oversize', 'rateLimited'] as const;
export type UplinkReason = (typeof UPLINK_REASONS)[number];

/** An uplinked file refused before anything was stored. */
export class UplinkRefused extends TernError {
  readonly code: `UPLINK_${string}`;
  constructor(readonly reason: UplinkReason, detail: string) {
    super(`uplinked file refused (${reason}): ${detail}`);
    this.name = 'UplinkRefused';
    this.code = `UPLINK_${reason.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  }
}

export interface FileHeader {
  readonly version: number;
  readonly target: number;
  readonly operator: number;
  readonly kind: string;
  readonly name: string;
  /** Hex. */
  readonly sha256: string;
  readonly size: number;
}

export interface UplinkFile {
  readonly headerBytes: Uint8Array;
  readonly header: FileHeader;
  /** Absent: nobody signed it. */
  readonly signature: Signature | undefined;
  readonly content: Uint8Array;
}

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export function fileContext(target: number): Uint8Array {
  return new TextEncoder().encode(`tern-file-v1:${target}`);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Signs `content` as file `name` of `kind` for node `target` by `signer`; the wire bytes. */
export function signFile(dsa: MlDsa, content: Uint8Array, o: { target: number; kind: FileKind; name: string; signer: Signer }): Uint8Array {
  const sha256 = createHash('sha256').update(content).digest();
  const headerBytes = Uint8Array.from(cbor.encode([FILE_VERSION, o.target, o.signer.operator, o.kind, basename(o.name), new Uint8Array(sha256), content.length]));
  const signature = [o.signer.operator, keyId(o.signer.publicKey), dsa.sign(o.signer.seed, headerBytes, fileContext(o.target))];
  return Uint8Array.from(cbor.encode([headerBytes, signature, content]));
}

function bounded(bytes: Uint8Array, what: string, maxStringBytes: number): unknown {
  try {
    checkCborBounds(bytes, { maxDepth: 2, maxItems: 16, maxStringBytes, maps: false });
  } catch (error) {
    if (error instanceof CborRefused) throw new UplinkRefused('malformed', `${what}: ${error.message}`);
    throw error;
  }
  try {
    return cbor.decode(bytes);
  } catch (error) {
    throw new UplinkRefused('malformed', `${what} is not one well-formed CBOR item (${(error as Error).message})`);
  }
}

function uint(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) throw new UplinkRefused('malformed', `${field} must be an unsigned integer up to ${max}`);
  return value;
}

/**
 * Decodes and shape-checks a file from a link (bounds first: no tag, no map, strings up to
 * `maxBytes`); anything else is UplinkRefused 'malformed', a missing signature 'unsigned'.
 */
export function decodeFile(bytes: Uint8Array, maxBytes = MAX_FILE_BYTES): UplinkFile {
  const outer = bounded(bytes, 'file', maxBytes);
  if (!Array.isArray(outer) || outer.length !== 3) throw new UplinkRefused('malformed', 'a file must be an array of 3 (header, signature, content)');
  const [headerBytes, signed, content] = outer as unknown[];
  if (!(headerBytes instanceof Uint8Array) || !(content instanceof Uint8Array)) throw new UplinkRefused('malformed', 'header and content must be byte strings');
  const h = bounded(headerBytes, 'header', 1024);
  if (!Array.isArray(h) || h.length !== 7) throw new UplinkRefused('malformed', 'header must be an array of 7');
  if (uint(h[0], 'version') !== FILE_VERSION) throw new UplinkRefused('malformed', `version ${String(h[0])} unsupported (this node: ${FILE_VERSION})`);
  if (typeof h[3] !== 'string' || typeof h[4] !== 'string' || h[4].length > MAX_FILE_NAME) throw new UplinkRefused('malformed', `kind and name must be text (name at most ${MAX_FILE_NAME})`);
  if (!(h[5] instanceof Uint8Array) || h[5].length !== 32) throw new UplinkRefused('malformed', 'sha256 must be 32 bytes');
  const header: FileHeader = {
    version: FILE_VERSION, target: uint(h[1], 'target'), operator: uint(h[2], 'operator', 0xffff_ffff),
    kind: h[3], name: h[4], sha256: Buffer.from(h[5]).toString('hex'), size: uint(h[6], 'size'),
  };
  return { headerBytes, header, signature: signature(signed), content };
}

function signature(signed: unknown): Signature | undefined {
  if (signed === null || (Array.isArray(signed) && signed.length === 0)) return undefined;
  if (!Array.isArray(signed) || signed.length !== 3) throw new UplinkRefused('malformed', 'signature must be [operator, keyId, signature] or null');
  const [, id, sig] = signed as unknown[];
  if (!(id instanceof Uint8Array) || id.length !== KEY_ID_BYTES || !(sig instanceof Uint8Array)) throw new UplinkRefused('malformed', `signature key id must be ${KEY_ID_BYTES} bytes and the signature a byte string`);
  return { operator: uint(signed[0], 'signature operator', 0xffff_ffff), keyId: id, signature: sig };
}
