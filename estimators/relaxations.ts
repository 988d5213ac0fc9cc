// The relaxation estimators: biased, low-variance gradients that push the
// derivative through a continuous stand-in for the discrete sample. With
// z = T(θ, ε) the perturbed logits (families.ts), b = H(z) the hard sample and
// σ_τ(z) its relaxation at temperature τ (sigmoid(z/τ) or softmax(z/τ)):
//
//   Gumbel-softmax / Concrete   ĝ = ∇θ f(σ_τ(z))
//   straight-through            ĝ = (∂f/∂x)(b) · ∇θ E[b],     E[b] = σ(θ) or softmax(θ)
//   straight-through GS (ST-GS) ĝ = (∂f/∂x)(b) · ∇θ σ_τ(z)
//   Gumbel-Rao                  ĝ = (∂f/∂x)(b) · (1/M) Σ_m (∂σ_τ/∂z)(z̃ᵐ) · ∂z/∂θ,   z̃ᵐ ∼ p(z | b, θ)
//
// Gumbel-Rao is ST-GS with the Jacobian averaged over M draws of z given b:
// a Monte Carlo estimate of E[ĝ_STGS | b], so its mean is ST-GS's and its
// variance is lower (Rao-Blackwellization). The Jacobian is taken at each
// z̃ᵐ held fixed and multiplied by ∂z/∂θ of the unconditional path
// z = logits + L (Bernoulli) or logits + G (categorical: log θ + G up to a
// constant per row, which σ_τ and the argmax do not see when τ is the same
// for every class; families.ts relaxationBase);
// differentiating through the conditional sampler too would add
// E[∂σ_τ(z̃)/∂z̃ · (∂z̃/∂θ − ∂z/∂θ)], which is not zero, and change the mean.
//
// Every surrogate is DiCE-style, so its value is f at the hard sample b:
// straight-through forms pass x = b + (s − stop(s)) to f (exactly b in value,
// the gradient of s), Gumbel-softmax reports f(b) + (f(σ_τ(z)) − stop(f(σ_τ(z)))).

import { Tensor, add, sub, mean, sigmoid, softmax, broadcastTo, expandDims, stopGradient, formatShape } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { conditionalLogistic, conditionalGumbel } from '../lib/gumbel.ts';
import { checkFamily, checkSamples, drawNoise, relaxationBase, hard, relaxed, sample, type Dist, type Family, type SampleFunction } from './families.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

const DISCRETE: readonly Family[] = ['bernoulli', 'categorical'];

/** The temperature of Gumbel-softmax used by the peers (../shared/peers/fixtures.json) and by REBAR's start. */
export const DEFAULT_TEMPERATURE = 0.5;
/** M, the number of conditional Gumbels per sample for Gumbel-Rao (Paulus et al. 2021 use 10 and more). */
export const DEFAULT_CONDITIONALS = 10;

export interface RelaxationOptions extends SurrogateOptions<undefined> {
  /** τ, the relaxation's temperature (default 0.5): a positive number, or a tensor of them. */
  temperature?: number | Tensor;
}

export interface GumbelRaoOptions extends RelaxationOptions {
  /** M, conditional samples z̃ | b per hard sample (default 10). */
  conditionals?: number;
}

// ---------------------------------------------------------------- shared plumbing

/** x − stop(x): value exactly zero, gradient that of x. */
function gradientOnly(x: Tensor): Tensor {
  return sub(x, stopGradient(x));
}

function temperatureOf(name: string, options: RelaxationOptions): number | Tensor {
  const t = options.temperature ?? DEFAULT_TEMPERATURE;
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

/** E[b | θ]: σ(logits) per Bernoulli, softmax(logits) over the classes. */
function meanOf(dist: Dist): Tensor {
  if (dist.family === 'bernoulli') return sigmoid(dist.logits);
  if (dist.family === 'categorical') return softmax(dist.logits, -1);
  throw new RangeError(`meanOf: the ${dist.family} family has no discrete sample`);
}

/** z̃ ∼ p(z | b, θ) from uniforms v, with θ held constant (lib/gumbel). */
function conditionalHeld(dist: Dist, b: Tensor, v: Tensor): Tensor {
  if (dist.family === 'bernoulli') return conditionalLogistic(stopGradient(dist.logits), b, v);
  if (dist.family === 'categorical') return conditionalGumbel(stopGradient(dist.logits), b, v);
  throw new RangeError(`conditionalHeld: the ${dist.family} family has no discrete sample`);
}

function start(name: string, dist: Dist, options: SurrogateOptions<undefined>): { n: number; tiled: boolean } {
  checkFamily(name, dist, DISCRETE);
  const n = options.n ?? 1;
  checkSamples(name, n);
  return { n, tiled: options.tiled ?? false };
}

/** f at b + (s − stop(s)): value f(b), gradient (∂f/∂x)(b) · ∇s. Returns the surrogate. */
function straightThroughOf(name: string, f: SampleFunction, b: Tensor, s: Tensor, n: number): Surrogate<undefined> {
  const x = add(b, gradientOnly(s)); // [n, ...E], equal to b in value (b + 0 is exact)
  const fx = evaluate(name, f, x, n); // [n]
  return surrogateOf(fx, fx, undefined);
}

// ---------------------------------------------------------------- the estimators

/**
 * Gumbel-softmax / Concrete.  ĝ = ∇θ f(σ_τ(z)),  z = T(θ, ε)
 * Requires: f defined and differentiable on relaxed samples (the simplex, or
 * (0, 1)^D).  Unbiased: no; the bias vanishes as τ → 0 while the variance grows.
 * Reference: Maddison, Mnih & Teh 2017 (Concrete); Jang, Gu & Poole 2017 (Gumbel-softmax).
 *
 * θ → `dist.logits`, τ → `options.temperature` (default 0.5). The value
 * reported is f at the hard sample b = H(z), not at the relaxed one: per
 * sample f(b) + f(σ_τ(z)) − f(σ_τ(stop z)). The last two terms cancel in
 * value and in the gradient of any parameter inside f, so such a parameter
 * (a decoder's, say) gets ∇f(b) once, while θ and τ get the relaxed path.
 */
export function gumbelSoftmax(dist: Dist, f: SampleFunction, rng: Rng, options: RelaxationOptions = {}): Surrogate<undefined> {
  const name = 'gumbel-softmax';
  const { n, tiled } = start(name, dist, options);
  const tau = temperatureOf(name, options);
  const z = add(relaxationBase(dist, tau), drawNoise(dist, rng, n, tiled)); // [n, ...E], z up to a constant per row
  const b = hard(dist.family, z); // [n, ...E], a constant
  const soft = relaxed(dist.family, z, tau); // [n, ...E]
  // f at the constants b and σ_τ(stop z) (the same values as soft, held), and at soft: the
  // backward pass runs through f on n rows, the third call's.
  const fb = evaluate(name, f, b, n);
  const pathOnly = sub(evaluate(name, f, soft, n), evaluate(name, f, stopGradient(soft), n)); // value 0
  return surrogateOf(add(fb, pathOnly), fb, undefined);
}

/**
 * Straight-through.  ĝ = (∂f/∂x)(b) · ∇θ E[b],  E[b] = σ(θ) (Bernoulli) or softmax(θ) (categorical)
 * Requires: f differentiable at hard samples.  Unbiased: no in general; yes
 * when f is multilinear in the samples (a table's extension), since then
 * E[(∂f/∂x)(b)] = (∂f/∂x)(E[b]).
 * Reference: Bengio, Léonard & Courville 2013, §4 (the sigmoid-adjusted form);
 * Hinton 2012 (lectures).
 *
 * θ → `dist.logits`. Forward the hard sample, backward as if db/dθ = dE[b]/dθ:
 * f is called on b + E[b] − stop(E[b]).
 */
export function straightThrough(dist: Dist, f: SampleFunction, rng: Rng, options: SurrogateOptions<undefined> = {}): Surrogate<undefined> {
  const name = 'straight-through';
  const { n, tiled } = start(name, dist, options);
  const b = sample(dist, rng, n, tiled); // [n, ...E], a constant
  return straightThroughOf(name, f, b, meanOf(dist), n);
}

/**
 * Straight-through Gumbel-softmax.  ĝ = (∂f/∂x)(b) · ∇θ σ_τ(z),  b = H(z)
 * Requires: f differentiable at hard samples.  Unbiased: no.
 * Reference: Jang, Gu & Poole 2017, §2.2; Bengio, Léonard & Courville 2013.
 *
 * θ → `dist.logits`, τ → `options.temperature` (default 0.5).
 * f is called on b + σ_τ(z) − stop(σ_τ(z)).
 */
export function stGumbelSoftmax(dist: Dist, f: SampleFunction, rng: Rng, options: RelaxationOptions = {}): Surrogate<undefined> {
  const name = 'st-gumbel-softmax';
  const { n, tiled } = start(name, dist, options);
  const tau = temperatureOf(name, options);
  const z = add(relaxationBase(dist, tau), drawNoise(dist, rng, n, tiled)); // [n, ...E], z up to a constant per row
  const b = hard(dist.family, z);
  return straightThroughOf(name, f, b, relaxed(dist.family, z, tau), n);
}

/**
 * Gumbel-Rao.  ĝ = (∂f/∂x)(b) · (1/M) Σ_m (∂σ_τ/∂z)(z̃ᵐ) ∂z/∂θ,  z̃ᵐ ∼ p(z | b, θ) iid
 * Requires: f differentiable at hard samples.  Unbiased: no; its mean is
 * ST-GS's (E[ĝ_GR | b] = E[ĝ_STGS | b]) and its variance is at most ST-GS's.
 * Reference: Paulus, Maddison & Krause 2021, "Rao-Blackwellizing the
 * straight-through Gumbel-softmax gradient estimator", eq. 8. As in the
 * authors' released code (conditional_gumbel under torch.no_grad) the
 * conditional sampler is not differentiated: each z̃ᵐ is drawn with θ held
 * constant, and ∂z/∂θ is the unconditional path's (identity in the logits).
 *
 * θ → `dist.logits`, τ → `options.temperature` (default 0.5),
 * M → `options.conditionals` (default 10). Noise: one block of n·|E| uniforms
 * for z, then M blocks of n·|E| for the z̃ᵐ ([M, n, ...E], block m is z̃ᵐ).
 * f is called on b + s − stop(s), s = mean_m σ_τ(stop(z̃ᵐ) + base(θ) − stop(base(θ))), with
 * base(θ) what z adds its noise to (families.ts relaxationBase).
 */
export function gumbelRao(dist: Dist, f: SampleFunction, rng: Rng, options: GumbelRaoOptions = {}): Surrogate<undefined> {
  const name = 'gumbel-rao';
  const { n, tiled } = start(name, dist, options);
  const tau = temperatureOf(name, options);
  const M = options.conditionals ?? DEFAULT_CONDITIONALS;
  if (!Number.isInteger(M) || M < 1) throw new RangeError(`${name}: conditionals (M) must be an integer ≥ 1, got ${M}; try ${DEFAULT_CONDITIONALS}`);
  const base = relaxationBase(dist, tau);
  const z = add(base, drawNoise(dist, rng, n, tiled)); // [n, ...E], z up to a constant per row
  const b = hard(dist.family, z); // [n, ...E], a constant
  const bs = broadcastTo(expandDims(b, 0), [M, ...b.shape]); // [M, n, ...E]
  const zt = conditionalHeld(dist, bs, rng.uniform(bs.shape)); // z̃ᵐ, constants: [M, n, ...E]
  const path = add(zt, gradientOnly(base)); // value z̃ᵐ, ∂/∂θ as for z
  const s = mean(relaxed(dist.family, path, tau), 0); // [n, ...E]
  return straightThroughOf(name, f, b, s, n);
}

// ---------------------------------------------------------------- as registry entries

export type RelaxationKind = 'gumbel-softmax' | 'straight-through' | 'st-gumbel-softmax' | 'gumbel-rao';

const KINDS: Record<RelaxationKind, { run: (dist: Dist, f: SampleFunction, rng: Rng, options: GumbelRaoOptions) => Surrogate<undefined>; description: string }> = {
  'gumbel-softmax': { run: gumbelSoftmax, description: 'Gumbel-softmax / Concrete: ∇θ f(σ_τ(z)), biased' },
  'straight-through': { run: straightThrough, description: 'straight-through: f(b), backward as if db/dθ = dE[b]/dθ, biased' },
  'st-gumbel-softmax': { run: stGumbelSoftmax, description: 'straight-through Gumbel-softmax: f(b), backward through σ_τ(z), biased' },
  'gumbel-rao': { run: gumbelRao, description: 'Gumbel-Rao: ST-GS with the Jacobian averaged over M conditional z̃ | b, biased' },
};

/**
 * A relaxation estimator as a registry entry, with its settings fixed
 * (τ → `temperature`, M → `conditionals`; the defaults are 0.5 and 10):
 * relaxationEstimator('gumbel-softmax', { temperature: 0.1 }).
 */
export function relaxationEstimator(kind: RelaxationKind, settings: { temperature?: number | Tensor; conditionals?: number } = {}): Estimator<undefined> {
  const found = Object.prototype.hasOwnProperty.call(KINDS, kind) ? KINDS[kind] : undefined;
  if (found === undefined) {
    throw new RangeError(`relaxationEstimator: unknown kind '${String(kind)}'; use ${Object.keys(KINDS).join(', ')}`);
  }
  // Validate once here, so a bad setting fails when the entry is made, not at its first use.
  if (settings.temperature !== undefined) temperatureOf('relaxationEstimator', settings);
  const M = settings.conditionals;
  if (M !== undefined && (!Number.isInteger(M) || M < 1)) {
    throw new RangeError(`relaxationEstimator: conditionals (M) must be an integer ≥ 1, got ${M}`);
  }
  // Read once, so the calls (which may run in a recycling frame) run no code of the caller's.
  // Merged with each call's options by Object.assign onto a new object: the
  // same properties as { ...fixed, ...options }, which V8 (Node 20) builds on
  // a slow path, 1.4 µs against 45 ns, a fifth of Gumbel-softmax at n = 1.
  // (Likewise { ...a, b }, 0.5 µs: the estimators merge with Object.assign.)
  const fixed = { temperature: settings.temperature, conditionals: settings.conditionals };
  return selfContainedEstimator({
    name: kind,
    description: found.description,
    unbiased: false,
    families: DISCRETE,
    iidSamples: true,
    minSamples: 1,
    surrogate: (dist, f, rng, options) => found.run(dist, f, rng, Object.assign({ temperature: fixed.temperature, conditionals: fixed.conditionals }, options)),
  });
}

export const gumbelSoftmaxEstimator = relaxationEstimator('gumbel-softmax');
export const straightThroughEstimator = relaxationEstimator('straight-through');
export const stGumbelSoftmaxEstimator = relaxationEstimator('st-gumbel-softmax');
export const gumbelRaoEstimator = relaxationEstimator('gumbel-rao');
