// Reductions over all elements or over chosen axes (with keepdims), and the
// softmax family along one axis.
//
// logsumexp, softmax and logSoftmax subtract the maximum of each lane before
// exponentiating: exp never sees a positive argument, so inputs of ±1000 stay
// finite (the max-shift trick).

import { Tensor, alloc, allocToFill, formatShape, normalizeAxis, shapesEqual, sizeOf, trailingAxes, type Shape } from '../tensor.ts';
import { isRecording, record, recordNondifferentiable, stopGradient } from '../tape.ts';
import { checkTensor, broadcastStrides, toTensor } from './define.ts';
import { mul, div, sub, equal } from './binary.ts';
import { neg, expKnown } from './unary.ts';
import { expKernel, logKernel } from './kernels.ts';
import { reshape, broadcastTo, sumToShape } from './shape.ts';
import { arenaSumRows, ARENA_MIN_LENGTH } from './simd.ts';

export type Axis = number | readonly number[];

/** Which axes an `axis` argument reduces (all of them when undefined). */
function reducedAxes(op: string, shape: Shape, axis: Axis | undefined): boolean[] {
  const rank = shape.length;
  const reduced = new Array<boolean>(rank);
  for (let i = 0; i < rank; i++) reduced[i] = axis === undefined;
  if (axis === undefined) return reduced;
  if (typeof axis === 'number') {
    reduced[normalizeAxis(op, axis, rank)] = true;
    return reduced;
  }
  for (const a of axis) {
    const k = normalizeAxis(op, a, rank);
    if (reduced[k]) throw new RangeError(`${op}: axis ${a} is repeated in [${axis.join(',')}]`);
    reduced[k] = true;
  }
  return reduced;
}

function keptShape(shape: Shape, reduced: readonly boolean[]): number[] {
  return shape.map((d, i) => (reduced[i] ? 1 : d));
}

function droppedShape(shape: Shape, reduced: readonly boolean[]): number[] {
  return shape.filter((_, i) => !reduced[i]);
}

/** Expands a reduced cotangent back to the input's shape. */
function expandBack(g: Tensor, shape: Shape, reduced: readonly boolean[]): Tensor {
  return broadcastTo(reshape(g, keptShape(shape, reduced)), shape);
}

// Walks x in row-major order; the output offset moves with an odometer in
// which reduced axes have stride 0. The inner loop runs along the last axis.
function reduceKernel(x: Tensor, reduced: readonly boolean[], mode: 'sum' | 'max' | 'min'): Float64Array {
  const shape = x.shape;
  const kept = keptShape(shape, reduced);
  const X = x.data;
  const init = mode === 'sum' ? 0 : mode === 'max' ? -Infinity : Infinity;
  const out = allocToFill(sizeOf(kept)).fill(init);
  if (X.length === 0) return out;
  if (out.length === 1) {
    let acc = init;
    if (mode === 'sum') for (let i = 0; i < X.length; i++) acc += X[i];
    else if (mode === 'max') for (let i = 0; i < X.length; i++) { const v = X[i]; if (v > acc || v !== v) acc = v; }
    else for (let i = 0; i < X.length; i++) { const v = X[i]; if (v < acc || v !== v) acc = v; }
    out[0] = acc;
    return out;
  }
  if (out.length === X.length) {
    out.set(X); // every reduced axis has length 1: nothing to combine
    return out;
  }
  const rank = shape.length;
  let suffix = rank; // the reduced axes are exactly shape[suffix:]: contiguous lanes
  while (suffix > 0 && reduced[suffix - 1]) suffix--;
  if (mode === 'sum' && suffix < rank && !reduced.slice(0, suffix).some((r) => r)) {
    rowSums(X, null, 0, out.length, X.length / out.length, out); // each lane from 0 in order, four side by side
    return out;
  }
  let prefix = 0; // the reduced axes are exactly shape[:prefix]: rows added into one
  while (prefix < rank && reduced[prefix]) prefix++;
  if (mode === 'sum' && prefix > 0 && !reduced.slice(prefix).some((r) => r)) {
    // Four rows per pass over out, added one after another (the same order), so that
    // each out[j] is loaded and stored once for four additions.
    const width = out.length;
    if (X.length >= ARENA_MIN_LENGTH && arenaSumRows(X, out, X.length / width, width)) return out; // the same sums, in WebAssembly
    let at = 0;
    for (; at + 4 * width <= X.length; at += 4 * width) {
      const b = at + width, c = b + width, d = c + width;
      for (let j = 0; j < width; j++) out[j] = out[j] + X[at + j] + X[b + j] + X[c + j] + X[d + j];
    }
    for (; at < X.length; at += width) {
      for (let j = 0; j < width; j++) out[j] += X[at + j];
    }
    return out;
  }
  const so = broadcastStrides(kept, shape);
  const inner = shape[rank - 1];
  const io = so[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let off = 0;
  for (let o = 0; o < X.length; o += inner) {
    if (mode === 'sum') {
      if (io === 0) {
        let acc = out[off];
        for (let j = 0; j < inner; j++) acc += X[o + j];
        out[off] = acc;
      } else {
        for (let j = 0; j < inner; j++) out[off + j] += X[o + j];
      }
    } else {
      const isMax = mode === 'max';
      for (let j = 0; j < inner; j++) {
        const v = X[o + j];
        const k = off + j * io;
        const m = out[k];
        if (v !== v || (isMax ? v > m : v < m)) out[k] = v;
      }
    }
    for (let ax = rank - 2; ax >= 0; ax--) {
      index[ax]++;
      off += so[ax];
      if (index[ax] < shape[ax]) break;
      off -= so[ax] * shape[ax];
      index[ax] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------- sum, mean, max, min

/** Sum over all elements, or over `axis` (a number or a list), keeping reduced axes as 1 with `keepdims`. */
export function sum(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  checkTensor('sum', x);
  const reduced = reducedAxes('sum', x.shape, axis);
  const shape = keepdims ? keptShape(x.shape, reduced) : droppedShape(x.shape, reduced);
  // Over axes of length 1 only (one sample's [1, D] to [D], an event of one
  // Bernoulli [n, 1] to [n], a single element to a scalar), the sum is a reshape:
  // no pass, no buffer, and a reshape for its VJP instead of a broadcast.
  let onlyOnes = true;
  for (let i = 0; i < reduced.length && onlyOnes; i++) onlyOnes = !reduced[i] || x.shape[i] === 1;
  if (onlyOnes) return reshape(x, shape);
  const data = reduceKernel(x, reduced, 'sum');
  const out = new Tensor(data, shape);
  if (!isRecording()) return out;
  return record('sum', [x], out, (g) => [expandBack(g, x.shape, reduced)]);
}

export function mean(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  checkTensor('mean', x);
  const reduced = reducedAxes('mean', x.shape, axis);
  let count = 1;
  for (let i = 0; i < reduced.length; i++) if (reduced[i]) count *= x.shape[i];
  const total = sum(x, axis, keepdims);
  return count === 1 ? total : div(total, count); // the mean of one element is that element: x / 1 = x exactly
}

function extremum(mode: 'max' | 'min', x: Tensor, axis: Axis | undefined, keepdims: boolean): Tensor {
  checkTensor(mode, x);
  const reduced = reducedAxes(mode, x.shape, axis);
  if (x.size === 0) throw new RangeError(`${mode}: cannot reduce an empty tensor of shape ${formatShape(x.shape)}`);
  const data = reduceKernel(x, reduced, mode);
  const kept = keptShape(x.shape, reduced);
  const out = new Tensor(data, keepdims ? kept : droppedShape(x.shape, reduced));
  if (!isRecording()) return out;
  // The cotangent goes to the arg-extrema, split evenly between ties.
  return record(mode, [x], out, (g) => {
    const hit = equal(stopGradient(x), new Tensor(data, kept));
    const count = sum(hit, axis, true);
    return [mul(expandBack(g, x.shape, reduced), div(hit, count))];
  });
}

/** Largest element over all elements or along `axis`; ties share the gradient evenly. */
export function max(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  return extremum('max', x, axis, keepdims);
}

/** Smallest element over all elements or along `axis`; ties share the gradient evenly. */
export function min(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  return extremum('min', x, axis, keepdims);
}

// ---------------------------------------------------------------- the softmax family
// A tensor seen along one axis is [outer, n, inner]: element (o, k, i) sits at
// o·n·inner + k·inner + i. Each (o, i) is one lane of n values.

interface Lanes {
  outer: number;
  n: number;
  inner: number;
  axis: number;
}

function lanesOf(op: string, x: Tensor, axis: number): Lanes {
  const k = normalizeAxis(op, axis, x.rank);
  return { outer: sizeOf(x.shape.slice(0, k)), n: x.shape[k], inner: sizeOf(x.shape.slice(k + 1)), axis: k };
}

/** log Σ exp along each lane, max-shifted. */
function lseKernel(X: Float64Array, { outer, n, inner }: Lanes): Float64Array {
  const out = alloc(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) {
        const v = X[base + k * inner];
        if (v > m || v !== v) m = v;
      }
      if (!Number.isFinite(m)) {
        out[o * inner + i] = m; // all −∞ gives −∞; any +∞ or NaN wins
        continue;
      }
      let s = 0;
      for (let k = 0; k < n; k++) s += expKernel(X[base + k * inner] - m);
      out[o * inner + i] = m + logKernel(s);
    }
  }
  return out;
}

function lanesShape(shape: Shape, axis: number, keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

/**
 * log Σ exp(x) along `axis` (over all elements when undefined). Stable for
 * inputs of any magnitude. Its derivative is softmax.
 */
export function logsumexp(x: Tensor, axis?: number, keepdims = false): Tensor {
  checkTensor('logsumexp', x);
  if (axis === undefined) {
    const flat = logsumexp(reshape(x, [x.size]), 0);
    return keepdims ? reshape(flat, x.shape.map(() => 1)) : flat;
  }
  const lanes = lanesOf('logsumexp', x, axis);
  const out = new Tensor(lseKernel(x.data, lanes), lanesShape(x.shape, lanes.axis, keepdims));
  if (!isRecording()) return out;
  const kept = lanesShape(x.shape, lanes.axis, true);
  return record('logsumexp', [x], out, (g) => [mul(broadcastTo(reshape(g, kept), x.shape), softmax(x, lanes.axis))]);
}

/** exp(x − logsumexp(x)) along `axis` (default: the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkTensor('softmax', x);
  const lanes = lanesOf('softmax', x, axis);
  const { outer, n, inner } = lanes;
  const X = x.data;
  const data = allocToFill(X.length);
  // Per lane: the maximum m, then e = exp(x − m) kept and summed, then e / Σe:
  // one exp per element, and no rounding of a logsumexp in between.
  for (let o = 0; o < outer; o++) {
    if (repeatsLane(X, data, o, n, inner)) continue;
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) {
        const v = X[base + k * inner];
        if (v > m || v !== v) m = v;
      }
      let total = 0;
      for (let k = 0; k < n; k++) {
        const e = expKernel(X[base + k * inner] - m); // all −∞ or any +∞/NaN give NaN, as 0/0 should
        data[base + k * inner] = e;
        total += e;
      }
      const scale = 1 / total;
      for (let k = 0; k < n; k++) data[base + k * inner] *= scale;
    }
  }
  const out = new Tensor(data, x.shape);
  if (!isRecording()) return out;
  // d softmax: out ⊙ (g − Σ g ⊙ out), the sum along the axis; one pass when
  // no transform records the backward pass (see softmaxVjpKernel).
  return record('softmax', [x], out, (g) => [
    isRecording() ? mul(out, sub(g, sum(mul(g, out), lanes.axis, true))) : softmaxVjpKernel(g, out.data, lanes, 'softmax'),
  ]);
}

/**
 * @internal softmax(z / λ) along the last axis for a scalar temperature λ,
 * as one op: the categorical relaxation σ_λ of Gumbel-softmax, REBAR and
 * RELAX (Jang et al. 2017; Maddison et al. 2017). Its value equals
 * softmax(div(z, λ)) bit for bit (each z_k / λ is formed as div forms it);
 * its derivatives equal theirs to rounding. The division is done inside the
 * softmax's own passes, and the first-order backward pass divides by λ in
 * the softmax VJP's pass: two passes over z and two buffers fewer.
 */
export function temperedSoftmax(z: Tensor, temperatureIn: Tensor | number): Tensor {
  checkTensor('temperedSoftmax', z);
  const temperature = toTensor('temperedSoftmax', temperatureIn); // a number becomes a scalar tensor
  const lam = temperature.data[0];
  // The shapes div would broadcast to, or a temperature that is not positive and finite
  // (the passes below take the row's maximum before dividing, which needs 0 < λ < ∞).
  if (temperature.rank !== 0 || z.rank === 0 || !(lam > 0 && lam < Infinity)) return softmax(div(z, temperature), -1);
  const n = z.shape[z.rank - 1];
  const X = z.data;
  const data = allocToFill(X.length);
  const rows = n === 0 ? 0 : X.length / n;
  for (let r = 0; r < rows; ) {
    const from = r * n;
    if (r > 0 && sameRow(X, from, n)) {
      data.copyWithin(from, from - n, from); // a tiled row: the row before's result
      r++;
    } else if (r + 4 <= rows && !sameRow(X, from + n, n) && !sameRow(X, from + 2 * n, n) && !sameRow(X, from + 3 * n, n)) {
      temperedFourRows(X, data, from, n, lam);
      r += 4;
    } else {
      temperedRow(X, data, from, n, lam);
      r++;
    }
  }
  const out = new Tensor(data, z.shape);
  if (!isRecording()) return out;
  return record('temperedSoftmax', [z, temperature], out, (g, needs) => {
    if (isRecording()) {
      // Recorded: dz as one op, and ∂/∂λ = −Σ z ⊙ dz / λ (the softmax sees z/λ only).
      const dz = softmaxGradient(g, out, temperature);
      return [needs[0] ? dz : null, needs[1] ? reshape(neg(div(sum(mul(dz, z)), temperature)), temperature.shape) : null];
    }
    // dz = y ⊙ (g − Σ g ⊙ y) / λ row by row (needed for ∂/∂λ too), then ∂/∂λ = −Σ dz ⊙ z / λ.
    const G = g.data;
    const dz = allocToFill(G.length);
    softmaxVjpRows(G, data, dz, n === 0 ? 0 : G.length / n, n, false, lam);
    if (!needs[1]) return [new Tensor(dz, z.shape), null];
    // 0 − x, not −x: +0 where every term is 0, as the two-op form's sum of negated terms gives.
    const dLam = new Tensor(Float64Array.of(0 - dotFour(dz, X) / lam), temperature.shape);
    return [needs[0] ? new Tensor(dz, z.shape) : null, dLam];
  });
}

// The rows of temperedSoftmax, for 0 < λ < ∞. The row's largest z_k / λ is
// (its largest z_k) / λ: dividing by such a λ and rounding both keep the
// order (and NaN stays NaN), so the maximum takes one division and each
// z_k / λ is formed once, inside its exponential, with the bits of div's.
function temperedRow(X: Float64Array, out: Float64Array, from: number, n: number, lam: number): void {
  let top = -Infinity;
  for (let k = from; k < from + n; k++) {
    const v = X[k];
    if (v > top || v !== v) top = v;
  }
  const m = top / lam;
  let total = 0;
  for (let k = from; k < from + n; k++) {
    const e = expKernel(X[k] / lam - m);
    out[k] = e;
    total += e;
  }
  const scale = 1 / total;
  for (let k = from; k < from + n; k++) out[k] *= scale;
}

// Four rows at once, each as temperedRow takes it: a row's maximum and its
// sum are chains in which each step waits on the one before, and four
// independent chains keep the processor busy where one leaves it waiting.
function temperedFourRows(X: Float64Array, out: Float64Array, from: number, n: number, lam: number): void {
  const a = from, b = a + n, c = b + n, d = c + n;
  let ta = -Infinity, tb = -Infinity, tc = -Infinity, td = -Infinity;
  for (let k = 0; k < n; k++) {
    const va = X[a + k], vb = X[b + k], vc = X[c + k], vd = X[d + k];
    if (va > ta || va !== va) ta = va;
    if (vb > tb || vb !== vb) tb = vb;
    if (vc > tc || vc !== vc) tc = vc;
    if (vd > td || vd !== vd) td = vd;
  }
  const ma = ta / lam, mb = tb / lam, mc = tc / lam, md = td / lam;
  let sa = 0, sb = 0, sc = 0, sd = 0;
  for (let k = 0; k < n; k++) {
    const ea = expKernel(X[a + k] / lam - ma), eb = expKernel(X[b + k] / lam - mb);
    const ec = expKernel(X[c + k] / lam - mc), ed = expKernel(X[d + k] / lam - md);
    out[a + k] = ea;
    out[b + k] = eb;
    out[c + k] = ec;
    out[d + k] = ed;
    sa += ea;
    sb += eb;
    sc += ec;
    sd += ed;
  }
  const qa = 1 / sa, qb = 1 / sb, qc = 1 / sc, qd = 1 / sd;
  for (let k = 0; k < n; k++) {
    out[a + k] *= qa;
    out[b + k] *= qb;
    out[c + k] *= qc;
    out[d + k] *= qd;
  }
}

/**
 * @internal Σ (x − t)² over every axis of x but the first, as one op: x is
 * [n, ...E], t's shape is E's trailing axes (it repeats over the others),
 * the result is [n]. The problem files' quadratic (lib/functions.ts
 * quadraticFunction). Its value equals sum(square(sub(x, t)), those axes) bit
 * for bit (the same differences and products, added in the same order from
 * 0), and so does its first-order backward pass, ∂/∂x = 2(x − t)·g and
 * ∂/∂t = −Σ_rows 2(x − t)·g, which takes one pass where the three ops take
 * four and three buffers. Recorded, ∂/∂x is squaredDistanceGradient (one op
 * with its own derivatives) and ∂/∂t its negation summed over the repeats.
 */
export function squaredDistance(x: Tensor, t: Tensor): Tensor {
  checkTensor('squaredDistance', x);
  checkTensor('squaredDistance', t, 'target');
  if (!endsInTarget(x, t)) {
    throw new RangeError(`squaredDistance: samples of shape ${formatShape(x.shape)} do not end in the target's shape ${formatShape(t.shape)} after a leading axis`);
  }
  const n = x.shape[0];
  const X = x.data;
  const T = t.data;
  const period = T.length;
  const row = n === 0 ? 0 : X.length / n; // a whole number of periods
  const data = allocToFill(n);
  // Four rows at a time: each row's sum is a chain of additions, each waiting
  // on the one before, and four independent chains keep the processor busy
  // where one leaves it idle. Every row is still summed in its own order.
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a0 = i * row, a1 = a0 + row, a2 = a1 + row, a3 = a2 + row;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let q = 0, k = 0; q < row; q++, k = k + 1 === period ? 0 : k + 1) {
      const tk = T[k];
      const d0 = X[a0 + q] - tk, d1 = X[a1 + q] - tk, d2 = X[a2 + q] - tk, d3 = X[a3 + q] - tk;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    data[i] = s0;
    data[i + 1] = s1;
    data[i + 2] = s2;
    data[i + 3] = s3;
  }
  for (let at = i * row; i < n; i++) {
    let acc = 0;
    for (let r = 0; r < row; r += period) {
      for (let k = 0; k < period; k++, at++) {
        const d = X[at] - T[k];
        acc += d * d;
      }
    }
    data[i] = acc;
  }
  const out = new Tensor(data, [n]);
  if (!isRecording()) return out;
  return record('squaredDistance', [x, t], out, (g, needs) => {
    if (isRecording()) {
      // Recorded: ∂/∂x as one op, ∂/∂t = −(∂/∂x) summed over the repeats.
      const gd = squaredDistanceGradient(g, x, t);
      return [needs[0] ? gd : null, needs[1] ? sumToShape(neg(gd), t.shape) : null];
    }
    const G = g.data;
    const dx = needs[0] ? allocToFill(X.length) : null;
    const dt = needs[1] ? alloc(period) : null;
    if (dt === null && dx !== null) {
      // The usual case, a constant target: one store per element and no test in the loop.
      for (let i = 0, at = 0; i < n; i++) {
        const gi = G[i];
        for (let r = 0; r < row; r += period) {
          for (let k = 0; k < period; k++, at++) dx[at] = gi * ((X[at] - T[k]) * 2);
        }
      }
    } else {
      for (let i = 0, at = 0; i < n; i++) {
        const gi = G[i];
        for (let r = 0; r < row; r += period) {
          for (let k = 0; k < period; k++, at++) {
            const v = gi * ((X[at] - T[k]) * 2);
            if (dx !== null) dx[at] = v;
            if (dt !== null) dt[k] -= v;
          }
        }
      }
    }
    return [dx === null ? null : new Tensor(dx, x.shape), dt === null ? null : new Tensor(dt, t.shape)];
  });
}

/**
 * @internal The VJP of temperedSoftmax in z as one op, along the last axis,
 * for a scalar λ:
 *   dz = y ⊙ (g − Σ g ⊙ y) / λ,   y = softmax(z / λ)
 * The recorded backward passes of the categorical relaxations take it, so a
 * gradient of their gradient (REBAR's and RELAX's variance gradient) goes
 * through one node where the ops took seven. With h the cotangent of dz and
 * c = h / λ, its derivatives are
 *   ∂/∂g = y ⊙ (h − Σ h ⊙ y) / λ            (this op again, at h)
 *   ∂/∂y = c ⊙ (g − Σ g ⊙ y) − (Σ c ⊙ y) g
 *   ∂/∂λ = −Σ h ⊙ dz / λ                    (dz is proportional to 1/λ)
 * in one pass, or as ops when a transform records them.
 */
export function softmaxGradient(g: Tensor, y: Tensor, temperature: Tensor): Tensor {
  checkTensor('softmaxGradient', g);
  checkTensor('softmaxGradient', y);
  checkTensor('softmaxGradient', temperature, 'temperature');
  if (!shapesEqual(g.shape, y.shape) || g.rank === 0 || temperature.rank !== 0) {
    throw new RangeError(`softmaxGradient: g ${formatShape(g.shape)} and y ${formatShape(y.shape)} must have one shape of rank ≥ 1, and λ ${formatShape(temperature.shape)} be a scalar`);
  }
  const lam = temperature.data[0];
  const n = g.shape[g.rank - 1];
  const G = g.data;
  const Y = y.data;
  const rows = n === 0 ? 0 : G.length / n;
  const totals = allocToFill(rows); // Σ g ⊙ y per row, kept for the backward pass
  const data = allocToFill(G.length);
  softmaxVjpRows(G, Y, data, rows, n, false, lam, totals);
  const out = new Tensor(data, g.shape);
  if (!isRecording()) return out;
  return record('softmaxGradient', [g, y, temperature], out, (h, needs) => {
    if (isRecording()) {
      const c = div(h, temperature);
      return [
        needs[0] ? softmaxGradient(h, y, temperature) : null,
        needs[1] ? sub(mul(c, sub(g, sum(mul(g, y), -1, true))), mul(sum(mul(c, y), -1, true), g)) : null,
        needs[2] ? reshape(neg(div(sum(mul(h, out)), temperature)), temperature.shape) : null,
      ];
    }
    // Multiplied by 1/λ rather than divided by λ (three divisions per element
    // would be most of the pass): equal to the forms above to rounding.
    const H = h.data;
    const inv = 1 / lam;
    const dg = needs[0] ? allocToFill(G.length) : null;
    const dy = needs[1] ? allocToFill(G.length) : null;
    // Σ h ⊙ y per row, four rows at a time (chains of additions side by side), then one pass.
    const hy = allocToFill(rows);
    rowSums(H, Y, 0, rows, n, hy);
    for (let r = 0, from = 0; r < rows; r++, from += n) {
      const hyr = hy[r];
      const total = totals[r];
      for (let k = from; k < from + n; k++) {
        const hk = H[k];
        if (dg !== null) dg[k] = Y[k] * (hk - hyr) * inv;
        if (dy !== null) dy[k] = (hk * (G[k] - total) - hyr * G[k]) * inv;
      }
    }
    return [
      dg === null ? null : new Tensor(dg, g.shape),
      dy === null ? null : new Tensor(dy, g.shape),
      needs[2] ? new Tensor(Float64Array.of(-dotFour(H, data) * inv), temperature.shape) : null, // Σ h ⊙ dz
    ];
  });
}

/**
 * @internal squaredDistance's VJP in x as one op: 2(x − t) ⊙ g, g [n] spread
 * over each row of x [n, ...E], t repeating along x as in squaredDistance.
 * Its recorded backward pass takes it, so a gradient of a gradient through
 * the quadratic goes through one node where the ops took four. With h the
 * cotangent (x's shape), its derivatives are
 *   ∂/∂g_i = Σ_j 2(x − t)_ij h_ij,   ∂/∂x = 2 g ⊙ h,   ∂/∂t = −Σ_rows 2 g ⊙ h
 * in one pass, or as ops when a transform records them. Its value equals
 * the ops' (sub, mul by 2, mul by the spread g) bit for bit.
 */
export function squaredDistanceGradient(g: Tensor, x: Tensor, t: Tensor): Tensor {
  checkTensor('squaredDistanceGradient', g);
  checkTensor('squaredDistanceGradient', x);
  checkTensor('squaredDistanceGradient', t, 'target');
  if (!endsInTarget(x, t) || g.rank !== 1 || g.shape[0] !== x.shape[0]) {
    throw new RangeError(`squaredDistanceGradient: g ${formatShape(g.shape)}, x ${formatShape(x.shape)} and t ${formatShape(t.shape)} do not fit: expected [n], [n, ..., ${t.shape.join(',')}] and [${t.shape.join(',')}]`);
  }
  const n = x.shape[0];
  const G = g.data;
  const X = x.data;
  const T = t.data;
  const period = T.length;
  const row = n === 0 ? 0 : X.length / n;
  const data = allocToFill(X.length);
  for (let i = 0, at = 0; i < n; i++) {
    const gi = G[i];
    for (let r = 0; r < row; r += period) {
      for (let k = 0; k < period; k++, at++) data[at] = gi * ((X[at] - T[k]) * 2);
    }
  }
  const out = new Tensor(data, x.shape);
  if (!isRecording()) return out;
  return record('squaredDistanceGradient', [g, x, t], out, (h, needs) => {
    if (isRecording()) {
      const kept = x.shape.map((d, i) => (i === 0 ? d : 1));
      const dx = mul(broadcastTo(reshape(g, kept), x.shape), mul(h, 2));
      return [
        needs[0] ? sum(mul(h, mul(sub(x, t), 2)), trailingAxes(x.rank)) : null,
        needs[1] ? dx : null,
        needs[2] ? sumToShape(neg(dx), t.shape) : null,
      ];
    }
    const H = h.data;
    const dg = needs[0] ? allocToFill(n) : null;
    const dx = needs[1] ? allocToFill(X.length) : null;
    const dt = needs[2] ? alloc(period) : null;
    for (let i = 0, at = 0; i < n; i++) {
      const gi = G[i];
      let acc = 0;
      for (let r = 0; r < row; r += period) {
        for (let k = 0; k < period; k++, at++) {
          const hk = H[at];
          acc += hk * ((X[at] - T[k]) * 2);
          const v = gi * (hk * 2);
          if (dx !== null) dx[at] = v;
          if (dt !== null) dt[k] -= v;
        }
      }
      if (dg !== null) dg[i] = acc;
    }
    return [
      dg === null ? null : new Tensor(dg, g.shape),
      dx === null ? null : new Tensor(dx, x.shape),
      dt === null ? null : new Tensor(dt, t.shape),
    ];
  });
}

/** True when x is [n, ...] ending in t's shape (t of rank ≥ 1): the layout squaredDistance takes. */
function endsInTarget(x: Tensor, t: Tensor): boolean {
  if (t.rank < 1 || x.rank <= t.rank) return false;
  for (let i = 0; i < t.rank; i++) if (x.shape[x.rank - t.rank + i] !== t.shape[i]) return false;
  return true;
}

/** True when the row of n starting at `from` equals the row before it (NaN never does). */
function sameRow(X: Float64Array, from: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (X[from + k] !== X[from - n + k]) return false;
  return true;
}

/** x − logsumexp(x) along `axis` (default: the last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkTensor('logSoftmax', x);
  const lanes = lanesOf('logSoftmax', x, axis);
  const { outer, n, inner } = lanes;
  const X = x.data;
  const data = allocToFill(X.length);
  // The VJP needs softmax = exp(out): when it may run, keep exp(x − m) / Σ
  // from this pass instead of taking every exponential again.
  const probabilities = isRecording() ? allocToFill(X.length) : null;
  // Per lane: (x − m) − log Σ exp(x − m), which keeps the largest entry's
  // result exact (−log Σ…) instead of rounding x − logsumexp(x).
  for (let o = 0; o < outer; o++) {
    if (repeatsLane(X, data, o, n, inner)) {
      if (probabilities !== null) probabilities.copyWithin(o * n, (o - 1) * n, o * n);
      continue;
    }
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) {
        const v = X[base + k * inner];
        if (v > m || v !== v) m = v;
      }
      if (!Number.isFinite(m)) {
        for (let k = 0; k < n; k++) data[base + k * inner] = X[base + k * inner] - m; // NaN, or −∞ − (−∞)
        if (probabilities !== null) for (let k = 0; k < n; k++) probabilities[base + k * inner] = Math.exp(data[base + k * inner]);
        continue;
      }
      let total = 0;
      for (let k = 0; k < n; k++) {
        const e = expKernel(X[base + k * inner] - m);
        if (probabilities !== null) probabilities[base + k * inner] = e;
        total += e;
      }
      const logTotal = logKernel(total);
      for (let k = 0; k < n; k++) data[base + k * inner] = X[base + k * inner] - m - logTotal;
      if (probabilities !== null) {
        const scale = 1 / total;
        for (let k = 0; k < n; k++) probabilities[base + k * inner] *= scale;
      }
    }
  }
  const out = new Tensor(data, x.shape);
  if (probabilities === null) return out;
  // d log softmax: g − softmax ⊙ Σ g, with softmax = exp(out) from the forward pass;
  // one pass when no transform records the backward pass.
  return record('logSoftmax', [x], out, (g) => [
    isRecording() ? sub(g, mul(expKnown(out, probabilities), sum(g, lanes.axis, true))) : softmaxVjpKernel(g, probabilities, lanes, 'logSoftmax'),
  ]);
}

/**
 * Lane o of a row-major last-axis layout (inner = 1, o > 0) equal to lane
 * o − 1 takes that lane's results: the parameters tiled into n samples by
 * estimateGradient repeat one row n times. Compares at most the n inputs
 * (a different lane usually differs in its first), against an exponential
 * per element. False for any other layout, and at the first lane.
 */
function repeatsLane(X: Float64Array, out: Float64Array, o: number, n: number, inner: number): boolean {
  if (inner !== 1 || o === 0) return false;
  const from = (o - 1) * n;
  const at = o * n;
  for (let k = 0; k < n; k++) if (X[at + k] !== X[from + k]) return false; // NaN ≠ NaN: a NaN lane is always recomputed
  out.copyWithin(at, from, at);
  return true;
}

/**
 * The first-order VJP of softmax and logSoftmax in one pass, as a constant
 * (no transform records it, so nothing differentiates it):
 *   softmax     dx = s ⊙ (g − Σ g ⊙ s)
 *   logSoftmax  dx = g − s ⊙ Σ g
 * with s the softmax, sums along each lane. The recorded form above, in
 * differentiable ops, gives the same values up to rounding.
 */
function softmaxVjpKernel(g: Tensor, s: Float64Array, { outer, n, inner }: Lanes, op: 'softmax' | 'logSoftmax'): Tensor {
  const G = g.data;
  const out = allocToFill(G.length);
  if (inner === 1) {
    softmaxVjpRows(G, s, out, outer, n, op === 'logSoftmax');
    return new Tensor(out, g.shape);
  }
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let total = 0;
      if (op === 'logSoftmax') for (let k = 0; k < n; k++) total += G[base + k * inner];
      else for (let k = 0; k < n; k++) total += G[base + k * inner] * s[base + k * inner];
      if (op === 'logSoftmax') for (let k = 0; k < n; k++) out[base + k * inner] = G[base + k * inner] - s[base + k * inner] * total;
      else for (let k = 0; k < n; k++) out[base + k * inner] = s[base + k * inner] * (G[base + k * inner] - total);
    }
  }
  return new Tensor(out, g.shape);
}

// Σ_k A[r, k]·B[r, k] for each row r of n from first to end (Σ_k A[r, k] when
// B is null), into sums, each row summed from 0 in order. Four rows at a
// time: a row's sum is a chain of additions each waiting on the one before,
// and four independent chains keep the processor busy where one leaves it
// waiting (at 10 or 100 per row, about twice as fast here).
function rowSums(A: Float64Array, B: Float64Array | null, first: number, end: number, n: number, sums: Float64Array): void {
  let r = first;
  for (; r + 4 <= end; r += 4) {
    const a = r * n, b = a + n, c = b + n, d = c + n;
    let sa = 0, sb = 0, sc = 0, sd = 0;
    if (B === null) {
      for (let k = 0; k < n; k++) {
        sa += A[a + k];
        sb += A[b + k];
        sc += A[c + k];
        sd += A[d + k];
      }
    } else {
      for (let k = 0; k < n; k++) {
        sa += A[a + k] * B[a + k];
        sb += A[b + k] * B[b + k];
        sc += A[c + k] * B[c + k];
        sd += A[d + k] * B[d + k];
      }
    }
    sums[r] = sa;
    sums[r + 1] = sb;
    sums[r + 2] = sc;
    sums[r + 3] = sd;
  }
  for (; r < end; r++) {
    const from = r * n;
    let total = 0;
    if (B === null) for (let k = from; k < from + n; k++) total += A[k];
    else for (let k = from; k < from + n; k++) total += A[k] * B[k];
    sums[r] = total;
  }
}

/**
 * Σ A_i B_i over two arrays of one length, in four running sums added at the
 * end: for the derivatives in a temperature, which need equal a sum in order
 * only to rounding, and which a single chain of additions through every
 * element would hold up.
 */
function dotFour(A: Float64Array, B: Float64Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= A.length; i += 4) {
    s0 += A[i] * B[i];
    s1 += A[i + 1] * B[i + 1];
    s2 += A[i + 2] * B[i + 2];
    s3 += A[i + 3] * B[i + 3];
  }
  for (; i < A.length; i++) s0 += A[i] * B[i];
  return s0 + s1 + (s2 + s3);
}

// softmaxVjpKernel along the last axis (rows of n): the same sums (rowSums)
// and values, four rows at a time where there are four. With a temperature
// λ, softmax's values are divided by it (temperedSoftmax's VJP in z;
// softmax's own λ = 1 leaves them as they are). Each row's sum goes to
// totals when one is given.
function softmaxVjpRows(
  G: Float64Array, S: Float64Array, out: Float64Array, rows: number, n: number, isLog: boolean, lam = 1, totals = allocToFill(rows),
): void {
  const B = isLog ? null : S;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    rowSums(G, B, r, r + 4, n, totals);
    const ta = totals[r], tb = totals[r + 1], tc = totals[r + 2], td = totals[r + 3];
    const a = r * n, b = a + n, c = b + n, d = c + n;
    if (isLog) {
      for (let k = 0; k < n; k++) {
        out[a + k] = G[a + k] - S[a + k] * ta;
        out[b + k] = G[b + k] - S[b + k] * tb;
        out[c + k] = G[c + k] - S[c + k] * tc;
        out[d + k] = G[d + k] - S[d + k] * td;
      }
    } else {
      for (let k = 0; k < n; k++) {
        out[a + k] = (S[a + k] * (G[a + k] - ta)) / lam;
        out[b + k] = (S[b + k] * (G[b + k] - tb)) / lam;
        out[c + k] = (S[c + k] * (G[c + k] - tc)) / lam;
        out[d + k] = (S[d + k] * (G[d + k] - td)) / lam;
      }
    }
  }
  rowSums(G, B, r, rows, n, totals);
  for (let from = r * n; r < rows; r++, from += n) {
    const total = totals[r];
    if (isLog) for (let k = from; k < from + n; k++) out[k] = G[k] - S[k] * total;
    else for (let k = from; k < from + n; k++) out[k] = (S[k] * (G[k] - total)) / lam;
  }
}

// ---------------------------------------------------------------- argmax (no derivative)

/** Index of the largest element along `axis` (first one at ties), as a tensor of integers. */
export function argmax(x: Tensor, axis = -1, keepdims = false): Tensor {
  checkTensor('argmax', x);
  if (x.rank === 0) throw new RangeError('argmax: needs a tensor of rank ≥ 1, got a scalar');
  const lanes = lanesOf('argmax', x, axis);
  const { outer, n, inner } = lanes;
  if (n === 0) throw new RangeError(`argmax: axis ${axis} of shape ${formatShape(x.shape)} is empty`);
  const X = x.data;
  const data = alloc(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let best = X[base];
      let at = 0;
      for (let k = 1; k < n; k++) {
        const v = X[base + k * inner];
        if (v > best || (v !== v && best === best)) {
          best = v;
          at = k;
        }
      }
      data[o * inner + i] = at;
    }
  }
  const out = new Tensor(data, lanesShape(x.shape, lanes.axis, keepdims));
  return isRecording() ? recordNondifferentiable('argmax', [x], out) : out;
}
