// Tests of lib/random.ts: the xoshiro128** core against an independent
// reference, seeds, split streams, and the law of every sampler.
//
// Statistical checks. Each one is a test at level ALPHA = 1e-3 with a fixed
// seed: a correct sampler fails it for about one seed in a thousand, and the
// ~25 checks of this file together for at most 2.5% of seeds (Bonferroni).
// Beside each check, a deliberately wrong sampler is put through the same
// check and must be rejected; the sample sizes are chosen so that its
// expected p-value is far below ALPHA (the comment says how far).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, rng } from '../../index.ts';
import { chiSquareTest, ksTest, normalCdf, twoSidedP, holm } from '../../lib/stats.ts';
import { momentZ } from '../harness/variance.ts';
import { logKernel } from '../../autodiff/ops/kernels.ts';

const ALPHA = 1e-3;
/** Pairs for the independence checks: 1000 expected per cell of a 10×10 grid. */
const N_PAIRS = 100000;

// ---------------------------------------------------------------- helpers

/** xoshiro128** (Blackman & Vigna 2018), written from the paper's C code with BigInt, independent of Math.imul. */
function referenceXoshiro(state: readonly number[], n: number): number[] {
  const mask = (1n << 32n) - 1n;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & mask;
  const s = state.map(BigInt);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((s[1] * 5n) & mask, 7n) * 9n) & mask));
    const t = (s[1] << 9n) & mask;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
  }
  return out;
}

function uint32s(r: Rng, n: number): number[] {
  return Array.from({ length: n }, () => r.uint32());
}

/** Counts of a pair of uniform streams on a bins×bins grid, for a chi-square test of joint uniformity. */
function pairCounts(a: Float64Array, b: Float64Array, bins: number): Float64Array {
  const counts = new Float64Array(bins * bins);
  for (let i = 0; i < a.length; i++) counts[Math.floor(a[i] * bins) * bins + Math.floor(b[i] * bins)]++;
  return counts;
}

/**
 * Independence of two uniform streams drawn side by side: a chi-square test
 * that the pairs (a_i, b_i) are uniform on a 10×10 grid (99 degrees of
 * freedom, 1000 expected per cell for n = 1e5).
 */
function pairTest(a: Float64Array, b: Float64Array): number {
  const bins = 10;
  return chiSquareTest(pairCounts(a, b, bins), new Float64Array(bins * bins).fill(1 / (bins * bins))).pValue;
}

/** How many values two streams share. For independent 52-bit uniforms the expected count is n·m/2⁵² ≈ 2e-6 here. */
function sharedValues(a: Float64Array, b: Float64Array): number {
  const seen = new Set(a);
  let shared = 0;
  for (const x of b) if (seen.has(x)) shared++;
  return shared;
}

const gumbelCdf = (x: number) => Math.exp(-Math.exp(-x));
const logisticCdf = (x: number) => 1 / (1 + Math.exp(-x));
const uniformCdf = (x: number) => Math.min(1, Math.max(0, x));
const exponentialCdf = (rate: number) => (x: number) => (x <= 0 ? 0 : -Math.expm1(-rate * x));

// ---------------------------------------------------------------- the core and the seeds

const core = suite('random: generator and seeds');

core('the core is xoshiro128**: published first outputs from state (1, 2, 3, 4)', () => {
  // The first outputs of the reference C implementation for s = {1, 2, 3, 4}.
  const published = [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804];
  assert.equal(uint32s(new Rng(1, 2, 3, 4), 10), published);
  assert.equal(referenceXoshiro([1, 2, 3, 4], 10), published);
});

core('the core matches the BigInt reference for 1000 outputs from arbitrary states', () => {
  const states = [
    [0x9e3779b9, 0x243f6a88, 0xb7e15162, 0xdeadbeef],
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [1, 0, 0, 0],
  ];
  for (const s of states) {
    assert.equal(uint32s(new Rng(s[0], s[1], s[2], s[3]), 1000), referenceXoshiro(s, 1000), `state ${s}`);
  }
});

core('the all-zero state, a fixed point of xoshiro, is replaced', () => {
  const out = uint32s(new Rng(0, 0, 0, 0), 4);
  assert.ok(out.some((x) => x !== 0), `${out}`);
});

core('next() is (k + 1/2)·2^-52 with k the top 26 bits of two outputs', () => {
  const [x, y] = referenceXoshiro([5, 6, 7, 8], 2);
  const k = (x >>> 6) * 2 ** 26 + (y >>> 6);
  assert.is(new Rng(5, 6, 7, 8).next(), (k + 0.5) / 2 ** 52);
});

core('golden values: the same streams in every runtime', () => {
  // Recorded from this implementation (splitmix32 seeding, xoshiro128** core).
  // A change here changes every seeded result of the project: bump it only on purpose.
  const golden: [number, number[], number][] = [
    [0, [3071847157, 1052654724, 641695588], 0.7152201420827252],
    [1, [2060729647, 2544327251, 1067821368], 0.47980100799198977],
    [42, [1985597174, 3858349382, 2448248064], 0.4623078688732084],
    [-1, [2658083391, 1112740044, 3514293980], 0.6188832560044525],
    [2 ** 40 + 5, [3539756497, 1783827985, 2225917102], 0.8241637858052525],
  ];
  for (const [seed, words, first] of golden) {
    assert.equal(uint32s(rng(seed), 3), words, `seed ${seed}`);
    assert.is(rng(seed).next(), first, `seed ${seed}`);
  }
});

core('same seed, same stream; every sampler is deterministic', () => {
  const draw = (r: Rng) => [
    r.uniform([7]).toArray(),
    r.normal([5]).toArray(),
    r.exponential([3], 2).toArray(),
    r.gumbel([3]).toArray(),
    r.logistic([3]).toArray(),
    r.integers([4], -5, 5).toArray(),
    r.permutation(6).toArray(),
    r.split().uniform([3]).toArray(),
  ];
  assert.equal(draw(rng(123)), draw(rng(123)));
});

core('different seeds give different streams (10 000 consecutive seeds, and ±, and 2^32 apart)', () => {
  // 52-bit first uniforms of 10⁴ independent streams collide with probability ≈ 10⁸/2⁵³ ≈ 1e-8.
  const firsts = new Set<number>();
  for (let s = 0; s < 10000; s++) firsts.add(rng(s).next());
  assert.is(firsts.size, 10000);
  const near = [1, -1, 2 ** 32 + 1, -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53) + 1].map((s) => rng(s).next());
  assert.is(new Set(near).size, near.length);
});

/**
 * The seeding this file replaced: the seed's halves folded into one word by
 * lo ^ imul(hi, C), and hi xored into the last state word only. Seeds with the
 * same folded word share their first two outputs (the first output of
 * xoshiro128** reads only the second state word).
 */
function oldSeeding(seed: number): Rng {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let s = lo ^ Math.imul(hi, 0x27d4eb2d);
  const next = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return new Rng(next(), next(), next(), next() ^ hi);
}

core('related seeds give independent first draws (pairs chi-square, α = 1e-3); rejects the old seeding', () => {
  // Seed k against k + 1, k + 2³², −k − 1, and k + 2³² with the low word
  // xored by the old folding constant: the first uniform of each, over
  // 10⁵ values of k, paired and tested for joint uniformity (Holm over the four).
  const n = N_PAIRS;
  const C = 0x27d4eb2d;
  const relations = [(k: number) => k + 1, (k: number) => k + 2 ** 32, (k: number) => -k - 1, (k: number) => 2 ** 32 + ((k ^ C) >>> 0)];
  const firsts = (make: (seed: number) => Rng, f: (k: number) => number) => Float64Array.from({ length: n }, (_, k) => make(f(k)).next());
  const base = firsts(rng, (k) => k);
  const ps = relations.map((f) => pairTest(base, firsts(rng, f)));
  assert.equal(holm(ps, ALPHA), [false, false, false, false], `p = ${ps}`);
  // The old seeding: seeds k and 2³² + (k ^ C) fold to the same word, so
  // their first uniforms coincide and the pairs sit on the diagonal.
  const old = pairTest(firsts(oldSeeding, (k) => k), firsts(oldSeeding, relations[3]));
  assert.ok(old < ALPHA, `p = ${old}`);
  assert.is(oldSeeding(-1).next(), oldSeeding(2 ** 32 + 1).next());
  assert.is.not(rng(-1).next(), rng(2 ** 32 + 1).next());
});

core('seeds must be safe integers', () => {
  assert.throws(() => rng(0.5), (e: Error) => e instanceof RangeError && /^rng: seed must be an integer.*got 0\.5/.test(e.message));
  assert.throws(() => rng(NaN), (e: Error) => e instanceof RangeError && /^rng:/.test(e.message));
  assert.throws(() => rng(2 ** 53), (e: Error) => e instanceof RangeError && /^rng:/.test(e.message));
  assert.throws(() => rng('7' as unknown as number), (e: Error) => e instanceof TypeError && /^rng: seed must be a number, got string/.test(e.message));
});

core.run();

// ---------------------------------------------------------------- split streams

const split = suite('random: split streams');

split('parent and child streams are independent (pairs chi-square, α = 1e-3)', () => {
  const parent = rng(2024);
  const child = parent.split();
  const a = parent.uniform([N_PAIRS]).data;
  const b = child.uniform([N_PAIRS]).data;
  const p = pairTest(a, b);
  assert.ok(p > ALPHA, `p = ${p}`);
  assert.is(sharedValues(a, b), 0);
});

split('siblings from split() and fork() are independent, and differ', () => {
  const parent = rng(77);
  const first = parent.split().uniform([N_PAIRS]).data;
  const second = parent.split().uniform([N_PAIRS]).data;
  const pSplit = pairTest(first, second);
  const [x, y, z] = rng(78).fork(3).map((r) => r.uniform([N_PAIRS]).data);
  const pFork = [pairTest(x, y), pairTest(y, z), pairTest(x, z)];
  // Four tests together at family level ALPHA (Holm).
  const reject = holm([pSplit, ...pFork], ALPHA);
  assert.equal(reject, [false, false, false, false], `p = ${[pSplit, ...pFork]}`);
  for (const [u, v] of [[first, second], [x, y], [y, z], [x, z]]) assert.is(sharedValues(u, v), 0);
});

split('a child is a function of the parent state: split is reproducible', () => {
  const a = rng(5).fork(2).map((r) => r.uniform([4]).toArray());
  const b = rng(5).fork(2).map((r) => r.uniform([4]).toArray());
  assert.equal(a, b);
});

split('the checks reject a child that copies the parent (identical) or runs its stream late (lagged)', () => {
  // Identical: every pair lies on the grid's diagonal, chi-square ≈ 9·10⁵ on 99 dof.
  const identical = pairTest(rng(2024).uniform([N_PAIRS]).data, rng(2024).uniform([N_PAIRS]).data);
  assert.ok(identical < ALPHA, `p = ${identical}`);
  // Lagged by three draws: aligned pairs are independent, so the pair test
  // cannot see it, but almost every value is shared.
  const parent = rng(2024);
  const lagged = rng(2024);
  for (let i = 0; i < 6; i++) lagged.uint32(); // three uniforms
  const a = parent.uniform([N_PAIRS]).data;
  const b = lagged.uniform([N_PAIRS]).data;
  assert.ok(sharedValues(a, b) > N_PAIRS - 10);
});

split.run();

// ---------------------------------------------------------------- uniforms on (0, 1)

const open = suite('random: uniforms on the open interval');

/** A generator whose every 32-bit output is `word`: the extremes of next(). */
class Stuck extends Rng {
  constructor(private readonly word: number) {
    super(1, 2, 3, 4);
  }
  override uint32(): number {
    return this.word;
  }
}

open('the extreme outputs map to 2^-53 and 1 − 2^-53, never 0 or 1', () => {
  const high = new Stuck(0xffffffff);
  const low = new Stuck(0);
  assert.is(high.next(), 1 - 2 ** -53);
  assert.is(low.next(), 2 ** -53);
  // So every transform of a uniform stays finite, even at the extremes.
  for (const r of [high, low]) {
    for (const t of [r.gumbel([1]), r.logistic([1]), r.exponential([1]), r.normal([2])]) {
      assert.ok(t.toArray().toString().split(',').every((s) => Number.isFinite(Number(s))), `${t}`);
    }
    assert.ok(r.integers([1], 0, 7).item() < 7);
  }
});

open('a million uniforms lie strictly inside (0, 1) and on the half-step grid', () => {
  const u = rng(99).uniform([1000000]).data;
  let lo = 1;
  let hi = 0;
  let offGrid = 0;
  for (let i = 0; i < u.length; i++) {
    if (u[i] < lo) lo = u[i];
    if (u[i] > hi) hi = u[i];
    const k = u[i] * 2 ** 52 - 0.5; // exact: a power-of-two scaling and an exact subtraction
    if (!Number.isInteger(k)) offGrid++;
  }
  assert.ok(lo > 0 && hi < 1, `min ${lo}, max ${hi}`);
  assert.is(offGrid, 0);
  // And u ↦ 1 − u stays on the grid (antithetic pairs are exact).
  assert.ok(Number.isInteger((1 - u[0]) * 2 ** 52 - 0.5));
});

open('the samplers draw exactly the stream of next(), in order, and leave the generator where next() would', () => {
  // The samplers fill arrays with the xoshiro state held in locals; this is
  // the same stream as calling next() once per value.
  for (const seed of [0, 7, -123456789, 2 ** 50 + 1]) {
    for (const len of [0, 1, 2, 5, 1000]) {
      const fast = rng(seed);
      const slow = rng(seed);
      const next = (f: (u: number) => number) => Array.from({ length: len }, () => f(slow.next()));
      assert.equal(Array.from(fast.fillUniform(new Float64Array(len))), next((u) => u));
      assert.equal(Array.from(fast.fillGumbel(new Float64Array(len))), next((u) => -logKernel(-logKernel(u))));
      assert.equal(Array.from(fast.fillLogistic(new Float64Array(len))), next((u) => logKernel(u) - logKernel(1 - u)));
      assert.equal(Array.from(fast.fillExponential(new Float64Array(len), 4)), next((u) => -logKernel(u) / 4));
      assert.equal(Array.from(fast.gumbel([len]).data), next((u) => -logKernel(-logKernel(u))));
      assert.equal(Array.from(fast.integers([len], -2, 5).data), next((u) => -2 + Math.floor(u * 7)));
      assert.is(fast.next(), slow.next());
      assert.is(fast.uint32(), slow.uint32());
    }
  }
});

open('a generator that redefines uint32() or next() is honoured by every sampler', () => {
  const scripted = new (class extends Rng {
    private k = 0;
    override next(): number {
      return ++this.k / 8;
    }
  })(1, 2, 3, 4);
  assert.equal(Array.from(scripted.fillUniform(new Float64Array(3))), [1 / 8, 2 / 8, 3 / 8]);
  assert.equal(Array.from(scripted.exponential([2]).data), [-Math.log(4 / 8), -Math.log(5 / 8)]);
  assert.equal(Array.from(new Stuck(0).fillUniform(new Float64Array(2))), [2 ** -53, 2 ** -53]);
});

open.run();

// ---------------------------------------------------------------- goodness of fit

const fit = suite('random: goodness of fit (Kolmogorov–Smirnov, α = 1e-3)');

const N_KS = 100000;

// With n = 1e5 the KS test has power against a CDF error of about
// 2/√n ≈ 0.006 at level 1e-3 (√n·D ≈ 1.95 gives p = 1e-3). Each wrong
// variant below moves the CDF by at least 0.01 somewhere, so √n·D ≥ 3.2,
// p < 1e-8.

fit('uniform(0, 1); rejects u scaled by 0.99', () => {
  const u = rng(1).uniform([N_KS]).data;
  assert.ok(ksTest(u, uniformCdf).pValue > ALPHA);
  const wrong = u.map((x) => 0.99 * x); // D = 0.01
  assert.ok(ksTest(wrong, uniformCdf).pValue < ALPHA);
});

fit('normal(0, 1), even and odd lengths; rejects variance 1.1', () => {
  const z = rng(2).normal([N_KS + 1]).data; // odd: the last value takes the single-normal branch
  assert.ok(ksTest(z, normalCdf).pValue > ALPHA);
  // Variance 1.1: max |Φ(x) − Φ(x/√1.1)| ≈ 0.0115 near |x| = 1, √n·D ≈ 3.6, p ≈ 1e-11.
  const wrong = rng(2).normal([N_KS]).data.map((x) => Math.sqrt(1.1) * x);
  assert.ok(ksTest(wrong, normalCdf).pValue < ALPHA);
});

fit('exponential with rate 2; rejects −log(u)·rate', () => {
  const x = rng(3).exponential([N_KS], 2).data;
  assert.ok(ksTest(x, exponentialCdf(2)).pValue > ALPHA);
  const u = rng(3).uniform([N_KS]).data;
  const wrong = u.map((v) => -Math.log(v) * 2); // rate 1/2 instead of 2
  assert.ok(ksTest(wrong, exponentialCdf(2)).pValue < ALPHA);
});

fit('gumbel: −log(−log u); rejects the wrong sign +log(−log u)', () => {
  const g = rng(4).gumbel([N_KS]).data;
  assert.ok(ksTest(g, gumbelCdf).pValue > ALPHA);
  const u = rng(4).uniform([N_KS]).data;
  const wrong = u.map((v) => Math.log(-Math.log(v))); // the min-Gumbel
  assert.ok(ksTest(wrong, gumbelCdf).pValue < ALPHA);
});

fit('logistic: log u − log(1 − u); rejects log u − log(1 + u)', () => {
  const l = rng(5).logistic([N_KS]).data;
  assert.ok(ksTest(l, logisticCdf).pValue > ALPHA);
  const u = rng(5).uniform([N_KS]).data;
  const wrong = u.map((v) => Math.log(v) - Math.log1p(v)); // the log1p(u) for log1p(−u) slip
  assert.ok(ksTest(wrong, logisticCdf).pValue < ALPHA);
});

fit.run();

// ---------------------------------------------------------------- moments

const moments = suite('random: moments (z-tests, Holm at family α = 1e-3)');

const N_MOM = 200000;
const EULER = 0.5772156649015329;

interface Law {
  name: string;
  sample: (r: Rng) => Float64Array;
  mean: number;
  variance: number;
  /** The fourth central moment, for the standard error of the sample variance. */
  mu4: number;
}

const laws: Law[] = [
  { name: 'uniform', sample: (r) => r.uniform([N_MOM]).data, mean: 0.5, variance: 1 / 12, mu4: 1 / 80 },
  { name: 'normal', sample: (r) => r.normal([N_MOM]).data, mean: 0, variance: 1, mu4: 3 },
  { name: 'exponential(3)', sample: (r) => r.exponential([N_MOM], 3).data, mean: 1 / 3, variance: 1 / 9, mu4: 9 / 81 },
  // Gumbel: mean γ, variance π²/6, excess kurtosis 12/5.
  { name: 'gumbel', sample: (r) => r.gumbel([N_MOM]).data, mean: EULER, variance: Math.PI ** 2 / 6, mu4: 5.4 * (Math.PI ** 2 / 6) ** 2 },
  // Logistic: mean 0, variance π²/3, excess kurtosis 6/5.
  { name: 'logistic', sample: (r) => r.logistic([N_MOM]).data, mean: 0, variance: Math.PI ** 2 / 3, mu4: 4.2 * (Math.PI ** 2 / 3) ** 2 },
  // Integers uniform on {−2, …, 4}: mean 1, variance (7² − 1)/12 = 4, μ₄ = (7² − 1)(3·7² − 7)/240 = 28.
  { name: 'integers[-2, 5)', sample: (r) => r.integers([N_MOM], -2, 5).data, mean: 1, variance: 4, mu4: 28 },
];

/**
 * Two-sided p-values of the sample mean (standard error σ/√n) and the sample
 * variance (standard error √((μ₄ − σ⁴)/n), to first order) against the law.
 */
function momentPValues(x: Float64Array, law: Law): [number, number] {
  const { zMean, zVar } = momentZ(x, law);
  return [twoSidedP(zMean), twoSidedP(zVar)];
}

moments('mean and variance of every sampler', () => {
  const ps: number[] = [];
  laws.forEach((law, i) => ps.push(...momentPValues(law.sample(rng(300 + i)), law)));
  const reject = holm(ps, ALPHA);
  assert.ok(reject.every((r) => !r), `p-values ${ps.map((p) => p.toPrecision(3))}`);
});

moments('the same test rejects wrong moments', () => {
  const normal = laws[1];
  // Variance 1.1: z = 0.1 / √(2/n) ≈ 32.
  const wide = rng(301).normal([N_MOM]).data.map((x) => Math.sqrt(1.1) * x);
  assert.ok(momentPValues(wide, normal)[1] < ALPHA);
  // A mean shifted by 0.02 standard deviations: z = 0.02·√n ≈ 8.9 (± 1 for the sample's own error).
  const shifted = rng(301).normal([N_MOM]).data.map((x) => x + 0.02);
  assert.ok(momentPValues(shifted, normal)[0] < ALPHA);
  // Gumbel with the wrong sign: mean −γ, z ≈ 2γ/1.28·√n ≈ 400.
  const gumbel = laws[3];
  const flipped = rng(303).gumbel([N_MOM]).data.map((x) => -x);
  assert.ok(momentPValues(flipped, gumbel)[0] < ALPHA);
});

moments.run();

// ---------------------------------------------------------------- integers and permutations

const discrete = suite('random: integers and permutations (chi-square, α = 1e-3)');

function counts(values: ArrayLike<number>, low: number, cells: number): Float64Array {
  const c = new Float64Array(cells);
  for (let i = 0; i < values.length; i++) {
    const k = values[i] - low;
    c[k >= 0 && k < cells ? k : cells - 1]++; // anything out of range lands in the last cell
  }
  return c;
}

discrete('integers are uniform on low ≤ k < high; rejects an off-by-one range', () => {
  const n = 60000;
  // Cells −3, …, 3 and a last cell for anything outside, which must stay empty.
  const probs = [...new Array(7).fill(1 / 7), 0];
  const x = rng(11).integers([n], -3, 4).data;
  assert.ok(x.every((v) => Number.isInteger(v) && v >= -3 && v < 4));
  assert.ok(chiSquareTest(counts(x, -3, 8), probs).pValue > ALPHA);
  // Off by one: low + floor(u·(span + 1)) reaches high (1/8 of the draws).
  const u = rng(11).uniform([n]).data;
  const inclusive = u.map((v) => -3 + Math.floor(v * 8));
  assert.ok(chiSquareTest(counts(inclusive, -3, 8), probs).pValue < ALPHA);
  // Off by one the other way: low + floor(u·(span − 1)) never reaches high − 1.
  const short = u.map((v) => -3 + Math.floor(v * 6));
  assert.ok(chiSquareTest(counts(short, -3, 8), probs).pValue < ALPHA);
});

/** The index of a permutation of 0..2 among the 3! = 6 in lexicographic order. */
function permutationIndex(p: ArrayLike<number>): number {
  const orders = ['0,1,2', '0,2,1', '1,0,2', '1,2,0', '2,0,1', '2,1,0'];
  return orders.indexOf(Array.from(p).join(','));
}

discrete('all 3! permutations are equally likely; rejects the naive shuffle', () => {
  const n = 30000;
  const r = rng(12);
  const c = new Float64Array(6);
  for (let i = 0; i < n; i++) c[permutationIndex(r.permutation(3).data)]++;
  assert.ok(chiSquareTest(c, new Array(6).fill(1 / 6)).pValue > ALPHA);
  // The naive shuffle swaps every position with any position: 27 equally
  // likely paths onto 6 permutations, probabilities 4/27 or 5/27. Chi-square
  // ≈ n·Σ(p − 1/6)²/(1/6) ≈ 0.027·n ≈ 800 on 5 dof.
  const naive = rng(12);
  const d = new Float64Array(6);
  for (let i = 0; i < n; i++) {
    const p = [0, 1, 2];
    for (let j = 0; j < 3; j++) {
      const k = Math.floor(naive.next() * 3);
      [p[j], p[k]] = [p[k], p[j]];
    }
    d[permutationIndex(p)]++;
  }
  assert.ok(chiSquareTest(d, new Array(6).fill(1 / 6)).pValue < ALPHA);
});

discrete('a permutation of 10 holds each element once; each element lands anywhere uniformly', () => {
  const r = rng(13);
  const n = 20000;
  const position0 = new Float64Array(10); // where element 0 ends up
  for (let i = 0; i < n; i++) {
    const p = r.permutation(10).data;
    assert.equal([...p].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    position0[p.indexOf(0)]++;
  }
  assert.ok(chiSquareTest(position0, new Array(10).fill(0.1)).pValue > ALPHA);
  assert.equal(r.permutation(0).shape, [0]);
  assert.equal(r.permutation(1).toArray(), [0]);
});

discrete.run();

// ---------------------------------------------------------------- shapes and errors

const errors = suite('random: shapes and errors');

errors('samplers return tensors of the requested shape', () => {
  const r = rng(0);
  assert.equal(r.uniform([2, 3]).shape, [2, 3]);
  assert.equal(r.normal([]).shape, []);
  assert.is(r.normal([]).size, 1);
  assert.equal(r.gumbel([0, 4]).shape, [0, 4]);
  assert.equal(r.integers([3, 1], 0, 2).shape, [3, 1]);
});

errors('bad arguments throw RangeError naming the sampler and the value', () => {
  const r = rng(0);
  const cases: [() => unknown, RegExp][] = [
    [() => r.uniform([2, -1]), /^uniform: invalid shape \[2,-1\]/],
    [() => r.normal([1.5]), /^normal: invalid shape \[1\.5\]/],
    [() => r.exponential([2], 0), /^exponential: rate must be positive and finite, got 0/],
    [() => r.exponential([2], Infinity), /^exponential: rate/],
    [() => r.integers([2], 3, 3), /^integers: need integers low < high, got 3 and 3/],
    [() => r.integers([2], 0, 2.5), /^integers:/],
    [() => r.permutation(-1), /^permutation: n must be a non-negative integer, got -1/],
    [() => r.fork(1.5), /^fork: n must be a non-negative integer, got 1\.5/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => e instanceof RangeError && re.test(e.message), String(re));
});

errors.run();
