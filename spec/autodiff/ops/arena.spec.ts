// autodiff/ops/simd.ts (the arena: tensors in the kernel's memory), with the
// recycling frames of autodiff/tensor.ts that open it.
//   kernels: every elementwise kernel gives, with Object.is per element, what
//   the JavaScript loop it stands in for gives (NaNs' sign and payload aside,
//   see simd.ts), on even and odd lengths, on
//   views that start at an odd element, and on ±0, ±∞, NaN, subnormals and
//   ±1e300 among ordinary values; it runs only when every array is in the
//   arena and the lengths agree, and otherwise writes nothing; so do the row
//   kernels (outer products, a bias added to each row, sums over rows), with
//   operands outside the arena copied in and from offsets;
//   frames: an estimator frame (withRecycling with `arena`) cuts its
//   buffers from the arena (small ones too, zeroed by alloc, none
//   overlapping), and so do the backward passes inside it (which
//   pool nothing); ops there (products, products of one to three columns
//   and outer products, batched too, a layer's bias, elementwise ops, a
//   gradient of a gradient) give the bits they give outside; the frame's results get
//   copies of their own (small ones too), shared where they shared a buffer, which keep their
//   values while later frames reuse the space; a tensor handed to outside
//   code (handOut) or kept by a module (keepFromRecycling) gets its copy
//   before; a frame that throws leaves its memory behind (unless it took
//   nothing from it) and the next frame works; a frame that asks for more than the arena has gets ordinary arrays
//   for the rest, zeroed where asked, and the next frame a larger arena;
//   with recycling off there is no arena.
//   Buffers never overlap; 2 GiB is refused; a product of arrays from
//   elsewhere copies them above the arena's tensors; the memory stays the
//   same from call to call (a large frame between small plain products, a
//   product that needs more than the room above the tensors); an error
//   while a frame closes leaves the arena closed.
// Mutants that leave a small result or a small kept tensor in the arena, copy
// a small result back into it, or hand out small buffers unzeroed fail here too.
// Mutants that swap a kernel's operands, drop the odd last element, skip the
// copy of a result or of a handed-out tensor, let a frame that threw keep its
// memory, never grow the arena, leave the column sums unzeroed, keep the outer
// product on A's first row, or drop an operand's or the result's offset each
// fail here.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, tensor, matmul, linear, tanh, sigmoid, sum, mul, add, sub, div, square, grad, reshape, rng } from '../../../index.ts';
import {
  arenaAlloc, arenaBinary, arenaTernary, simdOuter, arenaAddRow, arenaSumRows, kernelBuffer, resetArena, simdActive, ARENA_MIN_LENGTH, LET_GO_AFTER, type ElementwiseKernel,
} from '../../../autodiff/ops/simd.ts';
import { matmulT } from '../../../autodiff/ops/linalg.ts';
import { alloc, allocToFill, handOut, keepFromRecycling, pooledByteCount, setRecycling, withRecycling } from '../../../autodiff/tensor.ts';

const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 5e-324, -2.5e-310, 1e300, -1e300, 1, -1, 0.5];

/** Runs `work` in an estimator's frame (the arena open), returning what it returns. */
function inFrame<R>(work: () => R, results: (value: R) => readonly Tensor[] = () => []): R {
  return withRecycling(work, results, true);
}

const isHere = (x: Float64Array): boolean => x.buffer === kernelBuffer();

/**
 * Sizes the arena: the first frame after setRecycling (or at start) may find
 * no room, and the next gets what it asked for. Two frames that ask for 4 MB.
 */
function warm(): void {
  for (let i = 0; i < 2; i++) inFrame(() => allocToFill(1 << 19));
  assert.ok(inFrame(() => isHere(allocToFill(1 << 19))), 'the arena has room');
}

/** Values for the kernels: mostly ordinary, every twelfth a special one. */
function values(n: number, seed: number): number[] {
  const g = rng(seed).uniform([n]).data;
  return Array.from(g, (u, i) => (i % 12 === 5 ? SPECIAL[(i / 12 + seed) % SPECIAL.length | 0] : 4 * u - 2));
}

// What the JavaScript loops compute (binary.ts and unary.ts), element by element.
const BINARY: [ElementwiseKernel, (a: number, b: number) => number][] = [
  ['add', (a, b) => a + b],
  ['sub', (a, b) => a - b],
  ['mul', (a, b) => a * b],
  ['div', (a, b) => a / b],
  ['tanhGrad', (g, y) => g * (1 - y * y)],
  ['sigmoidGrad', (g, y) => g * (y * (1 - y))],
];
const TERNARY: [ElementwiseKernel, (gg: number, g: number, y: number) => [number, number]][] = [
  ['tanhGrad2', (gg, g, y) => [gg * (1 - y * y), gg * (g * (y * -2))]],
  ['sigmoidGrad2', (gg, g, y) => [gg * (y * (1 - y)), gg * (g * (1 - y * 2))]],
];

const kernels = suite('arena: elementwise kernels');

kernels.before(() => {
  assert.ok(simdActive(), 'Node has WebAssembly SIMD: the arena must open, or nothing here tests it');
  warm();
});

kernels('each kernel gives the JavaScript loop\'s bits: even and odd lengths, views from an odd element, special values', () => {
  for (const length of [129, 130, 257, 1000, 1001]) {
    for (const from of [0, 1]) {
      inFrame(() => {
        const view = (seed: number): Float64Array => {
          const whole = allocToFill(length + from);
          assert.ok(isHere(whole), 'a large buffer comes from the arena');
          const v = whole.subarray(from);
          v.set(values(length, seed));
          return v;
        };
        const [a, b, c, out0, out1] = [view(1), view(2), view(3), view(4), view(5)];
        for (const [name, js] of BINARY) {
          assert.ok(arenaBinary(name, a, b, out0), `${name} ran`);
          for (let i = 0; i < length; i++) {
            if (!Object.is(out0[i], js(a[i], b[i]))) assert.unreachable(`${name}, length ${length} from ${from}: element ${i} is ${out0[i]}, not ${js(a[i], b[i])}`);
          }
        }
        for (const [name, js] of TERNARY) {
          assert.ok(arenaTernary(name, a, b, c, out0, out1), `${name} ran`);
          for (let i = 0; i < length; i++) {
            const [d0, d1] = js(a[i], b[i], c[i]);
            if (!Object.is(out0[i], d0) || !Object.is(out1[i], d1)) assert.unreachable(`${name}, length ${length} from ${from}: element ${i}`);
          }
        }
      });
    }
  }
});

kernels('buffers cut one after another never overlap, odd lengths included; a buffer of 2 GiB or more is refused, not wrapped around', () => {
  inFrame(() => {
    const a = allocToFill(129), b = allocToFill(131), c = allocToFill(130);
    assert.ok(isHere(a) && isHere(b) && isHere(c));
    a.fill(1);
    b.fill(2);
    c.fill(3);
    assert.ok(a.every((v) => v === 1) && b.every((v) => v === 2), 'each keeps its own values');
    assert.is(arenaAlloc(2 ** 28), null, '2 GiB: no room, and no 32-bit overflow past the room check');
    assert.ok(isHere(allocToFill(1000)), 'the arena goes on as before');
  });
});

kernels('a kernel runs only on arrays that all live in the arena, of one length; otherwise it writes nothing', () => {
  inFrame(() => {
    const a = allocToFill(200).fill(1), b = allocToFill(200).fill(2), out = allocToFill(200).fill(7);
    const outside = new Float64Array(200).fill(3);
    assert.not.ok(arenaBinary('add', a, outside, out), 'an operand outside');
    assert.not.ok(arenaBinary('add', a, b, new Float64Array(200)), 'the output outside');
    assert.not.ok(arenaBinary('add', a.subarray(1), b.subarray(1), out), 'lengths differ');
    assert.not.ok(arenaBinary('add', a, b.subarray(1), out), 'b is shorter');
    assert.not.ok(arenaBinary('add', a.subarray(1), b, out), 'a is shorter');
    assert.not.ok(arenaTernary('tanhGrad2', a, b, outside, out, allocToFill(200)), 'a third operand outside');
    const d = allocToFill(200).fill(5);
    for (const [label, args] of [
      ['a', [a.subarray(1), b, d, out, d]], ['b', [a, b.subarray(1), d, out, d]], ['c', [a, b, d.subarray(1), out, d]], ['the second output', [a, b, d, out, d.subarray(1)]],
    ] as [string, Float64Array[]][]) {
      assert.not.ok(arenaTernary('tanhGrad2', args[0], args[1], args[2], args[3], args[4]), `${label} is shorter`);
    }
    assert.ok(out.every((x) => x === 7), 'nothing written');
    assert.ok(arenaBinary('add', a, b, out));
    assert.ok(out.every((x) => x === 3));
  });
  const a = new Float64Array(200);
  assert.not.ok(arenaBinary('add', a, a, a), 'no frame open');
});

kernels('row kernels: outer products, a bias added to each row, and column sums give the JavaScript loops\' bits', () => {
  for (const [m, n] of [[129, 1], [40, 7], [33, 32], [200, 3]]) {
    inFrame(() => {
      const fill = (length: number, seed: number): Float64Array => {
        const v = allocToFill(Math.max(length, ARENA_MIN_LENGTH)).subarray(0, length);
        assert.ok(isHere(v));
        v.set(values(length, seed));
        return v;
      };
      const A = fill(3 * m, 1), C = fill(m * n, 2), X = fill(m * n, 3);
      for (const B of [fill(n, 4), Float64Array.from(values(n, 5))]) { // B in the arena, then outside it
        const Bs = Float64Array.from([7, ...B]); // B from an offset, outside the arena
        assert.ok(simdOuter(A, 1, 3, Bs, 1, 1, C, 0, m, n), 'outer ran');
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) if (!Object.is(C[i * n + j], A[1 + 3 * i] * B[j])) assert.unreachable(`outer ${m}×${n} at (${i}, ${j})`);
        }
        assert.ok(simdOuter(A, 1, 3, B, 0, 1, C, 0, m, n), 'outer ran');
        const before = Array.from(C);
        assert.ok(arenaAddRow(C, B, m, n), 'addRow ran');
        for (let i = 0; i < m * n; i++) if (!Object.is(C[i], before[i] + B[i % n])) assert.unreachable(`addRow ${m}×${n} at ${i}`);
      }
      for (const out of [new Float64Array(n).fill(9), fill(n, 6)]) { // the sums outside the arena, then in it
        assert.ok(arenaSumRows(X, out, m, n), 'sumRows ran');
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < m; i++) s += X[i * n + j];
          if (!Object.is(out[j], s)) assert.unreachable(`sumRows ${m}×${n} column ${j}: ${out[j]}, not ${s}`);
        }
      }
      assert.not.ok(arenaSumRows(new Float64Array(m * n), new Float64Array(n), m, n), 'X outside');
      assert.not.ok(arenaAddRow(new Float64Array(m * n), A, m, n), 'C outside');
    });
  }
});

kernels('outer products outside any frame: operands from anywhere, strided, copied in, and the result copied out', () => {
  for (const [m, n] of [[16, 16], [33, 9], [8, 65]]) {
    const A = Float64Array.from(values(3 * m + 1, 7)), B = Float64Array.from(values(2 * n + 1, 8));
    const C = new Float64Array(m * n + 2).fill(-1);
    assert.ok(simdOuter(A, 1, 3, B, 1, 2, C, 1, m, n), 'outer ran');
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) if (!Object.is(C[1 + i * n + j], A[1 + 3 * i] * B[1 + 2 * j])) assert.unreachable(`${m}×${n} at (${i}, ${j})`);
    }
    assert.ok(C[0] === -1 && C[m * n + 1] === -1, 'nothing written outside C');
  }
  const g = rng(15);
  const a = g.normal([40, 1]), b = g.normal([1, 30]);
  const expected = Array.from({ length: 1200 }, (_, i) => a.data[Math.floor(i / 30)] * b.data[i % 30]);
  assert.equal(Array.from(matmul(a, b).data), expected, 'matmul with k = 1');
});

kernels.run();

const frames = suite('arena: frames');

frames.before.each(() => {
  setRecycling(true);
  warm();
});
frames.after.each(() => setRecycling(true));

/**
 * A small network's loss and the gradient of its gradient's square: products
 * (with one column, and outer products, in the last layer's VJPs), a layer's
 * bias, sums over rows, tanh, sigmoid and their second-order VJPs.
 */
function network(x: Tensor, w1: Tensor, w2: Tensor, b1: Tensor, w3: Tensor): Tensor[] {
  const loss = (p: Tensor[]) => {
    const h = tanh(linear(x, p[0], p[2]));
    return add(sum(square(sub(matmul(h, p[1]), sigmoid(x)))), sum(matmul(h, p[3])));
  };
  const inner = (p: Tensor[]) => {
    const [g1, g2, g3, g4] = grad(loss)(p);
    return add(add(sum(mul(g1, g1)), sum(div(mul(g2, g2), 2))), add(sum(mul(g3, g3)), sum(mul(g4, g4))));
  };
  return [loss([w1, w2, b1, w3]), ...grad(inner)([w1, w2, b1, w3])];
}

frames('ops in a frame run in the arena and give the bits they give outside, a gradient of a gradient included', () => {
  const g = rng(9);
  const x = g.normal([300, 16]), w1 = g.normal([16, 32]), w2 = g.normal([32, 16]), b1 = g.normal([32]), w3 = g.normal([32, 1]);
  const outside = network(x, w1, w2, b1, w3).map((t) => Array.from(t.data));
  let hidden = false;
  const inside = inFrame(() => {
    hidden = isHere(tanh(matmul(x, w1)).data);
    return network(x, w1, w2, b1, w3);
  }, (ts) => ts);
  assert.ok(hidden, 'a hidden layer lived in the arena');
  assert.equal(inside.map((t) => Array.from(t.data)), outside);
  assert.ok(inside.every((t) => !isHere(t.data)), 'the results were copied out');
});

frames('products of one to three columns, and outer products, of arrays in the arena: the bits they have outside, four transpose flags', () => {
  const g = rng(12);
  for (let trial = 0; trial < 24; trial++) {
    const m = 4 + Math.floor(g.uniform([]).item() * 300), k = trial % 6 === 0 ? 1 : 4 + Math.floor(g.uniform([]).item() * 60);
    const n = 1 + (trial % 3);
    const [ta, tb] = [trial % 4 >= 2, trial % 2 === 1];
    const a = g.normal(ta ? [k, m] : [m, k]), b = g.normal(tb ? [n, k] : [k, n]);
    const outside = Array.from(matmulT(a, b, ta, tb).data);
    const inside = inFrame(() => {
      const aHere = mul(a, 1); // the same values, in the arena
      return matmulT(aHere, b, ta, tb);
    }, (t) => [t]);
    assert.equal(Array.from(inside.data), outside, `[${m}, ${k}] · [${k}, ${n}], flags ${ta} ${tb}`);
  }
  // A batch: each product's operands and result from an offset.
  for (const [k, n] of [[1, 2], [1, 60], [9, 2]]) {
    const a = g.normal([3, 70, k]), b = g.normal([3, k, n]);
    const outside = Array.from(matmul(a, b).data);
    assert.equal(Array.from(inFrame(() => matmul(mul(a, 1), mul(b, 1)), (t) => [t]).data), outside, `a batch of [70, ${k}] · [${k}, ${n}]`);
  }
});

frames('a backward pass inside a frame takes its buffers from the arena and pools nothing', () => {
  const x = rng(2).normal([500]);
  let gradient: Tensor | null = null;
  inFrame(() => {
    gradient = grad((y: Tensor) => sum(mul(tanh(y), y)))(x);
    assert.ok(isHere(gradient.data));
  });
  assert.is(pooledByteCount(), 0);
});

frames('small buffers in a frame come from the arena too, zeroed by alloc, each apart from the others', () => {
  const lengths = [1, 2, 3, 10, 64, 127, 128];
  inFrame(() => lengths.forEach((n) => alloc(n).fill(NaN))); // the space the next frame reuses
  const cut = inFrame(() => {
    const out = lengths.map((n) => alloc(n));
    for (const [i, buffer] of out.entries()) {
      assert.ok(isHere(buffer), `${buffer.length} elements`);
      assert.ok(buffer.every((v) => v === 0), `alloc zeroes ${buffer.length} elements`);
      buffer.fill(i + 1);
    }
    return out.map((buffer) => buffer.every((v) => v === buffer[0]));
  });
  assert.ok(cut.every(Boolean), 'no two overlap');
  assert.not.ok(isHere(alloc(10)), 'outside a frame: a slab');
});

frames('results get copies of their own, shared where they shared a buffer, that keep their values while later frames reuse the space, small ones too', () => {
  const x = rng(3).normal([40, 50]);
  const [t, u, small, smallView] = inFrame(() => {
    const y = tanh(mul(x, 2));
    const z = sigmoid(mul(reshape(x, [2000]), 3)); // large, so that slicing it below stays in the arena
    const s = add(tensor([1, 2, 3]), 0.5); // 3 elements
    return [y, reshape(y, [2000]), s, reshape(s, [3, 1]), z];
  }, (ts) => ts);
  const before = [t, small].map((r) => Array.from(r.data));
  assert.not.ok(isHere(t.data));
  assert.not.ok(isHere(small.data), 'a small result is copied out too');
  assert.is(t.data, u.data, 'one copy for the two views');
  assert.is(small.data, smallView.data, 'one copy for the two small views');
  for (let i = 0; i < 3; i++) {
    inFrame(() => {
      for (let j = 0; j < 8; j++) allocToFill(2000).fill(NaN);
      for (let j = 0; j < 64; j++) alloc(3).fill(NaN);
    });
  }
  assert.equal([t, small].map((r) => Array.from(r.data)), before);
  assert.equal(Array.from(small.data), [1.5, 2.5, 3.5]);
});

frames('a tensor handed to outside code, or kept by a module, gets its copy first and keeps its values', () => {
  const x = rng(4).normal([1000]);
  const few = rng(5).normal([7]);
  const seen: Tensor[] = [];
  const kept: Tensor[] = [];
  inFrame(() => {
    for (const given of [mul(x, 3), mul(few, 3)]) {
      assert.ok(isHere(given.data));
      handOut((y: Tensor) => {
        assert.not.ok(isHere(y.data), 'outside code never sees the arena');
        assert.not.ok(isHere(mul(y, 1).data), 'nor does what it makes');
        seen.push(y);
        return y;
      }, given);
    }
    for (const remembered of [add(x, 1), add(few, 1)]) {
      keepFromRecycling(remembered);
      kept.push(remembered);
    }
  });
  const before = [...seen, ...kept].map((t) => Array.from(t.data));
  for (let i = 0; i < 3; i++) {
    inFrame(() => {
      allocToFill(4000).fill(NaN);
      for (let j = 0; j < 64; j++) alloc(7).fill(NaN);
    });
  }
  assert.equal([...seen, ...kept].map((t) => Array.from(t.data)), before);
  assert.equal(Array.from(seen[0].data), Array.from(mul(x, 3).data));
  assert.equal(Array.from(seen[1].data), Array.from(mul(few, 3).data));
});

frames('a product of arrays from elsewhere, in a frame, copies them above the arena\'s tensors and leaves those alone', () => {
  const g = rng(13);
  const a = g.normal([64, 48]), b = g.normal([48, 40]);
  const expected = Array.from(matmul(a, b).data);
  inFrame(() => {
    const mine = allocToFill(8000).fill(0.25); // at the bottom of the arena
    const c = matmul(a, b); // a and b are copied in, c is cut above `mine`
    assert.equal(Array.from(c.data), expected);
    assert.ok(mine.every((v) => v === 0.25), 'the copies went above the arena\'s tensors');
  });
});

frames('an outer product of arrays from elsewhere, and a layer\'s bias from elsewhere, are copied above the arena\'s tensors', () => {
  const g = rng(16);
  const a = g.normal([32, 1]), b = g.normal([1, 32]);
  const x = g.normal([64, 8]), W = g.normal([8, 16]), bias = g.normal([16]);
  const outer = Array.from(matmul(a, b).data), layer = Array.from(linear(x, W, bias).data);
  inFrame(() => {
    const mine = allocToFill(4096).fill(7); // at the bottom of the arena
    assert.equal(Array.from(matmul(a, b).data), outer);
    assert.equal(Array.from(linear(mul(x, 1), W, bias).data), layer); // the product in the arena, the bias copied in
    assert.ok(mine.every((v) => v === 7), 'the copies went above the arena\'s tensors');
  });
});

frames('sums over rows start from +0: a column of −0 sums to +0, as in the JavaScript loop', () => {
  const out = inFrame(() => sum(new Tensor(allocToFill(400).fill(-0), [200, 2]), 0), (t) => [t]);
  assert.ok(Object.is(out.data[0], 0) && Object.is(out.data[1], 0));
  assert.ok(Object.is(sum(new Tensor(new Float64Array(400).fill(-0), [200, 2]), 0).data[0], 0), 'the loop');
});

frames('copies that do not fit above a full arena are refused, and the JavaScript loops run', () => {
  inFrame(() => allocToFill(2 << 20)); // an arena of 16 MB from the next frame on
  inFrame(() => {
    const X = allocToFill(2 * 300_000); // 4.8 MB in the arena
    assert.ok(isHere(X));
    X.fill(1);
    while (isHere(allocToFill(100_000))); // fill the arena: less than 0.8 MB of it is left, and the 1 MB of slack
    const out = new Float64Array(300_000);
    assert.not.ok(arenaSumRows(X, out, 2, 300_000), 'the 2.4 MB of sums do not fit in the 1 MB above');
    assert.ok(sum(new Tensor(X, [2, 300_000]), 0).data.every((v) => v === 2), 'the loop sums them');
  });
  const size = (kernelBuffer() as ArrayBuffer).byteLength;
  const n = Math.ceil(size / 16) + 1; // [2]·[n]ᵀ needs more than the memory for its copies
  const A = Float64Array.from([1.5, -2]), B = new Float64Array(n).fill(3), C = new Float64Array(2 * n);
  assert.not.ok(simdOuter(A, 0, 1, B, 0, 1, C, 0, 2, n), 'refused, not run past the memory');
  assert.ok(C.every((v) => v === 0), 'nothing written');
});

frames('the kernel\'s memory: one memory per workload in steady state (large frames, frames over 64 MB, products in frames that need more room, large plain products between small ones, small frames or small plain products between large frames), let go after LET_GO_AFTER small products, the frames\' size after a large plain product, kept while a frame is open', () => {
  const g = rng(14);
  const small = [g.normal([32, 32]), g.normal([32, 32])] as const;
  const big = () => inFrame(() => {
    for (let used = 0; used < 18 << 20; used += 800_000) allocToFill(100_000);
    matmul(...small); // in a frame: no new memory either
  });
  // A product whose copies (a 1.5 MB A, its packed B) need more than the 1 MB left above the frame's tensors.
  const wideA = g.normal([640, 300]), wideB = g.normal([300, 300]);
  const wide = () => inFrame(() => {
    for (let used = 0; used < 18 << 20; used += 800_000) allocToFill(100_000);
    matmul(wideA, wideB);
  });
  for (const [label, call] of [['an 18 MB frame', big], ['a frame with a wide product', wide]] as const) {
    for (let i = 0; i < 3; i++) {
      call();
      matmul(...small);
    }
    const seen = new Set<ArrayBuffer | null>();
    for (let i = 0; i < 8; i++) {
      call();
      seen.add(kernelBuffer());
      matmul(...small);
      seen.add(kernelBuffer());
    }
    assert.is(seen.size, 1, `${label}: ${seen.size} memories in 8 calls`);
  }
  // Frames that ask for more than ARENA_MAX (64 MB) keep one memory too: the
  // arena holds 64 MB of tensors at most, and the copies of a product above
  // them count toward the next frames' memory.
  const over = () => inFrame(() => {
    for (let used = 0; used < 70 << 20; used += 800_000) allocToFill(100_000);
    matmul(wideA, wideB);
  });
  const smallOnes = () => {
    for (let i = 0; i < 8; i++) matmul(...small); // a few small plain products between frames
  };
  for (let i = 0; i < 2; i++) {
    over();
    smallOnes();
  }
  const overSeen = new Set<ArrayBuffer | null>();
  for (let i = 0; i < 4; i++) {
    over();
    overSeen.add(kernelBuffer());
    smallOnes();
    overSeen.add(kernelBuffer());
  }
  assert.is(overSeen.size, 1, `frames over 64 MB: ${overSeen.size} memories in 4 calls`);
  // A large product and a run of small ones, shorter than LET_GO_AFTER, taking
  // turns (a network's large batch between small ones): one memory.
  resetArena(); // as if no estimator call had needed more than 16 MB
  const large = () => matmul(wideA, g.normal([300, 9000])); // 640·9000 doubles of C: 46 MB of copies
  const turns = new Set<ArrayBuffer | null>();
  for (let round = 0; round < 4; round++) {
    large();
    turns.add(kernelBuffer());
    for (let i = 0; i < 15; i++) matmul(...small);
  }
  assert.is(turns.size, 1, `a large product between runs of 15 small ones: ${turns.size} memories`);
  // LET_GO_AFTER small products in a row let a memory larger than the estimator calls need go.
  for (let i = 0; i < LET_GO_AFTER; i++) matmul(...small);
  assert.ok((kernelBuffer() as ArrayBuffer).byteLength <= 16 << 20, 'let go');
  // A memory made large by a plain product shrinks to the frames' size at the
  // second frame (the first measures it), and holds the product of the frame
  // above its tensors from then on.
  large();
  wide();
  const shrunk = new Set<ArrayBuffer | null>();
  for (let i = 0; i < 4; i++) {
    inFrame(() => {
      shrunk.add(kernelBuffer()); // the frame's memory, and none made during it
      for (let used = 0; used < 18 << 20; used += 800_000) allocToFill(100_000);
      matmul(wideA, wideB);
      shrunk.add(kernelBuffer());
    });
  }
  assert.is(shrunk.size, 1, `frames after a large plain product: ${shrunk.size} memories`);
  assert.ok((kernelBuffer() as ArrayBuffer).byteLength < 30 << 20, 'the frames\' size, not the product\'s');
  // Large and small frames taking turns, many small ones between the large: one memory.
  over();
  over(); // the first measured the size, the second has it
  const mixed = new Set<ArrayBuffer | null>();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 20; i++) inFrame(() => allocToFill(1000));
    over();
    mixed.add(kernelBuffer());
  }
  assert.is(mixed.size, 1, `a large frame after runs of small ones: ${mixed.size} memories`);
  // Many small plain products between frames (estimates at n = 1, which open
  // no frame, between estimates at n = 1000): the frames' memory stays.
  const between = new Set<ArrayBuffer | null>();
  for (let round = 0; round < 3; round++) {
    over();
    between.add(kernelBuffer());
    for (let i = 0; i < 2 * LET_GO_AFTER; i++) matmul(...small);
    between.add(kernelBuffer());
  }
  assert.is(between.size, 1, `frames with ${2 * LET_GO_AFTER} small products between them: ${between.size} memories`);
  // A memory larger than the frames need (a large plain product made it) is not
  // let go while a frame's tensors live in it.
  const k = 300_000; // [8, k] · [k, 8]: 38 MB of operands
  matmul(tensor(new Float64Array(8 * k).fill(0.5), [8, k]), tensor(new Float64Array(8 * k).fill(2), [k, 8]));
  inFrame(() => {
    const own = kernelBuffer();
    allocToFill(1000);
    matmul(...small);
    assert.is(kernelBuffer(), own, 'a small product in a frame keeps the memory');
  });
  resetArena();
});

frames('a frame that throws leaves its memory behind, and the next frame works', () => {
  inFrame(() => allocToFill(1000));
  const before = kernelBuffer();
  let stash: Float64Array | null = null;
  assert.throws(() => inFrame(() => {
    stash = allocToFill(1000).fill(5);
    throw new Error('in f');
  }), /in f/);
  assert.ok(kernelBuffer() !== before, 'a new memory');
  inFrame(() => allocToFill(1000).fill(NaN));
  assert.ok((stash as unknown as Float64Array).every((v) => v === 5), 'what the frame made keeps its values');
  const x = rng(5).normal([1000]);
  assert.equal(Array.from(inFrame(() => mul(x, 2), (t) => [t]).data), Array.from(mul(x, 2).data));
});

frames('a frame that throws having taken nothing from the arena keeps its memory', () => {
  inFrame(() => allocToFill(1000));
  const before = kernelBuffer();
  assert.throws(() => inFrame(() => {
    throw new Error('before any buffer');
  }), /before any buffer/);
  assert.is(kernelBuffer(), before);
});

frames('a frame that asks for more than the arena has gets ordinary arrays for the rest, zeroed; the next frame gets room for all', () => {
  resetArena();
  const g = rng(17);
  const [p, q] = [g.normal([16, 16]), g.normal([16, 16])];
  for (let i = 0; i < LET_GO_AFTER; i++) matmul(p, q); // a memory left large by the tests before is let go
  warm();
  const size = (kernelBuffer() as ArrayBuffer).byteLength;
  const count = Math.ceil(size / (1 << 20)) + 2; // 1 MB buffers, more than the memory holds (and less than 64 MB)
  const take = (): boolean[] => inFrame(() => {
    const placed: boolean[] = [];
    for (let i = 0; i < count; i++) {
      const buffer = alloc(131072);
      assert.ok(buffer.every((v) => v === 0), 'alloc zeroes');
      buffer.fill(i + 1);
      placed.push(isHere(buffer));
    }
    return placed;
  });
  const first = take();
  assert.ok(first.includes(false) && first[0], 'some in the arena, the rest outside');
  assert.ok(take().every(Boolean), 'all in the arena the next time');
  assert.ok((kernelBuffer() as ArrayBuffer).byteLength >= count << 20);
  resetArena();
});

frames('an error while the frame closes (naming its results throws) leaves the memory behind and the arena closed', () => {
  const before = kernelBuffer();
  let stash: Float64Array | null = null;
  assert.throws(() => inFrame(() => {
    stash = allocToFill(1000).fill(5);
    return 0;
  }, () => {
    throw new Error('a getter in the results');
  }), /getter/);
  assert.ok(kernelBuffer() !== before, 'a new memory');
  assert.ok(inFrame(() => isHere(allocToFill(1000))), 'the next frame opens the arena');
  assert.ok((stash as unknown as Float64Array).every((v) => v === 5));
});

frames('with recycling off there is no arena', () => {
  setRecycling(false);
  inFrame(() => assert.not.ok(isHere(allocToFill(1000))));
});

frames.run();
