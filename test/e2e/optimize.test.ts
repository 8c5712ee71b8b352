/**
 * The optimisation service over HTTP on a real server: a length-of-stay model trained by a job on
 * the hospital stays data feeds the bed template with predicted stays for admissions it never saw;
 * an impossible roster is a 200 with the conflict named; a hard integer model stops at its time
 * limit with a solution and a gap, at once or as a job; roles, limits and malformed input.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { MARKET_SPLIT_SIZE, marketSplitModel } from '../helpers/market-split.js';
import { waitForJob } from '../helpers/pytorch.js';
import { createTestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';
import { parseCsv } from '../../src/datasets/index.js';
import type { TestServer } from '../helpers/test-server.js';

const ADMISSIONS = dataUrl('ehr/mimic3_demo_ADMISSIONS.csv');
/** What is known when a patient is admitted: the model's inputs (no ids, times or outcomes). */
const KEPT = [
  'ADMISSION_TYPE',
  'ADMISSION_LOCATION',
  'INSURANCE',
  'LANGUAGE',
  'RELIGION',
  'MARITAL_STATUS',
  'ETHNICITY',
];

/** MIMIC's "M/D/YY H:MM" (dates shifted into the 22nd century: only differences count), in days. */
function days(text: string): number {
  const [date, time] = text.split(' ');
  const [m, d, yy] = date!.split('/').map(Number);
  const [h, min] = time!.split(':').map(Number);
  return Date.UTC(2000 + yy!, m! - 1, d, h, min) / 86_400_000;
}

/** The MIMIC-III demo admissions: admission-time columns, and the stay (discharge − admission, in days). */
async function staysTable(): Promise<{ header: string[]; rows: string[][]; stay: number[] }> {
  const table = parseCsv(await readFile(ADMISSIONS));
  const at = (name: string) => table.columns.indexOf(name);
  return {
    header: KEPT,
    rows: table.rows.map((r) => KEPT.map((c) => r[at(c)] ?? '')),
    stay: table.rows.map((r) => {
      const stay = days(r[at('DISCHTIME')]!) - days(r[at('ADMITTIME')]!);
      return stay < 0 ? stay + 36_525 : stay; // a stay across a century in the two-digit years
    }),
  };
}

/** An integer model no solver finishes in seconds (see marketSplitModel), so a time limit stops it. */
const hard = () => marketSplitModel(11);

describe('optimisation over HTTP', () => {
  let server: TestServer;
  let table: Awaited<ReturnType<typeof staysTable>>;
  const HELD_OUT = 60;
  beforeAll(async () => {
    server = await createTestServer();
    table = await staysTable();
    // The model learns from the first 69 stays; the last 60 are the admissions to plan.
    const train = table.rows.slice(0, -HELD_OUT).map((r, i) => [...r, String(table.stay[i])]);
    const csv = [[...table.header, 'lengthofstay'], ...train].map((r) => r.join(',')).join('\n');
    const up = await server.call('POST', '/api/v1/datasets/stays', { body: csv, contentType: 'text/csv' });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const job = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'los', dataset: 'stays', target: 'lengthofstay', modelKind: 'gbdt' },
    });
    expect(job.status, JSON.stringify(job.body)).toBe(202);
    expect((await waitForJob(server, job.body.id)).state).toBe('succeeded');
  }, 120_000);
  afterAll(() => server.close());

  it('plans beds for new admissions with stays predicted by the served model', async () => {
    // Each feature as the served model takes it: text for BYTES inputs, numbers for the rest.
    const signature = (await server.call('GET', '/v2/models/los')).body.inputs as {
      name: string;
      datatype: string;
    }[];
    const text = new Set(signature.filter((i) => i.datatype === 'BYTES').map((i) => i.name));
    const admissions = table.rows.slice(-HELD_OUT).map((r, i) => {
      const features = Object.fromEntries(
        table.header.map((c, j) => [c, text.has(c) ? r[j]! : Number(r[j])]),
      );
      return { id: `adm-${i}`, day: i % 7, group: r[table.header.indexOf('ADMISSION_LOCATION')], features };
    });
    const res = await server.call('POST', '/api/v1/optimize', {
      body: {
        template: 'beds',
        input: {
          days: 14,
          wards: [
            { name: 'ward-A', beds: 12, groups: ['EMERGENCY ROOM ADMIT'] },
            { name: 'ward-B', beds: 12, groups: ['TRANSFER FROM HOSP/EXTRAM', 'TRANSFER FROM SKILLED NUR'] },
            {
              name: 'ward-CDE',
              beds: 14,
              groups: ['CLINIC REFERRAL/PREMATURE', 'PHYS REFERRAL/NORMAL DELI'],
            },
          ],
          admissions,
          lengthOfStayModel: { model: 'los' },
        },
      },
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    const answer = res.body;
    expect(answer).toMatchObject({
      problem: 'beds',
      status: 'optimal',
      facts: { lengthsOfStay: { predictedBy: 'los:1', predicted: HELD_OUT, given: 0 } },
    });
    // The stays planned with are the served model's answers for these rows, asked for here directly.
    // (Trained on 69 admissions, the model is no better than their mean stay: the planning is tested.)
    const planned: number[] = answer.solution.admissions.map((a: any) => a.lengthOfStay);
    expect(answer.solution.admissions.every((a: any) => a.lengthOfStaySource === 'predicted')).toBe(true);
    const direct = await server.call('POST', '/v2/models/los/infer', {
      body: {
        inputs: signature.map((s) => ({
          name: s.name,
          datatype: s.datatype,
          shape: [HELD_OUT, 1],
          data: admissions.map((a) => a.features[s.name]),
        })),
      },
    });
    expect(direct.status, JSON.stringify(direct.body).slice(0, 500)).toBe(200);
    const predicted = direct.body.outputs.find((o: any) => o.name === 'prediction').data as number[];
    planned.forEach((stay, i) => expect(stay).toBeCloseTo(predicted[i]!, 3));
    expect(new Set(planned).size).toBeGreaterThan(1); // the features matter: not one stay for all
    // No ward over its beds on any day, recounted here from the placements and the planned stays.
    for (const [k, ward] of answer.solution.wards.entries()) {
      for (let d = 0; d < 14; d++) {
        const present = answer.solution.admissions.filter(
          (a: any) =>
            a.ward === ward.name && a.day <= d && d < a.day + Math.max(1, Math.ceil(a.lengthOfStay)),
        ).length;
        expect(present, `${ward.name} day ${d}`).toBe(ward.occupied[d]);
        expect(present).toBeLessThanOrEqual([12, 12, 14][k]!);
      }
    }
    expect(answer.solution.placed + answer.solution.unplaced.length).toBe(HELD_OUT);
  });

  it('answers an impossible roster with 200, status infeasible and the rules in conflict', async () => {
    const res = await server.call('POST', '/api/v1/optimize', {
      body: {
        template: 'roster',
        input: {
          days: 7,
          shifts: [
            { name: 'day', start: 7, hours: 12 },
            { name: 'night', start: 19, hours: 12 },
          ],
          nurses: ['ana', 'ben', 'cai', 'dee'].map((name) => ({
            name,
            skills: name === 'ana' ? ['icu'] : [],
          })),
          coverage: [
            { shift: 'day', min: 1 },
            { shift: 'night', min: 1, skill: 'icu' },
          ],
          maxConsecutiveDays: 5,
        },
      },
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.status).toBe('infeasible');
    expect(res.body.solution).toBeUndefined();
    const meanings: string[] = res.body.conflict.constraints.map((c: any) => c.meaning);
    // Ana is the only ICU nurse: six nights in a row break the five-day rule.
    expect(
      meanings.filter((m) => /^nurse "ana" works at most 5 days in a row \(days \d to \d\)$/.test(m)),
      meanings.join('\n'),
    ).toHaveLength(1);
    expect(meanings.filter((m) => m.startsWith('shift "night"'))).toHaveLength(6);
    expect(res.body.conflict.complete).toBe(true);
  });

  it('stops a hard integer model at its time limit with the best solution and its gap, at once or as a job', async () => {
    const res = await server.call('POST', '/api/v1/optimize', {
      body: { input: hard(), timeLimitSeconds: 1.5 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ problem: 'model', status: 'time_limit', timeLimitSeconds: 1.5 });
    expect(res.body.gap).toBeGreaterThan(0);
    expect(Object.keys(res.body.solution)).toHaveLength(MARKET_SPLIT_SIZE.variables);
    expect(res.body.size).toEqual(MARKET_SPLIT_SIZE);

    const service = await server.key('service');
    const submitted = await server.call('POST', '/api/v1/optimize/jobs', {
      key: service,
      body: { input: hard(), timeLimitSeconds: 2 },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    expect(submitted.body.kind).toBe('optimize');
    const done = await waitForJob(server, submitted.body.id);
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 'time_limit', timeLimitSeconds: 2 });
    expect(done.result.gap).toBeGreaterThan(0);
    // The service key sees its own optimisation job, and no training jobs.
    expect((await server.call('GET', `/api/v1/jobs/${submitted.body.id}`, { key: service })).status).toBe(
      200,
    );
    const listed = (await server.call('GET', '/api/v1/jobs', { key: service })).body;
    expect(listed.map((j: any) => j.kind)).toEqual(['optimize']);
    const training = (await server.call('GET', '/api/v1/jobs')).body.find((j: any) => j.kind === 'train');
    expect((await server.call('GET', `/api/v1/jobs/${training.id}`, { key: service })).status).toBe(404);
    // Another service key does not see it: an optimisation's input can name patients.
    const other = await server.key('service');
    expect((await server.call('GET', `/api/v1/jobs/${submitted.body.id}`, { key: other })).status).toBe(404);
    expect((await server.call('GET', '/api/v1/jobs', { key: other })).body).toEqual([]);
  }, 60_000);

  it('holds one key to four optimisation jobs queued or running at once', async () => {
    const key = await server.key('service');
    const tiny = { input: { variables: [{ name: 'x', upper: 1 }], objective: { linear: { x: 1 } } } };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await server.call('POST', '/api/v1/optimize/jobs', { key, body: tiny });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      ids.push(res.body.id);
    }
    // Four are queued or running (a job process takes far longer to start than these calls).
    const fifth = await server.call('POST', '/api/v1/optimize/jobs', { key, body: tiny });
    // A per-key quota: 429 (not 503, the server is not overloaded), with when to try again.
    expect(fifth.status).toBe(429);
    expect(fifth.body.code).toBe('too_many_requests');
    expect(fifth.headers.get('retry-after')).toBe('5');
    expect(fifth.body.error).toMatch(/this key has 4 optimisation jobs queued or running/);
    for (const id of ids) expect((await waitForJob(server, id)).state).toBe('succeeded');
    expect((await server.call('POST', '/api/v1/optimize/jobs', { key, body: tiny })).status).toBe(202);
  }, 60_000);

  it('refuses what it cannot solve, saying why', async () => {
    const bad = await server.call('POST', '/api/v1/optimize', {
      body: {
        input: {
          variables: [{ name: 'x' }],
          constraints: [{ name: 'c', terms: { y: 1 }, max: 1 }],
          objective: {},
        },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(
      /constraints\[0\].terms has a key that is not the name of a variable in "variables"/,
    );
    const long = await server.call('POST', '/api/v1/optimize', {
      body: { input: hard(), timeLimitSeconds: 600 },
    });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatch(/at most 60 s \(submit a longer solve as a job/);
    const template = await server.call('POST', '/api/v1/optimize', {
      body: { template: 'roster', input: { days: 'seven' } },
    });
    expect(template.status).toBe(400);
    expect(template.body.error).toMatch(
      /the roster input is not valid: .*GET \/api\/v1\/optimize\/templates\/roster gives its schema/,
    );
    const unknownModel = await server.call('POST', '/api/v1/optimize', {
      body: {
        template: 'theatre',
        input: {
          sessions: [{ id: 's', theatre: 'OR1', day: 0, minutes: 240 }],
          cases: [{ id: 'c', surgeon: 'x', features: { age: 70 } }],
          durationModel: { model: 'nope' },
        },
      },
    });
    expect(unknownModel.status).toBe(404);
    const classifier = await server.call('POST', '/api/v1/optimize', {
      body: {
        template: 'theatre',
        input: {
          sessions: [{ id: 's', theatre: 'OR1', day: 0, minutes: 240 }],
          cases: [
            { id: 'b', surgeon: 'x', minutes: 30 },
            { id: 'c', surgeon: 'x', features: { unknown: 1 } },
          ],
          durationModel: { model: 'los' },
        },
      },
    });
    expect(classifier.status).toBe(400);
    // The case is named by its place in the input (only the second needs a prediction).
    expect(classifier.body.error).toMatch(
      /cases\[1\]\.features names "unknown", which is not an input of model "los" version 1; its inputs are ADMISSION_TYPE, ADMISSION_LOCATION/,
    );
  });

  it('needs a key with infer, publishes each template schema, and counts solves', async () => {
    expect(
      (await server.call('POST', '/api/v1/optimize', { key: null, body: { input: hard() } })).status,
    ).toBe(401);
    const auditor = await server.key('auditor');
    expect(
      (await server.call('POST', '/api/v1/optimize', { key: auditor, body: { input: hard() } })).status,
    ).toBe(403);
    const list = await server.call('GET', '/api/v1/optimize/templates');
    expect(list.body.map((t: any) => t.name)).toEqual(['beds', 'roster', 'theatre']);
    const roster = await server.call('GET', '/api/v1/optimize/templates/roster');
    expect(roster.body.schema.properties.coverage.type).toBe('array');
    const metrics = await server.call('GET', '/metrics');
    expect(String(metrics.body)).toMatch(
      /galen_optimize_solves_total\{problem="roster",status="infeasible"\} 1/,
    );
  });

  it('solves from the CLI on a local data folder, and refuses a broken file', async () => {
    assertCliBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'galen-optimize-'));
    try {
      const file = join(dir, 'roster.json');
      await writeFile(
        file,
        JSON.stringify({
          days: 3,
          shifts: [
            { name: 'early', start: 7, hours: 8 },
            { name: 'late', start: 15, hours: 8 },
          ],
          nurses: [{ name: 'ana' }, { name: 'ben' }],
          coverage: [
            { shift: 'early', min: 1 },
            { shift: 'late', min: 1 },
          ],
        }),
      );
      const text = await runCli(['optimize', file, '--template', 'roster'], join(dir, 'data'));
      expect(text.code, text.stderr).toBe(0);
      // A late shift then an early one leaves 8 h: each nurse keeps to one shift.
      expect(text.stdout).toMatch(/roster: optimal, objective 6/);
      expect(text.stdout).toMatch(/ana +(early +early +early|late +late +late)/);
      const json = await runCli(
        ['--json', 'optimize', file, '--template', 'roster', '--time-limit', '5'],
        join(dir, 'data'),
      );
      expect(JSON.parse(json.stdout)).toMatchObject({ status: 'optimal', timeLimitSeconds: 5 });
      await writeFile(file, '{"days": 3');
      const broken = await runCli(['optimize', file, '--template', 'roster'], join(dir, 'data'));
      expect(broken.code).not.toBe(0);
      expect(broken.stderr).toMatch(/roster.json is not readable JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
