// estimators/conditioning.ts: Rao-Blackwellization for discrete distributions.
//   exact, by enumeration: rao-blackwell (one coordinate summed out), run on
//     the whole support weighted by p, has the exact gradient as its mean and
//     a variance at most REINFORCE's, for every coordinate of fixed problems
//     and of random ones (Bernoullis, a categorical, products of
//     categoricals); sum-and-sample, run on scripted uniforms at the middle of
//     each remaining outcome's CDF interval weighted by its renormalised
//     probability, has the exact mean, REINFORCE's variance at k = 0, a
//     variance non-increasing in k, and zero at k = the number of outcomes;
//   statistical: checkUnbiased on fixed problems and a fast-check property;
//     two broken variants, rao-blackwell without ∇F and sum-and-sample
//     drawing x' from all of p rather than the remainder, are rejected at
//     the same sample size (and the first also by the exact mean);
//   heavy tails: sum-and-sample where logits are far from 0 (the rare draws
//     that break a 64-sample z-test): the exact mean on 12 Bernoullis, and
//     checkUnbiased on 18 at a sample size with a simulated false-positive
//     rate, rejecting a remainder whose CDF is left unnormalised;
//   plumbing: per-sample (tiled) means equal the plain surrogate's gradient
//     on the same seed; errors.
//
// False positives: every checkUnbiased that must pass runs at family-wise
// α = 1e-4 (Holm), fewer than 20 of them, and the property at 1e-4 in total;
// the heavy-tailed one rejects at 6e-4 in fact (see its suite): a correct
// implementation fails this file for fewer than 0.3% of seeds.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, rng, Rng, ScriptedRng, grad, add, sum, mul, exp, broadcastTo, stopGradient, categorical, bernoulli, normal, withParams, logProb,
  estimateGradient, checkUnbiased, exactGradientOf, type Estimator, type Dist, type SampleFunction,
} from '../../index.ts';
import { raoBlackwell, sumAndSample, raoBlackwellEstimator, sumAndSampleEstimator, raoBlackwellReinforce, sumAndSampleReinforce } from '../../estimators/conditioning.ts';
import { reinforce } from '../../estimators/reinforce.ts';
import { enumerateSupport, logProbTable, exactReinforceMoments, type DiscreteFamily } from '../../lib/exact.ts';
import { quadraticFunction, tableFunction } from '../../lib/functions.ts';
import { fixedDiscreteProblems, problemArbitrary, assertUnbiased, assertRejected, familyOf, logitsOf, type TestProblem } from '../harness/problems.ts';

const ALPHA = 1e-4;

/** How many coordinates can be summed out: D Bernoullis or D categorical rows; 1 for a single categorical. */
function coordinates(dist: Dist): number {
  const theta = logitsOf(dist);
  return dist.family === 'bernoulli' || theta.rank === 2 ? theta.shape[0] : 1;
}

/** Products of 2..3 categoricals of 2..3 classes with a random table or quadratic, beside problemArbitrary's layouts. */
const categoricalsArbitrary: fc.Arbitrary<TestProblem> = fc
  .record({ D: fc.integer({ min: 2, max: 3 }), K: fc.integer({ min: 2, max: 3 }), table: fc.boolean(), seed: fc.nat(2 ** 31 - 1) })
  .map(({ D, K, table, seed }) => {
    const r = rng(seed);
    const dist = categorical(new Tensor(Float64Array.from(r.uniform([D, K]).data, (u) => 8 * u - 4), [D, K]));
    const f = table ? tableFunction('categoricals', r.normal([K ** D]).data, { classes: K }) : quadraticFunction(Array.from(r.uniform([K]).data));
    return { name: `${D} categoricals of ${K}, ${table ? 'table' : 'quadratic'}, seed ${seed}`, dist, f, exactGradient: exactGradientOf(dist, f) };
  });

const anyProblem = fc.oneof(problemArbitrary(), categoricalsArbitrary);

interface Moments {
  mean: Float64Array;
  variance: Float64Array;
}

/** Mean and variance per coordinate of weighted per-sample estimates [N, ...P]. */
function weighted(perSample: Tensor, w: ArrayLike<number>): Moments {
  const N = perSample.shape[0];
  const M = perSample.size / N;
  const mean = new Float64Array(M);
  const variance = new Float64Array(M);
  for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) mean[j] += w[i] * perSample.data[i * M + j];
  for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) variance[j] += w[i] * (perSample.data[i * M + j] - mean[j]) ** 2;
  return { mean, variance };
}

function fromSurrogate(name: string, surrogate: Estimator<undefined>['surrogate']): Estimator<undefined> {
  return { name, description: name, unbiased: true, families: ['bernoulli', 'categorical'], iidSamples: true, minSamples: 1, surrogate };
}

/** Broken: the logits of coordinate j pass no gradient into F, so ∇θ_j F is lost (only F ∇log p(x_{−j}) is left). */
function withoutGradF(j: number): Estimator<undefined> {
  return fromSurrogate('rao-blackwell-without-grad-F', (dist, f, r, o) => {
    const theta = logitsOf(dist);
    // Mask over the coordinate axis (axis 1 when tiled): 1 keeps the gradient, 0 stops it.
    const axis = o.tiled ? 1 : 0;
    const shape = theta.shape.map((d, a) => (a === axis ? d : 1));
    const keep = new Float64Array(theta.shape[axis]).fill(1);
    keep[j] = 0;
    const mask = new Tensor(keep, shape);
    const partly = add(mul(theta, mask), mul(stopGradient(theta), new Tensor(keep.map((v) => 1 - v), shape)));
    return raoBlackwell(withParams(dist, { logits: partly }), f, r, { ...o, coordinate: j });
  });
}

// ---------------------------------------------------------------- rao-blackwell, exact

const rbExact = suite('rao-blackwell: exact mean and variance by enumeration');

/** The estimator's moments over the whole support, each outcome weighted by p: exact. */
function rbMoments(problem: TestProblem, j: number): Moments {
  const family = familyOf(problem.dist);
  const theta = logitsOf(problem.dist);
  const support = enumerateSupport(family, theta.shape);
  const N = support.shape[0];
  const p = logProbTable(family, theta).data.map(Math.exp);
  const onSupport = fromSurrogate('rao-blackwell-support', (d, f, r, o) => raoBlackwell(d, f, r, { ...o, coordinate: j, samples: support }));
  const out = estimateGradient(onSupport, problem.dist, problem.f, rng(0), { n: N, weights: new Tensor(p, [N]) });
  return weighted(out.perSample.logits, p);
}

function checkRb(problem: TestProblem): void {
  const raw = exactReinforceMoments(familyOf(problem.dist), logitsOf(problem.dist), problem.f);
  const exact = problem.exactGradient.logits.data;
  for (let j = 0; j < coordinates(problem.dist); j++) {
    const m = rbMoments(problem, j);
    exact.forEach((g, c) => {
      const scale = raw.variance.data[c] + g * g;
      assert.ok(Math.abs(m.mean[c] - g) <= 1e-10 * (1 + Math.sqrt(scale)), `${problem.name}, j = ${j}, [${c}]: mean ${m.mean[c]} vs ${g}`);
      assert.ok(m.variance[c] <= raw.variance.data[c] + 1e-10 * scale, `${problem.name}, j = ${j}, [${c}]: variance ${m.variance[c]} > ${raw.variance.data[c]}`);
    });
  }
}

for (const problem of fixedDiscreteProblems()) {
  rbExact(`${problem.name}: every coordinate summed out keeps the mean and does not increase the variance`, () => checkRb(problem));
}

rbExact('property: random Bernoullis, categoricals and products of categoricals', () => {
  fc.assert(fc.property(anyProblem, (problem) => (checkRb(problem), true)), { seed: 71, numRuns: 40 });
});

rbExact('the gain is real where coordinates interact, and the broken variant (∇F dropped) has the wrong mean', () => {
  const problem = fixedDiscreteProblems()[1]; // 2 Bernoullis, table
  const raw = exactReinforceMoments('bernoulli', logitsOf(problem.dist), problem.f).variance.data;
  const m = rbMoments(problem, 0);
  assert.ok(m.variance[0] < 0.1 * raw[0] && m.variance[1] < 0.6 * raw[1], `${m.variance} vs ${raw}`);
  // Summing out a single categorical is the exact gradient: zero variance.
  const single = rbMoments(fixedDiscreteProblems()[0], 0);
  single.variance.forEach((v) => assert.ok(v < 1e-25));
  // Without ∇F, coordinate 0's gradient is lost entirely.
  const family = familyOf(problem.dist);
  const support = enumerateSupport(family, [2]);
  const p = logProbTable(family, logitsOf(problem.dist)).data.map(Math.exp);
  const broken = withoutGradF(0);
  const out = estimateGradient(fromSurrogate('b', (d, f, r, o) => broken.surrogate(d, f, r, { ...o, samples: support } as never)), problem.dist, problem.f, rng(0), { n: 4, weights: new Tensor(p, [4]) });
  const mean = weighted(out.perSample.logits, p).mean;
  assert.ok(Math.abs(mean[0] - problem.exactGradient.logits.data[0]) > 0.05, `broken mean ${mean[0]} vs ${problem.exactGradient.logits.data[0]}`);
});

rbExact.run();

// ---------------------------------------------------------------- sum-and-sample, exact

const sasExact = suite('sum-and-sample: exact mean and variance over the remainder');

/** The estimator's moments for k: the remaining outcomes, each reached by a scripted uniform in the middle of its CDF interval and weighted by its renormalised probability. */
function sasMoments(problem: TestProblem, k: number): Moments {
  const family = familyOf(problem.dist);
  const theta = logitsOf(problem.dist);
  const lp = logProbTable(family, theta).data;
  const N = lp.length;
  const estimator = sumAndSampleEstimator(k);
  if (k >= N) {
    const out = estimateGradient(estimator, problem.dist, problem.f, new ScriptedRng([]), { n: 3 });
    return weighted(out.perSample.logits, [1 / 3, 1 / 3, 1 / 3]);
  }
  // The ranking, written independently: probability descending, ties by index; the rest in index order.
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => lp[b] - lp[a] || a - b);
  const top = new Set(order.slice(0, k));
  const rest = Array.from({ length: N }, (_, i) => i).filter((i) => !top.has(i));
  const p = rest.map((i) => Math.exp(lp[i]));
  const w = p.reduce((a, b) => a + b, 0);
  const q = p.map((x) => x / w);
  const uniforms: number[] = [];
  let below = 0;
  for (const x of q) {
    uniforms.push(below + x / 2);
    below += x;
  }
  const out = estimateGradient(estimator, problem.dist, problem.f, new ScriptedRng(uniforms), { n: rest.length, weights: new Tensor(Float64Array.from(q), [rest.length]) });
  return weighted(out.perSample.logits, q);
}

function checkSas(problem: TestProblem): void {
  const raw = exactReinforceMoments(familyOf(problem.dist), logitsOf(problem.dist), problem.f);
  const exact = problem.exactGradient.logits.data;
  const outcomes = logProbTable(familyOf(problem.dist), logitsOf(problem.dist)).size;
  let previous: Float64Array | undefined;
  for (let k = 0; k <= outcomes; k++) {
    const m = sasMoments(problem, k);
    exact.forEach((g, c) => {
      const scale = raw.variance.data[c] + g * g;
      const tol = 1e-10 * scale;
      assert.ok(Math.abs(m.mean[c] - g) <= 1e-10 * (1 + Math.sqrt(scale)), `${problem.name}, k = ${k}, [${c}]: mean ${m.mean[c]} vs ${g}`);
      if (k === 0) assert.ok(Math.abs(m.variance[c] - raw.variance.data[c]) <= tol, `k = 0 is REINFORCE: ${m.variance[c]} vs ${raw.variance.data[c]}`);
      assert.ok(m.variance[c] <= raw.variance.data[c] + tol);
      if (previous !== undefined) assert.ok(m.variance[c] <= previous[c] + tol, `${problem.name}, [${c}]: variance rose from k = ${k - 1} to ${k}`);
      if (k === outcomes) assert.ok(m.variance[c] <= tol);
    });
    previous = m.variance;
  }
}

for (const problem of fixedDiscreteProblems()) {
  sasExact(`${problem.name}: exact mean for every k, REINFORCE’s variance at k = 0, non-increasing in k, zero when all is summed`, () => checkSas(problem));
}

sasExact('property: random Bernoullis, categoricals and products of categoricals', () => {
  fc.assert(fc.property(anyProblem, (problem) => (checkSas(problem), true)), { seed: 72, numRuns: 30 });
});

sasExact.run();

// ---------------------------------------------------------------- statistical

const unbiased = suite('conditioning: checkUnbiased (family-wise α = 1e-4)');

/** The first parameter row's lib/exact layout, event shape and log p of every outcome (tiled rows are copies). */
function firstRow(dist: Dist, tiled: boolean | undefined): { family: DiscreteFamily; E: number[]; lp: Float64Array } {
  const theta = stopGradient(logitsOf(dist));
  const E = tiled ? theta.shape.slice(1) : [...theta.shape];
  const family: DiscreteFamily = dist.family === 'bernoulli' ? 'bernoulli' : E.length === 1 ? 'categorical' : 'categoricals';
  const row = new Tensor(theta.data.slice(0, E.reduce((a, d) => a * d, 1)), E);
  return { family, E, lp: logProbTable(family, row).data };
}

/** The k most probable outcomes of a row's log-probabilities, ties by index. */
const topOutcomes = (lp: Float64Array, k: number): number[] => Array.from(lp.keys()).sort((a, b) => lp[b] - lp[a] || a - b).slice(0, k);

/** Broken: the top outcomes summed, but x' drawn from all of p (plain REINFORCE) instead of the remainder, weighted by 1 − Σ_C p. */
function fromFullP(k: number): Estimator<undefined> {
  return fromSurrogate('sum-and-sample-from-full-p', (dist, f, r, o) => {
    const n = o.n ?? 1;
    const { family, E, lp } = firstRow(dist, o.tiled);
    const support = enumerateSupport(family, E);
    const W = support.size / support.shape[0];
    let top: Tensor = new Tensor(new Float64Array(n), [n]);
    let w = 1;
    for (const c of topOutcomes(lp, k)) {
      const x = broadcastTo(new Tensor(support.data.slice(c * W, (c + 1) * W), [1, ...E]), [n, ...E]);
      const fc1 = f(x).data[0];
      top = add(top, mul(exp(logProb(dist, x)), fc1));
      w -= Math.exp(lp[c]);
    }
    const plain = reinforce(dist, f, r, o);
    return { ...plain, perSample: add(top, mul(plain.perSample, w)), state: undefined };
  });
}

for (const [i, problem] of fixedDiscreteProblems().entries()) {
  unbiased(`${problem.name}: rao-blackwell (first and last coordinate), sum-and-sample (k = 1, 2); broken variants rejected`, () => {
    const last = coordinates(problem.dist) - 1;
    for (const e of [raoBlackwellReinforce, raoBlackwellEstimator(last), sumAndSampleReinforce, sumAndSampleEstimator(2)]) {
      assertUnbiased(checkUnbiased(e, problem, { samples: 20000, seed: 30 + i, alpha: ALPHA }), problem.name);
    }
    assertRejected(checkUnbiased(withoutGradF(0), problem, { samples: 20000, seed: 30 + i, alpha: ALPHA }), problem.name);
    assertRejected(checkUnbiased(fromFullP(1), problem, { samples: 20000, seed: 30 + i, alpha: ALPHA }), problem.name);
  });
}

unbiased('property: random problems, random coordinate and k (family-wise 1e-4 over 12 runs)', () => {
  const runs = 12;
  fc.assert(
    fc.property(anyProblem, fc.nat(3), fc.integer({ min: 0, max: 4 }), fc.nat(1e6), (problem, j, k, seed) => {
      const rb = raoBlackwellEstimator(j % coordinates(problem.dist));
      const sas = sumAndSampleEstimator(k);
      return (
        checkUnbiased(rb, problem, { samples: 10000, seed, alpha: ALPHA / runs / 2 }).unbiasedVerdict &&
        checkUnbiased(sas, problem, { samples: 10000, seed: seed + 1, alpha: ALPHA / runs / 2 }).unbiasedVerdict
      );
    }),
    { seed: 73, numRuns: runs },
  );
});

unbiased.run();

// ---------------------------------------------------------------- sum-and-sample, heavy tails

// Where θ_j is far from 0, x'_j rarely differs from the top outcome's c_j
// (probability q_j ≈ σ(−|θ_j|)/w), and that rare draw carries the mean of ĝ_j
// (see the note on sumAndSample). At 64 samples on 18 Bernoullis with
// θ_j = j − 9 and f = Σ(b − 0.3)² (q_0 = 1.5e-4, skewness 82), checkUnbiased
// puts max |z| at 93–121 on seeds 0–3, and at 106–124 for plain REINFORCE,
// which has the same tail: 99% of such runs draw no x'_0 = 1 at all. So the
// mean is pinned exactly by enumeration, and the z-test runs where the rare
// draws are many. Not on those logits: simulated from the exact law, 8192
// samples still reject 32% of the time, and the estimator scans 2^18 − 1
// outcomes per draw (0.4 ms), so a valid test there would take minutes; at
// half the scale, θ_j = (j − 9)/2, 64 samples fail the same way (max |z|
// median 76, 84% rejected) and 4096 samples suffice.

const tails = suite('sum-and-sample: heavy tails where the logits are far from 0');

/** D Bernoullis with logits θ_j = scale·(j − 9) and f(b) = Σ_j (b_j − 0.3)². */
function farLogits(D: number, scale: number): TestProblem {
  const dist = bernoulli(tensor(Array.from({ length: D }, (_, j) => scale * (j - 9))));
  const f = quadraticFunction(Array(D).fill(0.3));
  return { name: `${D} Bernoullis, θ_j = ${scale}·(j − 9)`, dist, f, exactGradient: exactGradientOf(dist, f) };
}

/**
 * Broken: x' by inversion over the remainder's CDF left unnormalised (running
 * sums of p, not p / w), so a uniform above w lands on the last outcome, which
 * takes the summed outcomes' mass 1 − w as well. Run as the real estimator fed u / w.
 */
function unnormalisedRemainder(k: number): Estimator<undefined> {
  return fromSurrogate('sum-and-sample-unnormalised', (dist, f, r, o) => {
    const { lp } = firstRow(dist, o.tiled);
    const w = 1 - topOutcomes(lp, k).reduce((acc, c) => acc + Math.exp(lp[c]), 0);
    const u = r.uniform([o.n ?? 1]).data;
    return sumAndSample(dist, f, new ScriptedRng(Array.from(u, (x) => Math.min(x / w, 1 - 2 ** -53))), { ...o, k });
  });
}

tails('12 Bernoullis, θ_j = j − 9: the exact mean is the gradient, where x\'_0 = 1 is one draw in 6 500', () => {
  const problem = farLogits(12, 1);
  const raw = exactReinforceMoments('bernoulli', logitsOf(problem.dist), problem.f);
  const m = sasMoments(problem, 1);
  // Measured: within 1.1e-12 of the gradient (coordinate 0's is 4.9e-5).
  problem.exactGradient.logits.data.forEach((g, c) => {
    const scale = raw.variance.data[c] + g * g;
    assert.ok(Math.abs(m.mean[c] - g) <= 1e-10 * (1 + Math.sqrt(scale)), `[${c}]: mean ${m.mean[c]} vs ${g}`);
  });
});

// False positives: with q_0 = 0.011 here, 4096 samples draw x'_0 = 1 about 47
// times, yet the studentized mean's far tail is still heavy (too few rare
// draws shrink the mean and its standard error together). Simulated from the
// estimator's exact law (all 2^18 − 1 outcomes x'), 60 of 100 000 runs of
// checkUnbiased at family-wise α = 1e-4 rejected: the actual rate is 6e-4
// (2.8e-3 at α = 1e-3, 6.0e-2 at 0.05); at 2048 samples it is 1.3e-3.
// Power: the unnormalised remainder moves mass 0.037 onto x' = (1, …, 1);
// measured, 9 coordinates rejected, max |z| 12.5.
tails('18 Bernoullis, θ_j = (j − 9)/2: unbiased at 4096 samples (actual false-positive rate 6e-4); an unnormalised remainder is rejected', () => {
  const problem = farLogits(18, 0.5);
  assertUnbiased(checkUnbiased(sumAndSampleReinforce, problem, { samples: 4096, seed: 40, alpha: ALPHA }), problem.name);
  assertRejected(checkUnbiased(unnormalisedRemainder(1), problem, { samples: 4096, seed: 40, alpha: ALPHA }), problem.name);
});

tails.run();

// ---------------------------------------------------------------- plumbing and errors

const plumbing = suite('conditioning: plumbing and errors');

plumbing('per-sample (tiled) estimates average to the plain surrogate’s gradient on the same seed', () => {
  const cases: { dist: Dist; f: SampleFunction }[] = [
    { dist: bernoulli(tensor([0.3, -1.2, 0.5])), f: tableFunction('bernoulli', [0.3, 1.1, -0.2, 0.9, 0.1, -0.4, 0.7, 0.2]) },
    { dist: categorical(tensor([[0.5, -0.5, 0.2], [-1, 0.3, 0.9]])), f: tableFunction('categoricals', [1, 2, 0, -1, 0.5, 0.3, 0.2, -0.7, 1.5], { classes: 3 }) },
    { dist: categorical(tensor([0.1, -0.3, 0.7, 1.2])), f: tableFunction('categorical', [1, 0.2, -0.5, 0.3]) },
  ];
  const n = 32;
  for (const { dist, f } of cases) {
    const runs: [Estimator<undefined>, (d: Dist, r: Rng) => Tensor][] = [
      [raoBlackwellEstimator(1 % coordinates(dist)), (d, r) => raoBlackwell(d, f, r, { n, coordinate: 1 % coordinates(dist) }).surrogate],
      [sumAndSampleEstimator(2), (d, r) => sumAndSample(d, f, r, { n, k: 2 }).surrogate],
    ];
    for (const [estimator, plain] of runs) {
      const tiled = estimateGradient(estimator, dist, f, rng(6), { n }).gradient.logits;
      const direct = grad((t: Tensor) => plain(withParams(dist, { logits: t }), rng(6)))(logitsOf(dist));
      tiled.data.forEach((v, c) => assert.ok(Math.abs(v - direct.data[c]) < 1e-12, `${estimator.name} on ${dist.family}: [${c}] ${v} vs ${direct.data[c]}`));
    }
  }
});

plumbing('the values are Rao-Blackwellized estimates of E[f]: exact when everything is summed', () => {
  const problem = fixedDiscreteProblems()[0];
  const value = sumAndSample(problem.dist, problem.f, rng(1), { n: 5, k: 3 }).values.data;
  const p = logProbTable('categorical', logitsOf(problem.dist)).data.map(Math.exp);
  const expected = [1.0, 0.2, -0.5].reduce((a, v, i) => a + v * p[i], 0);
  value.forEach((v) => assert.ok(Math.abs(v - expected) < 1e-14));
});

plumbing('errors', () => {
  const f: SampleFunction = (x) => sum(x, 1);
  const b = bernoulli(tensor([0.1, 0.2]));
  assert.throws(() => raoBlackwell(normal(tensor([0]), tensor([1])), f, rng(0)), /^raoBlackwell: does not support the normal family; it supports bernoulli, categorical/);
  assert.throws(() => sumAndSample(normal(tensor([0]), tensor([1])), f, rng(0)), /^sumAndSample: does not support the normal family/);
  assert.throws(() => raoBlackwell(b, f, rng(0), { coordinate: 2 }), /^raoBlackwell: coordinate must be an integer in \[0, 2\) for an event shape \[2\], got 2/);
  assert.throws(() => raoBlackwell(b, f, rng(0), { n: 2, samples: tensor([[1, 0]]) }), /^raoBlackwell: options.samples must have shape \[n, \.\.\.E\] = \[2,2\], got \[1,2\]/);
  assert.throws(() => sumAndSample(b, f, rng(0), { k: -1 }), /^sumAndSample: k must be a non-negative integer, got -1/);
  assert.throws(() => sumAndSample(categorical(new Tensor(new Float64Array(8), [2, 2, 2])), f, rng(0)), /^sumAndSample: expected logits \[D\] \(Bernoullis\), \[K\] or \[D, K\]/);
});

plumbing.run();
