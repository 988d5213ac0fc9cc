// Problems for the estimator specs: a few fixed ones, and a fast-check
// arbitrary over random small problems, each with its exact gradient (by
// enumeration, lib/exact) so that unbiasedness can be tested against it.

import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { Tensor, tensor, rng, bernoulli, categorical, exactGradientOf, type Dist, type SampleFunction, type CheckResult } from '../../index.ts';
import { tableFunction, quadraticFunction } from '../../lib/functions.ts';
import type { DiscreteFamily } from '../../lib/exact.ts';

export interface TestProblem {
  name: string;
  dist: Dist;
  f: SampleFunction;
  exactGradient: Record<string, Tensor>;
}

function withExact(name: string, dist: Dist, f: SampleFunction): TestProblem {
  return { name, dist, f, exactGradient: exactGradientOf(dist, f) };
}

/** Small discrete problems of each layout: a categorical, Bernoullis, the RELAX toy, a product of categoricals. */
export function fixedDiscreteProblems(): TestProblem[] {
  return [
    withExact('categorical K=3, table', categorical(tensor([0.1, -0.3, 0.7])), tableFunction('categorical', [1.0, 0.2, -0.5])),
    withExact('2 Bernoullis, table', bernoulli(tensor([0.3, -1.2])), tableFunction('bernoulli', [0.3, 1.1, -0.2, 0.9])),
    withExact('toy: Bernoulli, (b − 0.499)²', bernoulli(tensor([0])), quadraticFunction([0.499])),
    withExact('2 categoricals of 3, quadratic', categorical(tensor([[0.5, -0.5, 0.2], [-1, 0.3, 0.9]])), quadraticFunction([0.2, 0.7, 0.1])),
  ];
}

export interface RandomProblemOptions {
  families?: readonly ('bernoulli' | 'categorical')[];
}

/**
 * Random problems as in issue 4: categoricals with K in 2..6, products of
 * 1..4 Bernoullis, logits uniform in [−4, 4], a random table (normal values)
 * or a random quadratic (targets uniform in [0, 1]). Built from a drawn seed,
 * so fast-check shrinks over (family, size, kind, seed).
 */
export function problemArbitrary(options: RandomProblemOptions = {}): fc.Arbitrary<TestProblem> {
  const families = options.families ?? ['bernoulli', 'categorical'];
  return fc
    .record({
      family: fc.constantFrom(...families),
      size: fc.integer({ min: 1, max: 6 }),
      table: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    })
    .map(({ family, size, table, seed }) => {
      const r = rng(seed);
      const dim = family === 'bernoulli' ? 1 + (size % 4) : Math.max(2, size);
      const logits = tensor(Array.from(r.uniform([dim]).data, (u) => 8 * u - 4));
      const dist = family === 'bernoulli' ? bernoulli(logits) : categorical(logits);
      const outcomes = family === 'bernoulli' ? 2 ** dim : dim;
      const f = table ? tableFunction(family, r.normal([outcomes]).data) : quadraticFunction(Array.from(r.uniform([dim]).data));
      return withExact(`${family} ${dim}, ${table ? 'table' : 'quadratic'}, seed ${seed}`, dist, f);
    });
}

/** Fails with the coordinates' z-scores when the check rejected unbiasedness. */
export function assertUnbiased(result: CheckResult, label: string): void {
  const detail = result.coordinates.map((c) => `${c.name}: mean ${c.mean.toPrecision(5)} exact ${c.exact.toPrecision(5)} z ${c.z.toFixed(2)}`).join('; ');
  assert.ok(result.unbiasedVerdict, `${label} (${result.estimator}) looks biased: ${detail}`);
}

/** Fails unless the check rejected unbiasedness: the power side of a test. */
export function assertRejected(result: CheckResult, label: string): void {
  assert.ok(!result.unbiasedVerdict, `${label}: the broken ${result.estimator} was not caught (max |z| ${result.maxAbsZ.toFixed(2)})`);
}

/** The lib/exact layout of a discrete problem's distribution: Bernoullis, one categorical, or a product of categoricals (rank-2 logits). */
export function familyOf(dist: Dist): DiscreteFamily {
  if (dist.family === 'bernoulli') return 'bernoulli';
  if (dist.family === 'categorical') return dist.logits.rank === 2 ? 'categoricals' : 'categorical';
  throw new RangeError('familyOf: discrete families only');
}

/** The logits θ of a Bernoulli or categorical distribution. */
export function logitsOf(dist: Dist): Tensor {
  return (dist as { logits: Tensor }).logits;
}
