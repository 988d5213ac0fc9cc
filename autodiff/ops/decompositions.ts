// Square-matrix ops from one LU factorization: inverse, solve, slogdet,
// logdet, det, on a matrix [n,n] or a batch of them [B,n,n].
//
// Gaussian elimination with partial pivoting (Golub & Van Loan, "Matrix
// Computations", 4th ed., Alg. 3.4.1) factors P A = L U, with L unit lower
// triangular and U upper triangular; then
//   det A = (−1)^swaps · Π u_kk,    A X = B  ⇔  L U X = P B,    Aᵀ X = B  ⇔  Uᵀ Lᵀ (P X) = B.
// The derivatives (Giles 2008, "An extended collection of matrix derivative
// results for forward and reverse mode AD", §2.2.2–2.2.3):
//   W = A⁻¹        ⇒  dA = −Wᵀ G Wᵀ
//   X = A⁻¹ B      ⇒  dB = A⁻ᵀ G,  dA = −dB Xᵀ
//   y = log|det A| ⇒  dA = g A⁻ᵀ
//   y = det A      ⇒  dA = g det(A) A⁻ᵀ
// Each VJP is written with differentiable ops (matmul, transpose and these
// ops themselves), so grad of grad works. The forward's factorization of A
// is handed to the solves and inverses of the backward pass, which see the
// same A: one factorization serves every order of derivative.

import { Tensor, formatShape } from '../tensor.ts';
import { isRecording, record, recordNondifferentiable } from '../tape.ts';
import { checkTensor } from './define.ts';
import { mul } from './binary.ts';
import { neg } from './unary.ts';
import { reshape } from './shape.ts';
import { matmulT, transpose } from './linalg.ts';

// ---------------------------------------------------------------- LU factorization

/** P A = L U for every matrix of a batch; the numbers only, no graph. */
interface Factorization {
  batch: number;
  n: number;
  /** [batch, n, n]: L strictly below the diagonal (its unit diagonal implied), U on and above. */
  lu: Float64Array;
  /** [batch, n]: row i of P A is row perm[i] of A. */
  perm: Int32Array;
  /** [batch]: det P = (−1)^(number of row swaps). */
  parity: Int8Array;
  /** [batch]: the first pivot that is exactly 0, or −1 when the matrix is nonsingular. */
  zeroPivot: Int32Array;
}

function factor(a: Tensor, batch: number, n: number): Factorization {
  const lu = a.data.slice();
  const perm = new Int32Array(batch * n);
  const parity = new Int8Array(batch);
  const zeroPivot = new Int32Array(batch).fill(-1);
  for (let t = 0; t < batch; t++) {
    const o = t * n * n;
    for (let i = 0; i < n; i++) perm[t * n + i] = i;
    let sign = 1;
    for (let k = 0; k < n; k++) {
      // Partial pivoting: the largest |a_ik| on or below the diagonal becomes
      // the pivot, so every multiplier has |l_ik| ≤ 1 and growth stays small.
      // `!(v <= best)` also picks a NaN, and the search stops there, so a
      // NaN propagates to the result instead of passing for a zero pivot.
      let p = k;
      let best = Math.abs(lu[o + k * n + k]);
      for (let i = k + 1; i < n && best === best; i++) {
        const v = Math.abs(lu[o + i * n + k]);
        if (!(v <= best)) {
          best = v;
          p = i;
        }
      }
      if (p !== k) {
        const rk = o + k * n;
        const rp = o + p * n;
        for (let j = 0; j < n; j++) {
          const tmp = lu[rk + j];
          lu[rk + j] = lu[rp + j];
          lu[rp + j] = tmp;
        }
        const tmp = perm[t * n + k];
        perm[t * n + k] = perm[t * n + p];
        perm[t * n + p] = tmp;
        sign = -sign;
      }
      const rk = o + k * n;
      const pivot = lu[rk + k];
      if (pivot === 0) {
        // The whole column below is 0 too: nothing to eliminate (as LAPACK's getrf does).
        if (zeroPivot[t] < 0) zeroPivot[t] = k;
        continue;
      }
      for (let i = k + 1; i < n; i++) {
        const ri = o + i * n;
        const l = lu[ri + k] / pivot;
        lu[ri + k] = l;
        if (l === 0) continue;
        for (let j = k + 1; j < n; j++) lu[ri + j] -= l * lu[rk + j];
      }
    }
    parity[t] = sign;
  }
  return { batch, n, lu, perm, parity, zeroPivot };
}

// X (n rows of m, at xo) holds P B on entry and A⁻¹ B on exit.
function substitute(f: Factorization, t: number, X: Float64Array, xo: number, m: number): void {
  const { n, lu } = f;
  const o = t * n * n;
  // L Y = P B, from the first row down (L has a unit diagonal).
  for (let i = 1; i < n; i++) {
    const xi = xo + i * m;
    for (let j = 0; j < i; j++) {
      const l = lu[o + i * n + j];
      if (l === 0) continue;
      const xj = xo + j * m;
      for (let c = 0; c < m; c++) X[xi + c] -= l * X[xj + c];
    }
  }
  // U X = Y, from the last row up.
  for (let i = n - 1; i >= 0; i--) {
    const xi = xo + i * m;
    for (let j = i + 1; j < n; j++) {
      const u = lu[o + i * n + j];
      if (u === 0) continue;
      const xj = xo + j * m;
      for (let c = 0; c < m; c++) X[xi + c] -= u * X[xj + c];
    }
    const d = lu[o + i * n + i];
    for (let c = 0; c < m; c++) X[xi + c] /= d;
  }
}

// Z (n rows of m, at zo) holds B on entry and P A⁻ᵀ B on exit: Aᵀ = Uᵀ Lᵀ P.
function substituteTransposed(f: Factorization, t: number, Z: Float64Array, zo: number, m: number): void {
  const { n, lu } = f;
  const o = t * n * n;
  // Uᵀ W = B: Uᵀ is lower triangular, its row i is column i of U.
  for (let i = 0; i < n; i++) {
    const zi = zo + i * m;
    for (let j = 0; j < i; j++) {
      const u = lu[o + j * n + i];
      if (u === 0) continue;
      const zj = zo + j * m;
      for (let c = 0; c < m; c++) Z[zi + c] -= u * Z[zj + c];
    }
    const d = lu[o + i * n + i];
    for (let c = 0; c < m; c++) Z[zi + c] /= d;
  }
  // Lᵀ Y = W: unit upper triangular, from the last row up.
  for (let i = n - 1; i >= 0; i--) {
    const zi = zo + i * m;
    for (let j = i + 1; j < n; j++) {
      const l = lu[o + j * n + i];
      if (l === 0) continue;
      const zj = zo + j * m;
      for (let c = 0; c < m; c++) Z[zi + c] -= l * Z[zj + c];
    }
  }
}

// ---------------------------------------------------------------- checks

interface SquareDims {
  batch: number;
  n: number;
  batched: boolean;
}

function squareDims(op: string, a: unknown, what = 'argument'): SquareDims {
  checkTensor(op, a, what);
  const r = a.rank;
  if ((r !== 2 && r !== 3) || a.shape[r - 1] !== a.shape[r - 2]) {
    throw new RangeError(`${op}: expected a square matrix [n,n] or a batch of them [B,n,n], got shape ${formatShape(a.shape)}`);
  }
  return { batch: r === 3 ? a.shape[0] : 1, n: a.shape[r - 1], batched: r === 3 };
}

/** "matrix" or "matrix 2 of the batch [4,3,3]", for messages. */
function whichMatrix(a: Tensor, t: number): string {
  return a.rank === 3 ? `matrix ${t} of the batch ${formatShape(a.shape)}` : 'matrix';
}

function describePivot(k: number): string {
  return k === 0 ? 'pivot 0 is 0: column 0 is zero' : `pivot ${k} is 0: column ${k} is a combination of the columns before it`;
}

/** Throws if some matrix of the batch has a zero pivot. */
function assertNonsingular(op: string, a: Tensor, f: Factorization, fix: string): void {
  for (let t = 0; t < f.batch; t++) {
    const k = f.zeroPivot[t];
    if (k >= 0) throw new RangeError(`${op}: ${whichMatrix(a, t)} is singular (${describePivot(k)}); ${fix}`);
  }
}

const SINGULAR_FIX = 'check that the system has a unique solution, or regularize it as A + λI';

/** The last two axes swapped. */
function transposeLast(x: Tensor): Tensor {
  return x.rank === 3 ? transpose(x, [0, 2, 1]) : transpose(x);
}

/** g of shape [] or [B], shaped to broadcast against matrices [n,n] or [B,n,n]. */
function perMatrix(g: Tensor, batched: boolean): Tensor {
  return batched ? reshape(g, [g.size, 1, 1]) : g;
}

// ---------------------------------------------------------------- primitives
// Each takes A's factorization (already checked where it must be
// nonsingular), so the backward pass factors nothing again.

// W = A⁻¹; dA = −Wᵀ G Wᵀ, reusing the output.
function inverseFrom(a: Tensor, f: Factorization): Tensor {
  const { batch, n } = f;
  const W = new Float64Array(batch * n * n);
  for (let t = 0; t < batch; t++) {
    const wo = t * n * n;
    // P I: row i is the unit row e_perm[i].
    for (let i = 0; i < n; i++) W[wo + i * n + f.perm[t * n + i]] = 1;
    substitute(f, t, W, wo, n);
  }
  const out = new Tensor(W, a.shape);
  if (!isRecording()) return out;
  return record('inverse', [a], out, (g) => [neg(matmulT(out, matmulT(g, out, false, true), true, false))]);
}

// X = A⁻¹ B (or A⁻ᵀ B when `transposed`), B [n,m] or [B,n,m] with the batch of A.
//   X = A⁻¹ B:  Y = A⁻ᵀ G,  dB = Y,  dA = −Y Xᵀ
//   X = A⁻ᵀ B:  Y = A⁻¹ G,  dB = Y,  dA = −X Yᵀ   (the same rule for Aᵀ, transposed)
function solveFrom(a: Tensor, b: Tensor, f: Factorization, transposed: boolean): Tensor {
  const { batch, n } = f;
  const m = b.shape[b.rank - 1];
  const B = b.data;
  const X = new Float64Array(batch * n * m);
  const scratch = transposed ? new Float64Array(n * m) : X;
  for (let t = 0; t < batch; t++) {
    const xo = t * n * m;
    if (transposed) {
      scratch.set(B.subarray(xo, xo + n * m));
      substituteTransposed(f, t, scratch, 0, m);
      // X = Pᵀ (P X): row i of P X is row perm[i] of X.
      for (let i = 0; i < n; i++) X.set(scratch.subarray(i * m, (i + 1) * m), xo + f.perm[t * n + i] * m);
    } else {
      for (let i = 0; i < n; i++) {
        const src = xo + f.perm[t * n + i] * m;
        X.set(B.subarray(src, src + m), xo + i * m);
      }
      substitute(f, t, X, xo, m);
    }
  }
  const out = new Tensor(X, b.shape);
  if (!isRecording()) return out;
  return record('solve', [a, b], out, (g, needs) => {
    const y = solveFrom(a, g, f, !transposed);
    const da = needs[0] ? neg(transposed ? matmulT(out, y, false, true) : matmulT(y, out, false, true)) : null;
    return [da, needs[1] ? y : null];
  });
}

// log|det A| per matrix: [] or [B]; dA = g A⁻ᵀ.
function logAbsDetFrom(op: string, a: Tensor, f: Factorization, batched: boolean): Tensor {
  const out = new Tensor(logAbsDetValues(f), batched ? [f.batch] : []);
  if (!isRecording()) return out;
  return record(op, [a], out, (g) => {
    assertNonsingular(op, a, f, 'log|det| is −∞ there and has no gradient');
    return [mul(perMatrix(g, batched), transposeLast(inverseFrom(a, f)))];
  });
}

function logAbsDetValues(f: Factorization): Float64Array {
  const { batch, n, lu } = f;
  const out = new Float64Array(batch);
  for (let t = 0; t < batch; t++) {
    if (f.zeroPivot[t] >= 0) {
      out[t] = -Infinity;
      continue;
    }
    // A sum of logs, not the log of a product: no overflow or underflow for large n.
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.log(Math.abs(lu[t * n * n + k * n + k]));
    out[t] = s;
  }
  return out;
}

function signValues(f: Factorization): Float64Array {
  const { batch, n, lu } = f;
  const out = new Float64Array(batch);
  for (let t = 0; t < batch; t++) {
    if (f.zeroPivot[t] >= 0) continue;
    let s: number = f.parity[t];
    for (let k = 0; k < n; k++) s *= Math.sign(lu[t * n * n + k * n + k]);
    out[t] = s;
  }
  return out;
}

// ---------------------------------------------------------------- public ops

/**
 * The inverse A⁻¹ of a square matrix [n,n], or of each matrix of a batch
 * [B,n,n]. Throws a RangeError naming the zero pivot if a matrix is singular.
 * To apply A⁻¹ to a vector or matrix, `solve(A, B)` is cheaper and more accurate.
 */
export function inverse(a: Tensor): Tensor {
  const { batch, n } = squareDims('inverse', a);
  const f = factor(a, batch, n);
  assertNonsingular('inverse', a, f, 'regularize it as A + λI, or use slogdet if only the determinant is needed');
  return inverseFrom(a, f);
}

/**
 * X = A⁻¹ B, the solution of A X = B, by LU with partial pivoting. A is
 * [n,n] with B a vector [n] or a matrix [n,k]; or A is a batch [B,n,n] with
 * B [B,n] (one vector per matrix) or [B,n,k]. X has the shape of B.
 * Throws a RangeError naming the zero pivot if a matrix is singular.
 */
export function solve(a: Tensor, b: Tensor): Tensor {
  const { batch, n, batched } = squareDims('solve', a, 'a');
  checkTensor('solve', b, 'b');
  const vector = b.rank === a.rank - 1;
  const aligned =
    (vector || b.rank === a.rank) &&
    b.shape[vector ? b.rank - 1 : b.rank - 2] === n &&
    (!batched || b.shape[0] === batch);
  if (!aligned) {
    const expected = batched ? `[${batch},${n}] or [${batch},${n},k]` : `[${n}] or [${n},k]`;
    throw new RangeError(`solve: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not align: b must be ${expected}`);
  }
  const f = factor(a, batch, n);
  assertNonsingular('solve', a, f, SINGULAR_FIX);
  if (!vector) return solveFrom(a, b, f, false);
  const x = solveFrom(a, reshape(b, [...b.shape, 1]), f, false);
  return reshape(x, b.shape);
}

/** The result of slogdet: det A = sign · exp(logAbsDet). */
export interface Slogdet {
  /** −1, 0 or +1 per matrix ([] or [B]); not differentiable. */
  sign: Tensor;
  /** log|det A| per matrix ([] or [B]); −Infinity for a singular matrix. */
  logAbsDet: Tensor;
}

/**
 * The sign and the log of the absolute value of the determinant of a square
 * matrix [n,n] (shapes []) or of each matrix of a batch [B,n,n] (shapes [B]).
 * Stable where det itself would overflow or underflow. A singular matrix has
 * sign 0 and logAbsDet −Infinity (its gradient then throws). The gradient of
 * logAbsDet is A⁻ᵀ; `sign` is piecewise constant and throws if differentiated
 * (wrap it in stopGradient).
 */
export function slogdet(a: Tensor): Slogdet {
  const { batch, n, batched } = squareDims('slogdet', a);
  const f = factor(a, batch, n);
  const shape = batched ? [batch] : [];
  let sign = new Tensor(signValues(f), shape);
  if (isRecording()) sign = recordNondifferentiable('the sign of slogdet', [a], sign);
  return { sign, logAbsDet: logAbsDetFrom('slogdet', a, f, batched) };
}

/**
 * log det A for a matrix [n,n] (shape []) or each matrix of a batch [B,n,n]
 * (shape [B]) whose determinant is positive, e.g. symmetric positive
 * definite; its gradient is A⁻ᵀ. Throws a RangeError if some determinant is
 * 0 or negative: use slogdet there.
 */
export function logdet(a: Tensor): Tensor {
  const { batch, n, batched } = squareDims('logdet', a);
  const f = factor(a, batch, n);
  const signs = signValues(f);
  for (let t = 0; t < batch; t++) {
    if (f.zeroPivot[t] >= 0) {
      throw new RangeError(
        `logdet: ${whichMatrix(a, t)} is singular (${describePivot(f.zeroPivot[t])}), so log det is −∞; ` +
          `use slogdet, which returns sign 0 and logAbsDet −Infinity`,
      );
    }
    if (!(signs[t] > 0)) {
      throw new RangeError(
        `logdet: the determinant${a.rank === 3 ? ` of matrix ${t} of the batch ${formatShape(a.shape)}` : ''} is negative ` +
          `(sign ${signs[t]}), so its log is undefined; ` +
          `use slogdet for log|det| and the sign`,
      );
    }
  }
  return logAbsDetFrom('logdet', a, f, batched);
}

/**
 * The determinant of a matrix [n,n] (shape []) or of each matrix of a batch
 * [B,n,n] (shape [B]); 0 for a singular matrix. Its gradient det(A) A⁻ᵀ
 * needs A nonsingular and throws otherwise. For large n the determinant
 * overflows or underflows easily: prefer slogdet or logdet.
 */
export function det(a: Tensor): Tensor {
  const { batch, n, batched } = squareDims('det', a);
  const f = factor(a, batch, n);
  const signs = signValues(f);
  const values = new Float64Array(batch);
  for (let t = 0; t < batch; t++) {
    if (f.zeroPivot[t] >= 0) continue;
    let d = signs[t];
    for (let k = 0; k < n; k++) d *= Math.abs(f.lu[t * n * n + k * n + k]);
    values[t] = d;
  }
  // Where the running product overflowed or underflowed although the
  // determinant may be representable, take it from the sum of logs instead.
  const logs = logAbsDetValues(f);
  for (let t = 0; t < batch; t++) {
    if (f.zeroPivot[t] < 0 && (values[t] === 0 || !Number.isFinite(values[t]))) values[t] = signs[t] * Math.exp(logs[t]);
  }
  const out = new Tensor(values, batched ? [batch] : []);
  if (!isRecording()) return out;
  return record('det', [a], out, (g) => {
    assertNonsingular('det', a, f, 'the gradient there is the adjugate, which det does not compute');
    return [mul(perMatrix(mul(g, out), batched), transposeLast(inverseFrom(a, f)))];
  });
}
