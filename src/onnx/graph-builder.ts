/**
 * A typed builder for ONNX models made in code: initializers, nodes with attributes, graph inputs and
 * outputs, opset imports and model metadata, serialised to ModelProto bytes. Pipeline compilers
 * (imputers, scalers, encoders, linear and tree models) build on this rather than on protobuf types.
 */
import { invalidInput } from '../core/index.js';
import type { Datatype } from '../core/index.js';
import { onnxElemType, proto } from './proto.js';
import type { onnx } from './proto.js';

/** The default-domain opset Galen targets: old enough for Triton's ONNX backend, new enough for Squeeze-with-axes-input. */
export const DEFAULT_OPSET = 13;
/** IR version 8 is the newest this protobuf schema knows (ONNX 1.10); every current runtime loads it. */
export const DEFAULT_IR_VERSION = 8;
/** The traditional-ML operator domain (Imputer, Scaler, OneHotEncoder, LinearClassifier, TreeEnsemble…). */
export const ML_DOMAIN = 'ai.onnx.ml';

/** A dimension: a fixed size, or a symbolic name such as `'batch'` for a size chosen at run time. */
export type OnnxDim = number | string;

/** A constant tensor, for initializers and tensor attributes. Values are row-major. */
export type OnnxTensorValue =
  | {
      readonly datatype: 'FP32' | 'FP64' | 'INT32';
      readonly dims: readonly number[];
      readonly values: ArrayLike<number>;
    }
  | {
      readonly datatype: 'INT64';
      readonly dims: readonly number[];
      readonly values: ArrayLike<number | bigint>;
    }
  | { readonly datatype: 'BYTES'; readonly dims: readonly number[]; readonly values: readonly string[] };

/** A node attribute. ONNX distinguishes float from int, so plain JS numbers are tagged (see {@link attr}). */
export type OnnxAttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: OnnxTensorValue };

/**
 * Constructors for attribute values.
 * @example builder.addNode({ opType: 'Concat', inputs: ['a', 'b'], outputs: ['ab'], attributes: { axis: attr.int(1) } })
 */
export const attr = {
  float: (value: number): OnnxAttributeValue => ({ kind: 'float', value }),
  int: (value: number): OnnxAttributeValue => ({ kind: 'int', value }),
  string: (value: string): OnnxAttributeValue => ({ kind: 'string', value }),
  floats: (value: readonly number[]): OnnxAttributeValue => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): OnnxAttributeValue => ({ kind: 'ints', value }),
  strings: (value: readonly string[]): OnnxAttributeValue => ({ kind: 'strings', value }),
  tensor: (value: OnnxTensorValue): OnnxAttributeValue => ({ kind: 'tensor', value }),
} as const;

/** One operator application. Use `''` in `inputs` to skip an optional input. */
export interface OnnxNodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Defaults to `<opType>_<n>`. */
  readonly name?: string;
  /** Operator domain; `''` (the default) is the standard ONNX domain. */
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, OnnxAttributeValue>>;
  readonly docString?: string;
}

/** Model-level facts. Every field has a default. */
export interface OnnxModelOptions {
  /** Graph name; default `'main'`. */
  readonly graphName?: string;
  /** Default `'galen'`. */
  readonly producerName?: string;
  /** Default `''`. */
  readonly producerVersion?: string;
  /** Reverse-DNS model namespace; default `''`. */
  readonly domain?: string;
  /** Default 1. */
  readonly modelVersion?: number;
  /** Free text shown by model viewers; default `''`. */
  readonly docString?: string;
  /** Default {@link DEFAULT_OPSET}. */
  readonly opset?: number;
  /** Default {@link DEFAULT_IR_VERSION}. */
  readonly irVersion?: number;
}

/**
 * Builds one ONNX model. Nodes must be added in execution order (ONNX requires a topologically sorted
 * graph); `toBytes()` checks that, and that every value used is defined exactly once.
 *
 * @example
 * const b = new OnnxGraphBuilder({ producerVersion: '0.1.0' });
 * b.addInput('x', 'FP32', ['batch', 3]);
 * b.addFloatInitializer('two', [1], [2]);
 * b.addNode({ opType: 'Mul', inputs: ['x', 'two'], outputs: ['y'] });
 * b.addOutput('y', 'FP32', ['batch', 3]);
 * const bytes = b.toBytes();
 */
export class OnnxGraphBuilder {
  private readonly options: OnnxModelOptions;
  private readonly opsets = new Map<string, number>();
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly nodes: { spec: OnnxNodeSpec; proto: onnx.INodeProto }[] = [];
  private readonly metadata = new Map<string, string>();
  private readonly usedNames = new Set<string>();

  constructor(options: OnnxModelOptions = {}) {
    this.options = options;
    this.opsets.set('', options.opset ?? DEFAULT_OPSET);
  }

  /** Imports an operator set, e.g. `importOpset(ML_DOMAIN, 3)`. Re-importing a domain replaces its version. */
  importOpset(domain: string, version: number): this {
    if (!Number.isInteger(version) || version < 1) {
      throw invalidInput(`opset version for domain "${domain}" is ${version}; expected a positive integer`);
    }
    this.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    return this;
  }

  /** Declares a graph input. */
  addInput(name: string, datatype: Datatype, shape?: readonly OnnxDim[]): this {
    this.inputs.push(valueInfo(name, datatype, shape));
    return this;
  }

  /** Declares a graph output; some node (or input) must produce a value of this name. */
  addOutput(name: string, datatype: Datatype, shape?: readonly OnnxDim[]): this {
    this.outputs.push(valueInfo(name, datatype, shape));
    return this;
  }

  /** Adds a constant tensor the graph can use by `name`. */
  addInitializer(name: string, tensor: OnnxTensorValue): this {
    this.initializers.push(tensorProto(name, tensor));
    return this;
  }

  /** Adds an FP32 constant of shape `dims`. */
  addFloatInitializer(name: string, dims: readonly number[], values: ArrayLike<number>): this {
    return this.addInitializer(name, { datatype: 'FP32', dims, values });
  }

  /** Adds an INT64 constant of shape `dims` (shape and axes arguments of many operators are INT64). */
  addInt64Initializer(name: string, dims: readonly number[], values: ArrayLike<number | bigint>): this {
    return this.addInitializer(name, { datatype: 'INT64', dims, values });
  }

  /** Appends a node; nodes run in the order they are added. */
  addNode(spec: OnnxNodeSpec): this {
    const name = spec.name ?? this.freshName(spec.opType);
    this.usedNames.add(name);
    const attributes = Object.entries(spec.attributes ?? {}).map(([key, value]) =>
      attributeProto(key, value),
    );
    this.nodes.push({
      spec,
      proto: {
        name,
        opType: spec.opType,
        domain: spec.domain ?? '',
        input: [...spec.inputs],
        output: [...spec.outputs],
        attribute: attributes,
        docString: spec.docString ?? '',
      },
    });
    return this;
  }

  /**
   * Copies another model's graph into this one — its initializers and nodes, every name prefixed
   * `${prefix}/` — with each of its graph inputs wired to a value of this graph (`inputs`: its
   * input name → our value). Returns its graph outputs' names here. The default-domain opset rises
   * to the embedded model's when that is newer. Graphs with subgraph attributes (If, Loop) are
   * refused.
   */
  embedModel(
    bytes: Uint8Array,
    prefix: string,
    inputs: Readonly<Record<string, string>>,
  ): Record<string, string> {
    const model = proto.ModelProto.decode(bytes);
    const graph = model.graph;
    if (!graph) throw invalidInput('the model to embed has no graph');
    for (const o of model.opsetImport) {
      const domain = o.domain === 'ai.onnx' ? '' : (o.domain ?? '');
      const version = Number(o.version ?? 0);
      if ((this.opsets.get(domain) ?? 0) < version) this.opsets.set(domain, version);
    }
    const renamed = new Map<string, string>();
    const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
    for (const input of graph.input ?? []) {
      const name = input.name ?? '';
      if (initializerNames.has(name)) continue; // an old-style initializer listed as an input
      const target = inputs[name];
      if (target === undefined)
        throw invalidInput(`the embedded model's input "${name}" is not wired to a value`);
      renamed.set(name, target);
    }
    const rename = (name: string): string => {
      if (name === '') return name;
      let to = renamed.get(name);
      if (to === undefined) {
        to = `${prefix}/${name}`;
        renamed.set(name, to);
      }
      return to;
    };
    for (const t of graph.initializer ?? []) this.initializers.push({ ...t, name: rename(t.name ?? '') });
    for (const node of graph.node ?? []) {
      if ((node.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0))) {
        throw invalidInput(
          `the embedded model's node "${node.name ?? ''}" (${node.opType ?? ''}) has a subgraph; embedding supports plain graphs`,
        );
      }
      const spec: OnnxNodeSpec = {
        opType: node.opType ?? '',
        inputs: (node.input ?? []).map(rename),
        outputs: (node.output ?? []).map(rename),
        name: `${prefix}/${node.name || this.freshName(node.opType ?? 'node')}`,
        domain: node.domain ?? '',
      };
      this.usedNames.add(spec.name!);
      this.nodes.push({
        spec,
        proto: { ...node, name: spec.name!, input: [...spec.inputs], output: [...spec.outputs] },
      });
    }
    return Object.fromEntries((graph.output ?? []).map((o) => [o.name ?? '', rename(o.name ?? '')]));
  }

  /** Sets a `metadata_props` entry (ONNX Runtime exposes these as custom metadata). */
  setMetadata(key: string, value: string): this {
    this.metadata.set(key, value);
    return this;
  }

  /** A name not yet used for a node or value, for compilers that chain many steps: `scaled_3`. */
  freshName(prefix: string): string {
    const taken = this.definedValues();
    for (const n of this.usedNames) taken.add(n);
    let i = 0;
    while (taken.has(`${prefix}_${i}`)) i += 1;
    const name = `${prefix}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  /** Checks the graph and serialises it as ONNX ModelProto bytes. */
  toBytes(): Uint8Array {
    this.validate();
    const o = this.options;
    const model: onnx.IModelProto = {
      irVersion: o.irVersion ?? DEFAULT_IR_VERSION,
      producerName: o.producerName ?? 'galen',
      producerVersion: o.producerVersion ?? '',
      domain: o.domain ?? '',
      modelVersion: o.modelVersion ?? 1,
      docString: o.docString ?? '',
      opsetImport: [...this.opsets].map(([domain, version]) => ({ domain, version })),
      metadataProps: [...this.metadata].map(([key, value]) => ({ key, value })),
      graph: {
        name: o.graphName ?? 'main',
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes.map((n) => n.proto),
      },
    };
    // protobufjs may hand back a slice of Node's shared Buffer pool; copy so callers own plain bytes.
    return new Uint8Array(proto.ModelProto.encode(model).finish());
  }

  private definedValues(): Set<string> {
    const names = new Set<string>();
    for (const v of this.inputs) names.add(v.name ?? '');
    for (const t of this.initializers) names.add(t.name ?? '');
    for (const n of this.nodes) for (const out of n.spec.outputs) names.add(out);
    return names;
  }

  private validate(): void {
    const defined = new Set<string>();
    const define = (name: string, what: string): void => {
      if (name === '') throw invalidInput(`${what} has an empty name`);
      if (defined.has(name)) throw invalidInput(`value "${name}" is defined twice (again by ${what})`);
      defined.add(name);
    };
    for (const v of this.inputs) define(v.name ?? '', 'a graph input');
    for (const t of this.initializers) define(t.name ?? '', 'an initializer');
    const nodeNames = new Set<string>();
    for (const { spec, proto: node } of this.nodes) {
      const label = `node "${node.name ?? ''}" (${spec.opType})`;
      if (nodeNames.has(node.name ?? '')) throw invalidInput(`two nodes are named "${node.name ?? ''}"`);
      nodeNames.add(node.name ?? '');
      const domain = spec.domain === 'ai.onnx' ? '' : (spec.domain ?? '');
      if (!this.opsets.has(domain)) {
        throw invalidInput(
          `${label} uses domain "${domain}", which has no opset import; call importOpset first`,
        );
      }
      for (const input of spec.inputs) {
        if (input !== '' && !defined.has(input)) {
          throw invalidInput(
            `${label} reads "${input}", which no earlier node, input or initializer defines; add nodes in execution order`,
          );
        }
      }
      for (const out of spec.outputs) define(out, label);
    }
    if (this.outputs.length === 0) throw invalidInput('the graph has no outputs; call addOutput');
    for (const v of this.outputs) {
      if (!defined.has(v.name ?? '')) throw invalidInput(`graph output "${v.name ?? ''}" is never produced`);
    }
  }
}

export function valueInfo(
  name: string,
  datatype: Datatype,
  shape: readonly OnnxDim[] | undefined,
): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: onnxElemType(datatype) };
  if (shape !== undefined) {
    tensorType.shape = {
      dim: shape.map((d) => {
        if (typeof d === 'string') return { dimParam: d };
        if (!Number.isSafeInteger(d) || d < 0) {
          throw invalidInput(
            `dimension ${d} of "${name}" is invalid; use a non-negative integer or a name like "batch"`,
          );
        }
        return { dimValue: d };
      }),
    };
  }
  return { name, type: { tensorType } };
}

export function tensorProto(name: string, tensor: OnnxTensorValue): onnx.ITensorProto {
  const count = tensor.dims.reduce((n, d) => n * d, 1);
  if (tensor.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw invalidInput(
      `tensor "${name}" has dims [${tensor.dims.join(',')}]; dims must be non-negative integers`,
    );
  }
  if (tensor.values.length !== count) {
    throw invalidInput(
      `tensor "${name}" has ${tensor.values.length} values but dims [${tensor.dims.join(',')}] need ${count}`,
    );
  }
  const base = { name, dims: [...tensor.dims], dataType: onnxElemType(tensor.datatype) };
  if (tensor.datatype === 'BYTES') {
    const encoder = new TextEncoder();
    return { ...base, stringData: tensor.values.map((s) => encoder.encode(s)) };
  }
  // raw_data is little-endian by the ONNX spec, whatever the host's byte order.
  const width = tensor.datatype === 'FP32' || tensor.datatype === 'INT32' ? 4 : 8;
  const raw = new Uint8Array(count * width);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < count; i++) {
    const v = tensor.values[i] as number | bigint;
    const at = i * width;
    switch (tensor.datatype) {
      case 'FP32':
        view.setFloat32(at, Number(v), true);
        break;
      case 'FP64':
        view.setFloat64(at, Number(v), true);
        break;
      case 'INT32':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
          throw invalidInput(`tensor "${name}" value ${String(v)} at index ${i} is not an INT32`);
        }
        view.setInt32(at, v, true);
        break;
      case 'INT64':
        if (typeof v === 'number' && !Number.isSafeInteger(v)) {
          throw invalidInput(
            `tensor "${name}" value ${v} at index ${i} is not a safe integer; pass a bigint`,
          );
        }
        view.setBigInt64(at, BigInt(v), true);
        break;
    }
  }
  return { ...base, rawData: raw };
}

export function attributeProto(name: string, a: OnnxAttributeValue): onnx.IAttributeProto {
  const T = proto.AttributeProto.AttributeType;
  const checkInt = (v: number): number => {
    if (!Number.isSafeInteger(v)) throw invalidInput(`attribute "${name}" value ${v} is not an integer`);
    return v;
  };
  const encoder = new TextEncoder();
  switch (a.kind) {
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'int':
      return { name, type: T.INT, i: checkInt(a.value) };
    case 'string':
      return { name, type: T.STRING, s: encoder.encode(a.value) };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'ints':
      return { name, type: T.INTS, ints: a.value.map(checkInt) };
    case 'strings':
      return { name, type: T.STRINGS, strings: a.value.map((s) => encoder.encode(s)) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto(name, a.value) };
  }
}
