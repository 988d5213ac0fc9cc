// Deterministic quadrature over the unit cube, for exact moments of
// estimators whose noise is a few uniforms.
//
// Gauss–Legendre with m nodes integrates polynomials of degree 2m − 1
// exactly on a panel. An estimator's output jumps where the discrete sample
// flips (e.g. at u = 1 − σ(θ) for a Bernoulli), so each axis is cut into
// panels at those breakpoints and every panel gets its own nodes: on each
// panel the integrand is smooth and the rule converges fast.

/** Nodes and weights of m-point Gauss–Legendre on [−1, 1] (Newton on P_m; Golub & Welsch give the same). */
export function gaussLegendre(m: number): { nodes: Float64Array; weights: Float64Array } {
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`gaussLegendre: m must be a positive integer, got ${m}`);
  const nodes = new Float64Array(m);
  const weights = new Float64Array(m);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    // Tricomi's initial guess for the i-th largest root, then Newton.
    let x = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // P_m(x) and P_m'(x) by the three-term recurrence.
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= m; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const pm = m === 1 ? x : p1;
      const pm1 = m === 1 ? 1 : p0;
      dp = (m * (x * pm - pm1)) / (x * x - 1);
      const dx = pm / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    nodes[i] = -x;
    nodes[m - 1 - i] = x;
    const w = 2 / ((1 - x * x) * dp * dp);
    weights[i] = w;
    weights[m - 1 - i] = w;
  }
  return { nodes, weights };
}

/**
 * A composite rule on (0, 1): panels between the sorted breakpoints, m
 * Gauss–Legendre nodes on each. Nodes are interior, never 0 or 1.
 *
 * Noise maps to samples through logs (z = log u − log(1 − u)), so integrands
 * often behave like u^a near 0 and 1, where one panel converges slowly. With
 * `grading` g > 0, panels shrink geometrically toward both ends (cuts at
 * 10^−1 … 10^−g and their mirrors), which restores fast convergence for such
 * power-law endpoints (Schwab 1998, hp-quadrature).
 */
export function unitRule(m: number, breakpoints: readonly number[] = [], grading = 0): { nodes: Float64Array; weights: Float64Array } {
  const graded: number[] = [];
  for (let j = 1; j <= grading; j++) graded.push(10 ** -j, 1 - 10 ** -j);
  const cuts = [0, ...[...breakpoints, ...graded].filter((b) => b > 0 && b < 1).sort((a, b) => a - b), 1];
  const base = gaussLegendre(m);
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let p = 0; p + 1 < cuts.length; p++) {
    const lo = cuts[p];
    const hi = cuts[p + 1];
    if (hi <= lo) continue;
    const half = (hi - lo) / 2;
    for (let i = 0; i < m; i++) {
      nodes.push(lo + half * (base.nodes[i] + 1));
      weights.push(half * base.weights[i]);
    }
  }
  return { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights) };
}

/**
 * The tensor product of one rule per axis, as points [N, d] (row-major in a
 * Float64Array) and weights [N] summing to 1.
 */
export function productRule(axes: readonly { nodes: Float64Array; weights: Float64Array }[]): { points: Float64Array; weights: Float64Array; count: number } {
  const d = axes.length;
  const count = axes.reduce((acc, a) => acc * a.nodes.length, 1);
  const points = new Float64Array(count * d);
  const weights = new Float64Array(count);
  const index = new Array<number>(d).fill(0);
  for (let i = 0; i < count; i++) {
    let w = 1;
    for (let k = 0; k < d; k++) {
      points[i * d + k] = axes[k].nodes[index[k]];
      w *= axes[k].weights[index[k]];
    }
    weights[i] = w;
    for (let k = d - 1; k >= 0; k--) {
      index[k]++;
      if (index[k] < axes[k].nodes.length) break;
      index[k] = 0;
    }
  }
  return { points, weights, count };
}
