/**
 * How one model is served: dynamic batching and queueing, set per model (like Triton's model
 * configuration) over the server's defaults. Every setting is optional; an absent one takes the
 * server default from `runtime.*` in the configuration.
 */
import { GalenError } from './errors.js';

export interface ServingSettings {
  /** Merge concurrent calls along the batch axis (for versions whose first dimension is dynamic). */
  readonly batching?: boolean;
  /** Most rows one merged run may hold. */
  readonly maxBatchSize?: number;
  /** Batch sizes the batcher tries to form (each ≤ maxBatchSize), ascending. */
  readonly preferredBatchSizes?: readonly number[];
  /** How long the oldest queued call may wait for others to join (µs). */
  readonly maxQueueDelayMicros?: number;
  /** Calls that may wait per version; beyond it calls are refused (503 + Retry-After). */
  readonly maxQueueLength?: number;
  /** Longest a call may wait in the queue before it is refused (µs); 0 = no limit. */
  readonly queueTimeoutMicros?: number;
}

export const SERVING_SETTING_NAMES = [
  'batching',
  'maxBatchSize',
  'preferredBatchSizes',
  'maxQueueDelayMicros',
  'maxQueueLength',
  'queueTimeoutMicros',
] as const satisfies readonly (keyof ServingSettings)[];

/** Bounds of each numeric setting, also shown in error messages. */
export const SERVING_LIMITS = {
  maxBatchSize: [1, 4096],
  maxQueueDelayMicros: [0, 1_000_000],
  maxQueueLength: [1, 1_000_000],
  queueTimeoutMicros: [0, 3_600_000_000],
} as const;

type Numeric = keyof typeof SERVING_LIMITS;

function integerIn(name: Numeric, value: unknown): number {
  const [min, max] = SERVING_LIMITS[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new GalenError(
      'invalid_input',
      `serving setting "${name}" is ${JSON.stringify(value)}; it must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * Checks settings from a caller (unknown keys, types, ranges, and that preferred batch sizes fit
 * under the max batch size that will apply) and returns them normalised.
 *
 * @param effectiveMaxBatchSize the max batch size in force when the settings name none.
 */
export function parseServingSettings(value: unknown, effectiveMaxBatchSize: number): ServingSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GalenError('invalid_input', 'serving settings must be a JSON object');
  }
  const input = value as Record<string, unknown>;
  const unknown = Object.keys(input).filter((k) => !(SERVING_SETTING_NAMES as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new GalenError(
      'invalid_input',
      `unknown serving setting(s) ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${SERVING_SETTING_NAMES.join(', ')}`,
    );
  }
  const out: { -readonly [K in keyof ServingSettings]: ServingSettings[K] } = {};
  if (input['batching'] !== undefined) {
    if (typeof input['batching'] !== 'boolean')
      throw new GalenError('invalid_input', 'serving setting "batching" must be true or false');
    out.batching = input['batching'];
  }
  for (const name of Object.keys(SERVING_LIMITS) as Numeric[]) {
    if (input[name] !== undefined) out[name] = integerIn(name, input[name]);
  }
  if (input['preferredBatchSizes'] !== undefined) {
    const sizes = input['preferredBatchSizes'];
    const max = out.maxBatchSize ?? effectiveMaxBatchSize;
    if (
      !Array.isArray(sizes) ||
      !sizes.every(
        (s, i) =>
          Number.isInteger(s) && (s as number) >= 1 && (i === 0 || (s as number) > (sizes[i - 1] as number)),
      )
    ) {
      throw new GalenError(
        'invalid_input',
        `serving setting "preferredBatchSizes" is ${JSON.stringify(sizes)}; it must be a list of positive integers in ascending order`,
      );
    }
    if ((sizes as number[]).some((s) => s > max)) {
      throw new GalenError(
        'invalid_input',
        `serving setting "preferredBatchSizes" ${JSON.stringify(sizes)} has a size above maxBatchSize ${max}`,
      );
    }
    out.preferredBatchSizes = sizes as number[];
  }
  return out;
}
