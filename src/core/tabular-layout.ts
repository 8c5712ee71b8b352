/**
 * How a tabular model's features and its scored output sit in its signature: one [-1, 1] input
 * per column (Galen's pipelines) or the K elements of one [-1, K] input, and a probabilities or
 * prediction output. Explanations (features as Shapley players) and monitoring (features as
 * drift subjects) read requests through the same layout.
 */
import { GalenError } from './errors.js';
import type { Signature, Tensor } from './tensor-types.js';

/** One feature's value in a row: a number, a category's text, or missing. */
export type Cell = number | string | null;

export type FeatureLayout =
  /** One input per feature, each [-1, 1]. */
  | { kind: 'columns'; inputs: { name: string; datatype: 'FP32' | 'FP64' | 'BYTES' }[] }
  /** One [-1, K] input whose K elements are the features. */
  | { kind: 'vector'; input: string; datatype: 'FP32' | 'FP64'; names: string[] };

/** A scored output: binary (positive class second), multiclass (one column per class) or a value. */
export interface ScoredOutput {
  tensor: string;
  task: 'binary' | 'multiclass' | 'regression';
  /** Class labels in output order (classification). */
  classes?: string[];
}

export function featureNames(layout: FeatureLayout): string[] {
  return layout.kind === 'columns' ? layout.inputs.map((i) => i.name) : layout.names;
}

const numeric = (d: string): d is 'FP32' | 'FP64' => d === 'FP32' || d === 'FP64';

/**
 * The layout of a tabular signature; `names` names the elements of a single [-1, K] input
 * (default `input[j]`). Throws `invalid_input` naming the input that is not tabular.
 */
export function layoutFor(
  signature: Signature,
  names: readonly string[] | undefined,
  what: string,
): FeatureLayout {
  const inputs = signature.inputs;
  const single = inputs.length === 1 ? inputs[0]! : undefined;
  if (single && single.shape.length === 2 && single.shape[1]! > 1 && numeric(single.datatype)) {
    const width = single.shape[1]!;
    if (names !== undefined && names.length !== width) {
      throw new GalenError(
        'invalid_input',
        `names has ${names.length} entries; input "${single.name}" has ${width} elements`,
      );
    }
    return {
      kind: 'vector',
      input: single.name,
      datatype: single.datatype,
      names: names ? [...names] : Array.from({ length: width }, (_, j) => `${single.name}[${j}]`),
    };
  }
  const unfit = inputs.find(
    (i) =>
      !(numeric(i.datatype) || i.datatype === 'BYTES') ||
      i.shape.length !== 2 ||
      (i.shape[1] !== 1 && i.shape[1] !== -1),
  );
  if (unfit) {
    throw new GalenError(
      'invalid_input',
      `${what} is not tabular: input "${unfit.name}" is ${unfit.datatype} [${unfit.shape.join(', ')}]; tabular models take one FP32, FP64 or BYTES [-1, 1] input per column, or a single FP32/FP64 [-1, K] input`,
    );
  }
  return {
    kind: 'columns',
    inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype as 'FP32' | 'FP64' | 'BYTES' })),
  };
}

/** The layout of a signature, or undefined when it is not tabular (images, sequences). */
export function tabularLayoutOf(signature: Signature): FeatureLayout | undefined {
  try {
    return layoutFor(signature, undefined, 'the model');
  } catch {
    return undefined;
  }
}

/**
 * The output to score: `chosen`, else `probabilities`, else `prediction`, else the first; its
 * width gives the task. `classes` (else `lineageClasses` of the right length, else "class k")
 * labels a classifier's columns.
 */
export function scoredOutputFor(
  signature: Signature,
  options: { chosen?: string | undefined; classes?: readonly string[] | undefined; lineageClasses?: unknown },
  what: string,
): ScoredOutput {
  const outputs = signature.outputs;
  const chosen =
    options.chosen ??
    (
      outputs.find((o) => o.name === 'probabilities') ??
      outputs.find((o) => o.name === 'prediction') ??
      outputs[0]
    )?.name;
  const spec = outputs.find((o) => o.name === chosen);
  if (!spec || !numeric(spec.datatype)) {
    throw new GalenError(
      'invalid_input',
      `${what} has no FP32/FP64 output ${JSON.stringify(chosen)} to score; its outputs are ${outputs.map((o) => o.name).join(', ')}`,
    );
  }
  const width = spec.shape.length === 2 ? spec.shape[1]! : 1;
  const task: ScoredOutput['task'] = width === 2 ? 'binary' : width > 2 ? 'multiclass' : 'regression';
  if (task === 'regression') return { tensor: spec.name, task };
  const fromLineage = options.lineageClasses;
  const classes =
    options.classes ??
    (Array.isArray(fromLineage) && fromLineage.length === width
      ? fromLineage.map(String)
      : Array.from({ length: width }, (_, k) => `class ${k}`));
  if (classes.length !== width) {
    throw new GalenError(
      'invalid_input',
      `classes has ${classes.length} labels; output "${spec.name}" has ${width}`,
    );
  }
  return { tensor: spec.name, task, classes: [...classes] };
}

/** One cell of a tensor: bytes as UTF-8 text (empty = missing), numbers with NaN as missing. */
function cellAt(data: ArrayLike<unknown>, at: number): Cell {
  const v = data[at];
  if (Buffer.isBuffer(v) || v instanceof Uint8Array)
    return v.length === 0 ? null : Buffer.from(v).toString('utf8');
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

/** A request's tensors as rows of cells in feature order. */
export function rowsFromTensors(layout: FeatureLayout, inputs: readonly Tensor[], what: string): Cell[][] {
  const byName = new Map(inputs.map((t) => [t.name, t]));
  if (layout.kind === 'vector') {
    const t = byName.get(layout.input);
    if (!t) throw new GalenError('invalid_input', `${what} takes input "${layout.input}"`);
    const data = t.data as ArrayLike<unknown>;
    const width = layout.names.length;
    const n = Math.floor(data.length / width);
    return Array.from({ length: n }, (_, r) =>
      Array.from({ length: width }, (_, j) => cellAt(data, r * width + j)),
    );
  }
  let n: number | undefined;
  const columns = layout.inputs.map((spec) => {
    const t = byName.get(spec.name);
    if (!t) {
      throw new GalenError(
        'invalid_input',
        `${what} takes inputs ${layout.inputs.map((i) => i.name).join(', ')}; "${spec.name}" is missing`,
      );
    }
    const data = t.data as ArrayLike<unknown>;
    if (n !== undefined && data.length !== n) {
      throw new GalenError(
        'invalid_input',
        `input "${spec.name}" has ${data.length} rows; the others have ${n}`,
      );
    }
    n = data.length;
    return data;
  });
  return Array.from({ length: n ?? 0 }, (_, r) => columns.map((c) => cellAt(c, r)));
}

/** Rows of cells as the model's input tensors. */
export function tensorsFromRows(layout: FeatureLayout, rows: readonly Cell[][]): Tensor[] {
  const n = rows.length;
  const number = (c: Cell): number => (c === null ? Number.NaN : Number(c));
  if (layout.kind === 'vector') {
    const flat = rows.flatMap((r) => r.map(number));
    const shape = [n, layout.names.length];
    return [
      layout.datatype === 'FP64'
        ? { name: layout.input, datatype: 'FP64', shape, data: Float64Array.from(flat) }
        : { name: layout.input, datatype: 'FP32', shape, data: Float32Array.from(flat) },
    ];
  }
  return layout.inputs.map((spec, j): Tensor => {
    if (spec.datatype === 'BYTES') {
      return {
        name: spec.name,
        datatype: 'BYTES',
        shape: [n, 1],
        data: rows.map((r) => Buffer.from(r[j] === null ? '' : String(r[j]), 'utf8')),
      };
    }
    const values = rows.map((r) => number(r[j] ?? null));
    return spec.datatype === 'FP64'
      ? { name: spec.name, datatype: 'FP64', shape: [n, 1], data: Float64Array.from(values) }
      : { name: spec.name, datatype: 'FP32', shape: [n, 1], data: Float32Array.from(values) };
  });
}
