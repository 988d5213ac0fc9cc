// The exact gradient as an estimator: enumerate every outcome b and
// differentiate the finite sum
//
//   L(θ) = E_{b∼p(·|θ)}[f(b)] = Σ_b p(b|θ) f(b),
//
// so the "estimate" has zero variance. It is the reference the other
// estimators are compared with, usable wherever an estimator is (the
// registry, checkUnbiased, the command line), for small supports only.
//
// The support and its order come from lib/exact (enumerateBernoulli,
// enumerateCategoricals, with their size limits); the sum is written here in
// batched form so that tiled parameters [n, ...E] (one copy per sample, as
// estimateGradient passes them) cost one matrix product:
//   log p[i, b] = Σ_j b_j log σ(θ_ij) + (1 − b_j) log σ(−θ_ij)    (Bernoulli)
//   log p[i, b] = Σ_j b_j · logSoftmax(θ_i)_j                     (categoricals, one-hot b)
// The surrogate's value is E[f], and its gradient is exact for θ, for
// anything upstream of θ, and for any parameters f itself closes over.

import { Tensor, add, neg, exp, logSigmoid, logSoftmax, reshape, matmul, transpose, broadcastTo, sub, formatShape } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { enumerateBernoulli, enumerateCategoricals, canEnumerate, MAX_OUTCOMES, Refusal } from '../lib/exact.ts';
import { checkFamily, checkSamples, eventShape, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

const FAMILIES: readonly Family[] = ['bernoulli', 'categorical'];

/**
 * Exact enumeration.  ∇θ E[f(b)] = ∇θ Σ_b p(b|θ) f(b)
 * Requires: a Bernoulli or categorical family (any event shape; a
 * categorical's classes are its last axis, the leading axes a product) small
 * enough to enumerate (lib/exact's limits, 2^22 outcomes); f arbitrary.
 * Unbiased: yes, with zero variance.
 * Reference: the definition of the expectation; Mohamed et al. 2020, §2.
 *
 * θ → `dist.logits`. The generator is not used. Per sample the surrogate is
 * the same number E[f] (per copy of θ when tiled), so every per-sample
 * estimate is the exact gradient.
 */
export function exact(dist: Dist, f: SampleFunction, _rng: Rng, options: SurrogateOptions<undefined> = {}): Surrogate<undefined> {
  const name = 'exact';
  checkFamily(name, dist, FAMILIES);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const theta = (dist as { logits: Tensor }).logits;
  const event = eventShape(dist, options.tiled);
  const rows = options.tiled ? n : 1; // copies of θ
  const width = event.reduce((a, d) => a * d, 1); // numbers in one outcome

  const K = event[event.length - 1];
  const fits = dist.family === 'bernoulli' ? canEnumerate('bernoulli', [width]) : canEnumerate('categoricals', [width / K, K]);
  if (!fits) {
    const count = dist.family === 'bernoulli' ? `2^${width}` : `${K}^${width / K}`;
    throw new Refusal(
      `${name}: the ${dist.family} support of event shape ${formatShape(event)} has ${count} outcomes, too many to enumerate ` +
        `(limit ${MAX_OUTCOMES}); use a Monte Carlo estimator such as reinforce-rloo`,
    );
  }

  let support: Tensor; // [N, width] of 0/1
  let logp: Tensor; // [rows, N]
  if (dist.family === 'bernoulli') {
    support = enumerateBernoulli(width);
    const flat = reshape(theta, [rows, width]);
    const ones = transpose(support); // [width, N]
    const zeros = sub(1, ones);
    logp = add(matmul(logSigmoid(flat), ones), matmul(logSigmoid(neg(flat)), zeros));
  } else {
    support = reshape(enumerateCategoricals(width / K, K), [-1, width]);
    logp = matmul(reshape(logSoftmax(theta, -1), [rows, width]), transpose(support));
  }
  const N = support.shape[0];
  const values = evaluate(name, f, reshape(support, [N, ...event]), N); // [N]
  const expectation = reshape(matmul(exp(logp), reshape(values, [N, 1])), [rows]); // Σ_b p(b|θ_i) f(b)
  const perSample = options.tiled ? expectation : broadcastTo(expectation, [n]);
  return surrogateOf(perSample, perSample, undefined);
}

/** The exact gradient by enumeration, as a registry entry (estimator 8 of issue 4). */
export const exactEstimator: Estimator<undefined> = selfContainedEstimator({
  name: 'exact',
  description: 'exact gradient by enumerating the support (zero variance; small problems only)',
  unbiased: true,
  families: FAMILIES,
  iidSamples: true,
  minSamples: 1,
  surrogate: (dist, f, rng, options) => exact(dist, f, rng, options),
});
