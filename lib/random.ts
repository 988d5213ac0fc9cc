// The one random number generator of mcgrad: seeded, splittable, and the
// same sequence in every JavaScript runtime.
//
// The core is xoshiro128** (Blackman & Vigna 2018), 128 bits of state in four
// 32-bit words, seeded through MurmurHash3's fmix32 so that nearby seeds give
// unrelated streams. It uses only 32-bit integer arithmetic (Math.imul, >>>),
// which every engine implements identically. A double is made from two outputs (52
// random bits k) as u = (k + ½)·2⁻⁵², so uniforms lie in the open interval
// (0, 1), from 2⁻⁵³ to 1 − 2⁻⁵³: never exactly 0 or 1, and −log(−log u) is
// always finite. (With 53 bits, k + ½ is not representable once k ≥ 2⁵², and
// k = 2⁵³ − 1 would round to exactly 1.) Every u and 1 − u lie on the grid.

import { Tensor, sizeOf, formatShape, type Shape } from '../autodiff/index.ts';
import { allocToFill } from '../autodiff/tensor.ts'; // the engine's allocator: a slab, the pool or an estimator's arena
import { logKernel } from '../autodiff/ops/kernels.ts'; // log x, faster than Math.log and as accurate

const TWO_POW_52 = 4503599627370496;

/** splitmix32: one step of a 32-bit mixing sequence, used only for seeding. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  return fmix32(state.s);
}

/**
 * MurmurHash3's finalizer: a bijection of 32-bit words in which every input
 * bit flips each output bit with probability about ½ (xor-shifts and
 * multiplications by odd constants are each invertible).
 */
function fmix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape as unknown) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${op}: invalid shape ${Array.isArray(shape as unknown) ? formatShape(shape) : String(shape)}`);
  }
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Use `rng(seed)`; this constructor takes four 32-bit words of state. */
  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** The next 32 random bits, as an unsigned integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform number in the open interval (0, 1): (k + ½)·2⁻⁵² for a uniform 52-bit integer k. */
  next(): number {
    const hi = this.uint32() >>> 6; // 26 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / TWO_POW_52; // k + ½ < 2⁵³ is exact
  }

  /**
   * An independent generator. The parent advances, so calling split twice
   * gives two different children; the child's stream is seeded from four
   * fresh outputs of the parent.
   */
  split(): Rng {
    const state = { s: this.uint32() ^ 0x5bd1e995 };
    const words = [this.uint32(), this.uint32(), this.uint32(), this.uint32()];
    return new Rng(
      words[0] ^ splitmix32(state),
      words[1] ^ splitmix32(state),
      words[2] ^ splitmix32(state),
      words[3] ^ splitmix32(state),
    );
  }

  /** `n` independent generators (see split). */
  fork(n: number): Rng[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`fork: n must be a non-negative integer, got ${n}`);
    return Array.from({ length: n }, () => this.split());
  }

  // -------------------------------------------------------------- filling arrays

  /**
   * Fills `out` with the next out.length values of next(), in order. Every
   * sampler below draws its uniforms here, then transforms them in place.
   * For a plain generator the xoshiro state is kept in locals through the
   * loop (the same outputs as calling next(), several times faster); a
   * subclass that redefines next() or uint32() (scripted or block designs)
   * is called instead.
   */
  private draw(out: Float64Array): Float64Array {
    if (this.next !== Rng.prototype.next || this.uint32 !== Rng.prototype.uint32) {
      for (let i = 0; i < out.length; i++) out[i] = this.next();
      return out;
    }
    let a = this.a, b = this.b, c = this.c, d = this.d;
    for (let i = 0; i < out.length; i++) {
      // uint32() twice, as in next(): each output's top 26 bits.
      const hi = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 6;
      let t = b << 9;
      c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
      d = rotl(d, 11);
      const lo = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 6;
      t = b << 9;
      c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
      d = rotl(d, 11);
      out[i] = (hi * 67108864 + lo + 0.5) / TWO_POW_52;
    }
    this.a = a; this.b = b; this.c = c; this.d = d;
    return out;
  }

  /** Fills `out` with uniforms on (0, 1). */
  fillUniform(out: Float64Array): Float64Array {
    return this.draw(out);
  }

  /** Fills `out` with standard normals (Box–Muller: two uniforms give two normals). */
  fillNormal(out: Float64Array): Float64Array {
    const pairs = out.length >> 1;
    this.draw(out.subarray(0, 2 * pairs));
    for (let i = 0; i < 2 * pairs; i += 2) {
      const r = Math.sqrt(-2 * logKernel(out[i]));
      const angle = 2 * Math.PI * out[i + 1];
      out[i] = r * Math.cos(angle);
      out[i + 1] = r * Math.sin(angle);
    }
    if (out.length % 2 === 1) out[out.length - 1] = Math.sqrt(-2 * logKernel(this.next())) * Math.cos(2 * Math.PI * this.next());
    return out;
  }

  /** Fills `out` with exponentials of the given rate (default 1): −log(u) / rate. */
  fillExponential(out: Float64Array, rate = 1): Float64Array {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`exponential: rate must be positive and finite, got ${rate}`);
    this.draw(out);
    for (let i = 0; i < out.length; i++) out[i] = -logKernel(out[i]) / rate;
    return out;
  }

  /**
   * Fills `out` with standard Gumbels: −log(−log u). Finite, since u is never
   * 0 or 1. The two logarithms are taken in two passes, all the inner ones
   * first: within one pass each element's logarithm is independent of the
   * others', so the processor overlaps several, where the second logarithm
   * of an element waiting on its first made one long chain per element (8.4
   * against 13.3 ns per Gumbel here, the same values).
   */
  fillGumbel(out: Float64Array): Float64Array {
    this.draw(out);
    for (let i = 0; i < out.length; i++) out[i] = -logKernel(out[i]);
    for (let i = 0; i < out.length; i++) out[i] = -logKernel(out[i]);
    return out;
  }

  /** Fills `out` with standard logistics: log u − log(1 − u). */
  fillLogistic(out: Float64Array): Float64Array {
    this.draw(out);
    for (let i = 0; i < out.length; i++) {
      const u = out[i];
      out[i] = logKernel(u) - logKernel(1 - u); // 1 − u is exact for the generator's u, and 1 − (1 − u) is u: L(1 − u) = −L(u)
    }
    return out;
  }

  // -------------------------------------------------------------- tensors of samples

  /** Uniforms on the open interval (0, 1). */
  uniform(shape: Shape): Tensor {
    checkShape('uniform', shape);
    return new Tensor(this.fillUniform(allocToFill(sizeOf(shape))), [...shape]);
  }

  /** Standard normals N(0, 1). */
  normal(shape: Shape): Tensor {
    checkShape('normal', shape);
    return new Tensor(this.fillNormal(allocToFill(sizeOf(shape))), [...shape]);
  }

  /** Exponentials with the given rate (default 1): −log(u) / rate. */
  exponential(shape: Shape, rate = 1): Tensor {
    checkShape('exponential', shape);
    return new Tensor(this.fillExponential(allocToFill(sizeOf(shape)), rate), [...shape]);
  }

  /** Standard Gumbels: −log(−log u). Finite, since u is never 0 or 1. */
  gumbel(shape: Shape): Tensor {
    checkShape('gumbel', shape);
    return new Tensor(this.fillGumbel(allocToFill(sizeOf(shape))), [...shape]);
  }

  /** Standard logistics: log u − log(1 − u). */
  logistic(shape: Shape): Tensor {
    checkShape('logistic', shape);
    return new Tensor(this.fillLogistic(allocToFill(sizeOf(shape))), [...shape]);
  }

  /**
   * Weibulls with the given scale λ and concentration (shape) k, by inversion:
   * x = λ (−log u)^{1/k}, so P(x ≤ t) = 1 − exp(−(t/λ)^k). With λ = √2 and
   * k = 2 this is the Rayleigh law of the Gaussian mean's measure-valued
   * derivative (Mohamed et al. 2020, Table 1).
   */
  weibull(shape: Shape, scale = 1, concentration = 1): Tensor {
    checkShape('weibull', shape);
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`weibull: scale must be positive and finite, got ${scale}`);
    if (!(concentration > 0) || !Number.isFinite(concentration)) {
      throw new RangeError(`weibull: concentration must be positive and finite, got ${concentration}`);
    }
    const data = this.draw(new Float64Array(sizeOf(shape)));
    for (let i = 0; i < data.length; i++) data[i] = scale * Math.pow(-logKernel(data[i]), 1 / concentration);
    return new Tensor(data, [...shape]);
  }

  /**
   * Double-sided Maxwells, density (x − loc)² / scale² · N(x; loc, scale²):
   * loc + scale · s · R with s a fair sign and R = √(χ²₃) a Maxwell, built as
   * χ²₃ = −2 log u + z² (an Exp(½) for two degrees of freedom plus a squared
   * normal for the third). The Gaussian scale's measure-valued derivative
   * (Mohamed et al. 2020, Table 1).
   */
  doubleSidedMaxwell(shape: Shape, loc = 0, scale = 1): Tensor {
    checkShape('doubleSidedMaxwell', shape);
    if (!Number.isFinite(loc)) throw new RangeError(`doubleSidedMaxwell: loc must be finite, got ${loc}`);
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`doubleSidedMaxwell: scale must be positive and finite, got ${scale}`);
    const size = sizeOf(shape);
    const z = this.fillNormal(new Float64Array(size));
    const data = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const radius = Math.sqrt(-2 * logKernel(this.next()) + z[i] * z[i]);
      const sign = this.next() < 0.5 ? -1 : 1;
      data[i] = loc + scale * sign * radius;
    }
    return new Tensor(data, [...shape]);
  }

  /** Integers uniform on low ≤ k < high. */
  integers(shape: Shape, low: number, high: number): Tensor {
    checkShape('integers', shape);
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
      throw new RangeError(`integers: need integers low < high, got ${low} and ${high}`);
    }
    const span = high - low;
    const data = this.draw(new Float64Array(sizeOf(shape)));
    for (let i = 0; i < data.length; i++) data[i] = low + Math.floor(data[i] * span);
    return new Tensor(data, [...shape]);
  }

  /** A uniformly random permutation of 0, …, n − 1 (Fisher–Yates). */
  permutation(n: number): Tensor {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`permutation: n must be a non-negative integer, got ${n}`);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = data[i];
      data[i] = data[j];
      data[j] = t;
    }
    return new Tensor(data, [n]);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A generator seeded by an integer; every safe integer (|seed| ≤ 2⁵³ − 1) is
 * a distinct seed. Fractions are refused: they would silently share the
 * stream of their integer part.
 */
export function rng(seed: number): Rng {
  if (typeof seed !== 'number') throw new TypeError(`rng: seed must be a number, got ${typeof seed}`);
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`rng: seed must be an integer with |seed| ≤ 2^53 − 1, got ${seed}; round it, e.g. rng(Math.floor(seed))`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  // Two Feistel rounds of fmix32 make (lo, hi) ↦ (a, b) a bijection (each
  // round is invertible given the other word), so distinct seeds give
  // distinct states, and both halves of the seed reach the first output,
  // which depends on b alone. c and d are further hashes of (a, b).
  const a = fmix32(lo ^ fmix32(hi + 0x9e3779b9));
  const b = fmix32(hi ^ fmix32(a + 0x7f4a7c15));
  const c = fmix32(a ^ fmix32(b + 0x632be5ab));
  const d = fmix32(b ^ fmix32(c + 0x85a308d3));
  return new Rng(a, b, c, d);
}

/**
 * A generator that replays given uniforms instead of drawing them: every
 * sampler is a function of `next()`, so scripting the uniforms fixes the
 * noise of any estimator exactly. For common random numbers, quadrature over
 * the noise, and reproducing another implementation's fixed-noise numbers.
 * Throws when the script runs out; split() is not available.
 */
export class ScriptedRng extends Rng {
  private readonly script: Float64Array;
  private at = 0;

  constructor(uniforms: ArrayLike<number>) {
    super(1, 0, 0, 0);
    this.script = Float64Array.from(uniforms);
    for (let i = 0; i < this.script.length; i++) {
      const u = this.script[i];
      if (!(u > 0 && u < 1)) throw new RangeError(`ScriptedRng: uniforms must lie in the open interval (0, 1), got ${u} at index ${i}`);
    }
  }

  /** How many scripted uniforms are left. */
  get remaining(): number {
    return this.script.length - this.at;
  }

  next(): number {
    if (this.at >= this.script.length) {
      throw new RangeError(`ScriptedRng: the script of ${this.script.length} uniforms is used up; give more`);
    }
    return this.script[this.at++];
  }

  uint32(): number {
    throw new TypeError('ScriptedRng: replays uniforms only; split, fork and uint32 are not available');
  }
}
