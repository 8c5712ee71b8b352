import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { OnnxGraphBuilder, attr, findExternalData, readOnnxModelInfo } from './index.js';
import { proto } from './proto.js';
import type { onnx } from './proto.js';

const FLOAT = proto.TensorProto.DataType.FLOAT;
const T = proto.AttributeProto.AttributeType;

/** A 1-element FP32 tensor whose bytes are in the file `location` (how `onnx.save_model` writes them). */
function externalTensor(name: string, location = '.galen/admin.key'): onnx.ITensorProto {
  return {
    name,
    dataType: FLOAT,
    dims: [1],
    dataLocation: proto.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'length', value: '4' },
    ],
  };
}

const fp32 = (name: string): onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
});

/** `y = Add(x, <value>)` where `<value>` comes from `constant` (a node producing "c"). */
function graphWith(
  name: string,
  constant: onnx.INodeProto,
  extra: Partial<onnx.IGraphProto> = {},
): onnx.IGraphProto {
  return {
    name,
    input: [fp32('x')],
    output: [fp32('y')],
    node: [constant, { opType: 'Add', input: ['x', 'c'], output: ['y'], name: 'add' }],
    ...extra,
  };
}

const constantNode = (tensor: onnx.ITensorProto, name = 'const'): onnx.INodeProto => ({
  opType: 'Constant',
  name,
  output: ['c'],
  attribute: [{ name: 'value', type: T.TENSOR, t: tensor }],
});

const cleanConstant = (): onnx.INodeProto =>
  constantNode({ name: 'one', dataType: FLOAT, dims: [1], floatData: [1] });

function model(graph: onnx.IGraphProto, extra: Partial<onnx.IModelProto> = {}): Uint8Array {
  return proto.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph,
    ...extra,
  }).finish();
}

/** A varint, as protobuf writes it. */
function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

/** Field `field` holding `bytes` (wire type 2), for messages the bundled schema cannot write. */
function lengthDelimited(field: number, bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint(field * 8 + 2), ...varint(bytes.length), ...bytes]);
}

const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

function refusal(bytes: Uint8Array): GalenError {
  try {
    readOnnxModelInfo(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(GalenError);
    return err as GalenError;
  }
  throw new Error('the model was accepted');
}

describe('external data', () => {
  it('finds nothing in models the graph builder makes', () => {
    const bytes = new OnnxGraphBuilder()
      .addInput('x', 'FP32', ['batch', 2])
      .addFloatInitializer('w', [2], [1, 2])
      .addNode({
        opType: 'Constant',
        inputs: [],
        outputs: ['b'],
        attributes: { value: attr.tensor({ datatype: 'FP32', dims: [2], values: [3, 4] }) },
      })
      .addNode({ opType: 'Mul', inputs: ['x', 'w'], outputs: ['xw'] })
      .addNode({ opType: 'Add', inputs: ['xw', 'b'], outputs: ['y'] })
      .addOutput('y', 'FP32', ['batch', 2])
      .toBytes();
    expect(findExternalData(bytes)).toEqual([]);
    expect(readOnnxModelInfo(bytes).operators).toEqual(['Add', 'Constant', 'Mul']);
  });

  it('refuses an initializer in an external file, naming it', () => {
    const err = refusal(
      model(graphWith('main', cleanConstant(), { initializer: [externalTensor('weights')] })),
    );
    expect(err.code).toBe('invalid_input');
    expect(err.message).toBe(
      'tensor "weights" (initializer of graph "main") keeps its data in an external file; external data is not allowed: embed the weights in the model file (in Python: onnx.save_model(model, path, save_as_external_data=False))',
    );
  });

  it('counts a tensor with external_data entries but the default data_location as external', () => {
    const { dataLocation: _location, ...entriesOnly } = externalTensor('w');
    expect(
      findExternalData(model(graphWith('main', cleanConstant(), { initializer: [entriesOnly] }))),
    ).toEqual([{ name: 'w', where: 'initializer of graph "main"' }]);
    const { externalData: _entries, ...locationOnly } = externalTensor('w');
    expect(
      findExternalData(model(graphWith('main', cleanConstant(), { initializer: [locationOnly] }))),
    ).toEqual([{ name: 'w', where: 'initializer of graph "main"' }]);
  });

  it('refuses a Constant node whose value attribute is in an external file', () => {
    const err = refusal(model(graphWith('main', constantNode(externalTensor('secret'), 'leak')))).message;
    expect(err).toContain('tensor "secret" (attribute "value" of node "leak" (Constant) in graph "main")');
    expect(err).toContain('external data is not allowed');
  });

  it('finds sparse initializers and TENSORS and SPARSE_TENSOR attributes', () => {
    const sparse: onnx.ISparseTensorProto = {
      values: externalTensor('sparse_values'),
      indices: {
        name: 'sparse_indices',
        dataType: proto.TensorProto.DataType.INT64,
        dims: [1],
        int64Data: [0],
      },
      dims: [4],
    };
    const node: onnx.INodeProto = {
      opType: 'Custom',
      domain: 'org.example',
      name: 'custom',
      output: ['c'],
      attribute: [
        {
          name: 'many',
          type: T.TENSORS,
          tensors: [{ name: 'fine', dataType: FLOAT, dims: [1], floatData: [1] }, externalTensor('second')],
        },
        {
          name: 'sparse',
          type: T.SPARSE_TENSOR,
          sparseTensor: { ...sparse, values: externalTensor('attr_sparse') },
        },
        {
          name: 'sparses',
          type: T.SPARSE_TENSORS,
          sparseTensors: [{ ...sparse, values: externalTensor('third') }],
        },
      ],
    };
    const found = findExternalData(model(graphWith('main', node, { sparseInitializer: [sparse] })));
    expect(found).toEqual([
      { name: 'second', where: 'attribute "many" of node "custom" (Custom) in graph "main"' },
      { name: 'attr_sparse', where: 'attribute "sparse" of node "custom" (Custom) in graph "main"' },
      { name: 'third', where: 'attribute "sparses" of node "custom" (Custom) in graph "main"' },
      { name: 'sparse_values', where: 'sparse initializer of graph "main"' },
    ]);
  });

  it('refuses external data inside subgraphs of If and Loop, at any depth', () => {
    const inner = graphWith('loop_body', constantNode(externalTensor('deep'), 'hidden'));
    const loop: onnx.INodeProto = {
      opType: 'Loop',
      name: 'loop',
      input: ['', ''],
      output: ['c'],
      attribute: [{ name: 'body', type: T.GRAPH, g: inner }],
    };
    const ifNode: onnx.INodeProto = {
      opType: 'If',
      name: 'branch',
      input: ['cond'],
      output: ['c'],
      attribute: [
        { name: 'then_branch', type: T.GRAPH, g: graphWith('then', loop) },
        { name: 'else_branch', type: T.GRAPH, g: graphWith('else', cleanConstant()) },
      ],
    };
    const err = refusal(model(graphWith('main', ifNode))).message;
    expect(err).toContain(
      'tensor "deep" (attribute "value" of node "hidden" (Constant) in graph "loop_body" (attribute "body" of node "loop" (Loop) in graph "then" (attribute "then_branch" of node "branch" (If) in graph "main")))',
    );
    // Scan keeps its body in `graphs` when a model lists several.
    const scan: onnx.INodeProto = {
      opType: 'Scan',
      name: 'scan',
      output: ['c'],
      attribute: [{ name: 'bodies', type: T.GRAPHS, graphs: [graphWith('ok', cleanConstant()), inner] }],
    };
    expect(findExternalData(model(graphWith('main', scan))).map((t) => t.name)).toEqual(['deep']);
  });

  it('survives subgraphs nested far deeper than any call stack', () => {
    // graph { node If { attribute g: graph { node If { … { Constant(external) } } } } }. Only the
    // headers of each level are written (outermost first), each holding the length of what it wraps.
    const bottom = proto.GraphProto.encode(
      graphWith('bottom', constantNode(externalTensor('bottom'))),
    ).finish();
    const attributeHead = proto.AttributeProto.encode({ name: 'then_branch', type: T.GRAPH }).finish();
    const nodeHead = proto.NodeProto.encode({ opType: 'If', name: 'if' }).finish();
    const graphHead = proto.GraphProto.encode({ name: 'g' }).finish();
    const heads: Uint8Array[] = [];
    let inner = bottom.length;
    for (let i = 0; i < 20_000; i++) {
      const attribute = Uint8Array.from([...attributeHead, ...varint(6 * 8 + 2), ...varint(inner)]);
      const node = Uint8Array.from([...nodeHead, ...varint(5 * 8 + 2), ...varint(attribute.length + inner)]);
      inner += attribute.length + node.length;
      const graph = Uint8Array.from([...graphHead, ...varint(1 * 8 + 2), ...varint(inner)]);
      inner += graph.length;
      heads.push(attribute, node, graph);
    }
    const model = Uint8Array.from([
      ...proto.ModelProto.encode({ irVersion: 8 }).finish(),
      ...varint(7 * 8 + 2),
      ...varint(inner),
    ]);
    const bytes = Buffer.concat([model, ...heads.reverse(), bottom]);
    expect(findExternalData(bytes).map((t) => t.name)).toEqual(['bottom']);
  });

  it('refuses external data in model-local functions, their attribute defaults and training info', () => {
    const fn: onnx.IFunctionProto = {
      name: 'AddSecret',
      domain: 'org.example',
      input: ['x'],
      output: ['y'],
      node: [
        constantNode(externalTensor('in_function'), 'fc'),
        { opType: 'Add', input: ['x', 'c'], output: ['y'] },
      ],
    };
    const clean = model(graphWith('main', cleanConstant()));
    expect(findExternalData(model(graphWith('main', cleanConstant()), { functions: [fn] }))).toEqual([
      { name: 'in_function', where: 'attribute "value" of node "fc" (Constant) in function "AddSecret"' },
    ]);

    // FunctionProto.attribute_proto (field 11) is newer than the bundled schema: written by hand.
    const defaultAttribute = proto.AttributeProto.encode({
      name: 'bias',
      type: T.TENSOR,
      t: externalTensor('default_bias'),
    }).finish();
    const fnWithDefault = concat(
      proto.FunctionProto.encode({ ...fn, node: [cleanConstant()] }).finish(),
      lengthDelimited(11, defaultAttribute),
    );
    const withDefault = concat(clean, lengthDelimited(25, fnWithDefault));
    expect(refusal(withDefault).message).toContain(
      'tensor "default_bias" (default of attribute "bias" of function "AddSecret")',
    );

    const training = model(graphWith('main', cleanConstant()), {
      trainingInfo: [{ initialization: { name: 'init', initializer: [externalTensor('trained')] } }],
    });
    expect(findExternalData(training)).toEqual([{ name: 'trained', where: 'initializer of graph "init"' }]);
  });

  it('names the first tensor and counts the others', () => {
    const bytes = model(
      graphWith('main', constantNode(externalTensor('')), {
        initializer: [externalTensor('a'), externalTensor('b')],
      }),
    );
    // In file order: the graph's nodes come before its initializers.
    expect(findExternalData(bytes)).toEqual([
      { name: '', where: 'attribute "value" of node "const" (Constant) in graph "main"' },
      { name: 'a', where: 'initializer of graph "main"' },
      { name: 'b', where: 'initializer of graph "main"' },
    ]);
    expect(refusal(bytes).message).toMatch(
      /^an unnamed tensor \(attribute "value" of node "const" \(Constant\) in graph "main"\) \(and 2 more\) keeps its data in an external file; external data is not allowed/,
    );
  });
});
