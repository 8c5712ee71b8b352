/**
 * What monitoring keeps on disk, through the real store: retention deletes recorded predictions,
 * request ids and labels older than `monitoring.retentionDays` (they hold patient data) and keeps
 * recent ones; a label's subgroups are sealed under the master key like the samples; a span with
 * more rows than the drift budget is read in part for drift, every row still counted and every
 * label still joined.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGalen } from '../../src/app/index.js';
import type { Galen } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { GalenConfig } from '../../src/config/index.js';
import type { Actor } from '../../src/core/index.js';
import { DEMO_MODEL, installDemoModels, parseWdbcCsv, readWdbcCsv } from '../../src/demo/index.js';
import { requestKey } from '../../src/monitoring/index.js';
import { createLogger } from '../../src/observability/index.js';

const ADMIN: Actor = { keyId: 'test', role: 'admin' };
const DAY = 86_400_000;

/** A clock the test moves. */
const clock = { t: Date.parse('2026-03-01T08:00:00Z'), now: () => clock.t };

const opened: { galen: Galen; dir: string; keep?: boolean }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.galen.close();
    if (!o.keep) await rm(o.dir, { recursive: true, force: true });
  }
});

async function open(config: Partial<GalenConfig> = {}, dir?: string): Promise<{ galen: Galen; dir: string }> {
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), 'galen-monitoring-storage-')));
  const galen = await createGalen(
    loadConfig({
      env: {},
      overrides: {
        dataDir,
        logLevel: 'silent',
        monitoring: {
          sampleRate: 1,
          window: 'P1D',
          evaluateSeconds: 0,
          retentionDays: 30,
          allowPrivateWebhooks: false,
        },
        ...config,
      },
    }),
    createLogger('silent'),
    clock,
  );
  const entry = { galen, dir: dataDir };
  opened.push(entry);
  return entry;
}

let wdbc: { rows: number[][]; labels: number[] } | undefined;
async function rows(): Promise<{ rows: number[][]; labels: number[] }> {
  wdbc ??= parseWdbcCsv(await readWdbcCsv());
  return wdbc;
}

/** Sends WDBC rows `from`…`to` one per request with ids `${prefix}-${i}`, and writes them. */
async function send(galen: Galen, prefix: string, from: number, to: number): Promise<void> {
  const data = await rows();
  for (let i = from; i < to; i++) {
    await galen.inference.infer({
      model: DEMO_MODEL,
      id: `${prefix}-${i}`,
      inputs: [
        { name: 'features', datatype: 'FP32', shape: [1, 30], data: Float32Array.from(data.rows[i]!) },
      ],
      protocol: 'test',
    });
    // Each request in a batch of its own, so a span holds many batches.
    if (i % 5 === 4) await galen.monitoring.flush();
    clock.t += 10; // reports end now, exclusive: the rows were before
  }
  await galen.monitoring.flush();
  clock.t += 1000;
}

async function label(galen: Galen, prefix: string, from: number, to: number, ward: string): Promise<void> {
  const data = await rows();
  const result = await galen.monitoring.addLabels(
    DEMO_MODEL,
    Array.from({ length: to - from }, (_, k) => ({
      id: `${prefix}-${from + k}`,
      label: data.labels[from + k] === 1 ? 'malignant' : 'benign',
      groups: { ward },
    })),
    ADMIN,
  );
  expect(result.accepted).toBe(to - from);
}

const everything = { from: '1970-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' };

describe('monitoring storage', () => {
  it('prunes samples, request ids and labels past retention, and keeps recent ones', async () => {
    const { galen } = await open();
    await installDemoModels(galen);
    const version = (await galen.registry.resolve(DEMO_MODEL, undefined)).version;
    const t0 = clock.t;
    await send(galen, 'old', 0, 40);
    await label(galen, 'old', 0, 40, 'north');
    clock.t = t0 + 31 * DAY; // the first requests are now past the 30 days of retention
    await send(galen, 'new', 40, 80);
    await label(galen, 'new', 40, 80, 'south');
    const store = galen.store;
    expect(await store.countMonitoringRows(DEMO_MODEL, version, everything.from, everything.to)).toBe(80);

    // Pruning goes in short transactions: at most `limit` rows of each table at a time.
    const cutoff = new Date(clock.t - 30 * DAY).toISOString();
    expect(await store.pruneMonitoring(cutoff, 7)).toBe(7 * 3);
    await galen.monitoring.evaluateAll(); // the rest, as the evaluation prunes

    expect(await store.countMonitoringRows(DEMO_MODEL, version, everything.from, everything.to)).toBe(40);
    const heads = await store.listMonitoringBatchHeads(DEMO_MODEL, version, everything, {
      afterSeq: 0,
      limit: 1000,
    });
    expect(heads.every((h) => Date.parse(h.firstAt) >= t0 + 31 * DAY)).toBe(true);
    const labels = await store.listMonitoringLabels(DEMO_MODEL, version, everything.from, everything.to);
    expect(labels).toHaveLength(40);
    const ids = (prefix: string, from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => requestKey(DEMO_MODEL, `${prefix}-${from + k}`));
    expect(await store.findMonitoringRequests(DEMO_MODEL, ids('old', 0, 40))).toEqual([]);
    expect(await store.findMonitoringRequests(DEMO_MODEL, ids('new', 40, 80))).toHaveLength(40);
    // A label for a pruned prediction has nothing left to join.
    const late = await galen.monitoring.addLabels(DEMO_MODEL, [{ id: 'old-3', label: 'benign' }], ADMIN);
    expect(late.unmatched).toEqual([{ index: 0, id: 'old-3' }]);
    const report = await galen.monitoring.report(DEMO_MODEL, undefined, { window: 'P40D', windows: 1 });
    expect(report.overall).toMatchObject({ samples: 40, labelled: 40 });
    expect(Object.keys(report.overall.subgroups?.['ward']?.groups ?? {})).toEqual(['south']);
  }, 120_000);

  it("seals a label's subgroups under the master key, and re-seals them on rotation", async () => {
    const key1 = randomBytes(32).toString('base64');
    const key2 = randomBytes(32).toString('base64');
    const first = await open({ encryption: { masterKey: key1, previousKeys: [] } });
    await installDemoModels(first.galen);
    const ward = `ward-${randomBytes(6).toString('hex')}`;
    await send(first.galen, 'enc', 0, 30);
    await label(first.galen, 'enc', 0, 30, ward);
    const groupsOfReport = async (galen: Galen) =>
      Object.keys(
        (await galen.monitoring.report(DEMO_MODEL, undefined, { window: 'P1D', windows: 1 })).overall
          .subgroups?.['ward']?.groups ?? {},
      );
    expect(await groupsOfReport(first.galen)).toEqual([ward]);
    // No file of the data folder (the database, its WAL) holds the group's text.
    for (const name of await readdir(first.dir)) {
      if (!name.startsWith('galen.db')) continue;
      const bytes = await readFile(join(first.dir, name));
      expect(bytes.includes(Buffer.from(ward)), `${name} holds the label group`).toBe(false);
    }
    (opened.find((o) => o.galen === first.galen) ?? { keep: false }).keep = true;
    await first.galen.close();
    opened.splice(
      opened.findIndex((o) => o.galen === first.galen),
      1,
    );

    const rotating = await open({ encryption: { masterKey: key2, previousKeys: [key1] } }, first.dir);
    await rotating.galen.artifacts.rotate();
    await rotating.galen.registry.resealStoredValues();
    expect(await rotating.galen.monitoring.reseal()).toBeGreaterThanOrEqual(1);
    await rotating.galen.close();
    opened.splice(
      opened.findIndex((o) => o.galen === rotating.galen),
      1,
    );
    const after = await open({ encryption: { masterKey: key2, previousKeys: [] } }, first.dir);
    expect(await groupsOfReport(after.galen)).toEqual([ward]);
  }, 120_000);

  it('refuses "sealed" as a group name: it marks encrypted groups', async () => {
    const { galen } = await open();
    await installDemoModels(galen);
    await send(galen, 's', 0, 1);
    const result = await galen.monitoring.addLabels(
      DEMO_MODEL,
      [{ id: 's-0', label: 'benign', groups: { sealed: 'x' } }],
      ADMIN,
    );
    expect(result.accepted).toBe(0);
    expect(result.rejected[0]?.reason).toMatch(/not "sealed", which marks encrypted groups/);
  }, 120_000);
});
