/**
 * Grows one regression tree of the gradient-boosted ensemble over the binned matrix: histograms per
 * node (see gbdt-histogram.ts; the smaller child built, its sibling = parent − child), the best
 * split per feature with missing values tried on both sides, and best-first (leaf-wise) growth up
 * to a number of leaves. A feature with no split leaving `minSamplesLeaf` rows on both sides of a
 * node has none in the node's descendants either, so they skip it. Works on typed arrays only;
 * nothing is allocated per sample.
 */
import { HistogramLayout } from './gbdt-histogram.js';

/** Splits need at least this much hessian on each side (scikit-learn's `min_hessian_to_split`). */
const MIN_HESSIAN = 1e-3;
const NO_FEATURES = new Uint16Array(0);

export interface TreeGrowthOptions {
  readonly maxLeafNodes: number;
  /** Depth limit (root = 0); `Infinity` for none. */
  readonly maxDepth: number;
  readonly minSamplesLeaf: number;
  readonly l2Regularization: number;
  /** Multiplies every leaf value. */
  readonly learningRate: number;
}

/** A grown tree in bin space plus its real-valued thresholds; node 0 is the root. */
export interface GrownTree {
  /** Feature of a branch; -1 on leaves. */
  readonly feature: Int32Array;
  /** Value bins `<= bin` go left. */
  readonly bin: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly missingGoesLeft: Uint8Array;
  /** Leaf value (learning rate applied); 0 on branches. */
  readonly value: Float64Array;
}

/** The fixed inputs of tree growth, shared by every tree of a fit. */
export interface GrowerContext {
  /** Binned training matrix, column per feature. */
  readonly binned: readonly Uint8Array[];
  /** Per feature, the missing bin (= number of value bins). */
  readonly missingBin: Uint8Array;
  readonly options: TreeGrowthOptions;
}

interface Split {
  feature: number;
  bin: number;
  missingGoesLeft: boolean;
  gain: number;
  gLeft: number;
  hLeft: number;
  nLeft: number;
}

interface Node {
  id: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array | undefined;
  split: Split | undefined;
  /** The features with a split that leaves enough rows on both sides (found with `split`). */
  features: Uint16Array;
}

/**
 * Grows trees for one fit. Scratch buffers (sample order, ordered gradients, histograms) are
 * allocated once and reused by every tree.
 */
export class TreeGrower {
  private readonly layout: HistogramLayout;
  private readonly order: Uint32Array;
  private readonly scratch: Uint32Array;
  /** The node's gradients and hessians, interleaved, in node order. */
  private readonly ordered: Float64Array;
  private readonly freeHists: Float64Array[] = [];
  /** Per bin of the feature being split on, 1 when its rows go left. */
  private readonly goesLeft = new Uint8Array(256);

  constructor(private readonly ctx: GrowerContext) {
    this.layout = new HistogramLayout(ctx.binned, ctx.missingBin);
    const n = ctx.binned[0]?.length ?? 0;
    this.order = new Uint32Array(n);
    this.scratch = new Uint32Array(n);
    this.ordered = new Float64Array(2 * n);
  }

  /**
   * Grows one tree on `gradients` (per training row `i`, the gradient at `2i` and the hessian at
   * `2i + 1`) and adds its leaf values to `raw[i * stride + output]` for every training row `i`.
   */
  grow(gradients: Float64Array, raw: Float64Array, stride: number, output: number): GrownTree {
    const { maxLeafNodes, maxDepth, minSamplesLeaf } = this.ctx.options;
    const n = this.order.length;
    for (let i = 0; i < n; i++) this.order[i] = i;
    let g = 0;
    let h = 0;
    for (let i = 0; i < n; i++) {
      g += gradients[2 * i]!;
      h += gradients[2 * i + 1]!;
    }
    const nodes: Node[] = [];
    const root = this.newNode(nodes, 0, n, 0, g, h);
    // The root's rows are in training order: the gradients are already in node order.
    root.hist = this.newHistogram();
    this.layout.build(root.hist, this.layout.varying, this.order, 0, n, gradients);
    const open: Node[] = [];
    this.consider(root, this.layout.varying, open);
    let leaves = 1;
    const children: [number, number][] = [];
    while (leaves < maxLeafNodes && open.length > 0) {
      let best = 0;
      for (let i = 1; i < open.length; i++) if (open[i]!.split!.gain > open[best]!.split!.gain) best = i;
      const node = open.splice(best, 1)[0]!;
      const split = node.split!;
      const mid = this.partition(node, split);
      const left = this.newNode(nodes, node.start, mid, node.depth + 1, split.gLeft, split.hLeft);
      const right = this.newNode(
        nodes,
        mid,
        node.end,
        node.depth + 1,
        node.g - split.gLeft,
        node.h - split.hLeft,
      );
      children[node.id] = [left.id, right.id];
      leaves++;
      const small = left.end - left.start <= right.end - right.start ? left : right;
      const large = small === left ? right : left;
      const splittable = (c: Node): boolean => c.depth < maxDepth && c.end - c.start >= 2 * minSamplesLeaf;
      if (splittable(left) || splittable(right)) {
        small.hist = this.buildHistogram(small, node.features, gradients);
        // Few rows over many bins (a small data set): summing the rows beats subtracting every bin.
        if ((large.end - large.start) * node.features.length < this.layout.bins(node.features)) {
          large.hist = this.buildHistogram(large, node.features, gradients);
          this.release(node.hist);
        } else {
          this.layout.subtract(node.hist!, small.hist, node.features);
          large.hist = node.hist;
        }
      } else {
        this.release(node.hist);
      }
      node.hist = undefined;
      for (const child of [left, right]) {
        if (splittable(child)) this.consider(child, node.features, open);
        else this.release(child.hist);
      }
    }
    for (const node of open) this.release(node.hist);
    return this.finish(nodes, children, raw, stride, output);
  }

  private newNode(nodes: Node[], start: number, end: number, depth: number, g: number, h: number): Node {
    const node: Node = {
      id: nodes.length,
      start,
      end,
      depth,
      g,
      h,
      hist: undefined,
      split: undefined,
      features: NO_FEATURES,
    };
    nodes.push(node);
    return node;
  }

  /** Finds the node's best split among `features`; queues it when there is one, else frees its histogram. */
  private consider(node: Node, features: Uint16Array, open: Node[]): void {
    node.split = this.findSplit(node, features);
    if (node.split) open.push(node);
    else {
      this.release(node.hist);
      node.hist = undefined;
    }
  }

  private release(hist: Float64Array | undefined): void {
    if (hist) this.freeHists.push(hist);
  }

  private newHistogram(): Float64Array {
    return this.freeHists.pop() ?? new Float64Array(this.layout.size);
  }

  private buildHistogram(node: Node, features: Uint16Array, gradients: Float64Array): Float64Array {
    const hist = this.newHistogram();
    const { start, end } = node;
    const order = this.order;
    const ordered = this.ordered;
    for (let i = start; i < end; i++) {
      const at = 2 * order[i]!;
      ordered[2 * (i - start)] = gradients[at]!;
      ordered[2 * (i - start) + 1] = gradients[at + 1]!;
    }
    this.layout.build(hist, features, order, start, end, ordered);
    return hist;
  }

  /** The best split of `node` over `features`; sets `node.features` to those that can still split. */
  private findSplit(node: Node, features: Uint16Array): Split | undefined {
    const { l2Regularization: l2, minSamplesLeaf } = this.ctx.options;
    const hist = node.hist!;
    const total = node.end - node.start;
    const parentScore = (node.g * node.g) / (node.h + l2);
    let best: Split | undefined;
    let bestGain = 0;
    let feasible = false;
    const consider = (
      f: number,
      bin: number,
      missingLeft: boolean,
      gL: number,
      hL: number,
      nL: number,
    ): void => {
      const nR = total - nL;
      if (nL < minSamplesLeaf || nR < minSamplesLeaf) return;
      feasible = true;
      const hR = node.h - hL;
      if (hL < MIN_HESSIAN || hR < MIN_HESSIAN) return;
      const gR = node.g - gL;
      const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        best = { feature: f, bin, missingGoesLeft: missingLeft, gain, gLeft: gL, hLeft: hL, nLeft: nL };
      }
    };
    const kept = new Uint16Array(features.length);
    let nKept = 0;
    for (const f of features) {
      feasible = false;
      const base = this.layout.offsets[f]!;
      const missing = this.ctx.missingBin[f]!;
      const mp = base + missing * 3;
      const gM = hist[mp]!;
      const hM = hist[mp + 1]!;
      const nM = hist[mp + 2]!;
      let gL = 0;
      let hL = 0;
      let nL = 0;
      // With missing values, also try "every value left, missing right" (bin = last value bin).
      const lastBin = nM > 0 ? missing - 1 : missing - 2;
      for (let b = 0; b <= lastBin; b++) {
        const p = base + b * 3;
        // An empty bin splits the rows as the bin before does (and the first such threshold is kept).
        if (b > 0 && hist[p + 2] === 0) continue;
        gL += hist[p]!;
        hL += hist[p + 1]!;
        nL += hist[p + 2]!;
        // Too few rows on the right, here and after; too few on the left even with the missing ones.
        if (total - nL < minSamplesLeaf) break;
        if (nL + nM < minSamplesLeaf) continue;
        if (nM > 0) {
          consider(f, b, false, gL, hL, nL);
          if (b < missing - 1) consider(f, b, true, gL + gM, hL + hM, nL + nM);
        } else {
          // No missing values reached this node: send them, at prediction, to the larger child.
          consider(f, b, nL >= total - nL, gL, hL, nL);
        }
      }
      // The rows of a descendant are a subset: no split there leaves enough rows on both sides either.
      if (feasible) kept[nKept++] = f;
    }
    node.features = kept.subarray(0, nKept);
    return best;
  }

  /** Stable in-place partition of the node's rows; returns where the right child starts. */
  private partition(node: Node, split: Split): number {
    const column = this.ctx.binned[split.feature]!;
    const missing = this.ctx.missingBin[split.feature]!;
    const goesLeft = this.goesLeft;
    for (let b = 0; b <= missing; b++) {
      goesLeft[b] = (b === missing ? split.missingGoesLeft : b <= split.bin) ? 1 : 0;
    }
    const order = this.order;
    const scratch = this.scratch;
    let l = node.start;
    let r = 0;
    // Branch-free: the side a row goes is unpredictable. Writing order[l] is safe as l <= i.
    for (let i = node.start; i < node.end; i++) {
      const row = order[i]!;
      const left = goesLeft[column[row]!]!;
      order[l] = row;
      scratch[r] = row;
      l += left;
      r += 1 - left;
    }
    order.set(scratch.subarray(0, r), l);
    return l;
  }

  /** Turns the node list into arrays and adds the leaf values to `raw`. */
  private finish(
    nodes: Node[],
    children: [number, number][],
    raw: Float64Array,
    stride: number,
    output: number,
  ): GrownTree {
    const count = nodes.length;
    const tree: GrownTree = {
      feature: new Int32Array(count).fill(-1),
      bin: new Uint8Array(count),
      left: new Int32Array(count).fill(-1),
      right: new Int32Array(count).fill(-1),
      missingGoesLeft: new Uint8Array(count),
      value: new Float64Array(count),
    };
    const { l2Regularization: l2, learningRate } = this.ctx.options;
    for (const node of nodes) {
      const pair = children[node.id];
      if (pair) {
        const split = node.split!;
        tree.feature[node.id] = split.feature;
        tree.bin[node.id] = split.bin;
        tree.left[node.id] = pair[0];
        tree.right[node.id] = pair[1];
        tree.missingGoesLeft[node.id] = split.missingGoesLeft ? 1 : 0;
      } else {
        // float32-exact, as ONNX tree ensembles store leaf weights: the served graph adds the same numbers.
        const value = Math.fround((-node.g / (node.h + l2)) * learningRate);
        tree.value[node.id] = value;
        for (let i = node.start; i < node.end; i++) {
          const p = this.order[i]! * stride + output;
          raw[p] = raw[p]! + value;
        }
      }
    }
    return tree;
  }
}

/** Adds one bin-space tree's output for each row of a binned matrix to `raw[i * stride + output]`. */
export function addTreeBinned(
  tree: GrownTree,
  binned: readonly Uint8Array[],
  missingBin: Uint8Array,
  raw: Float64Array,
  stride: number,
  output: number,
): void {
  const n = binned[0]?.length ?? 0;
  for (let i = 0; i < n; i++) {
    let node = 0;
    let f = tree.feature[0]!;
    while (f >= 0) {
      const b = binned[f]![i]!;
      const goLeft = b === missingBin[f] ? tree.missingGoesLeft[node] === 1 : b <= tree.bin[node]!;
      node = goLeft ? tree.left[node]! : tree.right[node]!;
      f = tree.feature[node]!;
    }
    const p = i * stride + output;
    raw[p] = raw[p]! + tree.value[node]!;
  }
}
