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
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import type { JWK, JWTVerifyGetKey } from 'jose';
import { GalenError } from '../core/index.js';
import type { OutboundClient } from '../outbound/index.js';
import type { JwtReplayLedger } from '../store/index.js';
import { CLOCK_SKEW_S, JWKS_FETCH, JWT_ALGORITHMS, isAcceptedAlgorithm, joseFailure } from './jwt-policy.js';
import type { Actor, Clock } from '../core/index.js';

/** A trusted client as configured: its issuer and where its public keys are. */
export interface CdsClient {
  readonly iss: string;
  readonly jwksUrl?: string | undefined;
  readonly jwks?: { keys: object[] } | undefined;
  /** JWKS URLs the client may name in a `jku` header. */
  readonly jku?: readonly string[] | undefined;
  /** FHIR servers (base URLs) its calls may name as `fhirServer` for Galen to fetch from. */
  readonly fhirServers?: readonly string[] | undefined;
}

/** How the verifier reaches JWKS, and what URL tokens must name as `aud`. */
export interface CdsClientAuthOptions {
  /** Scheme and host EHRs call Galen by (`cds.publicUrl`); a token's `aud` is this plus the path. */
  publicUrl?: string | undefined;
  /** The guarded client JWKS are fetched through. */
  outbound: Pick<OutboundClient, 'fetchFor'>;
}

/** Records a JWT id; false when it was seen before (the store's `claimJwtId`). */
export type JwtIdLedger = JwtReplayLedger;

/** The spec's limit on a token's life: `exp` at most five minutes ahead. */
const MAX_LIFETIME_S = 300;

const refuse = (why: string): GalenError => new GalenError('unauthorized', `CDS client JWT refused: ${why}`);

/** Verifies CDS client JWTs against the configured clients. */
export class CdsClientAuth {
  private readonly clients = new Map<string, { client: CdsClient; keys: JWTVerifyGetKey }>();
  private readonly jkuKeys = new Map<string, JWTVerifyGetKey>();

  /** Where this server listens, as it reported it (`listeningAt`); the `aud` base without publicUrl. */
  private listening: string | undefined;

  constructor(
    clients: readonly CdsClient[],
    private readonly ledger: JwtIdLedger,
    private readonly clock: Clock,
    private readonly options: CdsClientAuthOptions,
  ) {
    for (const client of clients) this.trust(client);
  }

  /** Adds a trusted client (config at start; the demo's own client). */
  trust(client: CdsClient): void {
    const keys = client.jwks ? createLocalJWKSet(client.jwks) : this.remoteKeys(client.jwksUrl!);
    this.clients.set(client.iss, { client, keys });
  }

  /**
   * The address this server itself listens on (`galen serve --demo`, tests), used as the `aud`
   * base only when `cds.publicUrl` is unset, which the configuration allows only without
   * configured clients: it comes from the listening socket, never from a request's Host header.
   */
  listeningAt(url: string): void {
    this.listening = url.replace(/\/+$/, '');
  }

  /** The FHIR servers the caller's calls may name (none unless it is a CDS client that lists some). */
  fhirServersOf(actor: Actor): readonly string[] {
    const iss = actor.keyId.startsWith('cds:') ? actor.keyId.slice(4) : undefined;
    return (iss !== undefined && this.clients.get(iss)?.client.fhirServers) || [];
  }

  /** Issuers trusted. */
  issuers(): string[] {
    return [...this.clients.keys()];
  }

  /**
   * The actor a valid token stands for (`cds:<iss>`, role `service`); `audience` is the exact URL
   * the client called. Throws `unauthorized`, saying why, for anything else.
   */
  async authenticate(token: string, path: string): Promise<Actor> {
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
    const base = this.options.publicUrl ?? this.listening;
    if (base === undefined) {
      throw refuse(
        'cds.publicUrl (GALEN_CDS_PUBLIC_URL) is not set, so the aud of the token cannot be checked; set it to the URL EHRs call Galen by',
      );
    }
    const audience = `${base}${path}`;
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
      keys = this.remoteKeys(url);
      this.jkuKeys.set(url, keys);
    }
    return keys;
  }

  /** A JWKS fetched through the guarded outbound client. */
  private remoteKeys(url: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(url), {
      ...JWKS_FETCH,
      [customFetch]: this.options.outbound.fetchFor('CDS client JWKS fetch'),
    });
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
