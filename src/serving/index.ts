/**
 * Serving: the protocol-neutral inference path (resolve, lease, validate, run), JSON tensor
 * encoding, and which model versions are loaded.
 */
export { InferenceService, assertVersionNumber, parseTimeoutMicros } from './inference-service.js';
export type {
  InferenceRequest,
  InferenceResult,
  ModelMetadata,
  PredictionRecorder,
  ServingView,
  VersionStatistics,
} from './inference-service.js';
export { ModelManager, parseVersionKey, versionKey } from './model-manager.js';
export { parseDatatype, parseShape, tensorDataToJson, tensorFromJson } from './json-tensors.js';
export { floatToHalfBits, halfBitsToFloat } from './float16.js';
export { alternativeInputs, selectOutputs, servedInputs, validateInputs } from './validate-inputs.js';
export { ELEMENT_BYTES, tensorFromRaw, tensorToRaw } from './raw-tensors.js';
