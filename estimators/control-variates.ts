// Control variates (Owen, "Monte Carlo theory, methods and examples", §8.9;
// Mohamed et al. 2020, §7).
//
// Given per-sample estimates g_i of E[g] and a control variate h_i whose mean
// μ_h is known, every β gives an unbiased estimate
//
//   ĝ_cv = mean_i [ g_i − β (h_i − μ_h) ],   Var[g − β(h − μ_h)] = Var g − 2β Cov(g, h) + β² Var h,
//
// smallest at β* = Cov(g, h) / Var h, where Var g − Cov(g, h)² / Var h ≤ Var g.
// With m control variates h = (h_1 … h_m) at once, β* = Σ_hh⁻¹ Σ_hg (least
// squares of g on h), one β per gradient coordinate. β is estimated from the
// samples: from all of them (a bias of order 1/n, since β̂ and the h_i are
// dependent), or from a held-out split (β from one half applied to the other
// and vice versa, which keeps the estimate exactly unbiased for i.i.d.
// samples). `controlVariates` does this on per-sample tensors, e.g. the
// perSample of estimateGradient.
//
// For the score function there is a second, estimator-level form: any c with
// a known expectation E_θ[c] gives
//
//   ĝ = (f(x) − β c(x)) ∇θ log p(x|θ) + β ∇θ E_θ[c],
//
// unbiased for every constant β. The delta method (Paisley, Blei & Jordan
// 2012; Mohamed et al. 2020, §7.2) takes c to be the Taylor expansion of f
// around the mean m = E[x] (held constant), of order one or two:
//
//   c(x) = f(m) + ∇f(m)ᵀ(x − m) + ½ (x − m)ᵀ ∇²f(m) (x − m),
//   E_θ[c] = f(m) + ∇f(m)ᵀ(E x − m) + ½ tr(∇²f(m) (Cov x + (E x − m)(E x − m)ᵀ)),
//
// with Cov x = diag(σ²) for a Normal, diag(p(1 − p)) for Bernoullis and
// diag(p) − ppᵀ per categorical. It needs f differentiable on relaxed inputs
// (tables by their multilinear extension). When f is itself a quadratic (or a
// table on one categorical, or on two Bernoullis) c = f and ĝ with β = 1 is
// exact: zero variance.

import {
  Tensor, add, sub, mul, sum, square, sigmoid, softmax, reshape, stack, expandDims, stopGradient, grad, vjp, formatShape, sizeOf,
} from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { checkFamily, checkSamples, eventShape, sample, logProb, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions } from './estimator.ts';

// ---------------------------------------------------------------- on per-sample tensors

/**
 * How β is chosen: 'optimal' fits β* = Σ_hh⁻¹ Σ_hg on all the samples;
 * 'split' fits it on each half and applies it to the other (unbiased); a
 * number or a Tensor fixes it.
 */
export type BetaRule = 'optimal' | 'split' | number | Tensor;

export interface ControlVariateOptions {
  /** Default 'optimal'. A fixed Tensor β has shape [m, ...P], [m] (one per control, all coordinates) or [1]. */
  beta?: BetaRule;
  /**
   * Weights of the samples, [n], positive and summing to 1: probabilities
   * when the "samples" are a whole enumerated support, quadrature weights
   * when they are a grid. Moments are then weighted sums (exact), and the
   * estimate is Σ w_i (g_i − β(h_i − μ_h)). Default: 1/n each.
   */
  weights?: Tensor;
}

export interface ControlVariateResult {
  /** The combined estimate, [...P]. */
  estimate: Tensor;
  /** g_i − β(h_i − μ_h), [n, ...P] (with 'split', each half with the other half's β). */
  perSample: Tensor;
  /** The coefficients, [m, ...P] ([...P] from controlVariate): fitted on all samples, or the fixed ones. */
  beta: Tensor;
  /** With 'split': the β fitted on the first half (applied to the second) and on the second (applied to the first). */
  splitBeta?: [Tensor, Tensor];
  /** Variance of one adjusted per-sample estimate, [...P]: weighted (exact) with weights, else the sample variance. */
  variance: Tensor;
  /** The same for the plain g_i, [...P]. */
  rawVariance: Tensor;
}

interface Layout {
  n: number;
  /** Coordinates of one estimate (|P|). */
  M: number;
  /** Number of control variates. */
  m: number;
  /** P, the shape of one estimate. */
  P: number[];
  g: Float64Array;
  /** h_{ikj}: control k of sample i for coordinate j. */
  h: (i: number, k: number, j: number) => number;
  mu: (k: number, j: number) => number;
  w: Float64Array;
  weighted: boolean;
}

function checkTensor(op: string, what: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  return x;
}

function layoutOf(op: string, gIn: Tensor, hIn: Tensor, hMean: Tensor | number, weights: Tensor | undefined): Layout {
  const g = checkTensor(op, 'g', gIn);
  const h = checkTensor(op, 'h', hIn);
  if (g.rank < 1) throw new RangeError(`${op}: g must have a sample axis first, [n, ...P], got shape ${formatShape(g.shape)}`);
  const n = g.shape[0];
  const P = g.shape.slice(1);
  const M = sizeOf(P);
  // h is [n, m] (the same m controls for every coordinate) or [n, m, ...P] (m per coordinate).
  const shared = h.rank === 2;
  const perCoordinate = h.rank === 2 + P.length && P.every((d, i) => h.shape[i + 2] === d);
  if (h.rank < 2 || h.shape[0] !== n || !(shared || perCoordinate)) {
    throw new RangeError(
      `${op}: h must be [n, m] or [n, m, ...P] = [${n}, m${P.map((d) => `, ${d}`).join('')}] for g of shape ${formatShape(g.shape)}, got ${formatShape(h.shape)}`,
    );
  }
  const m = h.shape[1];
  if (m < 1) throw new RangeError(`${op}: needs at least one control variate, got h of shape ${formatShape(h.shape)}`);
  const hData = h.data;
  const hAt = shared ? (i: number, k: number) => hData[i * m + k] : (i: number, k: number, j: number) => hData[(i * m + k) * M + j];
  let mu: (k: number, j: number) => number;
  if (typeof hMean === 'number') {
    if (!Number.isFinite(hMean)) throw new RangeError(`${op}: the known mean must be finite, got ${hMean}`);
    mu = () => hMean;
  } else {
    const t = checkTensor(op, 'the known mean', hMean);
    if (t.size === m) mu = (k) => t.data[k];
    else if (t.size === m * M && !shared) mu = (k, j) => t.data[k * M + j];
    else {
      throw new RangeError(`${op}: the known mean must have ${m} values (one per control) or [m, ...P] = ${m * M}, got shape ${formatShape(t.shape)}`);
    }
  }
  let w: Float64Array;
  if (weights === undefined) {
    w = new Float64Array(n).fill(1 / n);
  } else {
    const t = checkTensor(op, 'weights', weights);
    if (t.rank !== 1 || t.shape[0] !== n) throw new RangeError(`${op}: weights must have shape [${n}], got ${formatShape(t.shape)}`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (!(t.data[i] >= 0) || !Number.isFinite(t.data[i])) throw new RangeError(`${op}: weights must be non-negative and finite, got ${t.data[i]} at ${i}`);
      total += t.data[i];
    }
    if (Math.abs(total - 1) > 1e-9) throw new RangeError(`${op}: weights must sum to 1, got ${total}; divide by their sum`);
    w = t.data;
  }
  return { n, M, m, P, g: g.data, h: hAt, mu, w, weighted: weights !== undefined };
}

/**
 * Solves S β = b for a symmetric positive semi-definite S (m × m, row-major)
 * by Gaussian elimination, leaving out (β_k = 0) every control whose
 * variance left after the earlier ones is below 1e-12 of its own: a constant
 * or collinear control carries no information, and the fit on the others is
 * the least-squares one.
 */
function solveSymmetric(S: Float64Array, b: Float64Array, m: number): Float64Array {
  const A = Float64Array.from(S);
  const y = Float64Array.from(b);
  const dropped = new Array<boolean>(m).fill(false);
  for (let k = 0; k < m; k++) {
    const pivot = A[k * m + k];
    if (!(pivot > 1e-12 * S[k * m + k]) || !(pivot > 0)) {
      dropped[k] = true;
      continue;
    }
    for (let r = k + 1; r < m; r++) {
      const factor = A[r * m + k] / pivot;
      if (factor === 0) continue;
      for (let c = k; c < m; c++) A[r * m + c] -= factor * A[k * m + c];
      y[r] -= factor * y[k];
    }
  }
  const x = new Float64Array(m);
  for (let k = m - 1; k >= 0; k--) {
    if (dropped[k]) continue;
    let s = y[k];
    for (let c = k + 1; c < m; c++) s -= A[k * m + c] * x[c];
    x[k] = s / A[k * m + k];
  }
  return x;
}

/** β* per coordinate from the samples in [from, to), weights renormalised there: [m·M] (k-major). */
function fitBeta(L: Layout, from: number, to: number): Float64Array {
  const { m, M } = L;
  const beta = new Float64Array(m * M);
  let total = 0;
  for (let i = from; i < to; i++) total += L.w[i];
  const S = new Float64Array(m * m);
  const b = new Float64Array(m);
  const hBar = new Float64Array(m);
  for (let j = 0; j < M; j++) {
    let gBar = 0;
    hBar.fill(0);
    for (let i = from; i < to; i++) {
      const wi = L.w[i] / total;
      gBar += wi * L.g[i * M + j];
      for (let k = 0; k < m; k++) hBar[k] += wi * L.h(i, k, j);
    }
    S.fill(0);
    b.fill(0);
    for (let i = from; i < to; i++) {
      const wi = L.w[i] / total;
      const dg = L.g[i * M + j] - gBar;
      for (let k = 0; k < m; k++) {
        const dk = L.h(i, k, j) - hBar[k];
        b[k] += wi * dk * dg;
        for (let l = 0; l <= k; l++) S[k * m + l] += wi * dk * (L.h(i, l, j) - hBar[l]);
      }
    }
    for (let k = 0; k < m; k++) for (let l = 0; l < k; l++) S[l * m + k] = S[k * m + l];
    const x = solveSymmetric(S, b, m);
    for (let k = 0; k < m; k++) beta[k * M + j] = x[k];
  }
  return beta;
}

function fixedBeta(op: string, L: Layout, beta: number | Tensor): Float64Array {
  const out = new Float64Array(L.m * L.M);
  if (typeof beta === 'number') {
    if (!Number.isFinite(beta)) throw new RangeError(`${op}: a fixed beta must be finite, got ${beta}`);
    return out.fill(beta);
  }
  const t = checkTensor(op, 'beta', beta);
  if (t.size === 1) return out.fill(t.data[0]);
  if (t.size === L.m) {
    for (let k = 0; k < L.m; k++) out.fill(t.data[k], k * L.M, (k + 1) * L.M);
    return out;
  }
  if (t.size === L.m * L.M) return Float64Array.from(t.data);
  throw new RangeError(`${op}: beta must have 1, m = ${L.m} or m·|P| = ${L.m * L.M} values, got shape ${formatShape(t.shape)}`);
}

/** g_ij − Σ_k β_kj (h_ikj − μ_kj) for the samples in [from, to), written into out. */
function adjust(L: Layout, beta: Float64Array, from: number, to: number, out: Float64Array): void {
  const { m, M } = L;
  for (let i = from; i < to; i++) {
    for (let j = 0; j < M; j++) {
      let v = L.g[i * M + j];
      for (let k = 0; k < m; k++) v -= beta[k * M + j] * (L.h(i, k, j) - L.mu(k, j));
      out[i * M + j] = v;
    }
  }
}

/** Weighted mean and variance per coordinate of rows [n, M]. */
function moments(L: Layout, x: Float64Array): { mean: Float64Array; variance: Float64Array } {
  const { n, M, w } = L;
  const mean = new Float64Array(M);
  const variance = new Float64Array(M);
  for (let i = 0; i < n; i++) for (let j = 0; j < M; j++) mean[j] += w[i] * x[i * M + j];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < M; j++) {
      const d = x[i * M + j] - mean[j];
      variance[j] += w[i] * d * d;
    }
  }
  // Equal weights are random samples: the unbiased sample variance.
  if (!L.weighted && n > 1) for (let j = 0; j < M; j++) variance[j] *= n / (n - 1);
  return { mean, variance };
}

/**
 * Several control variates at once.  ĝ_cv = mean_i [ g_i − βᵀ(h_i − μ_h) ],  β* = Σ_hh⁻¹ Σ_hg per coordinate.
 * g: [n, ...P] per-sample estimates (e.g. estimateGradient(...).perSample.logits).
 * h: [n, m] — m control variates shared by every coordinate — or [n, m, ...P],
 *    m control variates for each coordinate.
 * hMean: their known means: [m], [m, ...P] (per coordinate), or one number.
 * Unbiased: for a fixed β, and for 'split' with i.i.d. samples; 'optimal' on
 * all samples carries an O(1/n) bias.
 * Reference: Owen, ch. 8.9 (regression estimators); Mohamed et al. 2020, §7.
 */
export function controlVariates(g: Tensor, h: Tensor, hMean: Tensor | number, options: ControlVariateOptions = {}): ControlVariateResult {
  return combine('controlVariates', g, h, hMean, options);
}

/** controlVariates under the public name `op` (for its error messages). */
function combine(op: string, g: Tensor, h: Tensor, hMean: Tensor | number, options: ControlVariateOptions): ControlVariateResult {
  const L = layoutOf(op, g, h, hMean, options.weights);
  const rule = options.beta ?? 'optimal';
  const adjusted = new Float64Array(L.n * L.M);
  let beta: Float64Array;
  let splitBeta: [Tensor, Tensor] | undefined;
  const asTensor = (b: Float64Array): Tensor => new Tensor(b, [L.m, ...L.P]);
  if (rule === 'split') {
    if (L.n < 4) throw new RangeError(`${op}: the split rule fits β on each half, so it needs n ≥ 4 samples, got ${L.n}`);
    const mid = Math.floor(L.n / 2);
    const first = fitBeta(L, 0, mid);
    const second = fitBeta(L, mid, L.n);
    adjust(L, second, 0, mid, adjusted); // each half with the β it did not influence
    adjust(L, first, mid, L.n, adjusted);
    splitBeta = [asTensor(first), asTensor(second)];
    beta = fitBeta(L, 0, L.n);
  } else if (rule === 'optimal') {
    if (L.n < 2) throw new RangeError(`${op}: fitting β needs n ≥ 2 samples, got ${L.n}`);
    beta = fitBeta(L, 0, L.n);
    adjust(L, beta, 0, L.n, adjusted);
  } else if (typeof rule === 'number' || rule instanceof Tensor) {
    beta = fixedBeta(op, L, rule);
    adjust(L, beta, 0, L.n, adjusted);
  } else {
    throw new RangeError(`${op}: beta must be 'optimal', 'split', a number or a Tensor, got ${String(rule)}`);
  }
  const after = moments(L, adjusted);
  const before = moments(L, L.g);
  return {
    estimate: new Tensor(after.mean, [...L.P]),
    perSample: new Tensor(adjusted, [L.n, ...L.P]),
    beta: asTensor(beta),
    splitBeta,
    variance: new Tensor(after.variance, [...L.P]),
    rawVariance: new Tensor(before.variance, [...L.P]),
  };
}

/**
 * One control variate.  ĝ_cv = mean_i [ g_i − β (h_i − μ_h) ],  β* = Cov(g, h) / Var h per coordinate.
 * g: [n, ...P]; h: [n] (one control for every coordinate) or [n, ...P] (one
 * per coordinate, e.g. the score ∇θ log p(x_i) with mean 0); hMean: a number
 * or [...P]. The returned beta has shape [...P]. See controlVariates.
 */
export function controlVariate(g: Tensor, h: Tensor, hMean: Tensor | number, options: ControlVariateOptions = {}): ControlVariateResult {
  const op = 'controlVariate';
  checkTensor(op, 'g', g);
  checkTensor(op, 'h', h);
  if (g.rank < 1) throw new RangeError(`${op}: g must have a sample axis first, [n, ...P], got shape ${formatShape(g.shape)}`);
  const P = g.shape.slice(1);
  const sameShape = h.rank === g.rank && h.shape.every((d, i) => d === g.shape[i]);
  if (!(h.rank === 1 && h.shape[0] === g.shape[0]) && !sameShape) {
    throw new RangeError(`${op}: h must be [n] = [${g.shape[0]}] or shaped like g ${formatShape(g.shape)}, got ${formatShape(h.shape)}`);
  }
  const h3 = h.rank === 1 ? reshape(h, [h.shape[0], 1]) : reshape(h, [h.shape[0], 1, ...P]);
  const mean = typeof hMean === 'number' ? hMean : reshape(checkTensor(op, 'the known mean', hMean), [1, ...(h.rank === 1 ? [] : P)]);
  let beta = options.beta;
  if (beta instanceof Tensor) beta = reshape(beta, [1, ...(beta.size === 1 ? [] : P)]);
  const out = combine(op, g, h3, mean, Object.assign({}, options, { beta }));
  const drop = (b: Tensor): Tensor => reshape(b, P);
  return Object.assign({}, out, { beta: drop(out.beta), splitBeta: out.splitBeta && [drop(out.splitBeta[0]), drop(out.splitBeta[1])] });
}

// ---------------------------------------------------------------- score function with a control function

/** A function c with a known expectation: what the score-function control variate needs. */
export interface KnownMean {
  /** c at samples [n, ...E]: [n], constants. */
  value(x: Tensor): Tensor;
  /**
   * E_{x∼p(·|θ)}[c(x)] as a differentiable function of the distribution's
   * parameters (anything c holds fixed is a constant): a scalar, or [n] when
   * the parameters are tiled.
   */
  expectation(dist: Dist): Tensor;
}

/** Builds the control function for one call; it may depend on the current θ (as a constant). */
export type ControlFunction = (dist: Dist, f: SampleFunction, tiled: boolean) => KnownMean;

export interface ReinforceControlOptions extends SurrogateOptions<undefined> {
  control: ControlFunction;
  /** β, a constant (default 1). */
  beta?: number;
}

const FAMILIES: readonly Family[] = ['bernoulli', 'categorical', 'normal'];

/**
 * Score function with a control variate.  ĝ = (f(x) − β c(x)) ∇θ log p(x|θ) + β ∇θ E_θ[c]
 * Requires: log p differentiable in θ; E_θ[c] known and differentiable.  Unbiased: yes, for every constant β.
 * Reference: Mohamed et al. 2020, §7 (eq. 7.1 with the score function); Paisley et al. 2012.
 *
 * θ → the distribution's parameters, c → options.control, β → options.beta.
 * Per sample the surrogate is f + (f − βc)(log p − stop log p) + β(E[c] − stop E[c]):
 * value f(x), gradient ĝ.
 */
export function reinforceWithControl(dist: Dist, f: SampleFunction, rng: Rng, options: ReinforceControlOptions): Surrogate<undefined> {
  const name = 'reinforceWithControl';
  checkFamily(name, dist, FAMILIES);
  if (typeof options?.control !== 'function') throw new TypeError(`${name}: options.control must be a control function such as deltaMethod(2)`);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const beta = options.beta ?? 1;
  if (!Number.isFinite(beta)) throw new RangeError(`${name}: beta must be a finite number, got ${beta}`);
  const tiled = options.tiled ?? false;

  const x = sample(dist, rng, n, tiled); // [n, ...E], a constant
  const fx = evaluate(name, f, x, n); // [n]
  const control = options.control(dist, f, tiled);
  const cx = stopGradient(evaluate(name, (y) => control.value(y), x, n)); // [n]
  const logp = logProb(dist, x); // [n]
  const score = sub(logp, stopGradient(logp)); // value 0, gradient ∇ log p
  const mean = control.expectation(dist); // [] or [n]
  const expected = sub(mean, stopGradient(mean)); // value 0, gradient ∇ E[c]
  const perSample = add(add(fx, mul(sub(fx, mul(cx, beta)), score)), mul(expected, beta));
  return surrogateOf(perSample, fx, undefined);
}

/** E[x] as [r, M] (r = n tiled, 1 otherwise): σ(logits), softmax(logits) per categorical, or loc. */
function meanRows(dist: Dist, tiled: boolean, M: number): Tensor {
  const m = dist.family === 'bernoulli' ? sigmoid(dist.logits) : dist.family === 'categorical' ? softmax(dist.logits, -1) : dist.loc;
  return tiled ? reshape(m, [m.shape[0], M]) : reshape(expandDims(m, 0), [1, M]);
}

/**
 * The delta-method control function: c is the Taylor expansion of f of the
 * given order (1 or 2, default 2) around the mean m = E[x] at the current
 * parameters (held constant), and E_θ[c] is its expectation in closed form
 * (see the file header). f must be differentiable (twice, for order 2) on
 * relaxed inputs. The Hessian costs |E| backward passes through ∇f.
 */
export function deltaMethod(order: 1 | 2 = 2): ControlFunction {
  if (order !== 1 && order !== 2) throw new RangeError(`deltaMethod: order must be 1 or 2, got ${String(order)}`);
  return (dist, f, tiled) => {
    const E = eventShape(dist, tiled);
    const M = sizeOf(E);
    const m0 = stopGradient(meanRows(dist, tiled, M)); // [r, M], the expansion point
    const r = m0.shape[0];
    const point = reshape(m0, [r, ...E]);
    const gradient = (x: Tensor): Tensor => grad((y: Tensor) => sum(evaluate('deltaMethod', f, y, r)))(x);
    const f0 = stopGradient(evaluate('deltaMethod', f, point, r)); // [r]
    let g0: Tensor;
    let hessian: Tensor | undefined; // [r, M, M]
    if (order === 1) {
      g0 = stopGradient(reshape(gradient(point), [r, M]));
    } else {
      const { out, vjp: pullback } = vjp(gradient, point);
      g0 = stopGradient(reshape(out, [r, M]));
      const rows: Tensor[] = [];
      for (let e = 0; e < M; e++) {
        const basis = new Float64Array(r * M);
        for (let i = 0; i < r; i++) basis[i * M + e] = 1;
        rows.push(reshape(pullback(new Tensor(basis, [r, ...E]))[0], [r, M]));
      }
      hessian = stopGradient(stack(rows, 1)); // [r, M, M], row e = ∂(∇f)_e/∂x
    }
    const H = hessian;
    /** ½ dᵀ H d per row of d [k, M] (H broadcast over its r rows). */
    const halfQuadratic = (d: Tensor, Hm: Tensor): Tensor => mul(sum(mul(d, sum(mul(Hm, expandDims(d, 1)), 2)), 1), 0.5);

    const value = (x: Tensor): Tensor => {
      const n = x.shape[0];
      const d = sub(reshape(x, [n, M]), m0); // [n, M]
      let c = add(f0, sum(mul(g0, d), 1));
      if (H !== undefined) c = add(c, halfQuadratic(d, H));
      return c;
    };

    const expectation = (d: Dist): Tensor => {
      const m = meanRows(d, tiled, M); // [r, M], differentiable
      const dm = sub(m, m0); // value 0
      let e = add(f0, sum(mul(g0, dm), 1)); // [r]
      if (H !== undefined) {
        // ½ tr(H Cov x) + ½ dmᵀ H dm
        const diagonal = stopGradient(new Tensor(diagonalOf(H.data, r, M), [r, M]));
        let trace: Tensor;
        if (d.family === 'normal') {
          trace = sum(mul(diagonal, square(reshape(tiled ? d.scale : expandDims(d.scale, 0), [r, M]))), 1);
        } else if (d.family === 'bernoulli') {
          trace = sum(mul(diagonal, mul(m, sub(1, m))), 1);
        } else {
          // Cov = diag(p) − ppᵀ within each categorical, 0 across them.
          const K = E[E.length - 1];
          const blocks = new Float64Array(M * M);
          for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) blocks[a * M + b] = Math.floor(a / K) === Math.floor(b / K) ? 1 : 0;
          const within = mul(H, new Tensor(blocks, [1, M, M]));
          trace = sub(sum(mul(diagonal, m), 1), mul(halfQuadratic(m, within), 2));
        }
        e = add(e, add(mul(trace, 0.5), halfQuadratic(dm, H)));
      }
      return tiled ? e : reshape(e, []);
    };
    return { value, expectation };
  };
}

function diagonalOf(H: Float64Array, r: number, M: number): Float64Array {
  const out = new Float64Array(r * M);
  for (let i = 0; i < r; i++) for (let a = 0; a < M; a++) out[i * M + a] = H[(i * M + a) * M + a];
  return out;
}

// ---------------------------------------------------------------- as registry entries

/**
 * A registry entry for the score function with a control function:
 * `controlVariateEstimator('reinforce-delta', deltaMethod(2))`.
 */
export function controlVariateEstimator(name: string, control: ControlFunction, settings: { beta?: number; description?: string } = {}): Estimator<undefined> {
  if (typeof control !== 'function') throw new TypeError(`controlVariateEstimator: control must be a control function such as deltaMethod(2), got ${typeof control}`);
  const beta = settings.beta ?? 1;
  return {
    name,
    description: settings.description ?? `score function with a control variate (β = ${beta})`,
    unbiased: true,
    families: FAMILIES,
    iidSamples: true,
    minSamples: 1,
    surrogate: (dist, f, rng, options) => reinforceWithControl(dist, f, rng, Object.assign({}, options, { control, beta })),
  };
}

export const reinforceDelta = controlVariateEstimator('reinforce-delta', deltaMethod(2), {
  description: 'score function with the second-order delta-method control variate (Taylor expansion of f at the mean)',
});
export const reinforceDelta1 = controlVariateEstimator('reinforce-delta1', deltaMethod(1), {
  description: 'score function with the first-order delta-method control variate',
});
