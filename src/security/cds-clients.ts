/**
 * CDS Hooks client authentication (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): every
 * call carries a JWT the EHR signed with its private key. It is accepted only when the header
 * names an asymmetric algorithm and a `kid`; the `iss` is a configured client; the signature
 * verifies with a key of that client's JWKS (or of a `jku` the client's entry allows); `aud` is
 * exactly the URL called; it has not expired and lives at most five minutes; and its `jti` was
 * never seen before. Anything else is 401, before any work is done.
 */
import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import type { JWK, JWTVerifyGetKey } from 'jose';
import { GalenError } from '../core/index.js';
import { CLOCK_SKEW_S, JWKS_FETCH, JWT_ALGORITHMS, isAcceptedAlgorithm, joseFailure } from './jwt-policy.js';
import type { Actor, Clock } from '../core/index.js';

/** A trusted client as configured: its issuer and where its public keys are. */
export interface CdsClient {
  readonly iss: string;
  readonly jwksUrl?: string | undefined;
  readonly jwks?: { keys: object[] } | undefined;
  /** JWKS URLs the client may name in a `jku` header. */
  readonly jku?: readonly string[] | undefined;
}

/** Records a JWT id; false when it was seen before (the store's `claimJwtId`). */
export interface JwtIdLedger {
  claimJwtId(issuer: string, jti: string, expiresAt: string, now: string): Promise<boolean>;
}

/** The spec's limit on a token's life: `exp` at most five minutes ahead. */
const MAX_LIFETIME_S = 300;

const refuse = (why: string): GalenError => new GalenError('unauthorized', `CDS client JWT refused: ${why}`);

/** Verifies CDS client JWTs against the configured clients. */
export class CdsClientAuth {
  private readonly clients = new Map<string, { client: CdsClient; keys: JWTVerifyGetKey }>();
  private readonly jkuKeys = new Map<string, JWTVerifyGetKey>();

  constructor(
    clients: readonly CdsClient[],
    private readonly ledger: JwtIdLedger,
    private readonly clock: Clock,
  ) {
    for (const client of clients) this.trust(client);
  }

  /** Adds a trusted client (config at start; the demo's own client). */
  trust(client: CdsClient): void {
    const keys = client.jwks
      ? createLocalJWKSet(client.jwks)
      : createRemoteJWKSet(new URL(client.jwksUrl!), JWKS_FETCH);
    this.clients.set(client.iss, { client, keys });
  }

  /** Issuers trusted. */
  issuers(): string[] {
    return [...this.clients.keys()];
  }

  /**
   * The actor a valid token stands for (`cds:<iss>`, role `service`); `audience` is the exact URL
   * the client called. Throws `unauthorized`, saying why, for anything else.
   */
  async authenticate(token: string, audience: string): Promise<Actor> {
    if (this.clients.size === 0) {
      throw refuse(
        'no CDS clients are trusted; list them as {"iss", "jwksUrl"} in cds.clients (config file) or GALEN_CDS_CLIENTS',
      );
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw refuse('the bearer token is not a JWT (header.payload.signature, base64url)');
    }
    const alg = header.alg ?? 'none';
    if (!isAcceptedAlgorithm(alg)) {
      throw refuse(
        `alg "${alg}" is not accepted; a CDS client signs with its private key, using one of ${JWT_ALGORITHMS.join(', ')}`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid === '') {
      throw refuse('the JWT header has no "kid" naming the signing key in the client\'s JWKS');
    }
    const trusted = typeof claims.iss === 'string' ? this.clients.get(claims.iss) : undefined;
    if (!trusted) throw refuse(`issuer ${JSON.stringify(claims.iss ?? null)} is not a trusted CDS client`);
    let keys = trusted.keys;
    if (header.jku !== undefined) {
      if (!(trusted.client.jku ?? []).includes(header.jku)) {
        throw refuse(`jku ${JSON.stringify(header.jku)} is not on the allow-list of client ${claims.iss}`);
      }
      keys = this.keysAt(header.jku);
    }

    const now = new Date(this.clock.now());
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...JWT_ALGORITHMS],
        issuer: trusted.client.iss,
        audience,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
        clockTolerance: CLOCK_SKEW_S,
        currentDate: now,
      }));
    } catch (err) {
      throw refuse(
        joseFailure(err, "the client's", (name, reason) =>
          name === 'aud'
            ? `aud must be exactly the URL called, ${audience}`
            : `claim "${name}" ${reason === 'missing' ? 'is missing' : 'is invalid'}`,
        ),
      );
    }
    const nowS = Math.floor(now.getTime() / 1000);
    if (payload.exp! > nowS + MAX_LIFETIME_S + CLOCK_SKEW_S) {
      throw refuse(`exp is more than ${MAX_LIFETIME_S / 60} minutes ahead; CDS client JWTs are short-lived`);
    }
    if (typeof payload.jti !== 'string' || payload.jti === '') throw refuse('jti must be a non-empty string');
    const expiresAt = new Date((payload.exp! + CLOCK_SKEW_S) * 1000).toISOString();
    if (!(await this.ledger.claimJwtId(trusted.client.iss, payload.jti, expiresAt, now.toISOString()))) {
      throw refuse(`jti ${JSON.stringify(payload.jti)} was already used (a replayed token)`);
    }
    return { keyId: `cds:${trusted.client.iss}`, role: 'service' };
  }

  private keysAt(url: string): JWTVerifyGetKey {
    let keys = this.jkuKeys.get(url);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(url), JWKS_FETCH);
      this.jkuKeys.set(url, keys);
    }
    return keys;
  }
}

/** A CDS client's signing key (ES384, what the spec asks services to accept). */
export interface CdsClientKey {
  kid: string;
  privateJwk: JWK;
  /** The public half, for the client's JWKS. */
  publicJwk: JWK;
}

/** Makes a new ES384 key pair for a CDS client, its `kid` the key's RFC 7638 thumbprint. */
export async function generateCdsClientKey(): Promise<CdsClientKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES384' },
    publicJwk: { ...publicJwk, kid, alg: 'ES384', use: 'sig' },
  };
}

/**
 * Signs the JWT a CDS client sends with one call: `aud` the exact service URL, a fresh `jti`,
 * valid for `lifetimeS` (at most 300). What an EHR does; Galen uses it for its demo client.
 */
export async function signCdsClientJwt(
  key: Pick<CdsClientKey, 'kid' | 'privateJwk'>,
  claims: { iss: string; aud: string; sub?: string; lifetimeS?: number },
  now: number = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ ...(claims.sub !== undefined && { sub: claims.sub }) })
    .setProtectedHeader({ alg: 'ES384', kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.min(claims.lifetimeS ?? 300, MAX_LIFETIME_S))
    .setJti(randomUUID())
    .sign(await importJWK(key.privateJwk, 'ES384'));
}
