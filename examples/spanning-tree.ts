// Recovering a hidden tree from its path lengths, with stochastic softmax
// tricks versus REINFORCE (Paulus et al. 2020, "Gradient estimation with
// stochastic softmax tricks").
//
// A hidden spanning tree T* of the complete graph on 6 nodes is known only
// through the number of hops d*_ij between every pair of nodes. We learn edge
// logits θ (15 of them) so that the random tree
//
//   X = the maximum spanning tree of θ + G,  G iid standard Gumbel (Kruskal),
//
// has the right path lengths. A tree's path lengths are its effective
// resistances with unit edge weights, R_ij(x) = (1_i − 1_j)ᵀ L(x)⁺ (1_i − 1_j),
// which also make sense for any positive edge weights x, so the loss
//
//   f(x) = mean over pairs i < j of (R_ij(x) − d*_ij)²,   L(θ) = E[f(X)],
//
// is defined on the relaxed trees X_t of the SST too (through the engine's
// matrix inverse). Four estimators train θ with Adam, 8 samples per step:
//   SST            ∇θ f(X_t), X_t the edge marginals of the Gibbs distribution over trees at (θ + G)/t
//   ST-SST         f at the hard X, backward through X_t
//   REINFORCE-X    score function on X itself (its exact law, the greedy DP), leave-one-out baseline
//   REINFORCE-U    score function on the perturbed utilities U = θ + G, leave-one-out baseline
// and every few steps the exact loss E[f(X)] and P(X = T*) are computed by
// enumerating all 6⁴ = 1296 spanning trees with their exact probabilities.
//
// Run: npx tsx examples/spanning-tree.ts   (MCGRAD_QUICK=1 for a short run)

import { mkdirSync, writeFileSync } from 'node:fs';
import {
  Tensor, zeros, tensor, rng, grad, adam, sub, mul, add, sum, square, reshape, inverse, exp, lineChart,
  completeGraph, kruskal, enumerateSpanningTrees, spanningTreeExpectation, spanningTreeLogProb, reducedLaplacian,
  spanningTree, sstEstimator, reinforceStructureLoo, reinforceNoiseLoo, type Estimator, type SstDist,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const steps = quick ? 40 : 400;
const every = quick ? 10 : 20;
const samples = 8;
const V = 6;
const g = completeGraph(V);
const E = g.edges.length;

// ---- the hidden tree and its path lengths
const hidden = kruskal(g, rng(2024).normal([E])); // [E], a uniformly random-ish tree
const hops = pathLengths(Array.from(hidden.data));
console.log(`hidden tree: ${g.edges.filter((_, e) => hidden.data[e] === 1).map(([u, v]) => `${u}–${v}`).join(' ')}`);

/** d*[i][j]: hops between i and j along the tree with edge indicators x. */
function pathLengths(x: number[]): number[][] {
  const d = Array.from({ length: V }, () => new Array<number>(V).fill(Infinity));
  for (let s = 0; s < V; s++) {
    d[s][s] = 0;
    const queue = [s];
    for (let q = 0; q < queue.length; q++) {
      const a = queue[q];
      g.edges.forEach(([u, v], e) => {
        if (x[e] !== 1) return;
        const b = u === a ? v : v === a ? u : -1;
        if (b >= 0 && d[s][b] === Infinity) {
          d[s][b] = d[s][a] + 1;
          queue.push(b);
        }
      });
    }
  }
  return d;
}

// ---- the loss on trees and on relaxed trees: mean squared error of the resistance distances
// With node 0 as the root, W = L̂⁻¹ gives R_0j = W_jj and R_ij = W_ii + W_jj − 2W_ij.
const m = V - 1;
const rootTargets = tensor(hops[0].slice(1)); // d*_0j, j = 1 … V − 1: [m]
const pairMask = tensor(Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i < j ? 1 : 0)))); // [m, m]
const pairTargets = tensor(Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => hops[i + 1][j + 1]))); // [m, m]
const eye = tensor(Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 1 : 0))));
const pairs = (V * (V - 1)) / 2;

function f(x: Tensor): Tensor {
  const n = x.shape[0];
  const W = inverse(reducedLaplacian(g, x)); // [n, m, m]
  const diag = sum(mul(W, eye), 2); // [n, m]: W_jj
  const R = sub(add(reshape(diag, [n, m, 1]), reshape(diag, [n, 1, m])), mul(W, 2)); // [n, m, m]
  const fromRoot = sum(square(sub(diag, rootTargets)), 1); // [n]
  const between = sum(mul(square(sub(R, pairTargets)), pairMask), [1, 2]); // [n]
  return mul(add(fromRoot, between), 1 / pairs);
}

// ---- exact ground truth by enumeration
const trees = enumerateSpanningTrees(g); // [1296, 15]
const hiddenRow = tensor([Array.from(hidden.data)]);
const exactLoss = (theta: Tensor): number => spanningTreeExpectation(g, theta, f, trees).item();
const probHidden = (theta: Tensor): number => exp(spanningTreeLogProb(g, theta, hiddenRow)).item();

// ---- training
const estimators: [string, Estimator<undefined, SstDist>][] = [
  ['SST (t = 0.5)', sstEstimator({ temperature: 0.5 })],
  ['ST-SST (t = 0.5)', sstEstimator({ temperature: 0.5, straightThrough: true })],
  ['REINFORCE-X (RLOO)', reinforceStructureLoo],
  ['REINFORCE-U (RLOO)', reinforceNoiseLoo],
];

const curves: { name: string; step: number[]; loss: number[]; prob: number[] }[] = [];
for (const [name, estimator] of estimators) {
  console.log(`\n${name}: ${steps} steps of ${samples} samples, Adam (lr 0.1)`);
  console.log('   step   exact E[f(X)]   P(X = hidden tree)');
  const r = rng(7);
  let theta = zeros([E]);
  const opt = adam({ lr: 0.1 });
  let state = opt.init(theta);
  const curve = { name, step: [] as number[], loss: [] as number[], prob: [] as number[] };
  for (let step = 0; step <= steps; step++) {
    if (step % every === 0) {
      const loss = exactLoss(theta);
      const prob = probHidden(theta);
      curve.step.push(step);
      curve.loss.push(loss);
      curve.prob.push(prob);
      if (step % (every * (quick ? 1 : 5)) === 0 || step === steps) {
        console.log(`${String(step).padStart(7)}   ${loss.toFixed(5).padStart(13)}   ${prob.toFixed(4).padStart(18)}`);
      }
    }
    if (step === steps) break;
    const gTheta = grad((t: Tensor) => estimator.surrogate(spanningTree(t, g), f, r, { n: samples }).surrogate)(theta);
    ({ params: theta, state } = opt.step(theta, gTheta, state));
  }
  curves.push(curve);
}

console.log('\nfinal exact loss and P(X = hidden tree):');
for (const c of curves) {
  console.log(`  ${c.name.padEnd(20)} ${c.loss[c.loss.length - 1].toFixed(5).padStart(9)}   ${c.prob[c.prob.length - 1].toFixed(4)}`);
}

// ---- the learning curves
const svg = lineChart({
  title: 'Recovering a hidden spanning tree (K6): exact E[f(X)] during training',
  xLabel: 'step (8 samples each)',
  yLabel: 'E[f(X)], mean squared path-length error',
  yScale: 'log',
  series: curves.map((c) => ({ name: c.name, x: c.step, y: c.loss })),
});
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/spanning-tree.svg', svg);
console.log('\nwrote report/examples/spanning-tree.svg');
