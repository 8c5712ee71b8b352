import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactStoreFactories } from '../../test/helpers/artifact-stores.js';
import type { ArtifactStoreFixture } from '../../test/helpers/artifact-stores.js';
import { metadataStoreFactories, within } from '../../test/helpers/stores.js';
import type { TestDatabase } from '../../test/helpers/stores.js';
import { versionMetadataReaders } from '../app/version-metadata.js';
import { GalenError } from '../core/index.js';
import type { Actor, Signature } from '../core/index.js';
import { ModelRuntime } from '../runtime/index.js';
import type { MetadataStore } from '../store/index.js';
import { ModelRegistry } from './model-registry.js';

const onnx = readFileSync(new URL('../../test/fixtures/pytorch/wdbc_mlp.onnx', import.meta.url));
const admin: Actor = { keyId: 'a', role: 'admin' };

// The same suite on the embedded stores and on the shared ones a replica uses.
const [sqlite, postgres] = metadataStoreFactories();
const [localFiles, s3] = artifactStoreFactories();
const stacks = [
  { name: 'SQLite + local files', database: sqlite!, files: localFiles! },
  { name: 'PostgreSQL + S3', database: postgres!, files: s3! },
];

describe.each(stacks)('on $name', ({ database: databaseFactory, files }) => {
  let database: TestDatabase;
  let store: MetadataStore;
  let artifacts: ArtifactStoreFixture;
  let registry: ModelRegistry;
  let runtime: ModelRuntime;

  /** A registry over `metadata` and this test's artifact store, as another process would have. */
  const registryOn = (metadata: MetadataStore, readers = versionMetadataReaders): ModelRegistry =>
    new ModelRegistry(metadata, artifacts.store, runtime, { now: () => Date.now() }, readers);

  beforeEach(async (ctx) => {
    const skip = databaseFactory.skip ?? files.skip;
    if (skip) ctx.skip(skip);
    database = await databaseFactory.create();
    store = await database.open();
    artifacts = await files.create();
    runtime = new ModelRuntime({
      maxConcurrentPerGroup: 1,
      workers: 1,
      intraOpThreads: 1,
      warmup: false,
      serving: {
        batching: false,
        maxBatchSize: 1,
        preferredBatchSizes: [],
        maxQueueDelayMicros: 0,
        maxQueueLength: 16,
        queueTimeoutMicros: 0,
      },
    });
    registry = registryOn(store);
  });
  afterEach(async () => {
    await runtime?.close();
    await database?.drop();
  });

  describe('ModelRegistry', () => {
    it('numbers versions 1, 2, … even under concurrent registration', async () => {
      const versions = await Promise.all(
        Array.from({ length: 5 }, () => registry.registerVersion({ model: 'm', file: onnx }, admin)),
      );
      expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(versions.map((v) => v.sha256)).size).toBe(1);
    });

    it('resolves production, then the latest unarchived version, then aliases and numbers', async () => {
      await registry.registerVersion({ model: 'm', file: onnx }, admin);
      await registry.registerVersion({ model: 'm', file: onnx }, admin);
      expect((await registry.resolve('m')).version).toBe(2);
      await registry.setAlias('m', 'production', 1, admin);
      expect((await registry.resolve('m')).version).toBe(1);
      await registry.setAlias('m', 'staging', 2, admin);
      expect((await registry.resolve('m', 'staging')).version).toBe(2);
      expect((await registry.resolve('m', '2')).aliases).toEqual(['staging']);
      await expect(registry.resolve('m', 'canary')).rejects.toThrow(
        /no version or alias "canary" \(versions: 1, 2; aliases: production, staging\)/,
      );
      await expect(registry.archiveVersion('m', 2, admin)).rejects.toMatchObject({ code: 'conflict' });
      await registry.removeAlias('m', 'staging', admin);
      await registry.archiveVersion('m', 2, admin);
      await expect(registry.resolve('m', '2')).rejects.toThrow(/archived/);
    });

    it('keeps nothing of a refused file', async () => {
      await expect(
        registry.registerVersion({ model: 'bad', file: Buffer.from('not onnx') }, admin),
      ).rejects.toMatchObject({
        code: 'invalid_input',
      });
      expect(await registry.listModels({ includeArchived: true })).toEqual([]);
      expect(await artifacts.store.sweep(() => Promise.resolve(new Set()), { minAgeMs: -1 })).toEqual({
        staged: 0,
        orphans: 0,
      });
    });

    it('checks permissions itself, so every edge enforces the same policy', async () => {
      const developer: Actor = { keyId: 'd', role: 'developer' };
      await registry.registerVersion({ model: 'm', file: onnx }, developer);
      await expect(registry.setAlias('m', 'production', 1, developer)).rejects.toMatchObject({
        code: 'forbidden',
      });
      await expect(
        registry.registerVersion({ model: 'm', file: onnx }, { keyId: 's', role: 'service' }),
      ).rejects.toMatchObject({
        code: 'forbidden',
      });
    });

    it('answers resolutions from memory, yet sees every change, from this process or another', async () => {
      await registry.registerVersion({ model: 'm', file: onnx }, admin);
      await registry.registerVersion({ model: 'm', file: onnx }, admin);
      expect((await registry.resolve('m')).version).toBe(2);
      expect(await registry.resolve('m')).toBe(await registry.resolve('m')); // cached object
      await registry.setAlias('m', 'production', 1, admin);
      expect((await registry.resolve('m')).version).toBe(1);

      // Another process (here: another connection to the same database) moves the alias; this one
      // notices within a second (SQLite: data_version, read at most once per ms; Postgres: NOTIFY).
      const otherRegistry = registryOn(await database.open());
      await otherRegistry.setAlias('m', 'production', 2, admin);
      await within(1000, async () => (await registry.resolve('m')).version === 2);
      await otherRegistry.archiveVersion('m', 1, admin);
      await within(1000, () =>
        registry.resolve('m', '1').then(
          () => false,
          (err: unknown) => (err as GalenError).code === 'not_found',
        ),
      );
    });
  });

  describe('VersionMetadataReaders', () => {
    it('merges what each reader declares into the signature, and stores the feature map its checker returns', async () => {
      const seen: Signature[] = [];
      const reading = registryOn(store, {
        signature: [
          (metadata, signature) => {
            seen.push(signature);
            return {};
          },
          (_metadata, signature) => ({
            ranking: {
              input: signature.inputs[0]!.name,
              output: signature.outputs[0]!.name,
              items: ['benign'],
              features: [],
              contraindications: [],
            },
          }),
        ],
        featureMap: (raw) => {
          if (raw !== 'ok') throw new GalenError('invalid_input', 'the map must be "ok"');
          return { checked: true };
        },
      });
      const version = await reading.registerVersion({ model: 'm', file: onnx }, admin);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.ranking).toBeUndefined();
      expect(version.signature.ranking?.items).toEqual(['benign']);
      expect(version.signature.inputs).toEqual(seen[0]!.inputs);
      expect((await reading.getVersion('m', 1)).signature.ranking?.items).toEqual(['benign']);

      await expect(reading.setFeatureMap('m', 1, 'wrong', admin)).rejects.toThrow(/must be "ok"/);
      await expect(reading.getFeatureMap('m', 1)).rejects.toMatchObject({ code: 'not_found' });
      await reading.setFeatureMap('m', 1, 'ok', admin);
      expect((await reading.getFeatureMap('m', 1)).map).toEqual({ checked: true });
    });

    it('declares nothing for a plain ONNX file with the readers app/ wires', async () => {
      const version = await registry.registerVersion({ model: 'm', file: onnx }, admin);
      expect(Object.keys(version.signature).sort()).toEqual(['inputs', 'outputs']);
    });
  });
});
