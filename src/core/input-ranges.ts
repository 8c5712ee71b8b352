/**
 * Training ranges of a tabular model's numeric inputs (the smallest and largest value in its
 * training rows), and the check that says which of a request's values fall outside them. Training
 * records the ranges in the version's lineage parameters (`trainingRanges`) and on the model card;
 * serving compiles the check once per version and runs it on each client request, so an answer can
 * say that it extrapolates (`age=17 below training range 29–77`).
 */
import type { Signature, Tensor } from './tensor-types.js';

/** Where a version's lineage parameters keep the ranges. */
export const TRAINING_RANGES_PARAMETER = 'trainingRanges';

/** The OIP response parameter (and gRPC response parameter) that carries the check's text. */
export const OUT_OF_RANGE_PARAMETER = 'out_of_range';

export interface NumericRange {
  min: number;
  max: number;
}

/** Numeric input name → the range of its training values. */
export type InputRanges = Record<string, NumericRange>;

/** At most this many values are named in one answer; the rest are counted. */
const MAX_NAMED = 10;

/**
 * The range of each numeric column over its training cells (missing and non-numbers skipped);
 * columns with no value are left out.
 */
export function rangesOfColumns(
  columns: Readonly<Record<string, ArrayLike<unknown>>>,
  names: readonly string[],
): InputRanges {
  const ranges: InputRanges = {};
  for (const name of names) {
    const cells = columns[name];
    if (!cells) continue;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < cells.length; i++) {
      const v = cells[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min <= max) ranges[name] = { min, max };
  }
  return ranges;
}

/** A number as a reader wants it: at most six significant digits, no float32 noise. */
export function rangeNumber(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/** `29–77`, as the model card and the answers show a range. */
export function rangeText(range: NumericRange): string {
  return `${rangeNumber(range.min)}–${rangeNumber(range.max)}`;
}

/** The ranges in a version's lineage parameters; entries that are not `{min ≤ max}` numbers are ignored. */
export function trainingRangesOf(parameters: Readonly<Record<string, unknown>> | undefined): InputRanges {
  const raw = parameters?.[TRAINING_RANGES_PARAMETER];
  const ranges: InputRanges = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ranges;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const { min, max } = (value ?? {}) as { min?: unknown; max?: unknown };
    if (typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && min <= max)
      ranges[name] = { min, max };
  }
  return ranges;
}

/** Reads a request's inputs and says which values are outside the training ranges, or undefined. */
export type RangeCheck = (inputs: readonly Tensor[]) => string | undefined;

interface CheckedInput {
  name: string;
  /** Bounds as the input's datatype holds them (FP32 rounds), so a training extreme sent as FP32 is in range. */
  low: number;
  high: number;
  range: string;
}

/**
 * The check for one version: each ranged input that the signature takes as one FP32 or FP64
 * value per row ([-1, 1]); undefined when there is nothing to check (no recorded ranges, as for
 * uploaded models), so serving does no work for those.
 */
export function compileRangeCheck(signature: Signature, ranges: InputRanges): RangeCheck | undefined {
  const checked: CheckedInput[] = [];
  for (const spec of signature.inputs) {
    const range = ranges[spec.name];
    if (!range || spec.shape.length !== 2 || spec.shape[1] !== 1) continue;
    if (spec.datatype !== 'FP32' && spec.datatype !== 'FP64') continue;
    const round = spec.datatype === 'FP32' ? Math.fround : (x: number): number => x;
    checked.push({ name: spec.name, low: round(range.min), high: round(range.max), range: rangeText(range) });
  }
  if (checked.length === 0) return undefined;
  return (inputs) => {
    const found: string[] = [];
    let total = 0;
    let rows = 0;
    const flagged: { row: number; text: string }[] = [];
    for (const input of checked) {
      const tensor = inputs.find((t) => t.name === input.name);
      if (!tensor || !(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) continue;
      const data = tensor.data;
      rows = Math.max(rows, data.length);
      for (let r = 0; r < data.length; r++) {
        const x = data[r]!;
        if (!(x < input.low || x > input.high)) continue; // in range, or missing (NaN)
        total++;
        if (flagged.length < MAX_NAMED) {
          const side = x < input.low ? 'below' : 'above';
          flagged.push({
            row: r,
            text: `${input.name}=${rangeNumber(x)} ${side} training range ${input.range}`,
          });
        }
      }
    }
    if (total === 0) return undefined;
    flagged.sort((a, b) => a.row - b.row);
    for (const f of flagged) found.push(rows > 1 ? `row ${f.row}: ${f.text}` : f.text);
    if (total > flagged.length) found.push(`and ${total - flagged.length} more`);
    return found.join('; ');
  };
}
