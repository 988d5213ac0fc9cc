// Optimising θ with an estimator, while training the estimator's learned
// parts on their variance: Grathwohl et al. 2018, algorithm 1 (one sample per
// step; Adam on θ with the estimate, and a second Adam on φ with
// ∂/∂φ E[ĝ²]). The toy setup of their figure 1 is `trainToy`.

import { Tensor, tensor } from '../autodiff/index.ts';
import { rng as makeRng, type Rng } from '../lib/random.ts';
import { adam } from '../lib/optim.ts';
import { quadraticFunction } from '../lib/functions.ts';
import { estimateGradient, type Estimator } from './estimator.ts';
import { bernoulli, withParams, paramsOf, type Dist, type SampleFunction } from './families.ts';
import { reinforceNone } from './reinforce.ts';
import { rebarEstimator, relaxEstimator, initRebarState, initRelaxState, type RelaxState } from './relax.ts';

export interface TrainingPoint {
  step: number;
  /** The exact objective E[f] at the current θ. */
  loss: number;
  /** Variance of one estimate (mean over coordinates), from fresh draws. */
  variance: number;
  /** The first parameter coordinate. */
  theta: number;
}

export interface TrainingCurve {
  estimator: string;
  points: TrainingPoint[];
  seconds: number;
  /** The distribution's parameters after the last step. */
  params: Record<string, Tensor>;
  /** The estimator's state after the last step. */
  state: unknown;
}

export interface TrainOptions<State> {
  estimator: Estimator<State>;
  dist: Dist;
  f: SampleFunction;
  /** E[f] as a function of the distribution, for logging. */
  exactLoss: (dist: Dist) => number;
  steps: number;
  /** Learning rate of both Adams (default 0.01). */
  lr?: number;
  state?: State;
  /** Log every this many steps (default steps / 50). */
  every?: number;
  /** Fresh draws for each logged variance (default 100). */
  varianceDraws?: number;
  /** Draws the training noise; logging draws from a generator split off it at the start. */
  rng: Rng;
  onLog?: (step: number, point: TrainingPoint) => void;
}

/**
 * Runs the training loop and returns the logged curve. The learned parts of
 * the state get Adam steps on ∂/∂φ E[ĝ²]; running statistics (the
 * estimator's `running` keys) are carried forward as the estimator returns them.
 */
export function train<State>(options: TrainOptions<State>): TrainingCurve {
  const started = performance.now();
  const every = options.every ?? Math.max(1, Math.floor(options.steps / 50));
  const lr = options.lr ?? 0.01;
  const logRng = options.rng.split(); // so that logging does not change the training trajectory
  const thetaOpt = adam({ lr });
  const stateOpt = adam({ lr });
  let params = paramsOf(options.dist);
  let thetaState = thetaOpt.init(params);
  let state = options.state;
  const running = new Set(options.estimator.running ?? []);
  const learnedOf = (s: State): Record<string, unknown> =>
    Object.fromEntries(Object.entries(s as Record<string, unknown>).filter(([key]) => !running.has(key)));
  let stateOptState = state === undefined ? undefined : stateOpt.init(learnedOf(state));
  const points: TrainingPoint[] = [];
  const log = (step: number) => {
    const dist = withParams(options.dist, params);
    const fresh = estimateGradient(options.estimator, dist, options.f, logRng, { n: options.varianceDraws ?? 100, state });
    let variance = 0;
    let count = 0;
    for (const g of Object.values(fresh.perSample)) {
      const rows = g.shape[0];
      const size = g.size / rows;
      for (let j = 0; j < size; j++) {
        let m = 0;
        for (let i = 0; i < rows; i++) m += g.data[i * size + j] / rows;
        let v = 0;
        for (let i = 0; i < rows; i++) v += (g.data[i * size + j] - m) ** 2 / (rows - 1);
        variance += v;
        count++;
      }
    }
    const point = { step, loss: options.exactLoss(dist), variance: variance / count, theta: Object.values(params)[0].data[0] };
    points.push(point);
    options.onLog?.(step, point);
  };
  for (let step = 0; step < options.steps; step++) {
    if (step % every === 0) log(step);
    const dist = withParams(options.dist, params);
    const out = estimateGradient(options.estimator, dist, options.f, options.rng, { n: 1, state, trainState: state !== undefined });
    ({ params, state: thetaState } = thetaOpt.step(params, out.gradient, thetaState));
    if (state !== undefined && out.stateGradient !== undefined && stateOptState !== undefined) {
      const stepped = stateOpt.step(learnedOf(state), out.stateGradient as Record<string, unknown>, stateOptState);
      stateOptState = stepped.state;
      // Running statistics come from the estimator; learned parts from the optimizer.
      state = Object.assign({}, out.state as Record<string, unknown>, stepped.params) as State;
    }
  }
  log(options.steps);
  return { estimator: options.estimator.name, points, seconds: (performance.now() - started) / 1000, params, state };
}

export interface ToyOptions {
  estimator: 'reinforce' | 'rebar' | 'relax';
  steps?: number;
  seed?: number;
  onLog?: (step: number, point: TrainingPoint) => void;
}

/**
 * The toy problem of Grathwohl et al. 2018, figure 1, as published:
 * b ∼ Bernoulli(σ(log α)), f(b) = (b − 0.499)², log α from 0; one sample per
 * step; Adam (lr 0.01) on log α and on the learned parts. REBAR learns η
 * (from 1) and λ (from 0.5); RELAX learns c_φ = α·r(σ_λ(z)), r a 10-unit tanh
 * network with α from 0 (so RELAX starts as REINFORCE), and λ from 0.5.
 */
export function trainToy(options: ToyOptions): TrainingCurve {
  const target = 0.499;
  const seed = options.seed ?? 0;
  const r = makeRng(seed);
  const dist = bernoulli(tensor([0]));
  const f = quadraticFunction([target]);
  const exactLoss = (d: Dist) => {
    const p = 1 / (1 + Math.exp(-(d as { logits: Tensor }).logits.data[0]));
    return p * (1 - target) ** 2 + (1 - p) * target ** 2;
  };
  const common = { dist, f, exactLoss, steps: options.steps ?? 5000, rng: r, onLog: options.onLog };
  if (options.estimator === 'reinforce') return train({ ...common, estimator: reinforceNone });
  if (options.estimator === 'rebar') return train<RelaxState>({ ...common, estimator: rebarEstimator, state: initRebarState(dist, r, { eta: 1, temperature: 0.5 }) });
  const state = initRelaxState(dist, r.split(), { eta: null, alpha: 0, temperature: 0.5, hidden: [10] });
  return train<RelaxState>({ ...common, estimator: relaxEstimator, state });
}

