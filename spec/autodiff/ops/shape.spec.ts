// autodiff/ops/shape.ts: ops that move elements — reshape, expandDims,
// squeeze, broadcastTo, sumToShape, slice, pad, concat, stack, gather,
// scatterAdd, take, oneHot.
//   gradients: checkGrads on fast-check shapes, axes and indices. The ops are
//   linear, so the second-order check runs on square(op(x)): its Hessian
//   involves the VJP of each op's VJP (slice ↔ pad, gather ↔ scatterAdd, …);
//   forward: against plain-JS references by multi-index; errors name the op.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, grad, sum, mul, add, square,
  reshape, expandDims, squeeze, broadcastTo, sumToShape, slice, pad, concat, stack, gather, scatterAdd, take, oneHot,
} from '../../../index.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import {
  SEED, shapeArb, tensorOf, broadcastPairArb, real, refBroadcastShape, unravel, ravel, broadcastAt, sizeOfShape, assertClose,
} from '../helpers.ts';

/** First order on op itself, second order on square(op): both must agree with central differences. */
function checkLinearOp(op: (...xs: Tensor[]) => Tensor, args: Tensor[], seed: number): void {
  checkGrads(op, args, { order: 2, seed });
  checkGrads((...xs) => square(op(...xs)), args, { order: 2, seed });
}

const values = real();
const tensorWithShape = (bounds: Parameters<typeof shapeArb>[0] = {}): fc.Arbitrary<Tensor> => shapeArb(bounds).chain((s) => tensorOf(s, values));

/** Integer indices in [0, n) filling `shape`. */
function indicesOf(shape: readonly number[], n: number): fc.Arbitrary<Tensor> {
  return tensorOf(shape, fc.integer({ min: 0, max: n - 1 }));
}

/** x with the axis written as a non-negative or a negative number. */
function axisOf(rank: number, extra = 0): fc.Arbitrary<number> {
  return fc.integer({ min: -(rank + extra), max: rank + extra - 1 });
}

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

// ---------------------------------------------------------------- generators of cases

/** A new shape with the same number of elements: merge neighbours, shuffle, insert 1s, maybe one −1. */
const reshapeArb = tensorWithShape({ maxRank: 3 }).chain((x) =>
  fc.tuple(
    fc.constant(x),
    fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
    fc.option(fc.nat(), { nil: undefined }),
  ).chain(([t, merges, ones, free]) => {
    const dims: number[] = [];
    t.shape.forEach((d, i) => {
      if (i > 0 && merges[i - 1] && dims.length > 0) dims[dims.length - 1] *= d;
      else dims.push(d);
    });
    for (const at of ones) dims.splice(Math.min(at, dims.length), 0, 1);
    return fc.shuffledSubarray(dims, { minLength: dims.length, maxLength: dims.length }).map((target) => {
      const shape = [...target];
      if (free !== undefined && shape.length > 0) shape[free % shape.length] = -1;
      return [t, shape, target] as [Tensor, number[], number[]];
    });
  }),
);

const sliceArb = tensorWithShape({ minRank: 1, maxRank: 3 }).chain((x) =>
  fc.integer({ min: 0, max: x.rank - 1 }).chain((k) => {
    const n = x.shape[k];
    return fc.tuple(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: n }), fc.boolean(), fc.boolean(), fc.boolean()).map(([p, q, negStart, negEnd, omitEnd]) => {
      const s = Math.min(p, q);
      const e = Math.max(p, q);
      const start = negStart && s < n ? s - n : s;
      const end = omitEnd ? undefined : negEnd && e < n ? e - n : e;
      return { x, axis: negStart ? k - x.rank : k, k, s, e: omitEnd ? n : e, start, end };
    });
  }),
);

const padArb = tensorWithShape({ minRank: 1, maxRank: 3 }).chain((x) =>
  fc.tuple(fc.constant(x), axisOf(x.rank), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
);

const concatArb = shapeArb({ minRank: 1, maxRank: 3 }).chain((base) =>
  fc.tuple(fc.integer({ min: 0, max: base.length - 1 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.boolean()).chain(([k, lens, negative]) =>
    fc.tuple(...lens.map((len) => tensorOf(base.map((d, i) => (i === k ? len : d)), values))).map((xs) => ({ xs, k, axis: negative ? k - base.length : k })),
  ),
);

const stackArb = shapeArb({ maxRank: 2 }).chain((s) =>
  fc.tuple(fc.integer({ min: 1, max: 3 }), axisOf(s.length, 1)).chain(([count, axis]) =>
    fc.tuple(...Array.from({ length: count }, () => tensorOf(s, values))).map((xs) => ({ xs, axis })),
  ),
);

const gatherArb = tensorWithShape({ minRank: 1, maxRank: 3 }).chain((x) =>
  fc.tuple(fc.integer({ min: 0, max: x.rank - 1 }), fc.integer({ min: 1, max: 4 }), fc.boolean()).chain(([k, m, negative]) =>
    indicesOf(x.shape.map((d, i) => (i === k ? m : d)), x.shape[k]).map((index) => ({ x, index, k, axis: negative ? k - x.rank : k })),
  ),
);

const takeArb = tensorWithShape({ minRank: 1, maxRank: 3 }).chain((x) =>
  fc.tuple(fc.integer({ min: 0, max: x.rank - 1 }), shapeArb({ maxRank: 2, maxDim: 3 })).chain(([k, indexShape]) =>
    indicesOf(indexShape, x.shape[k]).map((index) => ({ x, index, k })),
  ),
);

// ---------------------------------------------------------------- references

function refSlice(x: Tensor, k: number, s: number, e: number): { shape: number[]; data: number[] } {
  const shape = x.shape.map((d, i) => (i === k ? e - s : d));
  const data = Array.from({ length: sizeOfShape(shape) }, (_, o) => {
    const idx = unravel(o, shape);
    idx[k] += s;
    return x.data[ravel(idx, x.shape)];
  });
  return { shape, data };
}

function refPad(x: Tensor, k: number, before: number, after: number): { shape: number[]; data: number[] } {
  const shape = x.shape.map((d, i) => (i === k ? d + before + after : d));
  const data = Array.from({ length: sizeOfShape(shape) }, (_, o) => {
    const idx = unravel(o, shape);
    idx[k] -= before;
    return idx[k] < 0 || idx[k] >= x.shape[k] ? 0 : x.data[ravel(idx, x.shape)];
  });
  return { shape, data };
}

function refConcat(xs: Tensor[], k: number): { shape: number[]; data: number[] } {
  const shape = xs[0].shape.map((d, i) => (i === k ? xs.reduce((a, x) => a + x.shape[k], 0) : d));
  const data = Array.from({ length: sizeOfShape(shape) }, (_, o) => {
    const idx = unravel(o, shape);
    let j = 0;
    while (idx[k] >= xs[j].shape[k]) idx[k] -= xs[j++].shape[k];
    return xs[j].data[ravel(idx, xs[j].shape)];
  });
  return { shape, data };
}

function refGather(x: Tensor, index: Tensor, k: number): { shape: number[]; data: number[] } {
  const data = Array.from({ length: index.size }, (_, o) => {
    const idx = unravel(o, index.shape);
    idx[k] = index.data[o];
    return x.data[ravel(idx, x.shape)];
  });
  return { shape: [...index.shape], data };
}

function refScatterAdd(g: Tensor, index: Tensor, k: number, n: number): { shape: number[]; data: number[] } {
  const shape = g.shape.map((d, i) => (i === k ? n : d));
  const data = new Array<number>(sizeOfShape(shape)).fill(0);
  for (let o = 0; o < g.size; o++) {
    const idx = unravel(o, g.shape);
    idx[k] = index.data[o];
    data[ravel(idx, shape)] += g.data[o];
  }
  return { shape, data };
}

// NumPy's take: out[i…, j…, l…] = x[i…, index[j…], l…].
function refTake(x: Tensor, index: Tensor, k: number): { shape: number[]; data: number[] } {
  const shape = [...x.shape.slice(0, k), ...index.shape, ...x.shape.slice(k + 1)];
  const data = Array.from({ length: sizeOfShape(shape) }, (_, o) => {
    const idx = unravel(o, shape);
    const j = ravel(idx.slice(k, k + index.rank), index.shape);
    const xi = [...idx.slice(0, k), index.data[j], ...idx.slice(k + index.rank)];
    return x.data[ravel(xi, x.shape)];
  });
  return { shape, data };
}

function refSumToShape(g: Tensor, shape: readonly number[]): { shape: number[]; data: number[] } {
  const data = new Array<number>(sizeOfShape(shape)).fill(0);
  const lead = g.rank - shape.length;
  for (let o = 0; o < g.size; o++) {
    const idx = unravel(o, g.shape).slice(lead).map((v, i) => (shape[i] === 1 ? 0 : v));
    data[ravel(idx, shape)] += g.data[o];
  }
  return { shape: [...shape], data };
}

// ---------------------------------------------------------------- gradients

const grads = suite('shape: gradients against central differences');

grads('reshape (merged, shuffled, with 1s, with −1), first and second order', () => {
  fc.assert(fc.property(reshapeArb, fc.nat(), ([x, shape], seed) => checkLinearOp((t) => reshape(t, shape), [x], seed)), { seed: SEED, numRuns: 25 });
});

grads('expandDims at every axis (negative too) and squeeze of one axis or all', () => {
  fc.assert(
    fc.property(tensorWithShape({ maxRank: 3, minDim: 1, maxDim: 2 }), fc.nat(), (x, seed) => {
      for (let a = -(x.rank + 1); a <= x.rank; a++) checkLinearOp((t) => expandDims(t, a), [x], seed);
      checkLinearOp((t) => squeeze(t), [x], seed);
      x.shape.forEach((d, a) => {
        if (d === 1) checkLinearOp((t) => squeeze(t, a - x.rank), [x], seed);
      });
    }),
    { seed: SEED, numRuns: 15 },
  );
});

grads('broadcastTo and its adjoint sumToShape, on broadcasting shape pairs', () => {
  const arb = broadcastPairArb(3).chain(([sa, sb]) => {
    const target = refBroadcastShape(sa, sb);
    return fc.tuple(tensorOf(sa, values), tensorOf(target, values));
  });
  fc.assert(
    fc.property(arb, fc.nat(), ([x, g], seed) => {
      checkLinearOp((t) => broadcastTo(t, g.shape), [x], seed);
      checkLinearOp((t) => sumToShape(t, x.shape), [g], seed);
    }),
    { seed: SEED, numRuns: 25 },
  );
});

grads('slice with negative and omitted bounds, and its adjoint pad', () => {
  fc.assert(
    fc.property(sliceArb, fc.nat(), ({ x, axis, start, end }, seed) => checkLinearOp((t) => slice(t, axis, start, end), [x], seed)),
    { seed: SEED, numRuns: 25 },
  );
  fc.assert(
    fc.property(padArb, fc.nat(), ([x, axis, before, after], seed) => checkLinearOp((t) => pad(t, axis, before, after), [x], seed)),
    { seed: SEED, numRuns: 20 },
  );
});

grads('concat of 1–3 tensors along any axis, and stack along a new one: every input differentiated', () => {
  fc.assert(fc.property(concatArb, fc.nat(), ({ xs, axis }, seed) => checkLinearOp((...ts) => concat(ts, axis), xs, seed)), { seed: SEED, numRuns: 25 });
  fc.assert(fc.property(stackArb, fc.nat(), ({ xs, axis }, seed) => checkLinearOp((...ts) => stack(ts, axis), xs, seed)), { seed: SEED, numRuns: 20 });
});

grads('gather (repeated indices included) and its adjoint scatterAdd', () => {
  fc.assert(
    fc.property(gatherArb, fc.nat(), ({ x, index, axis, k }, seed) => {
      checkLinearOp((t) => gather(t, index, axis), [x], seed);
      const g = tensor(Array.from(index.data, (_, i) => Math.sin(i + 1)), index.shape);
      checkLinearOp((t) => scatterAdd(t, index, axis, x.shape[k]), [g], seed);
    }),
    { seed: SEED, numRuns: 25 },
  );
});

grads('take with index tensors of rank 0–2 (repeats included)', () => {
  fc.assert(fc.property(takeArb, fc.nat(), ({ x, index, k }, seed) => checkLinearOp((t) => take(t, index, k), [x], seed)), { seed: SEED, numRuns: 25 });
  const x = tensor([[1, 2], [3, 4], [5, 6]]);
  checkLinearOp((t) => take(t, [2, 0, 2], 0), [x], 1);
});

grads('oneHot is a constant: multiplying by it passes the gradient through unchanged', () => {
  const g = grad((t: Tensor) => sum(mul(t, oneHot([2, 0], 3))))(tensor([[1, 2, 3], [4, 5, 6]]));
  assert.equal(g.toArray(), [[0, 0, 1], [1, 0, 0]]);
});

// ---------------------------------------------------------------- forward values

const forward = suite('shape: forward values against plain-JS references');

forward('reshape keeps the row-major order and infers −1', () => {
  fc.assert(
    fc.property(reshapeArb, ([x, shape, target]) => {
      const y = reshape(x, shape);
      assertClose(y, { shape: target, data: x.data }, 0, 0, 'reshape');
    }),
    { seed: SEED, numRuns: 40 },
  );
  assert.equal([...reshape(tensor([1, 2, 3, 4, 5, 6]), [-1, 2]).shape], [3, 2]);
});

forward('expandDims and squeeze', () => {
  const x = tensor([[1, 2, 3]]);
  assert.equal([...expandDims(x, 0).shape], [1, 1, 3]);
  assert.equal([...expandDims(x, -1).shape], [1, 3, 1]);
  assert.equal([...squeeze(x).shape], [3]);
  assert.equal([...squeeze(x, -2).shape], [3]);
  assert.equal([...squeeze(tensor([[[5]]])).shape], []);
});

forward('broadcastTo and sumToShape match NumPy broadcasting and its adjoint', () => {
  const arb = broadcastPairArb(3).chain(([sa, sb]) => fc.tuple(tensorOf(sa, values), tensorOf(refBroadcastShape(sa, sb), values)));
  fc.assert(
    fc.property(arb, ([x, g]) => {
      const target = [...g.shape];
      const data = Array.from({ length: g.size }, (_, o) => broadcastAt(x, unravel(o, target), target));
      assertClose(broadcastTo(x, target), { shape: target, data }, 0, 0, 'broadcastTo');
      assertClose(sumToShape(g, x.shape), refSumToShape(g, x.shape), 1e-14, 1e-14, 'sumToShape');
    }),
    { seed: SEED, numRuns: 40 },
  );
});

forward('slice and pad', () => {
  fc.assert(
    fc.property(sliceArb, ({ x, axis, k, s, e, start, end }) => {
      assertClose(slice(x, axis, start, end), refSlice(x, k, s, e), 0, 0, 'slice');
    }),
    { seed: SEED, numRuns: 40 },
  );
  fc.assert(
    fc.property(padArb, ([x, axis, before, after]) => {
      assertClose(pad(x, axis, before, after), refPad(x, norm(axis, x.rank), before, after), 0, 0, 'pad');
    }),
    { seed: SEED, numRuns: 30 },
  );
});

forward('concat and stack', () => {
  fc.assert(fc.property(concatArb, ({ xs, k, axis }) => assertClose(concat(xs, axis), refConcat(xs, k), 0, 0, 'concat')), { seed: SEED, numRuns: 40 });
  fc.assert(
    fc.property(stackArb, ({ xs, axis }) => {
      const k = norm(axis, xs[0].rank + 1);
      const shape = [...xs[0].shape];
      shape.splice(k, 0, xs.length);
      const data = Array.from({ length: sizeOfShape(shape) }, (_, o) => {
        const idx = unravel(o, shape);
        const [j] = idx.splice(k, 1);
        return xs[j].data[ravel(idx, xs[j].shape)];
      });
      assertClose(stack(xs, axis), { shape, data }, 0, 0, 'stack');
    }),
    { seed: SEED, numRuns: 30 },
  );
});

forward('gather (torch.gather), scatterAdd, take (numpy.take), oneHot', () => {
  fc.assert(
    fc.property(gatherArb, ({ x, index, k, axis }) => {
      assertClose(gather(x, index, axis), refGather(x, index, k), 0, 0, 'gather');
      const g = tensor(Array.from(index.data, (_, i) => i + 0.5), index.shape);
      assertClose(scatterAdd(g, index, axis, x.shape[k] + 1), refScatterAdd(g, index, k, x.shape[k] + 1), 0, 0, 'scatterAdd');
    }),
    { seed: SEED, numRuns: 40 },
  );
  fc.assert(fc.property(takeArb, ({ x, index, k }) => assertClose(take(x, index, k), refTake(x, index, k), 0, 0, 'take')), { seed: SEED, numRuns: 40 });
  assert.equal(oneHot(tensor([[0, 2], [1, 1]]), 3).toArray(), [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]);
  assert.equal(take(tensor([10, 20, 30]), tensor([], [0])).toArray(), []);
});

forward('errors name the op and show the shapes or values', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const fails = (f: () => unknown, kind: ErrorConstructor, message: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof kind && message.test((e as Error).message), String(message));
  };
  fails(() => reshape(x, [4, 2]), RangeError, /^reshape: cannot reshape \[2,3\] \(6 elements\) into \[4,2\]/);
  fails(() => reshape(x, [-1, -1]), RangeError, /^reshape: at most one −1/);
  fails(() => squeeze(x, 0), RangeError, /^squeeze: axis 0 of shape \[2,3\] has length 2, not 1/);
  fails(() => broadcastTo(x, [3, 3]), RangeError, /^broadcastTo: shapes \[2,3\] and \[3,3\] do not broadcast/);
  fails(() => broadcastTo(x, [3]), RangeError, /^broadcastTo: shape \[2,3\] cannot be broadcast to \[3\]/);
  fails(() => slice(x, 1, 2, 5), RangeError, /^slice: range \[2, 5\) is out of bounds for axis 1 of shape \[2,3\]/);
  fails(() => pad(x, 0, -1, 0), RangeError, /^pad: before and after must be non-negative integers, got -1 and 0/);
  fails(() => concat([x, tensor([1, 2])]), RangeError, /^concat: shapes \[2,3\] and \[2\] do not agree off axis 0/);
  fails(() => concat([]), RangeError, /^concat: needs a non-empty array/);
  fails(() => stack([x, tensor([1, 2])]), RangeError, /^stack: shapes \[2,3\] and \[2\] differ/);
  fails(() => gather(x, tensor([[0], [3]]), 1), RangeError, /^gather: index 3 is out of range \[0, 3\)/);
  fails(() => gather(x, tensor([0, 1]), 1), RangeError, /^gather: index shape \[2\] does not match \[2,3\] off axis 1/);
  fails(() => take(x, [0, 1.5], 1), RangeError, /^take: index 1.5 is out of range \[0, 3\)/);
  fails(() => oneHot([0, 1], 0), RangeError, /^oneHot: depth must be a positive integer, got 0/);
  fails(() => expandDims(x, 3), RangeError, /^expandDims: axis 3 is out of range for a tensor of rank 3/);
  fails(() => sumToShape(x, [4]), RangeError, /^sumToShape: \[2,3\] is not a broadcast of \[4\]/);
  fails(() => gather(x, [0] as unknown as Tensor, 0), TypeError, /^gather: index must be a Tensor, got an array/);
});

forward('a NaN, fractional or negative size is refused by the op, and later tensors keep their own memory', () => {
  const exactly = (f: () => unknown, message: string): void => {
    assert.throws(f, (e: unknown) => e instanceof RangeError && e.message === message, message);
  };
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const g = tensor([1, 2]);
  const index = tensor([0, 0]);
  // scatterAdd's n: NaN made the slab allocator's offset NaN (every later small tensor then shared
  // offset 0); 2.5 returned a tensor of shape [2.5] and misaligned the next one; −1 reached V8's
  // "Invalid typed array length: -1".
  exactly(() => scatterAdd(g, index, 0, NaN), 'scatterAdd: n must be a non-negative integer, got NaN (output shape [NaN])');
  exactly(() => scatterAdd(g, index, 0, 2.5), 'scatterAdd: n must be a non-negative integer, got 2.5 (output shape [2.5])');
  exactly(() => scatterAdd(g, index, 0, -1), 'scatterAdd: n must be a non-negative integer, got -1 (output shape [-1])');
  exactly(() => scatterAdd(x, tensor([[0, 0, 0], [0, 1, 0]]), 1, Infinity), 'scatterAdd: n must be a non-negative integer, got Infinity (output shape [2,Infinity])');
  // broadcastTo's target: any dimension passed against a 1, so [2.5] returned a tensor of shape [2.5].
  exactly(() => broadcastTo(tensor(1), [2.5]), 'broadcastTo: invalid shape [2.5]; dimensions must be non-negative integers');
  exactly(() => broadcastTo(tensor([1]), [-1]), 'broadcastTo: invalid shape [-1]; dimensions must be non-negative integers');
  exactly(() => broadcastTo(tensor([[1, 2, 3]]), [NaN, 3]), 'broadcastTo: invalid shape [NaN,3]; dimensions must be non-negative integers');
  // reshape: −1 is the one dimension to infer; anything else must be a non-negative integer.
  exactly(() => reshape(x, [NaN, 6]), 'reshape: invalid shape [NaN,6]; dimensions must be non-negative integers, or one −1 to infer');
  exactly(() => reshape(x, [2.5, -1]), 'reshape: invalid shape [2.5,-1]; dimensions must be non-negative integers, or one −1 to infer');
  exactly(() => reshape(x, [-2, -3]), 'reshape: invalid shape [-2,-3]; dimensions must be non-negative integers, or one −1 to infer');
  // After the refused calls, small tensors from ops are independent: each holds its own values.
  const made: [Tensor, number[]][] = [];
  for (let i = 0; i < 200; i++) {
    const width = 1 + (i % 7);
    const values = Array.from({ length: width }, (_, j) => 100 * i + j);
    made.push([add(tensor(values), 0.5), values.map((v) => v + 0.5)]);
  }
  made.push([scatterAdd(g, index, 0, 3), [3, 0, 0]], [broadcastTo(tensor([1, 2]), [2, 2]), [1, 2, 1, 2]]);
  made.forEach(([t, expected], i) => assert.equal(Array.from(t.data), expected, `tensor ${i}`));
});

grads.run();
forward.run();
