// Security keys as JSON Web Keys (RFC 7517, symmetric "oct" keys), the form the RFC 9173
// Appendix A vectors publish them in. `kid` is the security source EID the key belongs to
// (ipn:2.1); `alg` says what the key does: HS256/HS384/HS512 sign directly, A128KW/A192KW/A256KW
// wrap a per-block key, `dir` (or no alg with `enc`) encrypts directly with `enc` A128GCM or
// A256GCM. `key_ops`, when present, limits what the key may be used for.
import { Fields, join, readJsonFile } from '../config/fields.js';

export type KeyOperation = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'wrapKey' | 'unwrapKey';

export interface SecurityKey {
  readonly kid?: string;
  readonly alg?: string;
  readonly enc?: string;
  readonly ops?: readonly KeyOperation[];
  readonly key: Buffer;
}

const ALGS = ['HS256', 'HS384', 'HS512', 'A128KW', 'A192KW', 'A256KW', 'dir'] as const;
const ENCS = ['A128GCM', 'A256GCM'] as const;
const OPS: readonly KeyOperation[] = ['sign', 'verify', 'encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
const KEY_LENGTH: Record<string, number> = { A128KW: 16, A192KW: 24, A256KW: 32, A128GCM: 16, A256GCM: 32 };
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function parseKey(f: Fields, raw: unknown, field: string): SecurityKey {
  const o = f.object(raw, field);
  if (o.kty !== 'oct') f.fail(join(field, 'kty'), '"oct" (symmetric keys only)', o.kty);
  const k = f.string(o.k, join(field, 'k'), BASE64URL);
  const key = Buffer.from(k, 'base64url');
  const kid = o.kid === undefined ? undefined : f.string(o.kid, join(field, 'kid'));
  const alg = o.alg === undefined ? undefined : f.oneOf(o.alg, join(field, 'alg'), ALGS);
  const enc = o.enc === undefined ? undefined : f.oneOf(o.enc, join(field, 'enc'), ENCS);
  const ops = o.key_ops === undefined ? undefined
    : f.array(o.key_ops, join(field, 'key_ops')).map((op, i) => f.oneOf(op, join(join(field, 'key_ops'), i), OPS));
  // A key of the wrong length would only fail later, inside node:crypto, with an untyped error.
  const need = KEY_LENGTH[alg === undefined || alg === 'dir' ? (enc ?? '') : alg];
  if (need !== undefined && key.length !== need) f.fail(join(field, 'k'), `${need} bytes for ${alg ?? enc}`, `${key.length} bytes`);
  if (key.length === 0) f.fail(join(field, 'k'), 'a non-empty key');
  return { kid, alg, enc, ops, key };
}

/** Parses a JWK Set ({"keys": [...]}) or a bare array of JWKs. */
export function parseKeys(raw: unknown, file: string): SecurityKey[] {
  const f = new Fields(file);
  const list = Array.isArray(raw) ? raw : f.array(f.object(raw, '').keys, 'keys');
  return list.map((k, i) => parseKey(f, k, Array.isArray(raw) ? `[${i}]` : `keys[${i}]`));
}

export function loadKeys(file: string): SecurityKey[] {
  return parseKeys(readJsonFile(file, 'JWK file'), file);
}

export function allows(key: SecurityKey, op: KeyOperation): boolean {
  return key.ops === undefined || key.ops.includes(op);
}
