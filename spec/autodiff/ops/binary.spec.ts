// autodiff/ops/binary.ts: elementwise ops of two tensors under NumPy broadcasting.
//   gradients: checkGrads (first and second order) for both inputs, on
//   fast-check pairs of broadcasting shapes ([3,1] vs [1,4], scalar vs
//   matrix, rank-mismatched) with each op's domain; numbers as either input;
//   forward: against a plain-JS broadcasting reference;
//   comparisons: not differentiable, and saying so; where: gradients to a and b only.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  Tensor, tensor, scalar, grad, sum, stopGradient,
  add, sub, mul, div, pow, maximum, minimum, where, greater, greaterEqual, less, lessEqual, equal,
} from '../../../index.ts';
import { checkGrads } from '../../harness/checkGrads.ts';
import { SEED, tensorOf, broadcastPairArb, real, awayFrom, gridValue, refBinary, assertClose, assertNondifferentiable } from '../helpers.ts';

type Op = (a: Tensor | number, b: Tensor | number) => Tensor;

interface BinaryCase {
  name: string;
  f: Op;
  domainA: fc.Arbitrary<number>;
  domainB: fc.Arbitrary<number>;
  ref: (a: number, b: number) => number;
}

// maximum and minimum draw a and b from two interleaved grids: never within 0.15 of a tie.
const table: BinaryCase[] = [
  { name: 'add', f: add, domainA: real(), domainB: real(), ref: (a, b) => a + b },
  { name: 'sub', f: sub, domainA: real(), domainB: real(), ref: (a, b) => a - b },
  { name: 'mul', f: mul, domainA: real(), domainB: real(), ref: (a, b) => a * b },
  { name: 'div', f: div, domainA: real(), domainB: awayFrom([0], 0.3), ref: (a, b) => a / b },
  { name: 'pow (positive base, both inputs)', f: pow, domainA: real(0.3, 3), domainB: real(-2, 2), ref: Math.pow },
  { name: 'maximum', f: maximum, domainA: gridValue(0), domainB: gridValue(1), ref: Math.max },
  { name: 'minimum', f: minimum, domainA: gridValue(0), domainB: gridValue(1), ref: Math.min },
];

/** Two tensors of broadcasting shapes, each from its domain. */
function pairArb(domainA: fc.Arbitrary<number>, domainB: fc.Arbitrary<number>): fc.Arbitrary<[Tensor, Tensor]> {
  return broadcastPairArb(3).chain(([sa, sb]) => fc.tuple(tensorOf(sa, domainA), tensorOf(sb, domainB)));
}

// Hand-picked broadcasting cases, beside the generated ones.
const fixedShapes: [number[], number[]][] = [
  [[3, 1], [1, 4]],
  [[], [2, 3]],
  [[2, 3], []],
  [[4], [2, 3, 4]],
  [[2, 1, 4], [3, 1]],
  [[1], [3]],
];

// ---------------------------------------------------------------- gradients

const grads = suite('binary: gradients against central differences');

for (const { name, f, domainA, domainB } of table) {
  grads(`${name}: first and second order in both inputs, broadcasting shapes`, () => {
    fc.assert(
      fc.property(pairArb(domainA, domainB), fc.nat(), ([a, b], seed) => {
        checkGrads((x, y) => f(x, y), [a, b], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  grads(`${name}: fixed broadcasting cases [3,1]·[1,4], scalar·matrix, [4]·[2,3,4], [2,1,4]·[3,1]`, () => {
    fixedShapes.forEach(([sa, sb], i) => {
      const [a, b] = fc.sample(fc.tuple(tensorOf(sa, domainA), tensorOf(sb, domainB)), { seed: SEED + i, numRuns: 1 })[0];
      checkGrads((x, y) => f(x, y), [a, b], { order: 2, seed: i });
    });
  });

  grads(`${name}: a plain number on either side`, () => {
    fc.assert(
      fc.property(tensorOf([2, 3], domainA), tensorOf([2, 3], domainB), fc.nat(), (a, b, seed) => {
        const bNum = b.data[0];
        const aNum = a.data[0];
        checkGrads((x) => f(x, bNum), [a], { order: 2, seed });
        checkGrads((y) => f(aNum, y), [b], { order: 2, seed });
      }),
      { seed: SEED, numRuns: 10 },
    );
  });
}

grads('pow with a constant exponent works for negative bases (integer powers) at both orders', () => {
  fc.assert(
    fc.property(tensorOf([3, 2], real(-3, 3)), fc.nat(), (x, seed) => {
      checkGrads((t) => pow(t, 3), [x], { order: 2, seed });
      checkGrads((t) => pow(t, 2), [x], { order: 2, seed });
    }),
    { seed: SEED, numRuns: 10 },
  );
});

grads('pow at a zero base with a constant exponent: d 0³ = 0, and no NaN from the log term', () => {
  const g = grad((a: Tensor) => sum(pow(a, scalar(3))))(tensor([0, 1]));
  assert.equal([...g.data], [0, 3]);
  const gb = grad((b: Tensor) => sum(pow(tensor([0, 2]), b)), { argnums: 0 })(tensor([2, 2]));
  assert.equal([...gb.data], [0, 4 * Math.log(2)]);
});

grads('where: gradients go to a where the mask is set, to b elsewhere, with broadcasting of all three', () => {
  const masks: [number[], number[], number[]][] = [
    [[3, 4], [3, 4], [3, 4]],
    [[3, 1], [1, 4], []],
    [[4], [3, 4], [3, 1]],
    [[2, 3, 1], [3, 4], [4]],
  ];
  masks.forEach(([sm, sa, sb], i) => {
    const [m, a, b] = fc.sample(
      fc.tuple(tensorOf(sm, fc.constantFrom(0, 1)), tensorOf(sa, real()), tensorOf(sb, real())),
      { seed: SEED + i, numRuns: 1 },
    )[0];
    checkGrads((x, y) => where(m, x, y), [a, b], { order: 2, seed: i });
    assertClose(where(m, a, b), refWhere(m, a, b), 0, 0, 'where forward');
  });
  // The classic use: a piecewise function whose mask comes from a comparison (no stopGradient needed).
  const leaky = (x: Tensor): Tensor => where(greater(x, 0), x, mul(x, 0.1));
  const g = grad((x: Tensor) => sum(leaky(x)))(tensor([-2, 3]));
  assert.equal([...g.data], [0.1, 1]);
});

function refWhere(m: Tensor, a: Tensor, b: Tensor): { shape: number[]; data: number[] } {
  const ma = refBinary(m, a, (mv, av) => (mv !== 0 ? av : NaN));
  const shapeM = new Tensor(Float64Array.from(ma.data), ma.shape);
  const maskB = refBinary(shapeM, b, (v, bv) => (Number.isNaN(v) ? bv : v));
  return maskB;
}

// At a tie the gradient is split evenly, which is what central differences see: order 1 only.
grads('maximum and minimum at ties: the even split equals the central difference (order 1 at the kink)', () => {
  const a = tensor([[1, 2, 3], [0.5, -1, 4]]);
  const b = tensor([[1, 5, 3], [0.5, -2, 4]]);
  checkGrads((x, y) => maximum(x, y), [a, b], { order: 1, seed: 3 });
  checkGrads((x, y) => minimum(x, y), [a, b], { order: 1, seed: 4 });
  const [ga, gb] = grad((x: Tensor, y: Tensor) => sum(maximum(x, y)), { argnums: [0, 1] })(scalar(2), scalar(2));
  assert.equal([ga.item(), gb.item()], [0.5, 0.5]);
});

// ---------------------------------------------------------------- forward values

const forward = suite('binary: forward values under NumPy broadcasting');

for (const { name, f, domainA, domainB, ref } of table) {
  forward(`${name}: matches a plain-JS broadcasting reference`, () => {
    fc.assert(
      fc.property(pairArb(domainA, domainB), ([a, b]) => {
        assertClose(f(a, b), refBinary(a, b, ref), 0, 0, name);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });
}

const comparisons: [string, Op, (a: number, b: number) => boolean][] = [
  ['greater', greater, (a, b) => a > b],
  ['greaterEqual', greaterEqual, (a, b) => a >= b],
  ['less', less, (a, b) => a < b],
  ['lessEqual', lessEqual, (a, b) => a <= b],
  ['equal', equal, (a, b) => a === b],
];

for (const [name, f, rel] of comparisons) {
  forward(`${name}: 1 where the relation holds, 0 elsewhere, broadcasting (ties included)`, () => {
    const small = fc.integer({ min: -2, max: 2 }); // small integers: many ties
    fc.assert(
      fc.property(pairArb(small, small), ([a, b]) => {
        assertClose(f(a, b), refBinary(a, b, (x, y) => (rel(x, y) ? 1 : 0)), 0, 0, name);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });
}

forward('numbers broadcast as scalars on either side', () => {
  assert.equal(sub(10, tensor([1, 2])).toArray(), [9, 8]);
  assert.equal(div(tensor([1, 2]), 4).toArray(), [0.25, 0.5]);
  assert.equal(pow(2, tensor([3, -1])).toArray(), [8, 0.5]);
  assert.equal([...add(2, 3).shape], []);
});

forward('maximum and minimum propagate NaN from either side', () => {
  assert.ok(Number.isNaN(maximum(tensor([NaN]), tensor([1])).item()));
  assert.ok(Number.isNaN(maximum(tensor([1]), tensor([NaN])).item()));
  assert.ok(Number.isNaN(minimum(tensor([NaN]), tensor([1])).item()));
  assert.ok(Number.isNaN(minimum(tensor([1]), tensor([NaN])).item()));
});

forward('shapes that do not broadcast are rejected naming the op and both shapes', () => {
  assert.throws(
    () => add(tensor([[1, 2, 3]]), tensor([[1, 2], [3, 4]])),
    (e: unknown) => e instanceof RangeError && (e as Error).message === 'add: shapes [1,3] and [2,2] do not broadcast',
  );
  assert.throws(() => where(tensor([1, 0]), tensor([1, 2, 3]), 0), /^where: shapes \[2\] and \[3\] do not broadcast/);
  assert.throws(() => mul(tensor([1]), 'x' as unknown as number), (e: unknown) => e instanceof TypeError && /^mul: expected a Tensor or a number, got string/.test((e as Error).message));
});

// ---------------------------------------------------------------- not differentiable

const nondiff = suite('binary: comparisons are not differentiable');

for (const [name, f] of comparisons) {
  nondiff(`${name} throws when a gradient reaches it; not under stopGradient or when unused`, () => {
    const x = tensor([0.5, 1.7, -2.2]);
    assertNondifferentiable(name, (t) => f(t, 0.6), x);
    assertNondifferentiable(name, (t) => f(0.6, t), x);
  });
}

nondiff('a comparison of two differentiated inputs, cut by stopGradient on both, is a constant mask', () => {
  const g = grad((a: Tensor, b: Tensor) => sum(mul(a, greater(stopGradient(a), stopGradient(b)))), { argnums: [0, 1] })(tensor([1, 5]), tensor([2, 3]));
  assert.equal([...g[0].data], [0, 1]);
  assert.equal([...g[1].data], [0, 0]);
});

grads.run();
forward.run();
nondiff.run();
