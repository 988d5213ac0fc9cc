// Tests of lib/mlp.ts: shapes, the fixtures of ../shared/peers, seeded
// initialisation (its law checked by Kolmogorov–Smirnov), and gradients of
// order 1 and 2 through the net against central finite differences.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, tensor, rng, grad, sum, mul, add, sub, square, mapTree, leaves, type Rng } from '../../index.ts';
import { initMlp, applyMlp, mlpFromArrays, mlpToArrays, mlpSizes, type MlpParams, type Activation } from '../../lib/mlp.ts';
import { ksTest } from '../../lib/stats.ts';

const ALPHA = 1e-3;

// The "toy" problem's RELAX surrogate from ../shared/peers/fixtures.json
// (sizes [1, 10, 1], tanh, W stored [in][out]), copied so that the spec runs
// on a clean clone.
const TOY_MLP = [
  [[0.940106, 0.41564, -0.0812341, 0.841495, 0.290048, 0.582296, -0.642788, -0.297785, 0.162682, -0.423528]],
  [-0.0942623, -0.646401, -0.289466, 0.24381, -0.0363032, -0.118399, -0.185437, -0.589123, 0.330076, 0.569748],
  [[-0.18318], [0.11178], [-0.246825], [0.0150221], [-0.17328], [0.0368362], [0.0553582], [0.115073], [0.15519], [-0.172246]],
  [0.195993],
];

// ---------------------------------------------------------------- shapes and fixtures

const shapes = suite('mlp: shapes and fixtures');

shapes('initMlp makes W [in,out] and b [out] per layer', () => {
  const params = initMlp(rng(0), { sizes: [3, 5, 4, 2] });
  assert.equal(params.layers.map((l) => [l.W.shape, l.b.shape]), [[[3, 5], [5]], [[5, 4], [4]], [[4, 2], [2]]]);
  assert.equal(mlpSizes(params), [3, 5, 4, 2]);
});

shapes('applyMlp maps [n,in] to [n,out], [in] to [out], and keeps leading axes', () => {
  const params = initMlp(rng(1), { sizes: [3, 5, 2] });
  const x = rng(2).normal([4, 3]);
  const y = applyMlp(params, x, { activation: 'tanh' });
  assert.equal(y.shape, [4, 2]);
  // A single input gives the same numbers as its row of the batch.
  const row = applyMlp(params, tensor(Array.from(x.data.slice(3, 6))), { activation: 'tanh' });
  assert.equal(row.shape, [2]);
  assert.equal(Array.from(row.data), Array.from(y.data.slice(2, 4)));
  const cube = applyMlp(params, tensor(Array.from(x.data), [2, 2, 3]), { activation: 'tanh' });
  assert.equal(cube.shape, [2, 2, 2]);
  assert.equal(Array.from(cube.data), Array.from(y.data));
  assert.equal(applyMlp(params, tensor([], [0, 3]), { activation: 'relu' }).shape, [0, 2]);
});

shapes('the toy fixture loads directly and gives the values of an independent evaluation', () => {
  const params = mlpFromArrays(TOY_MLP);
  assert.equal(mlpSizes(params), [1, 10, 1]);
  const y = applyMlp(params, tensor([[0], [0.25], [1], [-0.5]]), { activation: 'tanh' });
  // tanh(x W₁ + b₁) W₂ + b₂ evaluated in Python (math.tanh, math.fsum) from fixtures.json.
  // ~30 operations on O(1) values: agreement to a few ulp, tolerance 1e-15.
  const python = [0.11428581275798544, 0.08544074983708178, 0.04335434830346843, 0.17158301701933823];
  assert.equal(y.shape, [4, 1]);
  python.forEach((v, i) => assert.ok(Math.abs(y.data[i] - v) < 1e-15, `${y.data[i]} vs ${v}`));
  // And the round trip to nested arrays is exact.
  assert.equal(mlpToArrays(params), TOY_MLP);
});

shapes('activations and outputActivation act where they should', () => {
  // One layer, W = I, b = 0: the output is outputActivation(x) exactly, whatever the hidden activation.
  const identity = mlpFromArrays([[[1, 0], [0, 1]], [0, 0]]);
  const x = tensor([[-2, 3]]);
  const out = (o: Activation) => Array.from(applyMlp(identity, x, { activation: 'relu', outputActivation: o }).data);
  assert.equal(out('linear'), [-2, 3]);
  assert.equal(out('relu'), [0, 3]);
  assert.equal(out('tanh'), [Math.tanh(-2), Math.tanh(3)]);
  assert.equal(out('sigmoid').map((v) => +v.toFixed(15)), [1 / (1 + Math.exp(2)), 1 / (1 + Math.exp(-3))].map((v) => +v.toFixed(15)));
  // Two layers: the hidden activation applies between them.
  const two = mlpFromArrays([[[1, 0], [0, 1]], [0, 0], [[1], [1]], [0]]);
  assert.equal(Array.from(applyMlp(two, x, { activation: 'relu' }).data), [3]);
  assert.equal(Array.from(applyMlp(two, x, { activation: 'linear' }).data), [1]);
});

shapes.run();

// ---------------------------------------------------------------- initialisation

const init = suite('mlp: seeded initialisation');

const flat = (p: MlpParams) => leaves(p).flatMap((t) => Array.from(t.data));

init('the same seed gives the same net; another seed, or the advanced generator, another', () => {
  const options = { sizes: [4, 8, 3] };
  assert.equal(flat(initMlp(rng(5), options)), flat(initMlp(rng(5), options)));
  assert.not.equal(flat(initMlp(rng(6), options)), flat(initMlp(rng(5), options)));
  const r: Rng = rng(5);
  const first = flat(initMlp(r, options));
  assert.not.equal(flat(initMlp(r, options)), first);
});

init('pytorch init: W and b ~ U(−1/√in, 1/√in) (KS, α = 1e-3); rejects the bound 1/√out', () => {
  // 120 000 weights: KS detects a CDF error of ~0.006 at α = 1e-3. The wrong
  // bound 1/√300 instead of 1/√400 stretches the law by 15%: D ≈ 0.065, p ≈ 0.
  const params = initMlp(rng(7), { sizes: [400, 300] });
  const { W, b } = params.layers[0];
  const bound = 1 / Math.sqrt(400);
  const cdf = (c: number) => (x: number) => Math.min(1, Math.max(0, (x + c) / (2 * c)));
  assert.ok(ksTest(W.data, cdf(bound)).pValue > ALPHA);
  assert.ok(ksTest(W.data, cdf(1 / Math.sqrt(300))).pValue < ALPHA);
  assert.ok(b.data.every((v) => Math.abs(v) < bound));
  assert.ok(ksTest(b.data, cdf(bound)).pValue > ALPHA); // 300 values: a weak check, but a check
});

init('xavier init: W ~ U(±gain·√(6/(in+out))) with the activation gain, b = 0; rejects gain 1 for tanh', () => {
  // 20 000 weights: the wrong gain 1 instead of 5/3 changes the law by 40%, D ≈ 0.2.
  const params = initMlp(rng(8), { sizes: [200, 100], init: 'xavier', activation: 'tanh' });
  const { W, b } = params.layers[0];
  const cdf = (c: number) => (x: number) => Math.min(1, Math.max(0, (x + c) / (2 * c)));
  const a = (5 / 3) * Math.sqrt(6 / 300);
  assert.ok(ksTest(W.data, cdf(a)).pValue > ALPHA);
  assert.ok(ksTest(W.data, cdf(Math.sqrt(6 / 300))).pValue < ALPHA);
  assert.ok(b.data.every((v) => v === 0));
  const relu = initMlp(rng(8), { sizes: [200, 100], init: 'xavier', activation: 'relu' }).layers[0].W;
  assert.ok(ksTest(relu.data, cdf(Math.SQRT2 * Math.sqrt(6 / 300))).pValue > ALPHA);
});

init.run();

// ---------------------------------------------------------------- gradients

const grads = suite('mlp: gradients against finite differences');

// Central differences with step EPS: truncation EPS²/6·|L'''| ≈ 2e-11 and
// rounding ≈ ε_mach·|L|·κ/EPS ≈ 1e-16·10·100/1e-5 ≈ 1e-8 in the worst case
// for these O(1)–O(10) losses of a few hundred operations (the same budget as
// spec/harness/checkGrads.ts). TOL = 1e-6·(1 + |numeric|) sits well above that
// and far below the error of any wrong derivative on O(1) values.
const EPS = 1e-5;
const close = (analytic: number, numeric: number, what: string) =>
  assert.ok(Math.abs(analytic - numeric) <= 1e-6 * (1 + Math.abs(numeric)), `${what}: analytic ${analytic}, numeric ${numeric}`);

type Params = MlpParams;
const dotTrees = (a: unknown, b: unknown) => {
  const xs = leaves(a);
  const ys = leaves(b);
  let s = 0;
  xs.forEach((x, i) => x.data.forEach((v, j) => (s += v * ys[i].data[j])));
  return s;
};
const axpy = <T>(tree: T, dir: T, h: number): T => {
  const ds = leaves(dir);
  let i = 0;
  return mapTree(tree, (x) => {
    const d = ds[i++];
    return new Tensor(x.data.map((v, j) => v + h * d.data[j]), x.shape);
  });
};
const randomLike = <T>(r: Rng, tree: T): T => mapTree(tree, (x) => r.normal(x.shape));

function setup(activation: Activation, seed: number) {
  const r = rng(seed);
  const params = initMlp(r, { sizes: [3, 4, 2] });
  const x = r.normal([5, 3]);
  const y = r.normal([5, 2]);
  const loss = (p: Params, xs: Tensor) => sum(square(sub(applyMlp(p, xs, { activation, outputActivation: 'tanh' }), y)));
  return { r, params, x, loss };
}

for (const activation of ['tanh', 'sigmoid', 'relu', 'linear'] as Activation[]) {
  grads(`order 1 (${activation}): ⟨∇L, v⟩ in params and in the input`, () => {
    const { r, params, x, loss } = setup(activation, 10);
    const [gp, gx] = grad(loss, { argnums: [0, 1] })(params, x) as [Params, Tensor];
    const v = randomLike(r, params);
    const u = r.normal(x.shape);
    const numericP = (loss(axpy(params, v, EPS), x).item() - loss(axpy(params, v, -EPS), x).item()) / (2 * EPS);
    close(dotTrees(gp, v), numericP, 'params');
    const numericX = (loss(params, axpy(x, u, EPS)).item() - loss(params, axpy(x, u, -EPS)).item()) / (2 * EPS);
    close(dotTrees(gx, u), numericX, 'input');
  });
}

// Order 2 where the second derivative exists everywhere (relu's is 0 almost everywhere: order 1 only).
for (const activation of ['tanh', 'sigmoid'] as Activation[]) {
  grads(`order 2 (${activation}): Hessian-vector products, and the mixed input–params derivative`, () => {
    const { r, params, x, loss } = setup(activation, 11);
    const v = randomLike(r, params);
    const w = randomLike(r, params);
    const u = r.normal(x.shape);
    const gradP = grad(loss) as (p: Params, xs: Tensor) => Params;
    const gradX = grad(loss, { argnums: 1 }) as (p: Params, xs: Tensor) => Tensor;
    // h(θ) = ⟨∇_θ L, v⟩: ∇h = H v, compared along w with central differences of h.
    const vs = leaves(v);
    const h = (p: Params) => leaves(gradP(p, x)).map((g, i) => sum(mul(g, vs[i]))).reduce((a, b) => add(a, b));
    const hv = grad(h)(params) as Params;
    const numericH = (h(axpy(params, w, EPS)).item() - h(axpy(params, w, -EPS)).item()) / (2 * EPS);
    close(dotTrees(hv, w), numericH, 'Hessian-vector product');
    // k(θ) = ⟨∇ₓ L(θ, x), u⟩, the shape of a RELAX surrogate's input gradient, differentiated in θ.
    const k = (p: Params) => sum(mul(gradX(p, x), u));
    const mixed = grad(k)(params) as Params;
    const numericK = (k(axpy(params, w, EPS)).item() - k(axpy(params, w, -EPS)).item()) / (2 * EPS);
    close(dotTrees(mixed, w), numericK, 'mixed derivative');
  });
}

grads.run();

// ---------------------------------------------------------------- errors

const errors = suite('mlp: errors');

function throwsWith(f: () => unknown, kind: typeof TypeError | typeof RangeError, re: RegExp) {
  assert.throws(f, (e: Error) => e instanceof kind && re.test(e.message), String(re));
}

errors('bad options, inputs and parameters are named with their values', () => {
  const params = initMlp(rng(0), { sizes: [3, 2] });
  throwsWith(() => initMlp(rng(0), { sizes: [3] }), RangeError, /^initMlp: sizes must list at least two positive integer widths \[in, …, out\], got \[3\]/);
  throwsWith(() => initMlp(rng(0), { sizes: [3, 0] }), RangeError, /^initMlp: sizes .* got \[3,0\]/);
  throwsWith(() => initMlp(rng(0), { sizes: [3, 2], init: 'he' as never }), RangeError, /^initMlp: init must be 'pytorch' or 'xavier', got "he"/);
  throwsWith(() => initMlp(rng(0), { sizes: [3, 2], activation: 'gelu' as never }), RangeError, /^initMlp: activation must be one of 'tanh', 'relu', 'sigmoid', 'linear', got "gelu"/);
  throwsWith(() => initMlp(42 as never, { sizes: [3, 2] }), TypeError, /^initMlp: expected a generator from rng\(seed\)/);
  throwsWith(() => applyMlp(params, tensor([[1, 2]]), { activation: 'tanh' }), RangeError, /^applyMlp: x has shape \[1,2\] but the first layer takes 3 input\(s\); pass \[n, 3\] or \[3\]/);
  throwsWith(() => applyMlp(params, tensor([1, 2, 3]), { activation: 'swish' as never }), RangeError, /^applyMlp: activation must be one of/);
  throwsWith(() => applyMlp(params, tensor([1, 2, 3]), { activation: 'tanh', outputActivation: 'softmax' as never }), RangeError, /^applyMlp: outputActivation must be one of .* got "softmax"/);
  throwsWith(() => applyMlp({ layers: [] }, tensor([1]), { activation: 'tanh' }), TypeError, /^applyMlp: params must be \{ layers: \[\{ W, b \}, …\] \}/);
  throwsWith(() => applyMlp(params, [1, 2, 3] as never, { activation: 'tanh' }), TypeError, /^applyMlp: x must be a Tensor/);
  throwsWith(() => mlpFromArrays([[[1, 2]], [0, 0], [[1]]]), RangeError, /^mlpFromArrays: expected \[W1, b1, W2, b2, …\].* got 3 arrays/);
  throwsWith(() => mlpFromArrays([[[1, 2]], [0]]), RangeError, /^mlpFromArrays: layers\[0\] has W \[1,2\] and b \[1\]; expected W \[in,out\] and b \[out\]/);
  throwsWith(() => mlpFromArrays([[[1, 2]], [0, 0], [[1, 2, 3]], [0, 0, 0]]), RangeError, /^mlpFromArrays: layers\[1\].W has 1 inputs but layers\[0\] has 2 outputs/);
});

errors.run();
