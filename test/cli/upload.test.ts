// `tern gse upload` as an operator runs it (child processes): --out writes the signed file
// envelope, which decodes to the file's kind, name, SHA-256 and content and whose signature
// verifies against the operator's public key under the file context only; a station that is not
// there makes it print a "refused" JSON line and exit 1; bad input exits 2 before anything is
// signed or written.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandContext } from '../../flight/cmd/envelope.js';
import { readPublicKeyFile } from '../../flight/cmd/keyfile.js';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { decodeFile, fileContext, sha256Hex } from '../../flight/cmd/uplink-envelope.js';
import { runTern } from '../support/node-process.js';

describe('tern gse upload (child processes)', () => {
  it('writes a signed file envelope, reports a station that did not take it (exit 1), refuses bad input (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-cli-upload-'));
    expect((await runTern(['gse', 'keygen', '--out', 'alice.key', '--id', '1', '--name', 'alice'], dir)).code).toBe(0);
    const plan = JSON.stringify({ format: 'tern-contact-plan/1', contacts: [{ from: 20, to: 10, start: 0, end: 60, rate: 1000, owlt: 0 }] });
    writeFileSync(join(dir, 'plan.json'), plan);

    const written = await runTern(['gse', 'upload', '--kind', 'plan', '--file', 'plan.json', '--to', '20', '--key', 'alice.key', '--out', 'plan.cbor'], dir);
    expect(written.code, written.stderr).toBe(0);
    const sha256 = sha256Hex(new TextEncoder().encode(plan));
    expect(JSON.parse(written.stdout)).toEqual({ status: 'written', kind: 'plan', file: 'plan.json', sha256, bytes: plan.length, node: 20, operator: 1, to: 'plan.cbor' });
    const file = decodeFile(new Uint8Array(readFileSync(join(dir, 'plan.cbor'))));
    expect(file.header).toMatchObject({ target: 20, operator: 1, kind: 'plan', name: 'plan.json', sha256, size: plan.length });
    expect(new TextDecoder().decode(file.content)).toBe(plan);
    const dsa = mlDsa('ML-DSA-65');
    const alice = readPublicKeyFile(join(dir, 'alice.key.pub.json'));
    expect(dsa.verify(alice.publicKey, file.headerBytes, file.signature!.signature, fileContext(20))).toBe(true);
    expect(dsa.verify(alice.publicKey, file.headerBytes, file.signature!.signature, commandContext(20))).toBe(false);

    // Port 1: nothing listens there; the operator is told, and the SHA-256 is still printed.
    const refused = await runTern(['gse', 'upload', '--kind', 'plan', '--file', 'plan.json', '--to', '20', '--key', 'alice.key', '--via', '127.0.0.1:1'], dir);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'refused', sha256, error: expect.stringMatching(/did not take the bundle for ipn:20\.4/) });
    expect(refused.stderr).toMatch(/ECONNREFUSED/);

    for (const [args, message] of [
      [['--kind', 'firmware', '--file', 'plan.json', '--to', '20', '--key', 'alice.key', '--out', 'x.cbor'], /--kind must be model or plan/],
      [['--kind', 'plan', '--file', 'missing.json', '--to', '20', '--key', 'alice.key', '--out', 'x.cbor'], /cannot read missing.json/],
      [['--kind', 'plan', '--file', 'plan.json', '--to', '20', '--out', 'x.cbor'], /--key FILE is required/],
      [['--kind', 'plan', '--file', 'plan.json', '--to', '20', '--key', 'alice.key'], /give one of --via HOST:PORT .* and --out FILE/],
      [['--kind', 'plan', '--file', 'plan.json', '--to', '20', '--key', 'alice.key.pub.json', '--out', 'x.cbor'], /not the public half/],
    ] as const) {
      const bad = await runTern(['gse', 'upload', ...args], dir);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'x.cbor'))).toBe(false);
  }, 60_000);
});
