// REINFORCE and its baselines against the exact gradient.
//
// False-positive budget of this file: every checkUnbiased call that must pass
// runs at a family-wise level of at most 1e-5, and there are fewer than 40 of
// them, so the file fails by chance with probability below 4e-4; the
// fast-check property's share is 1e-4 (Bonferroni over its runs).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, scalar, rng, grad, sum, mul, add, sub, div, stopGradient, matmul, reshape,
  categorical, bernoulli, normal, sample, logProb, estimateGradient, checkUnbiased, quadratureMoments,
  reinforce, reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned,
  type Estimator, type Dist, type SampleFunction, type ReinforceState,
} from '../../index.ts';
import { exactReinforceMoments } from '../../lib/exact.ts';
import { quadraticFunction } from '../../lib/functions.ts';
import { fixedDiscreteProblems, problemArbitrary, assertUnbiased, assertRejected } from '../harness/problems.ts';
import { adam } from '../../lib/optim.ts';

const ALPHA = 1e-5;

const unbiased = suite('reinforce: unbiased on fixed problems');

for (const problem of fixedDiscreteProblems()) {
  for (const estimator of [reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned] as Estimator<ReinforceState>[]) {
    unbiased(`${estimator.name} on ${problem.name}`, () => {
      // Learned parts at random, untrained values: unbiasedness must not depend on them.
      const state = estimator.name === 'reinforce-learned' ? randomLearnedState(problem.dist, 11) : undefined;
      const result = checkUnbiased(estimator, problem, { samples: 40000, seed: 1, alpha: ALPHA, n: 4, state });
      assertUnbiased(result, problem.name);
    });
  }
}

function randomLearnedState(dist: Dist, seed: number): ReinforceState {
  const r = rng(seed);
  const size = (dist.family === 'normal' ? dist.loc : dist.logits).size;
  return { phi: { w: r.normal([size]), c: scalar(r.normal([1]).data[0]) } };
}

unbiased('a constant baseline keeps the mean', () => {
  const problem = fixedDiscreteProblems()[0];
  const constant: Estimator<ReinforceState> = { ...reinforceNone, name: 'reinforce-constant', surrogate: (d, f, r, o) => reinforce(d, f, r, { ...o, baseline: 'constant', constant: 0.7 }) };
  assertUnbiased(checkUnbiased(constant, problem, { samples: 40000, seed: 2, alpha: ALPHA }), problem.name);
});

unbiased('normal family: score function with a quadratic, against the closed form', () => {
  // E[Σ(x − t)²] = Σ (μ − t)² + σ²: ∂/∂μ = 2(μ − t), ∂/∂σ = 2σ.
  const loc = tensor([0.5, -1]);
  const scale = tensor([1.0, 0.5]);
  const target = [2.0, 0.0];
  const f = quadraticFunction(target);
  const exactGradient = { loc: tensor([2 * (0.5 - 2), 2 * (-1 - 0)]), scale: tensor([2 * 1.0, 2 * 0.5]) };
  const result = checkUnbiased(reinforceNone, { dist: normal(loc, scale), f, exactGradient }, { samples: 200000, seed: 3, alpha: ALPHA });
  assertUnbiased(result, 'normal quadratic');
});

unbiased.run();

// ---------------------------------------------------------------- property

const property = suite('reinforce: unbiased on random problems (fast-check)');

const RUNS = 12;
property(`every baseline, ${RUNS} random problems each, family-wise α ≤ 1e-4`, () => {
  const estimators = [reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned] as Estimator<ReinforceState>[];
  const perCheck = 1e-4 / (RUNS * estimators.length);
  fc.assert(
    fc.property(problemArbitrary(), fc.integer({ min: 0, max: 1000 }), (problem, seed) => {
      for (const estimator of estimators) {
        const state = estimator.name === 'reinforce-learned' ? randomLearnedState(problem.dist, seed) : undefined;
        const result = checkUnbiased(estimator, problem, { samples: 20000, seed, alpha: perCheck, n: 4, state });
        assertUnbiased(result, problem.name);
      }
    }),
    { seed: 20261128, numRuns: RUNS },
  );
});

property.run();

// ---------------------------------------------------------------- power: broken variants are caught

const power = suite('reinforce: broken variants are rejected at checkUnbiased’s default sample size (20 000)');

/** RLOO done wrong: the baseline includes the sample itself, β_i = mean of all f. Biased by the factor 1 − 1/n. */
const looIncludingSelf: Estimator<ReinforceState> = {
  ...reinforceLoo,
  name: 'rloo-including-self',
  surrogate: (dist, f, r, options) => {
    const n = options.n ?? 2;
    const b = sample(dist, r, n, options.tiled);
    const fb = f(b);
    const logp = logProb(dist, b);
    const beta = div(sum(stopGradient(fb)), n);
    const perSample = add(fb, mul(sub(fb, beta), sub(logp, stopGradient(logp))));
    return { surrogate: div(sum(perSample), n), perSample, values: stopGradient(fb), state: {} };
  },
};

/** The score with the wrong sign. */
const flippedScore: Estimator<ReinforceState> = {
  ...reinforceNone,
  name: 'reinforce-flipped',
  surrogate: (dist, f, r, options) => {
    const out = reinforce(dist, f, r, options);
    const perSample = sub(mul(out.values, 2), out.perSample); // 2f − (f + f·Δ) = f − f·Δ
    return { ...out, perSample, surrogate: div(sum(perSample), perSample.shape[0]) };
  },
};

for (const problem of fixedDiscreteProblems()) {
  power(`RLOO including the sample itself, on ${problem.name}`, () => {
    assertRejected(checkUnbiased(looIncludingSelf, problem, { seed: 1, alpha: ALPHA }), problem.name);
  });
  // On the toy the whole gradient (0.0005) is below one standard error at this
  // size (√(0.0156/20000) ≈ 0.0009), so a sign flip cannot show there.
  if (problem.name.startsWith('toy')) continue;
  power(`score with a flipped sign, on ${problem.name}`, () => {
    assertRejected(checkUnbiased(flippedScore, problem, { seed: 1, alpha: ALPHA }), problem.name);
  });
}

power.run();

// ---------------------------------------------------------------- exact variance, surrogate semantics

const semantics = suite('reinforce: surrogate semantics and exact variance');

semantics('quadrature over the noise equals enumeration of b (two exact methods agree)', () => {
  const problem = fixedDiscreteProblems()[1]; // 2 Bernoullis
  const logits = (problem.dist as { logits: Tensor }).logits;
  const p = Array.from(logits.data, (l) => 1 / (1 + Math.exp(-l)));
  const q = quadratureMoments(reinforceNone, problem.dist, problem.f, { blocks: 1, nodes: 8, breakpoints: [[1 - p[0]], [1 - p[1]]] });
  const e = exactReinforceMoments('bernoulli', logits, problem.f);
  for (let j = 0; j < 2; j++) {
    // The integrand is piecewise constant on the panels, so both are exact up to rounding.
    assert.ok(Math.abs(q.mean.logits.data[j] - e.mean.data[j]) < 1e-13, `mean ${j}`);
    assert.ok(Math.abs(q.variance.logits.data[j] - e.variance.data[j]) < 1e-13, `variance ${j}`);
  }
});

semantics('the surrogate reports the mean of f, and its gradient flows to parameters upstream of the logits', () => {
  const W = tensor([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]]);
  const x = tensor([[1.0, -2.0]]);
  const values = tensor([1.0, 0.2, -0.5]);
  const f: SampleFunction = (b) => sum(mul(b, values), 1);
  const n = 64;
  const loss = (w: Tensor) => reinforce(categorical(reshape(matmul(x, w), [3])), f, rng(5), { n, baseline: 'leave-one-out' }).surrogate;
  const out = reinforce(categorical(reshape(matmul(x, W), [3])), f, rng(5), { n, baseline: 'leave-one-out' });
  assert.ok(Math.abs(out.surrogate.item() - sum(out.values).item() / n) < 1e-12, 'value = mean f');
  // Chain rule: dL/dW = xᵀ ĝ_logits, with ĝ the estimate for the logits on the same noise.
  const gW = grad(loss)(W);
  const gLogits = grad((l: Tensor) => reinforce(categorical(l), f, rng(5), { n, baseline: 'leave-one-out' }).surrogate)(reshape(matmul(x, W), [3]));
  const expected = matmul(reshape(x, [2, 1]), reshape(gLogits, [1, 3]));
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(gW.data[i] - expected.data[i]) < 1e-12, `dW[${i}]`);
});

semantics('per-sample estimates by tiling average to the plain surrogate gradient on the same noise', () => {
  const problem = fixedDiscreteProblems()[3]; // product of categoricals
  const logits = (problem.dist as { logits: Tensor }).logits;
  const n = 50;
  const tiled = estimateGradient(reinforceLoo, problem.dist, problem.f, rng(9), { n });
  const plain = grad((l: Tensor) => reinforce(categorical(l), problem.f, rng(9), { n, baseline: 'leave-one-out' }).surrogate)(logits);
  assert.equal(tiled.perSample.logits.shape, [n, 2, 3]);
  for (let i = 0; i < plain.size; i++) assert.ok(Math.abs(tiled.gradient.logits.data[i] - plain.data[i]) < 1e-12);
});

semantics('a learned baseline trained on the variance objective lowers the exact variance (toy problem)', () => {
  const dist = bernoulli(tensor([0]));
  const f = quadraticFunction([0.499]);
  const exactVar = (state: ReinforceState) => quadratureMoments(reinforceLearned, dist, f, { blocks: 1, nodes: 4, breakpoints: [[0.5]], state }).variance.logits.item();
  let state = reinforceLearned.init!(dist, rng(0));
  const before = exactVar(state);
  const opt = adam({ lr: 0.02 });
  let optState = opt.init(state);
  const r = rng(4);
  for (let step = 0; step < 200; step++) {
    const out = estimateGradient(reinforceLearned, dist, f, r, { n: 8, state, trainState: true });
    ({ params: state, state: optState } = opt.step(state, out.stateGradient as ReinforceState, optState));
  }
  const after = exactVar(state);
  // f ≈ 0.25 everywhere, so the best baseline (≈ 0.25) removes almost all variance.
  assert.ok(after < before / 100, `variance ${before} → ${after}`);
});

semantics('errors name the estimator and the fix', () => {
  const d = categorical(tensor([0, 1]));
  const f: SampleFunction = (b) => sum(b, 1);
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'leave-one-out', n: 1 }), /reinforce: n must be an integer ≥ 2, got 1/);
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'learned' }), /reinforce: the learned baseline needs state.phi/);
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'typo' as never }), /reinforce: unknown baseline 'typo'/);
  assert.throws(() => reinforce(d, (b) => b, rng(0), { n: 3 }), /reinforce: f must map samples \[n, \.\.\.\] to values \[n\] = \[3\], got shape \[3,2\]/);
});

semantics.run();

