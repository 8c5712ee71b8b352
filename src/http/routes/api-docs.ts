/**
 * The browsable API reference at `/api/v1/docs`: Swagger UI (from the `swagger-ui-dist` package,
 * nothing from a CDN) on a page that asks for an API key, fetches `/api/v1/openapi.json` with it
 * and renders that. The page and its assets are public because they are the same for every
 * deployment and hold nothing of this one; the document (which lists this server's endpoints and
 * version) needs a key like every other call. The key stays in the page's memory only.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import { GalenError } from '../../core/index.js';

const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Runs in the browser: asks for a key, fetches the document with it, starts Swagger UI on it. */
const PAGE_SCRIPT = `'use strict';
(function () {
  var form = document.getElementById('galen-key-form');
  var input = document.getElementById('galen-key');
  var status = document.getElementById('galen-status');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var key = input.value.trim();
    if (key === '') return;
    status.textContent = 'Loading the API document…';
    fetch('openapi.json', { headers: { Authorization: 'Bearer ' + key, Accept: 'application/json' } })
      .then(function (res) {
        return res.json().then(function (body) {
          return { ok: res.ok, status: res.status, body: body };
        });
      })
      .then(function (answer) {
        if (!answer.ok) {
          status.textContent =
            'The server refused (' + answer.status + '): ' + ((answer.body && answer.body.error) || 'no reason given');
          return;
        }
        input.value = '';
        status.textContent = '';
        form.hidden = true;
        window.SwaggerUIBundle({
          spec: answer.body,
          dom_id: '#swagger-ui',
          deepLinking: true,
          presets: [window.SwaggerUIBundle.presets.apis],
          // "Try it out" calls carry the same key.
          requestInterceptor: function (request) {
            request.headers.Authorization = 'Bearer ' + key;
            return request;
          },
        });
      })
      .catch(function (err) {
        status.textContent = 'Could not load the API document: ' + err.message;
      });
  });
})();
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Galen API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css">
<style>
  body { margin: 0; font-family: sans-serif; }
  #galen-key-form { max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }
  #galen-key-form input { width: 100%; padding: 0.5rem; margin: 0.5rem 0; box-sizing: border-box; }
  #galen-key-form p { color: #555; font-size: 0.9rem; }
</style>
</head>
<body>
<form id="galen-key-form">
  <h1>Galen API reference</h1>
  <label for="galen-key">API key</label>
  <input id="galen-key" type="password" autocomplete="off" required>
  <button type="submit">Show the API</button>
  <p>The key is sent only to this server (as "Authorization: Bearer"), and kept only while this page is open.</p>
  <p id="galen-status" role="status"></p>
</form>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/galen-docs.js"></script>
</body>
</html>
`;

/** The files the page loads: served from memory (ours) or from the Swagger UI package (read once). */
const ASSETS: Readonly<Record<string, { type: string; text?: string }>> = {
  'galen-docs.js': { type: 'text/javascript; charset=utf-8', text: PAGE_SCRIPT },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { type: 'text/css; charset=utf-8' },
};

/** Swagger UI renders with inline styles; scripts, fetches and images stay on this origin. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const AssetParam = Type.Object({ asset: Type.String() });

export function apiDocsRoutes(app: FastifyInstance): void {
  const config = { public: true };
  const cache = new Map<string, Buffer>();

  app.get('/api/v1/docs', { config }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(PAGE),
  );

  app.get('/api/v1/docs/:asset', { schema: { params: AssetParam }, config }, async (request, reply) => {
    const { asset } = request.params as Static<typeof AssetParam>;
    const known = Object.hasOwn(ASSETS, asset) ? ASSETS[asset] : undefined;
    if (known === undefined) {
      throw new GalenError(
        'not_found',
        `no such file of the API reference; there are ${Object.keys(ASSETS).join(', ')}`,
      );
    }
    let body = cache.get(asset);
    if (body === undefined) {
      body = known.text !== undefined ? Buffer.from(known.text) : await readFile(join(SWAGGER_UI_DIR, asset));
      cache.set(asset, body);
    }
    return reply
      .type(known.type)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=86400')
      .send(body);
  });
}
