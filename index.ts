// mcgrad: Monte Carlo gradient estimation. The one public entry point.
export * from './autodiff/index.ts';
export { Rng, rng } from './lib/random.ts';
export * as stats from './lib/stats.ts';
export { Welford, summarize, normalCdf, normalSf, normalQuantile, chiSquareTest, ksTest, ksTwoSample, holm, twoSidedP } from './lib/stats.ts';
export { bernoulli, categorical, normal, paramsOf, withParams, logProb, sample, perturb, hard, drawNoise } from './estimators/families.ts';
export type { Family, Dist, BernoulliDist, CategoricalDist, NormalDist, SampleFunction } from './estimators/families.ts';
export { estimateGradient } from './estimators/estimator.ts';
export type { Estimator, Surrogate, SurrogateOptions, EstimateOptions, GradientEstimate } from './estimators/estimator.ts';
export { reinforce, reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned } from './estimators/reinforce.ts';
export type { ReinforceOptions, ReinforceState, BaselineKind } from './estimators/reinforce.ts';
export { checkUnbiased } from './estimators/check.ts';
export type { CheckProblem, CheckOptions, CheckResult, CoordinateCheck } from './estimators/check.ts';
export { gumbelMax, gumbelTopK, truncatedGumbel, exponentialRace, conditionalLogistic, conditionalGumbel } from './lib/gumbel.ts';
export type { GumbelMaxResult, GumbelTopKResult, ExponentialRaceResult } from './lib/gumbel.ts';
