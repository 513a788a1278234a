import { describe, expect, it } from 'vitest';
import { CoreInstance } from '../../flight/core/instance.js';

describe.each(['simd', 'scalar'] as const)('WASM core instance (%s build)', (variant) => {
  it('hands a feature the kernels it declares, and refuses a build that lacks one, naming it', () => {
    const instance = new CoreInstance(variant);
    const crc = instance.kernels<{ crc32cUpdate: (crc: number, ptr: number, len: number) => number }>(['crc32cUpdate']);
    expect(crc.crc32cUpdate(0, instance.scratch, 0)).toBe(0);
    expect(() => instance.kernels<{ inferRun: () => void }>(['inferRun'])).toThrow(`WASM core ${variant} lacks inferRun; run \`npm run build\``);
  });
});
