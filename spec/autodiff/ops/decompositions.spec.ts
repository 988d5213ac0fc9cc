// autodiff/ops/decompositions.ts: inverse, solve, slogdet, logdet, det from
// one LU factorization with partial pivoting.
//   gradients: checkGrads, first and second order, on fast-check matrices
//   (single and batched, solve with vector and matrix right-hand sides, in
//   both arguments), plus the closed forms ∇ log det A = A⁻ᵀ and its Hessian;
//   forward: A·A⁻¹ = I, A·solve(A, B) = B, determinants against the Leibniz
//   formula on integer matrices, the Hilbert matrix's known inverse and
//   determinant, overflow-free logs, Kirchhoff's matrix-tree theorem
//   (counts and edge marginals by enumeration);
//   errors: shapes, singular matrices naming the zero pivot, logdet of det ≤ 0,
//   and the non-differentiable sign.
//
// Tolerances. Gaussian elimination with partial pivoting is backward stable:
// the computed factors satisfy L U = P(A + E) with |E| ≤ γ_3n |L||U|,
// γ_k = k u/(1 − k u), u = 2⁻⁵³ (Higham, "Accuracy and Stability of Numerical
// Algorithms", 2nd ed., Thms 9.3–9.4), and |l_ij| ≤ 1. Each tolerance below is
// that bound worked out for its matrices, with a stated margin.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, eye, grad, sum, mul, add, exp, stack, slice, matmul, transpose, stopGradient,
  inverse, solve, slogdet, logdet, det,
} from '../../../index.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import { SEED, real, tensorOf, assertClose, assertNear, assertNondifferentiable } from '../helpers.ts';

// ---------------------------------------------------------------- generators

const dim = fc.integer({ min: 1, max: 5 });
const batchSize = fc.integer({ min: 1, max: 3 });

/**
 * Well-conditioned matrices whose factorization pivots: P(2I + R/n) with R
 * uniform in [−1, 1] and P a random row permutation (one per matrix). Before
 * P, each row's diagonal is ≥ 2 − 1/n and its off-diagonal sum ≤ (n−1)/n, so
 * Varah's bound ‖A⁻¹‖∞ ≤ 1 / minᵢ(|aᵢᵢ| − Σ_{j≠i} |aᵢⱼ|) gives ‖A⁻¹‖∞ ≤ 1,
 * and ‖A‖∞ ≤ 3; a row permutation changes neither norm: A, A⁻¹ and every derivative the
 * gradient checks meet stay O(1), as the harness's tolerances assume. The
 * permutation makes partial pivoting swap rows (without it the diagonal
 * would always win and the permutation code would go untested), and an odd
 * one makes the determinant negative; `flip` negates the first row too.
 */
function wellConditioned(shape: readonly number[], flip = false): fc.Arbitrary<Tensor> {
  const n = shape[shape.length - 1];
  const batch = shape.length === 3 ? shape[0] : 1;
  const perms = fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }), { minLength: batch, maxLength: batch });
  return fc.tuple(tensorOf(shape, real(-1, 1)), perms).map(([r, keys]) => {
    const data = new Float64Array(r.size);
    for (let t = 0; t < batch; t++) {
      // Row i of the result is row rows[i] of 2I + R/n.
      const rows = [...Array(n).keys()].sort((i, j) => keys[t][i] - keys[t][j] || i - j);
      for (let i = 0; i < n; i++) {
        const src = rows[i];
        for (let j = 0; j < n; j++) {
          const v = r.data[t * n * n + src * n + j] / n + (src === j ? 2 : 0);
          data[t * n * n + i * n + j] = flip && i === 0 ? -v : v;
        }
      }
    }
    return new Tensor(data, shape);
  });
}

/** [n,n] or [B,n,n], drawn with its sizes. */
const matrixArb = (flip = false): fc.Arbitrary<Tensor> =>
  fc.tuple(fc.boolean(), batchSize, dim).chain(([batched, b, n]) => wellConditioned(batched ? [b, n, n] : [n, n], flip));

/** Symmetric positive definite: M Mᵀ/n + I, eigenvalues in [1, 1 + n] for |m_ij| ≤ 1. */
function spd(shape: readonly number[]): fc.Arbitrary<Tensor> {
  const n = shape[shape.length - 1];
  return tensorOf(shape, real(-1, 1)).map((m) => {
    const batch = m.size / (n * n);
    const data = new Float64Array(m.size);
    for (let t = 0; t < batch; t++) {
      const o = t * n * n;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < n; p++) s += m.data[o + i * n + p] * m.data[o + j * n + p];
          data[o + i * n + j] = s / n + (i === j ? 1 : 0);
        }
      }
    }
    return new Tensor(data, shape);
  });
}

/** A matrix with a right-hand side: B is [n], [n,k], [B,n] or [B,n,k]. */
const systemArb: fc.Arbitrary<[Tensor, Tensor]> = fc
  .tuple(fc.boolean(), fc.boolean(), batchSize, dim, fc.integer({ min: 1, max: 3 }))
  .chain(([batched, vector, b, n, k]) => {
    const lead = batched ? [b] : [];
    const rhs = vector ? [...lead, n] : [...lead, n, k];
    return fc.tuple(wellConditioned([...lead, n, n]), tensorOf(rhs, real(-2, 2)));
  });

// ---------------------------------------------------------------- plain-JS references

/** det by the Leibniz formula Σ_σ sgn(σ) Π_i a_{i,σ(i)}: exact on small integer matrices. */
function leibniz(a: ArrayLike<number>, n: number): number {
  let total = 0;
  const perm = [...Array(n).keys()];
  const visit = (k: number, sign: number): void => {
    if (k === n) {
      let p = sign;
      for (let i = 0; i < n; i++) p *= a[i * n + perm[i]];
      total += p;
      return;
    }
    for (let i = k; i < n; i++) {
      [perm[k], perm[i]] = [perm[i], perm[k]];
      visit(k + 1, i === k ? sign : -sign);
      [perm[k], perm[i]] = [perm[i], perm[k]];
    }
  };
  visit(0, 1);
  return total;
}

/** Hadamard's bound Π_i ‖row i‖₂ ≥ |det A|: the scale of every cofactor expansion. */
function hadamard(a: ArrayLike<number>, n: number): number {
  let h = 1;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] ** 2;
    h *= Math.sqrt(s);
  }
  return h;
}

/** The matrix [n,n] of t (one matrix of a batch, or t itself). */
function matrixAt(x: Tensor, t: number): Tensor {
  const n = x.shape[x.rank - 1];
  return x.rank === 3 ? new Tensor(x.data.slice(t * n * n, (t + 1) * n * n), [n, n]) : x;
}

function identityLike(x: Tensor): { shape: readonly number[]; data: Float64Array } {
  const n = x.shape[x.rank - 1];
  const data = new Float64Array(x.size);
  for (let o = 0; o < x.size; o++) if (Math.floor(o / n) % n === o % n) data[o] = 1;
  return { shape: x.shape, data };
}

// ---------------------------------------------------------------- graphs

type Edge = readonly [number, number];

const complete = (n: number): Edge[] => {
  const edges: Edge[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([i, j]);
  return edges;
};

// The Petersen graph: outer 5-cycle, inner pentagram, five spokes.
const petersen: Edge[] = [
  ...[0, 1, 2, 3, 4].map((i): Edge => [i, (i + 1) % 5]),
  ...[0, 1, 2, 3, 4].map((i): Edge => [5 + i, 5 + ((i + 2) % 5)]),
  ...[0, 1, 2, 3, 4].map((i): Edge => [i, 5 + i]),
];

/** The node–edge incidence matrix [n, m] (column e is e_i − e_j), as a constant tensor. */
function incidence(n: number, edges: readonly Edge[]): Tensor {
  const data = new Float64Array(n * edges.length);
  edges.forEach(([i, j], e) => {
    data[i * edges.length + e] = 1;
    data[j * edges.length + e] = -1;
  });
  return new Tensor(data, [n, edges.length]);
}

/** The weighted Laplacian Σ_e w_e (e_i − e_j)(e_i − e_j)ᵀ without node 0's row and column, differentiable in w. */
function reducedLaplacian(n: number, edges: readonly Edge[], w: Tensor): Tensor {
  const inc = incidence(n, edges);
  const laplacian = matmul(mul(inc, w), transpose(inc)); // [n, n]
  return slice(slice(laplacian, 0, 1, n), 1, 1, n);
}

/** Every spanning tree, as a list of edge indices, by brute force over (n−1)-subsets with union–find. */
function spanningTrees(n: number, edges: readonly Edge[]): number[][] {
  const trees: number[][] = [];
  const pick = (start: number, chosen: number[]): void => {
    if (chosen.length === n - 1) {
      const parent = [...Array(n).keys()];
      const root = (x: number): number => (parent[x] === x ? x : (parent[x] = root(parent[x])));
      for (const e of chosen) {
        const [a, b] = [root(edges[e][0]), root(edges[e][1])];
        if (a === b) return; // a cycle: n − 1 edges with a cycle cannot span
        parent[a] = b;
      }
      trees.push([...chosen]);
      return;
    }
    for (let e = start; e < edges.length; e++) pick(e + 1, [...chosen, e]);
  };
  pick(0, []);
  return trees;
}

// ---------------------------------------------------------------- gradients

const grads = suite('decompositions: gradients against central differences');

grads('inverse: first and second order, single and batched', () => {
  fc.assert(
    fc.property(matrixArb(), fc.nat(), (a, seed) => {
      checkGrads(inverse, [a], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 25 },
  );
});

grads('solve: first and second order in A and B, vector and matrix right-hand sides, single and batched', () => {
  fc.assert(
    fc.property(systemArb, fc.nat(), ([a, b], seed) => {
      checkGrads(solve, [a, b], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 30 },
  );
});

grads('slogdet: logAbsDet, first and second order, positive and negative determinants', () => {
  fc.assert(
    fc.property(fc.boolean().chain((flip) => matrixArb(flip)), fc.nat(), (a, seed) => {
      checkGrads((x) => slogdet(x).logAbsDet, [a], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 25 },
  );
});

grads('logdet: first and second order on symmetric positive definite matrices, single and batched', () => {
  const arb = fc.tuple(fc.boolean(), batchSize, dim).chain(([batched, b, n]) => spd(batched ? [b, n, n] : [n, n]));
  fc.assert(
    fc.property(arb, fc.nat(), (a, seed) => {
      checkGrads(logdet, [a], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 25 },
  );
});

grads('logdet(M Mᵀ/n + I) through matmul: first and second order in M', () => {
  fc.assert(
    fc.property(dim.chain((n) => tensorOf([n, n], real(-1, 1))), fc.nat(), (m, seed) => {
      const n = m.shape[0];
      checkGrads((x) => logdet(add(mul(matmul(x, transpose(x)), 1 / n), eye(n))), [m], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 15 },
  );
});

grads('det: first and second order, positive and negative determinants, single and batched', () => {
  fc.assert(
    fc.property(fc.boolean().chain((flip) => matrixArb(flip)), fc.nat(), (a, seed) => {
      checkGrads(det, [a], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 25 },
  );
});

grads('chains: solve(A, inverse(A)·B) and det·logdet of one matrix, second order', () => {
  fc.assert(
    fc.property(systemArb, fc.nat(), ([a, b], seed) => {
      if (b.rank !== a.rank) return; // a matrix right-hand side, for matmul
      checkGrads((x, y) => solve(x, matmul(inverse(x), y)), [a, b], { order: 2, seed });
      checkGrads((x) => mul(det(x), slogdet(x).logAbsDet), [a], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 15 },
  );
});

grads('∇ log|det A| = A⁻ᵀ and its Hessian: ∇_A ⟨A⁻ᵀ, U⟩ = −(A⁻¹ U A⁻¹)ᵀ', () => {
  // Both sides run the same O(n³) arithmetic in a different order; with
  // ‖A⁻¹‖∞ ≤ 1, ‖A‖∞ ≤ 3 and n ≤ 5 each entry differs by at most a few
  // γ_3n·‖A‖·‖A⁻¹‖² ≈ 1e-14, so 1e-12 leaves a margin of 100.
  fc.assert(
    fc.property(dim.chain((n) => fc.tuple(wellConditioned([n, n]), tensorOf([n, n], real(-1, 1)))), ([a, u]) => {
      const w = inverse(a);
      const logAbsDet = (x: Tensor): Tensor => slogdet(x).logAbsDet; // the permutation may make det < 0
      assertClose(grad(logAbsDet)(a), transpose(w), 1e-12, 1e-12, '∇ log|det|');
      const hvp = grad((x: Tensor) => sum(mul(grad(logAbsDet)(x), u)))(a);
      const expected = mul(transpose(matmul(matmul(w, u), w)), -1);
      assertClose(hvp, expected, 1e-12, 1e-12, 'Hessian of log|det| along U');
    }),
    { seed: SEED, numRuns: 20 },
  );
});

grads('spanning trees: w ↦ log det of the reduced Laplacian, second order in the edge weights', () => {
  const edges = complete(4);
  fc.assert(
    fc.property(tensorOf([edges.length], real(0.5, 2)), fc.nat(), (w, seed) => {
      checkGrads((x) => logdet(reducedLaplacian(4, edges, x)), [w], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 10 },
  );
});

// ---------------------------------------------------------------- forward values

const forward = suite('decompositions: forward values');

forward('A · inverse(A) = I and A · solve(A, B) = B, single and batched, n up to 8', () => {
  // Residuals of a backward-stable solve: |A X − B| ≤ γ_3n |L||U||X| entrywise,
  // here ≲ 24 u · 3 · ‖X‖∞ with ‖X‖∞ ≤ ‖A⁻¹‖∞‖B‖∞ ≤ 2: about 2e-14. Tolerance 1e-13.
  const big = fc.tuple(fc.boolean(), batchSize, fc.integer({ min: 1, max: 8 })).chain(([batched, b, n]) =>
    fc.tuple(wellConditioned(batched ? [b, n, n] : [n, n]), tensorOf(batched ? [b, n, 3] : [n, 3], real(-2, 2))),
  );
  fc.assert(
    fc.property(big, ([a, b]) => {
      assertClose(matmul(a, inverse(a)), identityLike(a), 0, 1e-13, 'A · A⁻¹');
      assertClose(matmul(inverse(a), a), identityLike(a), 0, 1e-13, 'A⁻¹ · A');
      assertClose(matmul(a, solve(a, b)), b, 0, 1e-13, 'A · solve(A, B)');
    }),
    { seed: SEED, numRuns: 40 },
  );
});

forward('solve: a vector right-hand side equals the one-column matrix; a batch equals its matrices one by one', () => {
  // The same arithmetic in the same order: equal to the last bit.
  fc.assert(
    fc.property(systemArb, ([a, b]) => {
      const x = solve(a, b);
      assert.equal([...x.shape], [...b.shape]);
      const vector = b.rank === a.rank - 1;
      const column = vector ? tensor(b.data, [...b.shape, 1]) : b;
      assertClose(solve(a, column), { shape: column.shape, data: x.data }, 0, 0, 'vector vs column');
      if (a.rank === 3) {
        const per = b.size / a.shape[0];
        for (let t = 0; t < a.shape[0]; t++) {
          const bt = new Tensor(b.data.slice(t * per, (t + 1) * per), b.shape.slice(1));
          assertClose(solve(matrixAt(a, t), bt), { shape: bt.shape, data: x.data.slice(t * per, (t + 1) * per) }, 0, 0, 'batch');
          assertNear(det(a).data[t], det(matrixAt(a, t)).item(), 0, 'det of a batch');
        }
      }
    }),
    { seed: SEED, numRuns: 30 },
  );
});

forward('det, slogdet and logdet against the Leibniz formula on integer matrices (n ≤ 5)', () => {
  // Leibniz is exact here (|terms| ≤ 5⁵, 120 terms). LU's det is det(A + E)
  // with |E| ≲ γ_3n·|L||U|, so it is off by at most Σ_ij |E_ij||cofactor_ij| ≲
  // n² · 15u · n·5 · H with H the Hadamard bound (≥ every cofactor times a
  // row norm ≥ 1): ≲ 5e-12·H. Tolerance 1e-11·H. The sign must be exact
  // whenever det ≠ 0 (an integer, so |det| ≥ 1 ≫ the error).
  const arb = dim.chain((n) => fc.array(fc.integer({ min: -5, max: 5 }), { minLength: n * n, maxLength: n * n }).map((v) => tensor(v, [n, n])));
  let nonzero = 0;
  fc.assert(
    fc.property(arb, (a) => {
      const n = a.shape[0];
      const exact = leibniz(a.data, n);
      const tol = 1e-11 * hadamard(a.data, n);
      const d = det(a).item();
      assert.ok(Math.abs(d - exact) <= tol, `det ${d} vs Leibniz ${exact}`);
      if (exact === 0) return;
      nonzero++;
      const { sign, logAbsDet } = slogdet(a);
      assert.is(sign.item(), Math.sign(exact));
      assert.ok(Math.abs(Math.exp(logAbsDet.item()) - Math.abs(exact)) <= tol, `exp(logAbsDet) vs |Leibniz| ${Math.abs(exact)}`);
      if (exact > 0) assertNear(logdet(a).item(), logAbsDet.item(), 0, 'logdet = logAbsDet when det > 0');
    }),
    { seed: SEED, numRuns: 200 },
  );
  assert.ok(nonzero > 100, `only ${nonzero} nonsingular matrices were drawn`);
});

forward('closed forms: triangular, permutation, diagonal, batched', () => {
  // Triangular: partial pivoting never swaps (the column below the diagonal is 0), so det is the
  // diagonal's product, in the same order: exact.
  assert.is(det(tensor([[2, 7, -1], [0, -3, 5], [0, 0, 0.5]])).item(), -3);
  assert.is(det(tensor([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])).item(), 1); // a 3-cycle: even
  assert.is(det(tensor([[0, 1, 0], [1, 0, 0], [0, 0, 1]])).item(), -1);
  const { sign, logAbsDet } = slogdet(tensor([[[2, 0], [0, 3]], [[0, 2], [3, 0]], [[-1, 0], [0, 1]]]));
  assert.equal(sign.toArray(), [1, -1, -1]);
  assertClose(logAbsDet, { shape: [3], data: [Math.log(6), Math.log(6), 0] }, 1e-15, 0, 'logAbsDet');
  assertClose(inverse(tensor([[2, 0], [0, 4]])), { shape: [2, 2], data: [0.5, 0, 0, 0.25] }, 0, 0, 'diagonal inverse');
  assertClose(solve(tensor([[0, 1], [1, 0]]), tensor([3, 5])), { shape: [2], data: [5, 3] }, 0, 0, 'permutation solve');
  // n = 0: the empty product.
  assert.is(det(tensor(new Float64Array(0), [0, 0])).item(), 1);
});

forward('the Hilbert matrix H_ij = 1/(i + j − 1), n = 5: its known inverse and determinant', () => {
  // κ∞(H₅) ≈ 9.4e5, so the inverse is good to about κ·γ_3n ≈ 1.6e-9 relative to its largest
  // entry (179 200) and log det to about κ·n·u ≈ 5e-10 absolute (Higham §9.4, §14.1). Tolerances:
  // 1e-8 relative and 1e-8 absolute.
  const n = 5;
  const H = tensor(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 1 / (i + j + 1))));
  const binom = (a: number, b: number): number => {
    let r = 1;
    for (let k = 1; k <= b; k++) r = (r * (a - b + k)) / k;
    return r;
  };
  // (H⁻¹)_ij = (−1)^(i+j) (i+j−1) C(n+i−1, n−j) C(n+j−1, n−i) C(i+j−2, i−1)², indices from 1.
  const exact: number[] = [];
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= n; j++) exact.push((-1) ** (i + j) * (i + j - 1) * binom(n + i - 1, n - j) * binom(n + j - 1, n - i) * binom(i + j - 2, i - 1) ** 2);
  }
  assert.is(Math.max(...exact.map(Math.abs)), 179200);
  assertClose(inverse(H), { shape: [n, n], data: exact }, 0, 1e-8 * 179200, 'inverse of H₅');
  // det H_n = c_n⁴ / c_2n with c_n = Π_{i<n} i! (Hilbert 1894): det H₅ = 1/266 716 800 000.
  const c = (m: number): bigint => {
    let p = 1n;
    let f = 1n;
    for (let i = 1n; i < BigInt(m); i++) {
      f *= i;
      p *= f;
    }
    return p;
  };
  assert.is(c(10) / c(5) ** 4n, 266716800000n);
  assertNear(logdet(H).item(), -Math.log(266716800000), 1e-8, 'logdet H₅');
});

forward('logs without overflow: slogdet where det overflows or underflows; det recovers an in-range product', () => {
  const diag = (values: number[]): Tensor => tensor(values.map((v, i) => values.map((_, j) => (i === j ? v : 0))));
  const huge = slogdet(diag([1e200, 1e200, 1e200]));
  assert.is(huge.sign.item(), 1);
  assertNear(huge.logAbsDet.item(), 3 * Math.log(1e200), 1e-15, 'log det of 1e600');
  assert.is(det(diag([1e200, 1e200, 1e200])).item(), Infinity); // out of range: IEEE says ∞
  // 0.01·I₂₀₀: det = 1e-400 underflows, its log is −921.03…; each pivot is exact, so the sum of
  // 200 logs is good to 200 half-ulps.
  const tiny = tensor(Array.from({ length: 200 }, (_, i) => Array.from({ length: 200 }, (_, j) => (i === j ? 0.01 : 0))));
  assertNear(logdet(tiny).item(), 200 * Math.log(0.01), 1e-14, 'log det of 1e-400');
  // The running product overflows (or underflows) midway though det = 1: recovered from the logs,
  // whose sum is 0 up to four roundings of |log 1e200| ≈ 460: ≲ 4 · 460 · u ≈ 2e-13.
  assertNear(det(diag([1e200, 1e200, 1e-200, 1e-200])).item(), 1, 1e-12, 'overflow midway');
  assertNear(det(diag([1e-200, 1e-200, 1e200, 1e200])).item(), 1, 1e-12, 'underflow midway');
  assertNear(det(diag([-1e200, 1e200, 1e-200, 1e-200])).item(), -1, 1e-12, 'negative, overflow midway');
});

forward("Kirchhoff's matrix-tree theorem: det of a reduced Laplacian counts spanning trees", () => {
  // Integer SPD matrices with κ∞ ≤ 24 (Petersen's is the largest; computed once with NumPy), so
  // log det and det are good to ≲ κ·γ_3n ≈ 1e-13 (absolute and relative). Tolerance 1e-11.
  const cases: [string, number, Edge[], number][] = [
    ['K4', 4, complete(4), 16], // Cayley: n^(n−2)
    ['K5', 5, complete(5), 125],
    ['K6', 6, complete(6), 1296],
    ['C5', 5, [0, 1, 2, 3, 4].map((i): Edge => [i, (i + 1) % 5]), 5],
    ['K3,3', 6, [0, 1, 2].flatMap((i) => [3, 4, 5].map((j): Edge => [i, j])), 81], // m^(n−1) n^(m−1)
    ['Petersen', 10, petersen, 2000],
  ];
  for (const [name, n, edges, count] of cases) {
    const ones = tensor(new Float64Array(edges.length).fill(1), [edges.length]);
    const reduced = reducedLaplacian(n, edges, ones);
    assertNear(logdet(reduced).item(), Math.log(count), 1e-11, `${name}: log of the number of spanning trees`);
    assertNear(det(reduced).item(), count, 1e-11, `${name}: number of spanning trees`);
    if (n <= 6) assert.is(spanningTrees(n, edges).length, count, `${name}: enumeration agrees with the formula`);
  }
});

forward('matrix-tree theorem: w_e ∂ log det / ∂w_e is the Gibbs edge marginal P(e ∈ T), by enumeration', () => {
  // Z(w) = Σ_T Π_{e∈T} w_e = det of the reduced Laplacian, so w_e ∂ log Z/∂w_e = P(e ∈ T) under
  // P(T) ∝ Π w_e; Z is homogeneous of degree n − 1, so the marginals sum to n − 1 (Euler).
  // Brute force sums ≤ 16 products of 3 weights in [0.5, 2]: both sides to ≲ 1e-14. Tolerance 1e-12.
  const n = 5;
  const edges: Edge[] = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 2], [1, 3]];
  const trees = spanningTrees(n, edges);
  fc.assert(
    fc.property(tensorOf([edges.length], real(0.5, 2)), (w) => {
      const g = grad((x: Tensor) => logdet(reducedLaplacian(n, edges, x)))(w);
      let z = 0;
      const marginal = new Float64Array(edges.length);
      for (const tree of trees) {
        const p = tree.reduce((acc, e) => acc * w.data[e], 1);
        z += p;
        for (const e of tree) marginal[e] += p;
      }
      for (let e = 0; e < edges.length; e++) marginal[e] /= z;
      assertClose(mul(w, g), { shape: [edges.length], data: marginal }, 1e-12, 1e-12, 'edge marginals');
      assertNear(sum(mul(w, g)).item(), n - 1, 1e-12, 'marginals sum to n − 1');
      assertNear(logdet(reducedLaplacian(n, edges, w)).item(), Math.log(z), 1e-12, 'log partition function');
    }),
    { seed: SEED, numRuns: 20 },
  );
});

forward('NaN propagates through the factorization instead of passing for a zero pivot', () => {
  const x = solve(tensor([[NaN, 0], [0, 0]]), tensor([1, 1]));
  assert.ok(x.data.every(Number.isNaN));
  assert.ok(inverse(tensor([[NaN, 1], [1, 1]])).data.some(Number.isNaN));
});

// ---------------------------------------------------------------- errors

const errors = suite('decompositions: errors');

const throwsRange = (f: () => unknown, message: string | RegExp): void => {
  assert.throws(
    f,
    (e: unknown) => e instanceof RangeError && (typeof message === 'string' ? e.message === message : message.test(e.message)),
    String(message),
  );
};
const z = (...s: number[]): Tensor => tensor(new Float64Array(s.reduce((a, b) => a * b, 1)), s);
// Rows 0 and 1 are equal; elimination makes the third pivot exactly 0.
const singular = tensor([[1, 2, 3], [1, 2, 3], [4, 5, 6]]);

errors('shapes: square matrices or batches of them; solve names both shapes and what b must be', () => {
  const square = (op: string, shape: string): string => `${op}: expected a square matrix [n,n] or a batch of them [B,n,n], got shape ${shape}`;
  throwsRange(() => inverse(z(3, 4)), square('inverse', '[3,4]'));
  throwsRange(() => det(z(3)), square('det', '[3]'));
  throwsRange(() => logdet(z(2, 2, 2, 2)), square('logdet', '[2,2,2,2]'));
  throwsRange(() => slogdet(z(2, 3, 2)), square('slogdet', '[2,3,2]'));
  throwsRange(() => solve(z(2, 3), z(2)), square('solve', '[2,3]'));
  throwsRange(() => solve(eye(3), z(4)), 'solve: shapes [3,3] and [4] do not align: b must be [3] or [3,k]');
  throwsRange(() => solve(eye(3), z(4, 2)), 'solve: shapes [3,3] and [4,2] do not align: b must be [3] or [3,k]');
  throwsRange(() => solve(eye(3), z(2, 3, 1)), 'solve: shapes [3,3] and [2,3,1] do not align: b must be [3] or [3,k]');
  throwsRange(() => solve(z(2, 3, 3), z(3, 3, 1)), 'solve: shapes [2,3,3] and [3,3,1] do not align: b must be [2,3] or [2,3,k]');
  throwsRange(() => solve(z(2, 3, 3), z(3, 3)), 'solve: shapes [2,3,3] and [3,3] do not align: b must be [2,3] or [2,3,k]');
  const kind = (f: () => unknown, message: string): void => {
    assert.throws(f, (e: unknown) => e instanceof TypeError && e.message === message, message);
  };
  kind(() => inverse([[1]] as unknown as Tensor), 'inverse: argument must be a Tensor, got an array');
  kind(() => solve(eye(2), 3 as unknown as Tensor), 'solve: b must be a Tensor, got number');
  kind(() => solve(null as unknown as Tensor, eye(2)), 'solve: a must be a Tensor, got null');
});

errors('singular matrices: solve and inverse name the zero pivot (and the matrix of a batch)', () => {
  throwsRange(
    () => solve(singular, tensor([1, 2, 3])),
    'solve: matrix is singular (pivot 2 is 0: column 2 is a combination of the columns before it); ' +
      'check that the system has a unique solution, or regularize it as A + λI',
  );
  throwsRange(() => inverse(singular), /^inverse: matrix is singular \(pivot 2 is 0: column 2 is a combination of the columns before it\); regularize/);
  throwsRange(() => inverse(tensor([[0, 1], [0, 2]])), /^inverse: matrix is singular \(pivot 0 is 0: column 0 is zero\)/);
  throwsRange(() => solve(stack([eye(3), singular]), z(2, 3)), /^solve: matrix 1 of the batch \[2,3,3\] is singular \(pivot 2 is 0/);
  throwsRange(() => inverse(z(1, 1)), /^inverse: matrix is singular \(pivot 0 is 0: column 0 is zero\)/);
  // Several zero pivots: the first is named (columns 0 and 1 are both zero).
  throwsRange(() => inverse(tensor([[0, 0, 1], [0, 0, 2], [0, 0, 3]])), /^inverse: matrix is singular \(pivot 0 is 0: column 0 is zero\)/);
});

errors('singular matrices: slogdet gives sign 0 and −∞, det gives 0, their gradients throw', () => {
  const { sign, logAbsDet } = slogdet(stack([singular, eye(3)]));
  assert.equal(sign.toArray(), [0, 1]);
  assert.equal(logAbsDet.toArray(), [-Infinity, 0]);
  assert.is(det(singular).item(), 0);
  throwsRange(() => grad((x: Tensor) => slogdet(x).logAbsDet)(singular), /^slogdet: matrix is singular \(pivot 2 is 0.*\); log\|det\| is −∞ there/);
  throwsRange(() => grad(det)(singular), /^det: matrix is singular \(pivot 2 is 0.*\); the gradient there is the adjugate/);
});

errors('logdet needs det > 0 and points to slogdet', () => {
  throwsRange(() => logdet(singular), /^logdet: matrix is singular \(pivot 2 is 0.*\), so log det is −∞; use slogdet/);
  throwsRange(() => logdet(tensor([[0, 1], [1, 0]])), /^logdet: the determinant is negative \(sign -1\), so its log is undefined; use slogdet/);
  throwsRange(() => logdet(stack([eye(2), tensor([[-1, 0], [0, 2]])])), /^logdet: the determinant of matrix 1 of the batch \[2,2,2\] is negative/);
});

errors('the sign of slogdet is not differentiable and says so; logAbsDet beside it still is', () => {
  const a = tensor([[0, 2], [1, 1]]);
  assertNondifferentiable('the sign of slogdet', (x) => slogdet(x).sign, a);
  // sign · exp(logAbsDet) = det once the sign is cut, with det's gradient det·A⁻ᵀ.
  const viaLogs = grad((x: Tensor) => {
    const s = slogdet(x);
    return mul(stopGradient(s.sign), exp(s.logAbsDet));
  })(a);
  assertClose(viaLogs, grad(det)(a), 1e-15, 1e-15, 'stopGradient(sign)·exp(logAbsDet)');
  assertClose(grad(det)(a), { shape: [2, 2], data: [1, -1, -2, 0] }, 1e-15, 1e-15, '∇ det = adj(A)ᵀ');
});

grads.run();
forward.run();
errors.run();
