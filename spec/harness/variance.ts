// Variance checks for the statistical specs: z-scores of a sample variance
// against a claimed value or against another sample's, and of the sample mean
// and unbiased sample variance against claimed moments. All rest on the
// first-order standard error of a sample variance from n i.i.d. draws,
//   Var(s²) ≈ (μ₄ − σ⁴)/n,
// with μ₄ the fourth central moment (estimated by m₄ when it is not known).

import type { Tensor } from '../../index.ts';

/** Column j of a [n, D] tensor. */
export function column(t: Tensor, j: number): Float64Array {
  const [n, D] = t.shape;
  return Float64Array.from({ length: n }, (_, i) => t.data[i * D + j]);
}

/** The plug-in variance m₂ of x (divided by n) and its squared standard error (m₄ − m₂²)/n. */
function varianceAndSe2(x: ArrayLike<number>): { v: number; se2: number } {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = (x[i] - m) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= n;
  m4 /= n;
  return { v: m2, se2: (m4 - m2 * m2) / n };
}

/** z of "the sample variance of x is v0", from independent values x, with Var(s²) ≈ (m₄ − s⁴)/n. */
export function varianceZ(x: ArrayLike<number>, v0: number): number {
  const X = varianceAndSe2(x);
  return (X.v - v0) / Math.sqrt(X.se2);
}

/**
 * z for "Var(a) > c·Var(b)" from independent samples a and b: the difference
 * of the sample variances over its standard error, each variance with its
 * fourth-moment standard error, Var(s²) ≈ (m₄ − s⁴)/n. Compare it with a
 * one-sided critical value; c = 1 asks whether a varies more than b.
 */
export function varianceGapZ(a: ArrayLike<number>, b: ArrayLike<number>, c = 1): number {
  const A = varianceAndSe2(a);
  const B = varianceAndSe2(b);
  return (A.v - c * B.v) / Math.sqrt(A.se2 + c * c * B.se2);
}

export interface ClaimedMoments {
  mean: number;
  variance: number;
  mu4: number;
}

/**
 * z-scores of the sample mean (standard error √(σ²/n)) and of the unbiased
 * sample variance (standard error √((μ₄ − σ⁴)/n), to first order) of x
 * against claimed moments. σ² in both standard errors is trueVariance, which
 * defaults to the claimed variance; pass the true one to test a wrong claim
 * with the right standard errors.
 */
export function momentZ(x: ArrayLike<number>, claim: ClaimedMoments, trueVariance = claim.variance): { zMean: number; zVar: number } {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  const s2 = ss / (n - 1);
  const zMean = (mean - claim.mean) / Math.sqrt(trueVariance / n);
  const zVar = (s2 - claim.variance) / Math.sqrt((claim.mu4 - trueVariance ** 2) / n);
  return { zMean, zVar };
}
