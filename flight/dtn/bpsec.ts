// BPSec (RFC 9172) with the default security contexts of RFC 9173: BIB-HMAC-SHA2 (context 1)
// and BCB-AES-GCM (context 2), on node:crypto. Verify and decrypt received bundles, sign and
// encrypt new ones. Failures of a security operation (wrong MAC, wrong tag, unwrap failure)
// are BundleErrors with code BPSEC_INTEGRITY or BPSEC_CONFIDENTIALITY; a missing key is a
// result ("no-key"), because whether that is acceptable is the agent's policy.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeAsb, parameter, type Asb, type NewParameter, type SecurityParameter } from './asb.js';
import { BlockFlag, BlockType, type Block, type Bundle } from './bundle.js';
import { BundleError, type BlockRef } from './bundle-error.js';
import { cborHead, encodeCbor, uint } from './cbor.js';
import { assembleBundle, encodeBlock } from './codec.js';
import { eidToString, type Eid } from './eid.js';
import { allows, type KeyOperation, type SecurityKey } from './keys.js';

export const CONTEXT_BIB_HMAC_SHA2 = 1;
export const CONTEXT_BCB_AES_GCM = 2;

/** RFC 9173 3.3.1: SHA variant parameter values. */
export const ShaVariant = { hmac256: 5, hmac384: 6, hmac512: 7 } as const;
/** RFC 9173 4.3.2: AES variant parameter values. */
export const AesVariant = { a128gcm: 1, a256gcm: 3 } as const;
/** Integrity (RFC 9173 3.3.3) and AAD (4.3.4) scope flags. */
export const ScopeFlag = { primaryBlock: 0x1, targetHeader: 0x2, securityHeader: 0x4 } as const;
const SCOPE_ALL = 0x7;

// Parameter and result ids.
const BIB_SHA_VARIANT = 1;
const BIB_WRAPPED_KEY = 2;
const BIB_SCOPE = 3;
const BIB_RESULT_HMAC = 1;
const BCB_IV = 1;
const BCB_AES_VARIANT = 2;
const BCB_WRAPPED_KEY = 3;
const BCB_AAD_SCOPE = 4;
const BCB_RESULT_TAG = 1;

const SHA: Record<number, { hash: string; alg: string; bytes: number }> = {
  5: { hash: 'sha256', alg: 'HS256', bytes: 32 },
  6: { hash: 'sha384', alg: 'HS384', bytes: 48 },
  7: { hash: 'sha512', alg: 'HS512', bytes: 64 },
};
const AES: Record<number, { cipher: string; enc: string; bytes: number }> = {
  1: { cipher: 'aes-128-gcm', enc: 'A128GCM', bytes: 16 },
  3: { cipher: 'aes-256-gcm', enc: 'A256GCM', bytes: 32 },
};
const KEY_WRAP: Record<string, string> = { A128KW: 'id-aes128-wrap', A192KW: 'id-aes192-wrap', A256KW: 'id-aes256-wrap' };
// RFC 3394 2.2.3.1 default initial value.
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const TAG_BYTES = 16;
// Block flags that take part in the canonical header (RFC 9172 section 4): assigned bits only.
const ASSIGNED_BLOCK_FLAGS = BlockFlag.replicate | BlockFlag.reportIfUnprocessed |
  BlockFlag.deleteBundleIfUnprocessed | BlockFlag.discardIfUnprocessed;

export type SecurityStatus = 'verified' | 'decrypted' | 'no-key' | 'unsupported' | 'encrypted';

export interface SecurityResult {
  /** Number of the BIB or BCB. */
  readonly block: number;
  readonly service: 'integrity' | 'confidentiality';
  /** Target block number; -1 when the targets are not readable (a BIB a BCB encrypts). */
  readonly target: number;
  readonly context: number;
  readonly source: string;
  readonly status: SecurityStatus;
  readonly note?: string;
}

function blockRef(bundle: Bundle, block: Block): BlockRef {
  return { index: bundle.blocks.indexOf(block) + 1, type: block.type, number: block.number };
}

function header(type: number, number: number, flags: number): Buffer[] {
  return [encodeCbor(uint(type)), encodeCbor(uint(number)), encodeCbor(uint(flags & ASSIGNED_BLOCK_FLAGS))].map((b) => Buffer.from(b));
}

function intParam(list: readonly SecurityParameter[], id: number, fallback: number, ref: BlockRef): number {
  const p = parameter(list, id);
  if (!p) return fallback;
  if (typeof p.value !== 'number') throw new BundleError('BUNDLE_SECURITY', `asb.parameters.${id}`, 'expected an unsigned integer', ref);
  return p.value;
}

function bytesParam(list: readonly SecurityParameter[], id: number, field: string, ref: BlockRef): Buffer | undefined {
  const p = parameter(list, id);
  if (!p) return undefined;
  if (!(p.value instanceof Uint8Array)) throw new BundleError('BUNDLE_SECURITY', field, 'expected a byte string', ref);
  return Buffer.from(p.value.buffer, p.value.byteOffset, p.value.length);
}

function keysFor(keys: readonly SecurityKey[], source: Eid, op: KeyOperation): SecurityKey[] {
  const id = eidToString(source);
  return keys.filter((k) => (k.kid === undefined || k.kid === id) && allows(k, op));
}

/** Unwraps a content key with an RFC 3394 key-encryption key; undefined if this KEK is wrong. */
function unwrap(kek: SecurityKey, wrapped: Buffer): Buffer | undefined {
  const cipher = kek.alg === undefined ? undefined : KEY_WRAP[kek.alg];
  if (!cipher) return undefined;
  try {
    const d = createDecipheriv(cipher, kek.key, KW_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    return undefined; // RFC 3394 integrity check failed: not this key (or a tampered key)
  }
}

function wrap(kek: SecurityKey, key: Buffer): Buffer {
  const c = createCipheriv(KEY_WRAP[kek.alg!]!, kek.key, KW_IV);
  return Buffer.concat([c.update(key), c.final()]);
}

// ---------------------------------------------------------------------------------------------
// BIB-HMAC-SHA2

/**
 * RFC 9173 3.7: the integrity-protected plaintext. The target's contribution is its
 * block-type-specific data as a CBOR byte string (head included, as Appendix A.1 shows). For the
 * primary block as target, `wrapPrimary` selects the form: the bare primary block (RFC 9172
 * section 4, what Tern signs) or the primary block inside a byte string head, which is what the
 * published Appendix A.3 vector was computed with (verified as a fallback, see DESIGN.md).
 */
function ippt(bundle: Bundle, bib: { number: number; flags: number }, target: number, scope: number, wrapPrimary: boolean): Buffer[] {
  const parts: Buffer[] = [Buffer.from(encodeCbor(scope & SCOPE_ALL))];
  const primary = Buffer.from(bundle.primary.bytes);
  const block = target === 0 ? undefined : bundle.blocks.find((b) => b.number === target)!;
  // Steps 2 and 3 do not apply to a primary-block target: it would be added twice, and it has no header.
  if (block) {
    if (scope & ScopeFlag.primaryBlock) parts.push(primary);
    if (scope & ScopeFlag.targetHeader) parts.push(...header(block.type, block.number, block.flags));
  }
  if (scope & ScopeFlag.securityHeader) parts.push(...header(BlockType.integrity, bib.number, bib.flags));
  if (block) parts.push(Buffer.from(cborHead(2, block.data.length)), Buffer.from(block.data));
  else if (wrapPrimary) parts.push(Buffer.from(cborHead(2, primary.length)), primary);
  else parts.push(primary);
  return parts;
}

function hmac(hash: string, key: Buffer, parts: readonly Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Content keys from a wrapped-key parameter. No KEK for the source is "no key"; KEKs that all
 * fail RFC 3394's integrity check mean a tampered (or foreign) wrapped key: a failed operation.
 */
function unwrapAll(keys: readonly SecurityKey[], asb: Asb, wrapped: Buffer, code: 'BPSEC_INTEGRITY' | 'BPSEC_CONFIDENTIALITY', ref: BlockRef): Buffer[] {
  const keks = keysFor(keys, asb.source, 'unwrapKey').filter((k) => k.alg !== undefined && k.alg in KEY_WRAP);
  const opened = keks.map((k) => unwrap(k, wrapped)).filter((k): k is Buffer => k !== undefined);
  if (keks.length > 0 && opened.length === 0) {
    throw new BundleError(code, 'asb.parameters.wrappedKey', `wrapped key does not unwrap under the ${keks.length} KEK(s) held for ${eidToString(asb.source)}`, ref);
  }
  return opened;
}

/** HMAC keys for a BIB: unwrapped from its wrapped-key parameter, or used directly. */
function integrityKeys(keys: readonly SecurityKey[], asb: Asb, variant: number, wrapped: Buffer | undefined, ref: BlockRef): Buffer[] {
  if (wrapped) return unwrapAll(keys, asb, wrapped, 'BPSEC_INTEGRITY', ref);
  return keysFor(keys, asb.source, 'verify')
    .filter((k) => k.enc === undefined && (k.alg === undefined || k.alg === SHA[variant]!.alg))
    .map((k) => k.key);
}

/**
 * Verifies every BIB whose targets are readable. Returns one result per target; throws
 * BPSEC_INTEGRITY when an HMAC does not match under any key held for its security source.
 */
export function verifyIntegrity(bundle: Bundle, keys: readonly SecurityKey[]): SecurityResult[] {
  const out: SecurityResult[] = [];
  for (const { block, asb } of bundle.security) {
    if (block.type !== BlockType.integrity) continue;
    if (!asb) {
      out.push({ block: block.number, service: 'integrity', target: -1, context: -1, source: '', status: 'encrypted' });
      continue;
    }
    const ref = blockRef(bundle, block);
    const base = { block: block.number, service: 'integrity' as const, context: asb.contextId, source: eidToString(asb.source) };
    const variant = asb.contextId === CONTEXT_BIB_HMAC_SHA2 ? intParam(asb.parameters, BIB_SHA_VARIANT, ShaVariant.hmac384, ref) : 0;
    const sha = SHA[variant];
    if (!sha) {
      for (const target of asb.targets) out.push({ ...base, target, status: 'unsupported', note: asb.contextId === CONTEXT_BIB_HMAC_SHA2 ? `SHA variant ${variant}` : 'security context' });
      continue;
    }
    const scope = intParam(asb.parameters, BIB_SCOPE, SCOPE_ALL, ref);
    const wrapped = bytesParam(asb.parameters, BIB_WRAPPED_KEY, 'asb.parameters.wrappedKey', ref);
    const candidates = integrityKeys(keys, asb, variant, wrapped, ref);
    asb.targets.forEach((target, i) => {
      if (candidates.length === 0) {
        out.push({ ...base, target, status: 'no-key' });
        return;
      }
      const expected = bytesParam(asb.results[i]!, BIB_RESULT_HMAC, `asb.results[${i}]`, ref);
      if (!expected) throw new BundleError('BUNDLE_SECURITY', `asb.results[${i}]`, 'no expected HMAC result', ref);
      const forms = target === 0 ? [false, true] : [false];
      for (const wrapPrimary of forms) {
        const parts = ippt(bundle, block, target, scope, wrapPrimary);
        if (candidates.some((k) => equal(hmac(sha.hash, k, parts), expected))) {
          out.push({ ...base, target, status: 'verified', ...(wrapPrimary ? { note: 'primary block in the RFC 9173 A.3 byte-string form' } : {}) });
          return;
        }
      }
      throw new BundleError('BPSEC_INTEGRITY', `asb.results[${i}]`,
        `HMAC over block ${target} does not match under the ${candidates.length} key(s) held for ${base.source}`, ref);
    });
  }
  return out;
}

export interface SignOptions {
  /** HS256/HS384/HS512 key used directly, or an A128KW/A192KW/A256KW key that wraps a fresh one. */
  readonly key: SecurityKey;
  /** Security source: this node. */
  readonly source: Eid;
  /** Block numbers to protect; 0 is the primary block. */
  readonly targets: readonly number[];
  /** SHA variant; from the key's alg, or HMAC-SHA-384 (the RFC default) for a wrapping key. */
  readonly variant?: 5 | 6 | 7;
  readonly scope?: number;
  readonly blockFlags?: number;
}

function securityError(field: string, reason: string): BundleError {
  return new BundleError('BUNDLE_SECURITY', field, reason);
}

/** Adds one BIB over `targets` (RFC 9172 3.7, RFC 9173 section 3). */
export function signBundle(bundle: Bundle, options: SignOptions): Bundle {
  const { key, targets } = options;
  if (targets.length === 0) throw securityError('targets', 'nothing to sign');
  for (const t of targets) {
    const block = t === 0 ? undefined : bundle.blocks.find((b) => b.number === t);
    if (t !== 0 && !block) throw securityError('targets', `no block number ${t}`);
    if (block && (block.type === BlockType.integrity || block.type === BlockType.confidentiality)) {
      throw securityError('targets', `block ${t} is a security block; a BIB must not target it`);
    }
    if (bundle.encrypted.has(t)) throw securityError('targets', `block ${t} is encrypted; sign before encrypting (RFC 9172 3.9)`);
    if (bundle.security.some((s) => s.block.type === BlockType.integrity && (!s.asb || s.asb.targets.includes(t)))) {
      throw securityError('targets', `block ${t} already has (or may have) a BIB`);
    }
  }
  const wrapAlg = key.alg !== undefined && key.alg in KEY_WRAP;
  const fromAlg = Object.entries(SHA).find(([, s]) => s.alg === key.alg)?.[0];
  const variant = options.variant ?? (fromAlg ? Number(fromAlg) : ShaVariant.hmac384);
  const sha = SHA[variant]!;
  if (!wrapAlg && key.alg !== undefined && key.alg !== sha.alg) throw new BundleError('BPSEC_KEY', 'key.alg', `${key.alg} key cannot make ${sha.alg}`);
  if (!allows(key, wrapAlg ? 'wrapKey' : 'sign')) throw new BundleError('BPSEC_KEY', 'key.key_ops', `key does not allow ${wrapAlg ? 'wrapKey' : 'sign'}`);
  const hmacKey = wrapAlg ? randomBytes(sha.bytes) : key.key;
  const scope = options.scope ?? SCOPE_ALL;
  const flags = options.blockFlags ?? 0;
  const number = Math.max(1, ...bundle.blocks.map((b) => b.number)) + 1;
  const results = targets.map((t): NewParameter[] => [{ id: BIB_RESULT_HMAC, value: hmac(sha.hash, hmacKey, ippt(bundle, { number, flags }, t, scope, false)) }]);
  const parameters: NewParameter[] = [{ id: BIB_SHA_VARIANT, value: variant }];
  if (wrapAlg) parameters.push({ id: BIB_WRAPPED_KEY, value: wrap(key, hmacKey) });
  parameters.push({ id: BIB_SCOPE, value: scope });
  const data = encodeAsb({ targets, contextId: CONTEXT_BIB_HMAC_SHA2, source: options.source, parameters, results });
  const bib = encodeBlock({ type: BlockType.integrity, number, flags, crcType: bundle.primary.crcType, data });
  const blocks = [...bundle.blocks];
  blocks.splice(blocks.length - 1, 0, bib);
  return assembleBundle(bundle.primary, blocks);
}

// ---------------------------------------------------------------------------------------------
// BCB-AES-GCM

/** RFC 9173 4.7.2: additional authenticated data. */
function aad(bundle: Bundle, bcb: { number: number; flags: number }, target: Block, scope: number): Buffer {
  const parts: Buffer[] = [Buffer.from(encodeCbor(scope & SCOPE_ALL))];
  if (scope & ScopeFlag.primaryBlock) parts.push(Buffer.from(bundle.primary.bytes));
  if (scope & ScopeFlag.targetHeader) parts.push(...header(target.type, target.number, target.flags));
  if (scope & ScopeFlag.securityHeader) parts.push(...header(BlockType.confidentiality, bcb.number, bcb.flags));
  return Buffer.concat(parts);
}

function gcmDecrypt(cipher: string, key: Buffer, iv: Buffer, aadBytes: Buffer, tag: Buffer, ciphertext: Uint8Array): Buffer | undefined {
  try {
    const d = createDecipheriv(cipher as 'aes-128-gcm', key, iv, { authTagLength: TAG_BYTES });
    d.setAAD(aadBytes);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    return undefined; // authentication failed under this key
  }
}

/** Content-encryption keys for a BCB: unwrapped, or direct keys for its AES variant. */
function confidentialityKeys(keys: readonly SecurityKey[], asb: Asb, enc: string, bytes: number, wrapped: Buffer | undefined, ref: BlockRef): Buffer[] {
  if (wrapped) return unwrapAll(keys, asb, wrapped, 'BPSEC_CONFIDENTIALITY', ref).filter((k) => k.length === bytes);
  return keysFor(keys, asb.source, 'decrypt')
    .filter((k) => (k.alg === undefined || k.alg === 'dir') && k.enc === enc && k.key.length === bytes)
    .map((k) => k.key);
}

export interface Decrypted {
  /** The bundle with every BCB it could process removed and their targets in plaintext. */
  readonly bundle: Bundle;
  readonly results: readonly SecurityResult[];
}

/**
 * Decrypts every BCB it holds a key for (RFC 9172 3.8, RFC 9173 section 4): targets get their
 * plaintext back and the BCB is removed. Throws BPSEC_CONFIDENTIALITY when a tag does not
 * authenticate under any key held for the BCB's security source.
 */
export function decryptBundle(bundle: Bundle, keys: readonly SecurityKey[]): Decrypted {
  const results: SecurityResult[] = [];
  const plaintext = new Map<number, Buffer>();
  const removed = new Set<number>();
  for (const { block, asb } of bundle.security) {
    if (block.type !== BlockType.confidentiality || !asb) continue;
    const ref = blockRef(bundle, block);
    const base = { block: block.number, service: 'confidentiality' as const, context: asb.contextId, source: eidToString(asb.source) };
    const variant = asb.contextId === CONTEXT_BCB_AES_GCM ? intParam(asb.parameters, BCB_AES_VARIANT, AesVariant.a256gcm, ref) : 0;
    const aes = AES[variant];
    if (!aes) {
      for (const target of asb.targets) results.push({ ...base, target, status: 'unsupported', note: asb.contextId === CONTEXT_BCB_AES_GCM ? `AES variant ${variant}` : 'security context' });
      continue;
    }
    const iv = bytesParam(asb.parameters, BCB_IV, 'asb.parameters.iv', ref);
    if (!iv || iv.length < 12 || iv.length > 16) throw new BundleError('BUNDLE_SECURITY', 'asb.parameters.iv', 'missing or not 12 to 16 bytes', ref);
    const scope = intParam(asb.parameters, BCB_AAD_SCOPE, SCOPE_ALL, ref);
    const wrapped = bytesParam(asb.parameters, BCB_WRAPPED_KEY, 'asb.parameters.wrappedKey', ref);
    const candidates = confidentialityKeys(keys, asb, aes.enc, aes.bytes, wrapped, ref);
    if (candidates.length === 0) {
      for (const target of asb.targets) results.push({ ...base, target, status: 'no-key' });
      continue;
    }
    const targets = asb.targets.map((t, i) => {
      const target = bundle.blocks.find((b) => b.number === t)!;
      const tag = bytesParam(asb.results[i]!, BCB_RESULT_TAG, `asb.results[${i}]`, ref);
      if (!tag || tag.length !== TAG_BYTES) throw new BundleError('BUNDLE_SECURITY', `asb.results[${i}]`, 'missing or not a 16-byte tag', ref);
      return { target, tag, aad: aad(bundle, block, target, scope) };
    });
    // One key must open every target of the BCB: they share its parameters.
    let opened: Buffer[] | undefined;
    for (const key of candidates) {
      const attempt = targets.map((t) => gcmDecrypt(aes.cipher, key, iv, t.aad, t.tag, t.target.data));
      if (attempt.every((p) => p !== undefined)) {
        opened = attempt as Buffer[];
        break;
      }
    }
    if (!opened) {
      throw new BundleError('BPSEC_CONFIDENTIALITY', 'asb.results',
        `authentication tag does not verify under the ${candidates.length} key(s) held for ${base.source}`, ref);
    }
    opened.forEach((p, i) => {
      const t = targets[i]!.target.number;
      plaintext.set(t, p);
      results.push({ ...base, target: t, status: 'decrypted' });
    });
    removed.add(block.number);
  }
  if (removed.size === 0) return { bundle, results };
  const blocks = bundle.blocks
    .filter((b) => !removed.has(b.number))
    .map((b) => {
      const p = plaintext.get(b.number);
      return p ? encodeBlock({ type: b.type, number: b.number, flags: b.flags, crcType: b.crcType, data: p }) : b;
    });
  const out = assembleBundle(bundle.primary, blocks);
  checkEncryptedBibs(bundle, out, plaintext);
  return { bundle: out, results };
}

/** RFC 9172 3.8: a BIB may be encrypted only together with (one of) its targets. */
function checkEncryptedBibs(before: Bundle, after: Bundle, plaintext: ReadonlyMap<number, Buffer>): void {
  for (const { block, asb } of after.security) {
    if (block.type !== BlockType.integrity || !asb || !plaintext.has(block.number)) continue;
    if (!asb.targets.some((t) => before.encrypted.has(t))) {
      throw new BundleError('BUNDLE_SECURITY', 'asb.targets', 'a BCB encrypted this BIB but none of its targets (RFC 9172 3.8)',
        blockRef(after, block));
    }
  }
}

export interface EncryptOptions {
  /** Content key (alg "dir" or none, with enc), or an A128KW/A192KW/A256KW key that wraps a fresh one. */
  readonly key: SecurityKey;
  readonly source: Eid;
  /** Block numbers to encrypt; BIBs covering them are added (RFC 9172 3.9). */
  readonly targets: readonly number[];
  /** AES variant; from the key's enc, else A256GCM (the RFC default). */
  readonly variant?: 1 | 3;
  readonly aadScope?: number;
  /** Source of 12-byte IVs, unique under the key (a session's counter); random when absent. */
  readonly nextIv?: () => Uint8Array;
}

/**
 * Encrypts `targets`, one BCB per target so that every encryption has its own IV (and, when
 * wrapping, its own content key): a multi-target BCB would reuse one GCM nonce for all.
 */
export function encryptBundle(bundle: Bundle, options: EncryptOptions): Bundle {
  const { key } = options;
  const wanted = new Set(options.targets);
  if (wanted.size === 0) throw securityError('targets', 'nothing to encrypt');
  for (const { block, asb } of bundle.security) {
    if (block.type !== BlockType.integrity || !asb || !asb.targets.some((t) => wanted.has(t))) continue;
    const others = asb.targets.filter((t) => !wanted.has(t));
    if (others.length > 0) throw securityError('targets', `BIB ${block.number} also covers block(s) ${others.join(', ')}: encrypt them too, or none`);
    wanted.add(block.number);
  }
  const byNumber = new Map(bundle.blocks.map((b) => [b.number, b]));
  for (const t of wanted) {
    const b = byNumber.get(t);
    if (t === 0) throw securityError('targets', 'a BCB must not target the primary block');
    if (!b) throw securityError('targets', `no block number ${t}`);
    if (b.type === BlockType.confidentiality) throw securityError('targets', `block ${t} is a BCB`);
    if (bundle.encrypted.has(t)) throw securityError('targets', `block ${t} is already encrypted`);
  }
  const wrapAlg = key.alg !== undefined && key.alg in KEY_WRAP;
  const fromEnc = Object.entries(AES).find(([, a]) => a.enc === key.enc)?.[0];
  const variant = options.variant ?? (fromEnc ? Number(fromEnc) : AesVariant.a256gcm);
  const aes = AES[variant]!;
  if (!wrapAlg && (key.alg !== undefined && key.alg !== 'dir')) throw new BundleError('BPSEC_KEY', 'key.alg', `${key.alg} key cannot encrypt`);
  if (!wrapAlg && key.key.length !== aes.bytes) throw new BundleError('BPSEC_KEY', 'key.k', `${aes.enc} needs a ${aes.bytes}-byte key`);
  if (!allows(key, wrapAlg ? 'wrapKey' : 'encrypt')) throw new BundleError('BPSEC_KEY', 'key.key_ops', `key does not allow ${wrapAlg ? 'wrapKey' : 'encrypt'}`);
  const scope = options.aadScope ?? SCOPE_ALL;
  let number = Math.max(1, ...bundle.blocks.map((b) => b.number));
  const replaced = new Map<number, Block>();
  const bcbs: Block[] = [];
  for (const t of wanted) {
    const target = byNumber.get(t)!;
    number++;
    // RFC 9172 3.8: a BCB over the payload goes in every fragment; so must one over a replicated block.
    const flags = target.type === BlockType.payload || target.flags & BlockFlag.replicate ? BlockFlag.replicate : 0;
    const cek = wrapAlg ? randomBytes(aes.bytes) : key.key;
    const iv = options.nextIv?.() ?? randomBytes(12);
    const c = createCipheriv(aes.cipher as 'aes-128-gcm', cek, iv, { authTagLength: TAG_BYTES });
    c.setAAD(aad(bundle, { number, flags }, target, scope));
    const ciphertext = Buffer.concat([c.update(target.data), c.final()]);
    const parameters: NewParameter[] = [{ id: BCB_IV, value: iv }, { id: BCB_AES_VARIANT, value: variant }];
    if (wrapAlg) parameters.push({ id: BCB_WRAPPED_KEY, value: wrap(key, cek) });
    parameters.push({ id: BCB_AAD_SCOPE, value: scope });
    const data = encodeAsb({
      targets: [t],
      contextId: CONTEXT_BCB_AES_GCM,
      source: options.source,
      parameters,
      results: [[{ id: BCB_RESULT_TAG, value: c.getAuthTag() }]],
    });
    replaced.set(t, encodeBlock({ type: target.type, number: t, flags: target.flags, crcType: target.crcType, data: ciphertext }));
    bcbs.push(encodeBlock({ type: BlockType.confidentiality, number, flags, crcType: bundle.primary.crcType, data }));
  }
  const blocks = bundle.blocks.map((b) => replaced.get(b.number) ?? b);
  blocks.splice(blocks.length - 1, 0, ...bcbs);
  return assembleBundle(bundle.primary, blocks);
}
