// The main job (`npm start`, or `mcgrad compare` with no problem): the
// built-in problems through every applicable estimator, the RELAX toy
// problem's training curves (Grathwohl et al. 2018, figure 1), and an HTML
// report of both in report/index.html.

import { parseProblem, type Problem } from '../lib/problem.ts';
import { trainToy, type TrainingCurve } from '../estimators/training.ts';
import { compareOn, chooseEstimators, writeFile, makeDirectory } from './compare.ts';
import { checkSamplesFit } from './mcgrad.ts';
import { trainingCharts, reportPage } from './figures.ts';
import { formatComparison, comparisonChart, type EstimatorComparison } from '../estimators/compare.ts';

/** The built-in problems, in the problem-file format of DESIGN.md. */
export const SUITE: readonly { name: string; json: unknown }[] = [
  {
    name: 'RELAX toy problem',
    json: { family: 'bernoulli', logits: [0], f: { kind: 'quadratic', target: [0.499] }, description: 'b ∼ Bernoulli(σ(θ)), f(b) = (b − 0.499)², θ = 0' },
  },
  {
    name: 'categorical, K = 10, table',
    json: {
      family: 'categorical',
      logits: [0.5, -0.3, 1.2, 0.0, -1.1, 0.8, -0.6, 0.3, -0.2, 0.9],
      f: { kind: 'table', values: [1.3, -0.4, 0.2, 2.1, -1.5, 0.7, 0.0, -0.9, 1.1, 0.4] },
      description: 'b ∼ Categorical(softmax(θ)), K = 10, f a table of 10 values',
    },
  },
  {
    name: '8 Bernoullis, nonlinear f',
    json: {
      family: 'bernoulli',
      logits: [0.4, -0.8, 1.1, 0.0, -0.3, 0.6, -1.4, 0.2],
      f: { kind: 'table', values: nonlinearTable(8) },
      description: 'b ∼ Π Bernoulli(σ(θ_j)), D = 8, f(b) = (Σ w_j b_j − 1.5)² + sin(3 b_0 b_1 + b_2 b_7), as a table of 256 values',
    },
  },
  {
    name: 'normal, quadratic',
    json: { family: 'normal', loc: [0.5, -1.0], scale: [1.0, 0.5], f: { kind: 'quadratic', target: [2.0, 0.0] }, description: 'x ∼ N(μ, σ²), D = 2, f(x) = Σ (x − t)²' },
  },
];

/** f(b) = (Σ w_j b_j − 1.5)² + sin(3 b₀b₁ + b₂b₇) over all 2^D outcomes (bit j of the index is b_j). */
function nonlinearTable(D: number): number[] {
  const w = [0.9, -0.4, 0.7, 0.3, -0.8, 0.5, 0.6, -0.2];
  return Array.from({ length: 2 ** D }, (_, i) => {
    const b = Array.from({ length: D }, (_, j) => (i >> j) & 1);
    const s = b.reduce((acc, bj, j) => acc + w[j] * bj, 0);
    return (s - 1.5) ** 2 + Math.sin(3 * b[0] * b[1] + b[2] * b[7]);
  });
}

export interface SuiteOptions {
  samples: number;
  seed: number;
  json: boolean;
  reportDir: string;
  steps: number;
  quiet: boolean;
  print: (line: string) => void;
  /** Where a skipped estimator is reported (stderr), even with quiet. */
  note: (line: string) => void;
}

/** Runs the suite, prints one table per problem, writes the report; returns the exit code. */
export function runSuite(options: SuiteOptions): number {
  const progress = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  const problems = SUITE.map(({ name, json }) => ({ name, problem: parseProblem(json) }));
  // Checked before the first problem runs, so that a refusal costs no time.
  for (const { problem } of problems) checkSamplesFit(options.samples, problem);
  makeDirectory(options.reportDir);
  const results: { name: string; problem: Problem; rows: EstimatorComparison[] }[] = [];
  for (const { name, problem } of problems) {
    const chosen = chooseEstimators(undefined, problem, options.samples, options.note);
    progress(`[${results.length + 1}/${SUITE.length + 1}] ${name}: ${chosen.length} estimators × ${options.samples} samples`);
    const rows = compareOn(problem, chosen, options.samples, options.seed);
    results.push({ name, problem, rows });
    if (!options.json) {
      options.print(`\n${name}: ${problem.description}`);
      options.print(formatComparison(rows));
    }
  }

  progress(`[${SUITE.length + 1}/${SUITE.length + 1}] training on the toy problem: REINFORCE, REBAR, RELAX, ${options.steps} steps each`);
  const curves: TrainingCurve[] = ['reinforce', 'rebar', 'relax'].map((estimator) =>
    trainToy({
      estimator: estimator as 'reinforce' | 'rebar' | 'relax',
      steps: options.steps,
      seed: options.seed,
      onLog: (step) => {
        if (step % 1000 === 0) progress(`  ${estimator}: step ${step}`);
      },
    }),
  );
  if (!options.json) {
    options.print('\nRELAX toy problem, training (Adam, lr 0.01, one sample per step):');
    for (const c of curves) {
      const last = c.points[c.points.length - 1];
      const first = c.points[0];
      options.print(
        `  ${c.estimator.padEnd(9)} loss ${first.loss.toFixed(6)} → ${last.loss.toFixed(6)}   variance ${first.variance.toExponential(2)} → ${last.variance.toExponential(2)}   (${c.seconds.toFixed(1)} s)`,
      );
    }
  }

  const file = `${options.reportDir}/index.html`;
  const figures = results.map(({ name, problem, rows }) => ({ name, description: problem.description, rows, svg: comparisonChart(name, rows) }));
  writeFile(file, reportPage(figures, trainingCharts(curves), curves));
  if (options.json) {
    options.print(JSON.stringify({ samples: options.samples, seed: options.seed, problems: results.map(({ name, problem, rows }) => ({ name, problem: problem.description, estimators: rows })), training: curves }));
  } else {
    options.print(`\nwrote ${file}`);
  }
  return 0;
}
