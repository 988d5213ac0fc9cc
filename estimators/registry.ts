// Every estimator by its kebab-case name, as the command line and the
// comparison table know them.

import type { Estimator } from './estimator.ts';
import type { Family } from './families.ts';
import { reinforceNone, reinforceMovingAverage, reinforceLoo, reinforceLearned } from './reinforce.ts';
import { pathwiseEstimator } from './pathwise.ts';
import { measureValuedEstimator } from './measure-valued.ts';
import { gumbelSoftmaxEstimator, straightThroughEstimator, stGumbelSoftmaxEstimator, gumbelRaoEstimator } from './relaxations.ts';
import { rebarEstimator, relaxEstimator, dlaxEstimator, laxEstimator } from './relax.ts';
import { armEstimator, disarmEstimator, arEstimator, arsmEstimator } from './arm.ts';
import { exactEstimator } from './exact-estimator.ts';
import { reinforceDelta, reinforceDelta1 } from './control-variates.ts';
import { reinforceAntithetic, pathwiseAntithetic } from './antithetic.ts';
import { raoBlackwellReinforce, sumAndSampleReinforce } from './conditioning.ts';
import { sstRelaxedEstimator, stSstEstimator, reinforceStructureEstimator, reinforceStructureLoo, reinforceNoiseEstimator, reinforceNoiseLoo } from './sst.ts';

/** All registered estimators, in the order of the issue's list (the structured families' after them). */
export const estimators: readonly Estimator<any, any>[] = [
  reinforceNone,
  reinforceMovingAverage,
  reinforceLoo,
  reinforceLearned,
  pathwiseEstimator,
  measureValuedEstimator,
  gumbelSoftmaxEstimator,
  straightThroughEstimator,
  stGumbelSoftmaxEstimator,
  gumbelRaoEstimator,
  rebarEstimator,
  laxEstimator,
  dlaxEstimator,
  relaxEstimator,
  arEstimator,
  arsmEstimator,
  armEstimator,
  disarmEstimator,
  exactEstimator,
  // the variance-reduction toolkit's estimators
  reinforceDelta,
  reinforceDelta1,
  reinforceAntithetic,
  pathwiseAntithetic,
  raoBlackwellReinforce,
  sumAndSampleReinforce,
  sstRelaxedEstimator,
  stSstEstimator,
  reinforceStructureEstimator,
  reinforceStructureLoo,
  reinforceNoiseEstimator,
  reinforceNoiseLoo,
];

/** The estimator called `name`, or a RangeError listing the names there are. */
export function estimatorByName(name: string): Estimator {
  const found = estimators.find((e) => e.name === name);
  if (found === undefined) {
    throw new RangeError(`unknown estimator '${name}'; choose one of: ${estimators.map((e) => e.name).join(', ')}`);
  }
  return found;
}

/** The estimators that support a family. */
export function estimatorsFor(family: Family): Estimator[] {
  return estimators.filter((e) => e.families.includes(family));
}
