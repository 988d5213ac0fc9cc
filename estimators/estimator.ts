// What every estimator is, and the convenience that differentiates one.
//
// An estimator of ∇θ L(θ), L(θ) = E_{b∼p(·|θ)}[f(b)], returns a *surrogate*:
// per-sample scalars s_i whose gradient with respect to anything upstream of
// θ is the i-th estimate, and whose values are f(b_i) (the DiCE idea: every
// term that exists only for its gradient has value zero, like
// log p − stopGradient(log p)). The mean of the s_i is the surrogate scalar.
//
// Learned parts (baselines, REBAR's η and temperature, RELAX's c_φ) live in an
// explicit state tree. estimateGradient can return, from the same samples,
// the gradient that trains them: ∂/∂φ mean_i ‖ĝ_i‖², the single-sample
// variance objective of Grathwohl et al. 2018, a gradient of a gradient.

import { Tensor, add, mul, reshape, mean, sum, square, broadcastTo, expandDims, stopGradient, valueAndGrad, mapTree, leaves, formatShape } from '../autodiff/index.ts';
import { isRecording, describe } from '../autodiff/tape.ts';
import { handOut, withRecycling } from '../autodiff/tensor.ts';
import { Rng } from '../lib/random.ts';
import { paramsOf, parameterCount, withParams, checkSamples, sumEvent, type Descriptor, type Dist, type Family, type SampleFunction } from './families.ts';

export interface SurrogateOptions<State> {
  /** Number of samples (default 1). */
  n?: number;
  /**
   * The parameters carry a leading axis of length n, one copy per sample, so
   * one backward pass gives every per-sample estimate (estimateGradient does this).
   */
  tiled?: boolean;
  /** The learned parts, for estimators that have them. */
  state?: State;
}

export interface Surrogate<State = undefined> {
  /** mean(perSample): a scalar whose gradient is the estimate and whose value is the mean of f. */
  surrogate: Tensor;
  /** [n] per-sample surrogates. */
  perSample: Tensor;
  /**
   * [n] what the estimator reports for f, as constants: f at its sample for
   * most estimators; the mean of the pair for ARM and DisARM; E[f] for exact;
   * the Rao-Blackwellized or summed value for conditioning estimators.
   */
  values: Tensor;
  /** The state after this call (moving averages advance; learned parts are returned unchanged). */
  state: State;
}

/**
 * An estimator as a value: what the registry, the checks and the command
 * line work with. D is the kind of descriptor it takes (the structured
 * families' estimators take estimators/sst.ts's SstDist; pathwise also takes
 * the continuous ReparameterizedDist families).
 */
export interface Estimator<State = any, D extends Descriptor = Dist> {
  /** kebab-case, as on the command line: 'reinforce-rloo'. */
  readonly name: string;
  readonly description: string;
  readonly unbiased: boolean;
  readonly families: readonly Family[];
  /**
   * True when the per-sample estimates of one call are independent (false
   * when samples share a baseline, as leave-one-out does).
   */
  readonly iidSamples: boolean;
  /** Fewest samples per call (2 for leave-one-out). */
  readonly minSamples: number;
  /**
   * State keys that are running statistics (a moving average), not learned
   * parts: the estimator updates them itself in the returned state, and
   * trainState does not differentiate them.
   */
  readonly running?: readonly string[];
  /** The learned parts at their initial values; absent for estimators without state. */
  init?(dist: D, rng: Rng): State;
  surrogate(dist: D, f: SampleFunction, rng: Rng, options: SurrogateOptions<State>): Surrogate<State>;
}

/**
 * Checks f's output on n samples and returns it. f gets x through handOut:
 * for outside code, a recycling frame never reuses x's buffer, or any f
 * allocates, while f may still hold them; mcgrad's own problem functions
 * (quadraticFunction, tableFunction), which keep nothing, run inside the
 * frame, and their buffers are recycled with the rest (autodiff/tensor.ts).
 */
export function evaluate(estimator: string, f: SampleFunction, x: Tensor, n: number): Tensor {
  const y = handOut(f, x);
  if (!(y instanceof Tensor)) throw new TypeError(`${estimator}: f must return a Tensor, got ${typeof y}`);
  if (y.rank !== 1 || y.shape[0] !== n) {
    throw new RangeError(`${estimator}: f must map samples [n, ...] to values [n] = [${n}], got shape ${formatShape(y.shape)}`);
  }
  return y;
}

/** Builds a Surrogate from per-sample scalars. */
export function surrogateOf<State>(perSample: Tensor, values: Tensor, state: State): Surrogate<State> {
  return { surrogate: mean(perSample), perSample, values: stopGradient(values), state };
}

// ---------------------------------------------------------------- estimateGradient

// The surrogate functions of mcgrad's own estimators that run no outside
// code but f (through evaluate) and mcgrad's own generators, and keep no
// tensor after they return except in the Surrogate. estimateGradient runs
// these in a recycling frame (autodiff/tensor.ts): the buffers of the forward
// pass (in the arena) are reused by the next call instead of made afresh.
// A user's estimator, or one that wraps a user's function (a control
// variate, another estimator), is not here and is never recycled.
const selfContained = new WeakSet<object>();

/** @internal Marks an estimator of mcgrad's as self-contained (see above); returns it. */
export function selfContainedEstimator<E extends Estimator<any, any>>(estimator: E): E {
  selfContained.add(estimator.surrogate);
  return estimator;
}

/** The generators mcgrad draws from itself (a subclass, or a method replaced on the instance, may keep what it draws). */
function ownGenerator(rng: unknown): boolean {
  if (!(rng instanceof Rng) || Object.getPrototypeOf(rng) !== Rng.prototype) return false;
  for (const key of Object.getOwnPropertyNames(rng)) if (typeof (rng as unknown as Record<string, unknown>)[key] === 'function') return false;
  return true;
}

export interface EstimateOptions<State> {
  n?: number;
  state?: State;
  /** Also return ∂/∂state of the mean squared per-sample estimate (the variance objective). */
  trainState?: boolean;
  /**
   * Weights of the samples, [n] summing to 1 (default 1/n each): quadrature
   * weights when the noise is a grid rather than random (estimators/variance.ts).
   */
  weights?: Tensor;
}

export interface GradientEstimate<State> {
  /** The estimate: the (weighted) mean over samples, one tensor per distribution parameter ({ logits }, { loc, scale } or { rate }). */
  gradient: Record<string, Tensor>;
  /** Every per-sample estimate: [n, ...parameter shape] per parameter. */
  perSample: Record<string, Tensor>;
  /** Mean of f over the samples. */
  value: number;
  /** The state after the call. */
  state: State;
  /** ∂/∂state mean_i ‖ĝ_i‖² (weighted with `weights`), with trainState; the estimator's running keys are left out. */
  stateGradient?: Partial<State>;
  /** mean_i ‖ĝ_i‖² (weighted with `weights`), with trainState. */
  meanSquare?: number;
}

/**
 * Runs an estimator and differentiates its surrogate with respect to the
 * distribution's parameters, returning the estimate and every per-sample
 * estimate (the parameters are tiled along the sample axis, so one backward
 * pass gives them all). With `trainState`, also the gradient that trains the
 * estimator's learned parts, from the same samples.
 */
export function estimateGradient<State, D extends Descriptor = Dist>(
  estimator: Estimator<State, D>,
  dist: D,
  f: SampleFunction,
  rng: Rng,
  options: EstimateOptions<State> = {},
): GradientEstimate<State> {
  if (typeof estimator !== 'object' || estimator === null || typeof estimator.surrogate !== 'function') {
    throw new TypeError(`estimateGradient: expected an estimator (e.g. reinforceLoo, or estimatorByName('relax')), got ${describe(estimator)}`);
  }
  if (typeof dist !== 'object' || dist === null) {
    throw new TypeError(`${estimator.name}: expected a distribution such as categorical(logits) or bernoulli(logits), got ${describe(dist)}`);
  }
  const run = () => estimateWith(estimator, dist, f, rng, options);
  // Under an outer transform, its tape keeps the tensors. A family the
  // estimator refuses throws outside the frame (a frame that throws leaves the
  // kernel's memory behind).
  if ((options.n ?? 1) * parameterCount(dist) < FRAME_MIN_VALUES || isRecording() || !selfContained.has(estimator.surrogate) || !ownGenerator(rng)) return run();
  if (!estimator.families.includes(dist.family as Family)) return run();
  // Outside code must not run in the frame: a tensor that a getter (or a
  // Proxy's trap) on the descriptor, the options or the state made there,
  // and kept, would live in the arena. The frame's call gets plain copies,
  // read before it opens; anything else than plain data runs without a frame.
  const plainDist = plainCopy(dist);
  const plainOptions = plainCopy(options) as EstimateOptions<State> | typeof NOT_PLAIN;
  if (plainDist === NOT_PLAIN || plainOptions === NOT_PLAIN) return run();
  const given = plainOptions.state;
  const out = withRecycling(() => estimateWith(estimator, plainDist as D, f, rng, plainOptions), (e) => tensorsOfEstimate(e, given), true);
  if (given !== undefined && out.state === given) out.state = options.state as State; // handed back: the caller's own object
  return out;
}

const NOT_PLAIN = Symbol('not plain data');

/**
 * A copy of x's plain objects and arrays (their enumerable own properties,
 * as a spread copies them), with tensors, typed arrays and primitives shared,
 * each property read once, here; NOT_PLAIN when x holds anything else (a
 * function, a class instance, a subclass of Tensor) or nests deeper than 32
 * (a cycle).
 */
function plainCopy(x: unknown, depth = 0): unknown {
  if (typeof x !== 'object' || x === null) return typeof x === 'function' ? NOT_PLAIN : x;
  if (x instanceof Tensor) return Object.getPrototypeOf(x) === Tensor.prototype ? x : NOT_PLAIN;
  if (ArrayBuffer.isView(x)) return x;
  if (depth >= 32) return NOT_PLAIN;
  if (Array.isArray(x)) {
    if (Object.getPrototypeOf(x) !== Array.prototype) return NOT_PLAIN;
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = plainCopy(x[i], depth + 1);
      if (v === NOT_PLAIN) return NOT_PLAIN;
      out[i] = v;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(x)) {
    const v = plainCopy((x as Record<string, unknown>)[key], depth + 1);
    if (v === NOT_PLAIN) return NOT_PLAIN;
    out[key] = v;
  }
  return out;
}

/**
 * Every tensor an estimate holds (what its frame must copy out of the arena):
 * the gradients, and whatever the state trees hold. A state handed back as it
 * was given is left out: the caller made it before the frame opened (and
 * mcgrad's own estimators return a new state when they change one).
 */
function tensorsOfEstimate(e: GradientEstimate<unknown>, given: unknown): Tensor[] {
  const out: Tensor[] = [];
  for (const key in e.gradient) out.push(e.gradient[key]);
  for (const key in e.perSample) out.push(e.perSample[key]);
  if (e.state !== given) tensorsIn(e.state, out);
  if (e.stateGradient !== undefined) tensorsIn(e.stateGradient, out);
  return out;
}

// The call's tensors have about n times the parameters' size. With a few
// values (one sample of 10 logits) the frame's bookkeeping, 1–1.5 µs, costs
// more than it saves; from one sample of 100 logits it saves 12–18 % of a
// REBAR or RELAX call (its tensors are cut from the arena, not from fresh
// slabs), and REINFORCE and Gumbel-softmax break even.
const FRAME_MIN_VALUES = 64;

/**
 * Every tensor anywhere in a value: arrays and objects are walked once each
 * (a state may refer back to itself), typed arrays and anything else skipped.
 */
function tensorsIn(value: unknown, out: Tensor[] = [], seen = new Set<object>()): Tensor[] {
  if (value instanceof Tensor) out.push(value);
  else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !seen.has(value)) {
    seen.add(value);
    for (const key of Object.keys(value)) tensorsIn((value as Record<string, unknown>)[key], out, seen);
  }
  return out;
}

function estimateWith<State, D extends Descriptor = Dist>(
  estimator: Estimator<State, D>,
  dist: D,
  f: SampleFunction,
  rng: Rng,
  options: EstimateOptions<State>,
): GradientEstimate<State> {
  const n = options.n ?? 1;
  checkSamples(estimator.name, n, estimator.minSamples);
  const weights = options.weights;
  if (weights !== undefined && (weights.rank !== 1 || weights.shape[0] !== n)) {
    throw new RangeError(`${estimator.name}: weights must have shape [${n}], got ${formatShape(weights.shape)}`);
  }
  // Σ_i w_i x_i over the sample axis, or the plain mean (of one sample: that sample, x/1 = x).
  const average = (x: Tensor): Tensor =>
    weights !== undefined
      ? sum(mul(reshape(weights, [n, ...x.shape.slice(1).map(() => 1)]), x), 0)
      : n === 1
        ? reshape(x, x.shape.slice(1))
        : mean(x, 0);
  const params = paramsOf(dist);
  const tiled = mapTree(params, (p) => broadcastTo(expandDims(stopGradient(p), 0), [n, ...p.shape]));
  let result: Surrogate<State> | undefined;
  const perSampleGrads = (state: State | undefined): Record<string, Tensor> =>
    valueAndGrad((tp: Record<string, Tensor>) => {
      result = estimator.surrogate(withParams(dist, tp), f, rng, { n, tiled: true, state });
      return sum(result.perSample);
    })(tiled).grad;

  let perSample: Record<string, Tensor>;
  let stateGradient: Partial<State> | undefined;
  let meanSquare: number | undefined;
  if (options.trainState) {
    if (options.state === undefined) throw new RangeError(`${estimator.name}: trainState needs a state (see the estimator's init)`);
    let captured: Record<string, Tensor> = {};
    // Only the learned parts are differentiated; running statistics stay constants.
    const full = options.state as Record<string, unknown>;
    const running = estimator.running ?? [];
    const learned: Record<string, unknown> = {};
    for (const key of Object.keys(full)) if (!running.includes(key)) learned[key] = full[key];
    const objective = valueAndGrad((part: Record<string, unknown>) => {
      captured = perSampleGrads(Object.assign({}, full, part) as State);
      // mean over samples of the squared norm of each per-sample estimate
      const squares = leaves(captured).map((g) => average(sumEvent(square(g))));
      return squares.reduce((a, b) => add(a, b));
    });
    const out = objective(learned);
    perSample = mapTree(captured, (g) => stopGradient(g));
    stateGradient = out.grad as Partial<State>;
    meanSquare = out.value.item();
  } else {
    perSample = perSampleGrads(options.state);
  }
  const r = result as Surrogate<State>;
  const gradient: Record<string, Tensor> = {};
  for (const key in perSample) gradient[key] = average(perSample[key]); // the engine's own tensors: no tree walk needed
  return {
    gradient,
    perSample,
    value: average(r.values).item(),
    state: r.state,
    stateGradient,
    meanSquare,
  };
}
