// compare(): bias, variance, MSE and efficiency with intervals, checked
// against exact values where they exist.
//
// False positives: the interval checks use 99.9% intervals, three of them (≤ 0.3%).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, reinforceNone, reinforceLoo, estimatorByName, bernoulli, tensor, quadratureMoments, exactGradientOf, type Tensor } from '../../index.ts';
import { quadraticFunction } from '../../lib/functions.ts';

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

test('a biased estimator: its bias interval covers the exact bias (by quadrature) and excludes zero', () => {
  // One Bernoulli, f = (b − 0.3)²·2: Gumbel-softmax's exact mean is a 1-D integral over the logistic noise.
  const dist = bernoulli(tensor([0.8]));
  const f = quadraticFunction([0.3]);
  const exactMean = quadratureMoments(gumbelSoftmaxEstimator, dist, f, { blocks: 1, nodes: 24 }).mean.logits.item();
  const exactGradient = exactGradientOf(dist, f).logits.item();
  const [gs] = compare([gumbelSoftmaxEstimator], { dist, f }, { samples: 40000, seed: 2, level: 0.999 });
  const bias = exactMean - exactGradient;
  assert.ok(Math.abs(bias) > 0.01, `the exact bias ${bias} is large enough to matter`);
  assert.ok(gs.bias[0].lower <= bias && bias <= gs.bias[0].upper, `${bias} not in [${gs.bias[0].lower}, ${gs.bias[0].upper}]`);
  assert.ok(gs.bias[0].lower > 0 || gs.bias[0].upper < 0, 'the interval excludes zero');
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
