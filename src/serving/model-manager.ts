/**
 * Which versions are loaded: loads on demand (verifying the artifact's sha256 first), at start
 * for aliased versions, and on Triton-style repository calls; remembers explicit unloads; and
 * hands out leases so a version swap never drops a call already under way.
 */
import { GalenError } from '../core/index.js';
import type { ModelRegistry, ModelVersion } from '../registry/index.js';
import type { Lease, ModelRuntime } from '../runtime/index.js';
import type { ArtifactStore } from '../store/index.js';
import type { Logger } from '../observability/index.js';

export const versionKey = (model: string, version: number): string => `${model}:${version}`;

/** The inverse of `versionKey` (model names cannot contain ':'). */
export function parseVersionKey(key: string): { model: string; version: number } {
  const at = key.lastIndexOf(':');
  return { model: key.slice(0, at), version: Number(key.slice(at + 1)) };
}

export class ModelManager {
  /** Models unloaded through the repository API: not served until loaded again. */
  private readonly unloaded = new Set<string>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly artifacts: ArtifactStore,
    private readonly runtime: ModelRuntime,
    private readonly logger: Logger,
  ) {}

  isUnloaded(model: string): boolean {
    return this.unloaded.has(model);
  }

  isLoaded(version: Pick<ModelVersion, 'model' | 'version'>): boolean {
    return this.runtime.isLoaded(versionKey(version.model, version.version));
  }

  /** Loads `version` unless it already is; concurrent callers share one load. */
  async ensureLoaded(version: Pick<ModelVersion, 'model' | 'version' | 'sha256'>): Promise<void> {
    const key = versionKey(version.model, version.version);
    if (this.runtime.isLoaded(key)) return;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = (async () => {
        const started = Date.now();
        const bytes = await this.artifacts.readVerified(version.sha256);
        this.registry.checkStoredModel(version, bytes);
        this.runtime.configure(version.model, await this.registry.servingOf(version.model));
        const { warmupError } = await this.runtime.load(key, version.model, bytes);
        this.logger.info(
          {
            model: version.model,
            version: version.version,
            ms: Date.now() - started,
            ...(warmupError && { warmupError }),
          },
          'model version loaded',
        );
      })();
      this.loading.set(key, pending);
      void pending.finally(() => this.loading.delete(key)).catch(() => undefined);
    }
    await pending;
  }

  /**
   * A lease on the loaded session for `version`, loading it first when needed. Refuses models
   * that were explicitly unloaded: `not_found` (404, gRPC NOT_FOUND) as Triton answers a model with
   * no loaded version, and not `unavailable`, whose 503 and Retry-After would have clients retry
   * a state that lasts until someone loads the model again.
   */
  async lease(version: ModelVersion): Promise<Lease> {
    if (this.unloaded.has(version.model)) {
      throw new GalenError(
        'not_found',
        `model "${version.model}" is unloaded, so it is not served; load it again through the model repository API (repository load)`,
      );
    }
    const key = versionKey(version.model, version.version);
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = this.runtime.acquire(key);
      if (lease) return lease;
      await this.ensureLoaded(version);
    }
    // Loaded each time, and each time gone before it could be leased (evicted by other loads):
    // a passing state, unlike a load that fails, which `ensureLoaded` throws.
    throw new GalenError(
      'unavailable',
      `model "${version.model}" version ${version.version} could not be loaded`,
      { retryAfterSeconds: 1 },
    );
  }

  /** Loads the model's default version and every aliased one, and lifts an explicit unload. */
  async load(model: string): Promise<number[]> {
    const detail = await this.registry.getModel(model);
    const versions = new Set<number>(Object.values(detail.aliases));
    versions.add((await this.registry.resolve(model)).version);
    this.unloaded.delete(model);
    for (const v of [...versions].sort((a, b) => a - b)) {
      const record = detail.versions.find((x) => x.version === v);
      if (record) await this.ensureLoaded(record);
    }
    return [...versions];
  }

  /**
   * Unloads every loaded version of `model` (after their in-flight calls finish), and keeps it
   * unloaded until `load`: Triton's explicit repository unload.
   */
  async unload(model: string): Promise<number[]> {
    await this.registry.getModel(model);
    this.unloaded.add(model);
    return this.closeSessions(model);
  }

  /**
   * Frees the sessions of every loaded version of `model` (after their in-flight calls finish)
   * without marking it unloaded: used when a model is archived, which the registry refuses to
   * resolve until it is restored; then it loads on demand again.
   */
  async closeSessions(model: string): Promise<number[]> {
    const keys = this.runtime.loadedKeys().filter((k) => k.startsWith(`${model}:`));
    await Promise.all(keys.map((k) => this.runtime.unload(k)));
    return keys.map((k) => Number(k.slice(model.length + 1)));
  }

  /** Unloads one version gracefully (used when an alias moves away from it). */
  async unloadVersion(model: string, version: number): Promise<void> {
    await this.runtime.unload(versionKey(model, version));
  }

  /** Loads every aliased version; failures are logged and do not stop the others. */
  async preloadAliased(): Promise<void> {
    for (const { model, version } of await this.registry.aliasedVersions()) {
      try {
        await this.ensureLoaded(await this.registry.getVersion(model, version));
      } catch (err) {
        this.logger.error(
          { model, version, err: (err as Error).message },
          'could not preload aliased version',
        );
      }
    }
  }

  loadedVersions(): { model: string; version: number }[] {
    return this.runtime.loadedKeys().map(parseVersionKey);
  }
}
