import { describe, expect, it } from 'vitest';
import { GalenError, errorCodeOfHttpStatus, grpcStatusOf, httpStatusOf } from './errors.js';

describe('the error table', () => {
  it('maps a quota to 429 / RESOURCE_EXHAUSTED and a missing feature to 501 / UNIMPLEMENTED, and back', () => {
    expect([httpStatusOf('too_many_requests'), grpcStatusOf('too_many_requests')]).toEqual([429, 8]);
    expect([httpStatusOf('not_implemented'), grpcStatusOf('not_implemented')]).toEqual([501, 12]);
    expect([httpStatusOf('unavailable'), grpcStatusOf('unavailable')]).toEqual([503, 14]);
    // The CLI reads a remote server's answer back into the same codes.
    expect(errorCodeOfHttpStatus(429)).toBe('too_many_requests');
    expect(errorCodeOfHttpStatus(501)).toBe('not_implemented');
  });

  it('keeps a retry delay only where one is given, as whole seconds of at least one', () => {
    expect(new GalenError('unavailable', 'busy').retryAfterSeconds).toBeUndefined();
    expect(new GalenError('unavailable', 'busy', { retryAfterSeconds: 1 }).retryAfterSeconds).toBe(1);
    expect(new GalenError('unavailable', 'busy', { retryAfterSeconds: 4.2 }).retryAfterSeconds).toBe(5);
    expect(new GalenError('unavailable', 'busy', { retryAfterSeconds: 0 }).retryAfterSeconds).toBe(1);
  });
});
