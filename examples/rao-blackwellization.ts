// Rao-Blackwellization: replace an estimate by its average over part of the
// randomness, computed exactly (Owen, "Monte Carlo theory, methods and
// examples", §8.7).
//
// If ĝ depends on random pieces (T, U) and we can compute E[ĝ | T] — averaging
// out U by hand — then E[ĝ | T] has the same mean and, by the law of total
// variance,
//
//   Var ĝ = Var E[ĝ | T] + E Var[ĝ | T]   ⇒   Var E[ĝ | T] ≤ Var ĝ.
//
// It never hurts; the price is the work of the exact average.
//
// Two ways for discrete b ∼ p(b|θ), on 4 Bernoullis (16 outcomes) here:
//  - Sum one coordinate out (rao-blackwell): keep b_1..b_3 from the sample
//    and sum over both values of b_0 exactly: 2 evaluations of f per sample.
//  - Sum-and-sample (Liu et al. 2019): sum the k most probable outcomes C
//    exactly and sample one outcome x' from the rest:
//      ĝ = Σ_{c∈C} f(c) ∇p(c|θ) + (1 − Σ_{c∈C} p(c|θ)) f(x') ∇ log p(x'|θ).
//    k = 0 is REINFORCE; as k grows the variance falls, reaching zero once
//    every outcome but one is summed (the last one is then certain).
//
// Run: npx tsx examples/rao-blackwellization.ts   (MCGRAD_QUICK=1 for fewer samples)

import { mkdirSync, writeFileSync } from 'node:fs';
import {
  rng, tensor, bernoulli, tableFunction, estimateGradient, exactGradientOf, Welford, lineChart,
  reinforceNone, raoBlackwellEstimator, sumAndSampleEstimator, type Estimator,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const n = quick ? 4000 : 40000;

// f on the 16 outcomes (bit j of the index is b_j), a nonlinear table.
const values = Array.from({ length: 16 }, (_, i) => {
  const b = [0, 1, 2, 3].map((j) => (i >> j) & 1);
  return (0.9 * b[0] - 0.4 * b[1] + 0.7 * b[2] + 0.3 * b[3] - 1) ** 2 + Math.sin(3 * b[0] * b[1]);
});
const dist = bernoulli(tensor([0.4, -0.8, 1.1, 0.2]));
const f = tableFunction('bernoulli', values);
const exact = exactGradientOf(dist, f).logits; // by enumerating the 16 outcomes

/** Total variance of one estimate, and the largest |mean − exact| / s.e. over the 4 coordinates. */
function measure(estimator: Estimator): { variance: number; maxZ: number } {
  const out = estimateGradient(estimator, dist, f, rng(1), { n });
  const acc = new Welford(4);
  acc.pushRows(out.perSample.logits.data); // n rows of 4 coordinates
  const variance = acc.variance().reduce((a, v) => a + v, 0);
  const stderr = acc.stderr();
  let maxZ = 0;
  for (let j = 0; j < 4; j++) if (stderr[j] > 0) maxZ = Math.max(maxZ, Math.abs(acc.mean[j] - exact.data[j]) / stderr[j]);
  return { variance, maxZ };
}

console.log(`4 Bernoullis, a nonlinear table f; ${n} samples per estimator`);
console.log(`${'estimator'.padEnd(20)} ${'f calls'.padStart(7)}  ${'variance'.padStart(10)}  max |z| (bias / s.e.)`);
const show = (name: string, calls: number, m: { variance: number; maxZ: number }) =>
  console.log(`${name.padEnd(20)} ${String(calls).padStart(7)}  ${m.variance.toExponential(3).padStart(10)}  ${m.maxZ.toFixed(2)}`);

const plain = measure(reinforceNone);
show('reinforce', 1, plain);
const summedOut = measure(raoBlackwellEstimator(0));
show('rao-blackwell (b_0)', 2, summedOut);

// Sum-and-sample for growing k. (The k summed outcomes are shared by every
// sample of a batch, so k + 1 calls is per estimate only when n = 1.)
const ks = [0, 1, 2, 4, 8, 12, 15];
const curve = ks.map((k) => {
  const m = measure(sumAndSampleEstimator(k));
  show(`sum-and-sample k=${k}`, k + 1, m);
  return m.variance;
});

// max |z| is what noise alone gives (over 4 coordinates, rarely above 3):
// conditioning never moves the mean. The variances only fall: a factor ~2
// from summing out one coordinate, and to zero at k = 15.
console.log(`\nvariance reduction: rao-blackwell ${(plain.variance / summedOut.variance).toFixed(1)}×, sum-and-sample k=8 ${(plain.variance / curve[ks.indexOf(8)]).toFixed(1)}×`);

// The chart leaves out k = 15: a variance of zero has no place on a log axis.
const drawn = ks.filter((_, i) => curve[i] > 0);
const svg = lineChart({
  title: 'sum-and-sample: variance against the number of outcomes summed',
  xLabel: 'k, outcomes summed exactly (of 16)',
  yLabel: 'total variance of one estimate',
  yScale: 'log',
  series: [{ name: 'sum-and-sample', x: drawn, y: curve.filter((v) => v > 0), style: 'line+points' }],
  reference: [
    { value: plain.variance, label: 'REINFORCE' },
    { value: summedOut.variance, label: 'rao-blackwell (b_0 summed out)' },
  ],
});
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/rao-blackwellization.svg', svg);
console.log('wrote report/examples/rao-blackwellization.svg');
