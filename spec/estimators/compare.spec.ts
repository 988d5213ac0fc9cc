// compare(): bias, variance, MSE and efficiency with intervals, checked
// against exact values where they exist.
//
// False positives: the interval checks use 99.9% intervals, three of them.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, reinforceNone, reinforceLoo, estimatorByName, type Tensor } from '../../index.ts';

const exactEstimator = estimatorByName('exact');
const gumbelSoftmaxEstimator = estimatorByName('gumbel-softmax');
import { exactReinforceMoments } from '../../lib/exact.ts';
import { fixedDiscreteProblems } from '../harness/problems.ts';

const test = suite('compare');
const problem = fixedDiscreteProblems()[0]; // categorical K = 3, table

test('exact variance of REINFORCE lies in its interval; the exact estimator has none', () => {
  const rows = compare([reinforceNone, exactEstimator], problem, { samples: 20000, seed: 1, level: 0.999 });
  const moments = exactReinforceMoments('categorical', (problem.dist as { logits: Tensor }).logits, problem.f);
  const total = moments.variance.data.reduce((a, b) => a + b, 0);
  const [reinforce, exact] = rows;
  assert.ok(reinforce.variance.lower <= total && total <= reinforce.variance.upper, `${total} not in [${reinforce.variance.lower}, ${reinforce.variance.upper}]`);
  // For an unbiased estimator the MSE is the variance: the interval must cover it too.
  assert.ok(reinforce.mse.lower <= total && total <= reinforce.mse.upper);
  assert.is(exact.variance.value, 0);
  assert.is(exact.mse.value, 0);
  assert.is(reinforce.relativeEfficiency, 1);
});

test('a biased estimator shows a bias whose interval excludes zero, and MSE ≈ variance + ‖bias‖²', () => {
  const [gs] = compare([gumbelSoftmaxEstimator], problem, { samples: 20000, seed: 2, level: 0.999 });
  assert.ok(gs.bias.some((b) => b.lower > 0 || b.upper < 0), 'some coordinate is significantly biased');
  // MSE = Var + ‖bias‖² exactly for population quantities; here both sides are estimates from the same units.
  const implied = gs.variance.value + gs.biasNorm ** 2;
  assert.ok(Math.abs(gs.mse.value - implied) < 1e-3 * implied + 1e-9, `${gs.mse.value} vs ${implied}`);
});

test('leave-one-out is measured per call and scaled to one sample', () => {
  const [loo] = compare([reinforceLoo], problem, { samples: 16000, seed: 3 });
  assert.is(loo.samplesPerUnit, 8);
  assert.is(loo.samples, 16000);
  assert.ok(loo.variance.value > 0);
});

test('bad options', () => {
  assert.throws(() => compare([reinforceNone], problem, { level: 1.5 }), /compare: level must lie in \(0, 1\)/);
});

test.run();
