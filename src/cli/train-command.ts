/**
 * `galen train`: a CSV (or JSON lines) in, an evaluated, registered model version out, against
 * the local data folder (in this CLI process, so it never slows a server sharing the folder) or as a
 * job on a running server (`--url`, key from `GALEN_KEY`), with a progress bar on stderr.
 * With `--json` it prints one JSON object other tools can script: `model`, `version`, `metrics.test`.
 */
import { readFileSync } from 'node:fs';
import type { ReadStream } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { readDeidKey } from '../config/index.js';
import { GalenError } from '../core/index.js';
import { looksLikeTargetExpression } from '../datasets/index.js';
import { parseTableDeidConfig } from '../deid/index.js';
import { parseRecommenderOptions, trainModel } from '../jobs/index.js';
import type { RecommenderTrainingOptions, TrainModelRequest } from '../jobs/index.js';
import { SELECTION_METRICS } from '../training/index.js';
import type { SelectionMetric, TabularModelKind } from '../training/index.js';
import { openInput } from './cli-errors.js';
import { CLI_ACTOR, audited, print, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';
import { ProgressBar } from './progress-bar.js';
import { RemoteGalen } from './remote-client.js';

function modelKind(value: string): TabularModelKind | 'auto' | 'mlp' {
  if (value === 'auto' || value === 'logistic' || value === 'linear' || value === 'gbdt' || value === 'mlp')
    return value;
  throw new InvalidArgumentError('expected auto, logistic, linear, gbdt or mlp');
}

function seed(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

interface TrainFlags {
  data: string;
  target: string;
  positive?: string;
  test?: string;
  model: TabularModelKind | 'auto';
  name: string;
  seed?: number;
  description?: string;
  sensitive?: string;
  intendedUse?: string;
  threshold?: number;
  selectBy?: SelectionMetric;
  classWeight?: 'balanced' | Record<string, number>;
  oversample?: boolean;
  url?: string;
  /** De-identification rules read from the --deid file. */
  deid?: Record<string, unknown>;
  /** A molecule model: the SMILES column. */
  smiles?: string;
  split?: 'random' | 'scaffold';
  /** A recommender: the options read from the --recommender file. */
  recommender?: RecommenderTrainingOptions;
  progress: boolean;
}

/** What kind of run the flags ask for, as the job request's `molecules` / `recommender` and model kind. */
function special(o: TrainFlags): Pick<TrainModelRequest, 'molecules' | 'recommender' | 'modelKind'> {
  if (o.smiles !== undefined && o.recommender !== undefined)
    throw new GalenError('invalid_input', '--smiles (a molecule model) and --recommender do not go together');
  if (o.split !== undefined && o.smiles === undefined)
    throw new GalenError('invalid_input', '--split is for molecule models: give --smiles <column> too');
  if (o.smiles !== undefined)
    return {
      molecules: { smiles: o.smiles, ...(o.split !== undefined && { split: o.split }) },
      modelKind: o.model === 'auto' ? 'gbdt' : o.model,
    };
  if (o.recommender !== undefined) return { recommender: o.recommender, modelKind: 'auto' };
  return { modelKind: o.model };
}

/** The --recommender file: the recommender's options (user column, feature datasets, loss, ...). */
function recommenderOptions(file: string): RecommenderTrainingOptions {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${(err as Error).message}`);
  }
  try {
    return parseRecommenderOptions(raw);
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${(err as Error).message}`);
  }
}

function moleculeSplit(value: string): 'random' | 'scaffold' {
  if (value !== 'random' && value !== 'scaffold') throw new InvalidArgumentError('random or scaffold');
  return value;
}

/** The --deid file: de-identification rules as `galen deid csv` takes them. */
function deidRules(file: string): Record<string, unknown> {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parseTableDeidConfig(raw) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${(err as Error).message}`);
  }
}

function selectBy(value: string): SelectionMetric {
  const all = new Set<string>(Object.values(SELECTION_METRICS).flat());
  if (!all.has(value)) throw new InvalidArgumentError(`expected one of ${[...all].join(', ')}`);
  return value as SelectionMetric;
}

function probability(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError('expected a probability between 0 and 1, e.g. 0.3');
  return p;
}

/** `balanced`, or `label=weight` pairs separated by commas. */
function classWeight(value: string): 'balanced' | Record<string, number> {
  if (value === 'balanced') return value;
  const out: Record<string, number> = {};
  for (const pair of value.split(',')) {
    const at = pair.lastIndexOf('=');
    const weight = Number(pair.slice(at + 1));
    if (at <= 0 || !Number.isFinite(weight) || weight <= 0) {
      throw new InvalidArgumentError(
        'expected balanced, or label=weight pairs such as yes=3,no=1 (weights > 0)',
      );
    }
    out[pair.slice(0, at)] = weight;
  }
  return out;
}

/** The training options the flags set. */
function trainingOptions(o: TrainFlags): {
  seed?: number;
  selectBy?: SelectionMetric;
  classWeight?: 'balanced' | Record<string, number>;
  oversample?: boolean;
} {
  return {
    ...(o.seed !== undefined && { seed: o.seed }),
    ...(o.selectBy !== undefined && { selectBy: o.selectBy }),
    ...(o.classWeight !== undefined && { classWeight: o.classWeight }),
    ...(o.oversample === true && { oversample: true }),
  };
}

/** What `galen train` prints, the same locally and against a server. */
interface TrainOutput {
  model: string;
  version: number;
  trained: unknown;
  job?: string;
  dataset: { train: string; test?: string; sha256: string };
  metrics: Record<string, unknown>;
}

function printResult(result: TrainOutput, json: boolean | undefined): void {
  const test = (result.metrics['test'] ?? {}) as Record<string, number>;
  print(result, json, () =>
    [
      `registered ${result.model} version ${result.version} (${String(result.trained)})`,
      `held-out: ${Object.entries(test)
        .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
        .join(', ')}`,
      String(result.metrics['evaluatedOn']),
    ].join('\n'),
  );
}

interface DatasetVersionView {
  name: string;
  version: number;
  sha256: string;
}

interface JobView {
  id: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  stage: string;
  result: { model: string; version: number; trained?: string } | null;
  error: { code: string; message: string } | null;
}

/** Trains on a running server: uploads the data, submits a job and follows it to the end. */
async function trainRemote(o: TrainFlags, json: boolean | undefined): Promise<void> {
  const remote = RemoteGalen.connect(o.url!);
  const upload = (file: string, name: string) =>
    remote.upload<DatasetVersionView>(
      `/api/v1/datasets/${encodeURIComponent(name)}${looksLikeTargetExpression(o.target) || o.recommender !== undefined ? '' : `?target=${encodeURIComponent(o.target)}`}`,
      file,
    );
  const train = await upload(o.data, `${o.name}-train`);
  const test = o.test === undefined ? undefined : await upload(o.test, `${o.name}-test`);
  let job = await remote.call<JobView>('POST', '/api/v1/jobs', {
    model: o.name,
    dataset: train.name,
    datasetVersion: train.version,
    ...(test && { testDataset: test.name }),
    target: o.target,
    ...(o.positive !== undefined && { positive: o.positive }),
    ...special(o),
    ...(Object.keys(trainingOptions(o)).length > 0 && { options: trainingOptions(o) }),
    ...(o.description !== undefined && { description: o.description }),
    ...(o.sensitive !== undefined && { sensitive: o.sensitive }),
    ...(o.threshold !== undefined && { threshold: o.threshold }),
    ...(o.intendedUse !== undefined && { intendedUse: o.intendedUse }),
    ...(o.deid !== undefined && { deid: o.deid }),
  });
  // Ctrl-C cancels the job on the server rather than leaving it running unseen.
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onInterrupt);
  const bar = o.progress ? new ProgressBar() : undefined;
  try {
    while (job.state === 'queued' || job.state === 'running') {
      if (interrupted) {
        await remote.call('POST', `/api/v1/jobs/${job.id}/cancel`);
        bar?.done();
        throw new GalenError('unavailable', `interrupted: job ${job.id} was cancelled`);
      }
      bar?.update(job.progress, job.state === 'queued' ? 'queued' : job.stage);
      await new Promise((resolve) => setTimeout(resolve, 300));
      job = await remote.call<JobView>('GET', `/api/v1/jobs/${job.id}`);
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  if (job.state !== 'succeeded' || !job.result) {
    bar?.done();
    const reason = job.error ? job.error.message : job.state;
    throw new GalenError(
      job.error?.code === 'invalid_input' ? 'invalid_input' : 'internal',
      `job ${job.id} ${job.state}: ${reason}`,
    );
  }
  bar?.update(1, 'done');
  bar?.done();
  const version = await remote.call<{
    model: string;
    version: number;
    metrics: Record<string, unknown>;
    lineage: { parameters?: Record<string, unknown> };
  }>('GET', `/api/v1/models/${encodeURIComponent(job.result.model)}/versions/${job.result.version}`);
  printResult(
    {
      model: version.model,
      version: version.version,
      trained: version.lineage.parameters?.['model'],
      job: job.id,
      dataset: {
        train: `${train.name}:${train.version}`,
        ...(test && { test: `${test.name}:${test.version}` }),
        sha256: train.sha256,
      },
      metrics: version.metrics,
    },
    json,
  );
}

export function trainCommand(global: () => CliOptions): Command {
  return new Command('train')
    .description(
      'train a model from a CSV or JSON-lines file, evaluate it on held-out rows, and register it ' +
        '(in this process on the local data folder, or as a job on a server with --url)',
    )
    .requiredOption('--data <file>', 'training data (CSV or JSON lines)')
    .requiredOption('--target <column>', 'the column to predict, or a comparison on one such as "num > 0"')
    .option('--positive <value>', 'for a two-class target: the positive class')
    .option('--test <file>', 'held-out data with the same columns (default: a stratified 20% of --data)')
    .option(
      '--model <kind>',
      'auto (cross-validated choice), logistic (classes), linear (a number), gbdt, or mlp (classes; a neural network trained by the PyTorch backend)',
      modelKind,
      'auto',
    )
    .requiredOption('--name <model>', 'the model to register a version of')
    .option('--seed <n>', 'seed of the split and the model', seed)
    .option('--description <text>', 'what this version is')
    .option(
      '--sensitive <column>',
      'report held-out metrics per group of this column too (e.g. sex, age band)',
    )
    .option(
      '--class-weight <weights>',
      'weigh classes in the loss: balanced, or label=weight pairs (yes=3,no=1)',
      classWeight,
    )
    .option('--oversample', 'repeat rows of the smaller classes in the training rows until classes are even')
    .option('--intended-use <text>', 'what the model is for, in your words (goes on the model card)')
    .option(
      '--deid <rules.json>',
      'de-identify the data on the way in, by the rules `galen deid csv --rules` takes (the uploaded dataset stays as it is)',
      deidRules,
    )
    .option('--url <url>', 'train on this Galen server as a job (API key from GALEN_KEY)')
    .option(
      '--select-by <metric>',
      'what --model auto keeps the best by: auroc, auprc, logLoss, brier, accuracy, rmse, mae',
      selectBy,
    )
    .option(
      '--threshold <p>',
      'two-class targets: probability from which a row counts as positive (default 0.5)',
      probability,
    )
    .option(
      '--smiles <column>',
      'a molecule model: the column of SMILES strings (RDKit features are computed in Galen)',
    )
    .option(
      '--split <kind>',
      'molecule models: random (default) or scaffold (whole Bemis–Murcko scaffolds held out)',
      moleculeSplit,
    )
    .option(
      '--recommender <options.json>',
      'a recommender: --data holds interactions, --target the item column; the file gives {"user": column, "userFeatures": [{"dataset", "key", "feature", "prefix"?}], "itemFeatures": [...], "loss"?, "contraindications"?} (feature datasets uploaded first with galen datasets upload)',
      recommenderOptions,
    )
    .option('--no-progress', 'do not show progress on stderr')
    .action(async (o: TrainFlags) => {
      special(o); // flags that do not go together are refused before anything is uploaded
      const opts = global();
      if (o.url !== undefined) {
        await trainRemote(o, opts.json);
        return;
      }
      // Both files are opened first: a wrong path is refused before the data folder is touched.
      const dataFile = await openInput(o.data);
      const testFile = o.test === undefined ? undefined : await openInput(o.test);
      await withGalen(opts, async (galen) => {
        const upload = (file: ReadStream, name: string) =>
          audited(galen, 'dataset.upload', { detail: { dataset: name } }, () =>
            galen.datasets.upload(
              {
                name,
                file,
                ...(!(looksLikeTargetExpression(o.target) || o.recommender !== undefined) && {
                  target: o.target,
                }),
              },
              CLI_ACTOR,
            ),
          );
        const train = await upload(dataFile, `${o.name}-train`);
        const test = testFile === undefined ? undefined : await upload(testFile, `${o.name}-test`);
        const bar = o.progress ? new ProgressBar() : undefined;
        const { version, metrics } = await audited(galen, 'model.train', { model: o.name }, () =>
          trainModel(
            { ...galen, python: galen.config.jobs.python, deidKey: readDeidKey(galen.config) },
            {
              model: o.name,
              dataset: train.dataset.name,
              datasetVersion: train.dataset.version,
              testDataset: test?.dataset.name,
              target: o.target,
              positive: o.positive,
              ...special(o),
              options: trainingOptions(o),
              description: o.description,
              sensitive: o.sensitive,
              threshold: o.threshold,
              intendedUse: o.intendedUse,
              deid: o.deid,
            },
            CLI_ACTOR,
            bar ? { onProgress: (fraction, stage) => bar.update(fraction, stage) } : {},
          ),
        ).finally(() => bar?.done());
        printResult(
          {
            model: version.model,
            version: version.version,
            trained: version.lineage.parameters?.['model'],
            dataset: {
              train: `${train.dataset.name}:${train.dataset.version}`,
              ...(test && { test: `${test.dataset.name}:${test.dataset.version}` }),
              sha256: train.dataset.sha256,
            },
            metrics,
          },
          opts.json,
        );
      });
    });
}
