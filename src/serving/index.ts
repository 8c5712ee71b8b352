/**
 * Serving: the protocol-neutral inference path (resolve, lease, validate, run), JSON tensor
 * encoding, and which model versions are loaded.
 */
export { InferenceService, assertVersionNumber, parseTimeoutMicros } from './inference-service.js';
export type {
  InferenceRequest,
  InferenceResult,
  InputPreprocessor,
  ModelMetadata,
  PredictionRecorder,
  ServingView,
  VersionStatistics,
} from './inference-service.js';
export { ModelManager, parseVersionKey, versionKey } from './model-manager.js';
export {
  modelConfigOf,
  repositoryIndex,
  tritonDataType,
  tritonModelConfig,
  tritonStatistics,
} from './triton-views.js';
export type { RepositoryIndexEntry, TritonModelConfig } from './triton-views.js';
export { parseDatatype, parseShape, tensorDataToJson, tensorFromJson } from './json-tensors.js';
export { floatToHalfBits, halfBitsToFloat } from './float16.js';
export {
  alternativeInputs,
  checkDeclaredInputs,
  selectOutputs,
  servedInputs,
  validateInputs,
} from './validate-inputs.js';
export { tensorFromRaw, tensorToRaw } from './raw-tensors.js';
export {
  DEFAULT_TENSOR_LIMITS,
  ELEMENT_BYTES,
  TensorBudget,
  checkDeclaredLimits,
  declaredCount,
} from './tensor-limits.js';
export type { DeclaredInput, EncodedInputs, TensorLimits } from './tensor-limits.js';
