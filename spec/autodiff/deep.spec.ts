// Deep graphs: the backward pass walks the tape in a loop, not by recursion,
// so a chain of 100 000 ops differentiates (first and second order) without
// overflowing the stack, and gives the right value; after grad returns, the
// tape's nodes are released (a white-box look at `_trace.tape.nodes`), and
// the graph's tensors are garbage: WeakRefs to them are cleared by a forced
// full collection (the collector exposed through node:v8, after a turn of the
// event loop so that no WeakRef is held for the current job).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, scalar, tensor, grad, valueAndGrad, vjp, isRecording, add, mul, square, sin, sum } from '../../index.ts';
import type { TraceRef } from '../../autodiff/tape.ts';
import { assertNear } from './helpers.ts';

const deep = suite('deep graphs');

const N = 50_000; // two ops per step: a chain of 100 000 ops
const c = 1 - 1e-5;

// y ← c·y + 0.001, N times, from y = x: y_N = cᴺ x + 0.001 (1 − cᴺ) / (1 − c), dy_N/dx = cᴺ.
function chain(x: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < N; i++) y = add(mul(y, c), 0.001);
  return y;
}

deep('a chain of 100 000 ops: value and gradient, no stack overflow', () => {
  const { value, grad: g } = valueAndGrad(chain)(scalar(0.5));
  let y = 0.5;
  let dy = 1;
  for (let i = 0; i < N; i++) {
    y = y * c + 0.001;
    dy *= c;
  }
  assert.is(value.item(), y); // the same float operations in the same order
  assert.is(g.item(), dy); // the backward pass multiplies by c N times, as this loop does
  assertNear(g.item(), Math.exp(N * Math.log(c)), 1e-9, 'cᴺ in closed form'); // N roundings of ≤ u each
});

deep('the same chain on a vector, with a reduction at the end', () => {
  const g = grad((x: Tensor) => sum(chain(x)))(tensor([1, 2, 3]));
  const expected = Math.exp(N * Math.log(c));
  for (const v of g.data) assertNear(v, expected, 1e-9, 'gradient');
});

deep('second order through a chain of 100 000 ops: d²/dx² (cᴺ x)² = 2 c²ᴺ', () => {
  const f = (x: Tensor): Tensor => {
    let y = x;
    for (let i = 0; i < 2 * N; i++) y = mul(y, c);
    return square(y);
  };
  const d2 = grad(grad(f))(scalar(0.7)).item();
  assertNear(d2, 2 * Math.exp(4 * N * Math.log(c)), 1e-9, 'second derivative');
});

deep('a deep chain of sin (20 000 ops) against the chain rule computed by hand', () => {
  const n = 20_000;
  const g = grad((x: Tensor) => {
    let y = x;
    for (let i = 0; i < n; i++) y = sin(y);
    return y;
  })(scalar(1));
  let y = 1;
  let dy = 1;
  for (let i = 0; i < n; i++) {
    dy *= Math.cos(y);
    y = Math.sin(y);
  }
  assertNear(g.item(), dy, 1e-12, 'd sinⁿ(x)/dx');
});

deep('after grad returns, the tape is emptied and nothing is recording', () => {
  const { value, grad: g } = valueAndGrad(chain)(scalar(0.5));
  const trace = value._trace;
  assert.ok(trace !== null, 'the value remembers the tape it was recorded on');
  assert.is(trace.tape.nodes.length, 0, 'the tape holds no nodes after grad returns');
  assert.is(g._trace, null, 'the gradient is a plain tensor, on no tape');
  assert.is(isRecording(), false);
});

deep('after a second-order grad, both tapes are emptied', () => {
  let inner: Tensor | null = null;
  const f = (x: Tensor): Tensor => {
    const r = valueAndGrad((t: Tensor) => square(mul(t, x)))(x);
    inner = r.value;
    return r.grad;
  };
  const { value } = valueAndGrad(f)(scalar(2));
  assert.is(value._trace?.tape.nodes.length, 0);
  const innerTrace = (inner as Tensor | null)?._trace;
  assert.ok(innerTrace !== null && innerTrace !== undefined);
  // The inner value was recorded on the inner tape (emptied) and on the outer one (emptied).
  for (let r: TraceRef | null = innerTrace; r !== null; r = r.next) assert.is(r.tape.nodes.length, 0);
});

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** A full collection after the current job: WeakRefs made in it may then be cleared. */
async function collectGarbage(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  collect();
}

/** y ← c·y + 0.001, steps times, remembering a WeakRef to every intermediate tensor. */
function watchedChain(x: Tensor, steps: number, refs: WeakRef<Tensor>[]): Tensor {
  let y = x;
  for (let i = 0; i < steps; i++) {
    y = add(mul(y, c), 0.001);
    refs.push(new WeakRef(y));
  }
  return y;
}

const alive = (refs: WeakRef<Tensor>[]) => refs.filter((r) => r.deref() !== undefined).length;

deep('after grad returns, the graph tensors are freed by the collector (grad, second order, vjp)', async () => {
  const first: WeakRef<Tensor>[] = [];
  const g1 = grad((x: Tensor) => watchedChain(x, 1000, first))(scalar(0.5));
  const second: WeakRef<Tensor>[] = [];
  const g2 = grad(grad((x: Tensor) => square(watchedChain(x, 1000, second))))(scalar(0.5));
  await collectGarbage();
  assert.is(alive(first), 0, 'first order');
  assert.is(alive(second), 0, 'second order');
  assert.ok(Number.isFinite(g1.item()) && Number.isFinite(g2.item()));

  // The check can tell: a held pullback keeps its graph, dropping it frees it.
  const pulled: WeakRef<Tensor>[] = [];
  let held: { out: Tensor } | null = vjp((x: Tensor) => watchedChain(x, 1000, pulled), scalar(0.5));
  await collectGarbage();
  assert.is(alive(pulled), 1000, 'the pullback holds its graph');
  assert.ok(held !== null);
  held = null;
  await collectGarbage();
  assert.is(alive(pulled), 0, 'dropped with the pullback');
});

deep('vjp keeps its tape until the pullback is dropped, and can pull back repeatedly', () => {
  const { out, vjp: back } = vjp(chain, scalar(0.5));
  assert.ok((out._trace?.tape.nodes.length ?? 0) > 2 * N, 'the tape is alive while the pullback is');
  const a = back(scalar(1))[0].item();
  const b = back(scalar(2))[0].item();
  assert.is(b, 2 * a);
});

deep.run();
