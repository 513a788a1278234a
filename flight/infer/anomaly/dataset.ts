// The OPSSAT-AD segment features (Ruszczak et al., Scientific Data 2025): 19 numbers per
// telemetry segment, in the dataset's column names, read from its CSV; and the fixed input
// transform the anomaly network sees.
import { InferInputError } from '../errors.js';

export const FEATURES = [
  'sampling', 'duration', 'len', 'mean', 'var', 'std', 'kurtosis', 'skew', 'n_peaks',
  'smooth10_n_peaks', 'smooth20_n_peaks', 'diff_peaks', 'diff2_peaks', 'diff_var', 'diff2_var',
  'gaps_squared', 'len_weighted', 'var_div_duration', 'var_div_len',
] as const;

export interface Sample {
  readonly features: Float64Array;
  /** The dataset's label, when the CSV has one. */
  readonly anomaly: 0 | 1;
}

/** Reads rows of the dataset's CSV (any column order, extra columns ignored). */
export function readFeatureCsv(text: string): Sample[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const columns = FEATURES.map((name) => header.indexOf(name));
  const label = header.indexOf('anomaly');
  const missing = FEATURES.filter((_, i) => columns[i]! < 0);
  if (missing.length > 0 || label < 0) throw new InferInputError('csv header', `the columns anomaly, ${FEATURES.join(', ')}`, `missing ${[...missing, ...(label < 0 ? ['anomaly'] : [])].join(', ')}`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const features = Float64Array.from(columns, (c) => Number(cells[c]));
    const bad = features.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new InferInputError(`csv line ${i + 2} ${FEATURES[bad]}`, 'a finite number', cells[columns[bad]!]);
    const y = cells[label]!.trim();
    if (y !== '0' && y !== '1') throw new InferInputError(`csv line ${i + 2} anomaly`, '0 or 1', y);
    return { features, anomaly: y === '1' ? 1 : 0 };
  });
}

/** Each feature's typical magnitude: the power of ten nearest the median |value| of the training
 *  split, fixed here as part of the feature definitions (the model file needs nothing else). */
export const FEATURE_SCALES: readonly number[] = [1, 2, 2, -5, -9, -5, 0, -1, 0, 0, 0, 1, 1, -10, -11, 3, 2, -11, -11].map((p) => 10 ** p);

// Mean and deviation of asinh(x / scale) per feature over the training split (labels unused),
// fixed here likewise: they standardise the network's input so one int8 scale resolves all 19.
const CENTRES = [0.339, 1.58, 0.931, 4.02, 7.1, 4.85, -0.926, 0.434, 1.06, 0.934, 0.973, 0.905, 1.24, 6.26, 7.06, 0.751, 1.58, 6.66, 7.34];
const SPREADS = [0.184, 0.533, 0.69, 5.21, 8.72, 4.51, 0.458, 1.82, 0.409, 0.184, 0.229, 0.929, 0.922, 7.92, 8.43, 0.54, 0.521, 8.36, 8.71];

/** The network's input per feature: (asinh(x / typical magnitude) - centre) / spread. The
 *  features span 1e-13 (variances) to 1e4 (lengths); asinh is linear around the typical value and
 *  logarithmic beyond, and keeps the sign. */
export function transform(features: Float64Array): Float32Array {
  return Float32Array.from(features, (x, i) => (Math.asinh(x / FEATURE_SCALES[i]!) - CENTRES[i]!) / SPREADS[i]!);
}
