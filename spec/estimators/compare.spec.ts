// compare(): bias, variance, MSE and efficiency with intervals, checked
// against exact values where they exist.
//
// Exact laws: single-sample REINFORCE takes one value per outcome, so its
// moments are finite sums; Gumbel-softmax on one Bernoulli is a function of
// one uniform, so its moments up to the fourth are integrals over (0, 1), by
// the Gauss–Legendre rule estimators/variance.ts uses. Each reported figure
// is tested against its exact value with the standard error of its sampling
// distribution, from exact moments (none estimated from the sample): √(σ²/N)
// for a bias, √((μ₄ − σ⁴)/N) for a variance, and for an MSE the same with
// the moments taken about the exact gradient.
//
// Time: compare() reads performance.now. The specs below the first suite run
// it on a fake clock that moves only when an estimator works, by a cost per
// sample (and per call) the spec sets, so the times are known and nothing
// depends on this machine's speed.
//
// False positives: the interval checks use 99.9% intervals, three of them
// (≤ 0.3%); the exact-value checks are 14 at |z| ≤ 4.5, two-sided normal tail
// 6.8e-6 each (≤ 1e-4 together, to the normal approximation).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compare, reinforceNone, reinforceLoo, estimatorByName, bernoulli, categorical, tensor, quadratureMoments, exactGradientOf, estimateGradient,
  unitRule, ScriptedRng, comparisonChart, add, mul, sum, mean, type Tensor, type Estimator, type EstimatorComparison, type CompareOptions,
} from '../../index.ts';
import { quadraticFunction, tableFunction } from '../../lib/functions.ts';

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

// ---------------------------------------------------------------- exact laws and a fake clock

const Z = 4.5; // two-sided normal tail 6.8e-6 per check

/** A finite law of gradient estimates: `points` [N, d] row-major with probabilities `weights` [N]. */
interface Law {
  points: Float64Array;
  weights: Float64Array;
  dim: number;
}

function lawMean(law: Law): Float64Array {
  const mean = new Float64Array(law.dim);
  law.weights.forEach((w, i) => {
    for (let j = 0; j < law.dim; j++) mean[j] += w * law.points[i * law.dim + j];
  });
  return mean;
}

/** E‖ĝ − c‖² and E‖ĝ − c‖⁴ under the law. */
function momentsAbout(law: Law, center: ArrayLike<number>): { second: number; fourth: number } {
  let second = 0;
  let fourth = 0;
  law.weights.forEach((w, i) => {
    let s = 0;
    for (let j = 0; j < law.dim; j++) s += (law.points[i * law.dim + j] - center[j]) ** 2;
    second += w * s;
    fourth += w * s * s;
  });
  return { second, fourth };
}

/** Single-sample REINFORCE on a categorical with a table f: ĝ = f_b (e_b − p) with probability p_b. */
function reinforceCategoricalLaw(logits: readonly number[], values: readonly number[]): Law {
  const top = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - top));
  const p = e.map((x) => x / e.reduce((a, b) => a + b, 0));
  const K = p.length;
  const points = new Float64Array(K * K);
  for (let b = 0; b < K; b++) for (let j = 0; j < K; j++) points[b * K + j] = values[b] * ((b === j ? 1 : 0) - p[j]);
  return { points, weights: Float64Array.from(p), dim: K };
}

/** Single-sample REINFORCE on one Bernoulli: ĝ = f(b) (b − p) for b = 0, 1. */
function reinforceBernoulliLaw(logit: number, f0: number, f1: number): Law {
  const p = 1 / (1 + Math.exp(-logit));
  return { points: Float64Array.of(f0 * (0 - p), f1 * (1 - p)), weights: Float64Array.of(1 - p, p), dim: 1 };
}

/** An estimator driven by one uniform, as a law on the nodes of a graded Gauss–Legendre rule over (0, 1). */
function quadratureLaw(estimator: Estimator, dist: ReturnType<typeof bernoulli>, f: (x: Tensor) => Tensor): Law {
  const rule = unitRule(24, [], 8);
  const out = estimateGradient(estimator, dist, f, new ScriptedRng(rule.nodes), { n: rule.nodes.length });
  return { points: Float64Array.from(out.perSample.logits.data), weights: rule.weights, dim: 1 };
}

function assertWithin(actual: number, expected: number, standardError: number, what: string): void {
  const z = (actual - expected) / standardError;
  assert.ok(Math.abs(z) <= Z, `${what}: ${actual} vs exact ${expected}, z = ${z.toFixed(2)}`);
}

function assertClose(actual: number, expected: number, what: string, tolerance = 1e-12): void {
  assert.ok(actual === expected || Math.abs(actual - expected) <= tolerance * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

let clock = 0; // milliseconds, what performance.now returns

/** The estimator, costing `perSample` µs per sample plus `perCall` µs per call on the fake clock. */
function costing<S>(estimator: Estimator<S>, perSample: number, perCall = 0): Estimator<S> {
  return {
    ...estimator,
    surrogate: (dist, f, r, options) => {
      clock += (perCall + perSample * (options.n ?? 1)) / 1000;
      return estimator.surrogate(dist, f, r, options);
    },
  };
}

/** The same estimator, measured as compare() measures leave-one-out: by the mean of calls of 8 samples. */
function perCall<S>(estimator: Estimator<S>): Estimator<S> {
  return { ...estimator, name: `${estimator.name} per call`, iidSamples: false };
}

/** compare() on the fake clock. Every estimator must be a `costing` one: the timing warm-up waits for the clock to move. */
function compareOnClock(estimators: readonly Estimator[], p: Parameters<typeof compare>[1], options: CompareOptions): EstimatorComparison[] {
  const real = performance.now;
  performance.now = () => clock;
  try {
    return compare(estimators, p, options);
  } finally {
    performance.now = real;
  }
}

// ---------------------------------------------------------------- against exact laws

const exactly = suite('compare: against exact laws');

exactly('REINFORCE on a categorical: bias, variance and MSE agree with its exact law (enumeration) within their standard errors', () => {
  const logits = [0.1, -0.3, 0.7];
  const values = [1.0, 0.2, -0.5];
  const dist = categorical(tensor(logits));
  const f = tableFunction('categorical', values);
  const law = reinforceCategoricalLaw(logits, values);
  // The law is REINFORCE's: its mean is the exact gradient and its variances are lib/exact's.
  const gradient = exactGradientOf(dist, f).logits.data;
  const moments = exactReinforceMoments('categorical', dist.logits, f);
  const mean = lawMean(law);
  for (let j = 0; j < 3; j++) {
    assertClose(mean[j], gradient[j], `mean[${j}]`);
    const variance = law.weights.reduce((acc, w, b) => acc + w * (law.points[b * 3 + j] - mean[j]) ** 2, 0);
    assertClose(variance, moments.variance.data[j], `variance[${j}]`);
  }
  const samples = 20000;
  const [row] = compareOnClock([costing(reinforceNone, 1000)], { dist, f }, { samples, seed: 5 });
  // Unbiased: moments about the mean are moments about the exact gradient, so variance and MSE estimate the same number.
  const { second: variance, fourth } = momentsAbout(law, gradient);
  const se = Math.sqrt((fourth - variance ** 2) / samples);
  assertWithin(row.variance.value, variance, se, 'variance');
  assertWithin(row.mse.value, variance, se, 'MSE');
  row.bias.forEach((b, j) => assertWithin(b.value, 0, Math.sqrt(moments.variance.data[j] / samples), `bias[${j}]`));
});

// One Bernoulli at θ = 2 with f = (b − 0.3)²: Gumbel-softmax's squared bias is 11% of its variance.
const oneBernoulli = { dist: bernoulli(tensor([2])), f: quadraticFunction([0.3]) };
const N = 40000;
// Per-sample costs 1, 3, 3 and 0.5 ms.
const bernoulliEstimators = [costing(reinforceNone, 1000), costing(gumbelSoftmaxEstimator, 3000), perCall(costing(gumbelSoftmaxEstimator, 3000)), costing(exactEstimator, 500)];
let bernoulliRows: EstimatorComparison[] | undefined;

/** One comparison on oneBernoulli, run once and shared by the specs below. */
function bernoulliComparison(): EstimatorComparison[] {
  bernoulliRows ??= compareOnClock(bernoulliEstimators, oneBernoulli, { samples: N, seed: 4 });
  return bernoulliRows;
}

exactly('Gumbel-softmax (biased): bias, variance and MSE agree with its exact law (quadrature), per sample and per call of 8', () => {
  const { dist, f } = oneBernoulli;
  const law = quadratureLaw(gumbelSoftmaxEstimator, dist, f);
  const reference = quadratureMoments(gumbelSoftmaxEstimator, dist, f, { blocks: 1, nodes: 24 });
  const mean = lawMean(law)[0];
  const { second: variance, fourth } = momentsAbout(law, [mean]);
  assertClose(mean, reference.mean.logits.item(), 'quadrature mean');
  assertClose(variance, reference.variance.logits.item(), 'quadrature variance', 1e-10);
  const gradient = exactGradientOf(dist, f).logits.item();
  const bias = mean - gradient;
  const mse = momentsAbout(law, [gradient]);
  assertClose(mse.second, variance + bias ** 2, 'MSE = variance + bias²', 1e-10);

  const [, gs, gsPerCall] = bernoulliComparison();
  assert.is(gs.samplesPerUnit, 1);
  assertWithin(gs.bias[0].value, bias, Math.sqrt(variance / N), 'bias');
  assertWithin(gs.variance.value, variance, Math.sqrt((fourth - variance ** 2) / N), 'variance');
  assertWithin(gs.mse.value, mse.second, Math.sqrt((mse.fourth - mse.second ** 2) / N), 'MSE');

  // Per call: U = N/k means of k samples, each with variance σ²/k and E(ḡ − μ)⁴ = (μ₄ + 3(k − 1)σ⁴)/k³.
  // Scaled to one sample, variance k·Var(ḡ) = σ² and MSE σ² + bias² (a call's mean has the bias of one sample).
  const k = gsPerCall.samplesPerUnit;
  assert.is(k, 8);
  assert.is(gsPerCall.samples, N);
  const U = N / k;
  const callVariance = variance / k;
  const callFourth = (fourth + 3 * (k - 1) * variance ** 2) / k ** 3;
  const varianceSe = (k * Math.sqrt(callFourth - callVariance ** 2)) / Math.sqrt(U);
  assertWithin(gsPerCall.bias[0].value, bias, Math.sqrt(variance / N), 'bias per call');
  assertWithin(gsPerCall.variance.value, variance, varianceSe, 'variance per call');
  // The MSE's error is k(mean of (ḡ − μ)² − σ²/k) + (bias² estimated − bias²) to first order: its sd is at most the sum of theirs.
  const mseSe = varianceSe + (2 * Math.abs(bias) * Math.sqrt(callVariance)) / Math.sqrt(U);
  assertWithin(gsPerCall.mse.value, mse.second, mseSe, 'MSE per call');
  assert.ok((k - 1) * bias ** 2 > 2 * Z * mseSe, 'counting the bias k times would be seen');
});

exactly('REINFORCE on one Bernoulli: variance and MSE as its exact law; the exact estimator has none', () => {
  const { dist, f } = oneBernoulli;
  const [f0, f1] = f(tensor([[0], [1]])).data;
  const law = reinforceBernoulliLaw(2, f0, f1);
  const gradient = exactGradientOf(dist, f).logits.item();
  assertClose(lawMean(law)[0], gradient, 'REINFORCE is unbiased');
  assertClose(momentsAbout(law, [gradient]).second, exactReinforceMoments('bernoulli', dist.logits, f).variance.item(), 'variance');
  const { second: variance, fourth } = momentsAbout(law, [gradient]);
  const [reinforce, , , exact] = bernoulliComparison();
  const se = Math.sqrt((fourth - variance ** 2) / N);
  assertWithin(reinforce.variance.value, variance, se, 'variance');
  assertWithin(reinforce.mse.value, variance, se, 'MSE');
  assertWithin(reinforce.bias[0].value, 0, Math.sqrt(variance / N), 'bias');
  for (const figure of [exact.variance, exact.mse]) assert.equal([figure.lower, figure.value, figure.upper], [0, 0, 0]);
  assert.is(exact.bias[0].value, 0);
});

// ---------------------------------------------------------------- identities on the result

const identities = suite('compare: the figures from one another');

identities('MSE = (U − 1)/U · variance + ‖bias‖², the bias from the exact gradient, whatever the units', () => {
  // An identity of sample moments: Σ‖ĝ_u − ∇‖²/U = Σ‖ĝ_u − ḡ‖²/U + ‖ḡ − ∇‖², with variance dividing by U − 1.
  for (const row of bernoulliComparison()) {
    const U = row.samples / row.samplesPerUnit;
    const biasNorm = Math.sqrt(row.bias.reduce((a, b) => a + b.value ** 2, 0));
    assertClose(row.biasNorm, biasNorm, `${row.estimator}: ‖bias‖`);
    if (row.mse.value === 0) continue;
    assertClose(row.mse.value, ((U - 1) / U) * row.variance.value + biasNorm ** 2, `${row.estimator}: MSE`, 1e-9);
  }
});

identities('bias and MSE are measured from the exact gradient the problem gives; the variance is not', () => {
  const { dist, f } = oneBernoulli;
  const gradient = exactGradientOf(dist, f).logits.item();
  const shift = 0.05;
  const estimators = [costing(gumbelSoftmaxEstimator, 3000)];
  const [plain] = compareOnClock(estimators, { dist, f }, { samples: 4000, seed: 6 });
  const [moved] = compareOnClock(estimators, { dist, f, exactGradient: { logits: tensor([gradient + shift]) } }, { samples: 4000, seed: 6 });
  assertClose(moved.bias[0].value, plain.bias[0].value - shift, 'bias');
  assert.is(moved.variance.value, plain.variance.value);
  assertClose(moved.mse.value, plain.mse.value - 2 * shift * plain.bias[0].value + shift ** 2, 'MSE', 1e-9);
});

identities('efficiency = 1 / (MSE × µs per estimate); relative efficiency divides by the reference row', () => {
  const rows = bernoulliComparison();
  const [reinforce, gs, gsPerCall, exact] = rows;
  for (const row of rows) assertClose(row.efficiency, 1 / (row.mse.value * row.microsecondsPerEstimate), `${row.estimator}: efficiency`);
  assert.is(exact.efficiency, Infinity);
  assert.is(exact.relativeEfficiency, Infinity);
  // Two different estimators: Gumbel-softmax against REINFORCE, at its known times (1 and 3 ms per sample).
  assertClose(gs.relativeEfficiency!, (reinforce.mse.value * 1000) / (gs.mse.value * 3000), 'gumbel-softmax / reinforce', 1e-9);
  assertClose(gsPerCall.relativeEfficiency!, gsPerCall.efficiency / reinforce.efficiency, 'per call / reinforce');
  // Another reference; none when the reference is not compared.
  const [r2, gs2] = compareOnClock(bernoulliEstimators, oneBernoulli, { samples: N, seed: 4, reference: 'gumbel-softmax' });
  assertClose(r2.relativeEfficiency!, r2.efficiency / gs2.efficiency, 'reinforce / gumbel-softmax');
  assert.is(gs2.relativeEfficiency, 1);
  const [alone] = compareOnClock([costing(gumbelSoftmaxEstimator, 3000)], oneBernoulli, { samples: 4000, seed: 6 });
  assert.is(alone.relativeEfficiency, null);
});

/** The exact estimator with c added to every coordinate of every estimate: zero variance, bias c (NaN for c = NaN). */
function shiftedExact(c: number): Estimator<undefined> {
  return costing({
    ...exactEstimator,
    name: `exact + ${c}`,
    surrogate: (dist, f, r, options) => {
      const s = exactEstimator.surrogate(dist, f, r, options);
      const logits = (dist as { logits: Tensor }).logits;
      const extra = mul(options.tiled ? sum(logits, -1) : sum(logits), c); // [n] when tiled
      return { ...s, perSample: add(s.perSample, extra), surrogate: add(s.surrogate, mean(extra)) };
    },
  }, 100);
}

identities('a bias with no spread is infinitely significant, and a non-finite estimate is flagged, not passed', () => {
  const [exact, shifted, broken] = compareOnClock([costing(exactEstimator, 500), shiftedExact(0.01), shiftedExact(NaN)], oneBernoulli, { samples: 64, seed: 8 });
  assert.is(exact.maxAbsZ, 0);
  assertClose(shifted.bias[0].value, 0.01, 'the shift is the bias', 1e-9);
  assert.is(shifted.bias[0].z, Infinity);
  assert.ok(Number.isNaN(broken.bias[0].z));
  assert.is(broken.maxAbsZ, Infinity);
  // So both are drawn as biased in the chart's bias panel (max |z| > 4).
  const chart = comparisonChart('bias', [exact, shifted, broken]);
  assert.ok(chart.includes('exact + 0.01') && chart.includes('exact + NaN') && !chart.includes('NaN"'), chart);
});

identities('the reference: two zero-error estimators are equally efficient; a reference not compared is an error', () => {
  const rows = compareOnClock([costing(reinforceNone, 1000), costing(exactEstimator, 500)], oneBernoulli, { samples: 256, seed: 9, reference: 'exact' });
  assert.is(rows[1].relativeEfficiency, 1);
  assert.is(rows[0].relativeEfficiency, 0);
  assert.throws(
    () => compareOnClock([costing(reinforceNone, 1000)], oneBernoulli, { samples: 256, seed: 9, reference: 'rebar' }),
    (e: Error) => e instanceof RangeError && /^compare: the reference 'rebar' is not among the estimators compared \(reinforce\)/.test(e.message),
  );
});

// ---------------------------------------------------------------- time

const timing = suite('compare: time per estimate');

timing('each row has its own estimator\'s time per sample, per call of 8 too', () => {
  const [reinforce, gs, gsPerCall, exact] = bernoulliComparison();
  assertClose(reinforce.microsecondsPerEstimate, 1000, 'reinforce', 1e-9);
  assertClose(gs.microsecondsPerEstimate, 3000, 'gumbel-softmax', 1e-9);
  assertClose(gsPerCall.microsecondsPerEstimate, 3000, 'gumbel-softmax per call', 1e-9);
  assertClose(exact.microsecondsPerEstimate, 500, 'exact', 1e-9);
});

timing('every estimator is timed at the same batch size, apart from sampling, which timing leaves alone', () => {
  // A cost per call as well as per sample: the sampling calls (8192 samples for REINFORCE, 8 per call
  // for a per-call estimator) would give 1000 + 64000/N and 1000 + 8000 µs per sample.
  const rows = compareOnClock([costing(reinforceNone, 1000, 64000), perCall(costing(reinforceNone, 1000, 64000))], oneBernoulli, { samples: 4000, seed: 7 });
  assertClose(rows[0].microsecondsPerEstimate, rows[1].microsecondsPerEstimate, 'the same cost, the same time');
  assert.ok(rows[1].microsecondsPerEstimate < 9000, `${rows[1].microsecondsPerEstimate} µs: timed at 8 samples per call`);
  // Ten times the cost: a different number of timing calls, the same estimates.
  const slower = compareOnClock([costing(reinforceNone, 10000, 640000), perCall(costing(reinforceNone, 10000, 640000))], oneBernoulli, { samples: 4000, seed: 7 });
  slower.forEach((row, i) => {
    assertClose(row.microsecondsPerEstimate, 10 * rows[i].microsecondsPerEstimate, `${row.estimator}: ten times slower`, 1e-9);
    assert.equal([row.variance, row.mse, row.bias], [rows[i].variance, rows[i].mse, rows[i].bias]);
  });
});

exactly.run();
identities.run();
timing.run();
