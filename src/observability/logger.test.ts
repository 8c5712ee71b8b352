import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

/** A logger at `level` writing into an array of raw JSON lines. */
function capture(level = 'info'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { lines, logger: createLogger(level, sink) };
}

const keyCount = (line: string, key: string): number => line.split(`"${key}":`).length - 1;

describe('logger', () => {
  it('writes one "msg" key when a call passes a msg field and a message', () => {
    const { lines, logger } = capture();
    logger.warn({ code: 'unavailable', msg: 'the model queue is full' }, 'request failed');
    expect(lines).toHaveLength(1);
    expect(keyCount(lines[0]!, 'msg')).toBe(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record['msg']).toBe('request failed');
    expect(record['reason']).toBe('the model queue is full');
    expect(record['code']).toBe('unavailable');
  });

  it('keeps a msg field as the message when no message is given', () => {
    const { lines, logger } = capture();
    logger.info({ msg: 'started', port: 1 });
    expect(keyCount(lines[0]!, 'msg')).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'started', port: 1 });
  });

  it('redacts the authorization header', () => {
    const { lines, logger } = capture();
    logger.info({ req: { headers: { authorization: 'Bearer secret' } } }, 'request');
    expect(lines[0]).not.toContain('secret');
  });
});
