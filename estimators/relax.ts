// Control-variate estimators built on a relaxation: REBAR, LAX, DLAX, RELAX.
//
// RELAX (Grathwohl et al. 2018, eq. 8), for b = H(z), z = T(θ, u) and
// z̃ ∼ p(z | b, θ) reparameterized:
//
//   ĝ = (f(b) − c_φ(z̃)) ∇θ log p(b|θ) + ∇θ c_φ(z) − ∇θ c_φ(z̃)
//
// Unbiased for any c_φ: E[c(z̃) ∇ log p(b)] = ∇E[c(z)] − E[∇c(z̃)], because
// z ∼ p(z|θ) can be drawn as b then z | b. REBAR (Tucker et al. 2017) is the
// case c(z) = η f(σ_λ(z)), the Concrete relaxation of f. DLAX drops the
// conditional sample:  ĝ = f(b) ∇ log p(b) − c(z) ∇ log p(z) + ∇c(z);  LAX is
// DLAX with b = z, for a reparameterizable (continuous) distribution.
//
// The learned parts φ are trained on the single-sample variance: minimise
// E[ĝ²] by ∂/∂φ E[ĝ²] = E[2 ĝ ∂ĝ/∂φ], a gradient of a gradient
// (estimateGradient with trainState).
//
// Per sample, the surrogate is
//   f(b) + (f(b) − c(z̃))·(log p − stop(log p)) + (c(z) − c(z̃)) − stop(c(z) − c(z̃)),
// whose value is f(b) and whose gradient is ĝ.

import { Tensor, add, sub, mul, exp, reshape, concat, slice, stopGradient, mapTree, scalar, zeros } from '../autodiff/index.ts';
import type { Rng } from '../lib/random.ts';
import { requireConditionalLogits, conditionalLogisticUnchecked, conditionalGumbelUnchecked } from '../lib/gumbel.ts';
import { initMlp, applyMlp, type MlpParams } from '../lib/mlp.ts';
import {
  checkFamily, checkSamples, drawNoise, perturb, hard, relaxed, logProb, logProbAt, location, logDensity, eventShape, sumEvent, paramsOf, withParams,
  type Dist, type BernoulliDist, type CategoricalDist, type ReparameterizedDist, type Family, type SampleFunction,
} from './families.ts';
import { REPARAMETERIZABLE, lawOf, draw, checkFinite, type ReparameterizableDist } from './pathwise.ts';
import { evaluate, surrogateOf, type Estimator, type Surrogate, type SurrogateOptions, selfContainedEstimator } from './estimator.ts';

const DISCRETE: readonly Family[] = ['bernoulli', 'categorical'];

/**
 * z̃ ∼ p(z | b, θ) from fresh uniforms v, differentiable in θ (lib/gumbel),
 * a categorical's from log θ = `loc` (location(dist)). b = H(z) and v from the
 * generator are valid by construction; the logits are checked as before.
 */
function conditional(dist: BernoulliDist | CategoricalDist, loc: Tensor, b: Tensor, v: Tensor): Tensor {
  if (dist.family === 'bernoulli') {
    requireConditionalLogits('conditionalLogistic', dist.logits);
    return conditionalLogisticUnchecked(dist.logits, b, v);
  }
  requireConditionalLogits('conditionalGumbel', dist.logits);
  return conditionalGumbelUnchecked(loc, b, v);
}

/** Zero-valued, gradient ∇ log p(x|θ) for the constant sample x: the score-function factor. */
function scoreOf(logp: Tensor): Tensor {
  return sub(logp, stopGradient(logp));
}

/** x − stop(x): value zero, gradient that of x. */
function gradientOnly(x: Tensor): Tensor {
  return sub(x, stopGradient(x));
}

/** Flattens samples [n, ...E] to the network's input [n, |E|]. */
function rows(x: Tensor): Tensor {
  return reshape(x, [x.shape[0], -1]);
}

// ---------------------------------------------------------------- the control variate c_φ

/**
 * The learned parts of REBAR and RELAX.
 *   logTemperature → log λ, the relaxation's temperature (learned in log space so λ > 0)
 *   eta            → η, the weight of the relaxed f in c_φ (absent: no f term,
 *                    and f is never differentiated)
 *   alpha, net     → α and the network r: c_φ(z) = η f(σ_λ(z)) + α r(σ_λ(z))
 */
export interface RelaxState {
  logTemperature: Tensor;
  eta?: Tensor;
  alpha?: Tensor;
  net?: MlpParams;
}

export interface RelaxInit {
  /** λ at the start (default 0.5). */
  temperature?: number;
  /** η at the start (default 1); null leaves the f term out, so f need not be differentiable. */
  eta?: number | null;
  /** α at the start (default 1; 0 makes RELAX start as REINFORCE when eta is 0 too). */
  alpha?: number;
  /** Hidden layer sizes of r (default [10]); [] for no network. */
  hidden?: readonly number[];
}

/** RELAX's (and LAX's) learned parts for a distribution: r is a tanh MLP from |E| inputs to 1 output. */
export function initRelaxState(dist: Dist | ReparameterizedDist, rng: Rng, init: RelaxInit = {}): RelaxState {
  const temperature = init.temperature ?? 0.5;
  if (!(temperature > 0)) throw new RangeError(`initRelaxState: temperature must be positive, got ${temperature}`);
  const hidden = init.hidden ?? [10];
  const inputs = eventShape(dist).reduce((a, d) => a * d, 1);
  const state: RelaxState = { logTemperature: scalar(Math.log(temperature)) };
  if (init.eta !== null) state.eta = scalar(init.eta ?? 1);
  if (hidden.length > 0) {
    state.alpha = scalar(init.alpha ?? 1);
    state.net = initMlp(rng, { sizes: [inputs, ...hidden, 1], activation: 'tanh' });
  }
  return state;
}

/** REBAR's learned parts: η and the temperature λ (Tucker et al. 2017 start at η = 1, λ = 0.5). */
export function initRebarState(_dist: Dist, _rng: Rng, init: { temperature?: number; eta?: number } = {}): RelaxState {
  const temperature = init.temperature ?? 0.5;
  if (!(temperature > 0)) throw new RangeError(`initRebarState: temperature must be positive, got ${temperature}`);
  return { logTemperature: scalar(Math.log(temperature)), eta: scalar(init.eta ?? 1) };
}

/**
 * c_φ at several batches of relaxed inputs at once (one call of f and of r on
 * their concatenation, which is cheaper than one call each).
 */
function controlVariates(family: Family | 'identity', state: RelaxState, f: SampleFunction, zs: readonly Tensor[], name: string): Tensor[] {
  const n = zs[0].shape[0];
  const joined = zs.length === 1 ? zs[0] : concat(zs, 0); // [k·n, ...E]
  // σ_λ acts per sample, so one call on the concatenation is the concatenation of the calls.
  const all = family === 'identity' ? joined : relaxed(family, joined, exp(state.logTemperature));
  // η f(σ_λ(z)) only when the state has η: without it f is never differentiated.
  let c: Tensor = state.eta === undefined ? zeros([n * zs.length]) : mul(state.eta, evaluate(name, f, all, n * zs.length)); // [k·n]
  if (state.net !== undefined) {
    const r = reshape(applyMlp(state.net, rows(all), { activation: 'tanh' }), [n * zs.length]);
    c = add(c, mul(state.alpha ?? scalar(1), r));
  }
  return zs.map((_, i) => slice(c, 0, i * n, (i + 1) * n));
}

// ---------------------------------------------------------------- RELAX and REBAR

export type RelaxOptions = SurrogateOptions<RelaxState>;

function relaxFamily(name: string, dist: Dist, f: SampleFunction, rng: Rng, options: RelaxOptions, state: RelaxState): Surrogate<RelaxState> {
  const n = options.n ?? 1;
  const tiled = options.tiled ?? false;
  checkSamples(name, n);
  const discrete = dist as BernoulliDist | CategoricalDist; // checkFamily admitted only these
  const loc = location(discrete); // logits, or log θ computed once for z, z̃ and log p(b|θ)
  const z = add(loc, drawNoise(dist, rng, n, tiled)); // z = T(θ, u) = perturb(dist, u): [n, ...E]
  const b = hard(dist.family, z); // b = H(z), a constant
  const zt = conditional(discrete, loc, b, rng.uniform(b.shape)); // z̃ ∼ p(z | b, θ)
  const fb = evaluate(name, f, b, n);
  const [cz, czt] = controlVariates(dist.family, state, f, [z, zt], name);
  const score = scoreOf(logProbAt(discrete, loc, b));
  const perSample = add(add(fb, mul(sub(fb, czt), score)), gradientOnly(sub(cz, czt)));
  return surrogateOf(perSample, fb, state);
}

/**
 * RELAX.  ĝ = (f(b) − c_φ(z̃)) ∇θ log p(b|θ) + ∇θ c_φ(z) − ∇θ c_φ(z̃),  b = H(z), z̃ ∼ p(z|b,θ)
 * Requires: b = H(z) with z reparameterizable; c_φ differentiable; f arbitrary on b,
 * differentiable on relaxed inputs only through c_φ.  Unbiased: yes, for every φ.
 * Reference: Grathwohl et al. 2018, "Backpropagation through the void", eq. 8 and alg. 2.
 *
 * θ → `dist`'s logits, φ → `state` (see RelaxState), z̃ → `zt`.
 */
export function relax(dist: Dist, f: SampleFunction, rng: Rng, options: RelaxOptions = {}): Surrogate<RelaxState> {
  checkFamily('relax', dist, DISCRETE);
  const state = options.state;
  if (state === undefined) throw new RangeError('relax: needs options.state; make one with initRelaxState(dist, rng)');
  return relaxFamily('relax', dist, f, rng, options, state);
}

/**
 * REBAR.  ĝ = (f(b) − η f(σ_λ(z̃))) ∇θ log p(b|θ) + η ∇θ f(σ_λ(z)) − η ∇θ f(σ_λ(z̃))
 * Requires: f differentiable on relaxed samples.  Unbiased: yes, for every η and λ.
 * Reference: Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 2017, "REBAR", eq. 6.
 *
 * θ → `dist`'s logits, η → `state.eta`, λ → exp(`state.logTemperature`).
 */
export function rebar(dist: Dist, f: SampleFunction, rng: Rng, options: RelaxOptions = {}): Surrogate<RelaxState> {
  checkFamily('rebar', dist, DISCRETE);
  // Without a state, REBAR starts where Tucker et al. do (η = 1, λ = 0.5).
  const state = options.state ?? initRebarState(dist, rng);
  if (state.eta === undefined || state.net !== undefined || state.alpha !== undefined) {
    throw new RangeError('rebar: the state must be { logTemperature, eta } (REBAR\'s control variate is η f(σ_λ(z)) alone); for a network use relax');
  }
  return relaxFamily('rebar', dist, f, rng, options, state);
}

// ---------------------------------------------------------------- LAX and DLAX

/**
 * DLAX.  ĝ = f(b) ∇θ log p(b|θ) − c_φ(z) ∇θ log p(z|θ) + ∇θ c_φ(z),  b = H(z)
 * Requires: the density of z; c_φ differentiable.  Unbiased: yes, for every φ.
 * Reference: Grathwohl et al. 2018, eq. 7 (LAX) with the discrete score of §3.3.
 */
export function dlax(dist: Dist, f: SampleFunction, rng: Rng, options: RelaxOptions = {}): Surrogate<RelaxState> {
  const name = 'dlax';
  checkFamily(name, dist, DISCRETE);
  const state = options.state;
  if (state === undefined) throw new RangeError(`${name}: needs options.state; make one with initRelaxState(dist, rng)`);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const z = perturb(dist, drawNoise(dist, rng, n, options.tiled)); // [n, ...E]
  const b = hard(dist.family, z);
  const fb = evaluate(name, f, b, n);
  // c(z) − c(stop z) carries ∇θ c(z) and nothing else: a parameter inside f
  // (in c's η f term) must not get ∇c(z), whose mean is not zero.
  const [cz, czFixed] = controlVariates(dist.family, state, f, [z, stopGradient(z)], name);
  const scoreB = scoreOf(logProb(dist, b));
  const scoreZ = scoreOf(logDensity(dist, stopGradient(z)));
  const perSample = add(add(fb, sub(mul(fb, scoreB), mul(cz, scoreZ))), sub(cz, czFixed));
  return surrogateOf(perSample, fb, state);
}

/**
 * ∇θ log p(z|θ) with z held fixed, as a zero-valued term: log p(z|θ) − log p(z|stop θ).
 * Both are evaluated at z itself, the very tensor rsample returned, so a
 * relaxed law reads z's exact log-space value (lib/distributions), which
 * stopGradient(z) would lose (at low temperature z rounds to 0 or 1). The
 * path through z is the same in both terms and cancels; θ's own is left.
 */
function scoreAtFixedSample(dist: ReparameterizableDist, z: Tensor): Tensor {
  const fixed = withParams(dist, mapTree(paramsOf(dist), (p) => stopGradient(p)));
  return sub(sumEvent(lawOf(dist).logProb(z)), sumEvent(lawOf(fixed).logProb(z)));
}

/**
 * LAX.  ĝ = (f(z) − c_φ(z)) ∇θ log p(z|θ) + ∇θ c_φ(z),  z = T(θ, ε)
 * Requires: a reparameterizable distribution with a density (normal, gumbel,
 * exponential, relaxed-bernoulli, relaxed-categorical); c_φ differentiable;
 * f arbitrary (never differentiated).  Unbiased: yes, for every φ.
 * Reference: Grathwohl et al. 2018, eq. 5 and alg. 2.
 *
 * θ → the distribution's parameters, φ → `state` (c_φ(z) = α r(z), and η f(z)
 * when the state has η), ε → the law's standard noise. z = T(θ, ε) is the
 * law's rsample, as in pathwise; ∇θ log p(z|θ) is the law's logProb at that
 * sample held fixed.
 */
export function lax(dist: Dist | ReparameterizedDist, f: SampleFunction, rng: Rng, options: RelaxOptions = {}): Surrogate<RelaxState> {
  const name = 'lax';
  checkFamily(name, dist, REPARAMETERIZABLE); // also the scales, rates and temperatures
  checkFinite(name, dist as ReparameterizableDist); // and the locations and logits, before the law's constructor does
  const continuous = dist as ReparameterizableDist;
  const state = options.state;
  if (state === undefined) throw new RangeError(`${name}: needs options.state; make one with initRelaxState(dist, rng)`);
  const n = options.n ?? 1;
  checkSamples(name, n);
  const z = draw(lawOf(continuous), rng, n, options.tiled ?? false); // [n, ...E], reparameterized
  const fz = evaluate(name, f, stopGradient(z), n); // f is never differentiated
  const [cz, czFixed] = controlVariates('identity', state, f, [z, stopGradient(z)], name); // see dlax
  const score = scoreAtFixedSample(continuous, z);
  const perSample = add(add(fz, mul(sub(fz, cz), score)), sub(cz, czFixed));
  return surrogateOf(perSample, fz, state);
}

// ---------------------------------------------------------------- registry entries

type RelaxFn<D> = (dist: D, f: SampleFunction, rng: Rng, options: RelaxOptions) => Surrogate<RelaxState>;

function entry<D extends Dist | ReparameterizedDist = Dist>(
  name: string, fn: RelaxFn<D>, families: readonly Family[], description: string, init: (dist: D, rng: Rng) => RelaxState,
): Estimator<RelaxState, D> {
  return selfContainedEstimator({ name, description, unbiased: true, families, iidSamples: true, minSamples: 1, init, surrogate: fn });
}

export const rebarEstimator = entry('rebar', rebar, DISCRETE, 'REBAR: Concrete relaxation as control variate, η and λ learned', (d, r) => initRebarState(d, r));
export const relaxEstimator = entry('relax', relax, DISCRETE, 'RELAX: learned control variate c_φ = η f(σ_λ(z)) + α r(σ_λ(z))', (d, r) => initRelaxState(d, r));
export const dlaxEstimator = entry('dlax', dlax, DISCRETE, 'DLAX: learned control variate on the continuous relaxation z', (d, r) => initRelaxState(d, r));
export const laxEstimator = entry<Dist | ReparameterizedDist>('lax', lax, REPARAMETERIZABLE, 'LAX: learned control variate for a reparameterizable distribution', (d, r) => initRelaxState(d, r, { eta: null }));

