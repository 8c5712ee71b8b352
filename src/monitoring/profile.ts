/**
 * A version's monitoring profile: what its inputs and its prediction looked like on the data it
 * was built from (training rows for the inputs, held-out rows for the prediction), so production
 * windows can be compared with it. Kept with the version; it holds decile edges, shares and a
 * sorted sample of at most 1,000 values per input, never whole rows.
 */
import { GalenError, featureNames, kindOf } from '../core/index.js';
import type { Cell, FeatureLayout, ScoredOutput } from '../core/index.js';
import { referenceProfile } from './drift.js';
import type { ReferenceProfile } from './drift.js';
import { performanceOf } from './performance.js';
import type { Performance } from './performance.js';

export const PROFILE_SCHEMA = 'galen.monitoring-profile/1';

export interface MonitoringProfile {
  schema: typeof PROFILE_SCHEMA;
  /** How features are read from requests; absent for models that are not tabular (only the prediction is monitored). */
  layout?: FeatureLayout;
  output: ScoredOutput;
  /** Reference per feature, by name. */
  features: Record<string, ReferenceProfile>;
  /** Reference of the monitored prediction (P(positive), the predicted class, or the value). */
  prediction?: ReferenceProfile;
  /** Performance of the reference predictions against their labels (held-out rows). */
  baseline?: Performance;
  /** Features whose values split live performance into subgroups (e.g. the training's sensitive column). */
  subgroupFeatures: string[];
  /** Where the reference came from, in words. */
  source: string;
  createdAt: string;
}

/** What a row's output gives as the monitored prediction: P(positive), the predicted class, or the value. */
export function predictionOf(output: ScoredOutput, values: ArrayLike<number>): Cell {
  if (output.task === 'regression') return Number.isFinite(values[0]) ? values[0]! : null;
  if (output.task === 'binary') return Number.isFinite(values[1]) ? values[1]! : null;
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k]! > values[best]!) best = k;
  return output.classes?.[best] ?? `class ${best}`;
}

export const predictionKind = (output: ScoredOutput): 'numeric' | 'categorical' =>
  output.task === 'multiclass' ? 'categorical' : 'numeric';

/**
 * A label as monitoring stores it: the class index for a classifier (the class's name, or for two
 * classes also 0/1 or false/true), the value for a regression.
 */
export function labelValue(output: ScoredOutput, raw: unknown): number {
  if (output.task === 'regression') {
    if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
    throw new GalenError(
      'invalid_input',
      `the label is ${kindOf(raw)}, not a finite number; this model predicts a value`,
    );
  }
  const classes = output.classes ?? [];
  if (typeof raw === 'string' && classes.includes(raw)) return classes.indexOf(raw);
  if (output.task === 'binary' && (raw === 0 || raw === 1 || raw === false || raw === true))
    return Number(raw);
  throw new GalenError(
    'invalid_input',
    // The label's kind, never its value: it is a patient's outcome.
    `the label is ${kindOf(raw)} that is not one of the classes ${classes.map((c) => JSON.stringify(c)).join(', ')}${output.task === 'binary' ? ' (or 0/1, false/true for the second class)' : ''}`,
  );
}

/** The profile of reference rows: features (cells in layout order) and the model's output per row. */
export function buildProfile(input: {
  layout: FeatureLayout | undefined;
  output: ScoredOutput;
  /** Feature rows the inputs' references are built from (training rows). */
  featureRows: readonly Cell[][];
  /** Model outputs (one array per row) the prediction reference is built from. */
  outputs: readonly ArrayLike<number>[];
  /** Labels of those output rows (class index or value), for the baseline. */
  labels?: ArrayLike<number> | undefined;
  subgroupFeatures?: readonly string[] | undefined;
  source: string;
  createdAt: string;
}): MonitoringProfile {
  const { layout, output } = input;
  const features: Record<string, ReferenceProfile> = {};
  if (layout) {
    const names = featureNames(layout);
    names.forEach((name, j) => {
      const kind =
        layout.kind === 'columns' && layout.inputs[j]!.datatype === 'BYTES' ? 'categorical' : 'numeric';
      features[name] = referenceProfile(
        input.featureRows.map((r) => asServed(layout, j, r[j] ?? null)),
        kind,
      );
    });
    for (const s of input.subgroupFeatures ?? []) {
      if (!names.includes(s))
        throw new GalenError('invalid_input', `subgroup feature "${s}" is not one of the model's features`);
    }
  }
  const predictions = input.outputs.map((o) => predictionOf(output, o));
  return {
    schema: PROFILE_SCHEMA,
    ...(layout && { layout }),
    output,
    features,
    ...(predictions.length > 0 && { prediction: referenceProfile(predictions, predictionKind(output)) }),
    ...(input.labels &&
      input.labels.length === predictions.length &&
      predictions.length > 0 && {
        baseline: performanceOf(output, predictions, Array.from(input.labels)),
      }),
    subgroupFeatures: [...(input.subgroupFeatures ?? [])],
    source: input.source,
    createdAt: input.createdAt,
  };
}

/** A value as the served model receives it: FP32 inputs are rounded to float32, so bin edges match what requests carry. */
function asServed(layout: FeatureLayout, j: number, cell: Cell): Cell {
  const datatype = layout.kind === 'vector' ? layout.datatype : layout.inputs[j]!.datatype;
  return datatype === 'FP32' && typeof cell === 'number' ? Math.fround(cell) : cell;
}
