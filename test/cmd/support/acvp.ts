// NIST ACVP vector files (../shared/vectors/pq), read in place: each prompt test joined with its
// expected result by tcId.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { REPO } from '../../support/node-process.js';

export const PQ_VECTORS = `${REPO}../shared/vectors/pq/`;

export interface AcvpGroup<T> {
  tgId: number;
  info: Record<string, unknown>;
  tests: Array<T & { tcId: number; expected: Record<string, unknown> }>;
}

function readGz(file: string): { testGroups: Array<Record<string, unknown> & { tgId: number; tests: Array<Record<string, unknown> & { tcId: number }> }> } {
  return JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
}

export function loadAcvp<T>(folder: string): Array<AcvpGroup<T>> {
  const prompt = readGz(`${PQ_VECTORS}${folder}/prompt.json.gz`);
  const expected = readGz(`${PQ_VECTORS}${folder}/expectedResults.json.gz`);
  const results = new Map<number, Record<string, unknown>>();
  for (const group of expected.testGroups) for (const test of group.tests) results.set(test.tcId, test);
  return prompt.testGroups.map(({ tests, tgId, ...info }) => ({
    tgId,
    info,
    tests: tests.map((test) => {
      const result = results.get(test.tcId);
      if (!result) throw new Error(`${folder}: no expected result for tcId ${test.tcId}`);
      return { ...(test as unknown as T & { tcId: number }), expected: result };
    }),
  }));
}

export const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
