/**
 * Imported models across the opsets exporters write today (13 to 21, with the IR versions that go
 * with them) register and serve. Each graph uses an operator whose definition changed inside that
 * range (ReduceSum took its axes as an attribute until opset 13 and as an input since), so a
 * model is run by the operator version its opset names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { uploadModel } from '../helpers/tiny-models.js';

/** y = ReduceSum(Relu(x), axes=[1], keepdims) : [batch, 3] → [batch, 1]. */
function model(opset: number, irVersion: number): Uint8Array {
  return new OnnxGraphBuilder({ opset, irVersion, producerName: `opset-${opset}` })
    .addInput('x', 'FP32', ['batch', 3])
    .addInt64Initializer('axes', [1], [1])
    .addNode({ opType: 'Relu', inputs: ['x'], outputs: ['r'] })
    .addNode({ opType: 'ReduceSum', inputs: ['r', 'axes'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', 1])
    .toBytes();
}

describe('imported models, opset 13 to 21', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
  });
  afterAll(async () => server.close());

  for (const [opset, ir] of [
    [13, 7],
    [15, 8],
    [17, 8],
    [19, 9],
    [21, 10],
  ] as const) {
    it(`registers and serves an opset ${opset} (IR ${ir}) model`, async () => {
      const name = `opset-${opset}`;
      const version = await uploadModel(server, name, model(opset, ir));
      expect(version.lineage.onnx.opsetImports).toContainEqual({ domain: '', version: opset });
      const res = await server.call('POST', `/v2/models/${name}/infer`, {
        body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, -2, 3, -1, -1, 0.5] }] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.outputs[0].data).toEqual([4, 0.5]);
    });
  }
});
