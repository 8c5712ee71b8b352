/**
 * Monitoring end to end on the NMES 1988 data (any hospital stay among Medicare patients, from
 * `hospital > 0`): a model trained by a job on 80% of the
 * rows gets a reference profile; the other 20% is served as production traffic with request ids,
 * and their true outcomes come back as labels. The random split shows no drift and a live AUROC
 * equal to the one computed here from the served probabilities; a shifted copy of the same rows,
 * served to a second version, is flagged, fires an alert rule (log, metric, webhook) once, and
 * resolves when the rule changes.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/datasets/index.js';
import { WDBC_FEATURE_NAMES, parseWdbcCsv, readWdbcCsv } from '../../src/demo/index.js';
import { auroc, mulberry32 } from '../../src/training/index.js';
import { waitForJob } from '../helpers/pytorch.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const NMES = dataUrl('clinical/nmes1988.csv');
/** The number of hospital stays, recoded here as yes/no: the outcome the labels report. */
const TARGET = 'stayed';

type Row = (string | null)[];

describe('monitoring', () => {
  let server: TestServer;
  let columns: string[];
  let production: Row[];
  let signature: { name: string; datatype: string }[];
  let webhook: Server;
  let webhookUrl: string;
  const received: unknown[] = [];
  /** Served P(yes) and true outcome of every production row sent to version 1. */
  const served: { p: number; y: number }[] = [];

  const csvOf = (rows: Row[]): string =>
    [columns.join(','), ...rows.map((r) => r.map((v) => v ?? '').join(','))].join('\n') + '\n';

  /** Rows as the model's inputs: one [n, 1] tensor per feature, by the served signature. */
  const inputsOf = (rows: Row[]) =>
    signature.map((s) => {
      const j = columns.indexOf(s.name);
      return {
        name: s.name,
        datatype: s.datatype,
        shape: [rows.length, 1],
        data: rows.map((r) => (s.datatype === 'BYTES' ? (r[j] ?? '') : Number(r[j]))),
      };
    });

  /** Sends `rows` to a version in requests of 10 rows with ids `${prefix}-${k}`; returns P(yes) per row. */
  async function send(version: number, prefix: string, rows: Row[]): Promise<number[]> {
    const probabilities: number[] = [];
    for (let k = 0; k * 10 < rows.length; k++) {
      const chunk = rows.slice(k * 10, k * 10 + 10);
      const answer = await server.call('POST', `/v2/models/stay/versions/${version}/infer`, {
        body: { id: `${prefix}-${k}`, inputs: inputsOf(chunk), outputs: [{ name: 'probabilities' }] },
      });
      expect(answer.status).toBe(200);
      const data = answer.body.outputs[0].data as number[];
      chunk.forEach((_, r) => probabilities.push(data[r * 2 + 1]!));
    }
    return probabilities;
  }

  const labelsFor = (prefix: string, rows: Row[]) =>
    rows.map((r, i) => ({
      id: `${prefix}-${Math.floor(i / 10)}`,
      row: i % 10,
      label: r[columns.indexOf(TARGET)]!,
    }));

  const report = async (version: number) =>
    (await server.call('GET', `/api/v1/models/stay/monitoring?version=${version}&window=PT1H&windows=1`))
      .body;

  beforeAll(async () => {
    webhook = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/alerts`;

    server = await createTestServer({
      withDemo: true,
      config: {
        monitoring: {
          sampleRate: 1,
          window: 'PT1H',
          evaluateSeconds: 0,
          retentionDays: 90,
          allowPrivateWebhooks: true,
        },
      },
    });
    const table = parseCsv(await readFile(NMES));
    const stays = table.columns.indexOf('hospital');
    columns = table.columns.map((c, j) => (j === stays ? TARGET : c));
    const rows = table.rows.map((r) => r.map((v, j) => (j === stays ? (Number(v) > 0 ? 'yes' : 'no') : v)));
    const random = mulberry32(7);
    const reference: Row[] = [];
    production = [];
    for (const r of rows) (random() < 0.8 ? reference : production).push(r);
    // The file is ordered (its later rows differ from its first), so production is the whole random 20%, not a slice.
    expect(
      (
        await server.call('POST', '/api/v1/datasets/nmes', {
          body: csvOf(reference),
          contentType: 'text/csv',
        })
      ).status,
    ).toBe(201);
    for (let v = 1; v <= 2; v++) {
      const job = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'stay',
          dataset: 'nmes',
          target: TARGET,
          positive: 'yes',
          modelKind: 'logistic',
          sensitive: 'region',
        },
      });
      expect((await waitForJob(server, job.body.id)).state).toBe('succeeded');
    }
    signature = (await server.call('GET', '/v2/models/stay/versions/1')).body.inputs;
  }, 300_000);
  afterAll(async () => {
    await server.close();
    await new Promise((r) => webhook.close(r));
  });

  it('keeps a reference profile from training: inputs from training rows, prediction and baseline from held-out rows', async () => {
    const body = await report(1);
    expect(body.reference.features).toEqual(signature.map((s) => s.name));
    expect(body.reference.prediction).toBe(true);
    expect(body.reference.source).toMatch(/training rows of nmes:1; prediction: the \d+ held-out rows/);
    // The baseline is the held-out evaluation the version was registered with.
    const version = (await server.call('GET', '/api/v1/models/stay/versions/1')).body;
    expect(body.reference.baseline.task).toBe('binary');
    expect(body.reference.baseline.n).toBe(version.metrics.test.n);
    expect(body.reference.baseline.auroc).toBeCloseTo(version.metrics.test.auroc, 5);
    expect(body.overall.samples).toBe(0);
  });

  it('records production traffic, joins labels by request id, and reports live AUROC and calibration', async () => {
    const p = await send(1, 'v1', production);
    const y = production.map((r) => (r[columns.indexOf(TARGET)] === 'yes' ? 1 : 0));
    p.forEach((v, i) => served.push({ p: v, y: y[i]! }));

    const labels = labelsFor('v1', production);
    const answer = await server.call('POST', '/api/v1/models/stay/monitoring/labels', {
      body: {
        labels: [
          ...labels,
          { id: 'never-sent', label: 'yes' },
          { id: 'v1-0', row: 0, label: 'maybe' },
          { id: 'v1-1', label: 'no' },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.accepted).toBe(labels.length);
    expect(answer.body.unmatched).toEqual([{ index: labels.length, id: 'never-sent' }]);
    expect(answer.body.rejected.map((r: { index: number }) => r.index)).toEqual([
      labels.length + 1,
      labels.length + 2,
    ]);
    // The label is a patient's outcome: its kind is named, never the label itself.
    expect(answer.body.rejected[0].reason).toMatch(
      /^the label is a string that is not one of the classes "no", "yes"/,
    );
    expect(answer.body.rejected[0].reason).not.toContain('maybe');
    expect(answer.body.rejected[1].reason).toMatch(/the request had 10 rows; give "row" from 0 to 9/);

    const body = await report(1);
    expect(body.overall.samples).toBe(production.length);
    expect(body.overall.labelled).toBe(production.length);
    const live = body.overall.performance;
    expect(live.n).toBe(production.length);
    // The live AUROC is the AUROC of what was served against what happened.
    expect(live.auroc).toBeCloseTo(auroc(p, y), 5);
    expect(live.auroc).toBeGreaterThan(0.6);
    // Two samples of the same population: 819 production rows (AUROC 0.841) against the ~700
    // held-out rows of the baseline (0.741); a bound for samples this size, not for a model change.
    expect(Math.abs(live.auroc - body.reference.baseline.auroc)).toBeLessThan(0.15);
    expect(live.positives).toBe(y.filter((v) => v === 1).length);
    expect(live.calibrationError).toBeLessThan(0.08); // measured 0.050 on 819 rows
    expect(live.brier).toBeCloseTo(p.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / p.length, 5);
    // Subgroups by the training's sensitive column, which is one of the model's inputs.
    const regions = body.overall.subgroups.region;
    expect(Object.keys(regions.groups).sort()).toEqual(['midwest', 'northeast', 'other', 'west']);
    expect(regions.gap.metric).toBe('auroc');
    expect(regions.gap.gap).toBeGreaterThanOrEqual(0);
  });

  it('flags no drift on the random split', async () => {
    const body = await report(1);
    expect(body.overall.drift.enough).toBe(true);
    expect(body.overall.drift.drifted).toEqual([]);
    for (const [name, d] of Object.entries(body.overall.drift.features as Record<string, { psi: number }>))
      expect(d.psi, name).toBeLessThan(0.05);
    expect(body.overall.drift.prediction.psi).toBeLessThan(0.05);
  });

  it('flags a shifted copy of the same rows, fires the alert once (log, metric, webhook), and resolves it', async () => {
    const at = (name: string) => columns.indexOf(name);
    const shifted = production.map((r) => {
      const s = [...r];
      s[at('visits')] = String(Number(r[at('visits')]) + 3);
      s[at('income')] = String(Number(r[at('income')]) * 1.3);
      s[at('age')] = String(Number(r[at('age')]) + 0.5); // five years older (age is in decades)
      return s;
    });
    await send(2, 'v2', shifted);
    const body = await report(2);
    expect(body.overall.drift.drifted).toEqual(expect.arrayContaining(['visits', 'income', 'age']));
    expect(body.overall.drift.drifted).not.toContain('emergency');
    expect(body.overall.drift.features.visits.pValue).toBeLessThan(1e-6);

    const rules = {
      rules: [
        {
          name: 'stay-drift',
          metric: 'feature_psi',
          feature: 'visits',
          above: 0.2,
          window: 'PT1H',
          actions: ['log', 'metric', 'webhook'],
          webhook: webhookUrl,
        },
        { name: 'auroc-drop', metric: 'auroc', below: 0.55, window: 'PT1H' },
      ],
    };
    expect(
      (await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { body: rules })).status,
    ).toBe(200);
    const first = await server.call('POST', '/api/v1/models/stay/monitoring/evaluate');
    expect(first.status).toBe(200);
    // Version 2 drifted; version 1 did not, and its AUROC holds.
    expect(first.body.changes).toEqual([
      expect.objectContaining({ version: 2, rule: 'stay-drift', state: 'firing' }),
    ]);
    expect(received).toEqual([
      expect.objectContaining({
        model: 'stay',
        version: 2,
        rule: 'stay-drift',
        state: 'firing',
        above: 0.2,
      }),
    ]);
    const metrics = (await server.call('GET', '/metrics')).body as string;
    expect(metrics).toContain('galen_monitoring_alert_firing{model="stay",version="2",rule="stay-drift"} 1');
    expect(metrics).toContain('galen_monitoring_alert_firing{model="stay",version="1",rule="stay-drift"} 0');
    expect(metrics).toMatch(
      /galen_monitoring_feature_psi\{model="stay",version="2",feature="visits"\} [0-9.]+/,
    );
    expect(metrics).toMatch(/galen_monitoring_window\{model="stay",version="1",figure="auroc"\} 0\.[0-9]+/);

    // Judged again with nothing changed: no second event, no second webhook.
    expect((await server.call('POST', '/api/v1/models/stay/monitoring/evaluate')).body.changes).toEqual([]);
    expect(received).toHaveLength(1);
    expect((await report(2)).alerts).toEqual([
      expect.objectContaining({ rule: 'stay-drift', state: 'firing' }),
    ]);

    rules.rules[0]!.above = 50;
    await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { body: rules });
    const resolved = await server.call('POST', '/api/v1/models/stay/monitoring/evaluate');
    expect(resolved.body.changes).toEqual([
      expect.objectContaining({ version: 2, rule: 'stay-drift', state: 'resolved' }),
    ]);
    expect(received.at(-1)).toMatchObject({ state: 'resolved', version: 2 });
    const events = (await server.call('GET', '/api/v1/models/stay/monitoring/alerts')).body.events;
    expect(events.map((e: { state: string }) => e.state)).toEqual(['resolved', 'firing']);
  });

  it('stores model inputs and hashed request ids only: no id in the data folder', async () => {
    await server.galen.monitoring.flush();
    const files = (await readdir(server.dataDir)).filter((f) => f.startsWith('galen.db'));
    for (const f of files) {
      const bytes = await readFile(join(server.dataDir, f));
      expect(bytes.includes(Buffer.from('v1-17')), f).toBe(false);
    }
  });

  it('follows the sample rate, and refuses bad settings, labels and callers with the reason', async () => {
    const before = (await report(1)).overall.samples;
    await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { body: { sampleRate: 0 } });
    await send(1, 'quiet', production.slice(0, 50));
    expect((await report(1)).overall.samples).toBe(before);
    await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { body: { sampleRate: 1 } });

    // An id used twice: the label belongs to the prediction the id named last, not to both.
    const labelledBefore = (await report(1)).overall.labelled;
    await send(1, 'again', production.slice(0, 1));
    await send(1, 'again', production.slice(1, 2));
    const again = await server.call('POST', '/api/v1/models/stay/monitoring/labels', {
      body: { labels: [{ id: 'again-0', label: 'yes' }] },
    });
    expect(again.body.accepted).toBe(1);
    expect((await report(1)).overall.labelled).toBe(labelledBefore + 1);

    // Readers see a webhook by its origin only.
    await server.call('PUT', '/api/v1/models/stay/monitoring/settings', {
      body: {
        rules: [
          {
            name: 'w',
            metric: 'auroc',
            below: 0.5,
            actions: ['webhook'],
            webhook: `${webhookUrl}?token=secret`,
          },
        ],
      },
    });
    const shown = (await server.call('GET', '/api/v1/models/stay/monitoring/settings')).body;
    expect(shown.rules[0].webhook).toBe(`${new URL(webhookUrl).origin}/…`);
    expect(JSON.stringify(shown)).not.toContain('secret');
    await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { body: { sampleRate: 1 } });

    const bad = async (body: unknown) =>
      (await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { body })).body.error as string;
    expect(await bad({ sampleRate: 2 })).toMatch(/not a share from 0/);
    expect(await bad({ rules: [{ name: 'x', metric: 'psi', above: 1 }] })).toMatch(
      /metric is one of samples, labelled, feature_psi/,
    );
    // A rule on an input the model does not have could never fire (issue 18).
    expect(
      await bad({ rules: [{ name: 'bmi-drift', metric: 'feature_psi', feature: 'bmi', above: 0.2 }] }),
    ).toMatch(
      /rule "bmi-drift": "bmi" is not an input of model "stay" \(its inputs: .*\bage\b.*\); a rule on it could never fire/,
    );
    expect(await bad({ rules: [{ name: 'x', metric: 'auroc', above: 1, below: 0 }] })).toMatch(
      /exactly one of "above" or "below"/,
    );
    expect(await bad({ rules: [{ name: 'x', metric: 'auroc', below: 0.7, window: '1 day' }] })).toMatch(
      /ISO 8601 duration/,
    );
    expect(await bad({ rules: [{ name: 'x', metric: 'auroc', below: 0.7, actions: ['webhook'] }] })).toMatch(
      /needs a webhook URL/,
    );
    expect(
      await bad({
        rules: [
          { name: 'x', metric: 'auroc', below: 0.7, actions: ['webhook'], webhook: 'file:///etc/passwd' },
        ],
      }),
    ).toMatch(/http\(s\) URL/);

    const service = await server.key('service');
    expect(
      (
        await server.call('POST', '/api/v1/models/stay/monitoring/labels', {
          key: service,
          body: { labels: [{ id: 'v1-0', row: 0, label: 'no' }] },
        })
      ).status,
    ).toBe(403);
    expect((await server.call('GET', '/api/v1/models/stay/monitoring', { key: service })).status).toBe(200);
    expect(
      (await server.call('PUT', '/api/v1/models/stay/monitoring/settings', { key: service, body: {} }))
        .status,
    ).toBe(403);
    expect((await server.call('GET', '/api/v1/models/stay/monitoring', { key: null })).status).toBe(401);
    expect((await server.call('GET', '/api/v1/models/nope/monitoring')).status).toBe(404);
    expect((await server.call('GET', '/api/v1/models/stay/monitoring?window=P0D')).status).toBe(400);
    expect(
      (await server.call('GET', '/api/v1/models/stay/monitoring?end=-271821-04-20T00:00:00Z')).status,
    ).toBe(400);
  });

  it("monitors an imported model by its uploaded reference: the demo's one [-1, 30] input, element by element", async () => {
    const before = await server.call('GET', '/api/v1/models/breast-cancer/monitoring?window=PT1H&windows=1');
    expect(before.body.reference.features).toEqual([...WDBC_FEATURE_NAMES]);
    expect(before.body.reference.source).toMatch(/held-out rows of the WDBC data/);
    expect(before.body.reference.baseline.auroc).toBeGreaterThan(0.95);
    const wdbc = parseWdbcCsv(await readWdbcCsv());
    for (let k = 0; k * 50 < wdbc.rows.length; k++) {
      const rows = wdbc.rows.slice(k * 50, k * 50 + 50);
      const answer = await server.call('POST', '/v2/models/breast-cancer/infer', {
        body: {
          id: `wdbc-${k}`,
          inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows.flat() }],
        },
      });
      expect(answer.status).toBe(200);
    }
    const labels = wdbc.labels.map((y, i) => ({
      id: `wdbc-${Math.floor(i / 50)}`,
      row: i % 50,
      label: y === 1 ? 'malignant' : 'benign',
    }));
    expect(
      (await server.call('POST', '/api/v1/models/breast-cancer/monitoring/labels', { body: { labels } })).body
        .accepted,
    ).toBe(wdbc.rows.length);
    const body = (await server.call('GET', '/api/v1/models/breast-cancer/monitoring?window=PT1H&windows=1'))
      .body;
    expect(body.overall).toMatchObject({ samples: wdbc.rows.length, labelled: wdbc.rows.length });
    expect(Object.keys(body.overall.drift.features)).toEqual([...WDBC_FEATURE_NAMES]);
    // The stored features are the values sent: the mean radius PSI is small against the held-out reference.
    expect(body.overall.drift.features.mean_radius.psi).toBeLessThan(0.1);
    expect(body.overall.performance.auroc).toBeGreaterThan(0.95);
  });
});
