/**
 * Tiny ONNX models built in code for end-to-end tests, and the native upload that registers them.
 * Real ONNX bytes from the real graph builder: what a user's exporter would hand Galen.
 */
import { expect } from 'vitest';
import type { Datatype } from '../../src/core/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import type { OnnxDim } from '../../src/onnx/index.js';
import type { TestServer } from './test-server.js';

/** `y = Identity(x)`, both of `datatype` and `shape` (default `['batch', 3]`). */
export function identityModel(datatype: Datatype, shape: readonly OnnxDim[] = ['batch', 3]): Uint8Array {
  return new OnnxGraphBuilder({ graphName: `identity_${datatype.toLowerCase()}` })
    .addInput('x', datatype, shape)
    .addNode({ opType: 'Identity', inputs: ['x'], outputs: ['y'] })
    .addOutput('y', datatype, shape)
    .toBytes();
}

/** FP32 `x` of shape `['batch', 3]` with two outputs: `y = Identity(x)` and `z = Neg(x)`. */
export function twoOutputModel(): Uint8Array {
  return new OnnxGraphBuilder({ graphName: 'two_outputs' })
    .addInput('x', 'FP32', ['batch', 3])
    .addNode({ opType: 'Identity', inputs: ['x'], outputs: ['y'] })
    .addNode({ opType: 'Neg', inputs: ['x'], outputs: ['z'] })
    .addOutput('y', 'FP32', ['batch', 3])
    .addOutput('z', 'FP32', ['batch', 3])
    .toBytes();
}

/** Registers `bytes` as a new version of `model` through the native API and returns the version JSON. */
export async function uploadModel(server: TestServer, model: string, bytes: Uint8Array): Promise<any> {
  const res = await server.call('POST', `/api/v1/models/${model}/versions`, { body: bytes });
  expect(res.status, `upload of "${model}": ${JSON.stringify(res.body)}`).toBe(201);
  return res.body;
}
