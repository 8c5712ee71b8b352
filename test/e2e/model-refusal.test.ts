/**
 * Galen refuses an ONNX file that ONNX Runtime cannot load (or that it cannot serve), naming the
 * reason, through the native upload and through Triton's repository `load`; a refusal registers
 * nothing and leaves no file behind. Also the repository load/unload cycle for a good model.
 */
/// <reference types="long" />
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, twoOutputModel, uploadModel } from '../helpers/tiny-models.js';

const proto = onnxProto.onnx;
const ElemType = proto.TensorProto.DataType;

/** Bytes from a fixed-seed generator, so a failure reproduces. */
function garbage(length: number, seed = 42): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A well-formed ONNX graph whose one node is an operator no runtime has. */
function unknownOperatorModel(opType: string, domain = ''): Uint8Array {
  const b = new OnnxGraphBuilder();
  if (domain !== '') b.importOpset(domain, 1);
  return b
    .addInput('x', 'FP32', ['batch', 3])
    .addNode({ opType, domain, inputs: ['x'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', 3])
    .toBytes();
}

/**
 * Rewrites the type of the first graph input (and with `output`, of the first output): the builder
 * only makes tensors of OIP datatypes.
 */
function retyped(
  bytes: Uint8Array,
  types: { input: onnxProto.onnx.ITypeProto; output?: onnxProto.onnx.ITypeProto },
): Uint8Array {
  const model = proto.ModelProto.decode(bytes);
  model.graph!.input![0]!.type = proto.TypeProto.create(types.input);
  if (types.output) model.graph!.output![0]!.type = proto.TypeProto.create(types.output);
  return proto.ModelProto.encode(model).finish();
}

/** Input `s` is a sequence of FP32 tensors; output `n` = SequenceLength(s). ONNX Runtime loads it. */
function sequenceInputModel(): Uint8Array {
  const bytes = new OnnxGraphBuilder()
    .addInput('s', 'FP32', ['n'])
    .addNode({ opType: 'SequenceLength', inputs: ['s'], outputs: ['n'] })
    .addOutput('n', 'INT64', [])
    .toBytes();
  return retyped(bytes, {
    input: { sequenceType: { elemType: { tensorType: { elemType: ElemType.FLOAT } } } },
  });
}

/** Identity over COMPLEX64, an element type neither OIP nor ONNX Runtime's CPU kernels carry. */
function complexInputModel(): Uint8Array {
  const complex = { tensorType: { elemType: ElemType.COMPLEX64, shape: { dim: [{ dimValue: 2 }] } } };
  return retyped(identityModel('FP32', [2]), { input: complex, output: complex });
}

const goodModel = identityModel('FP32');

const REFUSALS: { what: string; bytes: Uint8Array; says: string[] }[] = [
  { what: 'random bytes', bytes: garbage(4096), says: ['is not an ONNX model'] },
  { what: 'an empty file', bytes: new Uint8Array(0), says: ['empty'] },
  {
    what: 'a truncated ONNX file',
    bytes: goodModel.subarray(0, Math.floor(goodModel.length / 2)),
    says: ['is not an ONNX model'],
  },
  {
    what: 'an unknown operator in the default domain',
    bytes: unknownOperatorModel('NoSuchOp'),
    says: ['ONNX Runtime cannot load this model', 'NoSuchOp'],
  },
  {
    what: 'an unknown operator in a custom domain',
    bytes: unknownOperatorModel('Frobnicate', 'com.example.custom'),
    says: ['ONNX Runtime cannot load this model', 'com.example.custom', 'Frobnicate'],
  },
  {
    what: 'a sequence input',
    bytes: sequenceInputModel(),
    says: ['input "s" is not a tensor', 'tensor inputs only'],
  },
  {
    what: 'a COMPLEX64 input',
    bytes: complexInputModel(),
    says: ['ONNX Runtime cannot load this model', 'complex64'],
  },
];

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('refusing ONNX files that cannot be served', () => {
  let server: TestServer;
  const artifacts = (): string => join(server.dataDir, 'artifacts');

  /** Every committed artifact digest. */
  async function storedDigests(): Promise<string[]> {
    const root = join(artifacts(), 'sha256');
    const digests: string[] = [];
    for (const prefix of await readdir(root).catch(() => [] as string[])) {
      digests.push(...(await readdir(join(root, prefix))));
    }
    return digests.sort();
  }

  const modelNames = async (): Promise<string[]> => {
    const res = await server.call('GET', '/api/v1/models?archived=true');
    expect(res.status).toBe(200);
    return (res.body.models as { name: string }[]).map((m) => m.name);
  };

  const versionsOf = async (model: string): Promise<number[]> => {
    const res = await server.call('GET', `/api/v1/models/${model}`);
    expect(res.status).toBe(200);
    return (res.body.versions as { version: number }[]).map((v) => v.version);
  };

  const viaNative = (model: string, bytes: Uint8Array): ReturnType<TestServer['call']> =>
    server.call('POST', `/api/v1/models/${model}/versions`, { body: bytes });

  const viaRepository = (model: string, bytes: Uint8Array): ReturnType<TestServer['call']> =>
    server.call('POST', `/v2/repository/models/${model}/load`, {
      body: { parameters: { 'file:1/model.onnx': Buffer.from(bytes).toString('base64') } },
    });

  const infer = (model: string, version?: string): ReturnType<TestServer['call']> =>
    server.call('POST', `/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, {
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
    });

  beforeAll(async () => {
    server = await createTestServer();
    await uploadModel(server, 'existing', goodModel);
  });
  afterAll(async () => server.close());

  for (const [route, send] of [
    ['native upload', viaNative],
    ['repository load', viaRepository],
  ] as const) {
    describe(route, () => {
      for (const { what, bytes, says } of REFUSALS) {
        it(`refuses ${what} with a 400 naming the reason, registering and storing nothing`, async () => {
          const digestsBefore = await storedDigests();
          const fresh = `refused-${route.split(' ')[0]}-${what.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;

          for (const model of [fresh, 'existing']) {
            const res = await send(model, bytes);
            expect(res.status, JSON.stringify(res.body)).toBe(400);
            for (const fragment of says) expect(res.body.error).toContain(fragment);
            expect(res.body.error).not.toContain('internal error');
            // ONNX Runtime's own message names the server's staging file; the client must not see it.
            expect(res.body.error).not.toContain(server.dataDir);
            expect(res.body.error).not.toContain('.part');
          }

          expect(await modelNames()).not.toContain(fresh);
          expect(await versionsOf('existing')).toEqual([1]);
          expect(await readdir(join(artifacts(), 'tmp')).catch(() => [])).toEqual([]);
          expect(existsSync(join(artifacts(), 'sha256', sha256(bytes).slice(0, 2), sha256(bytes)))).toBe(
            false,
          );
          expect(await storedDigests()).toEqual(digestsBefore);
          // The model that was there still serves.
          expect((await infer('existing')).status).toBe(200);
        });
      }
    });
  }

  it('refuses a good file for an archived model without storing it', async () => {
    await uploadModel(server, 'archived', goodModel);
    expect((await server.call('POST', '/api/v1/models/archived/archive')).status).toBe(200);
    const digestsBefore = await storedDigests();
    const newBytes = twoOutputModel();
    for (const send of [viaNative, viaRepository]) {
      const res = await send('archived', newBytes);
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body.error).toBe('model "archived" is archived; restore it before adding versions');
    }
    expect(await versionsOf('archived')).toEqual([1]);
    expect(await storedDigests()).toEqual(digestsBefore);
    expect(await readdir(join(artifacts(), 'tmp')).catch(() => [])).toEqual([]);
  });

  describe('repository load and unload of a good model', () => {
    const model = 'repo-model';

    it('registers version 1 from the file in a load request and loads it', async () => {
      const res = await viaRepository(model, goodModel);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ name: model, loaded_versions: ['1'], registered_version: '1' });
      expect(await versionsOf(model)).toEqual([1]);
      expect(await storedDigests()).toContain(sha256(goodModel));

      const index = await server.call('POST', '/v2/repository/index', { body: {} });
      expect(index.status).toBe(200);
      expect(index.body).toContainEqual({ name: model, version: '1', state: 'READY', reason: '' });
      const readyOnly = await server.call('POST', '/v2/repository/index', { body: { ready: true } });
      expect(readyOnly.body).toContainEqual({ name: model, version: '1', state: 'READY', reason: '' });

      const out = await infer(model);
      expect(out.status).toBe(200);
      expect(out.body.model_version).toBe('1');
      expect(out.body.outputs[0].data).toEqual([1, 2, 3]);
    });

    it('registers version 2 from a second load with a file, which then serves by default', async () => {
      const res = await viaRepository(model, twoOutputModel());
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.registered_version).toBe('2');
      expect(res.body.loaded_versions).toContain('2');
      expect(await versionsOf(model)).toEqual([1, 2]);

      const out = await infer(model);
      expect(out.body.model_version).toBe('2');
      expect(out.body.outputs.map((o: { name: string }) => o.name)).toEqual(['y', 'z']);
      expect((await infer(model, '1')).body.model_version).toBe('1');
    });

    it.each([
      [
        'two files',
        {
          'file:1/model.onnx': Buffer.from(goodModel).toString('base64'),
          'file:2/model.onnx': Buffer.from(goodModel).toString('base64'),
        },
        'exactly one file',
      ],
      [
        'a file that is not .onnx',
        { 'file:1/model.pt': Buffer.from(goodModel).toString('base64') },
        'model.pt',
      ],
      ['a file that is not base64', { 'file:1/model.onnx': 'not base64!' }, 'base64'],
      ['a file that is not a string', { 'file:1/model.onnx': [1, 2, 3] }, 'base64'],
    ])('refuses a load with %s and registers nothing', async (_what, parameters, says) => {
      const digestsBefore = await storedDigests();
      const res = await server.call('POST', `/v2/repository/models/${model}/load`, { body: { parameters } });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error).toContain(says);
      expect(await versionsOf(model)).toEqual([1, 2]);
      expect(await storedDigests()).toEqual(digestsBefore);
      expect(await readdir(join(artifacts(), 'tmp')).catch(() => [])).toEqual([]);
    });

    it('after unload, refuses inference with a 404 that says how to load it (no Retry-After)', async () => {
      const res = await server.call('POST', `/v2/repository/models/${model}/unload`, { body: {} });
      expect(res.status).toBe(200);
      expect([...res.body.unloaded_versions].sort()).toEqual(['1', '2']);

      const index = await server.call('POST', '/v2/repository/index', { body: {} });
      expect(index.body.filter((e: { name: string }) => e.name === model)).toEqual([
        { name: model, version: '2', state: 'UNAVAILABLE', reason: 'unloaded' },
      ]);
      for (const version of [undefined, '1']) {
        const out = await infer(model, version);
        expect(out.status).toBe(404);
        expect(out.headers.get('retry-after')).toBeNull();
        expect(out.body.error).toContain(`model "${model}" is unloaded`);
        expect(out.body.error).toContain('load it again through the model repository API');
      }
      expect((await server.call('GET', `/v2/models/${model}/ready`)).status).not.toBe(200);
    });

    it('a refused load of an unloaded model leaves it unloaded', async () => {
      const res = await viaRepository(model, unknownOperatorModel('NoSuchOp'));
      expect(res.status).toBe(400);
      expect((await infer(model)).status).toBe(404);
      expect(await versionsOf(model)).toEqual([1, 2]);
    });

    it('serves again after a load without a file', async () => {
      const res = await server.call('POST', `/v2/repository/models/${model}/load`, { body: {} });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ name: model, loaded_versions: ['2'] });
      const out = await infer(model);
      expect(out.status).toBe(200);
      expect(out.body.model_version).toBe('2');
      expect((await server.call('GET', `/v2/models/${model}/ready`)).status).toBe(200);
    });

    it('refuses to load a model that is not registered', async () => {
      const res = await server.call('POST', '/v2/repository/models/no-such-model/load', { body: {} });
      expect(res.status).toBe(404);
      expect(res.body.error).toContain('"no-such-model"');
    });
  });
});
