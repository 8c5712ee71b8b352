/**
 * Open Inference Protocol v2 over gRPC against the real server: a client built from the official
 * proto (proto/grpc_predict_v2.proto) with @grpc/proto-loader and grpc-js, as any OIP client would.
 * Inference agrees with the HTTP JSON call for the same WDBC row; keys, roles, audit records and
 * error statuses behave as they do over HTTP.
 */
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import type { Client, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { GALEN_VERSION } from '../../src/core/index.js';
import { parseWdbcCsv, readWdbcCsv } from '../../src/demo/index.js';
import { ADMIN_KEY, createTestServer, maxAbsDiff } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

/** The default HTTP settings, to override one or two. */
const DEFAULT_HTTP = loadConfig({ env: {} }).http;

const PROTO = fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));

/** The client's own reading of the proto: int64 as strings, every field present. */
const definition = loadSync(PROTO, { keepCase: true, longs: String, defaults: true, arrays: true });
const inference = (loadPackageDefinition(definition) as any).inference;
const InferenceClient = inference.GRPCInferenceService as ServiceClientConstructor;

interface Reply {
  response: any;
  metadata: Metadata;
}

/** One unary call; `key` null sends no authorization metadata. */
function callRpc(
  client: Client,
  method: string,
  request: unknown,
  options: { key?: string | null; requestId?: string } = {},
): Promise<Reply> {
  const metadata = new Metadata();
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  if (options.requestId) metadata.set('x-request-id', options.requestId);
  return new Promise((resolve, reject) => {
    let headers = new Metadata();
    const call = (client as any)[method](request, metadata, (err: ServiceError | null, response: any) =>
      err ? reject(err) : resolve({ response, metadata: headers }),
    );
    call.on('metadata', (m: Metadata) => (headers = m));
  });
}

/** The gRPC error of a call that must fail. */
async function failure(promise: Promise<Reply>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded; it was expected to fail');
}

const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
const rawF32 = (b: Buffer): number[] =>
  Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
const rawI64 = (b: Buffer): bigint[] =>
  Array.from(new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));

/** BYTES elements in the raw layout: a 4-byte little-endian length, then the bytes, per element. */
function rawBytes(strings: string[]): Buffer {
  return Buffer.concat(
    strings.flatMap((s) => {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}
function readRawBytes(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < b.length;) {
    const n = b.readUInt32LE(at);
    out.push(b.subarray(at + 4, at + 4 + n).toString('utf8'));
    at += 4 + n;
  }
  return out;
}

const featuresInput = (contents?: unknown, shape: number[] = [1, 30]): unknown => ({
  name: 'features',
  datatype: 'FP32',
  shape,
  ...(contents !== undefined && { contents }),
});

describe('OIP v2 over gRPC', () => {
  let server: TestServer;
  let client: Client;
  let row: number[];

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true, grpc: true });
    client = new InferenceClient(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    row = parseWdbcCsv(await readWdbcCsv()).rows[39]!; // row 40: the README's malignant example
    await uploadModel(server, 'identity-bytes', identityModel('BYTES'));
    await uploadModel(server, 'identity-int64', identityModel('INT64'));
    await uploadModel(server, 'identity-fp16', identityModel('FP16'));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('answers ServerLive and ServerReady without a key', async () => {
    expect((await callRpc(client, 'ServerLive', {}, { key: null })).response).toEqual({ live: true });
    expect((await callRpc(client, 'ServerReady', {}, { key: null })).response).toEqual({ ready: true });
  });

  it('describes the server as GET /v2 does', async () => {
    const { response } = await callRpc(client, 'ServerMetadata', {});
    const http = await server.call('GET', '/v2');
    expect(response).toEqual({ name: 'galen', version: GALEN_VERSION, extensions: http.body.extensions });
  });

  it('describes the demo model by default, version number and alias', async () => {
    for (const version of ['', '1', 'production']) {
      const { response } = await callRpc(client, 'ModelMetadata', { name: 'breast-cancer', version });
      expect(response).toEqual({
        name: 'breast-cancer',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'features', datatype: 'FP32', shape: ['-1', '30'] }],
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: ['-1', '2'] },
          { name: 'label', datatype: 'INT64', shape: ['-1'] },
        ],
      });
    }
    const ready = await callRpc(client, 'ModelReady', { name: 'breast-cancer', version: 'production' });
    expect(ready.response).toEqual({ ready: true });
  });

  it('infers from raw_input_contents and from fp32_contents exactly as HTTP JSON does', async () => {
    const http = await server.call('POST', '/v2/models/breast-cancer/infer', {
      body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row }] },
    });
    expect(http.status).toBe(200);
    const [httpProbabilities, httpLabel] = http.body.outputs;
    expect(httpLabel.data).toEqual([1]); // malignant

    const requests = [
      { inputs: [featuresInput()], raw_input_contents: [f32(row)] },
      { inputs: [featuresInput({ fp32_contents: row })] },
    ];
    for (const request of requests) {
      const { response } = await callRpc(client, 'ModelInfer', {
        model_name: 'breast-cancer',
        id: 'case-40',
        ...request,
      });
      expect(response.model_name).toBe('breast-cancer');
      expect(response.model_version).toBe('1');
      expect(response.id).toBe('case-40');
      expect(response.outputs).toEqual([
        { name: 'probabilities', datatype: 'FP32', shape: ['1', '2'], parameters: {}, contents: null },
        { name: 'label', datatype: 'INT64', shape: ['1'], parameters: {}, contents: null },
      ]);
      const [probabilities, label] = response.raw_output_contents;
      expect(maxAbsDiff(rawF32(probabilities), httpProbabilities.data)).toBe(0);
      expect(rawI64(label)).toEqual([1n]);
    }
    const metrics = await server.call('GET', '/metrics');
    expect(metrics.body).toMatch(
      /galen_inference_requests_total\{model="breast-cancer",version="1",protocol="oip-grpc",outcome="success"\} 2/,
    );
  });

  it('returns only the requested outputs, by version alias', async () => {
    const { response } = await callRpc(client, 'ModelInfer', {
      model_name: 'breast-cancer',
      model_version: 'production',
      inputs: [featuresInput(undefined, [2, 30])],
      raw_input_contents: [f32([...row, ...row])],
      outputs: [{ name: 'label' }],
    });
    expect(response.model_version).toBe('1');
    expect(response.outputs.map((o: any) => o.name)).toEqual(['label']);
    expect(rawI64(response.raw_output_contents[0])).toEqual([1n, 1n]);
  });

  it('round-trips BYTES, raw and in bytes_contents', async () => {
    const strings = ['naïve', '肺炎', '', 'stéthoscope 🩺', 'tab\there', 'line\nbreak'];
    const input = { name: 'x', datatype: 'BYTES', shape: [2, 3] };
    for (const request of [
      { inputs: [input], raw_input_contents: [rawBytes(strings)] },
      { inputs: [{ ...input, contents: { bytes_contents: strings.map((s) => Buffer.from(s)) } }] },
    ]) {
      const { response } = await callRpc(client, 'ModelInfer', { model_name: 'identity-bytes', ...request });
      expect(response.outputs[0]).toMatchObject({ name: 'y', datatype: 'BYTES', shape: ['2', '3'] });
      expect(readRawBytes(response.raw_output_contents[0])).toEqual(strings);
    }
  });

  it('round-trips INT64 over the whole 64-bit range, raw and in int64_contents', async () => {
    const values = [-(2n ** 63n), -(2n ** 53n) - 1n, -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n];
    const input = { name: 'x', datatype: 'INT64', shape: [2, 3] };
    for (const request of [
      { inputs: [input], raw_input_contents: [Buffer.from(new BigInt64Array(values).buffer)] },
      { inputs: [{ ...input, contents: { int64_contents: values.map(String) } }] },
    ]) {
      const { response } = await callRpc(client, 'ModelInfer', { model_name: 'identity-int64', ...request });
      expect(rawI64(response.raw_output_contents[0])).toEqual(values);
    }
  });

  it('takes FP16 only as raw contents', async () => {
    const half = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0, 0x0400, 0x0001]).buffer);
    const input = { name: 'x', datatype: 'FP16', shape: [2, 3] };
    const { response } = await callRpc(client, 'ModelInfer', {
      model_name: 'identity-fp16',
      inputs: [input],
      raw_input_contents: [half],
    });
    expect(Buffer.compare(response.raw_output_contents[0], half)).toBe(0);

    const err = await failure(
      callRpc(client, 'ModelInfer', {
        model_name: 'identity-fp16',
        inputs: [{ ...input, contents: { fp32_contents: [1, -2, 65504, 0, 2 ** -14, 2 ** -24] } }],
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/input "x" is FP16.*raw_input_contents/);
  });

  it('refuses calls without a valid key with UNAUTHENTICATED', async () => {
    for (const key of [null, 'not-a-key']) {
      const err = await failure(callRpc(client, 'ServerMetadata', {}, { key }));
      expect(err.code).toBe(status.UNAUTHENTICATED);
    }
    const err = await failure(
      callRpc(client, 'ModelInfer', { model_name: 'breast-cancer', inputs: [] }, { key: null }),
    );
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toContain('authorization: Bearer <API key>');
  });

  it('lets a service key infer but not load or unload (PERMISSION_DENIED)', async () => {
    const key = await server.key('service');
    const infer = await callRpc(
      client,
      'ModelInfer',
      { model_name: 'breast-cancer', inputs: [featuresInput({ fp32_contents: row })] },
      { key },
    );
    expect(infer.response.model_name).toBe('breast-cancer');
    for (const method of ['RepositoryModelLoad', 'RepositoryModelUnload']) {
      const err = await failure(callRpc(client, method, { model_name: 'breast-cancer' }, { key }));
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(err.details).toContain('role "service" may not');
    }
  });

  it('refuses malformed tensors with INVALID_ARGUMENT, naming the input and what is allowed', async () => {
    const cases: { request: Record<string, unknown>; message: RegExp }[] = [
      {
        request: { inputs: [featuresInput({ fp32_contents: row.slice(0, 29) })] },
        message:
          /input "features" has 29 elements in contents\.fp32_contents but its shape \[1,30\] needs 30/,
      },
      {
        request: { inputs: [featuresInput()], raw_input_contents: [f32(row.slice(0, 29))] },
        message:
          /input "features" has 116 bytes of raw data; shape \[1,30\] of FP32 needs 30 × 4 = 120 bytes/,
      },
      {
        request: { inputs: [featuresInput({ fp32_contents: row.slice(0, 29) }, [1, 29])] },
        message: /input "features" has shape \[1,29\]; .* expects \[-1,30\]/,
      },
      {
        request: { inputs: [featuresInput({ fp32_contents: row })], raw_input_contents: [f32(row)] },
        message:
          /input "features" carries contents \(fp32_contents\) although the request uses raw_input_contents/,
      },
      {
        request: { inputs: [featuresInput(), featuresInput()], raw_input_contents: [f32(row)] },
        message: /raw_input_contents has 1 entries but the request has 2 inputs/,
      },
      {
        request: { inputs: [{ ...(featuresInput({ fp32_contents: row }) as object), datatype: 'FP8' }] },
        message: /input "features" has datatype "FP8"; allowed datatypes: BOOL, .*FP32/,
      },
      {
        request: { inputs: [featuresInput({ fp64_contents: row })] },
        message: /datatype FP32, whose elements go in contents\.fp32_contents; it carries fp64_contents/,
      },
      {
        request: { inputs: [featuresInput({ fp32_contents: row })], outputs: [{ name: 'risk' }] },
        message: /has no output "risk"; its outputs are "probabilities", "label"/,
      },
      {
        request: {
          inputs: [featuresInput({ fp32_contents: row })],
          parameters: { timeout: { string_param: '5s' } },
        },
        message: /parameter "timeout" must be an int64_param \(microseconds\)/,
      },
      {
        request: {
          inputs: [featuresInput({ fp32_contents: row })],
          parameters: { timeout: { int64_param: '-3' } },
        },
        message: /parameter "timeout" is -3; it is the longest time in microseconds/,
      },
    ];
    for (const { request, message } of cases) {
      const err = await failure(callRpc(client, 'ModelInfer', { model_name: 'breast-cancer', ...request }));
      expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
  });

  it('answers NOT_FOUND for an unknown model or version', async () => {
    const unknown = /model "no-such-model" is not registered/;
    const calls: [string, unknown, RegExp][] = [
      ['ModelMetadata', { name: 'no-such-model' }, unknown],
      ['ModelReady', { name: 'no-such-model' }, unknown],
      [
        'ModelMetadata',
        { name: 'breast-cancer', version: '9' },
        /model "breast-cancer" has no version or alias "9" \(versions: 1; aliases: production\)/,
      ],
      [
        'ModelInfer',
        { model_name: 'no-such-model', inputs: [featuresInput({ fp32_contents: row })] },
        unknown,
      ],
      ['RepositoryModelLoad', { model_name: 'no-such-model' }, unknown],
    ];
    for (const [method, request, message] of calls) {
      const err = await failure(callRpc(client, method, request));
      expect(err.code, `${method}: ${err.details}`).toBe(status.NOT_FOUND);
      expect(err.details).toMatch(message);
    }
  });

  it("writes an audit record for ModelInfer, under the caller's request id", async () => {
    const key = await server.key('service');
    const requestId = 'grpc-audit-test-1';
    const { metadata } = await callRpc(
      client,
      'ModelInfer',
      { model_name: 'breast-cancer', inputs: [featuresInput({ fp32_contents: row })] },
      { key, requestId },
    );
    expect(metadata.get('x-request-id')).toEqual([requestId]);
    const records = await server.galen.audit.list({ limit: 1000 });
    const record = records.find((r) => r.requestId === requestId);
    expect(record).toMatchObject({
      action: 'infer',
      role: 'service',
      model: 'breast-cancer',
      version: 1,
      status: 200,
      detail: { protocol: 'grpc', grpcStatus: status.OK },
    });
    expect(record!.keyId).toBe((await server.galen.keys.authenticate(key)).keyId);

    // A refused call is audited too, with the status it got.
    await failure(
      callRpc(
        client,
        'ModelInfer',
        { model_name: 'breast-cancer', inputs: [] },
        { key: null, requestId: 'grpc-audit-test-2' },
      ),
    );
    const refused = (await server.galen.audit.list({ limit: 1000 })).find(
      (r) => r.requestId === 'grpc-audit-test-2',
    );
    // Refused before its message was read (so the model it names is unknown).
    expect(refused).toMatchObject({ action: 'infer', keyId: null, model: null, status: 401 });
    expect(refused!.detail).toEqual({ protocol: 'grpc', grpcStatus: status.UNAUTHENTICATED });
  });

  it('unloads and loads a model through the repository calls, audited', async () => {
    const unload = await callRpc(client, 'RepositoryModelUnload', { model_name: 'breast-cancer' });
    expect(unload.response).toEqual({ model_name: 'breast-cancer', isUnloaded: true });
    expect((await callRpc(client, 'ModelReady', { name: 'breast-cancer' })).response).toEqual({
      ready: false,
    });
    const err = await failure(
      callRpc(client, 'ModelInfer', {
        model_name: 'breast-cancer',
        inputs: [featuresInput({ fp32_contents: row })],
      }),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain('is unloaded');

    const load = await callRpc(client, 'RepositoryModelLoad', { model_name: 'breast-cancer' });
    expect(load.response).toEqual({ model_name: 'breast-cancer', isLoaded: true });
    expect((await callRpc(client, 'ModelReady', { name: 'breast-cancer' })).response).toEqual({
      ready: true,
    });
    const infer = await callRpc(client, 'ModelInfer', {
      model_name: 'breast-cancer',
      inputs: [featuresInput({ fp32_contents: row })],
    });
    expect(rawI64(infer.response.raw_output_contents[1])).toEqual([1n]);

    const actions = (await server.galen.audit.list({ limit: 1000 }))
      .filter((r) => r.action.startsWith('model.'))
      .map((r) => [r.action, r.model, r.status, r.role]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['model.unload', 'breast-cancer', 200, 'admin'],
        ['model.load', 'breast-cancer', 200, 'admin'],
        ['model.load', 'breast-cancer', 403, 'service'],
      ]),
    );
  });
});

describe('OIP v2 over gRPC: message size', () => {
  it('refuses a request larger than http.bodyLimitBytes with RESOURCE_EXHAUSTED', async () => {
    const server = await createTestServer({
      grpc: true,
      config: { http: { ...DEFAULT_HTTP, bodyLimitBytes: 64 * 1024, uploadLimitBytes: 1024 * 1024 } },
    });
    const client = new InferenceClient(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    try {
      const err = await failure(
        callRpc(client, 'ModelInfer', {
          model_name: 'anything',
          inputs: [{ name: 'x', datatype: 'UINT8', shape: [128 * 1024] }],
          raw_input_contents: [Buffer.alloc(128 * 1024)],
        }),
      );
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
      await server.close();
    }
  });
});
