// estimators/check.ts: checkUnbiased on estimates that are not finite.
//   A coordinate whose mean, variance or exact value is NaN or infinite has no
//   z-test (z and its p-value would be NaN, and no threshold rejects NaN): it
//   is rejected outright, with a note saying which value is not finite. Cases:
//   a NaN estimate in one coordinate; per-sample estimates of +∞ and −∞ (mean
//   NaN); estimates of ±1e300 whose squares overflow (finite mean, infinite
//   variance, so z = diff/∞ = 0 before); a NaN exact value. The other
//   coordinate of each, and the plain exact estimator, still pass.
//
// The estimators here are the exact estimator (zero variance, z = 0) plus
// (θ − stopGradient θ)·m: the same values of f, with m added to every
// per-sample estimate. Nothing random matters, so no α or power is at stake.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor, tensor, add, sub, mul, sum, stopGradient, bernoulli, checkUnbiased, exactGradientOf, exactEstimator, quadraticFunction,
  normal, gumbel, exponential, relaxedBernoulli, relaxedCategorical, pathwiseEstimator,
  type Estimator, type CheckResult,
} from '../../index.ts';

const dist = bernoulli(tensor([0.3, -0.8]));
const f = quadraticFunction([0.2, 0.7]);
const problem = { dist, f, exactGradient: exactGradientOf(dist, f) };

/** The exact estimator with added(n) ([n, 2]) added to the n per-sample estimates of one call. */
function shifted(name: string, added: (n: number) => number[][]): Estimator<undefined> {
  return {
    ...exactEstimator,
    name,
    surrogate(d, fn, r, options) {
      const out = exactEstimator.surrogate(d, fn, r, options);
      const logits = (d as { logits: Tensor }).logits; // [n, 2], tiled by estimateGradient
      const n = logits.shape[0];
      const extra = sum(mul(sub(logits, stopGradient(logits)), tensor(added(n))), 1); // value 0·m, gradient m
      return { ...out, perSample: add(out.perSample, extra) };
    },
  };
}

const constant = (row: number[]) => (n: number) => Array.from({ length: n }, () => row);

function rejectedWithNote(result: CheckResult, j: number, note: RegExp, what: string): void {
  const c = result.coordinates[j];
  assert.is(result.unbiasedVerdict, false, `${what}: verdict`);
  assert.ok(c.rejected, `${what}: ${c.name} rejected`);
  assert.is(c.pValue, 0, `${what}: p-value`);
  assert.ok(Number.isNaN(c.z), `${what}: z is NaN, got ${c.z}`);
  assert.match(c.note ?? '', note, `${what}: note`);
  assert.is(result.maxAbsZ, Infinity, `${what}: max |z|`);
  const other = result.coordinates[1 - j];
  assert.not.ok(other.rejected, `${what}: the finite coordinate ${other.name} is not rejected`);
  assert.is(other.note, undefined);
}

const nonFinite = suite('checkUnbiased: coordinates that are not finite');

const OPTIONS = { samples: 64, seed: 1, alpha: 0.001 };

nonFinite('the exact estimator passes, with no notes', () => {
  const r = checkUnbiased(exactEstimator, problem, OPTIONS);
  assert.ok(r.unbiasedVerdict);
  assert.is(r.maxAbsZ, 0);
  for (const c of r.coordinates) assert.is(c.note, undefined);
});

nonFinite('a NaN estimate in one coordinate is biased', () => {
  const r = checkUnbiased(shifted('nan-in-one', constant([0, NaN])), problem, OPTIONS);
  rejectedWithNote(r, 1, /^not finite: mean = NaN, variance = NaN$/, 'NaN');
});

nonFinite('per-sample estimates of +∞ and −∞ (mean NaN) are biased', () => {
  const spikes = (n: number) => Array.from({ length: n }, (_, i) => [i === 0 ? Infinity : i === 1 ? -Infinity : 0, 0]);
  const r = checkUnbiased(shifted('infinite-samples', spikes), problem, OPTIONS);
  rejectedWithNote(r, 0, /^not finite: mean = NaN, variance = NaN$/, '±∞');
});

nonFinite('estimates of ±1e300 (finite mean, variance overflows to ∞) are biased', () => {
  // The mean stays finite (the ±1e300 cancel in pairs) but the squares overflow: stderr = ∞ made z = 0.
  const huge = (n: number) => Array.from({ length: n }, (_, i) => [0, i % 2 === 0 ? 1e300 : -1e300]);
  const r = checkUnbiased(shifted('overflowing-variance', huge), problem, OPTIONS);
  assert.ok(Number.isFinite(r.coordinates[1].mean), 'the mean is finite');
  rejectedWithNote(r, 1, /^not finite: variance = Infinity$/, '±1e300');
});

nonFinite('a NaN exact value is reported, not passed', () => {
  const g = problem.exactGradient.logits.data;
  const broken = { ...problem, exactGradient: { logits: tensor([g[0], NaN]) } };
  rejectedWithNote(checkUnbiased(exactEstimator, broken, OPTIONS), 1, /^not finite: exact = NaN$/, 'NaN exact');
});

nonFinite.run();

const continuous = suite('checkUnbiased: continuous families need their exact gradient given');

continuous('exactGradientOf refuses every continuous family instead of enumerating it as a discrete one', () => {
  const f = quadraticFunction([0.5, -0.5]);
  const two = tensor([0.2, -0.1]);
  const families = [
    normal(two, tensor([1, 2])),
    gumbel(two, tensor([1, 2])),
    exponential(tensor([1, 2])),
    relaxedBernoulli(two, 0.5),
    relaxedCategorical(two, 0.5),
  ];
  for (const dist of families) {
    assert.throws(() => exactGradientOf(dist, f), (e: Error) => e instanceof RangeError && e.message === `exactGradientOf: a ${dist.family} cannot be enumerated; pass the exact gradient (e.g. a closed form)`, dist.family);
    assert.throws(() => checkUnbiased(pathwiseEstimator, { dist, f }, OPTIONS), (e: Error) => /cannot be enumerated/.test(e.message), dist.family);
  }
});

continuous.run();
