/**
 * A multilayer perceptron for a clinical table, trained by the PyTorch backend and served with the
 * same per-column interface as every tabular model: the preprocessing (imputation, indicators,
 * scaling, one-hot) is fitted in TypeScript on the training rows, the network is trained on its
 * design matrix, and the two are compiled into one ONNX graph — raw columns in, `label` and
 * `probabilities` out — checked against PyTorch on validation rows (which also checks the compiled
 * preprocessing), evaluated on the held-out rows in Galen's runtime and registered with its card.
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { GALEN_VERSION, GalenError, TRAINING_RANGES_PARAMETER } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { decodeNpy } from '../datasets/index.js';
import { backendMissing } from '../deep/pytorch-backend.js';
import { networkExplainer } from '../explain/index.js';
import { compileTabularNetwork } from '../onnx/index.js';
import type { ModelVersion } from '../registry/index.js';
import { prepareTabularNetwork } from '../training/index.js';
import { writeLabels, writeNpy } from './deep-data.js';
import { classifierMetrics, classifierReportOf, withEvaluationModel } from './evaluation-run.js';
import { buildModelCard } from './model-card.js';
import {
  checkDeepOptions,
  checkParity,
  pytorchBackend,
  runDeepTrainer,
  trainingSpec,
  trainingSummary,
} from './train-deep.js';
import type { TrainModelDeps, TrainModelHooks, TrainModelRequest } from './train-model.js';
import { makeInputsDir, makeWorkDir, removeWorkDir } from './work-dirs.js';
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

const ALGORITHM = 'multilayer perceptron';

export async function trainMlp(
  deps: TrainModelDeps,
  request: TrainModelRequest,
  actor: Actor,
  hooks: TrainModelHooks = {},
): Promise<{ version: ModelVersion; metrics: Record<string, unknown> }> {
  const progress = hooks.onProgress ?? (() => undefined);
  const options = request.deep ?? {};
  checkDeepOptions(options);
  const backend = await pytorchBackend(deps.python);
  if (!backend.available) throw backendMissing(backend);

  progress(0, 'loading data');
  const { dataset, testDataset, table, testRows, schema, deid, targetSource } = await loadTrainingTable(
    deps,
    request,
    actor,
  );
  if (deid) hooks.onLog?.('info', `de-identified on the way in: ${deid.summary}`);
  const seed = request.options?.seed ?? 42;
  const data = prepareTabularNetwork(table, schema, {
    seed,
    ...(testRows && { testRows }),
    ...(request.positive !== undefined && { positive: request.positive }),
    ...(request.options?.testFraction !== undefined && { testFraction: request.options.testFraction }),
    ...(request.options?.preprocessing && { preprocessing: request.options.preprocessing }),
    ...(options.validationFraction !== undefined && { validationFraction: options.validationFraction }),
  });
  const k = data.classes.length;
  const work = await makeWorkDir('mlp', hooks.job, deps.work);
  const arrays = await makeInputsDir(work, deps.work);
  try {
    progress(0.05, `writing ${data.train.length} training and ${data.validation.length} validation rows`);
    const matrix = (file: string, x: Float32Array): Promise<void> =>
      writeNpy(arrays, file, { dtype: 'float32', shape: [x.length / data.width, data.width], data: x });
    await matrix('train_features.npy', data.x.train);
    await matrix('validation_features.npy', data.x.validation);
    await writeLabels(arrays, 'train_labels.npy', data.y.train);
    await writeLabels(arrays, 'validation_labels.npy', data.y.validation);
    const counts = new Array<number>(k).fill(0);
    data.y.train.forEach((c) => counts[c]!++);
    const spec = {
      version: 1,
      seed,
      threads: options.threads ?? Math.max(1, cpus().length),
      architecture: 'mlp',
      classes: k,
      // The design matrix is already scaled by the compiled preprocessing: the network adds nothing.
      inputs: [
        {
          name: 'features',
          kind: 'vector',
          features: data.width,
          mean: new Array<number>(data.width).fill(0),
          std: new Array<number>(data.width).fill(1),
          train: 'train_features.npy',
          validation: 'validation_features.npy',
        },
      ],
      labels: { train: 'train_labels.npy', validation: 'validation_labels.npy' },
      training: trainingSpec(options, counts, { epochs: 100, patience: 10 }),
      augment: null,
      network: {
        hidden: options.network?.hidden ?? 64,
        layers: options.network?.layers ?? 2,
        dropout: options.network?.dropout ?? 0.1,
      },
      export: {
        onnx: 'network.onnx',
        opset: 17,
        referenceCount: 32,
        reference: 'reference_probabilities.npy',
      },
    };
    const { done, history, versions } = await runDeepTrainer(
      backend.python,
      work,
      arrays,
      spec,
      'mlp',
      'rows',
      hooks,
    );

    progress(0.9, 'compiling the preprocessing and the network into one ONNX graph');
    const onnx = compileTabularNetwork(data.features, data.classes, await readFile(join(work, done.onnx)), {
      producerName: 'galen',
      docString: `Galen ${GALEN_VERSION}: ${ALGORITHM} trained with ${versions} on ${dataset.name}:${dataset.version} predicting ${request.target}`,
    });
    const reference = decodeNpy(await readFile(join(work, done.reference)), 'the reference outputs');
    const referenceRows = done.referenceCount;
    const validationColumns = Object.fromEntries(
      Object.entries(data.validationColumns).map(([name, cells]) => [name, cells.slice(0, referenceRows)]),
    );
    const n = data.test.length;
    const { parity, served } = await withEvaluationModel(deps, onnx, async (run) => {
      const [ours] = await run(toTensors(data.features, validationColumns, referenceRows), ['probabilities']);
      const worst = checkParity(reference.data as Float32Array, ours!.data as Float32Array, referenceRows);
      progress(0.93, `evaluating the compiled graph on ${n} held-out rows`);
      const [scored] = await run(toTensors(data.features, data.testColumns, n), ['probabilities']);
      return { parity: worst, served: scored!.data as Float32Array };
    });
    const binaryOptions = { seed, ...(request.threshold !== undefined && { threshold: request.threshold }) };
    const scored = classifierMetrics(served, data.testTargets, k, binaryOptions);
    const evaluatedOn = testDataset
      ? `the separate test data ${testDataset.name}:${testDataset.version} (${n} rows), scored by the compiled ONNX in Galen's runtime`
      : `held-out stratified split of ${n} rows (seed ${seed}), scored by the compiled ONNX in Galen's runtime`;
    const metrics: Record<string, unknown> = {
      test: scored.test,
      report: scored.report,
      evaluatedOn,
      parityMaxAbsDiff: parity,
      training: trainingSummary(done, history),
    };
    if (request.sensitive !== undefined) {
      metrics['subgroups'] = subgroupMetrics(table, request.sensitive, data.test, (rows) =>
        classifierReportOf(served, data.testTargets, k, rows, binaryOptions),
      );
    }

    progress(0.97, 'writing the model card and registering the version');
    const framework = `${versions} via galen ${GALEN_VERSION}`;
    const ranges = trainingRanges(data.features, data.trainColumns);
    const card = buildModelCard({
      algorithm: ALGORITHM,
      framework,
      trainedAt: new Date().toISOString(),
      seed,
      target: request.target,
      task: data.task,
      classes: data.classes,
      job: hooks.job,
      intendedUse: request.intendedUse,
      limitations: [...(request.limitations ?? []), ...(deid ? [deidLimitation(deid.summary)] : [])],
      dataset: { ref: `${dataset.name}:${dataset.version}`, sha256: dataset.sha256, rows: dataset.rows },
      schema,
      targetSource,
      inputs: columnInputs(data.features),
      ranges,
      trainRows: data.train.length,
      testRows: n,
      droppedRows: data.droppedRows,
      evaluatedOn,
      deidentified: deid?.summary,
      trainTargets: data.y.train,
      testTargets: data.testTargets,
      report: scored.report,
      subgroups: cardSubgroups(request.sensitive, metrics),
    });
    const version = await deps.registry.registerVersion(
      {
        model: request.model,
        file: onnx,
        description:
          request.description ?? `mlp predicting ${request.target} from ${dataset.name}:${dataset.version}`,
        framework: `${framework} (${ALGORITHM})`,
        source: 'galen training',
        datasetSha256: dataset.sha256,
        parameters: {
          ...lineageOf(dataset, testDataset, request, hooks.job, deid),
          model: 'mlp',
          seed,
          options: request.options ?? {},
          overrides: request.overrides ?? {},
          deep: { ...options },
          trainer: {
            training: spec.training,
            network: spec.network,
            opset: done.opset,
            parameters: done.parameters,
          },
          classes: data.classes,
          trainRows: data.train.length,
          validationRows: data.validation.length,
          testRows: n,
          droppedRows: data.droppedRows,
          [TRAINING_RANGES_PARAMETER]: ranges,
        },
        metrics,
        card: card as unknown as Record<string, unknown>,
        explainer: networkExplainer(
          data.features,
          data.task,
          data.classes,
          data.backgroundColumns,
        ) as unknown as Record<string, unknown>,
        monitoringProfile: trainedMonitoringProfile({
          features: data.features,
          classes: data.classes,
          trainColumns: data.trainColumns,
          served,
          testTargets: data.testTargets,
          sensitive: request.sensitive,
          source: `inputs: the ${data.train.length} training rows of ${dataset.name}:${dataset.version}; prediction: the ${n} held-out rows, scored by the compiled graph`,
        }),
      },
      actor,
    );
    return { version, metrics };
  } catch (err) {
    if (err instanceof GalenError) throw err;
    throw new GalenError('internal', `mlp training failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await removeWorkDir(work);
    if (arrays !== work) await removeWorkDir(arrays);
  }
}
