import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TERN } from '../support/node-process.js';

const run = (args: string[]) => promisify(execFile)(process.execPath, [TERN, 'jitter', ...args]);

describe('tern jitter', () => {
  it.each([[[]], [['--baseline']]])('measures frames and prints one JSON summary %j', async (extra) => {
    const { stdout } = await run(['--seconds', '0.3', '--period-ms', '5', '--work-ms', '0.5', ...extra]);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ periodUs: 5000, workUs: 500, frames: 60 });
    expect(result.loop).toBe(extra.length ? 'setTimeout' : 'FrameTimer');
    for (const key of ['p50Us', 'p99Us', 'p999Us', 'maxUs', 'waitCpuShare']) expect(result[key]).toBeTypeOf('number');
    expect(result.p50Us).toBeLessThanOrEqual(result.maxUs);
    if (!extra.length) expect(result.earlyFrames).toBe(0); // the FrameTimer never starts a frame early
  });

  it('rejects work that does not fit the period', async () => {
    await expect(run(['--period-ms', '1', '--work-ms', '2'])).rejects.toMatchObject({ code: 2 });
  });
});
