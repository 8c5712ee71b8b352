/** Training runs and the jobs that run them: from a stored dataset to an evaluated, registered model version. */
export { trainModel } from './train-model.js';
export type {
  TrainModelDeps,
  TrainModelHooks,
  TrainModelRequest,
  TrainModelResult,
  TrainProgress,
} from './train-model.js';
export { JobService, jobActor } from './job-service.js';
export type {
  Job,
  JobEvents,
  JobLauncher,
  JobLoopHealth,
  JobOutcome,
  JobServiceOptions,
  RunningJob,
  TrainJobRequest,
} from './job-service.js';
export { MODEL_CARD_SCHEMA, buildModelCard, renderModelCardMarkdown } from './model-card.js';
export type { ModelCard } from './model-card.js';
export {
  DEEP_ARCHITECTURES,
  IMAGE_ARCHITECTURES,
  PARITY_LIMIT,
  SEQUENCE_ARCHITECTURES,
  checkDeepOptions,
  isDeepArchitecture,
  pytorchBackend,
} from './train-deep.js';
export { removeWorkDirsNow, sweepWorkDirs, trainingWorkRoot } from './work-dirs.js';
export type { WorkPlace } from './work-dirs.js';
export type { DeepArchitecture, DeepTrainingOptions, ImageAugmentation } from './train-deep.js';
export type { MoleculeSplit, MoleculeTrainingOptions } from './train-molecules.js';
export {
  FeatureSourceSchema,
  RecommenderOptionsSchema,
  parseRecommenderOptions,
} from './train-recommender.js';
export type { FeatureSource, RecommenderTrainingOptions } from './train-recommender.js';
