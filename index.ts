// mcgrad: Monte Carlo gradient estimation. The one public entry point.
export * from './autodiff/index.ts';
export { Rng, rng } from './lib/random.ts';
