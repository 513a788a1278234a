// The convergence layers move opaque bytes: nothing in flight/cla may depend on the bundle
// codec or store (flight/dtn), so either side can change without the other.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLA_DIR = fileURLToPath(new URL('../../flight/cla/', import.meta.url));

describe('flight/cla', () => {
  it('imports nothing from flight/dtn', () => {
    const sources = readdirSync(CLA_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const text = readFileSync(`${CLA_DIR}${file}`, 'utf8');
      const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
      expect(imports.filter((i) => /(^|\/)dtn(\/|$)/.test(i)), file).toEqual([]);
    }
  });
});
