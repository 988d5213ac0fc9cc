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
//   learned         β_r = C_ψ(stop θ_r), a small network on each row θ_r of
//                   the parameters (one problem of a batch [B, K]: one
//                   baseline per row). This is Mnih & Gregor 2014's
//                   input-dependent baseline with θ as the input. NVIL fits
//                   it to the learning signal (our f) by least squares; here
//                   it is trained like every learned part, by minimising the
//                   estimator's variance (estimateGradient's trainState).
//
// With one baseline per row the estimate for row r is (f(b) − β_r) ∇θ_r log p(b_r|θ_r);
// it stays unbiased because β_r is a function of θ alone, never of b.

import { Tensor, add, sub, mul, div, sum, mean, reshape, concat, broadcastTo, expandDims, stopGradient, mapTree, scalar, zeros } from '../autodiff/index.ts';
import { rng as seeded, type Rng } from '../lib/random.ts';
import { initMlp, applyMlp, mlpSizes, type MlpParams } from '../lib/mlp.ts';
import { checkFamily, checkSamples, eventShape, sample, sampleByInversion, location, logProb, logProbAt, paramsOf, withParams, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

export type BaselineKind = 'none' | 'constant' | 'moving-average' | 'leave-one-out' | 'learned';

export interface ReinforceState {
  /** The moving average of f (moving-average baseline). */
  average?: Tensor;
  /**
   * The learned baseline's network C_ψ: a tanh MLP from one row of the
   * parameters (the logits' last axis; a Normal's loc and scale side by side)
   * to that row's β. With no hidden layer it is linear, β_r = θ_r·w + c.
   */
  net?: MlpParams;
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
 * Reference: Williams 1992; Mohamed et al. 2020, §4; Kool et al. 2019 (leave-one-out);
 * Mnih & Gregor 2014, NVIL (the learned, input-dependent baseline).
 *
 * θ → the distribution's parameters (`dist`), β → the baseline, ψ → `state.net` (learned).
 * The surrogate per sample is f(b) + (f(b) − β)(log p − stopGradient(log p)):
 * its value is f(b), its gradient (f(b) − β) ∇ log p(b|θ). The learned
 * baseline takes one β_r and one log p(b_r|θ_r) per row θ_r of the parameters.
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
  let logProbOfSample: () => Tensor; // log p(b|θ) summed over the event: [n]
  if (dist.family === 'normal') {
    b = sample(dist, rng, n, options.tiled);
    logProbOfSample = () => logProb(dist, b);
  } else {
    // b by inversion and log p(b|θ), sharing a categorical's log θ = logSoftmax(logits)
    const loc = location(dist);
    b = sampleByInversion(dist, loc, rng, n, options.tiled);
    logProbOfSample = () => logProbAt(dist, loc, b);
  }
  const fb = evaluate(name, f, b, n); // [n]
  // The learned baseline has one β per row, so it takes log p per row instead.
  if (kind === 'learned') return learnedSurrogate(dist, b, fb, n, options);

  const logp = logProbOfSample(); // [n]
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
      next = Object.assign({}, state, { average: add(mul(average, decay), mul(mean(fc), 1 - decay)) });
      break;
    }
    case 'leave-one-out':
      // β_i = (Σ_j f_j − f_i) / (n − 1): the mean of the others.
      beta = div(sub(sum(fc), fc), n - 1);
      break;
    default:
      throw new RangeError(`${name}: unknown baseline '${String(kind)}'; use none, constant, moving-average, leave-one-out or learned`);
  }
  const perSample = add(fb, mul(beta === 0 ? fb : sub(fb, beta), score)); // f − 0 is f
  return surrogateOf(perSample, fb, next);
}

// ---------------------------------------------------------------- the learned baseline C_ψ

/**
 * The rows of a distribution's parameters: the last axis is one problem (K
 * logits of a categorical, D logits of a product of Bernoullis, a Normal's D
 * coordinates), the axes before it count the problems. Logits [B, K] are B rows
 * of K; logits [K] are one row.
 */
function rowsOf(dist: Dist, tiled: boolean): { rows: number; width: number } {
  const shape = eventShape(dist, tiled);
  const width = shape.length === 0 ? 1 : shape[shape.length - 1];
  return { rows: shape.reduce((a, d) => a * d, 1) / width, width };
}

/** The network's input width: a row of logits, or a row of loc beside a row of scale. */
function inputWidth(dist: Dist, tiled: boolean): number {
  return rowsOf(dist, tiled).width * Object.keys(paramsOf(dist)).length;
}

export interface LearnedBaselineInit {
  /** Hidden layer sizes of C_ψ (default [10], as RELAX's r); [] for the linear baseline β_r = θ_r·w + c. */
  hidden?: readonly number[];
}

/**
 * The learned baseline's state for a distribution: C_ψ, a tanh MLP from a
 * row's parameters to one number. The hidden layers are drawn from `rng`
 * (torch.nn.Linear's default); the output layer starts at zero, so β = 0 and
 * the estimator starts as plain REINFORCE.
 */
export function initLearnedBaseline(dist: Dist, rng: Rng, init: LearnedBaselineInit = {}): ReinforceState {
  const hidden = init.hidden ?? DEFAULT_HIDDEN;
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) {
    throw new RangeError(`initLearnedBaseline: hidden must list positive integer widths, got ${JSON.stringify(hidden)}`);
  }
  return { net: baselineNet(inputWidth(dist, false), hidden, rng) };
}

const DEFAULT_HIDDEN: readonly number[] = [10];

/** C_ψ from `inputs` numbers through `hidden` tanh layers to one, its output layer zero. */
function baselineNet(inputs: number, hidden: readonly number[], rng: Rng): MlpParams {
  const { layers } = initMlp(rng, { sizes: [inputs, ...hidden, 1], activation: 'tanh' });
  const last = layers[layers.length - 1];
  return { layers: [...layers.slice(0, -1), { W: zeros(last.W.shape), b: zeros(last.b.shape) }] };
}

/** The seed of the learned baseline's hidden layers when reinforce is called without a state. */
const DEFAULT_SEED = 0;

/**
 * β per sample and row, [n, R] (or [1, R] when the parameters are not tiled):
 * C_ψ at each row of stopGradient(θ). The baseline sees θ but passes it no
 * gradient, and never sees the sample b.
 */
function learnedBaseline(dist: Dist, net: MlpParams, n: number, tiled: boolean): Tensor {
  const { rows, width } = rowsOf(dist, tiled);
  const lead = tiled ? n : 1;
  // [logits] or [loc, scale], each as [lead, rows, width] (a scalar event is one row of width 1),
  // side by side on the last axis: one row of input per problem.
  const params = Object.values(paramsOf(dist)).map((p) => reshape(stopGradient(p), [lead, rows, width]));
  const input = params.length === 1 ? params[0] : concat(params, -1);
  return reshape(applyMlp(net, input, { activation: 'tanh' }), [lead, rows]);
}

/** log p(b_r|θ_r) per sample and row: [n, R]. Each row is one problem, so the per-row log-probabilities sum to log p(b|θ). */
function logProbRows(dist: Dist, b: Tensor, n: number, tiled: boolean): Tensor {
  const { rows, width } = rowsOf(dist, tiled);
  // One row of parameters per row of samples: [n·R, width] (broadcast over the samples when not tiled).
  const flat = (p: Tensor): Tensor => reshape(tiled ? p : broadcastTo(expandDims(p, 0), [n, ...p.shape]), [n * rows, width]);
  const rowDist = withParams(dist, mapTree(paramsOf(dist), flat));
  return reshape(logProb(rowDist, reshape(b, [n * rows, width])), [n, rows]);
}

/**
 * REINFORCE with the learned baseline, one β per row:
 *   ĝ_r = (f(b) − C_ψ(stop θ_r)) ∇θ_r log p(b_r|θ_r)
 * The surrogate per sample is f(b) + Σ_r (f(b) − β_r)(log p_r − stopGradient(log p_r)).
 */
function learnedSurrogate(dist: Dist, b: Tensor, fb: Tensor, n: number, options: ReinforceOptions): Surrogate<ReinforceState> {
  const name = 'reinforce';
  const tiled = options.tiled ?? false;
  // Without a state, a seeded default (the caller's generator is left alone, so the samples do not change).
  const state = options.state ?? { net: baselineNet(inputWidth(dist, tiled), DEFAULT_HIDDEN, seeded(DEFAULT_SEED)) };
  const net = state.net;
  if (net === undefined) {
    throw new RangeError(`${name}: the learned baseline needs state.net; get one from initLearnedBaseline(dist, rng) or reinforceLearned.init(dist, rng)`);
  }
  const sizes = mlpSizes(net);
  const width = inputWidth(dist, tiled);
  if (sizes[0] !== width || sizes[sizes.length - 1] !== 1) {
    throw new RangeError(`${name}: the learned baseline's net maps ${sizes[0]} inputs to ${sizes[sizes.length - 1]}, but a row of these parameters has ${width} numbers and β is one; make it with initLearnedBaseline(dist, rng)`);
  }
  const beta = learnedBaseline(dist, net, n, tiled); // [n or 1, R]
  const logp = logProbRows(dist, b, n, tiled); // [n, R]
  const score = sub(logp, stopGradient(logp)); // value 0, gradient ∇θ_r log p(b_r|θ_r)
  const weight = sub(reshape(fb, [n, 1]), beta); // [n, R]: f(b) − β_r
  const perSample = add(fb, sum(mul(weight, score), 1));
  return surrogateOf(perSample, fb, Object.assign({}, state, { net }));
}

// ---------------------------------------------------------------- as registry entries

function entry(name: string, baseline: BaselineKind, description: string): Estimator<ReinforceState> {
  const loo = baseline === 'leave-one-out';
  return selfContainedEstimator({
    name,
    description,
    unbiased: true,
    families: FAMILIES,
    iidSamples: !loo,
    minSamples: loo ? 2 : 1,
    running: baseline === 'moving-average' ? ['average'] : undefined,
    init:
      baseline === 'learned'
        ? (dist, rng) => initLearnedBaseline(dist, rng)
        : baseline === 'moving-average'
          ? () => ({ average: scalar(0) })
          : undefined,
    surrogate: (dist, f, rng, options) => reinforceWith(baseline, dist, f, rng, options),
  });
}

export const reinforceNone = entry('reinforce', 'none', 'score function, no baseline');
export const reinforceMovingAverage = entry('reinforce-ema', 'moving-average', 'score function, moving-average baseline');
export const reinforceLoo = entry('reinforce-rloo', 'leave-one-out', 'score function, leave-one-out baseline (RLOO)');
export const reinforceLearned = entry('reinforce-learned', 'learned', 'score function, learned baseline network C_ψ(θ) per row (NVIL), trained by minimising variance');
