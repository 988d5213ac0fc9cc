// estimators/control-variates.ts: control variates on per-sample tensors, and
// the score function with a control function (the delta method).
//   exact, by enumeration (single-sample REINFORCE on small discrete
//     problems, the support weighted by p): with β*, the variance is
//     Var g − Cov²/Var h ≤ Var g for every coordinate, the mean stays the
//     exact gradient, two controls by least squares do at least as well as
//     either; 3β* increases the variance; the delta control's known mean
//     E[c ∇ log p] = ∇E_θ[c] holds exactly (fixed problems and a property);
//   statistical: β fitted on held-out halves stays unbiased; a wrong known
//     mean is rejected; a fixed β is REINFORCE with a constant baseline;
//   reinforce-delta: zero variance where the Taylor expansion is f, unbiased
//     on fixed problems, a Normal with Σ sin x and a property; dropping or
//     mis-scaling the control's mean is rejected;
//   Xu et al. 2018: closed forms of the pathwise and score-function variances
//     for a Gaussian quadratic, checked against measured variances (a wrong
//     closed form is rejected); over random parameters, the exact variances
//     (Gauss–Hermite) of pathwise, the score function, the score with the
//     score as control (controlVariate, β*) and reinforce-delta1 equal their
//     closed forms, and pathwise < score function.
//
// False positives: unbiasedness checks at family-wise α = 1e-4 (Holm), the
// property at 1e-4 in total; the closed-form variance z-tests at α = 1e-3
// each (8). Together a correct implementation fails this file for fewer than
// 1% of seeds; the seeds are fixed.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, rng, grad, sum, sin, mul, stack, zerosLike, stopGradient, sub, normal, bernoulli, categorical, withParams, logProb, sample,
  estimateGradient, checkUnbiased, normalQuantile, Welford, holm, twoSidedP, BlockRng,
  type Estimator, type Dist, type SampleFunction,
} from '../../index.ts';
import {
  controlVariate, controlVariates, reinforceWithControl, deltaMethod, controlVariateEstimator, reinforceDelta, reinforceDelta1, type ControlFunction,
} from '../../estimators/control-variates.ts';
import { reinforce, reinforceNone } from '../../estimators/reinforce.ts';
import { pathwiseEstimator } from '../../estimators/pathwise.ts';
import { enumerateSupport, logProbTable, scoreTable, exactReinforceMoments } from '../../lib/exact.ts';
import { quadraticFunction, tableFunction } from '../../lib/functions.ts';
import { fixedDiscreteProblems, problemArbitrary, assertUnbiased, assertRejected, familyOf, logitsOf, type TestProblem } from '../harness/problems.ts';
import { column, varianceZ } from '../harness/variance.ts';

const ALPHA = 1e-4;

/** Per outcome of the support: p(b), REINFORCE's g = f ∇log p, the score h₁ = ∇log p (mean 0), and h₂ = c ∇log p with c the delta control (mean ∇E[c]). */
interface Tables {
  p: Tensor; // [N]
  g: Tensor; // [N, ...P]
  score: Tensor; // [N, ...P]
  delta: Tensor; // [N, ...P]
  deltaMean: Tensor; // [...P]
}

function tables(problem: TestProblem): Tables {
  const family = familyOf(problem.dist);
  const theta = logitsOf(problem.dist);
  const support = enumerateSupport(family, theta.shape);
  const N = support.shape[0];
  const column = (v: Tensor) => new Tensor(v.data, [N, ...theta.shape.map(() => 1)]);
  const p = logProbTable(family, theta).data;
  const score = scoreTable(family, theta);
  const g = mul(column(problem.f(support)), score);
  const control = deltaMethod(2)(problem.dist, problem.f, false);
  const delta = mul(column(control.value(support)), score);
  const deltaMean = grad((t: Tensor) => control.expectation(withParams(problem.dist, { logits: t })))(theta);
  return { p: new Tensor(p.map(Math.exp), [N]), g, score, delta, deltaMean };
}

/** Σ_b p_b x_b per coordinate, for [N, ...P]. */
function weightedMean(p: Tensor, x: Tensor): Float64Array {
  const N = p.size;
  const M = x.size / N;
  const out = new Float64Array(M);
  for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) out[j] += p.data[i] * x.data[i * M + j];
  return out;
}

/** Rounding scale for exact comparisons: 1e-12 of E[g²] per coordinate, plus a floor. */
function close(a: number, b: number, scale: number): boolean {
  return Math.abs(a - b) <= 1e-10 * (scale + 1e-12);
}

// ---------------------------------------------------------------- exact

const exact = suite('control variates: exact by enumeration (single-sample REINFORCE, the support weighted by p)');

function checkOptimal(problem: TestProblem): void {
  const T = tables(problem);
  const raw = exactReinforceMoments(familyOf(problem.dist), logitsOf(problem.dist), problem.f);
  const one = controlVariate(T.g, T.score, 0, { weights: T.p });
  const M = raw.variance.size;
  const exactGradient = problem.exactGradient.logits.data;
  // Cov(g, h) and Var h, independently of the library's fit.
  const gh = weightedMean(T.p, mul(T.g, T.score));
  const hh = weightedMean(T.p, mul(T.score, T.score));
  const gBar = weightedMean(T.p, T.g);
  const hBar = weightedMean(T.p, T.score);
  for (let j = 0; j < M; j++) {
    const scale = raw.variance.data[j] + raw.mean.data[j] ** 2;
    const cov = gh[j] - gBar[j] * hBar[j];
    const varH = hh[j] - hBar[j] ** 2;
    assert.ok(close(one.rawVariance.data[j], raw.variance.data[j], scale), `${problem.name} [${j}]: raw variance`);
    assert.ok(close(one.estimate.data[j], exactGradient[j], Math.sqrt(scale)), `${problem.name} [${j}]: mean`);
    assert.ok(one.variance.data[j] <= one.rawVariance.data[j] + 1e-10 * scale, `${problem.name} [${j}]: ${one.variance.data[j]} > ${one.rawVariance.data[j]}`);
    if (varH > 1e-12) assert.ok(close(one.variance.data[j], raw.variance.data[j] - (cov * cov) / varH, scale), `${problem.name} [${j}]: Var g − Cov²/Var h`);
  }
  // The delta control's known mean is exact: Σ_b p_b c(b) ∇log p(b) = ∇θ E_θ[c] (coefficients held).
  const deltaBar = weightedMean(T.p, T.delta);
  T.deltaMean.data.forEach((v, j) => assert.ok(close(deltaBar[j], v, 1 + Math.abs(v)), `${problem.name} [${j}]: delta mean ${deltaBar[j]} vs ${v}`));
  // Two controls by least squares: never worse than either alone.
  const both = controlVariates(T.g, stack([T.score, T.delta], 1), stack([zerosLike(T.deltaMean), T.deltaMean], 0), { weights: T.p });
  const deltaOnly = controlVariate(T.g, T.delta, T.deltaMean, { weights: T.p });
  for (let j = 0; j < M; j++) {
    const scale = raw.variance.data[j] + raw.mean.data[j] ** 2;
    assert.ok(both.variance.data[j] <= Math.min(one.variance.data[j], deltaOnly.variance.data[j]) + 1e-10 * scale, `${problem.name} [${j}]: two controls`);
    assert.ok(close(both.estimate.data[j], exactGradient[j], Math.sqrt(scale)));
  }
}

for (const problem of fixedDiscreteProblems()) {
  exact(`${problem.name}: β* never increases the variance and equals Var g − Cov²/Var h; the mean stays exact; the delta mean holds; two controls ≤ one`, () => checkOptimal(problem));
}

exact('property: the same on random problems', () => {
  fc.assert(fc.property(problemArbitrary(), (problem) => (checkOptimal(problem), true)), { seed: 61, numRuns: 40 });
});

exact('a wrong coefficient, 3β*, increases the variance (by 3 Cov²/Var h) — so the inequality above is a real check', () => {
  const problem = fixedDiscreteProblems()[1]; // 2 Bernoullis, table
  const T = tables(problem);
  const best = controlVariate(T.g, T.score, 0, { weights: T.p });
  const wrong = controlVariate(T.g, T.score, 0, { weights: T.p, beta: mul(best.beta, 3) });
  for (let j = 0; j < 2; j++) {
    const reduction = best.rawVariance.data[j] - best.variance.data[j]; // Cov²/Var h
    assert.ok(reduction > 1e-3, `coordinate ${j}: reduction ${reduction}`);
    assert.ok(close(wrong.variance.data[j], best.rawVariance.data[j] + 3 * reduction, 1));
    assert.ok(wrong.variance.data[j] > wrong.rawVariance.data[j]);
  }
});

exact.run();

// ---------------------------------------------------------------- statistical: β from held-out halves

const split = suite('control variates: β from held-out halves stays unbiased (Holm, α = 1e-4)');

/** The score ∇θ log p(b_i) per sample, on the same draws as REINFORCE (sample() first, common random numbers). */
const scoreEstimator: Estimator<undefined> = {
  name: 'score',
  description: 'the score alone: value 0, gradient ∇ log p(b)',
  unbiased: true,
  families: ['bernoulli', 'categorical', 'normal'],
  iidSamples: true,
  minSamples: 1,
  surrogate: (dist, _f, r, o) => {
    const b = sample(dist, r, o.n ?? 1, o.tiled);
    const lp = logProb(dist, b);
    const s = sub(lp, stopGradient(lp));
    return { surrogate: sum(s), perSample: s, values: stopGradient(s), state: undefined };
  },
};

/** Groups of m samples → one control-variate estimate each; mean and z per coordinate against the exact gradient; Holm verdict. */
function groupedCheck(problem: TestProblem, m: number, groups: number, seed: number, mean: number): { verdict: boolean; maxZ: number } {
  const n = m * groups;
  const g = estimateGradient(reinforceNone, problem.dist, problem.f, rng(seed), { n }).perSample.logits;
  const h = estimateGradient(scoreEstimator, problem.dist, problem.f, rng(seed), { n }).perSample.logits;
  const P = g.shape.slice(1);
  const M = g.size / n;
  const acc = new Welford(M);
  for (let k = 0; k < groups; k++) {
    const part = (t: Tensor) => new Tensor(t.data.subarray(k * m * M, (k + 1) * m * M), [m, ...P]);
    acc.push(controlVariate(part(g), part(h), mean, { beta: 'split' }).estimate.data);
  }
  const v = acc.variance();
  const z = Array.from(acc.mean, (x, j) => (x - problem.exactGradient.logits.data[j]) / Math.sqrt(v[j] / groups));
  return { verdict: !holm(z.map(twoSidedP), ALPHA).some(Boolean), maxZ: Math.max(...z.map(Math.abs)) };
}

split('the score on the same draws is ∇log p: REINFORCE’s per-sample estimate is f(b) times it', () => {
  const problem = fixedDiscreteProblems()[0];
  const out = estimateGradient(reinforceNone, problem.dist, problem.f, rng(5), { n: 50 });
  const h = estimateGradient(scoreEstimator, problem.dist, problem.f, rng(5), { n: 50 }).perSample.logits;
  const fb = problem.f(sample(problem.dist, rng(5), 50));
  out.perSample.logits.data.forEach((v, i) => assert.ok(Math.abs(v - fb.data[Math.floor(i / 3)] * h.data[i]) < 1e-12));
});

for (const [i, problem] of fixedDiscreteProblems().entries()) {
  split(`${problem.name}: 4000 groups of 8, β fitted on one half and applied to the other; a wrong known mean (0.2 instead of 0) is rejected`, () => {
    const good = groupedCheck(problem, 8, 4000, 70 + i, 0);
    assert.ok(good.verdict, `max |z| = ${good.maxZ}`);
    // The estimate moves by β·0.2 with β ≈ Cov(f s, s)/Var s ~ E f, many stderrs on every problem here.
    const bad = groupedCheck(problem, 8, 4000, 70 + i, 0.2);
    assert.not.ok(bad.verdict, `max |z| = ${bad.maxZ}`);
  });
}

split('a fixed β with the score as control is REINFORCE with the constant baseline β, sample by sample', () => {
  const problem = fixedDiscreteProblems()[3];
  const n = 64;
  const g = estimateGradient(reinforceNone, problem.dist, problem.f, rng(8), { n }).perSample.logits;
  const h = estimateGradient(scoreEstimator, problem.dist, problem.f, rng(8), { n }).perSample.logits;
  const constant: Estimator<undefined> = { ...scoreEstimator, name: 'constant', surrogate: (d, f, r, o) => ({ ...reinforce(d, f, r, { ...o, baseline: 'constant', constant: 0.7 }), state: undefined }) };
  const baseline = estimateGradient(constant, problem.dist, problem.f, rng(8), { n }).perSample.logits;
  const cv = controlVariate(g, h, 0, { beta: 0.7 });
  cv.perSample.data.forEach((v, i) => assert.ok(Math.abs(v - baseline.data[i]) < 1e-12));
});

split.run();

// ---------------------------------------------------------------- reinforce-delta

const delta = suite('reinforce-delta: the delta-method control variate');

delta('zero variance where the Taylor expansion is f itself: a Gaussian quadratic, a table on a categorical, on two Bernoullis, a quadratic on two categoricals', () => {
  const cases: { name: string; dist: Dist; f: SampleFunction; exact: Record<string, number[]> }[] = [
    { name: 'normal quadratic', dist: normal(tensor([0.5, -1]), tensor([1, 0.5])), f: quadraticFunction([2, 0]), exact: { loc: [-3, -2], scale: [2, 1] } },
    ...fixedDiscreteProblems().filter((p) => !p.name.startsWith('toy')).map((p) => ({ name: p.name, dist: p.dist, f: p.f, exact: { logits: Array.from(p.exactGradient.logits.data) } })),
  ];
  for (const c of cases) {
    const out = estimateGradient(reinforceDelta, c.dist, c.f, rng(4), { n: 200 });
    for (const [key, values] of Object.entries(c.exact)) {
      const per = out.perSample[key];
      const M = values.length;
      // Every sample, not just the mean: (f − c)∇log p vanishes and β∇E[c] is the gradient, up to rounding.
      per.data.forEach((v, i) => assert.ok(Math.abs(v - values[i % M]) < 1e-11 * (1 + Math.abs(values[i % M])), `${c.name} ${key}[${i % M}]: ${v} vs ${values[i % M]}`));
    }
  }
});

/** Broken: the control's mean is dropped (β∇E[c] never added back). */
const droppedMean = controlVariateEstimator('reinforce-delta-dropped-mean', (dist, f, tiled) => {
  const c = deltaMethod(2)(dist, f, tiled);
  return { value: c.value, expectation: (d) => stopGradient(c.expectation(d)) };
});
/** Broken: the mean added back with twice its weight. */
const doubledMean = controlVariateEstimator('reinforce-delta-doubled-mean', (dist, f, tiled) => {
  const c = deltaMethod(2)(dist, f, tiled);
  return { value: c.value, expectation: (d) => mul(c.expectation(d), 2) };
});

for (const [i, problem] of fixedDiscreteProblems().entries()) {
  delta(`${problem.name}: reinforce-delta1 and reinforce-delta (β = 0.5) unbiased; dropped and doubled means rejected`, () => {
    const half = controlVariateEstimator('reinforce-delta-half', deltaMethod(2), { beta: 0.5 });
    for (const e of [reinforceDelta1, half]) assertUnbiased(checkUnbiased(e, problem, { samples: 20000, seed: 80 + i, alpha: ALPHA }), problem.name);
    for (const e of [droppedMean, doubledMean]) assertRejected(checkUnbiased(e, problem, { samples: 20000, seed: 80 + i, alpha: ALPHA }), problem.name);
  });
}

delta('a Gaussian with f = Σ sin x (closed form ∂μ = cos μ e^{−σ²/2}, ∂σ = −σ sin μ e^{−σ²/2}): both orders unbiased, dropped mean rejected', () => {
  const mu = [0.3, -2];
  const sigma = [0.7, 1.5];
  const dist = normal(tensor(mu), tensor(sigma));
  const f: SampleFunction = (x) => sum(sin(x), 1);
  const damp = sigma.map((s) => Math.exp(-s * s / 2));
  const exactGradient = { loc: tensor(mu.map((m, j) => Math.cos(m) * damp[j])), scale: tensor(mu.map((m, j) => -sigma[j] * Math.sin(m) * damp[j])) };
  for (const e of [reinforceDelta, reinforceDelta1]) assertUnbiased(checkUnbiased(e, { dist, f, exactGradient }, { samples: 40000, seed: 90, alpha: ALPHA }), e.name);
  assertRejected(checkUnbiased(droppedMean, { dist, f, exactGradient }, { samples: 40000, seed: 90, alpha: ALPHA }), 'sine');
});

delta('property: random problems, order 1 or 2, β in [−1, 2] (family-wise 1e-4 over 12 runs)', () => {
  const runs = 12;
  fc.assert(
    fc.property(problemArbitrary(), fc.constantFrom<1 | 2>(1, 2), fc.double({ min: -1, max: 2, noNaN: true }), fc.nat(1e6), (problem, order, beta, seed) => {
      const e = controlVariateEstimator('reinforce-delta-random', deltaMethod(order), { beta });
      return checkUnbiased(e, problem, { samples: 16000, seed, alpha: ALPHA / runs }).unbiasedVerdict;
    }),
    { seed: 62, numRuns: runs },
  );
});

delta('per-sample (tiled) estimates average to the plain surrogate’s gradient on the same seed, for each family', () => {
  const cases: { dist: Dist; f: SampleFunction }[] = [
    { dist: bernoulli(tensor([0.3, -1.2, 0.5])), f: tableFunction('bernoulli', [0.3, 1.1, -0.2, 0.9, 0.1, -0.4, 0.7, 0.2]) },
    { dist: categorical(tensor([[0.5, -0.5, 0.2], [-1, 0.3, 0.9]])), f: tableFunction('categoricals', [1, 2, 0, -1, 0.5, 0.3, 0.2, -0.7, 1.5], { classes: 3 }) },
    { dist: normal(tensor([0.3, -2]), tensor([0.7, 1.5])), f: (x) => sum(sin(x), 1) },
  ];
  for (const { dist, f } of cases) {
    const n = 32;
    const tiled = estimateGradient(reinforceDelta, dist, f, rng(6), { n }).gradient;
    const params: Record<string, Tensor> = dist.family === 'normal' ? { loc: dist.loc, scale: dist.scale } : { logits: dist.logits };
    const plain = grad((q: Record<string, Tensor>) => reinforceWithControl(withParams(dist, q), f, rng(6), { n, control: deltaMethod(2) }).surrogate)(params);
    for (const key of Object.keys(params)) tiled[key].data.forEach((v, j) => assert.ok(Math.abs(v - plain[key].data[j]) < 1e-10, `${dist.family} ${key}[${j}]`));
  }
});

delta('errors', () => {
  const problem = fixedDiscreteProblems()[0];
  assert.throws(() => deltaMethod(3 as 1), /deltaMethod: order must be 1 or 2, got 3/);
  assert.throws(() => reinforceWithControl(problem.dist, problem.f, rng(1), {} as never), /reinforceWithControl: options.control must be a control function/);
  assert.throws(() => reinforceWithControl(problem.dist, problem.f, rng(1), { control: deltaMethod(2), beta: NaN }), /reinforceWithControl: beta must be a finite number, got NaN/);
  assert.throws(() => controlVariateEstimator('x', 3 as unknown as ControlFunction), TypeError);
  const g = tensor([[1, 2], [3, 4], [5, 6]]);
  assert.throws(() => controlVariate(g, tensor([1, 2]), 0), /controlVariate: h must be \[n\] = \[3\] or shaped like g \[3,2\], got \[2\]/);
  assert.throws(() => controlVariates(g, tensor([1, 2, 3]), 0), /controlVariates: h must be \[n, m\] or \[n, m, \.\.\.P\]/);
  assert.throws(() => controlVariate(g, tensor([1, 2, 3]), 0, { weights: tensor([0.5, 0.2, 0.2]) }), /controlVariate: weights must sum to 1, got 0\.8999/);
  assert.throws(() => controlVariate(g, tensor([1, 2, 3]), 0, { beta: 'split' }), /controlVariate: the split rule fits β on each half, so it needs n ≥ 4 samples, got 3/);
  assert.throws(() => controlVariate(g, tensor([1, 2, 3]), 0, { beta: 'best' as never }), /controlVariate: beta must be 'optimal', 'split', a number or a Tensor/);
});

delta('a constant or duplicated control is left out of the fit instead of dividing by zero', () => {
  const g = tensor([1, 3, 2, 5, 4]);
  const h = tensor([[2, 1, 1], [2, 3, 3], [2, 2, 2], [2, 6, 6], [2, 4, 4]]); // column 0 constant, column 2 = column 1
  const out = controlVariates(g, h, tensor([2, 3, 3]));
  assert.ok(Array.from(out.beta.data).every(Number.isFinite));
  assert.is(out.beta.data[0], 0);
  assert.ok(Math.abs(out.variance.data[0] - controlVariate(g, tensor([1, 3, 2, 6, 4]), 3).variance.data[0]) < 1e-12);
});

delta.run();

// ---------------------------------------------------------------- Xu et al. 2018

const xu = suite('Xu et al. 2018: Gaussian quadratic, pathwise variance below the score function’s (closed forms)');

/**
 * Per-sample variances for x_k = μ_k + σ_k ε_k, f = Σ_k (x_k − t_k)², a_k = μ_k − t_k.
 * Pathwise: ĝ_μ = 2(x − t), ĝ_σ = 2(x − t)ε, so 4σ² and 4a² + 8σ².
 * Score: ĝ_μj = f ε_j/σ_j, ĝ_σj = f (ε_j² − 1)/σ_j. With f = f_j + R, R = Σ_{k≠j} f_k independent of ε_j
 * and the normal moments E ε^{2,4,6,8} = 1, 3, 15, 105:
 *   E[f_j² ε²] = a⁴ + 18a²σ² + 15σ⁴,  E[f_j ε²] = a² + 3σ²,
 *   E[f_j² (ε² − 1)²] = 2a⁴ + 60a²σ² + 78σ⁴,  E[f_j (ε² − 1)²] = 2a² + 10σ²,  E(ε² − 1)² = 2,
 *   E R = Σ (a_k² + σ_k²),  E R² = (E R)² + Σ (4a_k²σ_k² + 2σ_k⁴).
 * `sixth` is E ε⁶ (15), a parameter so that the spec can try a wrong value.
 */
function closedForms(mu: number[], sigma: number[], t: number[], sixth = 15) {
  const a = mu.map((m, k) => m - t[k]);
  const path = { loc: sigma.map((s) => 4 * s * s), scale: a.map((ak, k) => 4 * ak * ak + 8 * sigma[k] ** 2) };
  const loc: number[] = [];
  const scale: number[] = [];
  // The score as control, h = ε_j/σ_j (for μ_j) or (ε_j² − 1)/σ_j (for σ_j), mean 0, at β* = Cov/Var h:
  // Var g − Cov²/Var h with Cov = E[f ε_j²]/σ_j², Var h = 1/σ_j², and Cov = E[f (ε_j² − 1)²]/σ_j², Var h = 2/σ_j².
  const control = { loc: [] as number[], scale: [] as number[] };
  for (let j = 0; j < mu.length; j++) {
    const [aj, sj] = [a[j], sigma[j]];
    let ER = 0;
    let varR = 0;
    for (let k = 0; k < mu.length; k++) {
      if (k === j) continue;
      ER += a[k] ** 2 + sigma[k] ** 2;
      varR += 4 * a[k] ** 2 * sigma[k] ** 2 + 2 * sigma[k] ** 4;
    }
    const ER2 = ER * ER + varR;
    const muSquare = (aj ** 4 + 18 * aj ** 2 * sj ** 2 + sixth * sj ** 4 + 2 * ER * (aj ** 2 + 3 * sj ** 2) + ER2) / sj ** 2;
    loc.push(muSquare - 4 * aj * aj);
    const sigmaSquare = (2 * aj ** 4 + 60 * aj ** 2 * sj ** 2 + 78 * sj ** 4 + 2 * ER * (2 * aj ** 2 + 10 * sj ** 2) + 2 * ER2) / sj ** 2;
    scale.push(sigmaSquare - 4 * sj * sj);
    control.loc.push(loc[j] - (aj ** 2 + 3 * sj ** 2 + ER) ** 2 / sj ** 2);
    control.scale.push(scale[j] - (2 * (aj ** 2 + 5 * sj ** 2 + ER) ** 2) / sj ** 2);
  }
  return { path, score: { loc, scale }, control };
}

xu('the closed forms match measured variances of both estimators (two-sided, α = 1e-3 per coordinate); E ε⁶ = 3 in place of 15 is rejected', () => {
  const mu = [0.5, -1];
  const sigma = [1, 0.5];
  const t = [1, -0.5];
  const dist = normal(tensor(mu), tensor(sigma));
  const f = quadraticFunction(t);
  const n = 40000;
  const forms = closedForms(mu, sigma, t);
  const wrong = closedForms(mu, sigma, t, 3);
  const critical = normalQuantile(1 - 1e-3 / 2);
  const measured = {
    path: estimateGradient(pathwiseEstimator, dist, f, rng(11), { n }).perSample,
    score: estimateGradient(reinforceNone, dist, f, rng(12), { n }).perSample,
  };
  for (const which of ['path', 'score'] as const) {
    for (const key of ['loc', 'scale'] as const) {
      for (let j = 0; j < 2; j++) {
        const z = varianceZ(column(measured[which][key], j), forms[which][key][j]);
        assert.ok(Math.abs(z) < critical, `${which} ${key}[${j}]: z = ${z} (closed form ${forms[which][key][j]})`);
      }
    }
  }
  for (let j = 0; j < 2; j++) {
    const z = varianceZ(column(measured.score.loc, j), wrong.score.loc[j]);
    assert.ok(Math.abs(z) > critical, `wrong form, loc[${j}]: z = ${z}`);
  }
});

/**
 * Five-point Gauss–Hermite rule for N(0, 1): the roots of He₅(x) = x⁵ − 10x³ + 15x (x² = 0, 5 ± √10) with
 * weights 5!/(5 He₄(x))², He₄(x) = x⁴ − 6x² + 3. Exact for polynomials of degree ≤ 9, and every per-sample
 * estimate squared here is a polynomial of degree ≤ 8 in each ε_j.
 */
const HERMITE_NODES = [-Math.sqrt(5 + Math.sqrt(10)), -Math.sqrt(5 - Math.sqrt(10)), 0, Math.sqrt(5 - Math.sqrt(10)), Math.sqrt(5 + Math.sqrt(10))];
const HERMITE_WEIGHTS = HERMITE_NODES.map((x) => 120 / (5 * (x ** 4 - 6 * x * x + 3)) ** 2);

/** Draws the product grid of HERMITE_NODES as its one normal block [5^D, D], point i in row i; `weights` beside it. */
class HermiteGridRng extends BlockRng {
  readonly count: number;
  readonly weights: Tensor;
  private readonly points: Float64Array;

  constructor(D: number) {
    super('HermiteGridRng');
    this.count = 5 ** D;
    this.points = new Float64Array(this.count * D);
    const weights = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) {
      weights[i] = 1;
      for (let j = 0, rest = i; j < D; j++, rest = Math.floor(rest / 5)) {
        this.points[i * D + j] = HERMITE_NODES[rest % 5];
        weights[i] *= HERMITE_WEIGHTS[rest % 5];
      }
    }
    this.weights = new Tensor(weights, [this.count]);
  }

  protected uniformBlock(): Float64Array {
    throw new TypeError('HermiteGridRng: draws normals only');
  }

  protected normalBlock(shape: readonly number[]): Float64Array {
    if (shape.reduce((x, d) => x * d, 1) !== this.points.length) throw new RangeError(`HermiteGridRng: the grid is [${this.count}, D], got a draw of [${shape}]`);
    return Float64Array.from(this.points);
  }

  split(): HermiteGridRng {
    return this;
  }
}

xu('property: over random μ, σ, t (D in 1..3), the exact variances (Gauss–Hermite) of pathwise, the score function, the score with the score as control (controlVariate, β*) and reinforce-delta1 equal their closed forms; pathwise is below the score function', () => {
  const coordinate = fc.record({ mu: fc.double({ min: -3, max: 3, noNaN: true }), sigma: fc.double({ min: 0.05, max: 3, noNaN: true }), t: fc.double({ min: -3, max: 3, noNaN: true }) });
  fc.assert(
    fc.property(fc.array(coordinate, { minLength: 1, maxLength: 3 }), (cs) => {
      const [mu, sigma, t] = [cs.map((c) => c.mu), cs.map((c) => c.sigma), cs.map((c) => c.t)];
      const dist = normal(tensor(mu), tensor(sigma));
      const f = quadraticFunction(t);
      const grid = new HermiteGridRng(cs.length);
      const options = { n: grid.count, weights: grid.weights };
      const perSample = (e: Estimator<any>) => estimateGradient(e, dist, f, grid, options).perSample;
      const [path, score, h, delta1] = [pathwiseEstimator, reinforceNone, scoreEstimator, reinforceDelta1].map(perSample);
      const forms = closedForms(mu, sigma, t);
      // f − c for the first-order delta control is Σ σ_k² ε_k², the quadratic with a = μ − t = 0: the score
      // function's variance at μ = t, with the mean added back exactly (2a, 2σ).
      const centred = closedForms(t, sigma, t);
      const exactGradient = { loc: mu.map((m, j) => 2 * (m - t[j])), scale: sigma.map((s) => 2 * s) };
      return (['loc', 'scale'] as const).every((key) => {
        const cv = controlVariate(score[key], h[key], 0, { weights: grid.weights });
        const variance = (x: Tensor) => {
          const m = weightedMean(grid.weights, x);
          return Array.from(weightedMean(grid.weights, mul(x, x)), (s, j) => s - m[j] ** 2);
        };
        const [pathVariance, scoreVariance, deltaVariance] = [path, score, delta1].map((p) => variance(p[key]));
        const deltaMean = weightedMean(grid.weights, delta1[key]);
        return cs.every((_, j) => {
          const scale = forms.score[key][j] + exactGradient[key][j] ** 2; // E[ĝ²] of the score function, the largest here
          const near = (x: number, y: number) => Math.abs(x - y) <= 1e-10 * scale;
          return (
            forms.path[key][j] < forms.score[key][j] &&
            near(pathVariance[j], forms.path[key][j]) &&
            near(scoreVariance[j], forms.score[key][j]) &&
            near(cv.variance.data[j], forms.control[key][j]) &&
            near(deltaVariance[j], centred.score[key][j]) &&
            near(deltaMean[j], exactGradient[key][j])
          );
        });
      });
    }),
    { seed: 63, numRuns: 500 },
  );
});

xu.run();
