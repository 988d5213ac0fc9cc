// Putting every estimator side by side on one problem (Owen, "Monte Carlo
// theory, methods and examples", ch. 8: comparing methods by efficiency).
//
// For each estimator, compare() draws many single-sample estimates ĝ and
// reports, against the exact gradient ∇L (by enumeration):
//
//   bias      = E[ĝ] − ∇L                  (zero for an unbiased estimator)
//   variance  = E‖ĝ − E ĝ‖²
//   MSE       = E‖ĝ − ∇L‖² = variance + ‖bias‖²
//   efficiency = 1 / (MSE × time per estimate)
//
// Efficiency is what matters in practice: an estimator with half the variance
// that costs three times as long is worse, because averaging more samples of
// the cheap one gets the same error sooner. A biased estimator's MSE never
// falls below ‖bias‖², however many samples you average.
//
// The problem: one categorical with K = 10 classes and f(x) = (x·v − 0.5)²,
// a table on one-hot samples but nonlinear on relaxed ones, so relaxations
// (Gumbel-softmax, straight-through) are biased here. REBAR and RELAX run with
// their learned parts at their initial values (untrained; see toy-problem.ts
// for training them). Times depend on the machine and the moment.
//
// Run: npx tsx examples/compare-estimators.ts   (MCGRAD_QUICK=1 for fewer samples)

import { mkdirSync, writeFileSync } from 'node:fs';
import { tensor, sum, mul, sub, square, categorical, estimatorsFor, compare, formatComparison, comparisonChart, type Tensor } from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const samples = quick ? 1000 : 20000;

const v = tensor([1.3, -0.4, 0.2, 2.1, -1.5, 0.7, 0.0, -0.9, 1.1, 0.4]);
const problem = {
  dist: categorical(tensor([0.5, -0.3, 1.2, 0.0, -1.1, 0.8, -0.6, 0.3, -0.2, 0.9])),
  f: (x: Tensor) => square(sub(sum(mul(x, v), -1), 0.5)), // [n, K] → [n]
};

// Every registered estimator that handles a categorical. compare() times each
// one apart from the sampling, after a warm-up, at the same batch size.
const estimators = estimatorsFor('categorical');
const rows = compare(estimators, problem, { samples, seed: 0 });

// The table. "max|z|" is the largest bias over its standard error: above ~3.5
// the bias is real, not noise. "vs reinforce" is efficiency relative to plain
// REINFORCE; for a biased estimator it holds only at one sample, since
// averaging N estimates divides the variance by N but leaves the bias.
console.log(`${samples} samples per estimator, categorical K = 10, f(x) = (x·v − 0.5)²\n`);
console.log(formatComparison(rows));

// Measure-valued and exact enumerate all K outcomes here, so they have no
// variance at all (they also cost K evaluations of f per estimate).
const exactOnes = rows.filter((r) => r.mse.value === 0).map((r) => r.estimator);
console.log(`\nzero variance (every outcome evaluated): ${exactOnes.join(', ')}`);

// The figure: variance and MSE per estimator on a log axis. For an unbiased
// estimator the two dots coincide; the gap is the squared bias, drawn in a
// second panel where it is significant.
const svg = comparisonChart('variance and MSE of one estimate (categorical, K = 10)', rows);
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/compare-estimators.svg', svg);
console.log('wrote report/examples/compare-estimators.svg');
