// autodiff/transforms.ts: grad, valueAndGrad, vjp and stopGradient over
// trees of tensors, nested to any order.
//   trees and argnums; cotangents summed from three or more consumers, and a
//   summed cotangent passed on as it is to two inputs; valueAndGrad; vjp with tree outputs and cotangents;
//   third derivatives of sin and exp(x²) against closed forms; the
//   Hessian-vector product of a small tanh MLP loss against central
//   differences of its gradient; perturbation confusion (Siskind & Pearlmutter);
//   no state left behind after a throw; error messages.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor, tensor, scalar, grad, valueAndGrad, vjp, stopGradient, isRecording, mapTree, zipTrees, leaves,
  add, sub, mul, exp, sin, cos, square, tanh, sigmoid, sum, mean, matmul, type Tree,
} from '../../index.ts';
import { assertNear, assertClose } from './helpers.ts';
import { normals } from '../harness/checkGrads.ts';

const s = (x: number): Tensor => scalar(x);

// ---------------------------------------------------------------- trees and argnums

const trees = suite('transforms: trees, argnums, valueAndGrad, vjp');

trees('grad over a tree of parameters returns the same tree', () => {
  // f = Σ w ⊙ x + b₀² + 3 b₁  →  ∂w = x, ∂b₀ = 2 b₀, ∂b₁ = 3
  const x = tensor([1, 2, 3]);
  const f = (p: { w: Tensor; b: Tensor[] }): Tensor => add(add(sum(mul(p.w, x)), square(p.b[0])), mul(p.b[1], 3));
  const g = grad(f)({ w: tensor([0.5, 0.5, 0.5]), b: [s(2), s(-1)] });
  assert.equal(Object.keys(g), ['w', 'b']);
  assert.ok(Array.isArray(g.b) && g.b.length === 2);
  assert.equal(g.w.toArray(), [1, 2, 3]);
  assert.is(g.b[0].item(), 4);
  assert.is(g.b[1].item(), 3);
});

trees('a leaf f does not use gets a zero gradient of its shape', () => {
  const g = grad((p: { used: Tensor; unused: Tensor }) => sum(p.used))({ used: tensor([1, 2]), unused: tensor([[1, 2, 3]]) });
  assert.equal(g.unused.toArray(), [[0, 0, 0]]);
  assert.equal(g.used.toArray(), [1, 1]);
});

trees('argnums: a number picks one argument, an array returns a list in its order', () => {
  const f = (a: Tensor, b: Tensor, c: Tensor): Tensor => sum(mul(mul(a, b), square(c)));
  const [a, b, c] = [tensor([2]), tensor([3]), tensor([5])];
  assert.equal(grad(f)(a, b, c).toArray(), [75]);
  assert.equal(grad(f, { argnums: 1 })(a, b, c).toArray(), [50]);
  const gs = grad(f, { argnums: [2, 0] })(a, b, c);
  assert.is(gs.length, 2);
  assert.equal(gs[0].toArray(), [60]);
  assert.equal(gs[1].toArray(), [75]);
  // A non-differentiated argument may be anything, e.g. a number.
  const h = grad((x: Tensor, k: number) => mul(sum(x), k), { argnums: 0 });
  assert.equal(h(tensor([1, 1]), 7).toArray(), [7, 7]);
});

trees('valueAndGrad returns f’s value and the gradient from one forward pass', () => {
  let calls = 0;
  const f = (x: Tensor): Tensor => {
    calls++;
    return sum(exp(x));
  };
  const { value, grad: g } = valueAndGrad(f)(tensor([0, 1]));
  assert.is(calls, 1);
  assertNear(value.item(), 1 + Math.E, 1e-15, 'value');
  assert.equal(g.toArray(), [1, Math.E]);
  const both = valueAndGrad((a: Tensor, b: Tensor) => sum(mul(a, b)), { argnums: [0, 1] })(tensor([2]), tensor([3]));
  assert.is(both.value.item(), 6);
  assert.equal(both.grad.map((t: Tensor) => t.item()), [3, 2]);
});

trees('vjp with tree primals, a tree output and a tree cotangent', () => {
  // out = { y: a ⊙ b, z: [Σ a, sin(b)] }
  const f = (p: { a: Tensor }, b: Tensor): { y: Tensor; z: Tensor[] } => ({ y: mul(p.a, b), z: [sum(p.a), sin(b)] });
  const a = tensor([1, 2]);
  const b = tensor([3, 4]);
  const { out, vjp: back } = vjp(f, { a }, b);
  assert.equal(out.y.toArray(), [3, 8]);
  assert.is(out.z[0].item(), 3);
  const ct = { y: tensor([1, 10]), z: [s(100), tensor([0.5, 2])] };
  const [ga, gb] = back(ct);
  // ∂a = ct.y ⊙ b + ct.z₀;  ∂b = ct.y ⊙ a + ct.z₁ ⊙ cos(b)
  assert.equal(ga.a.toArray(), [1 * 3 + 100, 10 * 4 + 100]);
  assertClose(gb, { shape: [2], data: [1 * 1 + 0.5 * Math.cos(3), 10 * 2 + 2 * Math.cos(4)] }, 1e-15, 1e-15, '∂b');
  // The same vjp can be pulled back twice (linear in the cotangent).
  const [ga2] = back({ y: tensor([2, 20]), z: [s(200), tensor([1, 4])] });
  assert.equal(ga2.a.toArray(), [206, 280]);
});

trees('vjp of a function returning a plain tensor; cotangent shape is checked', () => {
  const { out, vjp: back } = vjp((x: Tensor) => mul(x, x), tensor([[1, 2], [3, 4]]));
  assert.equal(out.toArray(), [[1, 4], [9, 16]]);
  assert.equal(back(tensor([[1, 1], [1, 0]]))[0].toArray(), [[2, 4], [6, 0]]);
  assert.throws(() => back(tensor([1, 2])), (e: unknown) => e instanceof RangeError && /^vjp: cotangent shape \[2\] does not match output shape \[2,2\]/.test((e as Error).message));
});

trees('stopGradient cuts the path at every level: d/dx [x · stop(x)] = x, and d²/dx² = 0 (as JAX)', () => {
  const f = (x: Tensor): Tensor => mul(x, stopGradient(x));
  assert.is(grad(f)(s(3)).item(), 3);
  // The first derivative is the constant stop(x): its own derivative is 0, not 1.
  assert.is(grad(grad(f))(s(3)).item(), 0);
  assert.is(grad(grad((x: Tensor) => mul(x, mul(x, stopGradient(x)))))(s(3)).item(), 6);
  assert.throws(() => stopGradient(3 as unknown as Tensor), (e: unknown) => e instanceof TypeError && /^stopGradient: expected a Tensor, got number/.test((e as Error).message));
});

trees('a node with three or more consumers sums their cotangents, and a sum passed on as it is stays apart', () => {
  // a = 2x feeds sin, cos and a²: its cotangent is the sum of three. t = u + v
  // feeds t² and exp(t), and add's VJP hands t's summed cotangent to both u and
  // v as one tensor; u and v then get one more cotangent each (from sin(u) and
  // cos(v), recorded before t), which must not be added into the shared tensor
  // (a backward pass that summed in place into a sum it made itself, without
  // letting go of it once a VJP has it, fails here).
  const f = (x: Tensor): Tensor => {
    const a = mul(x, 2);
    const first = sum(add(add(sin(a), cos(a)), square(a)));
    const u = mul(x, 3), v = mul(x, 5);
    const w = sin(u), w2 = cos(v);
    const t = add(u, v);
    return add(add(first, add(sum(square(t)), sum(exp(t)))), add(sum(w), sum(w2)));
  };
  const x = tensor([0.3, -0.7, 1.1]);
  const g = grad(f)(x).toArray() as number[];
  // d/dx: 2 (cos 2x − sin 2x + 4x) + 8 (16x + e^{8x}) + 3 cos 3x − 5 sin 5x
  (x.toArray() as number[]).forEach((xi, i) => {
    const expected = 2 * (Math.cos(2 * xi) - Math.sin(2 * xi) + 4 * xi) + 8 * (16 * xi + Math.exp(8 * xi)) + 3 * Math.cos(3 * xi) - 5 * Math.sin(5 * xi);
    assertNear(g[i], expected, 1e-12 * Math.max(1, Math.abs(expected)), `x = ${xi}`);
  });
});

// ---------------------------------------------------------------- higher order

const higher = suite('transforms: higher-order derivatives');

higher('third derivative of sin is −cos, at several points', () => {
  const d3 = grad(grad(grad((x: Tensor) => sin(x))));
  for (const x of [-2, -0.3, 0, 0.7, 2.5]) assertNear(d3(s(x)).item(), -Math.cos(x), 1e-15, `sin''' at ${x}`);
  // and the fourth is sin again
  const d4 = grad(d3 as (x: Tensor) => Tensor);
  assertNear(d4(s(0.7)).item(), Math.sin(0.7), 1e-15, "sin''''");
});

higher('derivatives of tanh and sigmoid up to the fourth against closed forms (their VJPs are ops with VJPs of their own)', () => {
  const nth = (f: (x: Tensor) => Tensor, order: number) => {
    let d = f;
    for (let i = 0; i < order; i++) d = grad(d) as (x: Tensor) => Tensor;
    return d;
  };
  for (const x of [-2.5, -0.6, 0, 0.4, 1.7]) {
    const t = Math.tanh(x);
    const t1 = 1 - t * t; // tanh' = 1 − t², tanh'' = −2 t t', tanh''' = −2 t'(1 − 3t²), tanh'''' = 8 t t'(2 − 3t²)
    const tanhDerivatives = [t1, -2 * t * t1, -2 * t1 * (1 - 3 * t * t), 8 * t * t1 * (2 - 3 * t * t)];
    const s = 1 / (1 + Math.exp(-x));
    const s1 = s * (1 - s); // σ' = σ(1 − σ), σ'' = σ'(1 − 2σ), σ''' = σ'(1 − 6σ + 6σ²), σ'''' = σ'(1 − 2σ)(1 − 12σ + 12σ²)
    const sigmoidDerivatives = [s1, s1 * (1 - 2 * s), s1 * (1 - 6 * s + 6 * s * s), s1 * (1 - 2 * s) * (1 - 12 * s + 12 * s * s)];
    for (let order = 1; order <= 4; order++) {
      assertNear(nth(tanh, order)(scalar(x)).item(), tanhDerivatives[order - 1], 1e-14, `tanh order ${order} at ${x}`);
      assertNear(nth(sigmoid, order)(scalar(x)).item(), sigmoidDerivatives[order - 1], 1e-14, `sigmoid order ${order} at ${x}`);
    }
  }
});

higher('derivatives of exp(x²) up to the third against closed forms', () => {
  const f = (x: Tensor): Tensor => exp(square(x));
  const d1 = grad(f);
  const d2 = grad(d1 as (x: Tensor) => Tensor);
  const d3 = grad(d2 as (x: Tensor) => Tensor);
  for (const x of [-1.1, -0.4, 0, 0.5, 1.2]) {
    const e = Math.exp(x * x);
    // d/dx e^{x²} = 2x e^{x²};  d² = (2 + 4x²) e^{x²};  d³ = (12x + 8x³) e^{x²}
    assertNear(d1(s(x)).item(), 2 * x * e, 1e-14, `d1 at ${x}`);
    assertNear(d2(s(x)).item(), (2 + 4 * x * x) * e, 1e-14, `d2 at ${x}`);
    assertNear(d3(s(x)).item(), (12 * x + 8 * x ** 3) * e, 1e-14, `d3 at ${x}`);
  }
});

higher('grad of grad on tensors: the Hessian of Σ xᵢ³ applied to v is 6 x ⊙ v', () => {
  const f = (x: Tensor): Tensor => sum(mul(square(x), x));
  const v = tensor([1, -2, 0.5]);
  const hv = grad((x: Tensor) => sum(mul(grad(f)(x), v)))(tensor([1, 2, 3]));
  assert.equal(hv.toArray(), [6, -24, 9]);
});

/** A two-layer tanh MLP with squared error, on a batch. */
type Mlp = {
  W1: Tensor;
  b1: Tensor;
  W2: Tensor;
  b2: Tensor;
};

function mlpLoss(p: Mlp, X: Tensor, Y: Tensor): Tensor {
  const h = tanh(add(matmul(X, p.W1), p.b1)); // [batch, hidden]
  const out = add(matmul(h, p.W2), p.b2); // [batch, out]
  return mean(square(sub(out, Y)));
}

higher('Hessian-vector product of a tanh MLP loss (batch 6, 4-5-3) against central differences of its gradient', () => {
  const [W1, b1, W2, b2, X, Y, v1, vb1, v2, vb2] = normals(11, [4, 5], [5], [5, 3], [3], [6, 4], [6, 3], [4, 5], [5], [5, 3], [3]);
  const params: Mlp = { W1, b1, W2, b2 };
  const v: Mlp = { W1: v1, b1: vb1, W2: v2, b2: vb2 };
  const g = grad(mlpLoss);
  const treeDot = (a: Tree, b: Tree): Tensor => leaves(a).reduce((acc: Tensor, t, i) => add(acc, sum(mul(t, leaves(b)[i]))), s(0));
  // Hv = ∇ₚ ⟨∇ₚ loss, v⟩, a grad of a grad over a tree.
  const hv = grad((p: Mlp) => treeDot(g(p, X, Y), v))(params);
  // (∇loss(p + εv) − ∇loss(p − εv)) / 2ε; ε = 1e-5 as in checkGrads (see its tolerance note).
  const eps = 1e-5;
  const shift = (sign: number): Mlp => zipTrees(params, v, (p, d) => add(p, mul(d, sign * eps)));
  const numeric = zipTrees(g(shift(1), X, Y), g(shift(-1), X, Y), (a, b) => mul(sub(a, b), 1 / (2 * eps)));
  const hvLeaves = leaves(hv);
  const numLeaves = leaves(numeric);
  assert.is(hvLeaves.length, 4);
  hvLeaves.forEach((h, i) => assertClose(h, numLeaves[i], 1e-6, 1e-6, `Hv leaf ${i}`));
  // The product is not trivially zero.
  assert.ok(hvLeaves.some((h) => h.data.some((x) => Math.abs(x) > 1e-2)));
});

// ---------------------------------------------------------------- perturbation confusion

const nesting = suite('transforms: nested gradients keep their levels apart');

nesting('d/dx [x · d/dy (x + y)] = 1, not 2 (Siskind & Pearlmutter 2005)', () => {
  const f = (x: Tensor): Tensor => mul(x, grad((y: Tensor) => add(x, y))(s(1)));
  for (const x of [1, 3]) assert.is(grad(f)(s(x)).item(), 1);
});

nesting('d/dx [x · (d/dy (x · y))|y=2] = 2x (Siskind & Pearlmutter 2008, HOSC 21, p. 4)', () => {
  const f = (x: Tensor): Tensor => mul(x, grad((y: Tensor) => mul(x, y))(s(2)));
  assert.is(grad(f)(s(1)).item(), 2);
  assert.is(grad(f)(s(3)).item(), 6);
});

nesting('an inner gradient closing over an outer variable: d/dx (d/dy e^{xy})|y=1 = (1 + x) eˣ', () => {
  const inner = (x: Tensor): Tensor => grad((y: Tensor) => exp(mul(x, y)))(s(1));
  for (const x of [-0.5, 0, 0.8]) assertNear(grad(inner)(s(x)).item(), (1 + x) * Math.exp(x), 1e-15, `at ${x}`);
  // And the inner one alone: d/dy e^{xy} at y = 1 is x eˣ.
  assertNear(inner(s(0.8)).item(), 0.8 * Math.exp(0.8), 1e-15, 'inner');
});

nesting('mixed partials through three levels: ∂x ∂y ∂z (x y z)² = 8 x y z', () => {
  const f = (x: Tensor, y: Tensor, z: Tensor): Tensor => square(mul(mul(x, y), z));
  const dz = (x: Tensor, y: Tensor, z: Tensor): Tensor => grad(f, { argnums: 2 })(x, y, z);
  const dyz = (x: Tensor, y: Tensor, z: Tensor): Tensor => grad(dz, { argnums: 1 })(x, y, z);
  const dxyz = grad(dyz, { argnums: 0 });
  assert.is(dxyz(s(2), s(3), s(0.5)).item(), 8 * 2 * 3 * 0.5);
});

nesting('the same outer tensor used both inside and outside an inner grad', () => {
  // g(x) = x² · (d/dy sin(x y))|y=x = x² · x cos(x²) = x³ cos(x²); g' = 3x² cos(x²) − 2x⁴ sin(x²)
  const g = (x: Tensor): Tensor => mul(square(x), grad((y: Tensor) => sin(mul(x, y)))(x));
  const x = 0.9;
  assertNear(g(s(x)).item(), x ** 3 * Math.cos(x * x), 1e-15, 'g');
  assertNear(grad(g)(s(x)).item(), 3 * x * x * Math.cos(x * x) - 2 * x ** 4 * Math.sin(x * x), 1e-14, "g'");
});

// ---------------------------------------------------------------- no leaked state

const state = suite('transforms: no state left behind');

state('with no transform active, ops record nothing', () => {
  assert.is(isRecording(), false);
  const y = mul(tensor([1, 2]), tensor([3, 4]));
  assert.is(y._trace, null);
});

state('an exception inside f propagates, and leaves nothing recording; the next grad works', () => {
  const boom = (x: Tensor): Tensor => {
    mul(x, 2);
    throw new Error('boom');
  };
  assert.throws(() => grad(boom)(s(1)), /^boom$/);
  assert.is(isRecording(), false);
  assert.is(mul(s(1), s(2))._trace, null);
  assert.is(grad((x: Tensor) => square(x))(s(3)).item(), 6);
});

state('an exception thrown by an inner grad, inside an outer one, unwinds both', () => {
  const outer = (x: Tensor): Tensor => mul(x, grad((y: Tensor) => { mul(x, y); throw new RangeError('inner'); })(x));
  assert.throws(() => grad(outer)(s(1)), /^inner$/);
  assert.is(isRecording(), false);
  assert.is(grad(grad((x: Tensor) => mul(square(x), x)))(s(2)).item(), 12);
  // Caught inside the outer function: the outer transform goes on normally.
  const tolerant = (x: Tensor): Tensor => {
    try {
      grad((_: Tensor): Tensor => { throw new Error('ignored'); })(x);
    } catch {
      // the inner transform is closed; the outer one is still recording
    }
    assert.is(isRecording(), true);
    return square(x);
  };
  assert.is(grad(tolerant)(s(5)).item(), 10);
  assert.is(isRecording(), false);
});

state('errors raised after f returns (non-scalar output, non-differentiable op) leave no state either', () => {
  assert.throws(() => grad((x: Tensor) => mul(x, 2))(tensor([1, 2])));
  assert.is(isRecording(), false);
  assert.is(add(s(1), s(1))._trace, null);
});

state('a gradient that is the seed itself is the caller\'s own: writing into it changes no later gradient', () => {
  const identity = grad((x: Tensor) => x);
  const first = identity(scalar(3)); // the cotangent 1 that backpropagation starts from
  first.data[0] = 5;
  assert.is(identity(scalar(3)).item(), 1);
  assert.is(grad((x: Tensor) => mul(x, 2))(scalar(3)).item(), 2);
});

state('ops run inside f on tensors not derived from the inputs are constants there', () => {
  const c = tensor([1, 2]);
  const g = grad((x: Tensor) => {
    const k = mul(c, c); // recorded on no tape: no input is on it
    assert.is(k._trace, null);
    return sum(mul(x, k));
  })(tensor([0, 0]));
  assert.equal(g.toArray(), [1, 4]);
});

// ---------------------------------------------------------------- error messages

const errors = suite('transforms: error messages');

const throwsWith = (f: () => unknown, kind: ErrorConstructor, message: string | RegExp): void => {
  assert.throws(f, (e: unknown) => {
    if (!(e instanceof kind)) return false;
    const text = (e as Error).message;
    return typeof message === 'string' ? text === message : message.test(text);
  }, `expected ${kind.name}: ${String(message)}`);
};

errors('grad of a non-scalar function says how to fix it', () => {
  throwsWith(() => grad((x: Tensor) => mul(x, 2))(tensor([1, 2, 3])), RangeError, 'grad: f must return a scalar, got shape [3]; reduce it with sum() or use vjp');
  throwsWith(() => grad((_: Tensor) => 3 as unknown as Tensor)(s(1)), TypeError, /^grad: f must return a scalar Tensor, got number/);
});

errors('matmul misalignment names both shapes, also inside grad', () => {
  const a = tensor(new Float64Array(12), [3, 4]);
  const b = tensor(new Float64Array(10), [5, 2]);
  throwsWith(() => matmul(a, b), RangeError, 'matmul: shapes [3,4] and [5,2] do not align');
  throwsWith(() => grad((x: Tensor) => sum(matmul(x, b)))(a), RangeError, 'matmul: shapes [3,4] and [5,2] do not align');
  assert.is(isRecording(), false);
});

errors('bad argnums: out of range, negative, not an integer', () => {
  const f = (a: Tensor, b: Tensor): Tensor => sum(mul(a, b));
  throwsWith(() => grad(f, { argnums: 2 })(s(1), s(2)), RangeError, 'grad: argnums 2 is out of range for a call with 2 argument(s)');
  throwsWith(() => grad(f, { argnums: [0, -1] })(s(1), s(2)), RangeError, /^grad: argnums -1 is out of range/);
  throwsWith(() => grad(f, { argnums: 0.5 })(s(1), s(2)), RangeError, /^grad: argnums 0.5 is out of range/);
  assert.is(isRecording(), false);
});

errors('non-tensor leaves are named with their path in the tree', () => {
  const f = (p: { w: Tensor; b: Tensor[] }): Tensor => sum(p.w);
  throwsWith(() => grad(f)({ w: s(1), b: [s(1), 'x' as unknown as Tensor] }), TypeError, /^grad: expected a Tensor or a tree \(arrays and plain objects\) of Tensors, got string at argument 0\.b\[1\]$/);
  throwsWith(() => grad((x: Tensor) => x)(3 as unknown as Tensor), TypeError, /^grad: expected a Tensor or a tree .* got number at argument 0$/);
  throwsWith(() => grad(f)({ w: s(1), b: [null as unknown as Tensor] }), TypeError, /got null at argument 0\.b\[0\]$/);
  throwsWith(() => vjp((x: Tensor) => x, [1, 2] as unknown as Tensor), TypeError, /^vjp: expected a Tensor or a tree .* got number at primal 0\[0\]$/);
  throwsWith(() => grad(42 as unknown as (x: Tensor) => Tensor)(s(1)), TypeError, /^grad: expected a function, got number/);
  assert.is(isRecording(), false);
});

errors('a vjp cotangent with the wrong number of tensors', () => {
  const { vjp: back } = vjp((x: Tensor) => [x, mul(x, 2)], s(1));
  throwsWith(() => back([s(1)]), TypeError, 'vjp: the cotangent has 1 tensors, the output 2');
});

errors('mapTree keeps structure; zipTrees rejects trees of different structure', () => {
  const t = { a: [s(1), s(2)], b: s(3) };
  const doubled = mapTree(t, (x) => mul(x, 2));
  assert.equal(leaves(doubled).map((x) => x.item()), [2, 4, 6]);
  throwsWith(() => zipTrees(t, { a: [s(1)], b: s(3) }, add), TypeError, /^zipTrees: the two trees differ in structure/);
});

errors('mapTree gives each tensor its path when fn reads one; leaves and mapTree name the path of a bad node', () => {
  const t = { a: [s(1), s(2)], b: { c: s(3) } };
  const paths: string[] = [];
  mapTree(t, (x, path) => (paths.push(path), x));
  assert.equal(paths, ['a[0]', 'a[1]', 'b.c']);
  const bad = { a: [s(1), 7], b: { c: 7 } } as unknown as Tensor; // the first 7 in depth-first order is named
  throwsWith(() => leaves(bad), TypeError, /^leaves: expected a Tensor or a tree .* got number at a\[1\]$/);
  throwsWith(() => mapTree(bad, (x) => x, 'op', 'root'), TypeError, /^op: expected a Tensor or a tree .* got number at root\.a\[1\]$/);
  throwsWith(() => mapTree(bad, (x, _path) => x, 'op', 'root'), TypeError, /^op: expected a Tensor or a tree .* got number at root\.a\[1\]$/);
  throwsWith(() => leaves({ a: [s(1), NaN] }), TypeError, /got number at a\[1\]$/);
});

trees.run();
higher.run();
nesting.run();
state.run();
errors.run();
