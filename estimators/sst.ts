// Stochastic argmax and softmax tricks (Paulus, Choi, Tarlow, Krause &
// Maddison 2020, "Gradient estimation with stochastic softmax tricks"), and
// score-function baselines on the same structured variables.
//
// A finite set of structures 𝒳 ⊂ {0,1}^d, utilities θ and Gumbel noise G:
//
//   stochastic argmax trick (SMT)    U = θ + G,   X = argmax_{x ∈ 𝒳} Uᵀx
//   stochastic softmax trick (SST)   X_t = argmax_{x ∈ conv 𝒳} Uᵀx − t·Ω(x)
//
// With Ω the exponential-family entropy (the convex conjugate of the log-
// partition), X_t = ∇_U t·log Σ_{x∈𝒳} exp(Uᵀx / t): the marginals of the
// Gibbs distribution p(x) ∝ exp(Uᵀx / t), which tend to X as t → 0.
//   one-hot:         X = onehot(argmax U),   X_t = softmax(U/t)            (Gumbel-softmax)
//   k-subsets:       X = top k of U,          X_t = ∇ log e_k(e^{U/t})     (lib/structures: the DP)
//   spanning trees:  X = Kruskal's max tree,  X_t = ∇ log det L̂(e^{U/t})  (matrix-tree theorem)
//   arborescences:   X = Edmonds' max arborescence,  X_t = ∇ log det L̂_in(e^{U/t})  (Tutte's directed theorem)
// Every X_t is built from engine ops (the DP, the elimination, their
// gradients), so its Jacobian in U is exact, to any order.
//
// The SST estimator is ĝ = ∇θ f(X_t) (biased; the bias vanishes as t → 0
// while the variance grows); straight-through SST is ĝ = (∂f/∂x)(X) ∇θ X_t.
// The score-function baselines are unbiased:
//   REINFORCE on X   ĝ = (f(X) − β) ∇θ log p(X|θ), with p(X|θ) the exact law
//                    of the argmax (lib/structures: Plackett–Luce sums for
//                    k-subsets, the greedy DP for trees);
//   REINFORCE on U   ĝ = (f(X) − β) ∇θ log q(U|θ), q the density of U, which
//                    always exists: Σ_e −(U_e − θ_e) − e^{−(U_e − θ_e)}.
//
// Noise conventions (estimators/families.ts): U = logSoftmax(θ) + G for the
// categorical and the subset (the shift changes no argmax and no marginal),
// U = θ + G for spanning trees and arborescences; the relaxed SST of a
// categorical takes gumbelSoftmax's U (relaxationBase: θ + G at a temperature
// the same for every class), so that the two are the same computation. Every
// surrogate reports f at the hard X.
// The arborescence's argmax is not greedy on a matroid, so its law has no
// known closed form: REINFORCE on X does not apply, REINFORCE on U does.

import { Tensor, add, sub, div, mul, sum, exp, neg, concat, slice, logSoftmax, argmax, oneHot, stopGradient, formatShape } from '../autodiff/index.ts';
import { temperedSoftmax } from '../autodiff/ops/reduce.ts'; // softmax(u / t), one op
import { rng as makeRng, type Rng } from '../lib/random.ts';
import { Welford } from '../lib/stats.ts';
import {
  topKMask, subsetMarginals, subsetLogProb, kruskal, spanningTreeMarginals, spanningTreeLogProb, maxArborescence, arborescenceMarginals,
  type Graph, type Digraph,
} from '../lib/structures.ts';
import { checkSamples, eventShape, sumEvent, relaxationBase, type CategoricalDist, type SubsetDist, type SpanningTreeDist, type ArborescenceDist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, estimateGradient, type Estimator, type Surrogate, type SurrogateOptions } from './estimator.ts';
import { DEFAULT_TEMPERATURE } from './relaxations.ts';

/** The descriptors these estimators take: a categorical (one-hot), a k-subset, a spanning tree, an arborescence. */
export type SstDist = CategoricalDist | SubsetDist | SpanningTreeDist | ArborescenceDist;

const ALL: readonly Family[] = ['categorical', 'subset', 'spanning-tree', 'arborescence'];
/** The families whose argmax has a tractable law (REINFORCE on X). */
const WITH_LAW: readonly Family[] = ['categorical', 'subset', 'spanning-tree'];
/** What the registry entries list: the structured families (the categorical has its own estimators). */
const STRUCTURED: readonly Family[] = ['subset', 'spanning-tree'];

// ---------------------------------------------------------------- structures

/** A finite set of structures 𝒳 ⊂ {0,1}^d with its argmax and its regularized argmax. */
export interface Structure {
  readonly name: string;
  /** X = argmax_{x∈𝒳} Uᵀx for each row of U [..., d]: 0/1, a constant. */
  argmax(u: Tensor): Tensor;
  /**
   * X_t = argmax_{x∈conv 𝒳} Uᵀx − t·Ω(x), Ω the exponential-family entropy:
   * the Gibbs marginals at U/t. Differentiable in U and in t.
   */
  relax(u: Tensor, temperature: number | Tensor): Tensor;
}

/** One-hot vectors along the last axis: X = onehot(argmax U), X_t = softmax(U/t) (Gumbel-softmax). */
export const oneHotStructure: Structure = {
  name: 'one-hot',
  argmax: (u) => {
    const c = stopGradient(u);
    return oneHot(argmax(c, -1), c.shape[c.rank - 1]);
  },
  relax: (u, t) => temperedSoftmax(u, t), // softmax(u / t) as one op
};

/** k-subsets of the last axis: X = the top k of U, X_t = ∇ log e_k(e^{U/t}) (lib/structures). */
export function subsetStructure(k: number): Structure {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`subsetStructure: k must be a positive integer, got ${k}`);
  return {
    name: `${k}-subset`,
    argmax: (u) => topKMask(stopGradient(u), k),
    relax: (u, t) => subsetMarginals(div(u, t), k),
  };
}

/** Spanning trees of g, over its edges: X = Kruskal's maximum spanning tree of U, X_t = ∇ log det L̂(e^{U/t}). */
export function spanningTreeStructure(g: Graph): Structure {
  return {
    name: `spanning tree of ${g.nodes} nodes`,
    argmax: (u) => kruskal(g, stopGradient(u)),
    relax: (u, t) => spanningTreeMarginals(g, div(u, t)),
  };
}

/** Arborescences of d rooted at d.root, over its arcs: X = Edmonds' maximum arborescence of U, X_t = ∇ log det L̂_in(e^{U/t}). */
export function arborescenceStructure(d: Digraph): Structure {
  return {
    name: `arborescence of ${d.nodes} nodes rooted at ${d.root}`,
    argmax: (u) => maxArborescence(d, stopGradient(u)),
    relax: (u, t) => arborescenceMarginals(d, div(u, t)),
  };
}

/** The structure a descriptor samples. */
export function structureOf(dist: SstDist): Structure {
  if (dist.family === 'subset') return subsetStructure(dist.k);
  if (dist.family === 'spanning-tree') return spanningTreeStructure(dist.graph);
  if (dist.family === 'arborescence') return arborescenceStructure(dist.digraph);
  return oneHotStructure;
}

/**
 * The stochastic softmax trick's sample from utilities U [..., d]: X_t, or
 * with `straightThrough` the hard X in value with X_t's gradient,
 * X + X_t − stop(X_t).
 */
export function stochasticSoftmax(structure: Structure, u: Tensor, temperature: number | Tensor, options: { straightThrough?: boolean } = {}): Tensor {
  const soft = structure.relax(u, checkTemperature('stochasticSoftmax', temperature));
  if (!options.straightThrough) return soft;
  return add(structure.argmax(u), sub(soft, stopGradient(soft)));
}

// ---------------------------------------------------------------- noise, U, X, laws

function checkTemperature(name: string, t: unknown): number | Tensor {
  if (typeof t === 'number') {
    if (!(t > 0 && t < Infinity)) throw new RangeError(`${name}: temperature must be a positive finite number, got ${t}; try ${DEFAULT_TEMPERATURE}`);
    return t;
  }
  if (!(t instanceof Tensor)) throw new TypeError(`${name}: temperature must be a number or a Tensor, got ${t === null ? 'null' : typeof t}`);
  for (let i = 0; i < t.data.length; i++) {
    if (!(t.data[i] > 0 && t.data[i] < Infinity)) {
      throw new RangeError(`${name}: temperature must be positive and finite, got ${t.data[i]} at flat index ${i} of a tensor of shape ${formatShape(t.shape)}`);
    }
  }
  return t;
}

/** Checks the descriptor, its family, and (for the structured ones) that one sample is a vector. */
export function checkSstDist(name: string, dist: SstDist, families: readonly Family[], tiled = false): void {
  if (typeof dist !== 'object' || dist === null || !('family' in dist)) {
    throw new TypeError(`${name}: expected a descriptor such as subset(logits, k) or spanningTree(logits, graph), got ${String(dist)}`);
  }
  if (!families.includes(dist.family)) throw new RangeError(`${name}: does not support the ${dist.family} family; it supports ${families.join(', ')}`);
  const p = dist.logits;
  if (!(p instanceof Tensor)) throw new TypeError(`${name}: the ${dist.family} logits must be a Tensor`);
  const event = eventShape(dist, tiled);
  if (event.length < 1) throw new RangeError(`${name}: ${dist.family} logits need an item axis, got shape ${formatShape(p.shape)}`);
  if (dist.family === 'categorical') return;
  if (event.length !== 1) {
    throw new RangeError(`${name}: ${dist.family} logits must be one vector${tiled ? ' per sample' : ''}, got shape ${formatShape(p.shape)}`);
  }
  const d = event[0];
  if (dist.family === 'subset' && !(Number.isInteger(dist.k) && dist.k >= 1 && dist.k <= d)) {
    throw new RangeError(`${name}: subset k must be an integer from 1 to ${d} (the number of items), got ${String(dist.k)}`);
  }
  if (dist.family === 'spanning-tree') {
    const g = dist.graph;
    if (g === null || typeof g !== 'object' || !Array.isArray(g.edges)) throw new TypeError(`${name}: a spanning-tree descriptor needs a graph from graph(nodes, edges)`);
    if (g.edges.length !== d) throw new RangeError(`${name}: spanning-tree logits of shape ${formatShape(p.shape)} must have one entry per edge (${g.edges.length})`);
  }
  if (dist.family === 'arborescence') {
    const g = dist.digraph;
    if (g === null || typeof g !== 'object' || !Array.isArray(g.arcs)) throw new TypeError(`${name}: an arborescence descriptor needs a directed graph from digraph(nodes, arcs, root)`);
    if (g.arcs.length !== d) throw new RangeError(`${name}: arborescence logits of shape ${formatShape(p.shape)} must have one entry per arc (${g.arcs.length})`);
  }
}

/** U = logSoftmax(θ) + G (categorical, subset) or θ + G (spanning tree, arborescence): differentiable in θ. */
export function perturbStructured(dist: SstDist, noise: Tensor): Tensor {
  return add(locationOf(dist), noise);
}

/**
 * U as the relaxed SST perturbs it: a categorical's as gumbelSoftmax's
 * (families.ts relaxationBase: θ + G where t is one value for every class,
 * since softmax(U/t) and the argmax do not see the constant per row by which
 * it differs from logSoftmax(θ) + G); otherwise perturbStructured's U.
 */
function relaxedInput(dist: SstDist, noise: Tensor, t: Tensor | number): Tensor {
  return dist.family === 'categorical' ? add(relaxationBase(dist, t), noise) : perturbStructured(dist, noise);
}

/** Where the Gumbel noise is centred: logSoftmax(θ) for the categorical and the subset, θ otherwise. */
function locationOf(dist: SstDist): Tensor {
  return dist.family === 'categorical' || dist.family === 'subset' ? logSoftmax(dist.logits, -1) : dist.logits;
}

/** Standard Gumbel noise for n samples: [n, ...E]. */
export function drawStructuredNoise(dist: SstDist, rng: Rng, n: number, tiled = false): Tensor {
  return rng.gumbel([n, ...eventShape(dist, tiled)]);
}

/** n hard samples X = argmax (U)ᵀx: [n, ...E], constants. */
export function sampleStructured(dist: SstDist, rng: Rng, n: number, tiled = false): Tensor {
  return structureOf(dist).argmax(stopGradient(perturbStructured(dist, drawStructuredNoise(dist, rng, n, tiled))));
}

/**
 * log p(X|θ) of hard samples x [n, ...E], summed over the event: [n]. The
 * exact law of the argmax: the categorical's log-softmax, the Plackett–Luce
 * sum for subsets, the greedy DP for trees (lib/structures).
 */
export function structuredLogProb(dist: SstDist, x: Tensor): Tensor {
  if (dist.family === 'subset') return subsetLogProb(dist.logits, x, dist.k);
  if (dist.family === 'spanning-tree') return spanningTreeLogProb(dist.graph, dist.logits, x);
  if (dist.family === 'arborescence') {
    throw new RangeError('structuredLogProb: the law of the maximum arborescence of perturbed weights has no known closed form; use reinforceNoise, whose score needs only the density of U');
  }
  return sumEvent(mul(x, logSoftmax(dist.logits, -1)));
}

/** log q(U|θ), the density of the perturbed utilities [n, ...E]: Σ −y − e^{−y}, y = U − loc(θ) standard Gumbel. [n]. */
export function noiseLogDensity(dist: SstDist, u: Tensor): Tensor {
  const y = sub(u, locationOf(dist));
  return sumEvent(neg(add(y, exp(neg(y)))));
}

// ---------------------------------------------------------------- the estimators

export interface SstOptions extends SurrogateOptions<undefined> {
  /** t, the temperature (default 0.5): a positive number, or a tensor of them. */
  temperature?: number | Tensor;
  /** Forward the hard X, backward through X_t (default false). */
  straightThrough?: boolean;
}

/** x − stop(x): value exactly zero, gradient that of x. */
function gradientOnly(x: Tensor): Tensor {
  return sub(x, stopGradient(x));
}

/**
 * Stochastic softmax trick.  ĝ = ∇θ f(X_t),  X_t = argmax_{x∈conv 𝒳} Uᵀx − tΩ(x),  U = θ + G
 * (straight-through: ĝ = (∂f/∂x)(X) ∇θ X_t, with f called on X + X_t − stop(X_t))
 * Requires: f defined and differentiable on conv 𝒳 (straight-through: at
 * the structures).  Unbiased: no; the bias vanishes as t → 0 while the variance grows.
 * Reference: Paulus, Choi, Tarlow, Krause & Maddison 2020, §3–4 (one-hot:
 * Maddison et al. 2017, Jang et al. 2017).
 *
 * θ → `dist.logits`, t → `options.temperature` (default 0.5). For a
 * categorical this is gumbelSoftmax (stGumbelSoftmax with straightThrough),
 * the same operations on the same noise. The value reported is f(X): per
 * sample f(X) + f(X_t) − f(X_t(stop U, stop t)), so a parameter inside f (a
 * decoder's) gets ∇f(X) once and θ, t get the relaxed path.
 */
export function sst(dist: SstDist, f: SampleFunction, rng: Rng, options: SstOptions = {}): Surrogate<undefined> {
  const name = options.straightThrough ? 'st-sst' : 'sst';
  const tiled = options.tiled ?? false;
  checkSstDist(name, dist, ALL, tiled);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const t = checkTemperature(name, options.temperature ?? DEFAULT_TEMPERATURE);
  const structure = structureOf(dist);
  const u = relaxedInput(dist, drawStructuredNoise(dist, rng, n, tiled), t); // [n, ...E]
  const x = structure.argmax(u); // [n, ...E], a constant
  const soft = structure.relax(u, t); // [n, ...E]
  if (options.straightThrough) {
    const fx = evaluate(name, f, add(x, gradientOnly(soft)), n); // value f(X) exactly, since X + 0 = X
    return surrogateOf(fx, fx, undefined);
  }
  // f(X) + f(X_t) − f(X_t at stop(U), stop(t)), in one call of f: the last two cancel in value and
  // in the gradient of any parameter inside f (which gets ∇f(X) once), while θ and t get the relaxed path.
  const softConst = structure.relax(stopGradient(u), t instanceof Tensor ? stopGradient(t) : t);
  const all = evaluate(name, f, concat([x, soft, softConst], 0), 3 * n); // [3n]
  const fx = slice(all, 0, 0, n);
  const pathOnly = sub(slice(all, 0, n, 2 * n), slice(all, 0, 2 * n, 3 * n)); // value 0
  return surrogateOf(add(fx, pathOnly), fx, undefined);
}

export type StructuredBaseline = 'none' | 'leave-one-out';

export interface StructuredReinforceOptions extends SurrogateOptions<undefined> {
  /** β: none, or the mean of f over the other samples of the call (RLOO). Default none. */
  baseline?: StructuredBaseline;
}

function baselineOf(name: string, kind: StructuredBaseline, fc: Tensor, n: number): Tensor | number {
  if (kind === 'none') return 0;
  if (kind === 'leave-one-out') return div(sub(sum(fc), fc), n - 1); // β_i = mean of the others
  throw new RangeError(`${name}: unknown baseline '${String(kind)}'; use none or leave-one-out`);
}

/**
 * Score function on the structure.  ĝ = (f(X) − β) ∇θ log p(X|θ)
 * Requires: the exact law of X (k-subsets: a DP over the 2^k subsets of X;
 * trees: over the 2^(V−1) subsets of the tree); f arbitrary.  Unbiased: yes.
 * Reference: Williams 1992; Kool, van Hoof & Welling 2020 (the unordered
 * set's probability); Kool et al. 2019 (leave-one-out).
 *
 * θ → `dist.logits`, β → `options.baseline`. Per sample
 * f(X) + (f(X) − β)(log p − stop(log p)).
 */
export function reinforceStructure(dist: SstDist, f: SampleFunction, rng: Rng, options: StructuredReinforceOptions = {}): Surrogate<undefined> {
  const name = 'reinforce-structure';
  const tiled = options.tiled ?? false;
  checkSstDist(name, dist, WITH_LAW, tiled);
  const n = options.n ?? 1;
  const kind = options.baseline ?? 'none';
  checkSamples(name, n, kind === 'leave-one-out' ? 2 : 1);
  const x = sampleStructured(dist, rng, n, tiled); // [n, ...E], a constant
  // log p(X|θ) before f: its exact law may refuse a problem too large (a Refusal), and refusals come before f.
  const score = gradientOnly(structuredLogProb(dist, x));
  const fx = evaluate(name, f, x, n); // [n]
  const beta = baselineOf(name, kind, stopGradient(fx), n);
  const perSample = add(fx, mul(sub(fx, beta), score));
  return surrogateOf(perSample, fx, undefined);
}

/**
 * Score function on the noise.  ĝ = (f(X) − β) ∇θ log q(U|θ),  X = argmax Uᵀx
 * Requires: nothing of f or of the structure (U has a density, whatever the
 * argmax).  Unbiased: yes, always; the reference where p(X|θ) is intractable.
 * Reference: Williams 1992; Paulus et al. 2020, §6 (as the unbiased baseline).
 *
 * θ → `dist.logits`, β → `options.baseline`. ∇θ log q(U|θ) = 1 − e^{−(U − θ)}
 * per coordinate (through logSoftmax for the categorical and the subset).
 */
export function reinforceNoise(dist: SstDist, f: SampleFunction, rng: Rng, options: StructuredReinforceOptions = {}): Surrogate<undefined> {
  const name = 'reinforce-noise';
  const tiled = options.tiled ?? false;
  checkSstDist(name, dist, ALL, tiled);
  const n = options.n ?? 1;
  const kind = options.baseline ?? 'none';
  checkSamples(name, n, kind === 'leave-one-out' ? 2 : 1);
  const u = stopGradient(perturbStructured(dist, drawStructuredNoise(dist, rng, n, tiled))); // [n, ...E], a sample
  const x = structureOf(dist).argmax(u);
  const fx = evaluate(name, f, x, n);
  const beta = baselineOf(name, kind, stopGradient(fx), n);
  const perSample = add(fx, mul(sub(fx, beta), gradientOnly(noiseLogDensity(dist, u))));
  return surrogateOf(perSample, fx, undefined);
}

// ---------------------------------------------------------------- as registry entries

/**
 * The SST as a registry entry with its settings fixed (t → `temperature`,
 * default 0.5): sstEstimator({ temperature: 0.1 }), sstEstimator({ straightThrough: true }).
 * The entry lists the structured families; the function also takes a categorical.
 */
export function sstEstimator(settings: { temperature?: number | Tensor; straightThrough?: boolean } = {}): Estimator<undefined, SstDist> {
  if (settings.temperature !== undefined) checkTemperature('sstEstimator', settings.temperature);
  const straight = settings.straightThrough ?? false;
  const t = settings.temperature;
  return {
    name: straight ? 'st-sst' : 'sst',
    description: straight
      ? `straight-through SST: f(X), backward through the Gibbs marginals X_t${t === undefined ? '' : ` (t = ${t})`}, biased`
      : `stochastic softmax trick: ∇θ f(X_t), X_t the Gibbs marginals at U/t${t === undefined ? '' : ` (t = ${t})`}, biased`,
    unbiased: false,
    families: STRUCTURED,
    iidSamples: true,
    minSamples: 1,
    surrogate: (dist, f, rng, options) => sst(dist, f, rng, Object.assign({}, settings, options)),
  };
}

function reinforceEntry(name: string, run: typeof reinforceNoise, baseline: StructuredBaseline, description: string): Estimator<undefined, SstDist> {
  const loo = baseline === 'leave-one-out';
  return {
    name,
    description,
    unbiased: true,
    families: STRUCTURED,
    iidSamples: !loo,
    minSamples: loo ? 2 : 1,
    surrogate: (dist, f, rng, options) => run(dist, f, rng, Object.assign({}, options, { baseline })),
  };
}

export const sstRelaxedEstimator = sstEstimator();
export const stSstEstimator = sstEstimator({ straightThrough: true });
export const reinforceStructureEstimator = reinforceEntry('reinforce-structure', reinforceStructure, 'none', 'score function on the structure, its exact law (Plackett–Luce sum, tree DP)');
export const reinforceStructureLoo = reinforceEntry('reinforce-structure-rloo', reinforceStructure, 'leave-one-out', 'score function on the structure, leave-one-out baseline');
export const reinforceNoiseEstimator = reinforceEntry('reinforce-noise', reinforceNoise, 'none', 'score function on the Gumbel-perturbed utilities U (always unbiased)');
export const reinforceNoiseLoo = reinforceEntry('reinforce-noise-rloo', reinforceNoise, 'leave-one-out', 'score function on U, leave-one-out baseline');

// ---------------------------------------------------------------- a high-precision reference

export interface ReferenceGradient {
  /** The mean of the estimates: ∇θ E[f(X)] to within a few standard errors. */
  gradient: Tensor;
  /** Its standard error per coordinate. */
  stderr: Tensor;
  /** Samples drawn, and the calls (independent units) they came in. */
  samples: number;
  units: number;
}

/**
 * ∇θ E[f(X)] by the score function on the noise with a leave-one-out
 * baseline (always unbiased), averaged over `samples` samples in calls of
 * `chunk`; each call's mean is one independent unit, so the standard error
 * is the spread of the call means over √units. The ground truth where the
 * structures are too many to enumerate.
 */
export function referenceGradient(dist: SstDist, f: SampleFunction, options: { samples?: number; chunk?: number; seed?: number } = {}): ReferenceGradient {
  const name = 'referenceGradient';
  checkSstDist(name, dist, ALL);
  const samples = options.samples ?? 200000;
  const chunk = options.chunk ?? 1000;
  if (!Number.isInteger(chunk) || chunk < 2) throw new RangeError(`${name}: chunk must be an integer ≥ 2, got ${chunk}`);
  if (!Number.isInteger(samples) || samples < 2 * chunk) throw new RangeError(`${name}: samples must be an integer ≥ 2·chunk = ${2 * chunk}, got ${samples}`);
  const r = makeRng(options.seed ?? 0);
  const units = Math.floor(samples / chunk);
  const acc = new Welford(dist.logits.size);
  for (let u = 0; u < units; u++) {
    const out = estimateGradient(reinforceNoiseLoo, dist, f, r, { n: chunk });
    acc.push(out.gradient.logits.data);
  }
  const variance = acc.variance();
  return {
    gradient: new Tensor(Float64Array.from(acc.mean), dist.logits.shape),
    stderr: new Tensor(variance.map((v) => Math.sqrt(v / units)), dist.logits.shape),
    samples: units * chunk,
    units,
  };
}
