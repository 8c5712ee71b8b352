/**
 * One window of production: how many predictions were sampled and labelled, drift of every input
 * and of the prediction from the version's profile, live performance on the labelled rows, and
 * performance per subgroup with the gap between groups.
 *
 * A window is accumulated row by row in bounded memory, whatever its traffic: drift as counts per
 * reference bin and KS point (exact), labelled rows in a seeded uniform reservoir (exact up to
 * its size, a uniform sample beyond).
 */
import { featureNames } from '../core/index.js';
import type { Cell } from '../core/index.js';
import { mulberry32 } from '../training/index.js';
import type { DriftResult } from './drift.js';
import { compileReference, DriftSketch } from './drift-sketch.js';
import type { CompiledReference } from './drift-sketch.js';
import { MIN_GROUP_LABELS, performanceOf, subgroupGap } from './performance.js';
import type { Performance, SubgroupGap } from './performance.js';
import type { MonitoringProfile } from './profile.js';

/** One sampled prediction row. */
export interface SampleRow {
  /** When it was predicted (ms since the epoch). */
  at: number;
  /** Feature cells in the profile's layout order; null for models that are not tabular. */
  features: Cell[] | null;
  prediction: Cell;
  /** Class index or value, once a label was given. */
  label?: number | undefined;
  /** Subgroup attributes given with the label (e.g. {"sex": "F"}). */
  groups?: Record<string, string> | undefined;
}

export interface WindowDrift {
  features: Record<string, DriftResult>;
  prediction?: DriftResult;
  /** Inputs (and `prediction`) flagged as drifted; empty while the window has too few samples. */
  drifted: string[];
  /** Whether the window had the samples drift needs to be flagged. */
  enough: boolean;
}

export interface WindowReport {
  from: string;
  to: string;
  samples: number;
  labelled: number;
  /** Absent when the version has no reference to compare with. */
  drift?: WindowDrift;
  /** Performance on the labelled rows (absent when none are labelled). */
  performance?: Performance;
  /** Per attribute: performance per group and the gap between the best and worst group. */
  subgroups?: Record<string, { groups: Record<string, Performance>; gap?: SubgroupGap }>;
}

/** Samples a window needs before drift can be flagged. */
export const MIN_DRIFT_SAMPLES = 50;

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** A drift result rounded for the report; not flagged in a window too small to judge. */
function judged(d: DriftResult, enough: boolean): DriftResult {
  return {
    ...d,
    psi: round(d.psi),
    statistic: round(d.statistic),
    pValue: Number(d.pValue.toPrecision(6)),
    drifted: d.drifted && enough,
  };
}

/** A profile's references compiled once, shared by every window of a report. */
export interface CompiledProfile {
  profile: MonitoringProfile;
  /** Per feature of the layout (in its order): its reference, when it has one. */
  features: (CompiledReference | undefined)[];
  prediction: CompiledReference | undefined;
  /** Feature positions of the profile's subgroup features. */
  subgroupIndex: { name: string; j: number }[];
}

export function compileProfile(profile: MonitoringProfile): CompiledProfile {
  const names = profile.layout ? featureNames(profile.layout) : [];
  return {
    profile,
    features: names.map((name) => {
      const reference = profile.features[name];
      return reference && compileReference(reference);
    }),
    prediction: profile.prediction && compileReference(profile.prediction),
    subgroupIndex: profile.subgroupFeatures.map((name) => ({ name, j: names.indexOf(name) })),
  };
}

/** A labelled row as the reservoir keeps it: its subgroup attributes resolved, no features. */
interface LabelledRow {
  prediction: Cell;
  label: number;
  groups: Map<string, string>;
}

/** Labelled rows a window keeps for performance by default; beyond it a uniform sample of this many. */
export const LABELLED_ROWS_PER_WINDOW = 100_000;

/** One window accumulated row by row; `report()` gives what `windowReport` gives for the same rows. */
export class WindowAccumulator {
  /** Rows predicted in the window (those counted without being read included). */
  samples = 0;
  labelled = 0;
  /** Whether drift was computed on part of the window's rows only. */
  subsampled = false;
  private driftRows = 0;
  private readonly features: (DriftSketch | undefined)[];
  private readonly prediction: DriftSketch | undefined;
  private readonly reservoir: LabelledRow[] = [];
  private readonly random: () => number;

  constructor(
    private readonly compiled: CompiledProfile,
    readonly from: Date,
    readonly to: Date,
    private readonly maxLabelled = LABELLED_ROWS_PER_WINDOW,
  ) {
    this.features = compiled.features.map((c) => c && new DriftSketch(c));
    this.prediction = compiled.prediction && new DriftSketch(compiled.prediction);
    this.random = mulberry32(from.getTime() % 2 ** 31);
  }

  /** Rows of the window that were neither read for drift nor labelled. */
  count(rows: number): void {
    this.samples += rows;
    this.subsampled = true;
  }

  /** One row of the window; `forDrift` false counts it (and its label) but leaves it out of drift. */
  add(row: SampleRow, forDrift = true): void {
    this.samples++;
    if (forDrift) {
      this.driftRows++;
      if (row.features) this.features.forEach((sketch, j) => sketch?.add(row.features![j] ?? null));
      this.prediction?.add(row.prediction);
    } else this.subsampled = true;
    if (row.label === undefined) return;
    this.labelled++;
    // Reservoir sampling (algorithm R): every labelled row is kept with the same chance.
    if (this.reservoir.length < this.maxLabelled) this.reservoir.push(this.labelledRow(row));
    else {
      const slot = Math.floor(this.random() * this.labelled);
      if (slot < this.maxLabelled) this.reservoir[slot] = this.labelledRow(row);
    }
  }

  private labelledRow(row: SampleRow): LabelledRow {
    // One group per attribute and row: a group given with the label wins over the feature's value.
    const groups = new Map<string, string>();
    for (const { name, j } of this.compiled.subgroupIndex) {
      const cell = row.features?.[j];
      if (cell !== undefined && cell !== null) groups.set(name, String(cell));
    }
    for (const [attribute, value] of Object.entries(row.groups ?? {})) groups.set(attribute, value);
    return { prediction: row.prediction, label: row.label!, groups };
  }

  report(): WindowReport {
    const { profile } = this.compiled;
    const report: WindowReport = {
      from: this.from.toISOString(),
      to: this.to.toISOString(),
      samples: this.samples,
      labelled: this.labelled,
    };
    if (this.driftRows > 0 && (Object.keys(profile.features).length > 0 || profile.prediction)) {
      const enough = this.driftRows >= MIN_DRIFT_SAMPLES;
      const features: Record<string, DriftResult> = {};
      const names = profile.layout ? featureNames(profile.layout) : [];
      names.forEach((name, j) => {
        const sketch = this.features[j];
        if (sketch && sketch.n > 0) features[name] = judged(sketch.result(), enough);
      });
      const prediction = this.prediction && judged(this.prediction.result(), enough);
      const drifted = enough
        ? [
            ...Object.entries(features)
              .filter(([, d]) => d.drifted)
              .map(([n]) => n),
            ...(prediction?.drifted ? ['prediction'] : []),
          ]
        : [];
      report.drift = { features, ...(prediction && { prediction }), drifted, enough };
    }
    if (this.reservoir.length > 0) {
      report.performance = performanceOf(
        profile.output,
        this.reservoir.map((r) => r.prediction),
        this.reservoir.map((r) => r.label),
      );
      report.subgroups = subgroups(profile, this.reservoir);
    }
    return report;
  }
}

/** The report of one window from its rows (all of them read for drift). */
export function windowReport(
  profile: MonitoringProfile,
  rows: readonly SampleRow[],
  from: Date,
  to: Date,
): WindowReport {
  const window = new WindowAccumulator(compileProfile(profile), from, to, Number.POSITIVE_INFINITY);
  for (const row of rows) window.add(row);
  return window.report();
}

function subgroups(
  profile: MonitoringProfile,
  labelled: readonly LabelledRow[],
): Record<string, { groups: Record<string, Performance>; gap?: SubgroupGap }> {
  const byAttribute = new Map<string, Map<string, LabelledRow[]>>();
  for (const row of labelled) {
    for (const [attribute, value] of row.groups) {
      let groups = byAttribute.get(attribute);
      if (!groups) byAttribute.set(attribute, (groups = new Map<string, LabelledRow[]>()));
      const list = groups.get(value);
      if (list) list.push(row);
      else groups.set(value, [row]);
    }
  }
  const out: Record<string, { groups: Record<string, Performance>; gap?: SubgroupGap }> = {};
  for (const [attribute, groups] of byAttribute) {
    const performances = Object.fromEntries(
      [...groups].map(([value, rows]) => [
        value,
        performanceOf(
          profile.output,
          rows.map((r) => r.prediction),
          rows.map((r) => r.label),
        ),
      ]),
    );
    const gap = subgroupGap(performances);
    out[attribute] = { groups: performances, ...(gap && { gap }) };
  }
  return out;
}

export { MIN_GROUP_LABELS };
