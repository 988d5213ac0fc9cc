// autodiff/ops/linalg.ts: matmul (2-D, batched 3-D, and a 2-D side shared
// by a batch), linear (x·W + b), transpose with any permutation, outer, dot.
//   gradients: checkGrads, first and second order, in both inputs, on
//   fast-check sizes (including sizes past the kernel's 4-wide unrolling and
//   its 64-row blocks), and the internal matmulT for all four transpose flags;
//   forward: against a naive triple loop; linear has add(matmul(x, W), b)'s
//   bits (both rows-at-a-time kernels and the WebAssembly one), and so do its
//   gradients of first and second order; errors name the op and the shapes.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { Tensor, tensor, matmul, linear, add, sum, tanh, grad, transpose, outer, dot, square } from '../../../index.ts';
import { matmulT } from '../../../autodiff/ops/linalg.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import { SEED, shapeArb, tensorOf, real, unravel, ravel, sizeOfShape, assertClose } from '../helpers.ts';

const values = real(-2, 2);
const dim = fc.integer({ min: 1, max: 6 });

type Layout = '2-D' | 'batched' | '2-D × batch' | 'batch × 2-D';

/** Operands for matmul in one of the layouts. */
function matmulArb(layout: Layout, d: fc.Arbitrary<number> = dim): fc.Arbitrary<[Tensor, Tensor]> {
  return fc.tuple(fc.integer({ min: 1, max: 3 }), d, d, d).chain(([b, m, k, n]) => {
    const sa = layout === 'batched' || layout === 'batch × 2-D' ? [b, m, k] : [m, k];
    const sb = layout === 'batched' || layout === '2-D × batch' ? [b, k, n] : [k, n];
    return fc.tuple(tensorOf(sa, values), tensorOf(sb, values));
  });
}

/** Naive C[t, i, j] = Σ_p A[t, i, p] B[t, p, j], a 2-D side shared across the batch. */
function refMatmul(a: Tensor, b: Tensor): { shape: number[]; data: number[] } {
  const batch = a.rank === 3 ? a.shape[0] : b.rank === 3 ? b.shape[0] : 0;
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.rank - 1];
  const data: number[] = [];
  for (let t = 0; t < Math.max(batch, 1); t++) {
    const aOff = a.rank === 3 ? t * m * k : 0;
    const bOff = b.rank === 3 ? t * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[aOff + i * k + p] * b.data[bOff + p * n + j];
        data.push(s);
      }
    }
  }
  return { shape: batch > 0 ? [batch, m, n] : [m, n], data };
}

/** Plain transpose of the last two axes, as a new tensor (no engine op). */
function swapLast(x: Tensor): Tensor {
  const shape = [...x.shape];
  const r = shape.length;
  [shape[r - 2], shape[r - 1]] = [shape[r - 1], shape[r - 2]];
  const data = new Float64Array(x.size);
  for (let o = 0; o < x.size; o++) {
    const idx = unravel(o, shape);
    [idx[r - 2], idx[r - 1]] = [idx[r - 1], idx[r - 2]];
    data[o] = x.data[ravel(idx, x.shape)];
  }
  return new Tensor(data, shape);
}

const layouts: Layout[] = ['2-D', 'batched', '2-D × batch', 'batch × 2-D'];

// ---------------------------------------------------------------- gradients

const grads = suite('linalg: gradients against central differences');

for (const layout of layouts) {
  grads(`matmul ${layout}: first and second order in both inputs`, () => {
    fc.assert(
      fc.property(matmulArb(layout), fc.nat(), ([a, b], seed) => {
        checkGrads(matmul, [a, b], { order: 2, seed });
        checkGrads((x, y) => square(matmul(x, y)), [a, b], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 15 },
    );
  });
}

grads('linear: first and second order in x, W and b, under tanh and squared', () => {
  const arb = fc.tuple(dim, dim, dim).chain(([m, k, n]) => fc.tuple(tensorOf([m, k], values), tensorOf([k, n], values), tensorOf([n], values)));
  fc.assert(
    fc.property(arb, fc.nat(), ([x, w, b], seed) => {
      checkGrads(linear, [x, w, b], { order: 2, seed });
      checkGrads((p, q, r) => square(tanh(linear(p, q, r))), [x, w, b], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 15 },
  );
});

grads('matmul past the unrolled and blocked paths (k = 70 > 64, odd sizes)', () => {
  const [a, b] = fc.sample(matmulArb('2-D', fc.constantFrom(5, 70)), { seed: SEED, numRuns: 1 })[0];
  checkGrads((x, y) => square(matmul(x, y)), [a, b], { order: 2, seed: 1 });
  const [p, q] = fc.sample(fc.tuple(tensorOf([2, 70], values), tensorOf([70, 3], values)), { seed: SEED, numRuns: 1 })[0];
  checkGrads((x, y) => square(matmul(x, y)), [p, q], { order: 2, seed: 2 });
});

grads('matmul with one to three rows (the row kernel: eight rows of B per pass, and the rest)', () => {
  for (const m of [1, 2, 3]) {
    for (const k of [8, 17]) {
      const [a, b] = fc.sample(fc.tuple(tensorOf([m, k], values), tensorOf([k, 5], values)), { seed: SEED + m + k, numRuns: 1 })[0];
      assertClose(matmul(a, b), refMatmul(a, b), 1e-13, 1e-13, `[${m}, ${k}] · [${k}, 5]`);
      checkGrads((x, y) => square(matmul(x, y)), [a, b], { order: 2, seed: m * k });
    }
  }
});

grads('matmulT (the primitive behind matmul and its VJPs) for all four transpose flags', () => {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    fc.assert(
      fc.property(matmulArb('batched'), fc.nat(), ([a, b], seed) => {
        const A = ta ? swapLast(a) : a;
        const B = tb ? swapLast(b) : b;
        assertClose(matmulT(A, B, ta, tb), refMatmul(a, b), 1e-13, 1e-13, `matmulT(${ta}, ${tb})`);
        checkGrads((x, y) => square(matmulT(x, y, ta, tb)), [A, B], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 8 },
    );
  }
});

grads('transpose with random permutations (default reverses), ranks 0–4', () => {
  const arb = shapeArb({ minRank: 0, maxRank: 4, maxDim: 3 }).chain((s) =>
    fc.tuple(tensorOf(s, values), fc.option(fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }), { nil: undefined })),
  );
  fc.assert(
    fc.property(arb, fc.nat(), ([x, perm], seed) => {
      checkGrads((t) => transpose(t, perm), [x], { order: 2, seed });
      checkGrads((t) => square(transpose(t, perm)), [x], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 30 },
  );
});

grads('outer and dot, first and second order', () => {
  fc.assert(
    fc.property(dim, dim, fc.nat(), (m, n, seed) => {
      const [a, b, c] = fc.sample(fc.tuple(tensorOf([m], values), tensorOf([n], values), tensorOf([m], values)), { seed, numRuns: 1 })[0];
      checkGrads((x, y) => square(outer(x, y)), [a, b], { order: 2, seed });
      checkGrads((x, y) => square(dot(x, y)), [a, c], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 15 },
  );
});

// ---------------------------------------------------------------- forward values

const forward = suite('linalg: forward values');

for (const layout of layouts) {
  forward(`matmul ${layout}: matches the naive triple loop`, () => {
    fc.assert(
      fc.property(matmulArb(layout, fc.integer({ min: 1, max: 9 })), ([a, b]) => {
        assertClose(matmul(a, b), refMatmul(a, b), 1e-13, 1e-13, 'matmul');
      }),
      { seed: SEED, numRuns: 30 },
    );
  });
}

forward('matmul of a 70 × 130 by 130 × 67 matrix (blocked path) matches the naive loop', () => {
  const [a, b] = fc.sample(fc.tuple(tensorOf([70, 130], values), tensorOf([130, 67], values)), { seed: SEED, numRuns: 1 })[0];
  assertClose(matmul(a, b), refMatmul(a, b), 1e-12, 1e-12, 'matmul');
});

forward('a short product (k ≤ 64, tiles along rows) of 70 × 24 by 24 × 67 matches the naive loop, and so does its transposed form', () => {
  const [a, b] = fc.sample(fc.tuple(tensorOf([70, 24], values), tensorOf([24, 67], values)), { seed: SEED, numRuns: 1 })[0];
  assertClose(matmul(a, b), refMatmul(a, b), 1e-12, 1e-12, 'matmul');
  assertClose(transpose(matmul(transpose(b), transpose(a))), refMatmul(a, b), 1e-12, 1e-12, 'transposed');
});

forward('linear has add(matmul(x, W), b)\'s bits, and so have its first and second derivatives', () => {
  // [1, 7] and [3, 7] take the row kernels, [40, 12] the tiles or the WebAssembly kernel.
  for (const [m, k, n] of [[1, 7, 5], [3, 7, 5], [40, 12, 9]]) {
    const [x, w, b] = fc.sample(fc.tuple(tensorOf([m, k], values), tensorOf([k, n], values), tensorOf([n], values)), { seed: SEED + m, numRuns: 1 })[0];
    const fused = (p: Tensor, q: Tensor, r: Tensor): Tensor => sum(square(tanh(linear(p, q, r))));
    const apart = (p: Tensor, q: Tensor, r: Tensor): Tensor => sum(square(tanh(add(matmul(p, q), r))));
    assert.equal(Array.from(linear(x, w, b).data), Array.from(add(matmul(x, w), b).data), `[${m}, ${k}] · [${k}, ${n}]`);
    const first = grad(fused, { argnums: [0, 1, 2] })(x, w, b);
    const firstApart = grad(apart, { argnums: [0, 1, 2] })(x, w, b);
    first.forEach((g: Tensor, i: number) => assert.equal(Array.from(g.data), Array.from(firstApart[i].data), `first, argument ${i}`));
    // The gradient of Σ ∇_W f, a second derivative through every input.
    const second = grad((p: Tensor, q: Tensor, r: Tensor) => sum(grad(fused, { argnums: 1 })(p, q, r)), { argnums: [0, 1, 2] })(x, w, b);
    const secondApart = grad((p: Tensor, q: Tensor, r: Tensor) => sum(grad(apart, { argnums: 1 })(p, q, r)), { argnums: [0, 1, 2] })(x, w, b);
    second.forEach((g: Tensor, i: number) => assert.equal(Array.from(g.data), Array.from(secondApart[i].data), `second, argument ${i}`));
  }
});

forward('products with k = 1 (four rows of C per pass, then one at a time) match the naive loop exactly, for 1 to 9 rows', () => {
  const arb = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })).chain(([m, n]) => fc.tuple(tensorOf([m, 1], values), tensorOf([1, n], values)));
  fc.assert(fc.property(arb, ([a, b]) => assertClose(matmul(a, b), refMatmul(a, b), 0, 0, 'matmul')), { seed: SEED, numRuns: 60 });
});

forward('transpose matches index permutation; outer and dot match their definitions', () => {
  const arb = shapeArb({ minRank: 0, maxRank: 4, maxDim: 3 }).chain((s) =>
    fc.tuple(tensorOf(s, values), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })),
  );
  fc.assert(
    fc.property(arb, ([x, perm]) => {
      const shape = perm.map((p) => x.shape[p]);
      const data = Array.from({ length: sizeOfShape(shape) }, (_, o) => {
        const idx = unravel(o, shape);
        const src = new Array<number>(x.rank);
        perm.forEach((p, i) => (src[p] = idx[i]));
        return x.data[ravel(src, x.shape)];
      });
      assertClose(transpose(x, perm), { shape, data }, 0, 0, 'transpose');
    }),
    { seed: SEED, numRuns: 40 },
  );
  assert.equal(transpose(tensor([[1, 2, 3], [4, 5, 6]])).toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.equal(outer(tensor([1, 2]), tensor([3, 4, 5])).toArray(), [[3, 4, 5], [6, 8, 10]]);
  assert.is(dot(tensor([1, 2, 3]), tensor([4, 5, 6])).item(), 32);
});

forward('errors name the op and the shapes', () => {
  const fails = (f: () => unknown, message: string | RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof RangeError && (typeof message === 'string' ? (e as Error).message === message : message.test((e as Error).message)), String(message));
  };
  const z = (...s: number[]): Tensor => tensor(new Float64Array(s.reduce((a, b) => a * b, 1)), s);
  fails(() => matmul(z(3, 4), z(5, 2)), 'matmul: shapes [3,4] and [5,2] do not align');
  fails(() => matmul(z(2, 3, 4), z(3, 4, 2)), 'matmul: shapes [2,3,4] and [3,4,2] do not align');
  fails(() => matmul(z(4), z(4, 2)), /^matmul: expected matrices or batches of matrices \(rank 2 or 3\), got shapes \[4\] and \[4,2\]/);
  fails(() => transpose(z(2, 3), [0, 0]), /^transpose: axes \[0,0\] are not a permutation of the 2 axes of \[2,3\]/);
  fails(() => outer(z(2, 2), z(2)), /^outer: expected two vectors, got shapes \[2,2\] and \[2\]/);
  fails(() => dot(z(3), z(4)), /^dot: expected two vectors of equal length, got shapes \[3\] and \[4\]/);
  fails(() => linear(z(2, 3), z(4, 5), z(5)), 'linear: shapes [2,3], [4,5] and [5] do not fit x [n, in], W [in, out] and b [out]');
  fails(() => linear(z(2, 3), z(3, 5), z(1, 5)), 'linear: shapes [2,3], [3,5] and [1,5] do not fit x [n, in], W [in, out] and b [out]');
  fails(() => linear(z(3), z(3, 5), z(5)), /^linear: shapes \[3\], \[3,5\] and \[5\] do not fit/);
});

grads.run();
forward.run();
