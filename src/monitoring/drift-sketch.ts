/**
 * Drift of a window counted value by value in bounded memory, with the same figures `drift` gives
 * from the whole list of values: counts per reference bin (PSI, chi-square) and, for the
 * Kolmogorov–Smirnov test, counts of the window's values below and at each point of the
 * reference's sample (at most 1,000 points). The KS statistic is exact: between two reference
 * points the reference's distribution is flat, so the largest gap there is at the last window
 * value before the next point, and that is the count of values below it.
 */
import { categoricalDrift, isDrifted, isMissing, ksPValue, psi } from './drift.js';
import type { DriftResult, ReferenceProfile, Value } from './drift.js';

/** A numeric reference's sample as distinct points, each with how many sample values are ≤ it. */
interface KsPoints {
  points: Float64Array;
  atOrBelow: Float64Array;
  n: number;
}

/** The reference prepared once and shared by the sketches of every window (read only). */
export type CompiledReference =
  | { kind: 'numeric'; reference: Extract<ReferenceProfile, { kind: 'numeric' }>; ks: KsPoints }
  | {
      kind: 'categorical';
      reference: Extract<ReferenceProfile, { kind: 'categorical' }>;
      index: Map<string, number>;
    };

export function compileReference(reference: ReferenceProfile): CompiledReference {
  if (reference.kind === 'categorical')
    return { kind: 'categorical', reference, index: new Map(reference.categories.map((c, i) => [c, i])) };
  const sorted = [...reference.sample].sort((a, b) => a - b);
  const points: number[] = [];
  const atOrBelow: number[] = [];
  sorted.forEach((v, i) => {
    if (points.length > 0 && points[points.length - 1] === v) atOrBelow[atOrBelow.length - 1] = i + 1;
    else {
      points.push(v);
      atOrBelow.push(i + 1);
    }
  });
  return {
    kind: 'numeric',
    reference,
    ks: { points: Float64Array.from(points), atOrBelow: Float64Array.from(atOrBelow), n: sorted.length },
  };
}

/** The first index of `points` whose value is ≥ x (points.length when none is). */
function lowerBound(points: Float64Array, x: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One input's (or the prediction's) values in one window, counted against its reference. */
export class DriftSketch {
  /** Values seen, missing ones included. */
  n = 0;
  private readonly bins: Float64Array;
  /** Numeric only: values strictly between point k-1 and point k (index k; the last is above all). */
  private readonly between: Float64Array | undefined;
  /** Numeric only: values equal to point k. */
  private readonly at: Float64Array | undefined;
  private present = 0;

  constructor(private readonly compiled: CompiledReference) {
    if (compiled.kind === 'numeric') {
      this.bins = new Float64Array(compiled.reference.edges.length + 2);
      this.between = new Float64Array(compiled.ks.points.length + 1);
      this.at = new Float64Array(compiled.ks.points.length);
    } else {
      this.bins = new Float64Array(compiled.reference.categories.length + 2);
    }
  }

  add(v: Value): void {
    this.n++;
    const last = this.bins.length - 1;
    if (isMissing(v)) {
      this.bins[last]!++;
      return;
    }
    const c = this.compiled;
    if (c.kind === 'categorical') {
      this.bins[c.index.get(String(v)) ?? last - 1]!++;
      return;
    }
    const x = Number(v);
    const edges = c.reference.edges;
    let bin = 0;
    while (bin < edges.length && x > edges[bin]!) bin++;
    this.bins[bin]!++;
    if (Number.isNaN(x)) return; // text in a numeric input: binned as `drift` bins it, no place in the KS order
    this.present++;
    const k = lowerBound(c.ks.points, x);
    if (k < c.ks.points.length && c.ks.points[k] === x) this.at![k]!++;
    else this.between![k]!++;
  }

  /** The window's drift, as `drift(reference, values)` gives it for the same values. */
  result(): DriftResult {
    const c = this.compiled;
    const shares = Array.from(this.bins, (count) => count / Math.max(1, this.n));
    if (c.kind === 'categorical') return categoricalDrift(c.reference.shares, shares, this.n);
    const index = psi(c.reference.shares, shares);
    const { d, p } = this.ks(c.ks);
    return {
      kind: 'numeric',
      psi: index,
      statistic: d,
      pValue: p,
      test: 'kolmogorov-smirnov',
      n: this.n,
      drifted: isDrifted(index, p),
    };
  }

  private ks(ref: KsPoints): { d: number; p: number } {
    const ny = this.present;
    if (ny === 0 || ref.n === 0) return { d: 0, p: 1 };
    const nx = ref.n;
    let d = 0;
    let below = 0; // window values < the current point
    for (let k = 0; k < ref.points.length; k++) {
      below += this.between![k]!;
      // The last window value before point k: the reference is still at point k-1's share.
      if (this.between![k]! > 0)
        d = Math.max(d, Math.abs((k === 0 ? 0 : ref.atOrBelow[k - 1]!) / nx - below / ny));
      below += this.at![k]!;
      d = Math.max(d, Math.abs(ref.atOrBelow[k]! / nx - below / ny));
    }
    // Above the last point the reference is at 1 and the window only climbs towards it: no larger gap.
    return { d, p: ksPValue(d, nx, ny) };
  }
}
