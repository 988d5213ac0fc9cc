// The engine's public surface.
export { Tensor, tensor, scalar, zeros, ones, full, zerosLike, onesLike, arange, eye, sizeOf, formatShape, broadcastShapes } from './tensor.ts';
export type { Shape, NestedArray } from './tensor.ts';
export { stopGradient, isRecording } from './tape.ts';
export { grad, valueAndGrad, vjp } from './transforms.ts';
export type { GradOptions } from './transforms.ts';
export { mapTree, leaves, zipTrees } from './tree.ts';
export type { Tree } from './tree.ts';
export { neg, square, sqrt, abs, exp, log, log1p, expm1, sin, cos, tanh, sigmoid, softplus, logSigmoid, relu, clamp, floor, sign } from './ops/unary.ts';
export { add, sub, mul, div, pow, maximum, minimum, greater, greaterEqual, less, lessEqual, equal, where } from './ops/binary.ts';
export { sum, mean, max, min, logsumexp, softmax, logSoftmax, argmax } from './ops/reduce.ts';
export type { Axis } from './ops/reduce.ts';
export { reshape, expandDims, squeeze, broadcastTo, sumToShape, slice, pad, concat, stack, gather, scatterAdd, take, oneHot } from './ops/shape.ts';
export { matmul, linear, transpose, outer, dot } from './ops/linalg.ts';
export { inverse, solve, slogdet, logdet, det, type Slogdet } from './ops/decompositions.ts';
