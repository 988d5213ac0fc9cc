// Test functions for gradient-estimation problems, as engine tensor functions
// f: [n, ...event] → [n], built from differentiable ops so that relaxation
// estimators can also call them on relaxed samples.
//
//   table on D Bernoullis:    f(z) = Σ_b v_b Π_j z_j^{b_j} (1 − z_j)^{1−b_j}   (multilinear extension)
//   table on one categorical: f(x) = x · v                                     (linear in the one-hot)
//   table on D categoricals:  f(x) = Σ_c v_c Π_j x_{j, c_j}                     (multilinear extension)
//   quadratic:                f(x) = Σ (x − t)²  over every event axis
//
// Outcome indices: for D Bernoullis, index i has bit j equal to b_j (b_0 is
// the least significant bit); for D categoricals of K classes, i = Σ_j c_j K^j
// (c_0 is the least significant digit). On hard samples each extension equals
// the table exactly, since every factor of the product is exactly 0 or 1.

import {
  Tensor,
  tensor,
  formatShape,
  sub,
  mul,
  reshape,
  slice,
  stack,
  matmul,
  type NestedArray,
} from '../autodiff/index.ts';
import { selfContainedFunction } from '../autodiff/tensor.ts';
import { squaredDistance } from '../autodiff/ops/reduce.ts';
import type { DiscreteFamily } from './exact.ts';

/** A function given by its values on every outcome, extended multilinearly to relaxed inputs. */
export interface TableFunction {
  (x: Tensor): Tensor;
  readonly kind: 'table';
  readonly family: DiscreteFamily;
  /** The table v, shape [N] with N the number of outcomes. */
  readonly values: Tensor;
  /** The shape of one sample: [D] for Bernoullis, [K] for a categorical, [D, K] for D categoricals. */
  readonly eventShape: readonly number[];
  readonly description: string;
}

/** f(x) = Σ (x − t)² over every event axis. */
export interface QuadraticFunction {
  (x: Tensor): Tensor;
  readonly kind: 'quadratic';
  /** The target t; its shape is the trailing part of the sample's event shape. */
  readonly target: Tensor;
  readonly description: string;
}

export type TestFunction = TableFunction | QuadraticFunction;

export interface TableOptions {
  /** The number of classes K of each categorical; required for 'categoricals'. */
  classes?: number;
}

/** Up to eight numbers, then an ellipsis: for one-line descriptions. */
export function formatNumbers(data: ArrayLike<number>, limit = 8): string {
  const shown: string[] = [];
  for (let i = 0; i < Math.min(data.length, limit); i++) shown.push(String(data[i]));
  return `[${shown.join(', ')}${data.length > limit ? `, … (${data.length} values)` : ''}]`;
}

function toVector(op: string, what: string, values: Tensor | ArrayLike<number>): Tensor {
  let t: Tensor;
  if (values instanceof Tensor) {
    t = values;
  } else if (values !== null && typeof values === 'object' && typeof (values as ArrayLike<number>).length === 'number') {
    const arr = Array.from(values as ArrayLike<unknown>);
    arr.forEach((v, i) => {
      if (typeof v !== 'number') throw new TypeError(`${op}: ${what}[${i}] must be a number, got ${typeof v}`);
    });
    t = tensor(arr as number[]);
  } else {
    throw new TypeError(`${op}: ${what} must be a Tensor or an array of numbers, got ${values === null ? 'null' : typeof values}`);
  }
  if (t.rank !== 1) throw new RangeError(`${op}: ${what} must be a vector, got shape ${formatShape(t.shape)}`);
  checkFinite(op, what, t.data);
  return t;
}

function checkFinite(op: string, what: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${op}: ${what}[${i}] is ${data[i]}; every entry must be a finite number`);
    }
  }
}

/** The exact integer D with base^D = n, or −1. */
function exactLog(n: number, base: number): number {
  let d = 0;
  let m = 1;
  while (m < n) {
    m *= base;
    d++;
  }
  return m === n ? d : -1;
}

/**
 * The [n, K^D] matrix of products Π_j x[:, j, c_j], column i = Σ_j c_j K^j,
 * built with D outer-product steps (each step puts the new digit c_j above the
 * ones already there, so c_0 ends up least significant).
 */
function multilinearWeights(factors: Tensor): Tensor {
  const [n, D, K] = factors.shape;
  let w = reshape(slice(factors, 1, 0, 1), [n, K]); // [n, K]
  let width = K;
  for (let j = 1; j < D; j++) {
    const xj = reshape(slice(factors, 1, j, j + 1), [n, K, 1]); // [n, K, 1]
    w = reshape(mul(xj, reshape(w, [n, 1, width])), [n, K * width]); // [n, K, K^j] → [n, K^(j+1)]
    width *= K;
  }
  return w;
}

function checkSamples(op: string, x: unknown, eventShape: readonly number[], label: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: the ${label} takes a Tensor of samples, got ${x === null ? 'null' : typeof x}`);
  let ok = x.rank === eventShape.length + 1;
  for (let i = 0; ok && i < eventShape.length; i++) ok = x.shape[i + 1] === eventShape[i];
  if (!ok) {
    throw new RangeError(
      `${op}: the ${label} expects samples of shape [n,${eventShape.join(',')}], got ${formatShape(x.shape)}`,
    );
  }
  return x;
}

/**
 * A function given as a table of values over the outcomes of `family`, as a
 * tensor function on hard or relaxed samples (see the file header for the
 * index order and the extensions):
 *  - 'bernoulli': values of length 2^D; samples [n, D] in [0, 1]^D.
 *  - 'categorical': values of length K; samples [n, K] on the simplex; f(x) = x · v.
 *  - 'categoricals': values of length K^D with `options.classes` = K; samples [n, D, K].
 * The result is differentiable in the samples (and in `values`, if it is
 * recorded). Throws RangeError for a length that fits no D, or a non-finite value.
 */
export function tableFunction(family: DiscreteFamily, values: Tensor | ArrayLike<number>, options: TableOptions = {}): TableFunction {
  const op = 'tableFunction';
  const v = toVector(op, 'values', values);
  const N = v.size;
  const column = reshape(v, [N, 1]);
  let eventShape: number[];
  let label: string;
  let evaluate: (x: Tensor) => Tensor;
  if (family === 'bernoulli') {
    const D = exactLog(N, 2);
    if (D < 1) throw new RangeError(`${op}: a Bernoulli table needs 2^D values (D ≥ 1), got ${N}; index i holds f at the outcome whose bit j is b_j`);
    eventShape = [D];
    label = `table on ${D} Bernoulli${D === 1 ? '' : 's'}`;
    evaluate = (z) => {
      const n = z.shape[0];
      const factors = stack([sub(1, z), z], 2); // [n, D, 2]: (1 − z_j, z_j)
      return reshape(matmul(multilinearWeights(factors), column), [n]);
    };
  } else if (family === 'categorical') {
    eventShape = [N];
    label = `table on a categorical of ${N} classes`;
    evaluate = (x) => reshape(matmul(x, column), [x.shape[0]]);
  } else if (family === 'categoricals') {
    const K = options.classes;
    if (K === undefined || !Number.isInteger(K) || K < 2) {
      throw new RangeError(`${op}: a table on D categoricals needs options.classes = K (an integer ≥ 2), got ${String(K)}`);
    }
    const D = exactLog(N, K);
    if (D < 1) throw new RangeError(`${op}: a table on categoricals of ${K} classes needs K^D values (D ≥ 1), got ${N}`);
    eventShape = [D, K];
    label = `table on ${D} categoricals of ${K} classes`;
    evaluate = (x) => reshape(matmul(multilinearWeights(x), column), [x.shape[0]]);
  } else {
    throw new RangeError(`${op}: unknown family ${JSON.stringify(family)}; expected 'bernoulli', 'categorical' or 'categoricals'`);
  }
  const f = selfContainedFunction((x: Tensor): Tensor => evaluate(checkSamples(op, x, eventShape, label)));
  return Object.assign(f, {
    kind: 'table' as const,
    family,
    values: v,
    eventShape,
    description: `${label}, values ${formatNumbers(v.data)}`,
  });
}

/**
 * f(x) = Σ (x − t)², summed over every event axis of the samples (all axes
 * but the first), so samples [n, ...event] give [n]. The target's shape must
 * equal the trailing axes of the event shape (it broadcasts over the rest,
 * e.g. a [K] target for samples [n, D, K]). Differentiable: ∂f/∂x = 2(x − t).
 */
export function quadraticFunction(target: Tensor | NestedArray | readonly number[]): QuadraticFunction {
  const op = 'quadraticFunction';
  let t: Tensor;
  if (target instanceof Tensor) t = target;
  else if (typeof target === 'number' || Array.isArray(target)) t = tensor(target as NestedArray);
  else throw new TypeError(`${op}: target must be a Tensor or a (nested) array of numbers, got ${target === null ? 'null' : typeof target}`);
  if (t.rank < 1) throw new RangeError(`${op}: target must have at least one axis, got a scalar; wrap it in an array`);
  checkFinite(op, 'target', t.data);
  const f = selfContainedFunction((x: Tensor): Tensor => {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: the quadratic takes a Tensor of samples, got ${x === null ? 'null' : typeof x}`);
    const eventRank = x.rank - 1;
    let fits = eventRank >= t.rank;
    for (let i = 0; fits && i < t.rank; i++) fits = x.shape[x.rank - t.rank + i] === t.shape[i];
    if (!fits) {
      throw new RangeError(`${op}: samples of shape ${formatShape(x.shape)} do not end in the target's shape ${formatShape(t.shape)}; expected [n, ..., ${t.shape.join(',')}]`);
    }
    return squaredDistance(x, t); // Σ (x − t)² over the trailing axes, one op: [n]
  });
  return Object.assign(f, {
    kind: 'quadratic' as const,
    target: t,
    description: `quadratic Σ(x − t)², t = ${formatNumbers(t.data)}`,
  });
}
