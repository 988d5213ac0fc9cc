// The Gumbel machinery: Gumbel-max, Gumbel-top-k, truncated Gumbels,
// exponential races, and the conditional relaxed samples z̃ ∼ p(z | b, θ)
// that REBAR and RELAX need.
//
//   Gumbel-max:  argmax_k (log θ_k + G_k) ∼ Cat(θ),  G_k iid standard Gumbel
//   race:        argmin_k E_k / λ_k ∼ Cat(λ / Σλ),  min_k E_k / λ_k ∼ Exp(Σλ),
//                independent;  with λ = θ and G = −log E this is Gumbel-max
//   truncated:   G ∼ Gumbel(μ) | G ≤ β  is  −log(e^−β + e^−μ · (−log u))
//
// (Maddison 2016, "A Poisson process model for Monte Carlo"; Maddison, Tarlow
// & Minka 2014, "A* sampling"; Tucker et al. 2017, "REBAR", appendix;
// Grathwohl et al. 2018, "Backpropagation through the void", appendix B.)
//
// Everything is a tensor with the sample axis first, and everything that is a
// reparameterization is built from engine ops, so it is differentiable in the
// parameters. The conditionals are written in log space (log-sigmoid,
// softplus, log1p, a max-shifted log-add-exp), so they stay finite at logits
// of ±50 and at uniforms as close to 0 or 1 as the generator makes them.

import {
  Tensor,
  formatShape,
  broadcastShapes,
  add,
  sub,
  mul,
  div,
  neg,
  abs,
  log,
  log1p,
  softplus,
  maximum,
  where,
  min,
  argmax,
  logSoftmax,
  oneHot,
  broadcastTo,
  stopGradient,
  sumToShape,
} from '../autodiff/index.ts';
import { alloc, allocToFill, shapesEqual } from '../autodiff/tensor.ts';
import { isRecording, record } from '../autodiff/tape.ts';
import { expKernel, logKernel, sigmoidKernel, softplusKernel } from '../autodiff/ops/kernels.ts';
import { repeats } from '../autodiff/ops/define.ts';
import { Rng } from './random.ts';

// ---------------------------------------------------------------- checks

function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Tensor) return `a Tensor of shape ${formatShape(x.shape)}`;
  return typeof x;
}

function requireTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${op}: ${name} must be a Tensor, got ${describeValue(x)}; wrap numbers with tensor([...])`);
  }
}

function requireLogits(op: string, logits: unknown): asserts logits is Tensor {
  requireTensor(op, 'logits', logits);
  if (logits.rank === 0 || logits.shape[logits.rank - 1] === 0) {
    throw new RangeError(`${op}: logits need a non-empty last (class) axis, got shape ${formatShape(logits.shape)}`);
  }
  const d = logits.data;
  for (let i = 0; i < d.length; i++) {
    if (!(d[i] < Infinity)) { // NaN or +Infinity, in one test (it runs over every tiled logit, every call)
      throw new RangeError(`${op}: logits must not be NaN or +Infinity, got ${d[i]} at flat index ${i}`);
    }
  }
}

/** Uniforms must lie in the open interval (0, 1), as rng(seed).uniform gives them. */
function requireOpenUnit(op: string, name: string, u: unknown): asserts u is Tensor {
  requireTensor(op, name, u);
  const d = u.data;
  for (let i = 0; i < d.length; i++) {
    if (!(d[i] > 0 && d[i] < 1)) {
      throw new RangeError(`${op}: ${name} must lie in the open interval (0, 1), got ${d[i]} at flat index ${i}; draw it with rng(seed).uniform(shape)`);
    }
  }
}

function requireBits(op: string, b: unknown): asserts b is Tensor {
  requireTensor(op, 'b', b);
  const d = b.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] !== 0 && d[i] !== 1) throw new RangeError(`${op}: b must hold 0s and 1s, got ${d[i]} at flat index ${i}`);
  }
}

function requireOneHot(op: string, b: unknown): asserts b is Tensor {
  requireBits(op, b);
  if (b.rank === 0) throw new RangeError(`${op}: b must be one-hot along its last axis, got a scalar`);
  const k = b.shape[b.rank - 1];
  const d = b.data;
  for (let row = 0; row * k < d.length; row++) {
    let ones = 0;
    for (let j = 0; j < k; j++) ones += d[row * k + j];
    if (ones !== 1) {
      throw new RangeError(`${op}: b must be one-hot along its last axis, but row ${row} has ${ones} ones; build it with oneHot(indices, ${k})`);
    }
  }
}

function requireSampleCount(op: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RangeError(`${op}: n must be a positive integer number of samples, got ${String(n)}`);
  }
}

/**
 * Standard Gumbel noise for `logits`: drawn as [n, ...logits.shape] from a
 * generator, or taken as given (any shape that broadcasts with logits).
 */
function gumbelNoise(op: string, logits: Tensor, noise: Rng | Tensor, n: number | undefined): Tensor {
  if (noise instanceof Rng) {
    const count = n ?? 1;
    requireSampleCount(op, count);
    // −log E with E ∼ Exp(1) is a standard Gumbel: this is the race of
    // exponentialRace read in log space (see gumbelMax).
    return neg(log(noise.exponential([count, ...logits.shape])));
  }
  if (noise instanceof Tensor) {
    if (n !== undefined) {
      throw new RangeError(`${op}: n = ${n} was given with a noise tensor of shape ${formatShape(noise.shape)}; pass n only with a generator`);
    }
    broadcastShapes(op, logits.shape, noise.shape);
    for (let i = 0; i < noise.data.length; i++) {
      if (!Number.isFinite(noise.data[i])) {
        throw new RangeError(`${op}: Gumbel noise must be finite, got ${noise.data[i]} at flat index ${i}; draw it with rng(seed).gumbel(shape)`);
      }
    }
    return noise;
  }
  throw new TypeError(`${op}: noise must be a generator (rng(seed)) or a Tensor of standard Gumbels, got ${describeValue(noise)}`);
}

// ---------------------------------------------------------------- log space

// log(eᵃ + eᵇ) = max(a, b) + log1p(e^−|a−b|) = max(a, b) + softplus(−|a − b|).
// The max-shift keeps every exponent ≤ 0, so nothing overflows; at a tie the
// gradient is ½ each (maximum splits it, |·| contributes 0), as it should be.
function logAddExp(a: Tensor, b: Tensor): Tensor {
  return add(maximum(a, b), softplus(neg(abs(sub(a, b)))));
}

// Truncated Gumbel without checks, for use inside this file.
//   x = −log(e^−β + e^−μ · (−log u)) = −logaddexp(−β, log(−log u) − μ)
function truncatedGumbelUnchecked(loc: Tensor, bound: Tensor, u: Tensor): Tensor {
  const logMinusLogU = log(neg(log(u))); // finite for u in (0, 1): between about −37 and 3.7
  return neg(logAddExp(neg(bound), sub(logMinusLogU, loc)));
}

// ---------------------------------------------------------------- Gumbel-max and top-k

export interface GumbelMaxResult {
  /** argmax_k z_k, the sampled class, as integers: [n, ...batch]. Constant. */
  index: Tensor;
  /** The same class one-hot, the project's hard categorical sample: [n, ...batch, K]. Constant. */
  sample: Tensor;
  /** z = logSoftmax(logits) + G, differentiable in logits: [n, ...batch, K]. */
  perturbed: Tensor;
}

/**
 * Gumbel-max.  b = argmax_k (log θ_k + G_k) ∼ Cat(θ),  θ = softmax(logits).
 * logits: [...batch, K]. noise: a generator (draws G as [n, ...batch, K]) or a
 * tensor of standard Gumbels that broadcasts with logits (for common random
 * numbers). `perturbed` follows the project's convention
 * z = logSoftmax(logits) + G: the same argmax as logits + G, and max_k z_k is
 * a standard Gumbel independent of the argmax.
 * With a generator G is drawn as −log E, E ∼ Exp(1): the argmax of z is then
 * the winner of the exponential race argmin_k E_k / θ_k.
 * Reference: Gumbel 1954; Maddison et al. 2014; Maddison 2016.
 */
export function gumbelMax(logits: Tensor, noise: Rng | Tensor, n?: number): GumbelMaxResult {
  requireLogits('gumbelMax', logits);
  const g = gumbelNoise('gumbelMax', logits, noise, n);
  const perturbed = add(logSoftmax(logits), g);
  const index = argmax(stopGradient(perturbed), -1);
  const sample = oneHot(index, logits.shape[logits.rank - 1]);
  return { index, sample, perturbed };
}

export interface GumbelTopKResult {
  /** The k largest perturbed logits' classes, largest first: [n, ...batch, k]. Constant. */
  indices: Tensor;
  /** The same k classes as a k-hot vector: [n, ...batch, K]. Constant. */
  mask: Tensor;
  /** z = logSoftmax(logits) + G, differentiable in logits: [n, ...batch, K]. */
  perturbed: Tensor;
}

/**
 * Gumbel-top-k.  The classes of the k largest logSoftmax(logits) + G, in
 * decreasing order, are k draws without replacement from Cat(θ): the ordered
 * k-tuple (i₁, …, i_k) has the Plackett–Luce probability
 * Π_j θ_{i_j} / (1 − θ_{i_1} − … − θ_{i_{j−1}}).
 * logits: [...batch, K]; 1 ≤ k ≤ K; noise as in gumbelMax.
 * Reference: Yellott 1977; Vieira 2014; Kool, van Hoof & Welling 2019.
 */
export function gumbelTopK(logits: Tensor, k: number, noise: Rng | Tensor, n?: number): GumbelTopKResult {
  requireLogits('gumbelTopK', logits);
  const classes = logits.shape[logits.rank - 1];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > classes) {
    throw new RangeError(`gumbelTopK: k must be an integer from 1 to ${classes} (the number of classes), got ${String(k)}`);
  }
  const g = gumbelNoise('gumbelTopK', logits, noise, n);
  const perturbed = add(logSoftmax(logits), g);
  const z = perturbed.data;
  const lanes = z.length / classes;
  const indices = new Float64Array(lanes * k);
  const mask = new Float64Array(z.length);
  const order = new Int32Array(classes);
  for (let lane = 0; lane < lanes; lane++) {
    const base = lane * classes;
    for (let j = 0; j < classes; j++) order[j] = j;
    // Partial selection sort: k passes, each moving the next largest forward.
    for (let r = 0; r < k; r++) {
      let best = r;
      for (let j = r + 1; j < classes; j++) if (z[base + order[j]] > z[base + order[best]]) best = j;
      const t = order[r];
      order[r] = order[best];
      order[best] = t;
      indices[lane * k + r] = order[r];
      mask[base + order[r]] = 1;
    }
  }
  const batch = perturbed.shape.slice(0, -1);
  return { indices: new Tensor(indices, [...batch, k]), mask: new Tensor(mask, perturbed.shape), perturbed };
}

// ---------------------------------------------------------------- truncated Gumbel

/**
 * Truncated Gumbel.  X ∼ Gumbel(μ) conditioned on X ≤ β, by inverting its CDF
 * F(x) = exp(−e^−(x−μ)) / exp(−e^−(β−μ)) at a uniform u:
 *   x = −log(e^−β + e^−μ · (−log u)),
 * computed as −logaddexp(−β, log(−log u) − μ), which never overflows and is
 * never above β (the log-add-exp is at least −β, also in floating point).
 * loc (μ) and bound (β) are tensors (or numbers) that broadcast with u;
 * differentiable in both: ∂x/∂β = w, ∂x/∂μ = 1 − w with
 * w = e^−β / (e^−β + e^−μ(−log u)). u: uniforms in the open interval (0, 1).
 * Reference: Maddison, Tarlow & Minka 2014 (A* sampling); Tucker et al. 2017, appendix.
 */
export function truncatedGumbel(loc: Tensor | number, bound: Tensor | number, u: Tensor): Tensor {
  const mu = asTensor('truncatedGumbel', 'loc', loc);
  const beta = asTensor('truncatedGumbel', 'bound', bound);
  requireOpenUnit('truncatedGumbel', 'u', u);
  broadcastShapes('truncatedGumbel', broadcastShapes('truncatedGumbel', mu.shape, beta.shape), u.shape);
  return truncatedGumbelUnchecked(mu, beta, u);
}

function asTensor(op: string, name: string, x: Tensor | number): Tensor {
  if (typeof x === 'number') x = new Tensor(Float64Array.of(x), []);
  requireTensor(op, name, x);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) throw new RangeError(`${op}: ${name} must be finite, got ${d[i]} at flat index ${i}`);
  }
  return x;
}

// ---------------------------------------------------------------- exponential races

export interface ExponentialRaceResult {
  /** Which clock rang first: [n, ...batch], integers. Constant. */
  argmin: Tensor;
  /** When it rang, min_k E_k / λ_k ∼ Exp(Σλ): [n, ...batch], differentiable in rates. */
  min: Tensor;
  /** All the clocks, E_k / λ_k: [n, ...batch, K]. */
  times: Tensor;
}

/**
 * Exponential race.  With T_k = E_k / λ_k, E_k iid Exp(1) (so T_k ∼ Exp(λ_k)),
 *   argmin_k T_k ∼ Cat(λ / Σλ),   min_k T_k ∼ Exp(Σλ),   and the two are independent.
 * rates (λ): [...batch, K], positive and finite; the race runs along the last
 * axis. noise: a generator (draws E as [n, ...batch, K]) or a tensor of
 * positive unit-rate exponentials that broadcasts with rates.
 * Taking λ = exp(logits − max logits) (never overflows) makes this Gumbel-max:
 * argmin_k E_k/λ_k = argmax_k (logits_k − log E_k), and −log E_k is a standard Gumbel.
 * Reference: Maddison 2016, §2; Durrett, "Probability", exponential races.
 */
export function exponentialRace(rates: Tensor, noise: Rng | Tensor, n?: number): ExponentialRaceResult {
  requireTensor('exponentialRace', 'rates', rates);
  if (rates.rank === 0 || rates.shape[rates.rank - 1] === 0) {
    throw new RangeError(`exponentialRace: rates need a non-empty last axis of clocks, got shape ${formatShape(rates.shape)}`);
  }
  const r = rates.data;
  for (let i = 0; i < r.length; i++) {
    if (!(r[i] > 0 && r[i] < Infinity)) {
      throw new RangeError(`exponentialRace: rates must be positive and finite, got ${r[i]} at flat index ${i}; for logits use exp(logits − max(logits))`);
    }
  }
  let e: Tensor;
  if (noise instanceof Rng) {
    const count = n ?? 1;
    requireSampleCount('exponentialRace', count);
    e = noise.exponential([count, ...rates.shape]);
  } else if (noise instanceof Tensor) {
    if (n !== undefined) {
      throw new RangeError(`exponentialRace: n = ${n} was given with a noise tensor of shape ${formatShape(noise.shape)}; pass n only with a generator`);
    }
    broadcastShapes('exponentialRace', rates.shape, noise.shape);
    for (let i = 0; i < noise.data.length; i++) {
      if (!(noise.data[i] > 0 && noise.data[i] < Infinity)) {
        throw new RangeError(`exponentialRace: exponential noise must be positive and finite, got ${noise.data[i]} at flat index ${i}; draw it with rng(seed).exponential(shape)`);
      }
    }
    e = noise;
  } else {
    throw new TypeError(`exponentialRace: noise must be a generator (rng(seed)) or a Tensor of unit exponentials, got ${describeValue(noise)}`);
  }
  const times = div(e, rates); // [n, ...batch, K]
  const argmin = argmax(neg(stopGradient(times)), -1); // first index at a tie, which has probability 0
  return { argmin, min: min(times, -1), times };
}


// ---------------------------------------------------------------- conditionals for REBAR and RELAX

/**
 * Conditional logistic sample for a Bernoulli.  With z = logits + log u − log(1 − u),
 * b = [z > 0] and θ = σ(logits), returns z̃ ∼ p(z | b, θ) as a function of a
 * fresh uniform v: the uniform is moved into the part of (0, 1) that gives b,
 *   v' = b·(1 − θ + vθ) + (1 − b)·v(1 − θ),   z̃ = logits + log v' − log(1 − v'),
 * which simplifies exactly (σ(l)/σ(−l) = eˡ) to
 *   b = 1:  z̃ = softplus(logits + log v) − log1p(−v)   > 0
 *   b = 0:  z̃ = log v − softplus(log1p(−v) − logits)   < 0
 * both finite for any finite logits and v in (0, 1), and differentiable in logits.
 * logits: [D] (or anything that broadcasts); b: 0/1, e.g. [n, D]; v: uniforms
 * in the open interval (0, 1), same shape as b.
 * Reference: Tucker et al. 2017 (REBAR), appendix; Grathwohl et al. 2018 (RELAX), appendix B.
 */
export function conditionalLogistic(logits: Tensor, b: Tensor, v: Tensor): Tensor {
  requireConditionalLogits('conditionalLogistic', logits);
  requireBits('conditionalLogistic', b);
  requireOpenUnit('conditionalLogistic', 'v', v);
  broadcastShapes('conditionalLogistic', broadcastShapes('conditionalLogistic', logits.shape, b.shape), v.shape);
  return conditionalLogisticUnchecked(logits, b, v);
}

/**
 * The checks that conditionalLogistic or conditionalGumbel (`op`) make of
 * their logits, with the same errors: for estimators that call the unchecked
 * cores below, whose b and v are valid by construction but whose logits come
 * from the user.
 */
export function requireConditionalLogits(op: 'conditionalLogistic' | 'conditionalGumbel', logits: unknown): asserts logits is Tensor {
  if (op === 'conditionalGumbel') return requireLogits(op, logits);
  requireTensor(op, 'logits', logits);
  for (let i = 0; i < logits.data.length; i++) {
    if (!Number.isFinite(logits.data[i])) throw new RangeError(`${op}: logits must be finite, got ${logits.data[i]} at flat index ${i}`);
  }
}

/**
 * conditionalLogistic without the argument checks, for estimators whose b
 * (from H(z)) and v (from a generator) are valid by construction.
 */
export function conditionalLogisticUnchecked(logits: Tensor, b: Tensor, v: Tensor): Tensor {
  if (!shapesEqual(b.shape, v.shape)) {
    const logV = log(v);
    const logOneMinusV = log1p(neg(v));
    const above = sub(softplus(add(logits, logV)), logOneMinusV); // z̃ | b = 1
    const below = sub(logV, softplus(sub(logOneMinusV, logits))); // z̃ | b = 0
    return where(stopGradient(b), above, below);
  }
  const shape = broadcastShapes('conditionalLogistic', logits.shape, b.shape);
  if (!shapesEqual(shape, b.shape)) return conditionalLogisticUnchecked(broadcastTo(logits, shape), broadcastTo(b, shape), broadcastTo(v, shape));
  // logits repeat along b's leading axes (a period of L elements), or are spread out to b's shape first.
  const l = repeats(logits.shape, shape) ? logits : broadcastTo(logits, shape);
  return signedSoftplus(l, b, v);
}

// The two branches of conditionalLogistic as one expression in the logits l,
//   z̃ = s·softplus(u) + c,   u = s·l + a,
//   b = 1:  s = 1,  a = log v,        c = −log(1 − v)
//   b = 0:  s = −1, a = log(1 − v),   c = log v
// taken as one op: one loop forward, and one backward node,
//   ∂z̃/∂l = s·σ(u)·s = σ(u)   (s² = 1).
// Multiplying by ±1 is exact, so the values and the derivatives are those of
// the branches written as separate ops (a spec compares them bit for bit).
// l repeats with period L = l.size along b (b and v have one shape).
function signedSoftplus(l: Tensor, b: Tensor, v: Tensor): Tensor {
  const L = l.data;
  const B = b.data;
  const V = v.data;
  const period = L.length;
  const inner = isRecording() ? allocToFill(B.length) : null; // u, for the backward pass only
  const out = alloc(B.length);
  for (let i = 0, j = 0; i < B.length; i++, j = j + 1 === period ? 0 : j + 1) {
    const logV = logKernel(V[i]);
    const logOneMinusV = Math.log1p(-V[i]);
    if (B[i] !== 0) {
      const u = L[j] + logV;
      if (inner !== null) inner[i] = u;
      out[i] = softplusKernel(u) + -logOneMinusV;
    } else {
      const u = -L[j] + logOneMinusV;
      if (inner !== null) inner[i] = u;
      out[i] = -softplusKernel(u) + logV;
    }
  }
  const result = new Tensor(out, b.shape);
  if (inner === null) return result;
  return record('conditionalLogistic', [l], result, (g) => {
    // Recorded (a gradient of this gradient is wanted): σ(u), u = s·l + a, as an op on l
    // from its values (∂/∂l = s σ(u)(1 − σ(u)), s = 1 where b = 1 and −1 where b = 0).
    if (isRecording()) {
      const S = allocToFill(inner.length);
      for (let i = 0; i < S.length; i++) S[i] = sigmoidKernel(inner[i]);
      const sign = new Tensor(B.map((bit) => (bit !== 0 ? 1 : -1)), b.shape);
      return [sumToShape(mul(g, sigmoidFromValues(l, new Tensor(S, b.shape), sign)), l.shape)];
    }
    const G = g.data;
    const slope = allocToFill(G.length); // every element written
    for (let i = 0; i < G.length; i++) slope[i] = G[i] * sigmoidKernel(inner[i]);
    return [sumToShape(new Tensor(slope, b.shape), l.shape)];
  });
}

/**
 * Conditional Gumbel sample for a categorical.  With z = logSoftmax(logits) + G
 * and b = onehot(argmax z), returns z̃ ∼ p(z | b, θ) from fresh uniforms v:
 * the maximum is a standard Gumbel (location logsumexp(log θ) = 0) independent
 * of which class won, and given it the others are independent Gumbels at
 * location log θ_k truncated below it:
 *   z̃_b = −log(−log v_b)
 *   z̃_k = −log(e^−z̃_b − log v_k / θ_k) = −log(−log v_b − log v_k / θ_k),   k ≠ b,
 * that is truncatedGumbel(log θ_k, z̃_b, v_k), in log space where −log v_k / θ_k
 * would overflow. Differentiable
 * in logits (z̃_b does not depend on them).
 * logits: [...batch, K] ([K], or [D, K] for a product); b: one-hot,
 * [n, ...batch, K]; v: uniforms in the open interval (0, 1), same shape as b.
 * Reference: Tucker et al. 2017 (REBAR), appendix; Grathwohl et al. 2018 (RELAX), appendix B;
 * Maddison, Tarlow & Minka 2014.
 */
export function conditionalGumbel(logits: Tensor, b: Tensor, v: Tensor): Tensor {
  requireLogits('conditionalGumbel', logits);
  requireOneHot('conditionalGumbel', b);
  requireOpenUnit('conditionalGumbel', 'v', v);
  if (v.rank !== b.rank || v.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`conditionalGumbel: v ${formatShape(v.shape)} must have the shape of b ${formatShape(b.shape)}`);
  }
  if (b.shape[b.rank - 1] !== logits.shape[logits.rank - 1]) {
    throw new RangeError(`conditionalGumbel: b has ${b.shape[b.rank - 1]} classes ${formatShape(b.shape)}, logits ${logits.shape[logits.rank - 1]} ${formatShape(logits.shape)}`);
  }
  broadcastShapes('conditionalGumbel', logits.shape, b.shape);
  return conditionalGumbelUnchecked(logSoftmax(logits), b, v);
}

/**
 * conditionalGumbel from log θ = logSoftmax(logits) [...batch, K], already
 * computed (an estimator shares it with z and log p(b|θ)), without the
 * argument checks: for estimators whose b (from H(z)) and v (from a
 * generator) are valid by construction.
 */
export function conditionalGumbelUnchecked(logTheta: Tensor, b: Tensor, v: Tensor): Tensor {
  // log θ with more axes than v (or longer ones): b and v spread out to the joint shape first.
  const shape = broadcastShapes('conditionalGumbel', logTheta.shape, v.shape);
  if (!shapesEqual(shape, v.shape)) return conditionalGumbelUnchecked(logTheta, broadcastTo(stopGradient(b), shape), broadcastTo(v, shape));
  // b spread to v's shape if it has fewer axes (the loop reads both element by element).
  const hot = shapesEqual(b.shape, v.shape) ? b : broadcastTo(stopGradient(b), v.shape);
  // log θ repeats along v's leading axes (a period of its size, whole rows of K), or is spread out to v's shape first.
  const K = v.shape[v.rank - 1];
  const l = repeats(logTheta.shape, v.shape) && logTheta.size % K === 0 ? logTheta : broadcastTo(logTheta, v.shape);
  return truncatedRows(l, hot.data, v);
}

/**
 * σ(u) as an op on l, for u = s ⊙ l + a elementwise (l repeating along u's
 * leading axes), from its values S, already computed: the recorded backward
 * passes of the conditional samplers, whose forward passes know σ(u) (or the
 * same quantity in another form) element by element. Its VJP,
 * s ⊙ S ⊙ (1 − S) summed back to l's shape, is written with S itself, so a
 * derivative of any order is correct; an element where S is 0 (the sampled
 * class of a categorical) has derivative 0.
 */
function sigmoidFromValues(l: Tensor, S: Tensor, s: Tensor | number): Tensor {
  if (!isRecording()) return S;
  return record('sigmoidFromValues', [l], S, (g) => [sumToShape(mul(mul(g, s), mul(S, sub(1, S))), l.shape)]);
}

// z̃ | b for every row of K classes as one op. With E = −log v (exponential
// arrival times) and 1/θ_k = e^−log θ_k:
//   z̃_b = t = −log E_b           (the row's class b, where θ does not enter)
//   z̃_k = −log(E_b + E_k/θ_k),    k ≠ b
// two logs per element where the log-space form −logaddexp(−t, c_k),
// c_k = log E_k − log θ_k, takes three and an exponential; both terms of the
// sum are positive, so it loses nothing to cancellation. Where E_k/θ_k
// overflows (log θ_k below about −700) the log-space form takes over, so z̃
// stays finite for any finite logits. One backward node:
//   ∂z̃_k/∂log θ_k = (E_k/θ_k) / (E_b + E_k/θ_k) = σ(c_k + t),   0 at b,
// kept from the forward pass as a share.
// l (log θ) repeats with period l.size along v; B is b's data, of v's shape.
function truncatedRows(l: Tensor, B: Float64Array, v: Tensor): Tensor {
  const L = l.data;
  const V = v.data;
  const K = v.shape[v.rank - 1];
  const period = L.length;
  // 1/θ_k = e^−log θ_k, once per element of log θ (K of them when log θ repeats along v).
  const inverse = alloc(period);
  for (let j = 0; j < period; j++) inverse[j] = expKernel(-L[j]);
  const out = allocToFill(V.length);
  const share = allocToFill(V.length); // ∂z̃_k/∂log θ_k = (E_k/θ_k) / later, 0 at b
  // E = −log v first, in a pass of its own (kept in out until z̃ replaces it):
  // independent logarithms overlap in the processor, where one that waits on
  // another makes a chain (the same values as taking it inside the loop below).
  for (let i = 0; i < V.length; i++) out[i] = -logKernel(V[i]);
  for (let row = 0; row < V.length; row += K) {
    let vb = 0; // Σ_k b_k v_k: v at the row's class
    for (let k = 0; k < K; k++) vb += B[row + k] * V[row + k];
    const first = -logKernel(vb); // E_b = e^−z̃_b
    const t = -logKernel(first);
    for (let k = 0, j = row % period; k < K; k++, j++) {
      const i = row + k;
      if (B[i] !== 0) {
        out[i] = t;
        share[i] = 0;
        continue;
      }
      const late = out[i] * inverse[j]; // E_k/θ_k
      const later = first + late;
      if (later < Infinity) {
        out[i] = -logKernel(later);
        share[i] = late / later;
      } else {
        // θ_k so small that E_k/θ_k overflows: the same in log space, −logaddexp(−t, c).
        const a = -t;
        const c = logKernel(out[i]) - L[j];
        out[i] = -((a > c ? a : c) + softplusKernel(-Math.abs(a - c)));
        share[i] = sigmoidKernel(c + t);
      }
    }
  }
  const result = new Tensor(out, v.shape);
  if (!isRecording()) return result;
  return record('conditionalGumbel', [l], result, (g) => {
    // Recorded (a gradient of this gradient is wanted): the share σ(log E_k − log θ_k + t),
    // 0 at b, as an op on l from its values (∂/∂log θ_k = −share (1 − share)).
    if (isRecording()) return [sumToShape(mul(g, sigmoidFromValues(l, new Tensor(share, v.shape), -1)), l.shape)];
    const G = g.data;
    const slope = allocToFill(G.length);
    for (let i = 0; i < G.length; i++) slope[i] = B[i] !== 0 ? 0 : G[i] * share[i];
    return [sumToShape(new Tensor(slope, v.shape), l.shape)];
  });
}
