// Elementwise ops of two tensors, with NumPy broadcasting. Each VJP is given
// at the output's shape; binaryOp folds it back over broadcast axes with the
// one sumToShape (shape.ts), so broadcasting bugs live in one place.

import { Tensor, allocToFill, broadcastShapes, sizeOf } from '../tensor.ts';
import { isRecording, record, stopGradient } from '../tape.ts';
import { binaryOp, broadcastCopy, toTensor } from './define.ts';
import { neg, log } from './unary.ts';
import { sumToShape } from './shape.ts';

// ---------------------------------------------------------------- arithmetic

export const add = binaryOp({
  name: 'add',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i]; },
  kernel: 'add',
  vjp: [(g) => g, (g) => g],
});

export const sub = binaryOp({
  name: 'sub',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] - b[i]; },
  kernel: 'sub',
  vjp: [(g) => g, (g) => neg(g)],
});

export const mul = binaryOp({
  name: 'mul',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i]; },
  kernel: 'mul',
  vjp: [(g, _out, _a, b) => mul(g, b), (g, _out, a) => mul(g, a)],
});

export const div = binaryOp({
  name: 'div',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] / b[i]; },
  kernel: 'div',
  // d(a/b) = da / b − (a/b) db / b: the second term reuses the output.
  vjp: [(g, _out, _a, b) => div(g, b), (g, out, _a, b) => neg(mul(g, div(out, b)))],
});

// d(aᵇ) = b aᵇ⁻¹ da + aᵇ log(a) db. At a = 0 the db term is taken as 0
// (the limit for b > 0), so a constant exponent of a zero base is harmless.
export const pow = binaryOp({
  name: 'pow',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = Math.pow(a[i], b[i]); },
  vjp: [
    (g, _out, a, b) => mul(g, mul(b, pow(a, sub(b, 1)))),
    (g, out, a) => mul(g, mul(out, log(where(equal(stopGradient(a), 0), 1, a)))),
  ],
});

// At a tie the gradient is split evenly between the two inputs.
export const maximum = binaryOp({
  name: 'maximum',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] > b[i] || a[i] !== a[i] ? a[i] : b[i]; },
  vjp: [(g, _out, a, b) => mul(g, winMask(a, b)), (g, _out, a, b) => mul(g, winMask(b, a))],
});

export const minimum = binaryOp({
  name: 'minimum',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] < b[i] || a[i] !== a[i] ? a[i] : b[i]; },
  vjp: [(g, _out, a, b) => mul(g, winMask(b, a)), (g, _out, a, b) => mul(g, winMask(a, b))],
});

/** 1 where a > b, ½ where a = b, 0 elsewhere: a constant. */
function winMask(a: Tensor, b: Tensor): Tensor {
  const as = stopGradient(a);
  const bs = stopGradient(b);
  return add(greater(as, bs), mul(equal(as, bs), 0.5));
}

// ---------------------------------------------------------------- comparisons (no derivative)
// 1 where the relation holds, 0 elsewhere.

export const greater = binaryOp({
  name: 'greater',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] > b[i] ? 1 : 0; },
});

export const greaterEqual = binaryOp({
  name: 'greaterEqual',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] >= b[i] ? 1 : 0; },
});

export const less = binaryOp({
  name: 'less',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] < b[i] ? 1 : 0; },
});

export const lessEqual = binaryOp({
  name: 'lessEqual',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] <= b[i] ? 1 : 0; },
});

export const equal = binaryOp({
  name: 'equal',
  same: (a, b, out) => { for (let i = 0; i < out.length; i++) out[i] = a[i] === b[i] ? 1 : 0; },
});

// ---------------------------------------------------------------- selection

/**
 * Picks `a` where `mask` is non-zero and `b` elsewhere, broadcasting all
 * three. The mask gets no gradient; a and b get the cotangent where chosen.
 */
export function where(mask: Tensor, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const m = toTensor('where', mask);
  const a = toTensor('where', aIn);
  const b = toTensor('where', bIn);
  const shape = broadcastShapes('where', broadcastShapes('where', m.shape, a.shape), b.shape);
  const n = sizeOf(shape);
  const M = m.data.length === n ? m.data : broadcastCopy(m, shape);
  const A = a.data.length === n ? a.data : broadcastCopy(a, shape);
  const B = b.data.length === n ? b.data : broadcastCopy(b, shape);
  const data = allocToFill(n);
  for (let i = 0; i < n; i++) data[i] = M[i] !== 0 ? A[i] : B[i];
  const out = new Tensor(data, shape);
  if (!isRecording()) return out;
  const constMask = stopGradient(m);
  return record('where', [m, a, b], out, (g, needs) => [
    null,
    needs[1] ? sumToShape(where(constMask, g, 0), a.shape) : null,
    needs[2] ? sumToShape(where(constMask, 0, g), b.shape) : null,
  ]);
}
