import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { createLogger } from '../observability/index.js';
import { toGrpcError } from './unary-call.js';

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: () => any[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: createLogger('info', stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe('toGrpcError', () => {
  it('maps every Galen error code through the one status table, with the message as details', () => {
    const { logger } = capturingLogger();
    const cases: [GalenError, number][] = [
      [new GalenError('invalid_input', 'bad'), status.INVALID_ARGUMENT],
      [new GalenError('unauthorized', 'who'), status.UNAUTHENTICATED],
      [new GalenError('forbidden', 'no'), status.PERMISSION_DENIED],
      [new GalenError('not_found', 'gone'), status.NOT_FOUND],
      [new GalenError('unavailable', 'busy'), status.UNAVAILABLE],
      [new GalenError('payload_too_large', 'big'), status.RESOURCE_EXHAUSTED],
      [new GalenError('too_many_requests', 'quota'), status.RESOURCE_EXHAUSTED],
      [new GalenError('not_implemented', 'no PyTorch'), status.UNIMPLEMENTED],
    ];
    for (const [error, code] of cases) {
      expect(toGrpcError(logger, 'ModelInfer', 'r1', error).status).toEqual({ code, details: error.message });
    }
  });

  it("sends a passing condition's retry delay as gRPC's retry pushback, and none for the rest", () => {
    const { logger } = capturingLogger();
    const busy = toGrpcError(
      logger,
      'ModelInfer',
      'r1',
      new GalenError('unavailable', "the model's queue is full", { retryAfterSeconds: 1 }),
    ).status;
    expect(busy.code).toBe(status.UNAVAILABLE);
    expect(busy.metadata?.get('grpc-retry-pushback-ms')).toEqual(['1000']);
    const spent = toGrpcError(logger, 'ModelInfer', 'r1', new GalenError('unavailable', 'timed out')).status;
    expect(spent.metadata).toBeUndefined();
    const missing = toGrpcError(logger, 'ModelInfer', 'r1', new GalenError('not_implemented', 'no')).status;
    expect(missing).toEqual({ code: status.UNIMPLEMENTED, details: 'no' });
  });

  it('turns an unknown error into INTERNAL naming the request id, logged, its text not leaked', () => {
    const { logger, lines } = capturingLogger();
    const { status: s, error } = toGrpcError(logger, 'ModelInfer', 'req-42', new Error('secret path /x/y'));
    expect(s.code).toBe(status.INTERNAL);
    expect(s.details).toBe('internal error; quote request id req-42 when reporting it');
    expect(error.cause).toBeInstanceOf(Error);
    const logged = lines().find((l) => l.msg === 'unhandled error');
    expect(logged).toMatchObject({
      rpc: 'ModelInfer',
      requestId: 'req-42',
      err: { message: 'secret path /x/y' },
    });
  });
});
