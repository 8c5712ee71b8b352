/**
 * What every JWT Galen verifies shares, whoever issued it (CDS clients, OIDC providers): the
 * algorithms accepted, the clock skew tolerated, how JWKS are fetched and cached, and how a
 * refusal is put into words.
 */
import { errors as joseErrors } from 'jose';

/** Signature algorithms accepted: public-key ones only (never `none` or HMAC). */
export const JWT_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const;

export const isAcceptedAlgorithm = (alg: string | undefined): boolean =>
  (JWT_ALGORITHMS as readonly string[]).includes(alg ?? 'none');

/** Clock difference tolerated between the token's issuer and Galen. */
export const CLOCK_SKEW_S = 30;

/** JWKS fetches: 5 s to answer, kept 10 minutes, refetched at most every 30 s for an unknown kid. */
export const JWKS_FETCH = { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 } as const;

/**
 * Why jose refused a token, in words an integrator can act on. `whose` names the key set
 * ("the client's", "the issuer's"); `claim` words a failed claim check.
 */
export function joseFailure(
  err: unknown,
  whose: string,
  claim: (name: string, reason: string) => string,
): string {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired (exp is in the past)';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return claim(err.claim, err.reason);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return `no key in ${whose} JWKS matches the token's kid`;
  if (err instanceof joseErrors.JWKSTimeout) return `${whose} JWKS did not answer in time`;
  if (err instanceof joseErrors.JOSEError) return err.message;
  return `${whose} keys could not be read (${(err as Error).message})`;
}
