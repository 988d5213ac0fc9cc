// Tests of lib/distributions.ts: log-densities against closed forms, the
// relaxed densities' normalization by quadrature, sampling laws (chi-square,
// Kolmogorov–Smirnov, moments), pathwise gradients against finite
// differences with common random numbers and against closed-form expected
// gradients, entropies against Monte Carlo, and error messages.
//
// Statistical checks: fixed seeds, each at α = 1e-3 (with Holm over the
// coordinates of one check), about 30 checks in all, so the chance that some
// seed choice fails a correct implementation is at most about 3%. Each check
// is also run on a deliberately wrong variant (a shifted parameter, a wrong
// sign, a scale used as a variance, …) and must reject it.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor, tensor, rng, grad, sum, mul, add, sub, square, sin, exp, stopGradient, argmax, oneHot, logSigmoid, logSoftmax, neg,
  Bernoulli, Categorical, Normal, Gumbel, Exponential, RelaxedBernoulli, RelaxedCategorical,
  chiSquareTest, ksTest, holm, summarize, twoSidedP, normalCdf,
} from '../../index.ts';

const ALPHA = 1e-3;
const EULER_GAMMA = 0.5772156649015329;

// ---------------------------------------------------------------- helpers

function close(actual: number, expected: number, tol: number, what = ''): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    assert.unreachable(`${what}: got ${actual}, expected ${expected} ± ${tol}`);
  }
}

function allFinite(t: Tensor): boolean {
  return t.data.every((v) => Number.isFinite(v));
}

/** Column j of a row-major [n, width] array. */
function column(data: Float64Array, j: number, width: number): Float64Array {
  const out = new Float64Array(data.length / width);
  for (let i = 0; i < out.length; i++) out[i] = data[i * width + j];
  return out;
}

function throwsWith(fn: () => unknown, kind: typeof TypeError | typeof RangeError, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, kind);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a ${kind.name} matching ${pattern}`);
}

/** Does any coordinate reject (Holm at α over the coordinates)? */
function rejects(pValues: number[]): boolean {
  return holm(pValues, ALPHA).some((r) => r);
}

/** p-value of a z-test that the mean of `values` is `expected`. */
function meanP(values: ArrayLike<number>, expected: number): number {
  const s = summarize(values);
  return twoSidedP((s.mean - expected) / s.stderr);
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------- shapes

const shapes = suite('distributions: shapes');

shapes('batch shapes, sample shapes with and without n, broadcasting in logProb', () => {
  const normal = new Normal(tensor([0, 1, 2]), tensor([[1], [2]]));
  assert.equal(normal.batchShape, [2, 3]);
  assert.equal(normal.sample(rng(1)).shape, [2, 3]);
  assert.equal(normal.rsample(rng(1), 5).shape, [5, 2, 3]);
  assert.equal(normal.logProb(tensor([0.5, 0, 1])).shape, [2, 3]);
  assert.equal(normal.mean.shape, [2, 3]);
  assert.equal(normal.entropy().shape, [2, 3]);

  const cat = new Categorical(tensor([[0, 1, 2], [2, 1, 0]]));
  assert.equal(cat.batchShape, [2]);
  assert.equal(cat.sample(rng(1), 7).shape, [7, 2]);
  assert.equal(cat.sampleOneHot(rng(1), 7).shape, [7, 2, 3]);
  assert.equal(cat.enumerateSupport().shape, [3, 2]);
  assert.equal(cat.logProb(cat.enumerateSupport()).shape, [3, 2]);
  assert.equal(cat.logProb(tensor(1)).shape, [2]);

  const bern = new Bernoulli(tensor([-1, 1]));
  assert.equal(bern.enumerateSupport().toArray(), [[0, 0], [1, 1]]);
  assert.equal(bern.sample(rng(1), 4).shape, [4, 2]);

  // A tensor temperature broadcasts with the batch (one τ per row here).
  const rc = new RelaxedCategorical(tensor([[0, 1, 2], [2, 1, 0]]), tensor([0.5, 2]));
  assert.equal(rc.batchShape, [2]);
  assert.equal(rc.eventShape, [3]);
  assert.equal(rc.rsample(rng(1), 4).shape, [4, 2, 3]);
  assert.equal(rc.logProb(rc.rsample(rng(1), 4)).shape, [4, 2]);
  const rb = new RelaxedBernoulli(tensor([0, 1, 2]), tensor([[0.5], [2]]));
  assert.equal(rb.batchShape, [2, 3]);
  assert.equal(rb.rsampleLogits(rng(1), 4).shape, [4, 2, 3]);
});

shapes('sample equals rsample for the same generator state, and carries no gradient', () => {
  const loc = tensor([0.3, -1]);
  const d = new Normal(loc, 2);
  assert.equal(d.sample(rng(9), 3).toArray(), d.rsample(rng(9), 3).toArray());
  const g = grad((l: Tensor) => sum(new Normal(l, 2).sample(rng(9), 3)))(loc);
  assert.equal(g.toArray(), [0, 0]);
});

shapes('hard samples are the relaxed samples hardened (same noise for equal seeds)', () => {
  const logits = tensor([-2, -0.3, 0, 0.8, 3]);
  const b = new Bernoulli(logits).sample(rng(5), 400);
  const t = new RelaxedBernoulli(logits, 0.3).rsampleLogits(rng(5), 400);
  assert.equal(b.data, Float64Array.from(t.data, (v) => (v > 0 ? 1 : 0)));

  const catLogits = tensor([[0.5, -1, 2, 0], [0, 0, 0, 0]]);
  const k = new Categorical(catLogits).sample(rng(6), 400);
  const y = new RelaxedCategorical(catLogits, 0.3).rsample(rng(6), 400);
  assert.equal(k.data, argmax(y, -1).data);
  assert.equal(new Categorical(catLogits).sampleOneHot(rng(6), 400).data, oneHot(k, 4).data);
});

shapes.run();

// ---------------------------------------------------------------- log-densities against closed forms

const closedForms = suite('distributions: logProb against closed forms');

closedForms('Bernoulli and Categorical, and finite with finite gradients at logits ±50', () => {
  const ls = [-50, -3, -0.5, 0, 2, 50];
  const bern = new Bernoulli(tensor(ls));
  const one = bern.logProb(1).data;
  const zero = bern.logProb(tensor([0, 0, 0, 0, 0, 0])).data;
  ls.forEach((l, i) => {
    // log σ(l) = −log(1 + e^−l): exact in doubles for these l (e^50 is finite); 1e-12 covers a few roundings.
    close(one[i], -Math.log1p(Math.exp(-l)), 1e-12, `log σ(${l})`);
    close(zero[i], -Math.log1p(Math.exp(l)), 1e-12, `log σ(−${l})`);
  });
  // d/dl log p(b) = b − σ(l).
  const g = grad((l: Tensor) => sum(new Bernoulli(l).logProb(tensor([1, 0, 1, 0, 1, 0]))))(tensor(ls));
  ls.forEach((l, i) => close(g.data[i], (i % 2 === 0 ? 1 : 0) - logistic(l), 1e-12, `gradient at ${l}`));

  const rows = [[0.5, -1, 2, 0], [-50, 0, 50, 1]];
  const cat = new Categorical(tensor(rows));
  const support = cat.logProb(cat.enumerateSupport()); // [4, 2]
  rows.forEach((row, b) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    row.forEach((v, k) => close(support.data[k * 2 + b], v - lse, 1e-12, `log p(${k}) in row ${b}`));
  });
  assert.ok(allFinite(support));
  const oneHots = oneHot(cat.enumerateSupport(), 4); // [4, 2, 4]
  assert.equal(cat.logProbOneHot(oneHots).data, support.data);
  // d/dl log p(k) = onehot(k) − softmax(l): finite at ±50.
  const gc = grad((l: Tensor) => sum(new Categorical(l).logProb(tensor([2, 0]))))(tensor(rows));
  assert.ok(allFinite(gc));
  close(gc.data[4], 1 - 0, 1e-12, 'd log p(0) / d l_0 at logit −50');
});

closedForms('Normal, Gumbel and Exponential, broadcasting x against the batch', () => {
  const xs = tensor([[-1.5, 0.2], [0.3, 4]]);
  const mu = [0.5, -1];
  const sd = [2, 0.7];
  const lpN = new Normal(tensor(mu), tensor(sd)).logProb(xs).data;
  const lpG = new Gumbel(tensor(mu), tensor(sd)).logProb(xs).data;
  const lpE = new Exponential(tensor(sd)).logProb(square(xs)).data;
  for (let i = 0; i < 4; i++) {
    const x = xs.data[i];
    const j = i % 2;
    const z = (x - mu[j]) / sd[j];
    close(lpN[i], -0.5 * z * z - Math.log(sd[j]) - 0.5 * Math.log(2 * Math.PI), 1e-12, 'Normal');
    close(lpG[i], -z - Math.exp(-z) - Math.log(sd[j]), 1e-12, 'Gumbel');
    close(lpE[i], Math.log(sd[j]) - sd[j] * x * x, 1e-12, 'Exponential');
  }
});

// Maddison et al. 2017, the binary Concrete density written directly in y:
// log τ + l − (τ+1)(log y + log(1−y)) − 2 log(e^l y^−τ + (1−y)^−τ).
function binConcreteDirect(y: number, l: number, tau: number): number {
  return Math.log(tau) + l - (tau + 1) * (Math.log(y) + Math.log1p(-y)) - 2 * Math.log(Math.exp(l) * y ** -tau + (1 - y) ** -tau);
}

// Jang et al. 2017 / Maddison et al. 2017, the Concrete density written directly:
// Γ(K) τ^(K−1) (Σ π_i y_i^−τ)^−K Π π_i y_i^(−τ−1).
function concreteDirect(y: number[], logits: number[], tau: number): number {
  const K = y.length;
  const z = logits.reduce((s, v) => s + Math.exp(v), 0);
  const pi = logits.map((v) => Math.exp(v) / z);
  let logGammaK = 0;
  for (let i = 2; i < K; i++) logGammaK += Math.log(i);
  const inner = pi.reduce((s, p, i) => s + p * y[i] ** -tau, 0);
  let value = logGammaK + (K - 1) * Math.log(tau) - K * Math.log(inner);
  for (let i = 0; i < K; i++) value += Math.log(pi[i]) - (tau + 1) * Math.log(y[i]);
  return value;
}

closedForms('RelaxedBernoulli and RelaxedCategorical against the papers\' densities', () => {
  const ys = [0.01, 0.2, 0.5, 0.77, 0.999];
  for (const tau of [0.3, 1, 2.5]) {
    for (const l of [-2, 0, 1.3]) {
      const lp = new RelaxedBernoulli(l, tau).logProb(tensor(ys)).data;
      // Values are O(10); the direct form loses a few ulps in (1−y)^−τ, so 1e-10 is generous.
      ys.forEach((y, i) => close(lp[i], binConcreteDirect(y, l, tau), 1e-10, `binary Concrete y=${y} l=${l} τ=${tau}`));
    }
  }
  const points = [[0.2, 0.5, 0.3], [0.01, 0.98, 0.01], [0.3333, 0.3333, 0.3334]];
  const logits = [0.4, -1, 1.5];
  for (const tau of [0.3, 1, 2.5]) {
    const lp = new RelaxedCategorical(tensor(logits), tau).logProb(tensor(points)).data;
    points.forEach((y, i) => close(lp[i], concreteDirect(y, logits, tau), 1e-10, `Concrete y=${y} τ=${tau}`));
  }
  // K = 2 is the binary Concrete with logit l₀ − l₁ (Maddison et al. 2017).
  for (const tau of [0.05, 0.4, 3]) {
    const rc = new RelaxedCategorical(tensor([1.2, -0.4]), tau);
    const rb = new RelaxedBernoulli(1.6, tau);
    const t = tensor([-300, -7, 0, 2.5, 30, 900]);
    const s = tensor(Array.from(t.data, (v) => [v, 0]));
    const a = rc.logProbLogits(s).data;
    const b = rb.logProbLogits(t).data;
    a.forEach((v, i) => close(v, b[i], 1e-9 * Math.max(1, Math.abs(b[i])), `K = 2 at t=${t.data[i]} τ=${tau}`));
  }
});

closedForms('relaxed densities stay finite at τ = 0.05 and logits ±50, including samples that round to 0 or 1', () => {
  const tau = 0.05;
  const logits = tensor([-50, -3, 0, 3, 50]);
  const rb = new RelaxedBernoulli(logits, tau);
  const y = rb.rsample(rng(11), 2000);
  const boundary = y.data.filter((v) => v === 0 || v === 1).length;
  assert.ok(boundary > 1000, `the check must exercise boundary samples (got ${boundary})`);
  const lp = rb.logProb(y);
  assert.ok(allFinite(lp), 'logProb(rsample) is finite');
  // The same values from the explicit log-space API.
  assert.equal(lp.data, rb.logProbLogits(rb.rsampleLogits(rng(11), 2000)).data);
  // The failure we avoid: the density read from the rounded y is not finite.
  const naive = Array.from(y.data, (v, i) => binConcreteDirect(v, logits.data[i % 5], tau));
  assert.ok(naive.some((v) => !Number.isFinite(v)), 'the naive y-space formula fails on these samples');
  // A copy of y carries no log-space value: a y of exactly 0 or 1 is outside the open support.
  throwsWith(() => rb.logProb(tensor(y.data, y.shape)), RangeError, /^RelaxedBernoulli\.logProb: y must lie in the open interval \(0, 1\), got [01]/);
  const g = grad((p: { l: Tensor; tau: Tensor }) => {
    const d = new RelaxedBernoulli(p.l, p.tau);
    return sum(d.logProb(d.rsample(rng(11), 2000)));
  })({ l: logits, tau: tensor(tau) });
  assert.ok(allFinite(g.l) && allFinite(g.tau), 'gradients in logits and temperature are finite');

  const catLogits = tensor([[-50, 0, 50], [1, 2, 3], [0, 0, 0]]);
  const rc = new RelaxedCategorical(catLogits, tau);
  const yc = rc.rsample(rng(12), 1000);
  assert.ok(yc.data.some((v) => v === 0) && yc.data.some((v) => v === 1), 'some entries round to 0 and to 1');
  const lpc = rc.logProb(yc);
  assert.ok(allFinite(lpc));
  assert.equal(lpc.data, rc.logProbLogits(rc.rsampleLogits(rng(12), 1000)).data);
  throwsWith(() => rc.logProb(tensor(yc.data, yc.shape)), RangeError, /^RelaxedCategorical\.logProb: y must lie in the open simplex/);
  const gc = grad((p: { l: Tensor; tau: Tensor }) => {
    const d = new RelaxedCategorical(p.l, p.tau);
    return sum(d.logProb(d.rsample(rng(12), 1000)));
  })({ l: catLogits, tau: tensor(tau) });
  assert.ok(allFinite(gc.l) && allFinite(gc.tau));
});

closedForms('logProb of values (not a remembered sample) agrees with the log-space path inside the support', () => {
  const rb = new RelaxedBernoulli(tensor([-1, 0.5]), 1);
  const y = rb.rsample(rng(13), 500);
  const viaLogits = rb.logProb(y).data;
  const viaValues = rb.logProb(tensor(y.data, y.shape)).data;
  // Reading t back as log y − log1p(−y) costs about ε/min(y, 1 − y) in t; all samples here have min(y, 1 − y) > 1e-9.
  viaLogits.forEach((v, i) => close(viaValues[i], v, 1e-6, `sample ${i}`));
  const rc = new RelaxedCategorical(tensor([0.3, -0.2, 1]), 1.5);
  const yc = rc.rsample(rng(14), 500);
  const a = rc.logProb(yc).data;
  const b = rc.logProb(tensor(yc.data, yc.shape)).data;
  a.forEach((v, i) => close(b[i], v, 1e-9 * Math.max(1, Math.abs(v)), `sample ${i}`));
});

closedForms.run();

// ---------------------------------------------------------------- the relaxed densities integrate to 1

const normalization = suite('distributions: relaxed densities integrate to 1');

// Trapezoid rule over w ∈ [−40, 40] (P(|logistic| > 40) ≈ 8e-18) with step 0.02.
// The integrands are analytic and decay exponentially, where the trapezoid rule
// converges geometrically; the error is dominated by rounding in the sum of
// ~4000 terms (~1e-13). Tolerance 1e-9.
const W = Array.from({ length: 4001 }, (_, i) => -40 + i * 0.02);
const H = 0.02;

function trapezoid(values: ArrayLike<number>, step: number): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * (i === 0 || i === values.length - 1 ? 0.5 : 1);
  return s * step;
}

const TEMPERATURES = [0.05, 0.1, 0.5, 1, 2, 5];

normalization('RelaxedBernoulli over (0, 1), changing variables to the logit t = logit y (dy = σ(t)σ(−t) dt)', () => {
  for (const tau of TEMPERATURES) {
    for (const l of [-3, 0, 2.5]) {
      const d = new RelaxedBernoulli(l, tau);
      const t = tensor(W.map((w) => (l + w) / tau));
      const integrand = exp(add(d.logProbLogits(t), add(logSigmoid(t), logSigmoid(neg(t)))));
      close(trapezoid(integrand.data, H / tau), 1, 1e-9, `∫ p(y) dy at l=${l} τ=${tau}`);
      // The deliberately wrong variant: without the factor τ the same quadrature gives 1/τ.
      if (tau !== 1) {
        const wrong = exp(add(sub(d.logProbLogits(t), Math.log(tau)), add(logSigmoid(t), logSigmoid(neg(t)))));
        assert.ok(Math.abs(trapezoid(wrong.data, H / tau) - 1) > 1e-3, 'the quadrature sees a missing log τ');
      }
    }
  }
});

normalization('RelaxedBernoulli over (0, 1) read from y values, where every y is representable (τ ≥ 1)', () => {
  for (const tau of [1, 2, 5]) {
    const l = 0.7;
    const d = new RelaxedBernoulli(l, tau);
    // t ∈ [−36, 36] keeps 1 − y ≥ 2e-16; the mass beyond is P(|l + L| > 36τ) < 1e-14.
    const ts = Array.from({ length: 7201 }, (_, i) => -36 + i * 0.01);
    const y = tensor(ts.map(logistic));
    const density = exp(d.logProb(y)).data;
    const values = ts.map((_, i) => density[i] * y.data[i] * (1 - y.data[i]));
    close(trapezoid(values, 0.01), 1, 1e-9, `τ=${tau}`);
  }
});

normalization('RelaxedCategorical with K = 2 on the line y = (σ(t), σ(−t))', () => {
  for (const tau of TEMPERATURES) {
    const logits = [0.9, -1.1];
    const d = new RelaxedCategorical(tensor(logits), tau);
    const ts = W.map((w) => (logits[0] - logits[1] + w) / tau);
    const s = tensor(ts.map((v) => [v, 0]));
    const t = tensor(ts);
    const integrand = exp(add(d.logProbLogits(s), add(logSigmoid(t), logSigmoid(neg(t)))));
    close(trapezoid(integrand.data, H / tau), 1, 1e-9, `τ=${tau}`);
  }
});

normalization('RelaxedCategorical with K = 3 over the simplex (2-D, in s = (a, b, 0), Jacobian y₁y₂y₃)', () => {
  // The map (a, b) ↦ (y₁, y₂) = softmax(a, b, 0)₁,₂ has Jacobian determinant y₁ y₂ y₃.
  // Grid: a = (l₁ − l₃ + w₁)/τ, b = (l₂ − l₃ + w₂)/τ, w ∈ [−38, 38] with step 0.25. The
  // integrand is analytic in a strip of half-width ≥ π/2 around the real axis in w, so the
  // trapezoid error is below e^(−2π·(π/2)/0.25) ≈ 1e-17; truncation ≈ 4e-16. Tolerance 1e-9.
  const step = 0.25;
  const ws = Array.from({ length: 305 }, (_, i) => -38 + i * step);
  const logits = [0.4, -0.8, 1.1];
  for (const tau of [0.05, 0.2, 1, 3]) {
    const d = new RelaxedCategorical(tensor(logits), tau);
    const m = ws.length;
    const s = new Float64Array(m * m * 3);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const o = (i * m + j) * 3;
        s[o] = (logits[0] - logits[2] + ws[i]) / tau;
        s[o + 1] = (logits[1] - logits[2] + ws[j]) / tau;
      }
    }
    const st = tensor(s, [m * m, 3]);
    const logJacobian = sum(logSoftmax(st, -1), -1); // Σ_k log y_k
    const integrand = exp(add(d.logProbLogits(st), logJacobian)).data;
    let total = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const wi = i === 0 || i === m - 1 ? 0.5 : 1;
        const wj = j === 0 || j === m - 1 ? 0.5 : 1;
        total += wi * wj * integrand[i * m + j];
      }
    }
    close(total * (step / tau) * (step / tau), 1, 1e-9, `τ=${tau}`);
  }
});

normalization.run();

// ---------------------------------------------------------------- sampling laws

const laws = suite('distributions: sampling laws');
const N = 20000;

laws('Bernoulli: frequencies match σ(l) (chi-square per coordinate, Holm); rejects shifted logits', () => {
  const logits = [-2, -0.3, 0, 1.5];
  // A logit shift of 0.1 moves p by 0.1·p(1 − p) ≈ 0.025 at p = ½, about 7 standard errors at n = 20000.
  const pValues = (d: Bernoulli): number[] => {
    const b = d.sample(rng(21), N).data;
    return logits.map((l, j) => {
      const ones = column(b, j, logits.length).reduce((s, v) => s + v, 0);
      const p = logistic(l);
      return chiSquareTest([N - ones, ones], [1 - p, p]).pValue;
    });
  };
  assert.not.ok(rejects(pValues(new Bernoulli(tensor(logits)))));
  assert.ok(rejects(pValues(new Bernoulli(tensor(logits.map((l) => l + 0.1)))))); // the wrong variant
});

laws('Categorical: frequencies match softmax(l) (chi-square per row, Holm); rejects a shifted logit', () => {
  const rows = [[0.5, -1, 2, 0], [0, 0, 0, 0]];
  const probs = rows.map((r) => {
    const z = r.reduce((s, v) => s + Math.exp(v), 0);
    return r.map((v) => Math.exp(v) / z);
  });
  const pValues = (d: Categorical): number[] => {
    const k = d.sample(rng(22), N).data; // [N, 2]
    return rows.map((_, b) => {
      const counts = [0, 0, 0, 0];
      column(k, b, 2).forEach((v) => counts[v]++);
      return chiSquareTest(counts, probs[b]).pValue;
    });
  };
  assert.not.ok(rejects(pValues(new Categorical(tensor(rows)))));
  // Class 0 shifted by 0.1: Δp₀ = 0.1·p₀(1 − p₀) ≥ 0.012, at least 5 standard errors.
  assert.ok(rejects(pValues(new Categorical(tensor(rows.map((r) => [r[0] + 0.1, ...r.slice(1)]))))));
});

/** KS p-values of each column of samples [N, J] against CDFs. */
function ksColumns(samples: Tensor, cdfs: ((x: number) => number)[]): number[] {
  return cdfs.map((cdf, j) => ksTest(column(samples.data, j, cdfs.length), cdf).pValue);
}

/** z-test p-values of the sample mean against `mean` and of the mean squared deviation against `variance`, per column. */
function momentColumns(samples: Tensor, mean: Tensor, variance: Tensor): number[] {
  const J = mean.size;
  const out: number[] = [];
  for (let j = 0; j < J; j++) {
    const xs = column(samples.data, j, J);
    out.push(meanP(xs, mean.data[j]));
    out.push(meanP(xs.map((x) => (x - mean.data[j]) ** 2), variance.data[j]));
  }
  return out;
}

laws('Normal, Gumbel, Exponential: KS against the CDF and moments against mean/variance; reject wrong parameters', () => {
  // The wrong variants move the location by 0.05 scale (KS distance ≈ 0.02, critical 0.014 at
  // α = 1e-3) and the scale by 5% (variance off by 10%, about 10 standard errors).
  const mu = [0.5, -1];
  const sd = [2, 0.7];
  const normalCdfs = mu.map((m, j) => (x: number) => normalCdf((x - m) / sd[j]));
  const gumbelCdfs = mu.map((m, j) => (x: number) => Math.exp(-Math.exp(-(x - m) / sd[j])));
  const rate = [0.5, 3];
  const expCdfs = rate.map((r) => (x: number) => -Math.expm1(-r * x));
  const right = {
    normal: new Normal(tensor(mu), tensor(sd)),
    gumbel: new Gumbel(tensor(mu), tensor(sd)),
    exponential: new Exponential(tensor(rate)),
  };
  const wrong = {
    normal: new Normal(tensor(mu.map((m, j) => m + 0.05 * sd[j])), tensor(sd.map((s) => 1.05 * s))),
    gumbel: new Gumbel(tensor(mu.map((m, j) => m + 0.05 * sd[j])), tensor(sd.map((s) => 1.05 * s))),
    exponential: new Exponential(tensor(rate.map((r) => 1.05 * r))),
  };
  for (const [name, cdfs] of [['normal', normalCdfs], ['gumbel', gumbelCdfs], ['exponential', expCdfs]] as const) {
    const d = right[name];
    const x = d.sample(rng(23), N);
    assert.not.ok(rejects(ksColumns(x, cdfs)), `${name}: KS`);
    assert.not.ok(rejects(momentColumns(x, d.mean, d.variance)), `${name}: moments`);
    const bad = wrong[name].sample(rng(23), N);
    assert.ok(rejects(ksColumns(bad, cdfs)), `${name}: KS rejects the wrong variant`);
    assert.ok(rejects(momentColumns(bad, d.mean, d.variance)), `${name}: moments reject the wrong variant`);
  }
});

laws('RelaxedBernoulli: KS of y against σ(τ logit y − l), and of t at τ = 0.05 against σ(τt − l)', () => {
  const logits = [-1, 0.7];
  const yCdfs = (tau: number) => logits.map((l) => (y: number) => logistic(tau * (Math.log(y) - Math.log1p(-y)) - l));
  const tCdfs = (tau: number) => logits.map((l) => (t: number) => logistic(tau * t - l));
  const at = (shift: number) => tensor(logits.map((l) => l + shift));
  assert.not.ok(rejects(ksColumns(new RelaxedBernoulli(at(0), 0.5).rsample(rng(24), N), yCdfs(0.5))));
  assert.not.ok(rejects(ksColumns(new RelaxedBernoulli(at(0), 0.05).rsampleLogits(rng(25), N), tCdfs(0.05))));
  // Wrong variant: logits shifted by 0.1 (KS distance ≈ 0.1 · ¼ = 0.025).
  assert.ok(rejects(ksColumns(new RelaxedBernoulli(at(0.1), 0.5).rsample(rng(24), N), yCdfs(0.5))));
  assert.ok(rejects(ksColumns(new RelaxedBernoulli(at(0.1), 0.05).rsampleLogits(rng(25), N), tCdfs(0.05))));
});

laws('RelaxedCategorical: each log-ratio log(y_i/y_j) = (l_i − l_j + G_i − G_j)/τ is logistic, read from y', () => {
  // G_i − G_j of two independent standard Gumbels is standard logistic, so
  // P(log(y_i/y_j) ≤ r) = σ(τr − (l_i − l_j)). At τ = 0.7 no entry of y underflows.
  const logits = [0.4, -0.8, 1.1];
  const tau = 0.7;
  const pairs = [[0, 1], [1, 2], [0, 2]];
  const pValues = (d: RelaxedCategorical): number[] => {
    const y = d.rsample(rng(26), N).data;
    return pairs.map(([i, j]) => {
      const ratios = column(y, i, 3).map((v, row) => Math.log(v) - Math.log(y[row * 3 + j]));
      return ksTest(ratios, (r) => logistic(tau * r - (logits[i] - logits[j]))).pValue;
    });
  };
  assert.not.ok(rejects(pValues(new RelaxedCategorical(tensor(logits), tau))));
  // Wrong variant: l₀ shifted by 0.15 (KS distance ≈ 0.15 · ¼ ≈ 0.037 on two pairs).
  assert.ok(rejects(pValues(new RelaxedCategorical(tensor([logits[0] + 0.15, ...logits.slice(1)]), tau))));
});

laws.run();

// ---------------------------------------------------------------- pathwise gradients

const pathwise = suite('distributions: rsample and logProb gradients');

type Params = Record<string, Tensor>;

/**
 * The gradient of F in a random direction against a central difference with
 * step 1e-5, with common random numbers (F draws from a fresh rng(seed) each
 * call). Truncation error ≈ ε²|F'''|/6 ≲ 1e-8 and rounding ≈ 1e-16·Σ|terms|/ε ≲ 1e-9
 * for these O(1)-sized sums of 64 terms; tolerance 1e-6 relative.
 */
function checkAgainstDifferences(name: string, F: (p: Params) => Tensor, params: Params): void {
  const g = grad(F)(params) as Params;
  const r = rng(99);
  const dir: Params = {};
  let analytic = 0;
  for (const k of Object.keys(params)) {
    dir[k] = r.normal(params[k].shape);
    analytic += sum(mul(g[k], dir[k])).item();
  }
  const at = (h: number): number => {
    const moved: Params = {};
    for (const k of Object.keys(params)) moved[k] = add(params[k], mul(dir[k], h));
    return F(moved).item();
  };
  const eps = 1e-5;
  const fd = (at(eps) - at(-eps)) / (2 * eps);
  close(analytic, fd, 1e-6 * Math.max(1, Math.abs(fd)), name);
}

pathwise('rsample and logProb gradients match finite differences with common random numbers', () => {
  const smooth = (x: Tensor) => sum(add(sin(x), mul(square(x), 0.1)));
  const locScale = { loc: tensor([0.3, -0.6]), scale: tensor([1.2, 0.5]) };
  checkAgainstDifferences('Normal.rsample', (p) => smooth(new Normal(p.loc, p.scale).rsample(rng(31), 64)), locScale);
  checkAgainstDifferences('Gumbel.rsample', (p) => smooth(new Gumbel(p.loc, p.scale).rsample(rng(32), 64)), locScale);
  checkAgainstDifferences('Exponential.rsample', (p) => smooth(new Exponential(p.rate).rsample(rng(33), 64)), { rate: tensor([0.7, 2]) });
  const fixed = tensor([[-0.4, 1.3], [2.2, 0.1]]);
  checkAgainstDifferences('Normal.logProb', (p) => sum(new Normal(p.loc, p.scale).logProb(fixed)), locScale);
  checkAgainstDifferences('Gumbel.logProb', (p) => sum(new Gumbel(p.loc, p.scale).logProb(fixed)), locScale);
  checkAgainstDifferences('Exponential.logProb', (p) => sum(new Exponential(p.rate).logProb(square(fixed))), { rate: tensor([0.7, 2]) });
  checkAgainstDifferences('Bernoulli.logProb + entropy', (p) => {
    const d = new Bernoulli(p.logits);
    return add(sum(d.logProb(tensor([[1, 0, 1], [0, 0, 1]]))), sum(d.entropy()));
  }, { logits: tensor([-1.1, 0.4, 2]) });
  checkAgainstDifferences('Categorical.logProb + entropy', (p) => {
    const d = new Categorical(p.logits);
    return add(sum(d.logProb(tensor([[2, 0], [1, 1]]))), sum(d.entropy()));
  }, { logits: tensor([[0.5, -1, 2], [0, 0.3, -0.2]]) });

  const relaxedB = { logits: tensor([-1, 0.4, 1.7]), temperature: tensor([0.5, 0.8, 1.3]) };
  checkAgainstDifferences('RelaxedBernoulli.rsample', (p) => sum(square(sub(new RelaxedBernoulli(p.logits, p.temperature).rsample(rng(34), 64), 0.3))), relaxedB);
  checkAgainstDifferences('RelaxedBernoulli.logProb(rsample)', (p) => {
    const d = new RelaxedBernoulli(p.logits, p.temperature);
    return sum(d.logProb(d.rsample(rng(35), 64)));
  }, relaxedB);
  checkAgainstDifferences('RelaxedBernoulli.logProb(values)', (p) => sum(new RelaxedBernoulli(p.logits, p.temperature).logProb(tensor([0.1, 0.5, 0.93]))), relaxedB);

  const relaxedC = { logits: tensor([[0.5, -1, 2], [0, 0.3, -0.2]]), temperature: tensor([0.6, 1.4]) };
  const weights = tensor([1, -2, 0.5]);
  checkAgainstDifferences('RelaxedCategorical.rsample', (p) => {
    const y = new RelaxedCategorical(p.logits, p.temperature).rsample(rng(36), 64);
    return add(sum(mul(y, weights)), sum(square(y)));
  }, relaxedC);
  checkAgainstDifferences('RelaxedCategorical.logProb(rsample)', (p) => {
    const d = new RelaxedCategorical(p.logits, p.temperature);
    return sum(d.logProb(d.rsample(rng(37), 64)));
  }, relaxedC);
  checkAgainstDifferences('RelaxedCategorical.logProb(values)', (p) => sum(new RelaxedCategorical(p.logits, p.temperature).logProb(tensor([0.2, 0.5, 0.3]))), relaxedC);
});

/**
 * Per-sample gradients of Σ_i f(x_i) with respect to tiled parameters (one copy
 * per sample, so one backward pass gives all N of them), z-tested against the
 * closed-form ∂/∂θ E[f(x)].
 */
function gradientP(sampler: (p: Params) => Tensor, f: (x: Tensor) => Tensor, params: Params, name: string, expected: number): number {
  const g = grad((p: Params) => sum(f(sampler(p))))(params) as Params;
  return meanP(g[name].data, expected);
}

pathwise('the mean of rsample gradients matches closed-form expected gradients; broken reparameterizations are rejected', () => {
  const tile = (v: number) => tensor(new Float64Array(N).fill(v), [N]);
  const mu = 0.5;
  const sigma = 1.5;
  const normal = { loc: tile(mu), scale: tile(sigma) };
  const good = (p: Params) => new Normal(p.loc, p.scale).rsample(rng(41));
  // A scale used as a variance: x = μ + σ² ε, so ∂/∂σ E[x²] = 4σ³ = 13.5, not 2σ = 3.
  const broken = (p: Params) => add(p.loc, mul(square(p.scale), rng(41).normal([N])));
  const p1 = [
    gradientP(good, square, normal, 'loc', 2 * mu), // ∂/∂μ E[x²] = 2μ
    gradientP(good, square, normal, 'scale', 2 * sigma), // ∂/∂σ E[x²] = 2σ
  ];
  assert.not.ok(rejects(p1), `Normal: ${p1}`);
  assert.ok(rejects([gradientP(broken, square, normal, 'scale', 2 * sigma)]));

  // Exponential: ∂/∂λ E[x] = −1/λ². Broken: the rate used as a scale, x = λE, whose gradient has mean 1.
  const lambda = 2;
  const rate = { rate: tile(lambda) };
  const identity = (x: Tensor) => x;
  assert.not.ok(rejects([gradientP((p) => new Exponential(p.rate).rsample(rng(42)), identity, rate, 'rate', -1 / lambda ** 2)]));
  assert.ok(rejects([gradientP((p) => mul(p.rate, rng(42).exponential([N])), identity, rate, 'rate', -1 / lambda ** 2)]));

  // Gumbel: E[x²] = π²β²/6 + (μ + βγ)², so ∂/∂μ = 2(μ + βγ) and ∂/∂β = 2β(π²/6 + γ²) + 2μγ.
  // Broken: the sign of the noise, x = μ − βG (∂/∂β then has mean 2β(π²/6 + γ²) − 2μγ).
  const beta = 1.2;
  const gumbel = { loc: tile(mu), scale: tile(beta) };
  const dBeta = 2 * beta * ((Math.PI * Math.PI) / 6 + EULER_GAMMA ** 2) + 2 * mu * EULER_GAMMA;
  const pg = [
    gradientP((p) => new Gumbel(p.loc, p.scale).rsample(rng(43)), square, gumbel, 'loc', 2 * (mu + beta * EULER_GAMMA)),
    gradientP((p) => new Gumbel(p.loc, p.scale).rsample(rng(43)), square, gumbel, 'scale', dBeta),
  ];
  assert.not.ok(rejects(pg), `Gumbel: ${pg}`);
  assert.ok(rejects([gradientP((p) => sub(p.loc, mul(p.scale, rng(43).gumbel([N]))), square, gumbel, 'scale', dBeta)]));
});

pathwise('score identities by enumeration: Σ_b p(b) ∇ log p(b) = 0 for Bernoulli and Categorical', () => {
  const check = (F: (l: Tensor) => Tensor, logits: Tensor) => {
    const g = grad(F)(logits);
    g.data.forEach((v) => close(v, 0, 1e-12, 'E[∇ log p]'));
  };
  check((l) => {
    const d = new Bernoulli(l);
    const support = d.enumerateSupport();
    return sum(mul(stopGradient(exp(d.logProb(support))), d.logProb(support)));
  }, tensor([-1, 0.3, 50]));
  check((l) => {
    const d = new Categorical(l);
    const support = d.enumerateSupport();
    return sum(mul(stopGradient(exp(d.logProb(support))), d.logProb(support)));
  }, tensor([[0.5, -1, 2], [-50, 0, 50]]));
});

pathwise.run();

// ---------------------------------------------------------------- entropy

const entropy = suite('distributions: entropy');

entropy('Bernoulli and Categorical entropies equal −Σ p log p by enumeration', () => {
  const b = new Bernoulli(tensor([-50, -1, 0, 2.5]));
  const lpb = b.logProb(b.enumerateSupport());
  const hb = mul(sum(mul(exp(lpb), lpb), 0), -1);
  hb.data.forEach((v, i) => close(b.entropy().data[i], v, 1e-12, `Bernoulli ${i}`));
  const c = new Categorical(tensor([[0.5, -1, 2, 0], [-50, 0, 50, 1]]));
  const lpc = c.logProb(c.enumerateSupport());
  const hc = mul(sum(mul(exp(lpc), lpc), 0), -1);
  hc.data.forEach((v, i) => close(c.entropy().data[i], v, 1e-12, `Categorical ${i}`));
});

entropy('Normal, Gumbel and Exponential entropies equal −∫ p log p by quadrature', () => {
  // Simpson's rule with step 1e-3 on [a, b] covering all but ~1e-20 of the mass; the
  // integrands are smooth on [a, b] (the Exponential's kink at 0 is an endpoint), so the
  // error is O(h⁴·|f''''|) ≲ 1e-11; tolerance 1e-8 (a 1% error in a formula is 1e-2).
  const integrate = (d: { logProb(x: Tensor): Tensor }, a: number, b: number): number => {
    const h = 1e-3;
    const m = Math.round((b - a) / h); // even for every interval below
    const xs = tensor(Array.from({ length: m + 1 }, (_, i) => a + i * h));
    const lp = d.logProb(xs);
    const f = mul(exp(lp), mul(lp, -1)).data;
    let total = f[0] + f[m];
    for (let i = 1; i < m; i++) total += f[i] * (i % 2 === 1 ? 4 : 2);
    return (total * h) / 3;
  };
  close(new Normal(0.3, 1.7).entropy().item(), integrate(new Normal(0.3, 1.7), 0.3 - 17, 0.3 + 17), 1e-8, 'Normal');
  close(new Gumbel(0.3, 1.7).entropy().item(), integrate(new Gumbel(0.3, 1.7), 0.3 - 1.7 * 5, 0.3 + 1.7 * 50), 1e-8, 'Gumbel');
  close(new Exponential(2.5).entropy().item(), integrate(new Exponential(2.5), 0, 20), 1e-8, 'Exponential');
});

entropy('Bernoulli and Categorical means and variances equal their sums over the support', () => {
  const b = new Bernoulli(tensor([-2, 0.4]));
  const pb = exp(b.logProb(b.enumerateSupport())); // [2, 2]
  const support = b.enumerateSupport();
  const meanB = sum(mul(pb, support), 0);
  const varB = sum(mul(pb, square(sub(support, meanB))), 0);
  meanB.data.forEach((v, i) => close(b.mean.data[i], v, 1e-15, 'Bernoulli mean'));
  varB.data.forEach((v, i) => close(b.variance.data[i], v, 1e-15, 'Bernoulli variance'));
  const c = new Categorical(tensor([[0.5, -1, 2], [0, 0.3, -0.2]]));
  const pc = exp(c.logProb(c.enumerateSupport())); // [3, 2]
  const hot = oneHot(c.enumerateSupport(), 3); // [3, 2, 3]
  const weights = tensor(pc.data, [3, 2, 1]);
  const meanC = sum(mul(weights, hot), 0);
  const varC = sum(mul(weights, square(sub(hot, meanC))), 0);
  meanC.data.forEach((v, i) => close(c.mean.data[i], v, 1e-15, 'Categorical mean'));
  varC.data.forEach((v, i) => close(c.variance.data[i], v, 1e-15, 'Categorical variance'));
});

entropy('closed-form entropies match Monte Carlo −E[log p(x)]; the entropy of a perturbed law is rejected', () => {
  // n = 40000 draws per coordinate: a 5% scale error changes H by log 1.05 ≈ 0.049, at least
  // 5 standard errors of the Monte Carlo mean for every family here.
  const n = 40000;
  const pValues = (d: { sample(r: ReturnType<typeof rng>, n: number): Tensor; logProb(x: Tensor): Tensor }, h: Tensor, seed: number) => {
    const negLogP = mul(d.logProb(d.sample(rng(seed), n)), -1);
    return Array.from(h.data, (v, j) => meanP(column(negLogP.data, j, h.size), v));
  };
  const cases: [string, { sample(r: ReturnType<typeof rng>, n: number): Tensor; logProb(x: Tensor): Tensor }, Tensor, Tensor][] = [
    ['Normal', new Normal(tensor([0, 1]), tensor([0.5, 2])), new Normal(tensor([0, 1]), tensor([0.5, 2])).entropy(), new Normal(0, tensor([0.525, 2.1])).entropy()],
    ['Gumbel', new Gumbel(tensor([0, 1]), tensor([0.5, 2])), new Gumbel(tensor([0, 1]), tensor([0.5, 2])).entropy(), new Gumbel(0, tensor([0.525, 2.1])).entropy()],
    ['Exponential', new Exponential(tensor([0.5, 3])), new Exponential(tensor([0.5, 3])).entropy(), new Exponential(tensor([0.525, 3.15])).entropy()],
    ['Bernoulli', new Bernoulli(tensor([-1, 0.3, 2])), new Bernoulli(tensor([-1, 0.3, 2])).entropy(), new Bernoulli(tensor([-0.7, 0.6, 2.3])).entropy()],
    ['Categorical', new Categorical(tensor([[0.5, -1, 2, 0], [1, 0.2, -0.4, 0.1]])), new Categorical(tensor([[0.5, -1, 2, 0], [1, 0.2, -0.4, 0.1]])).entropy(),
      new Categorical(tensor([[0.6, -1.2, 2.4, 0], [1.2, 0.24, -0.48, 0.12]])).entropy()],
  ];
  cases.forEach(([name, d, h, wrongH], i) => {
    const right = pValues(d, h, 50 + i);
    assert.not.ok(rejects(right), `${name}: ${right}`);
    assert.ok(rejects(pValues(d, wrongH, 50 + i)), `${name}: the perturbed entropy is rejected`);
  });
});

entropy.run();

// ---------------------------------------------------------------- errors

const errors = suite('distributions: errors');

errors('bad parameters throw RangeError naming the class and the value', () => {
  throwsWith(() => new Bernoulli(tensor([0, NaN])), RangeError, /^Bernoulli: logits must be finite, got NaN \(element 1 of \[2\]\)/);
  throwsWith(() => new Categorical(tensor([[1, NaN, 0]])), RangeError, /^Categorical: logits must be finite, got NaN/);
  throwsWith(() => new Categorical(tensor(1)), RangeError, /^Categorical: logits need a non-empty class axis/);
  throwsWith(() => new RelaxedBernoulli(NaN, 1), RangeError, /^RelaxedBernoulli: logits must be finite, got NaN/);
  throwsWith(() => new RelaxedCategorical(tensor([NaN, 0]), 1), RangeError, /^RelaxedCategorical: logits must be finite, got NaN/);
  throwsWith(() => new Normal(0, 0), RangeError, /^Normal: scale must be positive and finite, got 0;/);
  throwsWith(() => new Normal(0, tensor([1, -2])), RangeError, /^Normal: scale must be positive and finite, got -2 \(element 1 of \[2\]\)/);
  throwsWith(() => new Gumbel(0, -1), RangeError, /^Gumbel: scale must be positive and finite, got -1/);
  throwsWith(() => new Exponential(0), RangeError, /^Exponential: rate must be positive and finite, got 0/);
  throwsWith(() => new Exponential(-3), RangeError, /^Exponential: rate must be positive and finite, got -3/);
  throwsWith(() => new RelaxedBernoulli(0, 0), RangeError, /^RelaxedBernoulli: temperature must be positive and finite, got 0/);
  throwsWith(() => new RelaxedCategorical(tensor([0, 1]), -1), RangeError, /^RelaxedCategorical: temperature must be positive and finite, got -1/);
  throwsWith(() => new RelaxedBernoulli(tensor([0, 1]), tensor([0.5, 0])), RangeError, /temperature must be positive and finite, got 0 \(element 1 of \[2\]\)/);
  throwsWith(() => new Normal(tensor([0, 0]), tensor([1, 1, 1])), RangeError, /^Normal: parameter shapes \[2\] and \[3\] do not broadcast/);
  throwsWith(() => new Normal('a' as unknown as Tensor, 1), TypeError, /^Normal: loc must be a Tensor or a number, got string/);
});

errors('logProb arguments outside the support throw RangeError with the value', () => {
  throwsWith(() => new Bernoulli(0).logProb(0.5), RangeError, /^Bernoulli\.logProb: x must be 0 or 1, got 0\.5/);
  throwsWith(() => new Categorical(tensor([0, 1, 2])).logProb(7), RangeError, /^Categorical\.logProb: class indices must be integers in \[0, 3\), got 7/);
  throwsWith(() => new Categorical(tensor([0, 1, 2])).logProb(tensor([0, 1.5])), RangeError, /got 1\.5 \(element 1 of \[2\]\)/);
  throwsWith(() => new Categorical(tensor([0, 1, 2])).logProbOneHot(tensor([1, 0])), RangeError, /^Categorical\.logProbOneHot: x must have 3 classes/);
  throwsWith(() => new Exponential(1).logProb(-1), RangeError, /^Exponential\.logProb: x must be ≥ 0 \(the support is \[0, ∞\)\), got -1/);
  throwsWith(() => new Normal(0, 1).logProb(NaN), RangeError, /^Normal\.logProb: x is NaN/);
  throwsWith(() => new RelaxedBernoulli(0, 1).logProb(1.2), RangeError, /^RelaxedBernoulli\.logProb: y must lie in the open interval \(0, 1\), got 1\.2/);
  throwsWith(() => new RelaxedBernoulli(0, 1).logProb(0), RangeError, /got 0; at low temperature keep the log-space sample/);
  throwsWith(() => new RelaxedCategorical(tensor([0, 1, 2]), 1).logProb(tensor([0.5, 0.6, 0.1])), RangeError, /^RelaxedCategorical\.logProb: y must sum to 1 along its last axis, got 1\.2/);
  throwsWith(() => new RelaxedCategorical(tensor([0, 1, 2]), 1).logProb(tensor([0.5, 0.5])), RangeError, /must have 3 classes on its last axis, got shape \[2\]/);
  throwsWith(() => new RelaxedBernoulli(0, 1).logProbLogits(Infinity), RangeError, /^RelaxedBernoulli\.logProbLogits: t must be finite, got Infinity/);
  throwsWith(() => new Normal(tensor([0, 0]), 1).logProb(tensor([1, 2, 3])), RangeError, /^Normal\.logProb: x of shape \[3\] does not broadcast against \[2\]/);
});

errors('sampling arguments', () => {
  throwsWith(() => new Normal(0, 1).rsample(rng(1), 0), RangeError, /^Normal\.rsample: n must be a positive integer \(the number of draws\), got 0/);
  throwsWith(() => new Categorical(tensor([0, 1])).sample(rng(1), 2.5), RangeError, /^Categorical\.sample: n must be a positive integer/);
  throwsWith(() => new Bernoulli(0).sample(42 as unknown as ReturnType<typeof rng>), TypeError, /^Bernoulli\.sample: expected a generator from rng\(seed\), got number/);
});

errors.run();
