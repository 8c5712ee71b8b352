/**
 * The model runtime: the only module that imports onnxruntime-node. Sessions, warm-up,
 * concurrency limits, graceful unload and per-version statistics.
 */
export { ModelRuntime } from './model-runtime.js';
export type { Lease, RunResult, RuntimeOptions, ServingDefaults } from './model-runtime.js';
export type { DurationStat, VersionStats } from './stats.js';
export { canBatch } from './dynamic-batcher.js';
