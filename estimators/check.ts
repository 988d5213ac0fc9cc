// Is an estimator unbiased on a problem? The mean of many independent
// estimates against the exact gradient, one z-test per coordinate, and one
// verdict for the whole vector with Holm's correction, so that the chance of
// a false alarm over all coordinates is at most alpha.
//
//   z_j = (mean_j − exact_j) / stderr_j,  stderr_j = sd_j / √units
//
// A "unit" is one independent estimate: a single sample when the estimator's
// per-sample estimates are independent, else the mean of one call of n
// samples (leave-one-out baselines tie the samples of a call together).

import { Tensor, grad, reshape } from '../autodiff/index.ts';
import { rng as makeRng } from '../lib/random.ts';
import { Welford, holm, twoSidedP } from '../lib/stats.ts';
import { exactGradient, type DiscreteFamily } from '../lib/exact.ts';
import { subsetExpectation, spanningTreeExpectation } from '../lib/structures.ts';
import { estimateGradient, type Estimator } from './estimator.ts';
import { paramsOf, type Descriptor, type Dist, type SampleFunction } from './families.ts';

export interface CheckProblem<D extends Descriptor = Dist> {
  dist: D;
  f: SampleFunction;
  /**
   * The exact gradient, one tensor per parameter of the distribution ({ logits }
   * or { loc, scale }). Default: by enumeration (discrete families only; a
   * continuous one, such as normal or gumbel, needs it given).
   */
  exactGradient?: Record<string, Tensor>;
}

/**
 * The exact gradient of E[f] with respect to the distribution's parameters by
 * enumerating the support (lib/exact): Bernoullis, a categorical, or a
 * product of categoricals (logits [D, K]); and for the structured families,
 * every k-subset or spanning tree with its exact probability (lib/structures).
 */
export function exactGradientOf(dist: Descriptor, f: SampleFunction): Record<string, Tensor> {
  if (dist.family === 'subset') return { logits: grad((l: Tensor) => subsetExpectation(l, dist.k, f))(dist.logits) };
  if (dist.family === 'spanning-tree') return { logits: grad((l: Tensor) => spanningTreeExpectation(dist.graph, l, f))(dist.logits) };
  if (dist.family === 'arborescence') {
    throw new RangeError('exactGradientOf: the law of the maximum arborescence of perturbed weights has no known closed form; pass a reference (referenceGradient in estimators/sst.ts)');
  }
  if (dist.family !== 'bernoulli' && dist.family !== 'categorical') {
    throw new RangeError(`exactGradientOf: a ${dist.family} cannot be enumerated; pass the exact gradient (e.g. a closed form)`);
  }
  // lib/exact enumerates Bernoullis [D], a categorical [K] and categoricals [D, K]:
  // any other layout is flattened to one of those, f sees its own shape back.
  const shape = dist.logits.shape;
  const size = dist.logits.size;
  const bernoulliLayout = dist.family === 'bernoulli';
  const flatShape = bernoulliLayout ? [size] : shape.length <= 2 ? [...shape] : [size / shape[shape.length - 1], shape[shape.length - 1]];
  const family: DiscreteFamily = bernoulliLayout ? 'bernoulli' : flatShape.length === 2 ? 'categoricals' : 'categorical';
  const flatF: SampleFunction = (x) => f(reshape(x, [x.shape[0], ...shape]));
  const g = exactGradient(family, reshape(dist.logits, flatShape), flatF);
  return { logits: reshape(g, shape) };
}

export interface CheckOptions<State> {
  /** Total number of samples (default 20 000). */
  samples?: number;
  /** Samples per call when the estimator's samples are not independent (default 8, at least its minimum). */
  n?: number;
  seed?: number;
  /** Family-wise false-positive rate over all coordinates (default 0.001). */
  alpha?: number;
  /** The estimator's learned parts (default: its init). Unbiasedness must not depend on them. */
  state?: State;
  /**
   * Time the estimator apart from the sampling (default false): after 100 ms
   * of warm-up calls, calls of 64 samples for about 30 ms. Every estimator is
   * then timed at the same batch size, which makes times comparable; without
   * it the time is that of the sampling calls themselves (quick, but noisy).
   */
  time?: boolean;
}

export interface CoordinateCheck {
  /** e.g. 'logits[2]' */
  name: string;
  mean: number;
  exact: number;
  stderr: number;
  z: number;
  pValue: number;
  /** Variance of one unit (one estimate). */
  variance: number;
  rejected: boolean;
  /**
   * Set when the mean, the variance or the exact value is not finite (a NaN
   * or infinite estimate, or estimates so large their squares overflow):
   * there is then no z-test, so z is NaN, the p-value 0, and the coordinate
   * rejected. E.g. 'not finite: mean = NaN, variance = NaN'.
   */
  note?: string;
}

export interface CheckResult {
  estimator: string;
  coordinates: CoordinateCheck[];
  /** True when no coordinate is rejected at family-wise level alpha. */
  unbiasedVerdict: boolean;
  /** The largest |z|; Infinity when a coordinate is not finite (see CoordinateCheck.note). */
  maxAbsZ: number;
  alpha: number;
  /** Number of independent estimates averaged, and samples in each. */
  units: number;
  samplesPerUnit: number;
  /** Mean of f over all samples. */
  value: number;
  /** Wall time of the estimator calls per sample, in microseconds (see CheckOptions.time). */
  microsecondsPerEstimate: number;
}

const CHUNK = 8192; // samples per call for independent-sample estimators: bounds memory

/**
 * Samples per call of collectEstimates (checkUnbiased, compare): up to 8192
 * for an estimator whose samples are independent; n (default 8), at least
 * its minimum and 2, for one whose samples share a baseline, each call one
 * estimate.
 */
export function samplesPerCall(estimator: Estimator<any, any>, samples: number, n?: number): number {
  return estimator.iidSamples ? Math.min(CHUNK, samples) : Math.max(n ?? 8, estimator.minSamples, 2);
}

/** Samples per call of the timing calls (CheckOptions.time). */
export function timingSamples(estimator: Estimator<any, any>): number {
  return Math.max(64, estimator.minSamples);
}

/**
 * The fewest samples collectEstimates takes: two estimates, so that a
 * variance exists (two samples, or two calls of samplesPerCall).
 */
export function fewestSamples(estimator: Estimator<any, any>, n?: number): number {
  return estimator.iidSamples ? 2 : 2 * samplesPerCall(estimator, Infinity, n);
}

/** Independent estimates of the gradient, one row per unit, with what they cost. */
export interface EstimateSample {
  /** Row-major [units, dim]: every parameter's coordinates, flattened in parameter order. */
  rows: Float64Array;
  units: number;
  dim: number;
  samplesPerUnit: number;
  /** Coordinate names, e.g. 'logits[2]'. */
  names: string[];
  /** The exact gradient, flattened like a row. */
  exact: Float64Array;
  /** Mean of f over all samples. */
  value: number;
  /** Wall time of the estimator calls per sample, in microseconds. */
  microsecondsPerEstimate: number;
}

/**
 * Draws `samples` samples' worth of independent estimates (see the file
 * header for what a unit is). Deterministic for a given seed.
 */
export function collectEstimates<State>(estimator: Estimator<State, any>, problem: CheckProblem<Descriptor>, options: CheckOptions<State> = {}): EstimateSample {
  const samples = options.samples ?? 20000;
  const r = makeRng(options.seed ?? 0);
  // The state carries over between calls, so a moving-average baseline moves.
  let state = options.state ?? estimator.init?.(problem.dist, r.split());
  const keys = Object.keys(paramsOf(problem.dist));
  const exactGradients = problem.exactGradient ?? exactGradientOf(problem.dist, problem.f);
  const exact = keys.map((k) => {
    const g = exactGradients[k];
    if (!(g instanceof Tensor)) throw new TypeError(`checkUnbiased: exactGradient.${k} must be a Tensor`);
    return g;
  });
  const dim = exact.reduce((acc, g) => acc + g.size, 0);

  const iid = estimator.iidSamples;
  // Calls of 8 samples by default: enough to share a baseline, small enough for many units.
  const perCall = samplesPerCall(estimator, samples, options.n);
  const fewest = fewestSamples(estimator, options.n); // at least two units, so that a variance exists
  if (samples < fewest) throw new RangeError(`checkUnbiased: ${samples} samples are too few (need at least ${fewest})`);
  const units = iid ? samples : Math.floor(samples / perCall);
  const rows = new Float64Array(units * dim);
  let unit = 0;
  let drawn = 0;
  let fTotal = 0;
  let elapsed = 0; // milliseconds inside the estimator
  while (unit < units) {
    const n = iid ? Math.min(perCall, samples - drawn) : perCall;
    const started = performance.now();
    const out = estimateGradient(estimator, problem.dist, problem.f, r, { n, state });
    elapsed += performance.now() - started;
    state = out.state;
    fTotal += out.value * n;
    drawn += n;
    if (iid) {
      // each sample is a unit: row i of every parameter's [n, ...] estimates
      let at = 0;
      keys.forEach((k, j) => {
        const size = exact[j].size;
        const block = out.perSample[k].data;
        for (let i = 0; i < n; i++) rows.set(block.subarray(i * size, (i + 1) * size), (unit + i) * dim + at);
        at += size;
      });
      unit += n;
    } else {
      let at = 0;
      keys.forEach((k, j) => {
        rows.set(out.gradient[k].data, unit * dim + at);
        at += exact[j].size;
      });
      unit++;
    }
  }
  return {
    rows,
    units,
    dim,
    samplesPerUnit: iid ? 1 : perCall,
    names: keys.flatMap((k, j) => Array.from({ length: exact[j].size }, (_, i) => `${k}[${i}]`)),
    exact: Float64Array.from(exact.flatMap((g) => Array.from(g.data))),
    value: fTotal / drawn,
    // Timed after sampling, from a generator split off at the end, so the estimates do not depend on it.
    microsecondsPerEstimate: options.time ? timePerSample(estimator, problem.dist, problem.f, state, r.split()) : (1000 * elapsed) / drawn,
  };
}

/** µs per sample at 64 samples per call, after 100 ms of warm-up calls (the JIT needs that long), over about 30 ms. */
function timePerSample<State>(estimator: Estimator<State, any>, dist: Descriptor, f: SampleFunction, state: State | undefined, r: ReturnType<typeof makeRng>): number {
  const n = timingSamples(estimator);
  const call = () => estimateGradient(estimator, dist, f, r, { n, state });
  const warm = performance.now();
  do call();
  while (performance.now() - warm < 100);
  let calls = 0;
  let elapsed = 0;
  const started = performance.now();
  while (elapsed < 30 && calls < 200) {
    call();
    calls++;
    elapsed = performance.now() - started;
  }
  return (1000 * elapsed) / (calls * n);
}

/**
 * Tests `estimator` for bias on `problem` against its exact gradient.
 * Deterministic for a given seed. A coordinate whose mean, variance or exact
 * value is not finite is rejected without a z-test (see CoordinateCheck.note).
 */
export function checkUnbiased<State>(estimator: Estimator<State, any>, problem: CheckProblem<Descriptor>, options: CheckOptions<State> = {}): CheckResult {
  const alpha = options.alpha ?? 0.001;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`checkUnbiased: alpha must lie in (0, 1), got ${alpha}`);
  const sampled = collectEstimates(estimator, problem, options);
  const acc = new Welford(sampled.dim);
  acc.pushRows(sampled.rows);
  const names = sampled.names;
  const exactFlat = sampled.exact;

  const variance = acc.variance();
  const coords = names.map((name, j): CoordinateCheck => {
    const stderr = Math.sqrt(variance[j] / acc.count);
    // A NaN z would give a NaN p-value, which no threshold rejects: a NaN or
    // infinite estimate would pass as unbiased. It is evidence of a broken
    // estimator (or exact value), so it counts as a rejection outright.
    const checked: [string, number][] = [['mean', acc.mean[j]], ['variance', variance[j]], ['exact', exactFlat[j]]];
    const notFinite = checked.filter(([, v]) => !Number.isFinite(v));
    if (notFinite.length > 0) {
      const note = `not finite: ${notFinite.map(([what, v]) => `${what} = ${v}`).join(', ')}`;
      return { name, mean: acc.mean[j], exact: exactFlat[j], stderr, z: NaN, pValue: 0, variance: variance[j], rejected: true, note };
    }
    const diff = acc.mean[j] - exactFlat[j];
    // A difference within rounding (1e-9 relative) is no evidence of bias: an
    // estimator that is exact up to rounding (enumeration, or a coordinate
    // whose per-sample estimates differ only in the last bits) has a
    // vanishing stderr, and dividing by it would turn ulps into huge z.
    // Beyond rounding, a zero-variance estimator must match exactly.
    const z = Math.abs(diff) <= 1e-9 * (1 + Math.abs(exactFlat[j])) ? 0 : stderr > 0 ? diff / stderr : Infinity * Math.sign(diff);
    return { name, mean: acc.mean[j], exact: exactFlat[j], stderr, z, pValue: twoSidedP(z), variance: variance[j], rejected: false };
  });
  const rejected = holm(coords.map((c) => c.pValue), alpha);
  coords.forEach((c, j) => (c.rejected = rejected[j]));
  return {
    estimator: estimator.name,
    coordinates: coords,
    unbiasedVerdict: !rejected.some(Boolean),
    maxAbsZ: Math.max(...coords.map((c) => (Number.isNaN(c.z) ? Infinity : Math.abs(c.z)))),
    alpha,
    units: acc.count,
    samplesPerUnit: sampled.samplesPerUnit,
    value: sampled.value,
    microsecondsPerEstimate: sampled.microsecondsPerEstimate,
  };
}

