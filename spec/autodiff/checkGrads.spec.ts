// The checkGrads harness (spec/harness/checkGrads.ts) must be able to fail:
// ops defined here through the engine's internal `record`, with derivatives
// that are wrong in known ways, must be rejected, at the order where they
// are wrong; the same ops with the right derivative must pass.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, tensor, mul, add, neg, sin, cos, square, sum, reshape, broadcastTo, slice, isRecording } from '../../index.ts';
import { record } from '../../autodiff/tape.ts';
import { checkGrads } from '../harness/checkGrads.ts';

/** An elementwise op with a hand-written VJP, recorded like the engine's own. */
function defineUnary(name: string, forward: (v: number) => number, vjp: (g: Tensor, x: Tensor) => Tensor): (x: Tensor) => Tensor {
  return (x: Tensor) => {
    const out = new Tensor(Float64Array.from(x.data, forward), x.shape);
    return isRecording() ? record(name, [x], out, (g) => [vjp(g, x)]) : out;
  };
}

const x0 = tensor([[0.3, -1.2, 2.0], [0.7, 1.5, -0.4]]);

const rejects = suite('checkGrads: rejects wrong derivatives');

rejects('a correct custom op passes at both orders, with errors far below tolerance', () => {
  const goodSin = defineUnary('goodSin', Math.sin, (g, x) => mul(g, cos(x)));
  const report = checkGrads(goodSin, [x0], { order: 2, seed: 1 });
  // The measured errors are the margin of the tolerances: expect ≥ 100× headroom.
  assert.ok(report.order1 < 1e-2, `order-1 error ratio ${report.order1}`);
  assert.ok(report.order2 < 1e-2, `order-2 error ratio ${report.order2}`);
});

for (const delta of [1e-2, 1e-4]) {
  rejects(`a derivative off by a factor 1 + ${delta} fails order 1`, () => {
    const badSin = defineUnary('badSin', Math.sin, (g, x) => mul(g, mul(cos(x), 1 + delta)));
    assert.throws(() => checkGrads(badSin, [x0], { order: 1, seed: 1 }), /checkGrads: order 1 mismatch/);
  });
}

rejects('a derivative with the wrong sign fails order 1', () => {
  const flipped = defineUnary('flipped', Math.sin, (g, x) => neg(mul(g, cos(x))));
  assert.throws(() => checkGrads(flipped, [x0], { order: 1, seed: 2 }), /order 1 mismatch/);
});

rejects('a VJP that is right at first order but frozen (not differentiable) fails order 2 only', () => {
  // d x³ = 3x² dx, but with 3x² computed outside the graph: grad is right, grad of grad misses 6x.
  const frozenCube = defineUnary('frozenCube', (v) => v * v * v, (g, x) => mul(g, new Tensor(Float64Array.from(x.data, (v) => 3 * v * v), x.shape)));
  checkGrads(frozenCube, [x0], { order: 1, seed: 3 });
  assert.throws(() => checkGrads(frozenCube, [x0], { order: 2, seed: 3 }), /checkGrads: order 2 mismatch/);
  const cube = defineUnary('cube', (v) => v * v * v, (g, x) => mul(g, mul(square(x), 3)));
  checkGrads(cube, [x0], { order: 2, seed: 3 });
});

rejects('a wrong second derivative in a composite fails order 2', () => {
  // sin with VJP g·cos(x) where cos is itself an op whose VJP has the wrong sign.
  const badCos = defineUnary('badCos', Math.cos, (g, x) => mul(g, sin(x)));
  const sinWithBadCos = defineUnary('sinWithBadCos', Math.sin, (g, x) => mul(g, badCos(x)));
  checkGrads(sinWithBadCos, [x0], { order: 1, seed: 4 });
  assert.throws(() => checkGrads(sinWithBadCos, [x0], { order: 2, seed: 4 }), /order 2 mismatch/);
});

rejects('a broadcasting VJP that folds the wrong axis fails order 1', () => {
  // b of shape [3,1] broadcast to [3,4]: its cotangent must sum over axis 1;
  // this one takes the first column instead (right shape, wrong values).
  const addColumn = (a: Tensor, b: Tensor): Tensor => {
    const out = add(a, broadcastTo(new Tensor(b.data, b.shape), a.shape));
    if (!isRecording()) return out;
    return record('addColumn', [a, b], out, (g) => [g, reshape(slice(g, 1, 0, 1), b.shape)]);
  };
  const a = tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
  const b = tensor([[0.1], [0.2], [0.3]]);
  assert.throws(() => checkGrads(addColumn, [a, b], { order: 1, seed: 5 }), /order 1 mismatch/);
  const addRight = (p: Tensor, q: Tensor): Tensor => add(p, q);
  checkGrads(addRight, [a, b], { order: 2, seed: 5 });
});

rejects('a gradient of the wrong shape is reported as such', () => {
  const wrongShape = (x: Tensor): Tensor => {
    const out = new Tensor(Float64Array.from(x.data), x.shape);
    return isRecording() ? record('wrongShape', [x], out, (g) => [sum(g)]) : out;
  };
  assert.throws(() => checkGrads(wrongShape, [x0], { order: 1 }), /VJP of wrongShape gave shape \[\]/);
});

rejects.run();
