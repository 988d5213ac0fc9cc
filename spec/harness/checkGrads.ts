// checkGrads: reverse-mode derivatives against central finite differences in
// random directions, as JAX's and HIPS autograd's check_grads do.
//
// f may return a tensor of any shape; it is reduced to a scalar with a fixed
// random weight W of the output's shape, so every output coordinate matters:
//
//   F(x) = Σ f(x) ⊙ W
//   order 1:  ⟨∇F(x), v⟩            ≈ (F(x + εv) − F(x − εv)) / 2ε
//   order 2:  ∇ₓ ⟨∇F(x), u⟩ = H u    ≈ (∇F(x + εu) − ∇F(x − εu)) / 2ε
//
// (order 2 also runs the order-1 check). The second-order check compares the
// whole Hessian-vector product, one coordinate at a time, computed as a grad
// of a grad — so it exercises each VJP's own derivative — against central
// differences of the first-order gradient. Directions v, u and the weight W
// are standard normals from the project's seeded generator.
//
// Tolerances (float64, unit roundoff u = 2⁻⁵³ ≈ 1.1e-16). For a central
// difference with step ε the error is at most
//   truncation  ε²/6 · |F'''| (Taylor's theorem with the third derivative along the segment)
//   + rounding  ≈ κ u |F| / ε (F evaluated twice with relative error κu, κ ≈ number of ops summed)
// With ε = 1e-5 and the test domains (|F|, |F'''| ≲ 1e2, κ ≲ 1e2 for the few
// dozen elements of a test tensor) that is ≲ 2e-9 + 1e-7·(worst case), in
// practice ~1e-10. The default atol = rtol = 1e-6 sits well above that
// worst case and four orders of magnitude below the error of a derivative
// that is off by 1% on O(1) inputs, which the self-test in
// spec/autodiff/checkGrads.spec.ts shows is rejected. For order 2 the same
// bound applies to each gradient coordinate (the gradient replaces F), with
// κ larger because the gradient is itself a backward pass over the graph:
// atol = rtol = 1e-5 there, still three orders below a 1% error.

import { Tensor, grad, sum, mul, add, rng, type Rng } from '../../index.ts';

export interface CheckGradsOptions {
  /** 1: first derivatives; 2: also Hessian-vector products (grad of grad). */
  order: 1 | 2;
  /** The finite-difference step. Default 1e-5. */
  eps?: number;
  /** Relative tolerance: |analytic − numeric| ≤ atol + rtol·|numeric|. Default 1e-6 (order 1), 1e-5 (order 2). */
  rtol?: number;
  /** Absolute tolerance. Default as rtol. */
  atol?: number;
  /** Seed of the directions and the output weight. Default 0. */
  seed?: number;
}

/** The worst |analytic − numeric| / (atol + rtol·|numeric|) seen by a check: ≤ 1 passes. */
export interface CheckGradsReport {
  order1: number;
  order2: number;
}

type Fn = (...xs: Tensor[]) => Tensor;

/**
 * Checks the derivatives of `f` at `args` (every argument is a Tensor and is
 * differentiated) against central differences; throws an Error naming the
 * order, argument and coordinate on a mismatch. Returns the worst error
 * ratio of each order, for reporting.
 */
export function checkGrads(f: Fn, args: readonly Tensor[], options: CheckGradsOptions): CheckGradsReport {
  const { order, eps = 1e-5, seed = 0 } = options;
  const rtol1 = options.rtol ?? 1e-6;
  const atol1 = options.atol ?? rtol1;
  const rtol2 = options.rtol ?? 1e-5;
  const atol2 = options.atol ?? rtol2;
  const r = rng(seed);
  const out = f(...args);
  if (!(out instanceof Tensor)) throw new TypeError(`checkGrads: f must return a Tensor, got ${typeof out}`);
  const W = r.normal(out.shape);
  const F: Fn = (...xs) => sum(mul(f(...xs), W));
  const argnums = args.map((_, i) => i);
  const gradF = grad(F, { argnums }) as (...xs: Tensor[]) => Tensor[];
  const report: CheckGradsReport = { order1: 0, order2: 0 };

  // ---- order 1: one directional derivative
  const v = args.map((a) => r.normal(a.shape));
  const g = gradF(...args);
  g.forEach((gi, i) => expectShape(gi, args[i], `gradient of argument ${i}`));
  const analytic = g.reduce((acc, gi, i) => acc + dotData(gi, v[i]), 0);
  const plus = F(...shifted(args, v, eps)).item();
  const minus = F(...shifted(args, v, -eps)).item();
  const numeric = (plus - minus) / (2 * eps);
  report.order1 = ratio(analytic, numeric, atol1, rtol1);
  if (!(report.order1 <= 1)) {
    throw new Error(
      `checkGrads: order 1 mismatch: ⟨∇F, v⟩ = ${analytic} but central differences give ${numeric} ` +
        `(|diff| ${Math.abs(analytic - numeric).toExponential(2)} > atol ${atol1} + rtol ${rtol1}·|numeric|)`,
    );
  }
  if (order === 1) return report;

  // ---- order 2: Hessian-vector product, grad of ⟨∇F, u⟩
  const u = args.map((a) => r.normal(a.shape));
  const H: Fn = (...xs) => {
    const gs = gradF(...xs);
    let acc = sum(mul(gs[0], u[0]));
    for (let i = 1; i < gs.length; i++) acc = add(acc, sum(mul(gs[i], u[i])));
    return acc;
  };
  const hvp = grad(H, { argnums })(...args) as Tensor[];
  const gPlus = gradF(...shifted(args, u, eps));
  const gMinus = gradF(...shifted(args, u, -eps));
  for (let i = 0; i < args.length; i++) {
    expectShape(hvp[i], args[i], `Hessian-vector product of argument ${i}`);
    for (let j = 0; j < args[i].size; j++) {
      const a = hvp[i].data[j];
      const n = (gPlus[i].data[j] - gMinus[i].data[j]) / (2 * eps);
      const q = ratio(a, n, atol2, rtol2);
      if (q > report.order2 || q !== q) report.order2 = q;
      if (!(q <= 1)) {
        throw new Error(
          `checkGrads: order 2 mismatch at argument ${i}, element ${j}: (H u) = ${a} but central differences ` +
            `of the gradient give ${n} (|diff| ${Math.abs(a - n).toExponential(2)} > atol ${atol2} + rtol ${rtol2}·|numeric|)`,
        );
      }
    }
  }
  return report;
}

/** Standard normal tensors of the given shapes, from one seed (for tests that build their own directions). */
export function normals(seed: number, ...shapes: (readonly number[])[]): Tensor[] {
  const r: Rng = rng(seed);
  return shapes.map((s) => r.normal(s));
}

function ratio(analytic: number, numeric: number, atol: number, rtol: number): number {
  return Math.abs(analytic - numeric) / (atol + rtol * Math.abs(numeric));
}

function dotData(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.data[i] * b.data[i];
  return s;
}

function shifted(xs: readonly Tensor[], dirs: readonly Tensor[], step: number): Tensor[] {
  return xs.map((x, i) => {
    const data = new Float64Array(x.size);
    for (let j = 0; j < x.size; j++) data[j] = x.data[j] + step * dirs[i].data[j];
    return new Tensor(data, x.shape);
  });
}

function expectShape(g: Tensor, x: Tensor, what: string): void {
  const same = g instanceof Tensor && g.shape.length === x.shape.length && g.shape.every((d, i) => d === x.shape[i]);
  if (!same) {
    const got = g instanceof Tensor ? `[${g.shape.join(',')}]` : String(g);
    throw new Error(`checkGrads: the ${what} has shape ${got}, expected [${x.shape.join(',')}]`);
  }
}
