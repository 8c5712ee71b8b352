/**
 * TensorFlow Serving's REST API over the real server: model status for the bare, version and label
 * forms, metadata as TF prints it, :predict in row and columnar form (the same probabilities as OIP
 * for real WDBC rows), bytes as {"b64"}, :classify and :regress where the outputs allow, and every
 * malformed request refused with a 400 that says what was wrong.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWdbcCsv } from '../../src/demo/index.js';
import { OnnxGraphBuilder, attr } from '../../src/onnx/index.js';
import { createTestServer, maxAbsDiff } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';
import { dataUrl } from '../helpers/data.js';

const wdbc = parseWdbcCsv(readFileSync(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8'));
const b64 = (text: string | Uint8Array): string => Buffer.from(text).toString('base64');

/** Two inputs, three outputs: `scaled = 2·signal`, and `tag` returned as text and as bytes. */
function multiModel(): Uint8Array {
  return new OnnxGraphBuilder({ graphName: 'multi' })
    .addInput('signal', 'FP32', ['batch', 3])
    .addInput('tag', 'BYTES', ['batch'])
    .addFloatInitializer('two', [1], [2])
    .addNode({ opType: 'Mul', inputs: ['signal', 'two'], outputs: ['scaled'] })
    .addNode({ opType: 'Identity', inputs: ['tag'], outputs: ['tag_out'] })
    .addNode({ opType: 'Identity', inputs: ['tag'], outputs: ['tag_bytes'] })
    .addOutput('scaled', 'FP32', ['batch', 3])
    .addOutput('tag_out', 'BYTES', ['batch'])
    .addOutput('tag_bytes', 'BYTES', ['batch'])
    .toBytes();
}

/** TF Serving's half_plus_three, with the 3 as a second input: `y = 0.5·x + offset`, all [-1,1]. */
function halfPlusOffsetModel(): Uint8Array {
  return new OnnxGraphBuilder({ graphName: 'half_plus_offset' })
    .addInput('x', 'FP32', ['batch', 1])
    .addInput('offset', 'FP32', ['batch', 1])
    .addFloatInitializer('half', [1], [0.5])
    .addNode({ opType: 'Mul', inputs: ['x', 'half'], outputs: ['halved'] })
    .addNode({ opType: 'Add', inputs: ['halved', 'offset'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', 1])
    .toBytes();
}

/** `total = ReduceSum(x)`: a scalar output, which the row format cannot split into instances. */
function sumModel(): Uint8Array {
  return new OnnxGraphBuilder({ graphName: 'sum' })
    .addInput('x', 'FP32', ['batch', 3])
    .addNode({
      opType: 'ReduceSum',
      inputs: ['x'],
      outputs: ['total'],
      attributes: { keepdims: attr.int(0) },
    })
    .addOutput('total', 'FP32', [])
    .toBytes();
}

describe('TensorFlow Serving REST API', () => {
  let server: TestServer;
  const predict = (path: string, body: unknown, key?: string | null): ReturnType<TestServer['call']> =>
    server.call('POST', `/v1/models/${path}`, { body, key });

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
    await uploadModel(server, 'tf-bytes', identityModel('BYTES', ['batch']));
    await uploadModel(server, 'tf-multi', multiModel());
    await uploadModel(server, 'tf-half', halfPlusOffsetModel());
    await uploadModel(server, 'tf-vector', identityModel('FP32', ['batch']));
    await uploadModel(server, 'tf-sum', sumModel());
    await uploadModel(server, 'tf-fp16', identityModel('FP16'));
    await uploadModel(server, 'tf-bool', identityModel('BOOL'));
    await uploadModel(server, 'tf-int64', identityModel('INT64'));
  });
  afterAll(async () => server.close());

  describe('model status', () => {
    it('reports the demo model AVAILABLE in the bare, version and label forms', async () => {
      const available = {
        model_version_status: [
          { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
        ],
      };
      for (const path of ['', '/versions/1', '/labels/production']) {
        const res = await server.call('GET', `/v1/models/breast-cancer${path}`);
        expect(res.status, path).toBe(200);
        expect(res.body, path).toEqual(available);
      }
    });

    it('lists every unarchived version: loaded ones AVAILABLE, others START until used, END when unloaded', async () => {
      // Three versions of one signature: other bytes each (the same bytes would be one version).
      await uploadModel(server, 'tf-status', identityModel('FP32', ['batch', 3]));
      await uploadModel(server, 'tf-status', identityModel('FP32', ['rows', 3]));
      await uploadModel(server, 'tf-status', identityModel('FP32', ['n', 3]));
      expect((await server.call('POST', '/api/v1/models/tf-status/versions/2/archive')).status).toBe(200);
      const states = async (path = ''): Promise<[string, string][]> => {
        const res = await server.call('GET', `/v1/models/tf-status${path}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.model_version_status.map((s: any) => [s.version, s.state]);
      };
      // The bare form loads the version a call would use (the latest), as OIP readiness does.
      expect(await states()).toEqual([
        ['1', 'START'],
        ['3', 'AVAILABLE'],
      ]);
      expect(await states('/versions/1')).toEqual([['1', 'AVAILABLE']]);
      expect(await states()).toEqual([
        ['1', 'AVAILABLE'],
        ['3', 'AVAILABLE'],
      ]);
      expect(
        (await server.call('PUT', '/api/v1/models/tf-status/aliases/staging', { body: { version: 1 } }))
          .status,
      ).toBe(200);
      expect(await states('/labels/staging')).toEqual([['1', 'AVAILABLE']]);

      expect((await server.call('POST', '/v2/repository/models/tf-status/unload', { body: {} })).status).toBe(
        200,
      );
      expect(await states()).toEqual([
        ['1', 'END'],
        ['3', 'END'],
      ]);
      const refused = await predict('tf-status:predict', { instances: [[1, 2, 3]] });
      // TF Serving answers a model it does not serve with 404 ("Servable not found").
      expect(refused.status).toBe(404);
      expect((await server.call('POST', '/v2/repository/models/tf-status/load', { body: {} })).status).toBe(
        200,
      );
      expect((await predict('tf-status/labels/staging:predict', { instances: [[1, 2, 3]] })).body).toEqual({
        predictions: [[1, 2, 3]],
      });
    });

    it('answers unknown models, versions and labels with 404, and misplaced references with 400', async () => {
      const cases: [string, number, RegExp][] = [
        ['/v1/models/no-such-model', 404, /model "no-such-model" is not registered/],
        ['/v1/models/breast-cancer/versions/9', 404, /no version or alias "9"/],
        ['/v1/models/breast-cancer/labels/canary', 404, /no version or alias "canary".*aliases: production/],
        ['/v1/models/tf-status/versions/2', 404, /version 2 of model "tf-status" is archived/],
        ['/v1/models/breast-cancer/versions/production', 400, /not a version number.*\/labels\/production/],
        ['/v1/models/breast-cancer/labels/1', 400, /is a version number, not a label.*\/versions\/1/],
        ['/v1/models/breast-cancer/metadata/extra', 404, /no TF Serving endpoint GET/],
        [
          '/v1/models/breast-cancer/versions/1:predict',
          404,
          /"1:predict" is not .*:predict, :classify and :regress take POST/,
        ],
      ];
      for (const [path, status, message] of cases) {
        const res = await server.call('GET', path);
        expect(res.status, path).toBe(status);
        expect(Object.keys(res.body), path).toEqual(['error']);
        expect(res.body.error, path).toMatch(message);
      }
      const verb = await predict('breast-cancer:explain', { instances: [] });
      expect(verb.status).toBe(404);
      expect(verb.body.error).toMatch(/:predict, :classify and :regress/);
    });
  });

  it('describes the signature as TF Serving metadata, with TF dtypes and string sizes', async () => {
    const res = await server.call('GET', '/v1/models/breast-cancer/labels/production/metadata');
    expect(res.status).toBe(200);
    const dims = (...sizes: string[]): unknown => ({
      dim: sizes.map((size) => ({ size, name: '' })),
      unknown_rank: false,
    });
    expect(res.body).toEqual({
      model_spec: { name: 'breast-cancer', signature_name: '', version: '1' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: { features: { dtype: 'DT_FLOAT', tensor_shape: dims('-1', '30'), name: 'features' } },
              outputs: {
                probabilities: { dtype: 'DT_FLOAT', tensor_shape: dims('-1', '2'), name: 'probabilities' },
                label: { dtype: 'DT_INT64', tensor_shape: dims('-1'), name: 'label' },
              },
              method_name: 'tensorflow/serving/predict',
            },
          },
        },
      },
    });
    const multi = await server.call('GET', '/v1/models/tf-multi/versions/1/metadata');
    const sig = multi.body.metadata.signature_def.signature_def.serving_default;
    expect(sig.inputs.tag).toEqual({ dtype: 'DT_STRING', tensor_shape: dims('-1'), name: 'tag' });
    expect(
      (await server.call('GET', '/v1/models/tf-fp16/metadata')).body.metadata.signature_def.signature_def
        .serving_default.inputs.x.dtype,
    ).toBe('DT_HALF');
    expect(
      (await server.call('GET', '/v1/models/tf-bool/metadata')).body.metadata.signature_def.signature_def
        .serving_default.outputs.y.dtype,
    ).toBe('DT_BOOL');
  });

  describe(':predict', () => {
    const rows = wdbc.rows.filter((_, i) => i % 25 === 0);
    let oip: { probabilities: number[][]; label: number[] };

    beforeAll(async () => {
      const res = await server.call('POST', '/v2/models/breast-cancer/infer', {
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows }] },
      });
      expect(res.status).toBe(200);
      const [probs, label] = res.body.outputs;
      oip = {
        probabilities: rows.map((_, i) => probs.data.slice(2 * i, 2 * i + 2)),
        label: label.data,
      };
    });

    it('row format: one object per instance with both outputs, the probabilities OIP gives', async () => {
      for (const path of ['breast-cancer', 'breast-cancer/versions/1', 'breast-cancer/labels/production']) {
        const res = await predict(`${path}:predict`, { signature_name: 'serving_default', instances: rows });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(Object.keys(res.body)).toEqual(['predictions']);
        expect(res.body.predictions).toHaveLength(rows.length);
        res.body.predictions.forEach((p: any, i: number) => {
          expect(Object.keys(p).sort()).toEqual(['label', 'probabilities']);
          expect(maxAbsDiff(p.probabilities, oip.probabilities[i]!), `row ${i}`).toBeLessThan(1e-6);
          expect(p.label).toBe(oip.label[i]);
        });
      }
    });

    it('columnar format: the whole tensor per output, keyed by name; named or unnamed input', async () => {
      for (const inputs of [rows, { features: rows }]) {
        const res = await predict('breast-cancer:predict', { inputs });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(Object.keys(res.body)).toEqual(['outputs']);
        expect(res.body.outputs.label).toEqual(oip.label);
        expect(maxAbsDiff(res.body.outputs.probabilities.flat(), oip.probabilities.flat())).toBeLessThan(
          1e-6,
        );
      }
    });

    it('one output: predictions are the per-instance values themselves, outputs the nested tensor', async () => {
      const row = await predict('tf-vector:predict', { instances: [1.5, -2, 0.25] });
      expect(row.body).toEqual({ predictions: [1.5, -2, 0.25] });
      const columnar = await predict('tf-vector:predict', { inputs: [1.5, -2] });
      expect(columnar.body).toEqual({ outputs: [1.5, -2] });
      const fp16 = await predict('tf-fp16:predict', { instances: [[0.5, -2, 65504]] });
      expect(fp16.body).toEqual({ predictions: [[0.5, -2, 65504]] });
      const bool = await predict('tf-bool:predict', { inputs: [[true, false, true]] });
      expect(bool.body).toEqual({ outputs: [[true, false, true]] });
      const int64 = await predict('tf-int64:predict', {
        instances: [[-9007199254740991, 0, 9007199254740991]],
      });
      expect(int64.body).toEqual({ predictions: [[-9007199254740991, 0, 9007199254740991]] });
    });

    it('several inputs and outputs in row format: objects keyed by input and output name', async () => {
      const res = await predict('tf-multi:predict', {
        instances: [
          { signal: [1, 2, 3], tag: 'first' },
          { tag: { b64: b64('zweite Zeile') }, signal: [4, 5, 6] },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({
        predictions: [
          { scaled: [2, 4, 6], tag_out: 'first', tag_bytes: { b64: b64('first') } },
          { scaled: [8, 10, 12], tag_out: 'zweite Zeile', tag_bytes: { b64: b64('zweite Zeile') } },
        ],
      });
      const columnar = await predict('tf-multi:predict', { inputs: { signal: [[1, 1, 1]], tag: ['x'] } });
      expect(columnar.body).toEqual({
        outputs: { scaled: [[2, 2, 2]], tag_out: ['x'], tag_bytes: [{ b64: b64('x') }] },
      });
    });

    it('round-trips bytes sent as {"b64"}: text comes back as text, "*_bytes" outputs as b64', async () => {
      const text = 'stéthoscope 🩺 肺炎';
      const res = await predict('tf-bytes:predict', {
        instances: [{ b64: b64(text) }, 'plain', { b64: '' }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ predictions: [text, 'plain', ''] });
      const columnar = await predict('tf-bytes:predict', { inputs: [{ b64: b64(text) }] });
      expect(columnar.body).toEqual({ outputs: [text] });
      const bytes = await predict('tf-multi:predict', {
        instances: [{ signal: [0, 0, 0], tag: { b64: b64(text) } }],
      });
      expect(bytes.body.predictions[0].tag_bytes).toEqual({ b64: b64(text) });
      expect(Buffer.from(bytes.body.predictions[0].tag_bytes.b64, 'base64').toString('utf8')).toBe(text);
    });

    it('refuses row format for an output that is not batched, and serves it in columnar format', async () => {
      const row = await predict('tf-sum:predict', { instances: [[1, 2, 3]] });
      expect(row.status).toBe(400);
      expect(row.body.error).toMatch(/output "total" is a scalar.*send "inputs" \(columnar format\)/);
      const columnar = await predict('tf-sum:predict', {
        inputs: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      });
      expect(columnar.body).toEqual({ outputs: 21 });
    });

    it('refuses malformed requests with 400 and a message saying what is wrong and what is allowed', async () => {
      const row = wdbc.rows[0]!;
      const cases: [string, unknown, RegExp][] = [
        ['breast-cancer', { instances: [row], inputs: [row] }, /both "instances" and "inputs"; send one/],
        ['breast-cancer', { instance: [row] }, /neither "instances" \(row format\) nor "inputs"/],
        ['breast-cancer', { instances: [] }, /"instances" is empty/],
        [
          'breast-cancer',
          { instances: { features: row } },
          /the row format needs a list with one entry per instance/,
        ],
        [
          'breast-cancer',
          { signature_name: 'predict', instances: [row] },
          /signature "predict" does not exist; this model has one signature, "serving_default"/,
        ],
        ['breast-cancer', { signature_name: 7, instances: [row] }, /signature_name must be string/],
        [
          'breast-cancer',
          { instances: [row, [...row.slice(0, 3), '7', ...row.slice(4)]] },
          /instances\[1\]\[3\] is a string; input "features" is FP32, which takes JSON numbers/,
        ],
        [
          'breast-cancer',
          { instances: [row, row.slice(0, 29)] },
          /instances\[1\] has 29 elements where 30 belong: every instance of input "features" must have the shape of instances\[0\], \[30\]/,
        ],
        [
          'breast-cancer',
          { instances: [row.slice(0, 29)] },
          /input "features" has shape \[1,29\]; .* expects \[-1,30\]/,
        ],
        // Shapes that fit the signature (x is [-1,3]), so the lists themselves are read and refused.
        [
          'tf-fp16',
          { inputs: [[1, 2, 3], [3]] },
          /inputs\[1\] has 1 elements where 3 belong: the lists of input "x" must be rectangular/,
        ],
        ['tf-fp16', { inputs: [[1, [2], 3]] }, /inputs\[0\]\[1\] is a list where a single value belongs/],
        [
          'breast-cancer',
          { instances: [{ feature: row }] },
          /instances\[0\] has "feature", which is not an input; the inputs are "features" FP32 \[-1,30\]/,
        ],
        [
          'breast-cancer',
          { inputs: { features: [row], extra: [1] } },
          /"inputs" has "extra", which is not an input/,
        ],
        [
          'breast-cancer',
          { instances: [{ features: row }, row] },
          /instances\[1\] is .*, but instances\[0\] is an object keyed by input name/,
        ],
        [
          'breast-cancer',
          { instances: [row, { features: row }] },
          /instances\[1\] is an object, but instances\[0\] is not/,
        ],
        [
          'breast-cancer',
          { instances: [[{ b64: 'AAAA' }, ...row.slice(1)]] },
          /instances\[0\]\[0\] is an object; input "features" is FP32/,
        ],
        [
          'tf-multi',
          { instances: [{ signal: [1, 2, 3] }] },
          /instances\[0\] lacks input\(s\) "tag"; every instance needs "signal" FP32 \[-1,3\], "tag" BYTES \[-1\]/,
        ],
        [
          'tf-multi',
          { instances: [[1, 2, 3]] },
          /the model has 2 inputs .* so each instance must be an object keyed by input name/,
        ],
        ['tf-multi', { inputs: { signal: [[1, 2, 3]] } }, /"inputs" lacks input\(s\) "tag"/],
        ['tf-multi', { inputs: [[1, 2, 3]] }, /"inputs" is a single value, but the model has 2 inputs/],
        [
          'tf-multi',
          { instances: [{ signal: [1, 2, 3], tag: 5 }] },
          /instances\[0\]\.tag is a number; input "tag" is BYTES, which takes JSON strings, or \{"b64": "<base64>"\}/,
        ],
        ['tf-bytes', { instances: [{ b64: 'not base64!' }] }, /this "b64" is not standard base64/],
        ['tf-bytes', { instances: [{ b64: b64(new Uint8Array([0xff, 0xfe, 0x00])) }] }, /not valid UTF-8/],
        [
          'tf-fp16',
          { instances: [[1, 2, 70000]] },
          /instances\[0\]\[2\] is a number; input "x" is FP16, which takes JSON numbers within ±65504/,
        ],
        [
          'tf-bool',
          { instances: [[true, 1, false]] },
          /instances\[0\]\[1\] is a number; input "x" is BOOL, which takes true or false/,
        ],
        [
          'tf-int64',
          { instances: [[1, 2.5, 3]] },
          /instances\[0\]\[1\] is a number; input "x" is INT64, which takes integers/,
        ],
        [
          'tf-vector',
          { instances: [1e39] },
          /instances\[0\] is a number; input "x" is FP32, which takes JSON numbers within ±3.4028235e38/,
        ],
      ];
      for (const [model, body, message] of cases) {
        const res = await predict(`${model}:predict`, body);
        expect(res.status, JSON.stringify(body).slice(0, 100)).toBe(400);
        expect(Object.keys(res.body)).toEqual(['error']);
        expect(res.body.error, JSON.stringify(body).slice(0, 100)).toMatch(message);
      }
      const unknown = await predict('no-such-model:predict', { instances: [1] });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ error: 'model "no-such-model" is not registered' });
    });
  });

  describe(':classify and :regress', () => {
    it('classifies WDBC examples with the demo model: class scores are its probabilities', async () => {
      const rows = wdbc.rows.slice(0, 5);
      const oip = await server.call('POST', '/v2/models/breast-cancer/infer', {
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [5, 30], data: rows }] },
      });
      const probs = oip.body.outputs[0].data as number[];
      const res = await predict('breast-cancer/labels/production:classify', {
        examples: rows.map((features) => ({ features })),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Object.keys(res.body)).toEqual(['results']);
      expect(res.body.results).toHaveLength(5);
      res.body.results.forEach((classes: [string, number][], i: number) => {
        expect(classes.map(([label]) => label)).toEqual(['0', '1']);
        expect(
          maxAbsDiff(
            classes.map(([, score]) => score),
            probs.slice(2 * i, 2 * i + 2),
          ),
        ).toBeLessThan(1e-6);
      });
    });

    it("regresses like TF Serving's half_plus_three, with context shared by every example", async () => {
      const res = await predict('tf-half:regress', {
        context: { offset: 3 },
        examples: [{ x: 1 }, { x: 2 }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ results: [3.5, 4] });
      const own = await predict('tf-half/versions/1:regress', { examples: [{ x: [4], offset: [0] }] });
      expect(own.body).toEqual({ results: [2] });
      const vector = await predict('tf-vector:regress', { examples: [{ x: 1.25 }, { x: -3 }] });
      expect(vector.body).toEqual({ results: [1.25, -3] });
    });

    it('refuses models whose outputs cannot carry the result, saying why', async () => {
      const regress = await predict('breast-cancer:regress', { examples: [{ features: wdbc.rows[0] }] });
      expect(regress.status).toBe(400);
      expect(regress.body.error).toMatch(
        /:regress needs an output of one float per example, shaped \[-1\] or \[-1,1\]; model "breast-cancer" version 1 has outputs "probabilities" FP32 \[-1,2\], "label" INT64 \[-1\]; use :predict/,
      );
      const classify = await predict('tf-vector:classify', { examples: [{ x: 1 }] });
      expect(classify.status).toBe(400);
      expect(classify.body.error).toMatch(
        /:classify needs an output of class scores, a float tensor shaped \[-1,K\]/,
      );
      const bytes = await predict('tf-bytes:classify', { examples: [{ x: 'a' }] });
      expect(bytes.status).toBe(400);
      const shape = await predict('tf-sum:classify', { examples: [{ x: [1, 2, 3] }] });
      expect(shape.body.error).toMatch(/:classify needs an output of class scores/);
    });

    it('refuses examples that do not fit the inputs, with 400 and what is allowed', async () => {
      const row = wdbc.rows[0]!;
      const cases: [string, unknown, RegExp][] = [
        [
          'breast-cancer:classify',
          { examples: [] },
          /"examples" is an array of 0 elements; :classify needs a non-empty list/,
        ],
        ['breast-cancer:classify', { instances: [row] }, /"examples" is missing/],
        [
          'breast-cancer:classify',
          { examples: [row] },
          /examples\[0\] is .*; each example must be an object of features/,
        ],
        [
          'breast-cancer:classify',
          { examples: [{ features: row.slice(0, 29) }] },
          /examples\[0\]\.features is .*; input "features" \[-1,30\] takes a list of 30 values per example/,
        ],
        ['breast-cancer:classify', { examples: [{ features: 1 }] }, /takes a list of 30 values per example/],
        [
          'breast-cancer:classify',
          { examples: [{ features: row, age: 50 }] },
          /examples\[0\] has feature "age", which is not an input; features map to inputs by name: "features" FP32 \[-1,30\]/,
        ],
        [
          'breast-cancer:classify',
          { signature_name: 'tensorflow/serving/classify', examples: [{ features: row }] },
          /signature "tensorflow\/serving\/classify" does not exist/,
        ],
        [
          'tf-half:regress',
          { examples: [{ x: 1 }] },
          /examples\[0\] has no feature "offset" \(nor has "context"\)/,
        ],
        [
          'tf-half:regress',
          { context: { offset: 1 }, examples: [{ x: 1, offset: 2 }] },
          /feature "offset" is in both "context" and examples\[0\]/,
        ],
        [
          'tf-half:regress',
          { context: { other: 1 }, examples: [{ x: 1 }] },
          /"context" has feature "other", which is not an input/,
        ],
        [
          'tf-half:regress',
          { context: [1], examples: [{ x: 1 }] },
          /"context" is an array of 1 element; it must be an object/,
        ],
        [
          'tf-half:regress',
          { context: { offset: 1 }, examples: [{ x: '1' }] },
          /examples\[0\]\.x is a string; input "x" is FP32, which takes JSON numbers/,
        ],
        [
          'tf-half:regress',
          { context: { offset: 1 }, examples: [{ x: [1, 2] }] },
          /input "x" \[-1,1\] takes one value per example/,
        ],
        [
          'tf-multi:regress',
          { examples: [{ signal: [1, 2, 3], tag: 'a' }] },
          /:regress needs an output of one float per example/,
        ],
      ];
      for (const [path, body, message] of cases) {
        const res = await predict(path, body);
        expect(res.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(400);
        expect(res.body.error, `${path} ${JSON.stringify(body).slice(0, 80)}`).toMatch(message);
      }
    });
  });

  describe('security', () => {
    it('needs a key (401), the infer permission for predictions (403), and audits every call', async () => {
      const auditor = await server.key('auditor');
      const service = await server.key('service');
      const body = { instances: [wdbc.rows[0]] };
      const before = await server.call('GET', '/api/v1/audit?limit=1000', { key: auditor });
      const start = before.body.records.at(-1)?.seq ?? 0;

      expect((await predict('breast-cancer:predict', body, null)).status).toBe(401);
      expect((await server.call('GET', '/v1/models/breast-cancer', { key: null })).status).toBe(401);
      const denied = await predict('breast-cancer:predict', body, auditor);
      expect(denied.status).toBe(403);
      expect(Object.keys(denied.body)).toEqual(['error']);
      expect(
        (await predict('breast-cancer:classify', { examples: [{ features: wdbc.rows[0] }] }, auditor)).status,
      ).toBe(403);
      expect((await server.call('GET', '/v1/models/breast-cancer/metadata', { key: auditor })).status).toBe(
        200,
      );
      expect((await server.call('GET', '/v1/models/breast-cancer', { key: auditor })).status).toBe(200);
      expect((await predict('breast-cancer:predict', body, service)).status).toBe(200);
      expect((await predict('breast-cancer:predict', { instances: [[1]] }, service)).status).toBe(400);

      // Inference records may be written just behind the response (group commit): wait for all five.
      let after = await server.call('GET', `/api/v1/audit?after=${start}`, { key: auditor });
      for (let i = 0; i < 100 && after.body.records.length < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        after = await server.call('GET', `/api/v1/audit?after=${start}`, { key: auditor });
      }
      expect(after.body.records.map((r: any) => [r.action, r.status, r.role, r.model, r.version])).toEqual([
        ['infer', 401, null, 'breast-cancer', null],
        ['infer', 403, 'auditor', 'breast-cancer', null],
        ['infer', 403, 'auditor', 'breast-cancer', null],
        ['infer', 200, 'service', 'breast-cancer', 1],
        ['infer', 400, 'service', 'breast-cancer', 1],
      ]);
    });
  });
});
