/**
 * Grows one regression tree of the gradient-boosted ensemble over the binned matrix: gradient and
 * hessian histograms per node (the smaller child built, its sibling = parent − child), the best
 * split per feature with missing values tried on both sides, and best-first (leaf-wise) growth up
 * to a number of leaves. Works on typed arrays only; nothing is allocated per sample.
 */

/** Splits need at least this much hessian on each side (scikit-learn's `min_hessian_to_split`). */
const MIN_HESSIAN = 1e-3;

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
}

/**
 * Grows trees for one fit. Scratch buffers (sample order, ordered gradients, histograms) are
 * allocated once and reused by every tree.
 */
export class TreeGrower {
  private readonly offsets: Int32Array;
  private readonly histSize: number;
  private readonly order: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly orderedG: Float64Array;
  private readonly orderedH: Float64Array;
  private readonly freeHists: Float64Array[] = [];

  constructor(private readonly ctx: GrowerContext) {
    const nFeatures = ctx.binned.length;
    this.offsets = new Int32Array(nFeatures + 1);
    for (let f = 0; f < nFeatures; f++) this.offsets[f + 1] = this.offsets[f]! + (ctx.missingBin[f]! + 1) * 3;
    this.histSize = this.offsets[nFeatures]!;
    const n = ctx.binned[0]?.length ?? 0;
    this.order = new Uint32Array(n);
    this.scratch = new Uint32Array(n);
    this.orderedG = new Float64Array(n);
    this.orderedH = new Float64Array(n);
  }

  /**
   * Grows one tree on `gradients`/`hessians` (one per training row) and adds its leaf values to
   * `raw[i * stride + output]` for every training row `i`.
   */
  grow(
    gradients: Float64Array,
    hessians: Float64Array,
    raw: Float64Array,
    stride: number,
    output: number,
  ): GrownTree {
    const { maxLeafNodes, maxDepth, minSamplesLeaf } = this.ctx.options;
    const n = this.order.length;
    for (let i = 0; i < n; i++) this.order[i] = i;
    let g = 0;
    let h = 0;
    for (let i = 0; i < n; i++) {
      g += gradients[i]!;
      h += hessians[i]!;
    }
    const nodes: Node[] = [];
    const root = this.newNode(nodes, 0, n, 0, g, h);
    root.hist = this.buildHistogram(root, gradients, hessians);
    const open: Node[] = [];
    this.consider(root, open);
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
        small.hist = this.buildHistogram(small, gradients, hessians);
        const parent = node.hist!;
        for (let i = 0; i < this.histSize; i++) parent[i] = parent[i]! - small.hist[i]!;
        large.hist = parent;
      } else {
        this.release(node.hist);
      }
      node.hist = undefined;
      for (const child of [left, right]) {
        if (splittable(child)) this.consider(child, open);
        else this.release(child.hist);
      }
    }
    for (const node of open) this.release(node.hist);
    return this.finish(nodes, children, raw, stride, output);
  }

  private newNode(nodes: Node[], start: number, end: number, depth: number, g: number, h: number): Node {
    const node: Node = { id: nodes.length, start, end, depth, g, h, hist: undefined, split: undefined };
    nodes.push(node);
    return node;
  }

  /** Finds the node's best split; queues it when there is one, else frees its histogram. */
  private consider(node: Node, open: Node[]): void {
    node.split = this.findSplit(node);
    if (node.split) open.push(node);
    else {
      this.release(node.hist);
      node.hist = undefined;
    }
  }

  private release(hist: Float64Array | undefined): void {
    if (hist) this.freeHists.push(hist);
  }

  private buildHistogram(node: Node, gradients: Float64Array, hessians: Float64Array): Float64Array {
    const hist = this.freeHists.pop() ?? new Float64Array(this.histSize);
    hist.fill(0);
    const { start, end } = node;
    const order = this.order;
    const og = this.orderedG;
    const oh = this.orderedH;
    const count = end - start;
    for (let i = 0; i < count; i++) {
      const row = order[start + i]!;
      og[i] = gradients[row]!;
      oh[i] = hessians[row]!;
    }
    const binned = this.ctx.binned;
    for (let f = 0; f < binned.length; f++) {
      const column = binned[f]!;
      const base = this.offsets[f]!;
      for (let i = 0; i < count; i++) {
        const p = base + column[order[start + i]!]! * 3;
        hist[p] = hist[p]! + og[i]!;
        hist[p + 1] = hist[p + 1]! + oh[i]!;
        hist[p + 2] = hist[p + 2]! + 1;
      }
    }
    return hist;
  }

  private findSplit(node: Node): Split | undefined {
    const { l2Regularization: l2, minSamplesLeaf } = this.ctx.options;
    const hist = node.hist!;
    const total = node.end - node.start;
    const parentScore = (node.g * node.g) / (node.h + l2);
    let best: Split | undefined;
    let bestGain = 0;
    const consider = (
      f: number,
      bin: number,
      missingLeft: boolean,
      gL: number,
      hL: number,
      nL: number,
    ): void => {
      const nR = total - nL;
      const hR = node.h - hL;
      if (nL < minSamplesLeaf || nR < minSamplesLeaf || hL < MIN_HESSIAN || hR < MIN_HESSIAN) return;
      const gR = node.g - gL;
      const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        best = { feature: f, bin, missingGoesLeft: missingLeft, gain, gLeft: gL, hLeft: hL, nLeft: nL };
      }
    };
    for (let f = 0; f < this.ctx.binned.length; f++) {
      const base = this.offsets[f]!;
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
        gL += hist[p]!;
        hL += hist[p + 1]!;
        nL += hist[p + 2]!;
        if (nM > 0) {
          consider(f, b, false, gL, hL, nL);
          if (b < missing - 1) consider(f, b, true, gL + gM, hL + hM, nL + nM);
        } else {
          // No missing values reached this node: send them, at prediction, to the larger child.
          consider(f, b, nL >= total - nL, gL, hL, nL);
        }
      }
    }
    return best;
  }

  /** Stable in-place partition of the node's rows; returns where the right child starts. */
  private partition(node: Node, split: Split): number {
    const column = this.ctx.binned[split.feature]!;
    const missing = this.ctx.missingBin[split.feature]!;
    const { bin, missingGoesLeft } = split;
    const order = this.order;
    const scratch = this.scratch;
    let l = node.start;
    let r = 0;
    for (let i = node.start; i < node.end; i++) {
      const row = order[i]!;
      const b = column[row]!;
      if (b === missing ? missingGoesLeft : b <= bin) order[l++] = row;
      else scratch[r++] = row;
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
