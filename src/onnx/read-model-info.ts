/**
 * Reads what an ONNX file says about itself (producer, opsets, metadata, operators) without running
 * it, so the registry can describe and vet uploaded models before ONNX Runtime ever loads them.
 */
import { GalenError, invalidInput } from '../core/index.js';
import { assertNoExternalData } from './external-data.js';
import { int64ToNumber, proto } from './proto.js';
import type { onnx } from './proto.js';

/** The self-description of an ONNX model. */
export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly docString: string;
  /** Operator sets the model imports; `''` is the standard ONNX domain. */
  readonly opsetImports: { domain: string; version: number }[];
  /** The model's `metadata_props`. */
  readonly metadata: Record<string, string>;
  /** Sorted, unique operators of the main graph: `Sigmoid` for the standard domain, else `ai.onnx.ml::Scaler`. */
  readonly operators: string[];
}

/**
 * Parses ONNX ModelProto bytes and returns the model's self-description. Every registration reads
 * this before ONNX Runtime sees the file, so it is also where a model that could read the server's
 * files (a tensor in external data) is refused.
 * @throws GalenError `invalid_input` when the bytes are not an ONNX model with a graph, or a
 *   tensor keeps its data in an external file.
 */
export function readOnnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  const model = decodeModel(bytes);
  const graph = model.graph;
  const irVersion = int64ToNumber(model.irVersion);
  // Protobuf decodes many byte strings "successfully" into empty messages, so insist on what every ONNX model has.
  if (!graph || irVersion < 1) {
    throw invalidInput(
      `the file is not an ONNX model: ${graph ? 'ir_version is not set' : 'it has no graph'} (${bytes.length} bytes read)`,
    );
  }
  assertNoExternalData(bytes);
  const metadata: Record<string, string> = {};
  for (const entry of model.metadataProps) metadata[entry.key ?? ''] = entry.value ?? '';
  const operators = new Set<string>();
  for (const node of graph.node ?? []) {
    const domain = node.domain ?? '';
    const opType = node.opType ?? '';
    operators.add(domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`);
  }
  return {
    irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    domain: model.domain,
    modelVersion: int64ToNumber(model.modelVersion),
    docString: model.docString,
    opsetImports: model.opsetImport.map((o) => ({
      domain: o.domain ?? '',
      version: int64ToNumber(o.version),
    })),
    metadata,
    operators: [...operators].sort(),
  };
}

function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  if (bytes.length === 0) throw invalidInput('the file is not an ONNX model: it is empty');
  try {
    return proto.ModelProto.decode(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new GalenError(
      'invalid_input',
      `the file is not an ONNX model: protobuf decoding failed (${reason})`,
      {
        cause: err,
      },
    );
  }
}
