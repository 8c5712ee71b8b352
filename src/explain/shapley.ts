/**
 * Shapley values of one prediction over its input columns ("players"), interventional: a
 * coalition S keeps the row's own values for S and takes the others from each background row, and
 * its value is the model's output averaged over the background. Three ways to get them:
 * - `linearShapley`: exact for a model linear in its features, φ_c = Σ_{j∈c} w_j (x_j − mean z_j);
 * - `treeShapley`: exact for tree ensembles (interventional TreeSHAP, one background row at a
 *   time: each leaf reachable by mixing the row and the background row is a unanimity game);
 * - `kernelShapley`: KernelSHAP for any model, a weighted least-squares fit to coalition values
 *   (every coalition when few enough, else paired samples drawn by the Shapley kernel).
 * In every case Σ φ = f(x) − base, where base is the mean output over the background.
 */
import type { TreeNodeSpec } from '../core/index.js';
import { mulberry32, solveSemidefinite } from '../training/index.js';

export interface Shapley {
  /** One value per player. */
  values: Float64Array;
  /** Mean output over the background: what the values start from. */
  base: number;
  /** The explained output for the row itself. */
  output: number;
}

/**
 * A linear model over transformed features: `weights[j]` for feature j, `columnOf[j]` the player it
 * belongs to. `x` is the row's features, `background` the background rows' features.
 */
export function linearShapley(
  weights: ArrayLike<number>,
  intercept: number,
  columnOf: ArrayLike<number>,
  players: number,
  x: ArrayLike<number>,
  background: readonly ArrayLike<number>[],
): Shapley {
  const values = new Float64Array(players);
  let output = intercept;
  let base = intercept;
  for (let j = 0; j < weights.length; j++) {
    let mean = 0;
    for (const z of background) mean += z[j]!;
    mean /= background.length;
    const w = weights[j]!;
    values[columnOf[j]!]! += w * (x[j]! - mean);
    output += w * x[j]!;
    base += w * mean;
  }
  return { values, base, output };
}

/** Which way a node sends a feature value (NaN follows `missingGoesLeft`). */
function goesLeft(node: TreeNodeSpec, value: number): boolean {
  return Number.isNaN(value) ? node.missingGoesLeft : value <= node.threshold;
}

/** factorial(n) for the small n of a tree path. */
const FACTORIAL: number[] = [1];
for (let n = 1; n <= 64; n++) FACTORIAL.push(FACTORIAL[n - 1]! * n);

/**
 * Interventional TreeSHAP for output `k` of a tree ensemble (the sum of its trees, plus `base`).
 * `columnOf` maps a tree's feature index to its player. Exact: Σ φ = f(x) − mean f(z).
 */
export function treeShapley(
  trees: readonly (readonly TreeNodeSpec[])[],
  treeBase: number,
  k: number,
  columnOf: ArrayLike<number>,
  players: number,
  x: ArrayLike<number>,
  background: readonly ArrayLike<number>[],
): Shapley {
  const values = new Float64Array(players);
  const fromX: number[] = [];
  const fromZ: number[] = [];
  let output = treeBase;
  let base = treeBase;
  const leafOf = (tree: readonly TreeNodeSpec[], row: ArrayLike<number>): number => {
    let n = 0;
    for (let steps = 0; steps <= tree.length; steps++) {
      const node = tree[n]!;
      if (node.leaf) return node.leaf[k] ?? 0;
      n = goesLeft(node, row[node.feature]!) ? node.left : node.right;
    }
    return 0;
  };
  for (const tree of trees) {
    output += leafOf(tree, x);
    for (const z of background) {
      base += leafOf(tree, z) / background.length;
      walk(tree, 0, z, 1 / background.length);
    }
  }
  return { values, base, output };

  // A hybrid row takes each player wholly from x or from z; a split on a player not yet decided
  // where x and z part ways decides it both ways. Each leaf so reached is worth its value to a
  // coalition holding every player in `fromX` and none in `fromZ`.
  function walk(tree: readonly TreeNodeSpec[], n: number, z: ArrayLike<number>, weight: number): void {
    const node = tree[n]!;
    if (node.leaf) {
      const v = (node.leaf[k] ?? 0) * weight;
      const a = fromX.length;
      const b = fromZ.length;
      if (a + b === 0) return;
      const total = FACTORIAL[a + b]!;
      if (a > 0) {
        const share = (v * FACTORIAL[a - 1]! * FACTORIAL[b]!) / total;
        for (const p of fromX) values[p]! += share;
      }
      if (b > 0) {
        const share = (v * FACTORIAL[a]! * FACTORIAL[b - 1]!) / total;
        for (const p of fromZ) values[p]! -= share;
      }
      return;
    }
    const player = columnOf[node.feature]!;
    const xLeft = goesLeft(node, x[node.feature]!);
    const zLeft = goesLeft(node, z[node.feature]!);
    const next = (left: boolean): number => (left ? node.left : node.right);
    if (fromX.includes(player)) return walk(tree, next(xLeft), z, weight);
    if (fromZ.includes(player) || xLeft === zLeft) return walk(tree, next(zLeft), z, weight);
    fromX.push(player);
    walk(tree, next(xLeft), z, weight);
    fromX.pop();
    fromZ.push(player);
    walk(tree, next(zLeft), z, weight);
    fromZ.pop();
  }
}

/** A coalition: 1 where the player keeps the row's value. */
export type Coalition = Uint8Array;

export interface KernelShapOptions {
  /** Most coalitions evaluated (each costs one model run per background row). */
  maxCoalitions: number;
  /** Seed of the coalition sampling. */
  seed: number;
}

export interface KernelShapPlan {
  coalitions: Coalition[];
  /** Kernel weight of each coalition in the fit. */
  weights: Float64Array;
  /** Every coalition was evaluated: the values are exact, not estimates. */
  exact: boolean;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * The coalitions KernelSHAP evaluates for `players`: all 2^M − 2 proper ones when that fits in
 * `maxCoalitions`, each weighted by the Shapley kernel; otherwise pairs (S and its complement)
 * sampled with the kernel's size distribution, each weighted equally.
 */
export function kernelShapPlan(players: number, options: KernelShapOptions): KernelShapPlan {
  const M = players;
  if (M <= 1) return { coalitions: [], weights: new Float64Array(0), exact: true };
  if (M < 31 && 2 ** M - 2 <= options.maxCoalitions) {
    const coalitions: Coalition[] = [];
    const weights: number[] = [];
    for (let mask = 1; mask < 2 ** M - 1; mask++) {
      const c = new Uint8Array(M);
      let s = 0;
      for (let i = 0; i < M; i++) {
        if ((mask >>> i) & 1) {
          c[i] = 1;
          s++;
        }
      }
      coalitions.push(c);
      weights.push((M - 1) / (binomial(M, s) * s * (M - s)));
    }
    return { coalitions, weights: Float64Array.from(weights), exact: true };
  }
  const random = mulberry32(options.seed);
  // Size s in 1..M−1 with probability ∝ (M−1) / (s (M−s)): the kernel's mass at size s.
  const mass = Array.from({ length: M - 1 }, (_, i) => 1 / ((i + 1) * (M - i - 1)));
  const total = mass.reduce((a, b) => a + b, 0);
  const coalitions: Coalition[] = [];
  const pairs = Math.max(1, Math.floor(options.maxCoalitions / 2));
  for (let n = 0; n < pairs; n++) {
    let u = random() * total;
    let s = 1;
    while (s < M - 1 && u > mass[s - 1]!) u -= mass[s++ - 1]!;
    const order = Array.from({ length: M }, (_, i) => i);
    for (let i = 0; i < s; i++) {
      const j = i + Math.floor(random() * (M - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const c = new Uint8Array(M);
    for (let i = 0; i < s; i++) c[order[i]!] = 1;
    coalitions.push(
      c,
      c.map((v) => 1 - v),
    );
  }
  return { coalitions, weights: new Float64Array(coalitions.length).fill(1), exact: false };
}

/**
 * Fits the Shapley values to coalition values `v` (in plan order), with `base` = v(∅) and
 * `output` = v(all players) held exactly: minimises Σ w (v(S) − base − Σ_{i∈S} φ_i)² subject to
 * Σ φ = output − base, by eliminating the last player.
 */
export function solveKernelShap(
  plan: KernelShapPlan,
  v: ArrayLike<number>,
  base: number,
  output: number,
  players: number,
): Float64Array {
  const M = players;
  const phi = new Float64Array(M);
  const delta = output - base;
  if (M === 0) return phi;
  if (M === 1) {
    phi[0] = delta;
    return phi;
  }
  const m = M - 1;
  const ata = new Float64Array(m * m);
  const atb = new Float64Array(m);
  const row = new Float64Array(m);
  plan.coalitions.forEach((c, n) => {
    const w = plan.weights[n]!;
    const last = c[M - 1]!;
    for (let i = 0; i < m; i++) row[i] = c[i]! - last;
    const y = v[n]! - base - last * delta;
    for (let i = 0; i < m; i++) {
      if (row[i] === 0) continue;
      atb[i]! += w * row[i]! * y;
      for (let j = 0; j < m; j++) ata[i * m + j]! += w * row[i]! * row[j]!;
    }
  });
  // Players no sampled coalition tells apart are left at 0 (then the last one takes the rest).
  const solved = solveSemidefinite(ata, atb, m);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    phi[i] = solved[i]!;
    sum += solved[i]!;
  }
  phi[M - 1] = delta - sum;
  return phi;
}
