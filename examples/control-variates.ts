// Control variates: subtract something whose mean you know (Owen, "Monte
// Carlo theory, methods and examples", §8.9; Mohamed et al. 2020, §7).
//
// To estimate E[g], find an h that moves with g and whose mean μ_h is known.
// For any β, g − β(h − μ_h) has the same mean as g, and variance
//
//   Var g − 2β Cov(g, h) + β² Var h,
//
// a parabola in β, lowest at β* = Cov(g, h) / Var h, where it is
// Var g · (1 − ρ²), ρ = Corr(g, h). At β = 2β* it is back to Var g; beyond,
// a control variate makes things worse. β* is estimated from the samples;
// fitting it on one half and applying it to the other ('split') keeps the
// estimate exactly unbiased.
//
// Part 1: the score function's baseline is a control variate. REINFORCE's
// ĝ = f(b) ∇ log p(b) and the score h = ∇ log p(b) (mean zero) are correlated;
// subtracting β* h is the best constant baseline, per coordinate.
//
// Part 2: the delta method (Paisley et al. 2012). Take c(x) = the second-order
// Taylor expansion of f around E[x]; its expectation is known in closed form,
// so ĝ = (f(x) − c(x)) ∇ log p(x) + ∇θ E[c] is unbiased. It helps as much as
// c resembles f: exactly when f is quadratic, not at all when f wiggles.
//
// Run: npx tsx examples/control-variates.ts   (MCGRAD_QUICK=1 for fewer samples)

import { mkdirSync, writeFileSync } from 'node:fs';
import {
  rng, tensor, categorical, bernoulli, normal, sample, softmax, sub, mul, sum, mean, square, tanh, sin, expandDims, tableFunction, exactGradientOf,
  controlVariate, estimateGradient, reinforceNone, reinforceDelta1, reinforceDelta, Welford, lineChart, type Tensor, type Dist, type SampleFunction, type Estimator,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const n = quick ? 4000 : 40000;
const total = (values: Float64Array) => values.reduce((a, v) => a + v, 0); // sum over coordinates

// ---- Part 1: a categorical with K = 10 and f a table of values.
const logits = tensor([0.5, -0.3, 1.2, 0.0, -1.1, 0.8, -0.6, 0.3, -0.2, 0.9]);
const f = tableFunction('categorical', [1.3, -0.4, 0.2, 2.1, -1.5, 0.7, 0.0, -0.9, 1.1, 0.4]);
const exact = exactGradientOf(categorical(logits), f).logits;

// REINFORCE by hand: for a one-hot b, ∇θ log p(b) = b − softmax(θ).
const b = sample(categorical(logits), rng(0), n); // [n, K]
const score = sub(b, softmax(logits)); // [n, K], mean zero: the control variate h
const g = mul(expandDims(f(b), 1), score); // [n, K], one REINFORCE estimate per row

const best = controlVariate(g, score, 0); // β* fitted per coordinate on all samples
const split = controlVariate(g, score, 0, { beta: 'split' });
const error = (estimate: Tensor) => Math.max(...estimate.data.map((v, j) => Math.abs(v - exact.data[j])));
console.log(`Part 1: REINFORCE on a categorical (K = 10), ${n} samples`);
console.log(`  variance of one estimate: plain ${total(best.rawVariance.data).toFixed(4)}, with β* ${total(best.variance.data).toFixed(4)}`);
console.log(`  max |estimate − exact|: plain ${error(mean(g, 0)).toFixed(4)}, β* ${error(best.estimate).toFixed(4)}, split β ${error(split.estimate).toFixed(4)}`);
console.log(`  β* per coordinate: ${Array.from(best.beta.data, (v) => v.toFixed(2)).join(' ')}`);

// The parabola: β = c·β* for c from 0 to 3. c = 1 is best, c = 2 is no better than nothing.
const cs = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3];
const parabola = cs.map((c) => total(controlVariate(g, score, 0, { beta: mul(best.beta, c) }).variance.data));
const at = (c: number) => parabola[cs.indexOf(c)].toFixed(3);
console.log(`  variance at β = c·β*: c=0 ${at(0)}, c=0.5 ${at(0.5)}, c=1 ${at(1)}, c=1.5 ${at(1.5)}, c=2 ${at(2)}, c=3 ${at(3)}`);

// ---- Part 2: the delta-method control variate, orders 1 and 2.
/** Total variance of one estimate of the estimator on the problem. */
function varianceOf(estimator: Estimator, dist: Dist, fn: SampleFunction): number {
  const out = estimateGradient(estimator, dist, fn, rng(1), { n });
  let sumOfVariances = 0;
  for (const perSample of Object.values(out.perSample)) {
    const acc = new Welford(perSample.size / n);
    acc.pushRows(perSample.data);
    sumOfVariances += total(acc.variance());
  }
  return sumOfVariances;
}

const problems: { name: string; dist: Dist; f: SampleFunction }[] = [
  { name: 'normal, f = Σ(x − t)² (quadratic)', dist: normal(tensor([0.5, -1]), tensor([1, 0.5])), f: (x) => sum(square(sub(x, tensor([2, 0]))), 1) },
  { name: '3 Bernoullis, f = tanh(w·b)', dist: bernoulli(tensor([0.3, -0.5, 1.0])), f: (x) => tanh(sum(mul(x, tensor([0.8, -0.6, 0.4])), 1)) },
  { name: 'normal, f = Σ sin(x) (wiggly)', dist: normal(tensor([0.5, -1]), tensor([1, 0.5])), f: (x) => sum(sin(x), 1) },
];
console.log(`\nPart 2: the delta method, variance of one estimate (${n} samples)`);
console.log(`${'problem'.padEnd(36)} ${'reinforce'.padStart(10)} ${'order 1'.padStart(10)} ${'order 2'.padStart(10)}`);
for (const problem of problems) {
  const row = [reinforceNone, reinforceDelta1, reinforceDelta].map((e) => varianceOf(e, problem.dist, problem.f));
  console.log(`${problem.name.padEnd(36)} ${row.map((v) => (v < 1e-20 ? '0' : v.toExponential(2)).padStart(10)).join(' ')}`);
}
// Quadratic f: the order-2 expansion is f itself, so f − c = 0 and ĝ = ∇θ E[c]
// is the exact gradient. tanh is smooth over the few values b takes: most of
// the variance goes. sin wiggles on the scale of the noise: nothing gained.

const svg = lineChart({
  title: 'variance with the control variate β = c·β* (Part 1)',
  xLabel: 'c = β / β*',
  yLabel: 'total variance of one estimate',
  series: [{ name: 'measured', x: cs, y: parabola, style: 'line+points' }],
  reference: [
    { value: total(best.rawVariance.data), label: 'no control variate' },
    { value: 1, axis: 'x', label: 'β*' },
  ],
});
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/control-variates.svg', svg);
console.log('wrote report/examples/control-variates.svg');
