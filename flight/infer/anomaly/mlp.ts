// A 19-H-1 perceptron (ReLU hidden layer, logistic output) trained in double precision with
// Adam on class-balanced binary cross-entropy; seeded, so the same data and seed give the same
// network. Inputs are standardised while training; the standardisation is then folded into the
// first layer, so the trained network takes transform(features) as they are.

export interface Mlp {
  readonly inputs: number;
  readonly hidden: number;
  /** hidden x inputs, row per hidden unit. */
  readonly w1: Float64Array;
  readonly b1: Float64Array;
  readonly w2: Float64Array;
  b2: number;
}

export interface TrainOptions {
  readonly hidden: number;
  readonly epochs: number;
  readonly batch: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly seed: number;
  /** Loss weight of an anomalous sample; absent: the class balance (nominal / anomalous count). */
  readonly positiveWeight?: number;
  /** Networks trained from consecutive seeds and merged into one of members x hidden units whose
   *  logit is their mean (an exact ensemble: still FULLY_CONNECTED, FULLY_CONNECTED, LOGISTIC). */
  readonly members?: number;
}

export const DEFAULT_TRAINING: TrainOptions = { hidden: 32, epochs: 200, batch: 32, learningRate: 0.002, weightDecay: 1e-3, seed: 1, positiveWeight: 1.5 };

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function forward(m: Mlp, x: ArrayLike<number>, hidden = new Float64Array(m.hidden)): number {
  let z = m.b2;
  for (let h = 0; h < m.hidden; h++) {
    let a = m.b1[h]!;
    for (let i = 0; i < m.inputs; i++) a += m.w1[h * m.inputs + i]! * x[i]!;
    hidden[h] = a > 0 ? a : 0;
    z += m.w2[h]! * hidden[h]!;
  }
  return z;
}

export function train(xs: readonly Float32Array[], ys: readonly (0 | 1)[], options: TrainOptions = DEFAULT_TRAINING): Mlp {
  const k = options.members ?? 1;
  if (k === 1) return trainOne(xs, ys, options);
  const nets = Array.from({ length: k }, (_, i) => trainOne(xs, ys, { ...options, seed: options.seed + i }));
  const { inputs, hidden } = nets[0]!;
  const w1 = new Float64Array(k * hidden * inputs);
  const b1 = new Float64Array(k * hidden);
  const w2 = new Float64Array(k * hidden);
  nets.forEach((net, i) => {
    w1.set(net.w1, i * hidden * inputs);
    b1.set(net.b1, i * hidden);
    net.w2.forEach((w, h) => { w2[i * hidden + h] = w / k; });
  });
  return { inputs, hidden: k * hidden, w1, b1, w2, b2: nets.reduce((sum, net) => sum + net.b2, 0) / k };
}

function trainOne(xs: readonly Float32Array[], ys: readonly (0 | 1)[], options: TrainOptions): Mlp {
  const n = xs.length;
  const inputs = xs[0]!.length;
  const H = options.hidden;
  const random = seeded(options.seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  // Standardise (per feature mean and deviation), folded into w1/b1 at the end.
  const mean = new Float64Array(inputs);
  const std = new Float64Array(inputs);
  for (const x of xs) for (let i = 0; i < inputs; i++) mean[i]! += x[i]! / n;
  for (const x of xs) for (let i = 0; i < inputs; i++) std[i]! += (x[i]! - mean[i]!) ** 2 / n;
  for (let i = 0; i < inputs; i++) std[i] = Math.sqrt(std[i]!) || 1;
  const zs = xs.map((x) => Float64Array.from(x, (v, i) => (v - mean[i]!) / std[i]!));
  const m: Mlp = {
    inputs, hidden: H,
    w1: Float64Array.from({ length: H * inputs }, () => gauss() * Math.sqrt(2 / inputs)),
    b1: new Float64Array(H),
    w2: Float64Array.from({ length: H }, () => gauss() * Math.sqrt(1 / H)),
    b2: 0,
  };
  const params = [m.w1, m.b1, m.w2];
  const grads = params.map((p) => new Float64Array(p.length));
  const moments = params.map((p) => [new Float64Array(p.length), new Float64Array(p.length)] as const);
  let b2m = 0, b2v = 0;
  const positives = ys.filter((y) => y === 1).length;
  const positiveWeight = options.positiveWeight ?? (n - positives) / Math.max(positives, 1);
  const order = Array.from({ length: n }, (_, i) => i);
  const hidden = new Float64Array(H);
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < n; start += options.batch) {
      const batch = order.slice(start, start + options.batch);
      for (const g of grads) g.fill(0);
      let gb2 = 0;
      for (const k of batch) {
        const x = zs[k]!;
        const p = 1 / (1 + Math.exp(-forward(m, x, hidden)));
        const weight = ys[k] === 1 ? positiveWeight : 1;
        const dz = (weight * (p - ys[k]!)) / batch.length;
        gb2 += dz;
        for (let h = 0; h < H; h++) {
          grads[2]![h]! += dz * hidden[h]!;
          if (hidden[h]! <= 0) continue;
          const dh = dz * m.w2[h]!;
          grads[1]![h]! += dh;
          for (let i = 0; i < inputs; i++) grads[0]![h * inputs + i]! += dh * x[i]!;
        }
      }
      step++;
      const [b1c, b2c] = [1 - 0.9 ** step, 1 - 0.999 ** step];
      params.forEach((p, pi) => {
        const [mo, ve] = moments[pi]!;
        const g = grads[pi]!;
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! + (pi === 1 ? 0 : options.weightDecay * p[i]!);
          mo[i] = 0.9 * mo[i]! + 0.1 * gi;
          ve[i] = 0.999 * ve[i]! + 0.001 * gi * gi;
          p[i]! -= (options.learningRate * (mo[i]! / b1c)) / (Math.sqrt(ve[i]! / b2c) + 1e-8);
        }
      });
      b2m = 0.9 * b2m + 0.1 * gb2;
      b2v = 0.999 * b2v + 0.001 * gb2 * gb2;
      m.b2 -= (options.learningRate * (b2m / b1c)) / (Math.sqrt(b2v / b2c) + 1e-8);
    }
  }
  // Fold the standardisation: w1 z = w1 (x - mean) / std.
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < inputs; i++) {
      m.w1[h * inputs + i]! /= std[i]!;
      m.b1[h]! -= m.w1[h * inputs + i]! * mean[i]!;
    }
  }
  return m;
}
