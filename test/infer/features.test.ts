// The 19 OPSSAT-AD features computed on board, against the dataset generator's definitions run
// in numpy and scipy (fixtures/opssat-features.py wrote fixtures/opssat-features.json), and the
// relations between columns that the dataset's own CSV rows hold.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURES, readFeatureCsv } from '../../flight/infer/anomaly/dataset.js';
import { movingAverage, peakCount, segmentFeatures } from '../../flight/infer/anomaly/features.js';
import { InferInputError } from '../../flight/infer/errors.js';
import { REPO } from '../support/node-process.js';

interface Case {
  name: string;
  samplingS: number;
  timesUs: number[];
  values: number[];
  features: Record<string, number>;
}

const cases = JSON.parse(readFileSync(new URL('fixtures/opssat-features.json', import.meta.url), 'utf8')) as Case[];
const COUNTS = new Set(['sampling', 'duration', 'len', 'n_peaks', 'smooth10_n_peaks', 'smooth20_n_peaks', 'diff_peaks', 'diff2_peaks', 'gaps_squared', 'len_weighted']);
const col = (name: string): number => FEATURES.indexOf(name as (typeof FEATURES)[number]);

describe('OPSSAT-AD segment features', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: the dataset generator\'s values', (_, c) => {
    const got = segmentFeatures(c);
    for (const name of FEATURES) {
      const want = c.features[name]!;
      if (COUNTS.has(name)) expect(got[col(name)], name).toBe(want);
      else expect(Math.abs(got[col(name)]! - want), name).toBeLessThanOrEqual(1e-9 * Math.abs(want) + 1e-300);
    }
  });

  it('smooths as numpy.convolve(mode="same") does, for segments shorter and longer than the window', () => {
    expect([...movingAverage(Float64Array.from({ length: 8 }, (_, i) => i + 1), 10)].map((v) => Math.round(v * 1e12) / 1e12))
      .toEqual([1, 1.5, 2.1, 2.8, 3.6, 3.6, 3.6, 3.5, 3.3, 3]);
    const ramp = movingAverage(Float64Array.from({ length: 30 }, (_, i) => i + 1), 10);
    expect(ramp).toHaveLength(30);
    expect(Math.round(ramp[0]! * 1e12) / 1e12).toBe(1.5);
    expect(Math.round(ramp[29]! * 1e12) / 1e12).toBe(16.5);
  });

  it('counts peaks as find_peaks with a tenth of the range as prominence: a flat top once, ends never, small bumps not', () => {
    expect(peakCount(Float64Array.from([0, 5, 5, 5, 0, 1, 0.2, 10, 3]))).toBe(2);
    expect(peakCount(Float64Array.from([9, 1, 2, 1, 9]))).toBe(1);
    expect(peakCount(Float64Array.from([0, 10, 9.5, 10, 0]))).toBe(2); // an equal neighbour does not bound a prominence
    expect(peakCount(Float64Array.from([0, 10, 9.5, 9.8, 9, 0]))).toBe(1); // 9.8 stands 0.3 above 9.5: below a tenth of 10
    expect(peakCount(Float64Array.from([3, 3, 3, 3]))).toBe(0);
  });

  it('follows the relations between the columns of every row of the dataset\'s CSV', () => {
    const rows = readFeatureCsv(readFileSync(join(REPO, '..', 'shared', 'vectors', 'telemetry', 'opssat-ad-train.csv'), 'utf8'));
    for (const { features: f } of rows) {
      const v = (name: string): number => f[col(name)]!;
      expect(v('len_weighted')).toBe(v('sampling') * v('len'));
      expect(Math.abs(v('std') ** 2 - v('var'))).toBeLessThanOrEqual(1e-12 * v('var'));
      expect(Math.abs(v('var_div_duration') - v('var') / v('duration'))).toBeLessThanOrEqual(1e-12 * v('var_div_duration'));
      expect(Math.abs(v('var_div_len') - v('var') / v('len'))).toBeLessThanOrEqual(1e-12 * v('var_div_len'));
      // Whole-second gaps: their squares sum to at least their sum (the duration, give or take the fractions).
      expect(v('gaps_squared')).toBeGreaterThanOrEqual(v('len') - 1);
      expect(Number.isInteger(v('duration')) && Number.isInteger(v('gaps_squared'))).toBe(true);
    }
    // The same relations hold for what the node computes.
    for (const c of cases) {
      const f = segmentFeatures(c);
      expect(f[col('len_weighted')]).toBe(c.samplingS * c.values.length);
      expect(f[col('var_div_len')]).toBe(f[col('var')]! / c.values.length);
    }
  });

  it('refuses segments the dataset never holds, with a typed error', () => {
    const t = [0, 1e6, 2e6];
    expect(() => segmentFeatures({ timesUs: t.slice(0, 2), values: [1, 2], samplingS: 1 })).toThrow(InferInputError);
    expect(() => segmentFeatures({ timesUs: t, values: [1, 2], samplingS: 1 })).toThrow(/as many times as values/);
    expect(() => segmentFeatures({ timesUs: [0, 1, 2], values: [1, 2, 3], samplingS: 1 })).toThrow(/duration/);
    expect(() => segmentFeatures({ timesUs: t, values: [1, Number.NaN, 3], samplingS: 1 })).toThrow(/finite/);
    // A constant segment (a stuck sensor): scipy's NaN kurtosis and skew are 0 here.
    const flat = segmentFeatures({ timesUs: t, values: [2, 2, 2], samplingS: 1 });
    expect([flat[col('kurtosis')], flat[col('skew')], flat[col('var')]]).toEqual([0, 0, 0]);
  });
});
