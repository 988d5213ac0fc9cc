// Antithetic sampling: draw noise in mirrored pairs (Owen, "Monte Carlo
// theory, methods and examples", §8.2).
//
// For a uniform u, 1 − u is uniform too; for a standard normal ε, so is −ε.
// Average g over a pair (u, 1 − u) instead of two independent draws:
//
//   Var[(g(u) + g(1 − u)) / 2] = (Var g / 2)(1 + ρ),   ρ = Corr(g(u), g(1 − u)).
//
// Two independent draws give Var g / 2, so the pair wins exactly when ρ < 0.
// If g is monotone in u, g(u) and g(1 − u) move in opposite directions and
// ρ ≤ 0 is guaranteed (Owen, Theorem 8.1). If g is symmetric, g(u) = g(1 − u),
// then ρ = 1 and the pair is worth only one sample: antithetics can hurt.
//
// In mcgrad, AntitheticRng pairs sample i with sample i + n/2 in every tensor
// it draws, and antithetic(estimator) runs any estimator on it unchanged.
// The last part shows the cousin of antithetics, common random numbers: to
// compare two settings, give both the same noise.
//
// Run: npx tsx examples/antithetic-sampling.ts   (MCGRAD_QUICK=1 for fewer samples)

import { mkdirSync, writeFileSync } from 'node:fs';
import {
  AntitheticRng, rng, exp, square, add, sub, div, sum, mul, tanh, tensor, pairMeans, estimateGradient, reinforceAntithetic, pathwiseAntithetic,
  bernoulli, normal, commonRandomNumbers, barChart, type Tensor,
} from '../index.ts';

const quick = process.env.MCGRAD_QUICK === '1';
const n = quick ? 4000 : 100000; // even: n/2 pairs

/** Total variance (summed over coordinates) of the rows of x [m, ...]. */
function totalVariance(x: Tensor): number {
  const m = x.shape[0];
  const width = x.size / m;
  let total = 0;
  for (let j = 0; j < width; j++) {
    let mean = 0;
    for (let i = 0; i < m; i++) mean += x.data[i * width + j] / m;
    for (let i = 0; i < m; i++) total += (x.data[i * width + j] - mean) ** 2 / (m - 1);
  }
  return total;
}

const results: { name: string; independent: number; antithetic: number }[] = [];
/** Per-sample values [n, ...] drawn as antithetic pairs: compare the pair mean with two independent samples. */
function report(name: string, perSample: Tensor): void {
  const independent = totalVariance(perSample) / 2; // Var g / 2: each sample alone has the right law
  const antithetic = totalVariance(pairMeans(perSample)); // Var of (g(u) + g(1 − u)) / 2
  const rho = antithetic / independent - 1; // from Var_pair = (Var g / 2)(1 + ρ)
  if (antithetic > 1e-12 * independent) results.push({ name, independent, antithetic });
  const shown = antithetic > 1e-12 * independent ? antithetic.toExponential(3) : '0 (exact)';
  console.log(`${name.padEnd(34)} ${independent.toExponential(3).padStart(10)}  ${shown.padStart(10)}  ${rho.toFixed(3).padStart(7)}`);
}

console.log(`${n / 2} pairs each. Variance of the mean of two samples:`);
console.log(`${''.padEnd(34)} ${'independent'.padStart(10)}  ${'antithetic'.padStart(10)}  ${'ρ'.padStart(7)}`);

// 1. Plain integrals over u ∼ U(0, 1). Monotone e^u: ρ = (e − (e − 1)²) / Var e^u ≈ −0.968.
//    Symmetric (u − ½)²: g(u) = g(1 − u), so ρ = 1 and the pair is twice as noisy.
const u = new AntitheticRng(rng(0)).uniform([n]); // u_i and u_{i + n/2} = 1 − u_i
report('E[e^u]  (monotone)', exp(u));
report('E[(u − ½)²]  (symmetric)', square(sub(u, 0.5)));

// 2. Gradient estimators. Pathwise on x ∼ N(0.5, 1), f(x) = (x − 2)², pairs ε and −ε:
//    ∂/∂μ is 2(x − 2), linear in ε, so a pair gives the exact gradient (ρ = −1);
//    ∂/∂σ is 2(x − 2)ε, which has an even part in ε, so the gain is small.
const gauss = estimateGradient(pathwiseAntithetic, normal(tensor([0.5]), tensor([1])), (x: Tensor) => sum(square(sub(x, 2)), 1), rng(1), { n });
report('pathwise ∂/∂μ, Gaussian', gauss.perSample.loc);
report('pathwise ∂/∂σ, Gaussian', gauss.perSample.scale);
//    REINFORCE on 3 Bernoullis, sampled by inversion b = [u < p] with u and 1 − u
//    (b and roughly its complement).
//    The score flips sign with b, so ĝ is not monotone even when f is: a modest gain.
const w = tensor([0.8, -0.6, 0.4]);
const coins = estimateGradient(reinforceAntithetic, bernoulli(tensor([0.3, -0.5, 1.0])), (b: Tensor) => tanh(sum(mul(b, w), 1)), rng(2), { n });
report('REINFORCE, 3 Bernoullis', coins.perSample.logits);

// 3. Common random numbers: a finite difference dL/dμ ≈ (L(μ + h) − L(μ − h)) / 2h
//    with L(μ) = E[(μ + ε − 2)²]. With independent noise for the two terms the
//    difference has variance ≈ 2 Var f / (2h)², huge for small h; with the
//    same ε in both, f(μ + h + ε) − f(μ − h + ε) = 4h(μ + ε − 2), variance 4.
const h = 0.01;
const mu = 0.5;
// One finite difference per sample, [n], from the noise of the two terms.
const fd = (e1: Tensor, e2: Tensor) => div(sub(square(add(mu + h - 2, e1)), square(add(mu - h - 2, e2))), 2 * h);
const [same1, same2] = commonRandomNumbers(3); // two generators with the same stream
const common = fd(same1.normal([n]), same2.normal([n]));
const apart = fd(rng(4).normal([n]), rng(5).normal([n]));
console.log(`\nfinite difference (h = ${h}) of E[(x − 2)²] in μ, variance per sample:`);
console.log(`  independent noise ${totalVariance(apart).toExponential(2)}, common random numbers ${totalVariance(common).toFixed(2)} (exactly 4 in theory)`);

const svg = barChart({
  title: 'variance of a pair mean: independent vs antithetic',
  categories: results.map((r) => r.name),
  series: [
    { name: 'independent', values: results.map((r) => r.independent) },
    { name: 'antithetic', values: results.map((r) => r.antithetic) },
  ],
  scale: 'log',
  style: 'dot',
  valueLabel: 'variance (log scale)',
});
mkdirSync('report/examples', { recursive: true });
writeFileSync('report/examples/antithetic-sampling.svg', svg);
console.log('wrote report/examples/antithetic-sampling.svg');
