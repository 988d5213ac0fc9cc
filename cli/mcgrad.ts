#!/usr/bin/env node
// The command line: `mcgrad check` tests one estimator on one problem
// against the exact gradient; `mcgrad compare` puts several side by side.
// The only place (with examples and benchmarks) that touches Node's APIs.

import { readFileSync } from 'node:fs';
import { parseProblem, ProblemError, type Problem } from '../lib/problem.ts';
import { Refusal } from '../lib/exact.ts';
import { estimators } from '../estimators/registry.ts';
import { checkUnbiased, type CheckResult } from '../estimators/check.ts';
import { bernoulli, categorical, normal, subset, spanningTree, type AnyDist } from '../estimators/families.ts';
import type { Tensor } from '../autodiff/index.ts';
import { runCompare, runnableEstimator } from './compare.ts';

/** A mistake of the user's: printed as one line, exit code 2. */
export class UsageError extends Error {}

const USAGE = `usage:
  mcgrad check --problem FILE --estimator NAME [--samples N] [--seed S] [--json]
  mcgrad compare [--problem FILE] [--estimators a,b,c] [--samples N] [--seed S] [--json] [--svg FILE]
  mcgrad compare [--samples N] [--seed S] [--steps T] [--report DIR] [--json] [--quiet]   (the built-in suite)
  mcgrad list
  --samples N   samples per estimator, 2 to 10^7 (default 20000); every estimate is kept to measure
                its variance, so N × the problem's coordinates may be at most 2^27 (1 GiB); estimators
                whose samples share a baseline (the leave-one-out and antithetic ones) give one estimate
                per call of 8 and need at least 16
  --seed S      0 to 2^53 − 1 (default 0)
  --steps T     training steps on the toy problem, 100 to 10^6 (default 5000)
compare without --estimators skips the estimators that cannot run on the problem (exact and
sum-and-sample enumerate at most 2^22 outcomes; arsm makes n·K³ numbers, at most 2^30, in a call of
n = max(64, min(N, 8192)) samples) or on so few samples, and says so on stderr; naming one is an error.
exit codes: 0 done; 2 a mistake in the input (flags, the problem file, a problem the estimator
refuses) or a file that cannot be read or written, reported in one line; 1 a bug, with its stack.
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
    // --name=value splits at the first '=' only: the value may contain more.
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
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

/** The values an integer flag may take, as the usage text states them. */
export interface IntRange {
  min: number;
  max: number;
}

/**
 * Two samples, the fewest that give a variance, to 10^7. An estimator whose
 * samples share a baseline needs more (fewestSamples in estimators/check.ts).
 */
export const SAMPLES: IntRange = { min: 2, max: 1e7 };
/** Every seed lib/random's rng accepts, but not negative ones. */
export const SEED: IntRange = { min: 0, max: Number.MAX_SAFE_INTEGER };
/** Training steps on the toy problem: 10^6 take one to two minutes per estimator. */
export const STEPS: IntRange = { min: 100, max: 1e6 };

// A decimal number, exponent allowed (1e6); not '' or ' ', which Number() reads as 0, nor hex.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function intFlag(flags: Flags, name: string, fallback: number, range: IntRange): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !DECIMAL.test(raw) || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new UsageError(`--${name} must be an integer from ${range.min} to ${range.max}, got '${String(raw)}'`);
  }
  return value;
}

/** Estimates kept at once: one double per coordinate per sample, 1 GiB. */
export const MAX_KEPT_ESTIMATES = 2 ** 27;

/** Refuses a sample count whose estimates would not fit in memory (collectEstimates keeps them all). */
export function checkSamplesFit(samples: number, problem: Problem): void {
  const params: Record<string, Tensor> = { ...problem.params };
  const coordinates = Object.values(params).reduce((acc, p) => acc + p.size, 0);
  const kept = samples * coordinates;
  if (kept > MAX_KEPT_ESTIMATES) {
    throw new UsageError(
      `--samples ${samples} × ${coordinates} coordinates = ${kept} estimates to keep, over the limit of 2^27 = ${MAX_KEPT_ESTIMATES} (1 GiB); ` +
        `use --samples ${Math.floor(MAX_KEPT_ESTIMATES / coordinates)} or fewer`,
    );
  }
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
  const samples = intFlag(flags, 'samples', 20000, SAMPLES);
  const seed = intFlag(flags, 'seed', 0, SEED);
  const problem = readProblem(flags.problem);
  checkSamplesFit(samples, problem);
  const estimator = runnableEstimator(flags.estimator, problem, samples);
  if (problem.exact === undefined) throw new UsageError(`the exact gradient of this ${problem.family} problem is not available`);
  const result = checkUnbiased(estimator, { dist: distOf(problem), f: problem.f, exactGradient: problem.exact.gradient() as unknown as Record<string, Tensor> }, { samples, seed, time: true });
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
        return runCompare(rest, print, printError);
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
    return reportFailure(error, printError);
  }
}

/**
 * What main does with an error: a UsageError (a mistake in the flags or the
 * problem file, found by the CLI or by parseProblem) or the library's Refusal
 * of a problem too large for an estimator (found by the trial call of
 * refusal, compare.ts, or in the run) is printed as one line and gives exit
 * code 2. Anything else, any other RangeError from the library too, is a bug
 * and is rethrown with its stack (exit code 1).
 */
export function reportFailure(error: unknown, printError: (line: string) => void): number {
  if (error instanceof UsageError || error instanceof Refusal) {
    printError(`mcgrad: ${oneLine(error.message)}`);
    return 2;
  }
  throw error;
}

/** Error messages are one line on the terminal, even one the library wraps. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

// Run when executed directly (not when imported by a test).
const invoked = process.argv[1] ?? '';
if (/mcgrad(\.[cm]?[jt]s)?$/.test(invoked)) {
  process.exitCode = main(process.argv.slice(2));
}
