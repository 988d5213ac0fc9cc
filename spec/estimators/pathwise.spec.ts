// estimators/pathwise.ts: the reparameterization estimator for the Normal,
// and for the other laws with rsample (Gumbel, Exponential, the binary and
// K-class Concrete).
//   unbiased: checkUnbiased against closed-form gradients of E[f(loc + scale·ε)]
//     for a quadratic, Σ sin x and Σ x³, and a fast-check property over random
//     problems; two broken variants (the scale's path dropped, and the ε
//     factor of ∂x/∂σ dropped) are rejected at the same sample size;
//   other families: checkUnbiased against closed forms (Gumbel, Exponential:
//     E[x], E[x²]) and against Gauss–Legendre quadrature over the noise for
//     the Concrete families (itself checked against closed forms: E[z] of
//     the binary Concrete at τ = 1, and K = 2 as the binary one), with batch
//     shapes, and a property over random problems; one broken variant per
//     family (a stopped scale, the E factor of ∂x/∂λ dropped, the gradient
//     taken at τ = 1) is rejected at the same sample size;
//   plumbing: per-sample (tiled) estimates average to the plain surrogate's
//     gradient on the same seed, for every family and batch shapes; the value
//     is f(x); gradients reach parameters upstream of (loc, scale);
//   variance: lower than REINFORCE's on a Gaussian quadratic (Xu et al. 2018),
//     by a z-test on the two sample variances;
//   errors: discrete families, non-positive scales, rates and temperatures,
//     f of the wrong shape; every other estimator refuses the new families.
//
// False positives. Each fixed-problem check runs at family-wise α = 1e-5 over
// its coordinates (Holm); each property runs 16 problems at α = 1e-4 / 16
// each, so a property fails a correct estimator with probability ≤ 1e-4.
// The variance comparisons are one-sided at α = 1e-5 (4 coordinates, each
// tested for the gap and against two false claims: 12 tests). With the 8
// fixed checks, a correct implementation fails this file with probability
// ≤ 2e-4 + 1.2e-4 + 8e-5 = 4e-4; the seeds are fixed, so the suite is
// deterministic.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, rng, add, sub, mul, div, sum, sin, exp, log, neg, pow, greater, grad, stopGradient, sigmoid, softmax, logSoftmax, reshape,
  normal, bernoulli, categorical, gumbel, exponential, relaxedBernoulli, relaxedCategorical, estimateGradient, checkUnbiased, reinforceNone, normalQuantile,
  estimators, eventShape, paramsOf, withParams, unitRule, productRule, Gumbel, Exponential, RelaxedBernoulli, RelaxedCategorical,
  type Estimator, type SampleFunction, type NormalDist, type GumbelDist, type ExponentialDist, type RelaxedBernoulliDist, type RelaxedCategoricalDist,
  type ReparameterizedDist, type CheckProblem, type Descriptor, type Rng,
} from '../../index.ts';
import { pathwise, pathwiseEstimator } from '../../estimators/pathwise.ts';
import { quadraticFunction } from '../../lib/functions.ts';
import { column, varianceGapZ } from '../harness/variance.ts';

const SAMPLES = 20000;
const ALPHA = 1e-5;

// ---------------------------------------------------------------- closed-form problems

interface NormalProblem {
  name: string;
  loc: number[];
  scale: number[];
  f: SampleFunction;
  /** ∂/∂loc and ∂/∂scale of E[f(x)], x ∼ N(loc, scale²) per coordinate. */
  exact: (mu: number, sigma: number, j: number) => [number, number];
}

/** f(x) = Σ (x − t)²:  E = Σ (μ − t)² + σ², so ∂μ = 2(μ − t), ∂σ = 2σ. */
function quadraticProblem(loc: number[], scale: number[], target: number[]): NormalProblem {
  return { name: `quadratic, t = [${target}]`, loc, scale, f: quadraticFunction(target), exact: (mu, sigma, j) => [2 * (mu - target[j]), 2 * sigma] };
}

/** f(x) = Σ sin x:  E[sin x] = sin μ · e^{−σ²/2}, so ∂μ = cos μ e^{−σ²/2}, ∂σ = −σ sin μ e^{−σ²/2}. */
function sineProblem(loc: number[], scale: number[]): NormalProblem {
  return {
    name: 'Σ sin x',
    loc,
    scale,
    f: (x) => sum(sin(x), 1),
    exact: (mu, sigma) => [Math.cos(mu) * Math.exp(-sigma * sigma / 2), -sigma * Math.sin(mu) * Math.exp(-sigma * sigma / 2)],
  };
}

/** f(x) = Σ x³:  E[x³] = μ³ + 3μσ², so ∂μ = 3μ² + 3σ², ∂σ = 6μσ. */
function cubicProblem(loc: number[], scale: number[]): NormalProblem {
  return { name: 'Σ x³', loc, scale, f: (x) => sum(pow(x, 3), 1), exact: (mu, sigma) => [3 * mu * mu + 3 * sigma * sigma, 6 * mu * sigma] };
}

function checkProblem(p: NormalProblem) {
  const dist = normal(tensor(p.loc), tensor(p.scale));
  const pairs = p.loc.map((mu, j) => p.exact(mu, p.scale[j], j));
  return { dist, f: p.f, exactGradient: { loc: tensor(pairs.map((q) => q[0])), scale: tensor(pairs.map((q) => q[1])) } };
}

const fixed: NormalProblem[] = [
  quadraticProblem([0.5, -1, 0.2], [1, 0.5, 2], [2, 0, -1]),
  sineProblem([0.3, -2, 1.2], [0.7, 1.5, 0.4]),
  cubicProblem([0.5, -0.8], [1.2, 0.6]),
];

// ---------------------------------------------------------------- broken variants

/** Builds an estimator from a surrogate function (for variants written in this spec). */
function variant(name: string, surrogate: Estimator<undefined>['surrogate']): Estimator<undefined> {
  return { ...pathwiseEstimator, name, surrogate };
}

/** Bug: x = loc + stopGradient(scale)·ε, so no gradient reaches the scale. */
const droppedScale = variant('pathwise-dropped-scale', (dist, f, r, options) => {
  const d = dist as NormalDist;
  const shape = [options.n ?? 1, ...(options.tiled ? d.loc.shape.slice(1) : d.loc.shape)];
  const x = add(d.loc, mul(stopGradient(d.scale), r.normal(shape)));
  const fx = f(x);
  return { surrogate: sum(fx), perSample: fx, values: stopGradient(fx), state: undefined };
});

/** Bug: ∂x/∂σ taken as 1 instead of ε (the noise factor of the scale term dropped). */
const droppedNoise = variant('pathwise-dropped-noise', (dist, f, r, options) => {
  const d = dist as NormalDist;
  const shape = [options.n ?? 1, ...(options.tiled ? d.loc.shape.slice(1) : d.loc.shape)];
  const scale = stopGradient(d.scale);
  const x = add(add(d.loc, mul(scale, r.normal(shape))), sub(d.scale, scale)); // value loc + σε, ∂x/∂σ = 1
  const fx = f(x);
  return { surrogate: sum(fx), perSample: fx, values: stopGradient(fx), state: undefined };
});

// ---------------------------------------------------------------- unbiased

const unbiased = suite('pathwise: unbiased against closed forms (Holm, α = 1e-5)');

for (const [i, p] of fixed.entries()) {
  unbiased(`${p.name}: passes; both broken variants are rejected at the same sample size`, () => {
    const problem = checkProblem(p);
    const ok = checkUnbiased(pathwiseEstimator, problem, { samples: SAMPLES, seed: 10 + i, alpha: ALPHA });
    assert.ok(ok.unbiasedVerdict, `max |z| = ${ok.maxAbsZ}`);
    // Every scale gradient above is far from 0 and from E[f'(x)] (the dropped-noise mean), in units of the stderr.
    for (const broken of [droppedScale, droppedNoise]) {
      const bad = checkUnbiased(broken, problem, { samples: SAMPLES, seed: 10 + i, alpha: ALPHA });
      assert.not.ok(bad.unbiasedVerdict, `${broken.name} passed on ${p.name}: max |z| = ${bad.maxAbsZ}`);
    }
  });
}

unbiased('property: random normal problems (D in 1..4; quadratic, sine, cubic), family-wise α = 1e-4', () => {
  const runs = 16;
  const arb = fc.record({
    kind: fc.constantFrom('quadratic', 'sine', 'cubic'),
    coords: fc.array(
      fc.record({ loc: fc.double({ min: -2, max: 2, noNaN: true }), scale: fc.double({ min: 0.3, max: 2, noNaN: true }), target: fc.double({ min: -2, max: 2, noNaN: true }) }),
      { minLength: 1, maxLength: 4 },
    ),
    seed: fc.nat(1e6),
  });
  fc.assert(
    fc.property(arb, ({ kind, coords, seed }) => {
      const loc = coords.map((c) => c.loc);
      const scale = coords.map((c) => c.scale);
      const p = kind === 'quadratic' ? quadraticProblem(loc, scale, coords.map((c) => c.target)) : kind === 'sine' ? sineProblem(loc, scale) : cubicProblem(loc, scale);
      const out = checkUnbiased(pathwiseEstimator, checkProblem(p), { samples: SAMPLES, seed, alpha: 1e-4 / runs });
      return out.unbiasedVerdict;
    }),
    { seed: 4242, numRuns: runs },
  );
});

unbiased.run();

// ---------------------------------------------------------------- the other reparameterizable families

const EULER_GAMMA = 0.5772156649015329;

interface ContinuousProblem {
  name: string;
  dist: ReparameterizedDist;
  f: SampleFunction;
  exactGradient: Record<string, Tensor>;
}

// Quadrature rules on (0, 1): one axis of the binary Concrete's noise is cheap, so its rule is fine
// (~1e-15 against the closed form); the Concrete's product rule has K axes, and this one gives its
// references to ~3e-7 (against the closed form at K = 2, and a finer rule at K = 3). Both are far
// below the Monte Carlo standard errors (~1e-3).
const LINE_RULE = unitRule(20, [], 6);
const AXIS_RULE = unitRule(8, [], 3);
const FINER_AXIS_RULE = unitRule(10, [], 5);

/** Gumbel(μ, β), f = Σ (x − t)²: E = π²β²/6 + (μ + γβ − t)², so ∂μ = 2(μ + γβ − t), ∂β = π²β/3 + 2γ(μ + γβ − t). */
function gumbelProblem(loc: number[], scale: number[], target: number[]): ContinuousProblem {
  const bias = loc.map((mu, j) => mu + EULER_GAMMA * scale[j] - target[j]);
  return {
    name: `gumbel, quadratic, t = [${target}]`,
    dist: gumbel(tensor(loc), tensor(scale)),
    f: quadraticFunction(target),
    exactGradient: { loc: tensor(bias.map((b) => 2 * b)), scale: tensor(scale.map((beta, j) => (Math.PI * Math.PI * beta) / 3 + 2 * EULER_GAMMA * bias[j])) },
  };
}

/** Exponential(λ), f = Σ (x − t)²: E[x] = 1/λ and E[x²] = 2/λ², so E = 2/λ² − 2t/λ + t² and ∂λ = −4/λ³ + 2t/λ². */
function exponentialProblem(rate: number[], target: number[]): ContinuousProblem {
  return {
    name: `exponential, quadratic, t = [${target}]`,
    dist: exponential(tensor(rate)),
    f: quadraticFunction(target),
    exactGradient: { rate: tensor(rate.map((l, j) => -4 / l ** 3 + (2 * target[j]) / l ** 2)) },
  };
}

/**
 * E[z] of the binary Concrete at τ = 1 in closed form: z = σ(l + L) = a u / (1 − u + a u)
 * with a = e^l and u uniform, and ∫₀¹ a u / (1 + (a − 1) u) du = a (a − 1 − l)/(a − 1)².
 * Its derivative is a (l (a + 1) − 2(a − 1))/(a − 1)³ (→ 1/6 = E[u(1 − u)] as l → 0;
 * the forms cancel near l = 0, so the problems keep |l| ≥ 0.3).
 */
const concreteMean = (l: number): number => (Math.exp(l) * (Math.exp(l) - 1 - l)) / (Math.exp(l) - 1) ** 2;
const concreteMeanSlope = (l: number): number => (Math.exp(l) * (l * (Math.exp(l) + 1) - 2 * (Math.exp(l) - 1))) / (Math.exp(l) - 1) ** 3;

/**
 * E[f(z)] of a relaxed family by Gauss–Legendre over the noise's uniforms
 * (lib/quadrature, panels graded toward 0 and 1), with z written here from
 * the definition rather than through lib/distributions:
 *   σ((l + log u − log(1 − u))/τ),  or  softmax((logSoftmax(l) + G)/τ), G_k = −log(−log u_k).
 * f must be a sum over the coordinates (rows of a Concrete), so that they can
 * share one noise point: E[f] = Σ_i w_i f(z(u_i)). Differentiable in l.
 */
function quadratureExpectation(dist: RelaxedBernoulliDist | RelaxedCategoricalDist, f: SampleFunction, logits: Tensor, axis = dist.family === 'relaxed-bernoulli' ? LINE_RULE : AXIS_RULE): Tensor {
  const ones = (rank: number) => Array.from({ length: rank }, () => 1);
  if (dist.family === 'relaxed-bernoulli') {
    const u = tensor(axis.nodes);
    const noise = reshape(sub(log(u), log(sub(1, u))), [u.size, ...ones(logits.rank)]);
    return sum(mul(tensor(axis.weights), f(sigmoid(div(add(logits, noise), dist.temperature)))));
  }
  const K = logits.shape[logits.rank - 1];
  const rule = productRule(Array.from({ length: K }, () => axis));
  const g = neg(log(neg(log(tensor(rule.points, [rule.count, K])))));
  const noise = reshape(g, [rule.count, ...ones(logits.rank - 1), K]);
  return sum(mul(tensor(rule.weights), f(softmax(div(add(logSoftmax(logits, -1), noise), dist.temperature), -1))));
}

function relaxedProblem(name: string, dist: RelaxedBernoulliDist | RelaxedCategoricalDist, f: SampleFunction): ContinuousProblem {
  return { name, dist, f, exactGradient: { logits: grad((l: Tensor) => quadratureExpectation(dist, f, l))(dist.logits) } };
}

/** A continuous problem as checkUnbiased takes it: its exact gradient is given, since it cannot be enumerated. */
const asCheck = (p: ContinuousProblem): CheckProblem<Descriptor> => p;

const linear = (w: number[]): SampleFunction => (x) => sum(mul(x, tensor(w)), [...Array(x.rank - 1).keys()].map((a) => a + 1));

/** Broken variants, each a pathwise written in this spec with a wrong x = T(θ, ε) on the family's own noise. */
function broken(name: string, sample: (dist: any, r: Rng, shape: number[]) => Tensor): Estimator<undefined, ReparameterizedDist> {
  return {
    ...pathwiseEstimator,
    name,
    surrogate: (dist, f, r, options) => {
      const fx = f(sample(dist, r, [options.n ?? 1, ...eventShape(dist, options.tiled)]));
      return { surrogate: sum(fx), perSample: fx, values: stopGradient(fx), state: undefined };
    },
  };
}

/** The value carried by `value`, the gradient by `path` (a derivative bug that leaves the samples right). */
const valueWithPath = (value: Tensor, path: Tensor) => add(stopGradient(value), sub(path, stopGradient(path)));

// x = μ + stop(β)·G: no gradient reaches the scale.
const gumbelStoppedScale = broken('pathwise-gumbel-stopped-scale', (d: GumbelDist, r, shape) => add(d.loc, mul(stopGradient(d.scale), r.gumbel(shape))));
// x = E/λ, but ∂x/∂λ = −1/λ² (the E factor dropped).
const exponentialDroppedNoise = broken('pathwise-exponential-dropped-noise', (d: ExponentialDist, r, shape) => {
  const inverse = div(1, d.rate);
  return valueWithPath(mul(r.exponential(shape), inverse), inverse);
});
// z = σ((l + G)/τ): Gumbel noise where the binary Concrete has logistic noise (a wrong law at every τ).
const relaxedBernoulliGumbelNoise = broken('pathwise-relaxed-bernoulli-gumbel-noise', (d: RelaxedBernoulliDist, r, shape) => sigmoid(div(add(d.logits, r.gumbel(shape)), d.temperature)));
// z = σ((l + L)/τ), but the gradient of σ(l + L): the temperature left out of the path.
const relaxedBernoulliHotPath = broken('pathwise-relaxed-bernoulli-hot-path', (d: RelaxedBernoulliDist, r, shape) => {
  const t = add(d.logits, r.logistic(shape));
  return valueWithPath(sigmoid(div(t, d.temperature)), sigmoid(t));
});
// The same for the Concrete: the value at τ, the gradient of softmax(logSoftmax(l) + G).
const relaxedCategoricalHotPath = broken('pathwise-relaxed-categorical-hot-path', (d: RelaxedCategoricalDist, r, shape) => {
  const s = add(logSoftmax(d.logits, -1), r.gumbel(shape));
  return valueWithPath(softmax(div(s, d.temperature), -1), softmax(s, -1));
});

const continuous: (ContinuousProblem & { broken: Estimator<undefined, ReparameterizedDist> })[] = [
  { ...gumbelProblem([0.5, -1, 0.2], [1, 0.5, 2], [2, 0, -1]), broken: gumbelStoppedScale },
  { ...exponentialProblem([0.5, 2, 1.3], [1, 0, 2]), broken: exponentialDroppedNoise },
  // τ = 1, linear f: the closed form, no quadrature. Batch [2, 2].
  {
    name: 'relaxed-bernoulli [2, 2], τ = 1, Σ w z (closed form)',
    dist: relaxedBernoulli(tensor([[-1.5, 0.7], [2, -0.4]]), 1),
    f: linear([1, -2]),
    exactGradient: { logits: tensor([[concreteMeanSlope(-1.5), -2 * concreteMeanSlope(0.7)], [concreteMeanSlope(2), -2 * concreteMeanSlope(-0.4)]]) },
    broken: relaxedBernoulliGumbelNoise,
  },
  { ...relaxedProblem('relaxed-bernoulli, τ = 0.5, quadratic', relaxedBernoulli(tensor([-1.2, 0.3, 1.8]), 0.5), quadraticFunction([0.2, 0.9, 0.5])), broken: relaxedBernoulliHotPath },
  {
    ...relaxedProblem('relaxed-categorical [2, 3], τ = 0.7, quadratic', relaxedCategorical(tensor([[0.5, -1, 0.3], [-0.2, 1.1, 0.4]]), 0.7), quadraticFunction([0.9, 0.1, 0.3])),
    broken: relaxedCategoricalHotPath,
  },
];

const others = suite('pathwise: Gumbel, Exponential and the Concrete families against closed forms and quadrature (Holm, α = 1e-5)');

others('the quadrature references reproduce closed forms: E[z] of the binary Concrete at τ = 1, and a Concrete of K = 2 is the binary one of the logit difference', () => {
  const logits = tensor([-1.5, 0.7, 2]);
  const identity: SampleFunction = (z) => sum(z, 1);
  const dist = relaxedBernoulli(logits, 1);
  const value = quadratureExpectation(dist, identity, logits).item();
  const slope = grad((l: Tensor) => quadratureExpectation(dist, identity, l))(logits).toArray() as number[];
  assert.ok(Math.abs(value - [-1.5, 0.7, 2].reduce((acc, l) => acc + concreteMean(l), 0)) < 1e-12, `E[Σ z] = ${value}`);
  [-1.5, 0.7, 2].forEach((l, j) => assert.ok(Math.abs(slope[j] - concreteMeanSlope(l)) < 1e-12, `∂/∂l[${j}] = ${slope[j]}`));
  // softmax([s0, s1])_1 = σ(s1 − s0) and G1 − G0 is standard logistic: ∂/∂l E[y_1] = ±slope(l1 − l0).
  const pair = tensor([[0.2, 0.9], [1.1, -0.5]]);
  const g = grad((l: Tensor) => quadratureExpectation(relaxedCategorical(pair, 1), linear([0, 1]), l))(pair).toArray() as number[][];
  [[0.2, 0.9], [1.1, -0.5]].forEach(([l0, l1], b) => {
    const s = concreteMeanSlope(l1 - l0);
    assert.ok(Math.abs(g[b][1] - s) < 1e-6 && Math.abs(g[b][0] + s) < 1e-6, `row ${b}: ${g[b]} against ±${s}`);
  });
  // K = 3: a finer rule moves the reference by less than 1e-6.
  const dist3 = relaxedCategorical(tensor([0.5, -1, 0.3]), 0.7);
  const f3 = quadraticFunction([0.9, 0.1, 0.3]);
  const coarse = grad((l: Tensor) => quadratureExpectation(dist3, f3, l))(dist3.logits).data;
  const finer = grad((l: Tensor) => quadratureExpectation(dist3, f3, l, FINER_AXIS_RULE))(dist3.logits).data;
  coarse.forEach((v, j) => assert.ok(Math.abs(v - finer[j]) < 1e-6, `logits[${j}]: ${v} against ${finer[j]}`));
});

for (const [i, p] of continuous.entries()) {
  others(`${p.name}: passes; ${p.broken.name} is rejected at the same sample size`, () => {
    const ok = checkUnbiased(pathwiseEstimator, asCheck(p), { samples: SAMPLES, seed: 30 + i, alpha: ALPHA });
    assert.ok(ok.unbiasedVerdict, `max |z| = ${ok.maxAbsZ}`);
    const bad = checkUnbiased(p.broken, asCheck(p), { samples: SAMPLES, seed: 30 + i, alpha: ALPHA });
    assert.not.ok(bad.unbiasedVerdict, `${bad.estimator} passed on ${p.name}: max |z| = ${bad.maxAbsZ}`);
  });
}

others('property: random problems of every family (1..3 coordinates, K in 2..3, τ in [0.5, 2]), family-wise α = 1e-4', () => {
  const runs = 16;
  const arb = fc.record({
    family: fc.constantFrom('gumbel', 'exponential', 'relaxed-bernoulli', 'relaxed-categorical'),
    coords: fc.array(
      fc.record({ a: fc.double({ min: -2, max: 2, noNaN: true }), b: fc.double({ min: 0.3, max: 2, noNaN: true }), target: fc.double({ min: 0, max: 1, noNaN: true }) }),
      { minLength: 2, maxLength: 3 },
    ),
    temperature: fc.double({ min: 0.5, max: 2, noNaN: true }),
    seed: fc.nat(1e6),
  });
  fc.assert(
    fc.property(arb, ({ family, coords, temperature, seed }) => {
      const a = coords.map((c) => c.a);
      const b = coords.map((c) => c.b);
      const target = coords.map((c) => c.target);
      const p =
        family === 'gumbel' ? gumbelProblem(a, b, target)
        : family === 'exponential' ? exponentialProblem(b, target)
        : family === 'relaxed-bernoulli' ? relaxedProblem('random', relaxedBernoulli(tensor(a), temperature), quadraticFunction(target))
        : relaxedProblem('random', relaxedCategorical(tensor(a), temperature), quadraticFunction(target));
      return checkUnbiased(pathwiseEstimator, asCheck(p), { samples: SAMPLES, seed, alpha: 1e-4 / runs }).unbiasedVerdict;
    }),
    { seed: 4343, numRuns: runs },
  );
});

others.run();

// ---------------------------------------------------------------- plumbing

const plumbing = suite('pathwise: per-sample estimates, values, chain rule');

plumbing('per-sample estimates average to the plain surrogate gradient on the same seed', () => {
  const p = fixed[1];
  const dist = normal(tensor(p.loc), tensor(p.scale));
  const n = 64;
  const tiled = estimateGradient(pathwiseEstimator, dist, p.f, rng(7), { n });
  const plain = grad((params: { loc: Tensor; scale: Tensor }) => pathwise(normal(params.loc, params.scale), p.f, rng(7), { n }).surrogate)({ loc: dist.loc, scale: dist.scale });
  assert.equal(tiled.perSample.loc.shape, [n, 3]);
  // Same noise, same sums in another order: agreement to a few ulps of the O(1) entries.
  for (const key of ['loc', 'scale'] as const) {
    (tiled.gradient[key].toArray() as number[]).forEach((v, j) => assert.ok(Math.abs(v - (plain[key].toArray() as number[])[j]) < 1e-12, `${key}[${j}]`));
  }
});

plumbing('the value is f(x); gradients reach parameters upstream of (loc, scale)', () => {
  const f = quadraticFunction([1, -1]);
  const n = 50;
  const phi = { a: tensor([0.4, -0.2]), b: tensor([0.1, 0.3]) };
  // loc = 2a, scale = exp(b): ∂/∂a = 2 ∂/∂loc and ∂/∂b = scale ⊙ ∂/∂scale, on the same noise.
  const build = (q: typeof phi) => normal(mul(q.a, 2), exp(q.b));
  const s = pathwise(build(phi), f, rng(3), { n });
  const x = add(mul(phi.a, 2), mul(exp(phi.b), rng(3).normal([n, 2])));
  assert.ok(Math.abs(s.surrogate.item() - sum(f(x)).item() / n) < 1e-12);
  const upstream = grad((q: typeof phi) => pathwise(build(q), f, rng(3), { n }).surrogate)(phi);
  const direct = grad((q: { loc: Tensor; scale: Tensor }) => pathwise(normal(q.loc, q.scale), f, rng(3), { n }).surrogate)({ loc: mul(phi.a, 2), scale: exp(phi.b) });
  const expectA = mul(direct.loc, 2).toArray() as number[];
  const expectB = mul(direct.scale, exp(phi.b)).toArray() as number[];
  (upstream.a.toArray() as number[]).forEach((v, j) => assert.ok(Math.abs(v - expectA[j]) < 1e-12));
  (upstream.b.toArray() as number[]).forEach((v, j) => assert.ok(Math.abs(v - expectB[j]) < 1e-12));
});

plumbing('the registry entry', () => {
  assert.is(pathwiseEstimator.name, 'pathwise');
  assert.is(pathwiseEstimator.unbiased, true);
  assert.equal([...pathwiseEstimator.families], ['normal', 'gumbel', 'exponential', 'relaxed-bernoulli', 'relaxed-categorical']);
  assert.is(pathwiseEstimator.iidSamples, true);
});

// Batch shapes: a [2, 3] Gumbel, three Exponentials, a [2, 2] binary Concrete, two Concretes of K = 3.
const batched: { dist: ReparameterizedDist; law: (p: Record<string, Tensor>) => { rsample(r: Rng, n?: number): Tensor } }[] = [
  { dist: gumbel(tensor([[0.5, -1, 0.2], [0, 1, 2]]), tensor([[1, 0.5, 2], [0.3, 1, 1.5]])), law: (p) => new Gumbel(p.loc, p.scale) },
  { dist: exponential(tensor([0.5, 2, 1.3])), law: (p) => new Exponential(p.rate) },
  { dist: relaxedBernoulli(tensor([[-1, 0.4], [1.7, 0]]), 0.5), law: (p) => new RelaxedBernoulli(p.logits, 0.5) },
  { dist: relaxedCategorical(tensor([[0.5, -1, 0.3], [-0.2, 1.1, 0.4]]), 0.7), law: (p) => new RelaxedCategorical(p.logits, 0.7) },
];

plumbing('every family: x is the law’s rsample; per-sample estimates [n, ...θ] average to the plain surrogate gradient on the same seed', () => {
  const f: SampleFunction = (x) => sum(sin(mul(x, 3)), [...Array(x.rank - 1).keys()].map((a) => a + 1));
  const n = 64;
  for (const { dist, law } of batched) {
    const params = paramsOf(dist);
    const s = pathwise(dist, f, rng(7), { n });
    const x = law(params).rsample(rng(7), n);
    assert.ok(Math.abs(s.surrogate.item() - sum(f(x)).item() / n) < 1e-12, `${dist.family}: the value is f at the law's sample`);
    const tiled = estimateGradient(pathwiseEstimator, dist, f, rng(7), { n });
    const plain = grad((q: Record<string, Tensor>) => pathwise(withParams(dist, q), f, rng(7), { n }).surrogate)(params);
    for (const key of Object.keys(params)) {
      assert.equal(tiled.perSample[key].shape, [n, ...params[key].shape], `${dist.family}.${key}`);
      const want = plain[key].data;
      tiled.gradient[key].data.forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-12, `${dist.family}.${key}[${j}]: ${v} against ${want[j]}`));
      assert.ok(want.some((v) => v !== 0), `${dist.family}.${key}: a gradient reaches the parameter`);
    }
  }
});

plumbing.run();

// ---------------------------------------------------------------- variance (Xu et al. 2018)

const variance = suite('pathwise: variance below the score function on a Gaussian quadratic (one-sided, α = 1e-5)');

variance('per coordinate, REINFORCE’s variance exceeds pathwise’s; the test does not claim the reverse, nor a gap between two pathwise runs', () => {
  // f(x) = Σ(x − t)²: pathwise ĝ_μ = 2(x − t), variance 4σ²; REINFORCE ĝ_μ = f(x)(x − μ)/σ², whose
  // variance grows like (μ − t)⁴/σ². Both estimates are independent (different seeds).
  const dist = normal(tensor([0.5, -1]), tensor([1, 0.5]));
  const f = quadraticFunction([2, 0.5]);
  const n = 20000;
  const path = estimateGradient(pathwiseEstimator, dist, f, rng(21), { n }).perSample;
  const path2 = estimateGradient(pathwiseEstimator, dist, f, rng(22), { n }).perSample;
  const score = estimateGradient(reinforceNone, dist, f, rng(23), { n }).perSample;
  const critical = normalQuantile(1 - 1e-5);
  for (const key of ['loc', 'scale'] as const) {
    for (let j = 0; j < 2; j++) {
      const z = varianceGapZ(column(score[key], j), column(path[key], j));
      assert.ok(z > critical, `${key}[${j}]: z = ${z}`);
      assert.not.ok(varianceGapZ(column(path[key], j), column(score[key], j)) > critical);
      assert.not.ok(varianceGapZ(column(path2[key], j), column(path[key], j)) > critical);
    }
  }
});

variance.run();

// ---------------------------------------------------------------- errors

const errors = suite('pathwise: errors');

errors('discrete families are not reparameterizable, and say what to use', () => {
  const f: SampleFunction = (x) => sum(x, 1);
  assert.throws(() => pathwise(bernoulli(tensor([0.1, 0.2])), f, rng(0)), (e: Error) => e instanceof RangeError && /^pathwise: the bernoulli family is not reparameterizable.*measure-valued/.test(e.message));
  assert.throws(() => pathwise(categorical(tensor([0.1, 0.2])), f, rng(0)), (e: Error) => e instanceof RangeError && /^pathwise: the categorical family is not reparameterizable/.test(e.message));
  assert.throws(() => pathwise({ family: 'poisson' } as never, f, rng(0)), /^pathwise: does not support the poisson family; it supports normal/);
  assert.throws(() => pathwise(null as never, f, rng(0)), (e: Error) => e instanceof TypeError && /^pathwise: expected a distribution descriptor/.test(e.message));
});

errors('scales must be positive; f must return [n]; n must be a positive integer', () => {
  const f = quadraticFunction([0, 0]);
  assert.throws(() => pathwise(normal(tensor([0, 0]), tensor([1, -0.5])), f, rng(0)), /^pathwise: the normal scale must be positive and finite, got -0.5/);
  assert.throws(() => pathwise(normal(tensor([0, 0]), tensor([1, 1])), (x) => x, rng(0), { n: 3 }), /^pathwise: f must map samples \[n, \.\.\.\] to values \[n\] = \[3\], got shape \[3,2\]/);
  assert.throws(() => pathwise(normal(tensor([0, 0]), tensor([1, 1])), f, rng(0), { n: 0 }), /^pathwise: n must be an integer ≥ 1, got 0/);
});

errors('every other estimator refuses the new families with its "does not support" error', () => {
  const f: SampleFunction = (x) => sum(reshape(x, [x.shape[0], -1]), 1);
  let refusals = 0;
  for (const { dist } of batched) {
    for (const e of estimators) {
      if (e.families.includes(dist.family)) continue;
      const n = Math.max(2, e.minSamples);
      assert.throws(
        () => estimateGradient(e, dist as never, f, rng(0), { n }),
        (err: Error) => err instanceof RangeError && new RegExp(`^[\\w-]+: does not support the ${dist.family} family; it supports `).test(err.message),
        `${e.name} on ${dist.family}`,
      );
      refusals++;
    }
  }
  assert.ok(refusals > 4 * 25, `${refusals} refusals`);
  // Only pathwise, LAX and pathwise's antithetic form take them.
  assert.equal(estimators.filter((e) => e.families.includes('gumbel')).map((e) => e.name), ['pathwise', 'lax', 'pathwise-antithetic']);
});

errors('the new families check their parameters before sampling, naming pathwise', () => {
  const f: SampleFunction = (x) => sum(reshape(x, [x.shape[0], -1]), 1);
  assert.throws(() => pathwise(gumbel(tensor([0, 0]), tensor([1, 0])), f, rng(0)), (e: Error) => e instanceof RangeError && /^pathwise: the gumbel scale must be positive and finite, got 0 at index 1/.test(e.message));
  assert.throws(() => pathwise(gumbel(tensor([0, 0]), tensor([1])), f, rng(0)), /^pathwise: gumbel loc \[2\] and scale \[1\] must have the same shape; broadcast the scale first/);
  assert.throws(() => pathwise(exponential(tensor([2, -1])), f, rng(0)), /^pathwise: the exponential rate must be positive and finite, got -1 at index 1/);
  assert.throws(() => pathwise(exponential(tensor([Infinity])), f, rng(0)), /^pathwise: the exponential rate must be positive and finite, got Infinity at index 0/);
  assert.throws(() => pathwise(relaxedBernoulli(tensor([0]), 0), f, rng(0)), /^pathwise: the relaxed-bernoulli temperature must be positive and finite, got 0/);
  assert.throws(() => pathwise(relaxedCategorical(tensor([0, 1]), tensor(0.5) as never), f, rng(0)), (e: Error) => e instanceof TypeError && /^pathwise: the relaxed-categorical temperature must be a number, got object/.test(e.message));
  assert.throws(() => pathwise(relaxedCategorical(tensor(0.3), 1), f, rng(0)), /^pathwise: relaxed-categorical logits need a class axis, got shape \[\]/);
  assert.throws(() => pathwise(exponential(tensor([1])), f, null as never), (e: Error) => e instanceof TypeError && /^pathwise: expected a generator/.test(e.message));
});

errors('non-finite locations and logits are refused by pathwise, naming the parameter and the value', () => {
  const f: SampleFunction = (x) => sum(reshape(x, [x.shape[0], -1]), 1);
  const cases: [Parameters<typeof pathwise>[0], RegExp][] = [
    [normal(tensor([0, NaN]), tensor([1, 1])), /^pathwise: the normal loc must be finite, got NaN at index 1$/],
    [gumbel(tensor([Infinity]), tensor([1])), /^pathwise: the gumbel loc must be finite, got Infinity at index 0$/],
    [relaxedBernoulli(tensor([0.5, NaN]), 0.5), /^pathwise: the relaxed-bernoulli logits must be finite, got NaN at index 1$/],
    [relaxedCategorical(tensor([0, -Infinity]), 0.5), /^pathwise: the relaxed-categorical logits must be finite, got -Infinity at index 1; make an outcome negligible with a large finite logit such as -1e4$/],
  ];
  for (const [dist, pattern] of cases) {
    assert.throws(() => pathwise(dist, f, rng(0)), (e: Error) => e instanceof RangeError && pattern.test(e.message), `${dist.family}: ${pattern}`);
  }
});

errors('f must be differentiable: a step function fails loudly, never with a silent zero gradient', () => {
  const dist = normal(tensor([0.5]), tensor([1]));
  const step: SampleFunction = (x) => sum(greater(x, 0), 1);
  assert.throws(() => estimateGradient(pathwiseEstimator, dist, step, rng(1), { n: 4 }), /greater/);
});

errors.run();
