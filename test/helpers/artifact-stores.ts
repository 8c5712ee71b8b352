/**
 * Artifact stores for tests, one factory per implementation, so one suite runs against local
 * files and against a real S3-compatible server (`describe.each(artifactStoreFactories())`).
 *
 * S3 comes from GALEN_TEST_S3_ENDPOINT, GALEN_TEST_S3_ACCESS_KEY_ID and
 * GALEN_TEST_S3_SECRET_ACCESS_KEY (`.ci/services.sh` starts Swift's S3 API and prints them); each
 * store gets a fresh random prefix in the bucket `galen-test`, removed when the test ends. Without
 * an endpoint the S3 tests are skipped, unless GALEN_REQUIRE_SERVICES=1 (CI), where they fail.
 */
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { randomToken } from '../../src/core/index.js';
import { LocalArtifactStore, S3ArtifactStore } from '../../src/store/index.js';
import type { ArtifactCipher, ArtifactStore, S3ArtifactStoreOptions } from '../../src/store/index.js';

/** The bucket every S3 test shares; each store and server gets its own prefix in it. */
export const S3_TEST_BUCKET = 'galen-test';

export interface ArtifactStoreFixture {
  readonly store: ArtifactStore;
  /** Where the store stages uploads on local disk (an interrupted upload's leftovers land here). */
  readonly stagingDir: string;
  /** Another store over the same storage and local folders: this replica after a restart. */
  reopen(cipher?: ArtifactCipher): ArtifactStore;
  /** The artifact's bytes as stored at rest (sealed under a master key). */
  atRest(sha256: string): Promise<Buffer>;
  /** Replaces the artifact's bytes at rest, as a bad disk or an attacker would. */
  tamper(sha256: string, bytes: Buffer): Promise<void>;
}

export interface ArtifactStoreFactory {
  readonly name: string;
  /** Why this store cannot be tested here; undefined when it can. */
  readonly skip: string | undefined;
  /** A fresh, empty store (sealing with `cipher` when given), removed when the test ends. */
  create(options?: { cipher?: ArtifactCipher }): Promise<ArtifactStoreFixture>;
}

/** Every artifact store implementation, for `describe.each`. */
export function artifactStoreFactories(): ArtifactStoreFactory[] {
  return [localFactory, s3Factory];
}

const localFactory: ArtifactStoreFactory = {
  name: 'local files',
  skip: undefined,
  async create(options = {}) {
    const dataDir = await mkdtemp(join(tmpdir(), 'galen-artifacts-'));
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const pathOf = (sha256: string): string =>
      join(dataDir, 'artifacts', 'sha256', sha256.slice(0, 2), sha256);
    return {
      store: new LocalArtifactStore(dataDir, options.cipher),
      stagingDir: join(dataDir, 'artifacts', 'tmp'),
      reopen: (cipher) => new LocalArtifactStore(dataDir, cipher),
      atRest: (sha256) => readFile(pathOf(sha256)),
      tamper: (sha256, bytes) => writeFile(pathOf(sha256), bytes),
    };
  },
};

/** Why S3 tests cannot run here, or undefined when they can (or must: GALEN_REQUIRE_SERVICES=1). */
export function s3TestSkip(): string | undefined {
  if (process.env.GALEN_TEST_S3_ENDPOINT || process.env.GALEN_REQUIRE_SERVICES === '1') return undefined;
  return 'GALEN_TEST_S3_ENDPOINT is not set (eval "$(bash .ci/services.sh)" starts a local S3 server)';
}

/** S3 settings for a store or a whole Galen server, on a fresh prefix of the test bucket. */
export interface S3TestSettings {
  /** `s3://galen-test/<fresh prefix>` */
  readonly url: string;
  readonly endpoint: string;
  readonly region: string;
  readonly forcePathStyle: true;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** The same as a server's environment (GALEN_ARTIFACTS_URL, GALEN_S3_*, AWS_*). */
  readonly env: Readonly<Record<string, string>>;
  /** A client on the same server, for a test to look at or damage what a store wrote. */
  readonly client: S3Client;
  /** The key prefix of this settings' objects (ends in "/"). */
  readonly prefix: string;
  /** Deletes every object and aborts every multipart upload under the prefix. */
  cleanup(): Promise<void>;
}

let bucketReady: Promise<void> | undefined;

/**
 * Fresh S3 settings: the test bucket (created once), a new random prefix. The caller cleans up
 * (`cleanup()` in afterAll/afterEach, or `onTestFinished`). Throws when no S3 server is configured.
 */
export async function s3TestSettings(): Promise<S3TestSettings> {
  const endpoint = process.env.GALEN_TEST_S3_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      'GALEN_REQUIRE_SERVICES=1 but GALEN_TEST_S3_ENDPOINT is not set: the S3 tests cannot run',
    );
  }
  const credentials = {
    accessKeyId: process.env.GALEN_TEST_S3_ACCESS_KEY_ID ?? 'test:tester',
    secretAccessKey: process.env.GALEN_TEST_S3_SECRET_ACCESS_KEY ?? 'testing',
  };
  const region = 'us-east-1';
  const client = new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  bucketReady ??= client
    .send(new CreateBucketCommand({ Bucket: S3_TEST_BUCKET }))
    .then(() => undefined)
    .catch((err: unknown) => {
      // Made by an earlier test or run.
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 409) return;
      bucketReady = undefined;
      throw err;
    });
  await bucketReady;
  const prefix = `t-${Date.now()}-${randomToken(6).replace(/[^A-Za-z0-9]/g, 'x')}/`;
  return {
    url: `s3://${S3_TEST_BUCKET}/${prefix.slice(0, -1)}`,
    endpoint,
    region,
    forcePathStyle: true,
    credentials,
    env: {
      GALEN_ARTIFACTS_URL: `s3://${S3_TEST_BUCKET}/${prefix.slice(0, -1)}`,
      GALEN_S3_ENDPOINT: endpoint,
      GALEN_S3_REGION: region,
      GALEN_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    client,
    prefix,
    cleanup: async () => {
      for (let more = true; more;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: S3_TEST_BUCKET, Prefix: prefix }));
        for (const object of page.Contents ?? [])
          await client.send(new DeleteObjectCommand({ Bucket: S3_TEST_BUCKET, Key: object.Key }));
        more = page.IsTruncated === true;
      }
      const uploads = await client.send(
        new ListMultipartUploadsCommand({ Bucket: S3_TEST_BUCKET, Prefix: prefix }),
      );
      for (const upload of uploads.Uploads ?? []) {
        await client.send(
          new AbortMultipartUploadCommand({
            Bucket: S3_TEST_BUCKET,
            Key: upload.Key,
            UploadId: upload.UploadId,
          }),
        );
      }
      client.destroy();
    },
  };
}

/** The options of an S3 artifact store on `settings`, caching in `cacheDir`. */
export function s3StoreOptions(
  settings: S3TestSettings,
  cacheDir: string,
  extra: Partial<S3ArtifactStoreOptions> = {},
): S3ArtifactStoreOptions {
  return {
    url: settings.url,
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    cacheDir,
    cacheMaxBytes: 64 * 1024 * 1024,
    ...extra,
  };
}

const s3Factory: ArtifactStoreFactory = {
  name: 'S3',
  skip: s3TestSkip(),
  async create(options = {}) {
    const settings = await s3TestSettings();
    const cacheDir = await mkdtemp(join(tmpdir(), 'galen-s3-cache-'));
    onTestFinished(async () => {
      await settings.cleanup();
      await rm(cacheDir, { recursive: true, force: true });
    });
    const keyOf = (sha256: string): string => `${settings.prefix}sha256/${sha256.slice(0, 2)}/${sha256}`;
    return {
      store: new S3ArtifactStore(s3StoreOptions(settings, cacheDir), options.cipher),
      stagingDir: join(cacheDir, 'tmp'),
      reopen: (cipher) => new S3ArtifactStore(s3StoreOptions(settings, cacheDir), cipher),
      atRest: async (sha256) => {
        const got = await settings.client.send(
          new GetObjectCommand({ Bucket: S3_TEST_BUCKET, Key: keyOf(sha256) }),
        );
        return Buffer.from(await got.Body!.transformToByteArray());
      },
      tamper: async (sha256, bytes) => {
        await settings.client.send(
          new PutObjectCommand({ Bucket: S3_TEST_BUCKET, Key: keyOf(sha256), Body: bytes }),
        );
        // This replica's cached copy is damaged alike (its own disk), so the read must go to the bucket.
        await rm(join(cacheDir, 'sha256', sha256.slice(0, 2), sha256), { force: true });
      },
    };
  },
};
