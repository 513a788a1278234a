// `tern seu` as a real child process (node dist/gse/tern.js; run `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CampaignResult } from '../../flight/ecc/campaign.js';
import { REPO, runTern } from '../support/node-process.js';
import { eccHarness } from './support.js';

describe('tern seu', () => {
  it('prints the same campaign JSON for the same seed, run twice', async () => {
    const args = ['seu', 'campaign', '--upsets', '5000', '--pattern', 'double', '--seed', '42', '--rate', '200'];
    const [a, b] = [await runTern(args, REPO), await runTern(args, REPO)];
    expect(a.code, a.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const result = JSON.parse(a.stdout) as { regions: Record<string, Record<string, number>>; total: Record<string, number>; seed: number; pattern: string; outputs: CampaignResult['outputs'] };
    expect(Object.keys(result.total)).toEqual(['injected', 'corrected', 'detected', 'silent']);
    expect(Object.keys(result).slice(0, 2)).toEqual(['regions', 'total']);
    expect(result.outputs.bundles).toMatchObject({ differ: 0, digest: result.outputs.bundles.referenceDigest });
    expect(result.outputs.inference.differ).toBe(0);
    expect(result.outputs.inference.results).toBeGreaterThan(0);
    expect(result.total).toMatchObject({ injected: 5000, silent: 0 });
    expect(result.regions['operator-keys']).toMatchObject({ corrected: 0, silent: 0 });
    expect(result).toMatchObject({ seed: 42, pattern: 'double' });
    const other = await runTern(['seu', 'campaign', '--upsets', '5000', '--pattern', 'double', '--seed', '43', '--rate', '200'], REPO);
    expect(other.stdout).not.toBe(a.stdout);
  });

  it('keeps golden copies in --dir when asked', async () => {
    const h = eccHarness();
    const run = await runTern(['seu', 'campaign', '--upsets', '10', '--dir', h.dir], REPO);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(h.dir, 'operator-keys.gold')).length % 255).toBe(0);
  });

  it('flips one stored byte for HIL benches', async () => {
    const h = eccHarness();
    const file = join(h.dir, 'segment-000001.log');
    writeFileSync(file, Buffer.alloc(64, 0x55));
    const run = await runTern(['seu', 'flip', file, '--offset', '10', '--mask', '0x81'], REPO);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ file, offset: 10, mask: 0x81 });
    expect(readFileSync(file)[10]).toBe(0x55 ^ 0x81);
  });

  it('refuses bad input with exit code 2 and a typed JSON error naming the field', async () => {
    const cases: Array<[string[], string]> = [
      [['seu', 'campaign', '--upsets', '0'], 'upsets'],
      [['seu', 'campaign', '--upsets', '10', '--pattern', 'triple'], 'pattern'],
      [['seu', 'campaign', '--upsets', '10', '--rate', 'fast'], 'rate'],
      [['seu', 'flip', '/nonexistent/file', '--offset', '1'], 'FILE'],
    ];
    for (const [args, field] of cases) {
      const run = await runTern(args, REPO);
      expect(run.code, args.join(' ')).toBe(2);
      expect(JSON.parse(run.stderr)).toMatchObject({ error: { code: 'SEU_BAD_INPUT', field } });
    }
    const unknown = await runTern(['seu', 'campaign', '--upsets', '1', '--bogus'], REPO);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --bogus/);
  });
});
