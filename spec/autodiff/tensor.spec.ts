// autodiff/tensor.ts: the Tensor (row-major Float64Array and a shape;
// scalars are []) and its constructors: tensor, scalar, zeros, ones, full,
// zerosLike, onesLike, arange, eye; nested-array shape inference and the
// ragged-array error; toArray and item; shape helpers; alloc, the slab
// allocator under every op, and its length check.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, scalar, zeros, ones, full, zerosLike, onesLike, arange, eye, add, sizeOf, formatShape, broadcastShapes, type NestedArray,
} from '../../index.ts';
import { alloc } from '../../autodiff/tensor.ts';
import { SEED, shapeArb, sizeOfShape } from './helpers.ts';

const fails = (f: () => unknown, kind: ErrorConstructor, message: string | RegExp): void => {
  assert.throws(f, (e: unknown) => {
    if (!(e instanceof kind)) return false;
    const text = (e as Error).message;
    return typeof message === 'string' ? text === message : message.test(text);
  }, `expected ${kind.name}: ${String(message)}`);
};

const constructors = suite('tensor: constructors');

constructors('tensor from nested arrays infers the shape, row-major', () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.equal([...t.shape], [2, 3]);
  assert.equal([...t.data], [1, 2, 3, 4, 5, 6]);
  assert.is(t.size, 6);
  assert.is(t.rank, 2);
  assert.equal([...tensor([[[1], [2]]]).shape], [1, 2, 1]);
  assert.equal([...tensor([]).shape], [0]);
  assert.equal([...tensor([[]]).shape], [1, 0]);
  assert.equal([...tensor(7).shape], []);
  assert.is(tensor(7).item(), 7);
});

constructors('tensor from a flat array and a shape; from a Float64Array (copied)', () => {
  const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  assert.equal(t.toArray(), [[1, 2], [3, 4], [5, 6]]);
  const src = new Float64Array([1, 2, 3]);
  const u = tensor(src);
  const v = tensor(src, [3, 1]);
  src[0] = 99;
  assert.equal([...u.shape], [3]);
  assert.is(u.data[0], 1, 'tensor copies its input: tensors are immutable');
  assert.is(v.data[0], 1);
  assert.equal([...tensor([5], []).shape], []);
  // Nested values with an explicit shape are flattened, then reshaped.
  assert.equal(tensor([[1, 2], [3, 4]], [4]).toArray(), [1, 2, 3, 4]);
});

constructors('nested arrays round-trip through toArray for any shape', () => {
  fc.assert(
    fc.property(shapeArb({ maxRank: 4, minDim: 0, maxDim: 3 }), (shape) => {
      const flat = Array.from({ length: sizeOfShape(shape) }, (_, i) => i * 0.5 - 1);
      const nested = nestRef(flat, shape);
      const t = tensor(nested as NestedArray);
      if (!shape.includes(0)) assert.equal([...t.shape], shape);
      assert.equal([...t.data], flat);
      assert.equal(t.toArray(), nested);
      assert.equal(tensor(flat, shape).toArray(), nested);
    }),
    { seed: SEED, numRuns: 50 },
  );
});

/** Plain-JS nesting of a flat row-major list into `shape`. */
function nestRef(flat: number[], shape: number[]): NestedArray {
  if (shape.length === 0) return flat[0];
  const stride = sizeOfShape(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nestRef(flat.slice(i * stride, (i + 1) * stride), shape.slice(1)));
}

constructors('ragged nested arrays are rejected, even when the count of values fits', () => {
  fails(() => tensor([[1, 2], [3]]), RangeError, 'tensor: ragged nested array (3 values for shape [2,2])');
  fails(() => tensor([[1, 2], [3], [4, 5, 6]]), RangeError, /^tensor: ragged nested array \(6 values for shape \[3,2\]\)/);
  fails(() => tensor([[1, 2], [3, [4]]] as unknown as NestedArray), RangeError, /^tensor: ragged nested array/);
  fails(() => tensor([[[1], [2]], [3, 4]]), RangeError, /^tensor: ragged nested array/);
  fails(() => tensor([1, [2]]), RangeError, /^tensor: ragged nested array/);
});

constructors('bad values and shapes: TypeError for kinds, RangeError for values', () => {
  fails(() => tensor([1, 'a'] as unknown as NestedArray), TypeError, /^tensor: expected numbers or nested arrays of numbers, got string/);
  fails(() => tensor([1, 2, 3], [2, 2]), RangeError, 'tensor: 3 values do not fill shape [2,2] (4 elements)');
  fails(() => tensor([1, 2], [-1, -2]), RangeError, /^tensor: invalid shape \[-1,-2\]/);
  fails(() => zeros([1.5]), RangeError, /^zeros: invalid shape \[1.5\]; dimensions must be non-negative integers/);
  fails(() => full([-1], 0), RangeError, /^full: invalid shape \[-1\]/);
  fails(() => scalar('1' as unknown as number), TypeError, 'scalar: expected a number, got string');
  fails(() => eye(-2), RangeError, /^eye: invalid shape \[-2\]/);
  // NaN, fractional and negative dimensions, each message naming the constructor and the shape.
  fails(() => zeros([2, NaN]), RangeError, 'zeros: invalid shape [2,NaN]; dimensions must be non-negative integers');
  fails(() => ones([NaN]), RangeError, 'ones: invalid shape [NaN]; dimensions must be non-negative integers');
  fails(() => ones([0.5, 2]), RangeError, 'ones: invalid shape [0.5,2]; dimensions must be non-negative integers');
  fails(() => full([3, -2], 7), RangeError, 'full: invalid shape [3,-2]; dimensions must be non-negative integers');
  fails(() => full([Infinity], 7), RangeError, 'full: invalid shape [Infinity]; dimensions must be non-negative integers');
  fails(() => tensor([], [NaN]), RangeError, 'tensor: invalid shape [NaN]; dimensions must be non-negative integers');
  fails(() => eye(NaN), RangeError, 'eye: invalid shape [NaN]; dimensions must be non-negative integers');
  fails(() => eye(1.5), RangeError, 'eye: invalid shape [1.5]; dimensions must be non-negative integers');
});

constructors('scalar, zeros, ones, full, zerosLike, onesLike', () => {
  const s = scalar(2.5);
  assert.equal([...s.shape], []);
  assert.is(s.size, 1);
  assert.is(s.rank, 0);
  assert.is(s.toArray(), 2.5);
  assert.equal(zeros([2, 3]).toArray(), [[0, 0, 0], [0, 0, 0]]);
  assert.equal(ones([2]).toArray(), [1, 1]);
  assert.equal(full([2, 2], -3).toArray(), [[-3, -3], [-3, -3]]);
  assert.equal(zeros([]).toArray(), 0);
  assert.equal([...zeros([0, 4]).shape], [0, 4]);
  const t = tensor([[1, 2, 3]]);
  assert.equal(zerosLike(t).toArray(), [[0, 0, 0]]);
  assert.equal(onesLike(t).toArray(), [[1, 1, 1]]);
  // Constructors copy their shape argument.
  const shape = [2, 2];
  const z = zeros(shape);
  shape[0] = 5;
  assert.equal([...z.shape], [2, 2]);
});

constructors('every constructor gives its tensor a buffer of its own (it may be transferred), unlike small op results', () => {
  const t = tensor([[1, 2, 3]]);
  const made = [tensor([1, 2]), scalar(1), zeros([3]), ones([2, 2]), full([4], 7), zerosLike(t), onesLike(t), arange(3), eye(2)];
  for (const x of made) {
    assert.is(x.data.byteOffset, 0);
    assert.is(x.data.buffer.byteLength, 8 * x.size, `${x.toString()}: buffer of ${x.data.buffer.byteLength} bytes`);
  }
  // Transferring one (as postMessage's transfer list does) leaves every other tensor and later ones intact.
  const before = add(tensor([1, 2, 3]), 1);
  const z = zeros([4]);
  const buffer = z.data.buffer as ArrayBuffer;
  const moved = structuredClone(buffer, { transfer: [buffer] });
  assert.is(moved.byteLength, 32);
  assert.equal(before.toArray(), [2, 3, 4]);
  assert.equal(add(tensor([1, 2, 3]), 1).toArray(), [2, 3, 4]);
});

constructors('arange: stop only, start and stop, a fractional or negative step', () => {
  assert.equal(arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.equal(arange(2, 5).toArray(), [2, 3, 4]);
  assert.equal(arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.equal(arange(5, 0, -2).toArray(), [5, 3, 1]);
  assert.equal(arange(3, 1).toArray(), []);
  assert.equal(arange(0).toArray(), []);
  fails(() => arange(0, 5, 0), RangeError, 'arange: step must be finite and non-zero, got 0');
  fails(() => arange(0, 5, NaN), RangeError, /^arange: step must be finite and non-zero, got NaN/);
  // A NaN bound gave a tensor of shape [NaN]; an infinite one, V8's "Invalid typed array length: Infinity".
  fails(() => arange(NaN), RangeError, 'arange: start and stop must be finite, got 0 and NaN');
  fails(() => arange(NaN, 3), RangeError, 'arange: start and stop must be finite, got NaN and 3');
  fails(() => arange(Infinity), RangeError, 'arange: start and stop must be finite, got 0 and Infinity');
  fails(() => arange(-Infinity, 0, 1), RangeError, 'arange: start and stop must be finite, got -Infinity and 0');
});

constructors('eye', () => {
  assert.equal(eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.equal([...eye(0).shape], [0, 0]);
});

const access = suite('tensor: toArray, item, shape helpers');

access('item needs exactly one element; says the shape otherwise', () => {
  assert.is(tensor([[4]]).item(), 4);
  fails(() => tensor([1, 2]).item(), RangeError, 'item: tensor has shape [2], expected exactly one element');
  fails(() => zeros([0]).item(), RangeError, /^item: tensor has shape \[0\]/);
});

access('toArray and toString', () => {
  assert.equal(tensor([[1, 2], [3, 4]]).toArray(), [[1, 2], [3, 4]]);
  assert.equal(tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]).toArray(), [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
  assert.is(tensor([[1, 2]]).toString(), 'Tensor([1,2]) [[1,2]]');
  assert.is(scalar(3).toString(), 'Tensor([]) 3');
});

access('sizeOf, formatShape, broadcastShapes', () => {
  assert.is(sizeOf([2, 3, 4]), 24);
  assert.is(sizeOf([]), 1);
  assert.is(formatShape([3, 4]), '[3,4]');
  assert.is(formatShape([]), '[]');
  assert.equal(broadcastShapes('op', [3, 1], [1, 4]), [3, 4]);
  assert.equal(broadcastShapes('op', [], [2, 3]), [2, 3]);
  assert.equal(broadcastShapes('op', [4], [2, 3, 4]), [2, 3, 4]);
  assert.equal(broadcastShapes('op', [0], [1]), [0]);
  fails(() => broadcastShapes('myOp', [2, 3], [3, 2]), RangeError, 'myOp: shapes [2,3] and [3,2] do not broadcast');
});

access('a Tensor built directly is on no tape', () => {
  const t = new Tensor(new Float64Array([1]), []);
  assert.is(t._trace, null);
});

const allocation = suite('tensor: alloc, the slab allocator');

/** Small buffers from alloc, each filled with its own value, then all read back: any shared memory shows. */
function assertIndependent(count: number): void {
  const buffers: Float64Array[] = [];
  for (let i = 0; i < count; i++) {
    const b = alloc(1 + (i % 9)); // 1 … 9 doubles: all from the slab, crossing slab boundaries
    assert.ok(b.every((v) => v === 0), `buffer ${i} starts zeroed`);
    b.fill(i + 1);
    buffers.push(b);
  }
  buffers.forEach((b, i) => assert.ok(b.every((v) => v === i + 1), `buffer ${i} was overwritten by a later one: [${Array.from(b)}]`));
}

allocation('alloc gives zeroed buffers of the length asked, small ones from the slab, independent of each other', () => {
  assert.is(alloc(0).length, 0);
  assert.is(alloc(5).length, 5);
  assert.is(alloc(64).length, 64);
  assert.is(alloc(65).length, 65);
  assert.is(alloc(-0).length, 0);
  assertIndependent(400);
});

allocation('alloc rejects a NaN, negative, fractional or non-number length, and the slab stays sound after it', () => {
  // Before the check, alloc(NaN) made the slab's offset NaN, so every later
  // small buffer was a view at offset 0 and they all shared memory;
  // alloc(2.5) advanced it by half a double and the next view threw
  // "start offset of Float64Array should be a multiple of 8".
  fails(() => alloc(NaN), RangeError, 'alloc: length must be a non-negative integer, got NaN');
  assertIndependent(300);
  fails(() => alloc(2.5), RangeError, 'alloc: length must be a non-negative integer, got 2.5');
  assertIndependent(300);
  fails(() => alloc(-1), RangeError, 'alloc: length must be a non-negative integer, got -1');
  fails(() => alloc(-(2 ** 40)), RangeError, 'alloc: length must be a non-negative integer, got -1099511627776');
  fails(() => alloc(Infinity), RangeError, 'alloc: length must be a non-negative integer, got Infinity');
  fails(() => alloc(2 ** 53), RangeError, 'alloc: length must be a non-negative integer, got 9007199254740992');
  fails(() => alloc('3' as unknown as number), TypeError, 'alloc: length must be a number, got string');
  assertIndependent(300);
});

constructors.run();
access.run();
allocation.run();
