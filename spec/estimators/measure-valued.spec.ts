// estimators/measure-valued.ts: weak-derivative gradients for the normal,
// Bernoulli and categorical families, and the two samplers it needs
// (Rng.weibull and Rng.doubleSidedMaxwell in lib/random.ts).
//   samplers: Kolmogorov–Smirnov against their CDFs, and the coupling fact
//     U·M ∼ N(0, 1); a wrong sampler is rejected by each check;
//   unbiased: checkUnbiased against closed forms (normal: quadratic, Σ sin x,
//     Σ x³; coupled and uncoupled) and against enumeration (lib/exact) for
//     products of Bernoullis, categoricals and products of categoricals; the
//     single categorical and the single Bernoulli are exact (zero variance);
//     a fast-check property over random problems of all three families;
//     variants with a wrong constant c_θ are rejected at the same sample size;
//   coupling: common random numbers lower the scale estimate's variance;
//   plumbing: per-sample (tiled) estimates equal the plain surrogate's
//     gradient on the same seed, the value is f(x), gradients reach
//     parameters upstream of θ and f's own parameters, f is called once on
//     the documented batch;
//   errors.
//
// False positives. Sampler checks: level 1e-5 each (6 of them). Fixed
// estimator checks: family-wise α = 1e-5 each over their coordinates (Holm),
// 13 of them; 8 one-sided variance comparisons at 1e-3. The property: 24
// random problems at α = 1e-4 / 24 each, so it fails a correct estimator
// with probability ≤ 1e-4. In all, a correct implementation fails this file
// with probability ≤ 1% (Bonferroni, mostly the variance comparisons); the
// seeds are fixed, so the suite is deterministic. Zero-variance checks
// (exact estimates) compare to the exact gradient within 1e-9 relative.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, rng, add, sub, mul, div, sum, sin, pow, grad, stopGradient, sigmoid, softmax, sqrt,
  normal, bernoulli, categorical, paramsOf, withParams, sample, estimateGradient, checkUnbiased, normalCdf,
  type Dist, type Estimator, type SampleFunction, type CheckProblem,
} from '../../index.ts';
import { measureValued, measureValuedEstimator } from '../../estimators/measure-valued.ts';
import { quadraticFunction, tableFunction } from '../../lib/functions.ts';
import { exactGradient, type DiscreteFamily } from '../../lib/exact.ts';
import { ksTest } from '../../lib/stats.ts';
import { column, varianceGapZ } from '../harness/variance.ts';

const SAMPLES = 20000;
const ALPHA = 1e-5;

// ---------------------------------------------------------------- samplers

const samplers = suite('measure-valued: Weibull and double-sided Maxwell samplers (KS, α = 1e-5)');

const N_KS = 20000;
// With n = 2e4, √n·D ≈ 2.47 gives p = 1e-5, i.e. power against CDF errors of
// about 0.014. Each wrong sampler below is off by ≥ 0.07 somewhere
// (√n·D ≥ 10, p < 1e-80).

const weibullCdf = (scale: number, k: number) => (x: number) => (x <= 0 ? 0 : -Math.expm1(-Math.pow(x / scale, k)));
const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
/** Standard double-sided Maxwell: density x² φ(x), CDF Φ(x) − x φ(x) (its derivative is x² φ(x)). */
const maxwellCdf = (loc: number, scale: number) => (x: number) => {
  const z = (x - loc) / scale;
  return normalCdf(z) - z * phi(z);
};

samplers('weibull(√2, 2) is the Rayleigh law 1 − e^{−x²/2}; rejects swapped parameters (scale 2, concentration √2)', () => {
  const x = rng(1).weibull([N_KS], Math.SQRT2, 2).data;
  assert.ok(ksTest(x, weibullCdf(Math.SQRT2, 2)).pValue > ALPHA);
  assert.ok(ksTest(x, (t) => (t <= 0 ? 0 : -Math.expm1(-t * t / 2))).pValue > ALPHA);
  const wrong = rng(1).weibull([N_KS], 2, Math.SQRT2).data; // off by 0.08 near x = 1
  assert.ok(ksTest(wrong, weibullCdf(Math.SQRT2, 2)).pValue < ALPHA);
});

samplers('weibull(1.5, 0.7) (heavy-tailed shape) fits its CDF', () => {
  const x = rng(2).weibull([N_KS], 1.5, 0.7).data;
  assert.ok(ksTest(x, weibullCdf(1.5, 0.7)).pValue > ALPHA);
});

samplers('doubleSidedMaxwell(0, 1) fits Φ(x) − xφ(x); rejects a signed Rayleigh (χ₂ for χ₃)', () => {
  const m = rng(3).doubleSidedMaxwell([N_KS]).data;
  assert.ok(ksTest(m, maxwellCdf(0, 1)).pValue > ALPHA);
  const r = rng(3);
  const rayleigh = r.weibull([N_KS], Math.SQRT2, 2).data;
  const signs = r.uniform([N_KS]).data;
  const wrong = rayleigh.map((v, i) => (signs[i] < 0.5 ? -v : v)); // off by 0.1 near |x| = 1
  assert.ok(ksTest(wrong, maxwellCdf(0, 1)).pValue < ALPHA);
});

samplers('doubleSidedMaxwell(loc 1.5, scale 0.4) fits its CDF', () => {
  const m = rng(4).doubleSidedMaxwell([N_KS], 1.5, 0.4).data;
  assert.ok(ksTest(m, maxwellCdf(1.5, 0.4)).pValue > ALPHA);
});

samplers('the coupling: U·M is standard normal for M double-sided Maxwell, U uniform; U²·M is rejected', () => {
  const r = rng(5);
  const m = r.doubleSidedMaxwell([N_KS]).data;
  const u = r.uniform([N_KS]).data;
  assert.ok(ksTest(m.map((v, i) => u[i] * v), normalCdf).pValue > ALPHA);
  assert.ok(ksTest(m.map((v, i) => u[i] * u[i] * v), normalCdf).pValue < ALPHA); // off by 0.12 near |x| = 0.5
});

samplers('errors', () => {
  const r = rng(0);
  assert.throws(() => r.weibull([2], 0, 2), /^weibull: scale must be positive and finite, got 0/);
  assert.throws(() => r.weibull([2], 1, -1), /^weibull: concentration must be positive and finite, got -1/);
  assert.throws(() => r.doubleSidedMaxwell([2], NaN), /^doubleSidedMaxwell: loc must be finite, got NaN/);
  assert.throws(() => r.doubleSidedMaxwell([2], 0, 0), /^doubleSidedMaxwell: scale must be positive and finite, got 0/);
  assert.throws(() => r.weibull([-1]), /^weibull: invalid shape/);
});

samplers.run();

// ---------------------------------------------------------------- problems

type NormalKind = 'quadratic' | 'sine' | 'cubic';

/**
 * Closed forms for x ∼ N(μ, σ²) per coordinate:
 *   Σ (x − t)²:  ∂μ = 2(μ − t),             ∂σ = 2σ
 *   Σ sin x:     ∂μ = cos μ e^{−σ²/2},       ∂σ = −σ sin μ e^{−σ²/2}   (E sin x = sin μ e^{−σ²/2})
 *   Σ x³:        ∂μ = 3μ² + 3σ²,             ∂σ = 6μσ                  (E x³ = μ³ + 3μσ²)
 */
function normalProblem(kind: NormalKind, loc: number[], scale: number[], target: number[] = loc.map(() => 0)): CheckProblem {
  const f: SampleFunction = kind === 'quadratic' ? quadraticFunction(target) : kind === 'sine' ? (x) => sum(sin(x), 1) : (x) => sum(pow(x, 3), 1);
  const exact = loc.map((mu, j) => {
    const s = scale[j];
    const damp = Math.exp(-s * s / 2);
    if (kind === 'quadratic') return [2 * (mu - target[j]), 2 * s];
    if (kind === 'sine') return [Math.cos(mu) * damp, -s * Math.sin(mu) * damp];
    return [3 * mu * mu + 3 * s * s, 6 * mu * s];
  });
  return { dist: normal(tensor(loc), tensor(scale)), f, exactGradient: { loc: tensor(exact.map((e) => e[0])), scale: tensor(exact.map((e) => e[1])) } };
}

/** A discrete problem with its exact gradient by enumeration. */
function discreteProblem(family: DiscreteFamily, logits: Tensor, f: SampleFunction): CheckProblem {
  const dist = family === 'bernoulli' ? bernoulli(logits) : categorical(logits);
  return { dist, f, exactGradient: { logits: exactGradient(family, logits, f) } };
}

const sines = (n: number, phase: number) => Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + phase) * 2);

// ---------------------------------------------------------------- variants

/** The estimator with options fixed (the uncoupled one is a real option, not a bug). */
const uncoupled: Estimator<undefined> = { ...measureValuedEstimator, name: 'measure-valued-uncoupled', surrogate: (d, f, r, o) => measureValued(d, f, r, { ...o, coupled: false }) };

/**
 * A broken variant: the estimate of each parameter multiplied by `factor(θ)`
 * (a wrong constant c_θ), through the chain rule: θ' = sg(θ) + k ⊙ (θ − sg(θ))
 * has θ's value and passes k ⊙ ĝ back to θ.
 */
function wrongConstant(name: string, factor: (key: string, theta: Tensor, dist: Dist) => Tensor | number, base: Estimator<undefined> = measureValuedEstimator): Estimator<undefined> {
  return {
    ...base,
    name,
    surrogate: (dist, f, r, options) => {
      const params = paramsOf(dist);
      const warped: Record<string, Tensor> = {};
      for (const key of Object.keys(params)) {
        const theta = params[key];
        const k = factor(key, stopGradient(theta), dist);
        warped[key] = add(stopGradient(theta), mul(k, sub(theta, stopGradient(theta))));
      }
      return base.surrogate(withParams(dist, warped), f, r, options);
    },
  };
}

// mean: c = 1/(σ√π) instead of 1/(σ√(2π)); scale: c = 1/σ² instead of 1/σ.
const wrongMeanC = wrongConstant('mvd-mean-c-1/(σ√π)', (key) => (key === 'loc' ? Math.SQRT2 : 1));
const wrongScaleC = wrongConstant('mvd-scale-c-1/σ²', (key, _theta, dist) => (key === 'scale' ? div(1, stopGradient((dist as { scale: Tensor }).scale)) : 1));
// Bernoulli: c = p instead of p(1 − p). Categorical: c = p_k(1 − p_k) instead of p_k.
const wrongBernoulliC = wrongConstant('mvd-bernoulli-c-p', (_key, theta) => div(1, sigmoid(mul(theta, -1))));
const wrongCategoricalC = wrongConstant('mvd-categorical-c-p(1-p)', (_key, theta) => sub(1, softmax(theta, -1)));

// ---------------------------------------------------------------- unbiased: normal

const normalSuite = suite('measure-valued: normal, against closed forms (Holm, α = 1e-5)');

const normalFixed: [string, CheckProblem][] = [
  ['Σ(x − t)²', normalProblem('quadratic', [0.5, -1, 0.2], [1, 0.5, 2], [2, 0, -1])],
  ['Σ sin x', normalProblem('sine', [0.3, -2, 1.2], [0.7, 1.5, 0.4])],
  ['Σ x³', normalProblem('cubic', [0.5, -0.8], [1.2, 0.6])],
];

for (const [i, [name, problem]] of normalFixed.entries()) {
  normalSuite(`${name}: coupled and uncoupled pass; a wrong c for the mean and for the scale are rejected`, () => {
    for (const est of [measureValuedEstimator, uncoupled]) {
      const ok = checkUnbiased(est, problem, { samples: SAMPLES, seed: 30 + i, alpha: ALPHA });
      assert.ok(ok.unbiasedVerdict, `${est.name}: max |z| = ${ok.maxAbsZ}`);
    }
    // A √2 on the mean's c, or a 1/σ on the scale's (σ ≠ 1 on some coordinate), moves a gradient of
    // order 1 by a third or more, against a stderr of ≈ 0.01–0.03 at 2e4 samples: measured max |z| 29–120.
    for (const bad of [wrongMeanC, wrongScaleC]) {
      const out = checkUnbiased(bad, problem, { samples: SAMPLES, seed: 30 + i, alpha: ALPHA });
      assert.not.ok(out.unbiasedVerdict, `${bad.name} passed on ${name}: max |z| = ${out.maxAbsZ}`);
    }
  });
}

normalSuite.run();

// ---------------------------------------------------------------- unbiased: discrete

const discreteSuite = suite('measure-valued: bernoulli and categorical, against enumeration (Holm, α = 1e-5)');

const discreteFixed: [string, CheckProblem, Estimator<undefined>][] = [
  ['3 Bernoullis, table', discreteProblem('bernoulli', tensor([0.3, -1, 2]), tableFunction('bernoulli', [1, -2, 0.5, 3, 0, 1, -1, 2])), wrongBernoulliC],
  ['4 Bernoullis, quadratic', discreteProblem('bernoulli', tensor([-1, 3.5, 0, 2]), quadraticFunction([0.2, 0.9, -0.5, 0.5])), wrongBernoulliC],
  ['1 Bernoulli, (b − 0.499)² (exact)', discreteProblem('bernoulli', tensor([0.4]), quadraticFunction([0.499])), wrongBernoulliC],
  ['categorical K = 4, table (exact)', discreteProblem('categorical', tensor([0.1, -0.3, 0.7, -2]), tableFunction('categorical', [1, 0.2, -0.5, 2])), wrongCategoricalC],
  ['categorical K = 5, quadratic (exact)', discreteProblem('categorical', tensor([1, -1, 0.5, 0, 2]), quadraticFunction([0.3, 0, 1, -0.5, 0.2])), wrongCategoricalC],
  ['2 categoricals of 3, table', discreteProblem('categoricals', tensor([[0.3, -1, 2], [1, 0, -1]]), tableFunction('categoricals', sines(9, 0), { classes: 3 })), wrongCategoricalC],
  ['a batch of 3 categoricals of 2, quadratic', discreteProblem('categoricals', tensor([[0.5, -0.5], [2, 1], [-1, 0.3]]), quadraticFunction([0.8, 0.1])), wrongCategoricalC],
];

for (const [i, [name, problem, broken]] of discreteFixed.entries()) {
  discreteSuite(`${name}: passes; ${broken.name} is rejected`, () => {
    // Measured max |z| of the broken variant: 60 and 265 where the estimate has variance; infinite (or
    // ~1e18) where it is exact up to rounding, since a wrong c is then off by far more than rounding.
    const ok = checkUnbiased(measureValuedEstimator, problem, { samples: SAMPLES, seed: 50 + i, alpha: ALPHA });
    assert.ok(ok.unbiasedVerdict, `max |z| = ${ok.maxAbsZ}`);
    const bad = checkUnbiased(broken, problem, { samples: SAMPLES, seed: 50 + i, alpha: ALPHA });
    assert.not.ok(bad.unbiasedVerdict, `${broken.name} passed: max |z| = ${bad.maxAbsZ}`);
  });
}

discreteSuite('one categorical: every per-sample estimate is the exact gradient p_k (f(e_k) − E f)', () => {
  const logits = tensor([0.1, -0.3, 0.7, -2]);
  const values = [1, 0.2, -0.5, 2];
  const f = tableFunction('categorical', values);
  const p = softmax(logits).toArray() as number[];
  const mean = p.reduce((acc, pk, k) => acc + pk * values[k], 0);
  const out = estimateGradient(measureValuedEstimator, categorical(logits), f, rng(8), { n: 16 });
  const g = out.perSample.logits.data;
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 4; k++) assert.ok(Math.abs(g[i * 4 + k] - p[k] * (values[k] - mean)) < 1e-15, `sample ${i}, class ${k}`);
  }
});

discreteSuite('property: random problems (Bernoullis D 1..4, categoricals K 2..6, products of categoricals, normals), family-wise α = 1e-4', () => {
  const runs = 24;
  const logit = fc.double({ min: -4, max: 4, noNaN: true });
  const value = fc.double({ min: -2, max: 2, noNaN: true });
  const arb = fc.oneof(
    fc.integer({ min: 1, max: 4 }).chain((D) =>
      fc.record({ family: fc.constant('bernoulli' as const), logits: fc.array(logit, { minLength: D, maxLength: D }), table: fc.boolean(), values: fc.array(value, { minLength: 2 ** D, maxLength: 2 ** D }), target: fc.array(value, { minLength: D, maxLength: D }) }),
    ),
    fc.integer({ min: 2, max: 6 }).chain((K) =>
      fc.record({ family: fc.constant('categorical' as const), logits: fc.array(logit, { minLength: K, maxLength: K }), table: fc.boolean(), values: fc.array(value, { minLength: K, maxLength: K }), target: fc.array(value, { minLength: K, maxLength: K }) }),
    ),
    fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 2, max: 4 })).chain(([D, K]) =>
      fc.record({ family: fc.constant('categoricals' as const), D: fc.constant(D), K: fc.constant(K), logits: fc.array(logit, { minLength: D * K, maxLength: D * K }), values: fc.array(value, { minLength: K ** D, maxLength: K ** D }) }),
    ),
    fc.integer({ min: 1, max: 3 }).chain((D) =>
      fc.record({
        family: fc.constant('normal' as const),
        kind: fc.constantFrom<NormalKind>('quadratic', 'sine', 'cubic'),
        loc: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: D, maxLength: D }),
        scale: fc.array(fc.double({ min: 0.3, max: 2, noNaN: true }), { minLength: D, maxLength: D }),
        target: fc.array(value, { minLength: D, maxLength: D }),
      }),
    ),
  );
  fc.assert(
    fc.property(arb, fc.nat(1e6), (spec, seed) => {
      let problem: CheckProblem;
      if (spec.family === 'normal') problem = normalProblem(spec.kind, spec.loc, spec.scale, spec.target);
      else if (spec.family === 'categoricals') problem = discreteProblem('categoricals', tensor(spec.logits, [spec.D, spec.K]), tableFunction('categoricals', spec.values, { classes: spec.K }));
      else problem = discreteProblem(spec.family, tensor(spec.logits), spec.table ? tableFunction(spec.family, spec.values) : quadraticFunction(spec.target));
      return checkUnbiased(measureValuedEstimator, problem, { samples: SAMPLES, seed, alpha: 1e-4 / runs }).unbiasedVerdict;
    }),
    { seed: 777, numRuns: runs },
  );
});

discreteSuite.run();

// ---------------------------------------------------------------- plumbing

const plumbing = suite('measure-valued: per-sample estimates, values, chain rule, cost');

const plumbingCases: [string, Dist, SampleFunction][] = [
  ['normal', normal(tensor([0.3, -0.7]), tensor([1.2, 0.5])), (x) => sum(sin(x), 1)],
  ['bernoulli', bernoulli(tensor([0.3, -1, 2])), tableFunction('bernoulli', [1, -2, 0.5, 3, 0, 1, -1, 2])],
  ['categoricals', categorical(tensor([[0.3, -1, 2], [1, 0, -1]])), tableFunction('categoricals', sines(9, 1), { classes: 3 })],
];

for (const [name, dist, f] of plumbingCases) {
  plumbing(`${name}: per-sample estimates average to the plain surrogate gradient on the same seed`, () => {
    const n = 40;
    const tiled = estimateGradient(measureValuedEstimator, dist, f, rng(9), { n });
    const plain = grad((params: Record<string, Tensor>) => measureValued(withParams(dist, params), f, rng(9), { n }).surrogate)(paramsOf(dist));
    for (const key of Object.keys(plain)) {
      assert.equal(tiled.perSample[key].shape, [n, ...plain[key].shape]);
      const a = tiled.gradient[key].data;
      const b = plain[key].data;
      // The same draws and the same arithmetic, summed in another order: a few ulps of O(1) terms.
      for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) < 1e-12, `${key}[${j}]: ${a[j]} vs ${b[j]}`);
    }
  });
}

plumbing('the value is f at the samples; gradients reach parameters upstream of the logits and f’s own parameters', () => {
  const n = 30;
  const table = tableFunction('bernoulli', [1, -2, 0.5, 3]);
  const phi = tensor([0.2, -0.4]);
  const w = tensor(1.5);
  const build = (q: Tensor) => bernoulli(add(mul(q, 2), 1)); // logits = 2φ + 1
  const f = (weight: Tensor): SampleFunction => (x) => mul(table(x), weight);
  const s = measureValued(build(phi), f(w), rng(4), { n });
  const b = sample(build(phi), rng(4), n);
  const fb = table(b).data;
  const meanF = fb.reduce((acc, v) => acc + v, 0) / n;
  assert.ok(Math.abs(s.surrogate.item() - 1.5 * meanF) < 1e-12);
  assert.equal(Array.from(s.values.data), Array.from(fb, (v) => 1.5 * v));
  const both = grad((q: { phi: Tensor; w: Tensor }) => measureValued(build(q.phi), f(q.w), rng(4), { n }).surrogate)({ phi, w });
  const direct = grad((logits: Tensor) => measureValued(bernoulli(logits), f(w), rng(4), { n }).surrogate)(add(mul(phi, 2), 1));
  (both.phi.toArray() as number[]).forEach((v, j) => assert.ok(Math.abs(v - 2 * direct.data[j]) < 1e-12));
  assert.ok(Math.abs(both.w.item() - meanF) < 1e-12); // ∂/∂w mean(w·table(b)) = mean table(b)
});

plumbing('f is called once, on one batch: n(1 + 4D) points for D normals, n(1 + D) for D Bernoullis, n(1 + M(K − 1)) for M categoricals', () => {
  const n = 10;
  const cases: [Dist, number[]][] = [
    [normal(tensor([0, 1]), tensor([1, 2])), [n * 9, 2]],
    [bernoulli(tensor([0, 1, -1])), [n * 4, 3]],
    [categorical(tensor([[0, 1, -1], [2, 0, 0]])), [n * 5, 2, 3]],
    [categorical(tensor([0, 1, -1, 0.5])), [n * 4, 4]],
  ];
  for (const [dist, shape] of cases) {
    const calls: number[][] = [];
    measureValued(dist, (x) => {
      calls.push([...x.shape]);
      return sum(x, [...Array(x.rank - 1).keys()].map((a) => a + 1));
    }, rng(1), { n });
    assert.equal(calls, [shape]);
  }
});

plumbing('Bernoulli points: each extra point is the sample with exactly one bit flipped', () => {
  const n = 6;
  let seen: Tensor | undefined;
  measureValued(bernoulli(tensor([0.5, -0.5, 1])), (x) => {
    seen = x;
    return sum(x, 1);
  }, rng(2), { n });
  const x = (seen as Tensor).data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) {
      const row = 3 * (n + 3 * i + j);
      for (let c = 0; c < 3; c++) assert.is(x[row + c], c === j ? 1 - x[3 * i + c] : x[3 * i + c]);
    }
  }
});

plumbing('the registry entry', () => {
  assert.is(measureValuedEstimator.name, 'measure-valued');
  assert.is(measureValuedEstimator.unbiased, true);
  assert.equal([...measureValuedEstimator.families].sort(), ['bernoulli', 'categorical', 'normal']);
  assert.is(measureValuedEstimator.iidSamples, true);
});

plumbing.run();

// ---------------------------------------------------------------- variance of the coupling

const coupling = suite('measure-valued: coupling lowers the scale estimate’s variance (one-sided z, α = 1e-3)');

coupling('Σ(x − t)² and Σ sin x: uncoupled variance exceeds coupled per scale coordinate; the reverse is not claimed', () => {
  // Measured at n = 1e5 (seed 1): quadratic 13.1 / 10.0 coupled vs 44.0 / 38.0 uncoupled;
  // sine 0.20 / 0.29 vs 0.99 / 1.06. At n = 2e4 the gap is over 15 standard errors.
  const dist = normal(tensor([0.5, -1]), tensor([1, 0.5]));
  const critical = 3.090232306167813; // Φ⁻¹(1 − 1e-3)
  const fs: SampleFunction[] = [quadraticFunction([2, 0.5]), (x) => sum(sin(x), 1)];
  for (const [i, f] of fs.entries()) {
    const n = 20000;
    const a = estimateGradient(measureValuedEstimator, dist, f, rng(60 + i), { n }).perSample.scale;
    const b = estimateGradient(uncoupled, dist, f, rng(70 + i), { n }).perSample.scale;
    for (let j = 0; j < 2; j++) {
      const z = varianceGapZ(column(b, j), column(a, j));
      assert.ok(z > critical, `f ${i}, scale[${j}]: z = ${z}`);
      assert.not.ok(varianceGapZ(column(a, j), column(b, j)) > critical);
    }
  }
});

coupling.run();

// ---------------------------------------------------------------- errors

const errors = suite('measure-valued: errors');

errors('bad descriptors, scales, options and f', () => {
  const f = quadraticFunction([0, 0]);
  assert.throws(() => measureValued(null as never, f, rng(0)), (e: Error) => e instanceof TypeError && /^measureValued: expected a distribution descriptor/.test(e.message));
  assert.throws(() => measureValued({ family: 'poisson' } as never, f, rng(0)), /^measureValued: does not support the poisson family; it supports normal, bernoulli, categorical/);
  assert.throws(() => measureValued(normal(tensor([0, 0]), tensor([0, 1])), f, rng(0)), /^measureValued: the normal scale must be positive and finite, got 0/);
  for (const [bad, index] of [[-0.5, 0], [NaN, 1], [Infinity, 1]] as const) {
    const scale = index === 0 ? [bad, 1] : [1, bad];
    assert.throws(() => measureValued(normal(tensor([0, 0]), tensor(scale)), f, rng(0)), (e: Error) => e instanceof RangeError && e.message === `measureValued: the normal scale must be positive and finite, got ${bad} at index ${index}`, String(bad));
  }
  assert.throws(() => measureValued(normal(tensor([0, 0]), [1, 1] as never), f, rng(0)), (e: Error) => e instanceof TypeError && e.message === 'measureValued: the normal scale must be a Tensor');
  assert.throws(() => measureValued(normal(tensor([0, 0]), sqrt(tensor([1, 1]))), f, rng(0), { coupled: 'yes' as never }), (e: Error) => e instanceof TypeError && /^measureValued: coupled must be true or false, got yes/.test(e.message));
  assert.throws(() => measureValued(bernoulli(tensor([0, 0])), (x) => x, rng(0), { n: 2 }), /^measureValued: f must map samples \[n, \.\.\.\] to values \[n\] = \[6\], got shape \[6,2\]/);
  assert.throws(() => measureValued(bernoulli(tensor([0, 0])), f, rng(0), { n: 1.5 }), /^measureValued: n must be an integer ≥ 1, got 1.5/);
});

errors.run();
