// autodiff/ops/kernels.ts: eˣ by table-driven reduction and Cephes' tanh,
// against eˣ and tanh x computed exactly enough (BigInt fixed point, 1400
// bits) at every input.
//   accuracy: the error, in units in the last place of the result, stays
//   under 0.51 ulp for eˣ on 1500 inputs over the whole normal range (the
//   scheme's rounding analysis gives 0.5 + a few 10⁻³) and under 1.25 ulp for
//   tanh on 1505 inputs over both branches and their switch; the same
//   measure flags variants 1 and 2 ulp off and V8's own Math.exp (up to 0.75
//   ulp here) and Math.tanh (1.97), so it can fail;
//   special values: NaN, ±Infinity, overflow, subnormal results and −0 as IEEE;
//   tanh odd, ±1 beyond |x| = 22.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { expKernel, tanhKernel } from '../../../autodiff/ops/kernels.ts';

const BITS = 1400n; // exp(−708) ≈ 2⁻¹⁰²¹ still has 53 + 300 bits here
const ONE = 1n << BITS;

/** A double as an exact fixed-point BigInt (every double is a dyadic rational). */
function fixed(x: number): bigint {
  let mantissa = Math.abs(x);
  let shift = 0n;
  while (mantissa !== Math.floor(mantissa)) {
    mantissa *= 2;
    shift += 1n;
  }
  const v = (BigInt(mantissa) << BITS) >> shift;
  return x < 0 ? -v : v;
}

/** eˣ in fixed point: halve x until |x| < 2⁻⁸, sum the Taylor series, square back. */
function expFixed(x: bigint): bigint {
  let halvings = 0;
  let y = x;
  while ((y < 0n ? -y : y) > ONE >> 8n) {
    y /= 2n;
    halvings++;
  }
  let term = ONE;
  let total = ONE;
  for (let i = 1n; term !== 0n; i++) {
    term = (term * y) / (ONE * i);
    total += term;
  }
  for (let i = 0; i < halvings; i++) total = (total * total) >> BITS;
  return total;
}

/** |v − exact| in units in the last place of v (v a nonzero normal double, exact in fixed point). */
function ulpsFrom(v: number, exact: bigint): number {
  const exponent = Math.floor(Math.log2(Math.abs(v)));
  const ulp = 2 ** (exponent - 52);
  const units = BigInt(v / ulp); // v = units · ulp exactly
  const ulpFixed = exponent - 52 >= 0 ? ONE << BigInt(exponent - 52) : ONE >> BigInt(52 - exponent);
  const diff = units * ulpFixed - exact;
  return Math.abs(Number((diff * 1_000_000n) / ulpFixed) / 1e6);
}

/** tanh x = (e^{2x} − 1)/(e^{2x} + 1) in fixed point. */
function tanhFixed(x: number): bigint {
  const e = expFixed(2n * fixed(x));
  return ((e - ONE) * ONE) / (e + ONE);
}

/** 1500 inputs: a third each over |x| < 708, |x| < 5 and |x| < 0.01, from a fixed Lehmer stream. */
function inputs(spans = [708, 5, 0.01]): number[] {
  let state = 20261128;
  const uniform = () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  return Array.from({ length: 1500 }, (_, i) => (2 * uniform() - 1) * spans[i % 3]);
}

/** The largest error, in ulps, of `fn` over `xs` against `exact`. */
function maxError(fn: (x: number) => number, xs: readonly number[], exact: (x: number) => bigint): number {
  return Math.max(...xs.map((x) => ulpsFrom(fn(x), exact(x))));
}

const tanhInputs = () => inputs([22, 2, 0.7]).concat([0.625, -0.625, 0.6249999999999999, 1e-300, 21.9]);

// Each kernel, its bound, and a variant just past it (the power check), beside V8's own function.
const kernels = [
  { name: 'exp', kernel: expKernel, builtin: Math.exp, exact: (x: number) => expFixed(fixed(x)), xs: inputs, bound: 0.51, ulpsOff: 1 },
  { name: 'tanh', kernel: tanhKernel, builtin: Math.tanh, exact: tanhFixed, xs: tanhInputs, bound: 1.25, ulpsOff: 2 },
];

const accuracy = suite('kernels: accuracy against exact values');

for (const { name, kernel, builtin, exact, xs, bound, ulpsOff } of kernels) {
  accuracy(`${name}: under ${bound} ulp`, () => {
    const worst = maxError(kernel, xs(), exact);
    assert.ok(worst < bound, `max error ${worst} ulp`);
  });

  accuracy(`${name}: the measure flags a variant ${ulpsOff} ulp off, and Math.${name}`, () => {
    assert.ok(maxError((x) => kernel(x) * (1 + ulpsOff * 2 ** -52), xs(), exact) > bound);
    assert.ok(maxError(builtin, xs(), exact) > bound);
  });
}

accuracy('exact at 0 and the nearest double at ±1', () => {
  assert.is(expKernel(0), 1);
  assert.is(expKernel(-0), 1);
  assert.is(expKernel(1), Math.E); // Math.E is e rounded to nearest
  assert.ok(ulpsFrom(expKernel(-1), expFixed(fixed(-1))) < 0.5);
});

accuracy.run();

const special = suite('exp kernel: special values as IEEE');

special('NaN, infinities, overflow and underflow', () => {
  assert.ok(Number.isNaN(expKernel(NaN)));
  assert.is(expKernel(Infinity), Infinity);
  assert.is(expKernel(-Infinity), 0);
  assert.is(expKernel(709.8), Infinity);
  assert.is(expKernel(-745), 5e-324); // the smallest subnormal
  assert.is(expKernel(-746), 0);
  assert.is(expKernel(-720), Math.exp(-720)); // subnormal results come from Math.exp
});

special('continuous at the hand-over to Math.exp (|x| = 708)', () => {
  for (const x of [708, -708]) {
    const below = expKernel(x);
    const beyond = expKernel(x * (1 + 2 ** -52));
    assert.ok(Math.abs(beyond / below - 1) < 1e-12, `${x}: ${below} then ${beyond}`);
  }
});

special.run();

const tanh = suite('tanh kernel: special values');

tanh('odd, with tanh(±0) = ±0, ±1 at ±Infinity and beyond |x| = 22, NaN for NaN', () => {
  for (const x of tanhInputs()) assert.ok(Object.is(tanhKernel(-x), -tanhKernel(x)), `x = ${x}`);
  assert.ok(Object.is(tanhKernel(0), 0));
  assert.ok(Object.is(tanhKernel(-0), -0));
  assert.is(tanhKernel(Infinity), 1);
  assert.is(tanhKernel(-Infinity), -1);
  assert.is(tanhKernel(22.5), 1);
  assert.is(tanhKernel(-40), -1);
  assert.ok(Number.isNaN(tanhKernel(NaN)));
});

tanh.run();
