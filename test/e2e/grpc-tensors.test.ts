/**
 * gRPC ModelInfer inputs go through the same checks, in the same order, as HTTP's: what each input
 * declares (name, datatype, shape) is checked against the resolved version's signature and the
 * `tensors.*` limits before any of its contents is decoded, and the answers carry the same text.
 */
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import type { Client, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

const PROTO = fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));
const definition = loadSync(PROTO, { keepCase: true, longs: String, defaults: true, arrays: true });
const InferenceClient = (loadPackageDefinition(definition) as any).inference
  .GRPCInferenceService as ServiceClientConstructor;

/** One ModelInfer call as admin: null when it succeeds, else its error. */
function infer(client: Client, request: unknown): Promise<ServiceError | null> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${ADMIN_KEY}`);
  return new Promise((resolve) => {
    (client as any).ModelInfer(request, metadata, (err: ServiceError | null) => resolve(err));
  });
}

/** The `{"error"}` text of an HTTP OIP call that must be refused with a 400. */
async function httpError(server: TestServer, model: string, body: unknown): Promise<string> {
  const res = await server.call('POST', `/v2/models/${model}/infer`, { body });
  expect(res.status).toBe(400);
  return res.body.error as string;
}

/** A raw BYTES element list: a 4-byte little-endian length, then the bytes, per element. */
const rawStrings = (strings: string[]): Buffer =>
  Buffer.concat(
    strings.flatMap((s) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(Buffer.byteLength(s));
      return [length, Buffer.from(s)];
    }),
  );

const strings = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);

describe('gRPC ModelInfer: the signature is checked before the contents are decoded', () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await createTestServer({ grpc: true });
    client = new InferenceClient(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    await uploadModel(server, 'rows4', identityModel('FP32', ['batch', 4]));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('refuses a shape the model does not take with the signature error HTTP gives, whatever the contents hold', async () => {
    const expected = await httpError(server, 'rows4', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 30], data: Array<number>(30).fill(0) }],
    });
    expect(expected).toBe(
      'input "x" has shape [1,30]; model "rows4" version 1 expects [-1,4] (-1 = any size)',
    );

    const x = { name: 'x', datatype: 'FP32', shape: [1, 30] };
    // 4 MiB of raw data and 100,000 typed elements where [1,30] needs 120 bytes / 30 elements:
    // decoding first would answer with a size error; checking the signature first never looks.
    for (const request of [
      { inputs: [x], raw_input_contents: [Buffer.alloc(4 * 1024 * 1024)] },
      { inputs: [{ ...x, contents: { fp32_contents: Array<number>(100_000).fill(0) } }] },
    ]) {
      const err = await infer(client, { model_name: 'rows4', ...request });
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toBe(expected);
    }
  });

  it('refuses a datatype the model does not take before decoding, as HTTP does', async () => {
    const expected = await httpError(server, 'rows4', {
      inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    const err = await infer(client, {
      model_name: 'rows4',
      inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 4] }],
      raw_input_contents: [Buffer.alloc(3)], // not even a whole element
    });
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toBe(expected);
  });

  it('still infers when the declarations fit', async () => {
    const rows = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer);
    const x = { name: 'x', datatype: 'FP32', shape: [2, 4] };
    expect(await infer(client, { model_name: 'rows4', inputs: [x], raw_input_contents: [rows] })).toBeNull();
    const typed = { ...x, contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] } };
    expect(await infer(client, { model_name: 'rows4', inputs: [typed] })).toBeNull();
  });
});

describe('gRPC ModelInfer: the tensors.* settings apply', () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await createTestServer({
      grpc: true,
      config: {
        tensors: {
          maxElements: 1_000,
          maxBytesElements: 10,
          maxBytesElementSize: 16,
          maxDecodedBytes: 2_000,
        },
      },
    });
    client = new InferenceClient(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    await uploadModel(server, 'rows', identityModel('FP32', ['batch', 3]));
    await uploadModel(server, 'strings', identityModel('BYTES', ['batch']));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('refuses raw inputs over tensors.maxElements with INVALID_ARGUMENT and HTTP’s text', async () => {
    const shape = [334, 3];
    const expected =
      'input "x" has shape [334,3]; this server takes at most 1000 elements per request, all inputs together';
    expect(
      await httpError(server, 'rows', {
        inputs: [{ name: 'x', datatype: 'FP32', shape, data: Array<number>(1002).fill(0) }],
      }),
    ).toBe(expected);
    const err = await infer(client, {
      model_name: 'rows',
      inputs: [{ name: 'x', datatype: 'FP32', shape }],
      raw_input_contents: [Buffer.alloc(334 * 12)],
    });
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toBe(expected);
  });

  it('refuses typed contents over tensors.maxElements on the wire, before decoding, naming the setting', async () => {
    const err = await infer(client, {
      model_name: 'rows',
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [334, 3],
          contents: { fp32_contents: Array<number>(1002).fill(0) },
        },
      ],
    });
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(
      /more than 1000 elements in typed contents lists; at most 1000 are allowed \(setting tensors\.maxElements\)$/,
    );
  });

  it('counts BYTES elements against tensors.maxBytesElements, raw or in bytes_contents', async () => {
    const x = { name: 'x', datatype: 'BYTES', shape: [11] };
    const raw = await infer(client, {
      model_name: 'strings',
      inputs: [x],
      raw_input_contents: [rawStrings(strings(11))],
    });
    expect(raw?.code).toBe(status.INVALID_ARGUMENT);
    expect(raw?.details).toBe(
      'input "x" has shape [11] of BYTES; this server takes at most 10 BYTES elements per request',
    );
    const listed = await infer(client, {
      model_name: 'strings',
      inputs: [{ ...x, contents: { bytes_contents: strings(11).map((s) => Buffer.from(s)) } }],
    });
    expect(listed?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(listed?.details).toMatch(
      /more than 10 strings in contents\.bytes_contents; at most 10 are allowed \(setting tensors\.maxBytesElements\)$/,
    );
    const ten = { ...x, shape: [10], contents: { bytes_contents: strings(10).map((s) => Buffer.from(s)) } };
    expect(await infer(client, { model_name: 'strings', inputs: [ten] })).toBeNull();
  });

  it('refuses a bytes_contents element over tensors.maxBytesElementSize, and decoded tensors over tensors.maxDecodedBytes', async () => {
    const long = await infer(client, {
      model_name: 'strings',
      inputs: [
        { name: 'x', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.alloc(17, 'x')] } },
      ],
    });
    expect(long?.code).toBe(status.INVALID_ARGUMENT);
    expect(long?.details).toBe(
      'input "x" element 0 is 17 bytes long; this server takes BYTES elements of at most 16 bytes',
    );
    const rows = await infer(client, {
      model_name: 'rows',
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [167, 3],
          contents: { fp32_contents: Array<number>(501).fill(0) },
        },
      ],
    });
    expect(rows?.code).toBe(status.INVALID_ARGUMENT);
    expect(rows?.details).toMatch(/takes the request's decoded tensors past 2000 bytes/);
  });
});
