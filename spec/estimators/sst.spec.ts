// Stochastic softmax tricks and the score-function baselines on k-subsets and
// spanning trees: the one-hot instance is Gumbel-softmax to the bit, the
// relaxation is the regularized argmax and tends to the hard structure, its
// derivatives are exact (order 2 at fixed noise), the baselines are unbiased
// against exact enumeration (fixed problems and a fast-check property), broken
// variants are rejected, the SST's bias vanishes with the temperature, and the
// high-precision reference agrees with enumeration; arborescences on a DAG
// (where the law is a product of categoricals) check REINFORCE on the noise.
//
// False-positive budget: the checks that must pass run at family-wise levels
// 1e-5 (16 fixed checks), 1e-4 in total over the fast-check property, 1e-5
// for the two small-temperature SST checks, 1e-5 for each of the 12 upstream
// t-tests, 1e-5 for the two arborescence checks and 1e-4 for the reference
// (one Bonferroni-corrected test over its coordinates): below 5e-4 for the file.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, rng, sum, mul, add, sub, div, square, exp, neg, sin, reshape, matmul, grad, vjp, stopGradient, logSoftmax, take, slice, stack,
  categorical, estimateGradient, checkUnbiased, exactGradientOf, normalQuantile, gumbelTopK, type SampleFunction, type Estimator,
} from '../../index.ts';
import { tQuantile } from '../../lib/stats.ts';
import { subset, spanningTree, arborescence, eventShape } from '../../estimators/families.ts';
import { gumbelSoftmaxEstimator, stGumbelSoftmaxEstimator, relaxationEstimator } from '../../estimators/relaxations.ts';
import {
  sst, reinforceStructure, reinforceNoise, sstEstimator, sstRelaxedEstimator, stSstEstimator,
  reinforceStructureEstimator, reinforceStructureLoo, reinforceNoiseEstimator, reinforceNoiseLoo,
  structureOf, subsetStructure, spanningTreeStructure, oneHotStructure, stochasticSoftmax, perturbStructured,
  drawStructuredNoise, noiseLogDensity, referenceGradient, arborescenceStructure, type SstDist, type Structure,
} from '../../estimators/sst.ts';
import {
  completeGraph, graph, enumerateSpanningTrees, subsetMarginals, spanningTreeMarginals, topKMask, kruskal,
  subsetLogPartition, spanningTreeLogPartition, subsetExpectation, spanningTreeExpectation, type Graph,
  digraph, completeDigraph, enumerateArborescences,
} from '../../lib/structures.ts';
import { enumerateSubsets } from '../../lib/exact.ts';
import { quadraticFunction } from '../../lib/functions.ts';
import { checkGrads } from '../harness/checkGrads.ts';
import { assertUnbiased, assertRejected } from '../harness/problems.ts';

const ALPHA = 1e-5;

const linear = (c: number[]): SampleFunction => {
  const w = tensor(c);
  return (x) => sum(mul(x, w), 1);
};

/** A nonlinear f on 0/1 vectors and on the relaxed ones: (cᵀx − 1)² + sin(dᵀx). */
const nonlinear = (c: number[], d: number[]): SampleFunction => {
  const wc = tensor(c);
  const wd = tensor(d);
  return (x) => {
    const a = sub(sum(mul(x, wc), 1), 1);
    const s = sum(mul(x, wd), 1);
    return add(square(a), sin(s));
  };
};

const K4 = completeGraph(4);
const WHEEL = graph(5, [[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]]);

interface Case {
  name: string;
  dist: SstDist;
  f: SampleFunction;
}

const CASES: Case[] = [
  { name: '2-subsets of 5, quadratic', dist: subset(tensor([0.5, -0.2, 1.0, 0.3, -0.7]), 2), f: quadraticFunction([1, 0, 0, 1, 0.5]) },
  { name: '3-subsets of 6, nonlinear', dist: subset(tensor([0.2, -1.0, 0.6, 0.0, 1.1, -0.4]), 3), f: nonlinear([1, -2, 0.5, 3, -1, 0.7], [0.3, 1, -1, 0.2, 2, 0]) },
  { name: 'trees of K4, quadratic', dist: spanningTree(tensor([0.3, -0.5, 1.2, 0.1, -1, 0.4]), K4), f: quadraticFunction([1, 0, 1, 0, 0, 1]) },
  { name: 'trees of the 4-wheel, nonlinear', dist: spanningTree(tensor([0.4, -0.3, 0.8, 0.0, -0.6, 0.5, 0.2, -0.1]), WHEEL), f: nonlinear([1, -1, 0.5, 2, -0.5, 0.3, 1, -2], [0.5, 1, -1, 0, 0.3, 2, -0.4, 1]) },
];

// ---------------------------------------------------------------- the framework

const framework = suite('sst: the framework');

framework('one-hot SST is Gumbel-softmax, and ST-SST straight-through Gumbel-softmax, to the bit on shared noise', () => {
  const f = nonlinear([1, -2, 0.5, 3], [0.3, 1, -1, 0.2]);
  const g = (x: Tensor): Tensor => sum(square(sub(x, tensor([0.2, 0.5, 0, 1]))), [1, 2]);
  const cases: [Tensor, SampleFunction][] = [[tensor([0.3, -0.5, 1.2, 0.1]), f], [tensor([[0.3, -0.5, 1.2, 0.1], [0, 1, -1, 2], [0.5, 0.5, -0.2, 0]]), g]];
  for (const [logits, fn] of cases) {
    for (const t of [0.5, 0.1, 2, tensor([0.3, 0.5, 1, 2])]) { // the last, a temperature per class
      const pairs: [Estimator<undefined>, Estimator<undefined, SstDist>][] = [
        [relaxationEstimator('gumbel-softmax', { temperature: t }), sstEstimator({ temperature: t })],
        [relaxationEstimator('st-gumbel-softmax', { temperature: t }), sstEstimator({ temperature: t, straightThrough: true })],
      ];
      for (const [theirs, ours] of pairs) {
        const a = estimateGradient(theirs, categorical(logits), fn, rng(3), { n: 64 });
        const b = estimateGradient(ours, categorical(logits), fn, rng(3), { n: 64 });
        assert.equal(Array.from(b.perSample.logits.data), Array.from(a.perSample.logits.data), `${theirs.name} t=${t} shape [${logits.shape}]`);
        assert.is(b.value, a.value);
      }
    }
  }
  // The default temperatures agree too.
  const a = estimateGradient(gumbelSoftmaxEstimator, categorical(tensor([1, 0, -1])), linear([1, 2, 3]), rng(1), { n: 8 });
  const b = estimateGradient(sstRelaxedEstimator, categorical(tensor([1, 0, -1])), linear([1, 2, 3]), rng(1), { n: 8 });
  assert.equal(Array.from(b.perSample.logits.data), Array.from(a.perSample.logits.data));
  assert.ok(stGumbelSoftmaxEstimator.name === 'st-gumbel-softmax' && stSstEstimator.name === 'st-sst');
});

/** The entropy of the Gibbs distribution p(x) ∝ exp(wᵀx) over an enumerated support [M, d], by brute force. */
function gibbsEntropy(support: Tensor, w: Tensor): number {
  const logp = logSoftmax(reshape(matmul(support, reshape(w, [w.size, 1])), [support.shape[0]]), 0).data;
  return -logp.reduce((acc, l) => acc + Math.exp(l) * l, 0);
}

framework('X_t is the regularized argmax: Uᵀμ + tH attains t log Z at X_t and is lower at other points of conv 𝒳', () => {
  // With Ω = −H (the entropy of the Gibbs distribution with marginals μ), max_μ Uᵀμ − tΩ(μ) = t log Σ exp(Uᵀx/t),
  // attained at X_t; any other Gibbs distribution p' (here: at other utilities) scores Uᵀμ' + tH(p') below it.
  const r = rng(4);
  const cases: [Tensor, (w: Tensor) => Tensor, (w: Tensor) => Tensor][] = [
    [enumerateSubsets(6, 3), (w) => subsetMarginals(w, 3), (w) => subsetLogPartition(w, 3)],
    [enumerateSpanningTrees(K4), (w) => spanningTreeMarginals(K4, w), (w) => spanningTreeLogPartition(K4, w)],
  ];
  for (const [support, marginals, logPartition] of cases) {
    const d = support.shape[1];
    const u = r.normal([d]);
    const t = 0.7;
    const w = div(u, t);
    const objective = (v: Tensor): number => sum(mul(u, marginals(v))).item() + t * gibbsEntropy(support, v);
    const best = t * logPartition(w).item();
    assert.ok(Math.abs(objective(w) - best) < 1e-12 * (1 + Math.abs(best)), `attains t log Z: ${objective(w)} vs ${best}`);
    for (let trial = 0; trial < 5; trial++) assert.ok(objective(add(w, r.normal([d]))) < best, 'another point scores higher');
  }
});

framework('the relaxation tends to the hard structure as t → 0 and to the uniform Gibbs marginals as t → ∞', () => {
  const r = rng(5);
  const structures: [Structure, number][] = [
    [subsetStructure(3), 7], [spanningTreeStructure(K4), 6], [spanningTreeStructure(WHEEL), 8], [oneHotStructure, 5], [arborescenceStructure(completeDigraph(4)), 9],
  ];
  for (const [structure, d] of structures) {
    const u = r.normal([16, d]);
    const x = structure.argmax(u);
    let previous = Infinity;
    for (const t of [1, 0.3, 0.1, 0.03, 0.01, 1e-3, 1e-4]) {
      const gap = Math.max(...Array.from(sub(structure.relax(u, t), x).data, Math.abs));
      assert.ok(gap <= previous + 1e-15, `${structure.name}: max |X_t − X| grew from ${previous} to ${gap} at t = ${t}`);
      previous = gap;
    }
    // With this seed's gaps between the best and the next structure, X_t is hard to 1e-9 at t = 1e-4.
    assert.ok(previous < 1e-9, `${structure.name}: X_t at t = 1e-4 is ${previous} from X`);
    // t → ∞: every structure equally likely, the marginals of w = 0.
    const hot = structure.relax(u, 1e9);
    const flat = structure.relax(new Tensor(new Float64Array(16 * d), [16, d]), 1);
    assert.ok(Math.max(...Array.from(sub(hot, flat).data, Math.abs)) < 1e-7, `${structure.name} at t = 1e9`);
  }
});

framework('X_t is differentiable through the engine: checkGrads at order 2 of θ ↦ f(X_t(θ + G)) at fixed noise', () => {
  const r = rng(6);
  for (const { name, dist, f } of [CASES[1], CASES[3]]) {
    const d = eventShape(dist)[0];
    const noise = r.gumbel([3, d]);
    const structure = structureOf(dist);
    const F = (theta: Tensor): Tensor => {
      const u = perturbStructured({ ...dist, logits: theta } as SstDist, noise);
      return f(structure.relax(u, 0.5));
    };
    checkGrads(F, [dist.logits], { order: 2 });
    // The temperature is differentiable too.
    checkGrads((t: Tensor) => f(structure.relax(perturbStructured(dist, noise), t)), [tensor(0.7)], { order: 2 });
    assert.ok(name.length > 0);
  }
});

framework('straight-through: the value is the hard X exactly, the gradient is X_t\'s Jacobian applied to ∂f/∂x at X', () => {
  const { dist, f } = CASES[3];
  const structure = structureOf(dist);
  const u = perturbStructured(dist, rng(7).gumbel([5, 8]));
  const x = stochasticSoftmax(structure, u, 0.4, { straightThrough: true });
  assert.equal(Array.from(x.data), Array.from(structure.argmax(u).data));
  const hard = structure.argmax(u);
  const dfdx = grad((z: Tensor) => sum(f(z)))(hard); // ∂f/∂x at X
  const viaSt = grad((v: Tensor) => sum(f(stochasticSoftmax(structure, v, 0.4, { straightThrough: true }))))(u);
  const viaJacobian = vjp((v: Tensor) => structure.relax(v, 0.4), u).vjp(dfdx)[0];
  for (let i = 0; i < viaSt.size; i++) assert.ok(Math.abs(viaSt.data[i] - viaJacobian.data[i]) < 1e-12, `element ${i}`);
});

framework('samples are valid structures and X = argmax of U', () => {
  for (const { dist } of CASES) {
    const d = eventShape(dist)[0];
    const noise = drawStructuredNoise(dist, rng(8), 200);
    const u = perturbStructured(dist, noise);
    const x = structureOf(dist).argmax(u);
    const expected = dist.family === 'subset' ? topKMask(u, dist.k) : kruskal((dist as { graph: Graph }).graph, u);
    assert.equal(Array.from(x.data), Array.from(expected.data));
    assert.equal(x.shape, [200, d]);
    // The subset's hard sample is lib/gumbel's Gumbel-top-k on the same noise.
    if (dist.family === 'subset') assert.equal(Array.from(x.data), Array.from(gumbelTopK(dist.logits, dist.k, noise).mask.data));
  }
});

framework.run();

// ---------------------------------------------------------------- unbiased baselines

const baselines = suite('sst: score-function baselines are unbiased');

const UNBIASED = [reinforceStructureEstimator, reinforceStructureLoo, reinforceNoiseEstimator, reinforceNoiseLoo] as Estimator<undefined, SstDist>[];

for (const c of CASES) {
  baselines(`${c.name}: every baseline against the exact gradient`, () => {
    const exactGradient = exactGradientOf(c.dist, c.f);
    for (const estimator of UNBIASED) {
      const result = checkUnbiased(estimator, { dist: c.dist, f: c.f, exactGradient }, { samples: 20000, seed: 11, alpha: ALPHA, n: 8 });
      assertUnbiased(result, c.name);
    }
  });
}

/** REINFORCE on X with the Gibbs law exp(θᵀx)/Z in place of the argmax's law: a plausible mistake. */
const gibbsScore: Estimator<undefined, SstDist> = {
  ...reinforceStructureEstimator,
  name: 'reinforce-gibbs (broken)',
  surrogate: (dist, f, r, options) => {
    const n = options.n ?? 1;
    const tiled = options.tiled ?? false;
    const x = structureOf(dist).argmax(stopGradient(perturbStructured(dist, drawStructuredNoise(dist, r, n, tiled))));
    const fx = f(x);
    const logZ = dist.family === 'subset' ? subsetLogPartition(dist.logits, dist.k) : spanningTreeLogPartition((dist as { graph: Graph }).graph, dist.logits);
    const logp = sub(sum(mul(x, dist.logits), 1), logZ);
    return { surrogate: sum(add(fx, mul(stopGradient(fx), sub(logp, stopGradient(logp))))), perSample: add(fx, mul(stopGradient(fx), sub(logp, stopGradient(logp)))), values: stopGradient(fx), state: undefined };
  },
};

/** REINFORCE on U with the density centred at θ instead of logSoftmax(θ) (for subsets): a plausible mistake. */
const unnormalizedNoise: Estimator<undefined, SstDist> = {
  ...reinforceNoiseEstimator,
  name: 'reinforce-noise-unnormalized (broken)',
  surrogate: (dist, f, r, options) => {
    const n = options.n ?? 1;
    const u = stopGradient(perturbStructured(dist, drawStructuredNoise(dist, r, n, options.tiled ?? false)));
    const fx = f(structureOf(dist).argmax(u));
    const y = sub(u, dist.logits);
    const logq = sum(neg(add(y, exp(neg(y)))), 1);
    const perSample = add(fx, mul(stopGradient(fx), sub(logq, stopGradient(logq))));
    return { surrogate: sum(perSample), perSample, values: stopGradient(fx), state: undefined };
  },
};

baselines('broken variants are rejected at the same sample size: the Gibbs law on X, the unnormalized noise density', () => {
  for (const c of [CASES[0], CASES[2]]) {
    const exactGradient = exactGradientOf(c.dist, c.f);
    assertRejected(checkUnbiased(gibbsScore, { dist: c.dist, f: c.f, exactGradient }, { samples: 20000, seed: 11, alpha: ALPHA }), c.name);
  }
  const c = CASES[0];
  assertRejected(checkUnbiased(unnormalizedNoise, { dist: c.dist, f: c.f, exactGradient: exactGradientOf(c.dist, c.f) }, { samples: 20000, seed: 11, alpha: ALPHA }), c.name);
});

const RUNS = 6;
// Logits in [−2, 2] (not the [−4, 4] of the one-hot properties): a structure's probability is a product
// over its elements, and with [−4, 4] some have probability ~1e-5, which 12 000 samples never see, so the
// sample variance misses their rare, large score terms and the z-test fails for a reason other than bias
// (seen: 5-subsets of 6 items). In [−2, 2] every structure here has probability ≳ 1e-3.
baselines(`random problems (fast-check, ${RUNS} runs, two estimators, family-wise α ≤ 1e-4)`, () => {
  const perCheck = 1e-4 / (RUNS * 2);
  const arbitrary = fc.record({
    seed: fc.integer({ min: 0, max: 10000 }),
    tree: fc.boolean(),
    n: fc.integer({ min: 3, max: 7 }),
    kFraction: fc.double({ min: 0, max: 0.999, noNaN: true }),
  });
  fc.assert(
    fc.property(arbitrary, ({ seed, tree, n, kFraction }) => {
      const r = rng(seed);
      let dist: SstDist;
      if (tree) {
        // A random connected graph on 4 or 5 nodes: a random spanning path plus random extra edges.
        const nodes = 4 + (seed % 2);
        const order = Array.from(r.permutation(nodes).data);
        const edges: number[][] = order.slice(1).map((v, i) => [order[i], v]);
        for (let a = 0; a < nodes; a++) for (let b = a + 1; b < nodes; b++) if (r.uniform([1]).data[0] < 0.4) edges.push([a, b]);
        const g = graph(nodes, edges);
        dist = spanningTree(sub(mul(r.uniform([edges.length]), 4), 2), g);
      } else {
        const k = 1 + Math.floor(kFraction * (n - 1));
        dist = subset(sub(mul(r.uniform([n]), 4), 2), k);
      }
      const d = eventShape(dist)[0];
      const f = r.uniform([1]).data[0] < 0.5 ? quadraticFunction(Array.from(r.uniform([d]).data)) : nonlinear(Array.from(r.normal([d]).data), Array.from(r.normal([d]).data));
      const exactGradient = exactGradientOf(dist, f);
      for (const estimator of [reinforceStructureLoo, reinforceNoiseEstimator] as Estimator<undefined, SstDist>[]) {
        const result = checkUnbiased(estimator, { dist, f, exactGradient }, { samples: 12000, seed, alpha: perCheck, n: 6 });
        assertUnbiased(result, `${dist.family} d=${d} seed ${seed}`);
      }
    }),
    { seed: 20261203, numRuns: RUNS },
  );
});

baselines('per-sample estimates (tiled) average to the gradient of the plain surrogate on the same seed', () => {
  const entries = [sstRelaxedEstimator, stSstEstimator, ...UNBIASED] as Estimator<undefined, SstDist>[];
  for (const c of [CASES[1], CASES[3]]) {
    for (const estimator of entries) {
      const n = 16;
      const tiled = estimateGradient(estimator, c.dist, c.f, rng(9), { n }).gradient.logits;
      const plain = grad((l: Tensor) => estimator.surrogate({ ...c.dist, logits: l } as SstDist, c.f, rng(9), { n }).surrogate)(c.dist.logits);
      for (let i = 0; i < plain.size; i++) {
        assert.ok(Math.abs(tiled.data[i] - plain.data[i]) < 1e-10 * (1 + Math.abs(plain.data[i])), `${estimator.name} on ${c.name}, logits[${i}]: ${tiled.data[i]} vs ${plain.data[i]}`);
      }
    }
  }
});

/** t statistic of the calls' ∂/∂ψ of the surrogate for f_ψ = ψ·base, at ψ = 1, against `expected` = E[base(X)]. */
function upstreamT(estimator: Estimator<undefined, SstDist>, dist: SstDist, base: SampleFunction, expected: number, seed: number): number {
  const calls = 50;
  const r = rng(seed);
  const values: number[] = [];
  for (let c = 0; c < calls; c++) {
    const callRng = r.split();
    values.push(grad((psi: Tensor) => estimator.surrogate(dist, (x) => mul(psi, base(x)), callRng, { n: 200 }).surrogate)(tensor(1)).item());
  }
  const mean = values.reduce((a, b) => a + b, 0) / calls;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (calls - 1);
  return (mean - expected) / Math.sqrt(variance / calls);
}

baselines('parameters inside f get the gradient of E[f] from every entry; a double-counting SST is caught (t-test, α = 1e-5 each)', () => {
  // ∂/∂ψ E[ψ · cᵀX] = E[cᵀX], exactly by enumeration. 50 calls of 200 samples; 12 checks.
  const critical = tQuantile(1 - ALPHA / 2, 49);
  const entries = [sstRelaxedEstimator, stSstEstimator, ...UNBIASED] as Estimator<undefined, SstDist>[];
  const cases: [SstDist, SampleFunction][] = [
    [subset(tensor([0.3, -0.5, 1.2, 0.1, -1]), 2), linear([1, -2, 0.5, 3, -1])],
    [spanningTree(tensor([0.3, -0.5, 1.2, 0.1, -1, 0.4]), K4), linear([1, -2, 0.5, 3, -1, 0.7])],
  ];
  for (const [dist, base] of cases) {
    const expected = (dist.family === 'subset' ? subsetExpectation(dist.logits, dist.k, base) : spanningTreeExpectation(K4, dist.logits, base)).item();
    for (const estimator of entries) {
      const t = upstreamT(estimator, dist, base, expected, 14);
      assert.ok(Math.abs(t) < critical, `${estimator.name} on ${dist.family}: t = ${t.toFixed(2)} (critical ${critical.toFixed(2)})`);
    }
  }
  // The SST as first written, f(X) + f(X_t) − stop(f(X_t)), gives ψ the gradient of f at X and at X_t.
  const doubleCounting: Estimator<undefined, SstDist> = {
    ...sstRelaxedEstimator,
    name: 'sst-double-counting (broken)',
    surrogate: (dist, f, r, options) => {
      const n = options.n ?? 1;
      const u = perturbStructured(dist, drawStructuredNoise(dist, r, n));
      const structure = structureOf(dist);
      const fx = f(structure.argmax(u));
      const fs = f(structure.relax(u, 0.5));
      const perSample = add(fx, sub(fs, stopGradient(fs)));
      return { surrogate: div(sum(perSample), n), perSample, values: stopGradient(fx), state: undefined };
    },
  };
  const [dist, base] = cases[0];
  const expected = subsetExpectation(dist.logits, (dist as { k: number }).k, base).item();
  assert.ok(Math.abs(upstreamT(doubleCounting, dist, base, expected, 14)) > critical, 'the double-counting SST was not caught');
});

baselines.run();

// ---------------------------------------------------------------- bias, temperature, reference

const bias = suite('sst: bias and temperature');

bias('SST bias on a linear f is detected at t = 1 and vanishes as t → 0; a relaxation without the noise keeps its bias', () => {
  // For linear f, E[ĝ_t] = ∇θ E[cᵀX_t(θ + G)] → ∇θ E[cᵀX] as t → 0 (X_t → X for almost every G).
  // Measured (20000 samples): |bias| ≈ 0.27 at t = 1, 0.036 at t = 0.3, below the noise (≈ 0.02) from t = 0.1 on.
  const cases: [SstDist, SampleFunction][] = [
    [subset(tensor([0.3, -0.5, 1.2, 0.1, -1]), 2), linear([1, -2, 0.5, 3, -1])],
    [spanningTree(tensor([0.3, -0.5, 1.2, 0.1, -1, 0.4]), K4), linear([1, -2, 0.5, 3, -1, 0.7])],
  ];
  /** The "relaxation" σ_t(θ) with no noise at all: deterministic, its gradient does not tend to the true one. */
  const noiseless = (t: number): Estimator<undefined, SstDist> => ({
    ...sstRelaxedEstimator,
    name: `noiseless relaxation t=${t} (broken)`,
    surrogate: (dist, f, r, options) => {
      const n = options.n ?? 1;
      drawStructuredNoise(dist, r, n, options.tiled ?? false); // consume the same noise, use none of it
      const shape = [n, ...eventShape(dist, options.tiled ?? false)];
      const theta = add(reshape(dist.logits, options.tiled ? shape : [1, ...shape.slice(1)]), new Tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape));
      const fs = f(structureOf(dist).relax(theta, t));
      return { surrogate: sum(fs), perSample: fs, values: stopGradient(fs), state: undefined };
    },
  });
  for (const [dist, f] of cases) {
    const exactGradient = exactGradientOf(dist, f);
    const hot = checkUnbiased(sstEstimator({ temperature: 1 }), { dist, f, exactGradient }, { samples: 20000, seed: 12, alpha: ALPHA });
    assertRejected(hot, `${dist.family} at t = 1`);
    const cold = checkUnbiased(sstEstimator({ temperature: 0.05 }), { dist, f, exactGradient }, { samples: 20000, seed: 12, alpha: ALPHA });
    assertUnbiased(cold, `${dist.family} at t = 0.05`);
    assertRejected(checkUnbiased(noiseless(0.05), { dist, f, exactGradient }, { samples: 20000, seed: 12, alpha: ALPHA }), `${dist.family} noiseless`);
    // The bias shrinks: t = 1 is far worse than t = 0.3.
    const mid = checkUnbiased(sstEstimator({ temperature: 0.3 }), { dist, f, exactGradient }, { samples: 20000, seed: 12, alpha: ALPHA });
    assert.ok(mid.maxAbsZ < hot.maxAbsZ / 5, `${dist.family}: max |z| ${mid.maxAbsZ} at t = 0.3 vs ${hot.maxAbsZ} at t = 1`);
  }
});

bias('the noise-REINFORCE reference for trees agrees with enumeration within its standard error; a shifted truth is rejected', () => {
  const { dist, f } = CASES[3];
  const ref = referenceGradient(dist, f, { samples: 100000, chunk: 1000, seed: 13 });
  const exact = exactGradientOf(dist, f).logits;
  // Bonferroni over the 8 coordinates at family-wise 1e-4, two-sided.
  const zMax = normalQuantile(1 - 1e-4 / (2 * exact.size));
  const zs = Array.from(exact.data, (e, i) => (ref.gradient.data[i] - e) / ref.stderr.data[i]);
  assert.ok(zs.every((z) => Math.abs(z) < zMax), `z-scores ${zs.map((z) => z.toFixed(2)).join(' ')} against ${zMax.toFixed(2)}`);
  // The same test rejects the exact gradient of slightly different logits (one edge moved by 0.3).
  const shifted = exactGradientOf({ ...dist, logits: add(dist.logits, tensor([0.3, 0, 0, 0, 0, 0, 0, 0])) } as SstDist, f).logits;
  const zw = Array.from(shifted.data, (e, i) => (ref.gradient.data[i] - e) / ref.stderr.data[i]);
  assert.ok(zw.some((z) => Math.abs(z) >= zMax), `the shifted truth was not rejected: ${zw.map((z) => z.toFixed(2)).join(' ')}`);
  assert.is(ref.samples, 100000);
});

bias('errors name the estimator and the fix', () => {
  const f = linear([1, 2, 3]);
  assert.throws(() => sst(subset(tensor([1, 2, 3]), 4), f, rng(0)), /^sst: subset k must be an integer from 1 to 3 \(the number of items\), got 4/);
  assert.throws(() => sst(subset(tensor([[1, 2, 3]]), 1), f, rng(0)), /^sst: subset logits must be one vector, got shape \[1,3\]/);
  assert.throws(() => reinforceNoise(spanningTree(tensor([1, 2]), completeGraph(3)), f, rng(0)), /^reinforce-noise: spanning-tree logits of shape \[2\] must have one entry per edge \(3\)/);
  assert.throws(() => sst(subset(tensor([1, 2, 3]), 2), f, rng(0), { temperature: 0 }), /^sst: temperature must be a positive finite number, got 0; try 0.5/);
  assert.throws(() => reinforceStructure({ family: 'bernoulli', logits: tensor([0]) } as never, f, rng(0)), /^reinforce-structure: does not support the bernoulli family/);
  assert.throws(() => reinforceStructure(subset(tensor([1, 2, 3]), 2), f, rng(0), { n: 1, baseline: 'leave-one-out' }), /^reinforce-structure: n must be an integer ≥ 2, got 1/);
  assert.throws(() => sstEstimator({ temperature: -1 }), /^sstEstimator: temperature must be a positive finite number, got -1/);
  assert.ok(noiseLogDensity(subset(tensor([0, 0]), 1), tensor([[0, 0]])).shape[0] === 1);
});

bias('arborescences: on a DAG X is a product of categoricals, and REINFORCE on U is unbiased against it; REINFORCE on X refuses', () => {
  // In a DAG no choice of parents makes a cycle, so the max arborescence of θ + G is each node's
  // best incoming arc: independent Gumbel-max draws, P(X = A) = Π_v softmax(θ into v)[parent(v)].
  const dag = digraph(5, [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3], [0, 4], [3, 4], [2, 4]]);
  const into = [[0], [1, 2], [3, 4, 5], [6, 7, 8]]; // arcs into nodes 1 … 4
  const theta = tensor([0.3, -0.4, 0.8, 0.1, -0.6, 0.5, 0.0, 0.7, -0.3]);
  const dist = arborescence(theta, dag);
  const f = nonlinear([1, -1, 0.5, 2, -0.5, 0.3, 1, -2, 0.4], [0.5, 1, -1, 0, 0.3, 2, -0.4, 1, 0.2]);
  const T = enumerateArborescences(dag); // 1·2·3·3 = 18
  const exactValue = (l: Tensor): Tensor => {
    const perArc = new Array<Tensor>(l.size);
    for (const group of into) {
      const logp = logSoftmax(reshape(take(l, group), [group.length]));
      group.forEach((a, i) => (perArc[a] = reshape(slice(logp, 0, i, i + 1), [])));
    }
    const logp = matmul(T, reshape(stack(perArc), [l.size, 1])); // [18, 1]: Σ over the chosen arcs
    return sum(mul(exp(reshape(logp, [T.shape[0]])), f(T)));
  };
  assert.is(T.shape[0], 18);
  const exactGradient = { logits: grad(exactValue)(theta) };
  for (const estimator of [reinforceNoiseEstimator, reinforceNoiseLoo] as Estimator<undefined, SstDist>[]) {
    assertUnbiased(checkUnbiased(estimator, { dist, f, exactGradient }, { samples: 20000, seed: 15, alpha: ALPHA, n: 8 }), `DAG ${estimator.name}`);
  }
  // The same check rejects the score with the noise centred at logSoftmax(θ), the subset's convention, not θ.
  const wrongCentre: Estimator<undefined, SstDist> = {
    ...reinforceNoiseEstimator,
    name: 'reinforce-noise-wrong-centre (broken)',
    surrogate: (d, fn, r, options) => {
      const n = options.n ?? 1;
      const u = stopGradient(perturbStructured(d, drawStructuredNoise(d, r, n, options.tiled ?? false)));
      const fx = fn(structureOf(d).argmax(u));
      const y = sub(u, logSoftmax(d.logits, -1));
      const logq = sum(neg(add(y, exp(neg(y)))), 1);
      const perSample = add(fx, mul(stopGradient(fx), sub(logq, stopGradient(logq))));
      return { surrogate: div(sum(perSample), n), perSample, values: stopGradient(fx), state: undefined };
    },
  };
  assertRejected(checkUnbiased(wrongCentre, { dist, f, exactGradient }, { samples: 20000, seed: 15, alpha: ALPHA }), 'DAG wrong centre');
  assert.throws(() => reinforceStructure(dist, f, rng(0)), /^reinforce-structure: does not support the arborescence family/);
  assert.throws(() => exactGradientOf(dist, f), /^exactGradientOf: the law of the maximum arborescence of perturbed weights has no known closed form/);
  // The SST runs on any digraph (here one with cycles), with derivatives exact at fixed noise.
  const cyclic = arborescence(rng(16).normal([9]), completeDigraph(4));
  const noise = rng(17).gumbel([2, 9]);
  checkGrads((l: Tensor) => f(arborescenceStructure(cyclic.digraph).relax(perturbStructured({ ...cyclic, logits: l }, noise), 0.5)), [cyclic.logits], { order: 2 });
});

bias.run();
