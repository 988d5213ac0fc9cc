// The Tensor: a row-major Float64Array and a shape. Scalars have shape [].
//
// Tensors are immutable: an op writes only into the buffer it has just
// allocated, so two tensors may share one buffer (reshape and stopGradient do).
// `_trace` links a tensor to the tapes of the transforms that are recording
// it (see tape.ts); user code never touches it.

import type { TraceRef } from './tape.ts';
import { openArena, arenaAlloc, inArena, closeArena, arenaByteCount, resetArena } from './ops/simd.ts';

export type Shape = readonly number[];

export class Tensor {
  readonly data: Float64Array;
  readonly shape: Shape;
  /** @internal the tapes this tensor is recorded on, innermost first */
  _trace: TraceRef | null;

  constructor(data: Float64Array, shape: Shape, trace: TraceRef | null = null) {
    this.data = data;
    this.shape = shape;
    this._trace = trace;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element tensor, as a number. */
  item(): number {
    if (this.data.length !== 1) {
      throw new RangeError(`item: tensor has shape ${formatShape(this.shape)}, expected exactly one element`);
    }
    return this.data[0];
  }

  /** The elements as a plain (nested) array, for printing and tests. */
  toArray(): NestedArray {
    return nest(this.data, this.shape, 0, 0);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}) ${JSON.stringify(this.toArray())}`;
  }
}

export type NestedArray = number | NestedArray[];

function nest(data: Float64Array, shape: Shape, axis: number, offset: number): NestedArray {
  if (axis === shape.length) return data[offset];
  const stride = sizeOf(shape.slice(axis + 1));
  const out: NestedArray[] = [];
  for (let i = 0; i < shape[axis]; i++) out.push(nest(data, shape, axis + 1, offset + i * stride));
  return out;
}

// ---------------------------------------------------------------- shapes

/** @internal The axes 1 … rank − 1: every axis but the sample axis, for sums over an event. */
export function trailingAxes(rank: number): number[] {
  const axes = new Array<number>(Math.max(0, rank - 1));
  for (let i = 0; i < axes.length; i++) axes[i] = i + 1;
  return axes;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** NumPy broadcasting: align trailing axes; each pair must be equal or contain a 1. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    // Aligned from the right; a missing leading axis counts as 1. (Reading a
    // negative index and falling back with ?? is several times slower.)
    const ia = a.length - rank + i;
    const ib = b.length - rank + i;
    const da = ia >= 0 ? a[ia] : 1;
    const db = ib >= 0 ? b[ib] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against a rank, or throws naming the op. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Throws unless every dimension is a non-negative integer, naming the op and the shape. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid shape ${formatShape(shape)}; dimensions must be non-negative integers`);
    }
  }
}

// ---------------------------------------------------------------- constructors

export type TensorLike = Tensor | number | NestedArray | Float64Array;

/**
 * Makes a tensor from a number, a nested array, or a flat array with a shape.
 * `tensor([[1, 2], [3, 4]])` has shape [2,2]; `tensor([1, 2, 3, 4], [2, 2])` too.
 */
export function tensor(values: NestedArray | Float64Array | readonly number[], shape?: Shape): Tensor {
  if (shape !== undefined) {
    checkShape('tensor', shape);
    const flat = values instanceof Float64Array ? Float64Array.from(values) : Float64Array.from(flatten(values));
    if (flat.length !== sizeOf(shape)) {
      throw new RangeError(`tensor: ${flat.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
    }
    return new Tensor(flat, [...shape]);
  }
  if (values instanceof Float64Array) return new Tensor(Float64Array.from(values), [values.length]);
  const inferred = inferShape(values);
  return new Tensor(Float64Array.from(flatten(values)), inferred);
}

function inferShape(values: NestedArray | readonly number[]): number[] {
  const shape: number[] = [];
  let v: NestedArray | readonly number[] = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  // A ragged array fails here rather than producing a wrong tensor. Counting
  // values is not enough ([[1, 2], [3], [4, 5, 6]] has 6 for shape [3,2]):
  // every array at depth d must have length shape[d], numbers only at the bottom.
  const expected = sizeOf(shape);
  const count = flatten(values).length;
  if (count !== expected || !isRegular(values, shape)) {
    throw new RangeError(`tensor: ragged nested array (${count} values for shape ${formatShape(shape)})`);
  }
  return shape;
}

function isRegular(values: NestedArray | readonly number[], shape: readonly number[]): boolean {
  const stack: [unknown, number][] = [[values, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (depth === shape.length) {
      if (Array.isArray(v)) return false;
      continue;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) return false;
    for (const child of v) stack.push([child, depth + 1]);
  }
  return true;
}

function flatten(values: NestedArray | readonly number[]): number[] {
  if (typeof values === 'number') return [values];
  const out: number[] = [];
  const stack: unknown[] = [values];
  // Iterative depth-first walk keeps the order row-major.
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'number') {
      out.push(v);
    } else {
      throw new TypeError(`tensor: expected numbers or nested arrays of numbers, got ${typeof v}`);
    }
  }
  return out;
}

/** A rank-0 tensor holding `value`. */
export function scalar(value: number): Tensor {
  if (typeof value !== 'number') throw new TypeError(`scalar: expected a number, got ${typeof value}`);
  const data = new Float64Array(1);
  data[0] = value;
  return new Tensor(data, []);
}

/**
 * A tensor of `shape` filled with `value`. The constructors (tensor, scalar,
 * zeros, ones, full, zerosLike, onesLike, arange, eye) give each tensor a
 * buffer of its own, which may be filled, transferred or kept; an op's
 * result may be a view into a buffer shared with other small tensors.
 */
export function full(shape: Shape, value: number): Tensor {
  checkShape('full', shape);
  return new Tensor(new Float64Array(sizeOf(shape)).fill(value), [...shape]);
}

/** A tensor of zeros, with a buffer of its own (see full). */
export function zeros(shape: Shape): Tensor {
  checkShape('zeros', shape);
  return new Tensor(new Float64Array(sizeOf(shape)), [...shape]);
}

/** A tensor of ones, with a buffer of its own (see full). */
export function ones(shape: Shape): Tensor {
  checkShape('ones', shape); // before full, so the message names ones
  return full(shape, 1);
}

/** Zeros of x's shape, with a buffer of their own. */
export function zerosLike(x: Tensor): Tensor {
  return new Tensor(new Float64Array(x.data.length), x.shape);
}

/** Ones of x's shape, with a buffer of their own. */
export function onesLike(x: Tensor): Tensor {
  return new Tensor(new Float64Array(x.data.length).fill(1), x.shape);
}

/** 0, 1, …, n − 1 (or start, start + step, … below stop). */
export function arange(startOrStop: number, stop?: number, step = 1): Tensor {
  const start = stop === undefined ? 0 : startOrStop;
  const end = stop === undefined ? startOrStop : stop;
  // A NaN bound made a tensor of shape [NaN]; an infinite one, V8's bare "Invalid typed array length".
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError(`arange: start and stop must be finite, got ${start} and ${end}`);
  if (step === 0 || !Number.isFinite(step)) throw new RangeError(`arange: step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** The n × n identity matrix. */
export function eye(n: number): Tensor {
  checkShape('eye', [n]);
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return new Tensor(data, [n, n]);
}

/** A number becomes a scalar tensor; a tensor passes through. */
export function asTensor(x: Tensor | number): Tensor {
  return x instanceof Tensor ? x : scalar(x);
}

// ---------------------------------------------------------------- allocation

// Small buffers (up to 128 elements, 1 KB) are carved from shared slabs:
// `new Float64Array(n)` costs 200–500 ns from 9 elements up (V8 gives each its
// own backing store), a view into a slab about 15 ns. A region is handed out
// once and never reused, so it starts zeroed like a fresh array, and tensors
// stay immutable. A slab is 32 KB, so a long-lived small tensor keeps at most
// 32 KB alive. Slabs of 8 KB made the n = 1 estimator cases 4–8 %
// slower (one more slab per 8 KB, each with a fixed cost), slabs of 64 KB
// no faster. A fresh slab costs about 0.75 ns per element it holds (it is
// zeroed, and counted by the collector), so inside an estimator's frame,
// which reuses the arena's space call after call, small buffers come from
// the arena too (with 8 KB slabs, one sample of 100 logits spent a tenth of
// a REBAR or RELAX call on them).
const SLAB_DOUBLES = 4096;
const SMALL = 128;
let slab = new ArrayBuffer(SLAB_DOUBLES * 8);
let slabUsed = 0;

/** A zeroed Float64Array of length n, a non-negative safe integer. */
export function alloc(n: number): Float64Array {
  // One test on the hot path: (n >>> 0) === n exactly for the integers 0 … 2^32 − 1.
  // A NaN, negative or fractional n would corrupt the slab: slabUsed = NaN
  // hands every later small tensor offset 0 (they would share memory), a
  // fractional one misaligns the next view.
  if ((n >>> 0) !== n) checkLength(n);
  if (n >= RECYCLE_MIN) return allocLarge(n);
  if (n > SMALL) return new Float64Array(n);
  if (frame !== null && frame.arena) {
    const own = arenaAlloc(n);
    if (own !== null) return own.fill(0);
  }
  return cutSmall(n);
}

/** A zeroed region of n (at most SMALL) elements of the current slab. */
function cutSmall(n: number): Float64Array {
  if (slabUsed + n > SLAB_DOUBLES) {
    slab = new ArrayBuffer(SLAB_DOUBLES * 8);
    slabUsed = 0;
  }
  const out = new Float64Array(slab, slabUsed * 8, n);
  slabUsed += n;
  return out;
}

/**
 * A Float64Array of length n whose contents are unspecified: a recycled
 * buffer keeps its old values, where alloc zeroes it again (about 40 µs for
 * 800 KB). Only for a caller that writes every element before any is read.
 */
export function allocToFill(n: number): Float64Array {
  if (n < RECYCLE_MIN || (n >>> 0) !== n) return alloc(n);
  if (frame !== null && frame.arena) {
    const own = arenaAlloc(n);
    if (own !== null) return own;
  }
  const reused = fromPool(n);
  return track(reused === null ? new Float64Array(n) : reused);
}

/** Lets a safe integer of 2^32 or more through (to new Float64Array); throws for anything else. */
function checkLength(n: number): void {
  if (typeof n !== 'number') throw new TypeError(`alloc: length must be a number, got ${typeof n}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`alloc: length must be a non-negative integer, got ${n}`);
}

// ---------------------------------------------------------------- recycling large buffers
//
// A fresh large Float64Array costs more than the op that fills it: its pages
// are mapped and zeroed by the system on first touch (about 2 ms per 8 MB
// here, against 1 ms for a pass of multiplications), and even a medium one
// costs about 1.7 µs (8 KB) for its backing store. JavaScript cannot free a
// buffer, so the engine recycles the only ones it can prove dead: those
// allocated inside a recycling frame, once the frame's work is done, except
// those under the results it returns and those handed out to code the engine
// does not control. Two kinds of work run in a frame:
//   - a first-order backward pass (no transform recording it; transforms.ts):
//     nothing outside can hold its tensors but the gradients it returns;
//   - a call of estimateGradient with one of mcgrad's own estimators
//     (estimators/estimator.ts), whose only outside code is f, called
//     through handOut.
// Recycled buffers go to a pool that alloc draws from (zeroed again on the
// way out, so alloc's contract is unchanged). The estimator's frame, and the
// backward passes inside it, take their buffers (small ones too) from the
// arena instead (the kernel's memory, ops/simd.ts), all of which the next
// such frame reuses: its results are copied out when it closes (relocate),
// and a tensor handed out is copied out before it is.

const RECYCLE_MIN = SMALL + 1; // every buffer not cut from a slab
const POOL_BYTES = 64 * 1024 * 1024; // at most this much is kept for reuse
const pool = new Map<number, Float64Array[]>();
let pooledBytes = 0;

interface Frame {
  /** Every large buffer allocated while this frame was the current one (but those in the arena). */
  readonly buffers: Float64Array[];
  /** Buffers handed out to outside code: never recycled. */
  readonly handedOut: ArrayBufferLike[];
  /** Whether buffers come from the arena (ops/simd.ts), open for the outermost estimator frame. */
  readonly arena: boolean;
}

let frame: Frame | null = null;
let recycling = true;

function allocLarge(n: number): Float64Array {
  if (frame !== null && frame.arena) {
    const own = arenaAlloc(n);
    if (own !== null) return own.fill(0);
  }
  const reused = fromPool(n);
  return track(reused === null ? new Float64Array(n) : reused.fill(0));
}

/** A pooled buffer of length n (its old contents), or null. */
function fromPool(n: number): Float64Array | null {
  const free = pool.get(n);
  if (free === undefined || free.length === 0) return null;
  const out = free.pop() as Float64Array;
  pooledBytes -= out.byteLength;
  return out;
}

/** Records a large buffer in the current frame, if any. */
function track(out: Float64Array): Float64Array {
  if (frame !== null) frame.buffers.push(out);
  return out;
}

/**
 * @internal Runs `work` in a recycling frame: afterwards, every large buffer
 * it allocated goes to the pool, except those under `results(value)` (which
 * must name every tensor the work's value holds) and those handed out. Only
 * for work that keeps no other tensor of its own, and whose outside code
 * sees tensors only through handOut. If the work throws, nothing is recycled.
 *
 * With `arena` (an estimator's call), an outermost frame cuts its buffers
 * (small ones too) from the arena of ops/simd.ts, where the WebAssembly
 * kernels work on them in place, and so do the frames opened inside it; when it closes,
 * the results that live there get copies of their own (relocate), and the
 * arena's space goes to the next frame.
 */
export function withRecycling<R>(work: () => R, results: (value: R) => readonly Tensor[], arena = false): R {
  const outer = frame;
  const opened = recycling && arena && outer === null && openArena();
  const current: Frame | null = recycling ? { buffers: [], handedOut: [], arena: opened || (outer !== null && outer.arena) } : null;
  frame = current;
  let value: R;
  let done = false;
  try {
    value = work();
    done = true;
  } finally {
    frame = outer;
    if (opened && !done) closeArena(false);
  }
  if (current === null || (current.buffers.length === 0 && !opened)) return value;
  let kept: readonly Tensor[];
  if (opened) {
    // If naming or copying the results throws (a getter in them, no memory),
    // they may still be in the arena: its memory is then left behind, as for
    // a frame that throws.
    let copied = false;
    try {
      kept = results(value);
      const copies = new Map<Float64Array, Float64Array>(); // tensors that shared a buffer share its copy
      for (const t of kept) if (inArena(t.data)) relocate(t, copies);
      copied = true;
    } finally {
      closeArena(copied);
    }
  } else {
    kept = results(value);
  }
  if (current.buffers.length > 0) recycle(current, kept);
  return value;
}

function recycle(done: Frame, results: readonly Tensor[]): void {
  const kept = new Set<ArrayBufferLike>(done.handedOut);
  for (const t of results) kept.add(t.data.buffer); // views share the ArrayBuffer: reshape, slices
  for (const buffer of done.buffers) {
    if (kept.has(buffer.buffer) || pooledBytes + buffer.byteLength > POOL_BYTES) continue;
    let free = pool.get(buffer.length);
    if (free === undefined) pool.set(buffer.length, (free = []));
    free.push(buffer);
    pooledBytes += buffer.byteLength;
  }
}

/**
 * Gives t a copy of its values outside the arena, so that the arena's space
 * can be reused. Tensors are immutable, so nothing can tell the copy from the
 * original: the values are the same, and the only holders of the old array
 * itself (the frame's tape and its ops' closures) end with the frame.
 */
function relocate(t: Tensor, copies?: Map<Float64Array, Float64Array>): void {
  let copy = copies?.get(t.data);
  if (copy === undefined) {
    const n = t.data.length;
    copy = n <= SMALL ? cutSmall(n) : fromPool(n) ?? new Float64Array(n);
    copy.set(t.data);
    copies?.set(t.data, copy);
  }
  (t as { data: Float64Array }).data = copy;
}

/**
 * @internal Keeps t's buffer out of the current frame's recycling: for a
 * tensor that a module keeps beyond the call (lib/distributions remembers the
 * log-space values behind the relaxed samples it hands out).
 */
export function keepFromRecycling(t: Tensor): void {
  if (frame === null) return;
  if (inArena(t.data)) relocate(t);
  else frame.handedOut.push(t.data.buffer);
}

/**
 * @internal Calls outside code (a user's f) on `x`: x's buffer is never
 * recycled by the current frame, which is suspended during the call, so
 * nothing the call allocates is recycled either (it may keep any of it).
 */
export function handOut<T>(fn: (x: Tensor) => T, x: Tensor): T {
  const current = frame;
  if (current === null || containedFunctions.has(fn)) return fn(x);
  keepFromRecycling(x); // x's own copy, if it lives in the arena
  frame = null;
  try {
    return fn(x);
  } finally {
    frame = current;
  }
}

// Functions of mcgrad's own (lib/functions.ts: the problem files' table and
// quadratic) that keep none of the tensors they are given or make, and call
// no outside code: handOut runs them inside the frame, so their input and
// their intermediates are recycled with the rest of the frame's work.
const containedFunctions = new WeakSet<object>();

/**
 * @internal Marks `fn`, one of mcgrad's own functions of samples, as keeping
 * no tensor it is given or makes after it returns (except in its result) and
 * calling no outside code; returns it. handOut then needs no protection for it.
 */
export function selfContainedFunction<F extends (x: Tensor) => unknown>(fn: F): F {
  containedFunctions.add(fn);
  return fn;
}

/** @internal Bytes waiting in the pool (for specs). */
export function pooledByteCount(): number {
  return pooledBytes;
}

/** @internal Bytes ready for reuse: the pool's, and those the last estimator frame took from the arena (for specs). */
export function recycledByteCount(): number {
  return pooledBytes + arenaByteCount();
}

/** @internal Turns recycling on or off (specs compare the two), emptying the pool and forgetting the arena's use. */
export function setRecycling(enabled: boolean): void {
  recycling = enabled;
  pool.clear();
  pooledBytes = 0;
  resetArena();
}
