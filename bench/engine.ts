// The engine's microbenchmarks: the same cases as the peers' `--only micro`
// (../shared/peers/torch/bench.py and tfjs/bench.mjs), forward + backward,
// gradients of every marked input:
//   MLP 784-200-784:  y = tanh(x W1 + b1) W2 + b2,  loss = Σ (y − x)² / batch,
//                     ∇ over W1, b1, W2, b2; batch 24 and batch 1
//   HVP:              ∇_p ⟨∇_p loss(p), v⟩ of the batch-24 MLP loss
//   scalar chain:     y ← sin(y)·w + exp(−y), 20 times (100 ops), y = x = 0.5, w = 0.9; dy/dx
//   matmul:           loss = Σ A B, A and B 256×256, ∇ over both
//   elementwise:      loss = Σ log(exp(x) ⊙ w) over 1e6 elements, ∇ over x
// Initialisation follows the peers: weights uniform on (−1, 1) / √fan_in,
// x uniform on (0, 1) for the MLP, w uniform on (0.5, 1.5).

import {
  Tensor, add, sub, mul, div, exp, log, sin, neg, tanh, square, sum, matmul, grad, scalar, leaves, rng,
  type Rng,
} from '../index.ts';

export interface BenchCase {
  name: string;
  /** The batch size (1 when the case has none), as in the peers' tables. */
  n: number;
  run: () => unknown;
}

/** Uniform on (−scale, scale). */
function symmetric(gen: Rng, shape: number[], scale = 1): Tensor {
  return mul(sub(mul(gen.uniform(shape), 2), 1), scale);
}

interface Mlp {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

function mlpLoss(p: Mlp, x: Tensor): Tensor {
  const hidden = tanh(add(matmul(x, p.w1), p.b1)); // [batch, 200]
  const y = add(matmul(hidden, p.w2), p.b2); // [batch, 784]
  return div(sum(square(sub(y, x))), x.shape[0]);
}

/** Σ over the leaves of two trees of ⟨a, b⟩. */
function treeDot(a: Mlp, b: Mlp): Tensor {
  const as = leaves(a);
  const bs = leaves(b);
  let total = sum(mul(as[0], bs[0]));
  for (let i = 1; i < as.length; i++) total = add(total, sum(mul(as[i], bs[i])));
  return total;
}

export function engineCases(): BenchCase[] {
  const gen = rng(0);
  const params: Mlp = {
    w1: symmetric(gen, [784, 200], 784 ** -0.5),
    b1: symmetric(gen, [200], 784 ** -0.5),
    w2: symmetric(gen, [200, 784], 200 ** -0.5),
    b2: symmetric(gen, [784], 200 ** -0.5),
  };
  const cases: BenchCase[] = [];

  for (const batch of [24, 1]) {
    const x = gen.uniform([batch, 784]);
    const step = grad((p: Mlp) => mlpLoss(p, x));
    cases.push({ name: 'MLP 784-200-784 tanh, squared error', n: batch, run: () => step(params) });
  }

  const x24 = gen.uniform([24, 784]);
  const v: Mlp = {
    w1: symmetric(gen, [784, 200]),
    b1: symmetric(gen, [200]),
    w2: symmetric(gen, [200, 784]),
    b2: symmetric(gen, [784]),
  };
  const lossGrad = grad((p: Mlp) => mlpLoss(p, x24));
  const hvp = grad((p: Mlp) => treeDot(lossGrad(p), v));
  cases.push({ name: 'MLP batch-24 Hessian-vector product', n: 24, run: () => hvp(params) });

  const xs = scalar(0.5);
  const ws = scalar(0.9);
  const chain = grad((x: Tensor) => {
    let y = x;
    for (let i = 0; i < 20; i++) y = add(mul(sin(y), ws), exp(neg(y)));
    return y;
  });
  cases.push({ name: 'scalar chain, 100 ops', n: 1, run: () => chain(xs) });

  const a = symmetric(gen, [256, 256]);
  const b = symmetric(gen, [256, 256]);
  const matmulGrad = grad((p: Tensor, q: Tensor) => sum(matmul(p, q)), { argnums: [0, 1] });
  cases.push({ name: 'matmul 256x256 @ 256x256, sum', n: 1, run: () => matmulGrad(a, b) });

  const xe = symmetric(gen, [1_000_000]);
  const we = add(gen.uniform([1_000_000]), 0.5);
  const elementwise = grad((y: Tensor) => sum(log(mul(exp(y), we))));
  cases.push({ name: 'sum(log(exp(x) * w)), 1e6 elements', n: 1, run: () => elementwise(xe) });

  // Not in the peers: the generator's own speed (issue: 1e6 uniforms in a few ms).
  const buffer = new Float64Array(1_000_000);
  const draws = rng(1);
  cases.push({ name: 'rng.fillUniform, 1e6 uniforms', n: 1, run: () => draws.fillUniform(buffer) });
  cases.push({ name: 'rng.fillGumbel, 1e6 Gumbels', n: 1, run: () => draws.fillGumbel(buffer) });

  return cases;
}
