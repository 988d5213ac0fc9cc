// autodiff/ops/reduce.ts: sum, mean, max, min over all elements or chosen
// axes (numbers, negative numbers, lists; keepdims or not), logsumexp, and
// softmax / logSoftmax on each axis.
//   gradients: checkGrads, first and second order, on fast-check shapes;
//   max and min away from ties (order 1 only at a stated tie);
//   forward: against plain-JS lane-by-lane references, and the max-shift
//   forms finite and exact at ±1000; argmax: values, and not differentiable.
//   softmax / logSoftmax reuse a lane equal to the one before (tiled
//   parameters): bit-identical to each row alone, ±∞ and NaN rows included;
//   their one-pass first-order VJP equals the recorded form (the one a
//   transform differentiates) on every axis; logSoftmax's second and third
//   derivatives equal x − logsumexp(x)'s on every axis.
//   temperedSoftmax (softmax(z / λ), one op): its value equals
//   softmax(div(z, λ)) bit for bit, tiled rows and ±∞/NaN included; its
//   derivatives in z and λ, one pass and recorded, equal theirs to rounding,
//   first and second order, and pass checkGrads; with λ a constant, so is its
//   one-pass derivative in z (rows four at a time, and the rest).
//   softmaxGradient (temperedSoftmax's VJP in z, one op, taken by its recorded
//   backward pass): its value equals y ⊙ (g − Σ g ⊙ y) / λ as ops bit for bit;
//   its one-pass derivatives in g, y and λ equal the recorded ones (and the
//   ops') to rounding; checkGrads first and second order; bad shapes throw.
//   squaredDistance (Σ (x − t)² over the trailing axes, one op): its value and
//   its one-pass first-order derivatives in x and t equal those of
//   sum(square(sub(x, t))) bit for bit, on targets that repeat over some
//   axes, ±∞/NaN included; recorded and second order equal theirs to
//   rounding, and pass checkGrads; a target that does not fit throws.
//   squaredDistanceGradient (its VJP in x, one op, taken by its recorded
//   backward pass): the same checks as softmaxGradient's.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, scalar, grad, valueAndGrad, add, mul, square, sum, mean, max, min, logsumexp, softmax, logSoftmax, argmax, stack, type Axis,
} from '../../../index.ts';
import { div, rng, sub, reshape, broadcastTo } from '../../../index.ts';
import { temperedSoftmax, squaredDistance, squaredDistanceGradient, softmaxGradient } from '../../../autodiff/ops/reduce.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import { SEED, shapeArb, tensorOf, distinctTensorOf, real, refReduce, assertClose, assertNondifferentiable } from '../helpers.ts';

/** work() run inside an outer transform, so that the backward passes it takes are recorded (the form a gradient of a gradient takes). */
function whileRecorded<T>(work: () => T): T {
  let result: { value: T } | undefined;
  valueAndGrad((y: Tensor) => {
    result = { value: work() };
    return sum(y);
  })(scalar(0));
  return (result as { value: T }).value;
}

/** An axis argument for a tensor of rank r: all (undefined), one axis (maybe negative), or a list. */
function axisArb(rank: number): fc.Arbitrary<Axis | undefined> {
  const all = [...Array(rank).keys()];
  const options: fc.Arbitrary<Axis | undefined>[] = [fc.constant(undefined)];
  if (rank > 0) {
    options.push(fc.integer({ min: -rank, max: rank - 1 }));
    options.push(fc.shuffledSubarray(all, { minLength: 0 }).chain((axes) =>
      fc.array(fc.boolean(), { minLength: axes.length, maxLength: axes.length }).map((neg) => axes.map((a, i) => (neg[i] ? a - rank : a))),
    ));
  }
  return fc.oneof(...options);
}

/** The reduced axes of an axis argument, normalized. */
function axesOf(axis: Axis | undefined, rank: number): number[] {
  if (axis === undefined) return [...Array(rank).keys()];
  const list = typeof axis === 'number' ? [axis] : [...axis];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** A tensor (from `values`), an axis argument for it, and keepdims. */
function reductionArb(values: (shape: number[]) => fc.Arbitrary<Tensor>, minRank = 0): fc.Arbitrary<[Tensor, Axis | undefined, boolean]> {
  return shapeArb({ minRank, maxRank: 3 }).chain((s) => fc.tuple(values(s), axisArb(s.length), fc.boolean()));
}

const anyValues = (s: number[]): fc.Arbitrary<Tensor> => tensorOf(s, real());

// logSoftmax is x − lse and softmax exp(x − lse), with lse = m + log Σ exp(x − m)
// rounded to the float64 grid near |lse| ≈ 1000, whose spacing is
// ulp(1000) = 2⁻⁴³ ≈ 1.1e-13. So log-space results carry an absolute error
// ≤ ½ulp(1000) + a few u (log, the subtraction), and softmax the same as a
// relative error (through exp): SHIFT_TOL = ulp(1000) bounds both. An
// (x − m) − log Σ form would be exact at these inputs; this is a bound, not a bug.
const SHIFT_TOL = 2 ** -43;

// ---------------------------------------------------------------- gradients

const grads = suite('reduce: gradients against central differences');

grads('sum: every axis argument, keepdims or not, first and second order', () => {
  fc.assert(
    fc.property(reductionArb(anyValues), fc.nat(), ([x, axis, keepdims], seed) => {
      checkGrads((t) => sum(t, axis, keepdims), [x], { order: 2, seed });
      // Second order needs something non-linear around the sum.
      checkGrads((t) => mul(sum(t, axis, keepdims), sum(t, axis, keepdims)), [x], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 30 },
  );
});

grads('mean: every axis argument, keepdims or not', () => {
  fc.assert(
    fc.property(reductionArb(anyValues), fc.nat(), ([x, axis, keepdims], seed) => {
      checkGrads((t) => mul(mean(t, axis, keepdims), mean(t, axis, keepdims)), [x], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 30 },
  );
});

for (const [name, f] of [['max', max], ['min', min]] as const) {
  grads(`${name}: away from ties, every axis argument, first and second order`, () => {
    fc.assert(
      fc.property(reductionArb(distinctTensorOf), fc.nat(), ([x, axis, keepdims], seed) => {
        checkGrads((t) => f(t, axis, keepdims), [x], { order: 2, seed });
        checkGrads((t) => mul(f(t, axis, keepdims), f(t, axis, keepdims)), [x], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 30 },
    );
  });
}

// Ties of two: the gradient splits evenly, the average of the one-sided slopes
// that central differences see. Order 1 only, at the stated kink.
grads('max and min at a tie of two: the even split equals the central difference (order 1)', () => {
  const x = tensor([[1, 1, 0], [2, -3, 2], [5, 4, 5]]);
  checkGrads((t) => max(t, 1), [x], { order: 1, seed: 1 });
  checkGrads((t) => max(t), [tensor([3, 1, 3])], { order: 1, seed: 2 });
  const y = tensor([[1, 1, 2], [0, 3, 0]]);
  checkGrads((t) => min(t, -1, true), [y], { order: 1, seed: 3 });
  const g = grad((t: Tensor) => max(t))(tensor([3, 1, 3, 3]));
  assert.equal([...g.data], [1 / 3, 0, 1 / 3, 1 / 3]);
});

grads('logsumexp: all elements or one axis, keepdims or not, first and second order', () => {
  const arb = shapeArb({ minRank: 0, maxRank: 3 }).chain((s) =>
    fc.tuple(
      tensorOf(s, real(-5, 5)),
      s.length === 0 ? fc.constant(undefined) : fc.option(fc.integer({ min: -s.length, max: s.length - 1 }), { nil: undefined }),
      fc.boolean(),
    ),
  );
  fc.assert(
    fc.property(arb, fc.nat(), ([x, axis, keepdims], seed) => {
      checkGrads((t) => logsumexp(t, axis, keepdims), [x], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 30 },
  );
});

for (const [name, f] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
  grads(`${name}: on each axis (negative too) and the default, first and second order`, () => {
    const arb = shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
      fc.tuple(tensorOf(s, real(-5, 5)), fc.option(fc.integer({ min: -s.length, max: s.length - 1 }), { nil: undefined })),
    );
    fc.assert(
      fc.property(arb, fc.nat(), ([x, axis], seed) => {
        checkGrads((t) => (axis === undefined ? f(t) : f(t, axis)), [x], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 30 },
    );
  });
}

grads('logSoftmax and softmax gradients stay finite and correct at ±1000', () => {
  const x = tensor([[1000, 0, -1000], [-1000, -1000, -1000]]);
  checkGrads((t) => logSoftmax(t, 1), [x], { order: 2, seed: 1 });
  checkGrads((t) => softmax(t, 1), [x], { order: 2, seed: 2 });
  checkGrads((t) => logsumexp(t, 1), [x], { order: 2, seed: 3 });
  const g = grad((t: Tensor) => logsumexp(t))(tensor([1000, 1000]));
  assertClose(g, { shape: [2], data: [0.5, 0.5] }, SHIFT_TOL, 0, 'd logsumexp');
});

for (const [name, f] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
  grads(`${name}: the one-pass first-order VJP equals the recorded form, on every axis`, () => {
    const arb = shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
      fc.tuple(tensorOf(s, real(-5, 5)), tensorOf(s, real(-2, 2)), fc.integer({ min: 0, max: s.length - 1 })),
    );
    fc.assert(
      fc.property(arb, ([x, w, axis]) => {
        const loss = (t: Tensor) => sum(mul(f(t, axis), w));
        const direct = grad(loss)(x); // no transform records the backward pass: the one-pass kernel
        const recorded = whileRecorded(() => grad(loss)(x)); // the same gradient, its backward pass recorded
        assertClose(direct, recorded, 1e-14, 1e-14, `${name} axis ${axis}`);
      }),
      { seed: SEED, numRuns: 40 },
    );
  });
}

grads('logSoftmax: second and third derivatives equal those of x − logsumexp(x) to rounding, on every axis', () => {
  const close = (a: Float64Array, b: Float64Array, what: string) => {
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-11 * (1 + Math.abs(b[i])), `${what} ${i}: ${a[i]} against ${b[i]}`);
  };
  const x = rng(950).normal([3, 4, 5]);
  const c = rng(951).normal([3, 4, 5]);
  const u = rng(952).normal([3, 4, 5]);
  const w = rng(953).normal([3, 4, 5]);
  for (const axis of [0, 1, 2, -1]) {
    const viaOps = (t: Tensor) => sub(t, logsumexp(t, axis, true));
    const orders = (lsm: (t: Tensor) => Tensor) => {
      const F = (t: Tensor) => sum(mul(c, square(lsm(t)))); // not linear, so every order sees the op
      const second = (t: Tensor) => sum(mul(grad(F)(t), u));
      const third = (t: Tensor) => sum(mul(grad(second)(t), w));
      return [grad(F)(x), grad(second)(x), grad(third)(x)];
    };
    const fused = orders((t) => logSoftmax(t, axis));
    const reference = orders(viaOps);
    ['first', 'second', 'third'].forEach((what, i) => close(fused[i].data, reference[i].data, `${what} order, axis ${axis}`));
  }
});

// ---------------------------------------------------------------- forward values

const forward = suite('reduce: forward values');

const sumOf = (lane: number[]): number => lane.reduce((a, b) => a + b, 0);

forward('sum, mean, max, min: match lane-by-lane references for every axis argument', () => {
  fc.assert(
    fc.property(reductionArb(anyValues), ([x, axis, keepdims]) => {
      const axes = axesOf(axis, x.rank);
      assertClose(sum(x, axis, keepdims), refReduce(x, axes, keepdims, sumOf), 1e-14, 1e-14, 'sum');
      assertClose(mean(x, axis, keepdims), refReduce(x, axes, keepdims, (l) => sumOf(l) / l.length), 1e-14, 1e-14, 'mean');
      assertClose(max(x, axis, keepdims), refReduce(x, axes, keepdims, (l) => Math.max(...l)), 0, 0, 'max');
      assertClose(min(x, axis, keepdims), refReduce(x, axes, keepdims, (l) => Math.min(...l)), 0, 0, 'min');
    }),
    { seed: SEED, numRuns: 60 },
  );
});

forward('logsumexp, softmax, logSoftmax: match naive formulas on moderate inputs', () => {
  const arb = shapeArb({ minRank: 1, maxRank: 3 }).chain((s) => fc.tuple(tensorOf(s, real(-5, 5)), fc.integer({ min: 0, max: s.length - 1 }), fc.boolean()));
  fc.assert(
    fc.property(arb, ([x, axis, keepdims]) => {
      const lse = refReduce(x, [axis], keepdims, (l) => Math.log(sumOf(l.map(Math.exp))));
      assertClose(logsumexp(x, axis, keepdims), lse, 1e-13, 1e-13, 'logsumexp');
      const lseKept = new Tensor(Float64Array.from(refReduce(x, [axis], true, (l) => Math.log(sumOf(l.map(Math.exp)))).data), x.shape.map((d, i) => (i === axis ? 1 : d)));
      const lsm = refSub(x, lseKept);
      assertClose(logSoftmax(x, axis), { shape: x.shape, data: lsm }, 1e-13, 1e-13, 'logSoftmax');
      assertClose(softmax(x, axis), { shape: x.shape, data: lsm.map(Math.exp) }, 1e-13, 1e-13, 'softmax');
      // Each softmax lane sums to 1.
      assertClose(sum(softmax(x, axis), axis), refReduce(x, [axis], false, () => 1), 1e-14, 1e-14, 'softmax lanes');
    }),
    { seed: SEED, numRuns: 40 },
  );
  const all = tensor([[0.5, -1], [2, 0]]);
  assert.ok(Math.abs(logsumexp(all).item() - Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(2) + 1)) < 1e-14);
  assert.equal([...logsumexp(all, undefined, true).shape], [1, 1]);
});

/** x − l, with l broadcast along the reduced axis (kept as 1). */
function refSub(x: Tensor, l: Tensor): number[] {
  const out: number[] = [];
  const stridesX = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let f = 0; f < x.size; f++) {
    let rem = f;
    let lf = 0;
    for (let i = 0; i < x.rank; i++) {
      const k = Math.floor(rem / stridesX[i]);
      rem -= k * stridesX[i];
      lf = lf * l.shape[i] + (l.shape[i] === 1 ? 0 : k);
    }
    out.push(x.data[f] - l.data[lf]);
  }
  return out;
}

forward('logsumexp, softmax, logSoftmax are finite and correct at ±1000 (the max-shift trick)', () => {
  assert.is(logsumexp(tensor([1000, 1000])).item(), 1000 + Math.LN2);
  assert.is(logsumexp(tensor([-1000, -1000])).item(), -1000 + Math.LN2);
  assert.is(logsumexp(tensor([1000, -1000])).item(), 1000);
  assertClose(softmax(tensor([1000, -1000, 1000])), { shape: [3], data: [0.5, 0, 0.5] }, SHIFT_TOL, 0, 'softmax');
  assert.equal(logSoftmax(tensor([1000, 0])).toArray(), [0, -1000]);
  assertClose(logSoftmax(tensor([-1000, -1000])), { shape: [2], data: [-Math.LN2, -Math.LN2] }, 0, SHIFT_TOL, 'logSoftmax');
  const rows = softmax(tensor([[1000, 999], [-1000, -999]]), 1).toArray() as number[][];
  const e = 1 / (1 + Math.exp(-1));
  assert.ok(Math.abs(rows[0][0] - e) <= SHIFT_TOL * e && Math.abs(rows[1][1] - e) <= SHIFT_TOL * e, `softmax rows ${JSON.stringify(rows)}`);
});

forward('sum over axes of length 1 only is the same numbers reshaped, with keepdims, and differentiates as the sum', () => {
  const x = tensor([[[1.5], [-2]], [[0.25], [3]]]); // [2, 2, 1]
  assert.equal(sum(x, 2).toArray(), [[1.5, -2], [0.25, 3]]);
  assert.equal(sum(x, -1, true).shape, [2, 2, 1]);
  assert.equal(sum(tensor([[7]])).shape, []);
  assert.is(sum(tensor([[7]])).item(), 7);
  assert.equal(sum(tensor([[1, 2, 3]]), 0).toArray(), [1, 2, 3]);
  checkGrads((t) => sum(t, 2), [x], { order: 2, seed: 6 });
  checkGrads((t) => mul(sum(t, [0, 2], true), sum(t, 2)), [tensor([[[0.5], [1]]])], { order: 2, seed: 7 });
  const g = grad((t: Tensor) => sum(mul(sum(t, 1), tensor([2, -1, 0.5]))))(tensor([[1], [2], [3]]));
  assert.equal(g.toArray(), [[2], [-1], [0.5]]);
});

forward('softmax, logSoftmax: repeated rows (tiled parameters) are bit-identical to each row alone', () => {
  const rows = [[0.3, -1, 2], [0.3, -1, 2], [0.3, -1, 2], [0.3, -1, 2.5], [-Infinity, 0, -Infinity], [-Infinity, 0, -Infinity], [NaN, 1, 0], [NaN, 1, 0], [1000, -1000, 0], [1000, -1000, 0]];
  for (const [name, f] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
    const expected = rows.flatMap((r) => Array.from(f(tensor(r)).data));
    const got = f(tensor(rows));
    assert.equal(Array.from(got.data), expected, `${name}, no transform`);
    // Under a transform logSoftmax also keeps the softmax for its VJP: the gradient of each row alone.
    const weight = (i: number) => [1, -0.5 * i, 0.25];
    const g = grad((t: Tensor) => sum(mul(f(t), tensor(rows.map((_, i) => weight(i))))))(tensor(rows));
    const each = stack(rows.map((r, i) => grad((t: Tensor) => sum(mul(f(t), tensor(weight(i)))))(tensor(r))), 0);
    assert.equal(Array.from(g.data), Array.from(each.data), `${name}, gradient`);
  }
  checkGrads((t) => logSoftmax(t), [tensor([[0.5, -1, 2], [0.5, -1, 2], [0.5, -1, 2]])], { order: 2, seed: 4 });
  checkGrads((t) => softmax(t), [tensor([[0.5, -1, 2], [0.5, -1, 2], [0.5, -1, 2]])], { order: 2, seed: 5 });
});

forward('logsumexp of all −∞ is −∞; an +∞ wins; reductions of an empty axis', () => {
  assert.is(logsumexp(tensor([-Infinity, -Infinity])).item(), -Infinity);
  assert.is(logsumexp(tensor([1, Infinity])).item(), Infinity);
  assert.equal(sum(tensor([], [0, 3]), 0).toArray(), [0, 0, 0]);
  assert.throws(() => max(tensor([], [0])), (e: unknown) => e instanceof RangeError && /^max: cannot reduce an empty tensor of shape \[0\]/.test((e as Error).message));
});

forward('argmax: first index of the largest along an axis, keepdims', () => {
  const x = tensor([[1, 5, 5], [7, 0, 7], [-1, -2, -3]]);
  assert.equal(argmax(x).toArray(), [1, 0, 0]);
  assert.equal(argmax(x, 0).toArray(), [1, 0, 1]);
  assert.equal(argmax(x, -1, true).toArray(), [[1], [0], [0]]);
  assert.equal(argmax(tensor([3, 9, 2])).item(), 1);
  assert.throws(() => argmax(scalar(1)), /^argmax: needs a tensor of rank ≥ 1/);
});

forward('axis errors name the op and the rank; repeated axes are rejected', () => {
  const x = tensor([[1, 2], [3, 4]]);
  assert.throws(() => sum(x, 2), (e: unknown) => e instanceof RangeError && (e as Error).message === 'sum: axis 2 is out of range for a tensor of rank 2');
  assert.throws(() => mean(x, [0, -2]), /^mean: axis -2 is repeated in \[0,-2\]/);
  assert.throws(() => softmax(x, -3), /^softmax: axis -3 is out of range/);
  assert.throws(() => sum([1, 2] as unknown as Tensor), (e: unknown) => e instanceof TypeError && /^sum: argument must be a Tensor, got an array/.test((e as Error).message));
});

// ---------------------------------------------------------------- not differentiable

const nondiff = suite('reduce: argmax is not differentiable');

nondiff('argmax throws when a gradient reaches it; not under stopGradient or when unused', () => {
  assertNondifferentiable('argmax', (t) => argmax(t), tensor([0.5, 1.7, -2.2]));
  assertNondifferentiable('argmax', (t) => argmax(t, 0), tensor([[0.5, 1.7], [-2.2, 3]]));
});

const tempered = suite('reduce: temperedSoftmax, softmax(z / λ) as one op');

/** z with tiled rows, rows of ±∞ and NaN, and plain ones, in three shapes. */
function temperedInputs(): Tensor[] {
  const plain = rng(905).normal([6, 5]);
  const tiled = new Tensor(Float64Array.from({ length: 20 }, (_, i) => plain.data[i % 5]), [4, 5]);
  const odd = tensor([[1, Infinity, 0], [-Infinity, -Infinity, -Infinity], [NaN, 1, 2], [3, 3, 3], [3, 3, 3]]);
  // Rows equal to the one before up to their last element, or from their second on, and a −0/+0 pair.
  const nearTiled = tensor([[3, 3, 3], [3, 3, 4], [3, 3, 4], [1, 2, 3], [1, 5, 3], [0, 1, 2], [-0, 1, 2]]);
  const empty = [new Tensor(new Float64Array(0), [0]), new Tensor(new Float64Array(0), [3, 0]), new Tensor(new Float64Array(0), [0, 4])];
  return [plain, tiled, odd, nearTiled, ...empty, rng(906).normal([2, 3, 4]), rng(907).normal([7]), tensor([NaN, 1, 2])];
}

tempered('its value is softmax(div(z, λ)) bit for bit: tiled rows, ±∞ and NaN included', () => {
  for (const z of temperedInputs()) {
    for (const lam of [0.5, 2, 1 / 3, 1e-3, -1.3, 0, -0, Infinity, -Infinity, NaN, 5e-324]) {
      const fused = temperedSoftmax(z, scalar(lam));
      assert.equal(fused.shape, z.shape);
      const ops = softmax(div(z, scalar(lam)), -1);
      assert.ok(fused.data.every((v, i) => Object.is(v, ops.data[i])), `λ = ${lam}, shape ${z.shape}`);
    }
  }
  // A number is a scalar temperature.
  const z = rng(914).normal([3, 4]);
  assert.equal(Array.from(temperedSoftmax(z, 0.5).data), Array.from(temperedSoftmax(z, scalar(0.5)).data));
  // A temperature that is not a scalar broadcasts as div does.
  assert.equal(temperedSoftmax(tensor([1, 2]), tensor([[0.5]])).shape, [1, 2]);
});

tempered('derivatives in z and λ, one pass and recorded, equal those of softmax(div(z, λ)) to rounding, first and second order', () => {
  const close = (a: Float64Array, b: Float64Array, tol: number, what: string) => {
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what} ${i}: ${a[i]} against ${b[i]}`);
  };
  // A loss linear in the softmax and one that is not (so g depends on z and λ in the second order).
  const outer = [(S: Tensor, c: Tensor) => sum(mul(c, S)), (S: Tensor, c: Tensor) => sum(mul(c, square(S)))];
  for (const [z, reduceOut] of [[rng(908).normal([6, 5]), outer[0]], [rng(909).normal([2, 3, 4]), outer[1]], [rng(913).normal([4, 3]), outer[1]]] as const) {
    const c = rng(910).normal(z.shape);
    const w = rng(912).normal(z.shape);
    const lam = scalar(0.7);
    const loss = (of: (z: Tensor, l: Tensor) => Tensor) => (x: Tensor, l: Tensor) => reduceOut(of(x, l), c);
    const fused = loss(temperedSoftmax);
    const ops = loss((x, l) => softmax(div(x, l), -1));
    const [dz, dl] = grad(fused, { argnums: [0, 1] })(z, lam) as Tensor[];
    const [rz, rl] = grad(ops, { argnums: [0, 1] })(z, lam) as Tensor[];
    close(dz.data, rz.data, 1e-14, 'd/dz');
    close(dl.data, rl.data, 1e-13, 'd/dλ');
    // Recorded (under an outer transform) against one pass.
    const recorded = whileRecorded(() => grad(fused, { argnums: [0, 1] })(z, lam) as Tensor[]);
    close(recorded[0].data, dz.data, 1e-14, 'recorded d/dz');
    close(recorded[1].data, dl.data, 1e-13, 'recorded d/dλ');
    // Second order: ∇ of ⟨∇_z loss, w⟩ + (∂loss/∂λ)² in both arguments. (⟨∇_z loss, z⟩ + λ ∂loss/∂λ
    // would be 0 for every z and λ: the loss depends on z/λ alone.)
    const second = (f: (x: Tensor, l: Tensor) => Tensor) =>
      grad((x: Tensor, l: Tensor) => {
        const [gz, gl] = grad(f, { argnums: [0, 1] })(x, l) as Tensor[];
        return add(sum(mul(gz, w)), mul(gl, gl));
      }, { argnums: [0, 1] })(z, lam) as Tensor[];
    const [s1z, s1l] = second(fused);
    const [s2z, s2l] = second(ops);
    close(s1z.data, s2z.data, 1e-12, 'second order z');
    close(s1l.data, s2l.data, 1e-12, 'second order λ');
  }
});

tempered('checkGrads in z and λ, first and second order', () => {
  checkGrads((z, l) => temperedSoftmax(z, l), [rng(911).normal([4, 3]), scalar(0.6)], { order: 2, seed: 4 });
  checkGrads((z, l) => temperedSoftmax(z, l), [tensor([[30, -30, 0], [1, 1, 1]]), scalar(1.5)], { order: 2, seed: 5 });
});

tempered('with λ held constant, the one-pass derivative in z (rows four at a time, and the rest one by one) equals the ops\' to rounding', () => {
  // Rows 9, 4, 13 and 2: four-row groups with 1, 0, 1 and 2 rows left over; a λ that is a number has no derivative.
  for (const [rows, K] of [[9, 5], [4, 1], [13, 10], [2, 3]]) {
    const z = rng(915).normal([rows, K]);
    const c = rng(916).normal([rows, K]);
    for (const lam of [0.5, 1 / 3, 7]) {
      const fused = grad((x: Tensor) => sum(mul(temperedSoftmax(x, lam), c)))(z);
      const ops = grad((x: Tensor) => sum(mul(softmax(div(x, scalar(lam)), -1), c)))(z);
      assertClose(fused, ops, 1e-14, 1e-14, `d/dz, [${rows}, ${K}], λ = ${lam}`);
    }
  }
});

tempered('at a tiny temperature the one-pass derivative in λ is finite and equals the recorded one', () => {
  // z/λ/λ overflows at λ = 1e-300: a form that multiplies the softmax's slope by it gives 0 · ∞ = NaN.
  for (const z of [tensor([[19.846]]), tensor([[0, 1]]), tensor([[0, 1], [2, -1]])]) {
    const c = rng(917).normal(z.shape);
    const loss = (x: Tensor, l: Tensor) => sum(mul(temperedSoftmax(x, l), c));
    const lam = scalar(1e-300);
    const direct = grad(loss, { argnums: 1 })(z, lam) as Tensor;
    const recorded = whileRecorded(() => grad(loss, { argnums: 1 })(z, lam) as Tensor);
    // The softmax is saturated at this λ, so the derivative is exactly 0 both ways.
    assert.ok(Number.isFinite(direct.item()), `d/dλ at z ${JSON.stringify(z.toArray())}: ${direct.item()}`);
    assert.is(direct.item(), recorded.item());
  }
});

const softmaxGrad = suite('reduce: softmaxGradient, temperedSoftmax\'s VJP in z as one op');

type Ternary = (a: Tensor, b: Tensor, c: Tensor) => Tensor;

/**
 * A fused op of three tensors against the same map as ops: its value bit for
 * bit, and its derivatives in all three, one pass and recorded (under an outer
 * transform), to 1e-13, under ⟨h, out²⟩ (quadratic, so the cotangent reaching
 * the op depends on its inputs).
 */
function checkFusedAgainstOps(fused: Ternary, ops: Ternary, args: [Tensor, Tensor, Tensor], h: Tensor, names: string, label: string): void {
  assert.equal(Array.from(fused(...args).data), Array.from(ops(...args).data), `value, ${label}`);
  const loss = (of: Ternary) => (a: Tensor, b: Tensor, c: Tensor) => sum(mul(h, square(of(a, b, c))));
  const onePass = grad(loss(fused), { argnums: [0, 1, 2] })(...args) as Tensor[];
  let recorded: Tensor[] = [];
  valueAndGrad((q: Tensor) => {
    recorded = grad(loss(fused), { argnums: [0, 1, 2] })(...args) as Tensor[];
    return sum(q);
  })(scalar(0));
  const reference = grad(loss(ops), { argnums: [0, 1, 2] })(...args) as Tensor[];
  [...names].forEach((name, i) => {
    for (const [how, got] of [['one pass', onePass[i]], ['recorded', recorded[i]]] as const) {
      const want = reference[i].data;
      for (let j = 0; j < want.length; j++) {
        assert.ok(Math.abs(got.data[j] - want[j]) <= 1e-13 * (1 + Math.abs(want[j])), `${how} d/d${name} ${j}, ${label}: ${got.data[j]} against ${want[j]}`);
      }
    }
  });
}

/** y ⊙ (g − Σ g ⊙ y) / λ along the last axis, as ops. */
const softmaxGradientOps = (g: Tensor, y: Tensor, lam: Tensor) => div(mul(y, sub(g, sum(mul(g, y), -1, true))), lam);

softmaxGrad('its value equals the ops\' bit for bit; its derivatives in g, y and λ, one pass and recorded, equal the ops\' to rounding', () => {
  for (const shape of [[6, 5], [2, 3, 4], [7], [5, 2]]) { // rows of one class would make every term 0
    const lam = scalar(0.7);
    const y = softmax(div(rng(930).normal(shape), lam), -1);
    checkFusedAgainstOps(softmaxGradient, softmaxGradientOps, [rng(931).normal(shape), y, lam], rng(932).normal(shape), 'gyλ', `shape ${shape}`);
  }
});

softmaxGrad('checkGrads in g, y and λ, first and second order; bad shapes throw', () => {
  const y = softmax(rng(933).normal([4, 3]), -1);
  checkGrads((g, yy, l) => softmaxGradient(g, yy, l), [rng(934).normal([4, 3]), y, scalar(0.6)], { order: 2, seed: 8 });
  checkGrads((g, yy, l) => softmaxGradient(g, yy, l), [rng(935).normal([2, 2, 3]), softmax(rng(936).normal([2, 2, 3]), -1), scalar(1.7)], { order: 2, seed: 9 });
  assert.throws(() => softmaxGradient(rng(1).normal([4, 3]), rng(2).normal([4, 2]), scalar(1)), /softmaxGradient: g \[4,3\] and y \[4,2\]/);
  assert.throws(() => softmaxGradient(rng(1).normal([4, 3]), rng(2).normal([4, 3]), tensor([1, 2])), /softmaxGradient/);
  assert.throws(() => softmaxGradient(scalar(1), scalar(1), scalar(1)), /softmaxGradient/);
});

const distance = suite('reduce: squaredDistance, Σ (x − t)² as one op');

/** [x, t] pairs: a target per row, one repeated over an axis, rows of one, none, and non-finite values. */
function distanceInputs(): [Tensor, Tensor][] {
  const g = rng(920);
  return [
    [g.normal([6, 5]), g.normal([5])],
    [g.normal([4, 3, 5]), g.normal([5])], // t repeats over the middle axis
    [g.normal([4, 3, 5]), g.normal([3, 5])],
    [g.normal([1, 7]), g.normal([7])],
    [g.normal([5, 1]), g.normal([1])],
    [new Tensor(new Float64Array(0), [0, 4]), g.normal([4])],
    [tensor([[1, Infinity, 0], [-Infinity, 2, NaN], [-0, 0, 3]]), tensor([0, 1, -0])],
    // Five rows: four summed side by side, then one alone, with non-finite values and signed zeros in both.
    [tensor([[1, Infinity, 0], [-Infinity, 2, NaN], [-0, 0, 3], [Infinity, -Infinity, 1], [-0, NaN, 2]]), tensor([0, 1, -0])],
  ];
}

const ops = (x: Tensor, t: Tensor) => sum(square(sub(x, t)), [...Array(x.rank).keys()].slice(1));
/** The same numbers, bit for bit: signed zeros told apart, NaN equal to NaN. */
const sameValues = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

distance('its value and its one-pass derivatives in x and t equal the three ops\' bit for bit', () => {
  for (const [x, t] of distanceInputs()) {
    const label = `x ${x.shape}, t ${t.shape}`;
    const fused = squaredDistance(x, t);
    assert.equal(fused.shape, [x.shape[0]], label);
    assert.ok(sameValues(fused.data, ops(x, t).data), `value, ${label}`);
    const c = rng(921).normal([x.shape[0]]); // a cotangent per row
    const loss = (of: typeof ops) => (a: Tensor, b: Tensor) => sum(mul(of(a, b), c));
    const [fx, ft] = grad(loss(squaredDistance), { argnums: [0, 1] })(x, t) as Tensor[];
    const [ox, ot] = grad(loss(ops), { argnums: [0, 1] })(x, t) as Tensor[];
    assert.ok(sameValues(fx.data, ox.data), `d/dx, ${label}`);
    assert.ok(sameValues(ft.data, ot.data), `d/dt, ${label}`);
  }
});

distance('recorded derivatives and second order equal the three ops\' to rounding', () => {
  const close = (a: Float64Array, b: Float64Array, what: string) => {
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-13 * (1 + Math.abs(b[i])), `${what} ${i}: ${a[i]} against ${b[i]}`);
  };
  for (const [x, t] of distanceInputs().slice(0, 5)) {
    const c = rng(922).normal([x.shape[0]]);
    const w = rng(923).normal(x.shape);
    const v = rng(924).normal(t.shape);
    // A loss not linear in the distance, so the second order sees g depend on x and t.
    const loss = (of: typeof ops) => (a: Tensor, b: Tensor) => sum(mul(c, square(of(a, b))));
    const recorded = whileRecorded(() => grad(loss(squaredDistance), { argnums: [0, 1] })(x, t) as Tensor[]);
    const [ox, ot] = grad(loss(ops), { argnums: [0, 1] })(x, t) as Tensor[];
    close(recorded[0].data, ox.data, `recorded d/dx, x ${x.shape}`);
    close(recorded[1].data, ot.data, `recorded d/dt, x ${x.shape}`);
    const second = (of: typeof ops) =>
      grad((a: Tensor, b: Tensor) => {
        const [gx, gt] = grad(loss(of), { argnums: [0, 1] })(a, b) as Tensor[];
        return add(sum(mul(gx, w)), sum(mul(gt, v)));
      }, { argnums: [0, 1] })(x, t) as Tensor[];
    const [sx, st] = second(squaredDistance);
    const [rx, rt] = second(ops);
    close(sx.data, rx.data, `second order x, x ${x.shape}`);
    close(st.data, rt.data, `second order t, x ${x.shape}`);
  }
});

distance('squaredDistanceGradient, its VJP in x as one op: value bit for bit, derivatives in g, x and t (one pass and recorded) to rounding, against the ops', () => {
  /** 2(x − t) ⊙ g spread over x's rows, as ops. */
  const gradientOps = (g: Tensor, x: Tensor, t: Tensor) => mul(broadcastTo(reshape(g, x.shape.map((d, i) => (i === 0 ? d : 1))), x.shape), mul(sub(x, t), 2));
  for (const [x, t] of distanceInputs().slice(0, 5)) {
    checkFusedAgainstOps(squaredDistanceGradient, gradientOps, [rng(940).normal([x.shape[0]]), x, t], rng(941).normal(x.shape), 'gxt', `x ${x.shape}, t ${t.shape}`);
  }
  checkGrads((g, x, t) => squaredDistanceGradient(g, x, t), [rng(942).normal([4]), rng(943).normal([4, 3]), rng(944).normal([3])], { order: 2, seed: 10 });
  checkGrads((g, x, t) => squaredDistanceGradient(g, x, t), [rng(945).normal([2]), rng(946).normal([2, 3, 2]), rng(947).normal([2])], { order: 2, seed: 11 });
  assert.throws(() => squaredDistanceGradient(rng(1).normal([3]), rng(2).normal([4, 3]), rng(3).normal([3])), /squaredDistanceGradient: g \[3\], x \[4,3\] and t \[3\] do not fit/);
  assert.throws(() => squaredDistanceGradient(rng(1).normal([4]), rng(2).normal([4, 3]), rng(3).normal([2])), /squaredDistanceGradient/);
});

distance('checkGrads in x and t, first and second order; a target that does not fit throws', () => {
  checkGrads((x, t) => squaredDistance(x, t), [rng(925).normal([4, 3]), rng(926).normal([3])], { order: 2, seed: 6 });
  checkGrads((x, t) => squaredDistance(x, t), [rng(927).normal([2, 3, 2]), rng(928).normal([2])], { order: 2, seed: 7 });
  assert.throws(() => squaredDistance(rng(1).normal([4, 3]), rng(2).normal([4])), /squaredDistance: samples of shape \[4,3\] do not end in the target's shape \[4\]/);
  assert.throws(() => squaredDistance(rng(1).normal([3]), rng(2).normal([3])), /squaredDistance: samples of shape \[3\]/);
  assert.throws(() => squaredDistance(rng(1).normal([2, 3]), scalar(1)), /squaredDistance/);
});

grads.run();
forward.run();
tempered.run();
softmaxGrad.run();
distance.run();
nondiff.run();
