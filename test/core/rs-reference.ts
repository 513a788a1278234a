// A plain-TS CCSDS RS(255,223) written for tests, sharing nothing with the WASM core: field
// products bit by bit (no tables), the encoder as polynomial long division, the decoder with the
// Euclidean algorithm (the core uses Berlekamp-Massey), brute-force root search, and a decoded
// word accepted only if its syndromes, recomputed from scratch, are zero. Slow and plain on
// purpose: differential tests compare the core against it.

const POLY = 0x187;
const ROOTS = 32;
const FCR = 112;
const N = 255;

export function mul(a: number, b: number): number {
  let product = 0;
  while (b !== 0) {
    if (b & 1) product ^= a;
    a <<= 1;
    if (a & 0x100) a ^= POLY;
    b >>= 1;
  }
  return product;
}

export function pow(a: number, e: number): number {
  e = ((e % 255) + 255) % 255;
  let result = 1;
  for (let i = 0; i < e; i++) result = mul(result, a);
  return result;
}

function inv(a: number): number {
  if (a === 0) throw new Error('inverse of 0');
  return pow(a, 254);
}

const BETA = pow(2, 11);
/** beta^e, cached per exponent because pow() is slow. */
const betaPowers = Array.from({ length: 255 }, (_, e) => pow(BETA, e));
function beta(e: number): number {
  return betaPowers[((e % 255) + 255) % 255]!;
}

// Polynomials: arrays of coefficients, index = degree.
type Poly = number[];

function degree(p: Poly): number {
  for (let d = p.length - 1; d >= 0; d--) if (p[d] !== 0) return d;
  return -1;
}

function polyMul(a: Poly, b: Poly): Poly {
  const out = new Array<number>(a.length + b.length - 1).fill(0);
  a.forEach((x, i) => b.forEach((y, j) => (out[i + j]! ^= mul(x, y))));
  return out;
}

function polyAdd(a: Poly, b: Poly): Poly {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? 0) ^ (b[i] ?? 0));
}

function polyEval(p: Poly, x: number): number {
  let acc = 0;
  for (let d = p.length - 1; d >= 0; d--) acc = mul(acc, x) ^ p[d]!;
  return acc;
}

/** Quotient and remainder of a / b. */
function polyDivide(a: Poly, b: Poly): [Poly, Poly] {
  const rem = [...a];
  const db = degree(b);
  const lead = inv(b[db]!);
  const quotient = new Array<number>(Math.max(1, degree(a) - db + 1)).fill(0);
  for (let d = degree(rem); d >= db; d = degree(rem)) {
    const q = mul(rem[d]!, lead);
    quotient[d - db] = q;
    for (let i = 0; i <= db; i++) rem[d - db + i]! ^= mul(q, b[i]!);
  }
  return [quotient, rem];
}

function generator(): Poly {
  let g: Poly = [1];
  for (let j = 0; j < ROOTS; j++) g = polyMul(g, [beta(FCR + j), 1]);
  return g;
}
const GENERATOR = generator();

/** The CCSDS 131.0-B annex F matrix T (conventional -> dual), as printed: row i holds the dual
 *  bits (l0..l7) contributed by conventional bit alpha^(7-i). */
const T_ROWS = ['10001101', '11101111', '11101100', '10000110', '11111010', '10011001', '10101111', '01111011'];

export function toDual(x: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) if (x & (1 << (7 - i))) out ^= parseInt(T_ROWS[i]!, 2);
  return out;
}

const FROM_DUAL = new Map<number, number>();
for (let x = 0; x < 256; x++) FROM_DUAL.set(toDual(x), x);
export function fromDual(x: number): number {
  return FROM_DUAL.get(x)!;
}

/** Full-length codeword symbol i (0 = first transmitted) is the coefficient of x^(254 - i). */
function toPoly(full: readonly number[]): Poly {
  return Array.from({ length: N }, (_, d) => full[N - 1 - d]!);
}

/** Parity of one codeword (conventional basis) given its 223 - fill data symbols. */
export function encode(data: readonly number[], fill: number, basis: 'conventional' | 'dual' = 'conventional'): number[] {
  const conv = basis === 'dual' ? data.map(fromDual) : [...data];
  const message = [...new Array<number>(fill).fill(0), ...conv];
  // m(x) x^32 mod g(x): the message followed by 32 zero symbols, divided by g(x).
  const [, rem] = polyDivide(toPoly([...message, ...new Array<number>(ROOTS).fill(0)]), GENERATOR);
  const parity = Array.from({ length: ROOTS }, (_, t) => rem[ROOTS - 1 - t] ?? 0);
  return basis === 'dual' ? parity.map(toDual) : parity;
}

function syndromes(full: readonly number[]): number[] {
  const r = toPoly(full);
  return Array.from({ length: ROOTS }, (_, j) => polyEval(r, beta(FCR + j)));
}

/**
 * Decodes one codeword of n = 255 - fill transmitted symbols with erasures at the given
 * transmitted indexes. Returns the corrected symbols and how many changed, or null.
 */
export function decode(
  received: readonly number[], fill: number, erasures: readonly number[] = [], basis: 'conventional' | 'dual' = 'conventional',
): { word: number[]; corrected: number } | null {
  const conv = basis === 'dual' ? received.map(fromDual) : [...received];
  const full = [...new Array<number>(fill).fill(0), ...conv];
  const s = syndromes(full);
  if (s.every((x) => x === 0)) return { word: [...received], corrected: 0 };
  const f = erasures.length;
  // Erasure locator Gamma(x) = prod (1 + X x), X = beta^(degree of the position).
  let gamma: Poly = [1];
  for (const t of erasures) gamma = polyMul(gamma, [1, beta(N - 1 - (fill + t))]);
  // Key equation sigma(x) T(x) = omega(x) mod x^32, T = S Gamma mod x^32, solved by Euclid.
  const tPoly = polyMul(s, gamma).slice(0, ROOTS);
  let rPrev: Poly = [...new Array<number>(ROOTS).fill(0), 1];
  let rCur: Poly = tPoly;
  let aPrev: Poly = [0];
  let aCur: Poly = [1];
  while (2 * degree(rCur) >= ROOTS + f) {
    const [q, r] = polyDivide(rPrev, rCur);
    [rPrev, rCur] = [rCur, r];
    [aPrev, aCur] = [aCur, polyAdd(aPrev, polyMul(q, aCur))];
  }
  const lambda = polyMul(aCur, gamma);
  const omega = rCur;
  const locations: number[] = [];
  for (let i = fill; i < N; i++) {
    if (polyEval(lambda, beta(-(N - 1 - i))) === 0) locations.push(i);
  }
  if (locations.length !== degree(lambda)) return null;
  const errors = locations.filter((i) => !erasures.includes(i - fill)).length;
  if (2 * errors + f > ROOTS) return null;
  const derivative: Poly = lambda.map((c, d) => (d % 2 === 1 ? c : 0)).slice(1);
  const fixed = [...full];
  for (const i of locations) {
    const d = N - 1 - i;
    const xInv = beta(-d);
    const value = mul(mul(beta((1 - FCR) * d), polyEval(omega, xInv)), inv(polyEval(derivative, xInv)));
    fixed[i]! ^= value;
  }
  if (!syndromes(fixed).every((x) => x === 0)) return null;
  const word = fixed.slice(fill);
  const corrected = word.filter((x, t) => x !== conv[t]).length;
  return { word: basis === 'dual' ? word.map(toDual) : word, corrected };
}
