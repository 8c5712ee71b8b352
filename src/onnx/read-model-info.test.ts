import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { ML_DOMAIN, OnnxGraphBuilder, attr, readOnnxModelInfo } from './index.js';

function sampleModel(): Uint8Array {
  const b = new OnnxGraphBuilder({
    producerName: 'galen',
    producerVersion: '1.2.3',
    domain: 'org.example',
    modelVersion: 7,
    docString: 'a sample',
  }).importOpset(ML_DOMAIN, 3);
  b.addInput('x', 'FP32', ['batch', 2]);
  b.addNode({ opType: 'Sigmoid', inputs: ['x'], outputs: ['s'] });
  b.addNode({
    opType: 'Scaler',
    domain: ML_DOMAIN,
    inputs: ['s'],
    outputs: ['t'],
    attributes: { scale: attr.floats([1, 1]) },
  });
  b.addNode({ opType: 'Abs', inputs: ['t'], outputs: ['u'] });
  b.addNode({ opType: 'Sigmoid', inputs: ['u'], outputs: ['y'] });
  b.addOutput('y', 'FP32', ['batch', 2]);
  b.setMetadata('feature_names', 'a,b');
  b.setMetadata('owner', 'first');
  b.setMetadata('owner', 'second');
  return b.toBytes();
}

describe('readOnnxModelInfo', () => {
  it('reads back what the builder wrote', () => {
    const info = readOnnxModelInfo(sampleModel());
    expect(info).toEqual({
      irVersion: 8,
      producerName: 'galen',
      producerVersion: '1.2.3',
      domain: 'org.example',
      modelVersion: 7,
      docString: 'a sample',
      opsetImports: [
        { domain: '', version: 13 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      metadata: { feature_names: 'a,b', owner: 'second' },
      operators: ['Abs', 'Sigmoid', 'ai.onnx.ml::Scaler'],
    });
    // int64 fields arrive as Long objects from protobufjs; they must come out as plain numbers.
    expect(typeof info.irVersion).toBe('number');
    expect(typeof info.opsetImports[0]?.version).toBe('number');
  });

  it.each([
    ['empty bytes', new Uint8Array(0)],
    ['text', new TextEncoder().encode('this is not an onnx model, just some words')],
    ['random bytes', Uint8Array.from({ length: 256 }, (_, i) => (i * 197 + 13) % 256)],
    ['a truncated model', sampleModel().subarray(0, 40)],
    // Field 2 (producer_name) = "abc": valid protobuf, but no ir_version and no graph.
    ['a protobuf message without a graph', Uint8Array.from([0x12, 0x03, 0x61, 0x62, 0x63])],
  ])('rejects %s as invalid_input', (_label, bytes) => {
    let caught: unknown;
    try {
      readOnnxModelInfo(bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GalenError);
    expect((caught as GalenError).code).toBe('invalid_input');
    expect((caught as GalenError).message).toMatch(/^the file is not an ONNX model/);
  });
});
