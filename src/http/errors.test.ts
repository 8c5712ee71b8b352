import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
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
