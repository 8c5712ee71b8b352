/**
 * The README's demo as a newcomer runs it: `galen serve --demo` on a fresh data folder publishes
 * the heart-disease CDS service, and `galen cds call` (the demo CDS client, signing its own JWTs)
 * gets a card for a Synthea patient. A restart keeps the client's key and installs nothing twice.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL, demoCdsClientPath } from '../../src/demo/index.js';
import { CHILD_ADMIN_KEY, GalenProcesses, assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { dataUrl } from '../helpers/data.js';

const PATIENT = dataUrl('fhir/Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json').pathname;
const SERVICE = `${HEART_DEMO_MODEL}--production`;

describe('the demo CDS service', () => {
  const processes = new GalenProcesses();
  let dir: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-cds-demo-'));
  });
  afterEach(() => processes.killAll());
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is published by serve --demo and answers the demo client with a card', async () => {
    const server = await processes.start(dir, { GALEN_GRPC_ENABLED: 'false' }, ['--demo']);
    const services = (await server.call('GET', '/cds-services')).body.services;
    expect(services.map((s: any) => s.id)).toEqual([SERVICE, `${SERVICE}--order-select`]);
    expect(services[0].prefetch).toEqual({
      patient: 'Patient/{{context.patientId}}',
      observations:
        'Observation?patient={{context.patientId}}&code=http://loinc.org|85354-9,http://loinc.org|2093-3',
    });
    expect((await stat(demoCdsClientPath(dir))).mode & 0o777).toBe(0o600);

    const call = await runCli(
      ['cds', 'call', SERVICE, '--patient', PATIENT, '--url', server.url, '--json'],
      dir,
    );
    expect(call.code, call.stderr).toBe(0);
    const [card] = JSON.parse(call.stdout).cards;
    expect(card.summary).toMatch(/^\d+% predicted probability of coronary artery disease/);
    expect(card.indicator).toBe('info'); // a 17-year-old with a normal pressure is below 0.3
    expect(card.detail).toContain('Thresholds: warning from 0.3, critical from 0.6.');
    expect(card.detail).toContain('No data for chol');
    expect(card.links[0].url).toBe('https://archive.ics.uci.edu/dataset/45/heart+disease');

    // The rationale: the exact Shapley values the version's explainer gives.
    expect(card.detail).toMatch(
      /Main contributions to the log-odds of coronary artery disease .*: age 17 \(−/,
    );
    const explained = await runCli(
      [
        'explain',
        HEART_DEMO_MODEL,
        '--row',
        '{"age": 63, "sex": 1, "trestbps": 145, "chol": null}',
        '--url',
        server.url,
      ],
      dir,
      20_000,
      { GALEN_KEY: CHILD_ADMIN_KEY },
    );
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(
      /^heart-disease:1 — linear, exact Shapley values of the log-odds of P\(true\)/,
    );
    expect(explained.stdout).toMatch(/chol\s+\(missing\)\s+[+-]\d\.\d{4}/);

    const card1 = (await server.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}/versions/1/card`)).body;
    expect(card1.intendedUse.statement).toMatch(/Not a medical device/);
    expect(card1.metrics.test.auroc.value).toBeGreaterThan(0.6);

    // A restart: the same key is trusted again, and the model is not trained a second time.
    expect(await server.stop()).toBe(0);
    const again = await processes.start(dir, { GALEN_GRPC_ENABLED: 'false' }, ['--demo']);
    expect(again.logLines.some((l) => l.includes('demo model installed'))).toBe(false);
    // Without --url, the CLI calls the server the configuration names (GALEN_PORT), as serve listens.
    const second = await runCli(['cds', 'call', SERVICE, '--patient', PATIENT], dir, 20_000, {
      GALEN_PORT: new URL(again.url).port,
    });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^\[info\] \d+% predicted probability/);
    expect((await again.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}`)).body.latestVersion).toBe(1);
  });
});
