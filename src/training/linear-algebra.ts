/**
 * The small dense linear algebra the linear trainers share: Cholesky solves of symmetric positive
 * (semi)definite systems, and the exact minimiser of a quadratic plus an L1 penalty (coordinate
 * descent, finished by an exact solve on the nonzero coordinates), which is both elastic-net linear
 * regression and the subproblem of every proximal Newton step of elastic-net logistic regression.
 * Matrices are row-major `k × k` Float64Arrays.
 */
import { GalenError } from '../core/index.js';

/**
 * Solves H s = g for symmetric positive (semi)definite H (lower triangle used) by Cholesky.
 * Without a penalty, separable or collinear data make H singular; a growing ridge then keeps the step finite.
 */
export function solveSymmetric(h: Float64Array, g: Float64Array, k: number): Float64Array {
  let trace = 0;
  for (let a = 0; a < k; a++) trace += h[a * k + a] as number;
  for (let ridge = 0; ; ridge = ridge === 0 ? 1e-12 * Math.max(trace / k, 1) : ridge * 100) {
    const l = cholesky(h, k, ridge);
    if (l) return choleskySolve(l, g, k);
    if (ridge > 1e12)
      throw new GalenError('internal', 'Newton step failed: the Hessian is not positive definite');
  }
}

/** The lower Cholesky factor of `h + ridge·I` (lower triangle of `h` read), or undefined if not positive definite. */
export function cholesky(h: Float64Array, k: number, ridge: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      let sum = (h[a * k + b] as number) + (a === b ? ridge : 0);
      for (let c = 0; c < b; c++) sum -= (l[a * k + c] as number) * (l[b * k + c] as number);
      if (a === b) {
        if (!(sum > 0)) return undefined;
        l[a * k + a] = Math.sqrt(sum);
      } else {
        l[a * k + b] = sum / (l[b * k + b] as number);
      }
    }
  }
  return l;
}

/** Solves L Lᵀ s = g given the lower factor L. */
export function choleskySolve(l: Float64Array, g: Float64Array, k: number): Float64Array {
  const z = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    let sum = g[a] as number;
    for (let c = 0; c < a; c++) sum -= (l[a * k + c] as number) * (z[c] as number);
    z[a] = sum / (l[a * k + a] as number);
  }
  const s = new Float64Array(k);
  for (let a = k - 1; a >= 0; a--) {
    let sum = z[a] as number;
    for (let c = a + 1; c < k; c++) sum -= (l[c * k + a] as number) * (s[c] as number);
    s[a] = sum / (l[a * k + a] as number);
  }
  return s;
}

/**
 * Solves H s = g for symmetric positive semidefinite H (lower triangle used), giving a basic solution
 * when H is singular: a coordinate whose column depends on the earlier ones (Cholesky pivot below
 * `1e-12 ×` its diagonal) is fixed at 0 and left out. For a least-squares Gram matrix that drops
 * constant or collinear features instead of failing, and any solution found is a true minimiser.
 */
export function solveSemidefinite(h: Float64Array, g: Float64Array, k: number): Float64Array {
  const l = new Float64Array(k * k);
  const kept: number[] = [];
  for (let a = 0; a < k; a++) {
    const diagonal = h[a * k + a] as number;
    for (const b of kept) {
      let sum = h[a * k + b] as number;
      for (const c of kept) {
        if (c >= b) break;
        sum -= (l[a * k + c] as number) * (l[b * k + c] as number);
      }
      l[a * k + b] = sum / (l[b * k + b] as number);
    }
    let pivot = diagonal;
    for (const c of kept) pivot -= (l[a * k + c] as number) ** 2;
    if (diagonal > 0 && pivot > 1e-12 * diagonal) {
      l[a * k + a] = Math.sqrt(pivot);
      kept.push(a);
    }
  }
  const z = new Float64Array(k);
  for (const a of kept) {
    let sum = g[a] as number;
    for (const c of kept) {
      if (c >= a) break;
      sum -= (l[a * k + c] as number) * (z[c] as number);
    }
    z[a] = sum / (l[a * k + a] as number);
  }
  const s = new Float64Array(k);
  for (let i = kept.length - 1; i >= 0; i--) {
    const a = kept[i] as number;
    let sum = z[a] as number;
    for (let j = i + 1; j < kept.length; j++) {
      const c = kept[j] as number;
      sum -= (l[c * k + a] as number) * (s[c] as number);
    }
    s[a] = sum / (l[a * k + a] as number);
  }
  return s;
}

/** `q(u) = cᵀu + ½ uᵀHu + l1 · Σ_{j < penalised} |u_j|`, H symmetric positive semidefinite (both triangles filled). */
export interface L1Quadratic {
  readonly h: Float64Array;
  readonly c: Float64Array;
  readonly k: number;
  /** The first `penalised` coordinates carry the L1 term; the rest (intercepts) are free. */
  readonly penalised: number;
  readonly l1: number;
}

/** The minimiser of an `L1Quadratic`. */
export interface L1QuadraticSolution {
  readonly u: Float64Array;
  /** Coordinate-descent sweeps taken. */
  readonly sweeps: number;
  /** False when `maxSweeps` ran out first. */
  readonly converged: boolean;
}

/**
 * Minimises an `L1Quadratic` from `start`. Cyclic coordinate descent with soft-thresholding finds the
 * support (coordinates it sets to 0 are exactly 0); once the support and signs stop changing, one
 * Cholesky solve on them gives the exact minimiser if the KKT conditions confirm it. Coordinate descent
 * alone converges only linearly, and slowly when features are correlated — the final solve removes
 * that dependence on conditioning. Deterministic: coordinates are visited in index order.
 */
export function minimizeL1Quadratic(
  q: L1Quadratic,
  start: Float64Array,
  maxSweeps: number,
): L1QuadraticSolution {
  const { h, c, k, penalised, l1 } = q;
  const u = Float64Array.from(start);
  // r = ∇ of the smooth part at u = c + H u, kept current as coordinates move.
  const r = Float64Array.from(c);
  for (let a = 0; a < k; a++) {
    const ua = u[a] as number;
    if (ua !== 0) for (let b = 0; b < k; b++) r[b] = (r[b] as number) + (h[b * k + a] as number) * ua;
  }
  let scale = 0;
  for (let a = 0; a < k; a++) scale = Math.max(scale, h[a * k + a] as number);
  // A flat coordinate still gets a finite step; any curvature bound ≥ the true one keeps each update a descent.
  const floor = 1e-12 * Math.max(scale, 1e-300);
  let pattern = '';
  let triedPattern = '';
  for (let sweep = 1; sweep <= maxSweeps; sweep++) {
    let moved = 0;
    for (let j = 0; j < k; j++) {
      const hjj = Math.max(h[j * k + j] as number, floor);
      const old = u[j] as number;
      let next: number;
      if (j < penalised) {
        const z = hjj * old - (r[j] as number);
        next = Math.abs(z) <= l1 ? 0 : (z - Math.sign(z) * l1) / hjj;
      } else {
        next = old - (r[j] as number) / hjj;
      }
      const delta = next - old;
      if (delta === 0) continue;
      u[j] = next;
      for (let b = 0; b < k; b++) r[b] = (r[b] as number) + (h[b * k + j] as number) * delta;
      moved = Math.max(moved, Math.abs(delta));
    }
    let size = 0;
    for (let a = 0; a < k; a++) size = Math.max(size, Math.abs(u[a] as number));
    if (moved <= 1e-15 * (1 + size)) return { u, sweeps: sweep, converged: true };
    const current = signPattern(u, penalised);
    if (current === pattern && current !== triedPattern) {
      triedPattern = current;
      const exact = solveOnSupport(q, u);
      if (exact) return { u: exact, sweeps: sweep, converged: true };
    }
    pattern = current;
  }
  return { u, sweeps: maxSweeps, converged: false };
}

function signPattern(u: Float64Array, penalised: number): string {
  let s = '';
  for (let j = 0; j < penalised; j++) s += u[j]! > 0 ? '+' : u[j]! < 0 ? '-' : '0';
  return s;
}

/**
 * Solves the KKT equations on the support of `u` (its nonzero penalised coordinates and every free one),
 * keeping the signs: H_AA u_A = −(c_A + l1 · sign(u_A)). Returns the solution only if it keeps those
 * signs and every coordinate left at 0 satisfies |(c + H u)_j| ≤ l1 — then it is the exact minimiser.
 */
function solveOnSupport(q: L1Quadratic, u: Float64Array): Float64Array | undefined {
  const { h, c, k, penalised, l1 } = q;
  const support: number[] = [];
  for (let j = 0; j < k; j++) if (j >= penalised || u[j] !== 0) support.push(j);
  const m = support.length;
  const hs = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  support.forEach((a, i) => {
    rhs[i] = -((c[a] as number) + (a < penalised ? Math.sign(u[a] as number) * l1 : 0));
    support.forEach((b, j) => (hs[i * m + j] = h[a * k + b] as number));
  });
  const l = cholesky(hs, m, 0);
  if (!l) return undefined;
  const us = choleskySolve(l, rhs, m);
  const solution = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    const a = support[i] as number;
    const v = us[i] as number;
    if (a < penalised && Math.sign(v) !== Math.sign(u[a] as number)) return undefined;
    solution[a] = v;
  }
  for (let j = 0; j < penalised; j++) {
    if (solution[j] !== 0) continue;
    let g = c[j] as number;
    for (const b of support) g += (h[j * k + b] as number) * (solution[b] as number);
    // A rounding-level excess would move the coordinate by a rounding-level amount.
    if (Math.abs(g) > l1 * (1 + 1e-9)) return undefined;
  }
  return solution;
}
