// The estimator benchmarks: the same cases as the peers' `--only estimators`
// (../shared/peers/torch/bench.py), from the same fixtures.json (problems,
// initial parameters, surrogate networks):
//
//   toy      b ∼ Bernoulli(σ(θ)), f(b) = (b − 0.499)²,              θ = 0 ∈ ℝ¹
//   cat10    b ∼ Categorical(softmax(θ)) one-hot, f(b) = Σ_k (b_k − t_k)², θ = 0 ∈ ℝ¹⁰
//   cat100   the same with K = 100
//
// for REINFORCE (no baseline), Gumbel-softmax (categoricals only, τ from the
// fixtures), REBAR (η = 1, λ = 0.5) and RELAX (c = f(σ_λ(z)) + r(σ_λ(z)), r
// the fixture's tanh MLP 1-10-1 or K-32-32-1), each with n = 1 and n = 1000
// samples per call; REBAR and RELAX also "+ dVar": the estimate plus
// ∂/∂φ mean_i ĝ_i² by double backprop (estimateGradient's trainState).
//
// One call = estimateGradient(estimator, dist, f, rng, { n }): draw the noise
// for n samples and return the n per-sample estimates [n, D], from one
// backward pass over θ tiled into n rows, as the peers do.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  tensor, scalar, rng, bernoulli, categorical, estimateGradient, quadraticFunction,
  reinforceNone, rebarEstimator, relaxEstimator, relaxationEstimator, mlpFromArrays,
  type Estimator, type Dist, type SampleFunction, type NestedArray, type RelaxState,
} from '../index.ts';
import type { BenchCase } from './engine.ts';

/**
 * ../shared/peers/fixtures.json beside the package root (the nearest folder
 * above this file with a package.json), so the path holds for this source
 * file and for its compiled copy under .bench/ alike.
 */
export const FIXTURES_PATH = join(packageRoot(dirname(fileURLToPath(import.meta.url))), '..', 'shared', 'peers', 'fixtures.json');

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`bench: no package.json above ${from}`);
  }
}

interface ProblemFixture {
  kind: 'bernoulli' | 'categorical';
  theta: number[];
  target: number[];
  rebar: { eta: number; temperature: number };
  relax: { temperature: number; mlp: NestedArray[] };
}

interface Fixtures {
  toy: ProblemFixture;
  cat10: ProblemFixture;
  cat100: ProblemFixture;
  gumbel_softmax_temperature: number;
}

export const PROBLEMS = ['toy', 'cat10', 'cat100'] as const;
export const SAMPLES = [1, 1000] as const;

export function loadFixtures(path = FIXTURES_PATH): Fixtures {
  return JSON.parse(readFileSync(path, 'utf8')) as Fixtures;
}

/** One estimator on one problem, as estimateGradient's arguments. */
export interface EstimatorSetup {
  /** The peers' name: 'toy REBAR', 'cat10 RELAX + dVar', … */
  name: string;
  estimator: Estimator;
  dist: Dist;
  f: SampleFunction;
  state?: RelaxState;
  trainState: boolean;
}

/** Every (problem, estimator, dVar) of the peers, in the peers' order. */
export function estimatorSetups(fixtures: Fixtures = loadFixtures()): EstimatorSetup[] {
  const setups: EstimatorSetup[] = [];
  for (const problem of PROBLEMS) {
    const fx = fixtures[problem];
    const theta = tensor(fx.theta);
    const dist = fx.kind === 'bernoulli' ? bernoulli(theta) : categorical(theta);
    const f = quadraticFunction(fx.target);
    const rebarState = (): RelaxState => ({ logTemperature: scalar(Math.log(fx.rebar.temperature)), eta: scalar(fx.rebar.eta) });
    const relaxState = (): RelaxState => ({
      logTemperature: scalar(Math.log(fx.relax.temperature)),
      eta: scalar(1),
      alpha: scalar(1),
      net: mlpFromArrays(fx.relax.mlp),
    });
    const add = (name: string, estimator: Estimator, state?: RelaxState, trainState = false) =>
      setups.push({ name: `${problem} ${name}`, estimator, dist, f, state, trainState });
    add('REINFORCE', reinforceNone);
    if (fx.kind === 'categorical') {
      add('Gumbel-softmax', relaxationEstimator('gumbel-softmax', { temperature: fixtures.gumbel_softmax_temperature }));
    }
    add('REBAR', rebarEstimator, rebarState());
    add('REBAR + dVar', rebarEstimator, rebarState(), true);
    add('RELAX', relaxEstimator, relaxState());
    add('RELAX + dVar', relaxEstimator, relaxState(), true);
  }
  return setups;
}

/** One timed call: n samples, n per-sample estimates (and the state gradient with dVar). */
export function runSetup(setup: EstimatorSetup, n: number, gen = rng(0)) {
  return estimateGradient(setup.estimator, setup.dist, setup.f, gen, { n, state: setup.state, trainState: setup.trainState });
}

export function estimatorCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const gen = rng(0);
  for (const setup of estimatorSetups()) {
    for (const n of SAMPLES) cases.push({ name: setup.name, n, run: () => runSetup(setup, n, gen) });
  }
  return cases;
}
