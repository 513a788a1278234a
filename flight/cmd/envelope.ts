// The command envelope on the wire (CBOR, RFC 8949):
//
//   envelope  = [ body: bstr, signatures: [+ [operator: uint, keyId: bstr .size 8, sig: bstr]] ]
//   body      = [ version: 1, target: uint, operator: uint, seq: uint, expiryMs: uint,
//                 opcode: uint, args: [* any] ]
//
// Every signature is ML-DSA-65 over the body bytes exactly as they travel, with the context
// string "tern-cmd-v1:<target>", binding it to Tern commands and to one spacecraft. The body is
// kept as a byte string so verification never depends on re-encoding. `operator` in the body is
// the originator (its sequence number space); further signatures over the same body are
// approvals for k-of-n. keyId = first 8 bytes of SHA-256(public key), so a rotated-out key is
// recognized without trying it.
import { Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { checkCborBounds, CborRefused, type CborBounds } from '../dtn/cbor.js';
import { CosignRefused, EnvelopeOutOfBounds, MalformedEnvelope } from './errors.js';
import type { MlDsa } from './mldsa.js';

export const ENVELOPE_VERSION = 1;
/** Largest envelope accepted: a 16 KiB sequence upload with eight signatures fits. */
export const MAX_ENVELOPE_BYTES = 48 * 1024;
export const MAX_SIGNATURES = 8;
export const KEY_ID_BYTES = 8;
/**
 * What the envelope and its body may hold, checked before cbor-x decodes either: arrays (the
 * envelope, its signatures, the body and its arguments), numbers and strings; no map, no tag.
 */
export const ENVELOPE_BOUNDS: CborBounds = { maxDepth: 3, maxItems: 128, maxStringBytes: MAX_ENVELOPE_BYTES, maps: false };

// Plain arrays, maps and byte strings only: no cbor-x record extension, no tag 64 on bytes.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export interface CommandBody {
  readonly version: number;
  readonly target: number;
  readonly operator: number;
  readonly seq: number;
  /** Unix milliseconds; the command is refused at or after this instant. */
  readonly expiryMs: number;
  readonly opcode: number;
  /** Positional, checked against the dictionary by the dispatcher. */
  readonly args: readonly unknown[];
}

export interface Signature {
  readonly operator: number;
  readonly keyId: Uint8Array;
  readonly signature: Uint8Array;
}

export interface Envelope {
  /** The signed bytes. */
  readonly bodyBytes: Uint8Array;
  readonly body: CommandBody;
  readonly signatures: readonly Signature[];
}

export function commandContext(target: number): Uint8Array {
  return new TextEncoder().encode(`tern-cmd-v1:${target}`);
}

export function keyId(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, KEY_ID_BYTES));
}

export function hexId(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** SHA-256 of the body: names one command across the approvals that arrive for it. */
export function bodyDigest(bodyBytes: Uint8Array): string {
  return createHash('sha256').update(bodyBytes).digest('hex');
}

export function encodeBody(body: Omit<CommandBody, 'version'>): Uint8Array {
  return cbor.encode([ENVELOPE_VERSION, body.target, body.operator, body.seq, body.expiryMs, body.opcode, body.args]);
}

export interface Signer {
  readonly operator: number;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Signs `bodyBytes` by every signer and wraps it; the first signer should be the originator. */
export function signEnvelope(dsa: MlDsa, bodyBytes: Uint8Array, target: number, signers: readonly Signer[]): Uint8Array {
  const context = commandContext(target);
  const signatures = signers.map((s) => [s.operator, keyId(s.publicKey), dsa.sign(s.seed, bodyBytes, context)]);
  return cbor.encode([bodyBytes, signatures]);
}

/**
 * Adds one signature per signer to an existing envelope: the 2nd..k-th approval of a critical
 * command, made where that operator's key is. The body bytes and the signatures already there
 * are kept byte for byte (each signature covers the body exactly as it travels), so approvals
 * gathered on different machines all verify against the same body.
 */
export function cosignEnvelope(dsa: MlDsa, envelopeBytes: Uint8Array, signers: readonly Signer[]): Uint8Array {
  const envelope = decodeEnvelope(envelopeBytes);
  const operators = new Set(envelope.signatures.map((s) => s.operator));
  for (const s of signers) {
    if (operators.has(s.operator)) throw new CosignRefused(`operator ${s.operator} has already signed this command`);
    operators.add(s.operator);
  }
  if (operators.size > MAX_SIGNATURES) {
    throw new CosignRefused(`${envelope.signatures.length} + ${signers.length} signatures exceed the ${MAX_SIGNATURES} an envelope holds`);
  }
  const context = commandContext(envelope.body.target);
  const signatures = [
    ...envelope.signatures.map((s) => [s.operator, s.keyId, s.signature]),
    ...signers.map((s) => [s.operator, keyId(s.publicKey), dsa.sign(s.seed, envelope.bodyBytes, context)]),
  ];
  // A copy: cbor-x returns a view of the one buffer all its encoders share (flight/dtn/cbor.ts).
  return Uint8Array.from(cbor.encode([envelope.bodyBytes, signatures]));
}

function uint(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new MalformedEnvelope(`${field} must be an unsigned integer up to ${max}`);
  }
  return value;
}

function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    checkCborBounds(bytes, ENVELOPE_BOUNDS);
  } catch (error) {
    if (error instanceof CborRefused) throw new EnvelopeOutOfBounds(what, error.message);
    throw error;
  }
  try {
    return cbor.decode(bytes);
  } catch (error) {
    throw new MalformedEnvelope(`${what} is not one well-formed CBOR item (${(error as Error).message})`);
  }
}

export function decodeBody(bodyBytes: Uint8Array): CommandBody {
  const body = decodeCbor(bodyBytes, 'body');
  if (!Array.isArray(body) || body.length !== 7) throw new MalformedEnvelope('body must be an array of 7');
  const version = uint(body[0], 'version');
  if (version !== ENVELOPE_VERSION) throw new MalformedEnvelope(`version ${version} unsupported (this node: ${ENVELOPE_VERSION})`);
  if (!Array.isArray(body[6])) throw new MalformedEnvelope('args must be an array');
  return {
    version,
    target: uint(body[1], 'target'),
    operator: uint(body[2], 'operator', 0xffff_ffff),
    seq: uint(body[3], 'seq'),
    expiryMs: uint(body[4], 'expiryMs'),
    opcode: uint(body[5], 'opcode', 0xffff),
    args: body[6],
  };
}

/** Decodes and shape-checks an envelope from a link; throws MalformedEnvelope for anything else. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new MalformedEnvelope(`${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  const outer = decodeCbor(bytes, 'envelope');
  if (!Array.isArray(outer) || outer.length !== 2) throw new MalformedEnvelope('envelope must be an array of 2');
  const [bodyBytes, list] = outer as [unknown, unknown];
  if (!(bodyBytes instanceof Uint8Array)) throw new MalformedEnvelope('body must be a byte string');
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SIGNATURES) {
    throw new MalformedEnvelope(`signatures must be an array of 1 to ${MAX_SIGNATURES}`);
  }
  const signatures = list.map((entry: unknown, i): Signature => {
    if (!Array.isArray(entry) || entry.length !== 3) throw new MalformedEnvelope(`signature ${i} must be an array of 3`);
    const [, id, signature] = entry as unknown[];
    if (!(id instanceof Uint8Array) || id.length !== KEY_ID_BYTES) throw new MalformedEnvelope(`signature ${i} key id must be ${KEY_ID_BYTES} bytes`);
    if (!(signature instanceof Uint8Array)) throw new MalformedEnvelope(`signature ${i} must be a byte string`);
    return { operator: uint(entry[0], `signature ${i} operator`, 0xffff_ffff), keyId: id, signature };
  });
  if (new Set(signatures.map((s) => s.operator)).size !== signatures.length) throw new MalformedEnvelope('an operator signs more than once');
  return { bodyBytes, body: decodeBody(bodyBytes), signatures };
}
