// How an op is defined: a name, a forward that loops over Float64Arrays, and
// one VJP per input written with the public (differentiable) ops. The VJP
// gets the output cotangent `g`, the op's output and its inputs, so it can
// reuse the output (exp, sigmoid, tanh) as derivatives.yaml does.

import { Tensor, alloc, allocToFill, broadcastShapes, shapesEqual, stridesOf, sizeOf, type Shape } from '../tensor.ts';
import { isRecording, record, recordNondifferentiable, describe } from '../tape.ts';
import { sumToShape } from './shape.ts';
import { arenaBinary, ARENA_MIN_LENGTH, type ElementwiseKernel } from './simd.ts';

export function checkTensor(op: string, x: unknown, what = 'argument'): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${describe(x)}`);
}

export function toTensor(op: string, x: Tensor | number): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') {
    const data = alloc(1);
    data[0] = x;
    return new Tensor(data, []);
  }
  throw new TypeError(`${op}: expected a Tensor or a number, got ${describe(x)}`);
}

// ---------------------------------------------------------------- unary

export interface UnarySpec {
  name: string;
  /** Writes op(x) into `out` (same length). The only loop of the op. */
  forward: (x: Float64Array, out: Float64Array) => void;
  /** d op: the input's cotangent from the output's; omitted for ops with no derivative. */
  vjp?: (g: Tensor, out: Tensor, x: Tensor) => Tensor;
}

export function unaryOp(spec: UnarySpec): (x: Tensor) => Tensor {
  const { name, forward, vjp } = spec;
  return (x: Tensor): Tensor => {
    checkTensor(name, x);
    const out = new Tensor(allocToFill(x.data.length), x.shape);
    forward(x.data, out.data);
    if (!isRecording()) return out;
    if (vjp === undefined) return recordNondifferentiable(name, [x], out);
    return record(name, [x], out, (g) => [vjp(g, out, x)]);
  };
}

/** A constant (never recorded) tensor of pred(x) as 0/1, for masks inside VJPs. */
export function maskOf(x: Tensor, pred: (v: number) => boolean): Tensor {
  const out = allocToFill(x.data.length);
  const xs = x.data;
  for (let i = 0; i < xs.length; i++) out[i] = pred(xs[i]) ? 1 : 0;
  return new Tensor(out, x.shape);
}

// ---------------------------------------------------------------- binary

type BinaryVjp = (g: Tensor, out: Tensor, a: Tensor, b: Tensor) => Tensor;

export interface BinarySpec {
  name: string;
  /** The elementwise function as one monomorphic loop over equal-length arrays (broadcast inputs are copied out first). */
  same: (a: Float64Array, b: Float64Array, out: Float64Array) => void;
  /** Cotangents of a and of b, at the output's shape (the caller folds them back with sumToShape). */
  vjp?: readonly [BinaryVjp, BinaryVjp];
  /** The WebAssembly kernel that computes `same` on arrays in the arena (simd.ts), if there is one. */
  kernel?: ElementwiseKernel;
}

export type BinaryFn = (a: Tensor | number, b: Tensor | number) => Tensor;

/** A broadcasting binary op; each VJP is folded back to its input's shape by sumToShape. */
export function binaryOp(spec: BinarySpec): BinaryFn {
  const { name, same, vjp, kernel } = spec;
  // Where the arrays live in the arena, the kernel; else the loop. (Small
  // arrays take the loop wherever they live: it costs less than the call
  // that checks.)
  const anywhere = kernel === undefined ? same : (A: Float64Array, B: Float64Array, O: Float64Array): void => {
    if (O.length < ARENA_MIN_LENGTH || !arenaBinary(kernel, A, B, O)) same(A, B, O);
  };
  return (aIn: Tensor | number, bIn: Tensor | number): Tensor => {
    const a = toTensor(name, aIn);
    const b = toTensor(name, bIn);
    let out: Tensor;
    if (shapesEqual(a.shape, b.shape)) {
      out = new Tensor(allocToFill(a.data.length), a.shape);
      if (out.data.length < ARENA_MIN_LENGTH) same(a.data, b.data, out.data);
      else anywhere(a.data, b.data, out.data);
    } else {
      const shape = broadcastShapes(name, a.shape, b.shape);
      out = new Tensor(allocToFill(sizeOf(shape)), shape);
      broadcastBinary(a, b, out, anywhere);
    }
    if (!isRecording()) return out;
    if (vjp === undefined) return recordNondifferentiable(name, [a, b], out);
    const [da, db] = vjp;
    return record(name, [a, b], out, (g, needs) => [
        needs[0] ? sumToShape(da(g, out, a, b), a.shape) : null,
        needs[1] ? sumToShape(db(g, out, a, b), b.shape) : null,
    ]);
  };
}

/** Strides of `shape` seen from a broadcast `outShape`: 0 along broadcast axes. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = stridesOf(shape);
  const lead = outShape.length - shape.length;
  const strides = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) strides[lead + i] = shape[i] === 1 ? 0 : own[i];
  return strides;
}

// The common broadcasts, a scalar against a tensor ([] with [m, n]) and a
// row against a matrix ([n] with [m, n]), repeat the smaller operand along
// the leading axes of the larger one. They run the op's own same-shape loop
// over blocks of the output, against the small operand tiled once into a
// block of about TILE elements.
const TILE = 1024;

function broadcastBinary(
  a: Tensor, b: Tensor, out: Tensor,
  same: (a: Float64Array, b: Float64Array, out: Float64Array) => void,
): void {
  const A = a.data;
  const B = b.data;
  const O = out.data;
  if (O.length === 0) return;
  if (A.length === O.length && repeats(b.shape, out.shape)) {
    const tile = tiled(B, O.length);
    // One tile covering the output: call the loop on the arrays themselves
    // (subarray() on a small typed array costs ~200 ns, more than the op).
    if (tile.length === O.length) return same(A, tile, O);
    for (let o = 0; o < O.length; o += tile.length) {
      const end = Math.min(o + tile.length, O.length);
      same(A.subarray(o, end), tile.subarray(0, end - o), O.subarray(o, end));
    }
    return;
  }
  if (B.length === O.length && repeats(a.shape, out.shape)) {
    const tile = tiled(A, O.length);
    if (tile.length === O.length) return same(tile, B, O);
    for (let o = 0; o < O.length; o += tile.length) {
      const end = Math.min(o + tile.length, O.length);
      same(tile.subarray(0, end - o), B.subarray(o, end), O.subarray(o, end));
    }
    return;
  }
  // Any other broadcast ([n, 1] against [n, K], [n, 1] against [1, K], …):
  // copy each operand out to the output's shape, a loop per row, and run the
  // same-shape loop. Cheaper than calling the op's function per element
  // from a call site that every op shares (V8 cannot inline it there).
  const fullA = A.length === O.length ? A : broadcastCopy(a, out.shape);
  const fullB = B.length === O.length ? B : broadcastCopy(b, out.shape);
  same(fullA, fullB, O);
}

/** True when `shape`, without its leading 1s, is the trailing part of `outShape` (it repeats along the rest). */
export function repeats(shape: Shape, outShape: Shape): boolean {
  let lead = 0;
  while (lead < shape.length && shape[lead] === 1) lead++;
  const tail = shape.length - lead;
  if (tail > outShape.length) return false;
  for (let i = 0; i < tail; i++) if (shape[lead + i] !== outShape[outShape.length - tail + i]) return false;
  return true;
}

/** `x` repeated to a whole number of copies, about TILE elements (at most `n`). */
function tiled(x: Float64Array, n: number): Float64Array {
  const copies = Math.max(1, Math.min(Math.floor(TILE / x.length), n / x.length));
  if (copies === 1) return x;
  const out = allocToFill(copies * x.length);
  if (x.length === 1) return out.fill(x[0]);
  return repeatInto(x, out);
}

/** Fills O with copies of X (O.length a multiple of X.length): one copy, then copies of what is there, doubling (block copies, where a loop per element is several times slower). */
function repeatInto(X: Float64Array, O: Float64Array): Float64Array {
  O.set(X);
  for (let filled = X.length; filled < O.length; filled *= 2) O.copyWithin(filled, 0, Math.min(filled, O.length - filled));
  return O;
}

/** Copies `x` broadcast to `shape` (shape already checked compatible). */
export function broadcastCopy(x: Tensor, shape: Shape): Float64Array {
  const O = allocToFill(sizeOf(shape));
  const X = x.data;
  if (X.length === 1) return O.fill(X[0]);
  if (repeats(x.shape, shape)) return repeatInto(X, O);
  const rank = shape.length;
  const sx = broadcastStrides(x.shape, shape);
  const inner = shape[rank - 1];
  const ix = sx[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let off = 0;
  for (let o = 0; o < O.length; o += inner) {
    if (ix === 1 && inner > 32) O.set(X.subarray(off, off + inner), o); // short rows: a loop beats subarray()
    else for (let j = 0; j < inner; j++) O[o + j] = X[off + j * ix];
    for (let ax = rank - 2; ax >= 0; ax--) {
      index[ax]++;
      off += sx[ax];
      if (index[ax] < shape[ax]) break;
      off -= sx[ax] * shape[ax];
      index[ax] = 0;
    }
  }
  return O;
}
