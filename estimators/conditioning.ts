// Conditioning (Rao-Blackwellization) for discrete distributions: replace an
// estimator g by its conditional expectation E[g | T] given part T of the
// noise, computed exactly. The mean is unchanged and, by the law of total
// variance, Var E[g | T] = Var g − E Var[g | T] ≤ Var g (Owen, "Monte Carlo
// theory, methods and examples", §8.7).
//
// Summing one coordinate out. For a product distribution x = (x_j, x_{−j}),
// REINFORCE's g = f(x) ∇θ log p(x|θ) has, given x_{−j},
//
//   E[g | x_{−j}] = F(x_{−j}) ∇θ log p(x_{−j}|θ) + ∇θ F(x_{−j}),
//   F(x_{−j}) = Σ_c p(x_j = c | θ) f(x_{−j}, x_j = c),
//
// one evaluation of f per value c of coordinate j (2 for a Bernoulli, K for
// a categorical row).
//
// Sum-and-sample (Liu, Regier, Tripuraneni, Jordan & McAuliffe 2019,
// "Rao-Blackwellized stochastic gradients for discrete distributions"): with
// C the k most probable outcomes (a constant set, chosen at the current θ)
// and x' drawn from p restricted to the rest, renormalised,
//
//   ĝ = Σ_{c∈C} f(c) ∇θ p(c|θ) + (1 − Σ_{c∈C} p(c|θ)) f(x') ∇θ log p(x'|θ).
//
// It is E[REINFORCE | x'] when x ∼ p is drawn as "a c ∈ C with probability
// p(c), else x'", so it is unbiased and its variance is at most REINFORCE's;
// it falls as k grows, to zero at k = the number of outcomes. The weight
// 1 − Σ_C p is a constant (no gradient flows through it).

import { Tensor, add, sub, mul, sum, exp, sigmoid, neg, softmax, logSigmoid, logSoftmax, reshape, slice, concat, stack, transpose, stopGradient, formatShape, sizeOf } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { canEnumerate, enumerateSupport, logProbTable, Refusal, type DiscreteFamily } from '../lib/exact.ts';
import { checkFamily, checkSamples, eventShape, sample, sumEvent, logProb, logitsOf, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions } from './estimator.ts';

const DISCRETE: readonly Family[] = ['bernoulli', 'categorical'];

// ---------------------------------------------------------------- summing one coordinate out

export interface RaoBlackwellOptions extends SurrogateOptions<undefined> {
  /**
   * The coordinate j summed out exactly (default 0): a Bernoulli index in
   * [0, D), or a categorical row in [0, D) for logits [D, K]. A single
   * categorical (logits [K]) has only j = 0, and summing it out is exact.
   */
  coordinate?: number;
  /**
   * The hard samples [n, ...E] to use instead of drawing them (their
   * coordinate j is ignored): for common random numbers, or to enumerate a
   * support exactly. Default: drawn from rng.
   */
  samples?: Tensor;
}

/**
 * Rao-Blackwellized REINFORCE, one coordinate summed out.
 *   ĝ = F(x_{−j}) ∇θ log p(x_{−j}|θ) + ∇θ F(x_{−j}),  F = Σ_c p(x_j = c|θ) f(x_{−j}, c)
 * Requires: a product of Bernoullis or of categoricals; f arbitrary.  Unbiased: yes; Var ≤ REINFORCE's.
 * Reference: Owen, §8.7 (conditioning); Liu et al. 2019, §3; Mohamed et al. 2020, §7.4.
 *
 * θ → the logits, j → options.coordinate. Per sample the surrogate is
 * F + stop(F)(log p_{−j} − stop(log p_{−j})): its value is F = E[f | x_{−j}],
 * an estimate of E[f] itself, and its gradient ĝ.
 */
export function raoBlackwell(dist: Dist, f: SampleFunction, rng: Rng, options: RaoBlackwellOptions = {}): Surrogate<undefined> {
  const name = 'raoBlackwell';
  checkFamily(name, dist, DISCRETE);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const tiled = options.tiled ?? false;
  const E = eventShape(dist, tiled);
  const bernoulli = dist.family === 'bernoulli';
  if (E.length !== (bernoulli ? 1 : E.length === 1 ? 1 : 2)) {
    throw new RangeError(`${name}: expected logits [D] (Bernoullis), [K] or [D, K] (categoricals), got an event shape ${formatShape(E)}`);
  }
  const single = !bernoulli && E.length === 1; // one categorical: x_j is everything
  const D = single ? 1 : E[0];
  const j = options.coordinate ?? 0;
  if (!Number.isInteger(j) || j < 0 || j >= D) {
    throw new RangeError(`${name}: coordinate must be an integer in [0, ${D}) for an event shape ${formatShape(E)}, got ${j}`);
  }
  const C = bernoulli ? 2 : E[E.length - 1]; // the values of coordinate j
  const W = sizeOf(E);

  let x: Tensor;
  if (options.samples === undefined) {
    x = sample(dist, rng, n, tiled); // [n, ...E]
  } else {
    x = options.samples;
    if (!(x instanceof Tensor)) throw new TypeError(`${name}: options.samples must be a Tensor, got ${typeof x}`);
    if (x.rank !== E.length + 1 || x.shape[0] !== n || E.some((d, i) => x.shape[i + 1] !== d)) {
      throw new RangeError(`${name}: options.samples must have shape [n, ...E] = ${formatShape([n, ...E])}, got ${formatShape(x.shape)}`);
    }
    x = stopGradient(x);
  }

  // The C completions of every sample, c-major: [C·n, ...E] with coordinate j set to c.
  const variants = new Float64Array(C * n * W);
  for (let c = 0; c < C; c++) {
    const block = variants.subarray(c * n * W, (c + 1) * n * W);
    block.set(x.data);
    for (let i = 0; i < n; i++) {
      if (bernoulli) {
        block[i * W + j] = c;
      } else {
        const row = i * W + j * C; // categorical row j (the whole sample when single)
        block.fill(0, row, row + C);
        block[row + c] = 1;
      }
    }
  }
  // Not stopped: a parameter inside f gets Σ_c q_c ∇f(x with x_j = c), the conditional expectation of ∇f.
  const fc = reshape(evaluate(name, f, new Tensor(variants, [C * n, ...E]), C * n), [C, n]); // [C, n]

  // q_c = p(x_j = c | θ): [C], or [n, C] when tiled.
  const theta = logitsOf(dist);
  const axis = tiled ? 1 : 0;
  let q: Tensor;
  if (bernoulli) {
    const tj = slice(theta, axis, j, j + 1); // [1] or [n, 1]
    q = concat([sigmoid(neg(tj)), sigmoid(tj)], axis);
  } else {
    const row = single ? theta : reshape(slice(theta, axis, j, j + 1), tiled ? [n, C] : [C]);
    q = softmax(row, -1);
  }
  const F = tiled ? sum(mul(transpose(q), fc), 0) : sum(mul(reshape(q, [C, 1]), fc), 0); // [n], differentiable through q

  let perSample = F;
  if (!single) {
    // log p(x_{−j}|θ): the log-probability terms of every coordinate but j.
    const mask = new Float64Array(D).fill(1);
    mask[j] = 0;
    const terms = bernoulli ? add(mul(x, logSigmoid(theta)), mul(sub(1, x), logSigmoid(neg(theta)))) : mul(x, logSoftmax(theta, -1));
    const logp = sumEvent(mul(terms, new Tensor(mask, bernoulli ? [D] : [D, 1]))); // [n]
    perSample = add(F, mul(stopGradient(F), sub(logp, stopGradient(logp))));
  }
  return surrogateOf(perSample, F, undefined);
}

// ---------------------------------------------------------------- sum-and-sample

export interface SumAndSampleOptions extends SurrogateOptions<undefined> {
  /** How many of the most probable outcomes are summed exactly (default 1; 0 is REINFORCE). */
  k?: number;
}

/** The exact-enumeration family of a descriptor with event shape E. */
function discreteFamily(name: string, dist: Dist, E: readonly number[]): DiscreteFamily {
  if (dist.family === 'bernoulli' && E.length === 1) return 'bernoulli';
  if (dist.family === 'categorical' && E.length === 1) return 'categorical';
  if (dist.family === 'categorical' && E.length === 2) return 'categoricals';
  throw new RangeError(`${name}: expected logits [D] (Bernoullis), [K] or [D, K] (categoricals), got an event shape ${formatShape(E)}`);
}

/** One parameter row's ranking: the top-k outcomes, the rest in index order with their renormalised probabilities, and the weight of the rest. */
interface Ranking {
  top: number[];
  rest: number[];
  restCdf: Float64Array;
  weight: number;
}

function rank(family: DiscreteFamily, E: readonly number[], row: Float64Array, k: number): Ranking {
  const lp = logProbTable(family, new Tensor(Float64Array.from(row), [...E])).data; // [N], log p of every outcome
  const N = lp.length;
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => lp[b] - lp[a] || a - b);
  const top = order.slice(0, k);
  const inTop = new Set(top);
  const rest = Array.from({ length: N }, (_, i) => i).filter((i) => !inTop.has(i));
  // Σ_rest p in log space (max shift), so that a small remainder keeps its digits.
  let peak = -Infinity;
  for (const i of rest) peak = Math.max(peak, lp[i]);
  let total = 0;
  for (const i of rest) total += Math.exp(lp[i] - peak);
  const logWeight = peak + Math.log(total);
  const restCdf = new Float64Array(rest.length);
  let cumulative = 0;
  rest.forEach((i, r) => {
    cumulative += Math.exp(lp[i] - logWeight);
    restCdf[r] = cumulative;
  });
  return { top, rest, restCdf, weight: rest.length === 0 ? 0 : Math.exp(logWeight) };
}

/**
 * Sum-and-sample.  ĝ = Σ_{c∈C} f(c) ∇θ p(c|θ) + (1 − Σ_{c∈C} p(c|θ)) f(x') ∇θ log p(x'|θ),  x' ∼ p(· | x ∉ C)
 * Requires: a discrete distribution small enough to rank its outcomes (lib/exact's enumeration limit); f arbitrary.
 * Unbiased: yes; Var ≤ REINFORCE's, falling with k.
 * Reference: Liu, Regier, Tripuraneni, Jordan & McAuliffe 2019, ICML, §3 (eq. 6).
 *
 * C → the k most probable outcomes at the current logits (k → options.k),
 * x' → drawn by inversion from one uniform per sample over the remaining
 * outcomes in their enumeration order (lib/exact). Per sample the surrogate
 * is Σ_C p(c|θ) f(c) + w f(x') + w f(x')(log p(x') − stop log p(x')) with
 * w = 1 − Σ_C p a constant: its value is an estimate of E[f] itself.
 * f is called on k + n outcomes (k·n + n when the parameters are tiled).
 *
 * Heavy tails where a logit is far from 0 (k = 1, C = {c}). Then x'_j
 * rarely differs from c_j (probability q_j ≈ σ(−|θ_j|)/w), and that rare draw
 * carries the mean of ĝ_j: every other draw gives
 * ĝ_j = (c_j − σ(θ_j))(p(c) f(c) + w f(x')), small (|c_j − σ(θ_j)| = σ(−|θ_j|))
 * and varying only through f(x'). So ĝ_j's skewness is about 1/√q_j, and a
 * z-test on fewer than a few times 1/q_j draws usually sees no rare draw: the
 * sample mean misses the true one, the standard error is the common values'
 * tiny spread, and |z| is large and grows like √n. On 18 Bernoullis with
 * θ_j = j − 9 and f = Σ(b − 0.3)², q_0 = 1.5e-4 (skewness 82): 64 samples give
 * max |z| ≈ 120, as they do for plain REINFORCE, whose ĝ_j = f(x)(x_j − σ(θ_j))
 * has the same tail, yet the exact mean over every x' is the gradient to
 * 3e-12. Even with the rare draw seen ~50 times the test's far tail stays
 * heavy: 6× the nominal α = 1e-4 at 4096 samples of θ_j = (j − 9)/2
 * (conditioning.spec, heavy tails).
 */
export function sumAndSample(dist: Dist, f: SampleFunction, rng: Rng, options: SumAndSampleOptions = {}): Surrogate<undefined> {
  const name = 'sumAndSample';
  checkFamily(name, dist, DISCRETE);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const tiled = options.tiled ?? false;
  const E = eventShape(dist, tiled);
  const family = discreteFamily(name, dist, E);
  if (!canEnumerate(family, E)) {
    throw new Refusal(`${name}: the ${family} support of event shape ${formatShape(E)} is too large to rank (see lib/exact's limits); use reinforce or rao-blackwell`);
  }
  const support = enumerateSupport(family, E); // [N, ...E]
  const N = support.shape[0];
  const kIn = options.k ?? 1;
  if (!Number.isInteger(kIn) || kIn < 0) throw new RangeError(`${name}: k must be a non-negative integer, got ${kIn}`);
  const k = Math.min(kIn, N);
  const W = sizeOf(E);
  const theta = stopGradient(logitsOf(dist));

  // Rank the outcomes per parameter row (tiled rows are usually copies: reuse the last ranking when equal).
  const rows = tiled ? n : 1;
  const rankings: Ranking[] = [];
  let last: { data: Float64Array; ranking: Ranking } | undefined;
  for (let r = 0; r < rows; r++) {
    const data = theta.data.subarray(r * W, (r + 1) * W);
    if (last === undefined || last.data.some((v, i) => v !== data[i])) last = { data, ranking: rank(family, E, data, k) };
    rankings.push(last.ranking);
  }
  const outcome = (index: number, into: Float64Array, at: number): void => into.set(support.data.subarray(index * W, (index + 1) * W), at);

  // x' for every sample by inversion over the rest (none when C is everything).
  const sampled = k < N;
  const picks = new Float64Array(n * W);
  const weights = new Float64Array(n);
  if (sampled) {
    const u = rng.uniform([n]).data;
    for (let i = 0; i < n; i++) {
      const R = rankings[tiled ? i : 0];
      let r = 0;
      while (r < R.rest.length - 1 && !(u[i] < R.restCdf[r])) r++;
      outcome(R.rest[r], picks, i * W);
      weights[i] = R.weight;
    }
  }

  // The top-k outcomes: shared when untiled ([k, ...E]); one set per sample when tiled ([n·k, ...E], sample-major).
  const topCount = tiled ? n * k : k;
  const tops = new Float64Array(topCount * W);
  for (let i = 0; i < (tiled ? n : 1); i++) rankings[i].top.forEach((c, t) => outcome(c, tops, (i * k + t) * W));
  const batch: Tensor[] = [];
  if (topCount > 0) batch.push(new Tensor(tops, [topCount, ...E]));
  if (sampled) batch.push(new Tensor(picks, [n, ...E]));
  const total = topCount + (sampled ? n : 0);
  // Not stopped, so parameters inside f get the same sum-and-sample estimate of E[∇f].
  const y = evaluate(name, f, batch.length === 1 ? batch[0] : concat(batch, 0), total); // [total]

  let perSample: Tensor = new Tensor(new Float64Array(n), [n]);
  if (k > 0) {
    const fTop = slice(y, 0, 0, topCount);
    if (tiled) {
      // p(c_t|θ_i) for the t-th top outcome of each sample: [n, k]
      const topX = reshape(new Tensor(tops, [topCount, ...E]), [n, k, ...E]);
      const lp = stack(Array.from({ length: k }, (_, t) => logProb(dist, reshape(slice(topX, 1, t, t + 1), [n, ...E]))), 1);
      perSample = sum(mul(exp(lp), reshape(fTop, [n, k])), 1);
    } else {
      const lp = logProb(dist, new Tensor(tops, [k, ...E])); // [k]
      perSample = add(perSample, sum(mul(exp(lp), fTop))); // Σ_C p(c|θ) f(c), the same for every sample
    }
  }
  if (sampled) {
    const fx = slice(y, 0, topCount, total); // [n]
    const w = new Tensor(weights, [n]);
    const lp = logProb(dist, new Tensor(picks, [n, ...E])); // [n]
    const wf = mul(w, fx);
    perSample = add(perSample, add(wf, mul(wf, sub(lp, stopGradient(lp)))));
  }
  return surrogateOf(perSample, perSample, undefined);
}

// ---------------------------------------------------------------- as registry entries

/** The rao-blackwell entry summing out coordinate `coordinate`. */
export function raoBlackwellEstimator(coordinate = 0): Estimator<undefined> {
  return {
    name: coordinate === 0 ? 'rao-blackwell' : `rao-blackwell-${coordinate}`,
    description: `REINFORCE with coordinate ${coordinate} summed out exactly (Rao-Blackwellized)`,
    unbiased: true,
    families: DISCRETE,
    iidSamples: true,
    minSamples: 1,
    surrogate: (dist, f, rng, options) => raoBlackwell(dist, f, rng, Object.assign({}, options, { coordinate })),
  };
}

/** The sum-and-sample entry with k outcomes summed. */
export function sumAndSampleEstimator(k = 1): Estimator<undefined> {
  return {
    name: k === 1 ? 'sum-and-sample' : `sum-and-sample-${k}`,
    description: `sum-and-sample: the ${k} most probable outcome${k === 1 ? '' : 's'} summed, the rest sampled (Liu et al. 2019)`,
    unbiased: true,
    families: DISCRETE,
    iidSamples: true,
    minSamples: 1,
    surrogate: (dist, f, rng, options) => sumAndSample(dist, f, rng, Object.assign({}, options, { k })),
  };
}

export const raoBlackwellReinforce = raoBlackwellEstimator(0);
export const sumAndSampleReinforce = sumAndSampleEstimator(1);
