// The RELAX toy problem (Grathwohl et al. 2018, "Backpropagation through the
// void", figure 1).
//
// One coin: b ∼ Bernoulli(θ) with θ = σ(log α), and the loss
//
//   L(θ) = E[(b − 0.499)²] = θ·0.501² + (1 − θ)·0.499²,
//
// so the gradient dL/dθ = 0.501² − 0.499² = 0.002 is tiny next to f itself
// (≈ 0.25). The best θ is 0 (always b = 0), but the two outcomes differ by
// only 0.002, so an estimator must be very precise to even find the sign.
//
//   REINFORCE:  ĝ = f(b) ∇ log p(b|θ)                 (unbiased, huge variance)
//   REBAR:      subtracts η f(σ_λ(z̃)), the relaxed f, as a control variate
//               and adds back its expectation by reparameterization
//   RELAX:      the control variate is a small learned network c_φ, trained
//               on the estimator's own variance (a gradient of a gradient)
//
// All three are unbiased; they differ in variance, and variance decides how
// fast the loss falls. Setup as published: one sample per step, Adam with
// learning rate 0.01 on log α and on the learned parts.
//
// Run: npx tsx examples/toy-problem.ts   (MCGRAD_QUICK=1 for a short run)

import { mkdirSync, writeFileSync } from 'node:fs';
import { trainToy, lineChart, type TrainingCurve } from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const steps = quick ? 300 : 5000;
const printEvery = quick ? 100 : 1000;

const curves: TrainingCurve[] = [];
for (const estimator of ['reinforce', 'rebar', 'relax'] as const) {
  console.log(`\n${estimator}: ${steps} steps`);
  console.log('   step      loss        variance     θ = σ(log α)');
  let nextPrint = 0;
  const curve = trainToy({
    estimator,
    steps,
    seed: 0,
    // Called at every logged step with the exact loss and the variance of one
    // estimate, measured from 100 fresh draws at the current θ.
    onLog: (step, point) => {
      if (step < nextPrint && step !== steps) return;
      nextPrint += printEvery;
      const theta = 1 / (1 + Math.exp(-point.theta)); // point.theta is log α
      console.log(`${String(step).padStart(7)}  ${point.loss.toFixed(6)}  ${point.variance.toExponential(3).padStart(10)}  ${theta.toFixed(4)}`);
    },
  });
  curves.push(curve);
}

// The shape to expect: REINFORCE's variance stays flat; RELAX's falls by orders
// of magnitude as c_φ learns to mimic f, and its loss falls fastest.
console.log('\nvariance of one estimate, first → last logged step:');
for (const c of curves) {
  const first = c.points[0].variance;
  const last = c.points[c.points.length - 1].variance;
  console.log(`  ${c.estimator.padEnd(10)} ${first.toExponential(2)} → ${last.toExponential(2)}   (${c.seconds.toFixed(1)} s)`);
}

// Two figures, loss and log-variance against the step, side by side in one file.
const x = (c: TrainingCurve) => c.points.map((p) => p.step);
const loss = lineChart({
  title: 'exact loss E[(b − 0.499)²]',
  xLabel: 'step',
  yLabel: 'loss',
  series: curves.map((c) => ({ name: c.estimator, x: x(c), y: c.points.map((p) => p.loss) })),
  reference: [{ value: 0.499 ** 2, label: 'optimum (θ = 0)' }],
});
const variance = lineChart({
  title: 'variance of one gradient estimate',
  xLabel: 'step',
  yLabel: 'variance',
  yScale: 'log',
  series: curves.map((c) => ({ name: c.estimator, x: x(c), y: c.points.map((p) => p.variance) })),
});
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/toy-problem.svg', sideBySide(loss, variance));
console.log('\nwrote report/examples/toy-problem.svg');

/** Places two SVG charts (each 640 × 400 by default) next to each other. */
function sideBySide(left: string, right: string): string {
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="400" viewBox="0 0 1280 400">',
    `<g>${left}</g>`,
    `<g transform="translate(640, 0)">${right}</g>`,
    '</svg>',
  ].join('\n');
}
