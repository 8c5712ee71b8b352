/**
 * Gradient/hessian/count histograms of one tree node over the binned matrix, the inner loop of
 * gradient-boosted tree growth. A histogram is one `Float64Array` for all features: per feature, per
 * bin (value bins, then the missing bin), the triple `[Σ gradient, Σ hessian, rows]`.
 *
 * Two ways to make fewer passes over a node's rows, after LightGBM:
 * - Features that take two bins only (one-hot columns, flags) are bundled: features whose upper bins
 *   never hold the same row (the one-hot columns of one category) share one code, the member whose
 *   upper bin holds the row. A member's upper bin is its code's sums, its lower bin the other codes'.
 * - Features and bundles with few codes are grouped: codes whose product fits a byte combine into one
 *   code per row, summed in one pass, and each member's sums are then added up from the combinations.
 */

/** One feature binned on its own, or a bundle: a code per row. */
interface Slot {
  /** The feature, for a feature binned on its own; else -1. */
  readonly feature: number;
  /** The bundle's members; empty for a feature of its own. */
  readonly members: number[];
  /** Per row: the bin, or the member whose upper bin holds the row (`members.length` for none). */
  readonly code: Uint8Array;
  cardinality: number;
}

/** Slots summed in one pass over the rows, on the combined code Σ slot code × stride. */
interface Group {
  readonly slots: Slot[];
  readonly strides: number[];
  /** The number of combined codes. */
  cells: number;
  code: Uint8Array;
  /** Per combined code and slot, where that slot's code sums in `slotSums` (slot after slot). */
  to: Int32Array;
}

/** Members per bundle, so that codes (and "none") fit a byte. */
const MAX_BUNDLE = 254;
/** The code of rows in no member's upper bin while bundles are being formed. */
const NONE = 255;
/** Combined codes per group: one byte. */
const MAX_CELLS = 256;

/** How each feature's histogram is built. */
export class HistogramLayout {
  /** Where each feature's bins start in a histogram; `offsets[nFeatures]` is the histogram's length. */
  readonly offsets: Int32Array;
  readonly size: number;
  /** Features taking two or more bins in the training rows (the rest can never split). */
  readonly varying: Uint16Array;
  /** Per two-bin feature, its lower and upper bin. */
  private readonly lowBin: Int16Array;
  private readonly highBin: Int16Array;
  private readonly groups: Group[];
  /** Per feature, its group's index (-1 for a feature that never varies). */
  private readonly groupOf: Int32Array;
  /** Per group, whether the node being built needs it. */
  private readonly wanted: Uint8Array;
  /** Scratch: one group's sums per combined code, then one slot's per code (`[g, h, rows]` each). */
  private readonly cellSums = new Float64Array(MAX_CELLS * 3);
  private readonly slotSums = new Float64Array(MAX_CELLS * 3);

  constructor(binned: readonly Uint8Array[], missingBin: Uint8Array) {
    const nFeatures = binned.length;
    this.offsets = new Int32Array(nFeatures + 1);
    for (let f = 0; f < nFeatures; f++) this.offsets[f + 1] = this.offsets[f]! + (missingBin[f]! + 1) * 3;
    this.size = this.offsets[nFeatures]!;
    this.lowBin = new Int16Array(nFeatures);
    this.highBin = new Int16Array(nFeatures);
    const varying: number[] = [];
    const slots = this.slots(binned, varying);
    this.varying = Uint16Array.from(varying);
    this.groups = groupSlots(slots, binned[0]?.length ?? 0);
    this.groupOf = new Int32Array(nFeatures).fill(-1);
    this.groups.forEach(({ slots }, index) => {
      for (const slot of slots) {
        for (const f of slot.feature >= 0 ? [slot.feature] : slot.members) this.groupOf[f] = index;
      }
    });
    this.wanted = new Uint8Array(this.groups.length);
  }

  /**
   * The slots of the features taking two or more bins (listed in `varying`): a slot per feature
   * with more than two, then the bundles of the two-bin ones.
   */
  private slots(binned: readonly Uint8Array[], varying: number[]): Slot[] {
    const n = binned[0]?.length ?? 0;
    const own: Slot[] = [];
    const bundles: Slot[] = [];
    const seen = new Uint8Array(256);
    const rows = new Uint32Array(n);
    binned.forEach((column, f) => {
      seen.fill(0);
      for (let i = 0; i < n; i++) seen[column[i]!] = 1;
      const bins: number[] = [];
      seen.forEach((s, b) => {
        if (s === 1) bins.push(b);
      });
      if (bins.length < 2) return;
      varying.push(f);
      if (bins.length > 2) {
        own.push({ feature: f, members: [], code: column, cardinality: bins.at(-1)! + 1 });
        return;
      }
      this.lowBin[f] = bins[0]!;
      this.highBin[f] = bins[1]!;
      let nRows = 0;
      for (let i = 0; i < n; i++) if (column[i] === bins[1]) rows[nRows++] = i;
      bundle(bundles, f, rows.subarray(0, nRows), n);
    });
    for (const slot of bundles) {
      const { members, code } = slot;
      for (let i = 0; i < n; i++) if (code[i] === NONE) code[i] = members.length;
      slot.cardinality = members.length + 1;
    }
    return [...own, ...bundles];
  }

  /**
   * Fills `hist` for `features` from the node's rows `order[start..end)`, whose gradients and
   * hessians `ordered` holds interleaved (`[g0, h0, g1, h1, …]`, in node order). Other features'
   * bins may be left as they were.
   */
  build(
    hist: Float64Array,
    features: Uint16Array,
    order: Uint32Array,
    start: number,
    end: number,
    ordered: Float64Array,
  ): void {
    const count = end - start;
    for (const f of features) this.wanted[this.groupOf[f]!] = 1;
    this.groups.forEach((group, index) => {
      if (this.wanted[index] === 0) return;
      this.wanted[index] = 0;
      const only = group.slots.length === 1 ? group.slots[0]!.feature : -1;
      // A feature alone in its group sums straight into its bins; a group into its combined codes.
      const sums = only >= 0 ? hist : this.cellSums;
      const base = only >= 0 ? this.offsets[only]! : 0;
      sums.fill(0, base, only >= 0 ? this.offsets[only + 1]! : group.cells * 3);
      const code = group.code;
      for (let i = 0; i < count; i++) {
        const p = base + code[order[start + i]!]! * 3;
        sums[p] = sums[p]! + ordered[2 * i]!;
        sums[p + 1] = sums[p + 1]! + ordered[2 * i + 1]!;
        sums[p + 2] = sums[p + 2]! + 1;
      }
      if (only < 0) this.split(hist, group, count);
    });
  }

  /** Each slot's sums per code, added up from the group's sums per combined code, into `hist`. */
  private split(hist: Float64Array, group: Group, count: number): void {
    const cells = this.cellSums;
    const sums = this.slotSums;
    const { slots, to } = group;
    const nSlots = slots.length;
    // Σ cardinalities <= Π cardinalities (each >= 2): the slots' sums fit as the cells' do.
    sums.fill(0, 0, group.cells * 3);
    for (let cell = 0; cell < group.cells; cell++) {
      const p = cell * 3;
      if (cells[p + 2] === 0) continue;
      for (let s = 0; s < nSlots; s++) {
        const q = to[cell * nSlots + s]!;
        sums[q] = sums[q]! + cells[p]!;
        sums[q + 1] = sums[q + 1]! + cells[p + 1]!;
        sums[q + 2] = sums[q + 2]! + cells[p + 2]!;
      }
    }
    let at = 0;
    for (const slot of slots) {
      const length = slot.cardinality * 3;
      if (slot.feature >= 0) {
        const base = this.offsets[slot.feature]!;
        hist.fill(0, base, this.offsets[slot.feature + 1]);
        hist.set(sums.subarray(at, at + length), base);
      } else {
        this.spread(hist, slot.members, sums.subarray(at, at + length), count);
      }
      at += length;
    }
  }

  /** Each bundle member's two bins from the bundle's sums per code. */
  private spread(hist: Float64Array, members: readonly number[], sums: Float64Array, count: number): void {
    const codes = members.length + 1;
    members.forEach((f, m) => {
      let g = 0;
      let h = 0;
      for (let c = 0; c < codes; c++) {
        if (c === m) continue;
        g += sums[c * 3]!;
        h += sums[c * 3 + 1]!;
      }
      const base = this.offsets[f]!;
      hist.fill(0, base, this.offsets[f + 1]);
      const low = base + this.lowBin[f]! * 3;
      const high = base + this.highBin[f]! * 3;
      hist[low] = g;
      hist[low + 1] = h;
      hist[low + 2] = count - sums[m * 3 + 2]!;
      hist[high] = sums[m * 3]!;
      hist[high + 1] = sums[m * 3 + 1]!;
      hist[high + 2] = sums[m * 3 + 2]!;
    });
  }

  /** The number of bins of `features` together. */
  bins(features: Uint16Array): number {
    let triples = 0;
    for (const f of features) triples += this.offsets[f + 1]! - this.offsets[f]!;
    return triples / 3;
  }

  /**
   * `parent -= child` over the bins of `features`: the parent's histogram becomes the sibling's. A
   * bin left without rows gets sums of exactly 0, not the rounding residue of the subtraction.
   */
  subtract(parent: Float64Array, child: Float64Array, features: Uint16Array): void {
    for (const f of features) {
      const end = this.offsets[f + 1]!;
      for (let p = this.offsets[f]!; p < end; p += 3) {
        const rows = parent[p + 2]! - child[p + 2]!;
        parent[p] = rows === 0 ? 0 : parent[p]! - child[p]!;
        parent[p + 1] = rows === 0 ? 0 : parent[p + 1]! - child[p + 1]!;
        parent[p + 2] = rows;
      }
    }
  }
}

/** Puts feature `f` (upper bin at `rows`) in the first bundle whose members' upper bins miss them all. */
function bundle(bundles: Slot[], f: number, rows: Uint32Array, n: number): void {
  let found = bundles.find(({ members, code }) => {
    if (members.length >= MAX_BUNDLE) return false;
    for (let k = 0; k < rows.length; k++) if (code[rows[k]!] !== NONE) return false;
    return true;
  });
  if (!found) {
    found = { feature: -1, members: [], code: new Uint8Array(n).fill(NONE), cardinality: 0 };
    bundles.push(found);
  }
  for (let k = 0; k < rows.length; k++) found.code[rows[k]!] = found.members.length;
  found.members.push(f);
}

/** Puts the slots in groups, first fit, each group's codes combining into a byte. */
function groupSlots(slots: readonly Slot[], n: number): Group[] {
  const groups: Group[] = [];
  for (const slot of slots) {
    let group = groups.find((g) => g.cells * slot.cardinality <= MAX_CELLS);
    if (!group) {
      group = { slots: [], strides: [], cells: 1, code: slot.code, to: new Int32Array(0) };
      groups.push(group);
    } else {
      if (group.slots.length === 1) group.code = Uint8Array.from(group.code); // not the binned column
      for (let i = 0; i < n; i++) group.code[i] = group.code[i]! + slot.code[i]! * group.cells;
    }
    group.slots.push(slot);
    group.strides.push(group.cells);
    group.cells *= slot.cardinality;
  }
  for (const group of groups) {
    const { slots: members, strides, cells } = group;
    group.to = new Int32Array(cells * members.length);
    for (let cell = 0; cell < cells; cell++) {
      let at = 0;
      members.forEach(({ cardinality }, s) => {
        group.to[cell * members.length + s] = (at + (Math.floor(cell / strides[s]!) % cardinality)) * 3;
        at += cardinality;
      });
    }
  }
  return groups;
}
