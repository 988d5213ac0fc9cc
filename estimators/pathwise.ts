// The pathwise estimator (reparameterization trick).
//
//   ∇θ E_{x∼p(·|θ)}[f(x)] = E_{ε∼q}[ ∇θ f(T(θ, ε)) ]
//
// when x can be written as a differentiable transform x = T(θ, ε) of noise ε
// whose law q does not depend on θ; for a Normal, x = loc + scale·ε with
// ε ∼ N(0, 1). The surrogate is simply f(T(θ, ε)): its value is f(x), and
// backpropagation through f and T gives the estimate. Discrete families have
// no such T (b jumps as θ moves), so they are refused.

import { Tensor } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { checkFamily, checkSamples, drawNoise, perturb, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions } from './estimator.ts';

/** How one family is reparameterized: base noise that does not depend on θ, and x = T(θ, ε). */
export interface Reparameterization {
  /** ε for n samples, [n, ...E] (E the event shape; see families.ts for `tiled`). */
  noise(dist: Dist, rng: Rng, n: number, tiled: boolean): Tensor;
  /** x = T(θ, ε), differentiable in the parameters. */
  transform(dist: Dist, noise: Tensor): Tensor;
}

/**
 * The reparameterizable families. A new continuous family plugs in by adding
 * its entry here (and to FAMILIES below); nothing else in this file changes.
 */
export const reparameterizations: Partial<Record<Family, Reparameterization>> = {
  // x = loc + scale·ε, ε ∼ N(0, 1)
  normal: { noise: (dist, rng, n, tiled) => drawNoise(dist, rng, n, tiled), transform: perturb },
};

const FAMILIES: readonly Family[] = ['normal'];

/** Positive finite scales, checked before any sampling (a Normal needs σ > 0). */
export function checkScale(estimator: string, dist: Dist): void {
  if (dist.family !== 'normal') return;
  if (!(dist.scale instanceof Tensor)) throw new TypeError(`${estimator}: the normal scale must be a Tensor, got ${typeof dist.scale}`);
  const bad = Array.from(dist.scale.data).find((s) => !(s > 0) || !Number.isFinite(s));
  if (bad !== undefined) throw new RangeError(`${estimator}: the normal scale must be positive and finite, got ${bad}; pass e.g. exp(logScale)`);
}

/**
 * Pathwise (reparameterization).  ∇θ E[f(x)] = E_ε[ ∇θ f(T(θ, ε)) ]
 * Requires: x = T(θ, ε) differentiable in θ (continuous families: normal); f differentiable.  Unbiased: yes.
 * Reference: Kingma & Welling 2014; Rezende et al. 2014; Mohamed et al. 2020, §5.
 *
 * θ → the distribution's parameters (`dist.loc`, `dist.scale`), ε → standard
 * normal noise. The surrogate per sample is f(loc + scale·ε): its value is
 * f(x) and its gradient the estimate, by the chain rule through f.
 * Bernoulli and categorical samples are discrete, so they are refused with a
 * pointer to estimators that handle them.
 */
export function pathwise(dist: Dist, f: SampleFunction, rng: Rng, options: SurrogateOptions<undefined> = {}): Surrogate<undefined> {
  const name = 'pathwise';
  if (typeof dist === 'object' && dist !== null && (dist.family === 'bernoulli' || dist.family === 'categorical')) {
    throw new RangeError(
      `${name}: the ${dist.family} family is not reparameterizable (its samples are discrete, so f(b) has no derivative in the logits); ` +
        `use measure-valued, reinforce, or a relaxation such as gumbel-softmax`,
    );
  }
  checkFamily(name, dist, FAMILIES);
  checkScale(name, dist);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const tiled = options.tiled ?? false;

  const reparam = reparameterizations[dist.family] as Reparameterization;
  const noise = reparam.noise(dist, rng, n, tiled); // [n, ...E], independent of θ
  const x = reparam.transform(dist, noise); // [n, ...E], differentiable in θ
  const fx = evaluate(name, f, x, n); // [n]
  return surrogateOf(fx, fx, undefined);
}

// ---------------------------------------------------------------- as a registry entry

export const pathwiseEstimator: Estimator<undefined> = {
  name: 'pathwise',
  description: 'pathwise / reparameterization: x = loc + scale·ε, gradient through f',
  unbiased: true,
  families: FAMILIES,
  iidSamples: true,
  minSamples: 1,
  surrogate: (dist, f, rng, options) => pathwise(dist, f, rng, options),
};
