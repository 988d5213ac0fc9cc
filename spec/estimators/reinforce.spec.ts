// REINFORCE and its baselines against the exact gradient.
//
// False-positive budget of this file: every checkUnbiased call that must pass
// runs at a family-wise level of at most 1e-5, and there are fewer than 40 of
// them, so the file fails by chance with probability below 4e-4; each of the
// two fast-check properties adds 1e-4 (Bonferroni over its runs), so the
// whole file stays below 6e-4.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  Tensor, tensor, scalar, zerosLike, rng, grad, vjp, mapTree, sum, mul, add, sub, div, stopGradient, matmul, reshape, softmax,
  categorical, bernoulli, normal, sample, logProb, estimateGradient, checkUnbiased, quadratureMoments, exactGradientOf,
  initMlp, applyMlp, mlpSizes, ScriptedRng,
  reinforce, reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned,
  type Estimator, type Dist, type SampleFunction, type ReinforceState, type MlpParams,
} from '../../index.ts';
import { exactReinforceMoments, exactMoments, scoreTable, enumerateCategoricals } from '../../lib/exact.ts';
import { quadraticFunction, tableFunction } from '../../lib/functions.ts';
import { initLearnedBaseline } from '../../estimators/reinforce.ts';
import { fixedDiscreteProblems, problemArbitrary, assertUnbiased, assertRejected, type TestProblem } from '../harness/problems.ts';
import { adam } from '../../lib/optim.ts';

const ALPHA = 1e-5;

const unbiased = suite('reinforce: unbiased on fixed problems');

for (const problem of fixedDiscreteProblems()) {
  for (const estimator of [reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned] as Estimator<ReinforceState>[]) {
    unbiased(`${estimator.name} on ${problem.name}`, () => {
      // Learned parts at random, untrained values: unbiasedness must not depend on them.
      const state = estimator.name === 'reinforce-learned' ? randomLearnedState(problem.dist, 11) : undefined;
      const result = checkUnbiased(estimator, problem, { samples: 40000, seed: 1, alpha: ALPHA, n: 4, state });
      assertUnbiased(result, problem.name);
    });
  }
}

/**
 * The learned baseline at random, untrained values: every layer drawn (the
 * output layer too, which init leaves at zero), the output scaled by 3 so β
 * spans a few units. Unbiasedness must hold for any network.
 */
function randomLearnedState(dist: Dist, seed: number, hidden: readonly number[] = [10]): ReinforceState {
  const r = rng(seed);
  const inputs = mlpSizes(initLearnedBaseline(dist, r, { hidden }).net as MlpParams)[0]; // a row's width, as the estimator feeds it
  const { layers } = initMlp(r, { sizes: [inputs, ...hidden, 1], activation: 'tanh' });
  const last = layers.length - 1;
  return { net: { layers: layers.map(({ W, b }, l) => (l === last ? { W: mul(W, 3), b: mul(b, 3) } : { W, b })) } };
}

unbiased('a constant baseline keeps the mean', () => {
  const problem = fixedDiscreteProblems()[0];
  const constant: Estimator<ReinforceState> = { ...reinforceNone, name: 'reinforce-constant', surrogate: (d, f, r, o) => reinforce(d, f, r, { ...o, baseline: 'constant', constant: 0.7 }) };
  assertUnbiased(checkUnbiased(constant, problem, { samples: 40000, seed: 2, alpha: ALPHA }), problem.name);
});

unbiased('normal family: score function with a quadratic, against the closed form', () => {
  // E[Σ(x − t)²] = Σ (μ − t)² + σ²: ∂/∂μ = 2(μ − t), ∂/∂σ = 2σ.
  const loc = tensor([0.5, -1]);
  const scale = tensor([1.0, 0.5]);
  const target = [2.0, 0.0];
  const f = quadraticFunction(target);
  const exactGradient = { loc: tensor([2 * (0.5 - 2), 2 * (-1 - 0)]), scale: tensor([2 * 1.0, 2 * 0.5]) };
  const result = checkUnbiased(reinforceNone, { dist: normal(loc, scale), f, exactGradient }, { samples: 200000, seed: 3, alpha: ALPHA });
  assertUnbiased(result, 'normal quadratic');
});

unbiased.run();

// ---------------------------------------------------------------- property

const property = suite('reinforce: unbiased on random problems (fast-check)');

const RUNS = 12;
property(`every baseline, ${RUNS} random problems each, family-wise α ≤ 1e-4`, () => {
  const estimators = [reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned] as Estimator<ReinforceState>[];
  const perCheck = 1e-4 / (RUNS * estimators.length);
  fc.assert(
    fc.property(problemArbitrary(), fc.integer({ min: 0, max: 1000 }), (problem, seed) => {
      for (const estimator of estimators) {
        const state = estimator.name === 'reinforce-learned' ? randomLearnedState(problem.dist, seed) : undefined;
        const result = checkUnbiased(estimator, problem, { samples: 20000, seed, alpha: perCheck, n: 4, state });
        assertUnbiased(result, problem.name);
      }
    }),
    { seed: 20261128, numRuns: RUNS },
  );
});

/**
 * Random batches of problems, one per row: categoricals [B, K] (B in 2..3, K
 * in 2..4) or Bernoullis [B, D] (D in 1..2), logits uniform in [−4, 4], and a
 * random table over the joint outcomes (so f is not a sum over rows).
 */
function batchArbitrary(): fc.Arbitrary<TestProblem> {
  return fc
    .record({
      family: fc.constantFrom('bernoulli' as const, 'categorical' as const),
      rows: fc.integer({ min: 2, max: 3 }),
      width: fc.integer({ min: 1, max: 3 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    })
    .map(({ family, rows, width, seed }) => {
      const r = rng(seed);
      const W = family === 'bernoulli' ? 1 + (width % 2) : 1 + width;
      const logits = reshape(tensor(Array.from(r.uniform([rows * W]).data, (u) => 8 * u - 4)), [rows, W]);
      const outcomes = family === 'bernoulli' ? 2 ** (rows * W) : W ** rows;
      const values = r.normal([outcomes]).data;
      let f: SampleFunction;
      if (family === 'bernoulli') {
        const table = tableFunction('bernoulli', values);
        f = (x) => table(reshape(x, [x.shape[0], rows * W]));
      } else {
        f = tableFunction('categoricals', values, { classes: W });
      }
      const dist = family === 'bernoulli' ? bernoulli(logits) : categorical(logits);
      return { name: `${rows} ${family} rows of ${W}, table, seed ${seed}`, dist, f, exactGradient: exactGradientOf(dist, f) };
    });
}

property(`reinforce-learned on ${RUNS} random batches of problems [B, K] with a random network, family-wise α ≤ 1e-4`, () => {
  const perCheck = 1e-4 / RUNS;
  fc.assert(
    fc.property(batchArbitrary(), fc.integer({ min: 0, max: 1000 }), (problem, seed) => {
      const state = randomLearnedState(problem.dist, seed);
      const result = checkUnbiased(reinforceLearned, problem, { samples: 20000, seed, alpha: perCheck, n: 4, state });
      assertUnbiased(result, problem.name);
    }),
    { seed: 20261129, numRuns: RUNS },
  );
});

property.run();

// ---------------------------------------------------------------- power: broken variants are caught

const power = suite('reinforce: broken variants are rejected at checkUnbiased’s default sample size (20 000)');

/** RLOO done wrong: the baseline includes the sample itself, β_i = mean of all f. Biased by the factor 1 − 1/n. */
const looIncludingSelf: Estimator<ReinforceState> = {
  ...reinforceLoo,
  name: 'rloo-including-self',
  surrogate: (dist, f, r, options) => {
    const n = options.n ?? 2;
    const b = sample(dist, r, n, options.tiled);
    const fb = f(b);
    const logp = logProb(dist, b);
    const beta = div(sum(stopGradient(fb)), n);
    const perSample = add(fb, mul(sub(fb, beta), sub(logp, stopGradient(logp))));
    return { surrogate: div(sum(perSample), n), perSample, values: stopGradient(fb), state: {} };
  },
};

/** The score with the wrong sign. */
const flippedScore: Estimator<ReinforceState> = {
  ...reinforceNone,
  name: 'reinforce-flipped',
  surrogate: (dist, f, r, options) => {
    const out = reinforce(dist, f, r, options);
    const perSample = sub(mul(out.values, 2), out.perSample); // 2f − (f + f·Δ) = f − f·Δ
    return { ...out, perSample, surrogate: div(sum(perSample), perSample.shape[0]) };
  },
};

/**
 * The learned baseline done wrong: C_ψ fed the sample b instead of θ. β then
 * depends on b and E[β ∇ log p(b)] = ∇ E_b[C_ψ(b)] (ψ held fixed) is not zero.
 * One row per sample (single-row problems only).
 */
const baselineOfSample: Estimator<ReinforceState> = {
  ...reinforceLearned,
  name: 'reinforce-learned-fed-b',
  surrogate: (dist, f, r, options) => {
    const n = options.n ?? 1;
    const state = options.state as ReinforceState;
    const b = sample(dist, r, n, options.tiled); // [n, K] or [n, D]
    const fb = f(b);
    const logp = logProb(dist, b);
    const beta = reshape(applyMlp(state.net as MlpParams, b, { activation: 'tanh' }), [n]);
    const perSample = add(fb, mul(sub(fb, beta), sub(logp, stopGradient(logp))));
    return { surrogate: div(sum(perSample), n), perSample, values: stopGradient(fb), state };
  },
};

for (const problem of fixedDiscreteProblems().slice(0, 3)) {
  power(`learned baseline fed the sample b instead of θ, on ${problem.name}`, () => {
    const state = randomLearnedState(problem.dist, 11);
    assertRejected(checkUnbiased(baselineOfSample, problem, { seed: 1, alpha: ALPHA, state }), problem.name);
  });
}

for (const problem of fixedDiscreteProblems()) {
  power(`RLOO including the sample itself, on ${problem.name}`, () => {
    assertRejected(checkUnbiased(looIncludingSelf, problem, { seed: 1, alpha: ALPHA }), problem.name);
  });
  // On the toy the whole gradient (0.0005) is below one standard error at this
  // size (√(0.0156/20000) ≈ 0.0009), so a sign flip cannot show there.
  if (problem.name.startsWith('toy')) continue;
  power(`score with a flipped sign, on ${problem.name}`, () => {
    assertRejected(checkUnbiased(flippedScore, problem, { seed: 1, alpha: ALPHA }), problem.name);
  });
}

power.run();

// ---------------------------------------------------------------- exact variance, surrogate semantics

const semantics = suite('reinforce: surrogate semantics and exact variance');

semantics('quadrature over the noise equals enumeration of b (two exact methods agree)', () => {
  const problem = fixedDiscreteProblems()[1]; // 2 Bernoullis
  const logits = (problem.dist as { logits: Tensor }).logits;
  const p = Array.from(logits.data, (l) => 1 / (1 + Math.exp(-l)));
  // b_j = [u_j < p_j] (sampling by inversion): the integrand jumps at u_j = p_j.
  const q = quadratureMoments(reinforceNone, problem.dist, problem.f, { blocks: 1, nodes: 8, breakpoints: [[p[0]], [p[1]]] });
  const e = exactReinforceMoments('bernoulli', logits, problem.f);
  for (let j = 0; j < 2; j++) {
    // The integrand is piecewise constant on the panels, so both are exact up to rounding.
    assert.ok(Math.abs(q.mean.logits.data[j] - e.mean.data[j]) < 1e-13, `mean ${j}`);
    assert.ok(Math.abs(q.variance.logits.data[j] - e.variance.data[j]) < 1e-13, `variance ${j}`);
  }
});

semantics('the surrogate reports the mean of f, and its gradient flows to parameters upstream of the logits', () => {
  const W = tensor([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]]);
  const x = tensor([[1.0, -2.0]]);
  const values = tensor([1.0, 0.2, -0.5]);
  const f: SampleFunction = (b) => sum(mul(b, values), 1);
  const n = 64;
  const loss = (w: Tensor) => reinforce(categorical(reshape(matmul(x, w), [3])), f, rng(5), { n, baseline: 'leave-one-out' }).surrogate;
  const out = reinforce(categorical(reshape(matmul(x, W), [3])), f, rng(5), { n, baseline: 'leave-one-out' });
  assert.ok(Math.abs(out.surrogate.item() - sum(out.values).item() / n) < 1e-12, 'value = mean f');
  // Chain rule: dL/dW = xᵀ ĝ_logits, with ĝ the estimate for the logits on the same noise.
  const gW = grad(loss)(W);
  const gLogits = grad((l: Tensor) => reinforce(categorical(l), f, rng(5), { n, baseline: 'leave-one-out' }).surrogate)(reshape(matmul(x, W), [3]));
  const expected = matmul(reshape(x, [2, 1]), reshape(gLogits, [1, 3]));
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(gW.data[i] - expected.data[i]) < 1e-12, `dW[${i}]`);
});

semantics('per-sample estimates by tiling average to the plain surrogate gradient on the same noise', () => {
  const problem = fixedDiscreteProblems()[3]; // product of categoricals
  const logits = (problem.dist as { logits: Tensor }).logits;
  const n = 50;
  const tiled = estimateGradient(reinforceLoo, problem.dist, problem.f, rng(9), { n });
  const plain = grad((l: Tensor) => reinforce(categorical(l), problem.f, rng(9), { n, baseline: 'leave-one-out' }).surrogate)(logits);
  assert.equal(tiled.perSample.logits.shape, [n, 2, 3]);
  for (let i = 0; i < plain.size; i++) assert.ok(Math.abs(tiled.gradient.logits.data[i] - plain.data[i]) < 1e-12);
});

semantics('the result is a plain tree: vjp and mapTree take it whole, a spread keeps the surrogate, whose gradient is the mean of the per-sample ones', () => {
  const problem = fixedDiscreteProblems()[3];
  const logits = (problem.dist as { logits: Tensor }).logits;
  const n = 8;
  const g = grad((l: Tensor) => reinforce(categorical(l), problem.f, rng(4), { n }).surrogate)(logits);
  const viaPerSample = grad((l: Tensor) => div(sum(reinforce(categorical(l), problem.f, rng(4), { n }).perSample), n))(logits);
  for (let i = 0; i < g.size; i++) assert.ok(Math.abs(g.data[i] - viaPerSample.data[i]) < 1e-15 * (1 + Math.abs(g.data[i])), `coordinate ${i}`);
  assert.ok(g.data.some((v) => v !== 0), 'a gradient that is not zero');
  const whole = vjp((l: Tensor) => reinforce(categorical(l), problem.f, rng(4), { n }), logits);
  const cotangent = mapTree(whole.out, (t) => (t === whole.out.surrogate ? scalar(1) : zerosLike(t)));
  const [viaVjp] = whole.vjp(cotangent);
  assert.equal(Array.from(viaVjp.data), Array.from(g.data));
  const copy = { ...reinforce(categorical(logits), problem.f, rng(4), { n }) };
  assert.ok(copy.surrogate instanceof Tensor, 'the spread copies the surrogate');
});

semantics('errors name the estimator and the fix', () => {
  const d = categorical(tensor([0, 1]));
  const f: SampleFunction = (b) => sum(b, 1);
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'leave-one-out', n: 1 }), /reinforce: n must be an integer ≥ 2, got 1/);
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'learned', state: {} }), /reinforce: the learned baseline needs state.net; get one from initLearnedBaseline/);
  const wide = initLearnedBaseline(categorical(tensor([0, 1, 2])), rng(0));
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'learned', state: wide }), /reinforce: the learned baseline's net maps 3 inputs to 1, but a row of these parameters has 2 numbers/);
  assert.throws(() => initLearnedBaseline(d, rng(0), { hidden: [0] }), /initLearnedBaseline: hidden must list positive integer widths, got \[0\]/);
  assert.throws(() => reinforce(d, f, rng(0), { baseline: 'typo' as never }), /reinforce: unknown baseline 'typo'/);
  assert.throws(() => reinforce(d, (b) => b, rng(0), { n: 3 }), /reinforce: f must map samples \[n, \.\.\.\] to values \[n\] = \[3\], got shape \[3,2\]/);
});

semantics.run();


// ---------------------------------------------------------------- the learned baseline network C_ψ

const learned = suite('reinforce: the learned baseline network C_ψ(stop θ_r), one per row');

/** A copy of the network with one weight moved by h: layers[l][key].data[j] += h. */
function nudge(net: MlpParams, l: number, key: 'W' | 'b', j: number, h: number): MlpParams {
  return {
    layers: net.layers.map((layer, i) => {
      if (i !== l) return layer;
      const data = Float64Array.from(layer[key].data);
      data[j] += h;
      return { ...layer, [key]: new Tensor(data, layer[key].shape) };
    }),
  };
}

/** The weights the finite-difference checks move: one of each kind, in both layers. */
const WEIGHTS: readonly [number, 'W' | 'b', number][] = [[0, 'W', 0], [0, 'W', 4], [0, 'b', 2], [1, 'W', 3], [1, 'b', 0]];
const H = 1e-5;

/** Checks a variance gradient against central differences of an exact variance, on WEIGHTS. */
function assertMatchesDifferences(stateGradient: Partial<ReinforceState> | undefined, net: MlpParams, exactVariance: (net: MlpParams) => number): void {
  const g = (stateGradient as ReinforceState).net as MlpParams;
  for (const [l, key, j] of WEIGHTS) {
    const analytic = g.layers[l][key].data[j];
    const numeric = (exactVariance(nudge(net, l, key, j, H)) - exactVariance(nudge(net, l, key, j, -H))) / (2 * H);
    // Not vacuous: every weight checked moves the variance.
    assert.ok(Math.abs(numeric) > 1e-5, `layers[${l}].${key}[${j}]: the variance hardly depends on it (${numeric})`);
    // Central differences err by O(h²) and rounding by O(ε/h), both far below this.
    assert.ok(Math.abs(analytic - numeric) < 1e-8 + 1e-6 * Math.abs(numeric), `layers[${l}].${key}[${j}]: trainState ${analytic} vs finite differences ${numeric}`);
  }
}

/** β_r = C_ψ(θ_r) for every row, computed here from the network alone: [R]. */
function baselinesOf(net: MlpParams, logits: Tensor): Float64Array {
  return applyMlp(net, logits, { activation: 'tanh' }).data;
}

learned('a batch of problems [B, K] gets one baseline per row: ĝ_r = (f(b) − C_ψ(θ_r)) (b_r − softmax θ_r)', () => {
  const logits = tensor([[2.0, -1.0, 0.5], [-0.5, 0.3, 1.5]]);
  const dist = categorical(logits);
  const f = tableFunction('categoricals', [0.3, -1.2, 0.8, 2.0, 0.1, -0.4, 1.1, 0.6, -0.9], { classes: 3 });
  const n = 6;
  const p = softmax(logits, -1).data;
  for (const hidden of [[10], []]) {
    const state = randomLearnedState(dist, 3, hidden);
    const beta = baselinesOf(state.net as MlpParams, logits);
    if (hidden.length === 0) {
      // No hidden layer: the linear baseline β_r = θ_r·w + c.
      const { W, b } = (state.net as MlpParams).layers[0];
      for (let r = 0; r < 2; r++) {
        const linear = b.data[0] + [0, 1, 2].reduce((acc, k) => acc + logits.data[3 * r + k] * W.data[k], 0);
        assert.ok(Math.abs(beta[r] - linear) < 1e-12, `linear β_${r}`);
      }
    }
    assert.ok(Math.abs(beta[0] - beta[1]) > 0.1, `rows with different logits get different baselines (${beta[0]}, ${beta[1]})`);
    const out = estimateGradient(reinforceLearned, dist, f, rng(7), { n, state });
    const b = sample(dist, rng(7), n); // the same noise, so the same samples
    const fb = f(b).data;
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 2; r++) {
        for (let k = 0; k < 3; k++) {
          const at = 6 * i + 3 * r + k;
          const expected = (fb[i] - beta[r]) * (b.data[at] - p[3 * r + k]);
          assert.ok(Math.abs(out.perSample.logits.data[at] - expected) < 1e-12, `hidden [${hidden}], sample ${i}, row ${r}, class ${k}: ${out.perSample.logits.data[at]} vs ${expected}`);
        }
      }
    }
    // The plain surrogate (logits not tiled) gives the same mean estimate.
    const plain = grad((l: Tensor) => reinforce(categorical(l), f, rng(7), { n, baseline: 'learned', state }).surrogate)(logits);
    for (let j = 0; j < 6; j++) assert.ok(Math.abs(plain.data[j] - out.gradient.logits.data[j]) < 1e-12, `hidden [${hidden}], untiled [${j}]`);
  }
});

learned('a Normal row feeds loc and scale side by side', () => {
  const loc = tensor([[0.5, -1], [2, 0.3]]); // two problems of D = 2
  const scale = tensor([[1, 0.5], [0.7, 2]]);
  const dist = normal(loc, scale);
  const state = randomLearnedState(dist, 4);
  assert.is(mlpSizes(state.net as MlpParams)[0], 4);
  const f = quadraticFunction([1, 0]);
  const beta = applyMlp(state.net as MlpParams, tensor([[0.5, -1, 1, 0.5], [2, 0.3, 0.7, 2]]), { activation: 'tanh' }).data;
  const n = 3;
  const out = estimateGradient(reinforceLearned, dist, f, rng(2), { n, state });
  const x = sample(dist, rng(2), n);
  const fx = f(x).data;
  // ∂/∂μ log N(x; μ, σ²) = (x − μ)/σ²
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 4; j++) {
      const r = j >> 1;
      const expected = ((fx[i] - beta[r]) * (x.data[4 * i + j] - loc.data[j])) / scale.data[j] ** 2;
      assert.ok(Math.abs(out.perSample.loc.data[4 * i + j] - expected) < 1e-12, `sample ${i}, loc ${j}`);
    }
  }
});

learned('a scalar Normal is one row of loc beside scale, tiled or not', () => {
  const dist = normal(tensor(0.5), tensor(2));
  const state = randomLearnedState(dist, 6);
  const f = (x: Tensor) => mul(sub(x, 1), sub(x, 1)); // samples [n] to values [n]
  const beta = applyMlp(state.net as MlpParams, tensor([[0.5, 2]]), { activation: 'tanh' }).item();
  const n = 4;
  const out = estimateGradient(reinforceLearned, dist, f, rng(3), { n, state });
  const x = sample(dist, rng(3), n).data;
  const fx = f(tensor(Array.from(x))).data;
  for (let i = 0; i < n; i++) {
    const expected = ((fx[i] - beta) * (x[i] - 0.5)) / 4;
    assert.ok(Math.abs(out.perSample.loc.data[i] - expected) < 1e-12, `sample ${i}: every sample sees (loc, scale)`);
  }
  const plain = reinforceLearned.surrogate(dist, f, rng(3), { n, state }); // untiled: scalar parameters
  assert.ok(Number.isFinite(plain.surrogate.item()));
});

learned('one row: trainState\'s variance gradient equals finite differences of the exact variance (exactReinforceMoments)', () => {
  const problem = fixedDiscreteProblems()[1]; // 2 Bernoullis, a table: one row of 2
  const logits = (problem.dist as { logits: Tensor }).logits;
  const state = randomLearnedState(problem.dist, 5);
  const net = state.net as MlpParams;
  // With one row, β = C_ψ(θ) is a number and ĝ = (f − β) ∇ log p(b|θ): single-sample REINFORCE on f − β.
  const exactVariance = (w: MlpParams) => {
    const beta = baselinesOf(w, logits)[0];
    return sum(exactReinforceMoments('bernoulli', logits, (b) => sub(problem.f(b), beta)).variance).item();
  };
  const p = Array.from(logits.data, (l) => 1 / (1 + Math.exp(-l)));
  const q = quadratureMoments(reinforceLearned, problem.dist, problem.f, { blocks: 1, nodes: 4, breakpoints: [[p[0]], [p[1]]], state, trainState: true });
  // The quadrature is exact here (the estimate is constant on its panels): the same variance two ways.
  assert.ok(Math.abs(sum(q.variance.logits).item() - exactVariance(net)) < 1e-12, 'quadrature variance = enumeration');
  assertMatchesDifferences(q.stateGradient, net, exactVariance);
});

learned('a batch [2, 3]: trainState on the enumerated support gives every per-row estimate exactly, and its variance gradient equals finite differences', () => {
  const logits = tensor([[0.5, -0.5, 0.2], [-1, 0.3, 0.9]]);
  const dist = categorical(logits);
  const f = tableFunction('categoricals', [0.3, -1.2, 0.8, 2.0, 0.1, -0.4, 1.1, 0.6, -0.9], { classes: 3 });
  const support = enumerateCategoricals(2, 3); // [9, 2, 3]
  const scores = scoreTable('categoricals', logits); // [9, 2, 3]: row r of an outcome's score is ∇θ_r log p(b_r|θ_r)
  const perOutcome = (w: MlpParams) => mul(sub(reshape(f(support), [9, 1, 1]), reshape(applyMlp(w, logits, { activation: 'tanh' }), [1, 2, 1])), scores);
  const exactVariance = (w: MlpParams) => sum(exactMoments('categoricals', logits, () => perOutcome(w)).variance).item();
  const state = randomLearnedState(dist, 6);
  const net = state.net as MlpParams;
  const moments = exactMoments('categoricals', logits, () => perOutcome(net));
  // Uniforms that make sampling by inversion draw each outcome in turn: one per
  // row, in the middle of the chosen class's slice of the cumulative probabilities.
  const theta = softmax(logits, -1).data;
  const script: number[] = [];
  for (let o = 0; o < 9; o++) {
    for (let r = 0; r < 2; r++) {
      const k = Array.from(support.data.subarray(o * 6 + r * 3, o * 6 + r * 3 + 3)).indexOf(1);
      let below = 0;
      for (let c = 0; c < k; c++) below += theta[r * 3 + c];
      script.push(below + theta[r * 3 + k] / 2);
    }
  }
  const out = estimateGradient(reinforceLearned, dist, f, new ScriptedRng(script), { n: 9, state, trainState: true, weights: moments.probabilities });
  for (let j = 0; j < 54; j++) {
    assert.ok(Math.abs(out.perSample.logits.data[j] - moments.values.data[j]) < 1e-12, `per-outcome estimate [${j}]`);
  }
  const meanSquare = sum(moments.variance).item() + sum(mul(moments.mean, moments.mean)).item();
  assert.ok(Math.abs((out.meanSquare as number) - meanSquare) < 1e-12, `E‖ĝ‖² ${out.meanSquare} vs ${meanSquare}`);
  // E‖ĝ‖² = ‖∇L‖² + Σ Var ĝ, and the mean does not depend on ψ: the two gradients agree.
  assertMatchesDifferences(out.stateGradient, net, exactVariance);
});

/** Adam on the variance objective: `steps` calls of estimateGradient with trainState, n samples each. */
function trainBaseline(dist: Dist, f: SampleFunction, initial: ReinforceState, options: { lr: number; steps: number; n: number; seed: number }): ReinforceState {
  const opt = adam({ lr: options.lr });
  let state = initial;
  let optState = opt.init(state);
  const r = rng(options.seed);
  for (let step = 0; step < options.steps; step++) {
    const out = estimateGradient(reinforceLearned, dist, f, r, { n: options.n, state, trainState: true });
    ({ params: state, state: optState } = opt.step(state, out.stateGradient as ReinforceState, optState));
  }
  return state;
}

learned('training on the variance objective lowers the exact variance (toy problem)', () => {
  const dist = bernoulli(tensor([0]));
  const f = quadraticFunction([0.499]);
  const exactVar = (state: ReinforceState) => quadratureMoments(reinforceLearned, dist, f, { blocks: 1, nodes: 4, breakpoints: [[0.5]], state }).variance.logits.item();
  const initial = reinforceLearned.init!(dist, rng(0));
  const before = exactVar(initial);
  const after = exactVar(trainBaseline(dist, f, initial, { lr: 0.02, steps: 200, n: 8, seed: 4 }));
  // f ≈ 0.25 everywhere, so the best baseline (≈ 0.25) removes almost all variance.
  assert.ok(after < before / 100, `variance ${before} → ${after}`);
});

learned('training per-row baselines on a batch beats the best single baseline shared by the rows', () => {
  // Row 0 is nearly decided, row 1 is not, and f pays 5 when row 0 leaves its
  // likely class. E‖ĝ‖² = Σ_r E[(f − β_r)² ‖s_r‖²] (s_r = ∇θ_r log p(b_r|θ_r)) is
  // least at β_r = E[f ‖s_r‖²] / E[‖s_r‖²]: different per row, so one shared β cannot reach it.
  const logits = tensor([[2, -1, -1], [0.3, 0, -0.2]]);
  const dist = categorical(logits);
  const f = tableFunction('categoricals', [0, 5, 5, 0.5, 5.5, 5.5, 1, 6, 6], { classes: 3 });
  const support = enumerateCategoricals(2, 3);
  const scores = scoreTable('categoricals', logits); // [9, 2, 3]
  const fv = f(support).data;
  const varianceWith = (beta: ArrayLike<number>) =>
    sum(exactMoments('categoricals', logits, () => mul(sub(reshape(f(support), [9, 1, 1]), tensor([[[beta[0]], [beta[1]]]])), scores)).variance).item();
  const p = exactMoments('categoricals', logits, () => scores).probabilities.data;
  const weighted = [0, 0]; // E[f ‖s_r‖²]
  const norms = [0, 0]; // E[‖s_r‖²]
  for (let i = 0; i < 9; i++) {
    for (let r = 0; r < 2; r++) {
      const s2 = [0, 1, 2].reduce((a, k) => a + scores.data[6 * i + 3 * r + k] ** 2, 0);
      weighted[r] += p[i] * fv[i] * s2;
      norms[r] += p[i] * s2;
    }
  }
  const shared = (weighted[0] + weighted[1]) / (norms[0] + norms[1]);
  const bestShared = varianceWith([shared, shared]);
  const bestPerRow = varianceWith([weighted[0] / norms[0], weighted[1] / norms[1]]);
  assert.ok(bestPerRow < bestShared / 2, `the problem separates them: ${bestPerRow} vs ${bestShared}`);

  const initial = reinforceLearned.init!(dist, rng(1));
  const before = varianceWith(baselinesOf(initial.net as MlpParams, logits));
  const trained = trainBaseline(dist, f, initial, { lr: 0.05, steps: 400, n: 16, seed: 8 });
  const beta = baselinesOf(trained.net as MlpParams, logits);
  const after = varianceWith(beta);
  const detail = `variance ${before} → ${after} (β = ${beta[0]}, ${beta[1]}); best shared ${bestShared}, best per row ${bestPerRow}`;
  assert.ok(after < bestShared, detail);
  assert.ok(after < 1.25 * bestPerRow, detail);
});

learned('without a state: a seeded default whose output layer is zero, so it starts as plain REINFORCE', () => {
  const problem = fixedDiscreteProblems()[3]; // 2 categoricals of 3
  const logits = (problem.dist as { logits: Tensor }).logits;
  const out = reinforce(problem.dist, problem.f, rng(3), { n: 5, baseline: 'learned' });
  const net = out.state.net as MlpParams;
  const fresh = initLearnedBaseline(problem.dist, rng(0)).net as MlpParams; // the default's seed
  assert.equal(mlpSizes(net), [3, 10, 1]);
  for (let l = 0; l < 2; l++) {
    assert.equal(Array.from(net.layers[l].W.data), Array.from(fresh.layers[l].W.data), `layers[${l}].W`);
    assert.equal(Array.from(net.layers[l].b.data), Array.from(fresh.layers[l].b.data), `layers[${l}].b`);
  }
  assert.ok(net.layers[1].W.data.every((w) => w === 0) && net.layers[1].b.data[0] === 0, 'output layer zero');
  assert.ok(net.layers[0].W.data.some((w) => w !== 0), 'hidden layer drawn');
  const withDefault = grad((l: Tensor) => reinforce(categorical(l), problem.f, rng(3), { n: 5, baseline: 'learned' }).surrogate)(logits);
  const none = grad((l: Tensor) => reinforce(categorical(l), problem.f, rng(3), { n: 5 }).surrogate)(logits);
  for (let j = 0; j < 6; j++) assert.ok(Math.abs(withDefault.data[j] - none.data[j]) < 1e-12, `[${j}]`);
  // The registry entry's init is the same network from the generator it is given.
  assert.equal(mlpSizes(reinforceLearned.init!(problem.dist, rng(9)).net as MlpParams), [3, 10, 1]);
});

learned.run();
