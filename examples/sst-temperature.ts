// Bias and variance of the stochastic softmax trick against its temperature.
//
// The SST estimate ĝ_t = ∇θ f(X_t) relaxes the structure X = argmax (θ + G)ᵀx
// into the Gibbs marginals X_t at (θ + G)/t. As t → 0, X_t → X, so the bias
// E[ĝ_t] − ∇θ E[f(X)] vanishes, while ∂X_t/∂θ concentrates near the places
// where the argmax changes and the variance grows (roughly like 1/t). Here both
// are measured on two structured problems against the exact gradient (every
// k-subset or spanning tree enumerated with its exact probability):
//
//   3-subsets of 8 items under Gumbel-top-k, and spanning trees of K5 under
//   Kruskal, each with the nonlinear f(x) = (cᵀx − 1)² + sin(dᵀx),
//
// for the SST and the straight-through SST, with REINFORCE on X and on the
// noise U (unbiased) as references. |bias| is the norm of the mean estimate's
// error; below the noise floor √(Σ Var / N) it cannot be resolved.
//
// Run: npx tsx examples/sst-temperature.ts   (MCGRAD_QUICK=1 for a short run)

import { mkdirSync, writeFileSync } from 'node:fs';
import {
  rng, sum, mul, sub, add, square, sin, compare, exactGradientOf, lineChart, completeGraph, subset, spanningTree,
  sstEstimator, reinforceStructureLoo, reinforceNoiseLoo, type Tensor, type SampleFunction, type AnyDist,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const samples = quick ? 1000 : 40000;
const temperatures = quick ? [0.05, 0.3, 2] : [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

function nonlinear(d: number, seed: number): SampleFunction {
  const r = rng(seed);
  const c = r.normal([d]);
  const w = r.normal([d]);
  return (x: Tensor) => add(square(sub(sum(mul(x, c), 1), 1)), sin(sum(mul(x, w), 1)));
}

const problems: { name: string; dist: AnyDist; f: SampleFunction }[] = [
  { name: '3-subsets of 8 items', dist: subset(rng(1).normal([8]), 3), f: nonlinear(8, 2) },
  { name: 'spanning trees of K5', dist: spanningTree(rng(3).normal([10]), completeGraph(5)), f: nonlinear(10, 4) },
];

const charts: string[] = [];
for (const { name, dist, f } of problems) {
  const exactGradient = exactGradientOf(dist, f);
  const problem = { dist, f, exactGradient };
  console.log(`\n${name}: ${samples} samples per estimator, ‖∇θ E[f]‖ = ${Math.sqrt(sum(square(exactGradient.logits)).item()).toFixed(4)}`);
  const [structure, noise] = compare([reinforceStructureLoo, reinforceNoiseLoo], problem, { samples, seed: 5 });
  console.log(`  reference variances (per sample): REINFORCE-X (RLOO) ${structure.variance.value.toPrecision(3)}, REINFORCE-U (RLOO) ${noise.variance.value.toPrecision(3)}`);
  console.log('       t   SST |bias|   SST variance   ST-SST |bias|   ST-SST variance   noise floor');
  const rows: { t: number; sst: { bias: number; variance: number; lo: number; hi: number }; st: { bias: number; variance: number; lo: number; hi: number } }[] = [];
  for (const t of temperatures) {
    const [s, st] = compare([sstEstimator({ temperature: t }), sstEstimator({ temperature: t, straightThrough: true })], problem, { samples, seed: 6 });
    rows.push({
      t,
      sst: { bias: s.biasNorm, variance: s.variance.value, lo: s.variance.lower, hi: s.variance.upper },
      st: { bias: st.biasNorm, variance: st.variance.value, lo: st.variance.lower, hi: st.variance.upper },
    });
    const floor = Math.sqrt(s.variance.value / samples);
    console.log(
      `${t.toFixed(2).padStart(8)}   ${s.biasNorm.toExponential(2).padStart(10)}   ${s.variance.value.toExponential(2).padStart(12)}` +
        `   ${st.biasNorm.toExponential(2).padStart(13)}   ${st.variance.value.toExponential(2).padStart(15)}   ${floor.toExponential(2).padStart(11)}`,
    );
  }
  const ts = rows.map((r) => r.t);
  charts.push(
    lineChart({
      title: `${name}: |bias| against t`,
      xLabel: 'temperature t',
      yLabel: '‖E[ĝ] − ∇θ E[f]‖',
      xScale: 'log',
      yScale: 'log',
      series: [
        { name: 'SST', x: ts, y: rows.map((r) => r.sst.bias), style: 'line+points' },
        { name: 'ST-SST', x: ts, y: rows.map((r) => r.st.bias), style: 'line+points' },
        { name: 'SST noise floor √(Var/N)', x: ts, y: rows.map((r) => Math.sqrt(r.sst.variance / samples)), style: 'line' },
      ],
    }),
    lineChart({
      title: `${name}: variance against t`,
      xLabel: 'temperature t',
      yLabel: 'Σ Var[ĝ] per sample',
      xScale: 'log',
      yScale: 'log',
      series: [
        { name: 'SST', x: ts, y: rows.map((r) => r.sst.variance), lower: rows.map((r) => r.sst.lo), upper: rows.map((r) => r.sst.hi), style: 'line+points' },
        { name: 'ST-SST', x: ts, y: rows.map((r) => r.st.variance), lower: rows.map((r) => r.st.lo), upper: rows.map((r) => r.st.hi), style: 'line+points' },
      ],
      reference: [
        { value: structure.variance.value, label: 'REINFORCE-X (RLOO)' },
        { value: noise.variance.value, label: 'REINFORCE-U (RLOO)' },
      ],
    }),
  );
}

// Four 640 × 400 charts on a 2 × 2 grid.
const grid = [
  '<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="800" viewBox="0 0 1280 800">',
  ...charts.map((svg, i) => `<g transform="translate(${(i % 2) * 640},${Math.floor(i / 2) * 400})">${svg}</g>`),
  '</svg>',
].join('\n');
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/sst-temperature.svg', grid);
console.log('\nwrote report/examples/sst-temperature.svg');
