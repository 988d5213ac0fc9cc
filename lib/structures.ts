// Combinatorial structures as 0/1 indicator vectors: k-subsets of n items and
// spanning trees of an undirected graph, the structured families of the
// stochastic softmax tricks (Paulus, Choi, Tarlow, Krause & Maddison 2020).
// For each family 𝒳 ⊂ {0,1}^d this file has
//  - enumeration and validity checks (exact ground truth on small problems);
//  - the hard argmax X = argmax_{x∈𝒳} uᵀx: the top k entries, or the maximum
//    spanning tree by Kruskal's greedy algorithm;
//  - the Gibbs distribution p_w(x) ∝ exp(wᵀx) over 𝒳, its log-partition
//    log Z(w) and marginals μ(w) = ∇_w log Z(w), written with engine ops so
//    that μ is differentiable (to any order):
//      k-subsets       Z(w) = e_k(e^{w_1}, …, e^{w_n}), the elementary symmetric
//                      polynomial, by the DP  e_j(1..i) = e_j(1..i−1) + e^{w_i} e_{j−1}(1..i−1)
//                      in log space (every step a logsumexp, nothing overflows);
//      spanning trees  Z(w) = det L̂(e^w), Kirchhoff's matrix-tree theorem, with L̂ the
//                      weighted Laplacian without the root's row and column;
//  - the exact law of X = argmax_{x∈𝒳} (θ + G)ᵀx with G iid standard Gumbels,
//    which is *not* the Gibbs distribution (except for one-hot vectors), but
//    is tractable because both families are greedy on a matroid (below).
//
// The law of the greedy argmax. Read θ_e + G_e as an exponential race
// (Maddison 2016): T_e = exp(−θ_e − G_e) ∼ Exp(w_e), w_e = e^{θ_e}, and
// decreasing θ + G is increasing arrival time. Kruskal (or top-k) takes each
// arrival unless it closes a circuit with what was taken; its output is the
// basis B iff every e ∉ B arrives after all of C(e), the elements of B in e's
// fundamental circuit (the tree path between e's ends; all of B for k-subsets).
// Summing over the order π in which B's elements arrive, and using that the
// race is memoryless and that the arrivals of edges no longer constrained are
// irrelevant,
//
//   P(X = B) = Σ_π Π_{j=1}^{r} w_{π_j} / ( w(B ∖ A_j) + w({e ∉ B : C(e) ⊄ A_j}) ),   A_j = {π_1, …, π_{j−1}},
//
// a sum over orderings that depends on π only through the prefix sets A_j, so
// a dynamic program over the 2^r subsets of B computes it, in log space. For
// k-subsets the denominator is w(everything not in A_j) and this is the sum of
// Plackett–Luce probabilities of the k! orderings of B (Gumbel-top-k);
// for trees it is the chance that Kruskal on Gumbel-perturbed weights returns B.

import {
  Tensor,
  formatShape,
  add,
  sub,
  mul,
  neg,
  exp,
  max,
  sum,
  reshape,
  slice,
  concat,
  stack,
  take,
  gather,
  broadcastTo,
  logsumexp,
  matmul,
  slogdet,
  inverse,
  det,
  grad,
  stopGradient,
} from '../autodiff/index.ts';
import { binomial, enumerateSubsets, MAX_OUTCOMES, Refusal } from './exact.ts';

// ---------------------------------------------------------------- checks

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Tensor) return `a Tensor of shape ${formatShape(x.shape)}`;
  return typeof x;
}

function requireTensor(op: string, name: string, x: unknown, ranks: readonly number[]): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${describe(x)}; wrap numbers with tensor([...])`);
  if (!ranks.includes(x.rank)) {
    throw new RangeError(`${op}: ${name} must have rank ${ranks.join(' or ')}, got shape ${formatShape(x.shape)}`);
  }
}

function requireLength(op: string, name: string, x: Tensor, d: number, what: string): void {
  if (x.shape[x.rank - 1] !== d) {
    throw new RangeError(`${op}: ${name} of shape ${formatShape(x.shape)} must end in ${d} (${what})`);
  }
}

function requireK(op: string, k: unknown, n: number): asserts k is number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(`${op}: k must be an integer from 1 to ${n} (the number of items), got ${String(k)}`);
  }
}

/** Rows of a [d] or [m, d] tensor, as one flat [m·d] array and m. */
function rowsOf(x: Tensor): { data: Float64Array; m: number; d: number } {
  const d = x.shape[x.rank - 1];
  return { data: x.data, m: x.size / d, d };
}

// ---------------------------------------------------------------- k-subsets

/**
 * X = argmax over k-subsets of uᵀx: the k largest entries of each row of
 * `scores` [..., n], as a 0/1 tensor of the same shape (a constant). Ties,
 * which have probability 0 under continuous noise, go to the lower index.
 */
export function topKMask(scores: Tensor, k: number): Tensor {
  const op = 'topKMask';
  if (!(scores instanceof Tensor)) throw new TypeError(`${op}: scores must be a Tensor, got ${describe(scores)}`);
  if (scores.rank < 1) throw new RangeError(`${op}: scores need an item axis, got a scalar`);
  const n = scores.shape[scores.rank - 1];
  requireK(op, k, n);
  const z = scores.data;
  const out = new Float64Array(z.length);
  const order = new Int32Array(n);
  for (let base = 0; base < z.length; base += n) {
    for (let j = 0; j < n; j++) order[j] = j;
    // Partial selection sort: k passes, each moving the next largest forward.
    for (let r = 0; r < k; r++) {
      let best = r;
      for (let j = r + 1; j < n; j++) if (z[base + order[j]] > z[base + order[best]]) best = j;
      const t = order[r];
      order[r] = order[best];
      order[best] = t;
      out[base + order[r]] = 1;
    }
  }
  return new Tensor(out, scores.shape);
}

/**
 * log e_j(e^{w_1}, …, e^{w_n}) for j = 0, …, k along the last axis of w
 * [..., n]: shape [..., k + 1]. The elementary symmetric polynomial
 * e_j = Σ_{|S| = j} Π_{i∈S} e^{w_i} is the partition function of the Gibbs
 * distribution over j-subsets. Computed by the recursion
 * e_j(1..i) = e_j(1..i−1) + e^{w_i} e_{j−1}(1..i−1), each step a logsumexp of
 * two terms, keeping only the entries j ≤ min(i, k) that are nonzero, so no
 * −∞ enters and every derivative (of any order) is finite.
 */
export function logElementarySymmetric(w: Tensor, k: number): Tensor {
  const op = 'logElementarySymmetric';
  if (!(w instanceof Tensor)) throw new TypeError(`${op}: w must be a Tensor, got ${describe(w)}`);
  if (w.rank < 1) throw new RangeError(`${op}: w needs an item axis, got a scalar`);
  const n = w.shape[w.rank - 1];
  requireK(op, k, n);
  const item = (i: number): Tensor => slice(w, -1, i, i + 1); // [..., 1]
  const zero = new Tensor(new Float64Array(w.size / n), [...w.shape.slice(0, -1), 1]); // log e_0 = 0
  let e = concat([zero, item(0)], -1); // after item 0: j = 0, 1
  for (let i = 1; i < n; i++) {
    const width = e.shape[e.rank - 1]; // entries j = 0 … width − 1 are valid
    const wi = item(i);
    const parts = [zero];
    const upTo = Math.min(width, k + 1); // update j = 1 … upTo − 1
    if (upTo > 1) {
      const skip = slice(e, -1, 1, upTo); // e_j(1..i−1)
      const use = add(slice(e, -1, 0, upTo - 1), wi); // e^{w_i} e_{j−1}(1..i−1)
      parts.push(logsumexp(stack([skip, use], -1), -1));
    }
    if (width <= k) parts.push(add(slice(e, -1, width - 1, width), wi)); // the new top entry j = width
    e = concat(parts, -1);
  }
  return e;
}

/** log Z(w) = log e_k(e^w) of the Gibbs distribution p(x) ∝ exp(wᵀx) over k-subsets: w [..., n] → [...]. */
export function subsetLogPartition(w: Tensor, k: number): Tensor {
  const e = logElementarySymmetric(w, k);
  return reshape(slice(e, -1, k, k + 1), w.shape.slice(0, -1));
}

/**
 * The marginals μ_i = P(i ∈ S) of the Gibbs distribution p(S) ∝ exp(Σ_{i∈S} w_i)
 * over k-subsets, per row of w [..., n]: μ = ∇_w log e_k(e^w), Σ_i μ_i = k,
 * 0 < μ_i < 1. Differentiable in w to any order (the gradient of the DP is
 * taken with the engine, so its Jacobian is a gradient of a gradient).
 * With w = U/t this is the k-subset stochastic softmax trick's relaxation
 * X_t = argmax_{x∈conv 𝒳} Uᵀx − tΩ(x), Ω the exponential-family entropy.
 */
export function subsetMarginals(w: Tensor, k: number): Tensor {
  return grad((v: Tensor) => sum(subsetLogPartition(v, k)))(w);
}

/** Throws unless every row of x [..., n] is 0/1 with exactly k ones. */
export function checkSubsets(op: string, x: Tensor, k: number): void {
  const { data, m, d } = rowsOf(x);
  for (let row = 0; row < m; row++) {
    let ones = 0;
    for (let j = 0; j < d; j++) {
      const v = data[row * d + j];
      if (v !== 0 && v !== 1) throw new RangeError(`${op}: a subset must hold 0s and 1s, got ${v} at row ${row}, item ${j}`);
      ones += v;
    }
    if (ones !== k) throw new RangeError(`${op}: row ${row} has ${ones} ones, but a k-subset has k = ${k}`);
  }
}

// ---------------------------------------------------------------- graphs

/** An undirected graph on nodes 0 … nodes − 1; edge e joins edges[e][0] and edges[e][1]. Parallel edges are allowed. */
export interface Graph {
  readonly nodes: number;
  readonly edges: readonly (readonly [number, number])[];
}

/** Union-find with path halving: small, and enough for graphs of a few hundred nodes. */
class DisjointSets {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]];
      i = p[i];
    }
    return i;
  }
  /** Joins the sets of a and b; false when they were already one. */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    this.parent[ra] = rb;
    return true;
  }
}

/**
 * A connected undirected graph, checked: at least 2 nodes, every edge a pair
 * of distinct node indices in range. Parallel edges are allowed (2 nodes with
 * K parallel edges have K spanning trees of one edge each: a categorical).
 */
export function graph(nodes: number, edges: ReadonlyArray<readonly number[]>): Graph {
  const op = 'graph';
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 2) {
    throw new RangeError(`${op}: nodes must be an integer ≥ 2, got ${String(nodes)}`);
  }
  if (!Array.isArray(edges) || edges.length === 0) throw new RangeError(`${op}: edges must be a non-empty array of [u, v] pairs, got ${describe(edges)}`);
  const list: [number, number][] = edges.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 2) throw new RangeError(`${op}: edge ${i} must be a pair [u, v], got ${JSON.stringify(e)}`);
    const [u, v] = e;
    for (const x of [u, v]) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= nodes) {
        throw new RangeError(`${op}: edge ${i} = [${u}, ${v}] has a node outside 0 … ${nodes - 1}`);
      }
    }
    if (u === v) throw new RangeError(`${op}: edge ${i} = [${u}, ${v}] is a self-loop, which no spanning tree uses; remove it`);
    return [u, v];
  });
  const sets = new DisjointSets(nodes);
  let components = nodes;
  for (const [u, v] of list) if (sets.union(u, v)) components--;
  if (components !== 1) {
    throw new RangeError(`${op}: the graph has ${components} connected components, so it has no spanning tree; connect them`);
  }
  return { nodes, edges: list };
}

/** The complete graph on `nodes` nodes, edges (i, j) with i < j in lexicographic order: (0,1), (0,2), …, (1,2), … */
export function completeGraph(nodes: number): Graph {
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 2) {
    throw new RangeError(`completeGraph: nodes must be an integer ≥ 2, got ${String(nodes)}`);
  }
  const edges: [number, number][] = [];
  for (let i = 0; i < nodes; i++) for (let j = i + 1; j < nodes; j++) edges.push([i, j]);
  return graph(nodes, edges);
}

function requireGraph(op: string, g: unknown): asserts g is Graph {
  if (g === null || typeof g !== 'object' || !Array.isArray((g as Graph).edges) || typeof (g as Graph).nodes !== 'number') {
    throw new TypeError(`${op}: expected a graph from graph(nodes, edges), got ${describe(g)}`);
  }
}

/**
 * The weighted Laplacian L = Σ_e w_e (1_u − 1_v)(1_u − 1_v)ᵀ for edge weights
 * [E] or [m, E]: [V, V] or [m, V, V]. Linear in the weights (one matmul).
 */
export function laplacian(g: Graph, weights: Tensor): Tensor {
  return laplacianOf('laplacian', g, weights, -1);
}

/** The Laplacian without the root's row and column: [V − 1, V − 1] or [m, V − 1, V − 1]. */
export function reducedLaplacian(g: Graph, weights: Tensor, root = 0): Tensor {
  if (!Number.isInteger(root) || root < 0 || root >= g.nodes) {
    throw new RangeError(`reducedLaplacian: root must be a node index from 0 to ${g.nodes - 1}, got ${root}`);
  }
  return laplacianOf('reducedLaplacian', g, weights, root);
}

function laplacianOf(op: string, g: Graph, weights: Tensor, root: number): Tensor {
  requireGraph(op, g);
  requireTensor(op, 'weights', weights, [1, 2]);
  const E = g.edges.length;
  requireLength(op, 'weights', weights, E, `one weight per edge of the graph`);
  // Row e of M is the flattened (1_u − 1_v)(1_u − 1_v)ᵀ, minus the root's row and column.
  const index = (v: number): number => (root < 0 || v < root ? v : v === root ? -1 : v - 1);
  const size = root < 0 ? g.nodes : g.nodes - 1;
  const M = new Float64Array(E * size * size);
  g.edges.forEach(([u, v], e) => {
    const iu = index(u);
    const iv = index(v);
    const at = (a: number, b: number, s: number): void => {
      if (a >= 0 && b >= 0) M[e * size * size + a * size + b] += s;
    };
    at(iu, iu, 1);
    at(iv, iv, 1);
    at(iu, iv, -1);
    at(iv, iu, -1);
  });
  const m = weights.rank === 2 ? weights.shape[0] : 1;
  const flat = matmul(reshape(weights, [m, E]), new Tensor(M, [E, size * size]));
  return reshape(flat, weights.rank === 2 ? [m, size, size] : [size, size]);
}

/** Kirchhoff's count of spanning trees: det of the reduced Laplacian with unit weights (rounded; exact below 2^53). */
export function spanningTreeCount(g: Graph): number {
  requireGraph('spanningTreeCount', g);
  const ones = new Tensor(new Float64Array(g.edges.length).fill(1), [g.edges.length]);
  return Math.round(det(reducedLaplacian(g, ones)).item());
}

/**
 * X = argmax over spanning trees of uᵀx: the maximum spanning tree of each
 * row of `scores` [..., E] by Kruskal's algorithm (edges in decreasing order
 * of score, each kept unless it closes a cycle), as a 0/1 tensor of the same
 * shape (a constant). Ties, which have probability 0 under continuous
 * noise, go to the lower edge index.
 */
export function kruskal(g: Graph, scores: Tensor): Tensor {
  const op = 'kruskal';
  requireGraph(op, g);
  if (!(scores instanceof Tensor)) throw new TypeError(`${op}: scores must be a Tensor, got ${describe(scores)}`);
  if (scores.rank < 1) throw new RangeError(`${op}: scores need an edge axis, got a scalar`);
  const E = g.edges.length;
  requireLength(op, 'scores', scores, E, 'one score per edge');
  const z = scores.data;
  const out = new Float64Array(z.length);
  const order = Array.from({ length: E }, (_, e) => e);
  for (let base = 0; base < z.length; base += E) {
    order.sort((a, b) => z[base + b] - z[base + a] || a - b);
    const sets = new DisjointSets(g.nodes);
    let taken = 0;
    for (const e of order) {
      const [u, v] = g.edges[e];
      if (sets.union(u, v)) {
        out[base + e] = 1;
        if (++taken === g.nodes - 1) break;
      }
    }
  }
  return new Tensor(out, scores.shape);
}

/** True when the 0/1 vector `x` (length E) picks the edges of a spanning tree: V − 1 edges and no cycle. */
export function isSpanningTree(g: Graph, x: ArrayLike<number>): boolean {
  if (x.length !== g.edges.length) return false;
  const sets = new DisjointSets(g.nodes);
  let count = 0;
  for (let e = 0; e < x.length; e++) {
    if (x[e] === 0) continue;
    if (x[e] !== 1) return false;
    count++;
    if (!sets.union(g.edges[e][0], g.edges[e][1])) return false;
  }
  return count === g.nodes - 1;
}

/** Throws unless every row of x [..., E] is a spanning tree of g. */
export function checkSpanningTrees(op: string, g: Graph, x: Tensor): void {
  const { data, m, d } = rowsOf(x);
  for (let row = 0; row < m; row++) {
    const r = data.subarray(row * d, (row + 1) * d);
    if (!isSpanningTree(g, r)) {
      const picked = Array.from(r).flatMap((v, e) => (v === 0 ? [] : [`${v === 1 ? '' : `${v}×`}[${g.edges[e].join(',')}]`]));
      throw new RangeError(`${op}: row ${row} is not a spanning tree of the ${g.nodes}-node graph: it picks ${picked.join(' ') || 'no edges'}; a tree has ${g.nodes - 1} edges and no cycle`);
    }
  }
}

/**
 * Every spanning tree of g as 0/1 rows [T, E], in lexicographic order of
 * their sorted edge lists. Refuses graphs with more than 2^22 edge sets of
 * size V − 1 to try.
 */
export function enumerateSpanningTrees(g: Graph): Tensor {
  const op = 'enumerateSpanningTrees';
  requireGraph(op, g);
  const E = g.edges.length;
  const r = g.nodes - 1;
  const tries = binomial(E, r);
  if (tries > MAX_OUTCOMES) {
    throw new Refusal(`${op}: the graph has C(${E}, ${r}) = ${tries} edge sets of size ${r} to try, over the limit of 2^22; use a smaller graph`);
  }
  const rows: number[][] = [];
  const idx = Array.from({ length: r }, (_, i) => i);
  for (;;) {
    const sets = new DisjointSets(g.nodes);
    if (idx.every((e) => sets.union(g.edges[e][0], g.edges[e][1]))) rows.push(idx.slice());
    let t = r - 1;
    while (t >= 0 && idx[t] === E - r + t) t--;
    if (t < 0) break;
    idx[t]++;
    for (let s = t + 1; s < r; s++) idx[s] = idx[s - 1] + 1;
  }
  const data = new Float64Array(rows.length * E);
  rows.forEach((row, i) => row.forEach((e) => (data[i * E + e] = 1)));
  return new Tensor(data, [rows.length, E]);
}

/** How log det L̂ is computed: see spanningTreeLogPartition. */
export type TreePartitionMethod = 'elimination' | 'logdet';

export interface TreePartitionOptions {
  /** 'elimination' (default, exact at any temperature) or 'logdet' (the engine's LU). */
  method?: TreePartitionMethod;
}

// Below the smallest real log-weight by this much, a node pair with no edge
// gets a stand-in edge in the elimination, so that every entry stays finite
// (and every derivative too). A tree through a stand-in edge weighs at most
// e^−1000 times some tree without it (swap the stand-in for a real edge that
// reconnects the two sides), so log Z moves by at most (number of trees)·e^−1000.
const ABSENT_EDGE_GAP = 1000;

// When the 'logdet' method can be trusted. It factors L̂ = L̂(e^{w − max w})
// by the engine's LU. Both Laplacians here (undirected, and the in-degree one
// of arborescences) are M-matrices whose columns are diagonally dominant:
// partial pivoting keeps the diagonal, every Schur complement is again such a
// Laplacian (of the graph with nodes eliminated), and L̂⁻¹ ≥ 0 entrywise. Each
// step of the LU rounds each entry S_ij of the current Schur complement S by
// about ε|S_ij| (ε = 2^−52), which moves log det by (S⁻¹)_ji times that, and
// S⁻¹ is the trailing block of L̂⁻¹. With |S| = 2 diag(S) − S and
// diag(S) ≤ diag(L̂), one step moves log Z by at most about
// ε tr(|S| S⁻¹) ≤ 2ε·K, where
//   K = Σ_p L̂_pp (L̂⁻¹)_pp ≥ n
// (for an undirected graph, degree times effective resistance to the root,
// summed over the nodes). So log Z is off by at most about 2n·ε·K to first
// order, and K is large whenever the LU cancels: a pivot that comes out c
// times smaller than its diagonal entry has a term L̂_pp (L̂⁻¹)_pp ≥ c.
// Measured (K3–K6, K12, a 20- and a 50-cycle, a 6×6 grid, directed K3–K5 and
// a DAG, weights 0.25–75 × N(0, 1), 5234 cases with K < 1e11): log Z and μ
// within 1.7ε·K once K ≥ 100, within 1.1e-13 below. We throw above K = 1e7,
// where that is 4e−9: what logdet returns is within 1e-8. The elimination has
// no such limit. K costs one inverse of L̂, the same order of work as the LU.
const MAX_LOGDET_CONDITION = 1e7;
// And a weight more than ln(2^−1022) ≈ −708.4 below the largest makes
// e^{w − max w} subnormal, with fewer than 53 bits (none at all below −745):
// an edge that every tree needs would be wrong with K small, so such a
// spread is refused too.
const MAX_LOGDET_SPREAD = 708;

/**
 * log Z(w) = log Σ_T exp(Σ_{e∈T} w_e) = log det L̂(e^w) over the spanning
 * trees of g (Kirchhoff's matrix-tree theorem), for w [E] or [m, E]: [] or [m].
 *
 * method 'elimination' (default): Gaussian elimination of L̂ node by node,
 * written on edge weights in log space. Eliminating node p from a Laplacian
 * leaves the Laplacian of the remaining nodes with weights
 * w'_ij = w_ij + w_ip w_jp / d_p, d_p = Σ_k w_pk (a Schur complement; Kron
 * reduction), and det L̂ is the product of the pivots d_p of the non-root
 * nodes. Every step adds positive numbers, so there is no cancellation and
 * log Z and its derivatives are accurate to rounding for any spread of
 * weights (as w = U/t has when t → 0); the same trick as the GTH algorithm
 * for Markov chains (Grassmann, Taksar & Heyman 1985).
 *
 * method 'logdet': log det L̂(e^{w − c}) + (V − 1)c with c = max w, by the
 * engine's LU with partial pivoting. Equal to rounding for moderate weights;
 * for weights spread widely (w = U/t at small t) the subtractions of the LU
 * cancel, so it measures the cancellation (MAX_LOGDET_CONDITION above) and
 * throws a RangeError, pointing to 'elimination', whenever log Z or μ could
 * be off by more than about 1e-8. It never falls back silently: the default
 * is already 'elimination'.
 */
export function spanningTreeLogPartition(g: Graph, w: Tensor, options: TreePartitionOptions = {}): Tensor {
  const op = 'spanningTreeLogPartition';
  requireGraph(op, g);
  requireTensor(op, 'w', w, [1, 2]);
  const E = g.edges.length;
  requireLength(op, 'w', w, E, 'one weight per edge');
  const method = options.method ?? 'elimination';
  const batch = w.rank === 2 ? [w.shape[0]] : [];
  if (method === 'logdet') return trustedLogdetPartition(op, w, (weights) => reducedLaplacian(g, weights));
  if (method !== 'elimination') throw new RangeError(`${op}: method must be 'elimination' or 'logdet', got ${JSON.stringify(method)}`);
  const m = w.rank === 2 ? w.shape[0] : 1;
  const V = g.nodes;
  let A = pairLogWeights(g, reshape(w, [m, E])); // [m, V, V]: log of the total weight between each pair
  let logZ: Tensor | undefined;
  // Eliminate nodes V − 1, …, 1; node 0 is the root.
  for (let p = V - 1; p >= 1; p--) {
    const row = reshape(slice(slice(A, 1, p, p + 1), 2, 0, p), [m, p]); // log w_pk, k < p
    const logPivot = logsumexp(row, 1); // log d_p: [m]
    logZ = logZ === undefined ? logPivot : add(logZ, logPivot);
    if (p === 1) break;
    const rest = slice(slice(A, 1, 0, p), 2, 0, p); // [m, p, p]
    const through = sub(add(reshape(row, [m, p, 1]), reshape(row, [m, 1, p])), reshape(logPivot, [m, 1, 1])); // log w_ip w_pj / d_p
    A = logsumexp(stack([rest, through], -1), -1);
  }
  return reshape(logZ as Tensor, batch);
}

/**
 * log det L̂(e^{w − c}) + n·c with c = max w per row (L̂ being n × n), for w [E]
 * or [m, E]: [] or [m]; throws unless the LU's result can be trusted (see
 * MAX_LOGDET_CONDITION). `laplacianOf` builds L̂ from the weights e^{w − c}.
 */
function trustedLogdetPartition(op: string, w: Tensor, laplacianOf: (weights: Tensor) => Tensor): Tensor {
  const { data, m, d } = rowsOf(w);
  const row = (t: number): string => (w.rank === 2 ? `row ${t}` : 'w');
  const refuse = (why: string): never => {
    throw new RangeError(`${op}: method 'logdet' cannot be trusted: ${why}; use method 'elimination' (the default), which has no cancellation at any spread of weights`);
  };
  for (let t = 0; t < m; t++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let e = 0; e < d; e++) {
      const v = data[t * d + e];
      if (!Number.isFinite(v)) refuse(`${row(t)} holds ${v}`);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (hi - lo > MAX_LOGDET_SPREAD) {
      refuse(`the weights of ${row(t)} span ${(hi - lo).toFixed(1)} (over ${MAX_LOGDET_SPREAD}), so e^(w − max w) leaves the normal doubles`);
    }
  }
  const c = stopGradient(max(w, -1, true)); // [1] or [m, 1]
  const L = laplacianOf(exp(sub(w, c))); // [n, n] or [m, n, n]
  const n = L.shape[L.rank - 1];
  const { sign, logAbsDet } = slogdet(L);
  for (let t = 0; t < m; t++) {
    if (!(sign.data[t] > 0)) {
      refuse(`its LU of the reduced Laplacian for ${row(t)} cancelled every digit (the determinant came out ${sign.data[t] === 0 ? 'zero' : 'negative'})`);
    }
  }
  const inv = inverse(stopGradient(L)).data; // a constant: only its diagonal is read
  for (let t = 0; t < m; t++) {
    let K = 0;
    for (let p = 0; p < n; p++) K += L.data[t * n * n + p * n + p] * inv[t * n * n + p * n + p];
    // Every term is ≥ 1 in exact arithmetic; a K below n means the inverse itself is noise.
    if (!(K >= n * (1 - 1e-9))) {
      refuse(`the inverse of the reduced Laplacian for ${row(t)} came out as noise (K = Σ_p L_pp (L⁻¹)_pp = ${K.toPrecision(3)}, below its least value ${n})`);
    }
    if (K > MAX_LOGDET_CONDITION) {
      const off = 2 * 2 ** -52 * K; // the measured error is below 1.7ε·K
      refuse(`the reduced Laplacian for ${row(t)} is too ill-conditioned for its LU: K = Σ_p L_pp (L⁻¹)_pp = ${K.toPrecision(3)} (over ${MAX_LOGDET_CONDITION.toExponential()}), so log Z could be off by about ${off.toPrecision(1)}`);
    }
  }
  return add(logAbsDet, mul(reshape(c, w.shape.slice(0, -1)), n));
}

/**
 * [m, V, V]: log of the summed weight e^{w_e} of the edges joining each pair
 * (parallel edges add up), with a stand-in far below every real edge where
 * there is none (and on the diagonal, which is never read).
 */
function pairLogWeights(g: Graph, w: Tensor): Tensor {
  const [m, E] = w.shape;
  const V = g.nodes;
  const lists: number[][] = Array.from({ length: V * V }, () => []);
  g.edges.forEach(([u, v], e) => {
    lists[u * V + v].push(e);
    lists[v * V + u].push(e);
  });
  const width = Math.max(1, ...lists.map((l) => l.length));
  // Column E of the extended weights is the stand-in; pad every list with it.
  const index = lists.flatMap((l) => [...l, ...Array(width - l.length).fill(E)]);
  const absent = stopGradient(sub(reshape(minOf(w), [m, 1]), ABSENT_EDGE_GAP)); // [m, 1]
  const extended = concat([w, absent], 1); // [m, E + 1]
  const gathered = reshape(take(extended, index, 1), [m, V, V, width]);
  if (width === 1) return reshape(gathered, [m, V, V]);
  // A pair with k real edges also gathers width − k stand-ins: they add at most width·e^−1000 relative.
  return logsumexp(gathered, 3);
}

function minOf(w: Tensor): Tensor {
  return neg(max(neg(w), -1));
}

/**
 * The edge marginals μ_e = P(e ∈ T) of the Gibbs distribution
 * p(T) ∝ exp(Σ_{e∈T} w_e) over spanning trees, per row of w [E] or [m, E]:
 * μ = ∇_w log det L̂(e^w), Σ_e μ_e = V − 1. Differentiable to any order (the
 * gradient of log det is taken with the engine). With w = U/t this is the
 * spanning-tree stochastic softmax trick's relaxation X_t.
 */
export function spanningTreeMarginals(g: Graph, w: Tensor, options: TreePartitionOptions = {}): Tensor {
  return grad((v: Tensor) => sum(spanningTreeLogPartition(g, v, options)))(w);
}

// ---------------------------------------------------------------- the exact law of the greedy argmax

/**
 * log P(X = B) for the rows B of `x` [m, d] (each a basis: r ones), under
 * X = greedy argmax of θ + G (see the file header), by the DP over the 2^r
 * subsets of B. `logw` is θ, [d] or [m, d]. `circuit(row, basis)` gives, for
 * each element e of the ground set, the bitmask over positions in `basis` of
 * C(e) (ignored for e ∈ B).
 */
function greedyLogProb(
  op: string,
  logw: Tensor,
  x: Tensor,
  circuit: (row: Float64Array, basis: readonly number[]) => Int32Array,
): Tensor {
  const { data, m, d } = rowsOf(x);
  const first = Array.from(data.subarray(0, d)).filter((v) => v === 1).length;
  const r = first;
  if (r > 20) throw new Refusal(`${op}: a structure of ${r} elements needs a DP over 2^${r} subsets, too many; use at most 20`);
  const masks = (1 << r) - 1; // proper subsets A = 0 … 2^r − 2
  if (m * masks * d > 2 ** 27) {
    throw new Refusal(`${op}: ${m} structures × 2^${r} prefix sets × ${d} elements is over the limit of 2^27 numbers; use fewer samples per call`);
  }
  const logMask = new Float64Array(m * masks * d).fill(-Infinity);
  const basisIndex = new Float64Array(m * r);
  for (let row = 0; row < m; row++) {
    const x = data.subarray(row * d, (row + 1) * d);
    const basis: number[] = [];
    for (let e = 0; e < d; e++) if (x[e] === 1) basis.push(e);
    basis.forEach((e, i) => (basisIndex[row * r + i] = e));
    const req = circuit(x, basis);
    const position = new Int32Array(d).fill(-1);
    basis.forEach((e, i) => (position[e] = i));
    for (let A = 0; A < masks; A++) {
      const base = (row * masks + A) * d;
      for (let e = 0; e < d; e++) {
        // In the denominator: basis elements not yet arrived, and elements still blocked.
        const inD = position[e] >= 0 ? (A & (1 << position[e])) === 0 : (req[e] & ~A) !== 0;
        if (inD) logMask[base + e] = 0;
      }
    }
  }
  const rowsLogw = logw.rank === 1 ? broadcastTo(reshape(logw, [1, d]), [m, d]) : logw; // [m, d]
  const logD = logsumexp(add(reshape(rowsLogw, [m, 1, d]), new Tensor(logMask, [m, masks, d])), 2); // [m, masks]
  const logwB = gather(rowsLogw, new Tensor(basisIndex, [m, r]), 1); // [m, r]

  // Masks by number of elements; where each sits within its level.
  const levels: number[][] = Array.from({ length: r + 1 }, () => []);
  const place = new Int32Array(1 << r);
  for (let A = 0; A < 1 << r; A++) {
    const level = popcount(A);
    place[A] = levels[level].length;
    levels[level].push(A);
  }
  let logQ: Tensor = new Tensor(new Float64Array(m), [m, 1]); // log Q(∅) = 0
  for (let level = 1; level <= r; level++) {
    const pred: number[] = [];
    const elt: number[] = [];
    const predMask: number[] = [];
    for (const A of levels[level]) {
      for (let i = 0; i < r; i++) {
        if ((A & (1 << i)) === 0) continue;
        const P = A ^ (1 << i);
        pred.push(place[P]);
        predMask.push(P);
        elt.push(i);
      }
    }
    // log Q(A) = logsumexp over i ∈ A of log Q(A ∖ i) + θ_{B_i} − log D(A ∖ i)
    const terms = sub(add(take(logQ, pred, 1), take(logwB, elt, 1)), take(logD, predMask, 1)); // [m, count·level]
    logQ = logsumexp(reshape(terms, [m, levels[level].length, level]), 2);
  }
  return reshape(logQ, [m]);
}

function popcount(a: number): number {
  let c = 0;
  for (; a; a &= a - 1) c++;
  return c;
}

function requireStructureRows(op: string, x: unknown, d: number, what: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: x must be a Tensor of 0/1 rows, got ${describe(x)}`);
  if (x.rank !== 2 || x.shape[1] !== d) throw new RangeError(`${op}: x must have shape [m, ${d}] (one ${what} per row), got ${formatShape(x.shape)}`);
}

function requireParamRows(op: string, name: string, p: Tensor, m: number, d: number): void {
  const ok = (p.rank === 1 && p.shape[0] === d) || (p.rank === 2 && p.shape[0] === m && p.shape[1] === d);
  if (!ok) throw new RangeError(`${op}: ${name} must have shape [${d}] or [${m}, ${d}] (one row per structure), got ${formatShape(p.shape)}`);
}

/**
 * log P(S) of k-subsets under Gumbel-top-k: S = the k largest of logits + G,
 * G iid standard Gumbel, so P(S) is the sum of the Plackett–Luce
 * probabilities of S's k! orderings,
 *   P(S) = Σ_π Π_j p_{π_j} / (1 − p_{π_1} − … − p_{π_{j−1}}),  p = softmax(logits),
 * computed by a DP over the 2^k subsets of S in log space (no cancellation:
 * every denominator is a logsumexp over the items not yet drawn).
 * logits: [n] or [m, n]; x: [m, n] rows with k ones. Returns [m],
 * differentiable in logits.
 * Reference: Kool, van Hoof & Welling 2019 (Gumbel-top-k); Kool et al. 2020 (unordered sets).
 */
export function subsetLogProb(logits: Tensor, x: Tensor, k: number): Tensor {
  const op = 'subsetLogProb';
  requireTensor(op, 'logits', logits, [1, 2]);
  const n = logits.shape[logits.rank - 1];
  requireK(op, k, n);
  requireStructureRows(op, x, n, `${k}-subset`);
  requireParamRows(op, 'logits', logits, x.shape[0], n);
  checkSubsets(op, x, k);
  // Every item outside S is blocked until all of S has arrived.
  const all = (1 << k) - 1;
  return greedyLogProb(op, logits, x, (row) => Int32Array.from(row, (v) => (v === 1 ? 0 : all)));
}

/**
 * log P(T) of spanning trees under X = kruskal(θ + G), the maximum spanning
 * tree of Gumbel-perturbed edge weights θ (see the file header):
 *   P(T) = Σ_π Π_j w_{π_j} / ( w(T ∖ A_j) + w({e ∉ T : path_T(e) ⊄ A_j}) ),  w = e^θ,
 * by a DP over the 2^(V−1) subsets of T. weights (θ): [E] or [m, E]; x: [m, E]
 * rows that are spanning trees. Returns [m], differentiable in the weights.
 */
export function spanningTreeLogProb(g: Graph, weights: Tensor, x: Tensor): Tensor {
  const op = 'spanningTreeLogProb';
  requireGraph(op, g);
  requireTensor(op, 'weights', weights, [1, 2]);
  const E = g.edges.length;
  requireLength(op, 'weights', weights, E, 'one weight per edge');
  requireStructureRows(op, x, E, 'spanning tree');
  requireParamRows(op, 'weights', weights, x.shape[0], E);
  checkSpanningTrees(op, g, x);
  return greedyLogProb(op, weights, x, (row, basis) => treeCircuits(g, row, basis));
}

/** For each non-tree edge, the bitmask (over positions in `basis`) of the tree path between its ends. */
function treeCircuits(g: Graph, row: Float64Array, basis: readonly number[]): Int32Array {
  const V = g.nodes;
  // Root the tree at node 0: parent, the position of the edge to the parent, depth.
  const adjacency: [number, number][][] = Array.from({ length: V }, () => []);
  basis.forEach((e, i) => {
    const [u, v] = g.edges[e];
    adjacency[u].push([v, i]);
    adjacency[v].push([u, i]);
  });
  const parent = new Int32Array(V).fill(-1);
  const up = new Int32Array(V).fill(-1);
  const depth = new Int32Array(V);
  const queue = [0];
  parent[0] = 0;
  for (let q = 0; q < queue.length; q++) {
    const a = queue[q];
    for (const [b, i] of adjacency[a]) {
      if (parent[b] >= 0) continue;
      parent[b] = a;
      up[b] = i;
      depth[b] = depth[a] + 1;
      queue.push(b);
    }
  }
  const req = new Int32Array(row.length);
  for (let e = 0; e < row.length; e++) {
    if (row[e] === 1) continue;
    let [a, b] = g.edges[e];
    let bits = 0;
    while (a !== b) {
      if (depth[a] >= depth[b]) {
        bits |= 1 << up[a];
        a = parent[a];
      } else {
        bits |= 1 << up[b];
        b = parent[b];
      }
    }
    req[e] = bits;
  }
  return req;
}

/**
 * E[f(X)] exactly, for X the top k of logits + G (Gumbel-top-k), as a
 * scalar differentiable in logits [n]: Σ_S P(S) f(S) over the C(n, k)
 * subsets (lib/exact enumerateSubsets order), with P(S) from subsetLogProb.
 */
export function subsetExpectation(logits: Tensor, k: number, f: (x: Tensor) => Tensor, support?: Tensor): Tensor {
  const op = 'subsetExpectation';
  requireTensor(op, 'logits', logits, [1]);
  requireK(op, k, logits.size);
  const S = support ?? enumerateSubsets(logits.size, k);
  return expectationOver(op, subsetLogProb(logits, S, k), S, f);
}

/**
 * E[f(X)] exactly, for X = kruskal(θ + G) the maximum spanning tree of
 * Gumbel-perturbed weights θ [E], as a scalar differentiable in θ: Σ_T P(T) f(T)
 * over every spanning tree (enumerateSpanningTrees order).
 */
export function spanningTreeExpectation(g: Graph, weights: Tensor, f: (x: Tensor) => Tensor, support?: Tensor): Tensor {
  const op = 'spanningTreeExpectation';
  requireGraph(op, g);
  requireTensor(op, 'weights', weights, [1]);
  const T = support ?? enumerateSpanningTrees(g);
  return expectationOver(op, spanningTreeLogProb(g, weights, T), T, f);
}

function expectationOver(op: string, logp: Tensor, support: Tensor, f: (x: Tensor) => Tensor): Tensor {
  const values = f(support);
  if (!(values instanceof Tensor) || values.rank !== 1 || values.shape[0] !== support.shape[0]) {
    throw new RangeError(`${op}: f must map the support [${support.shape[0]}, ${support.shape[1]}] to values [${support.shape[0]}], got ${describe(values)}`);
  }
  return sum(mul(exp(logp), values));
}

// ---------------------------------------------------------------- test functions on structures

/** A function given by its values on every structure of a support, extended to relaxed inputs. */
export interface StructureTableFunction {
  (x: Tensor): Tensor;
  readonly kind: 'structure-table';
  /** The structures [M, d] (0/1 rows, each with r ones) and the value of each: [M]. */
  readonly support: Tensor;
  readonly values: Tensor;
  readonly description: string;
}

/**
 * f(z) = Σ_S v_S Π_{i∈S} z_i over the structures S (the rows of `support`,
 * [M, d], all with the same number r of ones), for samples z [n, d]. On a
 * structure x of the support every product is 1 for S = x and 0 otherwise
 * (two different structures of the same size differ in some i ∈ S with
 * x_i = 0), so f(x) = v_x exactly; on relaxed samples it is a polynomial,
 * differentiable to any order. Costs n·M·r multiplications.
 */
export function structureTable(support: Tensor, values: Tensor | ArrayLike<number>, label = 'structures'): StructureTableFunction {
  const op = 'structureTable';
  requireTensor(op, 'support', support, [2]);
  const [M, d] = support.shape;
  const v = values instanceof Tensor ? values : new Tensor(Float64Array.from(values), [values.length]);
  if (v.rank !== 1 || v.size !== M) throw new RangeError(`${op}: values must have one entry per structure (${M}), got shape ${formatShape(v.shape)}`);
  for (let i = 0; i < v.size; i++) if (!Number.isFinite(v.data[i])) throw new RangeError(`${op}: values must be finite, got ${v.data[i]} at index ${i}`);
  const members: number[] = [];
  let r = -1;
  for (let s = 0; s < M; s++) {
    const row: number[] = [];
    for (let i = 0; i < d; i++) {
      const x = support.data[s * d + i];
      if (x === 1) row.push(i);
      else if (x !== 0) throw new RangeError(`${op}: support must hold 0s and 1s, got ${x} at row ${s}, item ${i}`);
    }
    if (r >= 0 && row.length !== r) throw new RangeError(`${op}: every structure must have the same size; row 0 has ${r} ones, row ${s} has ${row.length}`);
    r = row.length;
    members.push(...row);
  }
  const column = reshape(v, [M, 1]);
  const f = (z: Tensor): Tensor => {
    if (!(z instanceof Tensor) || z.rank !== 2 || z.shape[1] !== d) {
      throw new RangeError(`${op}: samples must have shape [n, ${d}], got ${describe(z)}`);
    }
    const n = z.shape[0];
    const picked = reshape(take(z, members, 1), [n, M, r]); // z_i for i ∈ S, per structure
    let product = reshape(slice(picked, 2, 0, 1), [n, M]);
    for (let j = 1; j < r; j++) product = mul(product, reshape(slice(picked, 2, j, j + 1), [n, M]));
    return reshape(matmul(product, column), [n]);
  };
  return Object.assign(f, { kind: 'structure-table' as const, support, values: v, description: `table on ${M} ${label}` });
}

// ---------------------------------------------------------------- arborescences (directed spanning trees)
//
// An arborescence of a directed graph rooted at r picks one incoming arc for
// every node but r, with no cycle, so every node is reached from r along the
// picked arcs. The directed matrix-tree theorem (Tutte 1948): with the
// in-degree Laplacian L = D_in − A (A_uv = w(u→v), D_in the column sums),
//   Σ_A Π_{a∈A} w_a = det L̂,   L̂ = L without the root's row and column.
// Eliminating a node p keeps L a directed Laplacian, with arc weights
// w'(u→v) = w(u→v) + w(u→p) w(p→v) / d_p, d_p = Σ_k w(k→p) its in-weight, and
// det L̂ is the product of the pivots d_p: the same cancellation-free
// elimination as for undirected trees. The hard argmax is Chu–Liu/Edmonds.

/** A directed graph on nodes 0 … nodes − 1 with arcs[a] = [u, v] meaning u → v, and the root of its arborescences. */
export interface Digraph {
  readonly nodes: number;
  readonly arcs: readonly (readonly [number, number])[];
  readonly root: number;
}

/**
 * A directed graph, checked: arcs are pairs of distinct nodes in range, and
 * every node is reachable from the root (else there is no arborescence).
 * Arcs into the root are allowed and lie in no arborescence.
 */
export function digraph(nodes: number, arcs: ReadonlyArray<readonly number[]>, root = 0): Digraph {
  const op = 'digraph';
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 2) throw new RangeError(`${op}: nodes must be an integer ≥ 2, got ${String(nodes)}`);
  if (!Number.isInteger(root) || root < 0 || root >= nodes) throw new RangeError(`${op}: root must be a node from 0 to ${nodes - 1}, got ${root}`);
  if (!Array.isArray(arcs) || arcs.length === 0) throw new RangeError(`${op}: arcs must be a non-empty array of [u, v] pairs (u → v), got ${describe(arcs)}`);
  const list: [number, number][] = arcs.map((a, i) => {
    if (!Array.isArray(a) || a.length !== 2) throw new RangeError(`${op}: arc ${i} must be a pair [u, v], got ${JSON.stringify(a)}`);
    const [u, v] = a;
    for (const x of [u, v]) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= nodes) throw new RangeError(`${op}: arc ${i} = [${u}, ${v}] has a node outside 0 … ${nodes - 1}`);
    }
    if (u === v) throw new RangeError(`${op}: arc ${i} = [${u}, ${v}] is a self-loop; remove it`);
    return [u, v];
  });
  const seen = new Uint8Array(nodes);
  seen[root] = 1;
  const queue = [root];
  for (let q = 0; q < queue.length; q++) for (const [u, v] of list) if (u === queue[q] && !seen[v]) (seen[v] = 1), queue.push(v);
  const unreached = Array.from(seen.keys()).filter((v) => !seen[v]);
  if (unreached.length > 0) throw new RangeError(`${op}: node${unreached.length > 1 ? 's' : ''} ${unreached.join(', ')} cannot be reached from the root ${root}, so there is no arborescence; add arcs into them`);
  return { nodes, arcs: list, root };
}

/** Every arc u → v between distinct nodes with v ≠ root, in lexicographic order of (u, v). */
export function completeDigraph(nodes: number, root = 0): Digraph {
  const arcs: [number, number][] = [];
  for (let u = 0; u < nodes; u++) for (let v = 0; v < nodes; v++) if (u !== v && v !== root) arcs.push([u, v]);
  return digraph(nodes, arcs, root);
}

function requireDigraph(op: string, d: unknown): asserts d is Digraph {
  if (d === null || typeof d !== 'object' || !Array.isArray((d as Digraph).arcs) || typeof (d as Digraph).root !== 'number') {
    throw new TypeError(`${op}: expected a directed graph from digraph(nodes, arcs, root), got ${describe(d)}`);
  }
}

/** True when the 0/1 vector x (one entry per arc) picks an arborescence rooted at d.root. */
export function isArborescence(d: Digraph, x: ArrayLike<number>): boolean {
  if (x.length !== d.arcs.length) return false;
  const parent = new Int32Array(d.nodes).fill(-1);
  for (let a = 0; a < x.length; a++) {
    if (x[a] === 0) continue;
    if (x[a] !== 1) return false;
    const [u, v] = d.arcs[a];
    if (v === d.root || parent[v] >= 0) return false; // into the root, or a second parent
    parent[v] = u;
  }
  for (let v = 0; v < d.nodes; v++) {
    if (v === d.root) continue;
    // Climb towards the root: more than `nodes` steps means a cycle.
    let at = v;
    for (let steps = 0; at !== d.root; steps++) {
      if (parent[at] < 0 || steps > d.nodes) return false;
      at = parent[at];
    }
  }
  return true;
}

/** Every arborescence of d as 0/1 rows over its arcs [T, arcs]; refuses more than 2^22 parent choices to try. */
export function enumerateArborescences(d: Digraph): Tensor {
  const op = 'enumerateArborescences';
  requireDigraph(op, d);
  const A = d.arcs.length;
  const into: number[][] = Array.from({ length: d.nodes }, () => []);
  d.arcs.forEach(([, v], a) => {
    if (v !== d.root) into[v].push(a);
  });
  const others = Array.from({ length: d.nodes }, (_, v) => v).filter((v) => v !== d.root);
  const tries = others.reduce((p, v) => p * into[v].length, 1);
  if (tries > MAX_OUTCOMES) throw new Refusal(`${op}: ${tries} choices of one incoming arc per node to try, over the limit of 2^22; use a smaller graph`);
  const rows: number[][] = [];
  const choice = new Array<number>(others.length).fill(0);
  const x = new Float64Array(A);
  for (let t = 0; t < tries; t++) {
    x.fill(0);
    others.forEach((v, i) => (x[into[v][choice[i]]] = 1));
    if (isArborescence(d, x)) rows.push(Array.from(x));
    for (let i = 0; i < others.length; i++) {
      if (++choice[i] < into[others[i]].length) break;
      choice[i] = 0;
    }
  }
  return new Tensor(Float64Array.from(rows.flat()), [rows.length, A]);
}

/** The number of arborescences rooted at d.root: det of the reduced in-degree Laplacian with unit weights (Tutte). */
export function arborescenceCount(d: Digraph): number {
  requireDigraph('arborescenceCount', d);
  const ones = new Tensor(new Float64Array(d.arcs.length).fill(1), [d.arcs.length]);
  return Math.round(det(reducedInLaplacian(d, ones)).item());
}

/** The in-degree Laplacian without the root's row and column, for arc weights [A] or [m, A]: [V − 1, V − 1] or [m, V − 1, V − 1]. */
export function reducedInLaplacian(d: Digraph, weights: Tensor): Tensor {
  const op = 'reducedInLaplacian';
  requireDigraph(op, d);
  requireTensor(op, 'weights', weights, [1, 2]);
  const A = d.arcs.length;
  requireLength(op, 'weights', weights, A, 'one weight per arc');
  const index = (v: number): number => (v < d.root ? v : v === d.root ? -1 : v - 1);
  const size = d.nodes - 1;
  const M = new Float64Array(A * size * size);
  d.arcs.forEach(([u, v], a) => {
    const iu = index(u);
    const iv = index(v);
    if (iv < 0) return; // an arc into the root is in no arborescence
    M[a * size * size + iv * size + iv] += 1; // in-degree of v
    if (iu >= 0) M[a * size * size + iu * size + iv] -= 1;
  });
  const m = weights.rank === 2 ? weights.shape[0] : 1;
  const flat = matmul(reshape(weights, [m, A]), new Tensor(M, [A, size * size]));
  return reshape(flat, weights.rank === 2 ? [m, size, size] : [size, size]);
}

/**
 * log Z(w) = log Σ_A exp(Σ_{a∈A} w_a) over the arborescences of d, for
 * w [A] or [m, A]: [] or [m]. method 'elimination' (default): the directed
 * elimination of the section header in log space, accurate for any spread of
 * weights; 'logdet': the engine's log det of the reduced in-degree Laplacian,
 * which throws a RangeError pointing to 'elimination' when its LU cancels too
 * much to trust (see MAX_LOGDET_CONDITION).
 */
export function arborescenceLogPartition(d: Digraph, w: Tensor, options: TreePartitionOptions = {}): Tensor {
  const op = 'arborescenceLogPartition';
  requireDigraph(op, d);
  requireTensor(op, 'w', w, [1, 2]);
  const A = d.arcs.length;
  requireLength(op, 'w', w, A, 'one weight per arc');
  const method = options.method ?? 'elimination';
  const batch = w.rank === 2 ? [w.shape[0]] : [];
  if (method === 'logdet') return trustedLogdetPartition(op, w, (weights) => reducedInLaplacian(d, weights));
  if (method !== 'elimination') throw new RangeError(`${op}: method must be 'elimination' or 'logdet', got ${JSON.stringify(method)}`);
  const m = w.rank === 2 ? w.shape[0] : 1;
  const V = d.nodes;
  let M = arcLogWeights(d, reshape(w, [m, A])); // [m, V, V], the root at index 0
  let logZ: Tensor | undefined;
  for (let p = V - 1; p >= 1; p--) {
    const into = reshape(slice(slice(M, 1, 0, p), 2, p, p + 1), [m, p]); // log w(k → p), k < p
    const logPivot = logsumexp(into, 1); // log d_p
    logZ = logZ === undefined ? logPivot : add(logZ, logPivot);
    if (p === 1) break;
    const out = reshape(slice(slice(M, 1, p, p + 1), 2, 0, p), [m, p]); // log w(p → v), v < p
    const rest = slice(slice(M, 1, 0, p), 2, 0, p);
    const through = sub(add(reshape(into, [m, p, 1]), reshape(out, [m, 1, p])), reshape(logPivot, [m, 1, 1]));
    M = logsumexp(stack([rest, through], -1), -1);
  }
  return reshape(logZ as Tensor, batch);
}

/**
 * [m, V, V]: log of the summed weight of the arcs u → v (rows u, columns v),
 * nodes renumbered so the root is 0, with a stand-in where there is no arc.
 * The stand-in sits at s = min w − 1000 − (V − 1)(max w − min w): an
 * arborescence through one weighs at most e^{s + (V−2) max w}, and every real
 * one at least e^{(V−1) min w}, a ratio of at most e^{min w − max w − 1000}
 * ≤ e^−1000, whatever the spread of the weights.
 */
function arcLogWeights(d: Digraph, w: Tensor): Tensor {
  const [m, A] = w.shape;
  const V = d.nodes;
  const relabel = (v: number): number => (v === d.root ? 0 : v < d.root ? v + 1 : v);
  const lists: number[][] = Array.from({ length: V * V }, () => []);
  d.arcs.forEach(([u, v], a) => lists[relabel(u) * V + relabel(v)].push(a));
  const width = Math.max(1, ...lists.map((l) => l.length));
  const index = lists.flatMap((l) => [...l, ...Array(width - l.length).fill(A)]);
  const lo = reshape(minOf(w), [m, 1]);
  const hi = reshape(max(w, -1), [m, 1]);
  const absent = stopGradient(sub(sub(lo, ABSENT_EDGE_GAP), mul(sub(hi, lo), V - 1))); // [m, 1]
  const gathered = reshape(take(concat([w, absent], 1), index, 1), [m, V, V, width]);
  return width === 1 ? reshape(gathered, [m, V, V]) : logsumexp(gathered, 3);
}

/** The arc marginals of the Gibbs distribution over arborescences, μ = ∇_w log Z(w): Σ_a μ_a = V − 1. Differentiable to any order. */
export function arborescenceMarginals(d: Digraph, w: Tensor, options: TreePartitionOptions = {}): Tensor {
  return grad((v: Tensor) => sum(arborescenceLogPartition(d, v, options)))(w);
}

/**
 * X = argmax over arborescences of uᵀx for each row of scores [..., A], by
 * Chu–Liu/Edmonds: every node takes its best incoming arc; a cycle among
 * those is contracted into one node, with each arc entering it scored by
 * what it gains over the arc it displaces, and the smaller problem solved
 * the same way. 0/1 of the same shape, a constant.
 * Reference: Chu & Liu 1965; Edmonds 1967.
 */
export function maxArborescence(d: Digraph, scores: Tensor): Tensor {
  const op = 'maxArborescence';
  requireDigraph(op, d);
  if (!(scores instanceof Tensor) || scores.rank < 1) throw new TypeError(`${op}: scores must be a Tensor with an arc axis, got ${describe(scores)}`);
  const A = d.arcs.length;
  requireLength(op, 'scores', scores, A, 'one score per arc');
  const out = new Float64Array(scores.size);
  for (let base = 0; base < scores.size; base += A) {
    const arcs = d.arcs.map(([u, v], a) => ({ u, v, w: scores.data[base + a], id: a })).filter((arc) => arc.v !== d.root);
    for (const id of edmonds(d.nodes, d.root, arcs)) out[base + id] = 1;
  }
  return new Tensor(out, scores.shape);
}

interface Arc {
  u: number;
  v: number;
  w: number;
  id: number;
}

/** The ids of a maximum arborescence of the arcs (none into the root; every node reachable). */
function edmonds(n: number, root: number, arcs: readonly Arc[]): number[] {
  const best = new Array<Arc | undefined>(n);
  for (const arc of arcs) if (arc.u !== arc.v && (best[arc.v] === undefined || arc.w > best[arc.v]!.w)) best[arc.v] = arc;
  // Find a cycle among the chosen parents.
  const state = new Int8Array(n); // 0 unvisited, 1 on the current walk, 2 done
  let cycle: number[] | undefined;
  for (let s = 0; s < n && cycle === undefined; s++) {
    const walk: number[] = [];
    let v = s;
    while (v !== root && state[v] === 0) {
      state[v] = 1;
      walk.push(v);
      v = best[v]!.u;
    }
    if (v !== root && state[v] === 1) cycle = walk.slice(walk.indexOf(v));
    for (const x of walk) state[x] = 2;
  }
  if (cycle === undefined) return best.flatMap((arc, v) => (v === root || arc === undefined ? [] : [arc.id]));
  // Contract the cycle into node c; renumber the others 0 … n − |C|.
  const inCycle = new Uint8Array(n);
  for (const v of cycle) inCycle[v] = 1;
  const label = new Int32Array(n);
  let next = 0;
  for (let v = 0; v < n; v++) if (!inCycle[v]) label[v] = next++;
  const c = next;
  for (const v of cycle) label[v] = c;
  const origin = new Map<number, Arc>(); // contracted arc id → the original arc
  const contracted: Arc[] = [];
  for (const arc of arcs) {
    const u = label[arc.u];
    const v = label[arc.v];
    if (u === v) continue;
    const w = inCycle[arc.v] ? arc.w - best[arc.v]!.w : arc.w; // entering the cycle: the gain over the arc displaced
    origin.set(contracted.length, arc);
    contracted.push({ u, v, w, id: contracted.length });
  }
  const chosen = edmonds(next + 1, label[root], contracted).map((id) => origin.get(id)!);
  // Expand: keep the cycle's arcs except the one into the node where the chosen arc enters.
  const entering = chosen.find((arc) => inCycle[arc.v])!;
  return [...chosen.map((arc) => arc.id), ...cycle.filter((v) => v !== entering.v).map((v) => best[v]!.id)];
}
