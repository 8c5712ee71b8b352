/**
 * OIDC / JWT bearer tokens as an alternative to API keys: a token from the configured issuer, for
 * Galen's audience, signed with a key of the issuer's JWKS (from `jwksUrl`, else the issuer's
 * discovery document), unexpired. Its role claim (a dot path such as `realm_access.roles`) is
 * mapped to a Galen role; a token mapping to several takes the most capable, in the order
 * admin, developer, approver, service, auditor. The actor is `oidc:<sub>`.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { GalenError, ROLES, isRole } from '../core/index.js';
import type { Actor, Clock, Role } from '../core/index.js';
import { CLOCK_SKEW_S, JWKS_FETCH, JWT_ALGORITHMS, isAcceptedAlgorithm, joseFailure } from './jwt-policy.js';

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** The issuer's JWKS; default: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUrl?: string | undefined;
  /** Where the roles are in the token, as a dot path (default `roles`). */
  roleClaim: string;
  /** Claim values → Galen roles. */
  roleMap: Record<string, string>;
}

const refuse = (why: string): GalenError => new GalenError('unauthorized', `bearer token refused: ${why}`);

/** The value at a dot path of the claims. */
function claimAt(payload: JWTPayload, path: string): unknown {
  let node: unknown = payload;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export class OidcVerifier {
  private keys: JWTVerifyGetKey | undefined;

  constructor(
    private readonly settings: OidcSettings,
    private readonly clock: Clock,
  ) {
    for (const [value, role] of Object.entries(settings.roleMap)) {
      if (!isRole(role)) {
        throw new GalenError(
          'invalid_input',
          `oidc.roleMap maps "${value}" to "${role}", which is not a role; roles: ${ROLES.join(', ')}`,
        );
      }
    }
  }

  /** The actor a valid token stands for; `unauthorized` (why) or `forbidden` (no role) otherwise. */
  async authenticate(token: string): Promise<Actor> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw refuse('not a JWT');
    }
    if (!isAcceptedAlgorithm(alg)) {
      throw refuse(`alg "${alg ?? 'none'}" is not accepted; tokens are signed with the issuer's private key`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.keySet(), {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: [...JWT_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(this.clock.now()),
      }));
    } catch (err) {
      if (err instanceof GalenError) throw err; // the discovery document could not be read
      throw refuse(
        joseFailure(err, "the issuer's", (name, reason) =>
          reason === 'missing'
            ? `claim "${name}" is missing`
            : `claim "${name}" is not ${name === 'aud' ? this.settings.audience : name === 'iss' ? this.settings.issuer : 'valid'}`,
        ),
      );
    }
    const claimed = claimAt(payload, this.settings.roleClaim);
    const values = Array.isArray(claimed)
      ? claimed.map(String)
      : typeof claimed === 'string'
        ? [claimed]
        : [];
    const roles = new Set(
      values.flatMap((v) => (this.settings.roleMap[v] ? [this.settings.roleMap[v] as Role] : [])),
    );
    const role = ROLES.find((r) => roles.has(r));
    if (!role) {
      throw new GalenError(
        'forbidden',
        `the token's ${this.settings.roleClaim} (${values.length > 0 ? values.join(', ') : 'none'}) maps to no Galen role; oidc.roleMap knows ${Object.keys(this.settings.roleMap).join(', ') || 'none'}`,
      );
    }
    return { keyId: `oidc:${payload.sub}`, role };
  }

  private async keySet(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    let url = this.settings.jwksUrl;
    if (url === undefined) {
      const discovery = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      try {
        const response = await fetch(discovery, { signal: AbortSignal.timeout(JWKS_FETCH.timeoutDuration) });
        const document = (await response.json()) as { jwks_uri?: unknown };
        if (!response.ok || typeof document.jwks_uri !== 'string')
          throw new Error(`answered ${response.status}`);
        url = document.jwks_uri;
      } catch (err) {
        throw new GalenError(
          'unavailable',
          `cannot read the OIDC issuer's discovery document ${discovery}: ${(err as Error).message}; set oidc.jwksUrl`,
        );
      }
    }
    this.keys = createRemoteJWKSet(new URL(url), JWKS_FETCH);
    return this.keys;
  }
}

/** A JWT is three base64url parts; API keys (`galen_<id>_<secret>`) have no dots. */
export const looksLikeJwt = (token: string): boolean => token.split('.').length === 3;

/** The actor behind a bearer token: an OIDC token when it looks like a JWT and OIDC is set up, else an API key. */
export async function bearerActor(
  token: string,
  keys: { authenticate(key: string): Promise<Actor> },
  oidc: OidcVerifier | undefined,
): Promise<Actor> {
  if (!looksLikeJwt(token)) return keys.authenticate(token);
  if (!oidc) throw refuse('it is a JWT, but OIDC is not configured here (set oidc.issuer); use an API key');
  return oidc.authenticate(token);
}
