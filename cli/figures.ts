// The main job's figures and page, drawn with lib/plot and lib/report.

import { lineChart } from '../lib/plot.ts';
import { htmlReport, heading, paragraph, table, figure, type ReportBlock, type TableCell } from '../lib/report.ts';
import type { EstimatorComparison } from '../estimators/compare.ts';
import type { TrainingCurve } from '../estimators/training.ts';

/** Exact loss and gradient variance over training, one line per estimator (Grathwohl et al. 2018, figure 1). */
export function trainingCharts(curves: readonly TrainingCurve[]): string[] {
  const steps = (c: TrainingCurve) => c.points.map((p) => p.step);
  return [
    lineChart({
      title: 'RELAX toy problem: exact loss E[f(b)]',
      xLabel: 'step',
      yLabel: 'loss',
      series: curves.map((c) => ({ name: c.estimator, x: steps(c), y: c.points.map((p) => p.loss) })),
      reference: [{ value: 0.249001, label: 'optimum' }],
    }),
    lineChart({
      title: 'RELAX toy problem: variance of one gradient estimate',
      xLabel: 'step',
      yLabel: 'variance (100 fresh draws)',
      yScale: 'log',
      series: curves.map((c) => ({ name: c.estimator, x: steps(c), y: c.points.map((p) => p.variance), style: 'line+points' as const })),
    }),
  ];
}

export interface ProblemSection {
  name: string;
  description: string;
  rows: readonly EstimatorComparison[];
  svg: string;
}

function comparisonTable(rows: readonly EstimatorComparison[]): ReportBlock {
  const cells: TableCell[][] = rows.map((r) => [
    r.unbiased ? r.estimator : `${r.estimator} (biased)`,
    r.biasNorm,
    r.maxAbsZ,
    { value: r.variance.value, error: (r.variance.upper - r.variance.lower) / 2 },
    r.mse.value,
    r.microsecondsPerEstimate,
    Number.isFinite(r.efficiency) ? r.efficiency : null,
    r.relativeEfficiency !== null && Number.isFinite(r.relativeEfficiency) ? r.relativeEfficiency : null,
  ]);
  return table(
    ['estimator', '‖bias‖', 'max |z|', 'variance ± 95%', 'MSE', { label: 'µs / sample', decimals: 2 }, 'efficiency', 'vs REINFORCE'],
    cells,
    { precision: 3 },
  );
}

/** The whole report page. */
export function reportPage(problems: readonly ProblemSection[], training: readonly string[], curves: readonly TrainingCurve[]): string {
  const blocks: ReportBlock[] = [
    paragraph(
      'Every applicable estimator on each built-in problem, against the exact gradient (by enumeration, or in closed form for the normal). ' +
        'Bias is the mean estimate minus the exact gradient; variance and MSE are per sample, summed over coordinates; ' +
        'efficiency is 1 / (MSE × µs per sample), so it weighs accuracy against cost (Owen, ch. 8). Learned parts are at their initial values.',
    ),
  ];
  for (const p of problems) {
    blocks.push(heading(p.name), paragraph(p.description), comparisonTable(p.rows), figure(p.svg));
  }
  blocks.push(
    heading('Training on the RELAX toy problem'),
    paragraph(
      'b ∼ Bernoulli(σ(θ)), f(b) = (b − 0.499)², θ from 0; one sample per step, Adam (lr 0.01) on θ and on the learned parts; ' +
        'REBAR learns η (from 1) and λ (from 0.5); RELAX learns α·r(σ_λ(z)) with r a 10-unit tanh network and α from 0, so it starts as REINFORCE. ' +
        'As in Grathwohl et al. 2018, figure 1: RELAX’s variance falls by orders of magnitude and its loss falls fastest.',
    ),
    ...training.map((svg) => figure(svg)),
    table(
      ['estimator', 'first loss', 'last loss', 'first variance', 'last variance', { label: 'seconds', decimals: 1 }],
      curves.map((c) => {
        const first = c.points[0];
        const last = c.points[c.points.length - 1];
        return [c.estimator, first.loss, last.loss, first.variance, last.variance, c.seconds];
      }),
      { precision: 6 },
    ),
  );
  return htmlReport({ title: 'mcgrad: comparing gradient estimators', blocks, footer: 'Made by `npm start` (mcgrad compare).' });
}
