// The distributions an estimator can be asked about, as plain descriptors
// whose parameters are tensors anywhere in a graph, and the per-family
// plumbing every estimator shares: drawing noise, turning noise into a
// relaxed z and a hard sample b = H(z), and log p(b|θ) summed over the event.
//
// Shapes: a descriptor's parameters have the event shape E (logits [D] for D
// Bernoullis, [K] or [D, K] for categoricals, loc/scale [D]); samples are
// [n, ...E]. With `tiled`, parameters carry a leading axis of length n (one
// copy per sample): estimateGradient passes them that way so that one
// backward pass yields every per-sample estimate.
//
// Two structured families are descriptors too, outside the `Dist` union (so
// code that narrows a Dist by elimination is unaffected): 'subset', X = the
// top k of logSoftmax(logits) + G (Gumbel-top-k, an unordered k-subset, as a
// k-hot vector [n]); and 'spanning-tree', X = the maximum spanning tree of
// logits + G on a graph (Kruskal, a 0/1 vector over the edges [E]); and
// 'arborescence', the maximum arborescence of logits + G on a directed graph
// (Chu–Liu/Edmonds, a 0/1 vector over the arcs [A]). Their
// noise, samples, relaxations and log-probabilities live in estimators/sst.ts
// and lib/structures.ts; `AnyDist` is what checkUnbiased accepts.
//
// Four continuous families are descriptors for the pathwise estimator only,
// outside both unions (exactGradientOf narrows an AnyDist by elimination down
// to logits it can enumerate): 'gumbel' (loc, scale), 'exponential' (rate),
// 'relaxed-bernoulli' and 'relaxed-categorical' (logits at a fixed
// temperature τ, the binary and K-class Concrete). Each is a law of
// lib/distributions, whose rsample is the one definition of its
// reparameterized sample (estimators/pathwise.ts). `Descriptor` is what the
// generic plumbing (paramsOf, withParams, estimateGradient) accepts.

import { Tensor, add, sub, mul, div, exp, log, neg, square, sum, gather, broadcastTo, sigmoid, logSigmoid, logSoftmax, argmax, oneHot, onesLike, stopGradient, sizeOf, type Shape, formatShape } from '../autodiff/index.ts';
import { expKernel, sigmoidKernel } from '../autodiff/ops/kernels.ts';
import { alloc, shapesEqual, trailingAxes } from '../autodiff/tensor.ts'; // the engine's allocator: small arrays from a slab
import { temperedSoftmax } from '../autodiff/ops/reduce.ts'; // softmax(z / λ), one op
import type { Rng } from '../lib/random.ts';
import type { Graph, Digraph } from '../lib/structures.ts';

export type Family =
  | 'bernoulli' | 'categorical' | 'normal' | 'subset' | 'spanning-tree' | 'arborescence'
  | 'gumbel' | 'exponential' | 'relaxed-bernoulli' | 'relaxed-categorical';

/** b ∼ Bernoulli(σ(logits)), independently per coordinate. */
export interface BernoulliDist {
  readonly family: 'bernoulli';
  readonly logits: Tensor;
}

/** b ∼ Categorical(softmax(logits)) along the last axis, as a one-hot vector. */
export interface CategoricalDist {
  readonly family: 'categorical';
  readonly logits: Tensor;
}

/** x ∼ Normal(loc, scale²), independently per coordinate. */
export interface NormalDist {
  readonly family: 'normal';
  readonly loc: Tensor;
  readonly scale: Tensor;
}

export type Dist = BernoulliDist | CategoricalDist | NormalDist;

/** X = the top k of logSoftmax(logits) + G (Gumbel-top-k): an unordered k-subset of the items, k-hot [n]. */
export interface SubsetDist {
  readonly family: 'subset';
  readonly logits: Tensor;
  readonly k: number;
}

/** X = the maximum spanning tree of logits + G (Kruskal): a 0/1 vector over graph.edges [E]. */
export interface SpanningTreeDist {
  readonly family: 'spanning-tree';
  readonly logits: Tensor;
  readonly graph: Graph;
}

/** X = the maximum arborescence of logits + G rooted at digraph.root (Chu–Liu/Edmonds): a 0/1 vector over digraph.arcs [A]. */
export interface ArborescenceDist {
  readonly family: 'arborescence';
  readonly logits: Tensor;
  readonly digraph: Digraph;
}

export type StructuredDist = SubsetDist | SpanningTreeDist | ArborescenceDist;

/** The discrete, normal and structured descriptors: what checkUnbiased accepts. */
export type AnyDist = Dist | StructuredDist;

/** x ∼ Gumbel(loc, scale), x = loc + scale·G, independently per coordinate. */
export interface GumbelDist {
  readonly family: 'gumbel';
  readonly loc: Tensor;
  readonly scale: Tensor;
}

/** x ∼ Exponential(rate), x = E / rate, independently per coordinate. */
export interface ExponentialDist {
  readonly family: 'exponential';
  readonly rate: Tensor;
}

/** z = σ((logits + L)/τ), L standard logistic: the binary Concrete, per coordinate. τ is fixed (not a parameter). */
export interface RelaxedBernoulliDist {
  readonly family: 'relaxed-bernoulli';
  readonly logits: Tensor;
  readonly temperature: number;
}

/** z = softmax((logSoftmax(logits) + G)/τ) along the last axis: the Concrete. τ is fixed (not a parameter). */
export interface RelaxedCategoricalDist {
  readonly family: 'relaxed-categorical';
  readonly logits: Tensor;
  readonly temperature: number;
}

/** The continuous families beyond the Normal, which only the pathwise estimator takes. */
export type ReparameterizedDist = GumbelDist | ExponentialDist | RelaxedBernoulliDist | RelaxedCategoricalDist;

/** Every descriptor: what paramsOf, withParams and estimateGradient accept. */
export type Descriptor = AnyDist | ReparameterizedDist;

/** Maps a batch of samples [n, ...E] to values [n]. Built from engine ops, so it can be differentiated. */
export type SampleFunction = (x: Tensor) => Tensor;

export const bernoulli = (logits: Tensor): BernoulliDist => ({ family: 'bernoulli', logits });
export const categorical = (logits: Tensor): CategoricalDist => ({ family: 'categorical', logits });
export const normal = (loc: Tensor, scale: Tensor): NormalDist => ({ family: 'normal', loc, scale });
export const subset = (logits: Tensor, k: number): SubsetDist => ({ family: 'subset', logits, k });
export const spanningTree = (logits: Tensor, graph: Graph): SpanningTreeDist => ({ family: 'spanning-tree', logits, graph });
export const arborescence = (logits: Tensor, digraph: Digraph): ArborescenceDist => ({ family: 'arborescence', logits, digraph });
export const gumbel = (loc: Tensor, scale: Tensor): GumbelDist => ({ family: 'gumbel', loc, scale });
export const exponential = (rate: Tensor): ExponentialDist => ({ family: 'exponential', rate });
export const relaxedBernoulli = (logits: Tensor, temperature: number): RelaxedBernoulliDist => ({ family: 'relaxed-bernoulli', logits, temperature });
export const relaxedCategorical = (logits: Tensor, temperature: number): RelaxedCategoricalDist => ({ family: 'relaxed-categorical', logits, temperature });

// The names of each family's parameters (the tensors gradients are taken with
// respect to; every other family has just its logits). Within a family they
// all have the event shape E, so tiling each along the sample axis keeps them
// aligned: checkFamily refuses a scale broadcast against its loc.
const PARAMETERS: Partial<Record<Family, readonly string[]>> = {
  normal: ['loc', 'scale'],
  gumbel: ['loc', 'scale'],
  exponential: ['rate'],
};

const LOGITS: readonly string[] = ['logits'];

function parameterNames(dist: Descriptor): readonly string[] {
  return PARAMETERS[dist.family] ?? LOGITS;
}

/** How many values the distribution's parameters hold (those that are tensors: the estimator checks the rest). */
export function parameterCount(dist: Descriptor): number {
  const fields = dist as unknown as Record<string, unknown>;
  let size = 0;
  for (const key of parameterNames(dist)) {
    const p = fields[key];
    if (p instanceof Tensor) size += p.size;
  }
  return size;
}

/** The distribution's parameters as a tree (what gradients are taken with respect to). */
export function paramsOf(dist: Descriptor): Record<string, Tensor> {
  const fields = dist as unknown as Record<string, Tensor>;
  const params: Record<string, Tensor> = {};
  for (const key of parameterNames(dist)) params[key] = fields[key];
  return params;
}

/** The same family with other parameters (a tree like paramsOf's); other fields (k, graph, temperature) are kept. */
export function withParams<D extends Descriptor>(dist: D, params: Record<string, Tensor>): D {
  const out: Record<string, unknown> = { ...dist };
  for (const key of parameterNames(dist)) out[key] = params[key];
  return out as D;
}

function mainParam(dist: Descriptor): Tensor {
  return (dist as unknown as Record<string, Tensor>)[parameterNames(dist)[0]];
}

/** The event shape E: the parameters' shape, without the leading sample axis when tiled. */
export function eventShape(dist: Descriptor, tiled = false): Shape {
  const shape = mainParam(dist).shape;
  return tiled ? shape.slice(1) : shape;
}

/** Checks that an estimator supports the family, with a message listing what it does support. */
export function checkFamily(estimator: string, dist: Dist | ReparameterizedDist, families: readonly Family[]): void {
  if (typeof dist !== 'object' || dist === null || !('family' in dist)) {
    throw new TypeError(`${estimator}: expected a distribution descriptor such as categorical(logits), got ${String(dist)}`);
  }
  if (!families.includes(dist.family)) {
    throw new RangeError(`${estimator}: does not support the ${dist.family} family; it supports ${families.join(', ')}`);
  }
  const p = mainParam(dist);
  if (!(p instanceof Tensor)) throw new TypeError(`${estimator}: the ${dist.family} parameters must be Tensors`);
  if ((dist.family === 'categorical' || dist.family === 'relaxed-categorical') && p.rank < 1) {
    throw new RangeError(`${estimator}: ${dist.family} logits need a class axis, got shape ${formatShape(p.shape)}`);
  }
  if (dist.family === 'normal' || dist.family === 'gumbel') {
    const scale = dist.scale;
    if (!(scale instanceof Tensor)) throw new TypeError(`${estimator}: the ${dist.family} scale must be a Tensor`);
    // Per-sample estimates need one scale per coordinate: a broadcast scale would be summed over coordinates.
    if (formatShape(scale.shape) !== formatShape(p.shape)) {
      throw new RangeError(`${estimator}: ${dist.family} loc ${formatShape(p.shape)} and scale ${formatShape(scale.shape)} must have the same shape; broadcast the scale first`);
    }
    checkPositive(estimator, `the ${dist.family} scale`, scale);
  }
  if (dist.family === 'exponential') checkPositive(estimator, 'the exponential rate', p);
  if (dist.family === 'relaxed-bernoulli' || dist.family === 'relaxed-categorical') {
    const t = dist.temperature;
    if (typeof t !== 'number') throw new TypeError(`${estimator}: the ${dist.family} temperature must be a number, got ${typeof t}`);
    if (!(t > 0 && t < Infinity)) throw new RangeError(`${estimator}: the ${dist.family} temperature must be positive and finite, got ${t}`);
  }
}

function checkPositive(estimator: string, what: string, t: Tensor): void {
  for (let i = 0; i < t.data.length; i++) {
    const s = t.data[i];
    if (!(s > 0 && s < Infinity)) throw new RangeError(`${estimator}: ${what} must be positive and finite, got ${s} at index ${i}`);
  }
}

export function checkSamples(estimator: string, n: number, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${estimator}: n must be an integer ≥ ${min}, got ${n}`);
}

// ---------------------------------------------------------------- noise, relaxed z and hard b

/**
 * Fresh noise for n samples: logistic for Bernoulli, Gumbel for categorical,
 * standard normal for Normal. Shape [n, ...E].
 */
export function drawNoise(dist: Dist, rng: Rng, n: number, tiled = false): Tensor {
  const shape = [n, ...eventShape(dist, tiled)];
  if (dist.family === 'bernoulli') return rng.logistic(shape);
  if (dist.family === 'categorical') return rng.gumbel(shape);
  return rng.normal(shape);
}

/**
 * The reparameterized sample z = T(θ, ε): logits + logistic noise for a
 * Bernoulli, logSoftmax(logits) + Gumbel noise for a categorical,
 * loc + scale·ε for a Normal. Differentiable in the parameters.
 */
export function perturb(dist: Dist, noise: Tensor): Tensor {
  if (dist.family === 'bernoulli') return add(dist.logits, noise);
  if (dist.family === 'categorical') return add(logSoftmax(dist.logits), noise);
  return add(dist.loc, mul(dist.scale, noise));
}

/**
 * What the relaxations add their noise to: the logits as they are, which for
 * a categorical differ from perturb's log θ = logSoftmax(logits) by one
 * constant per row. Neither the hard sample H(z) (an argmax) nor σ_τ(z) =
 * softmax(z/τ) sees that constant, nor do their derivatives in θ, when τ is
 * the same for every class; so the estimators that read z only through them
 * skip logSoftmax's pass and its VJP's (PyTorch's F.gumbel_softmax also adds
 * the noise to the logits as they are). A temperature that differs along the
 * classes would see the constant: a categorical then gets log θ, as perturb.
 * Not for log p(z|θ), whose density needs log θ. (As in PyTorch, logits of
 * 1e16 and more leave little of the noise's precision.)
 */
export function relaxationBase(dist: Dist, temperature: Tensor | number): Tensor {
  const logits = logitsOf(dist, 'relaxationBase');
  return dist.family === 'categorical' && !sameAlongLastAxis(temperature) ? location(dist) : logits;
}

/** Whether a temperature takes one value along the last axis (a number, a scalar, or a last axis of 1). */
function sameAlongLastAxis(temperature: Tensor | number): boolean {
  return typeof temperature === 'number' || temperature.rank === 0 || temperature.shape[temperature.rank - 1] === 1;
}

/** The logits of a Bernoulli or a categorical; `op` names the caller in the error for a normal. */
export function logitsOf(dist: Dist, op = 'logitsOf'): Tensor {
  if (dist.family === 'normal') throw new RangeError(`${op}: the normal family has no logits`);
  return dist.logits;
}

/**
 * What perturb adds the noise to: the logits for a Bernoulli, log θ =
 * logSoftmax(logits) for a categorical. An estimator that needs log θ more
 * than once (for z, for z̃ | b and for log p(b|θ)) computes it once here:
 * each logSoftmax costs a pass of exp, and another in its VJP.
 */
export function location(dist: BernoulliDist | CategoricalDist): Tensor {
  return dist.family === 'categorical' ? logSoftmax(dist.logits) : dist.logits;
}

/**
 * logProb(dist, x), with a categorical's log θ taken from `loc` = location(dist)
 * instead of recomputed. For a Bernoulli and a constant x of zeros and ones
 * (a hard sample), log p = log σ(s·l) with s = 2x − 1: one log-sigmoid pass
 * instead of two (x log σ(l) + (1 − x) log σ(−l) takes both terms, of which
 * one is always zero). Same value, first and higher derivatives in l.
 */
export function logProbAt(dist: BernoulliDist | CategoricalDist, loc: Tensor, x: Tensor): Tensor {
  if (dist.family === 'categorical') {
    const classes = x._trace === null && x.rank > 0 ? classesOfOneHot(x.data, x.shape[x.rank - 1]) : null;
    if (classes === null) return sumEvent(mul(x, loc));
    // log θ at each row's class: one read per row instead of a product over all K
    // (and finite where a class of probability 0 is not drawn, where 0 · −∞ is NaN).
    const full = shapesEqual(loc.shape, x.shape) ? loc : broadcastTo(loc, x.shape); // untiled: θ's rows repeat over the samples
    return sumEvent(gather(full, new Tensor(classes, [...x.shape.slice(0, -1), 1]), -1));
  }
  const signs = x._trace === null ? signsOfHard(x.data) : null;
  if (signs === null) return logProb(dist, x);
  return sumEvent(logSigmoid(mul(new Tensor(signs, x.shape), dist.logits)));
}

/** The class of each row of K if every row is one-hot (a single 1, the rest 0), else null. */
function classesOfOneHot(x: Float64Array, K: number): Float64Array | null {
  if (K === 0) return null;
  const classes = alloc(x.length / K);
  for (let row = 0; row < classes.length; row++) {
    let at = -1;
    for (let k = 0; k < K; k++) {
      const v = x[row * K + k];
      if (v === 0) continue;
      if (v !== 1 || at >= 0) return null;
      at = k;
    }
    if (at < 0) return null;
    classes[row] = at;
  }
  return classes;
}

/** 2x − 1 if every x is 0 or 1, else null. */
function signsOfHard(x: Float64Array): Float64Array | null {
  const s = alloc(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v === 1) s[i] = 1;
    else if (v === 0) s[i] = -1;
    else return null;
  }
  return s;
}

/**
 * b = H(z): [z > 0] for a Bernoulli, onehot(argmax z) for a categorical (the
 * first largest at a tie, as argmax). A constant. Each is one loop over z:
 * every estimator calls this, and greater(z, 0) broadcasts a scalar while
 * oneHot(argmax(z)) takes a second pass and buffer.
 */
export function hard(family: Family, z: Tensor): Tensor {
  const Z = z.data;
  if (family === 'bernoulli') {
    const b = alloc(Z.length);
    for (let i = 0; i < Z.length; i++) b[i] = Z[i] > 0 ? 1 : 0;
    return new Tensor(b, z.shape);
  }
  const classes = z.rank > 0 ? z.shape[z.rank - 1] : 0;
  if (family === 'categorical' && classes > 0) {
    const b = alloc(Z.length);
    for (let row = 0; row < Z.length; row += classes) {
      let best = Z[row];
      let at = 0;
      for (let k = 1; k < classes; k++) {
        const v = Z[row + k];
        if (v > best || (v !== v && best === best)) {
          best = v;
          at = k;
        }
      }
      b[row + at] = 1;
    }
    return new Tensor(b, z.shape);
  }
  const zc = stopGradient(z);
  if (family === 'categorical') return oneHot(argmax(zc, -1), classes); // no class axis: argmax's error
  return zc;
}

/**
 * Draws n hard samples [n, ...E] (no gradient): by inversion for a Bernoulli
 * or a categorical (see sampleByInversion), loc + scale·ε for a Normal.
 */
export function sample(dist: Dist, rng: Rng, n: number, tiled = false): Tensor {
  if (dist.family !== 'normal') return sampleByInversion(dist, stopGradient(location(dist)), rng, n, tiled);
  const noise = drawNoise(dist, rng, n, tiled);
  return hard(dist.family, perturb(withParams(dist, mapStop(paramsOf(dist))), noise));
}

/**
 * Hard samples b ∼ p(·|θ) by inversion, [n, ...E], a constant: from
 * loc = location(dist) (the logits of a Bernoulli, log θ of a categorical),
 * with one uniform u per sample and row, drawn as [n, ...rows]:
 *   Bernoulli     b = [u < σ(logit)]
 *   categorical   b = onehot(first k with θ_1 + … + θ_k > u·Σθ)
 * For estimators that need only b (REINFORCE), this is the law of
 * H(loc + noise) at one uniform per row instead of K Gumbels of two logs
 * each (torch.multinomial samples the same way). An antithetic generator
 * pairs u with 1 − u, a quasi-random one spreads u, both per row.
 */
export function sampleByInversion(dist: BernoulliDist | CategoricalDist, loc: Tensor, rng: Rng, n: number, tiled = false): Tensor {
  const event = eventShape(dist, tiled);
  const L = loc.data;
  if (dist.family === 'bernoulli') {
    const U = rng.uniform([n, ...event]).data;
    const perSample = sizeOf(event);
    const b = alloc(U.length);
    // Tiled logits repeat one value n times: σ of the previous logit is reused while they are equal.
    let logit = NaN;
    let p = NaN;
    for (let i = 0; i < U.length; i++) {
      const l = L[tiled ? i : i % perSample];
      if (l !== logit) {
        logit = l;
        p = sigmoidKernel(l);
      }
      b[i] = U[i] < p ? 1 : 0;
    }
    return new Tensor(b, [n, ...event]);
  }
  const classes = event[event.length - 1];
  const U = rng.uniform([n, ...event.slice(0, -1)]).data;
  const rowsPerSample = sizeOf(event) / classes;
  const cumulative = alloc(classes); // θ_1 + … + θ_k of the row starting at `cached`
  let cached = -1;
  const b = alloc(U.length * classes);
  for (let q = 0; q < U.length; q++) {
    const from = (tiled ? q : q % rowsPerSample) * classes;
    // Tiled parameters repeat one row n times: its sums are reused while the rows are equal.
    if (from !== cached && !(cached >= 0 && sameRow(L, from, cached, classes))) {
      let total = 0;
      for (let k = 0; k < classes; k++) {
        total += expKernel(L[from + k]); // log θ ≤ 0: no overflow
        cumulative[k] = total;
      }
      cached = from;
    }
    // The first k with θ_1 + … + θ_k > u·Σθ (scaled, so rounding in Σθ ≠ 1 does
    // not favour the last class), by bisection. Classes of probability 0 never
    // qualify: the running sum does not grow there. A row with no positive
    // weight (NaN logits) takes class 0.
    const target = U[q] * cumulative[classes - 1];
    let low = 0;
    let high = classes - 1;
    if (!(cumulative[high] > target)) high = 0;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle] > target) high = middle;
      else low = middle + 1;
    }
    b[q * classes + high] = 1;
  }
  return new Tensor(b, [n, ...event]);
}

function sameRow(L: Float64Array, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (L[a + k] !== L[b + k]) return false;
  return true;
}

function mapStop(params: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const k of Object.keys(params)) out[k] = stopGradient(params[k]);
  return out;
}

/**
 * The relaxation σ_λ(z) of the hard sample: sigmoid(z/λ) for a Bernoulli,
 * softmax(z/λ) over the classes for a categorical. As λ → 0 it tends to H(z).
 * λ → `temperature` (a number, or a tensor when it is learned).
 */
export function relaxed(family: Family, z: Tensor, temperature: Tensor | number): Tensor {
  if (family === 'categorical') return temperedSoftmax(z, temperature); // softmax(z / λ) as one op
  if (family === 'bernoulli') return sigmoid(div(z, temperature));
  throw new RangeError(`relaxed: the ${family} family has no discrete sample to relax`);
}

// ---------------------------------------------------------------- log-probabilities

/** Sums every axis but the first: [n, ...] → [n]. */
export function sumEvent(x: Tensor): Tensor {
  return x.rank <= 1 ? x : sum(x, trailingAxes(x.rank));
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log p(x|θ) of samples [n, ...E], summed over the event: [n]. Written in
 * logits (log-sigmoid, log-softmax), so it is finite for any finite logits.
 */
export function logProb(dist: Dist, x: Tensor): Tensor {
  if (dist.family === 'bernoulli') {
    // b log σ(l) + (1 − b) log σ(−l)
    const l = dist.logits;
    return sumEvent(add(mul(x, logSigmoid(l)), mul(sub(onesLike(x), x), logSigmoid(neg(l))))); // onesLike: no scalar broadcast
  }
  if (dist.family === 'categorical') return sumEvent(mul(x, logSoftmax(dist.logits)));
  // −(x − μ)²/(2σ²) − log σ − ½ log 2π
  const z = div(sub(x, dist.loc), dist.scale);
  return sumEvent(sub(neg(add(mul(square(z), 0.5), log(dist.scale))), HALF_LOG_2PI));
}

/**
 * log p(z|θ) of the continuous, reparameterized samples z = T(θ, ε) [n, ...E],
 * summed over the event: [n]. For a Bernoulli z − logits is standard
 * logistic, log p = log σ(x) + log σ(−x) with x = z − logits; for a
 * categorical each z_k − log θ_k is standard Gumbel, log p = −x − e^{−x};
 * for a Normal, z is the sample itself.
 */
export function logDensity(dist: Dist, z: Tensor): Tensor {
  if (dist.family === 'bernoulli') {
    const x = sub(z, dist.logits);
    return sumEvent(add(logSigmoid(x), logSigmoid(neg(x))));
  }
  if (dist.family === 'categorical') {
    const x = sub(z, logSoftmax(dist.logits));
    return sumEvent(neg(add(x, exp(neg(x)))));
  }
  return logProb(dist, z);
}
