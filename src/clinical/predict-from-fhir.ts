/**
 * A prediction for one patient from their FHIR data: the version's feature map evaluated against
 * the Bundle, the model run through the ordinary inference path, and the answer as a FHIR R4
 * RiskAssessment — status, subject, occurrence, the model and version as `method`, the resources
 * used as `basis`, one prediction per class (the positive class for two), and a note naming the
 * inputs the data had nothing for.
 */
import { randomUUID } from 'node:crypto';
import type { RiskAssessment } from '@medplum/fhirtypes';
import { GalenError, isGalenError } from '../core/index.js';
import type { Clock, Tensor } from '../core/index.js';
import { evaluateFeatures, patientData, storedFeatureMap } from '../fhir/index.js';
import type { ModelRegistry, ModelVersion } from '../registry/index.js';
import type { Cell, ExplainResult, ExplainService } from '../explain/index.js';
import type { InferenceService } from '../serving/index.js';

export const GALEN_MODEL_SYSTEM = 'urn:galen:model';

export interface FhirPredictRequest {
  model: string;
  /** Version number or alias; the production alias (else the latest version) when omitted. */
  version?: string | undefined;
  bundle: unknown;
  /** `Patient/{id}/$predict`: the Bundle's patient must be this one. */
  patientId?: string | undefined;
  /** The evaluation time (default the clock's now): ages are computed at this time. */
  at?: Date;
  protocol: string;
}

/** What explains a FHIR prediction when the version has an explainer: cheap settings, a short deadline. */
const RATIONALE = { top: 3, kernelCoalitions: 512, kernelBackground: 20, timeoutMs: 2000 } as const;

/**
 * The main contributions to one prediction, in words: the `RATIONALE.top` inputs with the largest
 * Shapley values. Undefined when the version has no explainer; `{ failed }` when explaining did
 * not work (a prediction is never refused for want of its rationale, but the answer says why).
 */
async function rationaleOf(
  explain: ExplainService,
  version: ModelVersion,
  inputs: Tensor[],
  outcome: string,
): Promise<string | { failed: string } | undefined> {
  let result: ExplainResult;
  try {
    result = await explain.explainRows(version, {
      model: version.model,
      inputs,
      maxCoalitions: RATIONALE.kernelCoalitions,
      backgroundRows: RATIONALE.kernelBackground,
      timeoutMs: RATIONALE.timeoutMs,
    });
  } catch (err) {
    if (isGalenError(err) && err.code === 'precondition_failed') return undefined; // no explainer
    return { failed: err instanceof Error ? err.message : String(err) };
  }
  const [row] = result.explanations;
  if (!row) return undefined;
  const shown = (value: Cell): string =>
    value === null
      ? 'no data'
      : typeof value === 'number'
        ? String(Math.round(value * 1000) / 1000)
        : String(value);
  const parts = row.attributions
    .slice(0, RATIONALE.top)
    .map((a) => `${a.name} ${shown(a.value)} (${a.shap >= 0 ? '+' : '−'}${Math.abs(a.shap).toFixed(2)})`);
  const units = result.output.explained.startsWith('log-odds') ? 'log-odds' : 'output';
  return `Main contributions to the ${units} of ${outcome}, against ${result.settings.backgroundRows} training rows (${result.exact ? 'exact' : 'estimated'} Shapley values): ${parts.join(', ')}.`;
}

/** The patient's RiskAssessment (see `assessFromFhir`). */
export async function predictFromFhir(
  deps: { registry: ModelRegistry; inference: InferenceService; explain?: ExplainService; clock: Clock },
  request: FhirPredictRequest,
): Promise<RiskAssessment> {
  return (await assessFromFhir(deps, request)).assessment;
}

/**
 * The patient's RiskAssessment, and which inputs lay outside the model's training ranges (also a
 * note of the assessment), for callers that raise a card's indicator on it.
 */
export async function assessFromFhir(
  deps: Parameters<typeof predictFromFhir>[0],
  request: FhirPredictRequest,
): Promise<{ assessment: RiskAssessment; outOfRange?: string }> {
  const version = await deps.registry.resolve(request.model, request.version);
  const map = storedFeatureMap((await deps.registry.getFeatureMap(version.model, version.version)).map);
  const at = request.at ?? new Date(deps.clock.now());
  const data = patientData(request.bundle);
  if (request.patientId !== undefined && data.patient.id !== request.patientId) {
    throw new GalenError(
      'invalid_input',
      // Neither id: a patient's id is an identifier, and the caller has both.
      `the operation was called on the Patient its URL names, but the Bundle's Patient has ${data.patient.id ? 'another id' : 'no id'}; send that patient's Bundle, or call /fhir/Patient/$predict`,
    );
  }
  const features = evaluateFeatures(map, data, at);
  if (features.refused.length > 0) {
    throw new GalenError(
      'precondition_failed',
      `required data unavailable: the patient's data has nothing for ${features.refused.join(', ')}, which the feature map requires`,
      { details: { missing: features.refused } },
    );
  }
  const inputs = version.signature.inputs.map((spec): Tensor => {
    const value = features.values[spec.name] ?? null;
    if (spec.datatype === 'BYTES') {
      return {
        name: spec.name,
        datatype: 'BYTES',
        shape: [1, 1],
        data: [Buffer.from(value === null ? '' : String(value))],
      };
    }
    const number = value === null ? Number.NaN : Number(value);
    return spec.datatype === 'FP64'
      ? { name: spec.name, datatype: 'FP64', shape: [1, 1], data: Float64Array.of(number) }
      : { name: spec.name, datatype: 'FP32', shape: [1, 1], data: Float32Array.of(number) };
  });
  if (!version.signature.outputs.some((o) => o.name === 'probabilities')) {
    throw new GalenError(
      'invalid_input',
      `model "${version.model}" version ${version.version} has no "probabilities" output; a RiskAssessment needs a classifier`,
    );
  }
  // The prediction's id: the RiskAssessment's (and a CDS card's uuid), and what monitoring labels it by.
  const id = randomUUID();
  const result = await deps.inference.infer({
    model: version.model,
    version: String(version.version),
    id,
    inputs,
    outputs: ['probabilities'],
    protocol: request.protocol,
  });
  const probabilities = Array.from(result.outputs[0]!.data as Float32Array);
  const classes =
    (version.lineage.parameters?.['classes'] as string[] | null | undefined) ??
    probabilities.map((_, i) => `class ${i}`);
  const shown = probabilities.length === 2 ? [1] : probabilities.map((_, i) => i);
  const outcomeOf = (i: number): string =>
    (probabilities.length === 2 ? map.outcome : undefined) ?? classes[i] ?? `class ${i}`;
  // Two classes: why the positive one. More: why the predicted one.
  const explained = probabilities.length === 2 ? 1 : probabilities.indexOf(Math.max(...probabilities));
  const explanation =
    deps.explain && (await rationaleOf(deps.explain, version, inputs, outcomeOf(explained)));
  const rationale = typeof explanation === 'string' ? explanation : undefined;
  const notes = [
    ...(features.missing.length > 0
      ? [
          {
            text: `No data for ${features.missing.join(', ')}: ${features.missing
              .map((name) => {
                const policy = map.inputs[name]!.missing;
                return policy.policy === 'value'
                  ? `${name} taken as ${JSON.stringify(policy.value)}`
                  : `${name} left to the model's imputation`;
              })
              .join('; ')}.`,
          },
        ]
      : []),
    ...(typeof explanation === 'object'
      ? [{ text: `No rationale: the explanation failed (${explanation.failed}).` }]
      : []),
    ...(result.outOfRange !== undefined ? [{ text: outOfRangeNote(result.outOfRange) }] : []),
  ];
  const patientRef = data.referenceOf.get(data.patient)!;
  const assessment: RiskAssessment = {
    resourceType: 'RiskAssessment',
    id,
    status: 'final',
    subject: { reference: patientRef },
    occurrenceDateTime: at.toISOString(),
    method: {
      coding: [
        {
          system: GALEN_MODEL_SYSTEM,
          code: `${version.model}:${version.version}`,
          display: version.description || `model ${version.model} version ${version.version}`,
        },
      ],
      text: `Galen model "${version.model}" version ${version.version}`,
    },
    basis: features.basis.map((reference) => ({ reference })),
    prediction: shown.map((i) => ({
      outcome: { text: outcomeOf(i) },
      probabilityDecimal: Math.round(probabilities[i]! * 1e6) / 1e6,
      ...(rationale !== undefined && i === explained && { rationale }),
    })),
    ...(notes.length > 0 && { note: notes }),
  };
  return { assessment, ...(result.outOfRange !== undefined && { outOfRange: result.outOfRange }) };
}

/** The note an answer carries when the patient's values lie outside what the model was trained on. */
function outOfRangeNote(outOfRange: string): string {
  return `Outside the training data: ${outOfRange}. The model was not trained on such values; the prediction is an extrapolation and may be unreliable.`;
}

/**
 * The operation's input: a Bundle as the body (model and version in the query), or, as FHIR
 * operations take it, a Parameters resource with `bundle` (resource) and optionally `model` and
 * `version` (valueString), which win over the query.
 */
export function predictOperationInput(
  body: unknown,
  query: { model?: string | undefined; version?: string | undefined },
): { model: string; version: string | undefined; bundle: unknown } {
  let { model, version } = query;
  let bundle = body;
  const resource = body as { resourceType?: unknown; parameter?: unknown } | null;
  if (resource?.resourceType === 'Parameters') {
    if (resource.parameter !== undefined && !Array.isArray(resource.parameter)) {
      throw new GalenError('invalid_input', 'Parameters.parameter must be an array of parameters');
    }
    const parameters = (resource.parameter ?? []) as {
      name?: unknown;
      valueString?: unknown;
      resource?: unknown;
    }[];
    const named = (name: string) => parameters.find((p) => p?.name === name);
    const text = (name: string): string | undefined => {
      const value = named(name)?.valueString;
      return typeof value === 'string' ? value : undefined;
    };
    model = text('model') ?? model;
    version = text('version') ?? version;
    bundle = named('bundle')?.resource;
    if (bundle === undefined) {
      throw new GalenError(
        'invalid_input',
        'the Parameters resource has no "bundle" parameter holding the patient\'s Bundle (parameter[].resource)',
      );
    }
  }
  if (model === undefined || model === '') {
    throw new GalenError(
      'invalid_input',
      'name the model: ?model=<name>, or a "model" parameter (valueString) in a Parameters body',
    );
  }
  return { model, version, bundle };
}
