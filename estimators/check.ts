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

import { Tensor } from '../autodiff/index.ts';
import { rng as makeRng } from '../lib/random.ts';
import { Welford, holm, twoSidedP } from '../lib/stats.ts';
import { exactGradient, type DiscreteFamily } from '../lib/exact.ts';
import { estimateGradient, type Estimator } from './estimator.ts';
import { paramsOf, type Dist, type SampleFunction } from './families.ts';

export interface CheckProblem {
  dist: Dist;
  f: SampleFunction;
  /**
   * The exact gradient, one tensor per parameter of the distribution ({ logits }
   * or { loc, scale }). Default: by enumeration (discrete families only).
   */
  exactGradient?: Record<string, Tensor>;
}

/**
 * The exact gradient of E[f] with respect to the distribution's parameters by
 * enumerating the support (lib/exact): Bernoullis, a categorical, or a
 * product of categoricals (logits [D, K]).
 */
export function exactGradientOf(dist: Dist, f: SampleFunction): Record<string, Tensor> {
  if (dist.family === 'normal') {
    throw new RangeError('exactGradientOf: a normal cannot be enumerated; pass the exact gradient (e.g. a closed form)');
  }
  const family: DiscreteFamily = dist.family === 'categorical' && dist.logits.rank === 2 ? 'categoricals' : dist.family;
  return { logits: exactGradient(family, dist.logits, f) };
}

export interface CheckOptions<State> {
  /** Total number of samples (default 20 000). */
  samples?: number;
  /** Samples per call when the estimator's samples are not independent (default its minimum, at least 2). */
  n?: number;
  seed?: number;
  /** Family-wise false-positive rate over all coordinates (default 0.001). */
  alpha?: number;
  /** The estimator's learned parts (default: its init). Unbiasedness must not depend on them. */
  state?: State;
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
}

export interface CheckResult {
  estimator: string;
  coordinates: CoordinateCheck[];
  /** True when no coordinate is rejected at family-wise level alpha. */
  unbiasedVerdict: boolean;
  maxAbsZ: number;
  alpha: number;
  /** Number of independent estimates averaged, and samples in each. */
  units: number;
  samplesPerUnit: number;
  /** Mean of f over all samples. */
  value: number;
}

const CHUNK = 8192; // samples per call for independent-sample estimators: bounds memory

/**
 * Tests `estimator` for bias on `problem` against its exact gradient.
 * Deterministic for a given seed.
 */
export function checkUnbiased<State>(estimator: Estimator<State>, problem: CheckProblem, options: CheckOptions<State> = {}): CheckResult {
  const samples = options.samples ?? 20000;
  const alpha = options.alpha ?? 0.001;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`checkUnbiased: alpha must lie in (0, 1), got ${alpha}`);
  const r = makeRng(options.seed ?? 0);
  const state = options.state ?? estimator.init?.(problem.dist, r.split());
  const keys = Object.keys(paramsOf(problem.dist));
  const exactGradients = problem.exactGradient ?? exactGradientOf(problem.dist, problem.f);
  const exact = keys.map((k) => {
    const g = exactGradients[k];
    if (!(g instanceof Tensor)) throw new TypeError(`checkUnbiased: exactGradient.${k} must be a Tensor`);
    return g;
  });
  const dim = exact.reduce((acc, g) => acc + g.size, 0);
  const acc = new Welford(dim);
  const row = new Float64Array(dim);
  let fTotal = 0;

  const iid = estimator.iidSamples;
  const perCall = iid ? Math.min(CHUNK, samples) : Math.max(options.n ?? estimator.minSamples, estimator.minSamples, 2);
  const fewest = iid ? 2 : perCall * 2; // at least two units, so that a variance exists
  if (samples < fewest) throw new RangeError(`checkUnbiased: ${samples} samples are too few (need at least ${fewest})`);
  let drawn = 0;
  while (drawn < samples) {
    const n = iid ? Math.min(perCall, samples - drawn) : perCall;
    const out = estimateGradient(estimator, problem.dist, problem.f, r, { n, state });
    fTotal += out.value * n;
    drawn += n;
    if (iid) {
      // each sample is a unit: copy row i of every parameter's [n, ...] estimates
      const blocks = keys.map((k) => out.perSample[k].data);
      for (let i = 0; i < n; i++) {
        let at = 0;
        keys.forEach((_, j) => {
          const size = exact[j].size;
          row.set(blocks[j].subarray(i * size, (i + 1) * size), at);
          at += size;
        });
        acc.push(row);
      }
    } else {
      let at = 0;
      keys.forEach((k, j) => {
        row.set(out.gradient[k].data, at);
        at += exact[j].size;
      });
      acc.push(row);
    }
  }

  const variance = acc.variance();
  const names = keys.flatMap((k, j) => Array.from({ length: exact[j].size }, (_, i) => `${k}[${i}]`));
  const exactFlat = exact.flatMap((g) => Array.from(g.data));
  const coords = names.map((name, j) => {
    const stderr = Math.sqrt(variance[j] / acc.count);
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
    maxAbsZ: Math.max(...coords.map((c) => Math.abs(c.z))),
    alpha,
    units: acc.count,
    samplesPerUnit: iid ? 1 : perCall,
    value: fTotal / drawn,
  };
}

