// Statistics for checking estimators: running moments, standard errors,
// normal quantiles, goodness-of-fit tests, the Holm correction for testing
// many coordinates at once, Student's t, and confidence intervals:
//   mean ± z·se (normal),  mean ± t_{ν}·se (Student),
//   σ² ∈ [(n−1)s²/χ²_{n−1}((1+level)/2), (n−1)s²/χ²_{n−1}((1−level)/2)].
//
// Distribution functions follow Numerical Recipes (3rd ed., §6.1–6.2, §6.4
// and §6.14) and Acklam's rational approximation of the normal quantile,
// refined by one Halley step to full double precision; the t and chi-square
// quantiles solve for the smaller tail by safeguarded Newton steps.

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

/**
 * Φ⁻¹(p) for 0 < p < 1 (Acklam's approximation plus one Halley step; below
 * p = 1e-300, Newton steps on log Φ instead), finite down to the smallest
 * double: Φ⁻¹(5e-324) = −38.4674.
 */
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
  if (p < 1e-300) return lowerTailQuantile(p, x);
  // One Halley step on Φ(x) − p.
  const e = p < 0.5 ? normalCdf(x) - p : -(normalSf(x) - (1 - p));
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/**
 * Φ⁻¹(p) for p < 1e-300 from a start x near it: Newton steps on
 * log Φ(x) − log p. The Halley step on Φ(x) − p fails there: exp(x²/2)
 * overflows past x ≈ −37.7, and a subnormal p or Φ(x) has too few bits.
 * In logs nothing underflows: log Φ(x) = log ½ + log Q(½, x²/2), and the
 * slope is φ(x)/Φ(x).
 */
function lowerTailQuantile(p: number, start: number): number {
  const logP = Math.log(p);
  let x = start;
  for (let i = 0; i < 20; i++) {
    const logCdf = -Math.LN2 + logGammaContinuedFraction(0.5, (x * x) / 2);
    const slope = Math.exp(-(x * x) / 2 - LOG_SQRT_2PI - logCdf);
    const step = (logCdf - logP) / slope;
    x -= step;
    if (Math.abs(step) <= 1e-15 * Math.abs(x)) break;
  }
  return x;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

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
  return total * Math.exp(gammaLogFront(a, x));
}

/** Q(a, x) by its continued fraction, for x ≥ a + 1. */
function gammaContinuedFraction(a: number, x: number): number {
  return Math.exp(gammaLogFront(a, x)) * gammaFraction(a, x);
}

/** log Q(a, x) by the same continued fraction: finite where Q itself underflows. */
function logGammaContinuedFraction(a: number, x: number): number {
  return gammaLogFront(a, x) + Math.log(gammaFraction(a, x));
}

/** log(e^{−x} x^a / Γ(a)), the factor in front of the series of P(a, x) and the continued fraction of Q(a, x). */
function gammaLogFront(a: number, x: number): number {
  return -x + a * Math.log(x) - logGamma(a);
}

// Lentz's method for the continued fraction of Q(a, x), without its front factor.
function gammaFraction(a: number, x: number): number {
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
  return h;
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
 * probabilities (each in [0, 1], summing to 1 within 1e-9, else a
 * RangeError). Cells with expected count below 5 make the χ² approximation
 * poor; the caller should pool them.
 */
export function chiSquareTest(observed: ArrayLike<number>, probabilities: ArrayLike<number>): TestResult & { dof: number } {
  if (observed.length !== probabilities.length || observed.length < 2) {
    throw new RangeError(`chiSquareTest: need at least 2 cells and as many probabilities as counts, got ${observed.length} and ${probabilities.length}`);
  }
  let total = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`chiSquareTest: probabilities[${i}] must lie in [0, 1], got ${p}`);
    total += p;
  }
  // A few ulps per cell of rounding is fine; a missing or doubled cell is not.
  if (!(Math.abs(total - 1) <= 1e-9)) {
    throw new RangeError(`chiSquareTest: the probabilities must sum to 1, got ${total}; normalize them, or add the cell they leave out`);
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
 * family-wise false-positive rate is at most alpha (Holm 1979). A NaN
 * p-value (from a NaN statistic) throws a RangeError rather than being
 * ranked: sorted anywhere and never ≤ a threshold, it would silently count
 * as "no evidence", and as evidence it would silently pass a power check.
 * The caller decides what a missing test means (checkUnbiased rejects it).
 */
export function holm(pValues: ArrayLike<number>, alpha: number): boolean[] {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) throw new RangeError(`holm: alpha must lie in (0, 1), got ${alpha}`);
  const m = pValues.length;
  for (let i = 0; i < m; i++) {
    const p = pValues[i];
    if (typeof p !== 'number' || Number.isNaN(p)) {
      throw new RangeError(`holm: pValues[${i}] is ${p}; a NaN statistic has no p-value, so decide first whether it counts as a rejection`);
    }
  }
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

// ---------------------------------------------------------------- the incomplete beta function

/**
 * I_x(a, b) and 1 − I_x(a, b) for a, b > 0, with x and y = 1 − x passed
 * separately so that neither loses digits to a subtraction (and their logs,
 * which stay exact where x or y underflows). The smaller tail comes from the
 * continued fraction (Numerical Recipes §6.4, Lentz's method); the other is
 * 1 minus it, and is then at least ~⅓.
 */
function betaTails(a: number, b: number, x: number, y: number, logX = Math.log(x), logY = Math.log(y)): [number, number] {
  if (logX === -Infinity) return [0, 1];
  if (logY === -Infinity) return [1, 0];
  const logFront = a * logX + b * logY - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) {
    const lower = (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
    return [lower, 1 - lower];
  }
  const upper = (Math.exp(logFront) * betaContinuedFraction(b, a, y)) / b;
  return [1 - upper, upper];
}

/**
 * log Γ(a) − log Γ(a + ½) for a ≥ 50 by Stirling's series, log Γ(x) = (x − ½) log x − x + ½ log 2π + δ(x)
 * with δ(x) = 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷) + …: the two large log-gammas cancel
 * exactly in the algebra instead of in floating point (which would lose ε·log Γ(a), 1e-9 at a = 5·10⁶).
 */
function logGammaRatioHalf(a: number): number {
  const delta = (x: number) => {
    const r = 1 / (x * x);
    return (1 / 12 - r * (1 / 360 - r * (1 / 1260 - r / 1680))) / x;
  };
  return -0.5 * Math.log(a) + (0.5 - a * Math.log1p(0.5 / a)) + delta(a) - delta(a + 0.5);
}

/** log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b); without cancellation when one of them is ½ and the other large (Student's t). */
function logBeta(a: number, b: number): number {
  if (b === 0.5 && a >= 50) return LOG_SQRT_PI + logGammaRatioHalf(a);
  if (a === 0.5 && b >= 50) return LOG_SQRT_PI + logGammaRatioHalf(b);
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10000; m++) {
    const m2 = 2 * m;
    // The even step, then the odd step, of the continued fraction.
    let an = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + an * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    an = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + an * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b) = P(X ≤ x) for X ∼ Beta(a, b). */
export function betaRegularized(a: number, b: number, x: number): number {
  if (!(a > 0) || !(b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new RangeError(`betaRegularized: a and b must be positive and finite, got a = ${a}, b = ${b}`);
  }
  if (Number.isNaN(x)) return NaN;
  if (x < 0 || x > 1) throw new RangeError(`betaRegularized: x must lie in [0, 1], got ${x}`);
  return betaTails(a, b, x, 1 - x)[0];
}

// ---------------------------------------------------------------- Student's t

function checkDof(op: string, dof: number): void {
  if (typeof dof !== 'number' || !(dof > 0)) throw new RangeError(`${op}: degrees of freedom must be positive, got ${dof}`);
}

/**
 * P(T > |t|) for T ∼ t_ν: ½·I_x(ν/2, ½) with x = ν/(ν+t²) = r/(1+r) and
 * 1 − x = 1/(1+r), r = ν/t². r is handled through its log, so that neither
 * a huge nor a tiny |t| over- or underflows before the tail itself does.
 */
function tTail(t: number, dof: number): number {
  const a = Math.abs(t);
  if (a === 0) return 0.5;
  if (a === Infinity) return 0;
  const logR = Math.log(dof) - 2 * Math.log(a);
  const r = Math.exp(logR);
  // log x = log r − log(1 + r) and log(1 − x) = −log(1 + r), each formed without cancellation
  // (a·log x multiplies any absolute error in log x by ν/2).
  const logX = logR > 0 ? -Math.log1p(1 / r) : logR - Math.log1p(r);
  const logY = logR > 0 ? -logR - Math.log1p(1 / r) : -Math.log1p(r);
  const x = r === Infinity ? 1 : r / (1 + r);
  return 0.5 * betaTails(dof / 2, 0.5, x, 1 / (1 + r), logX, logY)[0];
}

/** The density of Student's t with ν degrees of freedom. */
function tDensity(t: number, dof: number): number {
  const logNorm = -logBeta(dof / 2, 0.5) - 0.5 * Math.log(dof); // Γ((ν+1)/2) / (Γ(ν/2) √(νπ))
  return Math.exp(logNorm - ((dof + 1) / 2) * Math.log1p((t * t) / dof));
}

/**
 * P(T ≤ t) for Student's t with `dof` > 0 degrees of freedom (any real
 * ν; Infinity gives the normal), accurate in both tails: via the incomplete
 * beta function, P(T > |t|) = ½·I_{ν/(ν+t²)}(ν/2, ½). Relative error about
 * 1e-14 for moderate ν, 5e-13 at ν = 10⁶ and 1e-9 at ν = 10⁷ (the continued
 * fraction loses digits for very large ν; use the normal there).
 */
export function tCdf(t: number, dof: number): number {
  checkDof('tCdf', dof);
  if (Number.isNaN(t)) return NaN;
  if (dof === Infinity) return normalCdf(t);
  const tail = tTail(t, dof);
  return t > 0 ? 1 - tail : tail;
}

/** P(T > t) for Student's t, without cancellation for large t. */
export function tSf(t: number, dof: number): number {
  checkDof('tSf', dof);
  if (Number.isNaN(t)) return NaN;
  if (dof === Infinity) return normalSf(t);
  const tail = tTail(t, dof);
  return t < 0 ? 1 - tail : tail;
}

/**
 * Finds x in [lo, hi] with residual(x) = 0 for a residual increasing in x,
 * residual(lo) ≤ 0 ≤ residual(hi): Newton steps (slope = residual′) from x0,
 * falling back to bisection whenever a step leaves the bracket.
 */
function solveIncreasing(residual: (x: number) => number, slope: (x: number) => number, lo: number, hi: number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 300; i++) {
    const r = residual(x);
    if (r === 0) return x;
    if (r < 0) lo = x;
    else hi = x;
    let next = x - r / slope(x);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 2e-16 * Math.abs(x) || hi - lo <= 2e-16 * Math.abs(x)) return next;
    x = next;
  }
  return x;
}

/**
 * The t quantile: t with P(T ≤ t) = p, for Student's t with `dof` > 0
 * degrees of freedom. Closed forms for ν = 1 (Cauchy) and ν = 2; otherwise
 * Newton's method on the log of the smaller tail, from a Cornish–Fisher
 * start, safeguarded by bisection.
 */
export function tQuantile(p: number, dof: number): number {
  checkDof('tQuantile', dof);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`tQuantile: p must lie in [0, 1], got ${p}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (dof === Infinity) return normalQuantile(p);
  const sign = p < 0.5 ? -1 : 1;
  const q = p < 0.5 ? p : 1 - p; // the smaller tail; 1 − p is exact for p ≥ ½
  if (dof === 1) return sign / Math.tan(Math.PI * q); // tan(π(p − ½)) = −cot(πp)
  if (dof === 2) return (sign * (1 - 2 * q)) / Math.sqrt(2 * q * (1 - q));
  // Cornish–Fisher expansion about the normal quantile (Abramowitz & Stegun 26.7.5).
  const z = -normalQuantile(q);
  const z2 = z * z;
  const start = z + (z * (z2 + 1)) / (4 * dof) + (z * ((5 * z2 + 16) * z2 + 3)) / (96 * dof * dof) + (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / (384 * dof ** 3);
  const logQ = Math.log(q);
  const residual = (t: number) => logQ - Math.log(tTail(t, dof)); // increasing in t > 0
  const slope = (t: number) => tDensity(t, dof) / tTail(t, dof);
  if (residual(Number.MAX_VALUE) < 0) return sign * Infinity; // beyond the largest double (tiny ν, tiny p)
  let hi = Math.max(start, 1);
  while (residual(hi) < 0) hi *= 2;
  return sign * solveIncreasing(residual, slope, 0, hi, Math.min(Math.max(start, 1e-300), hi));
}

// ---------------------------------------------------------------- chi-square distribution and quantiles

/** P(χ²_k ≤ x). */
export function chiSquareCdf(x: number, k: number): number {
  if (!(k > 0)) throw new RangeError(`chiSquareCdf: degrees of freedom must be positive, got ${k}`);
  return gammaP(k / 2, x / 2);
}

/**
 * The chi-square quantile: x with P(χ²_k ≤ x) = p. Newton's method on the
 * log of the smaller tail, from the Wilson–Hilferty approximation (or the
 * small-x series P ≈ (x/2)^{k/2}/Γ(k/2 + 1) when that is negative),
 * safeguarded by bisection.
 */
export function chiSquareQuantile(p: number, k: number): number {
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`chiSquareQuantile: degrees of freedom must be positive and finite, got ${k}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`chiSquareQuantile: p must lie in [0, 1], got ${p}`);
  if (p === 0) return 0;
  if (p === 1) return Infinity;
  const a = k / 2;
  const logDensity = (x: number) => (a - 1) * Math.log(x) - x / 2 - a * Math.LN2 - logGamma(a);
  const lower = p < 0.5;
  const logTarget = Math.log(lower ? p : 1 - p);
  // Increasing residuals: log P(x) − log p, or log(1 − p) − log Q(x).
  const residual = lower ? (x: number) => Math.log(gammaP(a, x / 2)) - logTarget : (x: number) => logTarget - Math.log(gammaQ(a, x / 2));
  const slope = lower
    ? (x: number) => Math.exp(logDensity(x)) / gammaP(a, x / 2)
    : (x: number) => Math.exp(logDensity(x)) / gammaQ(a, x / 2);
  const h = 2 / (9 * k);
  let start = k * (1 - h + normalQuantile(p) * Math.sqrt(h)) ** 3;
  const series = 2 * Math.exp((Math.log(p) + logGamma(a + 1)) / a);
  // P(x) = (x/2)^{k/2}/Γ(k/2 + 1)·(1 − O(x)): far below 1 the series is the answer (0 once it underflows).
  if (series < 1e-100) return series;
  if (!(start > 0) || series < start) start = series;
  let hi = Math.max(start, 1);
  while (residual(hi) < 0) hi *= 2;
  return solveIncreasing(residual, slope, 0, hi, Math.min(start, hi));
}

// ---------------------------------------------------------------- confidence intervals

/** A two-sided confidence interval. */
export interface Interval {
  lower: number;
  upper: number;
}

function checkLevel(op: string, level: number): void {
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    throw new RangeError(`${op}: level must lie strictly between 0 and 1 (e.g. 0.95), got ${level}`);
  }
}

function checkMeanAndStderr(op: string, mean: number, stderr: number): void {
  if (typeof mean !== 'number' || !Number.isFinite(mean)) throw new RangeError(`${op}: mean must be a finite number, got ${mean}`);
  if (typeof stderr !== 'number' || !(stderr >= 0) || !Number.isFinite(stderr)) {
    throw new RangeError(`${op}: stderr must be finite and ≥ 0, got ${stderr}`);
  }
}

/**
 * The normal (large-sample) interval mean ± z·stderr, z = Φ⁻¹((1 + level)/2):
 * 1.959964 for level 0.95.
 */
export function normalInterval(mean: number, stderr: number, level = 0.95): Interval {
  checkMeanAndStderr('normalInterval', mean, stderr);
  checkLevel('normalInterval', level);
  const z = -normalQuantile((1 - level) / 2);
  return { lower: mean - z * stderr, upper: mean + z * stderr };
}

/**
 * Student's interval mean ± t·stderr with t the (1 + level)/2 quantile of t
 * with `dof` degrees of freedom (n − 1 for the mean of n normal samples):
 * exact coverage for normal data, wider than the normal interval for small n.
 */
export function tInterval(mean: number, stderr: number, dof: number, level = 0.95): Interval {
  checkMeanAndStderr('tInterval', mean, stderr);
  checkDof('tInterval', dof);
  checkLevel('tInterval', level);
  const t = -tQuantile((1 - level) / 2, dof);
  return { lower: mean - t * stderr, upper: mean + t * stderr };
}

/**
 * The chi-square interval for a variance σ² from the unbiased sample
 * variance s² of n normal samples: (n − 1)s²/σ² ∼ χ²_{n−1}, so
 * [(n − 1)s² / χ²_{n−1}((1 + level)/2), (n − 1)s² / χ²_{n−1}((1 − level)/2)].
 * Exact for normal data; for other data its coverage depends on the kurtosis.
 */
export function varianceInterval(sampleVariance: number, n: number, level = 0.95): Interval {
  if (typeof sampleVariance !== 'number' || !(sampleVariance >= 0) || !Number.isFinite(sampleVariance)) {
    throw new RangeError(`varianceInterval: sampleVariance must be finite and ≥ 0, got ${sampleVariance}`);
  }
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`varianceInterval: n must be an integer ≥ 2 (the number of samples), got ${n}`);
  checkLevel('varianceInterval', level);
  const dof = n - 1;
  const alpha = 1 - level;
  return {
    lower: (dof * sampleVariance) / chiSquareQuantile(1 - alpha / 2, dof),
    upper: (dof * sampleVariance) / chiSquareQuantile(alpha / 2, dof),
  };
}
