/**
 * Datasets: uploaded CSV or JSON-lines tables, or image archives (NumPy `.npz`, or a zip of
 * PNG/JPEG files with labels), versioned per name like models and kept in the artifact store by
 * sha256 (the digest training lineage records). Each upload is parsed and described (a table's
 * schema inferred, every image checked) before anything is kept, so a file Galen cannot read
 * leaves nothing behind.
 */
import { GalenError, assertCan, isoTime } from '../core/index.js';
import type { Actor, Clock } from '../core/index.js';
import {
  inferSchema,
  looksLikeSequences,
  parseCsv,
  parseJsonLines,
  parseSequences,
} from '../datasets/index.js';
import type {
  ColumnOverride,
  DatasetSchema,
  ParsedTable,
  SequenceDatasetSchema,
  SequenceRecord,
} from '../datasets/index.js';
import {
  DEFAULT_ARCHIVE_LIMITS,
  describeImageArchive,
  detectImageArchive,
  isZip,
  loadImageArchive,
} from '../images/index.js';
import type { ArchiveLimits, ImageDatasetSchema, LoadedImages, PixelShape } from '../images/index.js';
import type {
  ArtifactStore,
  DatasetRepository,
  DatasetVersionRecord,
  JsonObject,
  UnitOfWork,
} from '../store/index.js';
import { checkDescription, checkName } from './model-registry.js';

export type DatasetFormat = 'csv' | 'jsonl' | 'npz' | 'images' | 'sequences';
const IMAGE_FORMATS: readonly DatasetFormat[] = ['npz', 'images'];

export interface DatasetUpload {
  name: string;
  file: Uint8Array | AsyncIterable<Uint8Array>;
  /**
   * Omitted: a zip archive is `npz` when it holds `.npy` arrays, else `images`; otherwise JSON
   * lines when the first non-blank byte is `{`, else CSV.
   */
  format?: DatasetFormat | undefined;
  /**
   * The client declared the file JSON lines (`application/x-ndjson`): without `format`, it is read
   * as a table or as sequences (from its first line), never as CSV or an archive.
   */
  jsonLines?: boolean | undefined;
  /** Marks this column as the target in the stored schema (checked: it must exist and vary). */
  target?: string | undefined;
  description?: string | undefined;
  maxBytes?: number | undefined;
}

export interface DatasetVersion {
  name: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  format: DatasetFormat;
  rows: number;
  schema: StoredSchema;
  description: string;
  createdAt: string;
  createdBy: string;
}

export interface DatasetSummary {
  name: string;
  latestVersion: number;
  versions: number;
  latest: DatasetVersion;
}

/** A table's inferred schema, or the description of images or sequences. */
export type StoredSchema = DatasetSchema | ImageDatasetSchema | SequenceDatasetSchema;

const toDataset = (r: DatasetVersionRecord): DatasetVersion => ({
  ...r,
  format: r.format,
  schema: r.schema as unknown as StoredSchema,
});

/** Whether a dataset holds images rather than a table. */
export const isImageDataset = (
  dataset: Pick<DatasetVersion, 'format'>,
): dataset is DatasetVersion & { schema: ImageDatasetSchema } => IMAGE_FORMATS.includes(dataset.format);

/** Whether a dataset holds labelled sequences. */
export const isSequenceDataset = (
  dataset: Pick<DatasetVersion, 'format'>,
): dataset is DatasetVersion & { schema: SequenceDatasetSchema } => dataset.format === 'sequences';

/** Whether a stored schema describes images rather than a table. */
export const isImageSchema = (schema: StoredSchema): schema is ImageDatasetSchema =>
  (schema as ImageDatasetSchema).kind === 'images';

/** Whether a stored schema describes sequences rather than a table. */
export const isSequenceSchema = (schema: StoredSchema): schema is SequenceDatasetSchema =>
  (schema as SequenceDatasetSchema).kind === 'sequences';

/** The table schema of a tabular dataset; an image dataset is refused, saying what it is. */
export function tableSchemaOf(
  dataset: Pick<DatasetVersion, 'name' | 'version' | 'format' | 'schema'>,
): DatasetSchema {
  if (isImageDataset(dataset)) {
    throw new GalenError(
      'invalid_input',
      `dataset ${dataset.name}:${dataset.version} holds images (${dataset.format}), not a table; train an image model on it (cnn, resnet18)`,
    );
  }
  if (isSequenceDataset(dataset)) {
    throw new GalenError(
      'invalid_input',
      `dataset ${dataset.name}:${dataset.version} holds sequences, not a table; train a sequence model on it (gru, lstm, transformer)`,
    );
  }
  return dataset.schema as DatasetSchema;
}

function detectFormat(bytes: Buffer): DatasetFormat {
  for (const b of bytes.subarray(0, 4096)) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf)
      continue;
    if (b !== 0x7b /* { */) return 'csv';
    return looksLikeSequences(bytes) ? 'sequences' : 'jsonl';
  }
  return 'csv';
}

/** Parses a dataset file of `format` into a table. */
export function parseDataset(bytes: Buffer, format: DatasetFormat): ParsedTable {
  if (format === 'npz' || format === 'images' || format === 'sequences') {
    throw new GalenError('invalid_input', `a ${format} dataset is not a table`);
  }
  return format === 'jsonl' ? parseJsonLines(bytes) : parseCsv(bytes);
}

/** Parses `ref` as `name` or `name:version`. */
export function parseDatasetRef(ref: string): { name: string; version?: number } {
  const at = ref.lastIndexOf(':');
  if (at < 0) return { name: ref };
  const version = ref.slice(at + 1);
  if (!/^[1-9][0-9]{0,8}$/.test(version)) {
    throw new GalenError(
      'invalid_input',
      `"${ref}" is not a dataset reference: use <name> or <name>:<version>`,
    );
  }
  return { name: ref.slice(0, at), version: Number(version) };
}

export class DatasetRegistry {
  constructor(
    private readonly store: DatasetRepository & UnitOfWork<DatasetRepository>,
    private readonly artifacts: ArtifactStore,
    private readonly clock: Clock,
    /** What an image dataset archive may hold and decompress to (the `imageArchives.*` settings). */
    private readonly archiveLimits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
  ) {}

  /**
   * Stores a new version of dataset `name`, unless its bytes equal the latest version's (then that
   * version is returned with `created: false`). The file is parsed and its schema inferred first;
   * any problem refuses the upload and keeps nothing.
   */
  async upload(input: DatasetUpload, actor: Actor): Promise<{ dataset: DatasetVersion; created: boolean }> {
    assertCan(actor, 'data:write', 'upload datasets');
    checkName('dataset', input.name);
    const description = checkDescription(input.description);
    const staged = await this.artifacts.stage(input.file, {
      what: 'dataset file',
      ...(input.maxBytes !== undefined && { maxBytes: input.maxBytes }),
    });
    try {
      if (staged.sizeBytes === 0) throw new GalenError('invalid_input', 'the dataset file is empty');
      const bytes = await staged.read();
      const format =
        input.format ??
        (input.jsonLines === true
          ? looksLikeSequences(bytes)
            ? 'sequences'
            : 'jsonl'
          : isZip(bytes)
            ? detectImageArchive(bytes)
            : detectFormat(bytes));
      let schema: StoredSchema;
      if (format === 'npz' || format === 'images') {
        if (input.target !== undefined && input.target !== 'label') {
          throw new GalenError(
            'invalid_input',
            `an image dataset's target is its labels ("label"), not "${input.target}"`,
          );
        }
        schema = await describeImageArchive(bytes, format, this.archiveLimits);
      } else if (format === 'sequences') {
        if (input.target !== undefined && input.target !== 'label') {
          throw new GalenError(
            'invalid_input',
            `a sequence dataset's target is its labels ("label"), not "${input.target}"`,
          );
        }
        schema = parseSequences(bytes).schema;
      } else {
        schema = inferSchema(
          parseDataset(bytes, format),
          input.target === undefined ? {} : { target: input.target },
        );
      }
      const existing = await this.store.listDatasetVersions(input.name);
      const latest = existing.at(-1);
      if (
        latest &&
        latest.sha256 === staged.sha256 &&
        (latest.schema as { target?: string }).target === schema.target
      ) {
        return { dataset: toDataset(latest), created: false };
      }
      await staged.commit();
      return await this.store.transaction(async (tx) => {
        const version = ((await tx.listDatasetVersions(input.name)).at(-1)?.version ?? 0) + 1;
        const record: DatasetVersionRecord = {
          name: input.name,
          version,
          sha256: staged.sha256,
          sizeBytes: staged.sizeBytes,
          format,
          rows: schema.rows,
          schema: schema as unknown as JsonObject,
          description,
          createdAt: isoTime(this.clock.now()),
          createdBy: actor.keyId,
        };
        await tx.insertDatasetVersion(record);
        return { dataset: toDataset(record), created: true };
      });
    } finally {
      await staged.discard();
    }
  }

  async list(actor: Actor): Promise<DatasetSummary[]> {
    assertCan(actor, 'data:read', 'list datasets');
    const byName = new Map<string, DatasetVersionRecord[]>();
    for (const r of await this.store.listDatasetVersions()) {
      const list = byName.get(r.name) ?? [];
      list.push(r);
      byName.set(r.name, list);
    }
    return [...byName].map(([name, versions]) => ({
      name,
      latestVersion: versions.at(-1)!.version,
      versions: versions.length,
      latest: toDataset(versions.at(-1)!),
    }));
  }

  async versions(name: string, actor: Actor): Promise<DatasetVersion[]> {
    assertCan(actor, 'data:read', 'read datasets');
    const versions = await this.store.listDatasetVersions(name);
    if (versions.length === 0) throw new GalenError('not_found', `no dataset is named "${name}"`);
    return versions.map(toDataset);
  }

  /** A version of `name` (the latest when `version` is omitted). */
  async get(name: string, version: number | undefined, actor: Actor): Promise<DatasetVersion> {
    const versions = await this.versions(name, actor);
    if (version === undefined) return versions.at(-1)!;
    const found = versions.find((v) => v.version === version);
    if (!found) {
      throw new GalenError(
        'not_found',
        `dataset "${name}" has no version ${version} (versions: ${versions.map((v) => v.version).join(', ')})`,
      );
    }
    return found;
  }

  /**
   * The schema of a stored version inferred again with another target or column overrides (a
   * preview for training settings; nothing is stored).
   */
  async previewSchema(
    name: string,
    version: number | undefined,
    options: { target?: string; overrides?: Record<string, ColumnOverride> },
    actor: Actor,
  ): Promise<DatasetSchema> {
    const dataset = await this.get(name, version, actor);
    tableSchemaOf(dataset);
    return inferSchema(await this.load(dataset), options);
  }

  /** The parsed rows of a stored version, its bytes checked against its sha256 first. */
  async load(
    dataset: Pick<DatasetVersion, 'name' | 'version' | 'sha256' | 'format' | 'schema'>,
  ): Promise<ParsedTable> {
    tableSchemaOf(dataset);
    return parseDataset(await this.artifacts.readVerified(dataset.sha256), dataset.format);
  }

  /** Every sequence of a stored sequence dataset, its bytes checked against its sha256 first. */
  async loadSequences(
    dataset: Pick<DatasetVersion, 'name' | 'version' | 'sha256' | 'format'>,
  ): Promise<SequenceRecord[]> {
    if (!isSequenceDataset(dataset)) {
      throw new GalenError(
        'invalid_input',
        `dataset ${dataset.name}:${dataset.version} is ${dataset.format}, not sequences`,
      );
    }
    return parseSequences(await this.artifacts.readVerified(dataset.sha256)).records;
  }

  /** Every image of a stored image dataset at `shape`, its bytes checked against its sha256 first. */
  async loadImages(
    dataset: Pick<DatasetVersion, 'name' | 'version' | 'sha256' | 'format'>,
    shape: PixelShape,
  ): Promise<LoadedImages> {
    if (!isImageDataset(dataset)) {
      throw new GalenError(
        'invalid_input',
        `dataset ${dataset.name}:${dataset.version} is a table (${dataset.format}), not images`,
      );
    }
    return loadImageArchive(
      await this.artifacts.readVerified(dataset.sha256),
      dataset.format as 'npz' | 'images',
      shape,
      this.archiveLimits,
    );
  }
}
