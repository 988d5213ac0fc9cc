// Tests of lib/optim.ts: SGD (momentum, Nesterov) and Adam over trees.
//
// Hand-computed values were worked out from the update equations in exact
// decimal arithmetic (40 digits), not with this code. A step is a few
// floating-point operations per coordinate, each with relative error at most
// 2⁻⁵³, so on O(1) values the results agree to ~10 ulp; TOL = 1e-14 allows that.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tensor, scalar, grad, sum, mul, sub, square, matmul, reshape, Tensor } from '../../index.ts';
import { sgd, adam, type Optimizer } from '../../lib/optim.ts';

const TOL = 1e-14;

function close(actual: Tensor, expected: number[], tol = TOL, what = '') {
  const a = Array.from(actual.data);
  assert.is(a.length, expected.length, what);
  a.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= tol, `${what}[${i}]: ${x} vs ${expected[i]}`));
}

const g1 = tensor([0.5, -0.1]);
const g2 = tensor([-0.3, 0.2]);

// ---------------------------------------------------------------- hand-computed steps

const hand = suite('optim: first steps by hand');

hand('Adam: two steps with bias correction (lr 0.1, β₁ 0.9, β₂ 0.999, ε 1e-8)', () => {
  const opt = adam({ lr: 0.1 });
  let params: Tensor = tensor([1, -2]);
  let state = opt.init(params);
  assert.is(state.count, 0);
  ({ params, state } = opt.step(params, g1, state));
  // Step 1: m̂ = g, v̂ = g², so θ moves by lr·g/(|g| + ε) — lr per coordinate, whatever |g| is.
  close(params, [0.90000000199999996, -1.900000009999999]);
  close(state.m as Tensor, [0.05, -0.01]);
  close(state.v as Tensor, [0.00025, 0.00001]);
  assert.is(state.count, 1);
  ({ params, state } = opt.step(params, g2, state));
  // Step 2: m = (0.015, 0.011), v = (0.00033975, 0.00004999), m̂ = m/0.19, v̂ = v/0.001999.
  close(params, [0.88085019894177505541, -1.9366103603884891051]);
  close(state.m as Tensor, [0.015, 0.011]);
  close(state.v as Tensor, [0.00033975, 0.00004999]);
  assert.is(state.count, 2);
});

hand('Adam: the first step is lr·sign(g) at any gradient scale (bias correction at work)', () => {
  // Without bias correction the first step would be lr·(1−β₁)/√(1−β₂) ≈ 3.16·lr.
  const opt = adam({ lr: 0.01, eps: 0 });
  for (const scale of [1e-6, 1, 1e6]) {
    const { params } = opt.step(tensor([0, 0]), tensor([scale, -scale]), opt.init(tensor([0, 0])));
    close(params, [-0.01, 0.01], 1e-17, `scale ${scale}`);
  }
});

hand('SGD: plain, momentum and Nesterov, two steps', () => {
  const run = (opt: Optimizer<'sgd'>) => {
    let params: Tensor = tensor([1, -2]);
    let state = opt.init(params);
    const trace: Tensor[] = [];
    for (const g of [g1, g2]) {
      ({ params, state } = opt.step(params, g, state));
      trace.push(params);
    }
    return { trace, state };
  };
  const plain = run(sgd({ lr: 0.1 }));
  close(plain.trace[0], [0.95, -1.99]);
  close(plain.trace[1], [0.98, -2.01]);
  assert.is(plain.state.velocity, null);
  // v ← 0.9 v + g: v₁ = g₁, v₂ = (0.15, 0.11); θ ← θ − 0.1 v.
  const heavy = run(sgd({ lr: 0.1, momentum: 0.9 }));
  close(heavy.trace[0], [0.95, -1.99]);
  close(heavy.trace[1], [0.935, -2.001]);
  close(heavy.state.velocity as Tensor, [0.15, 0.11]);
  // Nesterov: θ ← θ − 0.1 (g + 0.9 v).
  const nesterov = run(sgd({ lr: 0.1, momentum: 0.9, nesterov: true }));
  close(nesterov.trace[0], [0.905, -1.981]);
  close(nesterov.trace[1], [0.9215, -2.0109]);
});

hand('a learning-rate schedule gets the step number t = 1, 2, …', () => {
  const seen: number[] = [];
  const opt = sgd({ lr: (t) => (seen.push(t), 1 / t) });
  let params: Tensor = scalar(0);
  let state = opt.init(params);
  for (let i = 0; i < 3; i++) ({ params, state } = opt.step(params, scalar(1), state));
  assert.equal(seen, [1, 2, 3]);
  close(params, [-(1 + 1 / 2 + 1 / 3)]);
});

hand.run();

// ---------------------------------------------------------------- convergence

const converge = suite('optim: convergence on a quadratic');

// f(θ) = ½ θᵀAθ − bᵀθ with A = diag(1, 100): minimum θ* = (b₁, b₂/100), condition number 100.
const A = tensor([[1, 0], [0, 100]]);
const b = tensor([1, 2]);
const optimum = [1, 0.02];
const loss = (p: { theta: Tensor }) => {
  const t = reshape(p.theta, [1, 2]);
  return sub(mul(0.5, sum(mul(matmul(t, A), t))), sum(mul(b, p.theta)));
};
const lossGrad = grad(loss);

function minimize(opt: Optimizer, steps: number): number {
  let params = { theta: tensor([-3, 4]) };
  let state = opt.init(params);
  for (let i = 0; i < steps; i++) ({ params, state } = opt.step(params, lossGrad(params), state));
  return Math.hypot(params.theta.data[0] - optimum[0], params.theta.data[1] - optimum[1]);
}

converge('SGD with momentum converges where plain SGD at the same rate is still far', () => {
  // Heavy ball with lr 0.01, μ 0.9: both modes contract by √0.9 ≈ 0.949 per step (complex roots),
  // so after 500 steps the error is ~5·0.949⁵⁰⁰ ≈ 2e-11. Plain SGD contracts the λ = 1 mode by 0.99: ~4·0.99⁵⁰⁰ ≈ 0.03.
  const momentum = minimize(sgd({ lr: 0.01, momentum: 0.9 }), 500);
  const nesterov = minimize(sgd({ lr: 0.01, momentum: 0.9, nesterov: true }), 500);
  const plain = minimize(sgd({ lr: 0.01 }), 500);
  assert.ok(momentum < 1e-9, `momentum: ${momentum}`);
  assert.ok(nesterov < 1e-9, `nesterov: ${nesterov}`);
  assert.ok(plain > 1e-3, `plain: ${plain}`);
});

converge('Adam reaches the minimum of the ill-conditioned quadratic', () => {
  // Adam's step is scale-free per coordinate, so the conditioning does not slow it;
  // with a decaying rate lr/√t it settles instead of oscillating at ±lr.
  const error = minimize(adam({ lr: (t) => 0.5 / Math.sqrt(t) }), 2000);
  assert.ok(error < 1e-8, `adam: ${error}`);
});

converge.run();

// ---------------------------------------------------------------- trees and immutability

const trees = suite('optim: trees, immutability, no graph');

const tree = () => ({
  layers: [{ W: tensor([[1, 2], [3, 4]]), b: tensor([0.5, -0.5]) }, { W: tensor([[1], [-1]]), b: tensor([0]) }],
  scale: scalar(2),
});

trees('params, grads and state keep the tree structure and shapes; inputs are untouched', () => {
  for (const opt of [sgd({ lr: 0.1, momentum: 0.5 }), adam({ lr: 0.1 })] as Optimizer[]) {
    const params = tree();
    const grads = tree();
    const before = JSON.stringify(params, (_k, v) => (v instanceof Tensor ? v.toArray() : v));
    const state0 = opt.init(params);
    const { params: next, state } = opt.step(params, grads, state0);
    assert.equal(Object.keys(next), ['layers', 'scale']);
    assert.is(next.layers.length, 2);
    assert.equal(next.layers[0].W.shape, [2, 2]);
    assert.equal(next.layers[1].b.shape, [1]);
    assert.equal(next.scale.shape, []);
    assert.ok(next.layers[0].W !== params.layers[0].W && next.layers[0].W.data !== params.layers[0].W.data);
    const slots = opt.name === 'adam' ? ['m', 'v'] : ['velocity'];
    for (const s of slots) assert.equal((state as unknown as Record<string, typeof params>)[s].layers[0].W.shape, [2, 2]);
    // Nothing was written into the inputs (tensors are immutable), nor into the old state.
    assert.is(JSON.stringify(params, (_k, v) => (v instanceof Tensor ? v.toArray() : v)), before);
    assert.is(state0.count, 0);
  }
});

trees('a bare tensor and an array are trees too', () => {
  const opt = adam({ lr: 1 });
  const { params } = opt.step([scalar(0), tensor([0, 0])], [scalar(1), tensor([-1, 2])], opt.init([scalar(0), tensor([0, 0])]));
  close(params[0], [-1], 1e-7);
  close(params[1], [1, -1], 1e-7);
});

trees('a step records no graph: its outputs are constants even inside grad', () => {
  const opt = sgd({ lr: 0.5 });
  // The step gives θ = x − 0.5·x. Recorded, d/dx Σθ² would be 0.5·x; as a constant it is 0.
  const g = grad((x: Tensor) => sum(square(opt.step(x, x, opt.init(x)).params)))(tensor([1, 2]));
  close(g, [0, 0], 0);
});

trees.run();

// ---------------------------------------------------------------- errors

const errors = suite('optim: errors');

function throwsWith(f: () => unknown, kind: typeof TypeError | typeof RangeError, re: RegExp) {
  assert.throws(f, (e: Error) => e instanceof kind && re.test(e.message), String(re));
}

errors('bad hyperparameters throw RangeError with the value', () => {
  throwsWith(() => adam({ lr: 0 }), RangeError, /^adam: lr must be positive and finite, got 0/);
  throwsWith(() => adam({ lr: NaN }), RangeError, /^adam: lr must be positive/);
  throwsWith(() => adam({ lr: 0.1, beta1: 1 }), RangeError, /^adam: beta1 must lie in \[0, 1\), got 1/);
  throwsWith(() => adam({ lr: 0.1, beta2: -0.1 }), RangeError, /^adam: beta2 must lie in \[0, 1\), got -0.1/);
  throwsWith(() => adam({ lr: 0.1, eps: -1 }), RangeError, /^adam: eps must be finite and ≥ 0, got -1/);
  throwsWith(() => sgd({ lr: -1 }), RangeError, /^sgd: lr must be positive and finite, got -1/);
  throwsWith(() => sgd({ lr: 0.1, momentum: 1 }), RangeError, /^sgd: momentum must lie in \[0, 1\), got 1/);
  throwsWith(() => sgd({ lr: 0.1, nesterov: true }), RangeError, /^sgd: nesterov needs momentum > 0/);
  throwsWith(() => sgd({ lr: '0.1' as unknown as number }), TypeError, /^sgd: lr must be a number or a function/);
  throwsWith(() => adam(undefined as unknown as { lr: number }), TypeError, /^adam: expected options/);
  const bad = sgd({ lr: () => NaN });
  throwsWith(() => bad.step(scalar(0), scalar(1), bad.init(scalar(0))), RangeError, /^sgd.step: the learning-rate schedule gave NaN at step 1/);
});

errors('mismatched trees name the path and the shapes', () => {
  const opt = adam({ lr: 0.1 });
  const params = { W: tensor([[1, 2]]), b: tensor([0]) };
  const state = opt.init(params);
  throwsWith(() => opt.step(params, { W: tensor([[1, 2]]) } as typeof params, state), TypeError, /^adam.step: grads and params differ in structure: leaf 1 is nothing in grads but b in params/);
  throwsWith(() => opt.step(params, { W: tensor([[1, 2]]), c: tensor([0]) } as unknown as typeof params, state), TypeError, /leaf 1 is c in grads but b in params/);
  throwsWith(() => opt.step(params, { W: tensor([[1], [2]]), b: tensor([0]) }, state), RangeError, /^adam.step: grads has shape \[2,1\] at W, params \[1,2\]/);
  throwsWith(() => opt.step(params, { W: tensor([[1, 2]]), b: 3 } as unknown as typeof params, state), TypeError, /^adam.step \(grads\): expected a Tensor or a tree/);
  const other = opt.init({ W: tensor([[1, 2, 3]]), b: tensor([0]) });
  throwsWith(() => opt.step(params, params, other as typeof state), RangeError, /^adam.step: state.m has shape \[1,3\] at W, params \[1,2\]/);
});

errors('a state from another optimizer or none at all is refused', () => {
  const x = tensor([1]);
  const heavy = sgd({ lr: 0.1, momentum: 0.9 });
  const plain = sgd({ lr: 0.1 });
  throwsWith(() => heavy.step(x, x, plain.init(x)), TypeError, /^sgd.step: state has no velocity/);
  throwsWith(() => plain.step(x, x, heavy.init(x)), TypeError, /^sgd.step: state has a velocity/);
  throwsWith(() => adam({ lr: 0.1 }).step(x, x, heavy.init(x) as never), TypeError, /^adam.step: state must be the \{ count, m, v \}/);
  throwsWith(() => adam({ lr: 0.1 }).step(x, x, undefined as never), TypeError, /^adam.step: state must be/);
});

errors.run();

// Type-level check: any optimizer fits the generic interface (used by training loops).
const _optimizers: Optimizer[] = [sgd({ lr: 1 }), adam({ lr: 1 })];
void _optimizers;
