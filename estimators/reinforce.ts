// The score-function estimator (REINFORCE) and its baselines.
//
//   ∇θ E[f(b)] = E[ (f(b) − β) ∇θ log p(b|θ) ]
//
// for any β that does not depend on b (so E[β ∇θ log p] = β ∇θ Σ p = 0). The
// baselines here differ only in how β is chosen:
//   none            β = 0
//   constant        β = a number you give
//   moving-average  β = an exponential moving average of past f (state.average)
//   leave-one-out   β_i = mean of f over the *other* n − 1 samples (RLOO;
//                   Kool et al. 2019): independent of b_i, so still unbiased
//   learned         β = w·θ + c with (w, c) = state.phi, trained like any
//                   learned part by minimising the estimator's variance

import { Tensor, add, sub, mul, div, sum, mean, reshape, stopGradient, scalar, zeros } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { checkFamily, checkSamples, eventShape, sample, drawNoise, hard, location, logProb, logProbAt, paramsOf, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions } from './estimator.ts';

export type BaselineKind = 'none' | 'constant' | 'moving-average' | 'leave-one-out' | 'learned';

export interface ReinforceState {
  /** The moving average of f (moving-average baseline). */
  average?: Tensor;
  /** The learned baseline's parameters: β = Σ w ⊙ θ + c. */
  phi?: { w: Tensor; c: Tensor };
}

export interface ReinforceOptions extends SurrogateOptions<ReinforceState> {
  baseline?: BaselineKind;
  /** β for the constant baseline (default 0). */
  constant?: number;
  /** Weight of the past in the moving average (default 0.9). */
  decay?: number;
}

const FAMILIES: readonly Family[] = ['bernoulli', 'categorical', 'normal'];

/**
 * Score function (REINFORCE).  ∇θ E[f(b)] = E[ (f(b) − β) ∇θ log p(b|θ) ]
 * Requires: log p(b|θ) differentiable in θ; f arbitrary (need not be differentiable).  Unbiased: yes.
 * Reference: Williams 1992; Mohamed et al. 2020, §4; Kool et al. 2019 (leave-one-out).
 *
 * θ → the distribution's parameters (`dist`), β → the baseline.
 * The surrogate per sample is f(b) + (f(b) − β)(log p − stopGradient(log p)):
 * its value is f(b), its gradient (f(b) − β) ∇ log p(b|θ).
 */
export function reinforce(dist: Dist, f: SampleFunction, rng: Rng, options: ReinforceOptions = {}): Surrogate<ReinforceState> {
  return reinforceWith(options.baseline ?? 'none', dist, f, rng, options);
}

/** reinforce with the baseline given apart from the options, so a registry entry need not copy them per call. */
function reinforceWith(kind: BaselineKind, dist: Dist, f: SampleFunction, rng: Rng, options: ReinforceOptions): Surrogate<ReinforceState> {
  const name = 'reinforce';
  checkFamily(name, dist, FAMILIES);
  const n = options.n ?? 1;
  checkSamples(name, n, kind === 'leave-one-out' ? 2 : 1);
  const state = options.state ?? {};

  let b: Tensor; // [n, ...E], a constant
  let logp: Tensor; // [n]
  if (dist.family === 'normal') {
    b = sample(dist, rng, n, options.tiled);
    logp = logProb(dist, b);
  } else {
    // sample(dist, …) and logProb(dist, b), sharing a categorical's log θ = logSoftmax(logits)
    const loc = location(dist);
    b = hard(dist.family, add(stopGradient(loc), drawNoise(dist, rng, n, options.tiled)));
    logp = logProbAt(dist, loc, b);
  }
  const fb = evaluate(name, f, b, n); // [n]
  const score = sub(logp, stopGradient(logp)); // value 0, gradient ∇ log p

  let beta: Tensor | number = 0;
  let next: ReinforceState = state;
  const fc = stopGradient(fb);
  switch (kind) {
    case 'none':
      break;
    case 'constant':
      beta = options.constant ?? 0;
      break;
    case 'moving-average': {
      const decay = options.decay ?? 0.9;
      if (!(decay >= 0 && decay < 1)) throw new RangeError(`${name}: decay must lie in [0, 1), got ${decay}`);
      const average = state.average ?? scalar(0);
      beta = average;
      next = { ...state, average: add(mul(average, decay), mul(mean(fc), 1 - decay)) };
      break;
    }
    case 'leave-one-out':
      // β_i = (Σ_j f_j − f_i) / (n − 1): the mean of the others.
      beta = div(sub(sum(fc), fc), n - 1);
      break;
    case 'learned': {
      const phi = state.phi;
      if (phi === undefined) throw new RangeError(`${name}: the learned baseline needs state.phi; get one from reinforceLearned.init`);
      beta = learnedBaseline(dist, phi, n, options.tiled ?? false);
      break;
    }
    default:
      throw new RangeError(`${name}: unknown baseline '${String(kind)}'; use none, constant, moving-average, leave-one-out or learned`);
  }
  const perSample = add(fb, mul(beta === 0 ? fb : sub(fb, beta), score)); // f − 0 is f
  return surrogateOf(perSample, fb, next);
}

/** β = Σ w ⊙ stopGradient(θ) + c, per sample: [n]. The baseline sees θ but passes it no gradient. */
function learnedBaseline(dist: Dist, phi: { w: Tensor; c: Tensor }, n: number, tiled: boolean): Tensor {
  const theta = stopGradient(Object.values(paramsOf(dist))[0]);
  const rows = tiled ? reshape(theta, [n, -1]) : reshape(theta, [1, -1]);
  const linear = sum(mul(rows, reshape(phi.w, [1, -1])), 1); // [n] or [1]
  return add(linear, phi.c);
}

// ---------------------------------------------------------------- as registry entries

function entry(name: string, baseline: BaselineKind, description: string): Estimator<ReinforceState> {
  const loo = baseline === 'leave-one-out';
  return {
    name,
    description,
    unbiased: true,
    families: FAMILIES,
    iidSamples: !loo,
    minSamples: loo ? 2 : 1,
    running: baseline === 'moving-average' ? ['average'] : undefined,
    init:
      baseline === 'learned'
        ? (dist) => ({ phi: { w: zeros([eventShape(dist).reduce((a, d) => a * d, 1)]), c: scalar(0) } })
        : baseline === 'moving-average'
          ? () => ({ average: scalar(0) })
          : undefined,
    surrogate: (dist, f, rng, options) => reinforceWith(baseline, dist, f, rng, options),
  };
}

export const reinforceNone = entry('reinforce', 'none', 'score function, no baseline');
export const reinforceMovingAverage = entry('reinforce-ema', 'moving-average', 'score function, moving-average baseline');
export const reinforceLoo = entry('reinforce-rloo', 'leave-one-out', 'score function, leave-one-out baseline (RLOO)');
export const reinforceLearned = entry('reinforce-learned', 'learned', 'score function, learned baseline trained by minimising variance');
