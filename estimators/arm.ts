// Augment-REINFORCE estimators: ARM and DisARM for products of Bernoullis,
// AR and ARSM for categoricals. None is of score-function form; each is a
// difference of f at coupled samples times a weight that depends on the noise.
//
// Bernoulli, b = 1[u > σ(−φ)] (the logistic convention b = H(φ + logit u)),
// and its antithetic twin b̃ = 1[1 − u > σ(−φ)] = 1[u < σ(φ)], u ∼ U(0, 1)^D:
//
//   AR      ĝ_j = f(b) (2u_j − 1)                                    (Yin & Zhou 2019)
//   ARM     ĝ_j = (f(b) − f(b̃)) (u_j − ½)                            (Yin & Zhou 2019)
//   DisARM  ĝ_j = ½ (f(b) − f(b̃)) (−1)^{b̃_j} 1[b_j ≠ b̃_j] σ(|φ_j|)   (Dong, Mnih & Tucker 2020)
//
// Categorical with K classes, π ∼ Dir(1_K) and z = argmin_i π_i e^{−φ_i}
// (= argmax_i φ_i − log π_i, a Gumbel-max sample of softmax(φ)):
//
//   AR      ĝ_c = f(z) (1 − K π_c)                                   (Yin, Yue & Zhou 2019)
//   ARSM    ĝ_c = Σ_j (f(z^{c⇌j}) − (1/K) Σ_m f(z^{m⇌j})) (1/K − π_j)
//
// where z^{c⇌j} is z computed after exchanging π_c and π_j. AR is REINFORCE
// on an exponential race: with ε_i ∼ Exp(1) and z = argmin_i ε_i e^{−φ_i},
// the score of ε_c e^{−φ_c} ∼ Exp(e^{φ_c}) with respect to φ_c is 1 − ε_c;
// Rao-Blackwellizing over Σε ∼ Gamma(K, 1), independent of π = ε / Σε, gives
// E[1 − ε_c | π] = 1 − K π_c. That is where the factor K comes from; dropping
// it gives a biased estimator (the spec shows it is caught).
//
// The surrogate (DiCE style, as everywhere in mcgrad): per sample
//   s_i = f_i + Σ_j stopGradient(ĝ_ij) · (θ_ij − stopGradient(θ_ij)),
// zero plus f in value, gradient ĝ_i with respect to θ, and by the chain rule
// the right thing for anything upstream of θ. The reported value f_i is
// ½(f(b) + f(b̃)) for ARM and DisARM (both halves of the pair are draws from
// p, so their mean estimates E[f] with less variance), f(b) for Bernoulli AR,
// and f(z) at the actual sample for categorical AR and ARSM.

import { Tensor, add, sub, mul, div, log, abs, sigmoid, neg, sum, mean, greater, argmax, oneHot, reshape, concat, slice, matmul, broadcastTo, stopGradient, formatShape } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { Refusal } from '../lib/exact.ts';
import { checkFamily, checkSamples, eventShape, sumEvent, logitsOf, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

export interface ArmOptions extends SurrogateOptions<undefined> {
  /**
   * The noise itself, for common random numbers, antithetic designs or
   * quadrature: uniforms on the open interval (0, 1), [n, ...E], for the
   * Bernoulli estimators; a Dir(1_K) sample π per categorical (positive,
   * summing to 1 over the last axis), [n, ...E], for AR and ARSM on
   * categoricals. Default: drawn from `rng`.
   */
  noise?: Tensor;
}

const BINARY: readonly Family[] = ['bernoulli'];
const CATEGORICAL: readonly Family[] = ['categorical'];
const AR_FAMILIES: readonly Family[] = ['bernoulli', 'categorical'];

// ---------------------------------------------------------------- shared plumbing

/** f_i + Σ_j stop(ĝ_ij)(θ_ij − stop(θ_ij)): value f_i, gradient ĝ_i. θ is [...E] or, tiled, [n, ...E]; ĝ is [n, ...E]. */
function diceSurrogate(theta: Tensor, g: Tensor, value: Tensor): Tensor {
  return add(value, sumEvent(mul(stopGradient(g), sub(theta, stopGradient(theta)))));
}

/** A per-sample scalar [n] as [n, 1, …, 1] (rank `rank`), to scale per-coordinate weights. */
function column(x: Tensor, rank: number): Tensor {
  return reshape(x, [x.shape[0], ...Array(rank - 1).fill(1)]);
}

/** The noise to use: the caller's (checked) or fresh from rng. */
function noiseFor(name: string, options: ArmOptions, shape: number[], draw: () => Tensor, check: (u: Tensor) => void): Tensor {
  const noise = options.noise;
  if (noise === undefined) return draw();
  if (!(noise instanceof Tensor)) throw new TypeError(`${name}: options.noise must be a Tensor, got ${noise === null ? 'null' : typeof noise}`);
  if (noise.rank !== shape.length || noise.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(`${name}: options.noise must have shape [n, ...event] = ${formatShape(shape)}, got ${formatShape(noise.shape)}`);
  }
  check(noise);
  return stopGradient(noise);
}

function checkUniforms(name: string): (u: Tensor) => void {
  return (u) => {
    for (let i = 0; i < u.size; i++) {
      const v = u.data[i];
      if (!(v > 0 && v < 1)) throw new RangeError(`${name}: options.noise must hold uniforms in the open interval (0, 1), got ${v} at flat index ${i}`);
    }
  };
}

function checkSimplex(name: string, K: number): (pi: Tensor) => void {
  return (pi) => {
    for (let row = 0; row < pi.size / K; row++) {
      let total = 0;
      for (let k = 0; k < K; k++) {
        const v = pi.data[row * K + k];
        if (!(v > 0)) throw new RangeError(`${name}: options.noise must be a Dirichlet sample with positive entries, got ${v} at flat index ${row * K + k}`);
        total += v;
      }
      // A row off by more than 1e-9 was not normalised; less is rounding (and biases ĝ by as little).
      if (Math.abs(total - 1) > 1e-9) {
        throw new RangeError(`${name}: each row of options.noise must sum to 1 over the classes, row ${row} sums to ${total}; divide by the row sums`);
      }
    }
  };
}

/** b = 1[u > σ(−φ)], i.e. H(φ + logit u). A constant. */
function bernoulliFromUniform(theta: Tensor, u: Tensor): Tensor {
  return greater(u, sigmoid(neg(stopGradient(theta))));
}

interface Pair {
  u: Tensor; // [n, ...E] uniforms
  fb: Tensor; // [n] f(b)
  fbt: Tensor; // [n] f(b̃)
  b: Tensor; // [n, ...E]
  bt: Tensor; // [n, ...E]
}

/** Draws u, forms the antithetic pair b = b(u), b̃ = b(1 − u), and evaluates f on both in one batch. */
function antitheticPair(name: string, dist: Dist, f: SampleFunction, rng: Rng, options: ArmOptions): Pair {
  const n = options.n ?? 1;
  checkSamples(name, n);
  const theta = logitsOf(dist);
  const shape = [n, ...eventShape(dist, options.tiled)];
  const u = noiseFor(name, options, shape, () => rng.uniform(shape), checkUniforms(name));
  const b = bernoulliFromUniform(theta, u); // [n, ...E]
  const bt = bernoulliFromUniform(theta, sub(1, u)); // [n, ...E]: 1 − u is exact for u on the generator's grid
  const y = evaluate(name, f, concat([b, bt], 0), 2 * n); // [2n], one call of f
  return { u, b, bt, fb: slice(y, 0, 0, n), fbt: slice(y, 0, n, 2 * n) };
}

// ---------------------------------------------------------------- ARM and DisARM

/**
 * ARM (augment-REINFORCE-merge).  ∇φ E[f(b)] = E_u[ (f(b) − f(b̃)) (u − ½) ]
 * with b = 1[u > σ(−φ)], b̃ = 1[u < σ(φ)], u ∼ U(0, 1)^D (one u shared by the pair).
 * Requires: b a product of Bernoullis with logits φ; f arbitrary.  Unbiased: yes.
 * Reference: Yin & Zhou 2019, "ARM: Augment-REINFORCE-Merge gradient estimator for binary latent variables" (ICLR).
 *
 * φ → `dist.logits`, u → `options.noise` (or drawn from `rng`). Two
 * evaluations of f per sample; the surrogate's value is ½(f(b) + f(b̃)).
 */
export function arm(dist: Dist, f: SampleFunction, rng: Rng, options: ArmOptions = {}): Surrogate<undefined> {
  const name = 'arm';
  checkFamily(name, dist, BINARY);
  const { u, fb, fbt } = antitheticPair(name, dist, f, rng, options);
  const g = mul(column(sub(fb, fbt), u.rank), sub(u, 0.5)); // [n, ...E]
  const value = mul(add(fb, fbt), 0.5);
  return surrogateOf(diceSurrogate(logitsOf(dist), g, value), value, undefined);
}

/**
 * DisARM.  ∇φ E[f(b)] = E_u[ ½ (f(b) − f(b̃)) (−1)^{b̃} 1[b ≠ b̃] σ(|φ|) ]
 * for the same antithetic pair as ARM: ARM with u integrated out given (b, b̃).
 * Per coordinate (−1)^{b̃_j} 1[b_j ≠ b̃_j] = b_j − b̃_j, which is how it is computed.
 * Requires: b a product of Bernoullis with logits φ; f arbitrary.  Unbiased: yes.
 * Variance: never above ARM's (Rao-Blackwellization).
 * Reference: Dong, Mnih & Tucker 2020, "DisARM: An antithetic gradient estimator for binary latent variables" (NeurIPS).
 *
 * φ → `dist.logits`, u → `options.noise`. Two evaluations of f per sample;
 * the surrogate's value is ½(f(b) + f(b̃)).
 */
export function disarm(dist: Dist, f: SampleFunction, rng: Rng, options: ArmOptions = {}): Surrogate<undefined> {
  const name = 'disarm';
  checkFamily(name, dist, BINARY);
  const { u, b, bt, fb, fbt } = antitheticPair(name, dist, f, rng, options);
  const weight = mul(sub(b, bt), sigmoid(abs(stopGradient(logitsOf(dist))))); // (b − b̃) σ(|φ|), [n, ...E]
  const g = mul(column(mul(sub(fb, fbt), 0.5), u.rank), weight);
  const value = mul(add(fb, fbt), 0.5);
  return surrogateOf(diceSurrogate(logitsOf(dist), g, value), value, undefined);
}

// ---------------------------------------------------------------- AR

/** π ∼ Dir(1_K) per categorical, as normalised exponentials: [n, ...E]. */
function dirichlet(rng: Rng, shape: number[]): Tensor {
  const e = rng.exponential(shape);
  return div(e, sum(e, -1, true));
}

/** z = argmin_i π_i e^{−φ_i} = argmax_i (φ_i − log π_i), one-hot [n, ...E]. A constant. */
function categoricalFromDirichlet(theta: Tensor, pi: Tensor): Tensor {
  const K = pi.shape[pi.rank - 1];
  return oneHot(argmax(sub(stopGradient(theta), log(pi)), -1), K);
}

/**
 * Augment-REINFORCE (AR).
 *   categorical:  ∇φ_c E[f(z)] = E_π[ f(z) (1 − K π_c) ],  π ∼ Dir(1_K), z = argmin_i π_i e^{−φ_i}
 *   Bernoulli:    ∇φ_j E[f(b)] = E_u[ f(b) (2u_j − 1) ],    b = 1[u > σ(−φ)]
 * Requires: logits φ (softmax over the last axis for a categorical; a product
 * of categoricals gets one π per categorical); f arbitrary.  Unbiased: yes.
 * Reference: Yin, Yue & Zhou 2019, "ARSM: Augment-REINFORCE-Swap-Merge estimator for gradient
 * backpropagation through categorical variables" (ICML), the AR estimator; Yin & Zhou 2019 (the binary AR).
 *
 * φ → `dist.logits`, π or u → `options.noise`. One evaluation of f per sample.
 */
export function ar(dist: Dist, f: SampleFunction, rng: Rng, options: ArmOptions = {}): Surrogate<undefined> {
  const name = 'ar';
  checkFamily(name, dist, AR_FAMILIES);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const theta = logitsOf(dist);
  const shape = [n, ...eventShape(dist, options.tiled)];
  let g: Tensor;
  let fx: Tensor;
  if (dist.family === 'bernoulli') {
    const u = noiseFor(name, options, shape, () => rng.uniform(shape), checkUniforms(name));
    const b = bernoulliFromUniform(theta, u);
    fx = evaluate(name, f, b, n);
    g = mul(column(fx, u.rank), sub(mul(u, 2), 1)); // f(b)(2u − 1)
  } else {
    const K = shape[shape.length - 1];
    const pi = noiseFor(name, options, shape, () => dirichlet(rng, shape), checkSimplex(name, K));
    const z = categoricalFromDirichlet(theta, pi);
    fx = evaluate(name, f, z, n);
    g = mul(column(fx, pi.rank), sub(1, mul(pi, K))); // f(z)(1 − K π_c)
  }
  return surrogateOf(diceSurrogate(theta, g, fx), fx, undefined);
}

// ---------------------------------------------------------------- ARSM

/**
 * The pseudo-actions z^{c⇌j} for every pair (c, j): for each categorical,
 * argmin_i (π^{c⇌j})_i e^{−φ_i} with π_c and π_j exchanged, the same swap in
 * every categorical of the sample. One-hot, [n, K, K, ...E]. z^{c⇌c} = z, and
 * z^{c⇌j} = z^{j⇌c}, so only j ≥ c is computed. Constants (plain loops: no
 * gradient flows through an argmin).
 */
function pseudoActions(theta: Tensor, pi: Tensor): Tensor {
  const shape = pi.shape; // [n, ...E]
  const n = shape[0];
  const K = shape[shape.length - 1];
  const rows = pi.size / (n * K); // categoricals per sample
  const phi = broadcastTo(stopGradient(theta), shape).data;
  const logPi = log(pi).data;
  const out = new Float64Array(n * K * K * rows * K);
  const at = (s: number, c: number, j: number, r: number): number => (((s * K + c) * K + j) * rows + r) * K;
  for (let s = 0; s < n; s++) {
    for (let r = 0; r < rows; r++) {
      const base = (s * rows + r) * K;
      for (let c = 0; c < K; c++) {
        for (let j = c; j < K; j++) {
          let best = 0;
          let bestScore = Infinity;
          for (let i = 0; i < K; i++) {
            const source = i === c ? j : i === j ? c : i; // π^{c⇌j}_i = π_{source}
            const score = logPi[base + source] - phi[base + i]; // log(π_i e^{−φ_i})
            if (score < bestScore) {
              bestScore = score;
              best = i;
            }
          }
          out[at(s, c, j, r) + best] = 1;
          out[at(s, j, c, r) + best] = 1;
        }
      }
    }
  }
  return new Tensor(out, [n, K, K, ...shape.slice(1)]);
}

/**
 * The most numbers ARSM's pseudo-actions may take in one call (2³⁰ doubles,
 * 8 GiB): beyond it the typed array cannot be made. checkUnbiased and compare
 * call with up to 8192 samples, so K = 50 still fits.
 */
const MAX_PSEUDO_ACTIONS = 2 ** 30;

/**
 * ARSM (augment-REINFORCE-swap-merge).
 *   ∇φ_c E[f(z)] = E_π[ Σ_j (f(z^{c⇌j}) − (1/K) Σ_m f(z^{m⇌j})) (1/K − π_j) ]
 * π ∼ Dir(1_K), z^{c⇌j} = argmin_i π_i e^{−φ_i} after exchanging π_c and π_j.
 * AR with reference class j after the swap, minus a baseline with zero mean,
 * averaged over j. For a product of categoricals every categorical is
 * swapped alike, so each sample costs K² evaluations of f whatever the
 * number of categoricals (the multivariate form of the paper).
 * Requires: categorical logits φ [..., K]; f arbitrary.  Unbiased: yes.
 * Reference: Yin, Yue & Zhou 2019, "ARSM: Augment-REINFORCE-Swap-Merge estimator for gradient
 * backpropagation through categorical variables" (ICML).
 *
 * φ → `dist.logits`, π → `options.noise`. The surrogate's value is f(z) at the actual sample.
 */
export function arsm(dist: Dist, f: SampleFunction, rng: Rng, options: ArmOptions = {}): Surrogate<undefined> {
  const name = 'arsm';
  checkFamily(name, dist, CATEGORICAL);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const theta = logitsOf(dist);
  const event = eventShape(dist, options.tiled);
  const shape = [n, ...event];
  const K = shape[shape.length - 1];
  const rows = shape.slice(1, -1).reduce((a, d) => a * d, 1);
  const size = n * K * K * rows * K; // the pseudo-actions [n, K, K, ...E]
  if (size > MAX_PSEUDO_ACTIONS) {
    throw new Refusal(
      `${name}: n·K² pseudo-actions of ${rows * K} numbers each make ${size} numbers (n = ${n}, K = ${K}), ` +
        `over the limit of 2^30; use fewer samples per call, or 'ar' (one evaluation of f per sample)`,
    );
  }
  const pi = noiseFor(name, options, shape, () => dirichlet(rng, shape), checkSimplex(name, K));
  const swapped = pseudoActions(theta, pi); // [n, K, K, ...E]
  const F = reshape(evaluate(name, f, reshape(swapped, [n * K * K, ...event]), n * K * K), [n, K, K]); // F[s, c, j] = f(z^{c⇌j})
  // F is symmetric, so Σ_j (F[c,j] − mean_m F[m,j]) w_j = Σ_j w_j (F[j,c] − mean_m F[j,m]): one batched matmul.
  const centred = sub(F, mean(F, 2, true)); // [n, K, K]
  const w = reshape(sub(1 / K, pi), [n, rows, K]); // 1/K − π_j
  const g = reshape(matmul(w, centred), shape); // [n, rows, K] → [n, ...E]
  const fz = reshape(slice(slice(F, 1, 0, 1), 2, 0, 1), [n]); // f(z^{0⇌0}) = f(z)
  return surrogateOf(diceSurrogate(theta, g, fz), fz, undefined);
}

// ---------------------------------------------------------------- as registry entries

function entry(name: string, families: readonly Family[], description: string, run: typeof arm): Estimator<undefined> {
  return selfContainedEstimator({
    name,
    description,
    unbiased: true,
    families,
    iidSamples: true,
    minSamples: 1,
    surrogate: (dist, f, rng, options) => run(dist, f, rng, options),
  });
}

export const armEstimator = entry('arm', BINARY, 'ARM: antithetic pair, (f(b) − f(b̃))(u − ½)', arm);
export const disarmEstimator = entry('disarm', BINARY, 'DisARM: ARM with u integrated out, ½(f(b) − f(b̃))(b − b̃)σ(|φ|)', disarm);
export const arEstimator = entry('ar', AR_FAMILIES, 'augment-REINFORCE: f(z)(1 − Kπ) with π ∼ Dir(1), or f(b)(2u − 1)', ar);
export const arsmEstimator = entry('arsm', CATEGORICAL, 'ARSM: augment-REINFORCE-swap-merge over K² pseudo-actions', arsm);
