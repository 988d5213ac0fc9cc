// autodiff/ops/kernels.ts: eˣ by table-driven reduction and Cephes' tanh,
// against eˣ and tanh x computed exactly enough (BigInt fixed point, 1400
// bits) at every input.
//   accuracy: the error, in units in the last place of the result, stays
//   under 0.51 on 1500 inputs over the whole normal range (the scheme's
//   rounding analysis gives 0.5 + a few 10⁻³); the same measure flags a
//   variant one ulp off and Math.exp's own error (up to 0.75 ulp here), so
//   it can fail;
//   special values: NaN, ±Infinity, overflow, subnormal results and −0 as IEEE.

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

/** |v − eˣ| in units in the last place of v. */
function ulpError(x: number, v: number): number {
  return ulpsFrom(v, expFixed(fixed(x)));
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

function maxUlpError(exp: (x: number) => number): number {
  return Math.max(...inputs().map((x) => ulpError(x, exp(x))));
}

const accuracy = suite('exp kernel: accuracy against exact eˣ');

accuracy('under 0.51 ulp over the normal range', () => {
  const worst = maxUlpError(expKernel);
  assert.ok(worst < 0.51, `max error ${worst} ulp`);
});

accuracy('the measure flags a variant one ulp off, and Math.exp', () => {
  assert.ok(maxUlpError((x) => expKernel(x) * (1 + 2 ** -52)) > 0.51);
  assert.ok(maxUlpError(Math.exp) > 0.51);
});

accuracy('exact at 0 and the nearest double at ±1', () => {
  assert.is(expKernel(0), 1);
  assert.is(expKernel(-0), 1);
  assert.is(expKernel(1), Math.E); // Math.E is e rounded to nearest
  assert.ok(ulpError(-1, expKernel(-1)) < 0.5);
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

const tanh = suite('tanh kernel: accuracy against exact tanh x, special values');

const tanhInputs = () => inputs([22, 2, 0.7]).concat([0.625, -0.625, 0.6249999999999999, 1e-300, 21.9]);

function maxTanhError(fn: (x: number) => number): number {
  return Math.max(...tanhInputs().map((x) => ulpsFrom(fn(x), tanhFixed(x))));
}

tanh('within 1.25 ulp on both branches and at the switch (|x| = 0.625)', () => {
  const worst = maxTanhError(tanhKernel);
  assert.ok(worst < 1.25, `max error ${worst} ulp`);
});

tanh('the measure flags a variant two ulps off, and Math.tanh (up to 1.97 ulp in V8)', () => {
  assert.ok(maxTanhError((x) => tanhKernel(x) * (1 + 2 ** -51)) > 1.25);
  assert.ok(maxTanhError(Math.tanh) > 1.25);
});

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
