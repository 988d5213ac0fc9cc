// The pathwise estimator (reparameterization trick).
//
//   ∇θ E_{x∼p(·|θ)}[f(x)] = E_{ε∼q}[ ∇θ f(T(θ, ε)) ]
//
// when x can be written as a differentiable transform x = T(θ, ε) of noise ε
// whose law q does not depend on θ. The surrogate is simply f(T(θ, ε)): its
// value is f(x), and backpropagation through f and T gives the estimate.
// Discrete families have no such T (b jumps as θ moves), so they are refused.
//
// T is each law's rsample in lib/distributions, the one place it is written:
//   normal               x = loc + scale·ε,                   ε ∼ N(0, 1)
//   gumbel               x = loc + scale·G,                   G = −log(−log u)
//   exponential          x = E / rate,                        E = −log u
//   relaxed-bernoulli    z = σ((logits + L)/τ),               L = log u − log(1 − u)
//   relaxed-categorical  z = softmax((logSoftmax(logits) + G)/τ)
// With tiled parameters ([n, ...E], see families.ts) the law's batch shape
// already has the sample axis, so one draw of it is the n samples; either
// way the noise is the same tensor [n, ...E] from the generator.

import type { Tensor } from '../autodiff/index.ts';
import { Rng } from '../lib/random.ts';
import { Normal, Gumbel, Exponential, RelaxedBernoulli, RelaxedCategorical, type Distribution } from '../lib/distributions.ts';
import { checkFamily, checkSamples, paramsOf, type Dist, type NormalDist, type ReparameterizedDist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

/** The descriptors pathwise can differentiate through. */
export type ReparameterizableDist = NormalDist | ReparameterizedDist;

/** x = T(θ, ε) for n fresh noises ε: [n, ...E], differentiable in the parameters (see families.ts for `tiled`). */
export type Reparameterization<D extends ReparameterizableDist> = (dist: D, rng: Rng, n: number, tiled: boolean) => Tensor;

/** A law of lib/distributions with a reparameterized sample: rsample is T(θ, ε), logProb its density. */
export type ReparameterizedLaw = Distribution & { rsample(rng: Rng, n?: number): Tensor };

/**
 * The law behind each reparameterizable descriptor, with the descriptor's
 * parameters. LAX (estimators/relax.ts) draws through it as pathwise does and
 * also takes its density.
 */
// Frozen, as is the table below: estimateGradient runs pathwise and LAX in a
// recycling frame on the promise that they run no outside code but f.
export const laws: { readonly [F in ReparameterizableDist['family']]: (dist: Extract<ReparameterizableDist, { family: F }>) => ReparameterizedLaw } = Object.freeze({
  normal: (d) => new Normal(d.loc, d.scale),
  gumbel: (d) => new Gumbel(d.loc, d.scale),
  exponential: (d) => new Exponential(d.rate),
  'relaxed-bernoulli': (d) => new RelaxedBernoulli(d.logits, d.temperature),
  'relaxed-categorical': (d) => new RelaxedCategorical(d.logits, d.temperature),
});

/** The law of any reparameterizable descriptor (laws, without the per-family narrowing). */
export function lawOf(dist: ReparameterizableDist): ReparameterizedLaw {
  return (laws[dist.family] as (d: ReparameterizableDist) => ReparameterizedLaw)(dist);
}

/** n draws of a law, [n, ...E]: with tiled parameters its batch shape already starts with n. */
export function draw(law: { rsample(rng: Rng, n?: number): Tensor }, rng: Rng, n: number, tiled: boolean): Tensor {
  return tiled ? law.rsample(rng) : law.rsample(rng, n);
}

/**
 * The reparameterizable families, each by its law's rsample. A new continuous
 * family plugs in by adding its descriptor (families.ts) and its entries in
 * laws and here; nothing else in this file changes.
 */
export const reparameterizations: { readonly [F in ReparameterizableDist['family']]: Reparameterization<Extract<ReparameterizableDist, { family: F }>> } = Object.freeze({
  normal: (d, rng, n, tiled) => draw(laws.normal(d), rng, n, tiled),
  gumbel: (d, rng, n, tiled) => draw(laws.gumbel(d), rng, n, tiled),
  exponential: (d, rng, n, tiled) => draw(laws.exponential(d), rng, n, tiled),
  'relaxed-bernoulli': (d, rng, n, tiled) => draw(laws['relaxed-bernoulli'](d), rng, n, tiled),
  'relaxed-categorical': (d, rng, n, tiled) => draw(laws['relaxed-categorical'](d), rng, n, tiled),
});

/** The families pathwise (and LAX) take. */
export const REPARAMETERIZABLE = Object.keys(reparameterizations) as readonly Family[];

/**
 * Finite locations and logits (checkFamily has checked the rest), so that a
 * bad one is reported by the estimator (pathwise, lax), not by the law's
 * constructor.
 */
export function checkFinite(estimator: string, dist: ReparameterizableDist): void {
  for (const [key, t] of Object.entries(paramsOf(dist))) {
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i];
      if (Number.isFinite(v)) continue;
      const hint = key === 'logits' && v === -Infinity ? '; make an outcome negligible with a large finite logit such as -1e4' : '';
      throw new RangeError(`${estimator}: the ${dist.family} ${key} must be finite, got ${v} at index ${i}${hint}`);
    }
  }
}

/**
 * Pathwise (reparameterization).  ∇θ E[f(x)] = E_ε[ ∇θ f(T(θ, ε)) ]
 * Requires: x = T(θ, ε) differentiable in θ (normal, gumbel, exponential, relaxed-bernoulli, relaxed-categorical); f differentiable.  Unbiased: yes.
 * Reference: Kingma & Welling 2014; Rezende et al. 2014; Maddison et al. 2017; Mohamed et al. 2020, §5.
 *
 * θ → the distribution's parameters (`loc` and `scale`, `rate`, or `logits`
 * at the fixed temperature τ → `temperature`), ε → the law's standard noise.
 * The surrogate per sample is f(T(θ, ε)): its value is f(x) and its gradient
 * the estimate, by the chain rule through f. Bernoulli and categorical
 * samples are discrete, so they are refused with a pointer to estimators
 * that handle them (their relaxations are the relaxed-* families).
 */
export function pathwise(dist: Dist | ReparameterizedDist, f: SampleFunction, rng: Rng, options: SurrogateOptions<undefined> = {}): Surrogate<undefined> {
  const name = 'pathwise';
  if (typeof dist === 'object' && dist !== null && (dist.family === 'bernoulli' || dist.family === 'categorical')) {
    throw new RangeError(
      `${name}: the ${dist.family} family is not reparameterizable (its samples are discrete, so f(b) has no derivative in the logits); ` +
        `use measure-valued, reinforce, or a relaxation such as gumbel-softmax`,
    );
  }
  checkFamily(name, dist, REPARAMETERIZABLE); // also the scales, rates and temperatures
  checkFinite(name, dist as ReparameterizableDist); // and the locations and logits, before the law's constructor does
  const n = options.n ?? 1;
  checkSamples(name, n);
  if (!(rng instanceof Rng)) throw new TypeError(`${name}: expected a generator from rng(seed), got ${rng === null ? 'null' : typeof rng}`);
  const tiled = options.tiled ?? false;

  const reparam = reparameterizations[(dist as ReparameterizableDist).family] as Reparameterization<ReparameterizableDist>;
  const x = reparam(dist as ReparameterizableDist, rng, n, tiled); // [n, ...E], differentiable in θ
  const fx = evaluate(name, f, x, n); // [n]
  return surrogateOf(fx, fx, undefined);
}

// ---------------------------------------------------------------- as a registry entry

export const pathwiseEstimator: Estimator<undefined, Dist | ReparameterizedDist> = selfContainedEstimator({
  name: 'pathwise',
  description: 'pathwise / reparameterization: x = T(θ, ε) by the law’s rsample, gradient through f',
  unbiased: true,
  families: REPARAMETERIZABLE,
  iidSamples: true,
  minSamples: 1,
  surrogate: (dist, f, rng, options) => pathwise(dist, f, rng, options),
});
