// The 19 OPSSAT-AD features of one telemetry segment, computed on board with the dataset's own
// definitions (its generator: numpy and scipy over the segment's values and timestamps), in
// FEATURES order. Each definition is stated in flight/infer/DESIGN.md; where numpy or scipy
// would give NaN (a constant segment's kurtosis and skew) the value here is 0, and segments the
// dataset never holds (fewer than 3 samples, zero duration) are refused.
import { InferInputError } from '../errors.js';
import { FEATURES } from './dataset.js';

export interface Segment {
  /** Sample times, microseconds, increasing. */
  readonly timesUs: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  /** The channel's nominal sampling period, seconds (the dataset's `sampling`: 1 or 5). */
  readonly samplingS: number;
}

/** The fewest samples a segment may have: the second difference needs three. */
export const MIN_SEGMENT = 3;

export function segmentFeatures(segment: Segment): Float64Array {
  const x = Float64Array.from(segment.values);
  const n = x.length;
  if (n !== segment.timesUs.length) throw new InferInputError('segment', 'as many times as values', `${segment.timesUs.length} times, ${n} values`);
  if (n < MIN_SEGMENT) throw new InferInputError('segment', `at least ${MIN_SEGMENT} samples`, n);
  if (!x.every(Number.isFinite)) throw new InferInputError('segment', 'finite values');
  const duration = wholeSeconds(segment.timesUs[n - 1]! - segment.timesUs[0]!);
  if (duration <= 0) throw new InferInputError('segment', 'a duration of at least one second', duration);
  let gapsSquared = 0;
  for (let i = 1; i < n; i++) gapsSquared += wholeSeconds(segment.timesUs[i]! - segment.timesUs[i - 1]!) ** 2;
  const m = moments(x);
  const d1 = diff(x);
  const d2 = diff(d1);
  const byName: Record<(typeof FEATURES)[number], number> = {
    sampling: segment.samplingS,
    duration,
    len: n,
    mean: m.mean,
    var: m.var,
    std: Math.sqrt(m.var),
    kurtosis: m.kurtosis,
    skew: m.skew,
    n_peaks: peakCount(x),
    smooth10_n_peaks: peakCount(movingAverage(x, 10)),
    smooth20_n_peaks: peakCount(movingAverage(x, 20)),
    diff_peaks: peakCount(d1),
    diff2_peaks: peakCount(d2),
    diff_var: moments(d1).var,
    diff2_var: moments(d2).var,
    gaps_squared: gapsSquared,
    len_weighted: segment.samplingS * n,
    var_div_duration: m.var / duration,
    var_div_len: m.var / n,
  };
  return Float64Array.from(FEATURES, (name) => byName[name]);
}

/** pandas' Timedelta.seconds of a difference: whole seconds, the part below one day. */
function wholeSeconds(us: number): number {
  return Math.floor(us / 1e6) % 86_400;
}

function diff(x: Float64Array): Float64Array {
  return Float64Array.from({ length: Math.max(x.length - 1, 0) }, (_, i) => x[i + 1]! - x[i]!);
}

/** Mean, population variance (numpy var), and scipy's biased skew and Fisher kurtosis. */
function moments(x: Float64Array): { mean: number; var: number; skew: number; kurtosis: number } {
  const n = x.length;
  let sum = 0;
  for (const v of x) sum += v;
  const mean = sum / n;
  let m2 = 0, m3 = 0, m4 = 0;
  for (const v of x) {
    const d = v - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  // scipy answers NaN for a (numerically) constant segment; the dataset has none.
  const constant = m2 <= (1e-15 * mean) ** 2;
  return { mean, var: m2, skew: constant ? 0 : m3 / m2 ** 1.5, kurtosis: constant ? 0 : m4 / (m2 * m2) - 3 };
}

/** numpy.convolve(x, ones(k) / k, mode="same"): length max(n, k), zero outside the segment. */
export function movingAverage(x: Float64Array, k: number): Float64Array {
  const n = x.length;
  const length = Math.max(n, k);
  const start = Math.floor((n + k - 1 - length) / 2);
  const w = 1 / k;
  return Float64Array.from({ length }, (_, i) => {
    const last = i + start;
    let s = 0;
    for (let j = Math.max(0, last - k + 1); j <= Math.min(n - 1, last); j++) s += x[j]! * w;
    return s;
  });
}

/**
 * scipy.signal.find_peaks(x, prominence=0.1 * (max - min)), counted: local maxima (a flat top
 * counts once, at its middle; the ends never), each kept when its prominence (its height above
 * the higher of the lowest points between it and a higher sample, or the end, on either side)
 * is at least a tenth of the segment's range.
 */
export function peakCount(x: Float64Array): number {
  const n = x.length;
  if (n < 3) return 0;
  let min = x[0]!, max = x[0]!;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const least = 0.1 * (max - min);
  let count = 0;
  let i = 1;
  while (i < n - 1) {
    if (x[i - 1]! < x[i]!) {
      let ahead = i + 1;
      while (ahead < n - 1 && x[ahead] === x[i]) ahead++;
      if (x[ahead]! < x[i]!) {
        const peak = Math.floor((i + ahead - 1) / 2);
        if (prominence(x, peak) >= least) count++;
        i = ahead;
      }
    }
    i++;
  }
  return count;
}

function prominence(x: Float64Array, peak: number): number {
  const top = x[peak]!;
  let leftMin = top;
  for (let i = peak; i >= 0 && x[i]! <= top; i--) if (x[i]! < leftMin) leftMin = x[i]!;
  let rightMin = top;
  for (let i = peak; i < x.length && x[i]! <= top; i++) if (x[i]! < rightMin) rightMin = x[i]!;
  return top - Math.max(leftMin, rightMin);
}
