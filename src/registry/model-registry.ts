/**
 * The model registry: models, immutable integer versions, aliases moved atomically, archive,
 * and resolution of `model[:version|alias]` to the version that serves a call.
 */
import {
  GalenError,
  NAME_PATTERN,
  NAME_RULE,
  PRODUCTION_ALIAS,
  aliasPermission,
  assertCan,
  isSha256Hex,
  isoTime,
} from '../core/index.js';
import type { Actor, Clock, ServingSettings, Signature } from '../core/index.js';
import { assertNoExternalData, readOnnxModelInfo } from '../onnx/index.js';
import type {
  AliasRecord,
  ArtifactCipher,
  ArtifactStore,
  ArtifactReferenceRepository,
  JsonObject,
  ModelRecord,
  ModelRepository,
  UnitOfWork,
  VersionDocumentRepository,
  VersionRecord,
} from '../store/index.js';
import { openJson, sealJson } from '../store/index.js';
import type {
  Lineage,
  Model,
  ModelDetail,
  ModelVersion,
  NewVersionInput,
  SignatureInspector,
  VersionMetadataReaders,
} from './types.js';

const MAX_DESCRIPTION = 10_000;
const VERSION_PATTERN = /^[1-9][0-9]{0,8}$/;

export function checkName(kind: 'model' | 'alias' | 'dataset', name: string): void {
  if (!NAME_PATTERN.test(name))
    throw new GalenError('invalid_input', `${kind} name "${name}" is not allowed: ${NAME_RULE}`);
  if (kind === 'alias' && /^[0-9]+$/.test(name)) {
    throw new GalenError(
      'invalid_input',
      `alias "${name}" is not allowed: an alias may not be all digits (that names a version)`,
    );
  }
}

export function checkDescription(text: string | undefined): string {
  if (text === undefined) return '';
  if (text.length > MAX_DESCRIPTION) {
    throw new GalenError(
      'invalid_input',
      `a description may hold at most ${MAX_DESCRIPTION} characters (got ${text.length})`,
    );
  }
  return text;
}

function checkTags(tags: Record<string, string> | undefined): Record<string, string> {
  if (tags === undefined) return {};
  const entries = Object.entries(tags);
  if (entries.length > 50)
    throw new GalenError('invalid_input', `a model may have at most 50 tags (got ${entries.length})`);
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_.:/-]{1,64}$/.test(k) || typeof v !== 'string' || v.length > 256) {
      throw new GalenError(
        'invalid_input',
        `tag "${k}" is not allowed: keys are 1-64 of letters, digits and _.:/-, values strings of at most 256 characters`,
      );
    }
  }
  return tags;
}

const archivedModel = (model: string): GalenError =>
  new GalenError('conflict', `model "${model}" is archived; restore it before adding versions`);

/** Parses a version reference: a positive integer names a version, anything else an alias. */
export function parseVersionRef(ref: string): { version: number } | { alias: string } {
  return VERSION_PATTERN.test(ref) ? { version: Number(ref) } : { alias: ref };
}

/** A version's feature map as the API shows it (the map as `VersionMetadataReaders.featureMap` checked it). */
export interface FeatureMapView {
  model: string;
  version: number;
  map: JsonObject;
  updatedAt: string;
  updatedBy: string;
}

/** The store's repositories the registry uses; it writes models and their documents together. */
export type RegistryStore = ModelRepository &
  VersionDocumentRepository &
  ArtifactReferenceRepository &
  UnitOfWork<ModelRepository & VersionDocumentRepository>;

export class ModelRegistry {
  /** Resolutions by `name\0ref`, valid while the store's registry change token is the same. */
  private readonly resolved = new Map<string, { token: string; version: ModelVersion }>();
  constructor(
    private readonly store: RegistryStore,
    private readonly artifacts: ArtifactStore,
    private readonly inspector: SignatureInspector,
    private readonly clock: Clock,
    /** What features read from a version's metadata (image inputs, preprocessing, ranking, feature maps). */
    private readonly readers: VersionMetadataReaders,
    /** With a master key: explainers and monitoring profiles (they hold training data) are stored encrypted. */
    private readonly cipher?: ArtifactCipher,
  ) {}

  /** A value derived from training data (explainer, monitoring profile) as stored: sealed under a master key. */
  private sealValue(value: Record<string, unknown>): JsonObject {
    return sealJson(this.cipher, value);
  }

  private openValue(stored: JsonObject, what: string): JsonObject {
    return openJson(this.cipher, stored, what) as JsonObject;
  }

  private toModel(record: ModelRecord, latestVersion: number, aliases: AliasRecord[]): Model {
    return {
      name: record.name,
      description: record.description,
      tags: record.tags,
      serving: record.serving,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      archived: record.archivedAt !== null,
      archivedAt: record.archivedAt,
      latestVersion,
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
    };
  }

  private toVersion(record: VersionRecord, aliases: AliasRecord[]): ModelVersion {
    return {
      model: record.model,
      version: record.version,
      sha256: record.sha256,
      sizeBytes: record.sizeBytes,
      description: record.description,
      signature: record.signature as unknown as Signature,
      lineage: record.lineage as unknown as Lineage,
      metrics: record.metrics,
      aliases: aliases.filter((a) => a.version === record.version).map((a) => a.alias),
      createdAt: record.createdAt,
      createdBy: record.createdBy,
      archived: record.archivedAt !== null,
      archivedAt: record.archivedAt,
    };
  }

  private async requireModel(store: ModelRepository, name: string): Promise<ModelRecord> {
    const model = await store.getModel(name);
    if (!model) throw new GalenError('not_found', `model "${name}" is not registered`);
    return model;
  }

  /**
   * Registers a new version of `input.model` (creating the model on first use). The file is
   * staged, checked by ONNX Runtime, committed by digest, and only then recorded. Always a new
   * version: training runs use it, since each run's lineage, metrics and card are its own even
   * when its bytes repeat an earlier run's.
   */
  async registerVersion(input: NewVersionInput, actor: Actor): Promise<ModelVersion> {
    return (await this.register(input, actor, false)).version;
  }

  /**
   * Registers an uploaded file unless the model already has a version (not archived) with the
   * same bytes: then that version is returned with `created: false` and nothing else is
   * recorded (the upload's description and lineage are not applied), so a retried upload does
   * not make a second version. The native upload, Triton's repository load and `galen models
   * register` use it.
   */
  async uploadVersion(
    input: NewVersionInput,
    actor: Actor,
  ): Promise<{ version: ModelVersion; created: boolean }> {
    return this.register(input, actor, true);
  }

  private async register(
    input: NewVersionInput,
    actor: Actor,
    reuse: boolean,
  ): Promise<{ version: ModelVersion; created: boolean }> {
    assertCan(actor, 'model:write', 'register model versions');
    checkName('model', input.model);
    const description = checkDescription(input.description);
    const modelDescription = checkDescription(input.modelDescription);
    const tags = checkTags(input.tags);
    if (input.datasetSha256 !== undefined && !isSha256Hex(input.datasetSha256)) {
      throw new GalenError('invalid_input', 'datasetSha256 must be 64 lowercase hex digits');
    }
    const staged = await this.artifacts.stage(input.file, {
      what: 'model file',
      ...(input.maxBytes !== undefined && { maxBytes: input.maxBytes }),
    });
    try {
      // Checked again in the transaction below; checking first too keeps a refused file out of the store.
      if ((await this.store.getModel(input.model))?.archivedAt) throw archivedModel(input.model);
      const same = reuse ? await this.store.findVersionByDigest(input.model, staged.sha256) : undefined;
      if (same !== undefined) return { version: await this.getVersion(input.model, same), created: false };
      if (staged.sizeBytes === 0) throw new GalenError('invalid_input', 'the model file is empty');
      const bytes = await staged.read();
      const info = readOnnxModelInfo(bytes);
      const graphSignature = await this.inspector.inspect(bytes);
      const declared = this.readers.signature.map((read) => read(info.metadata, graphSignature));
      const signature = declared.reduce<Signature>((s, d) => ({ ...s, ...d }), graphSignature);
      await staged.commit();
      const lineage: Lineage = {
        onnx: {
          irVersion: info.irVersion,
          producerName: info.producerName,
          producerVersion: info.producerVersion,
          opsetImports: [...info.opsetImports],
          operators: [...info.operators],
        },
        ...(input.framework !== undefined && { framework: input.framework }),
        ...(input.source !== undefined && { source: input.source }),
        ...(input.datasetSha256 !== undefined && { datasetSha256: input.datasetSha256 }),
        ...(input.parameters !== undefined && { parameters: input.parameters }),
      };
      const registered = await this.store.transaction(async (tx) => {
        const now = isoTime(this.clock.now());
        const existing = await tx.getModel(input.model);
        if (existing?.archivedAt) throw archivedModel(input.model);
        // Another upload of the same bytes may have committed since the check above.
        const raced =
          reuse && existing ? await tx.findVersionByDigest(input.model, staged.sha256) : undefined;
        if (raced !== undefined) return raced;
        if (!existing) {
          await tx.insertModel({
            name: input.model,
            description: modelDescription,
            tags,
            serving: {},
            createdAt: now,
            updatedAt: now,
            archivedAt: null,
          });
        }
        const record: VersionRecord = {
          model: input.model,
          version: (await tx.maxVersion(input.model)) + 1,
          sha256: staged.sha256,
          sizeBytes: staged.sizeBytes,
          description,
          signature: signature as unknown as JsonObject,
          lineage: lineage as unknown as JsonObject,
          metrics: input.metrics ?? {},
          createdAt: now,
          createdBy: actor.keyId,
          archivedAt: null,
        };
        await tx.insertVersion(record);
        if (input.card !== undefined) await tx.insertModelCard(input.model, record.version, input.card);
        if (input.explainer !== undefined)
          await tx.putExplainer(
            input.model,
            record.version,
            this.sealValue(input.explainer),
            record.createdAt,
          );
        if (input.monitoringProfile !== undefined)
          await tx.putMonitoringProfile(
            input.model,
            record.version,
            this.sealValue(input.monitoringProfile),
            record.createdAt,
          );
        await tx.updateModel(input.model, { updatedAt: now });
        return this.toVersion(record, []);
      });
      return typeof registered === 'number'
        ? { version: await this.getVersion(input.model, registered), created: false }
        : { version: registered, created: true };
    } finally {
      await staged.discard();
    }
  }

  async listModels(options: { includeArchived?: boolean } = {}): Promise<Model[]> {
    const [models, aliases, latest] = await Promise.all([
      this.store.listModels(),
      this.store.listAliases(),
      this.store.maxVersions(),
    ]);
    const aliasesOf = new Map<string, AliasRecord[]>();
    for (const a of aliases) aliasesOf.set(a.model, [...(aliasesOf.get(a.model) ?? []), a]);
    return models
      .filter((m) => options.includeArchived || !m.archivedAt)
      .map((m) => this.toModel(m, latest.get(m.name) ?? 0, aliasesOf.get(m.name) ?? []));
  }

  async getModel(name: string): Promise<ModelDetail> {
    const model = await this.requireModel(this.store, name);
    const [versions, aliases] = await Promise.all([
      this.store.listVersions(name),
      this.store.listAliases(name),
    ]);
    return {
      ...this.toModel(model, versions.at(-1)?.version ?? 0, aliases),
      versions: versions.map((v) => this.toVersion(v, aliases)),
    };
  }

  /**
   * Sets (replaces) how each input of a version is built from FHIR data, checked against the
   * version's signature first.
   */
  async setFeatureMap(name: string, version: number, raw: unknown, actor: Actor): Promise<FeatureMapView> {
    assertCan(actor, 'model:write', 'set feature maps');
    const target = await this.getVersion(name, version);
    const map = this.readers.featureMap(raw, target.signature);
    const record = {
      model: name,
      version,
      map,
      updatedAt: isoTime(this.clock.now()),
      updatedBy: actor.keyId,
    };
    await this.store.putFeatureMap(record);
    return { model: name, version, map, updatedAt: record.updatedAt, updatedBy: record.updatedBy };
  }

  /** A version's feature map; `not_found` when it has none. */
  async getFeatureMap(name: string, version: number): Promise<FeatureMapView> {
    await this.getVersion(name, version);
    const record = await this.store.getFeatureMap(name, version);
    if (!record) {
      throw new GalenError(
        'not_found',
        `model "${name}" version ${version} has no feature map; PUT one to /api/v1/models/${name}/versions/${version}/feature-map`,
      );
    }
    return record;
  }

  /**
   * The version's explainer (background rows included: for the explain service only);
   * `precondition_failed` when it has none.
   */
  async getExplainer(name: string, version: number): Promise<JsonObject> {
    await this.getVersion(name, version);
    const stored = await this.store.getExplainer(name, version);
    if (!stored) {
      throw new GalenError(
        'precondition_failed',
        `model "${name}" version ${version} has no explainer: versions trained by Galen get one (a background sample of their training rows); others can be given one with PUT /api/v1/models/${name}/versions/${version}/explainer`,
      );
    }
    return this.openValue(stored, `the explainer of model "${name}" version ${version}`);
  }

  /** Re-encrypts every stored explainer and monitoring profile under the current master key (after a rotation). */
  async resealStoredValues(): Promise<number> {
    let count = 0;
    for (const model of await this.store.listModels()) {
      for (const version of await this.store.listVersions(model.name)) {
        const at = isoTime(this.clock.now());
        const explainer = await this.store.getExplainer(model.name, version.version);
        if (explainer) {
          const plain = this.openValue(
            explainer,
            `the explainer of model "${model.name}" version ${version.version}`,
          );
          await this.store.putExplainer(model.name, version.version, this.sealValue(plain), at);
          count++;
        }
        const profile = await this.store.getMonitoringProfile(model.name, version.version);
        if (profile) {
          const plain = this.openValue(
            profile,
            `the monitoring profile of model "${model.name}" version ${version.version}`,
          );
          await this.store.putMonitoringProfile(model.name, version.version, this.sealValue(plain), at);
          count++;
        }
      }
    }
    return count;
  }

  /** The version's monitoring profile, or undefined when it has none. */
  async getMonitoringProfile(name: string, version: number): Promise<JsonObject | undefined> {
    const stored = await this.store.getMonitoringProfile(name, version);
    return stored && this.openValue(stored, `the monitoring profile of model "${name}" version ${version}`);
  }

  /** Stores a version's monitoring profile (built by the caller from reference rows). */
  async setMonitoringProfile(
    name: string,
    version: number,
    profile: Record<string, unknown>,
    actor: Actor,
  ): Promise<void> {
    assertCan(actor, 'model:write', 'set monitoring references');
    await this.getVersion(name, version);
    await this.store.putMonitoringProfile(name, version, this.sealValue(profile), isoTime(this.clock.now()));
  }

  /** Stores a version's explainer (checked by the caller against the signature). */
  async setExplainer(
    name: string,
    version: number,
    explainer: Record<string, unknown>,
    actor: Actor,
  ): Promise<void> {
    assertCan(actor, 'model:write', 'set explainers');
    await this.getVersion(name, version);
    await this.store.putExplainer(name, version, this.sealValue(explainer), isoTime(this.clock.now()));
  }

  /** The version's model card; `not_found` when the version has none (it was not trained here). */
  async getModelCard(name: string, version: number): Promise<Record<string, unknown>> {
    await this.getVersion(name, version);
    const card = await this.store.getModelCard(name, version);
    if (!card) {
      throw new GalenError(
        'not_found',
        `model "${name}" version ${version} has no model card: cards are written for versions trained by Galen`,
      );
    }
    return card;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    await this.requireModel(this.store, name);
    const record = await this.store.getVersion(name, version);
    if (!record) throw await this.noSuchVersion(name, String(version));
    return this.toVersion(record, await this.store.listAliases(name));
  }

  private async noSuchVersion(name: string, ref: string): Promise<GalenError> {
    const [versions, aliases] = await Promise.all([
      this.store.listVersions(name),
      this.store.listAliases(name),
    ]);
    const known = versions.map((v) => v.version).join(', ') || 'none';
    const knownAliases = aliases.map((a) => a.alias).join(', ') || 'none';
    return new GalenError(
      'not_found',
      `model "${name}" has no version or alias "${ref}" (versions: ${known}; aliases: ${knownAliases})`,
    );
  }

  /**
   * The version a call should use: `ref` may be a version number or an alias; without one, the
   * `production` alias when set, else the latest version that is not archived.
   */
  async resolve(name: string, ref?: string): Promise<ModelVersion> {
    // Every inference resolves its version: answer from memory while the registry is unchanged.
    const token = await this.store.registryChangeToken();
    const key = `${name}\u0000${ref ?? ''}`;
    const hit = this.resolved.get(key);
    if (hit?.token === token) return hit.version;
    const version = await this.resolveFromStore(name, ref);
    if (this.resolved.size >= 10_000) this.resolved.clear();
    this.resolved.set(key, { token, version });
    return version;
  }

  private async resolveFromStore(name: string, ref?: string): Promise<ModelVersion> {
    const model = await this.requireModel(this.store, name);
    if (model.archivedAt) throw new GalenError('not_found', `model "${name}" is archived`);
    let record: VersionRecord | undefined;
    if (ref === undefined || ref === '') {
      const production = await this.store.getAlias(name, PRODUCTION_ALIAS);
      if (production) {
        record = await this.store.getVersion(name, production.version);
      } else {
        record = (await this.store.listVersions(name)).filter((v) => v.archivedAt === null).at(-1);
        if (!record) throw new GalenError('not_found', `model "${name}" has no version that is not archived`);
      }
    } else {
      const parsed = parseVersionRef(ref);
      if ('version' in parsed) {
        record = await this.store.getVersion(name, parsed.version);
      } else {
        const alias = await this.store.getAlias(name, parsed.alias);
        record = alias && (await this.store.getVersion(name, alias.version));
      }
      if (!record) throw await this.noSuchVersion(name, ref);
    }
    if (!record) throw new GalenError('internal', `alias of model "${name}" points at a missing version`);
    if (record.archivedAt)
      throw new GalenError('not_found', `version ${record.version} of model "${name}" is archived`);
    return this.toVersion(record, await this.store.listAliases(name));
  }

  /** Points `alias` at `version` in one transaction; returns the version it pointed at before. */
  async setAlias(
    name: string,
    alias: string,
    version: number,
    actor: Actor,
  ): Promise<{ previous: number | null }> {
    checkName('alias', alias);
    assertCan(actor, aliasPermission(alias), `move the "${alias}" alias`);
    return this.store.transaction(async (tx) => {
      const model = await this.requireModel(tx, name);
      if (model.archivedAt) throw new GalenError('conflict', `model "${name}" is archived; restore it first`);
      const target = await tx.getVersion(name, version);
      if (!target) throw new GalenError('not_found', `model "${name}" has no version ${version}`);
      if (target.archivedAt)
        throw new GalenError('conflict', `version ${version} of model "${name}" is archived`);
      const previous = await tx.getAlias(name, alias);
      const now = isoTime(this.clock.now());
      await tx.upsertAlias({ model: name, alias, version, updatedAt: now, updatedBy: actor.keyId });
      await tx.updateModel(name, { updatedAt: now });
      return { previous: previous?.version ?? null };
    });
  }

  async removeAlias(name: string, alias: string, actor: Actor): Promise<{ previous: number }> {
    assertCan(actor, aliasPermission(alias), `remove the "${alias}" alias`);
    return this.store.transaction(async (tx) => {
      await this.requireModel(tx, name);
      const previous = await tx.getAlias(name, alias);
      if (!previous) throw new GalenError('not_found', `model "${name}" has no alias "${alias}"`);
      await tx.deleteAlias(name, alias);
      return { previous: previous.version };
    });
  }

  async updateModel(
    name: string,
    patch: { description?: string | undefined; tags?: Record<string, string> | undefined },
    actor: Actor,
  ): Promise<Model> {
    assertCan(actor, 'model:write', 'edit models');
    const description = patch.description === undefined ? undefined : checkDescription(patch.description);
    const tags = patch.tags === undefined ? undefined : checkTags(patch.tags);
    await this.store.transaction(async (tx) => {
      await this.requireModel(tx, name);
      await tx.updateModel(name, {
        updatedAt: isoTime(this.clock.now()),
        ...(description !== undefined && { description }),
        ...(tags !== undefined && { tags }),
      });
    });
    return this.getModel(name);
  }

  /**
   * Replaces a model's serving settings (already checked with `parseServingSettings`); `{}`
   * returns it to the server defaults. They apply to every version of the model.
   */
  async setServing(name: string, serving: ServingSettings, actor: Actor): Promise<Model> {
    assertCan(actor, 'model:write', 'change how models are served');
    await this.store.transaction(async (tx) => {
      await this.requireModel(tx, name);
      await tx.updateModel(name, { serving, updatedAt: isoTime(this.clock.now()) });
    });
    return this.getModel(name);
  }

  /** A model's serving settings (its overrides of the server defaults). */
  async servingOf(name: string): Promise<ServingSettings> {
    return (await this.requireModel(this.store, name)).serving;
  }

  /** Archives (or with `restore`, un-archives) a whole model. Archiving production needs an approver. */
  async archiveModel(name: string, actor: Actor, options: { restore?: boolean } = {}): Promise<Model> {
    assertCan(actor, 'model:write', 'archive models');
    await this.store.transaction(async (tx) => {
      const model = await this.requireModel(tx, name);
      if (!options.restore && model.archivedAt === null && (await tx.getAlias(name, PRODUCTION_ALIAS))) {
        assertCan(actor, 'alias:production', `archive model "${name}", which has a production alias`);
      }
      const now = isoTime(this.clock.now());
      await tx.updateModel(name, {
        archivedAt: options.restore ? null : (model.archivedAt ?? now),
        updatedAt: now,
      });
    });
    return this.getModel(name);
  }

  /** Archives (or restores) one version; a version an alias points at cannot be archived. */
  async archiveVersion(
    name: string,
    version: number,
    actor: Actor,
    options: { restore?: boolean } = {},
  ): Promise<ModelVersion> {
    assertCan(actor, 'model:write', 'archive model versions');
    await this.store.transaction(async (tx) => {
      await this.requireModel(tx, name);
      const record = await tx.getVersion(name, version);
      if (!record) throw new GalenError('not_found', `model "${name}" has no version ${version}`);
      if (!options.restore) {
        const pointing = (await tx.listAliases(name))
          .filter((a) => a.version === version)
          .map((a) => a.alias);
        if (pointing.length > 0) {
          throw new GalenError(
            'conflict',
            `version ${version} of model "${name}" is the target of alias(es) ${pointing.join(', ')}; move or remove them first`,
          );
        }
      }
      const now = isoTime(this.clock.now());
      await tx.updateVersion(name, version, {
        archivedAt: options.restore ? null : (record.archivedAt ?? now),
      });
      await tx.updateModel(name, { updatedAt: now });
    });
    return this.getVersion(name, version);
  }

  /**
   * Merges evaluation results into a version's metrics (evaluations often run after
   * registration, on the registered artifact itself). The model file and lineage stay immutable.
   */
  async recordMetrics(
    name: string,
    version: number,
    metrics: Record<string, unknown>,
    actor: Actor,
  ): Promise<ModelVersion> {
    assertCan(actor, 'model:write', 'record metrics');
    await this.store.transaction(async (tx) => {
      const record = await tx.getVersion(name, version);
      if (!record) throw new GalenError('not_found', `model "${name}" has no version ${version}`);
      await tx.updateVersion(name, version, { metrics: { ...record.metrics, ...metrics } });
    });
    return this.getVersion(name, version);
  }

  /**
   * Refuses to load a stored version that keeps tensor data in external files: registration
   * refuses those, but a data folder from an older Galen may hold one, and loading it would let it
   * read the server's files.
   * @throws GalenError `precondition_failed`
   */
  checkStoredModel(version: Pick<ModelVersion, 'model' | 'version'>, bytes: Uint8Array): void {
    try {
      assertNoExternalData(bytes);
    } catch (err) {
      throw new GalenError(
        'precondition_failed',
        `model "${version.model}" version ${version.version} is not loaded: ${(err as Error).message}; register it again`,
        { cause: err },
      );
    }
  }

  /** Every (model, version) that an alias points at, for preloading at start. */
  async aliasedVersions(): Promise<{ model: string; version: number }[]> {
    const seen = new Set<string>();
    const result: { model: string; version: number }[] = [];
    for (const alias of await this.store.listAliases()) {
      const key = `${alias.model}:${alias.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      result.push({ model: alias.model, version: alias.version });
    }
    return result;
  }

  /**
   * Removes staging leftovers and artifacts no model or dataset version refers to (at start and
   * periodically). The references are read from the store as the sweep asks, so a version
   * committed while it runs keeps its file.
   */
  async sweepArtifacts(options: { minAgeMs?: number } = {}): Promise<{ staged: number; orphans: number }> {
    return this.artifacts.sweep(() => this.store.referencedArtifacts(), options);
  }
}
