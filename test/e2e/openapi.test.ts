/**
 * The OpenAPI document and the API reference page over the real server: the document validates
 * against the OpenAPI specification's own schema (a real validator), its Schema Objects compile as
 * JSON Schema 2020-12, and every path parameter is declared exactly where it occurs; the reference
 * page and its static assets are public and name nothing of the deployment, while the document
 * itself needs a key.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Every Schema Object in an OpenAPI 3.1 document (parameters, bodies, responses, components). */
function schemasOf(doc: any): { where: string; schema: unknown }[] {
  const found: { where: string; schema: unknown }[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const at = `${method.toUpperCase()} ${path}`;
      for (const p of op.parameters ?? [])
        found.push({ where: `${at} parameter ${p.name}`, schema: p.schema });
      for (const [type, media] of Object.entries<any>(op.requestBody?.content ?? {}))
        found.push({ where: `${at} body ${type}`, schema: media.schema });
      for (const [status, response] of Object.entries<any>(op.responses ?? {}))
        for (const [type, media] of Object.entries<any>(response.content ?? {}))
          found.push({ where: `${at} response ${status} ${type}`, schema: media.schema });
    }
  }
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {}))
    found.push({ where: `components.schemas.${name}`, schema });
  return found.filter((f) => f.schema !== undefined);
}

describe('OpenAPI document and API reference', () => {
  let server: TestServer;
  let doc: any;
  beforeAll(async () => {
    server = await createTestServer();
    const res = await server.call('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => server.close());

  it('is a valid OpenAPI 3.1 document by the specification schema', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('has Schema Objects that are valid JSON Schema 2020-12', () => {
    // OpenAPI 3.1's dialect adds these annotation keywords to JSON Schema.
    const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });
    for (const keyword of ['example', 'discriminator', 'xml', 'externalDocs']) ajv.addKeyword(keyword);
    const invalid = schemasOf(doc)
      .map(({ where, schema }) => {
        try {
          ajv.compile(schema as object);
          return undefined;
        } catch (err) {
          return `${where}: ${(err as Error).message}`;
        }
      })
      .filter((e) => e !== undefined);
    expect(invalid).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(/"exclusiveM(in|ax)imum":(true|false)/);
  });

  it('declares each path parameter exactly when the path has it', () => {
    const problems: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      const inPath = new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path');
        for (const p of declared) {
          if (!inPath.has(p.name)) problems.push(`${method} ${path}: "${p.name}" is not in the path`);
          if (p.required !== true) problems.push(`${method} ${path}: "${p.name}" must be required`);
        }
        for (const name of inPath)
          if (!declared.some((p: any) => p.name === name))
            problems.push(`${method} ${path}: "${name}" is not declared`);
      }
    }
    expect(problems).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v2/models/{model}/explain', '/v2/models/{model}/versions/{version}/explain']),
    );
  });

  it('needs a key for the document itself', async () => {
    const res = await server.call('GET', '/api/v1/openapi.json', { key: null });
    expect(res.status).toBe(401);
  });

  it('serves a reference page and its assets without a key, holding nothing of the deployment', async () => {
    const page = await fetch(`${server.url}/api/v1/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    // No model, key, path list or version: the document is fetched with the key the reader gives.
    expect(html).not.toContain('/api/v1/models');
    expect(html).not.toContain(doc.info.version);

    const script = html.match(/<script src="([^"]+galen[^"]+)"/)?.[1];
    expect(script).toBeDefined();
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', script!.split('/').pop()!]) {
      const res = await fetch(`${server.url}/api/v1/docs/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
    const code = await (await fetch(`${server.url}/api/v1/docs/${script!.split('/').pop()!}`)).text();
    // Relative to the page (/api/v1/docs): /api/v1/openapi.json, also behind a path prefix.
    expect(code).toContain("fetch('openapi.json'");
    expect(code).toMatch(/Authorization/);

    const other = await fetch(`${server.url}/api/v1/docs/package.json`);
    expect(other.status).toBe(404);
    const traversal = await fetch(`${server.url}/api/v1/docs/..%2f..%2fpackage.json`);
    expect(traversal.status).toBe(404);
  });
});
