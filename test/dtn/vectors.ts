// The RFC 9173 Appendix A bundles, read in place from ../shared/vectors (never copied).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseKeys, type SecurityKey } from '../../flight/dtn/keys.js';

export const VECTORS_FILE = fileURLToPath(new URL('../../../shared/vectors/bpv7/rfc9173-appendix-a.json', import.meta.url));

export interface Rfc9173Vector {
  name: string;
  description: string;
  bytes: Uint8Array;
  hex: string;
  keysJwk: unknown[];
  keys: SecurityKey[];
  expectedPayload: string;
}

interface RawVector {
  name: string;
  description: string;
  bundle_hex: string;
  keys_jwk: unknown[];
  expected_payload_utf8: string;
}

export function rfc9173Vectors(): Rfc9173Vector[] {
  const raw = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as { vectors: RawVector[] };
  return raw.vectors.map((v) => ({
    name: v.name,
    description: v.description,
    hex: v.bundle_hex,
    bytes: Uint8Array.from(Buffer.from(v.bundle_hex, 'hex')),
    keysJwk: v.keys_jwk,
    keys: parseKeys(v.keys_jwk, `${VECTORS_FILE}#${v.name}`),
    expectedPayload: v.expected_payload_utf8,
  }));
}
