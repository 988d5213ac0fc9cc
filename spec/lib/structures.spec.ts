// k-subsets, spanning trees and arborescences against brute force: enumeration and validity,
// the hard argmax, Gibbs log-partitions and marginals (the log-space DP over
// elementary symmetric polynomials, the matrix-tree theorem) against sums over
// every structure, Kirchhoff's count, derivatives to order 2, and the exact
// law of the Gumbel-perturbed greedy argmax against sampling.
//
// False-positive budget: the two goodness-of-fit tests that must pass run at
// α = 1e-4 each (the deterministic checks cannot fail by chance), so the file
// fails by chance with probability below 2e-4. Each test is paired with a
// plausible wrong law (the Gibbs distribution exp(θᵀx)/Z, which the
// relaxation uses but the argmax does not follow) that the same test, on the
// same samples, must reject.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, tensor, rng, exp, add, mul, sum, reshape, matmul, logsumexp, logSoftmax, softmax, grad, chiSquareTest } from '../../index.ts';
import {
  topKMask, logElementarySymmetric, subsetLogPartition, subsetMarginals, subsetLogProb, subsetExpectation, checkSubsets,
  graph, completeGraph, laplacian, reducedLaplacian, spanningTreeCount, kruskal, isSpanningTree, enumerateSpanningTrees,
  spanningTreeLogPartition, spanningTreeMarginals, spanningTreeLogProb, spanningTreeExpectation, type Graph,
  digraph, completeDigraph, isArborescence, enumerateArborescences, arborescenceCount, reducedInLaplacian,
  arborescenceLogPartition, arborescenceMarginals, maxArborescence, type Digraph, type TreePartitionMethod,
} from '../../lib/structures.ts';
import { enumerateSubsets, binomial, Refusal } from '../../lib/exact.ts';
import { checkGrads } from '../harness/checkGrads.ts';

const ALPHA = 1e-4;

/** Scores of every row of a support [M, d] under w [d]: [M]. */
function scoresOf(support: Tensor, w: Tensor): Tensor {
  return reshape(matmul(support, reshape(w, [w.size, 1])), [support.shape[0]]);
}

/** Gibbs marginals Σ_x p(x) x with p(x) ∝ exp(wᵀx), by brute force over the support. */
function bruteMarginals(support: Tensor, w: Tensor): Float64Array {
  const p = softmax(scoresOf(support, w), 0);
  return reshape(matmul(reshape(p, [1, support.shape[0]]), support), [w.size]).data;
}

function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: lengths`);
  for (let i = 0; i < actual.length; i++) {
    const ok = Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i]));
    assert.ok(ok, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

/**
 * Large-scale weights (|w| up to hundreds: w = U/t at small t), one row at a time: the default
 * elimination must equal brute force over every structure; method 'logdet' must either equal it
 * too, to the 1e-8 it promises, or throw a RangeError that names `op` and points to 'elimination'
 * (never a wrong value, never the engine's bare logdet error). Returns how many rows logdet refused.
 */
function logdetAgreesOrRefuses(
  op: string,
  support: Tensor,
  rows: Tensor,
  logPartition: (w: Tensor, method: TreePartitionMethod) => Tensor,
  marginals: (w: Tensor, method: TreePartitionMethod) => Tensor,
  what: string,
): number {
  const [m, d] = rows.shape;
  let refused = 0;
  for (let b = 0; b < m; b++) {
    const w = tensor(Array.from(rows.data.subarray(b * d, (b + 1) * d)));
    const logZ = logsumexp(scoresOf(support, w), 0).item();
    const mu = bruteMarginals(support, w);
    assertAllClose([logPartition(w, 'elimination').item()], [logZ], 1e-12, `${what} row ${b}: elimination log Z`);
    assertAllClose(marginals(w, 'elimination').data, mu, 1e-11, `${what} row ${b}: elimination μ`);
    let byLogdet: [number, Float64Array];
    try {
      byLogdet = [logPartition(w, 'logdet').item(), marginals(w, 'logdet').data];
    } catch (e) {
      const message = (e as Error).message;
      assert.ok(e instanceof RangeError, `${what} row ${b}: logdet threw ${String(e)}`);
      assert.ok(message.startsWith(`${op}: method 'logdet' cannot be trusted`) && message.includes("use method 'elimination'"), `${what} row ${b}: unclear refusal: ${message}`);
      refused++;
      continue;
    }
    assertAllClose([byLogdet[0]], [logZ], 1e-8, `${what} row ${b}: logdet log Z (it did not refuse)`);
    assertAllClose(byLogdet[1], mu, 1e-8, `${what} row ${b}: logdet μ (it did not refuse)`);
  }
  return refused;
}

/**
 * logdetAgreesOrRefuses on 6 rows of scale·N(0, 1) weights per structure family [name, graph,
 * every structure] and scale, with the family's log Z and μ; asserts both branches are taken.
 */
function sweepLargeScales<G>(
  op: string,
  families: readonly (readonly [string, G, Tensor])[],
  logPartition: (g: G, w: Tensor, options: { method: TreePartitionMethod }) => Tensor,
  marginals: (g: G, w: Tensor, options: { method: TreePartitionMethod }) => Tensor,
  seed: number,
): void {
  const r = rng(seed);
  let refused = 0;
  let rows = 0;
  for (const [name, g, support] of families) {
    for (const scale of [10, 20, 50, 100, 300]) {
      const w = mul(r.normal([6, support.shape[1]]), scale);
      rows += 6;
      refused += logdetAgreesOrRefuses(
        op, support, w, (v, method) => logPartition(g, v, { method }), (v, method) => marginals(g, v, { method }), `${name} at scale ${scale}`,
      );
    }
  }
  // Many rows are refused (a test of the check, not only of the agreement), and many are not,
  // where the LU happens not to cancel (always on two nodes, whose L̂ is 1 × 1, and on a DAG,
  // whose L̂ is triangular, below the spread limit).
  assert.ok(refused >= rows / 4 && refused < rows, `logdet refused ${refused} of ${rows} rows`);
}

/** Row index of each sample in the support, by the rows' 0/1 patterns. */
function indexRows(support: Tensor, samples: Tensor): Int32Array {
  const d = support.shape[1];
  const key = (data: Float64Array, row: number): string => data.subarray(row * d, (row + 1) * d).join('');
  const map = new Map<string, number>();
  for (let s = 0; s < support.shape[0]; s++) map.set(key(support.data, s), s);
  const out = new Int32Array(samples.shape[0]);
  for (let i = 0; i < out.length; i++) {
    const at = map.get(key(samples.data, i));
    if (at === undefined) throw new Error(`sample ${i} is not in the support`);
    out[i] = at;
  }
  return out;
}

/** Pearson's test with cells of expected count below 5 pooled into one. */
function pooledChiSquare(counts: Float64Array, probabilities: ArrayLike<number>, total: number): number {
  const obs: number[] = [];
  const prob: number[] = [];
  let poolObs = 0;
  let poolProb = 0;
  for (let i = 0; i < counts.length; i++) {
    if (probabilities[i] * total < 5) {
      poolObs += counts[i];
      poolProb += probabilities[i];
    } else {
      obs.push(counts[i]);
      prob.push(probabilities[i]);
    }
  }
  if (poolProb > 0) {
    obs.push(poolObs);
    prob.push(poolProb);
  }
  const s = prob.reduce((a, b) => a + b, 0);
  return chiSquareTest(obs, prob.map((p) => p / s)).pValue;
}

// ---------------------------------------------------------------- k-subsets

const subsets = suite('structures: k-subsets');

subsets('enumerated k-subsets of n ≤ 10 are valid and distinct, C(n, k) of them', () => {
  for (let n = 1; n <= 10; n++) {
    for (let k = 1; k <= n; k++) {
      const S = enumerateSubsets(n, k);
      assert.is(S.shape[0], binomial(n, k));
      checkSubsets('test', S, k); // throws unless every row is 0/1 with k ones
      assert.is(new Set(Array.from({ length: S.shape[0] }, (_, i) => S.data.subarray(i * n, (i + 1) * n).join(''))).size, S.shape[0]);
    }
  }
});

subsets('topKMask is the argmax of uᵀx over every k-subset', () => {
  const r = rng(1);
  for (const [n, k] of [[5, 2], [8, 3], [10, 5], [6, 6], [4, 1]]) {
    const S = enumerateSubsets(n, k);
    const u = r.normal([20, n]);
    const X = topKMask(u, k);
    for (let i = 0; i < 20; i++) {
      const ui = reshape(tensor(Array.from(u.data.subarray(i * n, (i + 1) * n))), [n]);
      const best = scoresOf(S, ui).data.reduce((b, v, s, a) => (v > a[b] ? s : b), 0);
      assert.equal(Array.from(X.data.subarray(i * n, (i + 1) * n)), Array.from(S.data.subarray(best * n, (best + 1) * n)), `n=${n} k=${k} row ${i}`);
    }
  }
});

subsets('log e_j by the DP equals the brute-force sum over j-subsets, every j ≤ k, n ≤ 10', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
      const w = rng(seed).normal([n]);
      const k = 1 + (seed % n);
      const e = logElementarySymmetric(w, k).data;
      assert.is(e.length, k + 1);
      assert.is(e[0], 0);
      for (let j = 1; j <= k; j++) {
        const brute = logsumexp(scoresOf(enumerateSubsets(n, j), w), 0).item();
        // Both are sums of at most C(10,5) = 252 positive terms in log space: agreement to ~1e-14 relative.
        assertAllClose([e[j]], [brute], 1e-12, `log e_${j}, n=${n}`);
      }
    }),
    { seed: 6, numRuns: 40 },
  );
});

subsets('Gibbs marginals by the DP equal brute force, sum to k, and batch row by row', () => {
  const r = rng(2);
  for (const [n, k] of [[4, 2], [7, 3], [10, 4], [10, 9], [3, 1]]) {
    const w = r.normal([3, n]);
    const mu = subsetMarginals(w, k);
    assert.equal(mu.shape, [3, n]);
    for (let b = 0; b < 3; b++) {
      const wb = tensor(Array.from(w.data.subarray(b * n, (b + 1) * n)));
      const row = mu.data.subarray(b * n, (b + 1) * n);
      assertAllClose(row, bruteMarginals(enumerateSubsets(n, k), wb), 1e-12, `μ n=${n} k=${k} row ${b}`);
      assertAllClose([row.reduce((a, v) => a + v, 0)], [k], 1e-12, 'Σμ');
    }
  }
  // k = 1 is the softmax.
  const w = r.normal([6]);
  assertAllClose(subsetMarginals(w, 1).data, softmax(w).data, 1e-14, 'k=1 softmax');
});

subsets('the DP stays finite and exact at extreme weights (a low temperature)', () => {
  // w = U/t with t = 1e-3: entries in the hundreds; the marginals are the hard top-k to rounding.
  const u = tensor([0.3, -1.2, 0.9, 0.1, 2.0, -0.4]);
  const w = mul(u, 1000);
  const mu = subsetMarginals(w, 3);
  assertAllClose(mu.data, topKMask(u, 3).data, 1e-12, 'μ at t = 1e-3');
  assert.ok(Number.isFinite(subsetLogPartition(w, 3).item()));
  const H = grad((v: Tensor) => sum(mul(subsetMarginals(v, 3), tensor([1, 2, 3, 4, 5, 6]))))(w);
  assert.ok(Array.from(H.data).every(Number.isFinite), 'second derivative finite');
});

subsets('log-partition and marginals pass checkGrads at order 2', () => {
  const r = rng(3);
  const w = r.normal([2, 6]);
  checkGrads((v) => subsetLogPartition(v, 3), [w], { order: 2 });
  checkGrads((v) => subsetMarginals(v, 2), [w], { order: 2 });
});

subsets('errors name the function and the values', () => {
  assert.throws(() => topKMask(tensor([1, 2, 3]), 4), /topKMask: k must be an integer from 1 to 3.*got 4/);
  assert.throws(() => logElementarySymmetric(tensor([1, 2]), 0), /logElementarySymmetric: k must be/);
  assert.throws(() => subsetLogProb(tensor([0, 0, 0]), tensor([[1, 1, 0], [1, 0, 0]]), 2), /subsetLogProb: row 1 has 1 ones, but a k-subset has k = 2/);
  assert.throws(() => subsetLogProb(tensor([0, 0, 0]), tensor([[1, 0.5, 0]]), 2), /subsetLogProb: a subset must hold 0s and 1s, got 0.5/);
  assert.throws(() => subsetLogProb(tensor([0, 0]), tensor([[1, 0, 0]]), 1), /subsetLogProb: x must have shape \[m, 2\]/);
});

subsets.run();

// ---------------------------------------------------------------- graphs and spanning trees

const trees = suite('structures: spanning trees');

const GRAPHS: [string, Graph, number][] = [
  // name, graph, known number of spanning trees
  ['K3', completeGraph(3), 3],
  ['K4', completeGraph(4), 16], // Cayley: n^(n−2)
  ['K5', completeGraph(5), 125],
  ['K6', completeGraph(6), 1296],
  ['C5 (cycle)', graph(5, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]]), 5],
  ['K2,3', graph(5, [[0, 2], [0, 3], [0, 4], [1, 2], [1, 3], [1, 4]]), 12], // m^(n−1) n^(m−1) = 2²·3
  ['path P4', graph(4, [[0, 1], [1, 2], [2, 3]]), 1],
  ['4-wheel', graph(5, [[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]]), 45],
  ['2 nodes, 3 parallel edges', graph(2, [[0, 1], [0, 1], [1, 0]]), 3],
];

trees('enumerated spanning trees (≤ 6 nodes) are valid, distinct, and as many as Kirchhoff and the known formulas say', () => {
  for (const [name, g, known] of GRAPHS) {
    const T = enumerateSpanningTrees(g);
    const E = g.edges.length;
    assert.is(T.shape[0], known, `${name}: enumerated`);
    assert.is(spanningTreeCount(g), known, `${name}: Kirchhoff`);
    for (let t = 0; t < T.shape[0]; t++) {
      const row = T.data.subarray(t * E, (t + 1) * E);
      assert.is(row.reduce((a, v) => a + v, 0), g.nodes - 1, `${name}: V − 1 edges`);
      assert.ok(isSpanningTree(g, row), `${name}: tree ${t} connected and acyclic`);
    }
    assert.is(new Set(Array.from({ length: T.shape[0] }, (_, t) => T.data.subarray(t * E, (t + 1) * E).join(''))).size, known);
  }
  // Non-trees are recognized: a cycle, too few edges, a non-0/1 entry.
  const k4 = completeGraph(4); // edges 01 02 03 12 13 23
  assert.not.ok(isSpanningTree(k4, [1, 1, 0, 1, 0, 0])); // 01 02 12: a triangle
  assert.not.ok(isSpanningTree(k4, [1, 1, 0, 0, 0, 0]));
  assert.not.ok(isSpanningTree(k4, [1, 1, 0.5, 0, 0, 1]));
  assert.ok(isSpanningTree(k4, [1, 1, 1, 0, 0, 0]));
});

trees('the Laplacian: rows sum to 0, and the reduced one drops the root', () => {
  const g = completeGraph(4);
  const w = rng(4).uniform([6]);
  const L = laplacian(g, w);
  for (let i = 0; i < 4; i++) assertAllClose([L.data.subarray(i * 4, i * 4 + 4).reduce((a, v) => a + v, 0)], [0], 1e-15, 'row sum');
  const R = reducedLaplacian(g, w, 2);
  const keep = [0, 1, 3];
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) assert.is(R.data[a * 3 + b], L.data[keep[a] * 4 + keep[b]]);
});

trees('kruskal is the argmax of uᵀx over every spanning tree', () => {
  const r = rng(5);
  for (const [name, g] of GRAPHS) {
    const T = enumerateSpanningTrees(g);
    const E = g.edges.length;
    const u = r.normal([10, E]);
    const X = kruskal(g, u);
    for (let i = 0; i < 10; i++) {
      const ui = tensor(Array.from(u.data.subarray(i * E, (i + 1) * E)));
      const best = scoresOf(T, ui).data.reduce((b, v, s, a) => (v > a[b] ? s : b), 0);
      assert.equal(Array.from(X.data.subarray(i * E, (i + 1) * E)), Array.from(T.data.subarray(best * E, (best + 1) * E)), `${name} row ${i}`);
    }
  }
});

trees('matrix-tree log-partition and marginals equal brute force over every tree, by elimination and by logdet', () => {
  const r = rng(6);
  for (const [name, g] of GRAPHS) {
    const T = enumerateSpanningTrees(g);
    const E = g.edges.length;
    const w = r.normal([2, E]);
    for (const method of ['elimination', 'logdet'] as const) {
      const logZ = spanningTreeLogPartition(g, w, { method });
      const mu = spanningTreeMarginals(g, w, { method });
      for (let b = 0; b < 2; b++) {
        const wb = tensor(Array.from(w.data.subarray(b * E, (b + 1) * E)));
        // ≤ 5 elimination steps or an LU of a ≤ 5×5 matrix, and sums of ≤ 1296 terms: errors ~1e-14.
        assertAllClose([logZ.data[b]], [logsumexp(scoresOf(T, wb), 0).item()], 1e-12, `${name} ${method} log Z`);
        assertAllClose(mu.data.subarray(b * E, (b + 1) * E), bruteMarginals(T, wb), 1e-11, `${name} ${method} μ`);
        assertAllClose([mu.data.subarray(b * E, (b + 1) * E).reduce((a, v) => a + v, 0)], [g.nodes - 1], 1e-12, 'Σμ = V − 1');
      }
    }
  }
  // Two nodes joined by parallel edges: the trees are single edges and μ is the softmax.
  const [, two] = GRAPHS[GRAPHS.length - 1];
  const w = tensor([0.3, -1, 2]);
  assertAllClose(spanningTreeMarginals(two, w).data, softmax(w).data, 1e-14, 'parallel edges');
});

trees('marginals at extreme weights: a bridge of tiny weight keeps μ = 1, and μ → the max spanning tree as t → 0', () => {
  // K4 plus a pendant node 4 hanging by one edge of weight −500 (a bridge).
  const g = graph(5, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [3, 4]]);
  const u = tensor([0.5, -0.3, 1.2, 0.8, -1.0, 0.1, -500]);
  assertAllClose([spanningTreeMarginals(g, u).data[6]], [1], 1e-12, 'bridge');
  // w = U/t with t = 1e-3: weights spread over 5e5. The competing trees are e^−200 or less behind,
  // so μ is the max spanning tree to rounding; the elimination has no cancellation and gets it.
  const hard = kruskal(g, u);
  const w = mul(u, 1000);
  assertAllClose(spanningTreeMarginals(g, w).data, hard.data, 1e-12, 'μ at t = 1e-3');
  // log Z → max_T wᵀx as t → 0 (here equal to rounding).
  assertAllClose([spanningTreeLogPartition(g, w).item()], [sum(mul(hard, w)).item()], 1e-14, 'log Z at t = 1e-3');
});

trees('at large weight scales logdet refuses, naming elimination, or agrees with brute force; it never returns a wrong value', () => {
  // Before the check, logdet's LU cancelled: of 200 draws at scale 50 on K4, 33 returned a wrong
  // value without a word (log Z off by up to 82, μ by up to 1) and 55 threw the engine's
  // "logdet: the determinant is negative … use slogdet", which does not say what went wrong.
  const families = GRAPHS.map(([name, g]) => [name, g, enumerateSpanningTrees(g)] as const);
  sweepLargeScales('spanningTreeLogPartition', families, spanningTreeLogPartition, spanningTreeMarginals, 30);
  // A pendant edge 720 below the others: e^(w − max w) is subnormal there. The old clip at −700
  // silently raised it to e^−700, and log Z came out 21 too high.
  const pendant = graph(5, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [3, 4]]);
  const low = tensor([[0.5, -0.3, 1.2, 0.8, -1.0, 0.1, -720]]);
  assert.is(logdetAgreesOrRefuses(
    'spanningTreeLogPartition', enumerateSpanningTrees(pendant), low,
    (v, method) => spanningTreeLogPartition(pendant, v, { method }),
    (v, method) => spanningTreeMarginals(pendant, v, { method }),
    'pendant edge at −720',
  ), 1);
  assert.throws(
    () => spanningTreeLogPartition(pendant, low, { method: 'logdet' }),
    /^spanningTreeLogPartition: method 'logdet' cannot be trusted: the weights of row 0 span 721\.2 \(over 708\), so e\^\(w − max w\) leaves the normal doubles; use method 'elimination'/,
  );
  // K4 whose nodes 1, 2, 3 hold together by weights 0 and reach the root 0 by weights −s: the
  // LU's last pivot is about 3e^−s, left after subtracting numbers near 2, so it cancels by e^s,
  // and K = Σ_p L_pp (L⁻¹)_pp ≈ 2e^s. The message says how far off log Z could be; a batch names the row.
  const K4 = completeGraph(4);
  const loose = (s: number): number[] => [-s, -s, -s, 0, 0, 0];
  const batch = tensor([[0.1, 0.2, -0.3, 0.4, 0.5, -0.6], loose(20)]);
  assert.throws(
    () => spanningTreeLogPartition(K4, batch, { method: 'logdet' }),
    (e: unknown) => e instanceof RangeError && e.message ===
      "spanningTreeLogPartition: method 'logdet' cannot be trusted: the reduced Laplacian for row 1 is too ill-conditioned for its LU: " +
      "K = Σ_p L_pp (L⁻¹)_pp = 9.70e+8 (over 1e+7), so log Z could be off by about 4e-7; use method 'elimination' (the default), " +
      'which has no cancellation at any spread of weights',
  );
  // At s = 40 every digit cancels: the determinant, or the inverse, comes out as noise.
  assert.throws(
    () => spanningTreeLogPartition(K4, tensor(loose(40)), { method: 'logdet' }),
    /^spanningTreeLogPartition: method 'logdet' cannot be trusted: (its LU of the reduced Laplacian for w cancelled every digit|the inverse of the reduced Laplacian for w came out as noise|the reduced Laplacian for w is too ill-conditioned)/,
  );
  // Below the limit it answers, to the accuracy promised; the elimination is exact throughout.
  const T4 = enumerateSpanningTrees(K4);
  for (const s of [5, 10, 14, 20, 40]) {
    const exact = logsumexp(scoresOf(T4, tensor(loose(s))), 0).item();
    assertAllClose([spanningTreeLogPartition(K4, tensor(loose(s))).item()], [exact], 1e-14, `elimination, s = ${s}`);
    if (s <= 14) assertAllClose([spanningTreeLogPartition(K4, tensor(loose(s)), { method: 'logdet' }).item()], [exact], 1e-8, `logdet, s = ${s}`);
  }
  assertAllClose(spanningTreeLogPartition(K4, batch).data, [0, 1].map((b) => logsumexp(scoresOf(T4, tensor(Array.from(batch.data.subarray(6 * b, 6 * b + 6)))), 0).item()), 1e-12, 'elimination on the batch');
});

trees('log-partition and marginals pass checkGrads at order 2 (both methods)', () => {
  const g = graph(5, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [3, 4], [2, 4], [0, 1]]); // with a parallel edge
  const w = rng(7).normal([2, 9]);
  for (const method of ['elimination', 'logdet'] as const) {
    checkGrads((v) => spanningTreeLogPartition(g, v, { method }), [w], { order: 2 });
    checkGrads((v) => spanningTreeMarginals(g, v, { method }), [w], { order: 2 });
  }
});

trees('graph errors name the function and the values', () => {
  assert.throws(() => graph(1, [[0, 0]]), /graph: nodes must be an integer ≥ 2, got 1/);
  assert.throws(() => graph(3, [[0, 1], [1, 3]]), /graph: edge 1 = \[1, 3\] has a node outside 0 … 2/);
  assert.throws(() => graph(3, [[0, 1], [2, 2]]), /graph: edge 1 = \[2, 2\] is a self-loop/);
  assert.throws(() => graph(4, [[0, 1], [2, 3]]), /graph: the graph has 2 connected components/);
  assert.throws(() => kruskal(completeGraph(3), tensor([1, 2])), /kruskal: scores of shape \[2\] must end in 3/);
  assert.throws(() => spanningTreeLogProb(completeGraph(3), tensor([0, 0, 0]), tensor([[1, 1, 1]])), /spanningTreeLogProb: row 0 is not a spanning tree/);
});

trees.run();

// ---------------------------------------------------------------- the law of the greedy argmax

const law = suite('structures: the exact law of X = argmax (θ + G)ᵀx');

/** Σ over the k! orderings of S of the Plackett–Luce probability, by brute force. */
function plackettLuceSum(logits: number[], S: number[]): number {
  const p = softmax(tensor(logits)).data;
  const orderings = (items: number[]): number[][] =>
    items.length <= 1 ? [items] : items.flatMap((x, i) => orderings([...items.slice(0, i), ...items.slice(i + 1)]).map((o) => [x, ...o]));
  let total = 0;
  for (const order of orderings(S)) {
    let prob = 1;
    let left = 1;
    for (const i of order) {
      prob *= p[i] / left;
      left -= p[i];
    }
    total += prob;
  }
  return total;
}

law('k-subsets: the DP equals the brute-force Plackett–Luce sum over orderings, and sums to 1', () => {
  const r = rng(8);
  for (const [n, k] of [[5, 2], [6, 3], [7, 4], [4, 4], [6, 1]]) {
    const logits = r.normal([n]);
    const S = enumerateSubsets(n, k);
    const logp = subsetLogProb(logits, S, k);
    for (let s = 0; s < S.shape[0]; s++) {
      const items = Array.from(S.data.subarray(s * n, (s + 1) * n)).flatMap((v, i) => (v ? [i] : []));
      assertAllClose([Math.exp(logp.data[s])], [plackettLuceSum(Array.from(logits.data), items)], 1e-12, `n=${n} k=${k} set ${s}`);
    }
    assertAllClose([sum(exp(logp)).item()], [1], 1e-13, `Σ P, n=${n} k=${k}`);
  }
  // k = 1 is the categorical.
  const logits = tensor([0.2, -1, 1.5, 0]);
  assertAllClose(subsetLogProb(logits, enumerateSubsets(4, 1), 1).data, logSoftmax(logits).data, 1e-14, 'k = 1');
});

law('trees: the DP sums to 1, matches the triangle in closed form and the one-edge categorical', () => {
  const r = rng(9);
  for (const [name, g] of GRAPHS) {
    const logp = spanningTreeLogProb(g, r.normal([g.edges.length]), enumerateSpanningTrees(g));
    assertAllClose([sum(exp(logp)).item()], [1], 1e-12, `${name}: Σ P`);
  }
  // Triangle, edges 01 02 12: the tree {01, 02} is the max iff edge 12 comes last in the race,
  // P = w₁w₂/W · (1/(w₂ + w₃) + 1/(w₁ + w₃)).
  const theta = [0.4, -0.7, 1.1];
  const [w1, w2, w3] = theta.map(Math.exp);
  const W = w1 + w2 + w3;
  const P = ((w1 * w2) / W) * (1 / (w2 + w3) + 1 / (w1 + w3));
  assertAllClose([Math.exp(spanningTreeLogProb(completeGraph(3), tensor(theta), tensor([[1, 1, 0]])).item())], [P], 1e-14, 'triangle');
  const [, two] = GRAPHS[GRAPHS.length - 1];
  const logits = tensor([0.3, -1, 2]);
  assertAllClose(spanningTreeLogProb(two, logits, enumerateSpanningTrees(two)).data, logSoftmax(logits).data, 1e-14, 'parallel edges');
});

law('Gumbel-top-k frequencies fit the exact law (χ², α = 1e-4); the Gibbs law is rejected', () => {
  const n = 6;
  const k = 3;
  const logits = tensor([1.0, 0.5, 0.0, -0.3, -0.8, 0.2]);
  const S = enumerateSubsets(n, k);
  const N = 100000; // expected counts ≥ 5 after pooling; power against the Gibbs law (a few % apart) is ≈ 1
  const X = topKMask(add(logits, rng(10).gumbel([N, n])), k);
  const counts = new Float64Array(S.shape[0]);
  for (const s of indexRows(S, X)) counts[s]++;
  const exact = exp(subsetLogProb(logits, S, k)).data;
  const gibbs = softmax(scoresOf(S, logits), 0).data;
  assert.ok(pooledChiSquare(counts, exact, N) > ALPHA, 'exact law rejected');
  assert.ok(pooledChiSquare(counts, gibbs, N) < ALPHA, 'the wrong (Gibbs) law was not rejected');
});

law('Kruskal on Gumbel-perturbed weights fits the exact law (χ², α = 1e-4); the Gibbs law is rejected', () => {
  const g = completeGraph(5);
  const theta = tensor([0.8, -0.2, 0.3, 0.0, 0.5, -0.6, 0.1, 0.4, -0.3, 0.2]);
  const T = enumerateSpanningTrees(g);
  const N = 100000;
  const X = kruskal(g, add(theta, rng(11).gumbel([N, 10])));
  const counts = new Float64Array(T.shape[0]);
  for (const t of indexRows(T, X)) counts[t]++;
  const exact = exp(spanningTreeLogProb(g, theta, T)).data;
  const gibbs = softmax(scoresOf(T, theta), 0).data;
  assert.ok(pooledChiSquare(counts, exact, N) > ALPHA, 'exact law rejected');
  assert.ok(pooledChiSquare(counts, gibbs, N) < ALPHA, 'the wrong (Gibbs) law was not rejected');
});

law('E[f(X)] is differentiable: checkGrads at order 2 on both families, and per-row logits', () => {
  const r = rng(12);
  const f = (x: Tensor): Tensor => sum(mul(x, tensor([1, -2, 0.5, 3, -1])), 1); // linear
  const q = (x: Tensor): Tensor => mul(sum(mul(x, tensor([1, -2, 0.5, 3, -1])), 1), sum(mul(x, tensor([0.3, 1, -1, 0, 2])), 1)); // quadratic
  checkGrads((l) => subsetExpectation(l, 2, q), [r.normal([5])], { order: 2 });
  const g = completeGraph(4);
  const h = (x: Tensor): Tensor => mul(sum(mul(x, tensor([1, -2, 0.5, 3, -1, 0.2])), 1), sum(mul(x, tensor([0.3, 1, -1, 0, 2, 1])), 1));
  checkGrads((w) => spanningTreeExpectation(g, w, h), [r.normal([6])], { order: 2 });
  // Per-row parameters [m, d] give each row its own law.
  const S = enumerateSubsets(5, 2);
  const l = r.normal([5]);
  const tiled = reshape(mul(reshape(l, [1, 5]), tensor(Array(S.shape[0]).fill([1, 1, 1, 1, 1]))), [S.shape[0], 5]);
  assertAllClose(subsetLogProb(tiled, S, 2).data, subsetLogProb(l, S, 2).data, 1e-15, 'tiled');
  // For linear f, E[f] = Σ_i c_i P(i ∈ S): the gradient of E[f] with c = e_i is ∂P(i ∈ S).
  assert.ok(Number.isFinite(subsetExpectation(l, 2, f).item()));
});

law.run();

// ---------------------------------------------------------------- arborescences

const arbs = suite('structures: arborescences (directed spanning trees)');

const DIGRAPHS: [string, Digraph, number][] = [
  // name, digraph, known number of arborescences
  ['complete, 4 nodes', completeDigraph(4), 16], // n^(n−2) rooted at a fixed node, as for Cayley
  ['complete, 5 nodes, root 2', completeDigraph(5, 2), 125],
  // Parents: 1 ← {0, 3, 2}, 2 ← {1, 0}, 3 ← {2, 1, 0}: 18 choices, less the cyclic ones
  // (1↔2: 3 choices for 3; 1↔3: 2 for 2; 1→2→3→1: 1), so 12.
  ['cycles with chords', digraph(4, [[0, 1], [1, 2], [2, 3], [3, 1], [0, 2], [2, 1], [1, 3], [0, 3], [3, 0]]), 12],
  // A DAG: every choice of one parent per node is an arborescence, 1 · 2 · 4 (node 3 has a parallel arc from 1).
  ['DAG with a parallel arc', digraph(4, [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3], [1, 3]]), 8],
];

arbs('enumerated arborescences are valid and as many as the directed matrix-tree theorem says', () => {
  for (const [name, d, known] of DIGRAPHS) {
    const T = enumerateArborescences(d);
    const A = d.arcs.length;
    assert.is(T.shape[0], known, `${name}: enumerated`);
    assert.is(arborescenceCount(d), known, `${name}: Tutte's count`);
    for (let t = 0; t < T.shape[0]; t++) {
      const row = T.data.subarray(t * A, (t + 1) * A);
      assert.ok(isArborescence(d, row), `${name}: row ${t}`);
      assert.is(row.reduce((a, v) => a + v, 0), d.nodes - 1);
    }
  }
  // Non-arborescences: a cycle, two parents, an arc into the root.
  const d = DIGRAPHS[2][1]; // arcs 01 12 23 31 02 21 13 03 30
  assert.not.ok(isArborescence(d, [0, 1, 1, 1, 0, 0, 0, 0, 0])); // 1→2→3→1, nothing from 0
  assert.not.ok(isArborescence(d, [1, 1, 0, 0, 1, 0, 0, 1, 0])); // node 2 with two parents
  assert.not.ok(isArborescence(d, [1, 1, 1, 0, 0, 0, 0, 0, 1])); // into the root
  assert.ok(isArborescence(d, [1, 1, 1, 0, 0, 0, 0, 0, 0]));
});

arbs('Chu–Liu/Edmonds is the argmax of uᵀx over every arborescence', () => {
  const r = rng(20);
  for (const [name, d] of DIGRAPHS) {
    const T = enumerateArborescences(d);
    const A = d.arcs.length;
    const u = r.normal([40, A]);
    const X = maxArborescence(d, u);
    for (let i = 0; i < 40; i++) {
      const ui = tensor(Array.from(u.data.subarray(i * A, (i + 1) * A)));
      const best = scoresOf(T, ui).data.reduce((b, v, s, a) => (v > a[b] ? s : b), 0);
      assert.equal(Array.from(X.data.subarray(i * A, (i + 1) * A)), Array.from(T.data.subarray(best * A, (best + 1) * A)), `${name} row ${i}`);
    }
  }
});

arbs('log-partition and arc marginals equal brute force, by elimination and by logdet; a DAG factorizes into softmaxes', () => {
  const r = rng(21);
  for (const [name, d] of DIGRAPHS) {
    const T = enumerateArborescences(d);
    const A = d.arcs.length;
    const w = r.normal([2, A]);
    for (const method of ['elimination', 'logdet'] as const) {
      const logZ = arborescenceLogPartition(d, w, { method });
      const mu = arborescenceMarginals(d, w, { method });
      for (let b = 0; b < 2; b++) {
        const wb = tensor(Array.from(w.data.subarray(b * A, (b + 1) * A)));
        assertAllClose([logZ.data[b]], [logsumexp(scoresOf(T, wb), 0).item()], 1e-12, `${name} ${method} log Z`);
        assertAllClose(mu.data.subarray(b * A, (b + 1) * A), bruteMarginals(T, wb), 1e-11, `${name} ${method} μ`);
      }
    }
  }
  // On a DAG the Gibbs distribution is a product over nodes: μ is the softmax of each node's incoming weights.
  const [, dag] = DIGRAPHS[3];
  const w = tensor([0.3, -0.2, 0.9, 0.1, -0.5, 0.7, 0.4]);
  const mu = arborescenceMarginals(dag, w).data;
  const groups = [[0], [1, 2], [3, 4, 5, 6]]; // the arcs into nodes 1, 2, 3
  for (const g of groups) {
    const p = softmax(tensor(g.map((a) => w.data[a]))).data;
    g.forEach((a, i) => assertAllClose([mu[a]], [p[i]], 1e-14, `DAG arc ${a}`));
  }
});

arbs('at extreme weights the marginals are the max arborescence; derivatives pass checkGrads at order 2', () => {
  const d = completeDigraph(4);
  const u = rng(22).normal([d.arcs.length]);
  const w = mul(u, 1000); // t = 1e-3
  assertAllClose(arborescenceMarginals(d, w).data, maxArborescence(d, u).data, 1e-12, 'μ at t = 1e-3');
  assertAllClose([arborescenceLogPartition(d, w).item()], [sum(mul(maxArborescence(d, u), w)).item()], 1e-14, 'log Z at t = 1e-3');
  const x = rng(23).normal([2, d.arcs.length]);
  for (const method of ['elimination', 'logdet'] as const) {
    checkGrads((v) => arborescenceLogPartition(d, v, { method }), [x], { order: 2 });
    checkGrads((v) => arborescenceMarginals(d, v, { method }), [x], { order: 2 });
  }
  // The reduced in-degree Laplacian: column v holds v's in-weight on the diagonal and −w(u→v) off it.
  const L = reducedInLaplacian(digraph(3, [[0, 1], [1, 2], [2, 1], [0, 2]]), tensor([1, 2, 3, 4])).toArray();
  assert.equal(L, [[1 + 3, -2], [-3, 2 + 4]]);
});

arbs('at large weight scales logdet refuses, naming elimination, or agrees with brute force; it never returns a wrong value', () => {
  const families = DIGRAPHS.map(([name, d]) => [name, d, enumerateArborescences(d)] as const);
  sweepLargeScales('arborescenceLogPartition', families, arborescenceLogPartition, arborescenceMarginals, 31);
});

arbs('digraph errors name the function and the values', () => {
  assert.throws(() => digraph(3, [[0, 1]]), /digraph: node 2 cannot be reached from the root 0/);
  assert.throws(() => digraph(3, [[0, 1], [1, 1]]), /digraph: arc 1 = \[1, 1\] is a self-loop/);
  assert.throws(() => digraph(3, [[0, 1], [1, 2]], 3), /digraph: root must be a node from 0 to 2, got 3/);
  assert.throws(() => maxArborescence(completeDigraph(3), tensor([1, 2])), /maxArborescence: scores of shape \[2\] must end in 4/);
});

arbs('enumerations over 2^22 candidates are refused with a Refusal (a RangeError), naming the count', () => {
  const refused = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: Error) => e instanceof Refusal && e instanceof RangeError && pattern.test(e.message));
  refused(() => enumerateSpanningTrees(completeGraph(12)), /^enumerateSpanningTrees: the graph has C\(66, 11\) = \d+ edge sets of size 11 to try, over the limit of 2\^22/);
  refused(() => enumerateArborescences(completeDigraph(12)), /^enumerateArborescences: \d+ choices of one incoming arc per node to try, over the limit of 2\^22/);
});

arbs.run();
