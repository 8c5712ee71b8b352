/** `galen datasets …`: upload, list and show datasets in the local data folder (the same domain calls as the API). */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, relative } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { STATIC_FEATURES, mimicHistories } from '../ehr/index.js';
import { packImageFolder } from '../images/index.js';
import { beatWindows, parseWfdbAnnotations, parseWfdbHeader, readWfdbSignals } from '../signals/index.js';
import { isImageSchema, isSequenceSchema, parseDatasetRef } from '../registry/index.js';
import type { DatasetFormat, DatasetVersion } from '../registry/index.js';
import { openInput } from './cli-errors.js';
import { CLI_ACTOR, audited, print, table, withGalen } from './local-context.js';
import type { CliOptions } from './local-context.js';

const FORMATS: readonly DatasetFormat[] = ['csv', 'jsonl', 'npz', 'images', 'sequences'];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function format(value: string): DatasetFormat {
  const found = FORMATS.find((f) => f === value);
  if (found) return found;
  throw new InvalidArgumentError(`expected ${FORMATS.join(', ')}`);
}

/** A folder of images as one zip (`images` format): its PNG/JPEG files and labels.csv. */
async function zipFolder(folder: string): Promise<Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(png|jpe?g|csv)$/i.test(entry.name))
        files[relative(folder, path).split('\\').join('/')] = await readFile(path);
    }
  };
  await walk(folder);
  return packImageFolder(files);
}

/** What `galen datasets` prints about a dataset's contents. */
export function describeContents({ schema }: Pick<DatasetVersion, 'schema'>): string {
  if (isImageSchema(schema)) return `${schema.rows} images`;
  if (isSequenceSchema(schema)) return `${schema.rows} sequences`;
  return `${schema.rows} rows, ${schema.columns.length} columns`;
}

/** The schema as a terminal table: one line per column, or per label of an image dataset. */
export function schemaTable({ schema }: Pick<DatasetVersion, 'schema'>): string {
  if (isImageSchema(schema)) {
    const shape = schema.shape ? schema.shape.join('×') : `varied sizes, ${schema.channels} channel(s)`;
    return [
      `images: ${shape}${
        schema.splits
          ? `; splits ${Object.entries(schema.splits)
              .map(([s, n]) => `${s} ${n}`)
              .join(', ')}`
          : ''
      }`,
      table(
        ['LABEL', 'IMAGES'],
        Object.entries(schema.labels).map(([label, n]) => [label, String(n)]),
      ),
    ].join('\n');
  }
  if (isSequenceSchema(schema)) {
    return [
      `sequences: ${schema.stepFeatures} value(s) per step, length ${schema.minLength}–${schema.maxLength} (mean ${schema.meanLength.toFixed(1)})${schema.staticFeatures > 0 ? `, ${schema.staticFeatures} static feature(s)` : ''}`,
      table(
        ['LABEL', 'SEQUENCES'],
        Object.entries(schema.labels).map(([label, n]) => [label, String(n)]),
      ),
    ].join('\n');
  }
  return table(
    ['COLUMN', 'KIND', 'ROLE', 'MISSING', 'DISTINCT', 'VALUES'],
    schema.columns.map((c) => [
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

/** Stores sequence-dataset lines made by a converter as a new version, and says what was left out. */
async function storeSequences(
  opts: CliOptions,
  made: { name: string; lines: string[]; description: string; dropped: Record<string, number>; unit: string },
): Promise<void> {
  await withGalen(opts, async (galen) => {
    const { dataset, created } = await audited(
      galen,
      'dataset.upload',
      { detail: { dataset: made.name } },
      () =>
        galen.datasets.upload(
          {
            name: made.name,
            file: Buffer.from(made.lines.join('\n') + '\n'),
            format: 'sequences',
            description: made.description,
          },
          CLI_ACTOR,
        ),
    );
    print({ ...dataset, created, dropped: made.dropped }, opts.json, () =>
      [
        `${created ? 'stored' : 'unchanged (same bytes as)'} ${dataset.name}:${dataset.version}: ${describeContents(dataset)}, sha256 ${dataset.sha256}`,
        schemaTable(dataset),
        ...Object.entries(made.dropped).map(([why, n]) => `left out ${n} ${made.unit}(s): ${why}`),
      ].join('\n'),
    );
  });
}

export function datasetsCommand(global: () => CliOptions): Command {
  const datasets = new Command('datasets').description(
    'upload and inspect training datasets in the local data folder',
  );

  datasets
    .command('upload')
    .description(
      'store a CSV or JSON-lines table, a NumPy .npz of images, or a folder of PNG/JPEG images (with labels.csv, or a folder per class) as a new version of a dataset, and show what it holds',
    )
    .argument('<file>', 'the data file, or a folder of images')
    .requiredOption('--name <name>', 'dataset name')
    .option('--target <column>', 'the column to predict (checked: it must exist and vary)')
    .option('--format <format>', `${FORMATS.join(', ')} (default: from the extension, else detected)`, format)
    .option('--description <text>', 'what this data is')
    .action(
      async (
        file: string,
        o: { name: string; target?: string; format?: DatasetFormat; description?: string },
      ) => {
        const opts = global();
        const ext = extname(file).toLowerCase();
        const folder = (await stat(file)).isDirectory();
        const fmt =
          o.format ??
          (folder
            ? 'images'
            : ext === '.jsonl' || ext === '.ndjson'
              ? 'jsonl'
              : ext === '.csv'
                ? 'csv'
                : ext === '.npz'
                  ? 'npz'
                  : undefined);
        const body = folder ? await zipFolder(file) : await openInput(file);
        await withGalen(opts, async (galen) => {
          const { dataset, created } = await audited(
            galen,
            'dataset.upload',
            { detail: { dataset: o.name } },
            () =>
              galen.datasets.upload(
                {
                  name: o.name,
                  file: body,
                  format: fmt,
                  target: o.target,
                  description: o.description,
                },
                CLI_ACTOR,
              ),
          );
          print({ ...dataset, created }, opts.json, () =>
            [
              `${created ? 'stored' : 'unchanged (same bytes as)'} ${dataset.name}:${dataset.version}: ${describeContents(dataset)}, sha256 ${dataset.sha256}`,
              schemaTable(dataset),
            ].join('\n'),
          );
        });
      },
    );

  datasets
    .command('from-wfdb')
    .description(
      'make a beat-classification dataset from a WFDB record (.hea, .dat, .atr): a window of every lead around each annotated beat, labelled by its AAMI class, stored as a sequence dataset',
    )
    .argument('<record>', 'the record, as its .hea file or its path without extension')
    .requiredOption('--name <name>', 'dataset name')
    .option('--annotator <ext>', 'annotation file extension', 'atr')
    .option('--before <samples>', 'samples before each beat (default 0.25 s)', positiveInt)
    .option('--after <samples>', 'samples from each beat on (default 0.45 s)', positiveInt)
    .option('--labels <aami|symbol>', 'AAMI classes (N, S, V, F, Q) or the beat symbols', 'aami')
    .option('--min-class <count>', 'leave out classes with fewer beats', positiveInt, 10)
    .action(
      async (
        record: string,
        o: {
          name: string;
          annotator: string;
          before?: number;
          after?: number;
          labels: string;
          minClass: number;
        },
      ) => {
        const opts = global();
        if (o.labels !== 'aami' && o.labels !== 'symbol')
          throw new InvalidArgumentError('--labels is aami or symbol');
        const base = record.replace(/\.hea$/, '');
        const header = parseWfdbHeader(await readFile(`${base}.hea`, 'utf8'));
        // The header names its .dat file; a renamed copy (mitbih_100.dat) sits beside its .hea.
        const named = join(dirname(base), header.signals[0]?.fileName ?? `${header.record}.dat`);
        const datFile = existsSync(named) ? named : `${base}.dat`;
        const signals = readWfdbSignals(header, await readFile(datFile));
        const annotations = parseWfdbAnnotations(await readFile(`${base}.${o.annotator}`));
        const windows = beatWindows(header, signals, annotations, {
          ...(o.before !== undefined && { before: o.before }),
          ...(o.after !== undefined && { after: o.after }),
          labels: o.labels,
          minClassCount: o.minClass,
        });
        await storeSequences(opts, {
          name: o.name,
          lines: windows.lines,
          description: `beats of WFDB record ${header.record} (${windows.window.leads.join(', ')}; ${windows.window.before} samples before and ${windows.window.after} from each beat at ${header.samplingFrequency} Hz)`,
          dropped: windows.dropped,
          unit: 'beat',
        });
      },
    );

  datasets
    .command('from-mimic')
    .description(
      'make a patient-history dataset from MIMIC-III tables (ADMISSIONS, PATIENTS, DIAGNOSES_ICD): one sequence of diagnosis codes per admission, with age, sex, emergency admission and earlier admissions as static features, split by patient',
    )
    .argument(
      '<folder>',
      'the folder holding the tables (files ending ADMISSIONS.csv, PATIENTS.csv, DIAGNOSES_ICD.csv)',
    )
    .requiredOption('--name <name>', 'dataset name')
    .option(
      '--target <death|readmission>',
      'in-hospital death, or readmission within 30 days of discharge',
      'death',
    )
    .option('--seed <n>', 'seed of the patient split', positiveInt, 42)
    .action(async (folder: string, o: { name: string; target: string; seed: number }) => {
      const opts = global();
      if (o.target !== 'death' && o.target !== 'readmission')
        throw new InvalidArgumentError('--target is death or readmission');
      const files = await readdir(folder);
      const read = async (suffix: string): Promise<Buffer> => {
        const file = files.find((f) => f.toUpperCase().endsWith(suffix));
        if (!file) throw new InvalidArgumentError(`${folder} has no file ending ${suffix}`);
        return readFile(join(folder, file));
      };
      const histories = mimicHistories(
        {
          admissions: await read('ADMISSIONS.CSV'),
          patients: await read('PATIENTS.CSV'),
          diagnoses: await read('DIAGNOSES_ICD.CSV'),
        },
        { target: o.target, seed: o.seed },
      );
      await storeSequences(opts, {
        name: o.name,
        lines: histories.lines,
        description: `MIMIC-III admissions as diagnosis-code histories, labelled by ${o.target === 'death' ? 'in-hospital death' : 'readmission within 30 days'}; static features ${STATIC_FEATURES.join(', ')}; split by patient (seed ${o.seed})`,
        dropped: histories.dropped,
        unit: 'admission',
      });
    });

  datasets
    .command('list')
    .description('list datasets')
    .action(async () => {
      const opts = global();
      await withGalen(opts, async (galen) => {
        const list = await galen.datasets.list(CLI_ACTOR);
        print(list, opts.json, () =>
          table(
            ['DATASET', 'LATEST', 'FORMAT', 'ROWS', 'COLUMNS', 'TARGET', 'CREATED'],
            list.map((d) => [
              d.name,
              String(d.latestVersion),
              d.latest.format,
              String(d.latest.rows),
              'columns' in d.latest.schema ? String(d.latest.schema.columns.length) : '-',
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
