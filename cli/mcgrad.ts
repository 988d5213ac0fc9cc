#!/usr/bin/env node
// The command line: `mcgrad check` tests one estimator on one problem
// against the exact gradient; `mcgrad compare` puts several side by side.
// The only place (with examples and benchmarks) that touches Node's APIs.

import { readFileSync } from 'node:fs';
import { parseProblem, ProblemError, type Problem } from '../lib/problem.ts';
import { estimators, estimatorByName } from '../estimators/registry.ts';
import { checkUnbiased, type CheckResult } from '../estimators/check.ts';
import { bernoulli, categorical, normal, subset, spanningTree, type AnyDist } from '../estimators/families.ts';
import { runCompare } from './compare.ts';

/** A mistake of the user's: printed as one line, exit code 2. */
export class UsageError extends Error {}

const USAGE = `usage:
  mcgrad check --problem FILE --estimator NAME [--samples N] [--seed S] [--json]
  mcgrad compare [--problem FILE] [--estimators a,b,c] [--samples N] [--seed S] [--json] [--svg FILE] [--report DIR]
  mcgrad list
estimators: ${estimators.map((e) => e.name).join(', ')}`;

export interface Flags {
  [name: string]: string | true;
}

/** --name value and --flag arguments; anything else is a usage error. */
export function parseFlags(args: readonly string[], known: Record<string, 'value' | 'flag'>): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const [name, inline] = arg.slice(2).split('=', 2);
    const kind = known[name];
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (kind === 'flag') {
      flags[name] = true;
    } else {
      const value = inline ?? args[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
    }
  }
  return flags;
}

export function intFlag(flags: Flags, name: string, fallback: number, min: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${String(raw)}'`);
  }
  return value;
}

/** Reads and parses a problem file; every failure becomes a one-line usage error. */
export function readProblem(file: string): Problem {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read problem file '${file}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`problem file '${file}' is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseProblem(json);
  } catch (error) {
    if (error instanceof ProblemError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

/** The estimator-facing descriptor of a parsed problem. */
export function distOf(problem: Problem): AnyDist {
  if (problem.family === 'normal') return normal(problem.params.loc, problem.params.scale);
  if (problem.family === 'subset') return subset(problem.params.logits, problem.k);
  if (problem.family === 'spanning-tree') return spanningTree(problem.params.logits, problem.graph);
  return problem.family === 'bernoulli' ? bernoulli(problem.params.logits) : categorical(problem.params.logits);
}

// ---------------------------------------------------------------- check

function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

export function formatCheck(result: CheckResult, declaredUnbiased: boolean): string {
  const header = ['coordinate', 'mean', 'exact', 'stderr', 'z', 'variance'];
  const rows = result.coordinates.map((c) => [c.name, c.mean.toPrecision(6), c.exact.toPrecision(6), c.stderr.toPrecision(3), c.z.toFixed(2), c.variance.toPrecision(4)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const verdict = result.unbiasedVerdict
    ? `no bias detected (family-wise α = ${result.alpha}, max |z| = ${result.maxAbsZ.toFixed(2)})`
    : `BIASED: rejected at family-wise α = ${result.alpha} (max |z| = ${result.maxAbsZ.toFixed(2)})${declaredUnbiased ? '' : '; this estimator is biased by design'}`;
  return [
    `${result.estimator}: ${result.units} estimates of ${result.samplesPerUnit} sample(s), ${result.microsecondsPerEstimate.toFixed(2)} µs per sample`,
    formatRow(header, widths),
    ...rows.map((r) => formatRow(r, widths)),
    verdict,
  ].join('\n');
}

function check(args: readonly string[], print: (line: string) => void): number {
  const flags = parseFlags(args, { problem: 'value', estimator: 'value', samples: 'value', seed: 'value', json: 'flag' });
  if (typeof flags.problem !== 'string') throw new UsageError('check needs --problem FILE');
  if (typeof flags.estimator !== 'string') throw new UsageError('check needs --estimator NAME');
  const problem = readProblem(flags.problem);
  let estimator;
  try {
    estimator = estimatorByName(flags.estimator);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!estimator.families.includes(problem.family)) {
    throw new UsageError(`${estimator.name} does not support the ${problem.family} family (it supports ${estimator.families.join(', ')})`);
  }
  if (problem.exact === undefined) throw new UsageError(`the exact gradient of this ${problem.family} problem is not available`);
  const samples = intFlag(flags, 'samples', 20000, 2);
  const seed = intFlag(flags, 'seed', 0, 0);
  const result = checkUnbiased(estimator, { dist: distOf(problem), f: problem.f, exactGradient: problem.exact.gradient() as unknown as Record<string, import('../autodiff/index.ts').Tensor> }, { samples, seed, time: true });
  if (flags.json) {
    print(
      JSON.stringify({
        problem: problem.description,
        estimator: estimator.name,
        declaredUnbiased: estimator.unbiased,
        samples,
        seed,
        coordinates: result.coordinates.map(({ name, mean, exact, stderr, z, variance }) => ({ name, mean, exact, stderr, z, variance })),
        unbiasedVerdict: result.unbiasedVerdict,
        maxAbsZ: result.maxAbsZ,
        alpha: result.alpha,
        microsecondsPerEstimate: result.microsecondsPerEstimate,
      }),
    );
  } else {
    print(`problem: ${problem.description}`);
    print(formatCheck(result, estimator.unbiased));
  }
  return 0;
}

// ---------------------------------------------------------------- main

export function main(argv: readonly string[], print: (line: string) => void = console.log, printError: (line: string) => void = console.error): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return check(rest, print);
      case 'compare':
        return runCompare(rest, print);
      case 'list':
        for (const e of estimators) print(`${e.name.padEnd(20)} ${e.unbiased ? 'unbiased' : 'biased  '}  ${e.families.join(', ').padEnd(34)} ${e.description}`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        print(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      printError(`mcgrad: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

// Run when executed directly (not when imported by a test).
const invoked = process.argv[1] ?? '';
if (/mcgrad(\.[cm]?[jt]s)?$/.test(invoked)) {
  process.exitCode = main(process.argv.slice(2));
}
