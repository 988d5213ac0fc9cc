// autodiff/tensor.ts (recycling), with autodiff/transforms.ts: the large
// temporaries of a first-order backward pass are reused by later allocations.
//   safety: gradients already returned (by grad, valueAndGrad and each call of
//   a vjp pullback) keep their values through many later passes; a pass under
//   an outer transform recycles nothing; a pass that throws recycles nothing;
//   recycled buffers come back zeroed;
//   no effect on results: MLP gradients, a Hessian-vector product and
//   estimator calls (REBAR with its variance gradient, RELAX) are bit-identical
//   with recycling on and off, over repeated calls that do reuse buffers.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor, grad, valueAndGrad, vjp, rng, sum, mul, add, exp, log, tanh, matmul, square, sub, scalar, tensor, categorical,
  estimateGradient, rebarEstimator, relaxEstimator, quadraticFunction,
} from '../../index.ts';
import { initRelaxState } from '../../estimators/relax.ts';
import { leaves } from '../../autodiff/tree.ts';
import { alloc, setRecycling, pooledByteCount } from '../../autodiff/tensor.ts';

const recycling = suite('recycling: safety');

const N = 20_000; // 160 KB per buffer, well over the 128-element slab limit
const gen = rng(7);
const x = gen.uniform([N]);
const w = gen.uniform([N]);
const f = (y: Tensor) => sum(log(mul(exp(y), add(w, 0.5))));

recycling.after.each(() => setRecycling(true));

recycling('returned gradients keep their values through later passes', () => {
  setRecycling(true);
  const first = grad(f)(x);
  const copy = Float64Array.from(first.data);
  const { grad: second } = valueAndGrad((y: Tensor) => sum(tanh(mul(y, w))))(x);
  const secondCopy = Float64Array.from(second.data);
  for (let i = 0; i < 20; i++) grad((y: Tensor) => sum(square(sub(exp(y), w))))(gen.uniform([N]));
  assert.ok(pooledByteCount() > 0, 'the passes did recycle');
  assert.equal(Array.from(first.data), Array.from(copy));
  assert.equal(Array.from(second.data), Array.from(secondCopy));
});

recycling('each call of a vjp pullback returns buffers of its own', () => {
  const { vjp: pullback } = vjp((y: Tensor) => exp(mul(y, w)), x);
  const [a] = pullback(gen.uniform([N]));
  const aCopy = Float64Array.from(a.data);
  const [b] = pullback(gen.uniform([N]));
  for (let i = 0; i < 5; i++) pullback(gen.uniform([N]));
  assert.ok(a.data.buffer !== b.data.buffer);
  assert.equal(Array.from(a.data), Array.from(aCopy));
});

recycling('a backward pass under an outer transform recycles nothing', () => {
  setRecycling(true); // empties the pool
  let during = -1;
  grad((s: Tensor) => {
    const inner = grad((y: Tensor) => sum(mul(exp(mul(y, s)), w)))(x); // recorded by the outer tape
    during = pooledByteCount();
    return sum(inner);
  })(scalar(0.3));
  assert.is(during, 0);
});

recycling('a pass that throws recycles nothing, and the next pass works', () => {
  setRecycling(true);
  const bad = (y: Tensor) => sum(mul(exp(y), w));
  assert.throws(() => vjp(bad, x).vjp(tensor([1, 2]) as Tensor));
  assert.is(pooledByteCount(), 0);
  assert.ok(Number.isFinite(grad(f)(x).data[0]));
});

recycling('recycled buffers come back zeroed', () => {
  setRecycling(true);
  grad(f)(x);
  assert.ok(pooledByteCount() > 0);
  for (let i = 0; i < 4; i++) assert.ok(alloc(N).every((v) => v === 0), `allocation ${i}`);
});

recycling.run();

const same = suite('recycling: no effect on results');

function compare(label: string, run: () => number[]) {
  setRecycling(false);
  const off = [run(), run()];
  setRecycling(true);
  const on = [run(), run(), run()];
  for (const r of on) assert.equal(r, off[0], `${label}: recycling on`);
  assert.equal(off[1], off[0], `${label}: deterministic`);
}

same.after.each(() => setRecycling(true));

same('MLP gradients and a Hessian-vector product', () => {
  const g = rng(3);
  const p = { w1: g.uniform([100, 64]), w2: g.uniform([64, 100]) };
  const v = { w1: g.uniform([100, 64]), w2: g.uniform([64, 100]) };
  const input = g.uniform([24, 100]);
  const loss = (q: typeof p) => sum(square(sub(matmul(tanh(matmul(input, q.w1)), q.w2), input)));
  const flat = (q: typeof p) => [...q.w1.data, ...q.w2.data];
  compare('gradient', () => flat(grad(loss)(p)));
  const hvp = grad((q: typeof p) => add(sum(mul(grad(loss)(q).w1, v.w1)), sum(mul(grad(loss)(q).w2, v.w2))));
  compare('Hessian-vector product', () => flat(hvp(p)));
});

same('estimators at n = 1000: REBAR with its variance gradient, RELAX', () => {
  const K = 20;
  const dist = categorical(rng(4).normal([K]));
  const f = quadraticFunction(Array.from({ length: K }, (_, k) => (k % 3) / 3));
  const rebarState = { logTemperature: scalar(Math.log(0.5)), eta: scalar(1) };
  compare('REBAR + dVar', () => {
    const out = estimateGradient(rebarEstimator, dist, f, rng(5), { n: 1000, state: rebarState, trainState: true });
    return [...out.perSample.logits.data, ...leaves(out.stateGradient).flatMap((t) => Array.from(t.data))];
  });
  const relaxState = initRelaxState(dist, rng(8));
  compare('RELAX + dVar', () => {
    const out = estimateGradient(relaxEstimator, dist, f, rng(6), { n: 1000, state: relaxState, trainState: true });
    return [...out.perSample.logits.data, ...leaves(out.stateGradient).flatMap((t) => Array.from(t.data))];
  });
});

same.run();
