// `tern fec` as a real child process (node dist/gse/tern.js; run `npm run build` first).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO, TERN } from '../support/node-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tern(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TERN, 'fec', ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

interface VectorCase { basis: string; k: number; virtual_fill: number; codeword: string; received: string; erasures: number[]; corrected: number }
const vectors = JSON.parse(readFileSync(new URL('../../../shared/vectors/ccsds-rs/rs255-223.json', import.meta.url), 'utf8')) as {
  fixed: { data_hex: string; parity_dual_hex: string; parity_conventional_hex: string; error_mask_hex: string };
  cases: VectorCase[];
};

function errorOf(run: Run): { code: string; message: string; field?: string; codewords?: number[] } {
  return (JSON.parse(run.stderr) as { error: { code: string; message: string; field?: string; codewords?: number[] } }).error;
}

describe('tern fec (child process)', () => {
  it('rs-encode prints the codeword of the fixed CCSDS data in the dual basis by default', async () => {
    const run = await tern(['rs-encode', vectors.fixed.data_hex]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(out).toEqual({ basis: 'dual', interleave: 1, fill: 0, blocks: 1, codeword: vectors.fixed.data_hex + vectors.fixed.parity_dual_hex });
  });

  it('rs-decode corrects a vector case with erasures, virtual fill and the dual basis', async () => {
    const c = vectors.cases.find((x) => x.basis === 'dual' && x.erasures.length > 5 && x.virtual_fill > 0)!;
    const run = await tern(['rs-decode', c.received, '--basis', 'dual', '--fill', String(c.virtual_fill), '--erasures', c.erasures.join(',')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      basis: 'dual', interleave: 1, fill: c.virtual_fill, blocks: 1,
      corrected: c.corrected, perCodeword: [c.corrected], data: c.codeword.slice(0, 2 * c.k), codeword: c.codeword,
    });
  });

  it('rs-decode reads hex with whitespace from stdin and decodes an interleaved block', async () => {
    const conventional = vectors.cases.filter((x) => x.basis === 'conventional' && x.virtual_fill === 0 && x.erasures.length === 0).slice(0, 2);
    expect(conventional.length).toBe(2);
    const interleave = (a: string, b: string): string =>
      [...Buffer.from(a, 'hex')].map((x, i) => Buffer.from([x, Buffer.from(b, 'hex')[i]!]).toString('hex')).join('');
    const received = interleave(conventional[0]!.received, conventional[1]!.received);
    const lines = received.match(/.{1,64}/g)!.join('\n  ');
    const run = await tern(['rs-decode', '--basis', 'conventional', '--interleave', '2'], `${lines}\n`);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { codeword: string; perCodeword: number[]; corrected: number };
    expect(out.codeword).toBe(interleave(conventional[0]!.codeword, conventional[1]!.codeword));
    expect(out.perCodeword).toEqual([conventional[0]!.corrected, conventional[1]!.corrected]);
    expect(out.corrected).toBe(conventional[0]!.corrected + conventional[1]!.corrected);
  });

  it('rs-decode reports an uncorrectable codeword as a typed error and exits 1', async () => {
    const codeword = Buffer.from(vectors.fixed.data_hex + vectors.fixed.parity_conventional_hex, 'hex');
    for (let i = 0; i < 17; i++) codeword[i * 11]! ^= 0x3c;
    const run = await tern(['rs-decode', codeword.toString('hex'), '--basis', 'conventional']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(errorOf(run)).toMatchObject({ code: 'FEC_RS_UNCORRECTABLE', codewords: [0] });
  });

  it.each([
    [['rs-decode', 'abc'], 'hex', /even number of hex digits/],
    [['rs-decode', '0g'], 'hex', /only hexadecimal digits/],
    [['rs-decode', '00ff'], 'received', /whole number of 255-byte code blocks/],
    [['rs-encode', '00'.repeat(223), '--fill', '5'], 'data', /whole number of 218-byte blocks/],
    [['rs-decode', '00'.repeat(255), '--interleave', '6'], 'interleave', /one of 1, 2, 3, 4, 5, 8/],
    [['rs-decode', '00'.repeat(255), '--interleave', 'two'], 'interleave', /non-negative integer/],
    [['rs-decode', '00'.repeat(255), '--basis', 'gray'], 'basis', /conventional or dual/],
    [['rs-decode', '00'.repeat(255), '--erasures', '1,x'], 'erasures', /non-negative integer/],
    [['rs-decode', '00'.repeat(255), '--erasures', '255'], 'erasures', /symbol indexes from 0 to 254/],
    [['rs-decode'], 'hex', /expected hexadecimal bytes, got nothing/],
  ])('refuses %j with a FEC_BAD_INPUT error on %s and exit code 2', async (args, field, message) => {
    const run = await tern(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const error = errorOf(run);
    expect(error.code).toBe('FEC_BAD_INPUT');
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('prints usage and exits 2 for an unknown action or option', async () => {
    for (const args of [['rs-frobnicate'], ['rs-encode', '--bogus']]) {
      const run = await tern(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/usage: tern fec rs-encode/);
    }
  });
});
