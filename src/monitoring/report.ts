/**
 * One window of production: how many predictions were sampled and labelled, drift of every input
 * and of the prediction from the version's profile, live performance on the labelled rows, and
 * performance per subgroup with the gap between groups.
 */
import { featureNames } from '../core/index.js';
import type { Cell } from '../core/index.js';
import { drift } from './drift.js';
import type { DriftResult } from './drift.js';
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

export function windowReport(
  profile: MonitoringProfile,
  rows: readonly SampleRow[],
  from: Date,
  to: Date,
): WindowReport {
  const labelled = rows.filter((r) => r.label !== undefined);
  const report: WindowReport = {
    from: from.toISOString(),
    to: to.toISOString(),
    samples: rows.length,
    labelled: labelled.length,
  };
  if (rows.length > 0 && (Object.keys(profile.features).length > 0 || profile.prediction)) {
    const enough = rows.length >= MIN_DRIFT_SAMPLES;
    const features: Record<string, DriftResult> = {};
    const names = profile.layout ? featureNames(profile.layout) : [];
    names.forEach((name, j) => {
      const reference = profile.features[name];
      const values = rows.flatMap((r) => (r.features ? [r.features[j] ?? null] : []));
      if (reference && values.length > 0) features[name] = judged(drift(reference, values), enough);
    });
    const prediction =
      profile.prediction &&
      judged(
        drift(
          profile.prediction,
          rows.map((r) => r.prediction),
        ),
        enough,
      );
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
  if (labelled.length > 0) {
    report.performance = performanceOf(
      profile.output,
      labelled.map((r) => r.prediction),
      labelled.map((r) => r.label!),
    );
    report.subgroups = subgroups(profile, labelled);
  }
  return report;
}

function subgroups(
  profile: MonitoringProfile,
  labelled: readonly SampleRow[],
): Record<string, { groups: Record<string, Performance>; gap?: SubgroupGap }> {
  const names = profile.layout ? featureNames(profile.layout) : [];
  const byAttribute = new Map<string, Map<string, SampleRow[]>>();
  const add = (attribute: string, value: string, row: SampleRow): void => {
    let groups = byAttribute.get(attribute);
    if (!groups) byAttribute.set(attribute, (groups = new Map<string, SampleRow[]>()));
    const list = groups.get(value);
    if (list) list.push(row);
    else groups.set(value, [row]);
  };
  for (const row of labelled) {
    // One group per attribute and row: a group given with the label wins over the feature's value.
    const attributes = new Map<string, string>();
    for (const feature of profile.subgroupFeatures) {
      const cell = row.features?.[names.indexOf(feature)];
      if (cell !== undefined && cell !== null) attributes.set(feature, String(cell));
    }
    for (const [attribute, value] of Object.entries(row.groups ?? {})) attributes.set(attribute, value);
    for (const [attribute, value] of attributes) add(attribute, value, row);
  }
  const out: Record<string, { groups: Record<string, Performance>; gap?: SubgroupGap }> = {};
  for (const [attribute, groups] of byAttribute) {
    const performances = Object.fromEntries(
      [...groups].map(([value, rows]) => [
        value,
        performanceOf(
          profile.output,
          rows.map((r) => r.prediction),
          rows.map((r) => r.label!),
        ),
      ]),
    );
    const gap = subgroupGap(performances);
    out[attribute] = { groups: performances, ...(gap && { gap }) };
  }
  return out;
}

export { MIN_GROUP_LABELS };
