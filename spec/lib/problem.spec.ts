import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  tensor,
  softmax,
  parseProblem,
  ProblemError,
  bernoulliTableGradient,
  exactGradient,
  grad,
  subsetExpectation,
  spanningTreeExpectation,
  completeGraph,
  enumerateSpanningTrees,
  enumerateSubsets,
  exactExpectation,
  type DiscreteFamily,
  type Tensor,
  type NormalParams,
  type LogitParams,
} from '../../index.ts';

// The exact values below are sums of a handful of O(1) products computed two
// ways (engine and closed form): they agree to a few ulps, so 1e-14.
const TOL = 1e-14;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = TOL): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

const sigma = (t: number) => 1 / (1 + Math.exp(-t));

// ---------------------------------------------------------------- the examples of DESIGN.md

const examples = suite('problem: the examples of DESIGN.md');

examples('categorical table: ∂/∂θ_j E[f] = p_j (f_j − E f)', () => {
  const p = parseProblem({ family: 'categorical', logits: [0.1, -0.3, 0.7], f: { kind: 'table', values: [1.0, 0.2, -0.5] } });
  assert.is(p.family, 'categorical');
  if (p.family !== 'categorical') return assert.unreachable('not a categorical');
  assert.is(p.discreteFamily, 'categorical');
  assert.equal(p.params.logits.toArray(), [0.1, -0.3, 0.7]);
  assert.equal(p.eventShape, [3]);
  assert.is(p.f.kind, 'table');
  assert.equal(Array.from(p.f(tensor([[0, 1, 0], [0, 0, 1]])).data), [0.2, -0.5]);
  const probs = softmax(p.params.logits).data;
  const values = [1.0, 0.2, -0.5];
  const mean = values.reduce((a, v, j) => a + probs[j] * v, 0);
  const exact = p.exact!;
  assert.is(exact.method, 'enumeration');
  assert.ok(Math.abs(exact.value().item() - mean) < TOL);
  assertClose(exact.gradient().logits.data, Array.from(probs, (q, j) => q * (values[j] - mean)), 'gradient');
  assert.match(p.description, /^categorical K=3, logits \[0\.1, -0\.3, 0\.7\]; f: table/);
});

examples('Bernoulli table: against the plain-arithmetic closed form', () => {
  const p = parseProblem({ family: 'bernoulli', logits: [0, 0.5], f: { kind: 'table', values: [0.3, 1.1, -0.2, 0.9] } });
  assert.is(p.family, 'bernoulli');
  // b = (b_0, b_1) = (1, 0) is outcome 1.
  assert.is(p.f(tensor([[1, 0]])).item(), 1.1);
  const q = [sigma(0), sigma(0.5)];
  const values = [0.3, 1.1, -0.2, 0.9];
  let mean = 0;
  for (let i = 0; i < 4; i++) mean += values[i] * (i & 1 ? q[0] : 1 - q[0]) * (i & 2 ? q[1] : 1 - q[1]);
  assert.ok(Math.abs(p.exact!.value().item() - mean) < TOL);
  assertClose((p.exact!.gradient() as LogitParams).logits.data, bernoulliTableGradient([0, 0.5], values).data, 'gradient');
});

examples('Bernoulli quadratic, t = 0.499: E = p(1 − 2t) + t², gradient p(1 − p)(1 − 2t)', () => {
  const p = parseProblem({ family: 'bernoulli', logits: [0], f: { kind: 'quadratic', target: [0.499] } });
  const t = 0.499;
  const q = sigma(0);
  assert.is(p.f.kind, 'quadratic');
  assert.ok(Math.abs(p.exact!.value().item() - (q * (1 - 2 * t) + t * t)) < TOL);
  assertClose((p.exact!.gradient() as LogitParams).logits.data, [q * (1 - q) * (1 - 2 * t)], 'gradient');
});

examples('normal quadratic: E = (μ − t)² + σ², gradient 2(μ − t) and 2σ, in closed form', () => {
  const p = parseProblem({ family: 'normal', loc: [0.5], scale: [1.0], f: { kind: 'quadratic', target: [2.0] } });
  if (p.family !== 'normal') return assert.unreachable('a normal');
  assert.equal(p.params.loc.toArray(), [0.5]);
  assert.equal(p.params.scale.toArray(), [1]);
  const exact = p.exact!;
  assert.is(exact.method, 'closed form');
  assert.is(exact.value().item(), (0.5 - 2) ** 2 + 1);
  const g = exact.gradient();
  assert.equal(g.loc.toArray(), [2 * (0.5 - 2)]);
  assert.equal(g.scale.toArray(), [2 * 1]);
  // At other parameters too, for D = 2.
  const q = parseProblem({ family: 'normal', loc: [0.5, -1], scale: [2, 0.3], f: { kind: 'quadratic', target: [2.0, 1.0] } });
  if (q.family !== 'normal') return assert.unreachable('a normal');
  const at: NormalParams = { loc: tensor([1, 1]), scale: tensor([0.5, 3]) };
  assert.ok(Math.abs(q.exact!.value(at).item() - (1 + 0 + 0.25 + 9)) < TOL);
  const g2 = q.exact!.gradient(at);
  assert.equal(g2.loc.toArray(), [-2, 0]);
  assert.equal(g2.scale.toArray(), [1, 6]);
});

examples('a JSON string is accepted, and an optional description is kept', () => {
  const p = parseProblem('{ "family": "bernoulli", "logits": [0], "f": { "kind": "quadratic", "target": [0.499] }, "description": "the REBAR toy" }');
  assert.is(p.description, 'the REBAR toy');
});

// ---------------------------------------------------------------- extensions

const extensions = suite('problem: products of categoricals and large supports');

extensions('a [D, K] matrix of logits is a product of categoricals', () => {
  const logits = [[0.1, -0.3, 0.7], [0, 0.5, -0.5]];
  const values = Array.from({ length: 9 }, (_, i) => i - 4);
  const p = parseProblem({ family: 'categorical', logits, f: { kind: 'table', values } });
  if (p.family !== 'categorical') return assert.unreachable('not a categorical');
  assert.is(p.discreteFamily, 'categoricals');
  assert.equal(p.eventShape, [2, 3]);
  assertClose(p.exact!.gradient().logits.data, exactGradient('categoricals', tensor(logits), p.f).data, 'gradient');
  const q = parseProblem({ family: 'categorical', logits, f: { kind: 'quadratic', target: [1, 0, 0] } });
  assert.equal(q.eventShape, [2, 3]);
});

extensions('a quadratic on a support too large to enumerate uses its closed form, and so does one on a small support', () => {
  const big = parseProblem({ family: 'bernoulli', logits: Array.from({ length: 30 }, (_, j) => Math.sin(j)), f: { kind: 'quadratic', target: Array(30).fill(0.45) } });
  assert.is(big.exact!.method, 'closed form');
  const q = Array.from({ length: 30 }, (_, j) => sigma(Math.sin(j)));
  assert.ok(Math.abs(big.exact!.value().item() - q.reduce((a, pj) => a + pj * 0.1 + 0.45 ** 2, 0)) < 1e-13);
  assertClose((big.exact!.gradient() as LogitParams).logits.data, q.map((pj) => pj * (1 - pj) * 0.1), 'closed-form gradient');

  // The same formula by hand on a small support, which the closed form now serves too (enumeration: next test).
  const small = parseProblem({ family: 'bernoulli', logits: [0.3, -0.8, 1.2], f: { kind: 'quadratic', target: [0.1, 0.9, 0.45] } });
  assert.is(small.exact!.method, 'closed form');
  const qs = [0.3, -0.8, 1.2].map(sigma);
  const t = [0.1, 0.9, 0.45];
  assert.ok(Math.abs(small.exact!.value().item() - qs.reduce((a, pj, j) => a + pj * (1 - 2 * t[j]) + t[j] ** 2, 0)) < TOL);

  // A table this large cannot be given at all: its length is checked first.
  assert.throws(() => parseProblem({ family: 'bernoulli', logits: Array(30).fill(0), f: { kind: 'table', values: [1, 2] } }), /2\^30 = 1073741824 outcomes/);
});

extensions('a quadratic always uses its closed form, which agrees with enumeration (the ground truth) to 1e-12', () => {
  // Enumeration sums 2^D or K^D products of O(1) numbers; 1e-12 leaves room for that rounding.
  const cases: [string, unknown, unknown, DiscreteFamily][] = [
    ['3 Bernoullis', [0.3, -0.8, 1.2], [0.1, 0.9, 0.45], 'bernoulli'],
    ['8 Bernoullis', Array.from({ length: 8 }, (_, j) => Math.cos(3 * j)), Array.from({ length: 8 }, (_, j) => (j % 3) / 2), 'bernoulli'],
    ['a categorical of 4', [0.5, -1, 0.2, 2], [1, 0, 0.3, -0.5], 'categorical'],
    ['3 categoricals of 3, target per class', [[0.1, -0.3, 0.7], [0, 0.5, -0.5], [1.5, -2, 0.3]], [0.2, 0.7, 0.1], 'categoricals'],
    ['2 categoricals of 3, full target', [[0.1, -0.3, 0.7], [0, 0.5, -0.5]], [[1, 0, 0], [0.4, 0.4, 0.2]], 'categoricals'],
  ];
  for (const [name, logits, target, family] of cases) {
    const p = parseProblem({ family: family === 'bernoulli' ? 'bernoulli' : 'categorical', logits, f: { kind: 'quadratic', target } });
    if (p.family !== 'bernoulli' && p.family !== 'categorical') return assert.unreachable('a discrete problem');
    assert.is(p.exact!.method, 'closed form', name);
    const theta = p.params.logits;
    assertClose([p.exact!.value().item()], [exactExpectation(family, theta, p.f).item()], `${name}: value`, 1e-12);
    assertClose(p.exact!.gradient().logits.data, exactGradient(family, theta, p.f).data, `${name}: gradient`, 1e-12);
  }
});

extensions('20 and 40 Bernoullis with a quadratic: the exact gradient in closed form, no enumeration', () => {
  // 2^20 outcomes are within the enumeration limit, so they used to be enumerated (2·10⁷ numbers);
  // 2^40 are not. Either way the closed form is O(D): ∂/∂θ_j = σ_j(1 − σ_j)(1 − 2t_j).
  for (const D of [20, 40]) {
    const logits = Array.from({ length: D }, (_, j) => Math.sin(j) * 2);
    const target = Array.from({ length: D }, (_, j) => (j % 5) / 4);
    const p = parseProblem({ family: 'bernoulli', logits, f: { kind: 'quadratic', target } });
    assert.is(p.exact!.method, 'closed form', `D = ${D}`);
    const expected = logits.map((l, j) => sigma(l) * (1 - sigma(l)) * (1 - 2 * target[j]));
    assertClose((p.exact!.gradient() as LogitParams).logits.data, expected, `D = ${D}: gradient`);
  }
});

// ---------------------------------------------------------------- malformed input

const malformed = suite('problem: malformed input');

const ok = { kind: 'table', values: [1, 2] };
const cases: [string, unknown, string, RegExp][] = [
  ['not JSON', '{ "family": ', '(input)', /^parseProblem: the input is not valid JSON \(/],
  ['not an object', [1, 2], '(input)', /^parseProblem: a problem must be a JSON object, got an array$/],
  ['null', null, '(input)', /^parseProblem: a problem must be a JSON object, got null$/],
  ['no family', { logits: [0] }, 'family', /^parseProblem: "family" is missing; expected one of "bernoulli", "categorical", "normal", "subset", "spanning-tree"$/],
  ['unknown family', { family: 'poisson' }, 'family', /^parseProblem: "family" is "poisson"; expected one of/],
  ['misspelled field', { family: 'bernoulli', logit: [0], f: ok }, 'logit', /^parseProblem: unknown field "logit"; a "bernoulli" problem has the fields "family", "logits", "f", "description"$/],
  ['no logits', { family: 'bernoulli', f: ok }, 'logits', /^parseProblem: "logits" is missing; give one logit per coordinate/],
  ['logits a string', { family: 'bernoulli', logits: '0', f: ok }, 'logits', /^parseProblem: "logits" must be a non-empty array of numbers, got "0"$/],
  ['empty logits', { family: 'categorical', logits: [], f: ok }, 'logits', /got an empty array$/],
  ['NaN logit', { family: 'bernoulli', logits: [0, NaN], f: { kind: 'table', values: [1, 2, 3, 4] } }, 'logits[1]', /^parseProblem: "logits\[1\]" must be a finite number, got NaN$/],
  ['null logit', { family: 'categorical', logits: [0, null], f: ok }, 'logits[1]', /"logits\[1\]" must be a finite number, got null$/],
  ['ragged logits', { family: 'categorical', logits: [[1, 2], [3]], f: ok }, 'logits[1]', /"logits" must be a rectangular matrix: row 0 has 2 entries, row 1 has 1$/],
  ['one class', { family: 'categorical', logits: [1], f: { kind: 'table', values: [1] } }, 'logits', /a categorical needs at least 2$/],
  ['no f', { family: 'categorical', logits: [1, 2] }, 'f', /^parseProblem: "f" is missing/],
  ['f not an object', { family: 'categorical', logits: [1, 2], f: 'table' }, 'f', /^parseProblem: "f" must be a JSON object, got "table"$/],
  ['unknown kind', { family: 'categorical', logits: [1, 2], f: { kind: 'cubic' } }, 'f.kind', /^parseProblem: "f.kind" is "cubic"; expected "table" or "quadratic"$/],
  ['table too short', { family: 'bernoulli', logits: [0, 0.5], f: { kind: 'table', values: [1, 2, 3] } }, 'f.values', /^parseProblem: "f.values" has 3 values, but 2 Bernoullis have 2\^2 = 4 outcomes/],
  ['categorical table length', { family: 'categorical', logits: [0, 1, 2], f: ok }, 'f.values', /"f.values" has 2 values, but a categorical of 3 classes has 3 outcomes$/],
  ['table value not a number', { family: 'categorical', logits: [0, 1], f: { kind: 'table', values: [1, '2'] } }, 'f.values[1]', /"f.values\[1\]" must be a finite number, got "2"$/],
  ['extra field in f', { family: 'categorical', logits: [0, 1], f: { kind: 'table', values: [1, 2], target: [1] } }, 'f.target', /unknown field "f.target"; a table has the fields "f.kind", "f.values"$/],
  ['target length', { family: 'bernoulli', logits: [0, 1], f: { kind: 'quadratic', target: [1] } }, 'f.target', /"f.target" has shape \[1\], expected \[2\]/],
  ['table on a normal', { family: 'normal', loc: [0], scale: [1], f: ok }, 'f.kind', /"f.kind" is "table", which needs a discrete family; a "normal" problem takes "quadratic"$/],
  ['zero scale', { family: 'normal', loc: [0], scale: [0], f: { kind: 'quadratic', target: [1] } }, 'scale[0]', /^parseProblem: "scale\[0\]" must be positive, got 0$/],
  ['negative scale', { family: 'normal', loc: [0, 1], scale: [1, -2], f: { kind: 'quadratic', target: [1, 1] } }, 'scale[1]', /"scale\[1\]" must be positive, got -2$/],
  ['loc/scale lengths', { family: 'normal', loc: [0, 1], scale: [1], f: { kind: 'quadratic', target: [1, 1] } }, 'scale', /"loc" and "scale" must have the same length, got 2 and 1$/],
  ['logits on a normal', { family: 'normal', logits: [0], loc: [0], scale: [1], f: { kind: 'quadratic', target: [1] } }, 'logits', /unknown field "logits"; a "normal" problem has the fields "family", "loc", "scale", "f", "description"$/],
  ['description not a string', { family: 'bernoulli', logits: [0], f: ok, description: 3 }, 'description', /"description" must be a string, got 3$/],
];

malformed('each malformed problem throws a ProblemError whose one-line message names the field', () => {
  for (const [name, json, field, pattern] of cases) {
    let error: unknown = null;
    try {
      parseProblem(json);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ProblemError, `${name}: expected a ProblemError, got ${String(error)}`);
    const e = error as ProblemError;
    assert.ok(e instanceof RangeError, `${name}: a RangeError`);
    assert.is(e.name, 'ProblemError');
    assert.is(e.field, field, `${name}: field`);
    assert.ok(!e.message.includes('\n'), `${name}: one line`);
    assert.match(e.message, pattern, `${name}: ${e.message}`);
  }
});

examples.run();
extensions.run();
malformed.run();

// ---------------------------------------------------------------- structured families (k-subsets, spanning trees)

const structured = suite('problem: structured families');

structured('a subset problem: k-hot samples, exact value and gradient by enumeration with the Plackett–Luce law', () => {
  const logits = [0.5, -0.2, 1.0, 0.3, -0.7];
  const p = parseProblem({ family: 'subset', logits, k: 2, f: { kind: 'quadratic', target: [1, 0, 0, 1, 0.5] } });
  if (p.family !== 'subset') return assert.unreachable('not a subset');
  assert.is(p.k, 2);
  assert.equal(p.eventShape, [5]);
  const expected = grad((l: Tensor) => subsetExpectation(l, 2, p.f))(tensor(logits));
  assertClose(p.exact!.gradient().logits.data, expected.data, 'gradient');
  assert.is(p.exact!.method, 'enumeration');
  // A table lists one value per subset, in enumerateSubsets order; on each subset f is that value.
  const values = Array.from({ length: 10 }, (_, i) => i * 0.5 - 2);
  const q = parseProblem({ family: 'subset', logits, k: 2, f: { kind: 'table', values } });
  assertClose(q.f(enumerateSubsets(5, 2)).data, values, 'table on its support');
});

structured('a spanning-tree problem: nodes inferred, a table per tree, exact by enumeration', () => {
  const edges = [[0, 1], [0, 2], [1, 2], [2, 3], [1, 3]];
  const logits = [0.1, -0.4, 0.6, 0.2, -0.1];
  const values = [1.0, -0.5, 2.0, 0.3, 0.7, -1.2, 0.4, 1.5];
  const p = parseProblem({ family: 'spanning-tree', edges, logits, f: { kind: 'table', values } });
  if (p.family !== 'spanning-tree') return assert.unreachable('not a spanning tree');
  assert.is(p.graph.nodes, 4);
  assert.equal(p.eventShape, [5]);
  const trees = enumerateSpanningTrees(p.graph);
  assertClose(p.f(trees).data, values, 'table on its support');
  const expected = grad((l: Tensor) => spanningTreeExpectation(p.graph, l, p.f))(tensor(logits));
  assertClose(p.exact!.gradient().logits.data, expected.data, 'gradient');
  // Too many trees to enumerate: still a problem (for Monte Carlo), with no exact value.
  const big = completeGraph(12);
  const r = parseProblem({ family: 'spanning-tree', edges: big.edges, logits: big.edges.map(() => 0), f: { kind: 'quadratic', target: big.edges.map(() => 0) } });
  assert.is(r.exact, undefined);
});

structured('malformed structured problems name the field', () => {
  const ok = { kind: 'quadratic', target: [0, 0, 0] };
  const cases: [string, unknown, string, RegExp][] = [
    ['k missing', { family: 'subset', logits: [0, 0, 0], f: ok }, 'k', /"k" is missing; give the subset size/],
    ['k too big', { family: 'subset', logits: [0, 0, 0], k: 4, f: ok }, 'k', /"k" must be an integer from 1 to 3, got 4/],
    ['subset table length', { family: 'subset', logits: [0, 0, 0], k: 2, f: { kind: 'table', values: [1, 2] } }, 'f.values', /has 2 values, but the 2-subsets of 3 items number C\(3, 2\) = 3/],
    ['target length', { family: 'subset', logits: [0, 0, 0], k: 1, f: { kind: 'quadratic', target: [1] } }, 'f.target', /has 1 entries, expected 3 \(one per item\)/],
    ['disconnected', { family: 'spanning-tree', edges: [[0, 1], [2, 3]], logits: [0, 0], f: { kind: 'quadratic', target: [0, 0] } }, 'edges', /2 connected components/],
    ['bad edge', { family: 'spanning-tree', edges: [[0, 1], [1]], logits: [0, 0], f: ok }, 'edges[1]', /"edges\[1\]" must be a pair of node indices/],
    ['logits per edge', { family: 'spanning-tree', edges: [[0, 1], [1, 2]], logits: [0], f: ok }, 'logits', /"logits" has 1 entries, but the graph has 2 edges/],
    ['tree table length', { family: 'spanning-tree', edges: [[0, 1], [1, 2], [0, 2]], logits: [0, 0, 0], f: { kind: 'table', values: [1] } }, 'f.values', /has 1 values, but the graph has 3 spanning trees/],
    ['unknown field', { family: 'subset', logits: [0, 0], k: 1, edges: [], f: ok }, 'edges', /unknown field "edges"; a "subset" problem has the fields "family", "logits", "k", "f", "description"/],
  ];
  for (const [name, json, field, pattern] of cases) {
    let error: unknown = null;
    try {
      parseProblem(json);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ProblemError, `${name}: expected a ProblemError, got ${String(error)}`);
    assert.is((error as ProblemError).field, field, `${name}: field`);
    assert.match((error as ProblemError).message, pattern, `${name}: ${(error as ProblemError).message}`);
  }
});

structured.run();
