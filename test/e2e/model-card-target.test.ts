/**
 * A model card names the training target as what the model predicts, never as an input: the demo
 * heart-disease model predicts `num > 0`, derived from the column `num`, and its card (JSON and
 * Markdown, as the API and `galen models card` show it) lists `num` neither among the inputs nor
 * as "Not used … (ignored by an override)". Real server, the demo trained at start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL } from '../../src/demo/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

describe('the model card and the target', () => {
  let server: TestServer;
  const card = (format: 'json' | 'markdown') =>
    server.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}/versions/1/card?format=${format}`);

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
  });
  afterAll(async () => server.close());

  it('names the target and the column it is derived from, and lists only real inputs', async () => {
    const json = await card('json');
    expect(json.status, JSON.stringify(json.body)).toBe(200);
    expect(json.body.details).toMatchObject({ target: 'num > 0', targetColumn: 'num', task: 'binary' });
    expect(json.body.data.columns.map((c: { name: string }) => c.name).sort()).toEqual([
      'age',
      'chol',
      'sex',
      'trestbps',
    ]);

    const markdown = (await card('markdown')).body as string;
    expect(markdown).toContain('- Task: binary classification of "num > 0" (derived from column "num")');
    expect(markdown).not.toMatch(/Not used:.*\bnum\b/);
    expect(markdown).not.toContain('ignored by an override');
    expect(markdown).not.toMatch(/^\| num \|/m);
  });
});
