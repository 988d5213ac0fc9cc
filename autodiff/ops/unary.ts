// Elementwise ops of one tensor, read as a table: name, forward loop, VJP.
// Each VJP is written with differentiable ops, so every derivative can be
// differentiated again; where the derivative is a function of the output,
// the VJP reuses the output.

import { Tensor, allocToFill } from '../tensor.ts';
import { isRecording, record, stopGradient } from '../tape.ts';
import { unaryOp, maskOf, checkTensor } from './define.ts';
import { add, sub, mul, div } from './binary.ts';
import { expKernel, logKernel, tanhKernel, sigmoidKernel, softplusKernel } from './kernels.ts';
import { arenaBinary, arenaTernary, ARENA_MIN_LENGTH, type ElementwiseKernel } from './simd.ts';

// ---------------------------------------------------------------- arithmetic

export const neg = unaryOp({
  name: 'neg',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = -x[i]; },
  vjp: (g) => neg(g),
});

export const square = unaryOp({
  name: 'square',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = x[i] * x[i]; },
  vjp: (g, _out, x) => (isRecording() ? mul(g, mul(x, 2)) : firstOrder(g, x, squareSlope)), // d x² = 2x dx
});

export const sqrt = unaryOp({
  name: 'sqrt',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]); },
  vjp: (g, out) => div(g, mul(out, 2)), // d√x = dx / (2√x)
});

// abs has a kink at 0, where we take the subgradient 0 (sign(0) = 0).
export const abs = unaryOp({
  name: 'abs',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]); },
  vjp: (g, _out, x) => mul(g, maskSign(x)),
});

// ---------------------------------------------------------------- exponentials and logarithms

export const exp = unaryOp({
  name: 'exp',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = expKernel(x[i]); },
  vjp: (g, out) => mul(g, out), // d exp(x) = exp(x) dx
});

/**
 * exp(x) whose value the caller already has (logSoftmax keeps softmax from
 * its forward pass for its VJP): the same node as exp(x), without the pass.
 */
export function expKnown(x: Tensor, value: Float64Array): Tensor {
  const out = new Tensor(value, x.shape);
  if (!isRecording()) return out;
  return record('exp', [x], out, (g) => [mul(g, out)]);
}

// log(0) = −Infinity and log(x < 0) = NaN, as IEEE says.
export const log = unaryOp({
  name: 'log',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = logKernel(x[i]); },
  vjp: (g, _out, x) => div(g, x),
});

export const log1p = unaryOp({
  name: 'log1p',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.log1p(x[i]); },
  vjp: (g, _out, x) => div(g, add(x, 1)),
});

export const expm1 = unaryOp({
  name: 'expm1',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.expm1(x[i]); },
  vjp: (g, out) => mul(g, add(out, 1)), // d(eˣ − 1) = eˣ dx = (out + 1) dx
});

// ---------------------------------------------------------------- trigonometric and hyperbolic

export const sin = unaryOp({
  name: 'sin',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i]); },
  vjp: (g, _out, x) => mul(g, cos(x)),
});

export const cos = unaryOp({
  name: 'cos',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.cos(x[i]); },
  vjp: (g, _out, x) => neg(mul(g, sin(x))),
});

export const tanh = unaryOp({
  name: 'tanh',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = tanhKernel(x[i]); },
  vjp: (g, out) => tanhBackward(g, out), // d tanh = (1 − tanh²) dx
});

// ---------------------------------------------------------------- logistic family
// Written so that no intermediate overflows: exp is only ever taken of −|x|.

export const sigmoid = unaryOp({
  name: 'sigmoid',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = sigmoidKernel(x[i]); },
  vjp: (g, out) => sigmoidBackward(g, out), // dσ = σ(1 − σ) dx
});

// softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|)
export const softplus = unaryOp({
  name: 'softplus',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = softplusKernel(x[i]); },
  vjp: (g, _out, x) => (isRecording() ? mul(g, sigmoid(x)) : firstOrder(g, x, sigmoidAt)), // d softplus = σ(x) dx
});

// log σ(x) = −softplus(−x) = min(x, 0) − log1p(e^−|x|)
export const logSigmoid = unaryOp({
  name: 'logSigmoid',
  forward: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = Math.min(v, 0) - Math.log1p(expKernel(-Math.abs(v)));
    }
  },
  vjp: (g, _out, x) => (isRecording() ? mul(g, sigmoid(neg(x))) : firstOrder(g, x, sigmoidAtMinus)), // d log σ(x) = σ(−x) dx
});

// First-order VJPs in one pass: g ⊙ slope(y), y the op's output or input.
// When no transform records the backward pass, the recorded forms above
// (two or three ops, a buffer each) would only be thrown away after; these
// compute the same numbers in the same order, so the results are identical.
type Slope = (G: Float64Array, Y: Float64Array, out: Float64Array) => void;

function firstOrder(g: Tensor, y: Tensor, slope: Slope): Tensor {
  const out = allocToFill(g.data.length);
  slope(g.data, y.data, out);
  return new Tensor(out, g.shape);
}

// The VJPs of tanh and sigmoid at their output y as ops of their own, as
// PyTorch's tanh_backward and sigmoid_backward: one pass and one tape node
// where the same product written in ops (g ⊙ (1 − y²), three ops) takes
// three, and fewer again when a gradient of the gradient is taken. Each is
// linear in g, so its VJP in g is the op itself:
//   tanhBackward(g, y)    = g (1 − y²),   ∂/∂y = −2 g y
//   sigmoidBackward(g, y) = g y (1 − y),  ∂/∂y = g (1 − 2y)
// While a transform records the backward pass, its two cotangents are ops
// (the op itself at gg, and `curvatureOps`); else one pass of `both` writes
// them from one read of gg and y, with the same products in the same order.
// (Where g needs no cotangent, as when g is a constant in the Hessian of
// sum(tanh(x)), that pass still writes one and it is dropped: at 1e6
// elements, 42.3–42.6 ms against 42.8–43.7 ms before, nothing measurable.)
type Both = (GG: Float64Array, G: Float64Array, Y: Float64Array, dG: Float64Array, dY: Float64Array) => void;

function outputVjp(
  name: string, slope: Slope, both: Both, curvatureOps: (gg: Tensor, g: Tensor, y: Tensor) => Tensor,
  kernels: readonly [ElementwiseKernel, ElementwiseKernel],
): (g: Tensor, y: Tensor) => Tensor {
  // The same loops as WebAssembly kernels, for arrays in the arena (simd.ts).
  const [slopeKernel, bothKernel] = kernels;
  const op = (g: Tensor, y: Tensor): Tensor => {
    const out = allocToFill(g.data.length);
    if (out.length < ARENA_MIN_LENGTH || !arenaBinary(slopeKernel, g.data, y.data, out)) slope(g.data, y.data, out);
    const result = new Tensor(out, g.shape);
    if (!isRecording()) return result;
    return record(name, [g, y], result, (gg, needs) => {
      if (isRecording() || !needs[1]) return [needs[0] ? op(gg, y) : null, needs[1] ? curvatureOps(gg, g, y) : null];
      const dG = allocToFill(gg.data.length);
      const dY = allocToFill(gg.data.length);
      if (dG.length < ARENA_MIN_LENGTH || !arenaTernary(bothKernel, gg.data, g.data, y.data, dG, dY)) both(gg.data, g.data, y.data, dG, dY);
      return [needs[0] ? new Tensor(dG, gg.shape) : null, new Tensor(dY, gg.shape)];
    });
  };
  return op;
}

const tanhBackward = outputVjp(
  'tanhBackward',
  (G, Y, out) => { for (let i = 0; i < out.length; i++) out[i] = G[i] * (1 - Y[i] * Y[i]); },
  (GG, G, Y, dG, dY) => {
    for (let i = 0; i < dG.length; i++) {
      const gg = GG[i], y = Y[i];
      dG[i] = gg * (1 - y * y);
      dY[i] = gg * (G[i] * (y * -2));
    }
  },
  (gg, g, y) => mul(gg, mul(g, mul(y, -2))),
  ['tanhGrad', 'tanhGrad2'],
);

const sigmoidBackward = outputVjp(
  'sigmoidBackward',
  (G, Y, out) => { for (let i = 0; i < out.length; i++) out[i] = G[i] * (Y[i] * (1 - Y[i])); },
  (GG, G, Y, dG, dY) => {
    for (let i = 0; i < dG.length; i++) {
      const gg = GG[i], y = Y[i];
      dG[i] = gg * (y * (1 - y));
      dY[i] = gg * (G[i] * (1 - y * 2));
    }
  },
  (gg, g, y) => mul(gg, mul(g, sub(1, mul(y, 2)))),
  ['sigmoidGrad', 'sigmoidGrad2'],
);

const squareSlope: Slope = (G, X, out) => {
  for (let i = 0; i < out.length; i++) out[i] = G[i] * (X[i] * 2);
};

const sigmoidAt: Slope = (G, X, out) => {
  for (let i = 0; i < out.length; i++) out[i] = G[i] * sigmoidKernel(X[i]);
};

const sigmoidAtMinus: Slope = (G, X, out) => {
  for (let i = 0; i < out.length; i++) out[i] = G[i] * sigmoidKernel(-X[i]);
};

// relu has a kink at 0, where we take the subgradient 0.
export const relu = unaryOp({
  name: 'relu',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0; },
  vjp: (g, _out, x) => mul(g, maskOf(x, (v) => v > 0)),
});

/**
 * Clamps every element into [lo, hi]. The derivative is 1 inside the closed
 * interval and 0 outside it, as in PyTorch.
 */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  checkTensor('clamp', x);
  if (!(lo <= hi)) throw new RangeError(`clamp: lo (${lo}) must not exceed hi (${hi})`);
  const xs = x.data;
  const data = allocToFill(xs.length);
  for (let i = 0; i < xs.length; i++) data[i] = xs[i] < lo ? lo : xs[i] > hi ? hi : xs[i];
  const out = new Tensor(data, x.shape);
  if (!isRecording()) return out;
  return record('clamp', [x], out, (g) => [mul(g, maskOf(x, (v) => v >= lo && v <= hi))]);
}

// ---------------------------------------------------------------- no derivative
// These throw if a gradient reaches them (see recordNondifferentiable).

export const floor = unaryOp({
  name: 'floor',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.floor(x[i]); },
});

export const sign = unaryOp({
  name: 'sign',
  forward: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.sign(x[i]); },
});

/** sign(x) as a constant, for use inside a VJP. */
function maskSign(x: Tensor): Tensor {
  return sign(stopGradient(x));
}
