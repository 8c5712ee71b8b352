/**
 * Distribution drift between a reference (the training data) and a window of production values:
 * per numeric input the population stability index over the reference's deciles and the
 * two-sample Kolmogorov–Smirnov test; per categorical input PSI and the chi-square test over the
 * reference's categories (unseen values pooled as "other"). Missing values are a bin of their own,
 * so a feed that stops sending a value shows as drift.
 */

export type Value = number | string | null;

/** What the reference data looked like, per input: kept with the version, no rows. */
export type ReferenceProfile =
  | {
      kind: 'numeric';
      /** Inner decile edges of the reference (9 values; bins are (-∞, e0], (e0, e1], …, (e8, ∞)). */
      edges: number[];
      /** Share of reference values in each bin, then the missing share last. */
      shares: number[];
      /** A sorted sample of the reference values (≤ 1,000), for the KS test. */
      sample: number[];
      n: number;
    }
  | {
      kind: 'categorical';
      categories: string[];
      /** Share per category, then "other", then missing. */
      shares: number[];
      n: number;
    };

export interface DriftResult {
  kind: 'numeric' | 'categorical';
  psi: number;
  /** KS statistic (numeric) or chi-square statistic (categorical). */
  statistic: number;
  pValue: number;
  test: 'kolmogorov-smirnov' | 'chi-square';
  n: number;
  drifted: boolean;
}

/** PSI from which a shift counts as drift (0.1–0.25 moderate, above 0.25 major, by convention). */
export const PSI_THRESHOLD = 0.2;
export const P_THRESHOLD = 0.01;

const EPS = 1e-4;
export const isMissing = (v: Value): boolean =>
  v === null || v === '' || (typeof v === 'number' && Number.isNaN(v));

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (at - lo);
}

function numericShares(values: readonly Value[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (const v of values) {
    if (isMissing(v)) {
      counts[edges.length + 1]!++;
      continue;
    }
    const x = Number(v);
    let bin = 0;
    while (bin < edges.length && x > edges[bin]!) bin++;
    counts[bin]!++;
  }
  return counts.map((c) => c / Math.max(1, values.length));
}

function categoricalShares(values: readonly Value[], categories: readonly string[]): number[] {
  const index = new Map(categories.map((c, i) => [c, i]));
  const counts = new Array<number>(categories.length + 2).fill(0);
  for (const v of values) {
    if (isMissing(v)) counts[categories.length + 1]!++;
    else counts[index.get(String(v)) ?? categories.length]!++;
  }
  return counts.map((c) => c / Math.max(1, values.length));
}

/** The reference profile of one input's training values (numbers, or text for categories). */
export function referenceProfile(
  values: readonly Value[],
  kind: 'numeric' | 'categorical',
): ReferenceProfile {
  if (kind === 'categorical') {
    const categories = [...new Set(values.filter((v) => !isMissing(v)).map(String))].sort();
    return { kind, categories, shares: categoricalShares(values, categories), n: values.length };
  }
  const present = values
    .filter((v) => !isMissing(v))
    .map(Number)
    .sort((a, b) => a - b);
  const edges =
    present.length === 0
      ? []
      : [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => quantile(present, d / 10)))];
  const step = Math.max(1, Math.ceil(present.length / 1000));
  return {
    kind,
    edges,
    shares: numericShares(values, edges),
    sample: present.filter((_, i) => i % step === 0),
    n: values.length,
  };
}

/** Population stability index of `actual` shares against `expected` shares (bin by bin, floored at 1e-4). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  let total = 0;
  expected.forEach((e, i) => {
    const p = Math.max(e, EPS);
    const q = Math.max(actual[i]!, EPS);
    total += (q - p) * Math.log(q / p);
  });
  return total;
}

/** Two-sample KS statistic and its asymptotic p-value. */
export function kolmogorovSmirnov(a: readonly number[], b: readonly number[]): { d: number; p: number } {
  const x = [...a].sort((m, n) => m - n);
  const y = [...b].sort((m, n) => m - n);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return { d, p: ksPValue(d, x.length, y.length) };
}

/** The asymptotic p-value of a two-sample KS statistic `d` between samples of `nx` and `ny` values. */
export function ksPValue(d: number, nx: number, ny: number): number {
  const en = Math.sqrt((nx * ny) / (nx + ny));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  // Below ~0.2 the series does not converge in 100 terms, and the tail is 1 to 10 digits anyway.
  if (lambda < 0.2) return 1;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  return Math.min(1, Math.max(0, p));
}

/** Whether a shift counts as drift: PSI ≥ 0.2, or the test's p < 0.01 with PSI ≥ 0.1. */
export const isDrifted = (index: number, p: number): boolean =>
  index >= PSI_THRESHOLD || (p < P_THRESHOLD && index >= PSI_THRESHOLD / 2);

/** Upper tail of the chi-square distribution (regularised upper incomplete gamma). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (x <= 0) return 1;
  const a = dof / 2;
  const z = x / 2;
  const lnGamma = (s: number): number => {
    const c = [
      76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155, 0.001208650973866179,
      -0.5395239384953e-5,
    ];
    let y = s;
    const t = s + 5.5 - (s + 0.5) * Math.log(s + 5.5);
    let ser = 1.000000000190015;
    for (const ci of c) ser += ci / ++y;
    return -t + Math.log((2.5066282746310002 * ser) / s);
  };
  if (z < a + 1) {
    // Series for the lower incomplete gamma.
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= z / (a + n);
      sum += term;
      if (term < sum * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(-z + a * Math.log(z) - lnGamma(a)));
  }
  // Continued fraction for the upper incomplete gamma.
  let b = z + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let n = 1; n < 500; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(-z + a * Math.log(z) - lnGamma(a)) * h);
}

/** Drift of a window of `values` from `reference`. Drifted when PSI ≥ 0.2, or the test's p < 0.01 with PSI ≥ 0.1. */
export function drift(reference: ReferenceProfile, values: readonly Value[]): DriftResult {
  if (reference.kind === 'numeric') {
    const shares = numericShares(values, reference.edges);
    const index = psi(reference.shares, shares);
    const present = values.filter((v) => !isMissing(v)).map(Number);
    const ks =
      present.length > 0 && reference.sample.length > 0
        ? kolmogorovSmirnov(reference.sample, present)
        : { d: 0, p: 1 };
    return {
      kind: 'numeric',
      psi: index,
      statistic: ks.d,
      pValue: ks.p,
      test: 'kolmogorov-smirnov',
      n: values.length,
      drifted: isDrifted(index, ks.p),
    };
  }
  return categoricalDrift(reference.shares, categoricalShares(values, reference.categories), values.length);
}

/**
 * A categorical input's drift from the reference's category shares and the window's (`n` values):
 * PSI, and a chi-square test over the categories either sample uses.
 */
export function categoricalDrift(
  referenceShares: readonly number[],
  shares: readonly number[],
  n: number,
): DriftResult {
  const index = psi(referenceShares, shares);
  let chi = 0;
  let bins = 0;
  referenceShares.forEach((e, i) => {
    const observed = shares[i]! * n;
    if (e === 0 && observed === 0) return; // a bin neither sample uses is no evidence either way
    const expected = Math.max(e, EPS) * n;
    bins++;
    chi += (observed - expected) ** 2 / expected;
  });
  const p = chiSquareSurvival(chi, Math.max(1, bins - 1));
  return {
    kind: 'categorical',
    psi: index,
    statistic: chi,
    pValue: p,
    test: 'chi-square',
    n,
    drifted: isDrifted(index, p),
  };
}
