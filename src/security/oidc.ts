/**
 * OIDC / JWT bearer tokens as an alternative to API keys: a token from the configured issuer, for
 * Galen's audience, signed with a key of the issuer's JWKS (from `jwksUrl`, else the issuer's
 * discovery document), unexpired. Its role claim (a dot path such as `realm_access.roles`) is
 * mapped to a Galen role; a token mapping to several takes the most capable, in the order
 * admin, developer, approver, service, auditor. The actor is `oidc:<sub>`.
 */
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { GalenError, ROLES, isRole } from '../core/index.js';
import type { Actor, Clock, Role } from '../core/index.js';
import type { OutboundClient } from '../outbound/index.js';
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

/** Back-off after a failed discovery: 5 s, doubling to at most 5 minutes, so tokens do not each retry it. */
export const DISCOVERY_BACKOFF_MS = { first: 5_000, max: 300_000 } as const;

/** Largest discovery document read. */
const DISCOVERY_MAX_BYTES = 256 * 1024;

export class OidcVerifier {
  private keys: JWTVerifyGetKey | undefined;
  /** The discovery under way, shared by the tokens that arrive meanwhile. */
  private pending: Promise<JWTVerifyGetKey> | undefined;
  /** The last discovery failure, answered again until `retryAt`. */
  private failure: { error: GalenError; retryAt: number; backoffMs: number } | undefined;

  constructor(
    private readonly settings: OidcSettings,
    private readonly clock: Clock,
    private readonly outbound: Pick<OutboundClient, 'request' | 'fetchFor'>,
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
    if (this.settings.jwksUrl !== undefined) return (this.keys = this.remoteKeys(this.settings.jwksUrl));
    const now = this.clock.now();
    if (this.failure && now < this.failure.retryAt) {
      const seconds = Math.ceil((this.failure.retryAt - now) / 1000);
      throw new GalenError('unavailable', `${this.failure.error.message} (tried again in ${seconds} s)`, {
        retryAfterSeconds: seconds,
      });
    }
    this.pending ??= this.discover().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Reads `jwks_uri` from the issuer's discovery document; a failure is remembered with back-off. */
  private async discover(): Promise<JWTVerifyGetKey> {
    const discovery = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      const answer = await this.outbound.request(discovery, {
        purpose: 'OIDC discovery',
        headers: { accept: 'application/json' },
        maxBytes: DISCOVERY_MAX_BYTES,
      });
      if (answer.status !== 200) throw new Error(`it answered ${answer.status}`);
      let document: { jwks_uri?: unknown };
      try {
        document = JSON.parse(answer.body.toString('utf8')) as typeof document;
      } catch {
        throw new Error('it is not JSON');
      }
      if (typeof document?.jwks_uri !== 'string') throw new Error('it has no jwks_uri');
      const keys = this.remoteKeys(document.jwks_uri);
      this.failure = undefined;
      this.keys = keys;
      return keys;
    } catch (err) {
      const backoffMs = Math.min(
        this.failure ? this.failure.backoffMs * 2 : DISCOVERY_BACKOFF_MS.first,
        DISCOVERY_BACKOFF_MS.max,
      );
      const error = new GalenError(
        'unavailable',
        `cannot read the OIDC issuer's discovery document ${discovery}: ${(err as Error).message}; set oidc.jwksUrl`,
        // Tokens are refused until the back-off ends; then the discovery is tried again.
        { cause: err, retryAfterSeconds: backoffMs / 1000 },
      );
      this.failure = { error, retryAt: this.clock.now() + backoffMs, backoffMs };
      throw error;
    }
  }

  /** A JWKS fetched through the guarded outbound client. */
  private remoteKeys(url: string): JWTVerifyGetKey {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GalenError('unavailable', `the OIDC issuer's jwks_uri ${JSON.stringify(url)} is not a URL`);
    }
    return createRemoteJWKSet(parsed, {
      ...JWKS_FETCH,
      [customFetch]: this.outbound.fetchFor('OIDC JWKS fetch'),
    });
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
