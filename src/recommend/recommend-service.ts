/**
 * Recommendations from a served ranking model: each patient's feature names are scored by the
 * version's graph (through serving, so batching, metrics and audit are those of any inference),
 * then the top k are taken after the exclusion rules, applied after scoring and stated in the
 * answer: items already given to the patient, items the request rules out, and the version's
 * contraindications (an item never recommended to a patient with a feature). Excluded items that
 * would have made the list are listed with their reason and score.
 */
import { GalenError, assertCan } from '../core/index.js';
import type { Actor, RankingSpec } from '../core/index.js';
import type { InferenceService } from '../serving/index.js';

export interface PatientRequest {
  /** The caller's reference, echoed back (never stored). */
  id?: string | undefined;
  /** Feature names as the model knows them (e.g. "dx:4280", "gender:F"). */
  features: string[];
  /** Items the patient already has: not recommended again. */
  exclude?: string[] | undefined;
  /** Items ruled out for this patient (allergies, interactions), with the reason to state. */
  contraindicated?: { items: string[]; reason: string }[] | undefined;
}

export interface RecommendRequest {
  model: string;
  version?: string | undefined;
  patients: PatientRequest[];
  /** Items per patient (default 10, at most 100). */
  k?: number | undefined;
}

export interface Recommendation {
  item: string;
  score: number;
  rank: number;
}

export interface PatientAnswer {
  id?: string;
  recommendations: Recommendation[];
  /** Items that scored into the list but were ruled out, with why. */
  excluded: { item: string; score: number; reason: string }[];
  /** Feature names the model does not know, which did not count. */
  unknownFeatures: string[];
}

export interface RecommendAnswer {
  model_name: string;
  model_version: string;
  k: number;
  rules: { contraindications: number };
  patients: PatientAnswer[];
}

/** What serving offers: a version's signature, and running it. */
export type RankingModels = Pick<InferenceService, 'metadata' | 'infer'>;

export const RECOMMEND_LIMITS = { patients: 256, k: 100, features: 1000 } as const;

export class RecommendService {
  constructor(private readonly served: RankingModels) {}

  async recommend(request: RecommendRequest, actor: Actor): Promise<RecommendAnswer> {
    assertCan(actor, 'infer', 'ask for recommendations');
    const k = request.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > RECOMMEND_LIMITS.k)
      throw new GalenError('invalid_input', `k is ${k}; ask for 1 to ${RECOMMEND_LIMITS.k} items`);
    const n = request.patients.length;
    if (n < 1 || n > RECOMMEND_LIMITS.patients)
      throw new GalenError(
        'invalid_input',
        `${n} patients; send 1 to ${RECOMMEND_LIMITS.patients} at a time`,
      );
    const meta = await this.served.metadata(request.model, request.version);
    const spec = meta.signature.ranking;
    if (!spec) {
      throw new GalenError(
        'invalid_input',
        `model "${meta.name}" version ${meta.version} does not rank items (its ONNX declares no "galen.ranking"); use /infer`,
      );
    }
    const known = new Set(spec.features);
    const items = new Set(spec.items);
    request.patients.forEach((p, i) => {
      if (p.features.length > RECOMMEND_LIMITS.features)
        throw new GalenError(
          'invalid_input',
          `patients[${i}] has ${p.features.length} features; at most ${RECOMMEND_LIMITS.features}`,
        );
      if (p.features.includes(''))
        throw new GalenError('invalid_input', `patients[${i}] has an empty feature name`);
      for (const item of [...(p.exclude ?? []), ...(p.contraindicated ?? []).flatMap((c) => c.items)]) {
        if (!items.has(item))
          throw new GalenError(
            'invalid_input',
            `patients[${i}] rules out "${item}", which ${meta.name}:${meta.version} does not recommend (check the spelling against its items)`,
          );
      }
    });
    // Each name once: the graph averages over the names it is given.
    const features = request.patients.map((p) => [...new Set(p.features)]);
    const width = features.reduce((w, f) => Math.max(w, f.length), 1);
    const names = features.flatMap((f) => [...f, ...Array<string>(width - f.length).fill('')]);
    const result = await this.served.infer({
      model: meta.name,
      version: String(meta.version),
      inputs: [
        {
          name: spec.input,
          datatype: 'BYTES',
          shape: [n, width],
          data: names.map((s) => Buffer.from(s, 'utf8')),
        },
      ],
      outputs: [spec.output],
      protocol: 'recommend',
    });
    const scores = Array.from(result.outputs[0]!.data as ArrayLike<number>, Number);
    const m = spec.items.length;
    return {
      model_name: meta.name,
      model_version: String(result.version),
      k,
      rules: { contraindications: spec.contraindications.length },
      patients: request.patients.map((p, i) => ({
        ...(p.id !== undefined && { id: p.id }),
        ...topK(spec, p, scores.slice(i * m, (i + 1) * m), k),
        unknownFeatures: features[i]!.filter((f) => !known.has(f)),
      })),
    };
  }
}

/** Why an item is ruled out for this patient, or undefined. */
function exclusions(spec: RankingSpec, patient: PatientRequest): Map<string, string> {
  const why = new Map<string, string>();
  for (const c of patient.contraindicated ?? [])
    for (const item of c.items) why.set(item, `contraindicated: ${c.reason}`);
  const features = new Set(patient.features);
  for (const rule of spec.contraindications)
    if (features.has(rule.when))
      for (const item of rule.items)
        if (!why.has(item)) why.set(item, `contraindicated with ${rule.when}: ${rule.reason}`);
  for (const item of patient.exclude ?? []) if (!why.has(item)) why.set(item, 'already prescribed');
  return why;
}

function topK(
  spec: RankingSpec,
  patient: PatientRequest,
  scores: number[],
  k: number,
): Pick<PatientAnswer, 'recommendations' | 'excluded'> {
  const why = exclusions(spec, patient);
  const order = scores.map((_, j) => j).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const recommendations: Recommendation[] = [];
  const excluded: PatientAnswer['excluded'] = [];
  for (const j of order) {
    if (recommendations.length === k) break;
    const item = spec.items[j]!;
    const reason = why.get(item);
    if (reason === undefined)
      recommendations.push({ item, score: scores[j]!, rank: recommendations.length + 1 });
    else excluded.push({ item, score: scores[j]!, reason });
  }
  return { recommendations, excluded };
}
