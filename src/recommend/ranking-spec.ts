/**
 * A recommender's declaration in its ONNX metadata (key `galen.ranking`): which input takes the
 * patient's feature names, which output scores the items, the items in column order, the feature
 * vocabulary, and contraindication rules (items never recommended to a patient with a feature).
 * Checked against the graph when the version is registered; any ONNX model can declare it.
 */
import { declaredJson, modelMetadataError } from '../core/index.js';
import type { RankingSpec, Signature, GalenError } from '../core/index.js';

export const RANKING_METADATA_KEY = 'galen.ranking';

const SHAPE =
  '{"input", "output", "items": [...], "features": [...], "contraindications": [{"when": feature, "items": [...], "reason"}]}';

const bad = (why: string): GalenError => modelMetadataError(RANKING_METADATA_KEY, `${why}; it is ${SHAPE}`);

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Checks contraindication rules against the items: each names a feature, known items and a reason. */
export function parseContraindications(
  raw: unknown,
  items: readonly string[],
  fail: (why: string) => never,
): RankingSpec['contraindications'] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return fail('"contraindications" is a list');
  const known = new Set(items);
  return raw.map((r: unknown, i) => {
    const rule = r as { when?: unknown; items?: unknown; reason?: unknown } | null;
    if (
      typeof rule?.when !== 'string' ||
      !strings(rule.items) ||
      typeof rule.reason !== 'string' ||
      rule.reason === ''
    )
      return fail(`contraindications[${i}] is not {"when": feature, "items": [...], "reason": text}`);
    const unknown = rule.items.find((item) => !known.has(item));
    if (unknown !== undefined)
      return fail(`contraindications[${i}] names item "${unknown}", which the model does not score`);
    return { when: rule.when, items: [...rule.items], reason: rule.reason };
  });
}

/** The ranking a model declares, checked against its graph; undefined when it declares none. */
export function rankingSpecOf(
  metadata: Readonly<Record<string, string>>,
  signature: Signature,
): RankingSpec | undefined {
  const declared = declaredJson(metadata, RANKING_METADATA_KEY);
  if (declared === undefined) return undefined;
  if (typeof declared !== 'object' || declared === null || Array.isArray(declared))
    throw bad('it is not an object');
  const parsed = declared as Record<string, unknown>;
  const { input, output, items, features } = parsed;
  if (typeof input !== 'string' || typeof output !== 'string' || !strings(items) || !strings(features))
    throw bad('"input", "output", "items" and "features" are missing or of the wrong type');
  if (new Set(items).size !== items.length) throw bad('"items" repeats an item');
  const inSpec = signature.inputs.find((i) => i.name === input);
  if (!inSpec || inSpec.datatype !== 'BYTES' || inSpec.shape.length !== 2)
    throw bad(`"input" is "${input}", which must be a BYTES graph input of shape [-1, -1]`);
  const outSpec = signature.outputs.find((o) => o.name === output);
  if (
    !outSpec ||
    (outSpec.datatype !== 'FP32' && outSpec.datatype !== 'FP64') ||
    outSpec.shape.length !== 2 ||
    (outSpec.shape[1] !== -1 && outSpec.shape[1] !== items.length)
  )
    throw bad(
      `"output" is "${output}", which must be an FP32 graph output of shape [-1, ${items.length}] (one score per item)`,
    );
  return {
    input,
    output,
    items: [...items],
    features: [...features],
    contraindications: parseContraindications(parsed['contraindications'], items, (why) => {
      throw bad(why);
    }),
  };
}
