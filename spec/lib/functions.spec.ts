import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor,
  tensor,
  rng,
  grad,
  sum,
  mul,
  softmax,
  enumerateBernoulli,
  enumerateCategorical,
  enumerateCategoricals,
  tableFunction,
  quadraticFunction,
} from '../../index.ts';

// Tolerances: the extension at a point sums N = K^D products of D factors
// in [0, 1] times |v| ≤ 5, so its rounding error is below N·D·u·5 ≈ 2e-13
// for N ≤ 81; 1e-12 is a safe bound, and on hard samples every product is
// exactly 0 or 1, so the table comes back exactly.
const TOL = 1e-12;

const values8 = [-2, 3, 1, 4, -1, 2, 5, 0]; // D = 3
const values9 = [1, -0.5, 2, 0.3, 4, -3, 0, 1.5, -1]; // D = 2, K = 3

function withCoordinate(z: Tensor, row: number, j: number, t: number): Tensor {
  const data = Float64Array.from(z.data);
  data[row * z.shape[1] + j] = t;
  return new Tensor(data, z.shape);
}

// ---------------------------------------------------------------- Bernoulli tables

const bernoulli = suite('functions: Bernoulli tables (multilinear extension)');

bernoulli('equals the table on every hard sample, index i having bit j = b_j', () => {
  const f = tableFunction('bernoulli', values8);
  assert.equal(Array.from(f(enumerateBernoulli(3)).data), values8);
  // b = (b_0, b_1, b_2) = (1, 0, 1) is outcome 1 + 4 = 5.
  assert.is(f(tensor([[1, 0, 1]])).item(), values8[5]);
  assert.is(f.kind, 'table');
  assert.equal(f.eventShape, [3]);
  assert.ok(f.description.startsWith('table on 3 Bernoullis'), f.description);
});

bernoulli('is affine in each coordinate: f(z with z_j = t) = (1 − t) f(z_j = 0) + t f(z_j = 1)', () => {
  const f = tableFunction('bernoulli', values8);
  const n = 16;
  const z = rng(7).uniform([n, 3]); // relaxed points in (0, 1)^3
  for (let j = 0; j < 3; j++) {
    for (const t of [-0.5, 0.25, 0.9, 1.7]) {
      for (let row = 0; row < n; row += 5) {
        const f0 = f(withCoordinate(z, row, j, 0)).data[row];
        const f1 = f(withCoordinate(z, row, j, 1)).data[row];
        const ft = f(withCoordinate(z, row, j, t)).data[row];
        assert.ok(Math.abs(ft - ((1 - t) * f0 + t * f1)) < TOL, `coordinate ${j}, t = ${t}, row ${row}`);
      }
    }
  }
});

bernoulli('∂f/∂z_j = f(z_j = 1) − f(z_j = 0), and the pure second derivatives vanish (by grad of grad)', () => {
  const f = tableFunction('bernoulli', values8);
  const z = tensor([[0.3, 0.6, 0.2]]);
  const g = grad((x: Tensor) => sum(f(x)))(z);
  for (let j = 0; j < 3; j++) {
    const diff = f(withCoordinate(z, 0, j, 1)).item() - f(withCoordinate(z, 0, j, 0)).item();
    assert.ok(Math.abs(g.data[j] - diff) < TOL, `∂f/∂z_${j}`);
    const second = grad((x: Tensor) => sum(mul(grad((y: Tensor) => sum(f(y)))(x), tensor([[0, 0, 0].map((_, k) => (k === j ? 1 : 0))]))))(z);
    assert.ok(Math.abs(second.data[j]) < TOL, `∂²f/∂z_${j}² = ${second.data[j]}`);
  }
});

bernoulli('a wrong extension (bits read most-significant first) is caught by the hard-sample check', () => {
  // Reversing the bit order permutes the table: outcome (1,0,0) would give v_4 instead of v_1.
  const f = tableFunction('bernoulli', values8);
  const reversed = [0, 4, 2, 6, 1, 5, 3, 7].map((i) => values8[i]);
  assert.not.equal(Array.from(f(enumerateBernoulli(3)).data), reversed);
});

// ---------------------------------------------------------------- categorical tables

const categorical = suite('functions: categorical tables');

categorical('one categorical: f(x) = x · v, the table on one-hot rows, linear on the simplex', () => {
  const v = [1.0, 0.2, -0.5];
  const f = tableFunction('categorical', v);
  assert.equal(Array.from(f(enumerateCategorical(3)).data), v);
  const x = softmax(rng(3).normal([5, 3]), -1); // points on the simplex
  const out = f(x);
  for (let i = 0; i < 5; i++) {
    const expected = v.reduce((a, vk, k) => a + vk * x.data[i * 3 + k], 0);
    assert.ok(Math.abs(out.data[i] - expected) < TOL);
  }
  assert.equal(Array.from(grad((y: Tensor) => sum(f(y)))(tensor([[0.2, 0.3, 0.5]])).data), v);
});

categorical('D categoricals: the table on every hard sample (i = Σ c_j K^j), affine along each categorical', () => {
  const f = tableFunction('categoricals', values9, { classes: 3 });
  assert.equal(f.eventShape, [2, 3]);
  assert.equal(Array.from(f(enumerateCategoricals(2, 3)).data), values9);
  // c = (c_0, c_1) = (2, 1) is outcome 2 + 3·1 = 5.
  assert.is(f(tensor([[[0, 0, 1], [0, 1, 0]]])).item(), values9[5]);
  // Along categorical j, moving x_j between two simplex points a and b is affine in t.
  const x = softmax(rng(11).normal([1, 2, 3]), -1);
  const a = [0.2, 0.5, 0.3];
  const b = [0.6, 0.1, 0.3];
  for (let j = 0; j < 2; j++) {
    const at = (t: number) => {
      const data = Float64Array.from(x.data);
      for (let k = 0; k < 3; k++) data[j * 3 + k] = (1 - t) * a[k] + t * b[k];
      return f(new Tensor(data, [1, 2, 3])).item();
    };
    for (const t of [0.3, 0.8, 1.4]) assert.ok(Math.abs(at(t) - ((1 - t) * at(0) + t * at(1))) < TOL, `categorical ${j}, t = ${t}`);
  }
});

// ---------------------------------------------------------------- quadratics

const quadratic = suite('functions: quadratics');

quadratic('Σ (x − t)² over every event axis, with gradient 2(x − t)', () => {
  const f = quadraticFunction([0.499, 0.2]);
  assert.is(f.kind, 'quadratic');
  const x = tensor([[0, 1], [1, 1], [0.5, 0.25]]);
  const expected = [0.499 ** 2 + 0.8 ** 2, 0.501 ** 2 + 0.8 ** 2, 0.001 ** 2 + 0.05 ** 2]; // a few roundings of numbers ≤ 1 each: 1e-15
  f(x).data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-15, `row ${i}`));
  const g = grad((y: Tensor) => sum(f(y)))(x);
  g.data.forEach((v, k) => assert.ok(Math.abs(v - 2 * (x.data[k] - [0.499, 0.2][k % 2])) < 1e-15));
  // For D categoricals: samples [n, D, K], a target [K] or [D, K], summed over both axes.
  const c = tensor([[[1, 0], [0, 1]]]);
  assert.ok(Math.abs(quadraticFunction([0.25, 0.5])(c).item() - (0.75 ** 2 + 0.25 + 0.0625 + 0.25)) < 1e-15);
  assert.is(quadraticFunction([[1, 0], [0, 0]])(c).item(), 1);
});

// ---------------------------------------------------------------- validation

const validation = suite('functions: validation');

validation('bad tables and targets throw RangeError with the name and the value', () => {
  const range = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: Error) => e instanceof RangeError && pattern.test(e.message));
  range(() => tableFunction('bernoulli', [1, 2, 3]), /^tableFunction: a Bernoulli table needs 2\^D values \(D ≥ 1\), got 3/);
  range(() => tableFunction('bernoulli', [1]), /needs 2\^D values \(D ≥ 1\), got 1/);
  range(() => tableFunction('bernoulli', [1, NaN]), /^tableFunction: values\[1\] is NaN; every entry must be a finite number/);
  range(() => tableFunction('categorical', [1, Infinity]), /values\[1\] is Infinity/);
  range(() => tableFunction('categoricals', values9), /needs options.classes = K/);
  range(() => tableFunction('categoricals', [1, 2, 3, 4, 5], { classes: 2 }), /needs K\^D values \(D ≥ 1\), got 5/);
  range(() => tableFunction('poisson' as 'bernoulli', [1, 2]), /unknown family "poisson"/);
  range(() => quadraticFunction([0.5, NaN]), /^quadraticFunction: target\[1\] is NaN/);
  assert.throws(() => tableFunction('bernoulli', [1, '2'] as unknown as number[]), (e: Error) => e instanceof TypeError && /values\[1\] must be a number/.test(e.message));
});

validation('samples of the wrong shape are refused at the call', () => {
  const f = tableFunction('bernoulli', values8);
  assert.throws(() => f(tensor([[0, 1]])), /tableFunction: the table on 3 Bernoullis expects samples of shape \[n,3\], got \[1,2\]/);
  assert.throws(() => f(tensor([0, 1, 1])), /expects samples of shape \[n,3\], got \[3\]/);
  const q = quadraticFunction([1, 2]);
  assert.throws(() => q(tensor([[1, 2, 3]])), /quadraticFunction: samples of shape \[1,3\] do not end in the target's shape \[2\]/);
});

bernoulli.run();
categorical.run();
quadratic.run();
validation.run();
