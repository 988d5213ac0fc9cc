// estimators/arm.ts: ARM, DisARM, AR (Bernoulli and categorical) and ARSM.
//   hand-computed: per-sample ARM/DisARM estimates at given uniforms, by arithmetic;
//   quadrature: with one uniform per coordinate and the jumps at σ(±φ_j) on panel
//     boundaries, 3-point Gauss–Legendre integrates the estimates (piecewise
//     polynomials of degree ≤ 1, so their squares and fourth powers too) exactly.
//     The exact mean equals the closed-form gradient to rounding; DisARM's exact
//     variance is never above ARM's; the uncentred ARM (u for u − ½) has the
//     same mean and a variance larger by exactly ¼E[(f(b) − f(b̃))²];
//   Monte Carlo variance: the sample variance of 40 000 draws against the exact
//     variance, with a confidence interval from the exact fourth moment; the
//     uncentred ARM is rejected by the same check;
//   unbiased: checkUnbiased against exact enumeration on fixed problems and a
//     fast-check property per estimator; a broken variant of each (ARM with its
//     sign flipped, DisARM with σ(φ) for σ(|φ|), Bernoulli AR with the other
//     threshold convention, categorical AR without its factor K, ARSM weighting
//     by π_c instead of π_j) is rejected at the same sample size;
//   ARSM against a plain-arithmetic transcription of the paper's double sum;
//   plumbing: tiled per-sample estimates average to the plain surrogate's
//     gradient on the same seed; values; chain rule upstream; options.noise
//     equals the generator's noise; errors.
//
// False positives. Fixed-problem checks run at family-wise α = 1e-5 each over
// their coordinates (Holm), 9 of them; each of the 5 properties runs 12
// problems at α = 1e-4 / 12 each (≤ 1e-4 per property); the 6 variance
// z-tests share α = 1e-4 (Bonferroni). In all, a correct implementation fails
// this file for at most ≈ 6e-4 of seeds; the seeds are fixed, so the suite is
// deterministic.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, zeros, rng, ScriptedRng, add, sub, mul, div, neg, log, square, onesLike, sigmoid, abs, greater, argmax, oneHot,
  concat, slice, reshape, sum, mean, stopGradient, valueAndGrad, unitRule, productRule, quadratureMoments,
  bernoulli, categorical, normal, estimateGradient, checkUnbiased, normalQuantile, exactGradient,
  bernoulliTableGradient, tableFunction, quadraticFunction,
  arm, disarm, ar, arsm, armEstimator, disarmEstimator, arEstimator, arsmEstimator,
  type Estimator, type Dist, type SampleFunction, type CheckProblem,
} from '../../index.ts';

const SAMPLES = 20000;
const ALPHA = 1e-5;

const sigma = (t: number): number => 1 / (1 + Math.exp(-t));

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.unreachable(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (|error| ${Math.abs(actual[i] - expected[i])} > ${tol})`);
    }
  }
}

function bernoulliProblem(logits: number[], f: SampleFunction): CheckProblem {
  const theta = tensor(logits);
  return { dist: bernoulli(theta), f, exactGradient: { logits: exactGradient('bernoulli', theta, f) } };
}

function categoricalProblem(logits: number[] | number[][], f: SampleFunction): CheckProblem {
  const theta = tensor(logits);
  const family = theta.rank === 1 ? 'categorical' : 'categoricals';
  return { dist: categorical(theta), f, exactGradient: { logits: exactGradient(family, theta, f) } };
}

// ---------------------------------------------------------------- variants written here

/** An estimator from a per-sample surrogate function (for variants written in this spec). */
function estimatorOf(name: string, families: Estimator['families'], surrogate: Estimator<undefined>['surrogate']): Estimator<undefined> {
  return { name, description: name, unbiased: true, families, iidSamples: true, minSamples: 1, surrogate };
}

/** f + Σ_j stop(ĝ_j)(θ_j − stop θ_j) over the event axes of [n, ...E]. */
function dice(theta: Tensor, g: Tensor, value: Tensor): Tensor {
  const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
  return add(value, sum(mul(stopGradient(g), sub(theta, stopGradient(theta))), axes));
}

interface PairContext {
  u: Tensor;
  b: Tensor;
  bt: Tensor;
  fb: Tensor; // [n, 1]
  fbt: Tensor; // [n, 1]
  theta: Tensor; // constant
}

/** ARM-like estimators on the antithetic pair, drawn exactly as arm.ts draws it; `weight` gives ĝ [n, D]. */
function pairEstimator(name: string, weight: (c: PairContext) => Tensor): Estimator<undefined> {
  return estimatorOf(name, ['bernoulli'], (dist, f, r, options) => {
    const n = options.n ?? 1;
    const theta = (dist as { logits: Tensor }).logits;
    const u = r.uniform([n, ...(options.tiled ? theta.shape.slice(1) : theta.shape)]);
    const threshold = sigmoid(neg(stopGradient(theta)));
    const b = greater(u, threshold);
    const bt = greater(sub(1, u), threshold);
    const y = f(concat([b, bt], 0));
    const fb = slice(y, 0, 0, n);
    const fbt = slice(y, 0, n, 2 * n);
    const g = weight({ u, b, bt, fb: reshape(fb, [n, 1]), fbt: reshape(fbt, [n, 1]), theta: stopGradient(theta) });
    const value = mul(add(fb, fbt), 0.5);
    const perSample = dice(theta, g, value);
    return { surrogate: mean(perSample), perSample, values: stopGradient(value), state: undefined };
  });
}

const armReference = pairEstimator('arm (spec)', ({ u, fb, fbt }) => mul(sub(fb, fbt), sub(u, 0.5)));
const armSignFlipped = pairEstimator('arm, sign flipped', ({ u, fb, fbt }) => mul(sub(fbt, fb), sub(u, 0.5)));
const armUncentred = pairEstimator('arm, u for u − ½', ({ u, fb, fbt }) => mul(sub(fb, fbt), u));
const disarmReference = pairEstimator('disarm (spec)', ({ b, bt, fb, fbt, theta }) =>
  mul(mul(mul(sub(fb, fbt), 0.5), sub(b, bt)), sigmoid(abs(theta))));
const disarmSigmaPhi = pairEstimator('disarm, σ(φ) for σ(|φ|)', ({ b, bt, fb, fbt, theta }) =>
  mul(mul(mul(sub(fb, fbt), 0.5), sub(b, bt)), sigmoid(theta)));
/** Bernoulli AR with b̃ = 1[u < σ(φ)] (the other threshold convention) but the weight 2u − 1 of b = 1[u > σ(−φ)]. */
const arMixedConvention = pairEstimator('ar, mixed threshold convention', ({ u, fbt }) => mul(fbt, sub(mul(u, 2), 1)));

interface DirichletContext {
  pi: Tensor; // [n, ...E]
  fz: Tensor; // [n]
  K: number;
}

/** AR-like estimators for categoricals, drawn exactly as arm.ts draws them; `weight` gives ĝ [n, ...E]. */
function dirichletEstimator(name: string, weight: (c: DirichletContext) => Tensor): Estimator<undefined> {
  return estimatorOf(name, ['categorical'], (dist, f, r, options) => {
    const n = options.n ?? 1;
    const theta = (dist as { logits: Tensor }).logits;
    const shape = [n, ...(options.tiled ? theta.shape.slice(1) : theta.shape)];
    const K = shape[shape.length - 1];
    const e = r.exponential(shape);
    const pi = div(e, sum(e, -1, true));
    const z = oneHot(argmax(sub(stopGradient(theta), log(pi)), -1), K);
    const fz = f(z);
    const g = weight({ pi, fz, K });
    const perSample = dice(theta, g, fz);
    return { surrogate: mean(perSample), perSample, values: stopGradient(fz), state: undefined };
  });
}

const column = (x: Tensor, rank: number): Tensor => reshape(x, [x.shape[0], ...Array(rank - 1).fill(1)]);
const arCategoricalReference = dirichletEstimator('ar (spec)', ({ pi, fz, K }) => mul(column(fz, pi.rank), sub(1, mul(pi, K))));
/** AR with the factor K dropped: f(z)(1 − π_c). */
const arDropsK = dirichletEstimator('ar, factor K dropped', ({ pi, fz }) => mul(column(fz, pi.rank), sub(1, pi)));

/**
 * ARSM transcribed from the paper in plain arithmetic: for every pair (c, j)
 * the pseudo-action z^{c⇌j} (π_c and π_j exchanged in every categorical),
 * then ĝ_c = Σ_j (f(z^{c⇌j}) − (1/K) Σ_m f(z^{m⇌j})) (1/K − π_j) as a literal
 * double sum. `wrongWeight` uses π_c for π_j (a broken variant).
 */
function arsmTranscription(name: string, wrongWeight = false): Estimator<undefined> {
  return estimatorOf(name, ['categorical'], (dist, f, r, options) => {
    const n = options.n ?? 1;
    const theta = (dist as { logits: Tensor }).logits;
    const event = options.tiled ? theta.shape.slice(1) : theta.shape;
    const K = event[event.length - 1];
    const rows = event.reduce((a, d) => a * d, 1) / K;
    const e = r.exponential([n, ...event]);
    const pi = div(e, sum(e, -1, true)).data;
    const phi = (j: number, s: number): number => theta.data[options.tiled ? s * rows * K + j : j];
    const samples = new Float64Array(n * K * K * rows * K);
    for (let s = 0; s < n; s++) {
      for (let c = 0; c < K; c++) {
        for (let j = 0; j < K; j++) {
          for (let q = 0; q < rows; q++) {
            let best = -1;
            let bestScore = Infinity;
            for (let i = 0; i < K; i++) {
              const source = i === c ? j : i === j ? c : i;
              const score = pi[(s * rows + q) * K + source] * Math.exp(-phi(q * K + i, s));
              if (score < bestScore) {
                bestScore = score;
                best = i;
              }
            }
            samples[((((s * K + c) * K + j) * rows + q) * K) + best] = 1;
          }
        }
      }
    }
    const F = f(new Tensor(samples, [n * K * K, ...event])).data; // F[(s K + c) K + j]
    const g = new Float64Array(n * rows * K);
    for (let s = 0; s < n; s++) {
      for (let q = 0; q < rows; q++) {
        for (let c = 0; c < K; c++) {
          let total = 0;
          for (let j = 0; j < K; j++) {
            let baseline = 0;
            for (let m = 0; m < K; m++) baseline += F[(s * K + m) * K + j] / K;
            const p = pi[(s * rows + q) * K + (wrongWeight ? c : j)];
            total += (F[(s * K + c) * K + j] - baseline) * (1 / K - p);
          }
          g[(s * rows + q) * K + c] = total;
        }
      }
    }
    const fz = new Tensor(Float64Array.from({ length: n }, (_, s) => F[s * K * K]), [n]);
    const perSample = dice(theta, new Tensor(g, [n, ...event]), fz);
    return { surrogate: mean(perSample), perSample, values: fz, state: undefined };
  });
}

const arsmReference = arsmTranscription('arsm (spec)');
const arsmWrongWeight = arsmTranscription('arsm, π_c for π_j', true);

// ---------------------------------------------------------------- hand-computed estimates

const hand = suite('arm: hand-computed estimates');

hand('ARM, DisARM and Bernoulli AR at given uniforms', () => {
  // φ = 0.4: σ(−φ) ≈ 0.401, so b = 1[u > 0.401] = (0, 1, 1) and b̃ = 1[1 − u > 0.401] = (1, 1, 0).
  const phi = 0.4;
  const [f0, f1] = [0.3, 1.1];
  const f = tableFunction('bernoulli', [f0, f1]);
  const u = tensor([[0.1], [0.5], [0.9]]);
  const expected = {
    arm: [(f0 - f1) * (0.1 - 0.5), 0, (f1 - f0) * (0.9 - 0.5)],
    disarm: [0.5 * (f0 - f1) * -1 * sigma(phi), 0, 0.5 * (f1 - f0) * 1 * sigma(phi)],
    ar: [f0 * (2 * 0.1 - 1), f1 * (2 * 0.5 - 1), f1 * (2 * 0.9 - 1)],
  };
  const values = { arm: [(f0 + f1) / 2, f1, (f1 + f0) / 2], disarm: [(f0 + f1) / 2, f1, (f1 + f0) / 2], ar: [f0, f1, f1] };
  for (const [name, run] of [['arm', arm], ['disarm', disarm], ['ar', ar]] as const) {
    const { grad, value } = valueAndGrad((tp: Tensor) => {
      const s = run(bernoulli(tp), f, rng(0), { n: 3, tiled: true, noise: u });
      assertClose(s.values.data, values[name], 1e-15, `${name} values`);
      return sum(s.perSample);
    })(tensor([[phi], [phi], [phi]]));
    // value = Σ f_i; gradient row i = ĝ_i
    assertClose(grad.data, expected[name], 1e-15, `${name} per-sample estimates`);
    assert.ok(Math.abs(value.item() - values[name].reduce((a, b) => a + b)) < 1e-14, `${name}: the surrogate's value is Σ f`);
  }
});

hand('categorical AR and ARSM at a given π', () => {
  // φ = (0, 0, log 2): scores π_i e^{−φ_i} = (0.2, 0.5, 0.15), so z = 2.
  const phi = tensor([0, 0, Math.log(2)]);
  const pi = tensor([[0.2, 0.5, 0.3]]);
  const v = [1, -2, 4];
  const f = tableFunction('categorical', v);
  const K = 3;
  const gAr = valueAndGrad((t: Tensor) => ar(categorical(t), f, rng(0), { n: 1, noise: pi }).surrogate)(phi).grad;
  assertClose(gAr.data, [0.2, 0.5, 0.3].map((p) => v[2] * (1 - K * p)), 1e-15, 'AR: f(z)(1 − Kπ_c)');
  // z^{c⇌j}: swapping π entries changes the scores; by hand:
  const piArr = [0.2, 0.5, 0.3];
  const e = [1, 1, 0.5];
  const zOf = (c: number, j: number): number => {
    const p = piArr.map((_, i) => (i === c ? piArr[j] : i === j ? piArr[c] : piArr[i]));
    const scores = p.map((x, i) => x * e[i]);
    return scores.indexOf(Math.min(...scores));
  };
  const expected = [0, 1, 2].map((c) =>
    [0, 1, 2].reduce((acc, j) => {
      const baseline = [0, 1, 2].reduce((a, m) => a + v[zOf(m, j)] / K, 0);
      return acc + (v[zOf(c, j)] - baseline) * (1 / K - piArr[j]);
    }, 0));
  const gArsm = valueAndGrad((t: Tensor) => arsm(categorical(t), f, rng(0), { n: 1, noise: pi }).surrogate)(phi);
  assertClose(gArsm.grad.data, expected, 1e-15, 'ARSM double sum');
  assert.ok(Math.abs(gArsm.value.item() - v[2]) < 1e-15, 'ARSM value is f(z)');
});

hand.run();

// ---------------------------------------------------------------- exact moments by quadrature

interface ExactMoments {
  mean: Float64Array;
  variance: Float64Array;
  /** E[(ĝ − Eĝ)⁴] per coordinate. */
  fourth: Float64Array;
}

/**
 * Exact moments of a single-sample Bernoulli estimator with one uniform per
 * coordinate: the product of 3-point Gauss–Legendre rules on the panels cut
 * at σ(φ_j) and σ(−φ_j), replayed through a ScriptedRng. Between cuts ĝ_j is
 * a polynomial of degree ≤ 1 in u_j and constant in the other uniforms, so
 * ĝ⁴ has degree ≤ 4 ≤ 2·3 − 1: exact up to rounding.
 */
function momentsByQuadrature(estimator: Estimator<undefined>, logits: number[], f: SampleFunction, nodes = 3): ExactMoments {
  const axes = logits.map((t) => unitRule(nodes, [sigma(t), sigma(-t)]));
  const { points, weights, count } = productRule(axes);
  const D = logits.length;
  const g = estimateGradient(estimator, bernoulli(tensor(logits)), f, new ScriptedRng(points), { n: count }).perSample.logits.data;
  const out = { mean: new Float64Array(D), variance: new Float64Array(D), fourth: new Float64Array(D) };
  for (let i = 0; i < count; i++) for (let j = 0; j < D; j++) out.mean[j] += weights[i] * g[i * D + j];
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < D; j++) {
      const d = g[i * D + j] - out.mean[j];
      out.variance[j] += weights[i] * d * d;
      out.fourth[j] += weights[i] * d ** 4;
    }
  }
  return out;
}

interface QuadProblem {
  name: string;
  logits: number[];
  values: number[];
}

const quadProblems: QuadProblem[] = [
  { name: 'one Bernoulli, φ = 0.8', logits: [0.8], values: [0.3, 1.1] },
  { name: 'one Bernoulli, φ = −1.3', logits: [-1.3], values: [2.0, -0.5] },
  { name: 'two Bernoullis, φ = (−1.2, 0.5)', logits: [-1.2, 0.5], values: [0.3, 1.1, -0.2, 0.9] },
  { name: 'two Bernoullis, φ = (2.5, −0.3)', logits: [2.5, -0.3], values: [1.0, -1.5, 0.7, 2.2] },
];

const quad = suite('arm: exact moments by quadrature over the uniforms');

quad('the exact mean is the closed-form gradient (ARM, DisARM, Bernoulli AR)', () => {
  for (const p of quadProblems) {
    const f = tableFunction('bernoulli', p.values);
    const exact = bernoulliTableGradient(p.logits, p.values).data;
    for (const est of [armEstimator, disarmEstimator, arEstimator]) {
      const m = momentsByQuadrature(est, p.logits, f);
      // a few hundred roundings of numbers of size ≤ 3: 1e-14 is ≈ 50 ulps
      assertClose(m.mean, exact, 1e-14, `${est.name}, ${p.name}: mean`);
    }
  }
});

quad('the rule is exact: 3 and 9 nodes per panel agree, and quadratureMoments agrees', () => {
  for (const p of quadProblems) {
    const f = tableFunction('bernoulli', p.values);
    for (const est of [armEstimator, disarmEstimator]) {
      const three = momentsByQuadrature(est, p.logits, f, 3);
      const nine = momentsByQuadrature(est, p.logits, f, 9);
      assertClose(three.variance, nine.variance, 1e-14, `${est.name}, ${p.name}: variance`);
      assertClose(three.fourth, nine.fourth, 1e-14, `${est.name}, ${p.name}: fourth moment`);
      const breakpoints = p.logits.map((t) => [sigma(t), sigma(-t)]);
      const library = quadratureMoments(est, bernoulli(tensor(p.logits)), f, { blocks: 1, nodes: 3, breakpoints });
      // quadratureMoments forms E[ĝ²] − E[ĝ]², a sum over ≤ 324 points then a cancellation:
      // ≤ 324 ε E[ĝ²] ≈ 1e-13 for E[ĝ²] ≤ 1.5 here
      assertClose(library.variance.logits.data, three.variance, 1e-13, `${est.name}, ${p.name}: quadratureMoments`);
    }
  }
});

quad("DisARM's exact variance is never above ARM's", () => {
  for (const p of quadProblems) {
    const f = tableFunction('bernoulli', p.values);
    const a = momentsByQuadrature(armEstimator, p.logits, f).variance;
    const d = momentsByQuadrature(disarmEstimator, p.logits, f).variance;
    for (let j = 0; j < a.length; j++) {
      assert.ok(d[j] <= a[j] + 1e-15, `${p.name}, coordinate ${j}: DisARM ${d[j]} > ARM ${a[j]}`);
    }
  }
});

quad('the spec-written references reproduce the library on the same seed', () => {
  const f = tableFunction('bernoulli', quadProblems[2].values);
  const dist = bernoulli(tensor(quadProblems[2].logits));
  for (const [lib, ref] of [[armEstimator, armReference], [disarmEstimator, disarmReference]] as const) {
    const a = estimateGradient(lib, dist, f, rng(3), { n: 500 }).perSample.logits.data;
    const b = estimateGradient(ref, dist, f, rng(3), { n: 500 }).perSample.logits.data;
    assertClose(a, b, 1e-15, `${lib.name} vs ${ref.name}`);
  }
});

quad('broken variants, exactly: a flipped sign and σ(φ) are biased; the uncentred ARM is unbiased with ¼E[Δ²] more variance', () => {
  for (const p of quadProblems) {
    const f = tableFunction('bernoulli', p.values);
    const exact = bernoulliTableGradient(p.logits, p.values).data;
    const flipped = momentsByQuadrature(armSignFlipped, p.logits, f).mean;
    for (let j = 0; j < exact.length; j++) assert.ok(Math.abs(flipped[j] + exact[j]) < 1e-14, `${p.name}: sign-flipped mean is −exact`);
    const uncentred = momentsByQuadrature(armUncentred, p.logits, f);
    const centred = momentsByQuadrature(armEstimator, p.logits, f);
    assertClose(uncentred.mean, exact, 1e-14, `${p.name}: the uncentred ARM is unbiased`);
    // E[Δ u] = E[Δ (u − ½)] since E[Δ] = 0 (Δ = f(b) − f(b̃) is odd under u → 1 − u), and
    // Var gains E[Δ²(u² − (u − ½)²)] = E[Δ²(u − ¼)] = ¼E[Δ²], as E[Δ² u] = ½E[Δ²] by the same symmetry.
    const deltaSquared = pairEstimator('Δ² (spec)', ({ u, fb, fbt }) => mul(square(sub(fb, fbt)), onesLike(u)));
    const delta2 = momentsByQuadrature(deltaSquared, p.logits, f).mean;
    for (let j = 0; j < exact.length; j++) {
      assert.ok(Math.abs(uncentred.variance[j] - centred.variance[j] - delta2[j] / 4) < 1e-14, `${p.name}: variance gap ¼E[Δ²]`);
    }
  }
  // σ(φ) for σ(|φ|) changes nothing where φ > 0, and is biased where φ < 0.
  const p = quadProblems[2];
  const wrong = momentsByQuadrature(disarmSigmaPhi, p.logits, tableFunction('bernoulli', p.values)).mean;
  const exact = bernoulliTableGradient(p.logits, p.values).data;
  assert.ok(Math.abs(wrong[0] - exact[0]) > 0.01, `σ(φ) at φ = −1.2: ${wrong[0]} vs ${exact[0]}`);
  assert.ok(Math.abs(wrong[1] - exact[1]) < 1e-14, 'σ(φ) at φ = 0.5 is σ(|φ|)');
});

quad.run();

// ---------------------------------------------------------------- Monte Carlo variance against the exact variance

const VARIANCE_DRAWS = 40000;
const VARIANCE_TESTS = 6; // ARM and DisARM on [0.8] and on [−1.2, 0.5]: 1 + 2 coordinates each
const VARIANCE_Q = normalQuantile(1 - 1e-4 / VARIANCE_TESTS / 2);

/**
 * z-scores of the sample variance of `draws` single-sample estimates against
 * the exact variance. The sample variance s² of N draws has mean σ² and
 * variance (μ₄ − σ⁴ (N − 3)/(N − 1)) / N; with the exact μ₄ from quadrature
 * and N = 40 000, s² is normal to a good approximation (it is an average of
 * N bounded terms).
 */
function varianceZ(estimator: Estimator<undefined>, logits: number[], f: SampleFunction, exact: ExactMoments, seed: number): number[] {
  const N = VARIANCE_DRAWS;
  const g = estimateGradient(estimator, bernoulli(tensor(logits)), f, rng(seed), { n: N }).perSample.logits.data;
  const D = logits.length;
  return Array.from({ length: D }, (_, j) => {
    let m = 0;
    for (let i = 0; i < N; i++) m += g[i * D + j] / N;
    let s2 = 0;
    for (let i = 0; i < N; i++) s2 += (g[i * D + j] - m) ** 2 / (N - 1);
    const sigma2 = exact.variance[j];
    const se = Math.sqrt((exact.fourth[j] - sigma2 * sigma2 * (N - 3) / (N - 1)) / N);
    return (s2 - sigma2) / se;
  });
}

const variance = suite('arm: Monte Carlo variance against the exact variance');

variance('ARM and DisARM on one and two Bernoullis', () => {
  let tests = 0;
  for (const p of [quadProblems[0], quadProblems[2]]) {
    const f = tableFunction('bernoulli', p.values);
    for (const [k, est] of [armEstimator, disarmEstimator].entries()) {
      const exact = momentsByQuadrature(est, p.logits, f);
      const z = varianceZ(est, p.logits, f, exact, 100 + k);
      z.forEach((zj, j) => {
        tests++;
        assert.ok(Math.abs(zj) < VARIANCE_Q, `${est.name}, ${p.name}, coordinate ${j}: z = ${zj.toFixed(2)} beyond ±${VARIANCE_Q.toFixed(2)}`);
      });
    }
  }
  assert.is(tests, VARIANCE_TESTS);
});

variance('the same check rejects the uncentred ARM (u for u − ½)', () => {
  for (const p of [quadProblems[0], quadProblems[2]]) {
    const f = tableFunction('bernoulli', p.values);
    const exact = momentsByQuadrature(armEstimator, p.logits, f);
    const z = varianceZ(armUncentred, p.logits, f, exact, 200);
    assert.ok(z.every((zj) => zj > VARIANCE_Q), `${p.name}: z = ${z.map((x) => x.toFixed(1))} should all exceed ${VARIANCE_Q.toFixed(2)}`);
  }
});

variance.run();

// ---------------------------------------------------------------- unbiased against enumeration: fixed problems

const unbiased = suite('arm: unbiased against exact enumeration');

const bernoulliFixed = [
  bernoulliProblem([0.7, -1.2, 2.0], tableFunction('bernoulli', [0.3, 1.1, -0.2, 0.9, 2.0, -1.0, 0.5, 0.0])),
  bernoulliProblem([-0.4, 1.5], quadraticFunction([0.499, 0.2])),
];
const categoricalFixed = [
  categoricalProblem([0.1, -0.3, 0.7, 1.5], tableFunction('categorical', [1.0, 0.2, -0.5, 3.0])),
  categoricalProblem([[0.1, -0.3, 0.7], [1.0, 0.0, -1.0]], tableFunction('categoricals', [1, 0.2, -0.5, 3, 0, 1, 2, -2, 0.5], { classes: 3 })),
];

function assertUnbiased(est: Estimator<undefined>, problem: CheckProblem, seed: number): void {
  const r = checkUnbiased(est, problem, { samples: SAMPLES, seed, alpha: ALPHA });
  assert.ok(r.unbiasedVerdict, `${est.name}: rejected, z = ${r.coordinates.map((c) => c.z.toFixed(2)).join(', ')}`);
}

function assertRejected(est: Estimator<undefined>, problem: CheckProblem, seed: number): void {
  const r = checkUnbiased(est, problem, { samples: SAMPLES, seed, alpha: ALPHA });
  assert.not.ok(r.unbiasedVerdict, `${est.name} should be rejected; max |z| = ${r.maxAbsZ.toFixed(2)}`);
}

unbiased('ARM, DisARM and Bernoulli AR on a table and a quadratic', () => {
  bernoulliFixed.forEach((p, i) => {
    assertUnbiased(armEstimator, p, 10 + i);
    assertUnbiased(disarmEstimator, p, 20 + i);
  });
  assertUnbiased(arEstimator, bernoulliFixed[0], 30);
});

unbiased('categorical AR and ARSM on one categorical and on a product of two', () => {
  categoricalFixed.forEach((p, i) => {
    assertUnbiased(arEstimator, p, 40 + i);
    assertUnbiased(arsmEstimator, p, 50 + i);
  });
});

unbiased('broken variants are rejected at the same sample size', () => {
  assertRejected(armSignFlipped, bernoulliFixed[0], 10);
  assertRejected(disarmSigmaPhi, bernoulliFixed[0], 20);
  assertRejected(arMixedConvention, bernoulliFixed[0], 30);
  assertRejected(arDropsK, categoricalFixed[0], 40);
  assertRejected(arsmWrongWeight, categoricalFixed[0], 50);
});

unbiased('the categorical references match the library on the same seed; ARSM matches the paper transcription', () => {
  for (const p of categoricalFixed) {
    const a = estimateGradient(arEstimator, p.dist, p.f, rng(7), { n: 300 }).perSample.logits.data;
    const b = estimateGradient(arCategoricalReference, p.dist, p.f, rng(7), { n: 300 }).perSample.logits.data;
    assertClose(a, b, 1e-15, 'AR vs its spec reference');
    const c = estimateGradient(arsmEstimator, p.dist, p.f, rng(8), { n: 300 }).perSample.logits.data;
    const d = estimateGradient(arsmReference, p.dist, p.f, rng(8), { n: 300 }).perSample.logits.data;
    // sums of ≤ 9 terms of size ≤ 4 in another order: 1e-13 is tens of ulps
    assertClose(c, d, 1e-13, 'ARSM vs the transcription');
  }
});

unbiased.run();

// ---------------------------------------------------------------- unbiased: properties over random problems

const RUNS = 12;
const PROPERTY_SAMPLES = 10000;

interface RandomProblem {
  logits: number[];
  table: number[] | null;
  target: number[] | null;
  seed: number;
}

const double = (min: number, max: number) => fc.double({ min, max, noNaN: true });

/** Products of 1..4 Bernoullis (logits in [−4, 4]) with a random table or quadratic. */
const bernoulliProblems: fc.Arbitrary<RandomProblem> = fc.integer({ min: 1, max: 4 }).chain((D) =>
  fc.record({
    logits: fc.array(double(-4, 4), { minLength: D, maxLength: D }),
    table: fc.option(fc.array(double(-3, 3), { minLength: 2 ** D, maxLength: 2 ** D }), { nil: null }),
    target: fc.array(double(-1, 2), { minLength: D, maxLength: D }),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  }));

/** Categoricals with K in 2..6 (logits in [−4, 4]) with a random table or quadratic. */
const categoricalProblems: fc.Arbitrary<RandomProblem> = fc.integer({ min: 2, max: 6 }).chain((K) =>
  fc.record({
    logits: fc.array(double(-4, 4), { minLength: K, maxLength: K }),
    table: fc.option(fc.array(double(-3, 3), { minLength: K, maxLength: K }), { nil: null }),
    target: fc.array(double(-1, 2), { minLength: K, maxLength: K }),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  }));

function propertyFor(est: Estimator<undefined>, family: 'bernoulli' | 'categorical', seed: number): void {
  const problems = family === 'bernoulli' ? bernoulliProblems : categoricalProblems;
  fc.assert(
    fc.property(problems, (p) => {
      const f = p.table !== null ? tableFunction(family, p.table) : quadraticFunction(p.target as number[]);
      const problem = family === 'bernoulli' ? bernoulliProblem(p.logits, f) : categoricalProblem(p.logits, f);
      const r = checkUnbiased(est, problem, { samples: PROPERTY_SAMPLES, seed: p.seed, alpha: 1e-4 / RUNS });
      if (!r.unbiasedVerdict) {
        throw new Error(`${est.name} rejected on logits [${p.logits}]: z = ${r.coordinates.map((c) => c.z.toFixed(2))}`);
      }
    }),
    { numRuns: RUNS, seed, endOnFailure: true },
  );
}

const property = suite('arm: unbiased on random problems (fast-check)');

property('ARM on products of 1..4 Bernoullis', () => propertyFor(armEstimator, 'bernoulli', 401));
property('DisARM on products of 1..4 Bernoullis', () => propertyFor(disarmEstimator, 'bernoulli', 402));
property('AR on products of 1..4 Bernoullis', () => propertyFor(arEstimator, 'bernoulli', 403));
property('AR on categoricals, K in 2..6', () => propertyFor(arEstimator, 'categorical', 404));
property('ARSM on categoricals, K in 2..6', () => propertyFor(arsmEstimator, 'categorical', 405));

property.run();

// ---------------------------------------------------------------- plumbing

const plumbing = suite('arm: surrogate plumbing');

const plumbingCases: [Estimator<undefined>, CheckProblem][] = [
  [armEstimator, bernoulliFixed[0]],
  [disarmEstimator, bernoulliFixed[0]],
  [arEstimator, bernoulliFixed[1]],
  [arEstimator, categoricalFixed[1]],
  [arsmEstimator, categoricalFixed[1]],
];

plumbing('tiled per-sample estimates average to the plain surrogate’s gradient on the same seed', () => {
  for (const [est, p] of plumbingCases) {
    const logits = (p.dist as { logits: Tensor }).logits;
    const plain = valueAndGrad((t: Tensor) => est.surrogate({ family: p.dist.family, logits: t } as Dist, p.f, rng(11), { n: 64 }).surrogate)(logits);
    const tiled = estimateGradient(est, p.dist, p.f, rng(11), { n: 64 });
    assertClose(tiled.gradient.logits.data, plain.grad.data, 1e-13, `${est.name} (${p.dist.family}) gradient`);
    assert.ok(Math.abs(tiled.value - plain.value.item()) < 1e-13, `${est.name}: value`);
  }
});

plumbing("the surrogate's value is the mean of f, and gradients reach parameters upstream of θ", () => {
  for (const [est, p] of plumbingCases) {
    const logits = (p.dist as { logits: Tensor }).logits;
    const s = est.surrogate(p.dist, p.f, rng(12), { n: 50 });
    assert.ok(Math.abs(s.surrogate.item() - mean(s.values).item()) < 1e-14, `${est.name}: value`);
    // θ = 2w − 1: ∂/∂w = 2 ∂/∂θ on the same noise
    const byTheta = valueAndGrad((t: Tensor) => est.surrogate({ family: p.dist.family, logits: t } as Dist, p.f, rng(12), { n: 50 }).surrogate)(logits).grad;
    const w = div(add(logits, 1), 2);
    const byW = valueAndGrad((x: Tensor) => est.surrogate({ family: p.dist.family, logits: sub(mul(x, 2), 1) } as Dist, p.f, rng(12), { n: 50 }).surrogate)(w).grad;
    assertClose(byW.data, Array.from(byTheta.data, (g) => 2 * g), 1e-13, `${est.name}: chain rule`);
  }
});

plumbing('options.noise gives the same estimates as replaying it through the generator', () => {
  const p = bernoulliFixed[0];
  const u = rng(13).uniform([40, 3]);
  for (const [run, est] of [[arm, armEstimator], [disarm, disarmEstimator], [ar, arEstimator]] as const) {
    const viaNoise = valueAndGrad((t: Tensor) => run(bernoulli(t), p.f, rng(0), { n: 40, noise: u }).surrogate)(tensor([0.7, -1.2, 2.0])).grad;
    const viaRng = valueAndGrad((t: Tensor) => est.surrogate(bernoulli(t), p.f, new ScriptedRng(u.data), { n: 40 }).surrogate)(tensor([0.7, -1.2, 2.0])).grad;
    assertClose(viaNoise.data, viaRng.data, 0, `${est.name}`);
  }
});

plumbing('errors', () => {
  const f = tableFunction('bernoulli', [0, 1]);
  const cat = categorical(tensor([0, 1, 2]));
  assert.throws(() => arm(cat, tableFunction('categorical', [0, 1, 2]), rng(0)), (e: Error) => e instanceof RangeError && /^arm: does not support the categorical family/.test(e.message));
  assert.throws(() => disarm(normal(tensor([0]), tensor([1])), f, rng(0)), (e: Error) => /^disarm: does not support the normal family/.test(e.message));
  assert.throws(() => arsm(bernoulli(tensor([0])), f, rng(0)), (e: Error) => /^arsm: does not support the bernoulli family/.test(e.message));
  assert.throws(() => ar(normal(tensor([0]), tensor([1])), f, rng(0)), (e: Error) => /^ar: does not support the normal family; it supports bernoulli, categorical/.test(e.message));
  assert.throws(() => arm(bernoulli(tensor([0])), f, rng(0), { n: 0 }), (e: Error) => e instanceof RangeError && /^arm: n must be/.test(e.message));
  assert.throws(() => arm(bernoulli(tensor([0])), f, rng(0), { n: 2, noise: tensor([[0.5]]) }), (e: Error) => e instanceof RangeError && /^arm: options.noise must have shape \[n, ...event\] = \[2,1\], got \[1,1\]/.test(e.message));
  assert.throws(() => arm(bernoulli(tensor([0])), f, rng(0), { n: 1, noise: tensor([[1]]) }), (e: Error) => /^arm: options.noise must hold uniforms in the open interval \(0, 1\), got 1/.test(e.message));
  assert.throws(() => ar(cat, tableFunction('categorical', [0, 1, 2]), rng(0), { n: 1, noise: tensor([[0.5, 0.5, 0.5]]) }), (e: Error) => /^ar: each row of options.noise must sum to 1/.test(e.message));
  assert.throws(() => ar(cat, tableFunction('categorical', [0, 1, 2]), rng(0), { n: 1, noise: tensor([[1, 0, 0]]) }), (e: Error) => /^ar: options.noise must be a Dirichlet sample with positive entries, got 0/.test(e.message));
  assert.throws(() => arm(bernoulli(tensor([0])), (x: Tensor) => x, rng(0), { n: 3 }), (e: Error) => /^arm: f must map samples/.test(e.message));
  // n·K²·|E| pseudo-actions: K = 5000 would need 1.25e11 numbers; refused before any allocation, naming itself.
  const wide = categorical(zeros([5000]));
  assert.throws(() => arsm(wide, quadraticFunction(new Array(5000).fill(0)), rng(0)), (e: Error) => e instanceof RangeError && /^arsm: n·K² pseudo-actions of 5000 numbers each make 125000000000 numbers \(n = 1, K = 5000\), over the limit of 2\^30; use fewer samples per call, or 'ar'/.test(e.message));
  assert.throws(() => arsm(categorical(zeros([64])), quadraticFunction(new Array(64).fill(0)), rng(0), { n: 5000 }), (e: Error) => /^arsm: .* \(n = 5000, K = 64\)/.test(e.message));
});

plumbing.run();
