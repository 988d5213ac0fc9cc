// estimators/relaxations.ts: Gumbel-softmax, straight-through, straight-through
// Gumbel-softmax and Gumbel-Rao, all biased.
//   bias: each one's mean is tested against the exact gradient (lib/exact)
//     with checkUnbiased, and rejected where theory says the bias is not zero;
//     where the bias has a closed form or an exact quadrature value, the
//     Monte Carlo mean is also tested against that value and passes;
//   temperature: Gumbel-softmax's bias on a linear f shrinks monotonically as
//     τ → 0, at the rate τ² (quadrature, exact to rounding); a variant that
//     ignores τ fails the same check;
//   Gumbel-Rao: its mean equals ST-GS's and its variance is lower, exactly by
//     quadrature on one Bernoulli (Var = V_b + W/M) and by two-sample tests on
//     categoricals; a Gumbel-Rao that differentiates through the conditional
//     sampler fails both mean checks;
//   straight-through: exact (zero variance) on a linear f, unbiased on every
//     multilinear table (fixed problems and a fast-check property), biased by
//     (2p − 1)σ'(θ) on a Bernoulli quadratic; the identity straight-through
//     (db/dθ = 1) is rejected at the same sample size;
//   plumbing: values are f at the hard sample, tiled per-sample estimates
//     average to the plain surrogate's gradient, gradients reach upstream
//     parameters, registry entries and errors.
//
// False positives. Checks that expect to pass run at family-wise α = 1e-3 over
// their coordinates (Holm): 4 checkUnbiased runs, 3 two-sample mean
// comparisons and 3 one-sided variance comparisons, so a correct
// implementation fails this file with probability ≤ 1e-2; the property runs
// 12 problems at α = 1e-4 / 12 each (≤ 1e-4 in all). Seeds are fixed, so the
// suite is deterministic. Checks that expect a rejection have |z| far above
// the critical value (each states its margin).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, rng, ScriptedRng, add, sub, mul, sum, mean, matmul, transpose, grad, stopGradient, broadcastTo, expandDims,
  bernoulli, categorical, normal, sample, estimateGradient, checkUnbiased, holm, twoSidedP, normalQuantile,
  type Estimator, type SampleFunction, type Dist, type CheckProblem,
} from '../../index.ts';
import {
  gumbelSoftmax, straightThrough, stGumbelSoftmax, gumbelRao, relaxationEstimator,
  gumbelSoftmaxEstimator, straightThroughEstimator, stGumbelSoftmaxEstimator, gumbelRaoEstimator, type RelaxationKind,
} from '../../estimators/relaxations.ts';
import { drawNoise, perturb, hard, relaxed } from '../../estimators/families.ts';
import { evaluate, surrogateOf } from '../../estimators/estimator.ts';
import { quadratureMoments } from '../../estimators/variance.ts';
import { conditionalLogistic, conditionalGumbel } from '../../lib/gumbel.ts';
import { exactGradient, type DiscreteFamily } from '../../lib/exact.ts';
import { tableFunction, quadraticFunction } from '../../lib/functions.ts';

const SAMPLES = 20000;
const ALPHA = 1e-3;
const KINDS: RelaxationKind[] = ['gumbel-softmax', 'straight-through', 'st-gumbel-softmax', 'gumbel-rao'];

// ---------------------------------------------------------------- problems

/** A checkUnbiased problem whose reference gradient is always given. */
interface Problem extends CheckProblem {
  exactGradient: { logits: Tensor };
}

/** A problem with its exact gradient by enumeration; 'categoricals' takes logits [D, K]. */
function problemOf(family: DiscreteFamily, logits: number[] | number[][], f: SampleFunction): Problem {
  const theta = tensor(logits);
  const dist = family === 'bernoulli' ? bernoulli(theta) : categorical(theta);
  return { dist, f, exactGradient: { logits: exactGradient(family, theta, f) } };
}

/** The same problem, checked against another reference (a theoretical or quadrature mean). */
function against(problem: Problem, reference: Tensor | number[]): Problem {
  return { ...problem, exactGradient: { logits: reference instanceof Tensor ? reference : tensor(reference) } };
}

const sigma = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------- broken variants

function variant(name: string, surrogate: Estimator<undefined>['surrogate']): Estimator<undefined> {
  return { ...gumbelRaoEstimator, name, surrogate };
}

/**
 * Bug: Gumbel-Rao differentiated through the conditional sampler, z̃ = z̃(θ, v)
 * with θ live (the "total derivative" reading of Paulus et al.'s text).
 */
function throughSampler(M: number, temperature: number): Estimator<undefined> {
  return variant('gumbel-rao-through-sampler', (dist, f, r, options) => {
    const n = options.n ?? 1;
    const d = dist as { family: 'bernoulli' | 'categorical'; logits: Tensor };
    const z = perturb(dist, drawNoise(dist, r, n, options.tiled));
    const b = hard(d.family, z);
    const bs = broadcastTo(expandDims(b, 0), [M, ...b.shape]);
    const v = r.uniform(bs.shape);
    const zt = d.family === 'bernoulli' ? conditionalLogistic(d.logits, bs, v) : conditionalGumbel(d.logits, bs, v);
    const s = mean(relaxed(d.family, zt, temperature), 0);
    const fx = evaluate('broken', f, add(b, sub(s, stopGradient(s))), n);
    return surrogateOf(fx, fx, undefined);
  });
}

/** Bug: the identity straight-through, b + θ − stop(θ) (db/dθ = 1 instead of σ'(θ) or the softmax Jacobian). */
const identityStraightThrough = variant('straight-through-identity', (dist, f, r, options) => {
  const n = options.n ?? 1;
  const theta = (dist as { logits: Tensor }).logits;
  const b = sample(dist, r, n, options.tiled);
  const fx = evaluate('broken', f, add(b, sub(theta, stopGradient(theta))), n);
  return surrogateOf(fx, fx, undefined);
});

/** Bug: Gumbel-softmax that relaxes with σ(z) whatever τ is asked for. */
function temperatureBlind(): Estimator<undefined> {
  return variant('gumbel-softmax-temperature-blind', (dist, f, r, options) => gumbelSoftmax(dist, f, r, { ...options, temperature: 1 }));
}

// ---------------------------------------------------------------- statistics helpers

/** Per-coordinate mean, variance and fourth central moment of [n, ...] per-sample estimates. */
function moments(g: Tensor): { mean: number[]; variance: number[]; m4: number[]; n: number } {
  const n = g.shape[0];
  const size = g.size / n;
  const m = new Array<number>(size).fill(0);
  const v = new Array<number>(size).fill(0);
  const m4 = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) m[j] += g.data[i * size + j] / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < size; j++) {
      const d = (g.data[i * size + j] - m[j]) ** 2;
      v[j] += d / n;
      m4[j] += (d * d) / n;
    }
  }
  return { mean: m, variance: v, m4, n };
}

/** Two-sample z per coordinate for equal means, and the Holm verdict at α. */
function sameMeans(a: Tensor, b: Tensor, alpha: number): { z: number[]; equal: boolean } {
  const A = moments(a);
  const B = moments(b);
  const z = A.mean.map((m, j) => (m - B.mean[j]) / Math.sqrt(A.variance[j] / A.n + B.variance[j] / B.n));
  return { z, equal: !holm(z.map(twoSidedP), alpha).some(Boolean) };
}

/** z per coordinate for "Var(a) > Var(b)" from independent samples: Var(s²) ≈ (m₄ − s⁴)/n. */
function varianceGapZ(a: Tensor, b: Tensor): number[] {
  const A = moments(a);
  const B = moments(b);
  return A.variance.map((v, j) => (v - B.variance[j]) / Math.sqrt((A.m4[j] - v * v) / A.n + (B.m4[j] - B.variance[j] ** 2) / B.n));
}

function perSample(estimator: Estimator<undefined>, problem: Problem, seed: number, n = SAMPLES): Tensor {
  return estimateGradient(estimator, problem.dist, problem.f, rng(seed), { n }).perSample.logits;
}

// ---------------------------------------------------------------- bias against the exact gradient

const bias = suite('relaxations: bias against the exact gradient');

// Fixed problems on which each estimator's bias is not zero, by theory:
const interaction = problemOf('bernoulli', [0.5, -1], tableFunction('bernoulli', [0, 1, 2, -3])); // f(b) has a b₀b₁ term
const linearCat = problemOf('categorical', [0.5, -0.3, 1], tableFunction('categorical', [1, -0.5, 2]));
const quadraticBern = problemOf('bernoulli', [1.5, -0.7], quadraticFunction([0.3, 0.8]));
const quadraticCat = problemOf('categorical', [0.5, -0.3, 1], quadraticFunction([0.2, 0.7, 0.1]));

bias('each estimator is rejected by checkUnbiased where its bias cannot vanish', () => {
  // Gumbel-softmax at τ = 1: E[σ_τ(z)] ≠ E[b], so even a linear f is biased (one Bernoulli at
  // θ = 0 has mean gradient E[σ'(L)] = 1/6 against σ'(0) = 1/4). ST-GS and Gumbel-Rao at τ = 0.5
  // on quadratics, and straight-through on quadratics (f is not multilinear): see the ST suite for
  // its closed-form bias. Measured max |z| lie between 14 and 115; the assertion asks for twice
  // the critical value (≈ 3.5 at α = 1e-3 over three coordinates).
  const cases: [Estimator<undefined>, Problem][] = [
    [relaxationEstimator('gumbel-softmax', { temperature: 1 }), interaction],
    [relaxationEstimator('gumbel-softmax', { temperature: 1 }), linearCat],
    [stGumbelSoftmaxEstimator, quadraticBern],
    [stGumbelSoftmaxEstimator, quadraticCat],
    [gumbelRaoEstimator, quadraticBern],
    [gumbelRaoEstimator, quadraticCat],
    [straightThroughEstimator, quadraticBern],
    [straightThroughEstimator, quadraticCat],
  ];
  for (const [i, [estimator, problem]] of cases.entries()) {
    const r = checkUnbiased(estimator, problem, { samples: SAMPLES, seed: 100 + i, alpha: ALPHA });
    assert.not.ok(r.unbiasedVerdict, `${estimator.name} case ${i}: max |z| = ${r.maxAbsZ}`);
    assert.ok(r.maxAbsZ > 7, `${estimator.name} case ${i}: bias only at |z| = ${r.maxAbsZ}`);
  }
});

bias('Gumbel-softmax on one Bernoulli: the Monte Carlo bias is the exact (quadrature) bias', () => {
  // f linear, θ = 0.8, τ = 1. Quadrature over the single uniform (panels at the jump of b) gives
  // E[ĝ] to rounding; checkUnbiased against it passes, against the exact gradient it fails.
  const problem = problemOf('bernoulli', [0.8], tableFunction('bernoulli', [0.3, 1.5]));
  const estimator = relaxationEstimator('gumbel-softmax', { temperature: 1 });
  const q = quadratureMoments(estimator, problem.dist, problem.f, { blocks: 1, nodes: 48, grading: 0, breakpoints: [[1 - sigma(0.8)]] });
  const reported = checkUnbiased(estimator, against(problem, q.mean.logits), { samples: SAMPLES, seed: 7, alpha: ALPHA });
  assert.ok(reported.unbiasedVerdict, `MC mean ${reported.coordinates[0].mean} vs quadrature ${q.mean.logits.data[0]}: z = ${reported.maxAbsZ}`);
  const vsExact = checkUnbiased(estimator, problem, { samples: SAMPLES, seed: 7, alpha: ALPHA });
  assert.not.ok(vsExact.unbiasedVerdict);
  // Power: a Gumbel-softmax run at τ = 0.9 instead of 1 is told apart from the τ = 1 mean.
  const off = checkUnbiased(relaxationEstimator('gumbel-softmax', { temperature: 0.9 }), against(problem, q.mean.logits), { samples: SAMPLES, seed: 7, alpha: ALPHA });
  assert.not.ok(off.unbiasedVerdict, `τ = 0.9 passed as τ = 1: z = ${off.maxAbsZ}`);
  // The MC variance matches the quadrature variance: the relative error of a sample variance is
  // ≈ √(2/n) ≈ 1% for light tails (measured 0.07%); 5% leaves room for this estimate's kurtosis.
  assert.ok(Math.abs(reported.coordinates[0].variance / q.variance.logits.data[0] - 1) < 0.05);
});

bias.run();

// ---------------------------------------------------------------- the temperature

const temperature = suite('gumbel-softmax: on a linear f the bias shrinks like τ² as τ → 0 (quadrature)');

/** Exact (quadrature) bias of an estimator on one Bernoulli, linear f, θ = 0.8. */
function linearBias(estimator: Estimator<undefined>): number {
  const theta = 0.8;
  const problem = problemOf('bernoulli', [theta], tableFunction('bernoulli', [0.3, 1.5]));
  // 48 nodes per panel: doubling them changes nothing above 1e-12 for τ ≥ 0.05 (the integrand's
  // poles sit at z = ±iπτ, far enough from the panels for Gauss–Legendre's geometric convergence).
  const q = quadratureMoments(estimator, problem.dist, problem.f, { blocks: 1, nodes: 48, grading: 0, breakpoints: [[1 - sigma(theta)]] });
  return q.mean.logits.data[0] - problem.exactGradient.logits.data[0];
}

/**
 * The check: |bias| strictly decreasing over τ = 2, 1, 0.5, 0.1, 0.05, and the
 * τ² rate. For a linear f, E[ĝ] = c ∂θ E[σ(z/τ)], and σ(x/τ) − [x > 0] is odd
 * in x, so the smoothing error is τ²·(an x² moment) + O(τ⁴): halving τ divides
 * the bias by 4·(1 + O(τ²)), within 1% at τ = 0.1 → 0.05.
 */
function shrinks(estimator: (tau: number) => Estimator<undefined>): { ok: boolean; biases: number[] } {
  const taus = [2, 1, 0.5, 0.1, 0.05];
  const biases = taus.map((tau) => linearBias(estimator(tau)));
  const decreasing = biases.every((b, i) => i === 0 || Math.abs(b) < Math.abs(biases[i - 1]));
  const ratio = biases[3] / biases[4];
  return { ok: decreasing && Math.abs(ratio - 4) < 0.04, biases };
}

temperature('monotone decrease to zero at rate τ²; a τ-blind variant fails', () => {
  const { ok, biases } = shrinks((tau) => relaxationEstimator('gumbel-softmax', { temperature: tau }));
  assert.ok(ok, `biases ${biases}`);
  // Below 0.5% of the exact gradient (0.2567) at τ = 0.1, above 50% at τ = 2 (measured −0.0012 and −0.131).
  assert.ok(Math.abs(biases[3]) < 0.005 * 0.2567 && Math.abs(biases[0]) > 0.5 * 0.2567, `biases ${biases}`);
  // ST-GS has the same mean as Gumbel-softmax on a linear f (∇f is constant), so the same bias.
  const stgs = linearBias(relaxationEstimator('st-gumbel-softmax', { temperature: 0.5 }));
  assert.ok(Math.abs(stgs - biases[2]) < 1e-12, `${stgs} vs ${biases[2]}`);
  assert.not.ok(shrinks(() => temperatureBlind()).ok);
});

temperature.run();

// ---------------------------------------------------------------- Gumbel-Rao

const rao = suite('gumbel-rao: Rao-Blackwellized ST-GS, same mean, lower variance');

rao('one Bernoulli, exactly by quadrature: equal means, Var(GR_M) = V_b + W/M; through-sampler variant differs', () => {
  // Quadrature over u (z) and M uniforms v (the z̃ᵐ): 1 + M axes, ≤ 4. Each z̃ | b maps v linearly
  // onto u's panel for that b (u = 1 − p + vp or u = v(1 − p)), so the rules agree node for node
  // and the means agree to rounding (≈ 1e-15 measured; 1e-12 allows sums of 1e5 terms).
  const theta = 0.8;
  const problem = problemOf('bernoulli', [theta], quadraticFunction([0.3]));
  const rule = { nodes: 16, grading: 0, breakpoints: [[1 - sigma(theta)]] };
  for (const tau of [1, 0.5]) {
    const st = quadratureMoments(relaxationEstimator('st-gumbel-softmax', { temperature: tau }), problem.dist, problem.f, { ...rule, blocks: 1 });
    const gr = [1, 2, 3].map((M) =>
      quadratureMoments(relaxationEstimator('gumbel-rao', { temperature: tau, conditionals: M }), problem.dist, problem.f, { ...rule, blocks: 1 + M }),
    );
    const m = st.mean.logits.data[0];
    const v = gr.map((q) => q.variance.logits.data[0]);
    for (const q of gr) assert.ok(Math.abs(q.mean.logits.data[0] - m) < 1e-12, `τ = ${tau}: GR mean ${q.mean.logits.data[0]} vs ST-GS ${m}`);
    // M = 1 is ST-GS in law (the pair (b, z̃) is distributed as (b, z)); M = 2 is strictly lower.
    assert.ok(Math.abs(v[0] - st.variance.logits.data[0]) < 1e-12);
    assert.ok(v[1] < 0.95 * v[0], `τ = ${tau}: variances ${v}`);
    // Var = Var(E[ĝ|b]) + E[Var(ĝ|b)]/M: solve for both from M = 1, 2, predict M = 3.
    const W = 2 * (v[0] - v[1]);
    const Vb = v[0] - W;
    assert.ok(Math.abs(v[2] - (Vb + W / 3)) < 1e-12, `τ = ${tau}: Var(GR_3) ${v[2]} vs ${Vb + W / 3}`);
    // The broken variant's mean is off by about half the ST-GS mean (0.05 vs 0.11 measured).
    for (const M of [1, 2]) {
      const bad = quadratureMoments(throughSampler(M, tau), problem.dist, problem.f, { ...rule, blocks: 1 + M });
      assert.ok(Math.abs(bad.mean.logits.data[0] - m) > 0.01, `τ = ${tau}, M = ${M}: through-sampler mean ${bad.mean.logits.data[0]} vs ${m}`);
    }
  }
});

rao('categoricals, by Monte Carlo: equal means (Holm, α = 1e-3), lower variance (one-sided, α = 1e-3); through-sampler rejected', () => {
  const problems = [
    quadraticCat,
    problemOf('categoricals', [[0.3, -0.8, 0.6], [1.2, 0, -0.5]], tableFunction('categoricals', [0.5, -1, 2, 0.3, 1.5, -0.7, 0, 2.2, -1.4], { classes: 3 })),
    interaction,
  ];
  const critical = normalQuantile(1 - ALPHA);
  for (const [i, problem] of problems.entries()) {
    const st = perSample(stGumbelSoftmaxEstimator, problem, 200 + i);
    const gr = perSample(gumbelRaoEstimator, problem, 300 + i);
    const same = sameMeans(gr, st, ALPHA);
    assert.ok(same.equal, `problem ${i}: z = ${same.z}`);
    // Per coordinate, ST-GS's variance exceeds Gumbel-Rao's (measured gaps have z from 21 to 56).
    const gap = varianceGapZ(st, gr);
    assert.ok(gap.every((z) => z > critical), `problem ${i}: variance gap z = ${gap}`);
    // The test does not claim the reverse.
    assert.ok(varianceGapZ(gr, st).every((z) => z < critical));
    // The broken variant at the same sample size: measured max |z| of 40 to 47 per problem.
    const bad = sameMeans(perSample(throughSampler(10, 0.5), problem, 300 + i), st, ALPHA);
    assert.not.ok(bad.equal, `problem ${i}: through-sampler z = ${bad.z}`);
  }
});

rao.run();

// ---------------------------------------------------------------- straight-through

const st = suite('straight-through: exact on linear f, unbiased on multilinear tables, biased on quadratics');

st('a linear f on one Bernoulli or one categorical: every per-sample estimate is the exact gradient', () => {
  // ĝ = (∂f/∂x) · ∇θ E[b] with ∂f/∂x constant: the exact gradient ∇θ (E[b] · v), whatever b is.
  for (const problem of [problemOf('bernoulli', [0.8], tableFunction('bernoulli', [0.3, 1.5])), linearCat]) {
    const g = perSample(straightThroughEstimator, problem, 11, 1000);
    const exact = problem.exactGradient.logits.data;
    const size = exact.length;
    for (let i = 0; i < g.data.length; i++) {
      // Both are a few flops from the same numbers: agree to a few ulps.
      assert.ok(Math.abs(g.data[i] - exact[i % size]) < 1e-14, `sample ${Math.floor(i / size)}: ${g.data[i]} vs ${exact[i % size]}`);
    }
  }
});

const multilinear = [
  problemOf('bernoulli', [0.4, -1.2, 2], tableFunction('bernoulli', [1, -2, 0.5, 3, -1, 0.2, 2.5, -0.8])),
  problemOf('categoricals', [[0.3, -0.8, 0.6], [1.2, 0, -0.5]], tableFunction('categoricals', [0.5, -1, 2, 0.3, 1.5, -0.7, 0, 2.2, -1.4], { classes: 3 })),
];

st('multilinear tables: unbiased (Holm, α = 1e-3); the identity straight-through is rejected', () => {
  // E[∂f/∂x_j (b)] = ∂f/∂x_j (E[b]) when f is multilinear and the coordinates independent, and
  // ∂f/∂x_j does not depend on x_j: so E[ĝ] = ∇θ f(E[b]) = ∇θ E[f(b)].
  for (const [i, problem] of multilinear.entries()) {
    const ok = checkUnbiased(straightThroughEstimator, problem, { samples: SAMPLES, seed: 20 + i, alpha: ALPHA });
    assert.ok(ok.unbiasedVerdict, `problem ${i}: max |z| = ${ok.maxAbsZ}`);
    const bad = checkUnbiased(identityStraightThrough, problem, { samples: SAMPLES, seed: 20 + i, alpha: ALPHA });
    assert.not.ok(bad.unbiasedVerdict, `identity ST passed problem ${i}: max |z| = ${bad.maxAbsZ}`);
  }
});

st('a Bernoulli quadratic: the bias is (2p − 1)σ′(θ) per coordinate, as theory says', () => {
  // f = Σ(b − t)²: ĝ_j = 2(b_j − t_j)σ′(θ_j), mean 2(p_j − t_j)σ′; exact (1 − 2t_j)σ′;
  // bias (2p_j − 1)σ′(θ_j), not zero unless p_j = ½.
  const theta = [1.5, -0.7];
  const target = [0.3, 0.8];
  const theory = theta.map((x, j) => 2 * (sigma(x) - target[j]) * sigma(x) * (1 - sigma(x)));
  const ok = checkUnbiased(straightThroughEstimator, against(quadraticBern, theory), { samples: SAMPLES, seed: 31, alpha: ALPHA });
  assert.ok(ok.unbiasedVerdict, `max |z| = ${ok.maxAbsZ}`);
  const bad = checkUnbiased(straightThroughEstimator, quadraticBern, { samples: SAMPLES, seed: 31, alpha: ALPHA });
  assert.not.ok(bad.unbiasedVerdict);
  // The identity straight-through (mean 2(p − t), without σ′) is rejected against the same theory.
  const identity = checkUnbiased(identityStraightThrough, against(quadraticBern, theory), { samples: SAMPLES, seed: 31, alpha: ALPHA });
  assert.not.ok(identity.unbiasedVerdict, `identity ST: max |z| = ${identity.maxAbsZ}`);
});

st('property: unbiased on random multilinear tables (1..4 Bernoullis, K in 2..6, products), family-wise α = 1e-4', () => {
  const runs = 12;
  const logit = fc.double({ min: -4, max: 4, noNaN: true });
  const value = fc.double({ min: -3, max: 3, noNaN: true });
  const arb = fc.oneof(
    fc.integer({ min: 1, max: 4 }).chain((D) =>
      fc.record({ family: fc.constant('bernoulli' as const), logits: fc.array(logit, { minLength: D, maxLength: D }), values: fc.array(value, { minLength: 2 ** D, maxLength: 2 ** D }), K: fc.constant(2) }),
    ),
    fc.integer({ min: 2, max: 6 }).chain((K) =>
      fc.record({ family: fc.constant('categorical' as const), logits: fc.array(logit, { minLength: K, maxLength: K }), values: fc.array(value, { minLength: K, maxLength: K }), K: fc.constant(K) }),
    ),
    fc.record({ D: fc.integer({ min: 2, max: 3 }), K: fc.integer({ min: 2, max: 3 }) }).chain(({ D, K }) =>
      fc.record({
        family: fc.constant('categoricals' as const),
        logits: fc.array(fc.array(logit, { minLength: K, maxLength: K }), { minLength: D, maxLength: D }),
        values: fc.array(value, { minLength: K ** D, maxLength: K ** D }),
        K: fc.constant(K),
      }),
    ),
  );
  let run = 0;
  fc.assert(
    fc.property(arb, (p) => {
      const f = tableFunction(p.family, p.values, { classes: p.K });
      const problem = problemOf(p.family, p.logits as number[] | number[][], f);
      const r = checkUnbiased(straightThroughEstimator, problem, { samples: 10000, seed: 500 + run++, alpha: 1e-4 / runs });
      return r.unbiasedVerdict;
    }),
    { numRuns: runs, seed: 4242 },
  );
});

st.run();

// ---------------------------------------------------------------- plumbing

const plumbing = suite('relaxations: values, tiling, upstream gradients, registry, errors');

const shapes: { label: string; problem: Problem }[] = [
  { label: 'bernoulli [3]', problem: multilinear[0] },
  { label: 'categorical [4]', problem: problemOf('categorical', [0.1, -0.3, 0.7, 0.2], quadraticFunction([0.5, 0, 1, 0.25])) },
  { label: 'categoricals [2, 3]', problem: multilinear[1] },
];

plumbing('the value is f at the hard sample, for every estimator and family', () => {
  for (const kind of KINDS) {
    const estimator = relaxationEstimator(kind);
    for (const { label, problem } of shapes) {
      const n = 64;
      const out = estimator.surrogate(problem.dist, problem.f, rng(5), { n });
      // Straight-through draws b as sample() does (by inversion); the Gumbel
      // relaxations take b = H(z) from the noise they draw first: same seed, same b.
      const b = kind === 'straight-through'
        ? sample(problem.dist, rng(5), n)
        : hard(problem.dist.family, perturb(problem.dist, drawNoise(problem.dist, rng(5), n)));
      const fb = problem.f(b);
      assert.equal(Array.from(out.values.data), Array.from(fb.data), `${kind}, ${label}`);
      assert.equal(Array.from(out.perSample.data), Array.from(fb.data), `${kind}, ${label}: per-sample values`);
      assert.ok(Math.abs(out.surrogate.item() - mean(fb).item()) < 1e-15, `${kind}, ${label}`);
    }
  }
});

plumbing('tiled per-sample estimates average to the plain surrogate’s gradient on the same seed', () => {
  for (const kind of KINDS) {
    const estimator = relaxationEstimator(kind, { conditionals: 3 });
    for (const { label, problem } of shapes) {
      const n = 50;
      const tiled = estimateGradient(estimator, problem.dist, problem.f, rng(9), { n });
      const theta = (problem.dist as { logits: Tensor }).logits;
      const plain = grad((l: Tensor) => estimator.surrogate({ ...problem.dist, logits: l } as Dist, problem.f, rng(9), { n }).surrogate)(theta);
      assert.equal(tiled.perSample.logits.shape, [n, ...theta.shape], `${kind}, ${label}`);
      for (let j = 0; j < plain.size; j++) {
        // Same numbers, summed in another order: rounding only.
        assert.ok(Math.abs(tiled.gradient.logits.data[j] - plain.data[j]) < 1e-12, `${kind}, ${label}[${j}]: ${tiled.gradient.logits.data[j]} vs ${plain.data[j]}`);
      }
    }
  }
});

plumbing('gradients reach parameters upstream of the logits (a batch of problems [B, K] from an encoder)', () => {
  // logits = x W, x [2, 3] fixed, W [3, 4]: dL/dW = xᵀ (dL/dlogits).
  const x = tensor([[1, 0.5, -1], [0.2, -0.3, 0.8]]);
  const W = tensor([[0.1, -0.2, 0.3, 0], [0.5, 0.1, -0.4, 0.2], [-0.3, 0.2, 0.1, 0.6]]);
  const f = quadraticFunction([0.1, 0.4, 0.2, 0.3]);
  for (const kind of KINDS) {
    const surrogate = (logits: Tensor) => relaxationEstimator(kind).surrogate(categorical(logits), f, rng(3), { n: 20 }).surrogate;
    const dW = grad((w: Tensor) => surrogate(matmul(x, w)))(W);
    const dLogits = grad(surrogate)(matmul(x, W));
    const expected = matmul(transpose(x), dLogits);
    for (let j = 0; j < dW.size; j++) assert.ok(Math.abs(dW.data[j] - expected.data[j]) < 1e-12, `${kind}: dW[${j}]`);
    assert.ok(dW.data.some((v) => v !== 0), `${kind}: no gradient reached W`);
  }
});

plumbing('logits shifted by a constant per row give the same estimates to rounding, at one temperature and at one per class', () => {
  // [0, 1, 2] and [10, 11, 12] are one distribution, so each relaxation must see them alike;
  // with a temperature per class, softmax(z/τ) sees any constant left in z, so z must be log θ + G there.
  // The bound 1e-9 is rounding's: the shift changes z by about 1e-15 relative, where a constant left
  // in z at a per-class τ moves the estimates by 0.1 to 0.3.
  const K3 = 3;
  const w = tensor([0.5, -1, 2]);
  const f: SampleFunction = (x) => sum(mul(mul(x, x), broadcastTo(w, x.shape)), 1);
  for (const temperature of [0.5, tensor([0.3, 0.5, 1])]) {
    for (const kind of ['gumbel-softmax', 'st-gumbel-softmax', 'gumbel-rao'] as const) {
      const estimator = relaxationEstimator(kind, { temperature });
      const near = estimateGradient(estimator, categorical(tensor([0, 1, 2])), f, rng(3), { n: 40 }).perSample.logits.data;
      const far = estimateGradient(estimator, categorical(tensor([10, 11, 12])), f, rng(3), { n: 40 }).perSample.logits.data;
      let largest = 0;
      for (let i = 0; i < near.length; i++) {
        assert.ok(Math.abs(near[i] - far[i]) <= 1e-9, `${kind}, τ ${temperature instanceof Tensor ? 'per class' : temperature}: ${near[i]} against ${far[i]} at ${i}`);
        largest = Math.max(largest, Math.abs(near[i]));
      }
      assert.ok(largest > 0.01 && near.length === 40 * K3, `${kind}: the estimates are not trivially zero`);
    }
  }
});

plumbing('registry entries: names, biased, discrete families; settings reach the estimator', () => {
  const entries = [gumbelSoftmaxEstimator, straightThroughEstimator, stGumbelSoftmaxEstimator, gumbelRaoEstimator];
  assert.equal(entries.map((e) => e.name), KINDS);
  for (const e of entries) {
    assert.is(e.unbiased, false);
    assert.equal([...e.families], ['bernoulli', 'categorical']);
    assert.ok(e.iidSamples && e.minSamples === 1);
  }
  // A fixed setting reaches the estimator: the entry at τ = 0.1 is the function called with τ = 0.1,
  // and differs from the default entry (τ = 0.5) on the same seed.
  const p = interaction;
  const a = estimateGradient(relaxationEstimator('gumbel-softmax', { temperature: 0.1 }), p.dist, p.f, rng(1), { n: 10 }).gradient.logits;
  const b = estimateGradient(gumbelSoftmaxEstimator, p.dist, p.f, rng(1), { n: 10 }).gradient.logits;
  const direct = grad((l: Tensor) => gumbelSoftmax(bernoulli(l), p.f, rng(1), { n: 10, temperature: 0.1 }).surrogate)((p.dist as { logits: Tensor }).logits);
  assert.ok(Math.abs(a.data[0] - b.data[0]) > 1e-6);
  assert.ok(Math.abs(a.data[0] - direct.data[0]) < 1e-12);
  // Gumbel-Rao draws 1 + M blocks of n·|E| uniforms (what quadratureMoments' `blocks` counts), the others 1.
  const size = 7 * 2;
  for (const [kind, blocks] of [['gumbel-rao', 2], ['gumbel-rao', 5], ['straight-through', 1], ['gumbel-softmax', 1], ['st-gumbel-softmax', 1]] as const) {
    const scripted = new ScriptedRng(rng(1).uniform([blocks * size]).data);
    relaxationEstimator(kind, kind === 'gumbel-rao' ? { conditionals: blocks - 1 } : {}).surrogate(p.dist, p.f, scripted, { n: 7 });
    assert.is(scripted.remaining, 0, `${kind}, ${blocks} blocks`);
  }
});

plumbing('errors: unsupported family, bad temperature or M, unknown kind, f of the wrong shape', () => {
  const f: SampleFunction = (x) => mean(x, 1);
  const gaussian = normal(tensor([0]), tensor([1]));
  const bern = bernoulli(tensor([0.2]));
  for (const run of [gumbelSoftmax, straightThrough, stGumbelSoftmax, gumbelRao]) {
    assert.throws(() => run(gaussian, f, rng(0)), (e: Error) => e instanceof RangeError && /does not support the normal family/.test(e.message));
  }
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => gumbelSoftmax(bern, f, rng(0), { temperature: bad }), (e: Error) => e instanceof RangeError && /^gumbel-softmax: temperature/.test(e.message));
    assert.throws(() => relaxationEstimator('st-gumbel-softmax', { temperature: bad }), /^relaxationEstimator: temperature/);
  }
  assert.throws(() => stGumbelSoftmax(bern, f, rng(0), { temperature: tensor([0.5, -1]) }), /temperature must be positive.*-1 at flat index 1/);
  assert.throws(() => gumbelRao(bern, f, rng(0), { temperature: '1' as unknown as number }), (e: Error) => e instanceof TypeError);
  for (const M of [0, 1.5, -2]) {
    assert.throws(() => gumbelRao(bern, f, rng(0), { conditionals: M }), (e: Error) => e instanceof RangeError && /^gumbel-rao: conditionals \(M\)/.test(e.message));
    assert.throws(() => relaxationEstimator('gumbel-rao', { conditionals: M }), /conditionals/);
  }
  assert.throws(() => relaxationEstimator('rebar' as RelaxationKind), /unknown kind 'rebar'; use gumbel-softmax, straight-through/);
  assert.throws(() => straightThrough(bern, (x) => x, rng(0), { n: 3 }), /straight-through: f must map samples \[n, \.\.\.\] to values \[n\] = \[3\]/);
  assert.throws(() => gumbelSoftmax(bern, f, rng(0), { n: 0 }), /gumbel-softmax: n must be an integer/);
  // A tensor temperature broadcasts with z: one per coordinate.
  const two = bernoulli(tensor([0.2, -0.4]));
  const out = gumbelSoftmax(two, f, rng(0), { n: 4, temperature: tensor([0.5, 2]) });
  assert.is(out.perSample.shape[0], 4);
});

plumbing.run();
