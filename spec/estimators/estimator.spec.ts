// estimators/estimator.ts: estimateGradient's checks of its own arguments.
// Each bad argument gives a TypeError or RangeError at the call, naming the
// estimator (or estimateGradient, when the estimator itself is what is
// wrong) and what was given, never an error from deep inside (a property of
// null, a tree walk).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { estimateGradient, reinforceNone, rebarEstimator, categorical, tensor, rng, quadraticFunction } from '../../index.ts';

const args = suite('estimateGradient: its arguments');

const dist = categorical(tensor([0.1, -0.2, 0.3]));
const f = quadraticFunction([0.2, 0.5, 0.3]);

args('something that is not an estimator is named as such', () => {
  for (const bad of [undefined, null, {}, 'relax', { surrogate: 3 }]) {
    assert.throws(() => estimateGradient(bad as never, dist, f, rng(1)), (e: Error) => e instanceof TypeError && /^estimateGradient: expected an estimator \(e\.g\. reinforceLoo, or estimatorByName\('relax'\)\), got /.test(e.message));
  }
});

args('something that is not a distribution is named as such, with the estimator\'s name', () => {
  assert.throws(() => estimateGradient(reinforceNone, null as never, f, rng(1)), (e: Error) => e instanceof TypeError && e.message === 'reinforce: expected a distribution such as categorical(logits) or bernoulli(logits), got null');
  assert.throws(() => estimateGradient(reinforceNone, 3 as never, f, rng(1), { n: 100 }), (e: Error) => e instanceof TypeError && e.message === 'reinforce: expected a distribution such as categorical(logits) or bernoulli(logits), got number');
});

args('trainState without a state, and weights of the wrong shape', () => {
  assert.throws(() => estimateGradient(rebarEstimator, dist, f, rng(1), { n: 4, trainState: true }), (e: Error) => e instanceof RangeError && /^rebar: trainState needs a state/.test(e.message));
  assert.throws(() => estimateGradient(reinforceNone, dist, f, rng(1), { n: 4, weights: tensor([0.5, 0.5]) }), (e: Error) => e instanceof RangeError && e.message === 'reinforce: weights must have shape [4], got [2]');
});

args.run();
