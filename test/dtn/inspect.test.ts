// `tern bundle inspect` as an operator runs it: the built CLI (dist/, from `npm run build`) in a
// child process, on files and on stdin.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleFlag, payloadBlock } from '../../flight/dtn/bundle.js';
import { createStatusReport } from '../../flight/dtn/status-report.js';
import { ipn } from '../../flight/dtn/eid.js';
import { REPO, TERN } from '../support/node-process.js';
import { T0, sampleBundle } from './helpers.js';
import { rfc9173Vectors } from './vectors.js';

const dir = mkdtempSync(join(tmpdir(), 'tern-inspect-'));

interface Run {
  status: number | null;
  json: Record<string, any>;
  stderr: string;
}

function tern(args: string[], input?: Uint8Array): Run {
  const r = spawnSync(process.execPath, [TERN, 'bundle', ...args], { cwd: REPO, input, encoding: 'buffer', timeout: 30_000 });
  const stdout = r.stdout.toString('utf8');
  return { status: r.status, json: stdout.trim() ? JSON.parse(stdout) : {}, stderr: r.stderr.toString('utf8') };
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('tern bundle inspect (child process)', () => {
  it.each(rfc9173Vectors().map((v) => [v.name, v] as const))('%s: --hex with --keys decrypts, verifies and exits 0', (name, v) => {
    const r = tern(['inspect', '--hex', file(`${name}.hex`, `${v.hex}\n`), '--keys', file(`${name}.jwk`, JSON.stringify(v.keysJwk))]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.primary).toMatchObject({ destination: 'ipn:1.2', source: 'ipn:2.1', creation: { dtnTimeMs: 0, sequence: 40 }, lifetimeMs: 1_000_000 });
    expect(r.json.security.length).toBeGreaterThan(0);
    expect(r.json.security.every((s: { status: string }) => s.status === 'verified' || s.status === 'decrypted')).toBe(true);
    const view = r.json.decrypted ?? r.json;
    expect(view.blocks.at(-1).payload.utf8).toBe(v.expectedPayload);
    // The vectors break two RFC 9171 rules on purpose; inspect reports them without failing.
    if (name !== 'rfc9173_appendix_a_3') expect(r.json.policy.map((p: { code: string }) => p.code)).toContain('BUNDLE_POLICY');
  });

  it('prints a raw bundle from stdin with EIDs, times, CRCs and extension blocks', () => {
    const b = sampleBundle({ flags: BundleFlag.reportDelivery });
    const r = tern(['inspect', '-'], b.bytes);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.size).toBe(b.bytes.length);
    expect(r.json.id).toBe(`ipn:10.0|${T0}|7`);
    expect(r.json.primary).toMatchObject({
      flags: { set: ['reportDelivery'] },
      crc: { type: 'crc32c', ok: true },
      reportTo: 'dtn://ground/reports',
      creation: { time: '2025-06-01T00:00:00.000Z' },
    });
    expect(r.json.blocks.map((x: { name: string }) => x.name)).toEqual(['previous-node', 'bundle-age', 'hop-count', 'quality-of-service', 'unknown', 'payload']);
    expect(r.json.blocks[2].hopCount).toEqual({ limit: 30, count: 2 });
    expect(r.json.blocks[5].payload.length).toBe(payloadBlock(b).data.length);
    expect(r.json.security).toEqual([]);
    // Created 2025-06-01 with a one-hour lifetime: long expired, which inspect reports, not fails on.
    expect(r.json.primary.expires).toBe('2025-06-01T01:00:00.000Z');
    expect(r.json.policy.map((p: { code: string }) => p.code)).toEqual(['BUNDLE_EXPIRED']);
  });

  it('decodes a status report', () => {
    const report = createStatusReport(sampleBundle({ flags: BundleFlag.reportReception }), ['received'], 4, { source: ipn(3, 0), now: T0, sequence: 1, lifetime: 1000 })!;
    const r = tern(['inspect', file('report.bundle', report.bytes)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.statusReport).toEqual({ asserted: { received: {} }, reason: 4, subject: { source: 'ipn:10.0', creationTime: T0, sequence: 7 } });
  });

  it('prints the typed error and exits 1 for a corrupt bundle', () => {
    const bytes = Uint8Array.from(sampleBundle().bytes);
    bytes[bytes.length - 20]! ^= 0x10;
    const r = tern(['inspect', file('corrupt.bundle', bytes)]);
    expect(r.status).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'BUNDLE_CRC', field: 'block.crc', block: { type: 1, number: 1 }, statusReason: 8 });
    expect(r.stderr).toContain('BUNDLE_CRC');
  });

  it('exits 1 with BPSEC_INTEGRITY when a signed payload was altered', () => {
    const v = rfc9173Vectors()[0]!;
    const altered = v.hex.replace(Buffer.from('Ready').toString('hex'), Buffer.from('Steady'.slice(1)).toString('hex'));
    const r = tern(['inspect', '--hex', file('altered.hex', altered), '--keys', file('a1.jwk', JSON.stringify(v.keysJwk))]);
    expect(r.status).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'BPSEC_INTEGRITY', block: { number: 2, type: 11 } });
  });

  it('exits 2 on bad usage, bad hex, a missing file or a bad key file', () => {
    expect(tern(['inspect']).status).toBe(2);
    expect(tern(['frobnicate', 'x']).status).toBe(2);
    expect(tern(['inspect', '--hex', file('odd.hex', 'abc')]).status).toBe(2);
    expect(tern(['inspect', join(dir, 'missing.bundle')]).status).toBe(2);
    const bad = tern(['inspect', file('ok.bundle', sampleBundle().bytes), '--keys', file('bad.jwk', '[{"kty":"RSA"}]')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('CONFIG_INVALID');
  });
});
