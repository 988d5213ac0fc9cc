// Statistics for checking estimators: running moments, standard errors,
// normal quantiles, goodness-of-fit tests, and the Holm correction for
// testing many coordinates at once.
//
// Distribution functions follow Numerical Recipes (3rd ed., §6.1–6.2 and
// §6.14) and Acklam's rational approximation of the normal quantile, refined
// by one Halley step to full double precision.

// ---------------------------------------------------------------- running moments

/**
 * Welford's running mean and variance over vectors of a fixed length (one
 * accumulator per coordinate), numerically stable for any number of samples.
 */
export class Welford {
  readonly dim: number;
  count = 0;
  readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(dim = 1) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`Welford: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Adds one observation (a number when dim is 1, else `dim` numbers starting at `offset`). */
  push(x: number | ArrayLike<number>, offset = 0): void {
    this.count++;
    const n = this.count;
    for (let j = 0; j < this.dim; j++) {
      const v = typeof x === 'number' ? x : x[offset + j];
      const delta = v - this.mean[j];
      this.mean[j] += delta / n;
      this.m2[j] += delta * (v - this.mean[j]);
    }
  }

  /** Adds every row of a row-major [rows, dim] array. */
  pushRows(data: ArrayLike<number>): void {
    if (data.length % this.dim !== 0) throw new RangeError(`Welford.pushRows: ${data.length} values are not whole rows of ${this.dim}`);
    for (let off = 0; off < data.length; off += this.dim) this.push(data, off);
  }

  /** Unbiased sample variance per coordinate (n − 1 in the denominator). */
  variance(): Float64Array {
    const out = new Float64Array(this.dim);
    for (let j = 0; j < this.dim; j++) out[j] = this.count > 1 ? this.m2[j] / (this.count - 1) : NaN;
    return out;
  }

  /** Standard error of the mean per coordinate: sqrt(variance / n). */
  stderr(): Float64Array {
    const v = this.variance();
    for (let j = 0; j < this.dim; j++) v[j] = Math.sqrt(v[j] / this.count);
    return v;
  }
}

/** Sample mean, unbiased variance and standard error of the mean of a list of numbers. */
export function summarize(values: ArrayLike<number>): { mean: number; variance: number; stderr: number; count: number } {
  const w = new Welford(1);
  for (let i = 0; i < values.length; i++) w.push(values[i]);
  const variance = w.variance()[0];
  return { mean: w.mean[0], variance, stderr: Math.sqrt(variance / w.count), count: w.count };
}

// ---------------------------------------------------------------- the normal distribution

/** Φ(x), the standard normal CDF, accurate in both tails (via erfc). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** 1 − Φ(x), without cancellation for large x. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

/** Complementary error function, to full double precision via the incomplete gamma function. */
export function erfc(x: number): number {
  // erfc via the incomplete gamma function for full double precision:
  // erfc(x) = Q(1/2, x²) for x ≥ 0.
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  return gammaQ(0.5, x * x);
}

/** Φ⁻¹(p) for 0 < p < 1 (Acklam's approximation plus one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    throw new RangeError(`normalQuantile: p must lie in [0, 1], got ${p}`);
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step on Φ(x) − p.
  const e = p < 0.5 ? normalCdf(x) - p : -(normalSf(x) - (1 - p));
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

// ---------------------------------------------------------------- gamma and chi-square

/** log Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-15). */
export function logGamma(x: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x); // reflection
  const z = x - 1;
  let s = g[0];
  for (let i = 1; i < 9; i++) s += g[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Regularized lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate when small. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let total = term;
  for (let n = 1; n < 10000; n++) {
    term *= x / (a + n);
    total += term;
    if (Math.abs(term) < Math.abs(total) * 1e-17) break;
  }
  return total * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

// Lentz's method for the continued fraction of Q(a, x).
function gammaContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** P(χ²_k > x): the p-value of a chi-square statistic with k degrees of freedom. */
export function chiSquareSf(x: number, k: number): number {
  if (!(k > 0)) throw new RangeError(`chiSquareSf: degrees of freedom must be positive, got ${k}`);
  return gammaQ(k / 2, x / 2);
}

export interface TestResult {
  statistic: number;
  pValue: number;
}

/**
 * Pearson's chi-square goodness-of-fit test of observed counts against
 * probabilities (which must sum to 1). Cells with expected count below 5
 * make the χ² approximation poor; the caller should pool them.
 */
export function chiSquareTest(observed: ArrayLike<number>, probabilities: ArrayLike<number>): TestResult & { dof: number } {
  if (observed.length !== probabilities.length || observed.length < 2) {
    throw new RangeError(`chiSquareTest: need at least 2 cells and as many probabilities as counts, got ${observed.length} and ${probabilities.length}`);
  }
  let n = 0;
  for (let i = 0; i < observed.length; i++) n += observed[i];
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = n * probabilities[i];
    if (expected <= 0) {
      if (observed[i] > 0) return { statistic: Infinity, pValue: 0, dof: observed.length - 1 };
      continue;
    }
    statistic += (observed[i] - expected) ** 2 / expected;
  }
  const dof = observed.length - 1;
  return { statistic, pValue: chiSquareSf(statistic, dof), dof };
}

// ---------------------------------------------------------------- Kolmogorov–Smirnov

/** P(K > t) for the Kolmogorov distribution (the limit law of √n·D). */
export function kolmogorovSf(t: number): number {
  if (t <= 0) return 1;
  if (t < 0.2) return 1;
  let s = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * t * t);
    s += term;
    if (Math.abs(term) < 1e-18) break;
  }
  return Math.min(1, Math.max(0, s));
}

/**
 * One-sample Kolmogorov–Smirnov test of samples against a continuous CDF.
 * The p-value uses Stephens' small-sample correction √n + 0.12 + 0.11/√n.
 */
export function ksTest(samples: ArrayLike<number>, cdf: (x: number) => number): TestResult {
  const xs = Float64Array.from(samples).sort();
  const n = xs.length;
  if (n === 0) throw new RangeError('ksTest: needs at least one sample');
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(xs[i]);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  const root = Math.sqrt(n);
  return { statistic: d, pValue: kolmogorovSf((root + 0.12 + 0.11 / root) * d) };
}

/** Two-sample Kolmogorov–Smirnov test: are a and b drawn from the same continuous law? */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): TestResult {
  const xa = Float64Array.from(a).sort();
  const xb = Float64Array.from(b).sort();
  const n = xa.length;
  const m = xb.length;
  if (n === 0 || m === 0) throw new RangeError('ksTwoSample: both samples must be non-empty');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = Math.min(xa[i], xb[j]);
    while (i < n && xa[i] <= x) i++;
    while (j < m && xb[j] <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const ne = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovSf((ne + 0.12 + 0.11 / ne) * d) };
}

// ---------------------------------------------------------------- many tests at once

/**
 * Holm's step-down procedure: which of the hypotheses to reject so that the
 * family-wise false-positive rate is at most alpha (Holm 1979).
 */
export function holm(pValues: ArrayLike<number>, alpha: number): boolean[] {
  const m = pValues.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => pValues[x] - pValues[y]);
  const reject = new Array<boolean>(m).fill(false);
  for (let r = 0; r < m; r++) {
    const i = order[r];
    if (pValues[i] <= alpha / (m - r)) reject[i] = true;
    else break;
  }
  return reject;
}

/** Two-sided p-value of a z-score. */
export function twoSidedP(z: number): number {
  return 2 * normalSf(Math.abs(z));
}
