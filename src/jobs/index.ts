/** Training runs: from a stored dataset to an evaluated, registered model version. */
export { trainModel } from './train-model.js';
export type { TrainModelDeps, TrainModelRequest, TrainModelResult } from './train-model.js';
