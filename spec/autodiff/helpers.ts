// Shared pieces of the engine's specs: fast-check generators of shapes and
// of values in each op's domain, plain-JS references (NumPy broadcasting,
// reductions by multi-index), and closeness checks. Not a spec itself.

import * as fc from 'fast-check';
import * as assert from 'uvu/assert';
import { Tensor, tensor, grad, sum, mul, stopGradient } from '../../index.ts';

/** The fast-check seed of every property in the engine's specs: runs are reproducible. */
export const SEED = 20240611;

// ---------------------------------------------------------------- shapes

export interface ShapeBounds {
  minRank?: number;
  maxRank?: number;
  minDim?: number;
  maxDim?: number;
}

/** Shapes of rank minRank..maxRank with dimensions minDim..maxDim. */
export function shapeArb({ minRank = 0, maxRank = 3, minDim = 1, maxDim = 4 }: ShapeBounds = {}): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor of the given shape with values from `domain`. */
export function tensorOf(shape: readonly number[], domain: fc.Arbitrary<number>): fc.Arbitrary<Tensor> {
  const n = sizeOfShape(shape);
  return fc.array(domain, { minLength: n, maxLength: n }).map((vs) => tensor(vs, shape));
}

/** A tensor of a random shape with values from `domain`. */
export function tensorArb(domain: fc.Arbitrary<number>, bounds: ShapeBounds = {}): fc.Arbitrary<Tensor> {
  return shapeArb(bounds).chain((s) => tensorOf(s, domain));
}

/**
 * Two shapes that broadcast together: start from a result shape, then for
 * each operand drop some leading axes (rank mismatch) and set some axes to 1.
 * Covers [3,1] vs [1,4], a scalar against a matrix, and [4] against [2,3,4].
 */
export function broadcastPairArb(maxRank = 3): fc.Arbitrary<[number[], number[]]> {
  const side = fc.tuple(fc.integer({ min: 0, max: maxRank }), fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }));
  return fc.tuple(shapeArb({ maxRank }), side, side).map(([out, [dropA, onesA], [dropB, onesB]]) => {
    const make = (drop: number, ones: boolean[]): number[] => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d));
    return [make(dropA, onesA), make(dropB, onesB)];
  });
}

// ---------------------------------------------------------------- value domains

/** Finite reals in [lo, hi] (fast-check favours the ends and 0, which is what we want). */
export function real(lo = -3, hi = 3): fc.Arbitrary<number> {
  return fc.double({ min: lo, max: hi, noNaN: true });
}

/** Reals in [lo, hi] at least `gap` away from each of `points` (the kinks of an op). */
export function awayFrom(points: readonly number[], gap: number, lo = -3, hi = 3): fc.Arbitrary<number> {
  return real(lo, hi).map((x) => {
    let y = x;
    for (const p of points) if (Math.abs(y - p) < gap) y = y >= p ? p + gap : p - gap;
    return y;
  });
}

/**
 * Values on two interleaved grids, so that any value from grid 0 and any
 * from grid 1 differ by at least 0.15 (for maximum/minimum away from ties):
 * grid g is k/2 + 0.05 + g/4 + jitter, |jitter| ≤ 0.05, k in −4..4.
 */
export function gridValue(g: 0 | 1): fc.Arbitrary<number> {
  return fc.tuple(fc.integer({ min: -4, max: 4 }), real(-0.05, 0.05)).map(([k, j]) => k / 2 + 0.05 + g / 4 + j);
}

/** A tensor of the given shape whose values are pairwise ≥ 0.2 apart (no ties, for max/min). */
export function distinctTensorOf(shape: readonly number[]): fc.Arbitrary<Tensor> {
  const n = sizeOfShape(shape);
  return fc.array(real(-1, 1), { minLength: n, maxLength: n }).map((vs) => {
    // Rank the values (ties broken by position); spread the ranks 0.3 apart.
    const order = vs.map((_, i) => i).sort((i, j) => vs[i] - vs[j] || i - j);
    const out = new Array<number>(n);
    order.forEach((i, rank) => (out[i] = 0.3 * (rank - n / 2) + 0.05 * vs[i]));
    return tensor(out, shape);
  });
}

// ---------------------------------------------------------------- references

/** NumPy's broadcast result shape, written independently of the engine. */
export function refBroadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s[s.length - rank + i] ?? 1;
      if (k !== 1) {
        if (d !== 1 && d !== k) throw new Error(`reference: ${JSON.stringify(shapes)} do not broadcast`);
        d = k;
      }
    }
    out.push(d);
  }
  return out;
}

/** The multi-index of flat position `flat` in `shape` (row-major). */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** The flat position of a multi-index in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return flat;
}

/** The element of x that a broadcast to `outShape` puts at out multi-index `idx`. */
export function broadcastAt(x: Tensor, idx: readonly number[], outShape: readonly number[]): number {
  const lead = outShape.length - x.rank;
  const own = x.shape.map((d, i) => (d === 1 ? 0 : idx[lead + i]));
  return x.data[ravel(own, x.shape)];
}

/** out[i] = fn(a[i], b[i]) under NumPy broadcasting, element by element. */
export function refBinary(a: Tensor, b: Tensor, fn: (x: number, y: number) => number): { shape: number[]; data: number[] } {
  const shape = refBroadcastShape(a.shape, b.shape);
  const data: number[] = [];
  for (let o = 0; o < sizeOfShape(shape); o++) {
    const idx = unravel(o, shape);
    data.push(fn(broadcastAt(a, idx, shape), broadcastAt(b, idx, shape)));
  }
  return { shape, data };
}

/** Reduces the axes listed in `axes` with `fn` over the values of each lane, in row-major order. */
export function refReduce(x: Tensor, axes: readonly number[], keepdims: boolean, fn: (lane: number[]) => number): { shape: number[]; data: number[] } {
  const reduced = x.shape.map((_, i) => axes.includes(i));
  const kept = x.shape.map((d, i) => (reduced[i] ? 1 : d));
  const lanes: number[][] = Array.from({ length: sizeOfShape(kept) }, () => []);
  for (let f = 0; f < x.size; f++) {
    const idx = unravel(f, x.shape).map((v, i) => (reduced[i] ? 0 : v));
    lanes[ravel(idx, kept)].push(x.data[f]);
  }
  const shape = keepdims ? kept : x.shape.filter((_, i) => !reduced[i]);
  return { shape, data: lanes.map(fn) };
}

// ---------------------------------------------------------------- assertions

/** |a − b| ≤ atol + rtol·|b| elementwise, with equal shapes; NaN equals NaN and ±∞ must match exactly. */
export function assertClose(actual: Tensor, expected: { shape: readonly number[]; data: ArrayLike<number> }, rtol = 1e-12, atol = 1e-12, what = ''): void {
  assert.equal([...actual.shape], [...expected.shape], `${what} shape`);
  assert.is(actual.size, expected.data.length, `${what} size`);
  for (let i = 0; i < actual.size; i++) {
    const a = actual.data[i];
    const b = expected.data[i];
    if (Number.isNaN(b) || !Number.isFinite(b)) {
      assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what} element ${i}: got ${a}, expected ${b}`);
      continue;
    }
    assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what} element ${i}: got ${a}, expected ${b}`);
  }
}

/** Like assertClose for plain numbers. */
export function assertNear(actual: number, expected: number, tol = 1e-12, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
}

/**
 * A non-differentiable op: the gradient reaching it throws a TypeError that
 * names it and suggests stopGradient; with its input cut by stopGradient, or
 * when no gradient reaches it, differentiation goes through.
 */
export function assertNondifferentiable(name: string, op: (x: Tensor) => Tensor, x: Tensor): void {
  assert.throws(
    () => grad((t: Tensor) => sum(op(t)))(x),
    (e: unknown) => e instanceof TypeError && e.message.startsWith(`${name} is not differentiable`) && e.message.includes('stopGradient()'),
    `${name}: a gradient reaching it must throw`,
  );
  // Cut by stopGradient: the op's result is a constant, so d/dt Σ t·c = c with c = Σ op(x).
  const g = grad((t: Tensor) => sum(mul(t, sum(op(stopGradient(t))))))(x);
  assert.equal([...g.shape], [...x.shape]);
  const c = sum(op(x)).item();
  assert.ok(g.data.every((v) => v === c), `${name}: its stopGradient'ed result must act as a constant`);
  // Recorded but never reached by a gradient: no throw.
  const h = grad((t: Tensor) => {
    op(t);
    return sum(t);
  })(x);
  assert.ok(h.data.every((v) => v === 1), `${name}: an unused result must not block the gradient`);
}
