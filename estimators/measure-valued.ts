// Measure-valued gradients (weak derivatives).
//
//   ∂/∂θ E_{p(·|θ)}[f(x)] = c_θ ( E_{p⁺}[f(x)] − E_{p⁻}[f(x)] )
//
// where ∂p/∂θ = c_θ (p⁺ − p⁻) splits the derivative of the density (a signed
// measure) into a constant c_θ ≥ 0 times a difference of two probability
// laws p⁺ and p⁻ (Pflug 1989; Heidergott & Vázquez-Abad 2008; Mohamed et al.
// 2020, §6). For a product of independent factors, the derivative in a
// parameter of factor j is the product of the other factors with factor j's
// weak derivative (Heidergott & Leahu 2010): x_{−j} is sampled as usual and
// only coordinate j is drawn from p⁺ and p⁻. The decompositions used here:
//
//   Normal(μ, σ²), mean μ:    c = 1/(σ√(2π)),  p⁺ = μ + σ·W,  p⁻ = μ − σ·W,   W ∼ Weibull(scale √2, concentration 2)
//   Normal(μ, σ²), scale σ:   c = 1/σ,         p⁺ = μ + σ·M,  p⁻ = μ + σ·ε,   M double-sided Maxwell, ε ∼ N(0, 1)
//   Bernoulli, logit θ_j:     c = p_j(1−p_j),  p⁺ = δ(b_j = 1),  p⁻ = δ(b_j = 0)
//   categorical, logit θ_k:   c = p_k,         p⁺ = δ(e_k),      p⁻ = Cat(p)
//
// The Normal rows are Mohamed et al. 2020, Table 1 (W is the Rayleigh law,
// density y e^{−y²/2}; M has density y² φ(y)); "coupled" draws p⁺ and p⁻ from
// common random numbers: the same W for the mean, and ε = U·M with U uniform
// for the scale (U·M is exactly N(0, 1)), as in optax's measure_valued_jacobians.
// The Bernoulli row is Table 1's δ₁ − δ₀ in the probability p_j, times
// dp_j/dθ_j = p_j(1 − p_j). The categorical row is the softmax Jacobian,
// ∂p_i/∂θ_k = p_k(δ_ik − p_i), read as a signed measure: p_k (δ(e_k) − Cat(p)).
// Its p⁻ is integrated exactly over the K outcomes (which are evaluated
// anyway), so for a single categorical the estimate is the exact gradient.

import { Tensor, add, sub, mul, div, sum, sigmoid, neg, softmax, reshape, broadcastTo, concat, slice, stopGradient, sizeOf, formatShape, type Shape } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { checkFamily, checkSamples, eventShape, sample, sumEvent, paramsOf, type Dist, type NormalDist, type BernoulliDist, type CategoricalDist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

export interface MeasureValuedOptions extends SurrogateOptions<undefined> {
  /**
   * Normal only: draw p⁺ and p⁻ from common random numbers (default true),
   * which lowers the variance and keeps the estimate unbiased.
   */
  coupled?: boolean;
}

const FAMILIES: readonly Family[] = ['normal', 'bernoulli', 'categorical'];
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/**
 * Measure-valued gradient (weak derivatives).  ∂θ E[f(x)] = c_θ ( E_{p⁺}[f] − E_{p⁻}[f] )
 * Requires: the weak derivative of p(·|θ) (normal, bernoulli, categorical); f arbitrary (need not be differentiable).  Unbiased: yes.
 * Reference: Pflug 1989; Heidergott & Vázquez-Abad 2008; Heidergott & Leahu 2010; Mohamed et al. 2020, §6 and Table 1.
 *
 * θ → the distribution's parameters (`loc`/`scale` or `logits`), c_θ, p⁺, p⁻
 * → the decomposition in the file header. Per sample x_i ∼ p and coordinate
 * j, f is evaluated with coordinate j of x_i replaced by draws from p⁺ and
 * p⁻, all as one batch: 1 + 4D points per sample for D normals, 1 + D for D
 * Bernoullis (b with bit j flipped, since f(b_j=1) − f(b_j=0) = ±(f(b) − f(flip_j b))),
 * 1 + M(K−1) for M categoricals of K classes.
 *
 * The surrogate per sample is f(x_i) + Σ_θ Σ_j ĝ_ij (θ_j − stopGradient(θ_j)),
 * with the estimate ĝ a constant: its value is f(x_i), its gradient with
 * respect to θ is ĝ_i, and by the chain rule anything upstream of θ gets
 * ĝ_i times ∂θ/∂(upstream). f's own parameters get ∇ f(x_i). The estimate
 * itself is not differentiated (no second derivatives through ĝ).
 */
export function measureValued(dist: Dist, f: SampleFunction, rng: Rng, options: MeasureValuedOptions = {}): Surrogate<undefined> {
  const name = 'measureValued';
  checkFamily(name, dist, FAMILIES); // also the normal scales: positive and finite
  const n = options.n ?? 1;
  checkSamples(name, n);
  const coupled = options.coupled ?? true;
  if (typeof coupled !== 'boolean') throw new TypeError(`${name}: coupled must be true or false, got ${String(coupled)}`);
  const tiled = options.tiled ?? false;
  const E = eventShape(dist, tiled);

  const plan = dist.family === 'normal' ? normalPlan(dist, rng, n, tiled, coupled) : dist.family === 'bernoulli' ? bernoulliPlan(dist, rng, n, tiled) : categoricalPlan(dist, rng, n, tiled);
  const total = plan.points.shape[0];
  const values = evaluate(name, f, reshape(plan.points, [total, ...E]), total); // [n(1 + m)]
  const fx = slice(values, 0, 0, n); // [n], f at the samples themselves (differentiable in f's own parameters)
  const rest = stopGradient(slice(values, 0, n)); // [n·m], f at the p⁺ / p⁻ points: constants
  const estimate = plan.estimate(rest, stopGradient(fx)); // per parameter, [n, D]

  // DiCE-style: each term has value 0 and gradient ĝ with respect to θ.
  const params = paramsOf(dist);
  let perSample = fx;
  for (const key of Object.keys(estimate)) {
    const g = reshape(estimate[key], [n, ...E]);
    const theta = params[key];
    perSample = add(perSample, sumEvent(mul(g, sub(theta, stopGradient(theta)))));
  }
  return surrogateOf(perSample, fx, undefined);
}

/** The points to evaluate f at (the n samples first), and the estimate from f's values there. */
interface Plan {
  /** [n(1 + m), D]: the n samples x_i, then m points per sample. */
  points: Tensor;
  /** From f at the m·n extra points (constants, in the order of `points`) and f(x_i), the estimate per parameter, [n, D]. */
  estimate(rest: Tensor, fx: Tensor): Record<string, Tensor>;
}

/** A parameter as a constant [n, D] (tiled) or [1, D], for broadcasting against [n, D]. */
function flatConstant(theta: Tensor, n: number, tiled: boolean, D: number): Tensor {
  return reshape(stopGradient(theta), tiled ? [n, D] : [1, D]);
}

/**
 * [n·D, D]: row i·D + j is base row i with coordinate j replaced by value[i, j].
 * Built directly on the arrays: these are constant sample points.
 */
function substituteCoordinates(base: Tensor, value: Tensor): Tensor {
  if (base.rank !== 2 || value.rank !== 2 || base.shape[0] !== value.shape[0] || base.shape[1] !== value.shape[1]) {
    throw new RangeError(`substituteCoordinates: base and value must both be [n, D], got ${formatShape(base.shape)} and ${formatShape(value.shape)}`);
  }
  const [n, D] = base.shape;
  const out = new Float64Array(n * D * D);
  for (let i = 0; i < n; i++) {
    const row = base.data.subarray(i * D, (i + 1) * D);
    for (let j = 0; j < D; j++) {
      const at = (i * D + j) * D;
      out.set(row, at);
      out[at + j] = value.data[i * D + j];
    }
  }
  return new Tensor(out, [n * D, D]);
}

// ---------------------------------------------------------------- Normal

function normalPlan(dist: NormalDist, rng: Rng, n: number, tiled: boolean, coupled: boolean): Plan {
  const D = sizeOf(eventShape(dist, tiled));
  const loc = flatConstant(dist.loc, n, tiled, D); // [n|1, D]
  const scale = flatConstant(dist.scale, n, tiled, D);
  const at = (noise: Tensor): Tensor => broadcastTo(add(loc, mul(scale, noise)), [n, D]); // μ + σ·noise, [n, D]

  const x = at(rng.normal([n, D])); // the samples x_i ∼ N(μ, σ²)
  // mean: W ∼ Weibull(√2, 2), the Rayleigh law; coupled, p⁻ mirrors the same W
  const w = rng.weibull([n, D], Math.SQRT2, 2);
  const wMinus = coupled ? w : rng.weibull([n, D], Math.SQRT2, 2);
  // scale: M double-sided Maxwell; coupled, ε = U·M, which is exactly N(0, 1)
  const m = rng.doubleSidedMaxwell([n, D]);
  const eps = coupled ? mul(rng.uniform([n, D]), m) : rng.normal([n, D]);

  const points = concat(
    [
      x,
      substituteCoordinates(x, at(w)), // mean, p⁺
      substituteCoordinates(x, at(neg(wMinus))), // mean, p⁻
      substituteCoordinates(x, at(m)), // scale, p⁺
      substituteCoordinates(x, at(eps)), // scale, p⁻
    ],
    0,
  ); // [n(1 + 4D), D]
  return {
    points,
    estimate: (rest) => {
      const F = reshape(rest, [4, n, D]);
      const block = (k: number) => reshape(slice(F, 0, k, k + 1), [n, D]);
      return {
        loc: div(sub(block(0), block(1)), mul(scale, SQRT_2PI)), // c = 1/(σ√(2π))
        scale: div(sub(block(2), block(3)), scale), // c = 1/σ
      };
    },
  };
}

// ---------------------------------------------------------------- Bernoulli

function bernoulliPlan(dist: BernoulliDist, rng: Rng, n: number, tiled: boolean): Plan {
  const D = sizeOf(eventShape(dist, tiled));
  const b = reshape(sample(dist, rng, n, tiled), [n, D]); // [n, D] of 0/1
  const flipped = substituteCoordinates(b, sub(1, b)); // [n·D, D]: b with bit j flipped
  const logits = flatConstant(dist.logits, n, tiled, D);
  const c = mul(sigmoid(logits), sigmoid(neg(logits))); // p(1 − p), accurate for large |θ|
  return {
    points: concat([b, flipped], 0), // [n(1 + D), D]
    estimate: (rest, fx) => {
      const fFlip = reshape(rest, [n, D]);
      // f(b_j = 1) − f(b_j = 0) = (2 b_j − 1)(f(b) − f(flip_j b))
      const difference = mul(sub(mul(b, 2), 1), sub(reshape(fx, [n, 1]), fFlip));
      return { logits: mul(c, difference) };
    },
  };
}

// ---------------------------------------------------------------- categorical

function categoricalPlan(dist: CategoricalDist, rng: Rng, n: number, tiled: boolean): Plan {
  const E: Shape = eventShape(dist, tiled);
  const K = E[E.length - 1];
  const M = sizeOf(E) / K; // number of independent categoricals
  const b = sample(dist, rng, n, tiled); // [n, ...E] one-hot
  const cls = classesOf(b.data, n * M, K); // [n·M] the sampled class of each categorical

  // Neighbours: sample i with categorical m moved to each other class, in the
  // order (i, m, r), r = 0..K−2 running over the classes ≠ cls[i, m].
  const stride = M * K;
  const others = K - 1;
  const neighbours = new Float64Array(n * M * others * stride);
  for (let i = 0; i < n; i++) {
    const row = b.data.subarray(i * stride, (i + 1) * stride);
    for (let m = 0; m < M; m++) {
      for (let r = 0; r < others; r++) {
        const k = r < cls[i * M + m] ? r : r + 1;
        const at = ((i * M + m) * others + r) * stride;
        neighbours.set(row, at);
        neighbours.fill(0, at + m * K, at + (m + 1) * K);
        neighbours[at + m * K + k] = 1;
      }
    }
  }
  const flat = reshape(b, [n, stride]);
  const points = others > 0 ? concat([flat, new Tensor(neighbours, [n * M * others, stride])], 0) : flat;
  const logits = reshape(stopGradient(dist.logits), tiled ? [n, M, K] : [1, M, K]);
  const p = softmax(logits, -1); // [n|1, M, K]
  return {
    points, // [n(1 + M(K − 1)), M·K]
    estimate: (rest, fx) => {
      // F[i, m, k] = f(x_i with categorical m set to class k); F at the sampled class is f(x_i).
      const F = new Float64Array(n * M * K);
      for (let i = 0; i < n; i++) {
        for (let m = 0; m < M; m++) {
          const own = cls[i * M + m];
          for (let k = 0; k < K; k++) {
            F[(i * M + m) * K + k] = k === own ? fx.data[i] : rest.data[(i * M + m) * others + (k < own ? k : k - 1)];
          }
        }
      }
      const values = new Tensor(F, [n, M, K]);
      const expected = sum(mul(p, values), -1, true); // E_{p⁻}[f] = Σ_k p_k F[·, k], exactly: [n, M, 1]
      return { logits: reshape(mul(p, sub(values, expected)), [n, M * K]) }; // c = p_k, p⁺ = δ(e_k)
    },
  };
}

/** The index of the 1 in each one-hot row of length K. */
function classesOf(data: Float64Array, rows: number, K: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) {
      if (data[r * K + k] === 1) {
        out[r] = k;
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- as a registry entry

export const measureValuedEstimator: Estimator<undefined> = selfContainedEstimator({
  name: 'measure-valued',
  description: 'measure-valued gradient (weak derivatives): Weibull / double-sided Maxwell for the normal, exact outcome differences for bernoulli and categorical; coupled',
  unbiased: true,
  families: FAMILIES,
  iidSamples: true,
  minSamples: 1,
  surrogate: (dist, f, rng, options) => measureValued(dist, f, rng, options),
});
