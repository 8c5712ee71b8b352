/**
 * TF Serving's JSON tensors for :predict: the row ("instances") and columnar ("inputs") forms,
 * decoded in one pass straight into typed arrays of each input's datatype, and outputs encoded
 * back as "predictions" or "outputs". Shapes come from the JSON nesting (the row form adds the
 * batch as the first dimension). A value that does not fit is refused with where it is and what
 * is allowed.
 */
import { formatShape, kindOf, quoted } from '../../core/index.js';
import type { GalenError, Signature, Tensor, TensorSpec } from '../../core/index.js';
import { declaredCount } from '../../serving/index.js';
import type { DeclaredInput, EncodedInputs, TensorBudget } from '../../serving/index.js';
import { elementReader, elementSink, invalid, isNamedObject, quoteList } from './tf-serving-values.js';
import type { ElementSink } from './tf-serving-values.js';

export type PredictFormat = 'row' | 'columnar';

/**
 * The shape of a nested JSON list, read down its first elements (a value is a scalar: []), at most
 * `maxDepth` levels down: deeper lists are never read, so a body nested thousands deep costs no
 * more than one the model can take (the shape then has one dimension too many, and is refused).
 */
export function nestedShape(value: unknown, maxDepth: number): number[] {
  const dims: number[] = [];
  let v = value;
  while (Array.isArray(v) && dims.length < maxDepth) {
    dims.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return dims;
}

const pathKey = (key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;

/**
 * Fills one input's tensor from JSON of a known shape: the whole tensor (columnar) or one
 * instance after another (row). Every list must have the size the shape says at its depth. The
 * shape is read (and declared) first; the tensor is allocated by `allocate`, within the request's
 * budget, once the declaration has passed the signature.
 */
class TensorFiller {
  /** Row being filled (row format), for error paths; -1 for columnar. */
  row = -1;
  private pos = 0;
  private sink: ElementSink | undefined;
  private readonly stack: number[] = [];
  /** Shape of one instance (row) or of the whole tensor (columnar), at most one level deeper than the spec. */
  readonly dims: readonly number[];
  /** The whole tensor's shape, as the request declares it. */
  readonly shape: readonly number[];

  constructor(
    readonly spec: TensorSpec,
    first: unknown,
    /** Instances (row), or undefined for columnar. */
    items: number | undefined,
    private readonly root: 'instances' | 'inputs',
    private readonly key: string | undefined,
  ) {
    const rank = spec.shape.length;
    this.dims = nestedShape(first, items === undefined ? rank + 1 : rank);
    this.shape = items === undefined ? this.dims : [items, ...this.dims];
  }

  declared(): DeclaredInput {
    return { name: this.spec.name, datatype: this.spec.datatype, shape: this.shape };
  }

  allocate(budget: TensorBudget): void {
    budget.reserve(this.spec.name, this.spec.datatype, this.shape);
    const name = this.spec.name;
    this.sink = elementSink(this.spec.datatype, declaredCount(this.shape), (i, length) =>
      budget.bytesElement(name, i, length),
    );
  }

  tensor(): Tensor {
    return { name: this.spec.name, datatype: this.spec.datatype, shape: this.shape, data: this.sink!.data };
  }

  private path(depth: number): string {
    let p = this.root;
    if (this.row >= 0) p += `[${this.row}]`;
    if (this.key !== undefined) p += pathKey(this.key);
    for (let d = 0; d < depth; d++) p += `[${this.stack[d]}]`;
    return p;
  }

  private shapeRule(): string {
    return this.root === 'instances'
      ? `every instance of input "${this.spec.name}" must have the shape of instances[0]${this.key === undefined ? '' : pathKey(this.key)}, ${formatShape(this.dims)}`
      : `the lists of input "${this.spec.name}" must be rectangular; read down their first elements, their shape is ${formatShape(this.dims)}`;
  }

  /** Why the element at `depth` does not fit: a list too deep, or a value of the wrong kind. */
  private badElement(depth: number, value: unknown, rule: string): GalenError {
    if (Array.isArray(value))
      return invalid(`${this.path(depth)} is a list where a single value belongs: ${this.shapeRule()}`);
    return invalid(`${this.path(depth)} is ${kindOf(value)}; input "${this.spec.name}" is ${rule}`);
  }

  /** Stores `value` (at `depth` of `dims`); recursion is bounded by the rank, checked before. */
  fill(value: unknown, depth: number): void {
    const dims = this.dims;
    const sink = this.sink!;
    if (depth === dims.length) {
      // Sinks refuse lists, so a list nested too deep fails here too.
      const rule = sink.put(this.pos, value);
      if (rule !== undefined) throw this.badElement(depth, value, rule);
      this.pos++;
      return;
    }
    const size = dims[depth]!;
    if (!Array.isArray(value))
      throw invalid(
        `${this.path(depth)} is ${kindOf(value)} where a list of ${size} belongs: ${this.shapeRule()}`,
      );
    if (value.length !== size)
      throw invalid(
        `${this.path(depth)} has ${value.length} elements where ${size} belong: ${this.shapeRule()}`,
      );
    if (depth === dims.length - 1) {
      // The innermost lists hold the elements: store them without a call of fill per element.
      let pos = this.pos;
      for (let i = 0; i < size; i++) {
        const rule = sink.put(pos++, value[i]);
        if (rule !== undefined) {
          this.stack[depth] = i;
          throw this.badElement(depth + 1, value[i], rule);
        }
      }
      this.pos = pos;
      return;
    }
    for (let i = 0; i < size; i++) {
      this.stack[depth] = i;
      this.fill(value[i], depth + 1);
    }
  }
}

function missingInputs(signature: Signature, given: (name: string) => boolean): string[] {
  return signature.inputs.filter((s) => !given(s.name)).map((s) => s.name);
}

function describeInputs(signature: Signature): string {
  return signature.inputs.map((s) => `"${s.name}" ${s.datatype} ${formatShape(s.shape)}`).join(', ');
}

/** Inputs whose shapes are read and declared now, filled by `fill` once allocated. */
function encoded(fillers: readonly TensorFiller[], fill: () => void): EncodedInputs {
  return {
    declared: fillers.map((f) => f.declared()),
    decode(budget) {
      for (const f of fillers) f.allocate(budget);
      fill();
      return fillers.map((f) => f.tensor());
    },
  };
}

function decodeRows(instances: unknown, signature: Signature): EncodedInputs {
  if (!Array.isArray(instances))
    throw invalid(
      `"instances" is ${kindOf(instances)}; the row format needs a list with one entry per instance`,
    );
  const n = instances.length;
  if (n === 0) throw invalid('"instances" is empty; send at least one instance');
  const first: unknown = instances[0];
  if (!isNamedObject(first)) {
    if (signature.inputs.length !== 1) {
      throw invalid(
        `the model has ${signature.inputs.length} inputs (${describeInputs(signature)}), so each instance must be an object keyed by input name`,
      );
    }
    const filler = new TensorFiller(signature.inputs[0]!, first, n, 'instances', undefined);
    return encoded([filler], () => {
      for (let r = 0; r < n; r++) {
        const instance: unknown = instances[r];
        if (r > 0 && isNamedObject(instance))
          throw invalid(
            `instances[${r}] is an object, but instances[0] is not; instances are all values or all objects`,
          );
        filler.row = r;
        filler.fill(instance, 0);
      }
    });
  }

  // instances[0] names the inputs and gives their shapes; every other instance must match it.
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const fillers = new Map<string, TensorFiller>();
  for (const key in first) {
    const spec = specs.get(key);
    if (spec === undefined)
      throw invalid(
        `instances[0] has ${quoted(key)}, which is not an input; the inputs are ${describeInputs(signature)}`,
      );
    fillers.set(key, new TensorFiller(spec, first[key], n, 'instances', key));
  }
  return encoded([...fillers.values()], () => {
    for (let r = 0; r < n; r++) {
      const instance: unknown = instances[r];
      if (!isNamedObject(instance)) {
        throw invalid(
          `instances[${r}] is ${kindOf(instance)}, but instances[0] is an object keyed by input name; every instance must be one`,
        );
      }
      let count = 0;
      for (const key in instance) {
        const filler = fillers.get(key);
        if (filler === undefined)
          throw invalid(
            `instances[${r}] has ${quoted(key)}, which is not ${specs.has(key) ? 'in instances[0]' : 'an input'}; the inputs are ${describeInputs(signature)}`,
          );
        filler.row = r;
        filler.fill(instance[key], 0);
        count++;
      }
      if (count !== specs.size) {
        const missing = missingInputs(signature, (name) => name in instance);
        throw invalid(
          `instances[${r}] lacks input(s) ${quoteList(missing)}; every instance needs ${describeInputs(signature)}`,
        );
      }
    }
  });
}

function decodeColumns(inputs: unknown, signature: Signature): EncodedInputs {
  if (!isNamedObject(inputs)) {
    if (signature.inputs.length !== 1) {
      throw invalid(
        `"inputs" is a single value, but the model has ${signature.inputs.length} inputs; send an object keyed by input name: ${describeInputs(signature)}`,
      );
    }
    const filler = new TensorFiller(signature.inputs[0]!, inputs, undefined, 'inputs', undefined);
    return encoded([filler], () => filler.fill(inputs, 0));
  }
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const fillers: TensorFiller[] = [];
  for (const key in inputs) {
    const spec = specs.get(key);
    if (spec === undefined)
      throw invalid(
        `"inputs" has ${quoted(key)}, which is not an input; the inputs are ${describeInputs(signature)}`,
      );
    fillers.push(new TensorFiller(spec, inputs[key], undefined, 'inputs', key));
  }
  if (fillers.length !== specs.size) {
    const missing = missingInputs(signature, (name) => name in inputs);
    throw invalid(
      `"inputs" lacks input(s) ${quoteList(missing)}; the model needs ${describeInputs(signature)}`,
    );
  }
  return encoded(fillers, () => {
    for (const f of fillers) f.fill(inputs[f.spec.name], 0);
  });
}

/**
 * Reads a :predict body against a signature: its format, and its inputs with the shapes the JSON
 * nesting gives them, decoded into tensors of the signature's datatypes by `InferenceService.infer`
 * once those shapes have passed the signature and the limits.
 *
 * @example
 * decodePredictRequest({ instances: [[1, 2, 3], [4, 5, 6]] }, signature); // one input, shape [2,3]
 */
export function decodePredictRequest(
  body: { instances?: unknown; inputs?: unknown },
  signature: Signature,
): { format: PredictFormat; inputs: EncodedInputs } {
  const hasRows = body.instances !== undefined;
  const hasColumns = body.inputs !== undefined;
  if (hasRows && hasColumns)
    throw invalid(
      'the request has both "instances" and "inputs"; send one: "instances" (row format) or "inputs" (columnar format)',
    );
  if (hasRows) return { format: 'row', inputs: decodeRows(body.instances, signature) };
  if (hasColumns) return { format: 'columnar', inputs: decodeColumns(body.inputs, signature) };
  throw invalid('the request has neither "instances" (row format) nor "inputs" (columnar format)');
}

/** Nests elements from `cursor.i` on into lists of `shape[dim…]` (a scalar when none are left). */
function nest(
  read: (i: number) => unknown,
  shape: readonly number[],
  dim: number,
  cursor: { i: number },
): unknown {
  if (dim === shape.length) return read(cursor.i++);
  const size = shape[dim]!;
  const out = new Array<unknown>(size);
  if (dim === shape.length - 1) {
    let i = cursor.i;
    for (let k = 0; k < size; k++) out[k] = read(i++);
    cursor.i = i;
  } else {
    for (let k = 0; k < size; k++) out[k] = nest(read, shape, dim + 1, cursor);
  }
  return out;
}

/**
 * `"predictions"` for a row-format request: one entry per instance, the value itself when the
 * model has one output, else an object keyed by output name. Every output must be batched.
 */
export function encodeRows(outputs: readonly Tensor[]): unknown[] {
  let batch = -1;
  for (const t of outputs) {
    if (t.shape.length === 0) {
      throw invalid(
        `output "${t.name}" is a scalar, so it cannot be split into instances; send "inputs" (columnar format) for this model`,
      );
    }
    if (batch >= 0 && t.shape[0] !== batch) {
      throw invalid(
        `outputs have different first dimensions (${outputs.map((o) => `"${o.name}" ${formatShape(o.shape)}`).join(', ')}), so they cannot be split into instances; send "inputs" (columnar format) for this model`,
      );
    }
    batch = t.shape[0]!;
  }
  const readers = outputs.map(elementReader);
  const cursors = outputs.map(() => ({ i: 0 }));
  const rows = new Array<unknown>(batch);
  if (outputs.length === 1) {
    const [t, read, cursor] = [outputs[0]!, readers[0]!, cursors[0]!];
    for (let r = 0; r < batch; r++) rows[r] = nest(read, t.shape, 1, cursor);
    return rows;
  }
  for (let r = 0; r < batch; r++) {
    const row: Record<string, unknown> = {};
    for (let k = 0; k < outputs.length; k++)
      row[outputs[k]!.name] = nest(readers[k]!, outputs[k]!.shape, 1, cursors[k]!);
    rows[r] = row;
  }
  return rows;
}

/** `"outputs"` for a columnar request: the tensor itself for one output, else an object by name. */
export function encodeColumns(outputs: readonly Tensor[]): unknown {
  if (outputs.length === 1) return nest(elementReader(outputs[0]!), outputs[0]!.shape, 0, { i: 0 });
  const out: Record<string, unknown> = {};
  for (const t of outputs) out[t.name] = nest(elementReader(t), t.shape, 0, { i: 0 });
  return out;
}
