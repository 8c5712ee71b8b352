/**
 * Finishing a classifier exported by another framework (the PyTorch backend) so it serves like
 * Galen's own: a `label` output (the class name of the most probable class) after its
 * `probabilities`, Galen's model metadata, and a producer that says what made it.
 */
import { invalidInput } from '../core/index.js';
import { attr, attributeProto, tensorProto, valueInfo } from './graph-builder.js';
import { proto } from './proto.js';

export interface ClassifierHeadOptions {
  /** Class names in output order. */
  classes: readonly string[];
  /** Entries for the model's `metadata_props` (replacing any of the same key). */
  metadata?: Readonly<Record<string, string>>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
}

/**
 * Adds `label` = classes[argmax(probabilities)] to an ONNX classifier whose graph has an output
 * `probabilities` [batch, classes].
 */
export function addClassifierHead(bytes: Uint8Array, options: ClassifierHeadOptions): Uint8Array {
  const model = proto.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw invalidInput('the exported model has no graph');
  const outputs = (graph.output ??= []);
  const initializers = (graph.initializer ??= []);
  const nodes = (graph.node ??= []);
  if (!outputs.some((o) => o.name === 'probabilities')) {
    throw invalidInput(
      `the exported model has no "probabilities" output; its outputs are ${outputs.map((o) => o.name).join(', ')}`,
    );
  }
  if (outputs.some((o) => o.name === 'label'))
    throw invalidInput('the exported model already has a "label" output');
  const labels = 'galen_class_labels';
  const index = 'galen_class_index';
  initializers.push(
    proto.TensorProto.create(
      tensorProto(labels, { datatype: 'BYTES', dims: [options.classes.length], values: options.classes }),
    ),
  );
  nodes.push(
    proto.NodeProto.create({
      name: 'galen_argmax',
      opType: 'ArgMax',
      input: ['probabilities'],
      output: [index],
      attribute: [attributeProto('axis', attr.int(1)), attributeProto('keepdims', attr.int(0))],
    }),
    proto.NodeProto.create({
      name: 'galen_label',
      opType: 'Gather',
      input: [labels, index],
      output: ['label'],
      attribute: [attributeProto('axis', attr.int(0))],
    }),
  );
  outputs.push(proto.ValueInfoProto.create(valueInfo('label', 'BYTES', ['batch'])));
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    const existing = model.metadataProps.find((p) => p.key === key);
    if (existing) existing.value = value;
    else model.metadataProps.push(proto.StringStringEntryProto.create({ key, value }));
  }
  if (options.producerName !== undefined) model.producerName = options.producerName;
  if (options.producerVersion !== undefined) model.producerVersion = options.producerVersion;
  if (options.docString !== undefined) model.docString = options.docString;
  return proto.ModelProto.encode(model).finish();
}
