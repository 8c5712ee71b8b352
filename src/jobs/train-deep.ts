/**
 * Deep training through the PyTorch backend, end to end: a stored image or sequence dataset →
 * prepared in TypeScript (`deep-data.ts`) → train/validation/test splits → NumPy files and a JSON
 * spec → the Python trainer (progress streamed back) → its ONNX finished with a `label` output
 * (and, for images, an encoded-image input) → checked against PyTorch's own outputs → evaluated
 * on the held-out rows by Galen's runtime → registered with its card. Nothing is registered
 * unless every step succeeds; the work folder is removed however the run ends.
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { GALEN_VERSION, GalenError } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { decodeNpy } from '../datasets/index.js';
import { backendMissing, probePyTorch, runTrainer } from '../deep/pytorch-backend.js';
import type { PyTorchBackend, TrainerDone, TrainerEpoch } from '../deep/pytorch-backend.js';
import { buildProfile } from '../monitoring/index.js';
import { addClassifierHead } from '../onnx/index.js';
import { isImageDataset, isSequenceDataset } from '../registry/index.js';
import type { DatasetVersion, ModelVersion } from '../registry/index.js';
import { stratifiedSplit } from '../training/index.js';
import { prepareImages, prepareSequences, writeLabels, wrongData } from './deep-data.js';
import type { PreparedData } from './deep-data.js';
import { classifierMetrics, withEvaluationModel } from './evaluation-run.js';
import type { RunGraph } from './evaluation-run.js';
import { buildModelCard } from './model-card.js';
import type { TrainModelDeps, TrainModelHooks, TrainModelRequest } from './train-model.js';
import { closeAll, makeInputsDir, makeWorkDir, removeWorkDir, writeTrainerSpec } from './work-dirs.js';
import type { TrainerSpecFiles } from './work-dirs.js';

export const IMAGE_ARCHITECTURES = ['cnn', 'resnet18'] as const;
export const SEQUENCE_ARCHITECTURES = ['gru', 'lstm', 'transformer'] as const;
export const DEEP_ARCHITECTURES = [...IMAGE_ARCHITECTURES, ...SEQUENCE_ARCHITECTURES] as const;
export type DeepArchitecture = (typeof DEEP_ARCHITECTURES)[number];

export const isDeepArchitecture = (kind: string): kind is DeepArchitecture =>
  (DEEP_ARCHITECTURES as readonly string[]).includes(kind);

/** What data an architecture trains on. */
export const dataKindOf = (architecture: DeepArchitecture): 'images' | 'sequences' =>
  (IMAGE_ARCHITECTURES as readonly string[]).includes(architecture) ? 'images' : 'sequences';

/** Refuses a dataset an architecture cannot train on. */
export function checkDeepData(architecture: DeepArchitecture, dataset: DatasetVersion): void {
  const wants = dataKindOf(architecture);
  const fits = wants === 'images' ? isImageDataset(dataset) : isSequenceDataset(dataset);
  if (!fits) throw wrongData(architecture, dataset, wants);
}

export interface ImageAugmentation {
  horizontalFlip?: boolean;
  verticalFlip?: boolean;
  rotateDegrees?: number;
  cropPixels?: number;
  intensity?: number;
}

/** Settings of a deep training run; every one has a default. */
export interface DeepTrainingOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  weightDecay?: number;
  /** Epochs without improvement on the validation images before stopping (null: never stop early). */
  patience?: number | null;
  /** `balanced` weights each class's loss by n / (k × its count). */
  classWeight?: 'balanced' | 'none';
  /** Images: the side the model takes (square), default the dataset's own size, else 224. */
  imageSize?: number;
  /** 1 (grey) or 3 (RGB); default the dataset's. */
  channels?: 1 | 3;
  /** Default: small rotations, crops and intensity changes; no flips (laterality matters in medical images). `false`: none. */
  augment?: ImageAugmentation | false;
  /** Images: `width` (first block's channels). Sequences: `hidden`, `layers`, `heads` (transformer). */
  network?: { width?: number; hidden?: number; layers?: number; heads?: number; dropout?: number };
  /** Sequences: steps used per sequence (longer ones keep their most recent steps); default the longest. */
  maxLength?: number;
  /** Class names for the dataset's labels, e.g. {"0": "normal", "1": "pneumonia"}. */
  labelNames?: Record<string, string>;
  /** Share of the training images held out for model selection when the data names no validation split. */
  validationFraction?: number;
  /** Share of the images held out for the test when the data names no test split. */
  testFraction?: number;
  /** Train on a stratified sample of at most this many training images (quick runs). */
  maxTrainSamples?: number;
  /** CPU threads for PyTorch (default: all cores). */
  threads?: number;
}

/** Where each phase of a deep run starts (share of the whole run). */
const PHASE = { prepare: 0, train: 0.1, evaluate: 0.9, register: 0.97 } as const;
/** Largest |ONNX − PyTorch| accepted on the reference rows; beyond it the export is broken. */
export const PARITY_LIMIT = 1e-4;
const EVALUATION_BATCH = 256;

const ALGORITHMS: Record<DeepArchitecture, string> = {
  cnn: 'convolutional neural network',
  resnet18: 'ResNet-18-style residual network',
  gru: 'gated recurrent unit (GRU) network',
  lstm: 'long short-term memory (LSTM) network',
  transformer: 'Transformer encoder',
};

function check(condition: boolean, message: string): void {
  if (!condition) throw new GalenError('invalid_input', message);
}

/** Checks the options a request can get wrong, so a bad request fails at submit. */
export function checkDeepOptions(options: DeepTrainingOptions = {}): void {
  const int = (v: number | undefined, lo: number, hi: number): boolean =>
    v === undefined || (Number.isInteger(v) && v >= lo && v <= hi);
  const num = (v: number | undefined, lo: number, hi: number): boolean =>
    v === undefined || (Number.isFinite(v) && v >= lo && v <= hi);
  check(int(options.epochs, 1, 1000), `epochs is ${options.epochs}; use an integer from 1 to 1000`);
  check(int(options.batchSize, 1, 4096), `batchSize is ${options.batchSize}; use an integer from 1 to 4096`);
  check(
    options.learningRate === undefined || (options.learningRate > 0 && options.learningRate <= 1),
    `learningRate is ${options.learningRate}; use a number above 0 and at most 1`,
  );
  check(num(options.weightDecay, 0, 1), `weightDecay is ${options.weightDecay}; use a number from 0 to 1`);
  check(
    options.patience === null || int(options.patience, 1, 1000),
    `patience is ${options.patience}; use an integer from 1 to 1000, or null to never stop early`,
  );
  check(int(options.imageSize, 8, 1024), `imageSize is ${options.imageSize}; use an integer from 8 to 1024`);
  check(
    options.channels === undefined || options.channels === 1 || options.channels === 3,
    `channels is ${options.channels}; use 1 (grey) or 3 (RGB)`,
  );
  check(
    options.classWeight === undefined || options.classWeight === 'balanced' || options.classWeight === 'none',
    `classWeight is ${String(options.classWeight)}; use "balanced" or "none"`,
  );
  check(
    num(options.validationFraction, 0.01, 0.5),
    `validationFraction is ${options.validationFraction}; use a number from 0.01 to 0.5`,
  );
  check(
    num(options.testFraction, 0.01, 0.5),
    `testFraction is ${options.testFraction}; use a number from 0.01 to 0.5`,
  );
  check(
    int(options.maxTrainSamples, 2, 100_000_000),
    `maxTrainSamples is ${options.maxTrainSamples}; use an integer of at least 2`,
  );
  check(int(options.threads, 1, 256), `threads is ${options.threads}; use an integer from 1 to 256`);
  check(
    int(options.network?.width, 4, 512),
    `network.width is ${options.network?.width}; use an integer from 4 to 512`,
  );
  check(
    num(options.network?.dropout, 0, 0.9),
    `network.dropout is ${options.network?.dropout}; use a number from 0 to 0.9`,
  );
  const a = options.augment;
  if (a) {
    check(num(a.rotateDegrees, 0, 45), `augment.rotateDegrees is ${a.rotateDegrees}; use 0 to 45`);
    check(int(a.cropPixels, 0, 64), `augment.cropPixels is ${a.cropPixels}; use an integer from 0 to 64`);
    check(num(a.intensity, 0, 0.9), `augment.intensity is ${a.intensity}; use 0 to 0.9`);
  }
}

/**
 * The dataset's labels as classes: numbers in numeric order, else text order; a two-class
 * `positive` (a label or its name) goes second, as the positive class does everywhere in Galen.
 */
export function classOrder(
  labels: Record<string, number>,
  positive?: string,
  names?: Record<string, string>,
): string[] {
  const keys = Object.keys(labels);
  const order = keys.every((k) => Number.isFinite(Number(k)))
    ? keys.sort((a, b) => Number(a) - Number(b))
    : keys.sort();
  if (positive === undefined) return order;
  const at = order.findIndex((l) => l === positive || names?.[l] === positive);
  if (at < 0) {
    throw new GalenError(
      'invalid_input',
      `"${positive}" is not a label of the data; its labels are ${order.map((l) => `"${names?.[l] ?? l}"`).join(', ')}`,
    );
  }
  if (order.length !== 2) {
    throw new GalenError('invalid_input', `positive applies to two classes; the data has ${order.length}`);
  }
  return [order[1 - at]!, order[at]!];
}

interface Splits {
  train: number[];
  validation: number[];
  test: number[];
  /** How the test images were chosen, in words. */
  testSource: string;
}

const VALIDATION_NAMES = ['val', 'valid', 'validation', 'dev'];

/** Train/validation/test: the data's own splits where it names them, else stratified and seeded. */
function splitRows(
  data: PreparedData,
  targets: Int32Array,
  options: DeepTrainingOptions,
  seed: number,
): Splits {
  const named = (names: string[]): number[] =>
    data.splits.flatMap((s, i) => (s !== null && names.includes(s.toLowerCase()) ? [i] : []));
  let test = named(['test']);
  let validation = named(VALIDATION_NAMES);
  let pool = data.splits.flatMap((s, i) =>
    s === null || !['test', ...VALIDATION_NAMES].includes(s.toLowerCase()) ? [i] : [],
  );
  const carve = (from: number[], fraction: number, salt: number): { kept: number[]; taken: number[] } => {
    const split = stratifiedSplit(
      from.map((i) => targets[i]!),
      fraction,
      seed + salt,
    );
    return { kept: split.train.map((j) => from[j]!), taken: split.test.map((j) => from[j]!) };
  };
  let testSource = `the data's own test split (${test.length} rows)`;
  if (test.length === 0) {
    const c = carve(pool, options.testFraction ?? 0.2, 0);
    pool = c.kept;
    test = c.taken;
    testSource = `a held-out stratified ${Math.round((options.testFraction ?? 0.2) * 100)}% of the rows (${test.length}, seed ${seed})`;
  }
  if (validation.length === 0) {
    const c = carve(pool, options.validationFraction ?? 0.1, 1);
    pool = c.kept;
    validation = c.taken;
  }
  let train = pool;
  if (options.maxTrainSamples !== undefined && train.length > options.maxTrainSamples) {
    const c = carve(train, 1 - options.maxTrainSamples / train.length, 2);
    train = c.kept;
  }
  return { train, validation, test, testSource };
}

function describeEpoch(e: TrainerEpoch): string {
  const auroc = e.validationAuroc === null ? '' : `, validation AUROC ${e.validationAuroc.toFixed(4)}`;
  return `epoch ${e.epoch}/${e.epochs}: train loss ${e.trainLoss.toFixed(4)}, validation loss ${e.validationLoss.toFixed(4)}${auroc}, validation accuracy ${e.validationAccuracy.toFixed(4)} (${e.seconds.toFixed(1)} s)`;
}

const probes = new Map<string, Promise<PyTorchBackend>>();

/** The PyTorch backend (at `python`, or found), probed once per process. */
export function pytorchBackend(python?: string): Promise<PyTorchBackend> {
  const key = python ?? '';
  let probe = probes.get(key);
  if (!probe) {
    probe = probePyTorch(python);
    probes.set(key, probe);
  }
  return probe;
}

/** Runs the graph over `rows` in batches; probabilities rows × k. */
async function score(
  run: RunGraph,
  data: PreparedData,
  rows: readonly number[],
  k: number,
): Promise<Float32Array> {
  const out = new Float32Array(rows.length * k);
  for (let start = 0; start < rows.length; start += EVALUATION_BATCH) {
    const batch = rows.slice(start, start + EVALUATION_BATCH);
    const [probabilities] = await run(data.tensors(batch), ['probabilities']);
    out.set(probabilities!.data as Float32Array, start * k);
  }
  return out;
}

function trainerNetwork(
  architecture: DeepArchitecture,
  options: DeepTrainingOptions,
): Record<string, number> {
  const n = options.network ?? {};
  return dataKindOf(architecture) === 'images'
    ? { width: n.width ?? (architecture === 'resnet18' ? 64 : 32), dropout: n.dropout ?? 0.2 }
    : {
        hidden: n.hidden ?? 64,
        layers: n.layers ?? (architecture === 'transformer' ? 2 : 1),
        heads: n.heads ?? 4,
        dropout: n.dropout ?? 0.1,
      };
}

/** The spec's `training` block: the options, their defaults, and class weights from the training counts. */
export function trainingSpec(
  options: DeepTrainingOptions,
  trainCounts: readonly number[],
  defaults: { epochs: number; patience: number },
): Record<string, unknown> {
  const n = trainCounts.reduce((a, b) => a + b, 0);
  const k = trainCounts.length;
  return {
    epochs: options.epochs ?? defaults.epochs,
    batchSize: options.batchSize ?? 64,
    learningRate: options.learningRate ?? 1e-3,
    weightDecay: options.weightDecay ?? 1e-4,
    classWeights: options.classWeight === 'balanced' ? trainCounts.map((c) => n / (k * c)) : null,
    patience: options.patience === undefined ? defaults.patience : options.patience,
    selectBy: k === 2 ? 'auroc' : 'loss',
  };
}

/** What a trainer run gave: its `done` event, every epoch, and the PyTorch version that ran it. */
export interface DeepTrainerResult {
  done: TrainerDone;
  history: TrainerEpoch[];
  versions: string;
}

/**
 * Runs the trainer on `spec`, its arrays written in `arrays` (relative names; handed over as
 * unlinked files by {@link writeTrainerSpec}), turning its events into the run's progress (the
 * training span of it) and log lines.
 */
export async function runDeepTrainer(
  python: string,
  work: string,
  arrays: string,
  spec: TrainerSpecFiles & Record<string, unknown>,
  architecture: string,
  kind: string,
  hooks: TrainModelHooks,
): Promise<DeepTrainerResult> {
  const { specPath, fds } = await writeTrainerSpec(work, arrays, spec);
  const progress = hooks.onProgress ?? (() => undefined);
  const log = hooks.onLog ?? (() => undefined);
  const history: TrainerEpoch[] = [];
  let versions = '';
  const trainer = runTrainer(
    python,
    specPath,
    (event) => {
      switch (event.event) {
        case 'started':
          versions = `PyTorch ${event.torch}`;
          log(
            'info',
            `training a ${architecture} (${event.parameters} parameters) on ${event.trainSamples} ${kind} with ${versions}, ${event.threads} threads`,
          );
          break;
        case 'progress':
          // The trainer reports every batch; the job's stage (and so its log, a line per new stage)
          // names the epoch, and the fraction moves within it.
          progress(
            PHASE.train + event.fraction * (PHASE.evaluate - PHASE.train),
            event.stage.replace(/, batch \d+\/\d+$/, ''),
          );
          break;
        case 'epoch':
          history.push(event);
          log('info', describeEpoch(event));
          break;
        case 'log':
          log(event.level, event.message);
          break;
        case 'done':
        case 'error':
          break; // settled through trainer.done
      }
    },
    fds,
  );
  // The trainer holds its own copies now (or failed to start): the arrays live as long as it does.
  closeAll(fds);
  return { done: await trainer.done, history, versions };
}

/** What the version's metrics keep of a trainer run: best epoch, epochs run, time, each epoch's figures. */
export function trainingSummary(
  done: TrainerDone,
  history: readonly TrainerEpoch[],
): Record<string, unknown> {
  return {
    bestEpoch: done.bestEpoch,
    epochsRun: done.epochsRun,
    seconds: done.seconds,
    history: history.map(({ event: _e, ...e }) => e),
  };
}

/**
 * The largest |ONNX − PyTorch| over the reference rows; refuses an export beyond {@link PARITY_LIMIT},
 * and refuses to vouch for one it could not compare (no reference rows, or outputs of another size).
 */
export function checkParity(reference: Float32Array, ours: Float32Array, rows: number): number {
  if (rows === 0 || reference.length === 0) {
    throw new GalenError(
      'internal',
      'the trainer returned no reference outputs, so the exported ONNX cannot be checked against PyTorch',
    );
  }
  if (reference.length !== ours.length) {
    throw new GalenError(
      'internal',
      `the exported ONNX gave ${ours.length} values on ${rows} validation rows where PyTorch gave ${reference.length}; the export is not trustworthy`,
    );
  }
  let worst = 0;
  reference.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours[i]!))));
  if (!(worst <= PARITY_LIMIT)) {
    throw new GalenError(
      'internal',
      `the exported ONNX differs from PyTorch by up to ${worst} on ${rows} validation rows (limit ${PARITY_LIMIT}); the export is not trustworthy`,
    );
  }
  return worst;
}

export async function trainDeep(
  deps: TrainModelDeps,
  request: TrainModelRequest & { modelKind: DeepArchitecture },
  actor: Actor,
  hooks: TrainModelHooks = {},
): Promise<{ version: ModelVersion; metrics: Record<string, unknown> }> {
  const progress = hooks.onProgress ?? (() => undefined);
  const options = request.deep ?? {};
  const architecture = request.modelKind;
  checkDeepOptions(options);
  const backend = await pytorchBackend(deps.python);
  if (!backend.available) throw backendMissing(backend);

  const dataset = await deps.datasets.get(request.dataset, request.datasetVersion, actor);
  checkDeepData(architecture, dataset);
  const kind = dataKindOf(architecture);
  progress(PHASE.prepare, `loading ${kind}`);
  let data: PreparedData;
  if (isImageDataset(dataset)) data = await prepareImages(deps.datasets, dataset, options);
  else if (isSequenceDataset(dataset)) data = await prepareSequences(deps.datasets, dataset, options);
  else throw wrongData(architecture, dataset, kind);
  const labelOrder = classOrder(
    (dataset.schema as { labels: Record<string, number> }).labels,
    request.positive,
    options.labelNames,
  );
  const classes = labelOrder.map((l) => options.labelNames?.[l] ?? l);
  const k = classes.length;
  const targets = Int32Array.from(data.labels, (l) => labelOrder.indexOf(l));
  const seed = request.options?.seed ?? 42;
  const splits = splitRows(data, targets, options, seed);
  const counts = (rows: number[]): number[] => {
    const c = new Array<number>(k).fill(0);
    for (const r of rows) c[targets[r]!]!++;
    return c;
  };
  for (const [name, rows] of Object.entries({
    training: splits.train,
    validation: splits.validation,
    test: splits.test,
  })) {
    if (counts(rows).some((c) => c === 0)) {
      throw new GalenError(
        'invalid_input',
        `the ${name} ${kind} lack a class (counts ${counts(rows).join(', ')} for ${classes.join(', ')}); use more data or other fractions`,
      );
    }
  }

  const work = await makeWorkDir('deep', hooks.job, deps.work);
  const arrays = await makeInputsDir(work, deps.work);
  try {
    progress(
      0.05,
      `writing ${splits.train.length} training and ${splits.validation.length} validation ${kind}`,
    );
    const inputs = (await data.writeInputs(arrays, splits.train, splits.validation)) as Record<
      string,
      unknown
    >[];
    await writeLabels(
      arrays,
      'train_labels.npy',
      splits.train.map((r) => targets[r]!),
    );
    await writeLabels(
      arrays,
      'validation_labels.npy',
      splits.validation.map((r) => targets[r]!),
    );
    const trainCounts = counts(splits.train);
    const augment =
      kind !== 'images' || options.augment === false
        ? null
        : {
            horizontalFlip: false,
            verticalFlip: false,
            rotateDegrees: 10,
            cropPixels: Math.max(1, Math.round(((data.parameters['imageShape'] as number[])[2] ?? 28) / 14)),
            intensity: 0.1,
            ...options.augment,
          };
    const spec = {
      version: 1,
      seed,
      threads: options.threads ?? Math.max(1, cpus().length),
      architecture,
      classes: k,
      inputs,
      labels: { train: 'train_labels.npy', validation: 'validation_labels.npy' },
      training: trainingSpec(options, trainCounts, { epochs: 20, patience: 5 }),
      augment,
      network: trainerNetwork(architecture, options),
      export: { onnx: 'model.onnx', opset: 17, referenceCount: 32, reference: 'reference_probabilities.npy' },
    };
    const { done, history, versions } = await runDeepTrainer(
      backend.python,
      work,
      arrays,
      spec,
      architecture,
      kind,
      hooks,
    );

    progress(PHASE.evaluate, 'checking the exported ONNX against PyTorch');
    const onnx = addClassifierHead(await readFile(join(work, done.onnx)), {
      classes,
      metadata: data.metadata,
      producerName: 'galen',
      producerVersion: GALEN_VERSION,
      docString: `Galen ${GALEN_VERSION}: ${ALGORITHMS[architecture]} trained with ${versions} on ${dataset.name}:${dataset.version}`,
    });
    const reference = decodeNpy(await readFile(join(work, done.reference)), 'the reference outputs');
    const referenceRows = splits.validation.slice(0, done.referenceCount);
    const { parity, served } = await withEvaluationModel(deps, onnx, async (run) => {
      const [ours] = await run(data.tensors(referenceRows), ['probabilities']);
      const worst = checkParity(
        reference.data as Float32Array,
        ours!.data as Float32Array,
        referenceRows.length,
      );
      progress(PHASE.evaluate + 0.02, `evaluating the ONNX on ${splits.test.length} held-out ${kind}`);
      return { parity: worst, served: await score(run, data, splits.test, k) };
    });
    const testTargets = splits.test.map((r) => targets[r]!);
    const scored = classifierMetrics(served, testTargets, k, { seed, threshold: request.threshold });
    const evaluatedOn = `${splits.testSource}, scored by the exported ONNX in Galen's runtime`;
    const metrics: Record<string, unknown> = {
      test: scored.test,
      report: scored.report,
      evaluatedOn,
      parityMaxAbsDiff: parity,
      training: trainingSummary(done, history),
    };

    progress(PHASE.register, 'writing the model card and registering the version');
    const algorithm = ALGORITHMS[architecture];
    const framework = `${versions} via galen ${GALEN_VERSION}`;
    const card = buildModelCard({
      algorithm,
      framework,
      trainedAt: new Date().toISOString(),
      seed,
      target: 'label',
      task: k === 2 ? 'binary' : 'multiclass',
      classes,
      job: hooks.job,
      intendedUse: request.intendedUse,
      limitations: request.limitations,
      dataset: { ref: `${dataset.name}:${dataset.version}`, sha256: dataset.sha256, rows: dataset.rows },
      modelInputs: data.modelInputs,
      trainRows: splits.train.length,
      testRows: splits.test.length,
      droppedRows: 0,
      evaluatedOn,
      trainTargets: splits.train.map((r) => targets[r]!),
      testTargets,
      report: scored.report,
    });
    const version = await deps.registry.registerVersion(
      {
        model: request.model,
        file: onnx,
        description:
          request.description ??
          `${architecture} classifying ${dataset.name}:${dataset.version} ${kind} (${classes.join(', ')})`,
        framework: `${framework} (${algorithm})`,
        source: 'galen training',
        datasetSha256: dataset.sha256,
        parameters: {
          dataset: `${dataset.name}:${dataset.version}`,
          ...(hooks.job !== undefined && { job: hooks.job }),
          target: 'label',
          model: architecture,
          seed,
          classes,
          ...data.parameters,
          deep: { ...options },
          trainer: {
            training: spec.training,
            augment,
            network: spec.network,
            opset: done.opset,
            parameters: done.parameters,
          },
          trainRows: splits.train.length,
          validationRows: splits.validation.length,
          testRows: splits.test.length,
        },
        metrics,
        card: card as unknown as Record<string, unknown>,
        // Images, signals and histories are not compared input by input: the prediction is.
        monitoringProfile: buildProfile({
          layout: undefined,
          output: { tensor: 'probabilities', task: k === 2 ? 'binary' : 'multiclass', classes },
          featureRows: [],
          outputs: testTargets.map((_, r) => served.subarray(r * k, (r + 1) * k)),
          labels: testTargets,
          source: `prediction: the ${splits.test.length} held-out ${kind}, scored by the exported ONNX`,
          createdAt: new Date().toISOString(),
        }) as unknown as Record<string, unknown>,
      },
      actor,
    );
    return { version, metrics };
  } finally {
    await removeWorkDir(work);
    if (arrays !== work) await removeWorkDir(arrays);
  }
}
