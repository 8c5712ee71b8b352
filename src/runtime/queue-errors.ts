/** The refusals of a model's queue (both `unavailable`: the caller may retry shortly). */
import { GalenError } from '../core/index.js';

/** A model's queue drains in milliseconds to a second: the delay a refused call is told to wait. */
const QUEUE_RETRY_AFTER_SECONDS = 1;

/** Refusal of a call that waited longer than its queue timeout. */
export function queueTimeoutError(waitedMicros: number, timeoutMicros: number): GalenError {
  return new GalenError(
    'unavailable',
    `the call waited ${(waitedMicros / 1000).toFixed(1)} ms in the model's queue, longer than its timeout of ${timeoutMicros / 1000} ms; retry shortly`,
    { retryAfterSeconds: QUEUE_RETRY_AFTER_SECONDS },
  );
}

/** Refusal of a call when the model's queue is full. */
export function queueFullError(length: number): GalenError {
  return new GalenError('unavailable', `the model's queue is full (${length} calls waiting); retry shortly`, {
    retryAfterSeconds: QUEUE_RETRY_AFTER_SECONDS,
  });
}
