/** The model registry: models, versions, aliases, signatures, lineage and archive. */
export { ModelRegistry, checkName, parseVersionRef } from './model-registry.js';
export type { FeatureMapView } from './model-registry.js';
export type {
  Lineage,
  Model,
  ModelDetail,
  ModelVersion,
  NewVersionInput,
  SignatureDeclarations,
  SignatureInspector,
  VersionMetadataReaders,
} from './types.js';
export {
  DatasetRegistry,
  isImageDataset,
  isImageSchema,
  isSequenceDataset,
  isSequenceSchema,
  parseDataset,
  parseDatasetRef,
  tableSchemaOf,
} from './dataset-registry.js';
export type {
  DatasetFormat,
  DatasetSummary,
  DatasetUpload,
  DatasetVersion,
  StoredSchema,
} from './dataset-registry.js';
