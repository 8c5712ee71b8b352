/**
 * How a batch of recorded predictions is stored: column by column, numbers as little-endian
 * float32/float64 bytes in base64 (NaN = missing) and text as arrays, with each request's time,
 * hashed id and row count. Columns keep a batch of thousands of rows small and cheap to write;
 * reading gives the rows back in the profile's feature order.
 */
import type { Cell, FeatureLayout, Tensor } from '../core/index.js';
import { predictionOf } from './profile.js';
import type { MonitoringProfile } from './profile.js';

/** One answered request waiting to be written. */
export interface RecordedRequest {
  at: number;
  key: string | undefined;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
}

type Column = { f32: string } | { f64: string } | { text: (string | null)[] };

export interface StoredBatch {
  v: 2;
  /** Per request: time (ms since the epoch), hashed id (or null), rows. */
  t: number[];
  k: (string | null)[];
  n: number[];
  /** Per input of the layout (each column, or the one vector input row-major); absent when not tabular. */
  f?: Column[];
  /** The prediction of every row. */
  p: Column;
}

/** A stored row read back: which request (its hashed id) and row it was. */
export interface StoredRow {
  at: number;
  key: string | null;
  row: number;
  features: Cell[] | null;
  prediction: Cell;
}

const base64Of = (a: Float32Array | Float64Array): string =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function floats(column: { f32: string } | { f64: string }): Float32Array | Float64Array {
  const bytes = Buffer.from('f32' in column ? column.f32 : column.f64, 'base64');
  const copy = new Uint8Array(bytes); // aligned, owned
  return 'f32' in column ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
}

function textOf(v: unknown): string | null {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array)
    return v.length === 0 ? null : Buffer.from(v).toString('utf8');
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** Rows of a request by its first layout input (0 when it is absent). */
function inputRows(layout: FeatureLayout, inputs: readonly Tensor[]): number {
  const name = layout.kind === 'vector' ? layout.input : layout.inputs[0]?.name;
  const t = inputs.find((i) => i.name === name);
  return t?.shape[0] ?? 0;
}

/** The inputs a layout reads, each with the width of one row and how it is stored. */
function layoutInputs(
  layout: FeatureLayout,
): { name: string; width: number; kind: 'f32' | 'f64' | 'text' }[] {
  if (layout.kind === 'vector') {
    return [
      { name: layout.input, width: layout.names.length, kind: layout.datatype === 'FP64' ? 'f64' : 'f32' },
    ];
  }
  return layout.inputs.map((i) => ({
    name: i.name,
    width: 1,
    kind: i.datatype === 'BYTES' ? 'text' : i.datatype === 'FP64' ? 'f64' : 'f32',
  }));
}

/** Encodes the requests of one version; rows whose output is missing get a missing prediction. */
export function encodeBatch(
  profile: MonitoringProfile,
  requests: readonly RecordedRequest[],
): { batch: StoredBatch; rows: number } {
  const { output, layout } = profile;
  // Rows: the scored output's; a request that did not ask for it still counts its input rows.
  const counts = requests.map((q) => {
    const out = q.outputs.find((t) => t.name === output.tensor);
    return out?.shape[0] ?? (layout ? inputRows(layout, q.inputs) : 0);
  });
  const total = counts.reduce((s, c) => s + c, 0);
  const numeric = output.task !== 'multiclass';
  const pNumbers = numeric ? new Float64Array(total) : undefined;
  const pText: (string | null)[] = [];
  let at = 0;
  requests.forEach((q, i) => {
    const out = q.outputs.find((t) => t.name === output.tensor);
    const n = counts[i]!;
    if (!out || n === 0) {
      for (let r = 0; r < n; r++) {
        if (pNumbers) pNumbers[at + r] = Number.NaN;
        else pText.push(null);
      }
      at += n;
      return;
    }
    const data = out.data as ArrayLike<number | bigint>;
    const width = data.length / n;
    const slice = new Float64Array(width);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < width; c++) slice[c] = Number(data[r * width + c]);
      const p = predictionOf(output, slice);
      if (pNumbers) pNumbers[at + r] = p === null ? Number.NaN : Number(p);
      else pText.push(p === null ? null : String(p));
    }
    at += n;
  });
  const batch: StoredBatch = {
    v: 2,
    t: requests.map((q) => q.at),
    k: requests.map((q) => q.key ?? null),
    n: counts,
    p: pNumbers ? { f64: base64Of(pNumbers) } : { text: pText },
  };
  if (layout) batch.f = layoutInputs(layout).map((spec) => encodeInput(spec, requests, counts, total));
  return { batch, rows: total };
}

function encodeInput(
  spec: { name: string; width: number; kind: 'f32' | 'f64' | 'text' },
  requests: readonly RecordedRequest[],
  counts: readonly number[],
  total: number,
): Column {
  const size = total * spec.width;
  if (spec.kind === 'text') {
    const out: (string | null)[] = [];
    requests.forEach((q, i) => {
      const data = q.inputs.find((t) => t.name === spec.name)?.data as ArrayLike<unknown> | undefined;
      const cells = counts[i]! * spec.width;
      for (let c = 0; c < cells; c++) out.push(data && data.length === cells ? textOf(data[c]) : null);
    });
    return { text: out };
  }
  const out = spec.kind === 'f64' ? new Float64Array(size) : new Float32Array(size);
  let at = 0;
  requests.forEach((q, i) => {
    const cells = counts[i]! * spec.width;
    const data = q.inputs.find((t) => t.name === spec.name)?.data as ArrayLike<number> | undefined;
    if (data && data.length === cells && (data instanceof Float32Array || data instanceof Float64Array)) {
      out.set(data, at);
    } else {
      for (let c = 0; c < cells; c++)
        out[at + c] = data && data.length === cells ? Number(data[c]) : Number.NaN;
    }
    at += cells;
  });
  return spec.kind === 'f64' ? { f64: base64Of(out) } : { f32: base64Of(out) };
}

/** The rows of a stored batch, features in the profile's order. */
export function decodeBatch(profile: MonitoringProfile, batch: StoredBatch): StoredRow[] {
  const total = batch.n.reduce((s, c) => s + c, 0);
  const predictions: Cell[] =
    'text' in batch.p ? batch.p.text : Array.from(floats(batch.p), (v) => (Number.isNaN(v) ? null : v));
  const layout = profile.layout;
  let features: ((r: number) => Cell[]) | undefined;
  if (layout && batch.f) {
    const specs = layoutInputs(layout);
    const columns = batch.f.map((c): ArrayLike<number> | (string | null)[] =>
      'text' in c ? c.text : floats(c),
    );
    const cell = (v: number | string | null | undefined): Cell =>
      v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v)) ? null : v;
    features =
      layout.kind === 'vector'
        ? (r) => Array.from({ length: specs[0]!.width }, (_, j) => cell(columns[0]![r * specs[0]!.width + j]))
        : (r) => columns.map((c) => cell(c[r]));
  }
  const out: StoredRow[] = new Array<StoredRow>(total);
  let at = 0;
  batch.n.forEach((n, i) => {
    for (let r = 0; r < n; r++, at++) {
      out[at] = {
        at: batch.t[i]!,
        key: batch.k[i] ?? null,
        row: r,
        features: features ? features(at) : null,
        prediction: predictions[at] ?? null,
      };
    }
  });
  return out;
}
