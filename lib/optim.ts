// Gradient-descent optimizers over trees of tensors, functional like optax:
// the state is explicit, and every step returns new parameters and a new state.
//
//   const opt = adam({ lr: 0.01 });
//   let state = opt.init(params);
//   ({ params, state } = opt.step(params, grads, state));
//
// SGD with momentum μ (PyTorch's convention, no dampening):
//   v ← μ v + g,   θ ← θ − lr · v            (Nesterov: θ ← θ − lr · (g + μ v))
// Adam (Kingma & Ba 2015, Algorithm 1), at step t = 1, 2, …:
//   m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
//   m̂ = m / (1 − β₁ᵗ),       v̂ = v / (1 − β₂ᵗ)
//   θ ← θ − lr · m̂ / (√v̂ + ε)
//
// A step is arithmetic on the values, not an op of the engine: it records no
// graph, and its outputs are fresh constant tensors even when the gradients
// came from inside a transform.

import { Tensor, mapTree, formatShape } from '../autodiff/index.ts';

/** A learning rate, or a schedule giving the rate of step t = 1, 2, … */
export type LearningRate = number | ((step: number) => number);

export interface SgdOptions {
  /** Learning rate (> 0), or a schedule step ↦ rate. */
  lr: LearningRate;
  /** Momentum μ in [0, 1). Default 0 (plain gradient descent). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
}

export interface AdamOptions {
  /** Learning rate (> 0), or a schedule step ↦ rate. */
  lr: LearningRate;
  /** Decay of the first-moment average, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the second-moment average, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to √v̂ in the denominator (≥ 0). Default 1e-8. */
  eps?: number;
}

/** SGD's state: the number of steps taken and the velocity (null without momentum). */
export interface SgdState<T> {
  readonly count: number;
  readonly velocity: T | null;
}

/** Adam's state: the number of steps taken and the moment averages m and v (not bias-corrected). */
export interface AdamState<T> {
  readonly count: number;
  readonly m: T;
  readonly v: T;
}

interface StateOf<T> {
  sgd: SgdState<T>;
  adam: AdamState<T>;
}

/**
 * An optimizer: `init(params)` makes the state, `step(params, grads, state)`
 * descends once and returns `{ params, state }`. The gradients must have the
 * tree structure and shapes of the parameters; neither input is modified.
 */
export interface Optimizer<K extends keyof StateOf<unknown> = keyof StateOf<unknown>> {
  readonly name: K;
  init<T>(params: T): StateOf<T>[K];
  step<T>(params: T, grads: T, state: StateOf<T>[K]): { params: T; state: StateOf<T>[K] };
}

// ---------------------------------------------------------------- checks

function checkRate(op: string, lr: unknown): void {
  if (typeof lr === 'function') return;
  if (typeof lr !== 'number') throw new TypeError(`${op}: lr must be a number or a function step => rate, got ${typeof lr}`);
  if (!(lr > 0) || !Number.isFinite(lr)) throw new RangeError(`${op}: lr must be positive and finite, got ${lr}`);
}

function rateAt(op: string, lr: LearningRate, step: number): number {
  const rate = typeof lr === 'function' ? lr(step) : lr;
  if (typeof rate !== 'number' || !(rate >= 0) || !Number.isFinite(rate)) {
    throw new RangeError(`${op}: the learning-rate schedule gave ${String(rate)} at step ${step}; it must return a finite number ≥ 0`);
  }
  return rate;
}

function checkUnit(op: string, name: string, x: unknown): void {
  if (typeof x !== 'number' || !(x >= 0 && x < 1)) throw new RangeError(`${op}: ${name} must lie in [0, 1), got ${String(x)}`);
}

/** The leaves of a tree with their paths, for error messages. */
function pathsAndLeaves(op: string, tree: unknown, what: string): { paths: string[]; tensors: Tensor[] } {
  const paths: string[] = [];
  const tensors: Tensor[] = [];
  mapTree(tree, (x, path) => {
    paths.push(path);
    tensors.push(x);
    return x;
  }, `${op} (${what})`);
  return { paths, tensors };
}

/**
 * The leaves of `params` and of each of `others`, after checking that every
 * tree has the same structure (the same paths) and the same shapes.
 */
function matchingLeaves(op: string, params: unknown, others: [string, unknown][]): Tensor[][] {
  const ref = pathsAndLeaves(op, params, 'params');
  const out = [ref.tensors];
  for (const [what, tree] of others) {
    const t = pathsAndLeaves(op, tree, what);
    const n = Math.max(ref.paths.length, t.paths.length);
    for (let i = 0; i < n; i++) {
      if (ref.paths[i] !== t.paths[i]) {
        const at = (p: string | undefined) => (p === undefined ? 'nothing' : p === '' ? 'a tensor at the root' : p);
        throw new TypeError(`${op}: ${what} and params differ in structure: leaf ${i} is ${at(t.paths[i])} in ${what} but ${at(ref.paths[i])} in params`);
      }
      const a = ref.tensors[i].shape;
      const b = t.tensors[i].shape;
      if (a.length !== b.length || a.some((d, j) => d !== b[j])) {
        throw new RangeError(`${op}: ${what} has shape ${formatShape(b)} at ${ref.paths[i] || 'the root'}, params ${formatShape(a)}`);
      }
    }
    out.push(t.tensors);
  }
  return out;
}

/** A tree shaped like `params` whose i-th leaf has data `data[i]`. */
function rebuild<T>(params: T, data: Float64Array[]): T {
  let i = 0;
  return mapTree(params, (x) => new Tensor(data[i++], x.shape));
}

function checkState(op: string, state: unknown, fields: string[]): void {
  if (typeof state !== 'object' || state === null || !fields.every((f) => f in state) || !Number.isInteger((state as { count: unknown }).count)) {
    throw new TypeError(`${op}: state must be the { ${fields.join(', ')} } returned by init or a previous step, got ${state === null ? 'null' : typeof state}`);
  }
}

// ---------------------------------------------------------------- SGD

/**
 * Stochastic gradient descent, with optional (Nesterov) momentum μ:
 * v ← μ v + g, θ ← θ − lr·v (Nesterov: θ ← θ − lr·(g + μ v)); PyTorch's
 * torch.optim.SGD without dampening or weight decay.
 */
export function sgd(options: SgdOptions): Optimizer<'sgd'> {
  const op = 'sgd';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${op}: expected options { lr, momentum?, nesterov? }, got ${options === null ? 'null' : typeof options}`);
  const { lr, momentum = 0, nesterov = false } = options;
  checkRate(op, lr);
  checkUnit(op, 'momentum', momentum);
  if (typeof nesterov !== 'boolean') throw new TypeError(`${op}: nesterov must be a boolean, got ${typeof nesterov}`);
  if (nesterov && momentum === 0) throw new RangeError(`${op}: nesterov needs momentum > 0, got momentum ${momentum}`);
  return {
    name: 'sgd',
    init<T>(params: T): SgdState<T> {
      pathsAndLeaves('sgd.init', params, 'params');
      return { count: 0, velocity: momentum > 0 ? mapTree(params, (x) => new Tensor(new Float64Array(x.size), x.shape)) : null };
    },
    step<T>(params: T, grads: T, state: SgdState<T>): { params: T; state: SgdState<T> } {
      const name = 'sgd.step';
      checkState(name, state, ['count', 'velocity']);
      const withVelocity = momentum > 0;
      if (withVelocity === (state.velocity === null)) {
        throw new TypeError(`${name}: state ${withVelocity ? 'has no velocity' : 'has a velocity'}; make it with this optimizer's init`);
      }
      const trees: [string, unknown][] = [['grads', grads]];
      if (withVelocity) trees.push(['state.velocity', state.velocity]);
      const [ps, gs, vs] = matchingLeaves(name, params, trees);
      const count = state.count + 1;
      const rate = rateAt(name, lr, count);
      const newParams: Float64Array[] = [];
      const newVelocity: Float64Array[] = [];
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i].data;
        const g = gs[i].data;
        const out = new Float64Array(p.length);
        if (!withVelocity) {
          for (let j = 0; j < p.length; j++) out[j] = p[j] - rate * g[j];
        } else {
          const v0 = vs[i].data;
          const v = new Float64Array(p.length);
          for (let j = 0; j < p.length; j++) {
            v[j] = momentum * v0[j] + g[j];
            out[j] = p[j] - rate * (nesterov ? g[j] + momentum * v[j] : v[j]);
          }
          newVelocity.push(v);
        }
        newParams.push(out);
      }
      return {
        params: rebuild(params, newParams),
        state: { count, velocity: withVelocity ? rebuild(params, newVelocity) : null },
      };
    },
  };
}

// ---------------------------------------------------------------- Adam

/**
 * Adam (Kingma & Ba 2015, Algorithm 1), with bias correction:
 * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·m̂/(√v̂ + ε) with
 * m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) at step t. Matches torch.optim.Adam.
 */
export function adam(options: AdamOptions): Optimizer<'adam'> {
  const op = 'adam';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${op}: expected options { lr, beta1?, beta2?, eps? }, got ${options === null ? 'null' : typeof options}`);
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = options;
  checkRate(op, lr);
  checkUnit(op, 'beta1', beta1);
  checkUnit(op, 'beta2', beta2);
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`${op}: eps must be finite and ≥ 0, got ${String(eps)}`);
  return {
    name: 'adam',
    init<T>(params: T): AdamState<T> {
      const zeros = () => mapTree(params, (x) => new Tensor(new Float64Array(x.size), x.shape), 'adam.init');
      return { count: 0, m: zeros(), v: zeros() };
    },
    step<T>(params: T, grads: T, state: AdamState<T>): { params: T; state: AdamState<T> } {
      const name = 'adam.step';
      checkState(name, state, ['count', 'm', 'v']);
      const [ps, gs, ms, vs] = matchingLeaves(name, params, [['grads', grads], ['state.m', state.m], ['state.v', state.v]]);
      const count = state.count + 1;
      const rate = rateAt(name, lr, count);
      const correction1 = 1 - beta1 ** count;
      const correction2 = 1 - beta2 ** count;
      const newParams: Float64Array[] = [];
      const newM: Float64Array[] = [];
      const newV: Float64Array[] = [];
      for (let i = 0; i < ps.length; i++) {
        const p = ps[i].data;
        const g = gs[i].data;
        const m0 = ms[i].data;
        const v0 = vs[i].data;
        const out = new Float64Array(p.length);
        const m = new Float64Array(p.length);
        const v = new Float64Array(p.length);
        for (let j = 0; j < p.length; j++) {
          m[j] = beta1 * m0[j] + (1 - beta1) * g[j];
          v[j] = beta2 * v0[j] + (1 - beta2) * g[j] * g[j];
          const mHat = m[j] / correction1;
          const vHat = v[j] / correction2;
          out[j] = p[j] - (rate * mHat) / (Math.sqrt(vHat) + eps);
        }
        newParams.push(out);
        newM.push(m);
        newV.push(v);
      }
      return { params: rebuild(params, newParams), state: { count, m: rebuild(params, newM), v: rebuild(params, newV) } };
    },
  };
}
