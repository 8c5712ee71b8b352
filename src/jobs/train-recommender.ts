/**
 * Treatment recommenders from interaction tables: the job's dataset holds who was given what (a
 * user column and the item column `target`, e.g. admissions and drugs, with an optional outcome
 * score); other datasets give users' features (e.g. diagnoses) and items' features (e.g. route).
 * A LightFM-style hybrid is trained with a ranking loss (WARP or BPR) on the training part of a
 * split, compiled to one ONNX graph that declares its ranking (`galen.ranking`: items, feature
 * vocabulary, contraindications), and evaluated by that graph in Galen's runtime against
 * popularity and item-kNN on the same held-out interactions.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import Value from 'typebox/value';
import { GALEN_VERSION, GalenError, assertCan } from '../core/index.js';
import type { Actor } from '../core/index.js';
import type { ParsedTable } from '../datasets/index.js';
import { tableSchemaOf } from '../registry/index.js';
import type { DatasetRegistry, DatasetVersion } from '../registry/index.js';
import {
  RANKING_METADATA_KEY,
  buildRecommenderDataset,
  drugName,
  evaluateRanking,
  fitItemKnn,
  itemKnnScores,
  parseContraindications,
  popularityScores,
  recommenderGraph,
  splitColdStartUsers,
  splitInteractions,
  trainHybridRecommender,
} from '../recommend/index.js';
import type { RankingEvaluation, RecommenderDataset } from '../recommend/index.js';
import { withEvaluationModel } from './evaluation-run.js';
import { lineageOf } from './training-table.js';
import type { TrainModelDeps, TrainModelHooks, TrainModelRequest, TrainModelResult } from './train-model.js';

export const FeatureSourceSchema = Type.Object(
  {
    dataset: Type.String({ minLength: 1 }),
    version: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Default: the latest, pinned when the job is queued.' }),
    ),
    key: Type.String({
      minLength: 1,
      description: 'The column naming the user (or item) each row describes.',
    }),
    feature: Type.String({ minLength: 1, description: 'The column whose value is the feature.' }),
    prefix: Type.Optional(Type.String({ maxLength: 40, description: 'Put before each value, e.g. "dx:".' })),
    truncate: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'Keep the first characters only.' }),
    ),
  },
  { additionalProperties: false },
);

export const RecommenderOptionsSchema = Type.Object(
  {
    user: Type.String({
      minLength: 1,
      description: 'The column naming the user (e.g. HADM_ID); `target` names the item.',
    }),
    group: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A column grouping users (e.g. SUBJECT_ID for admissions): with split "users", a group is held out whole.',
      }),
    ),
    score: Type.Optional(
      Type.String({ minLength: 1, description: 'An outcome score column (explicit feedback).' }),
    ),
    minScore: Type.Optional(Type.Number()),
    weightByScore: Type.Optional(Type.Boolean()),
    userFeatures: Type.Optional(Type.Array(FeatureSourceSchema, { maxItems: 20 })),
    itemFeatures: Type.Optional(Type.Array(FeatureSourceSchema, { maxItems: 20 })),
    normalizeItems: Type.Optional(Type.Boolean()),
    loss: Type.Optional(Type.Union([Type.Literal('warp'), Type.Literal('bpr')])),
    components: Type.Optional(Type.Integer({ minimum: 1, maximum: 512 })),
    epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    learningRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 })),
    split: Type.Optional(Type.Union([Type.Literal('interactions'), Type.Literal('users')])),
    contraindications: Type.Optional(
      Type.Array(
        Type.Object(
          {
            when: Type.String({ minLength: 1 }),
            items: Type.Array(Type.String()),
            reason: Type.String({ minLength: 1 }),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'A hybrid recommender: `dataset` holds interactions (user column, `target` = item column), feature tables describe users and items.',
  },
);

export type FeatureSource = Static<typeof FeatureSourceSchema>;
export type RecommenderTrainingOptions = Static<typeof RecommenderOptionsSchema>;

/** A recommender's options from JSON (a job, or the CLI's file), checked against the schema. */
export function parseRecommenderOptions(raw: unknown): RecommenderTrainingOptions {
  if (Value.Check(RecommenderOptionsSchema, raw)) return raw;
  const problems = [...Value.Errors(RecommenderOptionsSchema, raw)]
    .slice(0, 5)
    .map(
      (e) => `${e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(options)'}: ${e.message}`,
    );
  throw new GalenError('invalid_input', `the recommender options are not valid: ${problems.join('; ')}`);
}

/**
 * Checks a recommender request before it is queued or run: what it may not be asked, and that its
 * datasets and columns exist. Feature datasets are pinned to the version found, so a queued or
 * rerun job reads the data that was checked. Returns the options with the versions.
 */
export async function pinRecommenderRequest(
  datasets: DatasetRegistry,
  request: TrainModelRequest,
  dataset: DatasetVersion,
  actor: Actor,
): Promise<RecommenderTrainingOptions> {
  const r = parseRecommenderOptions(request.recommender);
  if (request.modelKind !== 'auto')
    throw new GalenError(
      'invalid_input',
      `a recommender is a hybrid of its own; leave modelKind out (it is "${request.modelKind}")`,
    );
  if (request.deid !== undefined || request.testDataset !== undefined || request.molecules !== undefined)
    throw new GalenError(
      'invalid_input',
      'a recommender takes neither "deid", "testDataset" nor "molecules"',
    );
  const has = (d: DatasetVersion, names: (string | undefined)[]): void => {
    const columns = tableSchemaOf(d).columns.map((c) => c.name);
    const missing = names.find((n) => n !== undefined && !columns.includes(n));
    if (missing !== undefined)
      throw new GalenError(
        'invalid_input',
        `dataset ${d.name}:${d.version} has no column "${missing}"; its columns are ${columns.join(', ')}`,
      );
  };
  has(dataset, [r.user, request.target, r.score, r.group]);
  const pin = async (sources: FeatureSource[] | undefined): Promise<FeatureSource[] | undefined> =>
    sources &&
    Promise.all(
      sources.map(async (source) => {
        const d = await datasets.get(source.dataset, source.version, actor);
        has(d, [source.key, source.feature]);
        return { ...source, version: d.version };
      }),
    );
  const userFeatures = await pin(r.userFeatures);
  const itemFeatures = await pin(r.itemFeatures);
  return { ...r, ...(userFeatures && { userFeatures }), ...(itemFeatures && { itemFeatures }) };
}

const column = (table: ParsedTable, name: string, where: string): number => {
  const j = table.columns.indexOf(name);
  if (j < 0)
    throw new GalenError(
      'invalid_input',
      `${where} has no column "${name}"; its columns are ${table.columns.join(', ')}`,
    );
  return j;
};

/** Metrics at the cut-offs as flat names (precision@5, ...), for the registry and the card. */
function flat(e: RankingEvaluation): Record<string, number> {
  const out: Record<string, number> = { users: e.users, heldOutPositives: e.heldOutPositives, auc: e.auc };
  for (const a of e.atK) {
    out[`precision@${a.k}`] = a.precision;
    out[`recall@${a.k}`] = a.recall;
    out[`ndcg@${a.k}`] = a.ndcg;
  }
  return out;
}

export async function trainRecommender(
  deps: TrainModelDeps,
  request: TrainModelRequest,
  actor: Actor,
  hooks: TrainModelHooks = {},
): Promise<TrainModelResult> {
  assertCan(actor, 'data:read', 'train on datasets');
  assertCan(actor, 'model:write', 'register trained models');
  const progress = hooks.onProgress ?? (() => undefined);
  const seed = request.options?.seed ?? 42;
  progress(0, 'loading interactions and features');
  const dataset = await deps.datasets.get(request.dataset, request.datasetVersion, actor);
  const r = await pinRecommenderRequest(deps.datasets, request, dataset, actor);
  const table = await deps.datasets.load(dataset);
  const where = `dataset ${dataset.name}:${dataset.version}`;
  const userAt = column(table, r.user, where);
  const itemAt = column(table, request.target, where);
  const scoreAt = r.score === undefined ? undefined : column(table, r.score, where);
  const itemName = (v: string | null | undefined): string | undefined =>
    r.normalizeItems === false ? v?.trim() || undefined : drugName(v ?? undefined);
  const interactions = table.rows.flatMap((row) => {
    const user = row[userAt]?.trim();
    const item = itemName(row[itemAt]);
    if (!user || !item) return [];
    const score = scoreAt === undefined ? undefined : Number(row[scoreAt]);
    return [{ user, item, ...(score !== undefined && Number.isFinite(score) && { score }) }];
  });
  const sources: { dataset: string; version: number }[] = [
    { dataset: dataset.name, version: dataset.version },
  ];
  const read = async (s: FeatureSource, side: 'user' | 'item') => {
    const d = await deps.datasets.get(s.dataset, s.version, actor);
    sources.push({ dataset: d.name, version: d.version });
    const t = await deps.datasets.load(d);
    const at = `dataset ${d.name}:${d.version}`;
    const keyAt = column(t, s.key, at);
    const featureAt = column(t, s.feature, at);
    return t.rows.flatMap((row) => {
      const key = side === 'item' ? itemName(row[keyAt]) : row[keyAt]?.trim();
      let value = row[featureAt]?.trim();
      if (!key || !value) return [];
      if (s.truncate !== undefined) value = value.slice(0, s.truncate);
      return [{ key, feature: `${s.prefix ?? ''}${value}` }];
    });
  };
  const userFeatures = (await Promise.all((r.userFeatures ?? []).map((s) => read(s, 'user')))).flat();
  const itemFeatures = (await Promise.all((r.itemFeatures ?? []).map((s) => read(s, 'item')))).flat();
  const data = buildRecommenderDataset(
    {
      interactions,
      userFeatures: userFeatures.map((f) => ({ user: f.key, feature: f.feature })),
      itemFeatures: itemFeatures.map((f) => ({ item: f.key, feature: f.feature })),
    },
    {
      ...(r.minScore !== undefined && { minScore: r.minScore }),
      ...(r.weightByScore && { weightByScore: true }),
    },
  );
  const contraindications = parseContraindications(r.contraindications, data.itemIds, (why) => {
    throw new GalenError('invalid_input', `recommender.contraindications: ${why}`);
  });

  const splitKind = r.split ?? 'interactions';
  const split =
    splitKind === 'users' ? splitColdStartUsers(data, { seed }) : splitInteractions(data, { seed });
  progress(
    0.1,
    `training a hybrid recommender (${r.loss ?? 'warp'}) on ${split.train.counts.positives} interactions`,
  );
  const model = trainHybridRecommender(split.train, {
    loss: r.loss ?? 'warp',
    seed,
    ...(r.components !== undefined && { components: r.components }),
    ...(r.epochs !== undefined && { epochs: r.epochs }),
    ...(r.learningRate !== undefined && { learningRate: r.learningRate }),
  });
  const graph = recommenderGraph(model, {
    producerVersion: GALEN_VERSION,
    metadata: {
      [RANKING_METADATA_KEY]: JSON.stringify({
        input: 'features',
        output: 'scores',
        items: model.itemIds,
        features: model.userFeatureNames,
        contraindications,
      }),
    },
  });

  progress(0.7, 'evaluating the compiled graph on held-out interactions, against popularity and item-kNN');
  const served = await scoresByGraph(deps, graph.bytes, data);
  const evaluation = evaluateRanking((u) => served[u]!, split.train.positives, split.test);
  const popularity = popularityScores(split.train);
  const knn = fitItemKnn(split.train);
  const baselines = {
    popularity: flat(evaluateRanking(() => popularity, split.train.positives, split.test)),
    itemKnn: flat(
      evaluateRanking(
        (u) => itemKnnScores(knn, split.train.positives[u]!.items).scores,
        split.train.positives,
        split.test,
      ),
    ),
  };
  const splitText =
    splitKind === 'users'
      ? `held-out users (20% of ${r.group === undefined ? 'users' : `"${r.group}" groups, each held out whole`}, seed ${seed}), each known to the model only by their features`
      : `held-out interactions (20% of each user's items, seed ${seed})`;
  const evaluatedOn = `${evaluation.heldOutPositives} ${splitText} of ${evaluation.users} users, ranked by the compiled ONNX in Galen's runtime among every item the user was not given in training`;
  const metrics = { test: flat(evaluation), baselines, evaluatedOn };
  hooks.onLog?.(
    'info',
    `held-out precision@5 ${evaluation.atK[0]!.precision.toFixed(3)} (popularity ${baselines.popularity['precision@5']!.toFixed(3)}, item-kNN ${baselines.itemKnn['precision@5']!.toFixed(3)}), AUC ${evaluation.auc.toFixed(3)}`,
  );

  progress(0.95, 'registering the version');
  const version = await deps.registry.registerVersion(
    {
      model: request.model,
      file: graph.bytes,
      description:
        request.description ??
        `hybrid recommender of "${request.target}" for "${r.user}" from ${dataset.name}:${dataset.version}`,
      framework: `galen ${GALEN_VERSION} (hybrid recommender, ${r.loss ?? 'warp'})`,
      source: 'galen training',
      datasetSha256: dataset.sha256,
      parameters: {
        ...lineageOf(dataset, undefined, request, hooks.job),
        model: 'hybrid-recommender',
        sources: sources.map((s) => `${s.dataset}:${s.version}`),
        recommender: { ...r, contraindications },
        hyperParameters: { ...model.hyperParameters },
        seed,
        users: data.userIds.length,
        items: data.itemIds.length,
        interactions: data.counts.positives,
      },
      metrics,
    },
    actor,
  );
  return { version, metrics };
}

/** Every user's scores from the compiled graph, fed the user's feature names. */
async function scoresByGraph(
  deps: TrainModelDeps,
  bytes: Uint8Array,
  data: RecommenderDataset,
): Promise<Float32Array[]> {
  const rows = data.userFeatures.map((f) => Array.from(f.indices, (i) => data.userFeatureNames[i]!));
  const width = rows.reduce((w, r) => Math.max(w, r.length), 1);
  return withEvaluationModel(deps, bytes, async (run) => {
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += 256) {
      const chunk = rows.slice(start, start + 256);
      const names = chunk.flatMap((r) => [...r, ...Array<string>(width - r.length).fill('')]);
      const [scores] = await run(
        [
          {
            name: 'features',
            datatype: 'BYTES',
            shape: [chunk.length, width],
            data: names.map((s) => Buffer.from(s, 'utf8')),
          },
        ],
        ['scores'],
      );
      const all = scores!.data as Float32Array;
      const m = data.itemIds.length;
      chunk.forEach((_, i) => out.push(all.slice(i * m, (i + 1) * m)));
    }
    return out;
  });
}
