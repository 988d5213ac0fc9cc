// mcgrad: Monte Carlo gradient estimation. The one public entry point.
export * from './autodiff/index.ts';
export { Rng, rng } from './lib/random.ts';
export * as stats from './lib/stats.ts';
export { Welford, summarize, normalCdf, normalSf, normalQuantile, chiSquareTest, ksTest, ksTwoSample, holm, twoSidedP } from './lib/stats.ts';
