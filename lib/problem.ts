// Problems in the JSON format of the command line (see DESIGN.md): a
// distribution p(·|θ), a test function f, and, where it is known, the exact
// L(θ) = E_{x∼p(·|θ)}[f(x)] and its gradient, against which estimators are checked.
//
//   { "family": "categorical", "logits": [0.1, -0.3, 0.7],
//     "f": { "kind": "table", "values": [1.0, 0.2, -0.5] } }
//   { "family": "bernoulli", "logits": [0], "f": { "kind": "quadratic", "target": [0.499] } }
//   { "family": "normal", "loc": [0.5], "scale": [1.0], "f": { "kind": "quadratic", "target": [2.0] } }
//
// A categorical may also have a [D, K] matrix of logits: a product of D
// categoricals, whose table has K^D values (outcome i = Σ_j c_j K^j).
// Exact values: in closed form for a quadratic, E[Σ(x − t)²] = Σ((μ − t)² + σ²)
// for a normal, and E[Σ(x − t)²] = Σ(E[x](1 − 2t) + t²) for Bernoullis and
// categoricals, whose hard samples have x_j² = x_j; by enumeration (exact.ts)
// for a table.
//
// Each family is one entry of FAMILY_PARSERS. The structured families:
//
//   { "family": "subset", "logits": [0.5, -0.2, 1.0, 0.3], "k": 2,
//     "f": { "kind": "quadratic", "target": [1, 0, 0, 1] } }
//   { "family": "spanning-tree", "edges": [[0,1], [0,2], [1,2], [2,3]], "logits": [0.1, -0.4, 0.6, 0.2],
//     "f": { "kind": "table", "values": [1.0, -0.5, 2.0] } }
//
// X is the top k of logits + Gumbel noise (an unordered k-subset, k-hot), or
// the maximum spanning tree of logits + Gumbel noise over the edges ("nodes"
// is optional: one more than the largest node index). A "table" lists one
// value per structure, k-subsets in lexicographic order of their sorted
// items ({0,1}, {0,2}, …), trees in lexicographic order of their sorted edge
// indices; it is extended to relaxed samples by Σ_S v_S Π_{i∈S} z_i
// (lib/structures structureTable). Exact values by enumerating every
// structure with its exact probability (lib/structures), when there are few.

import { Tensor, tensor, grad, sub, mul, add, square, sum, sigmoid, softmax } from '../autodiff/index.ts';
import { exactExpectation, canEnumerate, binomial, enumerateSubsets, type DiscreteFamily } from './exact.ts';
import { tableFunction, quadraticFunction, formatNumbers, type TestFunction, type QuadraticFunction } from './functions.ts';
import {
  graph as makeGraph, enumerateSpanningTrees, spanningTreeCount, spanningTreeExpectation, subsetExpectation, structureTable,
  type Graph, type StructureTableFunction,
} from './structures.ts';

/**
 * A malformed problem. The message is one line, starts with `parseProblem:`,
 * names the field (as a path such as `f.values[2]`) and says what is wrong.
 */
export class ProblemError extends RangeError {
  /** The offending field, e.g. `logits[1]`, or `(input)` for the whole document. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`parseProblem: ${message}`);
    this.name = 'ProblemError';
    this.field = field;
  }
}

export type ProblemFamily = 'categorical' | 'bernoulli' | 'normal' | 'subset' | 'spanning-tree';

export interface LogitParams {
  logits: Tensor;
}

export interface NormalParams {
  loc: Tensor;
  scale: Tensor;
}

/** The exact objective and gradient, as functions of the parameters (default: the problem's own). */
export interface ExactSolution<P> {
  readonly method: 'enumeration' | 'closed form';
  /** L(θ) = E[f(x)], a scalar differentiable in the parameters. */
  value(params?: P): Tensor;
  /** ∇_θ L(θ), in the same tree as the parameters. */
  gradient(params?: P): P;
}

interface ProblemBase {
  /** The shape of one sample ([D], [K] or [D, K]). */
  readonly eventShape: readonly number[];
  readonly f: TestFunction;
  readonly description: string;
}

export interface DiscreteProblem extends ProblemBase {
  readonly family: 'categorical' | 'bernoulli';
  /** The family as exact.ts names it: a [D, K] categorical is 'categoricals'. */
  readonly discreteFamily: DiscreteFamily;
  readonly params: LogitParams;
  readonly exact?: ExactSolution<LogitParams>;
}

export interface NormalProblem extends ProblemBase {
  readonly family: 'normal';
  readonly params: NormalParams;
  readonly exact?: ExactSolution<NormalParams>;
}

/** A test function on structures: a quadratic, or a table with one value per structure. */
export type StructureFunction = QuadraticFunction | StructureTableFunction;

interface StructuredBase {
  /** [n] items or [E] edges. */
  readonly eventShape: readonly number[];
  readonly f: StructureFunction;
  readonly description: string;
  readonly params: LogitParams;
  readonly exact?: ExactSolution<LogitParams>;
}

export interface SubsetProblem extends StructuredBase {
  readonly family: 'subset';
  readonly k: number;
}

export interface SpanningTreeProblem extends StructuredBase {
  readonly family: 'spanning-tree';
  readonly graph: Graph;
}

export type Problem = DiscreteProblem | NormalProblem | SubsetProblem | SpanningTreeProblem;

// ---------------------------------------------------------------- reading fields

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? value.slice(0, 20) + '…' : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function readObject(value: unknown, field: string, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProblemError(field, `${what} must be a JSON object, got ${kindOf(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkFields(json: Record<string, unknown>, prefix: string, allowed: readonly string[], context: string): void {
  for (const key of Object.keys(json)) {
    if (!allowed.includes(key)) {
      throw new ProblemError(
        prefix + key,
        `unknown field "${prefix}${key}"; ${context} has the fields ${allowed.map((k) => `"${prefix}${k}"`).join(', ')}`,
      );
    }
  }
}

function requireField(json: Record<string, unknown>, key: string, field: string, hint: string): unknown {
  if (!(key in json) || json[key] === undefined) throw new ProblemError(field, `"${field}" is missing; ${hint}`);
  return json[key];
}

function readNumbers(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ProblemError(field, `"${field}" must be a non-empty array of numbers, got ${Array.isArray(value) ? 'an empty array' : kindOf(value)}`);
  }
  return value.map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ProblemError(`${field}[${i}]`, `"${field}[${i}]" must be a finite number, got ${kindOf(v)}`);
    }
    return v;
  });
}

/** A vector, or (when `matrix` is allowed and the first entry is an array) a rectangular matrix. */
function readTensor(value: unknown, field: string, matrix: boolean): Tensor {
  if (matrix && Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    const rows = value.map((row, i) => readNumbers(row, `${field}[${i}]`));
    const width = rows[0].length;
    rows.forEach((row, i) => {
      if (row.length !== width) {
        throw new ProblemError(`${field}[${i}]`, `"${field}" must be a rectangular matrix: row 0 has ${width} entries, row ${i} has ${row.length}`);
      }
    });
    return tensor(rows);
  }
  return tensor(readNumbers(value, field));
}

// ---------------------------------------------------------------- the test function

interface Support {
  family: ProblemFamily;
  /** The exact.ts family, for discrete problems. */
  discreteFamily?: DiscreteFamily;
  eventShape: number[];
  /** Number of outcomes (Infinity for a continuous family). */
  count: number;
  /** How the outcomes are counted, for messages: "2 Bernoullis have 2^2 = 4 outcomes". */
  countText: string;
}

function readFunction(value: unknown, support: Support): TestFunction {
  const json = readObject(value, 'f', '"f"');
  const kind = requireField(json, 'kind', 'f.kind', 'expected "table" or "quadratic"');
  if (kind === 'table') {
    checkFields(json, 'f.', ['kind', 'values'], 'a table');
    if (support.discreteFamily === undefined) {
      throw new ProblemError('f.kind', `"f.kind" is "table", which needs a discrete family; a "${support.family}" problem takes "quadratic"`);
    }
    const values = readNumbers(requireField(json, 'values', 'f.values', `give one value per outcome (${support.countText})`), 'f.values');
    if (values.length !== support.count) {
      throw new ProblemError('f.values', `"f.values" has ${values.length} values, but ${support.countText}`);
    }
    const classes = support.discreteFamily === 'categoricals' ? support.eventShape[1] : undefined;
    return tableFunction(support.discreteFamily, values, { classes });
  }
  if (kind === 'quadratic') {
    checkFields(json, 'f.', ['kind', 'target'], 'a quadratic');
    const target = readTensor(requireField(json, 'target', 'f.target', 'give one target per coordinate of the sample'), 'f.target', support.eventShape.length === 2);
    const event = support.eventShape;
    const fits = target.rank <= event.length && target.shape.every((d, i) => d === event[event.length - target.rank + i]);
    if (!fits) {
      const expected = event.length === 2 ? `[${event.join(',')}] or [${event[1]}]` : `[${event.join(',')}]`;
      throw new ProblemError('f.target', `"f.target" has shape [${target.shape.join(',')}], expected ${expected} (one entry per coordinate of the sample)`);
    }
    return quadraticFunction(target);
  }
  throw new ProblemError('f.kind', `"f.kind" is ${kindOf(kind)}; expected "table" or "quadratic"`);
}

// ---------------------------------------------------------------- exact solutions

function discreteExact(support: Support, f: TestFunction, logits: Tensor): ExactSolution<LogitParams> | undefined {
  const family = support.discreteFamily as DiscreteFamily;
  let value: (params: LogitParams) => Tensor;
  let method: 'enumeration' | 'closed form';
  if (f.kind === 'quadratic') {
    // Hard samples are 0/1, so (x − t)² = x(1 − 2t) + t² and E[f] = Σ(E[x](1 − 2t) + t²):
    // O(D) work, where enumeration is O(D·2^D) (20 Bernoullis: 2·10⁷ numbers).
    method = 'closed form';
    const t = f.target;
    value = (params) => {
      const meanX = family === 'bernoulli' ? sigmoid(params.logits) : softmax(params.logits, -1);
      return sum(add(mul(meanX, sub(1, mul(t, 2))), square(t)));
    };
  } else if (canEnumerate(family, logits.shape)) {
    method = 'enumeration';
    value = (params) => exactExpectation(family, params.logits, f);
  } else {
    return undefined;
  }
  return solution(method, value, { logits });
}

function normalExact(f: TestFunction, params: NormalParams): ExactSolution<NormalParams> | undefined {
  if (f.kind !== 'quadratic') return undefined;
  const t = f.target;
  // E[(x − t)²] = (μ − t)² + σ² for x ∼ N(μ, σ²): ∂/∂μ = 2(μ − t), ∂/∂σ = 2σ.
  const value = (p: NormalParams): Tensor => sum(add(square(sub(p.loc, t)), square(p.scale)));
  return solution('closed form', value, params);
}

function solution<P extends object>(method: 'enumeration' | 'closed form', value: (params: P) => Tensor, defaults: P): ExactSolution<P> {
  return {
    method,
    value: (params = defaults) => value(params),
    gradient: (params = defaults) => grad(value)(params),
  };
}

// ---------------------------------------------------------------- families

interface FamilyEntry {
  /** The allowed top-level fields. */
  fields: readonly string[];
  parse(json: Record<string, unknown>): Problem;
}

/** The top-level fields of a family: its parameters between "family" and "f". */
function fieldsWith(...params: string[]): string[] {
  return ['family', ...params, 'f', 'description'];
}

function userDescription(json: Record<string, unknown>): string | undefined {
  const d = json.description;
  if (d === undefined) return undefined;
  if (typeof d !== 'string') throw new ProblemError('description', `"description" must be a string, got ${kindOf(d)}`);
  return d;
}

const FAMILY_PARSERS: Record<ProblemFamily, FamilyEntry> = {
  bernoulli: {
    fields: fieldsWith('logits'),
    parse(json) {
      const logits = tensor(readNumbers(requireField(json, 'logits', 'logits', 'give one logit per coordinate, e.g. [0, 0.5]'), 'logits'));
      const D = logits.size;
      const support: Support = {
        family: 'bernoulli',
        discreteFamily: 'bernoulli',
        eventShape: [D],
        count: 2 ** D,
        countText: `${D} Bernoulli${D === 1 ? ' has' : 's have'} 2^${D} = ${2 ** D} outcomes (index i is the outcome whose bit j is b_j)`,
      };
      const f = readFunction(requireField(json, 'f', 'f', 'give the test function, e.g. {"kind": "table", "values": [...]}'), support);
      return {
        family: 'bernoulli',
        discreteFamily: 'bernoulli',
        params: { logits },
        eventShape: support.eventShape,
        f,
        exact: discreteExact(support, f, logits),
        description: userDescription(json) ?? `bernoulli D=${D}, logits ${formatNumbers(logits.data)}; f: ${f.description}`,
      };
    },
  },
  categorical: {
    fields: fieldsWith('logits'),
    parse(json) {
      const logits = readTensor(requireField(json, 'logits', 'logits', 'give one logit per class, e.g. [0.1, -0.3, 0.7]'), 'logits', true);
      const K = logits.shape[logits.rank - 1];
      if (K < 2) throw new ProblemError('logits', `"logits" has ${K} class; a categorical needs at least 2`);
      let support: Support;
      let summary: string;
      if (logits.rank === 1) {
        support = { family: 'categorical', discreteFamily: 'categorical', eventShape: [K], count: K, countText: `a categorical of ${K} classes has ${K} outcomes` };
        summary = `categorical K=${K}, logits ${formatNumbers(logits.data)}`;
      } else {
        const D = logits.shape[0];
        support = {
          family: 'categorical',
          discreteFamily: 'categoricals',
          eventShape: [D, K],
          count: K ** D,
          countText: `${D} categoricals of ${K} classes have ${K}^${D} = ${K ** D} outcomes (index i = Σ_j c_j ${K}^j)`,
        };
        summary = `${D} categoricals K=${K}, logits ${formatNumbers(logits.data)}`;
      }
      const f = readFunction(requireField(json, 'f', 'f', 'give the test function, e.g. {"kind": "table", "values": [...]}'), support);
      return {
        family: 'categorical',
        discreteFamily: support.discreteFamily as DiscreteFamily,
        params: { logits },
        eventShape: support.eventShape,
        f,
        exact: discreteExact(support, f, logits),
        description: userDescription(json) ?? `${summary}; f: ${f.description}`,
      };
    },
  },
  normal: {
    fields: fieldsWith('loc', 'scale'),
    parse(json) {
      const loc = tensor(readNumbers(requireField(json, 'loc', 'loc', 'give the means, e.g. [0.5]'), 'loc'));
      const scale = tensor(readNumbers(requireField(json, 'scale', 'scale', 'give the standard deviations, e.g. [1.0]'), 'scale'));
      scale.data.forEach((s, i) => {
        if (!(s > 0)) throw new ProblemError(`scale[${i}]`, `"scale[${i}]" must be positive, got ${s}`);
      });
      if (loc.size !== scale.size) {
        throw new ProblemError('scale', `"loc" and "scale" must have the same length, got ${loc.size} and ${scale.size}`);
      }
      const D = loc.size;
      const support: Support = { family: 'normal', eventShape: [D], count: Infinity, countText: 'a normal is continuous' };
      const f = readFunction(requireField(json, 'f', 'f', 'give the test function, e.g. {"kind": "quadratic", "target": [2.0]}'), support);
      const params = { loc, scale };
      return {
        family: 'normal',
        params,
        eventShape: support.eventShape,
        f,
        exact: normalExact(f, params),
        description: userDescription(json) ?? `normal D=${D}, loc ${formatNumbers(loc.data)}, scale ${formatNumbers(scale.data)}; f: ${f.description}`,
      };
    },
  },
  subset: { fields: fieldsWith('logits', 'k'), parse: (json) => parseSubset(json) },
  'spanning-tree': { fields: fieldsWith('nodes', 'edges', 'logits'), parse: (json) => parseSpanningTree(json) },
};

// ---------------------------------------------------------------- structured families

// Exact values enumerate every structure and run a DP over the 2^r subsets of
// each: at most this many numbers (structures × 2^r × d) are built.
const MAX_STRUCTURE_WORK = 2 ** 24;

function readInteger(value: unknown, field: string, min: number, max: number, hint: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ProblemError(field, `"${field}" must be an integer from ${min} to ${max}, got ${kindOf(value)}; ${hint}`);
  }
  return value;
}

/**
 * The test function of a structured problem: a quadratic over the items or
 * edges, or a table with one value per structure (`support()` enumerates them).
 */
function readStructureFunction(value: unknown, d: number, what: string, count: () => { count: number; text: string }, support: () => Tensor, label: string): StructureFunction {
  const json = readObject(value, 'f', '"f"');
  const kind = requireField(json, 'kind', 'f.kind', 'expected "table" or "quadratic"');
  if (kind === 'quadratic') {
    checkFields(json, 'f.', ['kind', 'target'], 'a quadratic');
    const target = readNumbers(requireField(json, 'target', 'f.target', `give one target per ${what}`), 'f.target');
    if (target.length !== d) throw new ProblemError('f.target', `"f.target" has ${target.length} entries, expected ${d} (one per ${what})`);
    return quadraticFunction(target);
  }
  if (kind === 'table') {
    checkFields(json, 'f.', ['kind', 'values'], 'a table');
    const { count: M, text } = count();
    const values = readNumbers(requireField(json, 'values', 'f.values', `give one value per structure (${text})`), 'f.values');
    if (values.length !== M) throw new ProblemError('f.values', `"f.values" has ${values.length} values, but ${text}`);
    return structureTable(support(), values, label);
  }
  throw new ProblemError('f.kind', `"f.kind" is ${kindOf(kind)}; expected "table" or "quadratic"`);
}

function structuredExact(value: (logits: Tensor) => Tensor, logits: Tensor): ExactSolution<LogitParams> {
  return solution('enumeration', (params: LogitParams) => value(params.logits), { logits });
}

function parseSubset(json: Record<string, unknown>): SubsetProblem {
  const logits = tensor(readNumbers(requireField(json, 'logits', 'logits', 'give one logit per item, e.g. [0.5, -0.2, 1.0]'), 'logits'));
  const n = logits.size;
  if (n < 2) throw new ProblemError('logits', `"logits" has ${n} item; a subset problem needs at least 2`);
  const k = readInteger(requireField(json, 'k', 'k', `give the subset size, an integer from 1 to ${n}`), 'k', 1, n, `k items of the ${n} are chosen`);
  const M = binomial(n, k);
  const text = `the ${k}-subsets of ${n} items number C(${n}, ${k}) = ${M} (in lexicographic order of their sorted items)`;
  const enumerable = M * 2 ** k * n <= MAX_STRUCTURE_WORK;
  const support = (): Tensor => {
    if (!enumerable) throw new ProblemError('f.values', `a table needs every subset, and C(${n}, ${k}) = ${M} is too many; use a quadratic`);
    return enumerateSubsets(n, k);
  };
  const f = readStructureFunction(requireField(json, 'f', 'f', 'give the test function, e.g. {"kind": "quadratic", "target": [...]}'), n, 'item', () => ({ count: M, text }), support, `${k}-subsets`);
  const S = enumerable ? support() : undefined;
  return {
    family: 'subset',
    k,
    params: { logits },
    eventShape: [n],
    f,
    exact: S === undefined ? undefined : structuredExact((l) => subsetExpectation(l, k, f, S), logits),
    description: userDescription(json) ?? `${k}-subsets of ${n} items by Gumbel-top-k, logits ${formatNumbers(logits.data)}; f: ${f.description}`,
  };
}

function parseSpanningTree(json: Record<string, unknown>): SpanningTreeProblem {
  const edgesJson = requireField(json, 'edges', 'edges', 'give the edges as [u, v] pairs of node indices, e.g. [[0, 1], [1, 2], [0, 2]]');
  if (!Array.isArray(edgesJson) || edgesJson.length === 0) throw new ProblemError('edges', `"edges" must be a non-empty array of [u, v] pairs, got ${kindOf(edgesJson)}`);
  const edges = edgesJson.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || !e.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      throw new ProblemError(`edges[${i}]`, `"edges[${i}]" must be a pair of node indices [u, v] (integers ≥ 0), got ${JSON.stringify(e)}`);
    }
    return e as number[];
  });
  const largest = Math.max(...edges.flat());
  const nodes = json.nodes === undefined ? largest + 1 : readInteger(json.nodes, 'nodes', 2, 1000, 'the nodes are 0 … nodes − 1');
  let g: Graph;
  try {
    g = makeGraph(nodes, edges);
  } catch (e) {
    throw new ProblemError('edges', `"edges": ${(e as Error).message.replace(/^graph: /, '')}`);
  }
  const E = g.edges.length;
  const logits = tensor(readNumbers(requireField(json, 'logits', 'logits', `give one logit per edge (${E})`), 'logits'));
  if (logits.size !== E) throw new ProblemError('logits', `"logits" has ${logits.size} entries, but the graph has ${E} edges (one logit per edge)`);
  let trees: Tensor | undefined;
  let tooMany = '';
  const support = (): Tensor => {
    if (trees !== undefined) return trees;
    try {
      trees = enumerateSpanningTrees(g);
    } catch (e) {
      tooMany = (e as Error).message;
      throw new ProblemError('f.values', `a table needs every spanning tree, and there are too many (${tooMany}); use a quadratic`);
    }
    return trees;
  };
  const count = () => {
    const T = spanningTreeCount(g);
    return { count: T, text: `the graph has ${T} spanning trees (in lexicographic order of their sorted edge indices)` };
  };
  const f = readStructureFunction(requireField(json, 'f', 'f', 'give the test function, e.g. {"kind": "quadratic", "target": [...]}'), E, 'edge', count, support, 'spanning trees');
  const enumerable = spanningTreeCount(g) * 2 ** (nodes - 1) * E <= MAX_STRUCTURE_WORK;
  let T: Tensor | undefined;
  if (enumerable) {
    try {
      T = support();
    } catch {
      T = undefined;
    }
  }
  return {
    family: 'spanning-tree',
    graph: g,
    params: { logits },
    eventShape: [E],
    f,
    exact: T === undefined ? undefined : structuredExact((l) => spanningTreeExpectation(g, l, f, T), logits),
    description: userDescription(json) ?? `spanning trees of a ${nodes}-node, ${E}-edge graph by Kruskal on logits + Gumbel, logits ${formatNumbers(logits.data)}; f: ${f.description}`,
  };
}

const FAMILY_NAMES = Object.keys(FAMILY_PARSERS).map((k) => `"${k}"`).join(', ');

/**
 * Reads a problem in the JSON format of DESIGN.md (a parsed value, or a JSON
 * string) and returns its parameters as Tensors, its test function f, and
 * its exact value and gradient where they are known. Anything malformed
 * throws a ProblemError (a RangeError) whose one-line message names the field.
 */
export function parseProblem(json: unknown): Problem {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new ProblemError('(input)', `the input is not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const obj = readObject(value, '(input)', 'a problem');
  const family = requireField(obj, 'family', 'family', `expected one of ${FAMILY_NAMES}`);
  if (typeof family !== 'string' || !Object.prototype.hasOwnProperty.call(FAMILY_PARSERS, family)) {
    throw new ProblemError('family', `"family" is ${kindOf(family)}; expected one of ${FAMILY_NAMES}`);
  }
  const entry = FAMILY_PARSERS[family as ProblemFamily];
  checkFields(obj, '', entry.fields, `a "${family}" problem`);
  return entry.parse(obj);
}
