// Linear algebra: matmul (2-D, and batches of matrices), transpose, outer, dot.
//
// One primitive does the work: C = op(A) · op(B), where op optionally
// transposes the last two axes. Its VJP is again that primitive with other
// transpose flags, so the backward pass never copies a transpose:
//   C = A B     ⇒ dA = G Bᵀ,  dB = Aᵀ G.

import { Tensor, alloc, allocToFill, formatShape, normalizeAxis, stridesOf } from '../tensor.ts';
import { isRecording, record } from '../tape.ts';
import { checkTensor } from './define.ts';
import { mul } from './binary.ts';
import { sum } from './reduce.ts';
import { reshape, sumToShape } from './shape.ts';
import { simdActive, simdGemm, simdOuter, inArena, arenaAddRow, ARENA_MIN_LENGTH } from './simd.ts';

// ---------------------------------------------------------------- kernels
// One strided kernel computes every product: A(i, p) sits at
// A[aOff + i·sAi + p·sAp] and B(p, j) at B[bOff + p·sBp + j·sBj], so a
// transposed operand is only a swap of its two strides and is never copied.
// C is row-major [m, n] and is overwritten.
//
// The work is cut into 4×4 tiles of C. Each tile keeps its 16 sums in local
// variables through the whole p loop: per step it loads 4 values of A and 4
// of B for 16 multiply-adds, where a row-at-a-time loop loads and stores C
// at every step. Rows left over when m is not a multiple of 4 take 1×4
// tiles, columns left over 4×1 tiles, and the corner single dot products.
// An outer product (k = 1) writes C row by row instead: there the stores are
// the whole cost.

const SHORT_K = 64;
// Products with m and n at least 4, k at least 2 and at least 1024
// multiply-adds run on the WebAssembly kernel of simd.ts where it is
// available: the same bits, 1.3 to 4 times as fast from there up (below, its
// fixed cost of about half a microsecond, copies included, is more than it
// saves; a weight gradient over two samples, [32, 2]ᵀ·[2, 32], takes 0.3 µs
// there against 1.4 µs in the tiles). So do those with one
// to three columns (C = X·w, Xᵀ·g in a network's last layer) when A lives in
// the kernel's memory (an estimator's arena): its 4-column tiles waste the
// missing columns' work, but there are no copies, and each sum is tile4x1's
// and dotKernel's, from +0 in order. And the outer products of arrays there.
const SIMD_MIN_SIDE = 4, SIMD_MIN_K = 2, SIMD_MIN_WORK = 1024;
// Outer products (k = 1) of at least this many values run on the kernel's row
// kernel, copies included (a [32]·[32]ᵀ: 0.5 against 1.9 µs in the loop below).
const OUTER_MIN = 256;
// Two or three rows against a B of 256 to 16 384 values (a network's weights
// on a couple of samples) also run there. A row-major B: the kernel takes the
// rows in one pass over B where rowKernel takes one pass per row, 1.6–2.2
// times as fast here; a larger B costs more to copy into the kernel's memory
// than rowKernel's passes over it in place (a batch-1 MLP's 1.25 MB weights).
// A transposed B goes on the kernel's left side (fewRowsTransposed), 1.0–1.45
// times as fast as the tiles.
const FEW_ROWS_B_MIN = 256, FEW_ROWS_B_MAX = 16384;

function gemm(
  A: Float64Array, aOff: number, sAi: number, sAp: number,
  B: Float64Array, bOff: number, sBp: number, sBj: number,
  C: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  if (k === 1) {
    if (m * n < OUTER_MIN || !simdOuter(A, aOff, sAi, B, bOff, sBj, C, cOff, m, n)) outerKernel(A, aOff, sAi, B, bOff, sBj, C, cOff, m, n);
    return;
  }
  if (m >= SIMD_MIN_SIDE && k >= SIMD_MIN_K && m * k * n >= SIMD_MIN_WORK && (n >= SIMD_MIN_SIDE || inArena(A)) && simdGemm(A, aOff, sAi, sAp, B, bOff, sBp, sBj, C, cOff, m, k, n)) return;
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  const fewRows = m4 === 0 && m >= 2 && n >= SIMD_MIN_SIDE && k >= SIMD_MIN_SIDE && k * n >= FEW_ROWS_B_MIN && k * n <= FEW_ROWS_B_MAX;
  if (fewRows && sBj === 1 && simdGemm(A, aOff, sAi, sAp, B, bOff, sBp, sBj, C, cOff, m, k, n)) return;
  if (fewRows && sBp === 1 && fewRowsTransposed(A, aOff, sAi, sAp, B, bOff, sBj, C, cOff, m, k, n)) return;
  if (m4 === 0 && sBj === 1 && !fewRows) {
    // One row (a batch of 1), or two or three against a B the few-row products
    // above leave out, against a row-major B: a 1×4 tile would
    // walk B down its columns, 4 at a time, n/4 times; instead each row of C
    // accumulates whole rows of B in one pass, reading B in order (summing 8
    // of its rows at a time, so in another order than the tiles: the few-row
    // products above take the tiles where the kernel is missing, so that they
    // give the kernel's bits in every runtime).
    for (let i = 0; i < m; i++) rowKernel(A, aOff + i * sAi, sAp, B, bOff, sBp, C, cOff + i * n, k, n);
    return;
  }
  if (k <= SHORT_K) {
    // A short product (a weight gradient over a small batch): each tile does
    // little work for its 16 stores, so the tiles go along rows of C, which
    // are then written line after line instead of 4 values per line at a time.
    for (let i = 0; i < m4; i += 4) {
      for (let j = 0; j < n4; j += 4) tile4x4(A, aOff + i * sAi, sAi, sAp, B, bOff + j * sBj, sBp, sBj, C, cOff + i * n + j, n, k);
    }
    for (let i = m4; i < m; i++) {
      for (let j = 0; j < n4; j += 4) tile1x4(A, aOff + i * sAi, sAp, B, bOff + j * sBj, sBp, sBj, C, cOff + i * n + j, k);
    }
  } else {
    // Columns outside, rows inside: the 4 columns of B that a tile reads stay
    // in cache while every row of A passes them.
    for (let j = 0; j < n4; j += 4) {
      const b = bOff + j * sBj;
      for (let i = 0; i < m4; i += 4) tile4x4(A, aOff + i * sAi, sAi, sAp, B, b, sBp, sBj, C, cOff + i * n + j, n, k);
      for (let i = m4; i < m; i++) tile1x4(A, aOff + i * sAi, sAp, B, b, sBp, sBj, C, cOff + i * n + j, k);
    }
  }
  for (let j = n4; j < n; j++) {
    const b = bOff + j * sBj;
    for (let i = 0; i < m4; i += 4) tile4x1(A, aOff + i * sAi, sAi, sAp, B, b, sBp, C, cOff + i * n + j, n, k);
    for (let i = m4; i < m; i++) C[cOff + i * n + j] = dotKernel(A, aOff + i * sAi, sAp, B, b, sBp, k);
  }
}

// Two or three rows against a transposed B (a network's backward pass at
// n = 1: G Wᵀ, W stored [n, k]) on the kernel, as Cᵀ = W · op(A)ᵀ, whose left
// side W has n rows: Cᵀ comes out [n, m] and is transposed into C. Each sum is
// the same, in the same order. False, having written nothing, where the kernel
// is not available or declines the product (see simdGemm).
function fewRowsTransposed(
  A: Float64Array, aOff: number, sAi: number, sAp: number,
  B: Float64Array, bOff: number, sBj: number,
  C: Float64Array, cOff: number,
  m: number, k: number, n: number,
): boolean {
  if (!simdActive()) return false;
  const T = allocToFill(n * m); // the kernel writes all of it
  if (!simdGemm(B, bOff, sBj, 1, A, aOff, sAp, sAi, T, 0, n, k, m)) return false;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[cOff + i * n + j] = T[j * m + i];
  return true;
}

// Four rows of C against one column: C(i..i+3, j), each value of B loaded once for four products.
function tile4x1(A: Float64Array, a: number, sAi: number, sAp: number, B: Float64Array, b: number, sBp: number, C: Float64Array, c: number, n: number, k: number): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  const a1 = sAi, a2 = 2 * sAi, a3 = 3 * sAi;
  for (let p = 0; p < k; p++) {
    const y = B[b];
    c0 += A[a] * y;
    c1 += A[a + a1] * y;
    c2 += A[a + a2] * y;
    c3 += A[a + a3] * y;
    a += sAp;
    b += sBp;
  }
  C[c] = c0;
  C[c + n] = c1;
  C[c + 2 * n] = c2;
  C[c + 3 * n] = c3;
}

// C(i..i+3, j..j+3) = Σ_p A(i.., p) B(p, j..), with a and b pointing at A(i, 0) and B(0, j).
function tile4x4(
  A: Float64Array, a: number, sAi: number, sAp: number,
  B: Float64Array, b: number, sBp: number, sBj: number,
  C: Float64Array, c: number, n: number, k: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const a1 = sAi, a2 = 2 * sAi, a3 = 3 * sAi;
  const b1 = sBj, b2 = 2 * sBj, b3 = 3 * sBj;
  for (let p = 0; p < k; p++) {
    const x0 = A[a], x1 = A[a + a1], x2 = A[a + a2], x3 = A[a + a3];
    const y0 = B[b], y1 = B[b + b1], y2 = B[b + b2], y3 = B[b + b3];
    c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
    c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
    c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
    c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
    a += sAp;
    b += sBp;
  }
  C[c] = c00; C[c + 1] = c01; C[c + 2] = c02; C[c + 3] = c03;
  c += n;
  C[c] = c10; C[c + 1] = c11; C[c + 2] = c12; C[c + 3] = c13;
  c += n;
  C[c] = c20; C[c + 1] = c21; C[c + 2] = c22; C[c + 3] = c23;
  c += n;
  C[c] = c30; C[c + 1] = c31; C[c + 2] = c32; C[c + 3] = c33;
}

// One row of C against 4 columns: C(i, j..j+3).
function tile1x4(
  A: Float64Array, a: number, sAp: number,
  B: Float64Array, b: number, sBp: number, sBj: number,
  C: Float64Array, c: number, k: number,
): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  const b1 = sBj, b2 = 2 * sBj, b3 = 3 * sBj;
  for (let p = 0; p < k; p++) {
    const x = A[a];
    c0 += x * B[b];
    c1 += x * B[b + b1];
    c2 += x * B[b + b2];
    c3 += x * B[b + b3];
    a += sAp;
    b += sBp;
  }
  C[c] = c0; C[c + 1] = c1; C[c + 2] = c2; C[c + 3] = c3;
}

// One row of C from the rows of B (B(p, j) at B[b + p·sBp + j]): C(i, ·) = Σ_p A(i, p) B(p, ·),
// eight rows of B per pass over C.
function rowKernel(A: Float64Array, a: number, sAp: number, B: Float64Array, b: number, sBp: number, C: Float64Array, c: number, k: number, n: number): void {
  C.fill(0, c, c + n);
  const k8 = k - (k % 8);
  for (let p = 0; p < k8; p += 8) {
    const x0 = A[a + p * sAp], x1 = A[a + (p + 1) * sAp], x2 = A[a + (p + 2) * sAp], x3 = A[a + (p + 3) * sAp];
    const x4 = A[a + (p + 4) * sAp], x5 = A[a + (p + 5) * sAp], x6 = A[a + (p + 6) * sAp], x7 = A[a + (p + 7) * sAp];
    const r0 = b + p * sBp, r1 = r0 + sBp, r2 = r1 + sBp, r3 = r2 + sBp;
    const r4 = r3 + sBp, r5 = r4 + sBp, r6 = r5 + sBp, r7 = r6 + sBp;
    for (let j = 0; j < n; j++) {
      C[c + j] += (x0 * B[r0 + j] + x1 * B[r1 + j]) + (x2 * B[r2 + j] + x3 * B[r3 + j]) +
        ((x4 * B[r4 + j] + x5 * B[r5 + j]) + (x6 * B[r6 + j] + x7 * B[r7 + j]));
    }
  }
  for (let p = k8; p < k; p++) {
    const x = A[a + p * sAp];
    const r = b + p * sBp;
    for (let j = 0; j < n; j++) C[c + j] += x * B[r + j];
  }
}

function dotKernel(A: Float64Array, a: number, sAp: number, B: Float64Array, b: number, sBp: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) {
    s += A[a] * B[b];
    a += sAp;
    b += sBp;
  }
  return s;
}

// k = 1: C(i, j) = A(i, 0) B(0, j). Only stores: four rows of C per pass over
// B's row, so each value of B is loaded once for four products (V8 checks
// and reloads a typed array's bounds and base at every access, which costs
// more than the multiply).
function outerKernel(A: Float64Array, aOff: number, sAi: number, B: Float64Array, bOff: number, sBj: number, C: Float64Array, cOff: number, m: number, n: number): void {
  let i = 0;
  if (sBj === 1) {
    for (; i + 4 <= m; i += 4) {
      const x0 = A[aOff + i * sAi], x1 = A[aOff + (i + 1) * sAi], x2 = A[aOff + (i + 2) * sAi], x3 = A[aOff + (i + 3) * sAi];
      const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
      for (let j = 0; j < n; j++) {
        const y = B[bOff + j];
        C[c0 + j] = x0 * y;
        C[c1 + j] = x1 * y;
        C[c2 + j] = x2 * y;
        C[c3 + j] = x3 * y;
      }
    }
  }
  for (; i < m; i++) {
    const x = A[aOff + i * sAi];
    const c = cOff + i * n;
    for (let j = 0; j < n; j++) C[c + j] = x * B[bOff + j * sBj];
  }
}

function transposeCopy(X: Float64Array, off: number, rows: number, cols: number): Float64Array {
  const out = alloc(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = X[off + r * cols + c];
  return out;
}

// ---------------------------------------------------------------- matmul

interface MatDims {
  batch: number;
  m: number;
  k: number;
  n: number;
}

function matDims(a: Tensor, b: Tensor, ta: boolean, tb: boolean): MatDims {
  const fail = (): never => {
    throw new RangeError(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not align`);
  };
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new RangeError(`matmul: expected matrices or batches of matrices (rank 2 or 3), got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const ar = a.shape[a.rank - 2], ac = a.shape[a.rank - 1];
  const br = b.shape[b.rank - 2], bc = b.shape[b.rank - 1];
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const kb = tb ? bc : br;
  const n = tb ? br : bc;
  if (k !== kb) fail();
  const batchA = a.rank === 3 ? a.shape[0] : 1;
  const batchB = b.rank === 3 ? b.shape[0] : 1;
  if (a.rank === 3 && b.rank === 3 && batchA !== batchB) fail();
  return { batch: Math.max(batchA, batchB), m, k, n };
}

/** op(a) · op(b), where op transposes the last two axes when its flag is set. */
export function matmulT(a: Tensor, b: Tensor, ta: boolean, tb: boolean): Tensor {
  checkTensor('matmul', a);
  checkTensor('matmul', b);
  const { batch, m, k, n } = matDims(a, b, ta, tb);
  const batched = a.rank === 3 || b.rank === 3;
  const C = allocToFill(batch * m * n); // every product writes all of C (rowKernel zeroes its rows first)
  const aStep = a.rank === 3 ? m * k : 0;
  const bStep = b.rank === 3 ? k * n : 0;
  for (let t = 0; t < batch; t++) {
    const aOff = t * aStep;
    const bOff = t * bStep;
    const cOff = t * m * n;
    // op(A)(i, p): A[i, p] has strides (k, 1); Aᵀ, stored [k, m], has (1, m). Likewise for B.
    gemm(a.data, aOff, ta ? 1 : k, ta ? m : 1, b.data, bOff, tb ? 1 : n, tb ? k : 1, C, cOff, m, k, n);
  }
  const out = new Tensor(C, batched ? [batch, m, n] : [m, n]);
  if (!isRecording()) return out;
  return record('matmul', [a, b], out, (g, needs) => [
    needs[0] ? sumToShape(ta ? matmulT(b, g, tb, true) : matmulT(g, b, false, !tb), a.shape) : null,
    needs[1] ? sumToShape(tb ? matmulT(g, a, true, ta) : matmulT(a, g, !ta, false), b.shape) : null,
  ]);
}

/**
 * x·W + b for rows x [n, in], weights W [in, out] and a bias b [out], as one
 * op: a layer of a network, where matmul then add would make a second [n,
 * out] array and a second node. The bias is added to each row of the product
 * in place, each value rounded once as add rounds it, so the result has
 * add(matmul(x, W), b)'s bits. VJPs: g·Wᵀ, xᵀ·g and g summed over the rows.
 */
export function linear(x: Tensor, W: Tensor, b: Tensor): Tensor {
  checkTensor('linear', x);
  checkTensor('linear', W);
  checkTensor('linear', b);
  if (x.rank !== 2 || W.rank !== 2 || b.rank !== 1 || x.shape[1] !== W.shape[0] || b.shape[0] !== W.shape[1]) {
    throw new RangeError(`linear: shapes ${formatShape(x.shape)}, ${formatShape(W.shape)} and ${formatShape(b.shape)} do not fit x [n, in], W [in, out] and b [out]`);
  }
  const [m, k] = x.shape;
  const n = W.shape[1];
  const C = allocToFill(m * n);
  gemm(x.data, 0, k, 1, W.data, 0, n, 1, C, 0, m, k, n);
  const B = b.data;
  if (C.length < ARENA_MIN_LENGTH || !arenaAddRow(C, B, m, n)) {
    for (let row = 0; row < C.length; row += n) {
      for (let j = 0; j < n; j++) C[row + j] += B[j];
    }
  }
  const out = new Tensor(C, [m, n]);
  if (!isRecording()) return out;
  return record('linear', [x, W, b], out, (g, needs) => [
    needs[0] ? matmulT(g, W, false, true) : null,
    needs[1] ? matmulT(x, g, true, false) : null,
    needs[2] ? sumToShape(g, b.shape) : null,
  ]);
}

/**
 * Matrix product of [m,k] and [k,n], or of batches [B,m,k] and [B,k,n] (a
 * 2-D side is shared by every matrix of the batch).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return matmulT(a, b, false, false);
}

// ---------------------------------------------------------------- transpose, outer, dot

/** Permutes the axes (default: reverses them, so a matrix is transposed). */
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  checkTensor('transpose', x);
  const rank = x.rank;
  const perm = axes === undefined ? [...Array(rank).keys()].reverse() : axes.map((a) => normalizeAxis('transpose', a, rank));
  if (perm.length !== rank || new Set(perm).size !== rank) {
    throw new RangeError(`transpose: axes [${axes?.join(',')}] are not a permutation of the ${rank} axes of ${formatShape(x.shape)}`);
  }
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.shape[p]);
  let data: Float64Array;
  if (rank === 2) {
    data = transposeCopy(x.data, 0, x.shape[0], x.shape[1]);
  } else {
    const inStrides = stridesOf(x.shape);
    const strides = perm.map((p) => inStrides[p]); // input stride of each output axis
    data = alloc(x.size);
    const index = new Array<number>(rank).fill(0);
    let off = 0;
    for (let o = 0; o < data.length; o++) {
      data[o] = x.data[off];
      for (let ax = rank - 1; ax >= 0; ax--) {
        index[ax]++;
        off += strides[ax];
        if (index[ax] < shape[ax]) break;
        off -= strides[ax] * shape[ax];
        index[ax] = 0;
      }
    }
  }
  const out = new Tensor(data, shape);
  if (!isRecording()) return out;
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return record('transpose', [x], out, (g) => [transpose(g, inverse)]);
}

/** Outer product of two vectors: [m] and [n] give [m, n]. */
export function outer(a: Tensor, b: Tensor): Tensor {
  checkTensor('outer', a);
  checkTensor('outer', b);
  if (a.rank !== 1 || b.rank !== 1) {
    throw new RangeError(`outer: expected two vectors, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  return mul(reshape(a, [a.size, 1]), reshape(b, [1, b.size]));
}

/** Inner product of two vectors of equal length. */
export function dot(a: Tensor, b: Tensor): Tensor {
  checkTensor('dot', a);
  checkTensor('dot', b);
  if (a.rank !== 1 || b.rank !== 1 || a.size !== b.size) {
    throw new RangeError(`dot: expected two vectors of equal length, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  return sum(mul(a, b));
}

