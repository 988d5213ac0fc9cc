// Structured noise sources: generators whose tensor draws are not i.i.d.
// uniforms but a designed block, so that any estimator can use them unchanged.
//
// Every sampler of lib/random.ts is a function of uniforms. A BlockRng hands
// out, for each tensor draw of shape [n, ...E], one block of n·|E| uniforms
// that a subclass designs (antithetic pairs in estimators/antithetic.ts,
// quasi-Monte Carlo points here), and the usual transforms (−log(−log u) for
// a Gumbel, log u − log(1 − u) for a logistic, …) turn it into the samples.
//
// Quasi-Monte Carlo (Owen, "Monte Carlo theory, methods and examples", ch. 15
// and 17): replacing n i.i.d. uniform points in (0, 1)^d by the first n
// points of a Sobol sequence, randomized by Owen's nested scrambling, keeps
// every point uniform on the cube (so estimates stay unbiased) while the
// points fill the cube evenly: for smooth integrands the variance of the mean
// falls like n^{-3} (times logs) instead of n^{-1}.
//
//   x_i = scramble( ⊕_{k : bit k of gray(i) set} v_k ),  gray(i) = i ⊕ ⌊i/2⌋
//
// with v_k the direction numbers of Sobol (1967) as chosen by Joe & Kuo
// (2008, new-joe-kuo-6.21201, dimensions 1–9 here), in Gray-code order as
// in Antonov & Saleev (1979).

import { Tensor, sizeOf, formatShape, type Shape } from '../autodiff/index.ts';
import { Rng, rng as makeRng } from './random.ts';
import { normalQuantile } from './stats.ts';

function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape as unknown) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${op}: invalid shape ${Array.isArray(shape as unknown) ? formatShape(shape) : String(shape)}`);
  }
}

// ---------------------------------------------------------------- BlockRng

/**
 * A generator whose tensor draws come in designed blocks: for a draw of
 * shape [n, ...E] the subclass supplies n·|E| uniforms on (0, 1) (row-major,
 * sample i in row i), and, optionally, the normals. The Gumbel, logistic,
 * exponential, Weibull and integer samplers of Rng transform the block as
 * they would i.i.d. uniforms. `next()` outside a tensor draw, `uint32`,
 * `permutation` and `doubleSidedMaxwell` are refused: they have no place in
 * a block design.
 */
export abstract class BlockRng extends Rng {
  /** The name used in error messages. */
  protected readonly label: string;
  private block: Float64Array | null = null;
  private at = 0;

  constructor(label: string) {
    super(1, 0, 0, 0); // the xoshiro state is never used
    this.label = label;
  }

  /** sizeOf(shape) uniforms on the open interval (0, 1) for one draw of this shape, row-major. */
  protected abstract uniformBlock(shape: Shape): Float64Array;

  /**
   * sizeOf(shape) standard normals for one draw. By default Φ⁻¹ of a uniform
   * block: inversion maps each uniform to its own normal and so keeps the
   * design (Box–Muller would mix two coordinates into each normal).
   */
  protected normalBlock(shape: Shape): Float64Array {
    const u = this.uniformBlock(shape);
    for (let i = 0; i < u.length; i++) u[i] = normalQuantile(u[i]);
    return u;
  }

  next(): number {
    if (this.block === null || this.at >= this.block.length) {
      throw new TypeError(
        `${this.label}: draws whole tensors only (uniform, normal, gumbel, logistic, exponential, weibull, integers); ` +
          `a lone next() has no place in the design`,
      );
    }
    return this.block[this.at++];
  }

  uint32(): number {
    throw new TypeError(`${this.label}: draws whole tensors only; uint32 is not available`);
  }

  /** Runs one of Rng's samplers with its next() served from a fresh block of this shape. */
  private fromBlock(op: string, shape: Shape, draw: () => Tensor): Tensor {
    checkShape(op, shape);
    this.block = this.uniformBlock(shape);
    this.at = 0;
    try {
      return draw();
    } finally {
      this.block = null;
    }
  }

  fillUniform(out: Float64Array): Float64Array {
    out.set(this.uniformBlock([out.length]));
    return out;
  }

  fillNormal(out: Float64Array): Float64Array {
    out.set(this.normalBlock([out.length]));
    return out;
  }

  uniform(shape: Shape): Tensor {
    checkShape('uniform', shape);
    return new Tensor(this.uniformBlock(shape), [...shape]);
  }

  normal(shape: Shape): Tensor {
    checkShape('normal', shape);
    return new Tensor(this.normalBlock(shape), [...shape]);
  }

  gumbel(shape: Shape): Tensor {
    return this.fromBlock('gumbel', shape, () => super.gumbel(shape));
  }

  logistic(shape: Shape): Tensor {
    return this.fromBlock('logistic', shape, () => super.logistic(shape));
  }

  exponential(shape: Shape, rate = 1): Tensor {
    return this.fromBlock('exponential', shape, () => super.exponential(shape, rate));
  }

  weibull(shape: Shape, scale = 1, concentration = 1): Tensor {
    return this.fromBlock('weibull', shape, () => super.weibull(shape, scale, concentration));
  }

  integers(shape: Shape, low: number, high: number): Tensor {
    return this.fromBlock('integers', shape, () => super.integers(shape, low, high));
  }

  doubleSidedMaxwell(): Tensor {
    throw new TypeError(`${this.label}: doubleSidedMaxwell mixes several uniforms per sample and is not available; use a plain rng`);
  }

  permutation(): Tensor {
    throw new TypeError(`${this.label}: permutation is not available from a block design; use a plain rng`);
  }
}

// ---------------------------------------------------------------- Sobol points

/**
 * Joe & Kuo's primitive polynomials and initial direction numbers for
 * dimensions 2–9 (new-joe-kuo-6.21201): degree s, coefficient bits a, and
 * m_1 … m_s. Dimension 1 is van der Corput's (every m_k = 1).
 */
const JOE_KUO: readonly { s: number; a: number; m: readonly number[] }[] = [
  { s: 1, a: 0, m: [1] },
  { s: 2, a: 1, m: [1, 3] },
  { s: 3, a: 1, m: [1, 3, 1] },
  { s: 3, a: 2, m: [1, 1, 1] },
  { s: 4, a: 1, m: [1, 1, 3, 3] },
  { s: 4, a: 4, m: [1, 3, 5, 13] },
  { s: 5, a: 2, m: [1, 1, 5, 5, 17] },
  { s: 5, a: 4, m: [1, 1, 5, 5, 5] },
];

/** The largest dimension with direction numbers here. */
export const SOBOL_MAX_DIMENSION = JOE_KUO.length + 1;

const BITS = 32;

/**
 * The 32 direction numbers V_k = m_k 2^{32−k} of one dimension (k = 1..32),
 * by the recurrence of Bratley & Fox (1988) as written by Joe & Kuo:
 *   V_k = V_{k−s} ⊕ (V_{k−s} >> s) ⊕ ⊕_{i=1}^{s−1} a_i V_{k−i}.
 */
function directionNumbers(dimension: number): Uint32Array {
  const v = new Uint32Array(BITS);
  if (dimension === 0) {
    for (let k = 0; k < BITS; k++) v[k] = 2 ** (BITS - 1 - k);
    return v;
  }
  const { s, a, m } = JOE_KUO[dimension - 1];
  for (let k = 0; k < Math.min(s, BITS); k++) v[k] = (m[k] * 2 ** (BITS - 1 - k)) >>> 0;
  for (let k = s; k < BITS; k++) {
    let x = (v[k - s] ^ (v[k - s] >>> s)) >>> 0;
    for (let i = 1; i < s; i++) if ((a >>> (s - 1 - i)) & 1) x = (x ^ v[k - i]) >>> 0;
    v[k] = x;
  }
  return v;
}

/** MurmurHash3's finalizer: a well-mixing bijection of 32-bit words. */
function fmix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Owen's nested uniform scrambling of the 32 leading binary digits of x
 * (Owen 1995): digit t is flipped or not by a random bit that depends on the
 * seed, on t and on the t digits above it. The random bits are a hash of
 * (seed, t, prefix) rather than a stored tree, as in Burley (2020) and
 * Laine & Karras (2011). The map is a bijection that sends every elementary
 * interval onto one of the same size, so a (t, m, d)-net stays one, and each
 * scrambled point is uniform.
 */
export function owenScramble(x: number, seed: number): number {
  let out = 0;
  for (let t = 0; t < BITS; t++) {
    const bit = (x >>> (BITS - 1 - t)) & 1;
    const prefix = t === 0 ? 0 : x >>> (BITS - t);
    const flip = fmix32(fmix32((prefix + seed) >>> 0) ^ Math.imul(t + 1, 0x9e3779b9)) & 1;
    out = ((out << 1) | (bit ^ flip)) >>> 0;
  }
  return out;
}

export interface SobolOptions {
  /** Owen-scramble the points (default true). Unscrambled points are deterministic, so estimates from them are not unbiased. */
  scramble?: boolean;
}

const TWO_POW_20 = 1048576;
const TWO_POW_52 = 4503599627370496;

/**
 * Randomized quasi-Monte Carlo noise: Owen-scrambled Sobol points in
 * dimension d ≤ 9, served as a generator, so an estimator draws them without
 * changing its code.
 *
 * Each tensor draw of shape [n, ...E] takes |E| coordinates of n points:
 * sample i gets point i. Draws of the same n continue along the coordinates
 * of the same points (an estimator that draws u [n, D] then v [n, D] uses
 * coordinates 0..D−1 and D..2D−1, so d = 2D makes (u, v) one design); a
 * draw of another n, or one that does not fit in the d coordinates left,
 * starts the next n points of the sequence. Use n a power of two: blocks of
 * 2^m consecutive points are the balanced nets.
 *
 * Every point is uniform on (0, 1)^d and the 52-bit uniforms below the 32
 * Sobol digits are filled with independent random bits, so each uniform lies
 * on the generator's grid inside (0, 1). `split()` gives an independent
 * randomization of the same sequence (for replicates and error bars).
 */
export class SobolRng extends BlockRng {
  readonly dimension: number;
  readonly scrambled: boolean;
  private readonly source: Rng;
  private readonly directions: Uint32Array[];
  private readonly seeds: Uint32Array;
  /** Index of the next unused point of the sequence. */
  private index = 0;
  private batchStart = 0;
  private batchSize = 0;
  private column = 0;

  constructor(dimension: number, seed: number | Rng = 0, options: SobolOptions = {}) {
    super('SobolRng');
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > SOBOL_MAX_DIMENSION) {
      throw new RangeError(`SobolRng: dimension must be an integer in 1..${SOBOL_MAX_DIMENSION}, got ${dimension}; draw fewer noise coordinates per sample`);
    }
    this.dimension = dimension;
    this.scrambled = options.scramble ?? true;
    this.source = seed instanceof Rng ? seed : makeRng(seed);
    this.directions = Array.from({ length: dimension }, (_, j) => directionNumbers(j));
    this.seeds = Uint32Array.from({ length: dimension }, () => this.source.uint32());
  }

  /** The next point's index in the sequence (how many points have been used). */
  get position(): number {
    return this.index;
  }

  /** Coordinate j of point i as a 32-bit integer (before the low random bits). */
  private digits(i: number, j: number): number {
    const gray = (i ^ (i >>> 1)) >>> 0;
    const v = this.directions[j];
    let x = 0;
    for (let k = 0; k < BITS && gray >>> k !== 0; k++) if ((gray >>> k) & 1) x = (x ^ v[k]) >>> 0;
    return this.scrambled ? owenScramble(x, this.seeds[j]) : x;
  }

  protected uniformBlock(shape: Shape): Float64Array {
    const size = sizeOf(shape);
    const out = new Float64Array(size);
    if (size === 0) return out;
    const n = shape.length === 0 ? 1 : shape[0];
    const width = size / n; // coordinates per sample
    if (width > this.dimension) {
      throw new RangeError(
        `SobolRng: a draw of shape ${formatShape(shape)} needs ${width} coordinates per sample, but the points have d = ${this.dimension}; ` +
          `make the SobolRng with dimension ≥ ${width}`,
      );
    }
    if (n !== this.batchSize || this.column + width > this.dimension) {
      if (this.index + n > 2 ** BITS) throw new RangeError(`SobolRng: the sequence has 2^32 points; all are used`);
      this.batchStart = this.index;
      this.batchSize = n;
      this.index += n;
      this.column = 0;
    }
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < width; c++) {
        const hi = this.digits(this.batchStart + i, this.column + c);
        const lo = this.scrambled ? Math.floor(this.source.next() * TWO_POW_20) : 0;
        out[i * width + c] = (hi * TWO_POW_20 + lo + 0.5) / TWO_POW_52; // < 1: hi·2²⁰ + lo ≤ 2⁵² − 1
      }
    }
    this.column += width;
    return out;
  }

  /** An independent randomization of the same Sobol sequence, starting at its first point. */
  split(): SobolRng {
    return new SobolRng(this.dimension, this.source.split(), { scramble: this.scrambled });
  }

  fork(n: number): Rng[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`fork: n must be a non-negative integer, got ${n}`);
    return Array.from({ length: n }, () => this.split());
  }
}

/**
 * The first n points of the d-dimensional Sobol sequence as [n, d] (Owen-
 * scrambled with `seed` unless options.scramble is false), e.g. to look at
 * the design or integrate a plain function.
 */
export function sobolPoints(n: number, dimension: number, seed: number | Rng = 0, options: SobolOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sobolPoints: n must be a positive integer, got ${n}`);
  return new SobolRng(dimension, seed, options).uniform([n, dimension]);
}
