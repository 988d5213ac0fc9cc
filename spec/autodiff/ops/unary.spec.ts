// autodiff/ops/unary.ts: every elementwise op of one tensor.
//   gradients: checkGrads (first and second order) on fast-check shapes and
//   values, each op in its own domain (positive for log and sqrt, away from
//   the kinks of abs, relu and clamp; order 1 only at a stated kink);
//   forward: against Math and closed forms, with the stable forms checked at ±1000;
//   floor and sign: not differentiable, and saying so.
//   square, tanh, sigmoid, softplus, logSigmoid: the one-pass first-order VJP gives
//   the same numbers, bit for bit, as the recorded form a transform
//   differentiates, at ordinary inputs, ±40, ±0 and NaN.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, scalar, grad, valueAndGrad, sum, add, mul,
  neg, square, sqrt, abs, exp, log, log1p, expm1, sin, cos, tanh, sigmoid, softplus, logSigmoid, relu, clamp, floor, sign,
} from '../../../index.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import { SEED, tensorArb, real, awayFrom, assertClose, assertNondifferentiable } from '../helpers.ts';

interface UnaryCase {
  name: string;
  f: (x: Tensor) => Tensor;
  /** The op's input domain for the gradient checks. */
  domain: fc.Arbitrary<number>;
  /** A plain-JS reference of the forward, written from the definition. */
  ref: (v: number) => number;
}

// Domains keep each function and its first three derivatives of moderate size
// (the checkGrads tolerances assume |F'''| ≲ 1e2) and ≥ 0.05 away from kinks.
const table: UnaryCase[] = [
  { name: 'neg', f: neg, domain: real(), ref: (v) => -v },
  { name: 'square', f: square, domain: real(), ref: (v) => v * v },
  { name: 'sqrt', f: sqrt, domain: real(0.3, 4), ref: Math.sqrt },
  { name: 'abs', f: abs, domain: awayFrom([0], 0.05), ref: Math.abs },
  { name: 'exp', f: exp, domain: real(-3, 3), ref: Math.exp },
  { name: 'log', f: log, domain: real(0.3, 4), ref: Math.log },
  { name: 'log1p', f: log1p, domain: real(-0.7, 4), ref: (v) => Math.log(1 + v) },
  { name: 'expm1', f: expm1, domain: real(-3, 3), ref: (v) => Math.exp(v) - 1 },
  { name: 'sin', f: sin, domain: real(-4, 4), ref: Math.sin },
  { name: 'cos', f: cos, domain: real(-4, 4), ref: Math.cos },
  { name: 'tanh', f: tanh, domain: real(-3, 3), ref: (v) => (Math.exp(2 * v) - 1) / (Math.exp(2 * v) + 1) },
  { name: 'sigmoid', f: sigmoid, domain: real(-8, 8), ref: (v) => 1 / (1 + Math.exp(-v)) },
  { name: 'softplus', f: softplus, domain: real(-8, 8), ref: (v) => Math.log(1 + Math.exp(v)) },
  { name: 'logSigmoid', f: logSigmoid, domain: real(-8, 8), ref: (v) => -Math.log(1 + Math.exp(-v)) },
  { name: 'relu', f: relu, domain: awayFrom([0], 0.05), ref: (v) => Math.max(v, 0) },
  { name: 'clamp(x, −1, 1)', f: (x) => clamp(x, -1, 1), domain: awayFrom([-1, 1], 0.05), ref: (v) => Math.min(Math.max(v, -1), 1) },
  { name: 'clamp(x, 0.5, 0.5)', f: (x) => clamp(x, 0.5, 0.5), domain: awayFrom([0.5], 0.05), ref: () => 0.5 },
];

// ---------------------------------------------------------------- gradients

const grads = suite('unary: gradients against central differences');

for (const { name, f, domain } of table) {
  grads(`${name}: first and second order, random shapes up to rank 3`, () => {
    fc.assert(
      fc.property(tensorArb(domain), fc.nat(), (x, seed) => {
        checkGrads(f, [x], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 20 },
    );
  });
}

grads('composites chain correctly: log(sigmoid(x)) and sqrt(tanh(x)² + 1)', () => {
  fc.assert(
    fc.property(tensorArb(real(-5, 5)), fc.nat(), (x, seed) => {
      checkGrads((t) => log(sigmoid(t)), [x], { order: 2, seed });
      checkGrads((t) => sqrt(add(square(tanh(t)), 1)), [x], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 15 },
  );
});

grads('square, tanh, sigmoid, softplus, logSigmoid: the one-pass first-order VJP equals the recorded form bit for bit', () => {
  const x = tensor([-40, -3.5, -0.7, -0, 0, 1e-300, 0.3, 2, 17, 40, NaN]);
  const w = tensor([1, -2, 0.5, 3, -1, 2, 0.25, -0.75, 1.5, 1, 1]);
  for (const [name, f] of [['square', square], ['tanh', tanh], ['sigmoid', sigmoid], ['softplus', softplus], ['logSigmoid', logSigmoid]] as const) {
    const loss = (t: Tensor) => sum(mul(f(t), w));
    const direct = grad(loss)(x); // no transform records the backward pass: one pass
    let recorded: Tensor | undefined; // the same gradient taken while an outer transform records
    valueAndGrad((y: Tensor) => {
      recorded = grad(loss)(x);
      return sum(y);
    })(scalar(0));
    assert.equal(Array.from(direct.data), Array.from((recorded as Tensor).data), name);
  }
});

grads('tanh, sigmoid: the one-pass second derivative (the VJP of their VJP ops) equals the recorded form bit for bit', () => {
  const x = tensor([-40, -3.5, -0.7, -0, 0, 1e-300, 0.3, 2, 17, 40]);
  const w = tensor([1, -2, 0.5, 3, -1, 2, 0.25, -0.75, 1.5, 1]);
  for (const [name, f] of [['tanh', tanh], ['sigmoid', sigmoid]] as const) {
    // The cotangent g reaching the VJP op is w, a constant, and then u ⊙ w, which needs one of its own.
    for (const inner of [(u: Tensor) => sum(mul(f(u), w)), (u: Tensor) => sum(mul(f(u), mul(u, w)))]) {
      const slope = (t: Tensor) => sum(mul(grad(inner)(t), w));
      const direct = grad(slope)(x); // the outer backward pass is not recorded: one pass
      let recorded: Tensor | undefined;
      valueAndGrad((y: Tensor) => {
        recorded = grad(slope)(x);
        return sum(y);
      })(scalar(0));
      assert.equal(Array.from(direct.data), Array.from((recorded as Tensor).data), name);
    }
  }
});

// At a kink, central differences see the average of the one-sided slopes.
// Order 1 only, and only where the op's stated choice equals that average.
grads('abs at 0: the subgradient 0 equals the central difference (order 1 at the kink)', () => {
  checkGrads(abs, [tensor([0, 0, 0.5, -0.5])], { order: 1, seed: 7 });
  assert.equal(grad((x: Tensor) => abs(x))(scalar(0)).item(), 0);
});

grads('relu at 0 takes the subgradient 0 (as PyTorch), not the central difference ½', () => {
  assert.equal(grad((x: Tensor) => relu(x))(scalar(0)).item(), 0);
  assert.equal(grad((x: Tensor) => relu(x))(scalar(1e-300)).item(), 1);
  assert.equal(grad((x: Tensor) => relu(x))(scalar(-1e-300)).item(), 0);
});

grads('clamp passes the gradient on the closed interval [lo, hi], boundaries included (as PyTorch)', () => {
  const g = grad((x: Tensor) => sum(clamp(x, -1, 1)))(tensor([-2, -1, 0, 1, 2]));
  assert.equal([...g.data], [0, 1, 1, 1, 0]);
});

// ---------------------------------------------------------------- forward values

const forward = suite('unary: forward values');

for (const { name, f, domain, ref } of table) {
  forward(`${name}: matches its definition elementwise`, () => {
    fc.assert(
      fc.property(tensorArb(domain), (x) => {
        const y = f(x);
        assertClose(y, { shape: x.shape, data: Array.from(x.data, ref) }, 1e-13, 1e-15, name);
      }),
      { seed: SEED, numRuns: 20 },
    );
  });
}

forward('log(0) = −Infinity (IEEE), not NaN; log of a negative is NaN; log1p(−1) = −Infinity', () => {
  assert.ok(Object.is(log(scalar(0)).item(), -Infinity));
  assert.ok(Object.is(log(scalar(-0)).item(), -Infinity));
  assert.ok(Number.isNaN(log(scalar(-1)).item()));
  assert.ok(Object.is(log1p(scalar(-1)).item(), -Infinity));
  assert.ok(Object.is(sqrt(scalar(0)).item(), 0));
});

forward('softplus and logSigmoid are finite and exact at ±1000 and ±40', () => {
  const x = tensor([-1000, -40, 0, 40, 1000]);
  const sp = softplus(x).data;
  // softplus(−1000) = log1p(e⁻¹⁰⁰⁰) underflows to 0; softplus(40) = 40 + log1p(e⁻⁴⁰).
  assert.equal([...sp], [0, Math.log1p(Math.exp(-40)), Math.LN2, 40 + Math.log1p(Math.exp(-40)), 1000]);
  const ls = logSigmoid(x).data;
  assert.equal([...ls], [-1000, -40 - Math.log1p(Math.exp(-40)), -Math.LN2, -Math.log1p(Math.exp(-40)), -0]);
  // Their derivatives at the extremes, σ and σ(−x), are finite too.
  const dsp = grad((t: Tensor) => sum(softplus(t)))(x).data;
  assert.equal([...dsp].map((v) => Number.isFinite(v)), [true, true, true, true, true]);
});

forward('sigmoid at its extremes: exactly 0 and 1 at ∓1000, relative accuracy in the far tail', () => {
  const s = sigmoid(tensor([-1000, -745, -40, 0, 40, 1000])).data;
  assert.is(s[0], 0);
  assert.ok(s[1] > 0 && s[1] < 1e-300, `sigmoid(−745) = ${s[1]} keeps its subnormal value`);
  // σ(−40) = e⁻⁴⁰ / (1 + e⁻⁴⁰): computed without cancellation, to the last bits.
  const tail = Math.exp(-40) / (1 + Math.exp(-40));
  assert.ok(Math.abs(s[2] - tail) <= 1e-15 * tail, `sigmoid(−40) = ${s[2]}, expected ${tail}`);
  assert.is(s[3], 0.5);
  assert.is(s[4], 1 / (1 + Math.exp(-40)));
  assert.is(s[5], 1);
  const ds = grad((t: Tensor) => sum(sigmoid(t)))(tensor([-1000, 0, 1000])).data;
  assert.equal([...ds], [0, 0.25, 0]);
});

forward('tanh saturates to ±1 without NaN; exp overflows to Infinity as IEEE says', () => {
  assert.equal([...tanh(tensor([-1000, 1000])).data], [-1, 1]);
  assert.is(exp(scalar(1000)).item(), Infinity);
  assert.is(expm1(scalar(1e-20)).item(), 1e-20);
  assert.is(log1p(scalar(1e-20)).item(), 1e-20);
});

forward('clamp checks lo ≤ hi', () => {
  assert.throws(() => clamp(tensor([1]), 2, 1), (e: unknown) => e instanceof RangeError && /^clamp: lo \(2\) must not exceed hi \(1\)/.test((e as Error).message));
});

forward('unary ops reject a non-tensor with a TypeError naming the op', () => {
  assert.throws(() => exp(3 as unknown as Tensor), (e: unknown) => e instanceof TypeError && /^exp: argument must be a Tensor, got number/.test((e as Error).message));
});

forward('floor and sign: values', () => {
  assert.equal([...floor(tensor([-1.5, -0, 0.2, 2])).data], [-2, -0, 0, 2]);
  assert.equal([...sign(tensor([-3, 0, 4])).data], [-1, 0, 1]);
});

// ---------------------------------------------------------------- not differentiable

const nondiff = suite('unary: floor and sign are not differentiable');

nondiff('floor throws when a gradient reaches it; not under stopGradient or when unused', () => {
  assertNondifferentiable('floor', floor, tensor([0.5, 1.7, -2.2]));
});

nondiff('sign throws when a gradient reaches it; not under stopGradient or when unused', () => {
  assertNondifferentiable('sign', sign, tensor([0.5, -1.7, 2.2]));
});

grads.run();
forward.run();
nondiff.run();
