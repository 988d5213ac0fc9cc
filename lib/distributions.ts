// Probability distributions with batch shapes, parameterized by tensors that
// may sit anywhere in a graph: log p(x|θ) and the reparameterized samples
// x = T(θ, ε) are differentiable in θ through the engine.
//
//   Bernoulli(l):            log p(b) = b log σ(l) + (1 − b) log σ(−l)
//   Categorical(l):          log p(k) = logSoftmax(l)_k
//   Normal(μ, σ):            x = μ + σ ε,          ε ∼ N(0, 1)
//   Gumbel(μ, β):            x = μ + β G,          G = −log(−log u)
//   Exponential(λ):          x = E / λ,            E = −log u
//   RelaxedBernoulli(l, τ):  y = σ((l + L) / τ),   L = log u − log(1 − u)
//   RelaxedCategorical(l, τ): y = softmax((logSoftmax(l) + G) / τ)
//
// The hard samplers draw the same noise as the relaxed ones (the project's
// conventions): with equal seeds, Bernoulli.sample is [t > 0] for the t of
// RelaxedBernoulli.rsampleLogits, and Categorical.sample is the argmax of
// RelaxedCategorical's sample.
//
// Shapes: parameters broadcast to the batch shape B; a sample is [...B, ...E]
// (E the event shape: [] except [K] for RelaxedCategorical), or [n, ...B, ...E]
// with n. logProb(x) broadcasts x against [...B, ...E] and reduces the event.
//
// The relaxed densities (Maddison, Mnih & Teh 2017, "The Concrete
// Distribution"; Jang, Gu & Poole 2017, "Categorical Reparameterization with
// Gumbel-Softmax") are computed in log space. At low temperature a sample
// σ(t) or softmax(s) rounds to exactly 0 or 1 for moderate t (at τ = 0.05,
// l + L > 1.84 already gives y = 1.0), and evaluating the density from y then
// takes log 0; other libraries return −inf or NaN there. Here:
//   - rsampleLogits gives the log-space sample (t, or s) and logProbLogits the
//     density of y at σ(t) (softmax(s)) computed from it: log y = logσ(t),
//     log(1 − y) = logσ(−t), log y = logSoftmax(s) are finite for finite t, s.
//   - rsample and sample remember, for the tensor they return, the log-space
//     value it was computed from (a WeakMap keyed by the tensor object, like
//     the inverse cache of PyTorch's transforms), and logProb uses it, so
//     logProb(rsample(…)) is finite at any temperature.
//   - Any other y is read in logs directly (log y, log1p(−y)), finite for
//     every y strictly inside the support; a y of exactly 0 or 1 is outside
//     the open support and throws, pointing at logProbLogits.
// Both densities are with respect to the same measure (Lebesgue on y, on the
// first K − 1 coordinates for the simplex), so a KL estimate log q − log p is
// the same whichever entry point computed it.

import {
  Tensor, scalar, sizeOf, formatShape, broadcastShapes, stopGradient, type Shape,
  neg, square, log, log1p, exp, sigmoid, logSigmoid, add, sub, mul, div, greater, where,
  sum, logsumexp, softmax, logSoftmax, argmax, expandDims, broadcastTo, gather, squeeze, oneHot,
} from '../autodiff/index.ts';
import { keepFromRecycling } from '../autodiff/tensor.ts';
import { Rng } from './random.ts';

/** What every distribution here provides. */
export interface Distribution {
  /** The shape of independent, differently parameterized draws. */
  readonly batchShape: Shape;
  /** The shape of one draw. */
  readonly eventShape: Shape;
  /** Draws [n?, ...batchShape, ...eventShape], with no gradient. */
  sample(rng: Rng, n?: number): Tensor;
  /** log p(x|θ), differentiable in θ; x broadcasts against [...batchShape, ...eventShape]. */
  logProb(x: Tensor | number): Tensor;
}

const EULER_GAMMA = 0.5772156649015329;
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

// ---------------------------------------------------------------- argument checks

/** " (element i of [shape])" for tensors of more than one element. */
function located(t: Tensor, i: number): string {
  return t.size === 1 ? '' : ` (element ${i} of ${formatShape(t.shape)})`;
}

function asParam(owner: string, name: string, x: unknown): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') return scalar(x);
  throw new TypeError(`${owner}: ${name} must be a Tensor or a number, got ${x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x}; wrap it with tensor(…)`);
}

const LOGIT_HINT = 'make an outcome negligible with a large finite logit such as -1e4, not -Infinity';

function checkFinite(owner: string, name: string, t: Tensor, hint = LOGIT_HINT): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) throw new RangeError(`${owner}: ${name} must be finite, got ${d[i]}${located(t, i)}; ${hint}`);
  }
}

function checkPositive(owner: string, name: string, t: Tensor, hint: string): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!(d[i] > 0) || d[i] === Infinity) {
      throw new RangeError(`${owner}: ${name} must be positive and finite, got ${d[i]}${located(t, i)}; ${hint}`);
    }
  }
}

function checkRng(owner: string, r: unknown): asserts r is Rng {
  if (!(r instanceof Rng)) throw new TypeError(`${owner}: expected a generator from rng(seed), got ${r === null ? 'null' : typeof r}`);
}

/** The sample shape [n?, ...batch, ...event]. */
function drawShape(owner: string, n: number | undefined, batch: Shape, event: Shape = []): number[] {
  if (n === undefined) return [...batch, ...event];
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${owner}: n must be a positive integer (the number of draws), got ${n}`);
  return [n, ...batch, ...event];
}

/** Checks that x is a tensor that broadcasts against `shape`. */
function asValue(owner: string, x: unknown, shape: Shape, what = 'x'): Tensor {
  const t = asParam(owner, what, x);
  try {
    broadcastShapes(owner, t.shape, shape);
  } catch {
    throw new RangeError(`${owner}: ${what} of shape ${formatShape(t.shape)} does not broadcast against ${formatShape(shape)}`);
  }
  return t;
}

function checkNotNaN(owner: string, t: Tensor, what = 'x'): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (Number.isNaN(d[i])) throw new RangeError(`${owner}: ${what} is NaN${located(t, i)}; log p is undefined there`);
  }
}

function batchOf(owner: string, a: Shape, b: Shape): number[] {
  try {
    return broadcastShapes(owner, a, b);
  } catch {
    throw new RangeError(`${owner}: parameter shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
  }
}

// ---------------------------------------------------------------- Bernoulli

/**
 * Bernoulli(σ(logits)), independently per element; samples are 0/1 floats.
 * log p(b) = b log σ(l) + (1 − b) log σ(−l), finite for any finite logit.
 */
export class Bernoulli implements Distribution {
  readonly logits: Tensor;
  readonly batchShape: Shape;
  readonly eventShape: Shape = [];

  constructor(logits: Tensor | number) {
    this.logits = asParam('Bernoulli', 'logits', logits);
    checkFinite('Bernoulli', 'logits', this.logits);
    this.batchShape = this.logits.shape;
  }

  /** P(b = 1) = σ(logits). */
  get probs(): Tensor {
    return sigmoid(this.logits);
  }

  /** E[b] = σ(logits). */
  get mean(): Tensor {
    return sigmoid(this.logits);
  }

  /** Var[b] = σ(l) σ(−l). */
  get variance(): Tensor {
    return mul(sigmoid(this.logits), sigmoid(neg(this.logits)));
  }

  /** b = [l + L > 0] with L standard logistic (so P(b = 1) = P(L > −l) = σ(l)). No gradient. */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('Bernoulli.sample', rng);
    const shape = drawShape('Bernoulli.sample', n, this.batchShape);
    return greater(add(stopGradient(this.logits), rng.logistic(shape)), 0);
  }

  /** log p(b) for b ∈ {0, 1}, picking log σ(l) or log σ(−l) (never 0 · log 0). */
  logProb(x: Tensor | number): Tensor {
    const b = asValue('Bernoulli.logProb', x, this.batchShape);
    const d = b.data;
    for (let i = 0; i < d.length; i++) {
      if (d[i] !== 0 && d[i] !== 1) {
        throw new RangeError(`Bernoulli.logProb: x must be 0 or 1, got ${d[i]}${located(b, i)}; for values in (0, 1) use RelaxedBernoulli`);
      }
    }
    return where(stopGradient(b), logSigmoid(this.logits), logSigmoid(neg(this.logits)));
  }

  /** H = −σ(l) log σ(l) − σ(−l) log σ(−l), in nats. */
  entropy(): Tensor {
    const l = this.logits;
    return neg(add(mul(sigmoid(l), logSigmoid(l)), mul(sigmoid(neg(l)), logSigmoid(neg(l)))));
  }

  /** The outcomes 0 and 1, as [2, ...batchShape], so logProb(enumerateSupport()) is [2, ...batchShape]. */
  enumerateSupport(): Tensor {
    const m = sizeOf(this.batchShape);
    const data = new Float64Array(2 * m).fill(1, m);
    return new Tensor(data, [2, ...this.batchShape]);
  }
}

// ---------------------------------------------------------------- Categorical

/**
 * Categorical(softmax(logits)) over the last axis of logits [...B, K].
 * `sample` gives class indices [n?, ...B] (as floats); `sampleOneHot` gives
 * the project's one-hot representation [n?, ...B, K].
 * log p(k) = logSoftmax(l)_k.
 */
export class Categorical implements Distribution {
  readonly logits: Tensor;
  readonly numClasses: number;
  readonly batchShape: Shape;
  readonly eventShape: Shape = [];

  constructor(logits: Tensor) {
    if (!(logits instanceof Tensor)) throw new TypeError(`Categorical: logits must be a Tensor [...batch, K], got ${typeof logits}`);
    if (logits.rank < 1 || logits.shape[logits.rank - 1] < 1) {
      throw new RangeError(`Categorical: logits need a non-empty class axis (the last), got shape ${formatShape(logits.shape)}`);
    }
    checkFinite('Categorical', 'logits', logits);
    this.logits = logits;
    this.numClasses = logits.shape[logits.rank - 1];
    this.batchShape = logits.shape.slice(0, -1);
  }

  /** softmax(logits), [...B, K]. */
  get probs(): Tensor {
    return softmax(this.logits, -1);
  }

  /** The mean of the one-hot sample, softmax(logits): [...B, K]. */
  get mean(): Tensor {
    return softmax(this.logits, -1);
  }

  /** The variance of each one-hot coordinate, p_k (1 − p_k): [...B, K]. */
  get variance(): Tensor {
    const p = softmax(this.logits, -1);
    return mul(p, sub(1, p));
  }

  /** Gumbel-max: argmax_k (logSoftmax(l)_k + G_k), class indices [n?, ...B]. No gradient. */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('Categorical.sample', rng);
    const shape = drawShape('Categorical.sample', n, this.batchShape, [this.numClasses]);
    return argmax(add(logSoftmax(stopGradient(this.logits), -1), rng.gumbel(shape)), -1);
  }

  /** The same draw as `sample` (same noise), one-hot: [n?, ...B, K]. */
  sampleOneHot(rng: Rng, n?: number): Tensor {
    return oneHot(this.sample(rng, n), this.numClasses);
  }

  /** log p(k) = logSoftmax(l)_k for integer class indices k that broadcast against B. */
  logProb(x: Tensor | number): Tensor {
    const owner = 'Categorical.logProb';
    const k = asValue(owner, x, this.batchShape, 'class indices');
    const K = this.numClasses;
    const d = k.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isInteger(d[i]) || d[i] < 0 || d[i] >= K) {
        throw new RangeError(`${owner}: class indices must be integers in [0, ${K}), got ${d[i]}${located(k, i)}; pass one-hot or relaxed vectors to logProbOneHot`);
      }
    }
    const shape = broadcastShapes(owner, k.shape, this.batchShape);
    const table = broadcastTo(logSoftmax(this.logits, -1), [...shape, K]);
    const index = expandDims(broadcastTo(stopGradient(k), shape), -1);
    return squeeze(gather(table, index, -1), -1);
  }

  /** Σ_k x_k logSoftmax(l)_k for one-hot (or relaxed) vectors x [..., K]: log p on one-hot x. */
  logProbOneHot(x: Tensor): Tensor {
    const owner = 'Categorical.logProbOneHot';
    const K = this.numClasses;
    if (!(x instanceof Tensor)) throw new TypeError(`${owner}: x must be a Tensor [..., ${K}], got ${typeof x}`);
    if (x.rank < 1 || x.shape[x.rank - 1] !== K) {
      throw new RangeError(`${owner}: x must have ${K} classes on its last axis, got shape ${formatShape(x.shape)}; for class indices use logProb`);
    }
    const v = asValue(owner, x, [...this.batchShape, K]);
    const d = v.data;
    for (let i = 0; i < d.length; i++) {
      if (!(d[i] >= 0 && d[i] <= 1)) throw new RangeError(`${owner}: entries must lie in [0, 1], got ${d[i]}${located(v, i)}`);
    }
    return sum(mul(v, logSoftmax(this.logits, -1)), -1);
  }

  /** H = −Σ_k p_k log p_k, in nats: [...B]. */
  entropy(): Tensor {
    const lp = logSoftmax(this.logits, -1);
    return neg(sum(mul(exp(lp), lp), -1));
  }

  /** Every class index, as [K, ...B]: logProb(enumerateSupport()) is [K, ...B]. */
  enumerateSupport(): Tensor {
    const m = sizeOf(this.batchShape);
    const K = this.numClasses;
    const data = new Float64Array(K * m);
    for (let k = 0; k < K; k++) data.fill(k, k * m, (k + 1) * m);
    return new Tensor(data, [K, ...this.batchShape]);
  }
}

// ---------------------------------------------------------------- Normal

/**
 * Normal(loc, scale²), independently per element.
 * log p(x) = −(x − μ)² / (2σ²) − log σ − ½ log 2π; rsample x = μ + σ ε.
 */
export class Normal implements Distribution {
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly batchShape: Shape;
  readonly eventShape: Shape = [];

  constructor(loc: Tensor | number, scale: Tensor | number) {
    this.loc = asParam('Normal', 'loc', loc);
    this.scale = asParam('Normal', 'scale', scale);
    checkFinite('Normal', 'loc', this.loc, 'pass a finite mean');
    checkPositive('Normal', 'scale', this.scale, 'pass a standard deviation, e.g. exp(logScale) or softplus(raw)');
    this.batchShape = batchOf('Normal', this.loc.shape, this.scale.shape);
  }

  /** μ, broadcast to the batch shape. */
  get mean(): Tensor {
    return broadcastTo(this.loc, this.batchShape);
  }

  /** σ², broadcast to the batch shape. */
  get variance(): Tensor {
    return broadcastTo(square(this.scale), this.batchShape);
  }

  /** x = μ + σ ε with ε ∼ N(0, 1): differentiable in μ and σ. */
  rsample(rng: Rng, n?: number): Tensor {
    checkRng('Normal.rsample', rng);
    const eps = rng.normal(drawShape('Normal.rsample', n, this.batchShape));
    return add(this.loc, mul(this.scale, eps));
  }

  /** A draw with no gradient (the same values as rsample with the same generator state). */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('Normal.sample', rng);
    const eps = rng.normal(drawShape('Normal.sample', n, this.batchShape));
    return add(stopGradient(this.loc), mul(stopGradient(this.scale), eps));
  }

  logProb(x: Tensor | number): Tensor {
    const v = asValue('Normal.logProb', x, this.batchShape);
    checkNotNaN('Normal.logProb', v);
    const z = div(sub(v, this.loc), this.scale);
    return sub(neg(add(mul(square(z), 0.5), log(this.scale))), HALF_LOG_2PI);
  }

  /** H = ½ log(2πe) + log σ. */
  entropy(): Tensor {
    return broadcastTo(add(log(this.scale), HALF_LOG_2PI + 0.5), this.batchShape);
  }
}

// ---------------------------------------------------------------- Gumbel

/**
 * Gumbel(loc, scale): the law of μ + β G with G = −log(−log u).
 * log p(x) = −(z + e^−z) − log β with z = (x − μ)/β.
 */
export class Gumbel implements Distribution {
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly batchShape: Shape;
  readonly eventShape: Shape = [];

  constructor(loc: Tensor | number, scale: Tensor | number) {
    this.loc = asParam('Gumbel', 'loc', loc);
    this.scale = asParam('Gumbel', 'scale', scale);
    checkFinite('Gumbel', 'loc', this.loc, 'pass a finite location');
    checkPositive('Gumbel', 'scale', this.scale, 'pass a positive scale β, e.g. exp(logScale)');
    this.batchShape = batchOf('Gumbel', this.loc.shape, this.scale.shape);
  }

  /** μ + β γ, with γ Euler's constant. */
  get mean(): Tensor {
    return broadcastTo(add(this.loc, mul(this.scale, EULER_GAMMA)), this.batchShape);
  }

  /** π² β² / 6. */
  get variance(): Tensor {
    return broadcastTo(mul(square(this.scale), (Math.PI * Math.PI) / 6), this.batchShape);
  }

  /** x = μ + β G: differentiable in μ and β. */
  rsample(rng: Rng, n?: number): Tensor {
    checkRng('Gumbel.rsample', rng);
    const g = rng.gumbel(drawShape('Gumbel.rsample', n, this.batchShape));
    return add(this.loc, mul(this.scale, g));
  }

  /** A draw with no gradient. */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('Gumbel.sample', rng);
    const g = rng.gumbel(drawShape('Gumbel.sample', n, this.batchShape));
    return add(stopGradient(this.loc), mul(stopGradient(this.scale), g));
  }

  logProb(x: Tensor | number): Tensor {
    const v = asValue('Gumbel.logProb', x, this.batchShape);
    checkNotNaN('Gumbel.logProb', v);
    const z = div(sub(v, this.loc), this.scale);
    return neg(add(add(z, exp(neg(z))), log(this.scale)));
  }

  /** H = log β + γ + 1. */
  entropy(): Tensor {
    return broadcastTo(add(log(this.scale), EULER_GAMMA + 1), this.batchShape);
  }
}

// ---------------------------------------------------------------- Exponential

/**
 * Exponential(rate) on [0, ∞): log p(x) = log λ − λ x; rsample x = E / λ
 * with E = −log u a standard exponential.
 */
export class Exponential implements Distribution {
  readonly rate: Tensor;
  readonly batchShape: Shape;
  readonly eventShape: Shape = [];

  constructor(rate: Tensor | number) {
    this.rate = asParam('Exponential', 'rate', rate);
    checkPositive('Exponential', 'rate', this.rate, 'pass a positive rate λ (the mean is 1/λ)');
    this.batchShape = this.rate.shape;
  }

  /** 1 / λ. */
  get mean(): Tensor {
    return div(1, this.rate);
  }

  /** 1 / λ². */
  get variance(): Tensor {
    return div(1, square(this.rate));
  }

  /** x = E / λ: differentiable in λ. */
  rsample(rng: Rng, n?: number): Tensor {
    checkRng('Exponential.rsample', rng);
    return div(rng.exponential(drawShape('Exponential.rsample', n, this.batchShape)), this.rate);
  }

  /** A draw with no gradient. */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('Exponential.sample', rng);
    return div(rng.exponential(drawShape('Exponential.sample', n, this.batchShape)), stopGradient(this.rate));
  }

  logProb(x: Tensor | number): Tensor {
    const v = asValue('Exponential.logProb', x, this.batchShape);
    const d = v.data;
    for (let i = 0; i < d.length; i++) {
      if (!(d[i] >= 0)) throw new RangeError(`Exponential.logProb: x must be ≥ 0 (the support is [0, ∞)), got ${d[i]}${located(v, i)}`);
    }
    return sub(log(this.rate), mul(this.rate, v));
  }

  /** H = 1 − log λ. */
  entropy(): Tensor {
    return sub(1, log(this.rate));
  }
}

// ---------------------------------------------------------------- the log-space values of relaxed samples

interface LogSpace {
  readonly kind: 'binary' | 'categorical';
  /** t with y = σ(t), or s with y = softmax(s). */
  readonly logits: Tensor;
}

// For each tensor returned by a relaxed rsample/sample, the log-space value it
// was computed from. Keyed by the tensor object, so only the very tensor whose
// values are σ(t) (or softmax(s)) hits: a copy, or a leaf watched by grad, does
// not, and is then read from its values.
const logSpaceOf = new WeakMap<Tensor, LogSpace>();

function remember(y: Tensor, kind: LogSpace['kind'], logits: Tensor): Tensor {
  keepFromRecycling(logits); // y may be handed to f, which may keep it and ask for its log-density later
  logSpaceOf.set(y, { kind, logits });
  return y;
}

function asTemperature(owner: string, temperature: unknown): Tensor {
  const t = asParam(owner, 'temperature', temperature);
  checkPositive(owner, 'temperature', t, 'pass τ > 0 (small τ is close to the discrete law), e.g. exp(logTemperature) when it is learned');
  return t;
}

// ---------------------------------------------------------------- RelaxedBernoulli (binary Concrete)

/**
 * The binary Concrete (relaxed Bernoulli) law on (0, 1) of
 * y = σ((l + L)/τ), L = log u − log(1 − u) standard logistic
 * (Maddison et al. 2017, the binary special case of the Concrete):
 *
 *   p(y) = τ α y^(−τ−1) (1 − y)^(−τ−1) / (α y^(−τ) + (1 − y)^(−τ))²,  α = e^l.
 *
 * In the log-space value t = logit y, with u = τ t − l (a standard logistic):
 *
 *   log p(y) = log τ + log σ(u) + log σ(−u) − log y − log(1 − y),
 *
 * which is what we compute, with log y = log σ(t) and log(1 − y) = log σ(−t)
 * whenever t is known (see the file's header).
 */
export class RelaxedBernoulli implements Distribution {
  readonly logits: Tensor;
  readonly temperature: Tensor;
  readonly batchShape: Shape;
  readonly eventShape: Shape = [];

  /** `temperature` τ > 0, a number or a tensor (learned temperatures, as in REBAR) broadcasting with logits. */
  constructor(logits: Tensor | number, temperature: Tensor | number) {
    this.logits = asParam('RelaxedBernoulli', 'logits', logits);
    checkFinite('RelaxedBernoulli', 'logits', this.logits);
    this.temperature = asTemperature('RelaxedBernoulli', temperature);
    this.batchShape = batchOf('RelaxedBernoulli', this.logits.shape, this.temperature.shape);
  }

  /** The log-space sample t = (l + L)/τ, so y = σ(t): [n?, ...B], differentiable in l and τ. */
  rsampleLogits(rng: Rng, n?: number): Tensor {
    checkRng('RelaxedBernoulli.rsampleLogits', rng);
    const noise = rng.logistic(drawShape('RelaxedBernoulli.rsampleLogits', n, this.batchShape));
    return div(add(this.logits, noise), this.temperature);
  }

  /** y = σ((l + L)/τ) in [0, 1] (it may round to 0 or 1 at low τ; logProb still uses the exact t). */
  rsample(rng: Rng, n?: number): Tensor {
    checkRng('RelaxedBernoulli.rsample', rng);
    const t = this.rsampleLogits(rng, n);
    return remember(sigmoid(t), 'binary', t);
  }

  /** A draw with no gradient (same values as rsample with the same generator state). */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('RelaxedBernoulli.sample', rng);
    const t = stopGradient(this.rsampleLogits(rng, n));
    return remember(sigmoid(t), 'binary', t);
  }

  /**
   * log p(y) at y = σ(t), from the log-space value t: finite for every finite t
   * at every temperature. The density is that of y (the same as logProb), not of t.
   */
  logProbLogits(t: Tensor | number): Tensor {
    const v = asValue('RelaxedBernoulli.logProbLogits', t, this.batchShape, 't');
    checkFinite('RelaxedBernoulli.logProbLogits', 't', v, 'pass the log-space sample from rsampleLogits');
    return this.density(v, logSigmoid(v), logSigmoid(neg(v)));
  }

  /**
   * log p(y) for y in the open interval (0, 1). A tensor returned by rsample
   * or sample is evaluated from its exact log-space value, even where it
   * rounded to 0 or 1; any other y is read in logs (log y, log1p(−y)).
   */
  logProb(y: Tensor | number): Tensor {
    const owner = 'RelaxedBernoulli.logProb';
    const known = y instanceof Tensor ? logSpaceOf.get(y) : undefined;
    if (known !== undefined && known.kind === 'binary') return this.logProbLogits(known.logits);
    const v = asValue(owner, y, this.batchShape, 'y');
    const d = v.data;
    for (let i = 0; i < d.length; i++) {
      if (!(d[i] > 0 && d[i] < 1)) {
        throw new RangeError(`${owner}: y must lie in the open interval (0, 1), got ${d[i]}${located(v, i)}; ` +
          'at low temperature keep the log-space sample (rsampleLogits) and use logProbLogits');
      }
    }
    const logY = log(v);
    const log1mY = log1p(neg(v));
    return this.density(sub(logY, log1mY), logY, log1mY);
  }

  /** log τ + log σ(u) + log σ(−u) − log y − log(1 − y), with u = τ t − l. */
  private density(t: Tensor, logY: Tensor, log1mY: Tensor): Tensor {
    const u = sub(mul(this.temperature, t), this.logits);
    const logistic = add(logSigmoid(u), logSigmoid(neg(u)));
    return sub(add(log(this.temperature), logistic), add(logY, log1mY));
  }
}

// ---------------------------------------------------------------- RelaxedCategorical (Concrete)

/**
 * The Concrete / Gumbel-softmax law on the simplex of
 * y = softmax((logSoftmax(l) + G)/τ), G standard Gumbel
 * (Maddison et al. 2017; Jang et al. 2017). With α = softmax(l), its
 * density on the first K − 1 coordinates is
 *
 *   p(y) = (K − 1)! τ^(K−1) Π_k [ α_k y_k^(−τ−1) / Σ_i α_i y_i^(−τ) ],
 *
 *   log p(y) = log (K − 1)! + (K − 1) log τ + Σ_k (log α_k − (τ + 1) log y_k)
 *              − K logsumexp_i (log α_i − τ log y_i),
 *
 * computed from log y = logSoftmax(s) whenever the log-space value s is known.
 */
export class RelaxedCategorical implements Distribution {
  readonly logits: Tensor;
  readonly temperature: Tensor;
  readonly numClasses: number;
  readonly batchShape: Shape;
  readonly eventShape: Shape;
  // τ with a trailing axis of 1, to broadcast against [..., K].
  private readonly tau: Tensor;

  /** logits [...B, K]; `temperature` τ > 0, a number or a tensor broadcasting with B. */
  constructor(logits: Tensor, temperature: Tensor | number) {
    const owner = 'RelaxedCategorical';
    if (!(logits instanceof Tensor)) throw new TypeError(`${owner}: logits must be a Tensor [...batch, K], got ${typeof logits}`);
    if (logits.rank < 1 || logits.shape[logits.rank - 1] < 1) {
      throw new RangeError(`${owner}: logits need a non-empty class axis (the last), got shape ${formatShape(logits.shape)}`);
    }
    checkFinite(owner, 'logits', logits);
    this.logits = logits;
    this.temperature = asTemperature(owner, temperature);
    this.numClasses = logits.shape[logits.rank - 1];
    this.batchShape = batchOf(owner, logits.shape.slice(0, -1), this.temperature.shape);
    this.eventShape = [this.numClasses];
    this.tau = expandDims(this.temperature, -1);
  }

  /** The log-space sample s = (logSoftmax(l) + G)/τ, so y = softmax(s): [n?, ...B, K]. */
  rsampleLogits(rng: Rng, n?: number): Tensor {
    checkRng('RelaxedCategorical.rsampleLogits', rng);
    const noise = rng.gumbel(drawShape('RelaxedCategorical.rsampleLogits', n, this.batchShape, this.eventShape));
    return div(add(logSoftmax(this.logits, -1), noise), this.tau);
  }

  /** y = softmax(s) on the simplex, [n?, ...B, K]; differentiable in logits and temperature. */
  rsample(rng: Rng, n?: number): Tensor {
    checkRng('RelaxedCategorical.rsample', rng);
    const s = this.rsampleLogits(rng, n);
    return remember(softmax(s, -1), 'categorical', s);
  }

  /** A draw with no gradient (same values as rsample with the same generator state). */
  sample(rng: Rng, n?: number): Tensor {
    checkRng('RelaxedCategorical.sample', rng);
    const s = stopGradient(this.rsampleLogits(rng, n));
    return remember(softmax(s, -1), 'categorical', s);
  }

  /**
   * log p(y) at y = softmax(s) from the log-space value s [..., K] (any shift
   * of s gives the same y): log y = logSoftmax(s) is finite even where y_k
   * underflows to 0. The density is that of y, the same as logProb.
   */
  logProbLogits(s: Tensor): Tensor {
    const owner = 'RelaxedCategorical.logProbLogits';
    const v = this.checkEvent(owner, s, 's');
    checkFinite(owner, 's', v, 'pass the log-space sample from rsampleLogits');
    return this.density(logSoftmax(v, -1));
  }

  /**
   * log p(y) for y on the open simplex [..., K] (entries > 0, summing to 1
   * within 1e-6). A tensor returned by rsample or sample is evaluated from
   * its exact log-space value even where entries rounded to 0 or 1.
   */
  logProb(y: Tensor | number): Tensor {
    const owner = 'RelaxedCategorical.logProb';
    const known = y instanceof Tensor ? logSpaceOf.get(y) : undefined;
    if (known !== undefined && known.kind === 'categorical' && known.logits.shape[known.logits.rank - 1] === this.numClasses) {
      return this.logProbLogits(known.logits);
    }
    const v = this.checkEvent(owner, y, 'y');
    const d = v.data;
    const K = this.numClasses;
    for (let row = 0; row < d.length; row += K) {
      let total = 0;
      for (let k = 0; k < K; k++) {
        const e = d[row + k];
        if (!(e > 0 && e <= 1)) {
          throw new RangeError(`${owner}: y must lie in the open simplex, got entry ${e}${located(v, row + k)}; ` +
            'at low temperature keep the log-space sample (rsampleLogits) and use logProbLogits');
        }
        total += e;
      }
      if (!(Math.abs(total - 1) <= 1e-6)) {
        throw new RangeError(`${owner}: y must sum to 1 along its last axis, got ${total} in row ${row / K} of ${formatShape(v.shape)}`);
      }
    }
    return this.density(log(v));
  }

  private checkEvent(owner: string, x: unknown, what: string): Tensor {
    const K = this.numClasses;
    if (!(x instanceof Tensor)) throw new TypeError(`${owner}: ${what} must be a Tensor [..., ${K}], got ${typeof x}`);
    if (x.rank < 1 || x.shape[x.rank - 1] !== K) {
      throw new RangeError(`${owner}: ${what} must have ${K} classes on its last axis, got shape ${formatShape(x.shape)}`);
    }
    return asValue(owner, x, [...this.batchShape, K], what);
  }

  /** The Concrete log-density from log y [..., K]. */
  private density(logY: Tensor): Tensor {
    const K = this.numClasses;
    let logFactorial = 0; // log (K − 1)!
    for (let i = 2; i < K; i++) logFactorial += Math.log(i);
    const logAlpha = logSoftmax(this.logits, -1);
    const perClass = sum(sub(logAlpha, mul(add(this.tau, 1), logY)), -1);
    const normalizer = mul(logsumexp(sub(logAlpha, mul(this.tau, logY)), -1), K);
    const logTau = mul(log(this.temperature), K - 1);
    return add(add(sub(perClass, normalizer), logTau), logFactorial);
  }
}
