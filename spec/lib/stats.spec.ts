// Tests of lib/stats.ts against known values.
//
// Reference values marked "mpmath" were computed with mpmath at 60 significant
// digits (ncdf, betainc, gammainc, loggamma, nsum; quantiles by 400 bisection
// steps on the log of the smaller tail) and rounded to the nearest double.
// Table values are from standard statistical tables.
//
// Tolerances. Every distribution function here ends in exp(E), where E is a
// sum of logs and log-gammas of size |E| (E = −x²/2 for the normal tail); a
// few ulp of absolute error in E is a relative error of ~ε·|E| in the result
// (ε = 2⁻⁵³). So a value is accepted when its relative error is at most
// 16ε·(10 + |E|): 3.6e-14 for O(1) arguments, 1.2e-12 for the normal at
// x = 37 (E = −684.5), 1e-9 for the t with 10⁶ degrees of freedom (E ≈
// log Γ(5·10⁵) ≈ 6·10⁶). A wrong formula is off by far more.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rng } from '../../index.ts';
import {
  Welford, summarize, normalCdf, normalSf, normalQuantile, erfc, logGamma, gammaP, gammaQ, chiSquareSf, chiSquareTest,
  kolmogorovSf, ksTest, ksTwoSample, holm, twoSidedP, betaRegularized, tCdf, tSf, tQuantile, chiSquareCdf,
  chiSquareQuantile, normalInterval, tInterval, varianceInterval,
} from '../../lib/stats.ts';

const EPS = 2 ** -53;
/** The tolerance for a value computed through exp(E) with |E| = size (see the header). */
const tolFor = (size: number) => 16 * EPS * (10 + Math.abs(size));

function near(actual: number, expected: number, rtol: number, what: string) {
  const err = actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= rtol, `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(2)} > ${rtol.toExponential(2)})`);
}

function throwsWith(f: () => unknown, kind: typeof TypeError | typeof RangeError, re: RegExp) {
  assert.throws(f, (e: Error) => e instanceof kind && re.test(e.message), String(re));
}

// ---------------------------------------------------------------- the normal distribution

const normal = suite('stats: normal CDF and quantile');

normal('Φ and 1 − Φ to full precision, deep into both tails (mpmath)', () => {
  const cdf: [number, number][] = [
    [-37, 5.725571222524577e-300], [-10, 7.619853024160525e-24], [-5, 2.866515718791939e-7], [-1, 0.15865525393145705],
    [0, 0.5], [0.5, 0.6914624612740131], [1, 0.8413447460685429], [2, 0.9772498680518208], [3, 0.9986501019683699],
  ];
  for (const [x, v] of cdf) near(normalCdf(x), v, tolFor(x * x / 2), `normalCdf(${x})`);
  const sf: [number, number][] = [[8, 6.220960574271784e-16], [20, 2.7536241186062337e-89], [37, 5.725571222524577e-300]];
  for (const [x, v] of sf) near(normalSf(x), v, tolFor(x * x / 2), `normalSf(${x})`);
  near(erfc(1), 0.15729920705028513, tolFor(1), 'erfc(1)'); // A&S table 7.1
  assert.is(normalCdf(-Infinity), 0);
  assert.is(normalCdf(Infinity), 1);
  assert.ok(Number.isNaN(normalCdf(NaN)));
});

normal('Φ⁻¹ at table points and in the far tails (mpmath)', () => {
  const q: [number, number][] = [
    [1e-300, -37.0470962993612], [1e-10, -6.361340902404057], [0.001, -3.0902323061678136], [0.025, -1.9599639845400543],
    [0.1, -1.2815515655446004], [0.3, -0.5244005127080408], [0.7, 0.5244005127080407], [0.9, 1.2815515655446006],
    [0.975, 1.9599639845400538], [0.995, 2.5758293035489004], [0.999, 3.090232306167813], [1 - 1e-10, 6.361340889697422],
  ];
  // The quantile inherits Φ's relative error divided by x·φ(x)/Φ(x) ≥ ~1, so the same tolerance applies.
  for (const [p, x] of q) near(normalQuantile(p), x, tolFor(x * x / 2), `normalQuantile(${p})`);
  assert.is(normalQuantile(0.5), 0);
  assert.is(normalQuantile(0), -Infinity);
  assert.is(normalQuantile(1), Infinity);
  throwsWith(() => normalQuantile(1.5), RangeError, /^normalQuantile: p must lie in \[0, 1\], got 1.5/);
});

normal('Φ⁻¹ stays finite down to the smallest double: subnormal p (mpmath)', () => {
  // Below p ≈ 1e-308 a Halley step on Φ(x) − p overflows (exp(x²/2)) and returned NaN.
  const q: [number, number][] = [
    [5e-324, -38.467405617144344], [1e-320, -38.26912534303265], [1e-310, -37.663060331949524], [2.2e-308, -37.519681182377965],
  ];
  for (const [p, x] of q) near(normalQuantile(p), x, tolFor(x * x / 2), `normalQuantile(${p})`);
  // Round trip through Φ, from the new branch, where Φ is still a normal double: Φ's own error plus the quantile's (the same size, see above).
  for (const p of [1e-305, 3e-302]) {
    const x = normalQuantile(p);
    near(normalCdf(x), p, 2 * tolFor(x * x / 2), `Φ(Φ⁻¹(${p}))`);
  }
  assert.ok(normalQuantile(5e-324) < normalQuantile(1e-320) && normalQuantile(1e-320) < normalQuantile(1e-300), 'monotone in the far tail');
});

normal('two-sided p-values of z-scores', () => {
  near(twoSidedP(1.959963984540054), 0.05, tolFor(2), 'z = 1.96');
  near(twoSidedP(-2.5758293035489004), 0.01, tolFor(4), 'z = −2.576');
  assert.is(twoSidedP(0), 1);
});

normal.run();

// ---------------------------------------------------------------- gamma, beta, chi-square

const special = suite('stats: log-gamma, incomplete gamma and beta, chi-square');

function logFactorial(n: number): number {
  let s = 0;
  for (let k = 2; k <= n; k++) s += Math.log(k);
  return s;
}

special('log Γ at integers (log (n−1)!) and half-integers (Γ(n + ½) = (2n)!√π / (4ⁿ n!))', () => {
  for (let n = 1; n <= 30; n++) {
    const expected = logFactorial(n - 1); // a sum of n logs, each rounded: its own error is ≤ nε·value
    const err = Math.abs(logGamma(n) - expected);
    assert.ok(err <= tolFor(expected) * Math.max(1, expected) + n * EPS * expected, `logGamma(${n}): ${logGamma(n)} vs ${expected}`);
  }
  near(Math.exp(logGamma(0.5)), Math.sqrt(Math.PI), tolFor(1), 'Γ(½) = √π');
  for (let n = 1; n <= 10; n++) {
    const expected = logFactorial(2 * n) + 0.5 * Math.log(Math.PI) - n * Math.log(4) - logFactorial(n);
    near(logGamma(n + 0.5), expected, tolFor(expected) + 4 * n * EPS, `logGamma(${n} + ½)`);
  }
  // Elsewhere, including the reflection branch below ½ (mpmath).
  const more: [number, number][] = [
    [1.5, -0.12078223763524522], [2.5, 0.2846828704729192], [10.5, 13.940625219403763], [0.25, 1.2880225246980774],
    [0.1, 2.252712651734206], [1e-8, 18.42068073818021], [3.7, 1.428072326665388], [171.5, 709.1431630309282], [1e4, 82099.71749644238],
  ];
  for (const [x, v] of more) near(logGamma(x), v, tolFor(v), `logGamma(${x})`);
});

special('incomplete gamma: closed forms P(1, x) = 1 − e^{−x} and Q(½, x²) = erfc(x); P + Q = 1', () => {
  for (const x of [0.01, 0.5, 1, 3, 10, 40]) {
    near(gammaP(1, x), -Math.expm1(-x), tolFor(x), `P(1, ${x})`);
    near(gammaQ(1, x), Math.exp(-x), tolFor(x), `Q(1, ${x})`);
    near(gammaP(3.5, x) + gammaQ(3.5, x), 1, tolFor(x), `P + Q at ${x}`);
  }
  assert.is(gammaP(2, 0), 0);
  assert.is(gammaQ(2, Infinity), 0);
});

special('incomplete beta against mpmath and closed forms', () => {
  const rows: [number, number, number, number][] = [
    [2, 3, 0.4, 0.5248], [0.5, 0.5, 0.1, 0.20483276469913345], [10, 0.5, 0.99, 0.6579281751567844],
    [1.5, 20, 0.02, 0.15486426493028788], [50, 50, 0.45, 0.15865219893709884],
  ];
  for (const [a, b, x, v] of rows) near(betaRegularized(a, b, x), v, tolFor(logGamma(a + b)), `I_${x}(${a}, ${b})`);
  // I_x(1, 1) = x; I_x(a, 1) = xᵃ; I_x(½, ½) = (2/π) asin √x.
  for (const x of [0.1, 0.5, 0.9]) {
    near(betaRegularized(1, 1, x), x, tolFor(1), `I_${x}(1, 1)`);
    near(betaRegularized(3, 1, x), x ** 3, tolFor(2), `I_${x}(3, 1)`);
    near(betaRegularized(0.5, 0.5, x), (2 / Math.PI) * Math.asin(Math.sqrt(x)), tolFor(2), `I_${x}(½, ½)`);
  }
  assert.is(betaRegularized(2, 3, 0), 0);
  assert.is(betaRegularized(2, 3, 1), 1);
  throwsWith(() => betaRegularized(0, 1, 0.5), RangeError, /^betaRegularized: a and b must be positive and finite, got a = 0, b = 1/);
  throwsWith(() => betaRegularized(1, 1, 1.5), RangeError, /^betaRegularized: x must lie in \[0, 1\], got 1.5/);
});

special('chi-square critical values from the tables, and quantiles (mpmath)', () => {
  // The classic table (upper 5% and 1% points), given to 3 decimals: P(χ²_k > x) = α to that rounding.
  const table: [number, number, number][] = [
    [1, 0.05, 3.841], [2, 0.05, 5.991], [5, 0.05, 11.070], [10, 0.05, 18.307], [30, 0.05, 43.773], [1, 0.01, 6.635], [10, 0.01, 23.209],
  ];
  for (const [k, alpha, x] of table) {
    assert.ok(Math.abs(chiSquareSf(x, k) - alpha) < alpha * 1e-3, `P(χ²_${k} > ${x}) = ${chiSquareSf(x, k)}, table α = ${alpha}`);
    assert.ok(Math.abs(chiSquareQuantile(1 - alpha, k) - x) <= 5e-4, `χ²_${k} quantile ${chiSquareQuantile(1 - alpha, k)} vs table ${x}`);
  }
  const quantiles: [number, number, number][] = [
    [0.95, 1, 3.8414588206941245], [0.95, 2, 5.99146454710798], [0.95, 5, 11.070497693516351], [0.95, 10, 18.307038053275143],
    [0.95, 30, 43.77297182574218], [0.99, 1, 6.634896601021214], [0.025, 4, 0.4844185570879298], [0.975, 4, 11.143286781877794],
    [1e-10, 3, 5.20939762143448e-7], [0.5, 1, 0.4549364231195728], [0.999, 100, 149.44925277903872], [0.001, 0.5, 1.349939578623075e-12],
    [0.05, 1000, 927.594363020979],
  ];
  for (const [p, k, x] of quantiles) near(chiSquareQuantile(p, k), x, tolFor(logGamma(k / 2) + x / 2), `chiSquareQuantile(${p}, ${k})`);
  // χ²₁ is a squared normal: its 95% point is 1.959964².
  near(chiSquareQuantile(0.95, 1), normalQuantile(0.975) ** 2, tolFor(2), 'χ²₁ = z²');
  const cdf: [number, number, number][] = [
    [0.5, 1, 0.5204998778130465], [3, 2, 0.7768698398515702], [10, 5, 0.9247647538534878], [5, 10, 0.10882198108584876],
    [100, 60, 0.999083171138544], [0.001, 3, 8.40791905804616e-6], [0.5, 0.5, 0.7436779447314611],
  ];
  for (const [x, k, v] of cdf) near(chiSquareCdf(x, k), v, tolFor(logGamma(k / 2) + x / 2), `chiSquareCdf(${x}, ${k})`);
  assert.is(chiSquareQuantile(0, 3), 0);
  assert.is(chiSquareQuantile(1, 3), Infinity);
  throwsWith(() => chiSquareQuantile(0.5, 0), RangeError, /^chiSquareQuantile: degrees of freedom must be positive and finite, got 0/);
  throwsWith(() => chiSquareQuantile(-0.1, 2), RangeError, /^chiSquareQuantile: p must lie in \[0, 1\], got -0.1/);
  throwsWith(() => chiSquareSf(1, 0), RangeError, /^chiSquareSf: degrees of freedom must be positive, got 0/);
});

special.run();

// ---------------------------------------------------------------- Student's t

const student = suite("stats: Student's t");

student('closed forms: ν = 1 is Cauchy, ν = 2 is ½ + t/(2√(2 + t²)); ν = ∞ is the normal', () => {
  for (const t of [-1e6, -30, -2, -0.3, 0, 0.7, 4, 250]) {
    near(tCdf(t, 1), t < 0 ? Math.atan(-1 / t) / Math.PI : 0.5 + Math.atan(t) / Math.PI, tolFor(4), `tCdf(${t}, 1)`);
    // For t < 0, ½ − |t|/(2√(2+t²)) = 1/(√(2+t²)(√(2+t²) + |t|)), without cancellation.
    const s = Math.sqrt(2 + t * t);
    near(tCdf(t, 2), t < 0 ? 1 / (s * (s - t)) : 0.5 + t / (2 * s), tolFor(4), `tCdf(${t}, 2)`);
    assert.is(tCdf(t, Infinity), normalCdf(t));
  }
  near(tQuantile(0.975, 1), 12.706204736174705, tolFor(4), 'Cauchy 97.5%'); // the table's 12.706
  near(tQuantile(0.995, 1), 63.65674116287158, tolFor(4), 'Cauchy 99.5%');
  near(tQuantile(1e-10, 1), -3183098861.837907, tolFor(25), 'Cauchy 1e-10');
  near(tQuantile(0.975, 2), 4.302652729749464, tolFor(4), 'ν = 2, 97.5%'); // the table's 4.303
});

student('the far tails: no premature underflow, and ±∞ / 0 only beyond the doubles', () => {
  // ν/t² underflows for |t| > 1e155, the tails do not: P(T₁ < −1e200) = atan(1e-200)/π = 1e-200/π.
  near(tCdf(-1e200, 1), 1e-200 / Math.PI, tolFor(460), 'Cauchy at −1e200');
  near(tCdf(-1e100, 2), 1 / (1e100 * 2e100), tolFor(460), 'ν = 2 at −1e100'); // 1/(s(s + |t|)), s = √(2 + t²)
  // The 1e-300 quantile of t₁.₅ is about −5e199 (the tail falls like |t|^−1.5): representable, so found, and it inverts.
  const t = tQuantile(1e-300, 1.5);
  assert.ok(t < -1e199 && t > -1e200, `${t}`);
  near(tCdf(t, 1.5), 1e-300, tolFor(700), 'inverts');
  // With ν = 0.05 the tail falls like |t|^−0.05, so the quantile grows like q^−20: it is
  // 1.1e233 for a tail of 1e-12 (still a double), about 1e312 for 2⁻⁵³ and 1e473 for 1e-20 (beyond them).
  const big = tQuantile(1 - 1e-12, 0.05);
  assert.ok(big > 1e232 && big < 1e234, `${big}`);
  assert.is(tQuantile(1 - 2 ** -53, 0.05), Infinity);
  assert.is(tQuantile(1e-20, 0.05), -Infinity);
  // χ²₀.₀₅'s 1e-10 quantile is about 1e-400: below the doubles.
  assert.is(chiSquareQuantile(1e-10, 0.05), 0);
  assert.ok(chiSquareQuantile(1e-10, 3) > 0);
});

student('CDF against mpmath, both tails, non-integer and large ν', () => {
  const rows: [number, number, number][] = [
    [-3, 3, 0.028834442811218653], [0.5, 3, 0.6742760175759245], [2, 5, 0.9490302605850708], [-2.5, 10, 0.015723422118304402],
    [1.5, 30, 0.927967035435677], [-40, 4, 1.1670081613006343e-6], [3, 100, 0.9982960423283352], [1, 2.5, 0.7979694863608633],
    [-1000, 7, 1.3204919187605937e-19], [2, 1e6, 0.9772497330743404],
  ];
  for (const [t, dof, v] of rows) {
    const size = logGamma(dof / 2) + ((dof + 1) / 2) * Math.log1p((t * t) / dof);
    near(tCdf(t, dof), v, tolFor(size), `tCdf(${t}, ${dof})`);
    near(tSf(-t, dof), v, tolFor(size), `tSf(${-t}, ${dof})`);
  }
});

student('quantiles against the t table and mpmath; quantile and CDF invert each other', () => {
  // Table: t_{0.975} for ν = 3, 10, 30 is 3.182, 2.228, 2.042; t_{0.995}(5) = 4.032.
  const rows: [number, number, number][] = [
    [0.975, 3, 3.1824463052837086], [0.975, 10, 2.2281388519862744], [0.975, 30, 2.0422724563012378], [0.995, 5, 4.032142983555227],
    [0.95, 4, 2.1318467863266495], [0.9, 7, 1.4149239276505086], [1e-10, 3, -2225.7692846830932], [1e-12, 1.5, -52194694.27344635],
    [0.6, 20, 0.2567427538545019], [0.025, 2.5, -3.574654842003683], [0.975, 1000, 1.962339080826408], [0.9999, 1e5, 3.719154382641372],
  ];
  for (const [p, dof, t] of rows) near(tQuantile(p, dof), t, tolFor(logGamma(dof / 2) + ((dof + 1) / 2) * Math.log1p((t * t) / dof)), `tQuantile(${p}, ${dof})`);
  for (const dof of [1, 2, 3.5, 9, 60]) {
    for (const p of [1e-8, 0.01, 0.3, 0.5, 0.8, 0.999]) {
      near(tCdf(tQuantile(p, dof), dof), p, 1e-13, `tCdf(tQuantile(${p}, ${dof}))`);
    }
  }
  assert.is(tQuantile(0.5, 7), 0);
  assert.is(tQuantile(0, 7), -Infinity);
  assert.is(tQuantile(0.975, Infinity), normalQuantile(0.975));
  throwsWith(() => tCdf(1, 0), RangeError, /^tCdf: degrees of freedom must be positive, got 0/);
  throwsWith(() => tQuantile(2, 5), RangeError, /^tQuantile: p must lie in \[0, 1\], got 2/);
});

student.run();

// ---------------------------------------------------------------- Kolmogorov–Smirnov and chi-square tests

const tests = suite('stats: goodness-of-fit tests');

tests('the Kolmogorov distribution: table critical values and mpmath', () => {
  // Table: asymptotic critical values of √n·D at α = 0.10, 0.05, 0.01, 0.001 (4 decimals).
  for (const [t, alpha] of [[1.2238, 0.1], [1.3581, 0.05], [1.6276, 0.01], [1.9495, 0.001]]) {
    assert.ok(Math.abs(kolmogorovSf(t) - alpha) < alpha * 1e-3, `P(K > ${t}) = ${kolmogorovSf(t)}, table α = ${alpha}`);
  }
  const sf: [number, number][] = [[0.5, 0.9639452436648751], [0.8, 0.5441424115741981], [1, 0.2699996716773545], [2.5, 7.453306344157342e-6]];
  for (const [t, v] of sf) near(kolmogorovSf(t), v, tolFor(2 * t * t), `kolmogorovSf(${t})`);
  // The lower tail, P(K ≤ t) = √(2π)/t Σ exp(−(2k−1)²π²/(8t²)), from the other (Jacobi theta) series:
  // 1 − sf loses ~ε absolute to the subtraction, so the check is absolute.
  for (const [t, v] of [[0.3, 9.305801334566623e-6], [0.5, 0.03605475633512491]]) {
    assert.ok(Math.abs(1 - kolmogorovSf(t) - v) < 4 * EPS, `P(K ≤ ${t})`);
  }
  assert.is(kolmogorovSf(0), 1);
});

tests('KS statistics by hand', () => {
  // Against U(0, 1): D⁺ = max(i/n − xᵢ) = 1 − 0.7 = 0.3, D⁻ = max(xᵢ − (i−1)/n) = 0.1.
  const one = ksTest([0.4, 0.1, 0.7], (x) => x);
  near(one.statistic, 0.3, 4 * EPS, 'one-sample D');
  const root = Math.sqrt(3);
  assert.is(one.pValue, kolmogorovSf((root + 0.12 + 0.11 / root) * one.statistic)); // Stephens' correction
  // Two samples: the ECDFs of {1, 2, 3} and {2.5, 4, 5} are furthest apart (2/3) at 2 and at 3; a tie at 2 below.
  near(ksTwoSample([1, 2, 3], [2.5, 4, 5]).statistic, 2 / 3, 4 * EPS, 'two-sample D');
  near(ksTwoSample([1, 2], [2, 3]).statistic, 0.5, 0, 'two-sample D with a tie');
  assert.is(ksTwoSample([1, 2, 3], [1, 2, 3]).statistic, 0);
  throwsWith(() => ksTest([], (x) => x), RangeError, /^ksTest: needs at least one sample/);
  throwsWith(() => ksTwoSample([1], []), RangeError, /^ksTwoSample: both samples must be non-empty/);
});

tests('Pearson chi-square by hand: a die rolled 60 times', () => {
  // Counts 5, 8, 9, 8, 10, 20 against 10 each: χ² = (25 + 4 + 1 + 4 + 0 + 100)/10 = 13.4 on 5 dof, p = 0.0199 (mpmath).
  const r = chiSquareTest([5, 8, 9, 8, 10, 20], new Array(6).fill(1 / 6));
  near(r.statistic, 13.4, 8 * EPS, 'statistic');
  assert.is(r.dof, 5);
  near(r.pValue, 0.01990522033477438, tolFor(13.4), 'p-value');
  const exact = chiSquareTest([10, 20, 30], [1 / 6, 1 / 3, 1 / 2]);
  assert.ok(exact.statistic < 1e-28 && exact.pValue === 1);
  // A count in a cell of probability 0 is impossible under the hypothesis.
  assert.equal(chiSquareTest([1, 5], [0, 1]), { statistic: Infinity, pValue: 0, dof: 1 });
  throwsWith(() => chiSquareTest([1, 2, 3], [0.5, 0.5]), RangeError, /^chiSquareTest: need at least 2 cells and as many probabilities as counts, got 3 and 2/);
});

tests('chiSquareTest: probabilities must be non-negative and sum to 1', () => {
  // A left-out cell, a doubled one, a negative or NaN probability: each gave a p-value for a wrong hypothesis.
  throwsWith(() => chiSquareTest([10, 20, 30], [0.2, 0.3, 0.4]), RangeError, /^chiSquareTest: the probabilities must sum to 1, got 0.9/);
  throwsWith(() => chiSquareTest([10, 20], [1, 1]), RangeError, /^chiSquareTest: the probabilities must sum to 1, got 2/);
  throwsWith(() => chiSquareTest([10, 20, 30], [-0.1, 0.6, 0.5]), RangeError, /^chiSquareTest: probabilities\[0\] must lie in \[0, 1\], got -0.1/);
  throwsWith(() => chiSquareTest([10, 20], [NaN, 1]), RangeError, /^chiSquareTest: probabilities\[0\] must lie in \[0, 1\], got NaN/);
  // Rounding in a sum of many cells is not an error: 1000 cells of 1/1000 sum to 1 only within a few ulps.
  const many = new Array(1000).fill(1 / 1000);
  assert.ok(chiSquareTest(new Array(1000).fill(5), many).pValue === 1);
});

tests('Holm on a textbook example, and its edge over Bonferroni', () => {
  // Four hypotheses at α = 0.05 (the Holm–Bonferroni example of the textbooks): sorted,
  // 0.005 ≤ 0.05/4 and 0.01 ≤ 0.05/3 are rejected; 0.03 > 0.05/2 stops the procedure.
  assert.equal(holm([0.01, 0.04, 0.03, 0.005], 0.05), [true, false, false, true]);
  // Bonferroni (each p ≤ α/3 = 0.02) would reject only two of these; Holm rejects all three.
  assert.equal(holm([0.01, 0.02, 0.03], 0.06), [true, true, true]);
  // Step-down: the first acceptance stops it, even if a later p would pass its own threshold.
  assert.equal(holm([0.001, 0.5, 0.01], 0.05), [true, false, true]);
  assert.equal(holm([0.02, 0.02], 0.05), [true, true]);
  assert.equal(holm([], 0.05), []);
});

tests('Holm: a NaN p-value throws instead of being ranked; alpha is checked', () => {
  // Before, NaN sorted arbitrarily and NaN <= threshold is false: the NaN test was never
  // rejected, and could stop the step-down before a real rejection ([true, false] here).
  throwsWith(() => holm([0.001, NaN], 0.05), RangeError, /^holm: pValues\[1\] is NaN; a NaN statistic has no p-value/);
  throwsWith(() => holm([NaN, 1e-6], 0.05), RangeError, /^holm: pValues\[0\] is NaN/);
  throwsWith(() => holm([0.01], 0), RangeError, /^holm: alpha must lie in \(0, 1\), got 0/);
  throwsWith(() => holm([0.01], 1.5), RangeError, /^holm: alpha must lie in \(0, 1\), got 1.5/);
  throwsWith(() => holm([0.01], NaN), RangeError, /^holm: alpha must lie in \(0, 1\), got NaN/);
});

tests.run();

// ---------------------------------------------------------------- running moments

const moments = suite('stats: Welford and summaries');

/** The sample variance of 1e9 + kᵢ/1024, exactly, from integer sums (BigInt), rounded once. */
function exactVariance(ks: number[]): number {
  const n = BigInt(ks.length);
  let s = 0n;
  let s2 = 0n;
  for (const k of ks) {
    s += BigInt(k);
    s2 += BigInt(k) * BigInt(k);
  }
  // var = (n Σk² − (Σk)²) / (n (n − 1)) / 1024²
  const num = n * s2 - s * s;
  const den = n * (n - 1n) * 1048576n;
  const whole = num / den;
  return Number(whole) + Number(num - whole * den) / Number(den);
}

moments('Welford on ill-conditioned data (offset 1e9) matches the exact variance; the naive formula does not', () => {
  // The textbook case: 1e9 + {4, 7, 13, 16} has mean 1e9 + 10 and variance 90/3 = 30, all exact in doubles.
  const w = new Welford();
  for (const v of [4, 7, 13, 16]) w.push(1e9 + v);
  assert.is(w.mean[0], 1e9 + 10);
  assert.is(w.variance()[0], 30);
  // 10⁴ values 1e9 + k/1024 (exact doubles: 40 bits), spread ~1. Each Welford update
  // forms x − mean with an absolute error ≤ ulp(1e9) ≈ 1.2e-7, so the variance is
  // good to ~1e-7 relative in the worst case; 1e-6 leaves room, and the naive
  // E[x²] − E[x]² loses everything (E[x²] ≈ 1e18 carries an error of ~ulp(1e18) = 128).
  const r = rng(21);
  const ks = Array.from(r.normal([10000]).data, (z) => Math.round(z * 1024));
  const xs = ks.map((k) => 1e9 + k / 1024);
  const exact = exactVariance(ks);
  const acc = new Welford();
  for (const x of xs) acc.push(x);
  near(acc.variance()[0], exact, 1e-6, 'Welford');
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  near(ss / (xs.length - 1), exact, 1e-6, 'two-pass');
  let sum = 0;
  let sumSq = 0;
  for (const x of xs) {
    sum += x;
    sumSq += x * x;
  }
  const naive = (sumSq - (sum * sum) / xs.length) / (xs.length - 1);
  assert.ok(Math.abs(naive - exact) / exact > 0.1, `the naive formula gave ${naive} for ${exact}`);
});

moments('Welford over vectors, pushRows, stderr, and summarize', () => {
  const w = new Welford(2);
  w.pushRows([1, 10, 2, 20, 3, 30, 4, 40]);
  assert.is(w.count, 4);
  assert.equal(Array.from(w.mean), [2.5, 25]);
  near(w.variance()[0], 5 / 3, 4 * EPS, 'variance');
  near(w.variance()[1], 500 / 3, 4 * EPS, 'variance');
  near(w.stderr()[1], Math.sqrt(500 / 12), 4 * EPS, 'stderr');
  const s = summarize([1, 2, 3, 4]);
  near(s.variance, 5 / 3, 4 * EPS, 'summarize');
  near(s.stderr, Math.sqrt(5 / 12), 4 * EPS, 'summarize');
  assert.is(s.count, 4);
  const single = new Welford();
  single.push(3);
  assert.ok(Number.isNaN(single.variance()[0]));
  throwsWith(() => new Welford(0), RangeError, /^Welford: dim must be a positive integer, got 0/);
  throwsWith(() => new Welford(2).pushRows([1, 2, 3]), RangeError, /^Welford.pushRows: 3 values are not whole rows of 2/);
});

moments.run();

// ---------------------------------------------------------------- confidence intervals

const intervals = suite('stats: confidence intervals');

intervals('normal, t and variance intervals at known points', () => {
  const z = normalInterval(10, 2, 0.95);
  near(z.upper, 10 + 2 * 1.9599639845400543, tolFor(2), 'normal upper');
  near(z.lower, 10 - 2 * 1.9599639845400543, tolFor(2), 'normal lower');
  const t = tInterval(1, 0.5, 10);
  near(t.upper, 1 + 0.5 * 2.2281388519862744, tolFor(10), 't upper');
  near(t.lower, 1 - 0.5 * 2.2281388519862744, tolFor(10), 't lower');
  near(tInterval(0, 1, 4, 0.9).upper, 2.1318467863266495, tolFor(10), 't at level 0.9');
  // s² = 2 from n = 11: [20/χ²₁₀(0.975), 20/χ²₁₀(0.025)] = [20/20.4832, 20/3.2470] (mpmath quantiles).
  const v = varianceInterval(2, 11);
  near(v.lower, 20 / 20.483177350807395, tolFor(20), 'variance lower');
  near(v.upper, 20 / 3.246972780236841, tolFor(20), 'variance upper');
  assert.equal(normalInterval(3, 0), { lower: 3, upper: 3 });
  throwsWith(() => normalInterval(0, 1, 1), RangeError, /^normalInterval: level must lie strictly between 0 and 1 \(e.g. 0.95\), got 1/);
  throwsWith(() => normalInterval(0, -1), RangeError, /^normalInterval: stderr must be finite and ≥ 0, got -1/);
  throwsWith(() => tInterval(NaN, 1, 3), RangeError, /^tInterval: mean must be a finite number, got NaN/);
  throwsWith(() => tInterval(0, 1, 0), RangeError, /^tInterval: degrees of freedom must be positive, got 0/);
  throwsWith(() => varianceInterval(1, 1), RangeError, /^varianceInterval: n must be an integer ≥ 2 \(the number of samples\), got 1/);
  throwsWith(() => varianceInterval(-1, 5), RangeError, /^varianceInterval: sampleVariance must be finite and ≥ 0, got -1/);
});

// Coverage, measured on R = 20 000 normal samples of size n = 5 (one [R, 5]
// tensor). The count of intervals that cover the truth is Binomial(R, 0.95)
// when the interval is right; a two-sided z-test at α = 1e-3 (|z| < 3.29,
// standard error √(0.95·0.05/R) = 0.0015) accepts it. Each wrong variant's
// coverage is computed in its comment and is > 20 standard errors away.
const R = 20000;
const N = 5;
const ALPHA = 1e-3;

function coverage(seed: number, make: (mean: number, variance: number) => { lower: number; upper: number }, target: 'mean' | 'variance'): number {
  const x = rng(seed).normal([R, N]).data; // μ = 0, σ² = 1
  let covered = 0;
  for (let r = 0; r < R; r++) {
    let mean = 0;
    for (let i = 0; i < N; i++) mean += x[r * N + i];
    mean /= N;
    let ss = 0;
    for (let i = 0; i < N; i++) ss += (x[r * N + i] - mean) ** 2;
    const ci = make(mean, ss / (N - 1));
    const truth = target === 'mean' ? 0 : 1;
    if (ci.lower <= truth && truth <= ci.upper) covered++;
  }
  return covered / R;
}

const coverageP = (c: number) => twoSidedP((c - 0.95) / Math.sqrt((0.95 * 0.05) / R));

intervals('the t interval covers the mean 95% of the time at n = 5; the normal interval does not', () => {
  const t = coverage(31, (m, v) => tInterval(m, Math.sqrt(v / N), N - 1), 'mean');
  assert.ok(coverageP(t) > ALPHA, `t coverage ${t}`);
  // With z = 1.96 in place of t₄ = 2.776 the coverage is P(|T₄| < 1.96) = 0.878.
  const z = coverage(31, (m, v) => normalInterval(m, Math.sqrt(v / N)), 'mean');
  assert.ok(coverageP(z) < ALPHA, `normal coverage ${z}`);
  // And it sits where predicted: standard error √(0.878·0.122/R) = 0.0023, so within 1% is within 4 of them.
  near(z, 1 - 2 * tSf(1.96, 4), 0.01, 'normal coverage near its predicted value');
});

intervals('the variance interval covers σ² 95% of the time at n = 5; n − 1 → n in the dof does not', () => {
  const good = coverage(32, (_m, v) => varianceInterval(v, N), 'variance');
  assert.ok(coverageP(good) > ALPHA, `coverage ${good}`);
  // Wrong: n·s² with χ²₅ quantiles; covers when 1.25·χ²₄ ∈ [0.831, 12.83], probability 0.919.
  const wrong = coverage(32, (_m, v) => ({ lower: (N * v) / chiSquareQuantile(0.975, N), upper: (N * v) / chiSquareQuantile(0.025, N) }), 'variance');
  assert.ok(coverageP(wrong) < ALPHA, `wrong coverage ${wrong}`);
});

intervals.run();
