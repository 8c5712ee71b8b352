/**
 * `galen train`: a CSV (or JSON lines) in, an evaluated, registered model version out, against
 * the local data folder. It runs in this CLI process, so it never slows a server sharing the folder.
 * With `--json` it prints one JSON object other tools can script: `model`, `version`, `metrics.test`.
 */
import { createReadStream } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { trainModel } from '../jobs/index.js';
import type { TabularModelKind } from '../training/index.js';
import { CLI_ACTOR, audited, print, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';

function modelKind(value: string): TabularModelKind | 'auto' {
  if (value === 'auto' || value === 'logistic' || value === 'gbdt') return value;
  throw new InvalidArgumentError('expected auto, logistic or gbdt');
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
}

export function trainCommand(global: () => CliOptions): Command {
  return new Command('train')
    .description('train a model from a CSV or JSON-lines file, evaluate it on held-out rows, and register it')
    .requiredOption('--data <file>', 'training data (CSV or JSON lines)')
    .requiredOption('--target <column>', 'the column to predict')
    .option('--positive <value>', 'for a two-class target: the positive class')
    .option('--test <file>', 'held-out data with the same columns (default: a stratified 20% of --data)')
    .option('--model <kind>', 'auto (cross-validated choice), logistic or gbdt', modelKind, 'auto')
    .requiredOption('--name <model>', 'the model to register a version of')
    .option('--seed <n>', 'seed of the split and the model', seed)
    .option('--description <text>', 'what this version is')
    .option(
      '--sensitive <column>',
      'report held-out metrics per group of this column too (e.g. sex, age band)',
    )
    .action(async (o: TrainFlags) => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const upload = (file: string, name: string) =>
          audited(galen, 'dataset.upload', { detail: { dataset: name } }, () =>
            galen.datasets.upload({ name, file: createReadStream(file), target: o.target }, CLI_ACTOR),
          );
        const train = await upload(o.data, `${o.name}-train`);
        const test = o.test === undefined ? undefined : await upload(o.test, `${o.name}-test`);
        const { version, metrics } = await audited(galen, 'model.train', { model: o.name }, () =>
          trainModel(
            galen,
            {
              model: o.name,
              dataset: train.dataset.name,
              datasetVersion: train.dataset.version,
              testDataset: test?.dataset.name,
              target: o.target,
              positive: o.positive,
              modelKind: o.model,
              options: o.seed === undefined ? undefined : { seed: o.seed },
              description: o.description,
              sensitive: o.sensitive,
            },
            CLI_ACTOR,
          ),
        );
        const test_ = metrics['test'] as Record<string, number>;
        print(
          {
            model: version.model,
            version: version.version,
            trained: version.lineage.parameters?.['model'],
            dataset: {
              train: `${train.dataset.name}:${train.dataset.version}`,
              sha256: train.dataset.sha256,
            },
            metrics,
          },
          opts.json,
          () =>
            [
              `registered ${version.model} version ${version.version} (${String(version.lineage.parameters?.['model'])})`,
              `held-out: ${Object.entries(test_)
                .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
                .join(', ')}`,
              String(metrics['evaluatedOn']),
            ].join('\n'),
        );
      });
    });
}
