/** Identifiers and secrets. */
import { randomBytes, randomUUID } from 'node:crypto';

export function newRequestId(): string {
  return randomUUID();
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id (`x-request-id`) when it is safe to log and echo, else a new one. */
export function requestIdFrom(given: unknown): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
}

/** A URL-safe random token with `bytes` bytes of entropy. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * The longest model, alias or dataset name. The HTTP edge sizes its URL path segments to it, so
 * every name the registry (and the CLI) accepts can be addressed on every route.
 */
export const NAME_MAX_LENGTH = 128;

/** Model and alias names: what may appear in a URL segment and a file name without escaping. */
export const NAME_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,${NAME_MAX_LENGTH - 1}}$`);
export const NAME_RULE = `names are 1-${NAME_MAX_LENGTH} characters of letters, digits, "_", "-" and ".", starting with a letter or digit`;
