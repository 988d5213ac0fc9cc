// autodiff/ops/simd.ts: the WebAssembly SIMD kernel for matrix products.
//   It runs here (Node has WebAssembly SIMD), so the other checks test it.
//   Bit for bit: every product it takes equals, with Object.is per element,
//   the plain sum s = 0; s += A(i, p) B(p, j) for p = 0 … k − 1 (every
//   product here is one linalg.ts hands over: each side ≥ 4 and ≥ 1024
//   multiply-adds, or the few-row ones below), for all four transpose flags, on random
//   sizes in three regimes (all sides 16..40; sides 4..12 against k 64..100;
//   k 4..7 against sides 16..40, so every edge tile width and height), at the
//   1024 threshold, on two or three rows against a B of 256 to 16 384 values
//   (which linalg.ts hands over too, a transposed B as the kernel's left side,
//   and whose JavaScript fallback must then sum in the same order), on long rows and columns, on batches and on a 2-D side
//   shared by a batch, and with operands holding ±0, ±∞, NaN, subnormals and
//   ±1e300 among ordinary values (the results are checked to be finite,
//   infinite and NaN in turn); and the JavaScript kernel, switched in with
//   useSimd(false), gives the same bits. A product that needs more memory
//   detaches no buffer; growing stops at 16 MB; a memory above 16 MB serves
//   the next large products, with small ones between them, and the
//   LET_GO_AFTER-th (32nd) smaller one in a row lets it go. Products of one to three rows give the
//   same bits on and off the kernel. Gradients through it are checked
//   against finite differences. Mutants that start the sums at −0, store a
//   column too many or too few at the right edge, swap A's strides, pack a
//   column of B wrongly (in a full panel or in the last), let a tile's last
//   row read the row above, overlap B's panels with A, keep a large memory,
//   double the memory past 16 MB, grow the memory in place, or never run the
//   kernel each fail here.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { Tensor, tensor, matmul, sum, tanh } from '../../../index.ts';
import { matmulT } from '../../../autodiff/ops/linalg.ts';
import { kernelBuffer, simdActive, simdGemm, useSimd, resetArena, LET_GO_AFTER } from '../../../autodiff/ops/simd.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import { SEED, tensorOf, real } from '../helpers.ts';

const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 5e-324, -2.5e-310, 1e300, -1e300, 1, -1];

/** The operand of matmulT with this shape, op(X) of size [rows, cols]; stored transposed when `t`. */
function operand(rows: number, cols: number, t: boolean, fill: (i: number) => number): Tensor {
  const data = Float64Array.from({ length: rows * cols }, (_, i) => fill(i));
  return tensor(data, t ? [cols, rows] : [rows, cols]);
}

/** op(X)(i, p) for a 2-D operand stored transposed or not. */
function at(x: Tensor, t: boolean, i: number, p: number): number {
  const cols = x.shape[1];
  return t ? x.data[p * cols + i] : x.data[i * cols + p];
}

/** The index of the first element of matmulT(a, b, ta, tb) that is not the plain sum's bits, or -1. */
function firstMismatch(a: Tensor, b: Tensor, ta: boolean, tb: boolean): number {
  const c = matmulT(a, b, ta, tb);
  const [m, n] = c.shape;
  const k = ta ? a.shape[0] : a.shape[1];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(a, ta, i, p) * at(b, tb, p, j);
      if (!Object.is(c.data[i * n + j], s)) return i * n + j;
    }
  }
  return -1;
}

const FLAGS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

const Simd = suite('simd kernel');

Simd('runs in this runtime, and useSimd switches it off and on', () => {
  assert.ok(simdActive(), 'Node has WebAssembly SIMD: the kernel must be active, or nothing here tests it');
  const C = new Float64Array(64).fill(7);
  const one = new Float64Array(64).fill(1);
  const before = useSimd(false);
  try {
    assert.is(before, true);
    assert.not.ok(simdActive());
    assert.is(simdGemm(one, 0, 8, 1, one, 0, 8, 1, C, 0, 8, 8, 8), false, 'switched off: not run');
    assert.ok(C.every((x) => x === 7), 'switched off: nothing written');
  } finally {
    useSimd(true);
  }
  assert.is(simdGemm(one, 0, 8, 1, one, 0, 8, 1, C, 0, 8, 8, 8), true);
  assert.ok(C.every((x) => x === 8));
});

// Sizes the kernel takes (m and n ≥ 4, k ≥ 2, m·k·n ≥ 1024): all sides 16..40;
// narrow sides 4..12 against k 64..100; and k 2..7 against wide sides 16..40.
const kernelSizes = fc.oneof(
  fc.tuple(fc.integer({ min: 16, max: 40 }), fc.integer({ min: 16, max: 40 }), fc.integer({ min: 16, max: 40 })),
  fc.tuple(fc.integer({ min: 4, max: 12 }), fc.integer({ min: 64, max: 100 }), fc.integer({ min: 4, max: 12 })),
  fc.tuple(fc.integer({ min: 16, max: 40 }), fc.integer({ min: 2, max: 7 }), fc.integer({ min: 16, max: 40 })),
);

/** A seeded stream of values in (−2, 2). */
function stream(seed: number): () => number {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2;
}

/** A tensor of the given shape filled from `next`. */
function randomTensor(shape: number[], next: () => number): Tensor {
  return tensor(Float64Array.from({ length: shape.reduce((x, y) => x * y, 1) }, next), shape);
}

Simd('every product equals the plain ordered sum bit for bit (random sizes, four transpose flags)', () => {
  fc.assert(
    fc.property(kernelSizes, fc.integer({ min: 0, max: 3 }), fc.integer(), ([m, k, n], flags, seed) => {
      const [ta, tb] = FLAGS[flags];
      const next = stream(seed);
      const a = operand(m, k, ta, next), b = operand(k, n, tb, next);
      assert.is(firstMismatch(a, b, ta, tb), -1, `[${m}, ${k}] · [${k}, ${n}], flags ${ta} ${tb}`);
    }),
    { seed: SEED, numRuns: 90 },
  );
  // At the threshold: 4 × 64 × 4 is 1024 multiply-adds.
  for (const [ta, tb] of FLAGS) {
    const next = stream(7);
    assert.is(firstMismatch(operand(4, 64, ta, next), operand(64, 4, tb, next), ta, tb), -1, `4 × 64 × 4, flags ${ta} ${tb}`);
  }
});

Simd('two or three rows against a B of 256 to 16 384 values: the plain sum, in both kernels, four transpose flags', () => {
  const next = stream(23);
  // k·n from the range's ends (256 and 16 384) to its middle.
  for (const [m, k, n] of [[2, 16, 16], [2, 10, 32], [3, 32, 32], [2, 100, 32], [3, 7, 37], [2, 32, 10], [2, 128, 128]]) {
    for (const [ta, tb] of FLAGS) {
      const a = operand(m, k, ta, next), b = operand(k, n, tb, next);
      assert.is(firstMismatch(a, b, ta, tb), -1, `[${m}, ${k}] · [${k}, ${n}], kernel, flags ${ta} ${tb}`);
      useSimd(false);
      try {
        assert.is(firstMismatch(a, b, ta, tb), -1, `[${m}, ${k}] · [${k}, ${n}], JavaScript, flags ${ta} ${tb}`);
      } finally {
        useSimd(true);
      }
    }
  }
});

Simd('few-row products in a batch (a 3-D A against a shared 2-D B, both flags of B): the plain sum', () => {
  const next = stream(5);
  const [batch, m, k, n] = [3, 2, 32, 16];
  for (const tb of [false, true]) {
    const a = tensor(Float64Array.from({ length: batch * m * k }, next), [batch, m, k]);
    const b = operand(k, n, tb, next);
    const c = matmulT(a, b, false, tb);
    for (let t = 0; t < batch; t++) {
      const aT = tensor(a.data.slice(t * m * k, (t + 1) * m * k), [m, k]);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += at(aT, false, i, p) * at(b, tb, p, j);
          assert.ok(Object.is(c.data[(t * m + i) * n + j], s), `batch ${t}, tb ${tb}, C(${i}, ${j})`);
        }
      }
    }
  }
});

Simd('simdGemm reads B through any strides: a row-major B inside a wider matrix', () => {
  const [m, k, n, width] = [5, 9, 6, 11]; // B(p, j) at p · 11 + j
  const next = stream(99);
  const Av = Float64Array.from({ length: m * k }, next);
  const Bv = Float64Array.from({ length: k * width }, next);
  const C = new Float64Array(m * n);
  assert.ok(simdGemm(Av, 0, k, 1, Bv, 0, width, 1, C, 0, m, k, n));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += Av[i * k + p] * Bv[p * width + j];
      assert.ok(Object.is(C[i * n + j], s), `C(${i}, ${j})`);
    }
  }
});

Simd('special values (±0, ±∞, NaN, subnormals, ±1e300) give the plain sum bit for bit', () => {
  // One value in 23 is special, so that results are finite, infinite and NaN in turn, not all NaN.
  const kinds = { finite: 0, infinite: 0, nan: 0 };
  for (const [ta, tb] of FLAGS) {
    for (const [m, k, n] of [[16, 16, 16], [17, 13, 19], [17, 33, 10]]) {
      const next = stream(m * k * n);
      const a = operand(m, k, ta, (i) => (i % 23 === 5 ? SPECIAL[(i / 23) % SPECIAL.length | 0] : next()));
      const b = operand(k, n, tb, (i) => (i % 23 === 11 ? SPECIAL[(i / 23 + 4) % SPECIAL.length | 0] : next()));
      assert.is(firstMismatch(a, b, ta, tb), -1, `[${m}, ${k}] · [${k}, ${n}], flags ${ta} ${tb}`);
      for (const x of matmulT(a, b, ta, tb).data) {
        if (Number.isNaN(x)) kinds.nan++;
        else if (Number.isFinite(x)) kinds.finite++;
        else kinds.infinite++;
      }
    }
  }
  assert.ok(kinds.finite > 100 && kinds.infinite > 100 && kinds.nan > 100, `results of each kind: ${JSON.stringify(kinds)}`);
  // A zero that comes out of the sum is +0, as from the plain sum, even when every product is −0.
  const c = matmul(tensor(new Float64Array(256).fill(-0), [16, 16]), tensor(new Float64Array(256).fill(1), [16, 16]));
  assert.ok(c.data.every((x) => Object.is(x, 0)));
});

Simd('batches, and a 2-D side shared by a batch, equal the plain sum bit for bit, four transpose flags', () => {
  const next = stream(2024);
  const [m, k, n, batch] = [9, 14, 11, 3];
  for (const [ta, tb] of FLAGS) {
    for (const [batchA, batchB] of [[true, true], [true, false], [false, true]]) {
      const sa = ta ? [k, m] : [m, k], sb = tb ? [n, k] : [k, n];
      const a = randomTensor(batchA ? [batch, ...sa] : sa, next), b = randomTensor(batchB ? [batch, ...sb] : sb, next);
      const c = matmulT(a, b, ta, tb);
      for (let t = 0; t < batch; t++) {
        const aT = batchA ? tensor(a.data.slice(t * m * k, (t + 1) * m * k), sa) : a;
        const bT = batchB ? tensor(b.data.slice(t * k * n, (t + 1) * k * n), sb) : b;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += at(aT, ta, i, p) * at(bT, tb, p, j);
            assert.ok(Object.is(c.data[(t * m + i) * n + j], s), `batch ${t} (${batchA}, ${batchB}), flags ${ta} ${tb}, C(${i}, ${j})`);
          }
        }
      }
    }
  }
});

Simd('long rows, long columns and both, with edge tiles of every width', () => {
  const next = stream(12345);
  for (const [m, k, n, ta, tb] of [[261, 9, 10, false, false], [12, 10, 517, false, true], [258, 8, 259, true, false]] as const) {
    const a = operand(m, k, ta, next), b = operand(k, n, tb, next);
    assert.is(firstMismatch(a, b, ta, tb), -1, `[${m}, ${k}] · [${k}, ${n}]`);
  }
});

Simd('the JavaScript kernel gives the same bits, batches and a shared side included', () => {
  const shapes = [
    [[3, 16, 17], [3, 17, 18]],
    [[18, 17], [4, 17, 16]],
    [[4, 16, 31], [31, 9]],
    [[64, 64], [64, 64]],
  ];
  const next = stream(99);
  for (const [sa, sb] of shapes) {
    const a = randomTensor(sa, next), b = randomTensor(sb, next);
    const withSimd = matmul(a, b);
    useSimd(false);
    let withJs: Tensor;
    try {
      withJs = matmul(a, b);
    } finally {
      useSimd(true);
    }
    assert.equal(withSimd.shape, withJs.shape);
    assert.ok(withSimd.data.every((x, i) => Object.is(x, withJs.data[i])), `${JSON.stringify(sa)} · ${JSON.stringify(sb)}`);
  }
});

Simd('a product that needs more room takes a new memory and detaches no buffer', () => {
  // Growing a memory would detach its old buffer, which slows every typed-array
  // access in V8 from then on (see simd.ts).
  matmul(tensor(new Float64Array(256).fill(1), [16, 16]), tensor(new Float64Array(256).fill(1), [16, 16]));
  const before = kernelBuffer() as ArrayBuffer;
  const size = before.byteLength;
  assert.ok(size > 0);
  const k = Math.ceil(size / 256) + 8; // 16 · k · 8 bytes for each operand's panels: more than the memory holds
  const c = matmul(tensor(new Float64Array(16 * k).fill(0.5), [16, k]), tensor(new Float64Array(16 * k).fill(2), [k, 16]));
  assert.ok(c.data.every((x) => x === k), 'the product is right');
  const after = kernelBuffer() as ArrayBuffer;
  assert.ok(after !== before && after.byteLength > size, 'a larger memory');
  assert.is(before.byteLength, size, 'the old buffer is not detached');
});

Simd('a memory above 16 MB serves the products that need it, small products between them too, and the LET_GO_AFTER-th smaller product in a row lets it go', () => {
  resetArena(); // no estimator frame has asked for a large arena (see arena.spec.ts)
  const k = 300_000; // [8, k] · [k, 8]: 38 MB of operands in the kernel's memory
  const big = (): Tensor => matmul(tensor(new Float64Array(8 * k).fill(0.25), [8, k]), tensor(new Float64Array(8 * k).fill(4), [k, 8]));
  const small = (): Tensor => matmul(tensor(new Float64Array(256).fill(1), [16, 16]), tensor(new Float64Array(256).fill(1), [16, 16]));
  assert.ok(big().data.every((x) => x === k), 'the product is right');
  const large = kernelBuffer() as ArrayBuffer;
  const largeSize = large.byteLength;
  assert.ok(largeSize > 16 << 20);
  big();
  assert.is(kernelBuffer(), large, 'a second large product reuses the memory');
  for (let i = 0; i < 3; i++) {
    small();
    big(); // a large product and small ones taking turns: one memory
  }
  for (let i = 0; i < LET_GO_AFTER - 1; i++) small();
  assert.is(kernelBuffer(), large, `${LET_GO_AFTER - 1} small products in a row keep it`);
  small();
  const kept = (kernelBuffer() as ArrayBuffer).byteLength;
  assert.ok(kept <= 16 << 20, `keeps ${kept} bytes`);
  assert.is(large.byteLength, largeSize, 'the large buffer is let go, not detached');
  // Growing from under 16 MB stops at 16 MB, so that products of 8.9 and 10 MB
  // in turn share one memory (doubling past 16 MB would let it go at every other product).
  const wide = (n: number): Tensor => matmul(tensor(new Float64Array(4000).fill(1), [4, 1000]), tensor(new Float64Array(1000 * n).fill(1), [1000, n]));
  wide(1100);
  wide(1240);
  const shared = kernelBuffer() as ArrayBuffer;
  assert.ok(shared.byteLength <= 16 << 20, `grew to ${shared.byteLength} bytes`);
  wide(1100);
  wide(1240);
  assert.is(kernelBuffer(), shared, 'one memory for both');
});

Simd('products of one to three rows give the same bits on and off the kernel', () => {
  const next = stream(11);
  for (const [m, k, n] of [[1, 70, 33], [2, 64, 16], [3, 100, 40], [2, 300, 300], [3, 5, 200], [1, 2, 600]]) {
    for (const [ta, tb] of FLAGS) {
      const a = operand(m, k, ta, next), b = operand(k, n, tb, next);
      const on = Array.from(matmulT(a, b, ta, tb).data);
      const before = useSimd(false);
      try {
        assert.equal(on, Array.from(matmulT(a, b, ta, tb).data), `[${m}, ${k}] · [${k}, ${n}], flags ${ta} ${tb}`);
      } finally {
        useSimd(before);
      }
    }
  }
});

Simd('gradients through it match finite differences, first and second order', () => {
  const arb = fc.tuple(tensorOf([16, 20], real(-1, 1)), tensorOf([20, 24], real(-1, 1)));
  fc.assert(
    fc.property(arb, ([a, b]) => {
      checkGrads((x: Tensor, y: Tensor) => sum(tanh(matmul(x, y))), [a, b], { order: 2 });
    }),
    { seed: SEED, numRuns: 8 },
  );
});

Simd.run();
