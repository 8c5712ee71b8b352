/** Explanations: Shapley values per prediction (exact for Galen's linear and tree pipelines, KernelSHAP otherwise) and global importance. */
export {
  EXPLAINER_SCHEMA,
  explainerView,
  networkExplainer,
  pipelineExplainer,
  playerNames,
} from './explainer.js';
export type {
  Cell,
  ExplainedOutput,
  ExplainerData,
  ExplainerView,
  GlobalImportance,
  PlayerLayout,
} from './explainer.js';
export { BACKGROUND_LIMITS, EXPLAIN_LIMITS, ExplainService } from './explain-service.js';
export type {
  Attribution,
  BackgroundUpload,
  ExplainMethod,
  ImageExplainResult,
  ImageExplanation,
  ExplainRequest,
  ExplainResult,
  RowExplanation,
} from './explain-service.js';
