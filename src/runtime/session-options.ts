/**
 * The ONNX Runtime session options of every session Galen opens: in the worker pool and on the
 * main thread (inline-session.ts). One place, so both kinds always agree on memory behaviour.
 */
import type ort from 'onnxruntime-node';

export interface SessionSettings {
  /** Intra-op threads of a worker session (an inline session always uses one). */
  readonly intraOpThreads: number;
  /**
   * ONNX Runtime's CPU memory arena. Off by default: the arena of each session (every version,
   * in every worker) grows to the largest run it has seen and never gives memory back, so one
   * large request pinned ~130 MB (200,000 tabular rows) to ~240 MB (128 images through a small
   * CNN) per worker until the version unloads. Without it a run's memory is freed when the run
   * ends; runs whose intermediate tensors stay under glibc's largest mmap threshold (32 MiB)
   * cost the same, larger runs up to ~1.6× the CPU (they map fresh pages each time).
   */
  readonly cpuMemArena: boolean;
}

/** Options of the sessions in the worker pool and of main-thread (inline) sessions. */
export function sessionOptions(settings: SessionSettings): {
  worker: ort.InferenceSession.SessionOptions;
  inline: ort.InferenceSession.SessionOptions;
} {
  const common = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
    enableCpuMemArena: settings.cpuMemArena,
  } as const;
  return {
    worker: { ...common, intraOpNumThreads: settings.intraOpThreads },
    // On the main thread: one intra-op thread, so ONNX Runtime spawns none.
    inline: { ...common, intraOpNumThreads: 1, interOpNumThreads: 1 },
  };
}
