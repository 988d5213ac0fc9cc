// autodiff/tensor.ts (recycling), with autodiff/transforms.ts: the large
// temporaries of a first-order backward pass are reused by later allocations.
//   safety: gradients already returned (by grad, valueAndGrad and each call of
//   a vjp pullback) keep their values through many later passes; a pass under
//   an outer transform recycles nothing; a pass that throws recycles nothing;
//   recycled buffers come back zeroed;
//   no effect on results: MLP gradients, a Hessian-vector product and
//   estimator calls (REBAR with its variance gradient, RELAX) are bit-identical
//   with recycling on and off, over repeated calls that do reuse buffers;
//   estimateGradient's frame, opened when n times the parameters' size is 64
//   or more (one sample of 100 logits, not of 63; estimates there are
//   bit-identical with recycling off): the forward pass of mcgrad's own estimators is
//   recycled too (into the arena, which the next call reuses: recycledByteCount
//   counts both; arena.spec.ts has the rest), but never a tensor handed to f
//   (or one f makes), a tensor a
//   user's estimator or a user's generator keeps, or a returned one;
//   mcgrad's own problem functions (quadratic, table) run inside the frame:
//   their buffers are recycled too, with the same results as a user's wrapper;
//   allocToFill: the ops that take a recycled buffer without zeroing it write
//   every element (the pool is filled with NaN first, results compared with
//   fresh buffers).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor, grad, valueAndGrad, vjp, rng, sum, mul, add, exp, log, tanh, matmul, square, sub, scalar, tensor, categorical,
  neg, div, sigmoid, softplus, logSigmoid, relu, clamp, where, greater, maximum, softmax, logSoftmax, broadcastTo, transpose,
  max, slice, concat, gather, take, tableFunction, relaxationEstimator,
  estimateGradient, rebarEstimator, relaxEstimator, quadraticFunction, bernoulli, Rng, type Estimator, type Shape,
  pathwiseEstimator, relaxedBernoulli, RelaxedBernoulli, normal, reinforceMovingAverage, reparameterizations,
  gumbelSoftmaxEstimator, armEstimator,
} from '../../index.ts';
import { laws } from '../../estimators/pathwise.ts';
import { initRelaxState } from '../../estimators/relax.ts';
import { leaves } from '../../autodiff/tree.ts';
import { alloc, allocToFill, setRecycling, pooledByteCount, recycledByteCount, withRecycling, handOut } from '../../autodiff/tensor.ts';
import { arenaByteCount, kernelBuffer } from '../../autodiff/ops/simd.ts';

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

same('estimators at n = 1 on 100 logits (a frame of their own): REBAR and RELAX with their variance gradients', () => {
  const K = 100;
  const dist = categorical(rng(14).normal([K]));
  const f = quadraticFunction(Array.from({ length: K }, (_, k) => (k % 5) / 5));
  const rebarState = { logTemperature: scalar(Math.log(0.5)), eta: scalar(1) };
  const relaxState = initRelaxState(dist, rng(15));
  for (const [name, estimator, st] of [['REBAR', rebarEstimator, rebarState], ['RELAX', relaxEstimator, relaxState]] as const) {
    compare(`${name} + dVar`, () => {
      const out = estimateGradient(estimator as Estimator, dist, f, rng(16), { n: 1, state: st, trainState: true });
      return [...out.perSample.logits.data, ...leaves(out.stateGradient).flatMap((t) => Array.from(t.data)), out.value];
    });
  }
});

same.run();

const frames = suite('recycling: frames and outside code');

frames.after.each(() => setRecycling(true));

frames('withRecycling pools what the work allocated, but not its result, what it handed out, or what the outside code allocated; without handOut the stashed buffer is pooled', () => {
  const bytes = N * 8;
  const run = (hand: boolean): { result: Tensor; stash: Tensor[] } => {
    setRecycling(true); // an empty pool
    const stash: Tensor[] = [];
    const keep = (t: Tensor) => {
      stash.push(t, gen.uniform([N])); // the outside code keeps its argument and a tensor of its own
    };
    const result = withRecycling(() => {
      gen.uniform([N]); // a temporary
      const given = gen.uniform([N]);
      if (hand) handOut(keep, given);
      else keep(given);
      return gen.uniform([N]);
    }, (r) => [r]);
    return { result, stash };
  };
  run(true);
  assert.is(pooledByteCount(), bytes, 'with handOut: only the temporary');
  run(false);
  assert.is(pooledByteCount(), 3 * bytes, 'without: the temporary and both stashed tensors');
});

/** n = 1000 REBAR calls on a Bernoulli problem of 4 coordinates: every forward buffer is large. */
const dist = bernoulli(tensor([0.3, -1, 2, 0]));
const target = quadraticFunction([0.2, 0.4, 0.6, 0.8]);
const state = { logTemperature: scalar(Math.log(0.5)), eta: scalar(1) };
const call = (estimator: Estimator, f: (x: Tensor) => Tensor = target, r: Rng = rng(11)) => estimateGradient(estimator, dist, f, r, { n: 1000, state, trainState: true });
const snapshot = (ts: readonly Tensor[]) => ts.map((t) => Array.from(t.data));

frames('estimateGradient recycles the forward pass of its own estimators; results and what f saw or made keep their values', () => {
  setRecycling(true);
  const seen: Tensor[] = [];
  const f = (x: Tensor) => {
    const y = target(x);
    seen.push(x, y, mul(x, 2)); // [2000, 4] relaxed samples, [2000], and a tensor of f's own
    return y;
  };
  const first = call(rebarEstimator, f);
  const results = [first.perSample.logits, first.gradient.logits, ...leaves(first.stateGradient)];
  const firstSeen = seen.length; // f runs on b and on the relaxed samples
  const before = snapshot([...seen, ...results]);
  for (let i = 0; i < 5; i++) call(rebarEstimator, f, rng(20 + i));
  assert.ok(recycledByteCount() > 0);
  assert.equal(snapshot([...seen.slice(0, firstSeen), ...results]), before);
});

frames('estimateGradient opens its frame when n times the parameters\' size is 64 or more: one sample of 100 logits, not of 10, nor 10 samples of 2', () => {
  const opens = (logits: number, n: number): boolean => {
    setRecycling(true); // forgets the last frame's bytes
    const d = categorical(tensor(Array.from({ length: logits }, (_, k) => k / logits)));
    estimateGradient(relaxationEstimator('gumbel-softmax', { temperature: 0.5 }), d, quadraticFunction(Array.from({ length: logits }, () => 0.5)), rng(3), { n });
    return arenaByteCount() > 0;
  };
  assert.ok(opens(100, 1), '100 logits, n = 1');
  assert.ok(opens(64, 1), '64 logits, n = 1');
  assert.not.ok(opens(63, 1), '63 logits, n = 1');
  assert.not.ok(opens(10, 1), '10 logits, n = 1');
  assert.not.ok(opens(2, 10), '2 logits, n = 10');
  assert.ok(opens(2, 32), '2 logits, n = 32');
});

frames('mcgrad\'s own problem functions run inside the frame: their input and intermediates are pooled, with results bit-identical to a user\'s wrapper of the same function', () => {
  const table = tableFunction('bernoulli', Array.from({ length: 16 }, (_, i) => Math.sin(i)));
  const gs = relaxationEstimator('gumbel-softmax', { temperature: 0.5 });
  const catDist = categorical(tensor([0.5, -0.2, 1, 0]));
  const runs: [string, () => Tensor[], () => Tensor[]][] = [
    ['REBAR on the quadratic', () => snapshotOf(call(rebarEstimator, target)), () => snapshotOf(call(rebarEstimator, (x) => target(x)))],
    ['REBAR on a table', () => snapshotOf(call(rebarEstimator, table)), () => snapshotOf(call(rebarEstimator, (x) => table(x)))],
    ['Gumbel-softmax on the quadratic', () => [estimateGradient(gs, catDist, target, rng(11), { n: 1000 }).perSample.logits],
      () => [estimateGradient(gs, catDist, (x) => target(x), rng(11), { n: 1000 }).perSample.logits]],
  ];
  for (const [name, own, wrapped] of runs) {
    setRecycling(true);
    const ownOut = snapshot(own());
    const ownPooled = recycledByteCount();
    setRecycling(true);
    const wrappedOut = snapshot(wrapped());
    const wrappedPooled = recycledByteCount();
    assert.ok(ownPooled > wrappedPooled, `${name}: pooled ${ownPooled} bytes against ${wrappedPooled} for the wrapper`);
    assert.equal(ownOut, wrappedOut, name);
    for (let i = 0; i < 3; i++) assert.equal(snapshot(own()), ownOut, `${name}: call ${i + 2} from the pool`);
  }
});

function snapshotOf(e: ReturnType<typeof call>): Tensor[] {
  return [e.perSample.logits, e.gradient.logits, ...leaves(e.stateGradient)];
}

frames('a user\'s estimator (even one wrapping REBAR\'s) and a user\'s generator are not recycled: what they keep keeps its values', () => {
  const kept: Tensor[] = [];
  const wrapped: Estimator = {
    ...rebarEstimator,
    surrogate: (d, f, r, o) => {
      const out = rebarEstimator.surrogate(d, f, r, o);
      kept.push(out.perSample); // [1000], allocated in the forward pass
      return out;
    },
  };
  class Recording extends Rng {
    uniform(shape: Shape): Tensor {
      const u = super.uniform(shape);
      kept.push(u);
      return u;
    }
  }
  const recording = new Recording(1, 2, 3, 4);
  // The frame's reach: REBAR's own call pools more than the wrapped one, whose backward pass alone recycles.
  setRecycling(true);
  call(rebarEstimator);
  const own = recycledByteCount();
  setRecycling(true);
  call(wrapped);
  assert.ok(recycledByteCount() < own, `wrapped ${recycledByteCount()} against ${own} bytes`);
  call(rebarEstimator, target, recording);
  const before = snapshot(kept);
  for (let i = 0; i < 5; i++) {
    call(rebarEstimator, target, rng(30 + i));
    call(wrapped, target, rng(40 + i));
  }
  assert.equal(snapshot(kept.slice(0, before.length)), before);
});

frames('a state the estimator returns anew (a moving average) keeps its values through later frames; one handed back as given is left as it is', () => {
  const d = bernoulli(tensor([0.1, -0.4]));
  const f = (x: Tensor) => sum(x, 1);
  const given = { average: scalar(0.25) };
  const ema = estimateGradient(reinforceMovingAverage, d, f, rng(1), { n: 100, state: given }).state as { average: Tensor };
  assert.ok(ema !== given, 'a new state');
  const before = Array.from(ema.average.data);
  for (let i = 0; i < 3; i++) estimateGradient(reinforceMovingAverage, d, f, rng(2 + i), { n: 100, state: { average: scalar(9) } });
  assert.equal(Array.from(ema.average.data), before);
  assert.equal(Array.from(given.average.data), [0.25]);
  assert.is(estimateGradient(rebarEstimator, dist, target, rng(3), { n: 1000, state }).state, state, 'REBAR hands its state back');
});

frames('getters on the descriptor, the options or the state run before the frame opens: what they make and keep keeps its values; a state that is not plain data runs without a frame, with the same estimate', () => {
  const K = 100;
  const base = tensor(Array.from({ length: K }, (_, k) => Math.sin(k + 1)));
  const q = quadraticFunction(Array.from({ length: K }, () => 0.5));
  const made: Tensor[] = [];
  const keep = (t: Tensor): Tensor => {
    made.push(t);
    return t;
  };
  const dist = { family: 'categorical' as const, get logits() { return keep(mul(base, 1)); } };
  const options = { get n() { keep(mul(base, 2)); return 1; } };
  const first = estimateGradient(gumbelSoftmaxEstimator, dist as never, q, rng(1), options);
  const rebarState = { get logTemperature() { return keep(mul(scalar(-0.7), 1)); }, eta: scalar(1) };
  const second = estimateGradient(rebarEstimator, categorical(base), q, rng(2), { n: 1, state: rebarState as never });
  assert.ok(made.length >= 3, 'the getters ran');
  assert.ok(made.every((t) => t.data.buffer !== kernelBuffer()), 'nothing they made lives in the arena');
  const before = made.map((t) => Array.from(t.data));
  matmul(rng(2).normal([80, 80]), rng(3).normal([80, 80])); // a plain product: the kernel's memory as scratch from its start
  for (let i = 0; i < 2; i++) estimateGradient(gumbelSoftmaxEstimator, categorical(base), q, rng(5 + i), { n: 1 });
  assert.equal(made.map((t) => Array.from(t.data)), before);
  // The same estimates as from plain objects.
  assert.equal(Array.from(first.gradient.logits.data), Array.from(estimateGradient(gumbelSoftmaxEstimator, categorical(base), q, rng(1), { n: 1 }).gradient.logits.data));
  const plainState = { logTemperature: scalar(-0.7), eta: scalar(1) };
  assert.equal(Array.from(second.gradient.logits.data), Array.from(estimateGradient(rebarEstimator, categorical(base), q, rng(2), { n: 1, state: plainState }).gradient.logits.data));
  class Held {
    constructor(readonly logTemperature: Tensor, readonly eta: Tensor) {}
  }
  setRecycling(true);
  const held = estimateGradient(rebarEstimator, categorical(base), q, rng(2), { n: 1, state: new Held(scalar(-0.7), scalar(1)) as never });
  assert.is(arenaByteCount(), 0, 'a class instance in the state: no frame');
  assert.equal(Array.from(held.gradient.logits.data), Array.from(second.gradient.logits.data));
});

frames('a call that throws before the frame takes anything keeps the kernel\'s memory; a family the estimator refuses throws outside the frame', () => {
  const d = categorical(tensor(Array.from({ length: 100 }, (_, k) => k / 100)));
  const q = quadraticFunction(Array.from({ length: 100 }, () => 0.5));
  estimateGradient(gumbelSoftmaxEstimator, d, q, rng(1), { n: 10 });
  const before = kernelBuffer();
  for (let i = 0; i < 5; i++) assert.throws(() => estimateGradient(armEstimator, d, q, rng(i), { n: 10 }), /arm/);
  assert.throws(() => estimateGradient(gumbelSoftmaxEstimator, d, q, rng(1), { n: 10, weights: tensor([1]) }), /weights/); // in the frame, before any buffer
  assert.is(kernelBuffer(), before, 'the same memory');
});

frames('a relaxed sample kept by f at n = 1 (64 logits, a frame of its own) keeps its log-density', () => {
  let kept: Tensor | null = null;
  const f = (x: Tensor) => {
    kept ??= x;
    return sum(x, 1);
  };
  const logits = tensor(Array.from({ length: 64 }, (_, k) => Math.cos(k)));
  estimateGradient(pathwiseEstimator, relaxedBernoulli(logits, 0.5), f, rng(1), { n: 1 });
  const law = new RelaxedBernoulli(logits, 0.5);
  const before = Array.from(law.logProb(kept as unknown as Tensor).data);
  for (let i = 0; i < 3; i++) estimateGradient(pathwiseEstimator, relaxedBernoulli(tensor(Array.from({ length: 64 }, () => -2)), 0.5), (x: Tensor) => sum(x, 1), rng(2 + i), { n: 1 });
  assert.equal(Array.from(law.logProb(kept as unknown as Tensor).data), before);
});

frames('estimateGradient under an outer transform (n = 1, 100 logits) opens no frame: the same value and gradient as with recycling off', () => {
  const K = 100;
  const d = categorical(tensor(Array.from({ length: K }, (_, k) => Math.sin(k))));
  const q = quadraticFunction(Array.from({ length: K }, (_, k) => (k % 4) / 4));
  const run = () => {
    const out = valueAndGrad((eta: Tensor) => {
      const e = estimateGradient(rebarEstimator, d, q, rng(4), { n: 1, state: { logTemperature: scalar(-0.7), eta } });
      const e2 = estimateGradient(rebarEstimator, d, q, rng(5), { n: 1, state: { logTemperature: scalar(-0.3), eta } });
      return add(sum(mul(e.gradient.logits, e.gradient.logits)), sum(mul(e2.gradient.logits, e2.gradient.logits)));
    })(scalar(0.9));
    return [out.value.item(), out.grad.item()];
  };
  setRecycling(false);
  const off = run();
  setRecycling(true);
  run();
  assert.equal(run(), off);
});

frames('a relaxed sample kept by f keeps its log-density (the log-space values behind it are not recycled)', () => {
  let kept: Tensor | null = null;
  const f = (x: Tensor) => {
    kept ??= x;
    return sum(x, 1);
  };
  const logits = tensor([0.3]);
  estimateGradient(pathwiseEstimator, relaxedBernoulli(logits, 0.5), f, rng(1), { n: 500 });
  const law = new RelaxedBernoulli(logits, 0.5);
  const before = Array.from(law.logProb(kept as unknown as Tensor).data);
  for (let i = 0; i < 3; i++) estimateGradient(pathwiseEstimator, relaxedBernoulli(tensor([-2]), 0.5), (x: Tensor) => sum(x, 1), rng(2 + i), { n: 500 });
  assert.equal(Array.from(law.logProb(kept as unknown as Tensor).data), before);
});

frames('a generator with a method replaced on the instance is not recycled; a state that refers to itself is walked once; the reparameterization tables are frozen', () => {
  const g = rng(1);
  const draws: Tensor[] = [];
  const own = g.normal.bind(g);
  (g as unknown as { normal: (shape: Shape) => Tensor }).normal = (shape) => {
    const t = own(shape);
    draws.push(t);
    return t;
  };
  const dist = normal(tensor([0, 0]), tensor([1, 1]));
  estimateGradient(pathwiseEstimator, dist, (x: Tensor) => sum(x, 1), g, { n: 300 });
  const before = snapshot(draws);
  for (let i = 0; i < 3; i++) estimateGradient(pathwiseEstimator, dist, (x: Tensor) => sum(x, 1), g, { n: 300 });
  assert.equal(snapshot(draws.slice(0, before.length)), before);

  const cyclic: Record<string, unknown> = { average: scalar(0) };
  cyclic.meta = { owner: cyclic, data: new Float64Array(3) };
  const out = estimateGradient(reinforceMovingAverage, bernoulli(tensor([0.1, 0.2])), (x: Tensor) => sum(x, 1), rng(0), { n: 200, state: cyclic });
  assert.ok(Number.isFinite(out.gradient.logits.data[0]));

  assert.ok(Object.isFrozen(reparameterizations) && Object.isFrozen(laws));
});

frames.run();

const unzeroed = suite('recycling: buffers taken without zeroing are written in full');

unzeroed.after.each(() => setRecycling(true));

const L = 300; // every output below has 300 elements, over the slab limit

/** Fills the pool with buffers of L NaNs (a frame that keeps nothing). */
function poison(count = 12): void {
  setRecycling(true);
  withRecycling(() => {
    for (let i = 0; i < count; i++) alloc(L).fill(NaN);
  }, () => []);
}

const g300 = rng(9);
const v = g300.uniform([L]); // [300]
const m = g300.uniform([3, 100]);
const row = g300.uniform([100]);
const col = g300.uniform([3, 1]);
const wide = g300.uniform([L, 3]);
const long = g300.uniform([L + 50]);
const mm = { a: g300.uniform([20, 7]), b: g300.uniform([7, 15]), r1: g300.uniform([1, 9]), r9: g300.uniform([9, L]), c300: g300.uniform([L, 1]), one: g300.uniform([1, 1]) };
// [name, run, whether it runs a backward pass (which puts its own temporaries back into the pool)]
const cases: [string, () => Tensor, boolean?][] = [
  ['unary ops', () => add(add(add(exp(v), log(v)), add(tanh(v), sigmoid(v))), add(add(softplus(v), logSigmoid(v)), add(neg(v), clamp(v, 0.2, 0.8))))],
  ['binary ops: same shape, a row, a scalar, a column', () => add(add(mul(m, m), sub(m, row)), add(div(m, 2), maximum(m, col)))],
  ['where, greater, relu', () => add(where(greater(v, 0.5), v, neg(v)), relu(sub(v, 0.5)))],
  ['softmax and logSoftmax, both axes', () => add(add(softmax(m), logSoftmax(m)), add(softmax(m, 0), logSoftmax(m, 0)))],
  ['first-order VJPs', () => grad((x: Tensor) => sum(add(add(tanh(x), square(x)), add(add(sigmoid(x), softplus(x)), add(logSigmoid(x), relu(x))))))(v), true],
  ['softmax VJPs', () => grad((x: Tensor) => add(sum(mul(softmax(x), m)), sum(mul(logSoftmax(x, 0), m))))(m), true],
  ['matmul: rows, tiles, an outer product, transposed', () => {
    const rows = reshape300(matmul(mm.r1, mm.r9)); // one row: the row kernel
    const outerProduct = reshape300(matmul(mm.c300, mm.one)); // k = 1
    return add(add(matmul(mm.a, mm.b), transpose(matmul(transpose(mm.b), transpose(mm.a)))), add(rows, outerProduct));
  }],
  ['broadcastTo', () => add(broadcastTo(row, [3, 100]), broadcastTo(col, [3, 100]))],
  ['sum and max on an axis, slice, concat, gather, take', () => {
    const reduced = add(sum(wide, 1), max(wide, 1)); // [300] from [300, 3]
    const sliced = slice(long, 0, 20, L + 20);
    const joined = concat([slice(v, 0, 0, 100), slice(v, 0, 100, L)]);
    const picked = gather(wide, tensor(Array.from({ length: L }, (_, i) => [i % 3]), [L, 1]), 1); // [300, 1]
    const taken = take(v, Array.from({ length: L }, (_, i) => (7 * i) % L));
    return add(add(reduced, sliced), add(joined, add(new Tensor(picked.data, [L]), taken)));
  }],
  ['random draws', () => {
    const r = rng(3);
    return add(add(r.uniform([L]), r.normal([L])), add(add(r.exponential([L]), r.gumbel([L])), r.logistic([L])));
  }],
];

function reshape300(t: Tensor): Tensor {
  return new Tensor(t.data, [20, 15]);
}

unzeroed('every op that takes a buffer without zeroing gives the same numbers from a pool of NaNs as from fresh buffers', () => {
  for (const [name, run, backward] of cases) {
    setRecycling(false);
    const fresh = Array.from(run().data);
    poison();
    const before = pooledByteCount();
    const reused = Array.from(run().data);
    if (!backward) assert.ok(pooledByteCount() < before, `${name}: drew from the pool`);
    assert.equal(reused, fresh, name);
  }
});

unzeroed('the check has power: a loop that skips one element shows a NaN', () => {
  poison();
  const out = allocToFill(L);
  for (let i = 0; i < L - 1; i++) out[i] = 1;
  assert.ok(Number.isNaN(out[L - 1]));
});

unzeroed.run();
