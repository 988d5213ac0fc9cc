// Exact ground truth by enumeration. When b has finitely many outcomes,
//
//   L(θ) = E_{b∼p(·|θ)}[f(b)] = Σ_b p(b|θ) f(b)
//
// is a finite sum. Computed with engine ops it has an exact gradient and an
// exact Hessian by autodiff, which is what every estimator is checked
// against. The law of an estimator whose only noise is b (single-sample
// REINFORCE, g(b) = f(b) ∇_θ log p(b|θ)) is a finite sum too:
//
//   E[g] = Σ_b p(b|θ) g(b),   Cov[g] = Σ_b p(b|θ) (g(b) − E g)(g(b) − E g)ᵀ.
//
// Families and their logits θ (see the sample conventions):
//   'bernoulli'     θ [D],    outcomes [2^D, D] (0/1), row i has b_j = bit j of i (b_0 least significant)
//   'categorical'   θ [K],    outcomes [K, K] (one-hot rows: the identity)
//   'categoricals'  θ [D, K], outcomes [K^D, D, K] (one-hot rows), row i has c_j = digit j of i in base K
// k-subsets of n items are enumerated too (enumerateSubsets), as 0/1 rows.
// Supports of more than 2^22 outcomes are refused.

import {
  Tensor,
  eye,
  sizeOf,
  formatShape,
  grad,
  vjp,
  exp,
  logSigmoid,
  neg,
  add,
  sub,
  mul,
  square,
  sum,
  logSoftmax,
  reshape,
  broadcastTo,
  stack,
  transpose,
  matmul,
} from '../autodiff/index.ts';

export type DiscreteFamily = 'bernoulli' | 'categorical' | 'categoricals';

/**
 * An estimator's refusal of a problem too large for it: a support too large
 * to enumerate (exact, sumAndSample, and the enumerations here and in
 * lib/structures) or more numbers in one call than fit in memory (arsm's
 * n·K² pseudo-actions, the structured samplers' prefix sets). The problem is well formed and another
 * estimator, or fewer samples per call, can run it; a caller such as the
 * command line skips the estimator or reports a mistake in the input. Any
 * other RangeError is a bad argument or a bug. Thrown before f is first
 * evaluated, like every check of the arguments.
 */
export class Refusal extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'Refusal';
  }
}

/** The largest support that is enumerated: 2^22 = 4 194 304 outcomes. */
export const MAX_OUTCOMES = 2 ** 22;

/**
 * The largest support tensor that is built: 2^27 numbers (1 GiB). It binds
 * only when outcomes are wide: a categorical of more than 11 585 classes (its
 * support is the K × K identity), or many categoricals of several classes.
 */
export const MAX_SUPPORT_ELEMENTS = 2 ** 27;

const FAMILIES: readonly string[] = ['bernoulli', 'categorical', 'categoricals'];

function checkInteger(op: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number') throw new TypeError(`${op}: ${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${op}: ${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function checkCount(op: string, count: number, what: string, width: number): void {
  if (count > MAX_OUTCOMES) {
    throw new Refusal(
      `${op}: ${what} = ${count} outcomes, over the enumeration limit of 2^22 = ${MAX_OUTCOMES}; ` +
        `use a Monte Carlo estimate, or a problem with fewer outcomes`,
    );
  }
  if (count * width > MAX_SUPPORT_ELEMENTS) {
    throw new Refusal(
      `${op}: ${what} = ${count} outcomes of ${width} numbers each, a support tensor of ${count * width} numbers, ` +
        `over the limit of 2^27 = ${MAX_SUPPORT_ELEMENTS}; use a Monte Carlo estimate, or a problem with fewer outcomes`,
    );
  }
}

// ---------------------------------------------------------------- supports

/** Every outcome of D Bernoullis: [2^D, D] of 0/1, row i holding the bits of i (b_0 least significant). */
export function enumerateBernoulli(D: number): Tensor {
  const op = 'enumerateBernoulli';
  checkInteger(op, 'D', D, 1);
  const N = 2 ** D;
  checkCount(op, N, `D = ${D} Bernoullis have 2^${D}`, D);
  const data = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) data[i * D + j] = (i >>> j) & 1;
  }
  return new Tensor(data, [N, D]);
}

/** Every outcome of one categorical of K classes, one-hot: the [K, K] identity. */
export function enumerateCategorical(K: number): Tensor {
  const op = 'enumerateCategorical';
  checkInteger(op, 'K', K, 1);
  checkCount(op, K, `K = ${K} classes give`, K);
  return eye(K);
}

/**
 * Every outcome of D independent categoricals of K classes, one-hot:
 * [K^D, D, K], row i choosing class c_j = ⌊i / K^j⌋ mod K for categorical j
 * (c_0 is the least significant digit, as for Bernoullis).
 */
export function enumerateCategoricals(D: number, K: number): Tensor {
  const op = 'enumerateCategoricals';
  checkInteger(op, 'D', D, 1);
  checkInteger(op, 'K', K, 1);
  const N = K ** D;
  checkCount(op, N, `D = ${D} categoricals of K = ${K} classes have ${K}^${D}`, D * K);
  const data = new Float64Array(N * D * K);
  for (let i = 0; i < N; i++) {
    let rest = i;
    for (let j = 0; j < D; j++) {
      const c = rest % K;
      rest = (rest - c) / K;
      data[(i * D + j) * K + c] = 1;
    }
  }
  return new Tensor(data, [N, D, K]);
}

/** The binomial coefficient C(n, k) as a double (exact while it is below 2^53). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const m = Math.min(k, n - k);
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (n - m + i)) / i; // each prefix is an integer, C(n−m+i, i)
  return Math.round(c);
}

/**
 * Every k-subset of n items as 0/1 rows: [C(n, k), n], each row with exactly
 * k ones. Rows are in lexicographic order of the sorted index lists
 * (i_1 < … < i_k): for n = 4, k = 2 the rows are the sets {0,1}, {0,2},
 * {0,3}, {1,2}, {1,3}, {2,3}, i.e. 1100, 1010, 1001, 0110, 0101, 0011.
 */
export function enumerateSubsets(n: number, k: number): Tensor {
  const op = 'enumerateSubsets';
  checkInteger(op, 'n', n, 1);
  checkInteger(op, 'k', k, 0);
  if (k > n) throw new RangeError(`enumerateSubsets: k = ${k} is larger than n = ${n}; a subset has at most n items`);
  const N = binomial(n, k);
  checkCount(op, N, `the k = ${k} subsets of n = ${n} items number C(${n}, ${k})`, n);
  const data = new Float64Array(N * n);
  const idx = Array.from({ length: k }, (_, i) => i); // the first subset {0, …, k − 1}
  for (let row = 0; row < N; row++) {
    for (const i of idx) data[row * n + i] = 1;
    // Next subset: bump the rightmost index that can move, reset those after it.
    let t = k - 1;
    while (t >= 0 && idx[t] === n - k + t) t--;
    if (t < 0) break;
    idx[t]++;
    for (let s = t + 1; s < k; s++) idx[s] = idx[s - 1] + 1;
  }
  return new Tensor(data, [N, n]);
}

// ---------------------------------------------------------------- families

interface Layout {
  /** Number of outcomes. */
  count: number;
  /** The shape of one outcome. */
  eventShape: number[];
}

/** Checks logits against their family and returns the support's layout; refuses supports over 2^22. */
function layoutOf(op: string, family: DiscreteFamily, logits: unknown): Layout {
  if (!FAMILIES.includes(family)) {
    throw new RangeError(`${op}: unknown family ${JSON.stringify(family)}; expected 'bernoulli', 'categorical' or 'categoricals'`);
  }
  if (!(logits instanceof Tensor)) throw new TypeError(`${op}: logits must be a Tensor, got ${logits === null ? 'null' : typeof logits}`);
  const shape = logits.shape;
  for (let i = 0; i < logits.size; i++) {
    if (!Number.isFinite(logits.data[i])) {
      throw new RangeError(`${op}: logits must be finite, got ${logits.data[i]} at flat index ${i} of shape ${formatShape(shape)}`);
    }
  }
  if (family === 'categoricals') {
    if (shape.length !== 2 || shape[0] < 1 || shape[1] < 1) {
      throw new RangeError(`${op}: 'categoricals' logits must have shape [D,K], got ${formatShape(shape)}`);
    }
    const [D, K] = shape;
    checkCount(op, K ** D, `D = ${D} categoricals of K = ${K} classes have ${K}^${D}`, D * K);
    return { count: K ** D, eventShape: [D, K] };
  }
  if (shape.length !== 1 || shape[0] < 1) {
    const hint = family === 'categorical' && shape.length === 2 ? "; use 'categoricals' for a product of categoricals" : '';
    throw new RangeError(`${op}: '${family}' logits must have shape [${family === 'bernoulli' ? 'D' : 'K'}], got ${formatShape(shape)}${hint}`);
  }
  if (family === 'bernoulli') {
    const D = shape[0];
    checkCount(op, 2 ** D, `D = ${D} Bernoullis have 2^${D}`, D);
    return { count: 2 ** D, eventShape: [D] };
  }
  checkCount(op, shape[0], `K = ${shape[0]} classes give`, shape[0]);
  return { count: shape[0], eventShape: [shape[0]] };
}

/** Whether the support of the family with logits of this shape is small enough to enumerate (see MAX_OUTCOMES). */
export function canEnumerate(family: DiscreteFamily, logitsShape: readonly number[]): boolean {
  let count: number;
  let width: number;
  if (family === 'bernoulli' && logitsShape.length === 1) {
    count = 2 ** logitsShape[0];
    width = logitsShape[0];
  } else if (family === 'categorical' && logitsShape.length === 1) {
    count = logitsShape[0];
    width = logitsShape[0];
  } else if (family === 'categoricals' && logitsShape.length === 2) {
    count = logitsShape[1] ** logitsShape[0];
    width = logitsShape[0] * logitsShape[1];
  } else {
    return false;
  }
  return count <= MAX_OUTCOMES && count * width <= MAX_SUPPORT_ELEMENTS;
}

/**
 * Every outcome of the family whose logits have shape `logitsShape`
 * ([D] Bernoulli, [K] categorical, [D, K] categoricals), as [N, ...event].
 */
export function enumerateSupport(family: DiscreteFamily, logitsShape: readonly number[]): Tensor {
  if (family === 'bernoulli' && logitsShape.length === 1) return enumerateBernoulli(logitsShape[0]);
  if (family === 'categorical' && logitsShape.length === 1) return enumerateCategorical(logitsShape[0]);
  if (family === 'categoricals' && logitsShape.length === 2) return enumerateCategoricals(logitsShape[0], logitsShape[1]);
  throw new RangeError(`enumerateSupport: logits of shape ${formatShape(logitsShape)} do not fit the family ${JSON.stringify(family)}`);
}

/**
 * log p(x|θ) for hard samples x [n, ...event]; the logits may carry the
 * leading axis too ([n, ...θ]) for one parameter per sample. Written in
 * log-sigmoids and log-softmaxes, so it stays finite at large logits.
 */
function logProbOf(family: DiscreteFamily, x: Tensor, logits: Tensor): Tensor {
  if (family === 'bernoulli') {
    // log p(b) = Σ_j b_j log σ(θ_j) + (1 − b_j) log σ(−θ_j)
    return sum(add(mul(x, logSigmoid(logits)), mul(sub(1, x), logSigmoid(neg(logits)))), -1);
  }
  const axes = family === 'categorical' ? [1] : [1, 2];
  return sum(mul(x, logSoftmax(logits, -1)), axes); // log p(x) = Σ x · log softmax(θ)
}

/**
 * log p(b|θ) of every outcome, [N], in the order of `enumerateSupport`, as a
 * differentiable function of the logits (so exp of it sums to 1).
 */
export function logProbTable(family: DiscreteFamily, logits: Tensor): Tensor {
  layoutOf('logProbTable', family, logits);
  return logProbOf(family, enumerateSupport(family, logits.shape), logits);
}

/**
 * ∇_θ log p(b|θ) for every outcome b: [N, ...θ.shape]. Computed by autodiff
 * on one copy of θ per outcome (one backward pass), and differentiable in θ.
 */
export function scoreTable(family: DiscreteFamily, logits: Tensor): Tensor {
  const { count } = layoutOf('scoreTable', family, logits);
  const support = enumerateSupport(family, logits.shape);
  const tiled = broadcastTo(logits, [count, ...logits.shape]);
  return grad((perOutcome: Tensor) => sum(logProbOf(family, support, perOutcome)))(tiled);
}

function checkValues(op: string, values: unknown, count: number, what: string): Tensor {
  if (!(values instanceof Tensor)) {
    throw new TypeError(`${op}: ${what} must return a Tensor, got ${values === null ? 'null' : typeof values}`);
  }
  if (values.rank < 1 || values.shape[0] !== count) {
    throw new RangeError(`${op}: ${what} must map the ${count} outcomes to a tensor with ${count} rows, got shape ${formatShape(values.shape)}`);
  }
  return values;
}

// ---------------------------------------------------------------- expectation, gradient, Hessian

/**
 * E_{b∼p(·|θ)}[f(b)] = Σ_b p(b|θ) f(b), a scalar differentiable in the logits
 * (grad gives the exact gradient, grad of grad the exact Hessian). `f` maps
 * the support [N, ...event] to values [N].
 */
export function exactExpectation(family: DiscreteFamily, logits: Tensor, f: (samples: Tensor) => Tensor): Tensor {
  const op = 'exactExpectation';
  const { count } = layoutOf(op, family, logits);
  if (typeof f !== 'function') throw new TypeError(`${op}: f must be a function, got ${typeof f}`);
  const support = enumerateSupport(family, logits.shape);
  const values = checkValues(op, f(support), count, 'f');
  if (values.rank !== 1) throw new RangeError(`${op}: f must return values of shape [${count}], got ${formatShape(values.shape)}`);
  const p = exp(logProbOf(family, support, logits)); // [N]
  return sum(mul(p, values));
}

/** The exact gradient ∇_θ E[f(b)], shaped like the logits. */
export function exactGradient(family: DiscreteFamily, logits: Tensor, f: (samples: Tensor) => Tensor): Tensor {
  return grad((theta: Tensor) => exactExpectation(family, theta, f))(logits);
}

/**
 * The exact Hessian ∇²_θ E[f(b)] as a [P, P] tensor over the flattened
 * (row-major) logits, P = logits.size: one forward pass of the gradient and
 * P backward passes through it.
 */
export function exactHessian(family: DiscreteFamily, logits: Tensor, f: (samples: Tensor) => Tensor): Tensor {
  layoutOf('exactHessian', family, logits);
  const P = logits.size;
  const { vjp: pullback } = vjp((theta: Tensor) => reshape(exactGradient(family, theta, f), [P]), logits);
  const rows: Tensor[] = [];
  for (let i = 0; i < P; i++) {
    const basis = new Float64Array(P);
    basis[i] = 1;
    rows.push(reshape(pullback(new Tensor(basis, [P]))[0], [P]));
  }
  return stack(rows, 0);
}

// ---------------------------------------------------------------- moments of an estimator

export interface ExactMoments {
  /** E[g], shaped like one outcome's g. */
  mean: Tensor;
  /** Var[g] per coordinate, shaped like one outcome's g. */
  variance: Tensor;
  /** Cov[g] over the flattened coordinates, [M, M]. */
  covariance: Tensor;
  /** p(b|θ) of every outcome, [N]. */
  probabilities: Tensor;
  /** g(b) of every outcome, [N, ...]. */
  values: Tensor;
}

/**
 * The exact mean, per-coordinate variance and covariance of an estimator
 * whose only randomness is the discrete sample b: `perOutcome` maps the
 * support [N, ...event] to the estimate at each outcome, [N, ...]. Then
 * E[g] = Σ_b p_b g(b) and Cov[g] = Σ_b p_b (g(b) − E g)(g(b) − E g)ᵀ, all
 * differentiable in the logits.
 */
export function exactMoments(family: DiscreteFamily, logits: Tensor, perOutcome: (support: Tensor) => Tensor): ExactMoments {
  const op = 'exactMoments';
  const { count } = layoutOf(op, family, logits);
  if (typeof perOutcome !== 'function') throw new TypeError(`${op}: perOutcome must be a function, got ${typeof perOutcome}`);
  const support = enumerateSupport(family, logits.shape);
  const values = checkValues(op, perOutcome(support), count, 'perOutcome');
  const rest = values.shape.slice(1);
  const M = sizeOf(rest);
  const p = exp(logProbOf(family, support, logits)); // [N]
  const G = reshape(values, [count, M]); // [N, M]
  const weights = reshape(p, [count, 1]); // [N, 1]
  const mean = sum(mul(weights, G), 0); // [M]
  const centered = sub(G, mean); // [N, M]
  const variance = sum(mul(weights, square(centered)), 0); // [M]
  const covariance = matmul(transpose(mul(weights, centered)), centered); // [M, M]
  return { mean: reshape(mean, rest), variance: reshape(variance, rest), covariance, probabilities: p, values };
}

/**
 * The exact moments of single-sample REINFORCE, g(b) = f(b) ∇_θ log p(b|θ):
 * its mean is the exact gradient, its variance the variance of one draw.
 * `mean` and `variance` are shaped like the logits.
 */
export function exactReinforceMoments(family: DiscreteFamily, logits: Tensor, f: (samples: Tensor) => Tensor): ExactMoments {
  const op = 'exactReinforceMoments';
  const { count } = layoutOf(op, family, logits);
  const scores = scoreTable(family, logits); // [N, ...θ]
  return exactMoments(family, logits, (support) => {
    const fv = checkValues(op, f(support), count, 'f'); // [N]
    return mul(reshape(fv, [count, ...logits.shape.map(() => 1)]), scores);
  });
}

// ---------------------------------------------------------------- closed forms (independent checks)

function plainVector(op: string, what: string, x: Tensor | ArrayLike<number>): Float64Array {
  const data = x instanceof Tensor ? x.data : Float64Array.from(x);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new RangeError(`${op}: ${what}[${i}] is ${data[i]}; expected finite numbers`);
  }
  return data;
}

/**
 * Closed form for a table on one categorical, in plain arithmetic (no
 * engine): with p = softmax(θ), ∂/∂θ_j E[f] = p_j (f_j − E f).
 */
export function categoricalTableGradient(logits: Tensor | ArrayLike<number>, values: Tensor | ArrayLike<number>): Tensor {
  const op = 'categoricalTableGradient';
  const theta = plainVector(op, 'logits', logits);
  const v = plainVector(op, 'values', values);
  const K = theta.length;
  if (v.length !== K) throw new RangeError(`${op}: ${K} logits need ${K} values, got ${v.length}`);
  let top = -Infinity;
  for (const t of theta) top = Math.max(top, t);
  const p = theta.map((t) => Math.exp(t - top));
  const total = p.reduce((a, b) => a + b, 0);
  let mean = 0;
  for (let j = 0; j < K; j++) {
    p[j] /= total;
    mean += p[j] * v[j];
  }
  return new Tensor(p.map((pj, j) => pj * (v[j] - mean)), [K]);
}

/**
 * Closed form for a table on D Bernoullis, in plain arithmetic: with
 * p_j = σ(θ_j), ∂/∂θ_j E[f] = p_j (1 − p_j) (E[f | b_j = 1] − E[f | b_j = 0]).
 * For D = 1 this is p(1 − p)(f_1 − f_0). Cost 2^D D², for checks on small D.
 */
export function bernoulliTableGradient(logits: Tensor | ArrayLike<number>, values: Tensor | ArrayLike<number>): Tensor {
  const op = 'bernoulliTableGradient';
  const theta = plainVector(op, 'logits', logits);
  const v = plainVector(op, 'values', values);
  const D = theta.length;
  if (v.length !== 2 ** D) throw new RangeError(`${op}: ${D} logits need 2^${D} = ${2 ** D} values, got ${v.length}`);
  const sig = (t: number): number => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));
  const on = theta.map(sig); // p_j
  const off = theta.map((t) => sig(-t)); // 1 − p_j without cancellation
  const out = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    let given1 = 0; // E[f | b_j = 1]
    let given0 = 0; // E[f | b_j = 0]
    for (let i = 0; i < v.length; i++) {
      let w = 1; // probability of the other coordinates
      for (let k = 0; k < D; k++) if (k !== j) w *= (i >>> k) & 1 ? on[k] : off[k];
      if ((i >>> j) & 1) given1 += w * v[i];
      else given0 += w * v[i];
    }
    out[j] = on[j] * off[j] * (given1 - given0);
  }
  return new Tensor(out, [D]);
}
