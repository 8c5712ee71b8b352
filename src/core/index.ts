/** Shared vocabulary of Galen: errors, tensor types, hashing, ids and time. Imports nothing of ours. */
export {
  ERROR_CODES,
  GalenError,
  conflict,
  errorCodeOfHttpStatus,
  grpcStatusOf,
  httpStatusOf,
  invalidInput,
  isGalenError,
  notFound,
  unavailable,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export {
  DATATYPES,
  INTEGER_RANGES,
  allocateTensorData,
  elementCount,
  formatShape,
  isDatatype,
  shapeMatches,
  shortestFloat32,
} from './tensor-types.js';
export type {
  Datatype,
  ImageInputSpec,
  PreprocessedInputSpec,
  RankingSpec,
  Signature,
  Tensor,
  TensorData,
  TensorDataMap,
  TensorSpec,
} from './tensor-types.js';
export { isSha256Hex, sha256File, sha256Hex } from './hashing.js';
export {
  ECHO_MAX_CHARS,
  jsonSyntaxProblem,
  jsonSyntaxText,
  kindOf,
  parameterText,
  quoted,
  shapeValueText,
} from './echo.js';
export type { JsonSyntaxProblem } from './echo.js';
export { childEnvironment } from './child-env.js';
export { NAME_MAX_LENGTH, NAME_PATTERN, NAME_RULE, newRequestId, randomToken, requestIdFrom } from './ids.js';
export { isoTime, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export {
  PERMISSIONS,
  PRODUCTION_ALIAS,
  ROLES,
  aliasPermission,
  assertCan,
  isRole,
  permissionsOf,
  roleCan,
} from './access.js';
export type { Actor, Permission, Role } from './access.js';
export { GALEN_VERSION } from './version.js';
export { SERVING_LIMITS, SERVING_SETTING_NAMES, parseServingSettings } from './serving-settings.js';
export { ThreadPool } from './thread-pool.js';
export { declaredJson, modelMetadataError } from './model-metadata.js';
export { MAX_JSON_DEPTH, isJsonObject, jsonDeeperThan, jsonTypeOf } from './json-depth.js';
export type { ThreadPoolOptions, ThreadReply } from './thread-pool.js';
export type { ServingSettings } from './serving-settings.js';
export { OIP_EXTENSIONS } from './protocol.js';
export { featureWidth } from './pipeline-spec.js';
export {
  OUT_OF_RANGE_PARAMETER,
  TRAINING_RANGES_PARAMETER,
  compileRangeCheck,
  rangeText,
  rangesOfColumns,
  trainingRangesOf,
} from './input-ranges.js';
export type { InputRanges, NumericRange, RangeCheck } from './input-ranges.js';
export type {
  CategoricalFeatureSpec,
  FeatureSpec,
  LinearModelSpec,
  NumericFeatureSpec,
  PipelineModelSpec,
  PipelineSpec,
  TreeEnsembleSpec,
  TreeNodeSpec,
} from './pipeline-spec.js';
export {
  featureNames,
  layoutFor,
  rowsFromTensors,
  scoredOutputFor,
  tabularLayoutOf,
  tensorsFromRows,
} from './tabular-layout.js';
export type { Cell, FeatureLayout, ScoredOutput } from './tabular-layout.js';
