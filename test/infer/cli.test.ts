// `tern infer import | run` as a real child process (node dist/gse/tern.js; `npm run build` first).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, TERN } from '../support/node-process.js';

const VECTORS = join(REPO, '..', 'shared', 'vectors', 'tflite');
const dir = mkdtempSync(join(tmpdir(), 'tern-infer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tern(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TERN, 'infer', ...args], { cwd: REPO }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('tern infer (child process)', () => {
  it('imports person_detect and runs both images from .tflite and .tern on both builds', async () => {
    const out = join(dir, 'person.tern');
    const imported = await tern(['import', join(VECTORS, 'person_detect.tflite'), '--out', out]);
    expect(imported.code).toBe(0);
    const summary = JSON.parse(imported.stdout) as { sha256: string; layers: number; bytes: number };
    expect(summary.layers).toBe(31);
    expect(summary.bytes).toBe(readFileSync(out).length);
    for (const model of [join(VECTORS, 'person_detect.tflite'), out]) {
      for (const build of ['simd', 'scalar']) {
        const person = await tern(['run', '--model', model, '--bmp', join(VECTORS, 'person.bmp'), '--build', build]);
        expect(JSON.parse(person.stdout)).toEqual({ output_int8: [-113, 113], output: [15 / 256, 241 / 256] });
        const none = await tern(['run', '--model', model, '--bmp', join(VECTORS, 'no_person.bmp'), '--build', build]);
        expect(JSON.parse(none.stdout).output_int8).toEqual([57, -57]);
      }
    }
  });

  it('takes the raw input tensor with --raw', async () => {
    const raw = join(dir, 'x.raw');
    writeFileSync(raw, Buffer.from([0x80 + 64])); // int8 -64
    const run = await tern(['run', '--model', join(VECTORS, 'hello_world_int8.tflite'), '--raw', raw]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { output_int8: number[]; output: number[] };
    expect(result.output_int8).toHaveLength(1);
    expect(Math.abs(result.output[0]! - Math.sin((-64 + 128) * 0.024480115622282028))).toBeLessThan(0.2);
  });

  it('refuses a raw input of the wrong size, a corrupt model and bad arguments with typed JSON errors', async () => {
    const raw = join(dir, 'short.raw');
    writeFileSync(raw, Buffer.alloc(10));
    const short = await tern(['run', '--model', join(VECTORS, 'person_detect.tflite'), '--raw', raw]);
    expect(short.code).toBe(2);
    expect(JSON.parse(short.stderr).error.code).toBe('INFER_BAD_INPUT');

    const corrupt = join(dir, 'corrupt.tflite');
    writeFileSync(corrupt, readFileSync(join(VECTORS, 'person_detect.tflite')).subarray(0, 5000));
    const bad = await tern(['run', '--model', corrupt, '--raw', raw]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('INFER_BAD_MODEL');

    const neither = await tern(['run', '--model', corrupt]);
    expect(neither.code).toBe(2);
    expect(JSON.parse(neither.stderr).error.code).toBe('INFER_BAD_INPUT');
  });
});
