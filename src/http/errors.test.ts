import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { sendError } from './errors.js';

describe('sendError', () => {
  it('answers a SyntaxError from JSON.parse with its position, never the text V8 quotes', async () => {
    const app = Fastify();
    app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    app.post('/parse', { config: { errorFormat: 'native' } }, (request) => {
      // A handler that parses text of the request itself, leaving the error to the error table.
      JSON.parse((request.body as { text: string }).text);
      return {};
    });
    const answer = async (text: string): Promise<{ status: number; error: string }> => {
      const res = await app.inject({ method: 'POST', url: '/parse', payload: { text } });
      return { status: res.statusCode, error: res.json<{ error: string }>().error };
    };

    const quoted = await answer('{"name": "Jane Roe 555-12-3456", x}');
    expect(quoted).toEqual({ status: 400, error: 'the request body is not valid JSON (at character 34)' });
    const noPosition = await answer('Jane Roe 555-12-3456');
    expect(noPosition).toEqual({ status: 400, error: 'the request body is not valid JSON' });
    await app.close();
  });
});

describe('sendError and retrying', () => {
  /** One route per error, answered in `format`: status, Retry-After and body. */
  async function answers(format: 'native' | 'fhir', errors: Record<string, GalenError>) {
    const app = Fastify();
    app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    for (const [path, error] of Object.entries(errors)) {
      app.get(`/${path}`, { config: { errorFormat: format } }, () => {
        throw error;
      });
    }
    const out: Record<string, { status: number; retryAfter: unknown; body: any }> = {};
    for (const path of Object.keys(errors)) {
      const res = await app.inject({ method: 'GET', url: `/${path}` });
      out[path] = { status: res.statusCode, retryAfter: res.headers['retry-after'], body: res.json() };
    }
    await app.close();
    return out;
  }

  it('says when to try again only for a condition that passes by itself', async () => {
    const out = await answers('native', {
      full: new GalenError('unavailable', "the model's queue is full", { retryAfterSeconds: 1 }),
      spent: new GalenError('unavailable', 'the explanation did not finish within timeout_ms 100'),
      quota: new GalenError('too_many_requests', 'this key has 4 optimisation jobs', {
        retryAfterSeconds: 5,
      }),
      missing: new GalenError('not_implemented', 'this server does not run optimisation jobs'),
      backoff: new GalenError('unavailable', 'discovery failed', { retryAfterSeconds: 2.2 }),
    });
    expect(out['full']).toMatchObject({ status: 503, retryAfter: '1', body: { code: 'unavailable' } });
    expect(out['spent']).toMatchObject({ status: 503, retryAfter: undefined, body: { code: 'unavailable' } });
    expect(out['quota']).toMatchObject({
      status: 429,
      retryAfter: '5',
      body: { error: 'this key has 4 optimisation jobs', code: 'too_many_requests' },
    });
    expect(out['missing']).toMatchObject({
      status: 501,
      retryAfter: undefined,
      body: { error: 'this server does not run optimisation jobs', code: 'not_implemented' },
    });
    // Retry-After is whole seconds (RFC 9110), rounded up so a client never comes back early.
    expect(out['backoff']!.retryAfter).toBe('3');
  });

  it('gives FHIR and CDS clients the issue types of a quota and of a missing feature', async () => {
    const out = await answers('fhir', {
      quota: new GalenError('too_many_requests', 'too many', { retryAfterSeconds: 5 }),
      missing: new GalenError('not_implemented', 'not here'),
    });
    expect(out['quota']).toMatchObject({
      status: 429,
      retryAfter: '5',
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] },
    });
    expect(out['missing']).toMatchObject({
      status: 501,
      retryAfter: undefined,
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] },
    });
  });
});
