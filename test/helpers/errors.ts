/** Assertions about Galen's errors, shared by unit tests. */
import { expect } from 'vitest';
import { GalenError } from '../../src/core/index.js';

/** The message of the `invalid_input` GalenError that `fn` throws (fails the test if it throws none). */
export function invalidInputMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GalenError);
    expect((err as GalenError).code).toBe('invalid_input');
    return (err as GalenError).message;
  }
  throw new Error('expected an invalid_input error');
}
