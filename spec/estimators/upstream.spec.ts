// Parameters inside f (a decoder's weights, say) must get the gradient of
// E[f(b)] from every estimator's surrogate: ∂/∂ψ E[f_ψ(b)] = E[∂f_ψ(b)/∂ψ],
// whatever the estimator does for θ. A relaxation that lets ψ see f at the
// relaxed sample as well double-counts it; the broken variant below shows
// the test catches that.
//
// Each check: 100 independent calls of 200 samples, a t-test on the calls'
// mean ∂/∂ψ at α = 1e-5; about 25 checks, so the file fails by chance with
// probability below 3e-4.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor, tensor, scalar, rng, grad, mul, add, sub, sum, concat, slice, stopGradient,
  bernoulli, categorical, normal, perturb, hard, relaxed, drawNoise, estimators,
  type Estimator, type Dist, type SampleFunction,
} from '../../index.ts';
import { tQuantile } from '../../lib/stats.ts';

const v3 = tensor([1.0, 0.2, -0.5]);
const v2 = tensor([0.7, -1.3]);
const cases: Record<string, { dist: Dist; base: SampleFunction; expected: number }> = (() => {
  const logits3 = tensor([0.1, -0.3, 0.7]);
  const p3 = Array.from(logits3.data, Math.exp);
  const z3 = p3.reduce((a, b) => a + b, 0);
  const logits2 = tensor([0.4, -0.9]);
  const p2 = Array.from(logits2.data, (l) => 1 / (1 + Math.exp(-l)));
  return {
    // E[x · v] for a one-hot x is p · v.
    categorical: { dist: categorical(logits3), base: (x) => sum(mul(x, v3), 1), expected: p3.reduce((a, p, k) => a + (p / z3) * v3.data[k], 0) },
    // E[Σ_j b_j v_j] for Bernoullis is Σ p_j v_j.
    bernoulli: { dist: bernoulli(logits2), base: (x) => sum(mul(x, v2), 1), expected: p2[0] * v2.data[0] + p2[1] * v2.data[1] },
    // E[Σ (x − 2)²] for x ∼ N(0.5, 1) is (0.5 − 2)² + 1.
    normal: { dist: normal(tensor([0.5]), tensor([1.0])), base: (x) => sum(mul(sub(x, 2), sub(x, 2)), 1), expected: 1.5 ** 2 + 1 },
  };
})();

const CALLS = 100;
const N = 200;
const ALPHA = 1e-5;

/** The calls' ∂surrogate/∂ψ at ψ = 1 for f_ψ(x) = ψ · base(x); returns the t statistic against `expected`. */
function tStatistic(estimator: Estimator, dist: Dist, base: SampleFunction, expected: number, seed: number): number {
  const r = rng(seed);
  const state = estimator.init?.(dist, r.split());
  const values: number[] = [];
  for (let c = 0; c < CALLS; c++) {
    const callRng = r.split();
    const g = grad((psi: Tensor) => estimator.surrogate(dist, (x) => mul(psi, base(x)), callRng, { n: N, state }).surrogate)(scalar(1));
    values.push(g.item());
  }
  const mean = values.reduce((a, b) => a + b, 0) / CALLS;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (CALLS - 1);
  // Exact to rounding (the exact estimator): no evidence of bias, whatever rounding does to the spread.
  if (Math.abs(mean - expected) <= 1e-12 * (1 + Math.abs(expected))) return 0;
  return (mean - expected) / Math.sqrt(variance / CALLS);
}

const critical = tQuantile(1 - ALPHA / 2, CALLS - 1);
const test = suite('every estimator passes the gradient of E[f] to parameters inside f');

for (const estimator of estimators) {
  const family = (['categorical', 'bernoulli', 'normal'] as const).find((f) => estimator.families.includes(f));
  if (family === undefined) continue; // structured families have their own specs
  const { dist, base, expected } = cases[family];
  test(`${estimator.name} (${family})`, () => {
    const t = tStatistic(estimator, dist, base, expected, 7);
    assert.ok(Math.abs(t) < critical, `${estimator.name}: t = ${t.toFixed(2)} (critical ${critical.toFixed(2)})`);
  });
}

test('power: a Gumbel-softmax that lets ψ see f at the relaxed sample too is caught', () => {
  const doubleCounting: Estimator = {
    name: 'gumbel-softmax-double-counting',
    description: '',
    unbiased: false,
    families: ['categorical'],
    iidSamples: true,
    minSamples: 1,
    surrogate: (d, f, r, options) => {
      const n = options.n ?? 1;
      const z = perturb(d, drawNoise(d, r, n));
      const b = hard(d.family, z);
      const all = f(concat([b, relaxed(d.family, z, 0.5)], 0));
      const fb = slice(all, 0, 0, n);
      const fs = slice(all, 0, n, 2 * n);
      const perSample = add(fb, sub(fs, stopGradient(fs)));
      return { surrogate: mul(sum(perSample), 1 / n), perSample, values: stopGradient(fb), state: undefined };
    },
  };
  const { dist, base, expected } = cases.categorical;
  const t = tStatistic(doubleCounting, dist, base, expected, 7);
  assert.ok(Math.abs(t) > critical, `t = ${t}`);
});

test.run();
