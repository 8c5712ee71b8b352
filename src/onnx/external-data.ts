/**
 * Finds tensors that keep their bytes outside the model file ("external data"). ONNX Runtime reads
 * such a tensor from a path named in the model, resolved against the server's working folder, so a
 * model with external data could read the server's own files (its keys, its database) and return
 * them as outputs. Galen refuses every such model.
 *
 * The walk reads the protobuf wire format directly, by field number, rather than the decoded
 * `onnx-proto` objects: the bundled schema predates some places a tensor can sit (a model-local
 * function's attribute defaults, `FunctionProto.attribute_proto`), and protobufjs drops fields it
 * does not know, while ONNX Runtime reads them. It keeps an explicit stack instead of recursing, so
 * subgraphs nested without limit cannot overflow the call stack, and it skips every byte string by
 * its length, so a large model costs one pass over its field headers.
 */
import { invalidInput } from '../core/index.js';

type Kind =
  'model' | 'trainingInfo' | 'function' | 'graph' | 'node' | 'attribute' | 'sparseTensor' | 'tensor';

/** Which field of which message holds a message that may hold a tensor (numbers from onnx.proto3). */
const CHILDREN: Readonly<Record<Kind, Readonly<Record<number, Kind>>>> = {
  // graph, training_info, functions
  model: { 7: 'graph', 20: 'trainingInfo', 25: 'function' },
  // initialization, algorithm
  trainingInfo: { 1: 'graph', 3: 'graph' },
  // node, attribute_proto (attribute defaults)
  function: { 7: 'node', 11: 'attribute' },
  // node, initializer, sparse_initializer
  graph: { 1: 'node', 5: 'tensor', 15: 'sparseTensor' },
  // attribute
  node: { 5: 'attribute' },
  // t, g, tensors, graphs, sparse_tensor, sparse_tensors
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparseTensor', 23: 'sparseTensor' },
  // values, indices
  sparseTensor: { 1: 'tensor', 2: 'tensor' },
  tensor: {},
};

/** The string fields that name a message, for the error: `name` (and a node's `op_type`). */
const NAME_FIELD: Readonly<Partial<Record<Kind, number>>> = {
  function: 1,
  graph: 2,
  node: 3,
  attribute: 1,
  tensor: 8,
};
const NODE_OP_TYPE = 4;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

interface Frame {
  readonly kind: Kind;
  readonly start: number;
  readonly end: number;
  /** Where this message sits, for the error (`graph "main"`, `attribute "value" of node …`). */
  readonly where: string;
}

/** A tensor whose bytes are outside the model file. */
export interface ExternalTensor {
  /** The tensor's name (`''` for an unnamed attribute tensor). */
  readonly name: string;
  /** Where it sits: `initializer of graph "main"`, `attribute "value" of node "c" (Constant) in graph "main"`. */
  readonly where: string;
}

const malformed = (why: string): Error => invalidInput(`the file is not an ONNX model: ${why}`);

class WireReader {
  constructor(private readonly bytes: Uint8Array) {}

  /** A varint at `at`: its value (exact up to 2^53) and where the next field starts. */
  varint(at: number, end: number): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    for (let i = at; i < end && i < at + 10; i++) {
      const byte = this.bytes[i]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return { value, next: i + 1 };
    }
    throw malformed('a varint runs past the end of its message');
  }

  /** Calls `field` for each field of the message in [start, end). */
  fields(
    start: number,
    end: number,
    field: (number: number, wireType: number, valueAt: number, valueEnd: number, varint: number) => void,
  ): void {
    let at = start;
    while (at < end) {
      const tag = this.varint(at, end);
      const number = Math.floor(tag.value / 8);
      const wireType = tag.value % 8;
      at = tag.next;
      let valueEnd: number;
      let varint = 0;
      switch (wireType) {
        case 0: {
          const v = this.varint(at, end);
          varint = v.value;
          valueEnd = v.next;
          break;
        }
        case 1:
          valueEnd = at + 8;
          break;
        case 2: {
          const length = this.varint(at, end);
          at = length.next;
          valueEnd = at + length.value;
          break;
        }
        case 5:
          valueEnd = at + 4;
          break;
        default:
          // Groups (3, 4) are proto2-only; no ONNX message has one.
          throw malformed(`field ${number} has wire type ${wireType}, which ONNX does not use`);
      }
      if (valueEnd > end) throw malformed(`field ${number} runs past the end of its message`);
      field(number, wireType, at, valueEnd, varint);
      at = valueEnd;
    }
  }

  text(start: number, end: number): string {
    return new TextDecoder().decode(this.bytes.subarray(start, end));
  }
}

function describe(kind: Kind, name: string, opType: string, parent: Frame | undefined): string {
  const quoted = JSON.stringify(name);
  const within = parent && parent.where !== '' ? ` in ${parent.where}` : '';
  switch (kind) {
    case 'graph':
      // A subgraph is named by the attribute that holds it (`then_branch of node "if" (If) …`).
      return parent?.kind === 'attribute' ? `graph ${quoted} (${parent.where})` : `graph ${quoted}`;
    case 'function':
      return `function ${quoted}`;
    case 'node':
      return `node ${quoted} (${opType})${within}`;
    case 'attribute':
      if (parent?.kind === 'function') return `default of attribute ${quoted} of ${parent.where}`;
      return `attribute ${quoted} of ${parent?.where ?? 'a node'}`;
    case 'sparseTensor':
      return parent?.kind === 'graph' ? `sparse initializer of ${parent.where}` : (parent?.where ?? '');
    case 'tensor': {
      if (parent?.kind === 'graph') return `initializer of ${parent.where}`;
      return parent?.where ?? '';
    }
    case 'model':
    case 'trainingInfo':
      return parent?.where ?? '';
  }
}

/**
 * Every tensor in an ONNX model whose bytes are kept in external data (`data_location` EXTERNAL or
 * any `external_data` entry): graph and sparse initializers, tensor attributes (Constant's `value`
 * among them), subgraphs of If, Loop and Scan at any depth, model-local functions and training info.
 * @throws GalenError `invalid_input` when the bytes are not well-formed protobuf.
 */
export function findExternalData(bytes: Uint8Array): ExternalTensor[] {
  const reader = new WireReader(bytes);
  const found: ExternalTensor[] = [];
  const stack: { frame: Frame; parent: Frame | undefined }[] = [
    { frame: { kind: 'model', start: 0, end: bytes.length, where: '' }, parent: undefined },
  ];
  while (stack.length > 0) {
    const { frame, parent } = stack.pop()!;
    const children: { kind: Kind; start: number; end: number }[] = [];
    let name = '';
    let opType = '';
    let external = false;
    reader.fields(frame.start, frame.end, (number, wireType, at, end, varint) => {
      const child = CHILDREN[frame.kind][number];
      if (child !== undefined && wireType === 2) children.push({ kind: child, start: at, end });
      else if (wireType === 2 && number === NAME_FIELD[frame.kind]) name = reader.text(at, end);
      else if (frame.kind === 'node' && wireType === 2 && number === NODE_OP_TYPE)
        opType = reader.text(at, end);
      else if (frame.kind === 'tensor' && number === TENSOR_EXTERNAL_DATA) external = true;
      else if (frame.kind === 'tensor' && number === TENSOR_DATA_LOCATION) {
        if (wireType === 0 && varint === DATA_LOCATION_EXTERNAL) external = true;
        // A packed encoding of the enum: ONNX Runtime's parser may accept it, so read it too.
        if (wireType === 2) {
          for (let i = at; i < end;) {
            const v = reader.varint(i, end);
            if (v.value === DATA_LOCATION_EXTERNAL) external = true;
            i = v.next;
          }
        }
      }
    });
    const where = describe(frame.kind, name, opType, parent);
    if (frame.kind === 'tensor') {
      if (external) found.push({ name, where });
      continue;
    }
    const self: Frame = { ...frame, where };
    // Pushed in reverse so the walk reports tensors in file order.
    for (let i = children.length - 1; i >= 0; i--) {
      const c = children[i]!;
      stack.push({ frame: { ...c, where: '' }, parent: self });
    }
  }
  return found;
}

/**
 * Refuses a model that keeps any tensor's bytes in external data: such a model could read files of
 * the server running it.
 * @throws GalenError `invalid_input` naming the first such tensor.
 */
export function assertNoExternalData(bytes: Uint8Array): void {
  const found = findExternalData(bytes);
  const first = found[0];
  if (!first) return;
  const tensor = first.name === '' ? 'an unnamed tensor' : `tensor ${JSON.stringify(first.name)}`;
  const more = found.length > 1 ? ` (and ${found.length - 1} more)` : '';
  throw invalidInput(
    `${tensor} (${first.where.slice(0, 300)})${more} keeps its data in an external file; external data is not allowed: embed the weights in the model file (in Python: onnx.save_model(model, path, save_as_external_data=False))`,
  );
}
