/**
 * One training run, end to end: a stored dataset version → schema (target, overrides) → trained
 * pipeline → one ONNX graph → evaluated on the held-out rows by Galen's own runtime (what is
 * evaluated is what will be served) → registered as a new model version with its lineage and
 * metrics. Nothing is registered unless every step succeeds.
 */
import { GALEN_VERSION, GalenError, TRAINING_RANGES_PARAMETER, assertCan } from '../core/index.js';
import type { Actor, Tensor } from '../core/index.js';
import type { ColumnOverride } from '../datasets/index.js';
import { pipelineExplainer } from '../explain/index.js';
import { compileTabularPipeline } from '../onnx/index.js';
import type { DatasetRegistry, ModelRegistry, ModelVersion } from '../registry/index.js';
import type { ModelRuntime } from '../runtime/index.js';
import type { ArtifactStore } from '../store/index.js';
import { evaluateRegressionReport, predictPipeline, trainTabular } from '../training/index.js';
import type {
  BinaryReport,
  ModelSelection,
  MulticlassReport,
  RegressionReport,
  TabularModelKind,
  TabularTrainingOptions,
} from '../training/index.js';
import { classifierMetrics, classifierReportOf, withEvaluationModel } from './evaluation-run.js';
import { buildModelCard } from './model-card.js';
import {
  cardSubgroups,
  columnInputs,
  lineageOf,
  loadTrainingTable,
  subgroupMetrics,
  toTensors,
  deidLimitation,
  trainedMonitoringProfile,
  trainingRanges,
} from './training-table.js';
import { isDeepArchitecture, trainDeep } from './train-deep.js';
import { trainMlp } from './train-mlp.js';
import { trainMolecules } from './train-molecules.js';
import { trainRecommender } from './train-recommender.js';
import type { RecommenderTrainingOptions } from './train-recommender.js';
import type { MoleculeTrainingOptions } from './train-molecules.js';
import type { MoleculeToolkit } from '../molecules/index.js';
import type { DeepArchitecture, DeepTrainingOptions } from './train-deep.js';
import type { WorkPlace } from './work-dirs.js';

export interface TrainModelRequest {
  /** The model to register a version of (created when new). */
  model: string;
  dataset: string;
  /** Dataset version; the latest when omitted. */
  datasetVersion?: number | undefined;
  /**
   * A dataset with the same columns to hold out instead of a random split (its latest version).
   * Preprocessing and model are fitted on `dataset` alone.
   */
  testDataset?: string | undefined;
  target: string;
  positive?: string | undefined;
  /**
   * `auto`: k-fold cross-validation on the training rows picks the tabular kind; a deep
   * architecture (`cnn`, `resnet18`) trains through the PyTorch backend.
   */
  modelKind: TabularModelKind | 'auto' | 'mlp' | DeepArchitecture;
  /** Settings of a deep architecture's training. */
  deep?: DeepTrainingOptions | undefined;
  overrides?: Record<string, ColumnOverride> | undefined;
  options?: Omit<TabularTrainingOptions, 'model' | 'positive'> | undefined;
  description?: string | undefined;
  /** A column (e.g. sex, age band) whose groups get their own held-out metrics. */
  sensitive?: string | undefined;
  /**
   * Two-class targets: the probability from which a row is called positive in the threshold
   * metrics and confusion matrix (default 0.5). Ranking metrics do not depend on it.
   */
  threshold?: number | undefined;
  /** What the model is for, in the trainer's words; goes on the model card as given. */
  intendedUse?: string | undefined;
  /** Known limitations to put on the model card before the ones Galen finds. */
  limitations?: string[] | undefined;
  /**
   * De-identify the table (and test data) on the way in: the rules of `galen deid csv`
   * (per-column rules, k-anonymity, l-diversity). The stored dataset is left as it is.
   */
  deid?: Record<string, unknown> | undefined;
  /** A molecule model: the SMILES column, the split and the features (`target` is the measured property). */
  molecules?: MoleculeTrainingOptions | undefined;
  /** A recommender: `dataset` holds interactions, `target` names the item column (see RecommenderTrainingOptions). */
  recommender?: RecommenderTrainingOptions | undefined;
}

/** Where a run stands: share done (0–1) and what it is doing, in words without patient data. */
export type TrainProgress = (fraction: number, stage: string) => void;

export interface TrainModelHooks {
  onProgress?: TrainProgress;
  /** Lines for the job's log (deep training reports each epoch). */
  onLog?: (level: 'info' | 'warn', message: string) => void;
  /** The job this run belongs to: recorded in the version's lineage and card. */
  job?: string;
}

export interface TrainModelResult {
  version: ModelVersion;
  metrics: Record<string, unknown>;
}

export interface TrainModelDeps {
  datasets: DatasetRegistry;
  registry: ModelRegistry;
  runtime: ModelRuntime;
  artifacts: ArtifactStore;
  /** The Python with torch and onnx for deep models (default: found on the machine). */
  python?: string | undefined;
  /** The key of `pseudonymize` de-identification rules (`deid.keyFile`). */
  deidKey?: Uint8Array | undefined;
  /** RDKit, for molecule models. */
  molecules?: MoleculeToolkit | undefined;
  /** Where deep runs keep their trainer's files (default: the system's temporary folder). */
  work?: WorkPlace | undefined;
}

/** Runs compiled ONNX bytes in Galen's runtime under a throw-away key, and unloads it. */
function runInRuntime(
  deps: TrainModelDeps,
  onnx: Uint8Array,
  inputs: Tensor[],
  outputs: string[],
): Promise<Tensor[]> {
  return withEvaluationModel(deps, onnx, (run) => run(inputs, outputs));
}

/** Share of a run's time each phase starts at (fitting takes the span up to `compile`). */
const PHASE = { load: 0, fit: 0.05, compile: 0.8, evaluate: 0.85, register: 0.95 } as const;

const ALGORITHMS: Record<TabularModelKind, string> = {
  logistic: 'logistic regression',
  linear: 'linear regression',
  gbdt: 'histogram gradient-boosted trees',
};

function describeSelection(selection: ModelSelection): string {
  const scores = selection.candidates
    .map((c) => `${ALGORITHMS[c.model]} ${selection.metric} ${c.mean.toFixed(4)}`)
    .join(', ');
  return `${selection.folds}-fold cross-validation on the training rows (mean ${selection.metric}: ${scores}); kept ${ALGORITHMS[selection.chosen]}`;
}

export async function trainModel(
  deps: TrainModelDeps,
  request: TrainModelRequest,
  actor: Actor,
  hooks: TrainModelHooks = {},
): Promise<TrainModelResult> {
  assertCan(actor, 'data:read', 'train on datasets');
  assertCan(actor, 'model:write', 'register trained models');
  // Recommenders and molecule models first: they refuse a model kind of their own.
  if (request.recommender !== undefined) return trainRecommender(deps, request, actor, hooks);
  if (request.molecules !== undefined) {
    if (!deps.molecules)
      throw new GalenError(
        'not_implemented',
        'this process has no molecule toolkit, so it trains no molecule models',
      );
    return trainMolecules(
      { ...deps, molecules: deps.molecules },
      { ...request, molecules: request.molecules },
      actor,
      hooks,
    );
  }
  if (isDeepArchitecture(request.modelKind)) {
    return trainDeep(deps, { ...request, modelKind: request.modelKind }, actor, hooks);
  }
  if (request.modelKind === 'mlp') return trainMlp(deps, request, actor, hooks);
  const modelKind = request.modelKind;
  const progress = hooks.onProgress ?? (() => undefined);
  if (request.threshold !== undefined && !(request.threshold > 0 && request.threshold < 1)) {
    throw new GalenError(
      'invalid_input',
      `threshold is ${request.threshold}; use a probability between 0 and 1`,
    );
  }
  progress(PHASE.load, 'loading data');
  const { dataset, testDataset, table, testRows, schema, deid, targetSource } = await loadTrainingTable(
    deps,
    request,
    actor,
  );
  if (deid) hooks.onLog?.('info', `de-identified on the way in: ${deid.summary}`);
  const seed = request.options?.seed ?? 42;
  const trained = trainTabular(table, schema, {
    ...request.options,
    ...(testRows && { testRows }),
    model: modelKind,
    seed,
    ...(request.positive !== undefined && { positive: request.positive }),
    onProgress: (fraction, stage) => progress(PHASE.fit + fraction * (PHASE.compile - PHASE.fit), stage),
  });
  progress(PHASE.compile, 'compiling the pipeline into one ONNX graph');
  const onnx = compileTabularPipeline(trained.spec, {
    producerName: 'galen',
    docString: `Galen ${GALEN_VERSION}: ${trained.model} on ${dataset.name}:${dataset.version} predicting ${request.target}`,
  });

  // What is evaluated is what is served: the compiled graph, run by Galen's runtime.
  progress(PHASE.evaluate, `evaluating the compiled graph on ${trained.test.length} held-out rows`);
  const n = trained.test.length;
  const regression = trained.task === 'regression';
  const outputName = regression ? 'prediction' : 'probabilities';
  const [scored] = await runInRuntime(deps, onnx, toTensors(trained.spec.features, trained.testColumns, n), [
    outputName,
  ]);
  const served = scored!.data as Float32Array;
  const reference = predictPipeline(trained.spec, trained.testColumns);

  const binaryOptions = { seed, ...(request.threshold !== undefined && { threshold: request.threshold }) };
  let metrics: Record<string, unknown>;
  let report: BinaryReport | MulticlassReport | RegressionReport;
  let parity = 0;
  if (regression) {
    reference.predictions!.forEach((v, i) => (parity = Math.max(parity, Math.abs(v - served[i]!))));
    report = evaluateRegressionReport(served, trained.testTargets, { seed });
    metrics = { test: { n, rmse: report.rmse.value, mae: report.mae.value, r2: report.r2.value }, report };
  } else {
    const k = trained.classes!.length;
    reference.probabilities!.forEach((row, i) =>
      row.forEach((p, c) => (parity = Math.max(parity, Math.abs(p - served[i * k + c]!)))),
    );
    const scored = classifierMetrics(served, trained.testTargets, k, binaryOptions);
    report = scored.report;
    metrics = { test: scored.test, report };
  }
  if (request.sensitive !== undefined) {
    metrics['subgroups'] = subgroupMetrics(table, request.sensitive, trained.test, (rows) =>
      regression
        ? evaluateRegressionReport(
            rows.map((i) => served[i]!),
            rows.map((i) => trained.testTargets[i]!),
            { seed },
          )
        : classifierReportOf(served, trained.testTargets, trained.classes!.length, rows, binaryOptions),
    );
  }
  metrics['evaluatedOn'] = testDataset
    ? `the separate test data ${testDataset.name}:${testDataset.version} (${n} rows), scored by the compiled ONNX in Galen's runtime`
    : `held-out ${regression ? 'random' : 'stratified'} split of ${n} rows (seed ${seed}), scored by the compiled ONNX in Galen's runtime`;
  metrics['parityMaxAbsDiff'] = parity; // compiled graph vs the TypeScript model on those rows

  progress(PHASE.register, 'computing global importance, writing the model card, registering the version');
  const explainer = pipelineExplainer(
    trained.spec,
    trained.task,
    trained.classes,
    trained.backgroundColumns,
    { columns: trained.testColumns, targets: trained.testTargets },
    seed,
  );
  const algorithm = ALGORITHMS[trained.model];
  const framework = `galen ${GALEN_VERSION}`;
  const ranges = trainingRanges(trained.spec.features, trained.trainColumns);
  const card = buildModelCard({
    algorithm,
    framework,
    trainedAt: new Date().toISOString(),
    seed,
    target: request.target,
    task: trained.task,
    classes: trained.classes,
    selection: trained.selection && describeSelection(trained.selection),
    job: hooks.job,
    intendedUse: request.intendedUse,
    limitations: [...(request.limitations ?? []), ...(deid ? [deidLimitation(deid.summary)] : [])],
    dataset: { ref: `${dataset.name}:${dataset.version}`, sha256: dataset.sha256, rows: dataset.rows },
    schema,
    targetSource,
    inputs: columnInputs(trained.spec.features),
    ranges,
    trainRows: trained.train.length,
    testRows: n,
    droppedRows: trained.droppedRows,
    evaluatedOn: String(metrics['evaluatedOn']),
    deidentified: deid?.summary,
    trainTargets: trained.trainTargets,
    testTargets: trained.testTargets,
    report,
    subgroups: cardSubgroups(request.sensitive, metrics),
  });

  const version = await deps.registry.registerVersion(
    {
      model: request.model,
      file: onnx,
      description:
        request.description ??
        `${request.modelKind} predicting ${request.target} from ${dataset.name}:${dataset.version}`,
      framework: `${framework} (${algorithm})`,
      source: 'galen training',
      datasetSha256: dataset.sha256,
      parameters: {
        ...lineageOf(dataset, testDataset, request, hooks.job, deid),
        model: trained.model,
        ...(trained.selection && { selection: trained.selection }),
        seed,
        options: request.options ?? {},
        overrides: request.overrides ?? {},
        classes: trained.classes ?? null,
        trainRows: trained.train.length,
        testRows: n,
        droppedRows: trained.droppedRows,
        [TRAINING_RANGES_PARAMETER]: ranges,
      },
      metrics,
      card: card as unknown as Record<string, unknown>,
      explainer: explainer as unknown as Record<string, unknown>,
      monitoringProfile: trainedMonitoringProfile({
        features: trained.spec.features,
        classes: trained.classes,
        trainColumns: trained.trainColumns,
        served,
        testTargets: trained.testTargets,
        sensitive: request.sensitive,
        source: `inputs: the ${trained.train.length} training rows of ${dataset.name}:${dataset.version}; prediction: the ${n} held-out rows, scored by the compiled graph`,
      }),
    },
    actor,
  );
  return { version, metrics };
}
