/**
 * Sequence datasets: JSON lines, one labelled sequence per line —
 * `{"label": "N", "steps": [[f1, f2], …], "features": [s1, …]?, "split": "train"?, "group": "…"?}` —
 * for signals (a window of samples per beat) and patient histories (one step per admission or
 * code). Every sequence has the same number of values per step; `features` (the same count on
 * every line, when present) are static values for a model that takes a sequence and a vector.
 * Pure: bytes in, records and their description out.
 */
import { GalenError } from '../core/index.js';

export interface SequenceRecord {
  label: string;
  /** length × stepFeatures values, row-major. */
  steps: Float32Array;
  length: number;
  features: Float32Array | null;
  split: string | null;
}

/** What a sequence dataset holds; stored as the version's schema. */
export interface SequenceDatasetSchema {
  kind: 'sequences';
  rows: number;
  /** Values per step. */
  stepFeatures: number;
  /** Static values per sequence (0: none). */
  staticFeatures: number;
  minLength: number;
  maxLength: number;
  meanLength: number;
  labels: Record<string, number>;
  splits: Record<string, number> | null;
  target: 'label';
}

/** Whether JSON-lines bytes hold sequences (the first record has a `steps` list). */
export function looksLikeSequences(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes.subarray(0, 65536)).toString('utf8');
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first !== undefined && /^\s*\{/.test(first) && /"steps"\s*:\s*\[/.test(first);
}

const MAX_STEPS = 100_000;

export function parseSequences(bytes: Uint8Array): {
  records: SequenceRecord[];
  schema: SequenceDatasetSchema;
} {
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  const records: SequenceRecord[] = [];
  let stepFeatures = -1;
  let staticFeatures = -1;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new GalenError('invalid_input', `${where} is not JSON`);
    }
    const v = value as { label?: unknown; steps?: unknown; features?: unknown; split?: unknown };
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new GalenError('invalid_input', `${where} is not an object like {"label": …, "steps": [[…], …]}`);
    }
    if (typeof v.label !== 'string' && typeof v.label !== 'number') {
      throw new GalenError('invalid_input', `${where} has no "label" (a string or number)`);
    }
    if (!Array.isArray(v.steps) || v.steps.length === 0 || v.steps.length > MAX_STEPS) {
      throw new GalenError(
        'invalid_input',
        `${where}: "steps" must be a list of 1 to ${MAX_STEPS} steps, each a list of numbers`,
      );
    }
    const width = Array.isArray(v.steps[0]) ? (v.steps[0] as unknown[]).length : -1;
    if (stepFeatures === -1) stepFeatures = width;
    if (width < 1 || width !== stepFeatures) {
      throw new GalenError('invalid_input', `${where}: every step must be a list of ${stepFeatures} numbers`);
    }
    const steps = new Float32Array(v.steps.length * width);
    (v.steps as unknown[]).forEach((step, t) => {
      if (!Array.isArray(step) || step.length !== width) {
        throw new GalenError('invalid_input', `${where}: step ${t} is not a list of ${width} numbers`);
      }
      step.forEach((x: unknown, f) => {
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw new GalenError('invalid_input', `${where}: step ${t} value ${f} is not a finite number`);
        }
        steps[t * width + f] = x;
      });
    });
    let features: Float32Array | null = null;
    if (v.features !== undefined) {
      if (
        !Array.isArray(v.features) ||
        v.features.some((x) => typeof x !== 'number' || !Number.isFinite(x))
      ) {
        throw new GalenError('invalid_input', `${where}: "features" must be a list of finite numbers`);
      }
      features = Float32Array.from(v.features as number[]);
    }
    const count = features?.length ?? 0;
    if (staticFeatures === -1) staticFeatures = count;
    if (count !== staticFeatures) {
      throw new GalenError(
        'invalid_input',
        `${where} has ${count} static features; the first line has ${staticFeatures}`,
      );
    }
    if (v.split !== undefined && typeof v.split !== 'string') {
      throw new GalenError(
        'invalid_input',
        `${where}: "split" must be a string such as "train", "val" or "test"`,
      );
    }
    records.push({
      label: String(v.label),
      steps,
      length: v.steps.length,
      features,
      split: v.split ?? null,
    });
  });
  if (records.length === 0) throw new GalenError('invalid_input', 'the dataset file is empty');
  const labels: Record<string, number> = {};
  const splits: Record<string, number> = {};
  let total = 0;
  for (const r of records) {
    labels[r.label] = (labels[r.label] ?? 0) + 1;
    if (r.split !== null) splits[r.split] = (splits[r.split] ?? 0) + 1;
    total += r.length;
  }
  if (Object.keys(labels).length < 2) {
    throw new GalenError(
      'invalid_input',
      `every sequence has the label "${records[0]!.label}"; a classifier needs at least two`,
    );
  }
  return {
    records,
    schema: {
      kind: 'sequences',
      rows: records.length,
      stepFeatures,
      staticFeatures,
      minLength: records.reduce((m, r) => Math.min(m, r.length), Infinity),
      maxLength: records.reduce((m, r) => Math.max(m, r.length), 0),
      meanLength: total / records.length,
      labels,
      splits: Object.keys(splits).length === 0 ? null : splits,
      target: 'label',
    },
  };
}
