// `mcgrad compare`: estimators side by side on one problem, or (with no
// --problem) the built-in suite and its HTML report: the main job.

import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { compare, formatComparison, comparisonChart, type EstimatorComparison } from '../estimators/compare.ts';
import { estimators as allEstimators, estimatorByName } from '../estimators/registry.ts';
import type { Estimator } from '../estimators/estimator.ts';
import type { Problem } from '../lib/problem.ts';
import type { Tensor } from '../autodiff/index.ts';
import { runSuite } from './suite.ts';
import { UsageError, parseFlags, intFlag, readProblem, distOf } from './mcgrad.ts';

/** The estimators named in a comma-separated list, or all that support the family. */
export function chooseEstimators(list: string | true | undefined, family: Problem['family']): Estimator[] {
  if (typeof list !== 'string') return allEstimators.filter((e) => e.families.includes(family));
  const chosen = list.split(',').map((name) => {
    try {
      return estimatorByName(name.trim());
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  });
  for (const e of chosen) {
    if (!e.families.includes(family)) throw new UsageError(`${e.name} does not support the ${family} family (it supports ${e.families.join(', ')})`);
  }
  return chosen;
}

/** Compares estimators on one parsed problem. */
export function compareOn(problem: Problem, chosen: readonly Estimator[], samples: number, seed: number): EstimatorComparison[] {
  if (problem.exact === undefined) throw new UsageError(`the exact gradient of this ${problem.family} problem is not available`);
  const exactGradient = problem.exact.gradient() as unknown as Record<string, Tensor>;
  return compare(chosen, { dist: distOf(problem), f: problem.f, exactGradient }, { samples, seed });
}

export function writeFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

export function runCompare(args: readonly string[], print: (line: string) => void): number {
  const flags = parseFlags(args, { problem: 'value', estimators: 'value', samples: 'value', seed: 'value', json: 'flag', svg: 'value', report: 'value', steps: 'value', quiet: 'flag' });
  const samples = intFlag(flags, 'samples', 20000, 4);
  const seed = intFlag(flags, 'seed', 0, 0);
  if (typeof flags.problem !== 'string') {
    if (flags.estimators !== undefined || flags.svg !== undefined) throw new UsageError('--estimators and --svg go with --problem; without a problem the built-in suite runs every applicable estimator');
    return runSuite({ samples, seed, json: flags.json === true, reportDir: typeof flags.report === 'string' ? flags.report : 'report', steps: intFlag(flags, 'steps', 5000, 100), print, quiet: flags.quiet === true });
  }
  const problem = readProblem(flags.problem);
  const chosen = chooseEstimators(flags.estimators, problem.family);
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
