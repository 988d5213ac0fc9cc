// Checking an estimator you wrote yourself.
//
// An estimator is unbiased when the mean of its estimates is the true
// gradient. We cannot average infinitely many, but we can average N of them
// and ask whether the difference from the exact gradient (known here by
// enumerating every outcome) is larger than noise explains:
//
//   z_j = (mean_j − exact_j) / (sd_j / √N)   for each coordinate j.
//
// If the estimator is unbiased, each z_j is roughly standard normal; a large
// |z| is evidence of bias. checkUnbiased runs this test on every coordinate,
// with Holm's correction so the chance of a false alarm over all of them is
// at most alpha.
//
// Our estimator: REINFORCE with a baseline, ĝ_i = (f(b_i) − β_i) ∇ log p(b_i),
// using n samples per call. The tempting baseline β = mean of all n values of
// f is slightly wrong: it contains f(b_i) itself, so it is correlated with
// b_i, and the estimate shrinks by a factor (n − 1)/n. Leave-one-out (β_i =
// mean of the *other* n − 1 values) fixes it (Kool et al. 2019).
//
// The power idea: a test can only see a bias that is large next to sd/√N.
// With too few samples the wrong estimator passes; the number of samples
// needed grows like (sd / bias)².
//
// Run: npx tsx examples/check-your-estimator.ts   (MCGRAD_QUICK=1 for fewer samples)

import {
  tensor, add, sub, mul, div, sum, mean, stopGradient, categorical, sample, logProb, tableFunction,
  checkUnbiased, normalQuantile, type Estimator, type CheckResult,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const samples = quick ? 40000 : 160000;
const perCall = 16; // n: the samples of one call share the baseline

/** Our REINFORCE with a baseline; `leaveOneOut: false` is the bug. */
function myReinforce(leaveOneOut: boolean): Estimator {
  return {
    name: leaveOneOut ? 'my-reinforce (fixed)' : 'my-reinforce (buggy)',
    description: 'REINFORCE with a shared baseline',
    unbiased: true,
    families: ['categorical'],
    iidSamples: false, // the samples of one call share β, so they are not independent
    minSamples: 2,
    surrogate(dist, f, rng, options) {
      const n = options.n ?? perCall;
      const b = sample(dist, rng, n, options.tiled); // [n, K] one-hot samples, constants
      const fb = f(b); // [n]
      const logp = logProb(dist, b); // [n], differentiable in the logits
      const score = sub(logp, stopGradient(logp)); // value 0, gradient ∇ log p(b)
      const total = sum(fb);
      const beta = leaveOneOut ? div(sub(total, fb), n - 1) : div(total, n); // [n] or a scalar
      // Value f(b_i), gradient (f(b_i) − β_i) ∇ log p(b_i).
      const perSample = add(fb, mul(stopGradient(sub(fb, beta)), score));
      return { surrogate: mean(perSample), perSample, values: stopGradient(fb), state: undefined };
    },
  };
}

// The problem: one categorical with 4 classes and f a table of 4 values.
const problem = {
  dist: categorical(tensor([0.4, -0.2, 0.9, -1.0])),
  f: tableFunction('categorical', [1.0, 2.5, -0.5, 0.8]),
};

function show(result: CheckResult): void {
  console.log(`\n${result.estimator}: ${result.units} estimates of ${result.samplesPerUnit} samples each`);
  console.log('  coordinate   mean      exact     s.e.     z');
  for (const c of result.coordinates) {
    console.log(`  ${c.name.padEnd(10)} ${c.mean.toFixed(4).padStart(8)}  ${c.exact.toFixed(4).padStart(8)}  ${c.stderr.toFixed(4)}  ${c.z.toFixed(1).padStart(6)}${c.rejected ? '  ← rejected' : ''}`);
  }
  console.log(`  verdict: ${result.unbiasedVerdict ? 'no evidence of bias' : 'BIASED'} (family-wise alpha = ${result.alpha})`);
}

const buggy = checkUnbiased(myReinforce(false), problem, { samples, seed: 0, n: perCall });
show(buggy);
const fixed = checkUnbiased(myReinforce(true), problem, { samples, seed: 0, n: perCall });
show(fixed);

// Power. For the buggy estimator the bias is −exact/n on each coordinate. With
// N estimates the expected z is bias·√N / sd, and the test (two-sided, level
// alpha per coordinate at worst) detects it with probability ≈ Φ(|z| − z_crit).
// Setting that to 90% gives the number of estimates needed.
const zCrit = normalQuantile(1 - buggy.alpha / 2);
const z90 = normalQuantile(0.9);
console.log('\nhow many samples the check needs to catch the bug 90% of the time:');
let fewest = Infinity;
for (const c of buggy.coordinates) {
  const bias = -c.exact / perCall;
  const sd = Math.sqrt(c.variance); // spread of one estimate (one call of n samples)
  const needed = Math.ceil(((zCrit + z90) * sd / Math.abs(bias)) ** 2) * perCall;
  console.log(`  ${c.name}: bias ${bias.toFixed(4)}, needs ≈ ${needed} samples`);
  fewest = Math.min(fewest, needed);
}

// With a tenth of that the expected z is (z_crit + z_0.9)/√10 ≈ 1.4, well
// below z_crit ≈ 3.3, so the same buggy estimator usually slips through.
const few = Math.max(2, Math.round(fewest / 10 / perCall)) * perCall;
const small = checkUnbiased(myReinforce(false), problem, { samples: few, seed: 0, n: perCall });
console.log(`\nwith only ${few} samples the buggy estimator gets: ${small.unbiasedVerdict ? 'no evidence of bias' : 'BIASED'} (max |z| = ${small.maxAbsZ.toFixed(1)})`);
console.log('so a passing check means "no bias larger than the test can see", never "no bias".');
