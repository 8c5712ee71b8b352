/**
 * gRPC resource limits against the real server: a caller without a key is refused before its
 * message is read (the server's heap does not grow by the message's decoded size), and an
 * authenticated caller cannot make the decoder build millions of objects: messages are bounded in
 * size, and repeated fields in count, before they are decoded.
 *
 * Messages are sent pre-encoded (a pass-through serializer), so the test's own process — which
 * also runs the server — never builds the objects it is measuring.
 */
import { Client, Metadata, credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GalenConfig } from '../../src/config/index.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

const INFER = '/inference.GRPCInferenceService/ModelInfer';

/** Protobuf wire encoding, just enough to build ModelInfer messages by hand. */
function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
const lengthDelimited = (field: number, bytes: Buffer): Buffer =>
  Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
const str = (field: number, s: string): Buffer => lengthDelimited(field, Buffer.from(s, 'utf8'));
/** `count` copies of one encoded field (e.g. an empty `bytes` element: tag, length 0). */
function repeated(field: Buffer, count: number): Buffer {
  const out = Buffer.alloc(field.length * count);
  for (let at = 0; at < out.length; at += field.length) field.copy(out, at);
  return out;
}

/** A ModelInfer message with one input whose `contents` message is `contents` (already encoded). */
function inferMessage(model: string, datatype: string, shape: number[], contents: Buffer): Buffer {
  const input = Buffer.concat([
    str(1, 'x'),
    str(2, datatype),
    lengthDelimited(3, Buffer.concat(shape.map(varint))),
    lengthDelimited(5, contents),
  ]);
  return Buffer.concat([str(1, model), lengthDelimited(5, input)]);
}

/** `n` empty strings in `contents.bytes_contents` (field 8): two bytes each on the wire. */
const emptyBytesContents = (n: number): Buffer => repeated(Buffer.from([(8 << 3) | 2, 0]), n);

/** Sends pre-encoded bytes as a ModelInfer call; resolves with the error (or null on success). */
function sendRaw(client: Client, message: Buffer, key: string | null): Promise<ServiceError | null> {
  const metadata = new Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      INFER,
      (b: Buffer) => b,
      (b: Buffer) => b,
      message,
      metadata,
      (err) => resolve(err),
    );
  });
}

/**
 * The largest growth of the server process's JS heap while `run` is under way, sampled every
 * millisecond (the decoded request, when there is one, stays alive until the call is answered).
 */
async function heapGrowthDuring(run: () => Promise<unknown>): Promise<number> {
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 1);
  try {
    await run();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  } finally {
    clearInterval(timer);
  }
  return peak - base;
}

const MiB = 1024 * 1024;

function grpcConfig(overrides: Partial<GalenConfig['grpc']>): GalenConfig['grpc'] {
  return {
    enabled: true,
    port: 0,
    maxConcurrentStreams: 100,
    maxContentsElements: 4_194_304,
    ...overrides,
  };
}

describe('gRPC: authentication before the message is read', () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await createTestServer({ grpc: true });
    client = new Client(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    await uploadModel(server, 'identity-bytes', identityModel('BYTES', ['n']));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('refuses an unauthenticated 2 MiB ModelInfer without decoding its million strings', async () => {
    // One million empty strings: 2 MiB on the wire, ~200 MB of heap once decoded.
    const message = inferMessage('identity-bytes', 'BYTES', [1_000_000], emptyBytesContents(1_000_000));
    expect(message.length).toBeGreaterThan(2_000_000);
    for (const key of [null, 'not-a-key']) {
      let err: ServiceError | null = null;
      const growth = await heapGrowthDuring(async () => (err = await sendRaw(client, message, key)));
      expect(err).not.toBeNull();
      expect(err!.code).toBe(status.UNAUTHENTICATED);
      expect(growth, `heap grew by ${(growth / MiB).toFixed(0)} MiB`).toBeLessThan(40 * MiB);
    }
    // The refusal is audited, without a model: the message naming it was never read.
    const refused = (await server.galen.audit.list({ limit: 100 })).filter((r) => r.status === 401);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused[0]).toMatchObject({ action: 'infer', keyId: null, model: null });
  });

  it('refuses an authenticated ModelInfer with too many strings before decoding it, naming the limit', async () => {
    const message = inferMessage('identity-bytes', 'BYTES', [1_000_000], emptyBytesContents(1_000_000));
    let err: ServiceError | null = null;
    const growth = await heapGrowthDuring(async () => (err = await sendRaw(client, message, ADMIN_KEY)));
    expect(err!.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err!.details).toMatch(
      /more than 262144 strings in contents\.bytes_contents; at most 262144 are allowed \(setting tensors\.maxBytesElements\)/,
    );
    expect(growth, `heap grew by ${(growth / MiB).toFixed(0)} MiB`).toBeLessThan(40 * MiB);
  });

  it('still serves a well-formed BYTES call sent the same way', async () => {
    const contents = repeated(str(8, 'ok'), 3);
    const err = await sendRaw(client, inferMessage('identity-bytes', 'BYTES', [3], contents), ADMIN_KEY);
    expect(err).toBeNull();
  });
});

describe('gRPC: message size and repeated-field limits', () => {
  let server: TestServer;
  let client: Client;
  beforeAll(async () => {
    server = await createTestServer({
      grpc: true,
      config: {
        grpc: grpcConfig({ maxMessageBytes: 256 * 1024, maxContentsElements: 1000 }),
      },
    });
    client = new Client(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
    await uploadModel(server, 'identity-fp32', identityModel('FP32', ['n']));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('refuses a message over grpc.maxMessageBytes with RESOURCE_EXHAUSTED', async () => {
    const big = inferMessage('identity-fp32', 'FP32', [80_000], lengthDelimited(6, Buffer.alloc(320_000)));
    const err = await sendRaw(client, big, ADMIN_KEY);
    expect(err!.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('refuses more typed elements than grpc.maxContentsElements, packed or not', async () => {
    const packed = lengthDelimited(6, Buffer.alloc(4 * 1001)); // 1001 floats, packed
    const unpacked = repeated(Buffer.from([(6 << 3) | 5, 0, 0, 0, 0]), 1001); // 1001 floats, one by one
    for (const contents of [packed, unpacked]) {
      const err = await sendRaw(client, inferMessage('identity-fp32', 'FP32', [1001], contents), ADMIN_KEY);
      expect(err!.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err!.details).toMatch(
        /more than 1000 elements in typed contents lists; at most 1000 are allowed \(setting grpc\.maxContentsElements\); send large tensors in raw_input_contents/,
      );
    }
    const fine = lengthDelimited(6, Buffer.alloc(4 * 1000));
    expect(await sendRaw(client, inferMessage('identity-fp32', 'FP32', [1000], fine), ADMIN_KEY)).toBeNull();
  });

  it('refuses a message with thousands of inputs, naming the limit', async () => {
    const input = lengthDelimited(5, str(1, 'x'));
    const message = Buffer.concat([str(1, 'identity-fp32'), repeated(input, 5000)]);
    const err = await sendRaw(client, message, ADMIN_KEY);
    expect(err!.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err!.details).toMatch(/more than 1024 inputs; at most 1024 are allowed/);
  });

  it('refuses a message that is not valid protobuf with INVALID_ARGUMENT', async () => {
    const truncated = Buffer.from([(1 << 3) | 2, 50, 0x61]);
    const err = await sendRaw(client, truncated, ADMIN_KEY);
    expect(err!.code).toBe(status.INVALID_ARGUMENT);
    expect(err!.details).toMatch(/ModelInfer message is not valid protobuf/);
  });
});
