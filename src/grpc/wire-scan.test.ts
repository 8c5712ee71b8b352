import { describe, expect, it } from 'vitest';
import { isGalenError } from '../core/index.js';
import { checkInferRequest, inferRequestLimits, peekString } from './wire-scan.js';

const tag = (field: number, wireType: number): number => (field << 3) | wireType;
const ld = (field: number, bytes: Buffer): Buffer =>
  Buffer.concat([Buffer.from([tag(field, 2), bytes.length]), bytes]);
const str = (field: number, s: string): Buffer => ld(field, Buffer.from(s));
const limits = inferRequestLimits({
  grpc: { maxContentsElements: 10 },
  tensors: { maxElements: 1000, maxBytesElements: 3 },
});
const input = (...parts: Buffer[]): Buffer => ld(5, Buffer.concat(parts));

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (err) {
    if (isGalenError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('peekString', () => {
  it('reads a string field in place, the last occurrence winning, "" when absent', () => {
    const msg = Buffer.concat([str(2, 'first'), str(1, 'repo'), str(2, 'second')]);
    expect(peekString(msg, 2, 'M')).toBe('second');
    expect(peekString(msg, 3, 'M')).toBe('');
  });

  it('refuses bytes that are not protobuf, saying why', () => {
    expect(refusal(() => peekString(Buffer.from([tag(1, 2), 9, 0x61]), 1, 'M'))).toEqual({
      code: 'invalid_input',
      message: 'the M message is not valid protobuf: a field claims 9 bytes but only 1 remain',
    });
    expect(refusal(() => peekString(Buffer.from([tag(1, 3)]), 1, 'M')).message).toMatch(
      /wire type 3, which proto3 does not use/,
    );
    expect(refusal(() => peekString(Buffer.from([tag(1, 0), 0x80]), 1, 'M')).message).toMatch(
      /ends inside a varint/,
    );
  });
});

describe('checkInferRequest', () => {
  it('counts packed varints by their last bytes, fixed-width by size, unpacked one by one', () => {
    const int64s = ld(3, Buffer.from([0x01, 0xff, 0x7f, 0x80, 0x80, 0x01])); // 1, 16383, 16384
    const doubles = ld(7, Buffer.alloc(16)); // 2 doubles
    const bools = Buffer.from([tag(1, 0), 1, tag(1, 0), 0]); // 2 bools, unpacked
    const counts = checkInferRequest(
      Buffer.concat([str(1, 'm'), input(str(1, 'x'), ld(5, Buffer.concat([int64s, doubles, bools])))]),
      limits,
    );
    expect(counts).toMatchObject({ inputs: 1, contentsElements: 7, bytesElements: 0 });
  });

  it('refuses counts over each limit with RESOURCE_EXHAUSTED, naming it', () => {
    const strings = ld(5, Buffer.concat([str(8, 'a'), str(8, 'b'), str(8, 'c'), str(8, 'd')]));
    expect(refusal(() => checkInferRequest(input(strings), limits))).toEqual({
      code: 'payload_too_large',
      message:
        'the ModelInfer request has more than 3 strings in contents.bytes_contents; at most 3 are allowed (setting tensors.maxBytesElements)',
    });
    const dims = ld(3, Buffer.alloc(65, 1));
    expect(refusal(() => checkInferRequest(input(dims), limits)).message).toMatch(
      /more than 64 dimensions in one input shape/,
    );
    const raw = Buffer.concat([input(str(1, 'x')), ld(7, Buffer.alloc(4)), ld(7, Buffer.alloc(4))]);
    expect(checkInferRequest(raw, limits).rawContents).toBe(2); // checked against inputs when decoded
  });

  it('holds typed elements to the lower of grpc.maxContentsElements and tensors.maxElements', () => {
    const floats = input(ld(5, ld(6, Buffer.alloc(4 * 11)))); // 11 floats, packed
    expect(refusal(() => checkInferRequest(floats, limits)).message).toBe(
      'the ModelInfer request has more than 10 elements in typed contents lists; at most 10 are allowed (setting grpc.maxContentsElements); send large tensors in raw_input_contents',
    );
    const lowTensors = inferRequestLimits({
      grpc: { maxContentsElements: 10 },
      tensors: { maxElements: 5, maxBytesElements: 3 },
    });
    expect(refusal(() => checkInferRequest(floats, lowTensors)).message).toBe(
      'the ModelInfer request has more than 5 elements in typed contents lists; at most 5 are allowed (setting tensors.maxElements)',
    );
  });
});
