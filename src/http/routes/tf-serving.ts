/**
 * TensorFlow Serving's REST API over Galen's ONNX models, so TF Serving clients work unchanged:
 * model status, metadata (one signature, `serving_default`), :predict in row and columnar form,
 * and :classify / :regress where the model's outputs allow. Each on `/v1/models/{m}`,
 * `…/versions/{v}` and `…/labels/{l}`, a label being a Galen alias.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { GalenError } from '../../core/index.js';
import type { Datatype, Signature, TensorSpec } from '../../core/index.js';
import { parseVersionRef } from '../../registry/index.js';
import { alternativeInputs, servedInputs } from '../../serving/index.js';
import type { ModelVersion } from '../../registry/index.js';
import {
  classificationResults,
  decodeExamples,
  regressionResults,
  scoreOutput,
} from './tf-serving-examples.js';
import type { ExampleVerb } from './tf-serving-examples.js';
import { decodePredictRequest, encodeColumns, encodeRows } from './tf-serving-json.js';

const SIGNATURE = 'serving_default';
const PROTOCOL = 'tfserving';

const ModelParams = Type.Object({
  model: Type.String(),
  version: Type.Optional(Type.String()),
  label: Type.Optional(Type.String()),
});
type ModelParams = Static<typeof ModelParams>;

const PredictBody = Type.Object({
  signature_name: Type.Optional(Type.String()),
  instances: Type.Optional(Type.Unknown()),
  inputs: Type.Optional(Type.Unknown()),
});
type PredictBody = Static<typeof PredictBody>;

const ExamplesBody = Type.Object({
  signature_name: Type.Optional(Type.String()),
  context: Type.Optional(Type.Unknown()),
  examples: Type.Optional(Type.Unknown()),
});
type ExamplesBody = Static<typeof ExamplesBody>;

/** TF's names for the datatypes, as its metadata prints them. */
const TF_DTYPES: Readonly<Record<Datatype, string>> = {
  BOOL: 'DT_BOOL',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  FP16: 'DT_HALF',
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  BYTES: 'DT_STRING',
};

const MODEL_URLS = [
  '/v1/models/:model',
  '/v1/models/:model/versions/:version',
  '/v1/models/:model/labels/:label',
] as const;

/** `…/:last` + verb: the last parameter stops at the colon before the verb (`::` is a literal colon). */
const verbUrl = (url: string, verb: string): string => `${url}(^[^:/]+)::${verb}`;

/** The version reference of a TF URL: a number after /versions/, an alias after /labels/. */
function refOf(params: ModelParams): string | undefined {
  const { model, version, label } = params;
  const last = label ?? version ?? model;
  if (last.includes(':')) {
    // Only the GET routes let a colon through (names never contain one): a verb sent with GET.
    throw new GalenError(
      'not_found',
      `"${last}" is not a model, version or label; TF Serving's :predict, :classify and :regress take POST`,
    );
  }
  if (version !== undefined && 'alias' in parseVersionRef(version)) {
    throw new GalenError(
      'invalid_input',
      `"${version}" is not a version number; a label (Galen alias) goes in /v1/models/${model}/labels/${version}`,
    );
  }
  if (label !== undefined && 'version' in parseVersionRef(label)) {
    throw new GalenError(
      'invalid_input',
      `"${label}" is a version number, not a label; use /v1/models/${model}/versions/${label}`,
    );
  }
  return version ?? label;
}

function checkSignature(name: string | undefined): void {
  if (name !== undefined && name !== '' && name !== SIGNATURE) {
    throw new GalenError(
      'invalid_input',
      `signature "${name}" does not exist; this model has one signature, "${SIGNATURE}" (or leave out "signature_name")`,
    );
  }
}

const OK = { error_code: 'OK', error_message: '' };

/**
 * One `model_version_status` entry. Galen loads versions on demand, so the version a call would
 * use is loaded now (as OIP readiness does); others are AVAILABLE when loaded, START (known, not
 * loaded, loads on first use) otherwise, and END when the model was unloaded or failed to load.
 */
async function versionStatus(galen: Galen, v: ModelVersion, load: boolean): Promise<unknown> {
  const entry = (state: string, status = OK): unknown => ({ version: String(v.version), state, status });
  if (galen.models.isUnloaded(v.model)) return entry('END');
  if (galen.models.isLoaded(v)) return entry('AVAILABLE');
  if (!load) return entry('START');
  if (await galen.inference.ready(v.model, String(v.version))) return entry('AVAILABLE');
  return entry('END', {
    error_code: 'UNKNOWN',
    error_message: `model "${v.model}" version ${v.version} could not be loaded; the server log has the reason`,
  });
}

function tensorInfo(spec: TensorSpec): unknown {
  return {
    dtype: TF_DTYPES[spec.datatype],
    tensor_shape: { dim: spec.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false },
    name: spec.name,
  };
}

const byName = (specs: readonly TensorSpec[]): Record<string, unknown> =>
  Object.fromEntries(specs.map((s) => [s.name, tensorInfo(s)]));

/**
 * The signature a :predict body is read against: a model with an alternative input takes it (BYTES:
 * one `{"b64": …}` image file, or one SMILES string, per instance) in place of the graph input it
 * feeds, when the body names it.
 */
function predictSignature(body: { instances?: unknown; inputs?: unknown }, signature: Signature): Signature {
  const images = alternativeInputs(signature).map((a) => ({ name: a.spec.name, into: a.into }));
  if (images.length === 0) return signature;
  const first: unknown = Array.isArray(body.instances) ? body.instances[0] : body.inputs;
  const named = (name: string): boolean => typeof first === 'object' && first !== null && name in first;
  const used = images.filter((i) => named(i.name));
  if (used.length === 0) return signature;
  return {
    ...signature,
    inputs: [
      ...used.map((i): TensorSpec => ({ name: i.name, datatype: 'BYTES', shape: [-1] })),
      ...signature.inputs.filter((s) => !used.some((i) => i.into === s.name)),
    ],
  };
}

/** Resolves the version once and pins the call to it, so the signature decoded against is the one run. */
async function resolveFor(galen: Galen, request: FastifyRequest): Promise<ModelVersion> {
  const params = request.params as ModelParams;
  request.auditFacts = { model: params.model };
  const target = await galen.registry.resolve(params.model, refOf(params));
  request.auditFacts = { model: params.model, version: target.version };
  return target;
}

export function tfServingRoutes(app: FastifyInstance, galen: Galen): void {
  const read = { errorFormat: 'oip' as const, permission: 'model:read' as const };
  const infer = { errorFormat: 'oip' as const, permission: 'infer' as const, audit: 'infer' };

  for (const url of MODEL_URLS) {
    app.get(url, { schema: { params: ModelParams }, config: read }, async (request) => {
      const params = request.params as ModelParams;
      const ref = refOf(params);
      const target = await galen.registry.resolve(params.model, ref);
      if (ref !== undefined) return { model_version_status: [await versionStatus(galen, target, true)] };
      const detail = await galen.registry.getModel(params.model);
      const live = detail.versions.filter((v) => !v.archived);
      return {
        model_version_status: await Promise.all(
          live.map((v) => versionStatus(galen, v, v.version === target.version)),
        ),
      };
    });

    app.get(`${url}/metadata`, { schema: { params: ModelParams }, config: read }, async (request) => {
      const params = request.params as ModelParams;
      const meta = await galen.inference.metadata(params.model, refOf(params));
      return {
        model_spec: { name: meta.name, signature_name: '', version: String(meta.version) },
        metadata: {
          signature_def: {
            signature_def: {
              [SIGNATURE]: {
                inputs: byName(servedInputs(meta.signature)),
                outputs: byName(meta.signature.outputs),
                method_name: 'tensorflow/serving/predict',
              },
            },
          },
        },
      };
    });

    app.post(
      verbUrl(url, 'predict'),
      { schema: { params: ModelParams, body: PredictBody }, config: infer },
      async (request) => {
        const body = request.body as PredictBody;
        checkSignature(body.signature_name);
        const target = await resolveFor(galen, request);
        const { format, inputs } = decodePredictRequest(body, predictSignature(body, target.signature));
        const result = await galen.inference.infer({
          model: target.model,
          version: String(target.version),
          inputs,
          protocol: PROTOCOL,
        });
        request.inferenceTiming = result;
        return format === 'row'
          ? { predictions: encodeRows(result.outputs) }
          : { outputs: encodeColumns(result.outputs) };
      },
    );

    for (const verb of ['classify', 'regress'] as const satisfies readonly ExampleVerb[]) {
      app.post(
        verbUrl(url, verb),
        { schema: { params: ModelParams, body: ExamplesBody }, config: infer },
        async (request) => {
          const body = request.body as ExamplesBody;
          checkSignature(body.signature_name);
          const target = await resolveFor(galen, request);
          const label = `model "${target.model}" version ${target.version}`;
          const output = scoreOutput(verb, target.signature, label);
          const result = await galen.inference.infer({
            model: target.model,
            version: String(target.version),
            inputs: decodeExamples(verb, body, target.signature),
            outputs: [output.name],
            protocol: PROTOCOL,
          });
          request.inferenceTiming = result;
          const scores = result.outputs[0]!;
          return { results: verb === 'classify' ? classificationResults(scores) : regressionResults(scores) };
        },
      );
    }
  }

  // Anything else under /v1 answers as TF Serving does, with what the API offers.
  app.all('/v1/*', { config: read }, (request) =>
    Promise.reject(
      new GalenError(
        'not_found',
        `no TF Serving endpoint ${request.method} ${request.url.split('?')[0]}; there are GET /v1/models/{model}[/versions/{version}|/labels/{label}][/metadata] and POST /v1/models/{model}[/versions/{version}|/labels/{label}]:predict, :classify and :regress`,
      ),
    ),
  );
}
