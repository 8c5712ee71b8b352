/**
 * No patient data in errors or logs: a request carrying a recognisable patient value gets an error
 * that says what was wrong and where (line and column, the element, the input), and neither the
 * answer nor any line the server logs holds the value. Every log line the server writes (Fastify's
 * request lines included, at `trace`) is captured from the real logger.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL, loadDemoCdsClient } from '../../src/demo/index.js';
import { DEMO_MODEL } from '../../src/demo/index.js';
import { createLogger } from '../../src/observability/index.js';
import { signCdsClientJwt } from '../../src/security/index.js';
import { runCli } from '../helpers/galen-process.js';
import type { CallResult } from '../helpers/http-call.js';
import { waitForJob } from '../helpers/pytorch.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

/** A name and a social security number: nothing of it may come back or reach the log. */
const PATIENT = 'Jane Roe 555-12-3456';
const PARTS = ['Jane', 'Roe', '555-12-3456'];

/** The text of an error answer, whichever protocol's format it has. */
function errorText(res: CallResult): string {
  const body = res.body as { error?: unknown; issue?: { diagnostics?: unknown }[] };
  const text = body.error ?? body.issue?.[0]?.diagnostics;
  if (typeof text !== 'string') throw new Error(`no error text in ${JSON.stringify(res.body).slice(0, 300)}`);
  return text;
}

describe('error texts and logs never repeat patient data', () => {
  let server: TestServer;
  const logged: string[] = [];

  /** Sends `body` as it is, with only the headers given (no Content-Type unless one is). */
  const send = async (
    method: string,
    path: string,
    body: string | Buffer,
    headers: Record<string, string>,
    key = ADMIN_KEY,
  ): Promise<CallResult> => {
    const response = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...headers },
      body,
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  };

  /** Asserts that no answer (or job record) and no log line so far holds any part of the patient value. */
  const expectNoPatientData = (res: CallResult | Record<string, unknown>): void => {
    const answer = JSON.stringify('body' in res && 'status' in res ? res.body : res);
    for (const part of PARTS) {
      expect(answer, 'the answer').not.toContain(part);
      expect(logged.join(''), 'the log').not.toContain(part);
    }
  };

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString('utf8'));
        done();
      },
    });
    server = await createTestServer({ withDemo: true, logger: createLogger('trace', sink) });
  });
  afterAll(() => server.close());

  describe('a body that is not JSON is answered with where it stops parsing, not with its text', () => {
    // Valid up to the unquoted Jane: V8's message would quote the body around it.
    const body = `{"inputs": [{"name": "${PATIENT}", "note": Jane Roe}]}`;
    const column = body.indexOf('Jane Roe}') + 1;

    it.each([
      ['native API', 'POST', '/api/v1/keys', 'application/json'],
      ['OIP inference', 'POST', `/v2/models/${DEMO_MODEL}/infer`, 'application/json'],
      ['OIP repository', 'POST', `/v2/repository/models/${DEMO_MODEL}/load`, 'application/json'],
      ['TF Serving, no content type', 'POST', `/v1/models/${DEMO_MODEL}:predict`, undefined],
      ['FHIR', 'POST', `/fhir/Patient/$predict?model=${HEART_DEMO_MODEL}`, 'application/fhir+json'],
      ['de-identification', 'POST', '/api/v1/deid/fhir', 'application/fhir+json'],
    ])('%s', async (_what, method, path, type) => {
      const res = await send(method, path, body, type === undefined ? {} : { 'content-type': type });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(errorText(res)).toBe(
        `the request body is not valid JSON: expected a JSON value (an object, array, string, number, true, false or null) at line 1, column ${column}`,
      );
      expectNoPatientData(res);
    });

    it('OIP inference with a binary part: the JSON header is described, not quoted', async () => {
      const header = Buffer.from(body);
      const res = await send(
        'POST',
        `/v2/models/${DEMO_MODEL}/infer`,
        Buffer.concat([header, Buffer.alloc(8)]),
        {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        },
      );
      expect(res.status).toBe(400);
      expect(errorText(res)).toMatch(
        new RegExp(
          `^the first ${header.length} bytes of the body \\(Inference-Header-Content-Length\\) are not valid JSON: expected a JSON value .* at line 1, column ${column}; `,
        ),
      );
      expectNoPatientData(res);
    });

    it('CDS Hooks', async () => {
      const demo = await loadDemoCdsClient(server.dataDir);
      const path = `/cds-services/${HEART_DEMO_MODEL}--production`;
      const key = await signCdsClientJwt(demo.key, { iss: demo.iss, aud: server.url + path });
      const res = await send('POST', path, body, { 'content-type': 'application/json' }, key);
      expect(res.status).toBe(400);
      expect(errorText(res)).toMatch(/^the request body is not valid JSON: .* at line 1, column \d+$/);
      expectNoPatientData(res);
    });

    it('says on which line of a pretty-printed body the fault is', async () => {
      const res = await send('POST', '/api/v1/keys', `{\n  "name": "${PATIENT}",\n  "role" "viewer"\n}`, {
        'content-type': 'application/json',
      });
      expect(errorText(res)).toBe(
        'the request body is not valid JSON: expected ":" after a property name at line 3, column 10',
      );
      expectNoPatientData(res);
    });
  });

  describe('OIP and TF Serving: shapes and names cut short, elements named by kind', () => {
    const row = Array.from({ length: 30 }, (_, i) => i / 10);
    const infer = (input: Record<string, unknown>): Promise<CallResult> =>
      server.call('POST', `/v2/models/${DEMO_MODEL}/infer`, {
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row, ...input }] },
      });

    it.each([
      ['10,000 dimensions', new Array(10_000).fill(1)],
      ['50,000 dimensions', new Array(50_000).fill(1)],
    ])('a shape of %s is shown by its first 8 and the count', async (_what, shape) => {
      const res = await infer({ shape, data: [] });
      expect(res.status).toBe(400);
      expect(errorText(res)).toBe(
        `input "features" has shape [1,1,1,1,1,1,1,1,… ${shape.length} dimensions]; model "${DEMO_MODEL}" version 1 expects [-1,30] (-1 = any size)`,
      );
    });

    it('a shape holding a patient value names the element and its kind', async () => {
      const res = await infer({ shape: [1, PATIENT] });
      expect(errorText(res)).toBe(
        'input "features" has shape an array of 2 whose element 1 is a string; a shape is an array of non-negative integers',
      );
      expectNoPatientData(res);
    });

    it('a 50,000-character name or datatype is cut to 64 characters', async () => {
      const long = 'n'.repeat(50_000);
      for (const input of [{ name: long }, { datatype: long }]) {
        const text = errorText(await infer(input));
        expect(text).toContain(`"${'n'.repeat(64)}…" (50000 characters)`);
        expect(text.length).toBeLessThan(400);
      }
    });

    it('an element holding a patient value is named by its index and kind', async () => {
      const res = await infer({ data: [...row.slice(0, 3), PATIENT, ...row.slice(4)] });
      expect(errorText(res)).toBe(
        'input "features" element 3 is a string; FP32 elements must be JSON numbers, or null for a missing value',
      );
      expectNoPatientData(res);
    });

    it('TF Serving instances and examples name the place and kind, not the value', async () => {
      const bad = [...row.slice(0, 3), PATIENT, ...row.slice(4)];
      const predict = await server.call('POST', `/v1/models/${DEMO_MODEL}:predict`, {
        body: { instances: [row, bad] },
      });
      expect(errorText(predict)).toMatch(/^instances\[1\]\[3\] is a string; input "features" is FP32/);
      expectNoPatientData(predict);
      const classify = await server.call('POST', `/v1/models/${DEMO_MODEL}:classify`, {
        body: { examples: [{ features: bad }] },
      });
      expect(errorText(classify)).toMatch(
        /^examples\[0\]\.features\[3\] is a string; input "features" is FP32/,
      );
      expectNoPatientData(classify);
      const context = await server.call('POST', `/v1/models/${DEMO_MODEL}:classify`, {
        body: { context: PATIENT, examples: [{ features: row }] },
      });
      expect(errorText(context)).toMatch(/^"context" is a string; it must be an object/);
      expectNoPatientData(context);
    });
  });

  describe('URLs that name a patient', () => {
    it('request log lines hold the route, not the path or query, and an unknown FHIR path is not repeated', async () => {
      const unknown = await server.call('GET', '/fhir/Patient/Jane-Roe/555-12-3456?name=Jane%20Roe');
      expect(unknown.status).toBe(404);
      expect(errorText(unknown)).toBe('no endpoint GET /fhir/…');
      const predict = await server.call('POST', '/fhir/Patient/$predict?model=Jane&patient=Roe-555-12-3456', {
        body: {},
      });
      expect(predict.status).toBeGreaterThanOrEqual(400);
      expectNoPatientData({});
      expect(logged.join('')).toContain('"route":"/fhir/Patient/$predict"');
    });
  });

  describe('training jobs and the CLI', () => {
    it('a molecule job whose SMILES column holds names names the first bad row, not its text', async () => {
      // 60 rows of "Jane Roe 555-12-3xxx": none parses as SMILES.
      const csv = [
        'name,y',
        ...Array.from({ length: 60 }, (_, i) => `${PATIENT.slice(0, -3)}${100 + i},${i / 10}`),
      ];
      const up = await server.call('POST', '/api/v1/datasets/names', {
        body: csv.join('\n'),
        contentType: 'text/csv',
      });
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'names',
          dataset: 'names',
          target: 'y',
          modelKind: 'gbdt',
          molecules: { smiles: 'name' },
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(server, submitted.body.id);
      expect(job.state).toBe('failed');
      expect(job.error.message).toBe(
        '60 of 60 SMILES in "name" do not parse (the first is row 1); is it the SMILES column?',
      );
      const logs = await server.call('GET', `/api/v1/jobs/${job.id}/logs`);
      expect(logs.status).toBe(200);
      expectNoPatientData(job);
      expectNoPatientData(logs);
    });

    it.each([
      ['galen deid fhir', (file: string, dir: string) => ['deid', 'fhir', file, join(dir, 'out.json')]],
      [
        'galen cds call',
        (file: string) => [
          'cds',
          'call',
          `${HEART_DEMO_MODEL}--production`,
          '--patient',
          file,
          '--url',
          server.url,
        ],
      ],
    ])('%s with a patient file that is not JSON says where, not what', async (_what, args) => {
      const dir = await mkdtemp(join(tmpdir(), 'galen-error-texts-'));
      try {
        const file = join(dir, 'patient.json');
        await writeFile(
          file,
          `{"resourceType": "Patient",\n "name": [{"text": "${PATIENT}"}]\n "gender": "female"}`,
        );
        const run = await runCli(args(file, dir), dir);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`${file} is not`);
        expect(run.stderr).toContain('expected "," or "}" after a property value at line 3, column 2');
        for (const part of PARTS) expect(run.stderr + run.stdout).not.toContain(part);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
