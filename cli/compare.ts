// `mcgrad compare`: estimators side by side on one problem, or (with no
// --problem) the built-in suite and its HTML report: the main job.

import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { compare, formatComparison, comparisonChart, type EstimatorComparison } from '../estimators/compare.ts';
import { estimators as allEstimators, estimatorByName } from '../estimators/registry.ts';
import { estimateGradient, type Estimator } from '../estimators/estimator.ts';
import { samplesPerCall, timingSamples, fewestSamples } from '../estimators/check.ts';
import type { SampleFunction } from '../estimators/families.ts';
import { rng } from '../lib/random.ts';
import { Refusal } from '../lib/exact.ts';
import type { Problem } from '../lib/problem.ts';
import type { Tensor } from '../autodiff/index.ts';
import { runSuite } from './suite.ts';
import { UsageError, parseFlags, intFlag, readProblem, distOf, oneLine, checkSamplesFit, SAMPLES, SEED, STEPS } from './mcgrad.ts';

/** Thrown by the trial call's f (refusal): the estimator got past its checks. */
const REACHED_F = new Error('refusal: the trial call reached f');

/**
 * Why an estimator cannot run on a problem with `samples` samples, or
 * undefined if it can. An estimator refuses with a Refusal (exact and
 * sum-and-sample refuse supports over lib/exact's enumeration limit, arsm
 * pseudo-actions over 2^30 numbers, which grow with the samples per call),
 * and it refuses before it first evaluates f. So one trial call with the
 * most samples the run will give it in a call (largestCall), stopped at its
 * first evaluation of f, finds out before any time is spent, at the cost of
 * that call's sampling only; the generator is its own, so the comparison's
 * samples do not change. Any other error of that call is a bug, and is thrown.
 */
export function refusal(estimator: Estimator<any, any>, problem: Problem, samples: number): string | undefined {
  const dist = distOf(problem);
  const r = rng(0);
  const stopAtF: SampleFunction = () => {
    throw REACHED_F;
  };
  try {
    const state = estimator.init?.(dist, r.split());
    estimateGradient(estimator, dist, stopAtF, r, { n: largestCall(estimator, samples), state });
    return undefined;
  } catch (error) {
    if (error === REACHED_F) return undefined;
    if (error instanceof Refusal) return oneLine(error.message);
    throw error;
  }
}

/**
 * The most samples checkUnbiased and compare give the estimator in one call
 * (collectEstimates in estimators/check.ts): its sampling calls or its
 * timing calls, whichever is larger.
 */
export function largestCall(estimator: Estimator<any, any>, samples: number): number {
  return Math.max(samplesPerCall(estimator, samples), timingSamples(estimator));
}

/** Why `samples` samples are too few for the estimator (after its name), or undefined if they are enough. */
function tooFewSamples(estimator: Estimator<any, any>, samples: number): string | undefined {
  const fewest = fewestSamples(estimator);
  if (samples >= fewest) return undefined;
  return `needs --samples ${fewest} or more: its samples share a baseline, so it gives one estimate per call of ${fewest / 2}, and a variance needs two`;
}

/** The estimator called `name`, if it supports the problem's family and can run on it with `samples` samples; otherwise a usage error. */
export function runnableEstimator(name: string, problem: Problem, samples: number): Estimator {
  let estimator: Estimator;
  try {
    estimator = estimatorByName(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!estimator.families.includes(problem.family)) {
    throw new UsageError(`${estimator.name} does not support the ${problem.family} family (it supports ${estimator.families.join(', ')})`);
  }
  const few = tooFewSamples(estimator, samples);
  if (few !== undefined) throw new UsageError(`${estimator.name} ${few}`);
  const why = refusal(estimator, problem, samples);
  if (why !== undefined) throw new UsageError(`${estimator.name} cannot run on this problem: ${why}`);
  return estimator;
}

/**
 * The estimators named in a comma-separated list (each must run on the
 * problem with `samples` samples), or all that support its family, leaving
 * out, with one line to `note` per reason, those that need more samples and
 * those that cannot run on the problem.
 */
export function chooseEstimators(list: string | true | undefined, problem: Problem, samples: number, note: (line: string) => void): Estimator[] {
  if (typeof list === 'string') return list.split(',').map((name) => runnableEstimator(name.trim(), problem, samples));
  const applicable = allEstimators.filter((e) => e.families.includes(problem.family));
  const few = applicable.filter((e) => tooFewSamples(e, samples) !== undefined);
  if (few.length > 0) {
    const fewest = Math.max(...few.map((e) => fewestSamples(e)));
    note(`mcgrad: skipping ${few.map((e) => e.name).join(', ')}, whose samples share a baseline: with one estimate per call of ${fewest / 2}, a variance needs --samples ${fewest} or more`);
  }
  const enough = applicable.filter((e) => !few.includes(e));
  const refusals = enough.map((e) => refusal(e, problem, samples));
  const skipped = enough.filter((_, i) => refusals[i] !== undefined);
  if (skipped.length > 0) {
    note(`mcgrad: skipping ${skipped.map((e) => e.name).join(', ')}, which cannot run on this problem: ${refusals.filter((r) => r !== undefined).join('; ')}`);
  }
  return enough.filter((_, i) => refusals[i] === undefined);
}

/** Compares estimators on one parsed problem. */
export function compareOn(problem: Problem, chosen: readonly Estimator[], samples: number, seed: number): EstimatorComparison[] {
  if (problem.exact === undefined) throw new UsageError(`the exact gradient of this ${problem.family} problem is not available`);
  const exactGradient = problem.exact.gradient() as unknown as Record<string, Tensor>;
  return compare(chosen, { dist: distOf(problem), f: problem.f, exactGradient }, { samples, seed });
}

/**
 * Writes a file, making its directory. A path that cannot be written (a
 * directory, a file in the way, no permission) is reported like a problem
 * file that cannot be read: one line, exit code 2.
 */
export function writeFile(file: string, text: string): void {
  makeDirectory(dirname(file));
  writing(file, () => writeFileSync(file, text));
}

/** Makes a directory and its parents, if they are not there; a usage error if it cannot. */
export function makeDirectory(dir: string): void {
  writing(dir, () => mkdirSync(dir, { recursive: true }));
}

function writing(path: string, write: () => void): void {
  try {
    write();
  } catch (error) {
    throw new UsageError(`cannot write '${path}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

export function runCompare(args: readonly string[], print: (line: string) => void, note: (line: string) => void): number {
  const flags = parseFlags(args, { problem: 'value', estimators: 'value', samples: 'value', seed: 'value', json: 'flag', svg: 'value', report: 'value', steps: 'value', quiet: 'flag' });
  const samples = intFlag(flags, 'samples', 20000, SAMPLES);
  const seed = intFlag(flags, 'seed', 0, SEED);
  if (typeof flags.problem !== 'string') {
    if (flags.estimators !== undefined || flags.svg !== undefined) throw new UsageError('--estimators and --svg go with --problem; without a problem the built-in suite runs every applicable estimator');
    return runSuite({ samples, seed, json: flags.json === true, reportDir: typeof flags.report === 'string' ? flags.report : 'report', steps: intFlag(flags, 'steps', 5000, STEPS), print, note, quiet: flags.quiet === true });
  }
  const problem = readProblem(flags.problem);
  checkSamplesFit(samples, problem);
  const chosen = chooseEstimators(flags.estimators, problem, samples, note);
  const rows = compareOn(problem, chosen, samples, seed);
  if (flags.json) {
    print(JSON.stringify({ problem: problem.description, samples, seed, estimators: rows }));
  } else {
    print(`problem: ${problem.description}`);
    print(formatComparison(rows));
  }
  if (typeof flags.svg === 'string') {
    writeFile(flags.svg, comparisonChart(problem.description, rows));
    if (!flags.json) print(`wrote ${flags.svg}`);
  }
  return 0;
}
