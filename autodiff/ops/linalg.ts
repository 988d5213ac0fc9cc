// Linear algebra: matmul (2-D, and batches of matrices), transpose, outer, dot.
//
// One primitive does the work: C = op(A) · op(B), where op optionally
// transposes the last two axes. Its VJP is again that primitive with other
// transpose flags, so the backward pass never copies a transpose:
//   C = A B     ⇒ dA = G Bᵀ,  dB = Aᵀ G.

import { Tensor, formatShape, normalizeAxis, stridesOf } from '../tensor.ts';
import { isRecording, record } from '../tape.ts';
import { checkTensor } from './define.ts';
import { mul } from './binary.ts';
import { sum } from './reduce.ts';
import { reshape, sumToShape } from './shape.ts';

// ---------------------------------------------------------------- kernels
// Row-major. A(i, p) sits at aOff + i·sI + p·sP, so one kernel covers A and
// Aᵀ. The i-p-j order streams rows of B and C; four values of p at a time
// quarter the loads and stores of C; blocks of KB rows of B stay in cache.

const KB = 64;

function gemmRowsOfB(
  A: Float64Array, aOff: number, sI: number, sP: number,
  B: Float64Array, bOff: number,
  C: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  for (let p0 = 0; p0 < k; p0 += KB) {
    const p1 = Math.min(p0 + KB, k);
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n;
      const ai = aOff + i * sI;
      let p = p0;
      for (; p + 3 < p1; p += 4) {
        const a0 = A[ai + p * sP];
        const a1 = A[ai + (p + 1) * sP];
        const a2 = A[ai + (p + 2) * sP];
        const a3 = A[ai + (p + 3) * sP];
        const b0 = bOff + p * n;
        const b1 = b0 + n;
        const b2 = b1 + n;
        const b3 = b2 + n;
        for (let j = 0; j < n; j++) {
          C[ci + j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
        }
      }
      for (; p < p1; p++) {
        const a = A[ai + p * sP];
        const bp = bOff + p * n;
        for (let j = 0; j < n; j++) C[ci + j] += a * B[bp + j];
      }
    }
  }
}

// C = A Bᵀ with B stored [n, k]: each C(i, j) is a dot product of two rows.
function gemmRowDots(
  A: Float64Array, aOff: number,
  B: Float64Array, bOff: number,
  C: Float64Array, cOff: number,
  m: number, k: number, n: number,
): void {
  for (let i = 0; i < m; i++) {
    const ai = aOff + i * k;
    for (let j = 0; j < n; j++) {
      const bj = bOff + j * k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let p = 0;
      for (; p + 3 < k; p += 4) {
        s0 += A[ai + p] * B[bj + p];
        s1 += A[ai + p + 1] * B[bj + p + 1];
        s2 += A[ai + p + 2] * B[bj + p + 2];
        s3 += A[ai + p + 3] * B[bj + p + 3];
      }
      for (; p < k; p++) s0 += A[ai + p] * B[bj + p];
      C[cOff + i * n + j] = s0 + s1 + s2 + s3;
    }
  }
}

function transposeCopy(X: Float64Array, off: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
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
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
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
  const C = new Float64Array(batch * m * n);
  const aStep = a.rank === 3 ? m * k : 0;
  const bStep = b.rank === 3 ? k * n : 0;
  for (let t = 0; t < batch; t++) {
    const aOff = t * aStep;
    const bOff = t * bStep;
    const cOff = t * m * n;
    if (!tb) {
      gemmRowsOfB(a.data, aOff, ta ? 1 : k, ta ? m : 1, b.data, bOff, C, cOff, m, k, n);
    } else if (!ta) {
      gemmRowDots(a.data, aOff, b.data, bOff, C, cOff, m, k, n);
    } else {
      // Aᵀ Bᵀ: rare (second order of a doubly transposed product); copy B once.
      const bt = transposeCopy(b.data, bOff, n, k);
      gemmRowsOfB(a.data, aOff, 1, m, bt, 0, C, cOff, m, k, n);
    }
  }
  const out = new Tensor(C, batched ? [batch, m, n] : [m, n]);
  if (!isRecording()) return out;
  return record('matmul', [a, b], out, (g, needs) => [
    needs[0] ? sumToShape(ta ? matmulT(b, g, tb, true) : matmulT(g, b, false, !tb), a.shape) : null,
    needs[1] ? sumToShape(tb ? matmulT(g, a, true, ta) : matmulT(a, g, !ta, false), b.shape) : null,
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
    data = new Float64Array(x.size);
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

