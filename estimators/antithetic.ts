// Coupled noise: antithetic pairs and common random numbers.
//
// Antithetic sampling (Owen, "Monte Carlo theory, methods and examples",
// §8.2): draw half the samples from the noise ε and the other half from its
// mirror image, ε̃ = 1 − u for uniforms or −ε for normals. Both halves have
// the right law, so the mean over all n samples stays unbiased, and
//
//   Var[(g(ε) + g(ε̃))/2] = (Var g / 2) (1 + ρ),   ρ = Corr(g(ε), g(ε̃)),
//
// less than the Var g / 2 of two independent samples exactly when ρ < 0,
// which holds whenever g is monotone in each uniform (Owen, Theorem 8.1); for
// a g symmetric under the mirror, ρ = 1 and the pair is no better than one
// sample.
//
// How the pairs are made. AntitheticRng is a generator whose every tensor draw
// of shape [n, ...E] (n even) pairs sample i with sample i + n/2:
//   uniforms   u for the first half, 1 − u for the second (exact on the grid)
//   Gumbels    −log(−log u) and −log(−log(1 − u)), logistics L and −L, …
//   normals    ε and −ε, paired at the level of the normals: Box–Muller on
//              (1 − u₁, 1 − u₂) gives r' = √(−2 log(1 − u₁)) ≠ r and the
//              angle −2πu₂, i.e. (r' cos, −r' sin): not −ε, so the uniforms
//              are not what is mirrored.
// Any estimator that draws its noise as tensors with the sample axis first
// becomes antithetic without changing its code: `antithetic(estimator)`.
// The samples of a call are then not independent (pairs are), so the entry
// says iidSamples: false, and `pairMeans` averages the pairs into i.i.d. units.
//
// Only estimators whose i-th estimate is a function of sample i alone. The
// mean stays unbiased above because each estimate ĝ(b_i) has the right law on
// its own; the pairing never enters. A leave-one-out baseline (RLOO) is
// unbiased only because β_i = (1/(n−1)) Σ_{j≠i} f(b_j) is independent of b_i:
//
//   E[(f(b_i) − β_i) s(b_i)] = ∇L − (1/(n−1)) Σ_{j≠i} E[f(b_j) s(b_i)],   s = ∇θ log p(b|θ),
//
// and E[f(b_j) s(b_i)] = E[f(b_j)] E[s(b_i)] = 0 for independent b_j. Paired,
// b_i's twin b̃ (sample i ± n/2) is among the others and depends on b_i, so
//
//   bias = −(1/(n−1)) E[f(b̃) s(b)] = −(1/(n−1)) Cov(f(b̃), s(b)),
//
// zero only by accident. One Bernoulli, p = σ(θ), b = 1[θ + L > 0] and
// b̃ = 1[θ − L > 0]: P(b = b̃ = 1) = max(0, 2p − 1), s(b) = b − p, so
// E[f(b̃) s(b)] = (f(1) − f(0)) (max(0, 2p − 1) − p²) = −(f(1) − f(0)) min(p, 1 − p)²
// and the mean estimate is ∇L (1 + r/(n−1)), r = min(p, 1 − p)/max(p, 1 − p):
// at p = ½, n = 2, twice the gradient (b̃ = 1 − b, and every estimate is
// (f(1) − f(0))/2). The same holds coordinate-wise for a product of
// Bernoullis. So antithetic() refuses estimators with iidSamples: false.
// (A baseline that leaves out the whole pair, b_i and b̃_i, would be unbiased
// again; that is a different estimator, not this wrapper.)
//
// Common random numbers (Owen §8.6): to compare two parameter values or two
// estimators, run both on the same noise, so that the difference of their
// estimates has variance Var A + Var B − 2 Cov(A, B) instead of Var A + Var B.

import { Tensor, formatShape, sizeOf, type Shape } from '../autodiff/index.ts';
import { Rng, rng as makeRng } from '../lib/random.ts';
import { BlockRng } from '../lib/qmc.ts';
import { checkSamples } from './families.ts';
import type { Estimator } from './estimator.ts';
import { reinforceNone } from './reinforce.ts';
import { pathwiseEstimator } from './pathwise.ts';

/** The number of samples n of a draw of this shape, checked to be even (pairs i, i + n/2). */
function pairedRows(shape: Shape): number {
  const n = shape.length === 0 ? 1 : shape[0];
  if (n % 2 !== 0) {
    throw new RangeError(
      `AntitheticRng: pairs sample i with sample i + n/2 along the first axis, so it must be even; got a draw of shape ${formatShape(shape)}; ` +
        `use an even number of samples`,
    );
  }
  return n;
}

/**
 * A generator that draws every tensor [n, ...E] (n even) as antithetic
 * pairs: sample i + n/2 is the mirror of sample i. Uniforms u ↦ 1 − u (which
 * carries over to Gumbels, logistics, exponentials, Weibulls and integers),
 * normals ε ↦ −ε. The first halves come from `source`.
 */
export class AntitheticRng extends BlockRng {
  private readonly source: Rng;

  constructor(source: Rng) {
    super('AntitheticRng');
    if (!(source instanceof Rng)) throw new TypeError(`AntitheticRng: source must be an Rng such as rng(seed), got ${String(source)}`);
    this.source = source;
  }

  protected uniformBlock(shape: Shape): Float64Array {
    const n = pairedRows(shape);
    const out = new Float64Array(sizeOf(shape));
    const half = out.length / 2; // rows 0..n/2 − 1 are the first half of the row-major data
    if (n === 0) return out;
    this.source.fillUniform(out.subarray(0, half));
    for (let i = 0; i < half; i++) out[half + i] = 1 - out[i]; // exact: u is on the 2⁻⁵² grid
    return out;
  }

  protected normalBlock(shape: Shape): Float64Array {
    const n = pairedRows(shape);
    const out = new Float64Array(sizeOf(shape));
    const half = out.length / 2;
    if (n === 0) return out;
    this.source.fillNormal(out.subarray(0, half));
    for (let i = 0; i < half; i++) out[half + i] = -out[i];
    return out;
  }

  /** An independent antithetic generator. */
  split(): AntitheticRng {
    return new AntitheticRng(this.source.split());
  }

  fork(n: number): Rng[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`fork: n must be a non-negative integer, got ${n}`);
    return Array.from({ length: n }, () => this.split());
  }
}

/**
 * The estimator with antithetic noise: the same surrogate, run on an
 * AntitheticRng over the caller's generator, so samples i and i + n/2 of a
 * call are mirror images. Needs an even n. Applies to every estimator that
 * draws its noise as tensors with the sample axis first and whose samples
 * are independent (iidSamples: true): the score function (logistic, Gumbel or
 * normal noise), pathwise, Gumbel-softmax and the other relaxations, REBAR
 * and RELAX. Unbiased when the estimator is. Refuses iidSamples: false (a
 * leave-one-out baseline would then subtract the sample's own twin: biased,
 * see the file header; an already antithetic estimator is paired already).
 * Name: `<name>-antithetic`; iidSamples: false (use `pairMeans` for i.i.d. units).
 */
export function antithetic<State>(estimator: Estimator<State>): Estimator<State> {
  if (typeof estimator !== 'object' || estimator === null || typeof estimator.surrogate !== 'function') {
    throw new TypeError(`antithetic: expected an estimator such as reinforceNone, got ${String(estimator)}`);
  }
  if (!estimator.iidSamples) {
    throw new RangeError(
      `antithetic: ${estimator.name} has iidSamples: false, so its estimate for one sample uses the others (a leave-one-out baseline, or pairs already); ` +
        `with antithetic pairs that includes the sample's own twin and the result is biased; ` +
        `wrap an estimator with independent samples (e.g. reinforce instead of reinforce-rloo)`,
    );
  }
  const name = `${estimator.name}-antithetic`;
  const fewest = Math.max(2, estimator.minSamples);
  return {
    name,
    description: `${estimator.description}; antithetic pairs (sample i + n/2 mirrors sample i)`,
    unbiased: estimator.unbiased,
    families: estimator.families,
    iidSamples: false,
    minSamples: fewest + (fewest % 2),
    init: estimator.init,
    surrogate: (dist, f, rng, options) => {
      const n = options.n ?? 1;
      checkSamples(name, n, 2);
      if (n % 2 !== 0) throw new RangeError(`${name}: needs an even number of samples n (antithetic pairs), got ${n}`);
      return estimator.surrogate(dist, f, new AntitheticRng(rng), options);
    },
  };
}

/**
 * The means of the antithetic pairs of per-sample values [n, ...] (n even):
 * row i of the result is (x_i + x_{i+n/2}) / 2, [n/2, ...]. The pairs of one
 * call are independent, so these are i.i.d. units for a variance.
 */
export function pairMeans(perSample: Tensor): Tensor {
  if (!(perSample instanceof Tensor)) throw new TypeError(`pairMeans: expected a Tensor of per-sample values, got ${typeof perSample}`);
  const n = perSample.rank === 0 ? 1 : perSample.shape[0];
  if (n % 2 !== 0) throw new RangeError(`pairMeans: needs an even number of rows, got shape ${formatShape(perSample.shape)}`);
  const half = perSample.size / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) out[i] = (perSample.data[i] + perSample.data[half + i]) / 2;
  return new Tensor(out, [n / 2, ...perSample.shape.slice(1)]);
}

/** Score function with antithetic noise (logistic L and −L; Gumbels from u and 1 − u; normals ε and −ε). */
export const reinforceAntithetic = antithetic(reinforceNone);
/** Pathwise with antithetic normals: x = μ + σε and μ − σε. */
export const pathwiseAntithetic = antithetic(pathwiseEstimator);

// ---------------------------------------------------------------- common random numbers

/**
 * `count` generators that produce the same stream: hand one to each of two
 * estimators, or to one estimator at two parameter values, and they draw the
 * same noise as long as they draw the same shapes in the same order (every
 * estimator draws its samples' noise first, as a tensor with the sample axis first).
 */
export function commonRandomNumbers(seed: number, count = 2): Rng[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`commonRandomNumbers: count must be a positive integer, got ${count}`);
  makeRng(seed); // checks the seed once, with rng's message
  return Array.from({ length: count }, () => makeRng(seed));
}
