// Key files: an ML-DSA-65 key pair as JSON, written by `tern gse keygen` for operators (and
// usable as a node identity key). The secret file holds the 32-byte seed and must be private
// (mode 0600, refused otherwise, as ssh refuses); FILE.pub.json holds only the public half and
// is what goes into a mission config, an OPERATOR_ADD command or `tern gse cosign --pub`.
//
//   FILE           {"format":"tern-key","algorithm":"ML-DSA-65","id":1,"name":"alice","keyId":"<hex>","publicKey":"<b64>","seed":"<b64>"}
//   FILE.pub.json  {"format":"tern-public-key","algorithm":"ML-DSA-65","id":1,"name":"alice","keyId":"<hex>","publicKey":"<b64>"}
import { closeSync, fsyncSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { readJsonFile } from '../config/fields.js';
import { ConfigError } from '../errors.js';
import { fsyncDirectory } from '../durable.js';
import { hexId, keyId } from './envelope.js';
import { ML_DSA_LENGTHS, ML_DSA_SEED_BYTES, type MlDsa } from './mldsa.js';

export interface KeyPair {
  readonly id: number;
  readonly name: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function writePrivate(path: string, text: string, mode: number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  // Created with its final mode: the secret never exists in a readable file, not even briefly.
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  fsyncDirectory(dirname(path));
}

/** Writes FILE (0600) and FILE.pub.json (0644). */
export function writeKeyFiles(path: string, key: KeyPair): { secret: string; public: string } {
  const common = { algorithm: 'ML-DSA-65', id: key.id, name: key.name, keyId: hexId(keyId(key.publicKey)), publicKey: b64(key.publicKey) };
  writePrivate(path, `${JSON.stringify({ format: 'tern-key', ...common, seed: b64(key.seed) }, null, 2)}\n`, 0o600);
  const pub = `${path}.pub.json`;
  writePrivate(pub, `${JSON.stringify({ format: 'tern-public-key', ...common }, null, 2)}\n`, 0o644);
  return { secret: path, public: pub };
}

/** Reads a secret key file, checking its mode and that the seed gives the stated public key. */
export function readKeyFile(path: string, dsa: MlDsa): KeyPair {
  const raw = readJsonFile(path, 'tern-key file (tern gse keygen writes one)') as Record<string, unknown>;
  // The format first: a public key given for a secret one is a wrong file, not a wrong mode.
  if (raw.format === 'tern-public-key') throw new ConfigError(path, 'format', 'a secret key file, not the public half (FILE.pub.json): give FILE', raw.format);
  if (raw.format !== 'tern-key' || raw.algorithm !== 'ML-DSA-65') throw new ConfigError(path, 'format', 'a tern-key ML-DSA-65 key file', raw.format);
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new ConfigError(path, '(mode)', 'a file only its owner can read (chmod 600)', `0${mode.toString(8)}`);
  if (typeof raw.id !== 'number' || !Number.isInteger(raw.id) || raw.id < 1 || raw.id > 0xffff_ffff) throw new ConfigError(path, 'id', 'an operator id in [1, 4294967295]', raw.id);
  const seed = new Uint8Array(Buffer.from(String(raw.seed), 'base64'));
  if (seed.length !== ML_DSA_SEED_BYTES) throw new ConfigError(path, 'seed', `base64 of ${ML_DSA_SEED_BYTES} bytes`);
  const publicKey = dsa.publicKey(seed);
  if (b64(publicKey) !== raw.publicKey || publicKey.length !== ML_DSA_LENGTHS['ML-DSA-65'].publicKey) {
    throw new ConfigError(path, 'publicKey', 'the public key of the seed in this file (the file was altered)');
  }
  return { id: raw.id, name: typeof raw.name === 'string' ? raw.name : `operator-${raw.id}`, seed, publicKey };
}

/** Reads FILE.pub.json: another operator's public key, to check a signature of theirs. */
export function readPublicKeyFile(path: string): Omit<KeyPair, 'seed'> {
  const raw = readJsonFile(path, 'tern-public-key file (tern gse keygen writes FILE.pub.json)') as Record<string, unknown>;
  if (raw.format !== 'tern-public-key' || raw.algorithm !== 'ML-DSA-65') throw new ConfigError(path, 'format', 'a tern-public-key ML-DSA-65 key file', raw.format);
  if (typeof raw.id !== 'number' || !Number.isInteger(raw.id) || raw.id < 1 || raw.id > 0xffff_ffff) throw new ConfigError(path, 'id', 'an operator id in [1, 4294967295]', raw.id);
  const publicKey = new Uint8Array(Buffer.from(String(raw.publicKey), 'base64'));
  if (publicKey.length !== ML_DSA_LENGTHS['ML-DSA-65'].publicKey || b64(publicKey) !== raw.publicKey) {
    throw new ConfigError(path, 'publicKey', `base64 of a ${ML_DSA_LENGTHS['ML-DSA-65'].publicKey}-byte ML-DSA-65 public key`);
  }
  return { id: raw.id, name: typeof raw.name === 'string' ? raw.name : `operator-${raw.id}`, publicKey };
}
