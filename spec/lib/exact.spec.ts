import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Tensor,
  tensor,
  zeros,
  rng,
  add,
  sub,
  mul,
  less,
  sigmoid,
  softmax,
  reshape,
  sum,
  argmax,
  oneHot,
  logsumexp,
  holm,
  twoSidedP,
  MAX_OUTCOMES,
  enumerateBernoulli,
  enumerateCategorical,
  enumerateCategoricals,
  enumerateSubsets,
  enumerateSupport,
  canEnumerate,
  logProbTable,
  scoreTable,
  exactExpectation,
  exactGradient,
  exactHessian,
  exactMoments,
  exactReinforceMoments,
  categoricalTableGradient,
  bernoulliTableGradient,
  tableFunction,
  quadraticFunction,
  Refusal,
  exact,
  sumAndSample,
  arsm,
  reinforceStructure,
  subset,
  bernoulli,
  categorical,
  type DiscreteFamily,
  type ExactMoments,
} from '../../index.ts';
import { column, momentZ } from '../harness/variance.ts';
import { thrown } from '../harness/thrown.ts';

function rowsOf(x: Tensor): number[][] {
  const width = x.size / x.shape[0];
  return Array.from({ length: x.shape[0] }, (_, i) => Array.from(x.data.subarray(i * width, (i + 1) * width)));
}

/** The first coordinate where |actual − expected| > tol, or −1. */
function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): number {
  for (let i = 0; i < actual.length; i++) if (!(Math.abs(actual[i] - expected[i]) <= tol)) return i;
  return -1;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const i = firstMismatch(actual, expected, tol);
  if (i >= 0) assert.unreachable(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (|error| ${Math.abs(actual[i] - expected[i])} > ${tol})`);
}

// ---------------------------------------------------------------- enumeration

const enumeration = suite('exact: enumeration of supports');

enumeration('Bernoulli: 2^D distinct 0/1 rows, row i holding the bits of i (b_0 least significant)', () => {
  for (let D = 1; D <= 6; D++) {
    const s = enumerateBernoulli(D);
    assert.equal(s.shape, [2 ** D, D]);
    const rows = rowsOf(s);
    assert.is(new Set(rows.map((r) => r.join(''))).size, 2 ** D, 'rows are distinct');
    rows.forEach((row, i) => row.forEach((b, j) => assert.is(b, (i >> j) & 1, `row ${i} bit ${j}`)));
  }
  assert.equal(enumerateBernoulli(2).toArray(), [[0, 0], [1, 0], [0, 1], [1, 1]]);
});

enumeration('categorical: the identity', () => {
  assert.equal(enumerateCategorical(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.equal(enumerateCategorical(1).toArray(), [[1]]);
});

enumeration('D categoricals: K^D distinct one-hot rows, c_j = digit j of i in base K', () => {
  for (const [D, K] of [[1, 4], [2, 3], [3, 3], [4, 2]]) {
    const s = enumerateCategoricals(D, K);
    assert.equal(s.shape, [K ** D, D, K]);
    const seen = new Set<string>();
    for (let i = 0; i < K ** D; i++) {
      const classes: number[] = [];
      for (let j = 0; j < D; j++) {
        const row = Array.from(s.data.subarray((i * D + j) * K, (i * D + j + 1) * K));
        assert.is(row.reduce((a, b) => a + b, 0), 1, 'one-hot');
        assert.ok(row.every((v) => v === 0 || v === 1));
        const c = row.indexOf(1);
        assert.is(c, Math.floor(i / K ** j) % K, `row ${i}, categorical ${j}`);
        classes.push(c);
      }
      seen.add(classes.join(','));
    }
    assert.is(seen.size, K ** D, 'rows are distinct');
  }
});

enumeration('k-subsets: C(n, k) distinct rows with exactly k ones, in lexicographic order of the index lists', () => {
  assert.equal(enumerateSubsets(4, 2).toArray(), [
    [1, 1, 0, 0],
    [1, 0, 1, 0],
    [1, 0, 0, 1],
    [0, 1, 1, 0],
    [0, 1, 0, 1],
    [0, 0, 1, 1],
  ]);
  const counts: Record<string, number> = { '5,0': 1, '5,2': 10, '6,3': 20, '7,7': 1, '10,4': 210, '12,5': 792 };
  for (const key of Object.keys(counts)) {
    const [n, k] = key.split(',').map(Number);
    const s = enumerateSubsets(n, k);
    assert.equal(s.shape, [counts[key], n], `C(${n}, ${k})`);
    const lists = rowsOf(s).map((row) => {
      assert.ok(row.every((v) => v === 0 || v === 1));
      assert.is(row.reduce((a: number, b) => a + b, 0), k, 'k ones');
      return row.flatMap((v, i) => (v === 1 ? [i] : []));
    });
    for (let r = 1; r < lists.length; r++) {
      const a = lists[r - 1];
      const b = lists[r];
      const first = a.findIndex((v, i) => v !== b[i]);
      assert.ok(first >= 0 && a[first] < b[first], `rows ${r - 1} and ${r} are distinct and in lexicographic order`);
    }
  }
});

enumeration('enumerateSupport follows the logits shape of each family', () => {
  assert.equal(enumerateSupport('bernoulli', [3]).shape, [8, 3]);
  assert.equal(enumerateSupport('categorical', [5]).shape, [5, 5]);
  assert.equal(enumerateSupport('categoricals', [2, 3]).shape, [9, 2, 3]);
  assert.throws(() => enumerateSupport('categorical', [2, 3]), /enumerateSupport: logits of shape \[2,3\]/);
});

enumeration('bad arguments throw with the name and the value', () => {
  assert.throws(() => enumerateBernoulli(0), (e: Error) => e instanceof RangeError && /enumerateBernoulli: D must be an integer ≥ 1, got 0/.test(e.message));
  assert.throws(() => enumerateBernoulli(2.5), /enumerateBernoulli: D must be an integer/);
  assert.throws(() => enumerateSubsets(3, 4), /enumerateSubsets: k = 4 is larger than n = 3/);
  assert.throws(() => enumerateCategorical('3' as unknown as number), (e: Error) => e instanceof TypeError);
});

// ---------------------------------------------------------------- size limits

const limits = suite('exact: supports over 2^22 outcomes are refused');

limits('refused before anything is allocated, with the count and the limit', () => {
  assert.is(MAX_OUTCOMES, 4194304);
  const refused = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: Error) => e instanceof Refusal && pattern.test(e.message) && /2\^22 = 4194304/.test(e.message));
  refused(() => enumerateBernoulli(23), /^enumerateBernoulli: D = 23 Bernoullis have 2\^23 = 8388608 outcomes/);
  refused(() => enumerateCategoricals(12, 4), /^enumerateCategoricals: D = 12 categoricals of K = 4 classes have 4\^12 = 16777216 outcomes/);
  refused(() => enumerateSubsets(30, 15), /^enumerateSubsets: .*C\(30, 15\) = 155117520 outcomes/);
  refused(() => logProbTable('bernoulli', zeros([40])), /^logProbTable: /);
  const f = quadraticFunction([0.5]);
  refused(() => exactExpectation('bernoulli', zeros([23]), f), /^exactExpectation: /);
  refused(() => exactReinforceMoments('bernoulli', zeros([23]), f), /^exactReinforceMoments: /);
  assert.ok(canEnumerate('bernoulli', [22]));
  assert.not.ok(canEnumerate('bernoulli', [23]));
  // Wide outcomes hit the element limit first: a 20 000-class identity would take 3.2 GB.
  assert.not.ok(canEnumerate('categorical', [20000]));
  assert.throws(() => enumerateCategorical(20000), (e: Error) => e instanceof Refusal && /enumerateCategorical: .*over the limit of 2\^27/.test(e.message));
});

// ---------------------------------------------------------------- the estimators' refusals

const refusals = suite('exact: Refusal, what an estimator throws for a problem too large for it');

refusals('every size refusal is a Refusal, a RangeError, with its message as it was, thrown before f is evaluated', () => {
  let evaluations = 0;
  const counted = (f: (x: Tensor) => Tensor) => (x: Tensor) => {
    evaluations++;
    return f(x);
  };
  const f23 = counted(quadraticFunction(new Array(23).fill(0.5)));
  const f12x4 = counted((x: Tensor) => sum(reshape(x, [x.shape[0], 48]), 1));
  const f60 = counted(quadraticFunction(new Array(60).fill(0)));
  const f16 = counted(quadraticFunction(new Array(16).fill(0.5)));
  const cases: [string, () => unknown, string][] = [
    ['exact, 23 Bernoullis', () => exact(bernoulli(zeros([23])), f23, rng(0)),
      'exact: the bernoulli support of event shape [23] has 2^23 outcomes, too many to enumerate (limit 4194304); use a Monte Carlo estimator such as reinforce-rloo'],
    ['exact, 12 categoricals of 4', () => exact(categorical(zeros([12, 4])), f12x4, rng(0)),
      'exact: the categorical support of event shape [12,4] has 4^12 outcomes, too many to enumerate (limit 4194304); use a Monte Carlo estimator such as reinforce-rloo'],
    ['sumAndSample, 23 Bernoullis', () => sumAndSample(bernoulli(zeros([23])), f23, rng(0)),
      "sumAndSample: the bernoulli support of event shape [23] is too large to rank (see lib/exact's limits); use reinforce or rao-blackwell"],
    ['sumAndSample, 12 categoricals of 4', () => sumAndSample(categorical(zeros([12, 4])), f12x4, rng(0)),
      "sumAndSample: the categoricals support of event shape [12,4] is too large to rank (see lib/exact's limits); use reinforce or rao-blackwell"],
    ['reinforce-structure, 1000 subsets of 15 of 16 items', () => reinforceStructure(subset(zeros([16]), 15), f16, rng(0), { n: 1000 }),
      'subsetLogProb: 1000 structures × 2^15 prefix sets × 16 elements is over the limit of 2^27 numbers; use fewer samples per call'],
    ['arsm, 8192 samples of K = 60', () => arsm(categorical(zeros([60])), f60, rng(0), { n: 8192 }),
      "arsm: n·K² pseudo-actions of 60 numbers each make 1769472000 numbers (n = 8192, K = 60), over the limit of 2^30; use fewer samples per call, or 'ar' (one evaluation of f per sample)"],
  ];
  for (const [what, call, message] of cases) {
    const error = thrown(call);
    assert.ok(error instanceof Refusal, `${what}: ${String(error)}`);
    assert.ok(error instanceof RangeError, what);
    assert.is((error as Refusal).name, 'Refusal', what);
    assert.is((error as Refusal).message, message, what);
  }
  assert.is(evaluations, 0, 'f evaluated before a refusal');
});

refusals('a bad argument to the same estimators is a RangeError and not a Refusal', () => {
  const f3 = tableFunction('categorical', [0, 1, 2]);
  const cases: [string, () => unknown, RegExp][] = [
    ['exact, n = 0', () => exact(categorical(zeros([3])), f3, rng(0), { n: 0 }), /^exact: n must be an integer ≥ 1, got 0/],
    ['sumAndSample, k = −1', () => sumAndSample(categorical(zeros([3])), f3, rng(0), { k: -1 }), /^sumAndSample: k must be a non-negative integer, got -1$/],
    ['arsm, noise off the simplex', () => arsm(categorical(zeros([3])), f3, rng(0), { n: 1, noise: tensor([[0.5, 0.5, 0.5]]) }), /^arsm: each row of options.noise must sum to 1/],
    ['exact, f of the wrong shape', () => exact(bernoulli(zeros([2])), (x: Tensor) => x, rng(0)), /^exact: f must map samples/],
  ];
  for (const [what, call, pattern] of cases) {
    const error = thrown(call);
    assert.ok(error instanceof RangeError, `${what}: ${String(error)}`);
    assert.not.ok(error instanceof Refusal, what);
    assert.match((error as Error).message, pattern, what);
  }
});

// ---------------------------------------------------------------- log-probabilities

const logprob = suite('exact: log-probabilities of every outcome');

logprob('Bernoulli table against products of sigmoids; every table sums to one', () => {
  const theta = [0.3, -1.2, 2.0];
  const lp = logProbTable('bernoulli', tensor(theta));
  const s = (t: number) => 1 / (1 + Math.exp(-t));
  for (let i = 0; i < 8; i++) {
    let p = 1;
    for (let j = 0; j < 3; j++) p *= (i >> j) & 1 ? s(theta[j]) : 1 - s(theta[j]);
    // Each side is a few roundings of O(1) numbers: 1e-14 is many ulps.
    assert.ok(Math.abs(lp.data[i] - Math.log(p)) < 1e-14, `outcome ${i}`);
  }
  const cases: [DiscreteFamily, Tensor][] = [
    ['bernoulli', tensor([0.3, -1.2, 2.0])],
    ['categorical', tensor([0.3, -1.2, 2.0, 0])],
    ['categoricals', tensor([[0.3, -1.2, 2.0], [1, 0, -1]])],
  ];
  for (const [family, logits] of cases) {
    assert.ok(Math.abs(logsumexp(logProbTable(family, logits)).item()) < 1e-14, family);
  }
});

logprob('finite at logits of ±50', () => {
  for (const [family, logits] of [
    ['bernoulli', tensor([50, -50])],
    ['categorical', tensor([50, -50, 0])],
    ['categoricals', tensor([[50, -50], [-50, 50]])],
  ] as [DiscreteFamily, Tensor][]) {
    const lp = logProbTable(family, logits);
    assert.ok(lp.data.every(Number.isFinite), `${family}: ${lp.toString()}`);
    const g = exactGradient(family, logits, quadraticFunction(family === 'categoricals' ? [0.2, 0.7] : [0.2, 0.7, 0.1].slice(0, logits.shape[0])));
    assert.ok(g.data.every(Number.isFinite), `${family} gradient: ${g.toString()}`);
  }
});

logprob('the score table is b − E[b] (exponential families in their natural parameters)', () => {
  const theta = tensor([0.4, -0.7]);
  const scores = scoreTable('bernoulli', theta); // [4, 2]
  const p = sigmoid(theta).data;
  const support = enumerateBernoulli(2);
  assertClose(scores.data, Array.from(support.data, (b, k) => b - p[k % 2]), 1e-15, 'bernoulli score');
  const logits = tensor([[0.1, 0.5, -0.3], [1, 0, 0]]);
  const cs = scoreTable('categoricals', logits); // [9, 2, 3]
  const probs = softmax(logits, -1).data;
  const cat = enumerateCategoricals(2, 3);
  assertClose(cs.data, Array.from(cat.data, (x, k) => x - probs[k % 6]), 1e-15, 'categoricals score');
});

// ---------------------------------------------------------------- gradient and Hessian

const derivatives = suite('exact: gradient and Hessian');

// Central differences with step h = 1e-5 on L(θ) = Σ p f: the truncation
// error is h²/6·|L'''| ≤ 1e-10/6 · 6 max|f| (derivatives of sigmoid and
// softmax probabilities in the logits are bounded by small constants), and
// the rounding error is about N·u·max|f| / h ≤ 27 · 1.1e-16 · 5 / 1e-5 ≈ 2e-9
// for our tables (N ≤ 27 outcomes, |f| ≤ 5). So 1e-7 is a safe absolute
// tolerance, and a gradient off by 1% (≥ 1e-3 here) cannot pass it.
const H = 1e-5;
const FD_TOL = 1e-7;

function centralDifference(F: (theta: Tensor) => Tensor, theta: Tensor, h = H): Float64Array {
  const out = new Float64Array(theta.size);
  for (let i = 0; i < theta.size; i++) {
    const plus = Float64Array.from(theta.data);
    const minus = Float64Array.from(theta.data);
    plus[i] += h;
    minus[i] -= h;
    out[i] = (F(new Tensor(plus, theta.shape)).item() - F(new Tensor(minus, theta.shape)).item()) / (2 * h);
  }
  return out;
}

const problems: { name: string; family: DiscreteFamily; logits: Tensor; f: (x: Tensor) => Tensor }[] = [
  { name: 'categorical table', family: 'categorical', logits: tensor([0.1, -0.3, 0.7]), f: tableFunction('categorical', [1.0, 0.2, -0.5]) },
  { name: 'Bernoulli table D=3', family: 'bernoulli', logits: tensor([0.8, -0.5, 0.3]), f: tableFunction('bernoulli', [-2, 3, 1, 4, -1, 2, 5, 0]) },
  { name: 'Bernoulli quadratic', family: 'bernoulli', logits: tensor([0, 1.5]), f: quadraticFunction([0.499, 0.2]) },
  {
    name: '3 categoricals table',
    family: 'categoricals',
    logits: tensor([[0.2, -0.1, 0.4], [1, 0, -1], [0.3, 0.3, -0.6]]),
    f: tableFunction('categoricals', Array.from({ length: 27 }, (_, i) => Math.sin(1.7 * i) * 4), { classes: 3 }),
  },
];

derivatives('the exact gradient matches central differences of the exact expectation', () => {
  for (const { name, family, logits, f } of problems) {
    const exact = exactGradient(family, logits, f);
    assert.equal(exact.shape, logits.shape, name);
    const numeric = centralDifference((t) => exactExpectation(family, t, f), logits);
    assertClose(exact.data, numeric, FD_TOL, name);
  }
});

derivatives('the check rejects a gradient with one coordinate off by 1%', () => {
  const { family, logits, f } = problems[1];
  const numeric = centralDifference((t) => exactExpectation(family, t, f), logits);
  const wrong = Float64Array.from(exactGradient(family, logits, f).data);
  wrong[0] *= 1.01;
  assert.is(firstMismatch(wrong, numeric, FD_TOL), 0);
});

derivatives('closed forms: categorical p_j (f_j − E f); Bernoulli p(1−p)(f_1 − f_0) for D = 1', () => {
  // Both sides sum a handful of O(1) products: agreement to 1e-14 is a few ulps.
  const logits = tensor([0.1, -0.3, 0.7]);
  const values = [1.0, 0.2, -0.5];
  const p = softmax(logits).data;
  const mean = p.reduce((a, pj, j) => a + pj * values[j], 0);
  const formula = Array.from(p, (pj, j) => pj * (values[j] - mean));
  assertClose(exactGradient('categorical', logits, tableFunction('categorical', values)).data, formula, 1e-14, 'categorical');
  assertClose(categoricalTableGradient(logits, values).data, formula, 1e-14, 'categoricalTableGradient');

  for (const theta of [-2, 0, 0.5, 3]) {
    const q = 1 / (1 + Math.exp(-theta));
    const [f0, f1] = [0.3, 1.1];
    const g = exactGradient('bernoulli', tensor([theta]), tableFunction('bernoulli', [f0, f1])).item();
    assert.ok(Math.abs(g - q * (1 - q) * (f1 - f0)) < 1e-14, `θ = ${theta}`);
  }
  const { logits: bl } = problems[1];
  const values8 = [-2, 3, 1, 4, -1, 2, 5, 0];
  assertClose(exactGradient('bernoulli', bl, tableFunction('bernoulli', values8)).data, bernoulliTableGradient(bl, values8).data, 1e-14, 'Bernoulli D=3');
});

derivatives('the exact Hessian matches central differences of the exact gradient, and is symmetric', () => {
  // Same bound as for the gradient, with the gradient (a backward pass, a few
  // times more roundings) in place of L: 1e-6 absolute.
  for (const { name, family, logits, f } of problems) {
    const P = logits.size;
    const hess = exactHessian(family, logits, f);
    assert.equal(hess.shape, [P, P], name);
    for (let i = 0; i < P; i++) {
      const row = new Float64Array(P);
      for (let k = 0; k < P; k++) {
        const plus = Float64Array.from(logits.data);
        const minus = Float64Array.from(logits.data);
        plus[k] += H;
        minus[k] -= H;
        row[k] = (exactGradient(family, new Tensor(plus, logits.shape), f).data[i] - exactGradient(family, new Tensor(minus, logits.shape), f).data[i]) / (2 * H);
      }
      assertClose(hess.data.subarray(i * P, (i + 1) * P), row, 1e-6, `${name}: Hessian row ${i}`);
      for (let k = 0; k < P; k++) assert.ok(Math.abs(hess.data[i * P + k] - hess.data[k * P + i]) < 1e-14, `${name}: symmetric at ${i},${k}`);
    }
  }
  // Closed form for D = 1: d²/dθ² p(1−p)(f_1 − f_0) = p(1−p)(1−2p)(f_1 − f_0).
  const theta = 0.7;
  const q = 1 / (1 + Math.exp(-theta));
  const h = exactHessian('bernoulli', tensor([theta]), tableFunction('bernoulli', [0.3, 1.1])).item();
  assert.ok(Math.abs(h - q * (1 - q) * (1 - 2 * q) * 0.8) < 1e-14);
});

derivatives('f returning the wrong shape is refused', () => {
  assert.throws(
    () => exactExpectation('categorical', tensor([0, 1]), (x) => x),
    /exactExpectation: f must return values of shape \[2\], got \[2,2\]/,
  );
  assert.throws(() => exactExpectation('categorical', tensor([[0, 1]]), (x) => x), /'categorical' logits must have shape \[K\], got \[1,2\]; use 'categoricals'/);
  assert.throws(() => exactExpectation('bernoulli', tensor([0, NaN]), (x) => x), /exactExpectation: logits must be finite, got NaN at flat index 1/);
  assert.throws(() => exactMoments('bernoulli', tensor([0, 1]), () => zeros([3, 2])), /exactMoments: perOutcome must map the 4 outcomes to a tensor with 4 rows, got shape \[3,2\]/);
});

// ---------------------------------------------------------------- moments of REINFORCE

const moments = suite('exact: moments of single-sample REINFORCE');

moments('the exact mean is the exact gradient; covariance has the variance on its diagonal', () => {
  for (const { name, family, logits, f } of problems) {
    const m = exactReinforceMoments(family, logits, f);
    assert.equal(m.mean.shape, logits.shape, name);
    assert.equal(m.variance.shape, logits.shape, name);
    assert.equal(m.covariance.shape, [logits.size, logits.size], name);
    // Sums of ≤ 27 products of O(1) numbers on each side: 1e-13.
    assertClose(m.mean.data, exactGradient(family, logits, f).data, 1e-13, `${name}: mean`);
    const P = logits.size;
    for (let i = 0; i < P; i++) {
      assert.ok(Math.abs(m.covariance.data[i * P + i] - m.variance.data[i]) < 1e-13, `${name}: diagonal ${i}`);
      for (let k = 0; k < P; k++) assert.ok(Math.abs(m.covariance.data[i * P + k] - m.covariance.data[k * P + i]) < 1e-14);
    }
  }
});

moments('exactMoments of a constant estimator has zero variance; of the one-hot sample, p − p²', () => {
  const logits = tensor([0.2, -0.4, 1.1]);
  const constant = exactMoments('categorical', logits, () => zeros([3, 2]));
  assert.ok(constant.variance.data.every((v) => v === 0));
  const onehot = exactMoments('categorical', logits, (s) => s);
  const p = softmax(logits).data;
  assertClose(onehot.mean.data, p, 1e-15, 'mean');
  assertClose(onehot.variance.data, Array.from(p, (q) => q * (1 - q)), 1e-15, 'variance');
  // Off the diagonal the multinomial covariance −p_i p_j.
  assert.ok(Math.abs(onehot.covariance.data[1] + p[0] * p[1]) < 1e-15);
});

/** E[(y − E y)^4] by enumeration: the fourth central moment that sets the variance of a sample variance. */
function fourthMoment(m: ExactMoments, project: (row: Float64Array) => number): { mean: number; variance: number; mu4: number } {
  const N = m.probabilities.size;
  const M = m.values.size / N;
  const p = m.probabilities.data;
  const y = Array.from({ length: N }, (_, i) => project(m.values.data.subarray(i * M, (i + 1) * M)));
  const mean = y.reduce((a, yi, i) => a + p[i] * yi, 0);
  const variance = y.reduce((a, yi, i) => a + p[i] * (yi - mean) ** 2, 0);
  const mu4 = y.reduce((a, yi, i) => a + p[i] * (yi - mean) ** 4, 0);
  return { mean, variance, mu4 };
}

/**
 * For n i.i.d. draws y, the unbiased sample variance s² has mean σ² and
 * variance (μ4 − σ⁴)/n + O(1/n²), and is asymptotically normal (CLT on the
 * squares); the sample mean has standard error σ/√n. Each claimed moment
 * gets a z-score; p-values are combined with Holm at family-wise α.
 */
function momentCheck(samples: Float64Array[], claims: { mean: number; variance: number; mu4: number; trueVariance: number }[], alpha: number) {
  const pValues: number[] = [];
  const z: number[] = [];
  samples.forEach((y, j) => {
    const { zMean, zVar } = momentZ(y, claims[j], claims[j].trueVariance);
    z.push(zMean, zVar);
    pValues.push(twoSidedP(zMean), twoSidedP(zVar));
  });
  const rejected = holm(pValues, alpha);
  return { z, rejected: rejected.some((r) => r) };
}

// False-positive rate: α = 0.001 family-wise per run (Holm over the means and
// variances of every coordinate and one projection). Power: with n draws the
// sample variance has sd √((μ4 − σ⁴)/n); a variance formula that forgets to
// subtract E[g]² is off by E[g]², which is ≥ 9.9 of those sds for the
// Bernoulli problem (n = 200 000) and ≥ 64 for the categorical one
// (n = 100 000) on its largest coordinate: rejected with certainty in practice.
const ALPHA = 0.001;

function reinforceDraws(family: 'bernoulli' | 'categorical', logits: Tensor, f: (x: Tensor) => Tensor, n: number, seed: number): Tensor {
  const r = rng(seed);
  if (family === 'bernoulli') {
    const D = logits.size;
    const p = sigmoid(logits);
    const b = less(r.uniform([n, D]), p); // [n, D]: b_j = 1 with probability σ(θ_j)
    return mul(reshape(f(b), [n, 1]), sub(b, p)); // f(b) (b − σ(θ)): the Bernoulli score in closed form
  }
  const K = logits.size;
  const b = oneHot(argmax(add(logits, r.gumbel([n, K])), -1), K); // Gumbel-max
  return mul(reshape(f(b), [n, 1]), sub(b, softmax(logits))); // f(b) (onehot(b) − softmax(θ))
}

function columns(g: Tensor): Float64Array[] {
  return Array.from({ length: g.shape[1] }, (_, j) => column(g, j));
}

function project(g: Tensor, a: readonly number[]): Float64Array {
  const [n, M] = g.shape;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < M; j++) out[i] += a[j] * g.data[i * M + j];
  return out;
}

const mcCases = [
  { family: 'bernoulli' as const, logits: tensor([0.8, -0.5, 0.3]), values: [-2, 3, 1, 4, -1, 2, 5, 0], n: 200000, seed: 31, direction: [1, -1, 1] },
  { family: 'categorical' as const, logits: tensor([0.5, -0.2, 1.0, -1.0]), values: [3, -1, 0.5, 2], n: 100000, seed: 32, direction: [1, -1, 1, -1] },
];

moments('the exact variance and covariance match a large Monte Carlo run; forgetting E[g]² is rejected', () => {
  for (const { family, logits, values, n, seed, direction } of mcCases) {
    const f = tableFunction(family, values);
    const m = exactReinforceMoments(family, logits, f);
    const g = reinforceDraws(family, logits, f, n, seed); // [n, P]
    const P = logits.size;
    const C = m.covariance.data;

    // Per coordinate, and one projection a·g whose variance aᵀ Σ a uses the off-diagonal covariances.
    const perCoordinate = Array.from({ length: P }, (_, j) => fourthMoment(m, (row) => row[j]));
    const projected = fourthMoment(m, (row) => direction.reduce((acc, a, j) => acc + a * row[j], 0));
    let quadratic = 0;
    let diagonalOnly = 0;
    for (let j = 0; j < P; j++) {
      diagonalOnly += direction[j] ** 2 * C[j * P + j];
      for (let k = 0; k < P; k++) quadratic += direction[j] * direction[k] * C[j * P + k];
    }
    const samples = [...columns(g), project(g, direction)];
    const truth = [...perCoordinate, projected];
    const claimsOf = (variances: number[]) =>
      truth.map((t, j) => ({ mean: t.mean, variance: variances[j], mu4: t.mu4, trueVariance: t.variance }));

    const right = momentCheck(samples, claimsOf([...m.variance.data, quadratic]), ALPHA);
    assert.not.ok(right.rejected, `${family}: exact moments rejected, z = ${right.z.map((z) => z.toFixed(2)).join(', ')}`);

    // The deliberately wrong variance E[g²] (no − E[g]²) must fail the same check.
    const secondMoments = Array.from(m.variance.data, (v, j) => v + m.mean.data[j] ** 2);
    const wrong = momentCheck(samples, claimsOf([...secondMoments, quadratic]), ALPHA);
    assert.ok(wrong.rejected, `${family}: E[g²] passed as the variance, z = ${wrong.z.map((z) => z.toFixed(2)).join(', ')}`);

    // And so must a covariance that drops its off-diagonal terms.
    const diagonal = momentCheck(samples, claimsOf([...m.variance.data, diagonalOnly]), ALPHA);
    assert.ok(diagonal.rejected, `${family}: a diagonal covariance passed, z = ${diagonal.z.map((z) => z.toFixed(2)).join(', ')}`);
  }
});

enumeration.run();
limits.run();
refusals.run();
logprob.run();
derivatives.run();
moments.run();
