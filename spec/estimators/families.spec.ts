// estimators/families.ts: sampling by inversion (sample, sampleByInversion).
//   law: χ² goodness of fit of the drawn classes and bits against softmax θ
//   and σ(θ), per row, untiled and tiled (α = 1e-4 per test); power: the same
//   test rejects draws from logits moved by 0.15 in one class;
//   the map from uniforms to outcomes: scripted uniforms at the edges of the
//   cumulative probabilities, a class of probability 0 never drawn, the
//   largest uniform taking the last class of positive probability;
//   tiled Bernoulli logits (σ reused while a logit repeats) in runs and
//   alternating.
// logProbAt: for a Bernoulli and a hard sample, log σ(s·l) with s = 2b − 1
//   equals logProb's b log σ(l) + (1 − b) log σ(−l) in value, first and second
//   derivatives (and finite differences); a soft or traced x takes logProb.
//   For a categorical and one-hot rows, log θ at each row's class (a gather)
//   equals Σ_k x_k log θ_k, tiled and untiled, gradient and Hessian included,
//   and is finite where an undrawn class has probability 0; other x take the
//   product.
// relaxationBase: for a categorical at one temperature, z = logits + G
//   differs from perturb's log θ + G by one constant per row, so the hard
//   sample and σ_τ(z) are the same (to rounding), and so is the gradient of
//   f(σ_τ(z)) in the logits, which logSoftmax's Jacobian on the path would
//   change if σ_τ did not cancel the constant (f of z itself: the two
//   gradients differ); at a temperature per class it is log θ, perturb's z
//   bit for bit; a Bernoulli's is its logits; a normal is refused.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, tensor, rng, ScriptedRng, softmax, sigmoid, categorical, bernoulli, normal, sample, grad, sum, mul, logProb, logSoftmax, broadcastTo, perturb, hard, relaxed, drawNoise, square, scalar, add } from '../../index.ts';
import { sampleByInversion, location, logProbAt, relaxationBase } from '../../estimators/families.ts';
import { checkGrads } from '../harness/checkGrads.ts';
import { chiSquareTest } from '../../lib/stats.ts';

const ALPHA = 1e-4;

/** Counts of each class over n one-hot samples of one row `row` (samples [n, ...rows, K]). */
function classCounts(b: Tensor, rows: number, row: number): number[] {
  const K = b.shape[b.rank - 1];
  const n = b.shape[0];
  const counts = new Array<number>(K).fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) counts[k] += b.data[(i * rows + row) * K + k];
  }
  return counts;
}

const law = suite('sampling by inversion: the law');

law('categorical [2, 5]: each row χ²-fits softmax θ; logits moved by 0.15 are rejected', () => {
  const logits = tensor([[0.3, -1.2, 0.8, 0, -0.4], [2, -2, 0.5, 0.1, -0.3]]);
  const n = 40000;
  const b = sample(categorical(logits), rng(11), n);
  assert.equal(b.shape, [n, 2, 5]);
  const theta = softmax(logits, -1).data;
  for (let r = 0; r < 2; r++) {
    const p = Array.from(theta.subarray(5 * r, 5 * r + 5));
    const counts = classCounts(b, 2, r);
    assert.is(counts.reduce((a, c) => a + c, 0), n, 'one class per sample');
    assert.ok(chiSquareTest(counts, p).pValue > ALPHA, `row ${r}: ${counts}`);
    // Power: the same test, against draws from logits with class 0 moved by 0.15.
    const moved = Array.from(logits.data);
    moved[5 * r] += 0.15;
    const other = sample(categorical(tensor(moved, [2, 5])), rng(12), n);
    assert.ok(chiSquareTest(classCounts(other, 2, r), p).pValue < ALPHA, `row ${r}: moved logits not rejected`);
  }
});

law('tiled: sample i of row r follows its own copy θ_ir', () => {
  const n = 20000;
  // Even samples see one law, odd samples another.
  const a = [1, 0, -1];
  const c = [-1, 0.5, 0.2];
  const rows = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? a : c)).flat();
  const dist = categorical(tensor(rows, [n, 3]));
  const b = sampleByInversion(dist, location(dist), rng(13), n, true);
  assert.equal(b.shape, [n, 3]);
  for (const [parity, logits] of [[0, a], [1, c]] as const) {
    const counts = [0, 0, 0];
    for (let i = parity; i < n; i += 2) for (let k = 0; k < 3; k++) counts[k] += b.data[3 * i + k];
    const p = Array.from(softmax(tensor(logits), -1).data);
    assert.ok(chiSquareTest(counts, p).pValue > ALPHA, `parity ${parity}: ${counts}`);
  }
});

law('Bernoulli [3]: each bit χ²-fits σ(θ)', () => {
  const logits = tensor([-2, 0.4, 3]);
  const n = 40000;
  const b = sample(bernoulli(logits), rng(14), n);
  assert.equal(b.shape, [n, 3]);
  const p = sigmoid(logits).data;
  for (let j = 0; j < 3; j++) {
    let ones = 0;
    for (let i = 0; i < n; i++) ones += b.data[3 * i + j];
    assert.ok(chiSquareTest([n - ones, ones], [1 - p[j], p[j]]).pValue > ALPHA, `bit ${j}: ${ones} of ${n}`);
  }
});

law('Bernoulli, tiled: logits in runs of equal values and alternating each χ²-fit σ(θ)', () => {
  const n = 40000;
  // The first half in runs of 1000 of −1.5 then 0.7; the second half alternating 0.7, −1.5.
  const values = [-1.5, 0.7];
  const logitOf = (i: number) => (i < n / 2 ? values[Math.floor(i / 1000) % 2] : values[(i + 1) % 2]);
  const logits = tensor(Array.from({ length: n }, (_, i) => logitOf(i)), [n, 1]);
  const dist = bernoulli(logits);
  const b = sampleByInversion(dist, location(dist), rng(15), n, true).data;
  for (const [half, from] of [['runs', 0], ['alternating', n / 2]] as const) {
    for (const value of values) {
      let ones = 0;
      let draws = 0;
      for (let i = from; i < from + n / 2; i++) {
        if (logitOf(i) !== value) continue;
        ones += b[i];
        draws++;
      }
      const p = 1 / (1 + Math.exp(-value));
      assert.is(draws, n / 4);
      assert.ok(chiSquareTest([draws - ones, ones], [1 - p, p]).pValue > ALPHA, `${half}, logit ${value}: ${ones} of ${draws}`);
    }
  }
});

law.run();

const score = suite('logProbAt of a Bernoulli');

score('a hard sample: value, gradient and Hessian equal logProb\'s, and match finite differences', () => {
  const logits = tensor([[-3, 0.4, 2.5], [0.1, -0.7, 30]]);
  const b = tensor([[1, 0, 0], [0, 1, 1]]);
  const fast = (l: Tensor) => logProbAt(bernoulli(l), l, b);
  const general = (l: Tensor) => logProb(bernoulli(l), b);
  const w = tensor([0.3, -1.1]);
  const close = (x: Tensor, y: Tensor, what: string) => {
    for (let i = 0; i < x.size; i++) assert.ok(Math.abs(x.data[i] - y.data[i]) <= 1e-15 * (1 + Math.abs(y.data[i])), `${what} at ${i}: ${x.data[i]} against ${y.data[i]}`);
  };
  close(fast(logits), general(logits), 'value');
  const g = (h: (l: Tensor) => Tensor) => grad((l: Tensor) => sum(mul(h(l), w)));
  close(g(fast)(logits), g(general)(logits), 'gradient');
  const hvp = (h: (l: Tensor) => Tensor) => grad((l: Tensor) => sum(mul(g(h)(l), logits)));
  close(hvp(fast)(logits), hvp(general)(logits), 'Hessian-vector product');
  checkGrads(fast, [logits], { order: 2 });
});

score('infinite logits: a sample that has probability 1 has log p = 0, not NaN', () => {
  const logits = tensor([Infinity, -Infinity]);
  const lp = logProbAt(bernoulli(logits), logits, tensor([[1, 0]]));
  assert.equal(Array.from(lp.data), [0]);
});

score('a soft x or one on the tape takes logProb', () => {
  const logits = tensor([0.5, -1]);
  const soft = tensor([[0.25, 1]]);
  assert.equal(Array.from(logProbAt(bernoulli(logits), logits, soft).data), Array.from(logProb(bernoulli(logits), soft).data));
  // d/dx of x log σ(l) + (1 − x) log σ(−l) is l, so the traced x must take the general form.
  const dx = grad((x: Tensor) => sum(logProbAt(bernoulli(logits), logits, x)))(tensor([[1, 0]]));
  assert.equal(Array.from(dx.data), [0.5, -1]);
});

const categoricalScore = suite('logProbAt of a categorical');

const closeTo = (x: Tensor, y: Tensor, what: string) => {
  assert.equal(x.shape, y.shape, `${what}: shape`);
  for (let i = 0; i < x.size; i++) assert.ok(Math.abs(x.data[i] - y.data[i]) <= 1e-15 * (1 + Math.abs(y.data[i])), `${what} at ${i}: ${x.data[i]} against ${y.data[i]}`);
};

categoricalScore('one-hot rows: log θ at the class equals Σ x log θ, tiled and untiled, with gradient and Hessian', () => {
  const logits = tensor([[0.3, -1.2, 0.8, 0], [2, -2, 0.5, 0.1]]); // [B = 2, K = 4]
  const b = tensor([[[0, 0, 1, 0], [1, 0, 0, 0]], [[0, 1, 0, 0], [0, 0, 0, 1]], [[0, 0, 1, 0], [0, 0, 1, 0]]]); // [n = 3, 2, 4]
  const w = tensor([0.7, -1.3, 0.4]);
  const tile = (l: Tensor) => broadcastTo(l, [3, 2, 4]);
  const cases = [
    ['untiled', (l: Tensor) => logProbAt(categorical(l), logSoftmax(l), b), (l: Tensor) => logProb(categorical(l), b)],
    ['tiled', (l: Tensor) => logProbAt(categorical(tile(l)), logSoftmax(tile(l)), b), (l: Tensor) => logProb(categorical(tile(l)), b)],
  ] as const;
  for (const [what, fast, general] of cases) {
    closeTo(fast(logits), general(logits), `${what} value`);
    const g = (h: (l: Tensor) => Tensor) => grad((l: Tensor) => sum(mul(h(l), w)));
    closeTo(g(fast)(logits), g(general)(logits), `${what} gradient`);
    const hvp = (h: (l: Tensor) => Tensor) => grad((l: Tensor) => sum(mul(g(h)(l), logits)));
    closeTo(hvp(fast)(logits), hvp(general)(logits), `${what} Hessian-vector product`);
    checkGrads(fast, [logits], { order: 2 });
  }
});

categoricalScore('a class of probability 0 that is not drawn leaves log p finite', () => {
  const logits = tensor([0, -Infinity, 1]);
  const lp = logProbAt(categorical(logits), logSoftmax(logits), tensor([[1, 0, 0], [0, 0, 1]]));
  const expected = [0, 1].map((k) => k - Math.log(1 + Math.E));
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(lp.data[i] - expected[i]) < 1e-15, `${lp.data[i]} against ${expected[i]}`);
});

categoricalScore('rows that are not one-hot take Σ x log θ', () => {
  const logits = tensor([0.5, -1, 0.2]);
  const loc = logSoftmax(logits);
  for (const x of [tensor([[0.2, 0.8, 0]]), tensor([[1, 1, 0]]), tensor([[0, 0, 0]]), tensor([[1, 0, 0], [0, 2, 0]])]) {
    assert.equal(Array.from(logProbAt(categorical(logits), loc, x).data), Array.from(logProb(categorical(logits), x).data), JSON.stringify(x.toArray()));
  }
});

categoricalScore.run();

score.run();

const map = suite('sampling by inversion: uniforms to outcomes');

map('a uniform picks the class whose slice of the cumulative probabilities holds it', () => {
  const logits = tensor([Math.log(0.2), Math.log(0.5), Math.log(0.3)]);
  const dist = categorical(logits);
  const u = [0.1, 0.1999, 0.2001, 0.69, 0.71, 0.999];
  const expected = [0, 0, 1, 1, 2, 2];
  const b = sample(dist, new ScriptedRng(u), u.length);
  for (let i = 0; i < u.length; i++) assert.is(Array.from(b.data.subarray(3 * i, 3 * i + 3)).indexOf(1), expected[i], `u = ${u[i]}`);
  const bits = sample(bernoulli(tensor([0])), new ScriptedRng([0.4999, 0.5001]), 2).data;
  assert.equal(Array.from(bits), [1, 0], 'b = [u < σ(θ)]');
});

map('a class of probability 0 is never drawn, even at u next to 0 or 1', () => {
  const dist = categorical(tensor([-Infinity, 0, -Infinity, 0.5, -Infinity]));
  const b = sample(dist, new ScriptedRng([1e-300, 0.5, 1 - 2 ** -53]), 3);
  const classes = [0, 1, 2].map((i) => Array.from(b.data.subarray(5 * i, 5 * i + 5)).indexOf(1));
  assert.equal(classes, [1, 3, 3]);
});

map('the largest uniform, 1 − 2⁻⁵³, takes the last class of positive probability; a NaN row takes class 0', () => {
  // Ten probabilities of 0.1, whose running sum stops short of 1 in floating point, and a class of 0.
  const logits = tensor(Array.from({ length: 10 }, () => Math.log(0.1)).concat([-Infinity]));
  const b = sample(categorical(logits), new ScriptedRng([1 - 2 ** -53]), 1);
  assert.is(Array.from(b.data).indexOf(1), 9);
  const nan = sample(categorical(tensor([NaN, 0, 1])), new ScriptedRng([0.5]), 1);
  assert.equal(Array.from(nan.data), [1, 0, 0]);
});

map.run();

const shifted = suite('relaxationBase: z up to a constant per row');

const LOGITS = [[1.5, -0.25, 0.75, -2], [0, 3, -1, 0.5], [-0.5, -0.5, 2, 1]];
const WEIGHTS = tensor([[0.3, -1.2, 0.8, 2.0], [-0.7, 0.4, 1.1, -0.2], [1.3, 0.6, -0.9, 0.05]]);
const noiseOf = (logits: Tensor): Tensor => drawNoise(categorical(logits), rng(7), 1000);
const relaxedZ = (dist: Parameters<typeof relaxationBase>[0], noise: Tensor, t: Tensor | number): Tensor => add(relaxationBase(dist, t), noise);

shifted('categorical, one temperature: the same hard samples; z − perturb\'s z is one constant per row', () => {
  const logits = tensor(LOGITS);
  const noise = noiseOf(logits);
  const z = relaxedZ(categorical(logits), noise, 0.5);
  const zNorm = perturb(categorical(logits), noise);
  assert.equal(Array.from(hard('categorical', z).data), Array.from(hard('categorical', zNorm).data));
  const K = 4;
  for (let row = 0; row < z.size / K; row++) {
    const shift = z.data[row * K] - zNorm.data[row * K];
    for (let k = 1; k < K; k++) assert.ok(Math.abs(z.data[row * K + k] - zNorm.data[row * K + k] - shift) < 1e-13, `row ${row}, class ${k}`);
  }
  // A temperature with a last axis of 1 is one temperature per row too.
  assert.is(relaxationBase(categorical(logits), tensor([[0.5], [1], [2]])), logits);
});

shifted('categorical, one temperature: σ_τ(z) and the gradient of f(σ_τ(z)) in the logits are perturb\'s to rounding; f of z itself tells them apart', () => {
  const noise = noiseOf(tensor(LOGITS));
  const f = (z: Tensor): Tensor => sum(mul(square(relaxed('categorical', z, 0.5)), broadcastTo(WEIGHTS, [1000, 3, 4])));
  const g = grad((l: Tensor) => f(relaxedZ(categorical(l), noise, 0.5)))(tensor(LOGITS));
  const gNorm = grad((l: Tensor) => f(perturb(categorical(l), noise)))(tensor(LOGITS));
  const soft = relaxed('categorical', relaxedZ(categorical(tensor(LOGITS)), noise, 0.5), 0.5);
  const softNorm = relaxed('categorical', perturb(categorical(tensor(LOGITS)), noise), 0.5);
  for (let i = 0; i < soft.size; i++) assert.ok(Math.abs(soft.data[i] - softNorm.data[i]) <= 1e-13, `σ_τ at ${i}`);
  let largest = 0;
  for (let i = 0; i < g.size; i++) {
    assert.ok(Math.abs(g.data[i] - gNorm.data[i]) <= 1e-12 * (1 + Math.abs(gNorm.data[i])), `coordinate ${i}: ${g.data[i]} against ${gNorm.data[i]}`);
    largest = Math.max(largest, Math.abs(gNorm.data[i]));
  }
  assert.ok(largest > 1, 'the gradient is not trivially zero');
  // Without σ_τ between them the constant matters: a function of z itself sees it.
  const raw = (z: Tensor): Tensor => sum(mul(z, broadcastTo(WEIGHTS, [1000, 3, 4])));
  const h = grad((l: Tensor) => raw(relaxedZ(categorical(l), noise, 0.5)))(tensor(LOGITS));
  const hNorm = grad((l: Tensor) => raw(perturb(categorical(l), noise)))(tensor(LOGITS));
  assert.ok(Math.abs(h.data[0] - hNorm.data[0]) > 1, `${h.data[0]} against ${hNorm.data[0]}`);
});

shifted('categorical, a temperature per class: log θ, perturb\'s z bit for bit (softmax(z/τ) would see the constant)', () => {
  const logits = tensor(LOGITS);
  const noise = noiseOf(logits);
  const tau = tensor([0.3, 0.5, 1, 2]);
  assert.equal(Array.from(relaxedZ(categorical(logits), noise, tau).data), Array.from(perturb(categorical(logits), noise).data));
});

shifted('a Bernoulli\'s base is its logits, at any temperature; a normal has no logits', () => {
  const dist = bernoulli(tensor([0.3, -1.7]));
  const noise = drawNoise(dist, rng(9), 50);
  for (const t of [0.5, tensor([0.3, 2])]) assert.equal(Array.from(relaxedZ(dist, noise, t).data), Array.from(perturb(dist, noise).data));
  assert.throws(() => relaxationBase(normal(scalar(0), scalar(1)), 0.5), /relaxationBase: the normal family has no logits/);
});

shifted.run();
