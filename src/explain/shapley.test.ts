import { describe, expect, it } from 'vitest';
import type { TreeNodeSpec } from '../core/index.js';
import { mulberry32 } from '../training/index.js';
import { kernelShapPlan, linearShapley, solveKernelShap, treeShapley } from './shapley.js';

/** The Shapley values by definition: every coalition, v(S) = mean over z of f(x on S, z elsewhere). */
function bruteForce(
  f: (row: number[]) => number,
  x: number[],
  background: number[][],
  columnOf: number[],
  players: number,
): number[] {
  const v = (mask: number): number => {
    let sum = 0;
    for (const z of background) sum += f(x.map((xi, j) => ((mask >>> columnOf[j]!) & 1 ? xi : z[j]!)));
    return sum / background.length;
  };
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  return Array.from({ length: players }, (_, i) => {
    let phi = 0;
    for (let mask = 0; mask < 2 ** players; mask++) {
      if ((mask >>> i) & 1) continue;
      let s = 0;
      for (let p = 0; p < players; p++) s += (mask >>> p) & 1;
      phi += ((fact(s) * fact(players - s - 1)) / fact(players)) * (v(mask | (1 << i)) - v(mask));
    }
    return phi;
  });
}

/** A random tree of `depth` over `features` features, thresholds in (0, 1), NaN sometimes left. */
function randomTree(random: () => number, depth: number, features: number): TreeNodeSpec[] {
  const nodes: TreeNodeSpec[] = [];
  const grow = (d: number): number => {
    const at = nodes.length;
    nodes.push({ feature: 0, threshold: 0, left: 0, right: 0, missingGoesLeft: true });
    if (d === depth) {
      nodes[at] = {
        feature: 0,
        threshold: 0,
        left: 0,
        right: 0,
        missingGoesLeft: true,
        leaf: [random() * 4 - 2],
      };
      return at;
    }
    const left = grow(d + 1);
    const right = grow(d + 1);
    nodes[at] = {
      feature: Math.floor(random() * features),
      threshold: random(),
      left,
      right,
      missingGoesLeft: random() < 0.5,
    };
    return at;
  };
  grow(0);
  return nodes;
}

function treeValue(tree: readonly TreeNodeSpec[], row: number[]): number {
  let n = 0;
  for (;;) {
    const node = tree[n]!;
    if (node.leaf) return node.leaf[0]!;
    const value = row[node.feature]!;
    n = (Number.isNaN(value) ? node.missingGoesLeft : value <= node.threshold) ? node.left : node.right;
  }
}

describe('Shapley values', () => {
  const random = mulberry32(7);
  // 6 features owned by 4 players: players 1 and 3 own two features each (one-hot, missing indicator).
  const columnOf = [0, 1, 1, 2, 3, 3];
  const rows = (n: number) =>
    Array.from({ length: n }, () => columnOf.map(() => (random() < 0.1 ? Number.NaN : random())));

  it('linear: exact, and summing to f(x) − base', () => {
    const w = [0.5, -1.2, 0.3, 2, 0.7, -0.4];
    const x = rows(1)[0]!.map((v) => (Number.isNaN(v) ? 0.5 : v));
    const background = rows(20).map((r) => r.map((v) => (Number.isNaN(v) ? 0.5 : v)));
    const f = (r: number[]) => 0.1 + r.reduce((s, v, j) => s + w[j]! * v, 0);
    const shap = linearShapley(w, 0.1, columnOf, 4, x, background);
    const expected = bruteForce(f, x, background, columnOf, 4);
    shap.values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
    expect(shap.output).toBeCloseTo(f(x), 12);
    expect(shap.values.reduce((a, b) => a + b, 0)).toBeCloseTo(shap.output - shap.base, 12);
  });

  it('trees: interventional TreeSHAP equals the definition, NaN routing and shared players included', () => {
    const trees = Array.from({ length: 5 }, () => randomTree(random, 4, 6));
    const f = (r: number[]) => 0.3 + trees.reduce((s, t) => s + treeValue(t, r), 0);
    const background = rows(15);
    for (const x of rows(5)) {
      const shap = treeShapley(trees, 0.3, 0, columnOf, 4, x, background);
      const expected = bruteForce(f, x, background, columnOf, 4);
      shap.values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 10));
      expect(shap.output).toBeCloseTo(f(x), 12);
      expect(shap.values.reduce((a, b) => a + b, 0)).toBeCloseTo(shap.output - shap.base, 10);
    }
  });

  /** Coalition values of f on the plan, v(∅) and v(all). */
  function kernel(
    f: (row: number[]) => number,
    x: number[],
    background: number[][],
    players: number,
    max: number,
  ) {
    const columnOfPlayer = Array.from({ length: players }, (_, i) => i);
    const plan = kernelShapPlan(players, { maxCoalitions: max, seed: 1 });
    const v = (keep: (p: number) => boolean) =>
      background.reduce((s, z) => s + f(x.map((xi, j) => (keep(columnOfPlayer[j]!) ? xi : z[j]!))), 0) /
      background.length;
    const values = plan.coalitions.map((c) => v((p) => c[p] === 1));
    const base = v(() => false);
    const output = v(() => true);
    return { plan, phi: solveKernelShap(plan, values, base, output, players), base, output };
  }

  it('KernelSHAP over every coalition is exact for any model', () => {
    const f = (r: number[]) => Math.sin(3 * r[0]!) * r[1]! + r[2]! * r[3]! * r[4]! - Math.max(r[0]!, r[4]!);
    const x = [0.9, 0.2, 0.7, 0.4, 0.1];
    const background = Array.from({ length: 12 }, () => x.map(() => random()));
    const { plan, phi, base, output } = kernel(f, x, background, 5, 1000);
    expect(plan.exact).toBe(true);
    expect(plan.coalitions).toHaveLength(30);
    const expected = bruteForce(f, x, background, [0, 1, 2, 3, 4], 5);
    phi.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 10));
    expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(output - base, 12);
  });

  it('KernelSHAP from sampled coalitions: exact sum, estimates close to the true values', () => {
    const players = 12;
    const f = (r: number[]) => r.reduce((s, v, j) => s + (j + 1) * v * v, 0) + 3 * r[0]! * r[1]!;
    const x = Array.from({ length: players }, () => random());
    const background = Array.from({ length: 10 }, () => x.map(() => random()));
    const { plan, phi, base, output } = kernel(f, x, background, players, 2000);
    expect(plan.exact).toBe(false);
    expect(plan.coalitions).toHaveLength(2000);
    expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(output - base, 10);
    const expected = bruteForce(
      f,
      x,
      background,
      x.map((_, i) => i),
      players,
    );
    const scale = Math.max(...expected.map(Math.abs));
    phi.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(0.05 * scale));
  });
});
