/** What the registry hands out: models, versions and their lineage, as the API shows them. */
import type { ServingSettings, Signature } from '../core/index.js';
import type { JsonObject } from '../store/index.js';

/** Where a version came from. Every field is optional except what Galen reads itself. */
export interface Lineage {
  /** Read from the ONNX file. */
  onnx: {
    irVersion: number;
    producerName: string;
    producerVersion: string;
    opsetImports: { domain: string; version: number }[];
    operators: string[];
  };
  /** The framework the caller says it was trained with (e.g. `pytorch 2.3`). */
  framework?: string;
  /** Free text or URI: a training job, a repository commit, a vendor. */
  source?: string;
  /** sha256 of the training data, when known. */
  datasetSha256?: string;
  /** Hyperparameters and other settings of the training run. */
  parameters?: Record<string, unknown>;
}

export interface ModelVersion {
  model: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  description: string;
  signature: Signature;
  lineage: Lineage;
  metrics: Record<string, unknown>;
  /** Aliases that point at this version. */
  aliases: string[];
  createdAt: string;
  createdBy: string;
  archived: boolean;
  archivedAt: string | null;
}

export interface Model {
  name: string;
  description: string;
  tags: Record<string, string>;
  /** Batching and queueing settings over the server defaults; {} = all defaults. */
  serving: ServingSettings;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt: string | null;
  /** Highest version number, archived or not (0 when none). */
  latestVersion: number;
  /** alias → version */
  aliases: Record<string, number>;
}

export interface ModelDetail extends Model {
  versions: ModelVersion[];
}

/** The caller-supplied part of a new version. */
export interface NewVersionInput {
  model: string;
  /** The ONNX file's bytes, as a buffer or a stream of chunks. */
  file: Uint8Array | AsyncIterable<Uint8Array>;
  description?: string | undefined;
  /** Applied to the model when this call creates it. */
  modelDescription?: string | undefined;
  tags?: Record<string, string> | undefined;
  framework?: string | undefined;
  source?: string | undefined;
  datasetSha256?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
  metrics?: Record<string, unknown> | undefined;
  /** The model card (training writes one), stored with the version. */
  card?: Record<string, unknown> | undefined;
  /** The explainer (training writes one: background rows, pipeline, global importance). */
  explainer?: Record<string, unknown> | undefined;
  /** The monitoring profile (training writes one: reference distributions of inputs and prediction). */
  monitoringProfile?: Record<string, unknown> | undefined;
  maxBytes?: number | undefined;
}

/** Reads a model's signature by loading it the way serving will (the runtime provides it). */
export interface SignatureInspector {
  inspect(model: Uint8Array): Promise<Signature>;
}

/** What a model declares beyond its graph (image inputs, preprocessing steps, ranking), kept in its signature. */
export type SignatureDeclarations = Partial<Omit<Signature, 'inputs' | 'outputs' | 'unservedOutputs'>>;

/**
 * How the features that read a version's metadata plug into the registry, which knows none of
 * them: the composition root (`src/app/version-metadata.ts`) passes the list, so the registry stays
 * below images/, preprocessing/, recommend/ and fhir/.
 */
export interface VersionMetadataReaders {
  /**
   * Run in order when a version is registered, each on the ONNX metadata and the graph's own
   * signature; each returns what its model declares (nothing when it declares nothing), or throws
   * `invalid_input` for a wrong declaration. The results are merged into the version's signature.
   */
  readonly signature: readonly ((
    metadata: Readonly<Record<string, string>>,
    signature: Signature,
  ) => SignatureDeclarations)[];
  /** Checks a feature map against the version's signature and returns it as it is stored (fhir/). */
  readonly featureMap: (raw: unknown, signature: Signature) => JsonObject;
}
