// The exact mean and variance of a single-sample estimator whose noise is a
// few uniforms, by deterministic quadrature over the noise:
//
//   E[ĝ] = ∫ ĝ(u) du,   Var[ĝ] = ∫ ĝ(u)² du − E[ĝ]²,   u ∈ (0, 1)^d
//
// Every sampler is a function of uniforms, so replaying the quadrature nodes
// through a ScriptedRng evaluates the estimator on the whole grid in one
// batched call (the nodes are its n "samples"). The variance objective that
// trains learned parts, E[‖ĝ‖²], is a weighted sum over the same grid, so its
// gradient is exact too (up to the rule's error), ready to be checked against
// finite differences.

import { Tensor } from '../autodiff/index.ts';
import { ScriptedRng } from '../lib/random.ts';
import { unitRule, productRule } from '../lib/quadrature.ts';
import { estimateGradient, type Estimator } from './estimator.ts';
import { eventShape, type Dist, type SampleFunction } from './families.ts';

export interface QuadratureOptions<State> {
  /**
   * How many blocks of uniforms one call draws, each of one uniform per event
   * coordinate: 1 for REINFORCE, ARM and DisARM; 2 for REBAR and RELAX (u for
   * z, v for z̃ | b).
   */
  blocks: number;
  /** Gauss–Legendre nodes per panel (default 12). */
  nodes?: number;
  /**
   * Geometric panels toward 0 and 1 on every axis (see unitRule). Default: 8
   * levels for one or two noise dimensions, none beyond (the grid is a
   * product, so its size is the per-axis count to the power d).
   */
  grading?: number;
  /**
   * Where the estimate jumps, per axis of the noise cube (axis k·D + j is
   * block k, event coordinate j): e.g. 1 − σ(θ_j) for the u of a Bernoulli.
   */
  breakpoints?: readonly (readonly number[])[];
  state?: State;
  /** Also the exact gradient of E[‖ĝ‖²] with respect to the state. */
  trainState?: boolean;
}

export interface QuadratureMoments<State> {
  /** E[ĝ] per parameter. */
  mean: Record<string, Tensor>;
  /** Var[ĝ] per parameter coordinate. */
  variance: Record<string, Tensor>;
  /** E[‖ĝ‖²] summed over all coordinates. */
  meanSquare: number;
  /** ∂/∂state E[‖ĝ‖²], with trainState (the learned parts only). */
  stateGradient?: Partial<State>;
  /** Number of grid points. */
  points: number;
}

/** Exact moments of a single-sample estimate by quadrature over its uniforms. */
export function quadratureMoments<State>(
  estimator: Estimator<State>,
  dist: Dist,
  f: SampleFunction,
  options: QuadratureOptions<State>,
): QuadratureMoments<State> {
  const D = eventShape(dist).reduce((a, d) => a * d, 1);
  const blocks = options.blocks;
  if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`quadratureMoments: blocks must be a positive integer, got ${blocks}`);
  const dims = blocks * D;
  if (dims > 4) throw new RangeError(`quadratureMoments: ${dims} noise dimensions are too many for a product rule (at most 4)`);
  const m = options.nodes ?? 12;
  const grading = options.grading ?? (dims <= 2 ? 8 : 0);
  const axes = Array.from({ length: dims }, (_, k) => unitRule(m, options.breakpoints?.[k] ?? [], grading));
  const size = axes.reduce((acc, a) => acc * a.nodes.length, 1);
  if (size > 2_000_000) {
    throw new RangeError(`quadratureMoments: the grid would have ${size} points (${axes.map((a) => a.nodes.length).join(' × ')}); lower nodes or grading`);
  }
  const { points, weights, count } = productRule(axes);

  // The script: block by block, each block row-major [count, D].
  const script = new Float64Array(count * dims);
  let at = 0;
  for (let k = 0; k < blocks; k++) {
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < D; j++) script[at++] = points[i * dims + k * D + j];
    }
  }
  const rng = new ScriptedRng(script);
  const w = new Tensor(weights, [count]);
  const out = estimateGradient(estimator, dist, f, rng, { n: count, state: options.state, trainState: options.trainState, weights: w });
  if (rng.remaining !== 0) {
    throw new RangeError(`quadratureMoments: ${estimator.name} drew fewer uniforms than ${blocks} block(s) of ${D}; check blocks`);
  }

  const variance: Record<string, Tensor> = {};
  let meanSquare = 0;
  for (const key of Object.keys(out.perSample)) {
    const g = out.perSample[key]; // [count, ...P]
    const size = g.size / count;
    const mu = out.gradient[key].data;
    const v = new Float64Array(size);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < size; j++) {
        const x = g.data[i * size + j];
        v[j] += weights[i] * x * x;
      }
    }
    for (let j = 0; j < size; j++) {
      meanSquare += v[j];
      v[j] -= mu[j] * mu[j];
    }
    variance[key] = new Tensor(v, out.gradient[key].shape);
  }
  return { mean: out.gradient, variance, meanSquare, stateGradient: out.stateGradient, points: count };
}
