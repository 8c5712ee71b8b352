/** `galen datasets …`: upload, list and show datasets in the local data folder (the same domain calls as the API). */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseDatasetRef } from '../registry/index.js';
import type { DatasetFormat, DatasetVersion } from '../registry/index.js';
import { CLI_ACTOR, audited, print, table, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';

function format(value: string): DatasetFormat {
  if (value === 'csv' || value === 'jsonl') return value;
  throw new InvalidArgumentError('expected csv or jsonl');
}

/** The schema as a terminal table: one line per column. */
export function schemaTable(dataset: Pick<DatasetVersion, 'schema'>): string {
  return table(
    ['COLUMN', 'KIND', 'ROLE', 'MISSING', 'DISTINCT', 'VALUES'],
    dataset.schema.columns.map((c) => [
      c.name,
      c.kind,
      c.role,
      String(c.missing),
      String(c.distinct),
      c.numeric
        ? `${c.numeric.min} … ${c.numeric.max} (mean ${c.numeric.mean.toPrecision(4)})`
        : (c.categories ?? []).slice(0, 6).join(', ') + ((c.categories?.length ?? 0) > 6 ? ', …' : ''),
    ]),
  );
}

export function datasetsCommand(global: () => CliOptions): Command {
  const datasets = new Command('datasets').description(
    'upload and inspect training datasets in the local data folder',
  );

  datasets
    .command('upload')
    .description('store a CSV or JSON-lines file as a new version of a dataset, and show its inferred schema')
    .argument('<file>', 'the data file')
    .requiredOption('--name <name>', 'dataset name')
    .option('--target <column>', 'the column to predict (checked: it must exist and vary)')
    .option('--format <csv|jsonl>', 'file format (default: from the extension, else detected)', format)
    .option('--description <text>', 'what this data is')
    .action(
      async (
        file: string,
        o: { name: string; target?: string; format?: DatasetFormat; description?: string },
      ) => {
        const opts = global();
        const ext = extname(file).toLowerCase();
        const fmt =
          o.format ?? (ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : ext === '.csv' ? 'csv' : undefined);
        await withGalen(opts, async (galen) => {
          const { dataset, created } = await audited(
            galen,
            'dataset.upload',
            { detail: { dataset: o.name } },
            () =>
              galen.datasets.upload(
                {
                  name: o.name,
                  file: createReadStream(file),
                  format: fmt,
                  target: o.target,
                  description: o.description,
                },
                CLI_ACTOR,
              ),
          );
          print({ ...dataset, created }, opts.json, () =>
            [
              `${created ? 'stored' : 'unchanged (same bytes as)'} ${dataset.name}:${dataset.version}: ${dataset.rows} rows, ${dataset.schema.columns.length} columns, sha256 ${dataset.sha256}`,
              schemaTable(dataset),
            ].join('\n'),
          );
        });
      },
    );

  datasets
    .command('list')
    .description('list datasets')
    .action(async () => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const list = await galen.datasets.list(CLI_ACTOR);
        print(list, opts.json, () =>
          table(
            ['DATASET', 'LATEST', 'ROWS', 'COLUMNS', 'TARGET', 'CREATED'],
            list.map((d) => [
              d.name,
              String(d.latestVersion),
              String(d.latest.rows),
              String(d.latest.schema.columns.length),
              d.latest.schema.target ?? '-',
              d.latest.createdAt,
            ]),
          ),
        );
      });
    });

  datasets
    .command('show')
    .description('show one version of a dataset (the latest by default) with its schema')
    .argument('<ref>', 'name or name:version')
    .action(async (ref: string) => {
      const opts = global();
      const { name, version } = parseDatasetRef(ref);
      await withGalen(opts, async (galen) => {
        const dataset = await galen.datasets.get(name, version, CLI_ACTOR);
        print(dataset, opts.json, () =>
          [
            `${dataset.name}:${dataset.version} (${dataset.format}, ${dataset.rows} rows, sha256 ${dataset.sha256})`,
            schemaTable(dataset),
          ].join('\n'),
        );
      });
    });

  return datasets;
}
