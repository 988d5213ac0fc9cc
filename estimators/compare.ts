// Comparing estimators on one problem, as Owen (ch. 8) compares Monte Carlo
// methods: bias against the exact gradient, variance, mean squared error,
// cost, and efficiency = 1 / (MSE × cost), each with a confidence interval.
//
// Estimators that share a baseline across the samples of a call (RLOO) are
// measured per call of n samples; every figure is then scaled to one
// sample's worth (variance × n, time ÷ n), which makes the rows comparable.
// A call's mean has the bias of one sample, so one sample's worth of MSE is
// n · Var[call] + ‖bias‖², not n · MSE[call] (that counts the bias n times).

import { normalQuantile, Welford, type Interval } from '../lib/stats.ts';
import { barChart } from '../lib/plot.ts';
import { collectEstimates, type CheckProblem } from './check.ts';
import type { Descriptor } from './families.ts';
import type { Estimator } from './estimator.ts';

/** A point estimate with its confidence interval. */
export interface Estimate extends Interval {
  value: number;
}

export interface CoordinateBias extends Estimate {
  name: string;
  /** Bias over its standard error. */
  z: number;
}

export interface EstimatorComparison {
  estimator: string;
  /** What the estimator declares. */
  unbiased: boolean;
  /** Per coordinate: mean estimate − exact gradient, with a normal interval. */
  bias: CoordinateBias[];
  /** ‖bias‖ (Euclidean, point estimate; it includes Monte Carlo noise of size ~√(variance/N)). */
  biasNorm: number;
  maxAbsZ: number;
  /** Total variance Σ_j Var[ĝ_j] of one sample's estimate. */
  variance: Estimate;
  /** E‖ĝ − ∇L‖² of one sample's estimate. */
  mse: Estimate;
  microsecondsPerEstimate: number;
  /** 1 / (MSE × µs): estimates per microsecond of work at unit squared error. */
  efficiency: number;
  /** efficiency / efficiency of the reference estimator (REINFORCE by default), when it is compared too. */
  relativeEfficiency: number | null;
  samples: number;
  samplesPerUnit: number;
}

export interface CompareOptions {
  samples?: number;
  seed?: number;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /**
   * The estimator efficiencies are relative to (default 'reinforce', and null
   * relative efficiencies when it is not compared). A reference given here
   * must be among the estimators: a RangeError otherwise.
   */
  reference?: string;
  /** Learned parts per estimator name (default: each estimator's init). */
  states?: Record<string, unknown>;
}

function meanInterval(values: Float64Array, scale: number, quantile: number): Estimate {
  const w = new Welford(1);
  for (let i = 0; i < values.length; i++) w.push(values[i]);
  const mean = w.mean[0] * scale;
  const half = quantile * Math.sqrt(w.variance()[0] / w.count) * scale;
  return { value: mean, lower: mean - half, upper: mean + half };
}

/**
 * Runs every estimator on the problem with the same seed and returns one
 * comparison row each, in the order given.
 */
export function compare(estimators: readonly Estimator<any, any>[], problem: CheckProblem<Descriptor>, options: CompareOptions = {}): EstimatorComparison[] {
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`compare: level must lie in (0, 1), got ${level}`);
  const quantile = normalQuantile(0.5 + level / 2);
  const rows = estimators.map((estimator) => {
    const sampled = collectEstimates(estimator, problem, {
      samples: options.samples ?? 20000,
      seed: options.seed ?? 0,
      state: options.states?.[estimator.name],
      time: true, // every estimator at the same batch size, after a warm-up
    });
    const { rows: data, units, dim, exact, names, samplesPerUnit: k } = sampled;
    const acc = new Welford(dim);
    acc.pushRows(data);
    const biasSquared = names.reduce((acc2, _, j) => acc2 + (acc.mean[j] - exact[j]) ** 2, 0);
    // Per unit: squared deviation from the sample mean, and one sample's worth of squared error,
    // k‖ĝ_u − ḡ‖² + 2 (ĝ_u − ḡ)·bias + ‖bias‖², whose mean is k·Var + ‖bias‖² (with k = 1, ‖ĝ_u − ∇L‖²);
    // the middle term is the first-order fluctuation of ‖bias‖², so the interval is that of the mean.
    const spread = new Float64Array(units);
    const error = new Float64Array(units);
    for (let i = 0; i < units; i++) {
      let s = 0;
      let cross = 0;
      for (let j = 0; j < dim; j++) {
        const deviation = data[i * dim + j] - acc.mean[j];
        s += deviation ** 2;
        cross += deviation * (acc.mean[j] - exact[j]);
      }
      spread[i] = s;
      error[i] = k * s + 2 * cross + biasSquared;
    }
    const stderr = acc.stderr();
    const bias = names.map((name, j) => {
      const b = acc.mean[j] - exact[j];
      // As in checkUnbiased: within rounding of the exact value is no evidence of bias;
      // beyond it, a zero standard error makes any difference infinitely significant;
      // a mean, standard error or exact value that is not finite gives NaN, counted as
      // infinite in maxAbsZ so that the row is flagged, not silently passed.
      const z = !Number.isFinite(b) || !Number.isFinite(stderr[j])
        ? NaN
        : Math.abs(b) <= 1e-9 * (1 + Math.abs(exact[j])) ? 0 : stderr[j] > 0 ? b / stderr[j] : Infinity * Math.sign(b);
      return { name, value: b, lower: b - quantile * stderr[j], upper: b + quantile * stderr[j], z };
    });
    const variance = meanInterval(spread, (k * units) / Math.max(1, units - 1), quantile);
    const mse = meanInterval(error, 1, quantile);
    // An estimator exact up to rounding (enumeration) has zero error, not 1e-32.
    const scale = exact.reduce((acc2, x) => acc2 + x * x, 0);
    for (const e of [variance, mse]) if (e.upper <= 1e-24 * (1 + scale)) Object.assign(e, { value: 0, lower: 0, upper: 0 });
    return {
      estimator: estimator.name,
      unbiased: estimator.unbiased,
      bias,
      biasNorm: Math.sqrt(bias.reduce((acc2, b) => acc2 + b.value * b.value, 0)),
      maxAbsZ: Math.max(...bias.map((b) => (Number.isNaN(b.z) ? Infinity : Math.abs(b.z)))),
      variance,
      mse,
      microsecondsPerEstimate: sampled.microsecondsPerEstimate,
      efficiency: 1 / (mse.value * sampled.microsecondsPerEstimate),
      relativeEfficiency: null as number | null,
      samples: units * k,
      samplesPerUnit: k,
    };
  });
  const reference = rows.find((r) => r.estimator === (options.reference ?? 'reinforce'));
  if (reference === undefined && options.reference !== undefined) {
    throw new RangeError(`compare: the reference '${options.reference}' is not among the estimators compared (${rows.map((r) => r.estimator).join(', ')})`);
  }
  if (reference !== undefined) {
    for (const r of rows) {
      // Two zero-error estimators (efficiency ∞) are equally efficient; ∞/∞ would be NaN.
      r.relativeEfficiency = r.efficiency === Infinity && reference.efficiency === Infinity ? 1 : r.efficiency / reference.efficiency;
    }
  }
  return rows;
}

// ---------------------------------------------------------------- presenting a comparison

function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(digits - 1) : x.toPrecision(digits);
}

/** The comparison as a fixed-width text table. */
export function formatComparison(rows: readonly EstimatorComparison[]): string {
  const header = ['estimator', '|bias|', 'max|z|', 'variance', '95% CI', 'MSE', 'µs/est', 'efficiency', 'vs reinforce'];
  const cells = rows.map((r) => [
    r.estimator + (r.unbiased ? '' : ' (biased)'),
    fmt(r.biasNorm),
    r.maxAbsZ.toFixed(1),
    fmt(r.variance.value),
    `[${fmt(r.variance.lower)}, ${fmt(r.variance.upper)}]`,
    fmt(r.mse.value),
    r.microsecondsPerEstimate.toFixed(2),
    fmt(r.efficiency),
    r.relativeEfficiency === null ? '—' : `${fmt(r.relativeEfficiency)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: readonly string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

/**
 * Variance and mean squared error per estimator with 95% intervals, on a
 * log axis: for an unbiased estimator the two coincide, and the gap between
 * them is the squared bias. Estimators with zero variance (exact) are left
 * out of a log axis. Below it, when some estimator's bias is significant
 * (|z| > 4 on a coordinate), a second panel shows ‖bias‖ for those.
 */
export function comparisonChart(title: string, rows: readonly EstimatorComparison[]): string {
  const shown = rows.filter((r) => r.mse.value > 0);
  const variance = barChart({
    title,
    categories: shown.map((r) => (r.unbiased ? r.estimator : `${r.estimator} (biased)`)),
    series: [
      { name: 'variance', values: shown.map((r) => r.variance.value), lower: shown.map((r) => r.variance.lower), upper: shown.map((r) => r.variance.upper) },
      { name: 'MSE', values: shown.map((r) => r.mse.value), lower: shown.map((r) => r.mse.lower), upper: shown.map((r) => r.mse.upper) },
    ],
    scale: 'log',
    style: 'dot',
    valueLabel: 'variance and MSE per sample, 95% intervals (log scale)',
  });
  const biased = rows.filter((r) => r.maxAbsZ > 4);
  if (biased.length === 0) return variance;
  const bias = barChart({
    title: 'significant bias (max |z| > 4): ‖mean estimate − exact gradient‖',
    categories: biased.map((r) => r.estimator),
    values: biased.map((r) => r.biasNorm),
    valueLabel: '‖bias‖',
  });
  return stackSvgs([variance, bias]);
}

/** One SVG holding several, one below the other (each keeps its own coordinates). */
function stackSvgs(parts: readonly string[]): string {
  let y = 0;
  let width = 0;
  const placed = parts.map((svg) => {
    const w = Number(/width="([0-9.]+)"/.exec(svg)?.[1] ?? 640);
    const h = Number(/height="([0-9.]+)"/.exec(svg)?.[1] ?? 400);
    const at = y;
    y += h;
    width = Math.max(width, w);
    return svg.replace('<svg ', `<svg y="${at}" `);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n${placed.join('\n')}\n</svg>`;
}
