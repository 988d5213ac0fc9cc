// Round-robin timing, the same method as the peers (../shared/peers/README.md,
// "Timing method"): each case is warmed up for 0.2 s and given a k such that
// k calls take about 20 ms; then every pass times k calls of every case in
// turn, so each case's per-call times are spread over the whole run. This
// machine's speed drifts by up to ~1.8x in phases of seconds, which is why
// the passes are interleaved and why both the median and the minimum are kept.

import { performance } from 'node:perf_hooks';

export interface TimingOptions {
  /** Passes over all cases; each gives one per-call time per case. */
  passes: number;
  /** Wall time one pass spends on one case, in milliseconds. */
  roundMs: number;
  /** Warm-up per case, in milliseconds (also sizes k). */
  warmupMs: number;
}

export const FULL: TimingOptions = { passes: 25, roundMs: 20, warmupMs: 200 };
/** A smoke run: every case runs, the figures mean little. */
export const QUICK: TimingOptions = { passes: 3, roundMs: 2, warmupMs: 10 };

export interface Timing {
  /** Per-call microseconds over the passes. */
  median: number;
  min: number;
  max: number;
  /** Calls per pass. */
  k: number;
  passes: number;
}

/** Per-call times of each fn: median, min and max over interleaved passes. */
export function measureRoundRobin(fns: readonly (() => unknown)[], options: TimingOptions = FULL): Timing[] {
  const ks = fns.map((fn) => callsPerRound(fn, options));
  const perCall: number[][] = fns.map(() => []);
  for (let pass = 0; pass < options.passes; pass++) {
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i];
      const k = ks[i];
      const start = performance.now();
      for (let j = 0; j < k; j++) fn();
      perCall[i].push(((performance.now() - start) * 1000) / k);
    }
  }
  return perCall.map((times, i) => {
    const sorted = [...times].sort((a, b) => a - b);
    return { median: median(sorted), min: sorted[0], max: sorted[sorted.length - 1], k: ks[i], passes: options.passes };
  });
}

function callsPerRound(fn: () => unknown, { roundMs, warmupMs }: TimingOptions): number {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < warmupMs) {
    fn();
    calls++;
  }
  return Math.max(1, Math.round((roundMs * calls) / (performance.now() - start)));
}

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
