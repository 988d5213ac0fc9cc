// Tests of lib/gumbel.ts: the samplers' laws, the conditionals z̃ | b that
// REBAR and RELAX need, their gradients, and their finiteness at extremes.
//
// Every statistical check runs at α = 1e-3 (Holm-corrected where one check
// covers several coordinates), so each "the correct sampler passes"
// assertion has a false-positive rate of at most 1e-3 over seeds; there are
// 15 of them, so the whole file fails by chance with probability ≤ 1.5 %.
// The seeds are fixed, so the outcome is deterministic. Each check is also
// run on a deliberately wrong variant (flipped sign, shifted truncation
// bound, missing θ_k, log1p error, …) and must reject it: that is its power.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rng, tensor, scalar, Tensor, grad, valueAndGrad, broadcastTo, sum, mul, add, sub, abs, maximum, where, softplus, exp, log, log1p, neg, logSoftmax, stopGradient, oneHot, argmax, chiSquareTest, ksTest, ksTwoSample, holm } from '../../index.ts';
import { gumbelMax, gumbelTopK, truncatedGumbel, exponentialRace, conditionalLogistic, conditionalGumbel } from '../../index.ts';
import { conditionalGumbelUnchecked } from '../../lib/gumbel.ts';
import { logKernel } from '../../autodiff/ops/kernels.ts';

const ALPHA = 1e-3;

// ---------------------------------------------------------------- helpers

function counts(indices: Float64Array, cells: number): number[] {
  const c = new Array<number>(cells).fill(0);
  for (const i of indices) c[i]++;
  return c;
}

function softmaxOf(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const gumbelCdf = (loc: number) => (x: number) => Math.exp(-Math.exp(-(x - loc)));

/** Column j of a row-major [rows, cols] array. */
function column(data: Float64Array, cols: number, j: number): Float64Array {
  const out = new Float64Array(data.length / cols);
  for (let i = 0; i < out.length; i++) out[i] = data[i * cols + j];
  return out;
}

function rowMax(data: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(data.length / cols);
  for (let i = 0; i < out.length; i++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, data[i * cols + j]);
    out[i] = m;
  }
  return out;
}

function rowMin(data: Float64Array, cols: number): Float64Array {
  return rowMax(data.map((x) => -x), cols).map((x) => -x);
}

/**
 * Do two [n, cols] samples have different laws? Two-sample KS on every
 * column and on the row maximum, Holm-corrected at ALPHA.
 */
function lawsDiffer(a: Float64Array, b: Float64Array, cols: number): boolean {
  const p: number[] = [];
  for (let j = 0; j < cols; j++) p.push(ksTwoSample(column(a, cols, j), column(b, cols, j)).pValue);
  p.push(ksTwoSample(rowMax(a, cols), rowMax(b, cols)).pValue);
  return holm(p, ALPHA).some((r) => r);
}

/** Signs of z̃ agree with b everywhere (Bernoulli: b = [z̃ > 0]). */
function signsMatch(z: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < z.length; i++) if (!(z[i] > 0 === (b[i] === 1))) return false;
  return true;
}

/** argmax of every row of z̃ is the hot class of b (categorical: b = onehot(argmax z̃)). */
function argmaxMatches(z: Float64Array, b: Float64Array, cols: number): boolean {
  for (let i = 0; i < z.length / cols; i++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (z[i * cols + j] > z[i * cols + best] || Number.isNaN(z[i * cols + j])) best = j;
    if (b[i * cols + best] !== 1 || Number.isNaN(z[i * cols + best])) return false;
    for (let j = 0; j < cols; j++) if (j !== best && !(z[i * cols + j] < z[i * cols + best])) return false; // strict
  }
  return true;
}

function allFinite(x: Float64Array): boolean {
  for (const v of x) if (!Number.isFinite(v)) return false;
  return true;
}

/**
 * Largest |autodiff − central difference| relative to 1 + |autodiff|, over
 * the coordinates of a vector argument. f maps a [D] tensor to a scalar.
 * Central differences with h = 1e-5 have truncation error h²/6·|f'''| ≈ 1e-11
 * per unit of f''' and rounding error ≈ ε|f|/h ≈ 1e-11·|f|; with |f|, |f'''|
 * below 1e3 here, a tolerance of 1e-6 leaves a margin of over 100.
 */
function fdError(f: (x: Tensor) => Tensor, x: Tensor, g: Tensor): number {
  const h = 1e-5;
  let worst = 0;
  for (let j = 0; j < x.size; j++) {
    const plus = Float64Array.from(x.data);
    const minus = Float64Array.from(x.data);
    plus[j] += h;
    minus[j] -= h;
    const fd = (f(new Tensor(plus, x.shape)).item() - f(new Tensor(minus, x.shape)).item()) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - g.data[j]) / (1 + Math.abs(g.data[j])));
  }
  return worst;
}
const FD_TOL = 1e-6;

// ---------------------------------------------------------------- Gumbel-max

const max = suite('gumbel: Gumbel-max');

max('outcome frequencies match softmax (chi-square), and a flipped sign is rejected', () => {
  const logits = [1.2, 0.3, -0.5, -2, 0.8];
  const n = 100_000; // smallest cell expects ≈ 2 000 draws
  const probs = softmaxOf(logits);
  const { index, sample, perturbed } = gumbelMax(tensor(logits), rng(101), n);
  assert.equal(index.shape, [n]);
  assert.equal(sample.shape, [n, 5]);
  assert.equal(perturbed.shape, [n, 5]);
  assert.ok(chiSquareTest(counts(index.data, 5), probs).pValue > ALPHA);
  // Wrong: argmax(logits − G).
  const g = rng(102).gumbel([n, 5]);
  const flipped = argmax(add(tensor(logits), neg(g)), -1);
  assert.ok(chiSquareTest(counts(flipped.data, 5), probs).pValue < ALPHA);
});

max('the one-hot sample is the argmax; given noise, the result is argmax(logits + G)', () => {
  const logits = tensor([[0.1, 2, -1], [3, 0, 0]]); // a product of two categoricals
  const g = rng(103).gumbel([7, 2, 3]);
  const { index, sample } = gumbelMax(logits, g);
  assert.equal(index.shape, [7, 2]);
  assert.equal(index.toArray(), argmax(add(logits, g), -1).toArray());
  assert.equal(sample.toArray(), oneHot(index, 3).toArray());
});

max('max of z = logSoftmax(logits) + G is a standard Gumbel (KS); unnormalized logits are rejected', () => {
  const logits = [1.2, 0.3, -0.5, -2, 0.8];
  const n = 50_000;
  const { perturbed } = gumbelMax(tensor(logits), rng(104), n);
  assert.ok(ksTest(rowMax(perturbed.data, 5), gumbelCdf(0)).pValue > ALPHA);
  // Wrong: z = logits + G, whose max sits at logsumexp(logits) ≈ 2.0.
  const wrong = add(tensor(logits), rng(105).gumbel([n, 5]));
  assert.ok(ksTest(rowMax(wrong.data, 5), gumbelCdf(0)).pValue < ALPHA);
});

max('perturbed logits are differentiable: d Σ_k z_k / d logits_j = n·(1 − K θ_j) for n samples', () => {
  const logits = [0.3, -1, 2, 0];
  const g = rng(106).gumbel([3, 4]);
  const d = grad((l: Tensor) => sum(gumbelMax(l, g).perturbed))(tensor(logits));
  const th = softmaxOf(logits);
  for (let j = 0; j < 4; j++) assert.ok(Math.abs(d.data[j] - 3 * (1 - 4 * th[j])) < 1e-12);
});

max.run();

// ---------------------------------------------------------------- Gumbel-top-k

/** Exact probabilities of every ordered k-tuple of distinct classes under sequential sampling without replacement. */
function sequentialProbabilities(theta: number[], k: number): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (prefix: number[], p: number, left: number) => {
    if (prefix.length === k) {
      out.set(prefix.join(','), p);
      return;
    }
    for (let i = 0; i < theta.length; i++) {
      if (prefix.includes(i)) continue;
      walk([...prefix, i], (p * theta[i]) / left, left - theta[i]);
    }
  };
  walk([], 1, 1);
  return out;
}

function tupleCounts(indices: Float64Array, k: number, keys: string[], sorted: boolean): number[] {
  const at = new Map(keys.map((key, i) => [key, i]));
  const c = new Array<number>(keys.length).fill(0);
  for (let i = 0; i < indices.length / k; i++) {
    const t = Array.from(indices.subarray(i * k, (i + 1) * k));
    if (sorted) t.sort((a, b) => a - b);
    const cell = at.get(t.join(','));
    if (cell === undefined) throw new Error(`gumbelTopK produced an impossible tuple ${t}`);
    c[cell]++;
  }
  return c;
}

const topk = suite('gumbel: Gumbel-top-k');
const topLogits = [0.9, 0.2, -0.4, 0.5, -1.1];
const K = 3;
const theta = softmaxOf(topLogits);
const ordered = sequentialProbabilities(theta, K); // 60 ordered triples; the least likely has p ≈ 1.3e-3
const unordered = new Map<string, number>();
for (const [key, p] of ordered) {
  const s = key.split(',').map(Number).sort((a, b) => a - b).join(',');
  unordered.set(s, (unordered.get(s) ?? 0) + p);
}
const topN = 100_000; // the rarest ordered triple expects ≈ 130 draws

topk('exact probabilities by enumeration sum to 1', () => {
  let s = 0;
  for (const p of ordered.values()) s += p;
  assert.ok(Math.abs(s - 1) < 1e-12);
  assert.is(unordered.size, 10);
});

topk('ordered and unordered outcomes match sequential sampling (chi-square); reversed order and a flipped sign are rejected', () => {
  const { indices, mask } = gumbelTopK(tensor(topLogits), K, rng(201), topN);
  assert.equal(indices.shape, [topN, K]);
  assert.equal(mask.shape, [topN, 5]);
  const oKeys = [...ordered.keys()];
  const uKeys = [...unordered.keys()];
  const oCounts = tupleCounts(indices.data, K, oKeys, false);
  const uCounts = tupleCounts(indices.data, K, uKeys, true);
  assert.ok(chiSquareTest(oCounts, oKeys.map((k) => ordered.get(k)!)).pValue > ALPHA);
  assert.ok(chiSquareTest(uCounts, uKeys.map((k) => unordered.get(k)!)).pValue > ALPHA);
  // Wrong: the same k items in increasing order of perturbed logits.
  const reversed = new Float64Array(indices.data.length);
  for (let i = 0; i < topN; i++) for (let r = 0; r < K; r++) reversed[i * K + r] = indices.data[i * K + K - 1 - r];
  assert.ok(chiSquareTest(tupleCounts(reversed, K, oKeys, false), oKeys.map((k) => ordered.get(k)!)).pValue < ALPHA);
  // Wrong: top k of logits − G.
  const g = rng(202).gumbel([topN, 5]);
  const flipped = gumbelTopK(tensor(topLogits), K, neg(g)).indices;
  assert.ok(chiSquareTest(tupleCounts(flipped.data, K, uKeys, true), uKeys.map((k) => unordered.get(k)!)).pValue < ALPHA);
});

topk('indices are in decreasing order of the perturbed logits and agree with the k-hot mask; k = 1 is Gumbel-max', () => {
  const g = rng(203).gumbel([50, 2, 5]);
  const logits = tensor([topLogits, [0, 0, 1, 0, -3]]);
  const { indices, mask, perturbed } = gumbelTopK(logits, K, g);
  assert.equal(indices.shape, [50, 2, K]);
  for (let lane = 0; lane < 100; lane++) {
    const z = perturbed.data.subarray(lane * 5, lane * 5 + 5);
    const top = Array.from(indices.data.subarray(lane * K, lane * K + K));
    const rest = [0, 1, 2, 3, 4].filter((j) => !top.includes(j));
    for (let r = 1; r < K; r++) assert.ok(z[top[r - 1]] > z[top[r]]);
    for (const j of rest) assert.ok(z[j] < z[top[K - 1]]);
    for (let j = 0; j < 5; j++) assert.is(mask.data[lane * 5 + j], top.includes(j) ? 1 : 0);
  }
  assert.equal(gumbelTopK(logits, 1, g).indices.data, gumbelMax(logits, g).index.data);
});

topk.run();

// ---------------------------------------------------------------- exponential races

const race = suite('gumbel: exponential race');
const rates = [0.5, 1.0, 2.5, 0.2];
const total = rates.reduce((a, b) => a + b, 0);
const expCdf = (rate: number) => (x: number) => (x <= 0 ? 0 : -Math.expm1(-rate * x));

/** Is the min's law, conditional on each argmin, Exp(total)? KS per class, Holm at ALPHA. True if rejected. */
function dependenceDetected(argmin: Float64Array, mins: Float64Array): boolean {
  const p = rates.map((_, k) => ksTest(mins.filter((_, i) => argmin[i] === k), expCdf(total)).pValue);
  return holm(p, ALPHA).some((r) => r);
}

race('argmin ∼ Cat(λ/Σλ) (chi-square), min ∼ Exp(Σλ) (KS); argmax and E·λ are rejected', () => {
  const n = 100_000;
  const { argmin, min, times } = exponentialRace(tensor(rates), rng(301), n);
  assert.equal(argmin.shape, [n]);
  assert.equal(min.shape, [n]);
  assert.equal(times.shape, [n, 4]);
  const probs = rates.map((r) => r / total);
  assert.ok(chiSquareTest(counts(argmin.data, 4), probs).pValue > ALPHA);
  assert.ok(ksTest(min.data, expCdf(total)).pValue > ALPHA);
  // Wrong: the last clock instead of the first.
  assert.ok(chiSquareTest(counts(argmax(times, -1).data, 4), probs).pValue < ALPHA);
  // Wrong: times E·λ instead of E/λ (rate and scale confused).
  const e = rng(302).exponential([n, 4]);
  const scaled = mul(e, tensor(rates));
  assert.ok(ksTest(rowMin(scaled.data, 4), expCdf(total)).pValue < ALPHA);
});

race('the min is independent of the argmin (KS of the min given each argmin); a comonotone coupling is rejected', () => {
  const n = 100_000; // the rarest class (λ = 0.2) wins ≈ 4 800 times
  const { argmin, min } = exponentialRace(tensor(rates), rng(303), n);
  assert.not.ok(dependenceDetected(argmin.data, min.data));
  // Wrong: both marginals exact, but the smallest mins go to the lowest classes.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => argmin.data[a] - argmin.data[b]);
  const sortedMins = Float64Array.from(min.data).sort();
  const coupled = new Float64Array(n);
  order.forEach((i, r) => (coupled[i] = sortedMins[r]));
  assert.ok(dependenceDetected(argmin.data, coupled));
});

race('with λ = exp(logits − max) the race is Gumbel-max on the same noise', () => {
  const logits = [3, -1, 0.5, 2];
  const m = Math.max(...logits);
  const e = rng(304).exponential([200, 4]);
  const raced = exponentialRace(tensor(logits.map((x) => Math.exp(x - m))), e).argmin;
  const maxed = gumbelMax(tensor(logits), neg(log(e))).index;
  assert.equal(raced.data, maxed.data);
});

race('the min is differentiable in the rates: d min / d λ_k = −T_k/λ_k at the winner, 0 elsewhere', () => {
  const e = rng(305).exponential([1, 4]);
  const r = tensor(rates);
  const { argmin, times } = exponentialRace(r, e);
  const d = grad((x: Tensor) => sum(exponentialRace(x, e).min))(r);
  const w = argmin.data[0];
  for (let k = 0; k < 4; k++) {
    const expected = k === w ? -times.data[k] / rates[k] : 0;
    assert.ok(Math.abs(d.data[k] - expected) < 1e-12);
  }
});

race.run();

// ---------------------------------------------------------------- truncated Gumbel

const trunc = suite('gumbel: truncated Gumbel');

const truncCdf = (loc: number, bound: number) => (x: number) =>
  x >= bound ? 1 : Math.exp(Math.exp(-(bound - loc)) - Math.exp(-(x - loc)));

/** The textbook formula with knobs for the classic mistakes. Plain loops. */
function truncatedVariant(loc: number, bound: number, u: Float64Array, mistake: 'boundShift' | 'locSign' | 'clipped'): Float64Array {
  const out = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const e = -Math.log(u[i]);
    if (mistake === 'boundShift') out[i] = -Math.log(Math.exp(-(bound + 0.25)) + Math.exp(-loc) * e);
    if (mistake === 'locSign') out[i] = -Math.log(Math.exp(-bound) + Math.exp(loc) * e);
    if (mistake === 'clipped') out[i] = Math.min(loc - Math.log(e), bound); // an untruncated Gumbel, clipped
  }
  return out;
}

const truncCases: [number, number][] = [
  [0.7, 0.2], // bound below the location: strong truncation
  [-1, 2], // mild truncation
  [3, -2], // the bound far in the lower tail
];

trunc('never exceeds the bound; the CDF matches exp(−e^−(x−μ)) / exp(−e^−(β−μ)) (KS); classic mistakes are rejected', () => {
  const n = 50_000;
  truncCases.forEach(([loc, bound], c) => {
    const u = rng(401 + c).uniform([n]);
    const x = truncatedGumbel(loc, bound, u);
    for (const v of x.data) assert.ok(v <= bound);
    assert.ok(ksTest(x.data, truncCdf(loc, bound)).pValue > ALPHA, `(${loc}, ${bound})`);
    for (const mistake of ['boundShift', 'locSign', 'clipped'] as const) {
      if (mistake === 'locSign' && loc === 0) continue;
      const wrong = truncatedVariant(loc, bound, u.data, mistake);
      assert.ok(ksTest(wrong, truncCdf(loc, bound)).pValue < ALPHA, `${mistake} at (${loc}, ${bound})`);
    }
  });
  // The bound check itself rejects an untruncated Gumbel.
  const plain = rng(404).gumbel([1000]).data.map((g) => g + 0.7);
  assert.ok(plain.some((v) => v > 0.2));
});

trunc('broadcasts a batch of locations and bounds against [n, ...] uniforms', () => {
  const loc = tensor([0, 1, -2]);
  const bound = tensor([[0.5], [3]]);
  const x = truncatedGumbel(loc, bound, rng(405).uniform([4, 2, 3]));
  assert.equal(x.shape, [4, 2, 3]);
  for (let i = 0; i < x.size; i++) assert.ok(x.data[i] <= (Math.floor(i / 3) % 2 === 0 ? 0.5 : 3));
});

trunc('finite and below the bound for |loc|, |bound| up to 800 and u at the ends of (0, 1); the naive formula overflows', () => {
  const ends = [2 ** -54, 1e-10, 0.5, 1 - 2 ** -53];
  const values = [-800, -50, 0, 50, 800];
  const locs: number[] = [];
  const bounds: number[] = [];
  const us: number[] = [];
  for (const l of values) for (const b of values) for (const u of ends) {
    locs.push(l);
    bounds.push(b);
    us.push(u);
  }
  const loc = tensor(locs);
  const bound = tensor(bounds);
  const u = tensor(us);
  const x = truncatedGumbel(loc, bound, u);
  assert.ok(allFinite(x.data));
  for (let i = 0; i < x.size; i++) assert.ok(x.data[i] <= bounds[i]);
  const [dLoc, dBound] = grad((a: Tensor, b: Tensor) => sum(truncatedGumbel(a, b, u)), { argnums: [0, 1] })(loc, bound);
  assert.ok(allFinite(dLoc.data) && allFinite(dBound.data));
  const naive = us.map((v, i) => -Math.log(Math.exp(-bounds[i]) + Math.exp(-locs[i]) * -Math.log(v)));
  assert.ok(naive.some((v) => !Number.isFinite(v)));
});

trunc('gradients: autodiff matches central differences and the closed form ∂x/∂β = w, ∂x/∂μ = 1 − w', () => {
  const u = rng(406).uniform([6]);
  const loc = tensor([0.3, -1, 2, 0, 5, -4]);
  const bound = tensor([1, 0, 2.5, -3, 4, 6]);
  const f = (a: Tensor, b: Tensor) => sum(truncatedGumbel(a, b, u));
  const [dLoc, dBound] = grad(f, { argnums: [0, 1] })(loc, bound);
  assert.ok(fdError((a) => f(a, bound), loc, dLoc) < FD_TOL);
  assert.ok(fdError((b) => f(loc, b), bound, dBound) < FD_TOL);
  for (let i = 0; i < 6; i++) {
    const a = Math.exp(-bound.data[i]);
    const w = a / (a + Math.exp(-loc.data[i]) * -Math.log(u.data[i]));
    assert.ok(Math.abs(dBound.data[i] - w) < 1e-12);
    assert.ok(Math.abs(dLoc.data[i] - (1 - w)) < 1e-12);
  }
  // The check has power: a gradient with the bound's path cut disagrees with the differences.
  const cut = (a: Tensor, b: Tensor) => sum(truncatedGumbel(a, stopGradient(b), u));
  const dCut = grad(cut, { argnums: 1 })(loc, bound);
  assert.ok(fdError((b) => cut(loc, b), bound, dCut) > FD_TOL);
});

trunc.run();

// ---------------------------------------------------------------- conditional logistic (Bernoulli)

const bern = suite('gumbel: conditionalLogistic');

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The textbook v' construction, naively, with knobs for the classic mistakes. */
function logisticVariant(l: readonly number[], b: Float64Array, v: Float64Array, mistake: 'none' | 'log1p' | 'sign' | 'boundShift'): Float64Array {
  const D = l.length;
  const out = new Float64Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const logit = l[i % D];
    const shift = mistake === 'boundShift' ? (b[i] === 1 ? -0.5 : 0.5) : 0; // truncation point moved inward
    const th = sigmoid(logit + shift);
    const vp = b[i] === 1 ? 1 - th + v[i] * th : v[i] * (1 - th);
    if (mistake === 'log1p') out[i] = logit + Math.log(vp) - Math.log1p(vp); // log1p(v') for log(1 − v')
    else if (mistake === 'sign') out[i] = logit - Math.log(vp) + Math.log(1 - vp);
    else out[i] = logit + Math.log(vp) - Math.log(1 - vp);
  }
  return out;
}

function randomBits(seed: number, shape: number[]): Tensor {
  return rng(seed).integers(shape, 0, 2);
}

bern('agrees with the textbook formula l + log v\' − log(1 − v\') at moderate logits', () => {
  const l = [-2, -0.3, 0, 0.8, 3];
  const b = randomBits(501, [200, 5]);
  const v = rng(502).uniform([200, 5]);
  const z = conditionalLogistic(tensor(l), b, v).data;
  const ref = logisticVariant(l, b.data, v.data, 'none');
  for (let i = 0; i < z.length; i++) assert.ok(Math.abs(z[i] - ref[i]) < 1e-9 * (1 + Math.abs(ref[i])));
});

bern('every z̃ | b maps back to b, for any b and logits from −50 to 50; log1p and sign mistakes are rejected', () => {
  const l = [-50, -30, -3, -0.2, 0, 0.2, 3, 30, 50];
  const n = 2000;
  const b = randomBits(503, [n, l.length]);
  const v = rng(504).uniform([n, l.length]);
  const z = conditionalLogistic(tensor(l), b, v);
  assert.ok(signsMatch(z.data, b.data));
  assert.not.ok(signsMatch(logisticVariant(l, b.data, v.data, 'log1p'), b.data));
  assert.not.ok(signsMatch(logisticVariant(l, b.data, v.data, 'sign'), b.data));
});

bern('drawing b, then z̃ | b, reproduces the law of z (two-sample KS per coordinate and on max z); a shifted truncation point is rejected', () => {
  const l = [-2.5, -0.4, 0, 0.7, 3];
  const D = l.length;
  const n = 40_000;
  const direct = add(tensor(l), rng(505).logistic([n, D])).data;
  // b from an independent draw, so the two samples are independent.
  const zb = add(tensor(l), rng(506).logistic([n, D]));
  const b = new Tensor(zb.data.map((x) => (x > 0 ? 1 : 0)), [n, D]);
  const v = rng(507).uniform([n, D]);
  const z = conditionalLogistic(tensor(l), b, v);
  assert.ok(signsMatch(z.data, b.data));
  assert.not.ok(lawsDiffer(direct, z.data, D));
  const shifted = logisticVariant(l, b.data, v.data, 'boundShift');
  assert.ok(signsMatch(shifted, b.data)); // the mistake is invisible to H(z̃) = b …
  assert.ok(lawsDiffer(direct, shifted, D)); // … but not to the law
});

bern('gradient in logits: autodiff matches central differences and the closed forms σ(l + log v), σ(log(1 − v) − l)', () => {
  const l = tensor([-3, -0.5, 0, 1.5, 4]);
  const b = randomBits(508, [64, 5]);
  const v = rng(509).uniform([64, 5]);
  const c = rng(510).normal([64, 5]);
  const f = (x: Tensor) => sum(mul(c, conditionalLogistic(x, b, v)));
  const d = grad(f)(l);
  assert.ok(fdError(f, l, d) < FD_TOL);
  const expected = new Float64Array(5);
  for (let i = 0; i < 64 * 5; i++) {
    const j = i % 5;
    const s = b.data[i] === 1 ? sigmoid(l.data[j] + Math.log(v.data[i])) : sigmoid(Math.log1p(-v.data[i]) - l.data[j]);
    expected[j] += c.data[i] * s;
  }
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(d.data[j] - expected[j]) < 1e-10 * (1 + Math.abs(expected[j])));
  // The check has power: the b = 1 branch with logits cut from the graph.
  const cut = (x: Tensor) => {
    const logV = log(v);
    const above = add(softplus(add(stopGradient(x), logV)), neg(log1p(neg(v))));
    return sum(mul(c, where(b, above, conditionalLogistic(x, b, v))));
  };
  assert.ok(fdError(cut, l, grad(cut)(l)) > FD_TOL);
});

bern('finite values and gradients at logits ±30, ±50 and v at the ends of (0, 1); the naive formula is not finite', () => {
  const l = [-50, -30, 30, 50];
  const ends = [1e-300, 2 ** -54, 1e-10, 0.5, 1 - 1e-10, 1 - 2 ** -53];
  const rows = ends.length * 2;
  const bData = new Float64Array(rows * 4);
  const vData = new Float64Array(rows * 4);
  for (let r = 0; r < rows; r++) for (let j = 0; j < 4; j++) {
    bData[r * 4 + j] = r % 2;
    vData[r * 4 + j] = ends[Math.floor(r / 2)];
  }
  const b = new Tensor(bData, [rows, 4]);
  const v = new Tensor(vData, [rows, 4]);
  const z = conditionalLogistic(tensor(l), b, v);
  assert.ok(allFinite(z.data));
  assert.ok(signsMatch(z.data, bData));
  assert.ok(allFinite(grad((x: Tensor) => sum(conditionalLogistic(x, b, v)))(tensor(l)).data));
  assert.not.ok(allFinite(logisticVariant(l, bData, vData, 'none')));
});

bern('b and v of one shape (one expression, constants in a loop) and broadcast against each other (both branches and where) agree: values exactly, first and second derivatives to rounding', () => {
  const l = tensor([-3, -0.5, 0, 1.5, 4]);
  const b = randomBits(511, [16, 5]);
  const v = rng(512).uniform([16, 5]);
  const vWide = new Tensor(v.data, [1, 16, 5]); // another shape than b: the general path
  const c = rng(513).normal([16, 5]);
  const equalShapes = (x: Tensor) => conditionalLogistic(x, b, v);
  const broadcast = (x: Tensor) => conditionalLogistic(x, b, vWide);
  assert.equal(Array.from(equalShapes(l).data), Array.from(broadcast(l).data));
  const first = (g: (x: Tensor) => Tensor) => grad((x: Tensor) => sum(mul(c, g(x))));
  const second = (g: (x: Tensor) => Tensor) => grad((x: Tensor) => sum(mul(first(g)(x), l)));
  for (const [what, d] of [['first', first], ['second', second]] as const) {
    const a = d(equalShapes)(l).data;
    const w = d(broadcast)(l).data;
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(a[j] - w[j]) <= 1e-14 * (1 + Math.abs(w[j])), `${what} derivative ${j}: ${a[j]} against ${w[j]}`);
  }
});

bern('with b and v of one shape, z̃ (one op) equals s·softplus(s·l + a) + c written as separate ops bit for bit: values, first derivatives (one pass and recorded) and second derivatives; third derivatives to rounding', () => {
  // The separate ops of the same expression, with s, a, c as constants.
  const separate = (x: Tensor, b: Tensor, v: Tensor) => {
    const s = new Tensor(b.data.map((bit) => (bit !== 0 ? 1 : -1)), b.shape);
    const a = new Tensor(b.data.map((bit, i) => (bit !== 0 ? logKernel(v.data[i]) : Math.log1p(-v.data[i]))), b.shape);
    const c = new Tensor(b.data.map((bit, i) => (bit !== 0 ? -Math.log1p(-v.data[i]) : logKernel(v.data[i]))), b.shape);
    return add(mul(s, softplus(add(mul(s, x), a))), c);
  };
  const b = randomBits(514, [16, 5]);
  const v = rng(515).uniform([16, 5]);
  const c = rng(516).normal([16, 5]);
  // logits that repeat along b (a period of 5, or of 1), of b's own shape, and [16, 1] spread out to b's shape.
  const logitsCases = [tensor([-40, -0.5, 0, 1.5, 40]), tensor([0.3]), rng(517).normal([16, 5]), rng(518).normal([16, 1])];
  for (const l of logitsCases) {
    const what = `logits [${l.shape.join(', ')}]`;
    assert.equal(Array.from(conditionalLogistic(l, b, v).data), Array.from(separate(l, b, v).data), `${what}: values`);
    const loss = (g: typeof separate) => (x: Tensor) => sum(mul(c, g(x, b, v)));
    const fused = loss((x, bb, vv) => conditionalLogistic(x, bb, vv));
    const reference = grad(loss(separate))(l).data;
    assert.equal(Array.from(grad(fused)(l).data), Array.from(reference), `${what}: first derivative, one pass`);
    let recorded: Tensor | undefined; // the same gradient taken while an outer transform records
    valueAndGrad((y: Tensor) => {
      recorded = grad(fused)(l);
      return sum(y);
    })(scalar(0));
    assert.equal(Array.from((recorded as Tensor).data), Array.from(reference), `${what}: first derivative, recorded`);
    const second = (g: (x: Tensor) => Tensor) => grad((x: Tensor) => sum(mul(grad(g)(x), x)))(l).data;
    assert.equal(Array.from(second(fused)), Array.from(second(loss(separate))), `${what}: second derivative`);
    // Third order: the recorded backward pass's σ(u) is an op whose own VJP is written with σ(u).
    const w = rng(519).normal(l.shape);
    const third = (g: (x: Tensor) => Tensor) => grad((x: Tensor) => sum(mul(grad((y: Tensor) => sum(mul(grad(g)(y), y)))(x), w)))(l).data;
    const t1 = third(fused);
    const t2 = third(loss(separate));
    for (let i = 0; i < t2.length; i++) assert.ok(Math.abs(t1[i] - t2[i]) <= 1e-12 * (1 + Math.abs(t2[i])), `${what}: third derivative ${i}: ${t1[i]} against ${t2[i]}`);
  }
});

bern.run();

// ---------------------------------------------------------------- conditional Gumbel (categorical)

const cat = suite('gumbel: conditionalGumbel');

/** The textbook formula over [n, K] rows, naively, with knobs for the classic mistakes. */
function gumbelVariant(logits: readonly number[], b: Float64Array, v: Float64Array, mistake: 'none' | 'sign' | 'noTheta' | 'boundUp' | 'boundDown' | 'maxAtLogTheta'): Float64Array {
  const Kc = logits.length;
  const th = softmaxOf(logits);
  const out = new Float64Array(b.length);
  for (let i = 0; i < b.length / Kc; i++) {
    let hot = 0;
    for (let k = 0; k < Kc; k++) if (b[i * Kc + k] === 1) hot = k;
    let top = -Math.log(-Math.log(v[i * Kc + hot]));
    if (mistake === 'maxAtLogTheta') top += Math.log(th[hot]);
    const bound = top + (mistake === 'boundUp' ? 0.5 : mistake === 'boundDown' ? -0.3 : 0);
    for (let k = 0; k < Kc; k++) {
      const e = -Math.log(v[i * Kc + k]);
      if (k === hot) out[i * Kc + k] = top;
      else if (mistake === 'sign') out[i * Kc + k] = -Math.log(Math.exp(-bound) - e / th[k]);
      else if (mistake === 'noTheta') out[i * Kc + k] = -Math.log(Math.exp(-bound) + e);
      else out[i * Kc + k] = -Math.log(Math.exp(-bound) + e / th[k]);
    }
  }
  return out;
}

function randomOneHot(seed: number, shape: number[], depth: number): Tensor {
  return oneHot(rng(seed).integers(shape, 0, depth), depth);
}

cat('agrees with the textbook formula −log(−log v_b − log v_k / θ_k) at moderate logits', () => {
  const l = [1, -0.5, 0.3, -1.7];
  const b = randomOneHot(601, [200], 4);
  const v = rng(602).uniform([200, 4]);
  const z = conditionalGumbel(tensor(l), b, v).data;
  const ref = gumbelVariant(l, b.data, v.data, 'none');
  for (let i = 0; i < z.length; i++) assert.ok(Math.abs(z[i] - ref[i]) < 1e-9 * (1 + Math.abs(ref[i])));
});

cat('every z̃ | b has its argmax at b, for any b and logits up to ±50; sign and bound mistakes are rejected', () => {
  const l = [50, -50, 0, 3, -30];
  const n = 4000;
  const b = randomOneHot(603, [n], 5);
  const v = rng(604).uniform([n, 5]);
  const z = conditionalGumbel(tensor(l), b, v);
  assert.ok(argmaxMatches(z.data, b.data, 5));
  const moderate = [1, -0.5, 0.3, -1.7, 0];
  assert.ok(argmaxMatches(conditionalGumbel(tensor(moderate), b, v).data, b.data, 5));
  assert.not.ok(argmaxMatches(gumbelVariant(moderate, b.data, v.data, 'sign'), b.data, 5));
  assert.not.ok(argmaxMatches(gumbelVariant(moderate, b.data, v.data, 'boundUp'), b.data, 5));
});

cat('drawing b, then z̃ | b, reproduces the law of z (two-sample KS per coordinate and on max z); missing θ_k, a lowered bound and a shifted max are rejected', () => {
  const l = [1, -0.5, 0.3, -1.7];
  const n = 40_000;
  const logTheta = logSoftmax(tensor(l));
  const direct = add(logTheta, rng(605).gumbel([n, 4])).data;
  const b = gumbelMax(tensor(l), rng(606), n).sample; // independent of `direct`
  const v = rng(607).uniform([n, 4]);
  const z = conditionalGumbel(tensor(l), b, v);
  assert.ok(argmaxMatches(z.data, b.data, 4));
  assert.not.ok(lawsDiffer(direct, z.data, 4));
  assert.ok(ksTest(rowMax(z.data, 4), gumbelCdf(0)).pValue > ALPHA); // the max is a standard Gumbel
  for (const mistake of ['noTheta', 'boundDown', 'maxAtLogTheta'] as const) {
    const wrong = gumbelVariant(l, b.data, v.data, mistake);
    assert.ok(argmaxMatches(wrong, b.data, 4), mistake); // invisible to H(z̃) = b …
    assert.ok(lawsDiffer(direct, wrong, 4), mistake); // … but not to the law
  }
});

cat('a product of categoricals: logits [D, K], samples [n, D, K], the law holds in every factor', () => {
  const l = [[0.5, -1, 0], [2, 0.1, -0.3]];
  const n = 20_000;
  const direct = add(logSoftmax(tensor(l)), rng(608).gumbel([n, 2, 3])).data;
  const b = gumbelMax(tensor(l), rng(609), n).sample;
  const v = rng(610).uniform([n, 2, 3]);
  const z = conditionalGumbel(tensor(l), b, v);
  assert.equal(z.shape, [n, 2, 3]);
  assert.ok(argmaxMatches(z.data, b.data, 3)); // rows of 3 are the (sample, factor) lanes
  // Seen as [n, 6]: all six coordinates, and the max over both factors; then each factor's own max.
  assert.not.ok(lawsDiffer(direct, z.data, 6));
  const p = [0, 1].map((d) => {
    const pick = (x: Float64Array) => rowMax(Float64Array.from({ length: n * 3 }, (_, i) => x[Math.floor(i / 3) * 6 + d * 3 + (i % 3)]), 3);
    return ksTwoSample(pick(direct), pick(z.data)).pValue;
  });
  assert.not.ok(holm(p, ALPHA).some((r) => r));
});

cat('gradient in logits: autodiff matches central differences; z̃_b does not depend on the logits', () => {
  const l = tensor([0.4, -1.2, 2, 0]);
  const b = randomOneHot(611, [64], 4);
  const v = rng(612).uniform([64, 4]);
  const c = rng(613).normal([64, 4]);
  const f = (x: Tensor) => sum(mul(c, conditionalGumbel(x, b, v)));
  assert.ok(fdError(f, l, grad(f)(l)) < FD_TOL);
  const onlyTop = (x: Tensor) => sum(mul(b, conditionalGumbel(x, b, v)));
  for (const g of grad(onlyTop)(l).data) assert.is(g, 0);
  // The check has power: the truncated coordinates with θ cut from the graph.
  const cut = (x: Tensor) => sum(mul(c, conditionalGumbel(stopGradient(x), b, v)));
  assert.ok(fdError(cut, l, grad(cut)(l)) > FD_TOL);
});

/** Rows of 4 classes with every class hot and v at the ends of (0, 1), on b's class and off it. */
function extremeRows(): { b: Tensor; v: Tensor } {
  const ends = [1e-300, 2 ** -54, 1e-10, 0.5, 1 - 1e-10, 1 - 2 ** -53];
  const rows: number[] = [];
  const vs: number[] = [];
  for (let hot = 0; hot < 4; hot++) for (const a of ends) for (const c of ends) {
    rows.push(hot);
    vs.push(...[0, 1, 2, 3].map((k) => (k === hot ? a : c)));
  }
  return { b: oneHot(rows, 4), v: tensor(vs, [rows.length, 4]) };
}

cat('finite values and gradients at logits ±50 and ±400 and v at the ends of (0, 1); the naive formula is not finite', () => {
  const { b, v } = extremeRows();
  for (const l of [[50, -50, 0, 30], [400, -400, 0, 30]]) {
    const z = conditionalGumbel(tensor(l), b, v);
    assert.ok(allFinite(z.data), `${l}`);
    assert.ok(allFinite(grad((x: Tensor) => sum(conditionalGumbel(x, b, v)))(tensor(l)).data), `${l}`);
  }
  // θ_k = e^−800 underflows to 0, and −log v_k / θ_k overflows: the naive formula gives −∞.
  assert.not.ok(allFinite(gumbelVariant([400, -400, 0, 30], b.data, v.data, 'none')));
});

cat('the unchecked core broadcasts a b with fewer axes than v, as it did with ops, instead of reading past its end', () => {
  const logTheta = logSoftmax(tensor([[0.2, -1, 0.5], [1, 0, -2]]));
  const b = tensor([[0, 1, 0], [1, 0, 0]]); // [2, 3]
  const v = rng(521).uniform([4, 2, 3]);
  const spread = new Tensor(Float64Array.from({ length: 24 }, (_, i) => b.data[i % 6]), [4, 2, 3]);
  const z = conditionalGumbelUnchecked(logTheta, b, v);
  assert.ok(allFinite(z.data));
  assert.equal(Array.from(z.data), Array.from(conditionalGumbelUnchecked(logTheta, spread, v).data));
});

cat('the unchecked core spreads a log θ of one element over the rows instead of reading past its end', () => {
  const b = tensor([[0, 1, 0], [1, 0, 0]]);
  const v = rng(522).uniform([2, 3]);
  const z = conditionalGumbelUnchecked(tensor([-0.5]), b, v);
  assert.ok(allFinite(z.data));
  assert.equal(Array.from(z.data), Array.from(conditionalGumbelUnchecked(tensor([-0.5, -0.5, -0.5]), b, v).data));
});

cat('logits with more or longer axes than b and v broadcast as the ops did: the joint shape, the values of b and v spread out to it', () => {
  const b = tensor([[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]]);
  const v = rng(618).uniform([4, 3]);
  const cases: [Tensor, Tensor, Tensor, number[]][] = [
    [rng(619).normal([5, 1, 3]), b, v, [5, 4, 3]],
    [tensor([[[0.1, 0.2, -0.3]]]), b, v, [1, 4, 3]],
    [tensor([[0.1, 0.2, -0.3], [1, 2, 3]]), tensor([0, 1, 0]), tensor([0.3, 0.5, 0.7]), [2, 3]],
  ];
  for (const [logits, bb, vv, shape] of cases) {
    const z = conditionalGumbel(logits, bb, vv);
    assert.equal(z.shape, shape);
    assert.equal(Array.from(z.data), Array.from(conditionalGumbel(logits, broadcastTo(bb, shape), broadcastTo(vv, shape)).data));
  }
});

/** E_b = −log v_b spread over each row of K. */
function rowFirsts(b: Tensor, v: Tensor): Float64Array {
  const K = v.shape[v.rank - 1];
  const first = new Float64Array(v.size);
  for (let row = 0; row < v.size; row += K) {
    let vb = 0;
    for (let k = 0; k < K; k++) vb += b.data[row + k] * v.data[row + k];
    first.fill(-logKernel(vb), row, row + K);
  }
  return first;
}

/** t = −log(−log v_b) spread over each row of K. */
function rowTops(b: Tensor, v: Tensor): Float64Array {
  return rowFirsts(b, v).map((e) => -logKernel(e));
}

/** z̃ in log space as ops: −logaddexp(−t, log(−log v_k) − log θ_k) off b, t at b. */
function logSpaceOps(logTheta: Tensor, b: Tensor, v: Tensor): Tensor {
  const top = new Tensor(rowTops(b, v), v.shape);
  const a = neg(top);
  const c = sub(new Tensor(v.data.map((x) => logKernel(-logKernel(x))), v.shape), logTheta);
  return where(b, top, neg(add(maximum(a, c), softplus(neg(abs(sub(a, c)))))));
}

cat('z̃ and its derivative agree with the log-space form to rounding, and z̃ is that form bit for bit where E_k/θ_k overflows', () => {
  const { b, v } = extremeRows();
  const rows = b.shape[0];
  const c = rng(743).normal([rows, 4]);
  let overflowed = 0;
  for (const l of [[1, -0.5, 0.3, -1.7], [50, -50, 0, 30], [400, -400, 0, 30]]) {
    // log θ spread over the rows, so each element has its own derivative.
    const logTheta = new Tensor(broadcastTo(logSoftmax(tensor(l)), [rows, 4]).data.slice(), [rows, 4]);
    const z = conditionalGumbelUnchecked(logTheta, b, v).data;
    const ref = logSpaceOps(logTheta, b, v).data;
    const slope = grad((x: Tensor) => sum(mul(c, conditionalGumbelUnchecked(x, b, v))))(logTheta).data;
    const refSlope = grad((x: Tensor) => sum(mul(c, logSpaceOps(x, b, v))))(logTheta).data;
    for (let i = 0; i < z.length; i++) {
      const late = -logKernel(v.data[i]) * Math.exp(-logTheta.data[i]);
      if (b.data[i] === 0 && !Number.isFinite(late)) {
        overflowed++;
        assert.is(z[i], ref[i], `${l}: element ${i}, E/θ overflows`);
      } else {
        assert.ok(Math.abs(z[i] - ref[i]) <= 4e-16 * Math.max(1, Math.abs(ref[i])), `${l}: element ${i}: ${z[i]} against ${ref[i]}`);
      }
      assert.ok(Math.abs(slope[i] - refSlope[i]) <= 1e-15 * (1 + Math.abs(refSlope[i])), `${l}: derivative ${i}: ${slope[i]} against ${refSlope[i]}`);
    }
  }
  assert.ok(overflowed > 0); // the log-space branch was taken
});

cat('z̃ (one op) equals its ops (E_b + E_k/θ_k, log, where) bit for bit; its first derivative is the same one pass and recorded, and agrees with theirs to rounding, first, second and third order', () => {
  // The ops of the same expression, with E = −log v and t = −log(−log v_b) as constants.
  const separate = (logTheta: Tensor, b: Tensor, v: Tensor) => {
    const top = rowTops(b, v);
    const first = new Tensor(rowFirsts(b, v), v.shape);
    const late = mul(new Tensor(v.data.map((x) => -logKernel(x)), v.shape), exp(neg(logTheta)));
    return where(b, new Tensor(top, v.shape), neg(log(add(first, late))));
  };
  const b = randomOneHot(614, [16], 5);
  const v = rng(615).uniform([16, 5]);
  const c = rng(616).normal([16, 5]);
  // log θ that repeats along v, and log θ of v's own shape (tiled).
  for (const logTheta of [logSoftmax(tensor([-3, -0.5, 0, 1.5, 4])), logSoftmax(rng(617).normal([16, 5]))]) {
    const what = `log θ [${logTheta.shape.join(', ')}]`;
    assert.equal(Array.from(conditionalGumbelUnchecked(logTheta, b, v).data), Array.from(separate(logTheta, b, v).data), `${what}: values`);
    const loss = (zOf: typeof separate) => (x: Tensor) => sum(mul(c, zOf(x, b, v)));
    const fused = loss(conditionalGumbelUnchecked);
    const onePass = grad(fused)(logTheta).data;
    let recorded: Tensor | undefined;
    valueAndGrad((y: Tensor) => {
      recorded = grad(fused)(logTheta);
      return sum(y);
    })(scalar(0));
    // Both take the share (E_k/θ_k)/(E_b + E_k/θ_k) kept from the forward pass, so this checks that the
    // recorded path takes it; the comparisons with the separate ops below are the independent checks.
    assert.equal(Array.from((recorded as Tensor).data), Array.from(onePass), `${what}: one pass and recorded`);
    const reference = grad(loss(separate))(logTheta).data;
    for (let i = 0; i < reference.length; i++) assert.ok(Math.abs(onePass[i] - reference[i]) <= 1e-13 * (1 + Math.abs(reference[i])), `${what}: first derivative ${i}`);
    const second = (zOf: typeof separate) => grad((x: Tensor) => sum(mul(grad(loss(zOf))(x), x)))(logTheta).data;
    const s1 = second(conditionalGumbelUnchecked);
    const s2 = second(separate);
    for (let i = 0; i < s2.length; i++) assert.ok(Math.abs(s1[i] - s2[i]) <= 1e-12 * (1 + Math.abs(s2[i])), `${what}: second derivative ${i}`);
    // Third order: the recorded backward pass's share is an op whose own VJP is written with the share.
    const w = rng(618).normal(logTheta.shape);
    const third = (zOf: typeof separate) => grad((x: Tensor) => sum(mul(grad((y: Tensor) => sum(mul(grad(loss(zOf))(y), y)))(x), w)))(logTheta).data;
    const t1 = third(conditionalGumbelUnchecked);
    const t2 = third(separate);
    for (let i = 0; i < t2.length; i++) assert.ok(Math.abs(t1[i] - t2[i]) <= 1e-12 * (1 + Math.abs(t2[i])), `${what}: third derivative ${i}: ${t1[i]} against ${t2[i]}`);
  }
});

cat.run();

// ---------------------------------------------------------------- errors

const errors = suite('gumbel: errors');

errors('bad arguments throw early, naming the function and the value', () => {
  const r = rng(701);
  assert.throws(() => gumbelMax(tensor([0, NaN]), r, 2), (e: Error) => e instanceof RangeError && /^gumbelMax: .*NaN/.test(e.message));
  assert.throws(() => gumbelMax(tensor([0, Infinity]), r, 2), (e: Error) => e instanceof RangeError && /^gumbelMax: .*got Infinity at flat index 1/.test(e.message));
  assert.not.throws(() => gumbelMax(tensor([0, -Infinity]), r, 2)); // a class of probability 0
  assert.throws(() => gumbelMax([0, 1] as unknown as Tensor, r), (e: Error) => e instanceof TypeError && /^gumbelMax: logits/.test(e.message));
  assert.throws(() => gumbelMax(tensor([0, 1]), r, 0), (e: Error) => e instanceof RangeError && /^gumbelMax: n /.test(e.message));
  assert.throws(() => gumbelMax(tensor([0, 1]), tensor([0, 1]), 3), (e: Error) => e instanceof RangeError && /^gumbelMax: n = 3/.test(e.message));
  assert.throws(() => gumbelTopK(tensor([0, 1]), 3, r), (e: Error) => e instanceof RangeError && /^gumbelTopK: k .* got 3/.test(e.message));
  assert.throws(() => truncatedGumbel(0, 1, tensor([0.5, 1])), (e: Error) => e instanceof RangeError && /^truncatedGumbel: u .* got 1/.test(e.message));
  assert.throws(() => truncatedGumbel(0, Infinity, tensor([0.5])), (e: Error) => e instanceof RangeError && /^truncatedGumbel: bound/.test(e.message));
  assert.throws(() => exponentialRace(tensor([1, 0]), r), (e: Error) => e instanceof RangeError && /^exponentialRace: rates .* got 0/.test(e.message));
  assert.throws(() => conditionalLogistic(tensor([0]), tensor([[0.5]]), tensor([[0.5]])), (e: Error) => e instanceof RangeError && /^conditionalLogistic: b .* got 0.5/.test(e.message));
  assert.throws(() => conditionalLogistic(tensor([0]), tensor([[1]]), tensor([[0]])), (e: Error) => e instanceof RangeError && /^conditionalLogistic: v .* got 0/.test(e.message));
  assert.throws(() => conditionalGumbel(tensor([0, 1]), tensor([[1, 1]]), tensor([[0.5, 0.5]])), (e: Error) => e instanceof RangeError && /^conditionalGumbel: b must be one-hot.*2 ones/.test(e.message));
  assert.throws(() => conditionalGumbel(tensor([0, 1, 2]), tensor([[1, 0]]), tensor([[0.5, 0.5]])), (e: Error) => e instanceof RangeError && /^conditionalGumbel: b has 2 classes/.test(e.message));
});

errors.run();
