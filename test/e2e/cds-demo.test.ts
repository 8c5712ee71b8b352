/**
 * The README's demo as a newcomer runs it: `galen serve --demo` on a fresh data folder publishes
 * the heart-disease CDS service, and `galen cds call` (the demo CDS client, signing its own JWTs)
 * gets a card for a Synthea patient. A restart keeps the client's key and installs nothing twice.
 * The card's age is computed at the server's clock, pinned here so the test holds on any day.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '@medplum/fhirtypes';
import { answerPrefetch } from '../../src/clinical/index.js';
import type { CdsCard, CdsServiceDescription } from '../../src/clinical/index.js';
import { HEART_DEMO_MODEL, demoCdsClientPath, trustDemoCdsClient } from '../../src/demo/index.js';
import { signCdsClientJwt } from '../../src/security/index.js';
import { CHILD_ADMIN_KEY, GalenProcesses, assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { dataUrl } from '../helpers/data.js';
import { createTestServer } from '../helpers/test-server.js';

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

  // Two servers each start with --demo (training the demo models the first time).
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
    // The age depends on the day, and with it the risk: the test below pins the clock.
    expect(['info', 'warning', 'critical']).toContain(card.indicator);
    expect(card.detail).toContain('Thresholds: warning from 0.3, critical from 0.6.');
    expect(card.detail).toContain('No data for chol');
    expect(card.links[0].url).toBe('https://archive.ics.uci.edu/dataset/45/heart+disease');

    // The rationale: the exact Shapley values the version's explainer gives.
    expect(card.detail).toMatch(
      /Main contributions to the log-odds of coronary artery disease .*: \w+ [\d.]+ \([+−]\d\.\d\d\)/,
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
    // Under 0.3 (info), raised to warning: the patient (born 2009) is younger than every training
    // row (29 and over) until 2038, whatever today's date.
    expect(second.stdout).toMatch(/^\[warning\] \d+% predicted probability/);
    expect(second.stdout).toMatch(/Outside the training data: age=\d+ below training range/);
    expect((await again.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}`)).body.latestVersion).toBe(1);
  }, 90_000);
});

describe("the demo CDS card at the server's clock", () => {
  // The patient was born on 2009-05-02. The clock runs from a date the test sets.
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const setDate = (iso: string): void => {
    offset = Date.parse(iso) - Date.now();
  };

  it("computes the age on the clock's date: 17 the day before the 18th birthday, 18 on it", async () => {
    setDate('2027-05-01T12:00:00Z');
    const server = await createTestServer({ withDemo: true, clock });
    try {
      const client = await trustDemoCdsClient(server.dataDir, server.galen.cdsClients);
      const bundle = JSON.parse(await readFile(PATIENT, 'utf8')) as Bundle;
      const patientId = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!.id!;
      const { services } = (await server.call('GET', '/cds-services')).body as {
        services: CdsServiceDescription[];
      };
      const described = services.find((s) => s.id === SERVICE)!;
      const cardOn = async (iso: string): Promise<CdsCard> => {
        setDate(iso);
        const path = `/cds-services/${SERVICE}`;
        const token = await signCdsClientJwt(
          client.key,
          { iss: client.iss, aud: server.url + path },
          clock.now(),
        );
        const answer = await server.call('POST', path, {
          key: token,
          body: {
            hook: described.hook,
            hookInstance: randomUUID(),
            context: { userId: 'Practitioner/galen-test', patientId },
            prefetch: answerPrefetch(described.prefetch, bundle, patientId),
          },
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        return (answer.body as { cards: CdsCard[] }).cards[0]!;
      };

      const before = await cardOn('2027-05-01T12:00:00Z');
      expect(before.detail).toMatch(
        /Main contributions to the log-odds of coronary artery disease .*: age 17 \(−/,
      );
      const on = await cardOn('2027-05-02T12:00:00Z');
      expect(on.detail).toMatch(
        /Main contributions to the log-odds of coronary artery disease .*: age 18 \(−/,
      );
    } finally {
      await server.close();
    }
  });
});
