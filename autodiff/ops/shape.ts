// Ops that move elements without arithmetic: reshape, broadcast, slice, pad,
// concatenate, stack, gather/take and their adjoints, oneHot. Each VJP is the
// op's adjoint (slice ↔ pad, gather ↔ scatterAdd, broadcastTo ↔ sumToShape),
// so derivatives of any order follow.

import { Tensor, alloc, allocToFill, broadcastShapes, checkShape, formatShape, normalizeAxis, shapesEqual, sizeOf, type Shape } from '../tensor.ts';
import { isRecording, record } from '../tape.ts';
import { checkTensor, broadcastCopy } from './define.ts';
import { sum } from './reduce.ts';

// ---------------------------------------------------------------- reshape

/** Same elements, new shape; one dimension may be −1 and is then inferred. Shares the buffer. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  checkTensor('reshape', x);
  const resolved = resolveShape(x, shape);
  if (shapesEqual(resolved, x.shape)) return x;
  const out = new Tensor(x.data, resolved);
  if (!isRecording()) return out;
  return record('reshape', [x], out, (g) => [reshape(g, x.shape)]);
}

function resolveShape(x: Tensor, shape: Shape): number[] {
  // The usual case: no −1, every dimension a non-negative integer, the same size.
  let size = 1;
  let plain = true;
  for (let i = 0; i < shape.length && plain; i++) {
    const d = shape[i];
    plain = Number.isInteger(d) && d >= 0;
    size *= d;
  }
  if (plain && size === x.size) {
    // A plain array, whatever array-like came in (a loop: Array.from takes the iterator protocol's slow path).
    const out = new Array<number>(shape.length);
    for (let i = 0; i < shape.length; i++) out[i] = shape[i];
    return out;
  }
  const free = shape.indexOf(-1);
  if (free !== shape.lastIndexOf(-1)) throw new RangeError(`reshape: at most one −1 is allowed in ${formatShape(shape)}`);
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    if (i === free) continue;
    if (!Number.isInteger(shape[i]) || shape[i] < 0) {
      throw new RangeError(`reshape: invalid shape ${formatShape(shape)}; dimensions must be non-negative integers, or one −1 to infer`);
    }
    known *= shape[i];
  }
  const out = [...shape];
  if (free >= 0) {
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)}`);
    }
    out[free] = x.size / known;
  } else if (known !== x.size) {
    throw new RangeError(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)}`);
  }
  return out;
}

/** Inserts an axis of length 1 at `axis`. */
export function expandDims(x: Tensor, axis: number): Tensor {
  checkTensor('expandDims', x);
  const k = normalizeAxis('expandDims', axis, x.rank + 1);
  const shape = new Array<number>(x.rank + 1);
  for (let i = 0; i <= x.rank; i++) shape[i] = i < k ? x.shape[i] : i === k ? 1 : x.shape[i - 1];
  return reshape(x, shape);
}

/** Removes `axis` (which must have length 1), or every axis of length 1. */
export function squeeze(x: Tensor, axis?: number): Tensor {
  checkTensor('squeeze', x);
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const k = normalizeAxis('squeeze', axis, x.rank);
  if (x.shape[k] !== 1) throw new RangeError(`squeeze: axis ${axis} of shape ${formatShape(x.shape)} has length ${x.shape[k]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== k));
}

// ---------------------------------------------------------------- broadcasting

/** Broadcasts `x` to `shape` by NumPy's rules. Its VJP is sumToShape. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  checkTensor('broadcastTo', x);
  // Checked here: broadcastShapes takes any dimension against a 1, so [2.5] or [-1] would reach alloc.
  checkShape('broadcastTo', shape);
  if (shapesEqual(x.shape, shape)) return x;
  const result = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapesEqual(result, shape)) {
    throw new RangeError(`broadcastTo: shape ${formatShape(x.shape)} cannot be broadcast to ${formatShape(shape)}`);
  }
  const out = new Tensor(broadcastCopy(x, shape), [...shape]);
  if (!isRecording()) return out;
  return record('broadcastTo', [x], out, (g) => [sumToShape(g, x.shape)]);
}

/**
 * Sums `g` over the axes along which `shape` was broadcast to g's shape: the
 * adjoint of broadcasting, used by every binary op's VJP.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new RangeError(`sumToShape: ${formatShape(g.shape)} has fewer axes than ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== g.shape[i]) {
      throw new RangeError(`sumToShape: ${formatShape(g.shape)} is not a broadcast of ${formatShape(shape)}`);
    }
  }
  return reshape(sum(g, axes, true), shape);
}

// ---------------------------------------------------------------- slice and pad along one axis
// x seen as [outer, n, inner] along the axis (see reduce.ts).

function lanes(x: Shape, axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= x[i];
  for (let i = axis + 1; i < x.length; i++) inner *= x[i];
  return { outer, n: x[axis], inner };
}

function copyBlocks(src: Float64Array, srcWidth: number, srcStart: number, dst: Float64Array, dstWidth: number, dstStart: number, width: number, outer: number): void {
  for (let o = 0; o < outer; o++) {
    const from = o * srcWidth + srcStart;
    const to = o * dstWidth + dstStart;
    // Short rows by a loop: subarray() on a small typed array costs ~200 ns.
    if (width <= 32) for (let j = 0; j < width; j++) dst[to + j] = src[from + j];
    else dst.set(src.subarray(from, from + width), to);
  }
}

/** Elements start ≤ i < end along `axis` (negative indices count from the end, as in Python). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  checkTensor('slice', x);
  const k = normalizeAxis('slice', axis, x.rank);
  const n = x.shape[k];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
    throw new RangeError(`slice: range [${start}, ${end ?? n}) is out of bounds for axis ${axis} of shape ${formatShape(x.shape)}`);
  }
  if (s === 0 && e === n) return x;
  const { outer, inner } = lanes(x.shape, k);
  const shape = [...x.shape];
  shape[k] = e - s;
  const data = allocToFill(sizeOf(shape)); // every element copied
  copyBlocks(x.data, n * inner, s * inner, data, (e - s) * inner, 0, (e - s) * inner, outer);
  const out = new Tensor(data, shape);
  if (!isRecording()) return out;
  return record('slice', [x], out, (g) => [pad(g, k, s, n - e)]);
}

/** Adds `before` and `after` zeros along `axis`: the adjoint of slice. */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  checkTensor('pad', x);
  const k = normalizeAxis('pad', axis, x.rank);
  if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) {
    throw new RangeError(`pad: before and after must be non-negative integers, got ${before} and ${after}`);
  }
  if (before === 0 && after === 0) return x;
  const { outer, n, inner } = lanes(x.shape, k);
  const shape = [...x.shape];
  shape[k] = n + before + after;
  const data = alloc(sizeOf(shape));
  copyBlocks(x.data, n * inner, 0, data, shape[k] * inner, before * inner, n * inner, outer);
  const out = new Tensor(data, shape);
  if (!isRecording()) return out;
  return record('pad', [x], out, (g) => [slice(g, k, before, before + n)]);
}

// ---------------------------------------------------------------- concat and stack

/** Joins tensors along an existing axis; all other axes must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown) || xs.length === 0) throw new RangeError('concat: needs a non-empty array of tensors');
  xs.forEach((x, i) => checkTensor('concat', x, `element ${i}`));
  const first = xs[0];
  const k = normalizeAxis('concat', axis, first.rank);
  for (const x of xs) {
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== k && d !== first.shape[i])) {
      throw new RangeError(`concat: shapes ${xs.map((t) => formatShape(t.shape)).join(' and ')} do not agree off axis ${axis}`);
    }
  }
  const total = xs.reduce((acc, x) => acc + x.shape[k], 0);
  const shape = [...first.shape];
  shape[k] = total;
  const { outer, inner } = lanes(shape, k);
  const data = allocToFill(sizeOf(shape)); // the parts cover it
  const starts: number[] = [];
  let at = 0;
  for (const x of xs) {
    starts.push(at);
    copyBlocks(x.data, x.shape[k] * inner, 0, data, total * inner, at * inner, x.shape[k] * inner, outer);
    at += x.shape[k];
  }
  const out = new Tensor(data, shape);
  if (!isRecording()) return out;
  return record('concat', xs, out, (g, needs) => xs.map((x, i) => (needs[i] ? slice(g, k, starts[i], starts[i] + x.shape[k]) : null)));
}

/** Joins equal-shaped tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown) || xs.length === 0) throw new RangeError('stack: needs a non-empty array of tensors');
  xs.forEach((x, i) => checkTensor('stack', x, `element ${i}`));
  const shape = xs[0].shape;
  for (const x of xs) {
    if (!shapesEqual(x.shape, shape)) throw new RangeError(`stack: shapes ${xs.map((t) => formatShape(t.shape)).join(' and ')} differ`);
  }
  const k = normalizeAxis('stack', axis, shape.length + 1);
  return concat(xs.map((x) => expandDims(x, k)), k);
}

// ---------------------------------------------------------------- gather, take and their adjoints

function indicesOf(op: string, indices: Tensor, n: number): Int32Array {
  const out = new Int32Array(indices.size);
  const I = indices.data;
  for (let j = 0; j < I.length; j++) {
    const v = I[j];
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new RangeError(`${op}: index ${v} is out of range [0, ${n})`);
    out[j] = v;
  }
  return out;
}

// out[o, j, i] = x[o, idx(o, j, i), i] with idx per lane (gather) or shared (take).
function selectKernel(X: Float64Array, n: number, outer: number, inner: number, idx: Int32Array, m: number, perLane: boolean): Float64Array {
  const out = allocToFill(outer * m * inner); // every element written
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const row = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) {
        const k = perLane ? idx[row + i] : idx[j];
        out[row + i] = X[(o * n + k) * inner + i];
      }
    }
  }
  return out;
}

function scatterKernel(G: Float64Array, n: number, outer: number, inner: number, idx: Int32Array, m: number, perLane: boolean): Float64Array {
  const out = alloc(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const row = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) {
        const k = perLane ? idx[row + i] : idx[j];
        out[(o * n + k) * inner + i] += G[row + i];
      }
    }
  }
  return out;
}

/**
 * Picks along `axis` with an index tensor of the same rank (PyTorch's
 * gather, NumPy's take_along_axis): out[…, j, …] = x[…, index[…, j, …], …].
 * Off the axis, index and x must have the same lengths. Gradient to x only.
 */
export function gather(x: Tensor, index: Tensor, axis = -1): Tensor {
  checkTensor('gather', x);
  checkTensor('gather', index, 'index');
  const k = normalizeAxis('gather', axis, x.rank);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== k && d !== x.shape[i])) {
    throw new RangeError(`gather: index shape ${formatShape(index.shape)} does not match ${formatShape(x.shape)} off axis ${axis}`);
  }
  const { outer, n, inner } = lanes(x.shape, k);
  const idx = indicesOf('gather', index, n);
  const m = index.shape[k];
  const out = new Tensor(selectKernel(x.data, n, outer, inner, idx, m, true), index.shape);
  if (!isRecording()) return out;
  return record('gather', [x], out, (g) => [scatterAdd(g, index, k, n)]);
}

/** The adjoint of gather: a zero tensor of length n along `axis` with g added at the indices. */
export function scatterAdd(g: Tensor, index: Tensor, axis: number, n: number): Tensor {
  checkTensor('scatterAdd', g);
  checkTensor('scatterAdd', index, 'index');
  const k = normalizeAxis('scatterAdd', axis, g.rank);
  if (!Number.isInteger(n) || n < 0) {
    const shape = [...g.shape];
    shape[k] = n;
    throw new RangeError(`scatterAdd: n must be a non-negative integer, got ${n} (output shape ${formatShape(shape)})`);
  }
  if (!shapesEqual(g.shape, index.shape)) {
    throw new RangeError(`scatterAdd: values ${formatShape(g.shape)} and index ${formatShape(index.shape)} must have the same shape`);
  }
  const { outer, n: m, inner } = lanes(g.shape, k);
  const idx = indicesOf('scatterAdd', index, n);
  const shape = [...g.shape];
  shape[k] = n;
  const out = new Tensor(scatterKernel(g.data, n, outer, inner, idx, m, true), shape);
  if (!isRecording()) return out;
  return record('scatterAdd', [g], out, (gg) => [gather(gg, index, k)]);
}

/**
 * NumPy's take: the slices at `indices` along `axis`. The result's shape is
 * x.shape[:axis] + indices.shape + x.shape[axis+1:]. Gradient to x only.
 */
export function take(x: Tensor, indices: Tensor | readonly number[], axis = 0): Tensor {
  checkTensor('take', x);
  const index = indices instanceof Tensor ? indices : new Tensor(Float64Array.from(indices), [indices.length]);
  const k = normalizeAxis('take', axis, x.rank);
  const { outer, n, inner } = lanes(x.shape, k);
  const idx = indicesOf('take', index, n);
  const shape = [...x.shape.slice(0, k), ...index.shape, ...x.shape.slice(k + 1)];
  const out = new Tensor(selectKernel(x.data, n, outer, inner, idx, idx.length, false), shape);
  if (!isRecording()) return out;
  return record('take', [x], out, (g) => [untake(g, index, k, n)]);
}

/** The adjoint of take: sums the slices of g back into n positions along `axis`. */
function untake(g: Tensor, index: Tensor, axis: number, n: number): Tensor {
  const m = index.size;
  const outer = sizeOf(g.shape.slice(0, axis));
  const inner = sizeOf(g.shape.slice(axis + index.rank));
  const idx = indicesOf('take', index, n);
  const shape = [...g.shape.slice(0, axis), n, ...g.shape.slice(axis + index.rank)];
  const out = new Tensor(scatterKernel(g.data, n, outer, inner, idx, m, false), shape);
  if (!isRecording()) return out;
  return record('untake', [g], out, (gg) => [take(gg, index, axis)]);
}

// ---------------------------------------------------------------- one-hot

/**
 * One-hot vectors of length `depth` for integer indices: shape
 * indices.shape + [depth]. Indices carry no derivative, so the result is a
 * constant and is never recorded.
 */
export function oneHot(indices: Tensor | readonly number[], depth: number): Tensor {
  const index = indices instanceof Tensor ? indices : new Tensor(Float64Array.from(indices), [indices.length]);
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`oneHot: depth must be a positive integer, got ${depth}`);
  const idx = indicesOf('oneHot', index, depth);
  const data = alloc(idx.length * depth);
  for (let j = 0; j < idx.length; j++) data[j * depth + idx[j]] = 1;
  return new Tensor(data, [...index.shape, depth]);
}
