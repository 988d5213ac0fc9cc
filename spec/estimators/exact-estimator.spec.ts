// estimators/exact-estimator.ts: the exact gradient by enumeration, as an estimator.
//   equals lib/exact's exactExpectation and exactGradient to rounding on
//     Bernoulli, categorical and product-of-categoricals problems, on a
//     Bernoulli of event shape [2, 2], and on random problems (fast-check);
//   zero variance: every per-sample estimate is the gradient itself, and
//     checkUnbiased reports z = 0; a broken variant (unnormalised
//     probabilities, e^θ for softmax θ) is rejected by the same check;
//   the gradient is exact for parameters f closes over (∂E/∂v_k = p_k for a
//     table v) and for parameters upstream of θ;
//   errors: the Normal family, supports too large to enumerate.
//
// Tolerances. The library and lib/exact sum the same ≤ 64 products
// p(b) f(b) (|f| ≤ 3) in different orders; the results differ by at most
// 64 ε · 3 ≈ 4e-14, so 1e-13 is asserted. No statistics: nothing here is random.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, rng, add, sub, mul, exp, sum, mean, reshape, broadcastTo, eye, matmul, stopGradient, valueAndGrad, softmax,
  bernoulli, categorical, normal, estimateGradient, checkUnbiased, exactExpectation, exactGradient,
  tableFunction, quadraticFunction, exact, exactEstimator,
  type Estimator, type Dist, type SampleFunction, type CheckProblem, type DiscreteFamily,
} from '../../index.ts';

const TOL = 1e-13;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.unreachable(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (|error| ${Math.abs(actual[i] - expected[i])} > ${tol})`);
    }
  }
}

interface Case {
  name: string;
  family: DiscreteFamily;
  logits: Tensor;
  f: SampleFunction;
}

const cases: Case[] = [
  { name: 'table on 3 Bernoullis', family: 'bernoulli', logits: tensor([0.7, -1.2, 2.0]), f: tableFunction('bernoulli', [0.3, 1.1, -0.2, 0.9, 2.0, -1.0, 0.5, 0.0]) },
  { name: 'quadratic on 2 Bernoullis', family: 'bernoulli', logits: tensor([-0.4, 1.5]), f: quadraticFunction([0.499, 0.2]) },
  { name: 'table on a categorical', family: 'categorical', logits: tensor([0.1, -0.3, 0.7, 1.5]), f: tableFunction('categorical', [1.0, 0.2, -0.5, 3.0]) },
  { name: 'quadratic on a categorical', family: 'categorical', logits: tensor([2.0, -1.0, 0.3]), f: quadraticFunction([0.5, 0, 1]) },
  {
    name: 'table on 2 categoricals of 3',
    family: 'categoricals',
    logits: tensor([[0.1, -0.3, 0.7], [1.0, 0.0, -1.0]]),
    f: tableFunction('categoricals', [1, 0.2, -0.5, 3, 0, 1, 2, -2, 0.5], { classes: 3 }),
  },
];

const distOf = (c: Case, logits: Tensor = c.logits): Dist => (c.family === 'bernoulli' ? bernoulli(logits) : categorical(logits));

// ---------------------------------------------------------------- against lib/exact

const agree = suite('exact: equals lib/exact');

agree('value and gradient equal exactExpectation and exactGradient to rounding', () => {
  for (const c of cases) {
    const { value, grad } = valueAndGrad((t: Tensor) => exact(distOf(c, t), c.f, rng(0), { n: 3 }).surrogate)(c.logits);
    const expected = exactExpectation(c.family, c.logits, c.f).item();
    assert.ok(Math.abs(value.item() - expected) <= TOL, `${c.name}: value ${value.item()} vs ${expected}`);
    assertClose(grad.data, exactGradient(c.family, c.logits, c.f).data, TOL, `${c.name}: gradient`);
  }
});

agree('every per-sample estimate is the exact gradient, and the registry entry gives it', () => {
  for (const c of cases) {
    const out = estimateGradient(exactEstimator, distOf(c), c.f, rng(0), { n: 5 });
    const g = exactGradient(c.family, c.logits, c.f).data;
    const P = g.length;
    for (let i = 0; i < 5; i++) assertClose(out.perSample.logits.data.subarray(i * P, (i + 1) * P), g, TOL, `${c.name}: sample ${i}`);
    assertClose(out.gradient.logits.data, g, TOL, `${c.name}: mean`);
    assert.ok(Math.abs(out.value - exactExpectation(c.family, c.logits, c.f).item()) <= TOL, `${c.name}: value`);
  }
});

agree('a Bernoulli of event shape [2, 2] is the product of its 4 coordinates', () => {
  const table = tableFunction('bernoulli', [0.5, -1, 2, 0.25, 1, 1.5, -0.5, 0, 3, -2, 0.75, 1.25, -1.5, 2.5, 0.1, -0.1]);
  const f = (x: Tensor): Tensor => table(reshape(x, [x.shape[0], 4]));
  const logits = tensor([[0.3, -0.8], [1.7, -2.2]]);
  const { grad } = valueAndGrad((t: Tensor) => exact(bernoulli(t), f, rng(0)).surrogate)(logits);
  assertClose(grad.data, exactGradient('bernoulli', reshape(logits, [4]), table).data, TOL, 'gradient');
});

agree('random problems (fast-check): Bernoulli D in 1..4 and categorical K in 2..6', () => {
  const problem = fc.record({
    bernoulli: fc.boolean(),
    size: fc.integer({ min: 1, max: 6 }),
    logits: fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 6, maxLength: 6 }),
    values: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 16, maxLength: 16 }),
    quadratic: fc.boolean(),
  });
  fc.assert(
    fc.property(problem, (p) => {
      const family = p.bernoulli ? 'bernoulli' : 'categorical';
      const size = p.bernoulli ? Math.min(p.size, 4) : Math.max(p.size, 2);
      const logits = tensor(p.logits.slice(0, size));
      const f = p.quadratic
        ? quadraticFunction(p.values.slice(0, size))
        : tableFunction(family, p.values.slice(0, p.bernoulli ? 2 ** size : size));
      const c: Case = { name: `${family} [${p.logits.slice(0, size)}]`, family, logits, f };
      const { grad } = valueAndGrad((t: Tensor) => exact(distOf(c, t), f, rng(0)).surrogate)(logits);
      assertClose(grad.data, exactGradient(family, logits, f).data, TOL, c.name);
    }),
    { numRuns: 100, seed: 501 },
  );
});

agree.run();

// ---------------------------------------------------------------- checkUnbiased, and a broken variant

/** e^θ for softmax θ: Σ_k e^{θ_k} f(e_k), the unnormalised sum (categorical only). */
const unnormalised: Estimator<undefined> = {
  name: 'exact, unnormalised',
  description: 'exact with e^θ for softmax θ',
  unbiased: true,
  families: ['categorical'],
  iidSamples: true,
  minSamples: 1,
  surrogate: (dist, f, _r, options) => {
    const n = options.n ?? 1;
    const theta = (dist as { logits: Tensor }).logits;
    const K = theta.shape[theta.rank - 1];
    const values = reshape(f(eye(K)), [K, 1]);
    const rows = options.tiled ? theta : reshape(theta, [1, K]);
    const expectation = reshape(matmul(exp(rows), values), [rows.shape[0]]);
    const perSample = options.tiled ? expectation : broadcastTo(expectation, [n]);
    return { surrogate: mean(perSample), perSample, values: stopGradient(perSample), state: undefined };
  },
};

const checks = suite('exact: through checkUnbiased');

checks('z = 0 and zero variance on every problem; the unnormalised variant is rejected', () => {
  for (const c of cases) {
    const problem: CheckProblem = { dist: distOf(c), f: c.f, exactGradient: { logits: exactGradient(c.family, c.logits, c.f) } };
    const r = checkUnbiased(exactEstimator, problem, { samples: 16, seed: 1 });
    assert.ok(r.unbiasedVerdict, c.name);
    assert.ok(r.coordinates.every((k) => k.z === 0 && k.variance === 0), `${c.name}: z and variance are 0`);
  }
  const c = cases[2];
  const problem: CheckProblem = { dist: distOf(c), f: c.f, exactGradient: { logits: exactGradient(c.family, c.logits, c.f) } };
  const r = checkUnbiased(unnormalised, problem, { samples: 16, seed: 1 });
  assert.not.ok(r.unbiasedVerdict, 'the unnormalised sum is rejected');
});

checks.run();

// ---------------------------------------------------------------- gradients beyond θ

const beyond = suite('exact: gradients reach f’s parameters and parameters upstream of θ');

beyond('∂E/∂v_k = p_k for a table v that f closes over', () => {
  const logits = tensor([0.1, -0.3, 0.7, 1.5]);
  const v = tensor([1.0, 0.2, -0.5, 3.0]);
  const { grad } = valueAndGrad((table: Tensor) => {
    const f = (x: Tensor): Tensor => reshape(matmul(x, reshape(table, [4, 1])), [x.shape[0]]);
    return exact(categorical(logits), f, rng(0)).surrogate;
  })(v);
  assertClose(grad.data, softmax(logits).data, TOL, '∂E/∂v');
});

beyond('θ = 2w − 1: ∂/∂w = 2 ∂/∂θ', () => {
  const c = cases[0];
  const byTheta = valueAndGrad((t: Tensor) => exact(distOf(c, t), c.f, rng(0)).surrogate)(c.logits).grad;
  const w = mul(add(c.logits, 1), 0.5);
  const byW = valueAndGrad((x: Tensor) => exact(distOf(c, sub(mul(x, 2), 1)), c.f, rng(0)).surrogate)(w).grad;
  assertClose(byW.data, Array.from(byTheta.data, (g) => 2 * g), TOL, 'chain rule');
});

beyond.run();

// ---------------------------------------------------------------- errors

const errors = suite('exact: errors');

errors('unsupported family, too large a support, bad n', () => {
  assert.throws(() => exact(normal(tensor([0]), tensor([1])), (x: Tensor) => sum(x, 1), rng(0)), (e: Error) =>
    e instanceof RangeError && /^exact: does not support the normal family; it supports bernoulli, categorical/.test(e.message));
  const big = bernoulli(tensor(new Array(23).fill(0)));
  assert.throws(() => exact(big, (x: Tensor) => sum(x, 1), rng(0)), (e: Error) =>
    e instanceof RangeError && /^exact: the bernoulli support of event shape \[23\] has 2\^23 outcomes, too many to enumerate/.test(e.message));
  assert.throws(() => exact(categorical(tensor([0, 1])), tableFunction('categorical', [0, 1]), rng(0), { n: 0 }), (e: Error) =>
    /^exact: n must be an integer ≥ 1, got 0/.test(e.message));
});

errors.run();
