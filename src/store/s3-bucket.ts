/**
 * The one owner of the S3 client (`@aws-sdk/client-s3`, `@aws-sdk/lib-storage`): where an
 * `s3://bucket/prefix` URL points, how the client is built so it works on any S3-compatible server
 * (Swift's s3api included), and the few calls the artifact store makes, each turning the SDK's
 * errors into `GalenError`s that name the bucket and endpoint, never the credentials.
 *
 * The endpoint is operator configuration, not caller input, so these requests do not go through
 * `src/outbound/` (that guard is for URLs a caller can influence: CDS FHIR servers, webhooks, JWKS).
 */
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { GalenError } from '../core/index.js';

/** S3's smallest part is 5 MiB; 8 MiB parts keep a 2 GiB model under 300 requests. */
export const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024;
/** Objects from this size up are uploaded in parts (a retry then resends one part, not the file). */
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024;
const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

export interface S3BucketOptions {
  /** `s3://bucket/prefix` (the prefix may be empty). */
  url: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Absent: the AWS SDK's default chain (AWS_ACCESS_KEY_ID, profiles, web identity, IMDS…). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
}

/** An object or multipart upload as listed: its key and when it was last written or begun. */
export interface Listed {
  readonly key: string;
  readonly at: Date;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The bucket and key prefix (without slashes at either end) of an `s3://bucket/prefix` URL. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GalenError('invalid_input', `artifacts URL "${url}" is not a URL; expected s3://bucket/prefix`);
  }
  if (parsed.protocol !== 's3:' || !BUCKET_NAME.test(parsed.hostname) || parsed.username || parsed.password) {
    throw new GalenError(
      'invalid_input',
      `artifacts URL "${url}" is not s3://bucket/prefix (a bucket name is 3-63 lowercase letters, digits, dots and hyphens)`,
    );
  }
  return { bucket: parsed.hostname, prefix: decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '') };
}

export class S3Bucket {
  readonly name: string;
  /** Every key this bucket's user owns starts with this (empty, or ending in "/"). */
  readonly base: string;
  /** Where the bucket is, for messages: the endpoint without any user info, or AWS S3 and the region. */
  readonly where: string;
  readonly client: S3Client;
  private readonly threshold: number;
  private readonly partSize: number;

  constructor(options: S3BucketOptions) {
    const { bucket, prefix } = parseS3Url(options.url);
    this.name = bucket;
    this.base = prefix ? `${prefix}/` : '';
    const region = options.region ?? 'us-east-1';
    this.where = options.endpoint ? endpointLabel(options.endpoint) : `AWS S3 (${region})`;
    this.partSize = Math.max(MIN_PART_SIZE_BYTES, options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES);
    this.threshold = options.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES;
    const config: S3ClientConfig = {
      region,
      forcePathStyle: options.forcePathStyle ?? false,
      // Galen checks every artifact's sha256 itself; the SDK's default CRC trailers use aws-chunked
      // uploads, which several S3-compatible servers refuse (Swift: 501).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A server that does not accept the connection in 5 s, or goes quiet for a minute mid-request,
      // is down: the SDK's default retries then apply. No cap on a whole request: a large model
      // takes as long as the link needs.
      requestHandler: { connectionTimeout: 5_000, socketTimeout: 60_000 },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    // On Node 20 the SDK writes a multi-line warning to stderr that its releases after January 2027
    // need Node 22. Galen pins a release that runs on Node 20 (package.json), so an operator can do
    // nothing about it, and it breaks a JSON log stream; their own setting of the variable wins.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    this.client = new S3Client(config);
  }

  /** Readiness: the bucket answers with these credentials. */
  async probe(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.name })).catch((err: unknown) => {
      throw this.failure(err, 'be reached');
    });
  }

  /** When the object was last written, or undefined when there is none. */
  async head(key: string): Promise<Date | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return head.LastModified ?? new Date();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.failure(err, `look up ${key}`);
    }
  }

  /** The object's bytes, or undefined when there is none. */
  async get(key: string): Promise<Buffer | undefined> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      if (!got.Body) return Buffer.alloc(0);
      const bytes = await got.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.failure(err, `read ${key}`);
    }
  }

  /**
   * Dates an existing object now (a copy onto itself with new metadata), so a sweep judges its age
   * from this commit. False when it is gone, or the copy is refused (over 5 GiB): upload instead.
   */
  async touch(key: string): Promise<boolean> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.name,
          Key: key,
          CopySource: `${this.name}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: { 'galen-committed': new Date().toISOString() },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof S3ServiceException) return false;
      throw this.failure(err, `date ${key}`);
    }
  }

  /**
   * Uploads the local file `path` to `key`: one PutObject below the multipart threshold, else a
   * multipart upload (aborted on failure). Either way the object appears only when complete.
   */
  async upload(key: string, path: string): Promise<void> {
    const { size } = await stat(path);
    try {
      if (size < this.threshold) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.name,
            Key: key,
            Body: await readFile(path),
            ContentLength: size,
          }),
        );
        return;
      }
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.name, Key: key, Body: createReadStream(path) },
        partSize: this.partSize,
        queueSize: 4,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw this.failure(err, `upload ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key })).catch((err: unknown) => {
      throw this.failure(err, `delete ${key}`);
    });
  }

  /** Every object whose key starts with `prefix`, page by page. */
  async *list(prefix: string): AsyncGenerator<Listed> {
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }))
        .catch((err: unknown) => {
          throw this.failure(err, `list ${prefix}`);
        });
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, at: object.LastModified ?? new Date() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Multipart uploads begun under `prefix` and never completed or aborted, page by page. */
  async *listUploads(prefix: string): AsyncGenerator<Listed & { uploadId: string }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListMultipartUploadsCommand({
            Bucket: this.name,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        )
        .catch((err: unknown) => {
          throw this.failure(err, `list the multipart uploads under ${prefix}`);
        });
      for (const upload of page.Uploads ?? []) {
        if (upload.Key && upload.UploadId)
          yield { key: upload.Key, uploadId: upload.UploadId, at: upload.Initiated ?? new Date() };
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId }))
      .catch((err: unknown) => {
        if (isMissing(err)) return; // aborted or completed meanwhile
        throw this.failure(err, `abort the multipart upload of ${key}`);
      });
  }

  /** `unavailable`: the store cannot do what was asked now; says where and why, never a secret. */
  private failure(err: unknown, doing: string): GalenError {
    if (err instanceof GalenError) return err;
    return new GalenError(
      'unavailable',
      `the artifact bucket "${this.name}" at ${this.where} could not ${doing}: ${reasonOf(err)}`,
      { cause: err },
    );
  }
}

function isMissing(err: unknown): boolean {
  return err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404;
}

function reasonOf(err: unknown): string {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    const hint = status === 403 ? '; check the credentials and the bucket policy' : '';
    const name = err.name === 'Unknown' || err.name === 'UnknownError' ? '' : `${err.name}, `;
    return `${name}HTTP ${status ?? 'error'}${hint}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The endpoint as it may be shown: scheme, host and port only. */
function endpointLabel(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the configured endpoint';
  }
}
