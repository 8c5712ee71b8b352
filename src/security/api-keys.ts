/**
 * API keys: `galen_<id>_<secret>`. Only sha256(secret) is stored; the whole key is shown once,
 * at creation. The bootstrap admin key from `GALEN_ADMIN_KEY` is checked against its hash in
 * memory and never written down.
 */
import { timingSafeEqual } from 'node:crypto';
import { GalenError, isRole, isoTime, randomToken, sha256Hex } from '../core/index.js';
import type { Actor, Clock, Role } from '../core/index.js';
import type { ApiKeyRecord, ApiKeyRepository } from '../store/index.js';

const KEY_PATTERN = /^galen_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/**
 * A backstop only: the cache is dropped whenever the store's keys change token moves (a key
 * created or revoked in this process or on another replica, seen within a second).
 */
const CACHE_TTL_MS = 60_000;
export const ENV_ADMIN_KEY_ID = 'env-admin';

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

const toInfo = (r: ApiKeyRecord): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  role: isRole(r.role) ? r.role : 'service',
  createdAt: r.createdAt,
  createdBy: r.createdBy,
  revokedAt: r.revokedAt,
});

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ApiKeys {
  private readonly envAdminHash: string | undefined;
  /**
   * Verified keys while the store's keys change token stays `cacheToken`, so each inference does
   * not cost a database read, and a revocation anywhere takes effect within a second.
   */
  private readonly cache = new Map<string, { actor: Actor; secretHash: string; until: number }>();
  private cacheToken: string | undefined;

  constructor(
    private readonly store: ApiKeyRepository,
    private readonly clock: Clock,
    envAdminKey?: string,
  ) {
    this.envAdminHash = envAdminKey === undefined ? undefined : sha256Hex(envAdminKey);
  }

  /** Creates a key and returns it with its secret, which is never retrievable again. */
  async create(input: {
    name: string;
    role: Role;
    createdBy: string;
  }): Promise<{ key: string; info: ApiKeyInfo }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200) {
      throw new GalenError('invalid_input', 'a key name must be 1-200 characters');
    }
    const id = Buffer.from(randomToken(8), 'base64url').toString('hex');
    const secret = randomToken(32);
    const record: ApiKeyRecord = {
      id,
      name,
      role: input.role,
      secretHash: sha256Hex(secret),
      createdAt: isoTime(this.clock.now()),
      createdBy: input.createdBy,
      revokedAt: null,
    };
    await this.store.insertKey(record);
    return { key: `galen_${id}_${secret}`, info: toInfo(record) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.store.listKeys()).map(toInfo);
  }

  async revoke(id: string): Promise<ApiKeyInfo> {
    const record = await this.store.getKey(id);
    if (!record) throw new GalenError('not_found', `no API key has id "${id}"`);
    if (record.revokedAt !== null) throw new GalenError('conflict', `API key "${id}" is already revoked`);
    await this.store.revokeKey(id, isoTime(this.clock.now()));
    this.cache.delete(id);
    return toInfo({ ...record, revokedAt: isoTime(this.clock.now()) });
  }

  /** Whether any usable admin key exists (the env key or an unrevoked stored one). */
  async hasAdmin(): Promise<boolean> {
    if (this.envAdminHash !== undefined) return true;
    return (await this.store.listKeys()).some((k) => k.role === 'admin' && k.revokedAt === null);
  }

  /** Resolves a bearer token to its actor, or throws `unauthorized` without saying which part failed. */
  async authenticate(token: string): Promise<Actor> {
    const denied = (): GalenError =>
      new GalenError('unauthorized', 'the API key is not valid (unknown, malformed or revoked)');
    const match = KEY_PATTERN.exec(token);
    if (!match) {
      if (this.envAdminHash !== undefined && sameHash(sha256Hex(token), this.envAdminHash)) {
        return { keyId: ENV_ADMIN_KEY_ID, role: 'admin' };
      }
      throw denied();
    }
    const id = match[1]!;
    const secretHash = sha256Hex(match[2]!);
    const now = this.clock.now();
    const keysToken = await this.store.keysChangeToken();
    if (keysToken !== this.cacheToken) {
      this.cache.clear();
      this.cacheToken = keysToken;
    }
    const cached = this.cache.get(id);
    if (cached && cached.until > now) {
      if (sameHash(secretHash, cached.secretHash)) return cached.actor;
      throw denied();
    }
    const record = await this.store.getKey(id);
    if (
      !record ||
      record.revokedAt !== null ||
      !isRole(record.role) ||
      !sameHash(secretHash, record.secretHash)
    ) {
      throw denied();
    }
    const actor: Actor = { keyId: id, role: record.role };
    // Not when the keys changed while it was read: the record may be older than the change.
    if (this.cacheToken === keysToken) {
      this.cache.set(id, { actor, secretHash: record.secretHash, until: now + CACHE_TTL_MS });
    }
    return actor;
  }
}
