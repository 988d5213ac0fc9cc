// A small multilayer perceptron, as a plain tree of tensors and two functions.
//
//   h₀ = x,   h_ℓ = σ(h_{ℓ−1} W_ℓ + b_ℓ)  (ℓ < L),   y = σ_out(h_{L−1} W_L + b_L)
//
// with W_ℓ stored [in, out] (rows are inputs, as in ../shared/peers'
// fixtures.json, so `x W` needs no transpose) and b_ℓ of shape [out]. The
// parameters are `{ layers: [{ W, b }, …] }`, a tree of tensors, so `grad`
// returns gradients in the same shape and the optimizers of optim.ts update it
// directly. The forward pass uses only the engine's ops, so gradients of any
// order flow through it (RELAX trains its surrogate with a grad of a grad).

import { Tensor, tensor, reshape, linear, tanh, relu, sigmoid, formatShape, type NestedArray } from '../autodiff/index.ts';
import type { Rng } from './random.ts';

/** The nonlinearity between layers. */
export type Activation = 'tanh' | 'relu' | 'sigmoid' | 'linear';

/** How initMlp draws the weights. */
export type MlpInit = 'pytorch' | 'xavier';

/** One affine layer: W [in, out], b [out]. */
export type MlpLayer = { readonly W: Tensor; readonly b: Tensor };

/** The parameters of an MLP: its layers, first to last. */
export type MlpParams = { readonly layers: readonly MlpLayer[] };

export interface MlpInitOptions {
  /** Widths from input to output, e.g. [1, 10, 1]: at least two, positive integers. */
  sizes: readonly number[];
  /** 'pytorch' (default): torch.nn.Linear's U(−1/√in, 1/√in) for W and b. 'xavier': Glorot uniform W, zero b. */
  init?: MlpInit;
  /** The activation the net will use; only sets the Xavier gain (as torch.nn.init.calculate_gain). */
  activation?: Activation;
}

export interface MlpApplyOptions {
  /** The nonlinearity after every hidden layer. */
  activation: Activation;
  /** The nonlinearity after the last layer. Default 'linear'. */
  outputActivation?: Activation;
}

const ACTIVATIONS: readonly Activation[] = ['tanh', 'relu', 'sigmoid', 'linear'];

/** Glorot's gain per activation, as torch.nn.init.calculate_gain. */
const XAVIER_GAIN: Record<Activation, number> = { tanh: 5 / 3, relu: Math.SQRT2, sigmoid: 1, linear: 1 };

function checkActivation(op: string, name: string, a: unknown): asserts a is Activation {
  if (!ACTIVATIONS.includes(a as Activation)) {
    throw new RangeError(`${op}: ${name} must be one of ${ACTIVATIONS.map((x) => `'${x}'`).join(', ')}, got ${JSON.stringify(a)}`);
  }
}

function activate(x: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'tanh':
      return tanh(x);
    case 'relu':
      return relu(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'linear':
      return x;
  }
}

/** `rows × cols` values uniform on (−bound, bound): (2u − 1)·bound with u on (0, 1). */
function uniformSymmetric(rng: Rng, shape: readonly number[], bound: number): Tensor {
  const u = rng.uniform(shape);
  const data = new Float64Array(u.size);
  for (let i = 0; i < data.length; i++) data[i] = (2 * u.data[i] - 1) * bound;
  return new Tensor(data, [...shape]);
}

/**
 * Fresh MLP parameters for `sizes` = [in, h₁, …, out], drawn from `rng` (which
 * advances): for each layer W then b, row-major, so one seed always gives
 * the same net.
 *  - 'pytorch' (default): W and b ~ U(−1/√in, 1/√in), torch.nn.Linear's default.
 *  - 'xavier': W ~ U(−a, a) with a = gain·√(6/(in + out)) (Glorot & Bengio
 *    2010), gain from `activation` (tanh 5/3, relu √2, else 1); b = 0.
 */
export function initMlp(rng: Rng, options: MlpInitOptions): MlpParams {
  if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).uniform !== 'function') {
    throw new TypeError(`initMlp: expected a generator from rng(seed) as the first argument, got ${rng === null ? 'null' : typeof rng}`);
  }
  const { sizes, init = 'pytorch', activation = 'linear' } = options ?? ({} as MlpInitOptions);
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new RangeError(`initMlp: sizes must list at least two positive integer widths [in, …, out], got ${JSON.stringify(sizes)}`);
  }
  if (init !== 'pytorch' && init !== 'xavier') throw new RangeError(`initMlp: init must be 'pytorch' or 'xavier', got ${JSON.stringify(init)}`);
  checkActivation('initMlp', 'activation', activation);
  const layers: MlpLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l];
    const fanOut = sizes[l + 1];
    if (init === 'pytorch') {
      const bound = 1 / Math.sqrt(fanIn);
      const W = uniformSymmetric(rng, [fanIn, fanOut], bound);
      const b = uniformSymmetric(rng, [fanOut], bound);
      layers.push({ W, b });
    } else {
      const bound = XAVIER_GAIN[activation] * Math.sqrt(6 / (fanIn + fanOut));
      layers.push({ W: uniformSymmetric(rng, [fanIn, fanOut], bound), b: new Tensor(new Float64Array(fanOut), [fanOut]) });
    }
  }
  return { layers };
}

/** Checks that `params` is a chain of layers whose shapes connect; returns the widths. */
function checkParams(op: string, params: MlpParams): number[] {
  const layers = params?.layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new TypeError(`${op}: params must be { layers: [{ W, b }, …] } with at least one layer; make them with initMlp or mlpFromArrays`);
  }
  const sizes: number[] = [];
  layers.forEach((layer, l) => {
    const { W, b } = (layer ?? {}) as MlpLayer;
    if (!(W instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError(`${op}: layers[${l}] must hold Tensors W and b`);
    if (W.rank !== 2 || b.rank !== 1 || b.shape[0] !== W.shape[1]) {
      throw new RangeError(`${op}: layers[${l}] has W ${formatShape(W.shape)} and b ${formatShape(b.shape)}; expected W [in,out] and b [out]`);
    }
    if (l === 0) sizes.push(W.shape[0]);
    else if (W.shape[0] !== sizes[l]) {
      throw new RangeError(`${op}: layers[${l}].W has ${W.shape[0]} inputs but layers[${l - 1}] has ${sizes[l]} outputs`);
    }
    sizes.push(W.shape[1]);
  });
  return sizes;
}

/** The widths [in, h₁, …, out] of an MLP. */
export function mlpSizes(params: MlpParams): number[] {
  return checkParams('mlpSizes', params);
}

/**
 * The MLP's output for inputs `x` of shape [..., in] (a batch [n, in], a
 * single input [in], or more leading axes): shape [..., out]. Differentiable,
 * to any order, in both `params` and `x`.
 */
export function applyMlp(params: MlpParams, x: Tensor, options: MlpApplyOptions): Tensor {
  const sizes = checkParams('applyMlp', params);
  if (!(x instanceof Tensor)) throw new TypeError(`applyMlp: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  const { activation, outputActivation = 'linear' } = options ?? ({} as MlpApplyOptions);
  checkActivation('applyMlp', 'activation', activation);
  checkActivation('applyMlp', 'outputActivation', outputActivation);
  const inputs = sizes[0];
  if (x.rank === 0 || x.shape[x.rank - 1] !== inputs) {
    throw new RangeError(`applyMlp: x has shape ${formatShape(x.shape)} but the first layer takes ${inputs} input(s); pass [n, ${inputs}] or [${inputs}]`);
  }
  const lead = x.shape.slice(0, -1);
  let h = x.rank === 2 ? x : reshape(x, [x.size / inputs, inputs]); // [n, in]
  const last = params.layers.length - 1;
  params.layers.forEach(({ W, b }, l) => {
    h = activate(linear(h, W, b), l === last ? outputActivation : activation); // [n, width]
  });
  return x.rank === 2 ? h : reshape(h, [...lead, sizes[sizes.length - 1]]);
}

/**
 * Parameters from nested arrays [W₁, b₁, W₂, b₂, …], W as [in][out] and b as
 * [out]: the "mlp" entries of ../shared/peers/fixtures.json load directly.
 */
export function mlpFromArrays(arrays: readonly NestedArray[]): MlpParams {
  if (!Array.isArray(arrays) || arrays.length === 0 || arrays.length % 2 !== 0) {
    throw new RangeError(`mlpFromArrays: expected [W1, b1, W2, b2, …] (an even, non-zero number of arrays), got ${Array.isArray(arrays) ? `${arrays.length} arrays` : typeof arrays}`);
  }
  const layers: MlpLayer[] = [];
  for (let i = 0; i < arrays.length; i += 2) layers.push({ W: tensor(arrays[i]), b: tensor(arrays[i + 1]) });
  const params = { layers };
  checkParams('mlpFromArrays', params);
  return params;
}

/** The parameters as nested arrays [W₁, b₁, W₂, b₂, …], the inverse of mlpFromArrays (for saving as JSON). */
export function mlpToArrays(params: MlpParams): NestedArray[] {
  checkParams('mlpToArrays', params);
  return params.layers.flatMap(({ W, b }) => [W.toArray(), b.toArray()]);
}
