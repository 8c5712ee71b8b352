/**
 * Each repository beyond the registry on every engine (SQLite, and PostgreSQL when
 * GALEN_TEST_DATABASE_URL is set): jobs and their claims, the JWT replay ledger, version
 * documents, datasets and artifact references, monitoring (batches, request index, labels by row
 * id, retention in bounded steps), alert transitions and CDS feedback — the same answers on both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRecord, metadataStoreFactories, modelRecord, versionRecord } from '../../test/helpers/stores.js';
import type { TestDatabase } from '../../test/helpers/stores.js';
import type { MetadataStore } from './metadata-store.js';
import type { CdsFeedbackRecord, JobRecord, MonitoringLabelRecord } from './records.js';

const t = (minute: number): string => new Date(Date.UTC(2026, 11, 7, 0, minute)).toISOString();
const job = (id: string, patch: Partial<JobRecord> = {}): JobRecord =>
  jobRecord(id, { createdAt: t(0), ...patch });
const label = (requestKey: string, row: number, value: number, minute: number): MonitoringLabelRecord => ({
  model: 'm',
  requestKey,
  row,
  version: 1,
  predictedAt: t(minute),
  label: value,
  groups: { sex: 'f' },
  receivedAt: t(minute),
  receivedBy: 'k1',
});

for (const factory of metadataStoreFactories()) {
  describe.skipIf(factory.skip !== undefined)(`${factory.name} metadata store repositories`, () => {
    let database: TestDatabase;
    let store: MetadataStore;
    beforeEach(async () => {
      database = await factory.create();
      store = await database.open();
    });
    afterEach(() => database.drop());

    it('keeps jobs, claims one only from the states given, and pages its log', async () => {
      await store.insertJob(job('j1', { createdAt: t(1) }));
      await store.insertJob(job('j2', { createdAt: t(2), kind: 'optimize', createdBy: 'k2' }));
      expect(await store.getJob('j1')).toEqual(job('j1', { createdAt: t(1) }));
      expect((await store.listJobs({ limit: 10 })).map((j) => j.id)).toEqual(['j2', 'j1']);
      expect((await store.listJobs({ oldestFirst: true, limit: 1 })).map((j) => j.id)).toEqual(['j1']);
      expect((await store.listJobs({ kinds: ['train'], limit: 10 })).map((j) => j.id)).toEqual(['j1']);
      expect(await store.listJobs({ kinds: [], limit: 10 })).toEqual([]);
      const owned = await store.listJobs({ ownedOnly: { kinds: ['optimize'], keyId: 'k1' }, limit: 10 });
      expect(owned.map((j) => j.id)).toEqual(['j1']);
      expect((await store.listJobs({ createdBy: 'k2', limit: 10 })).map((j) => j.id)).toEqual(['j2']);

      const claim = { state: 'running' as const, owner: 'w1', progress: 0.123456789, cancelRequested: true };
      expect(await store.updateJob('j1', claim, ['queued'])).toBe(true);
      expect(await store.updateJob('j1', { owner: 'w2' }, ['queued'])).toBe(false);
      expect(await store.getJob('j1')).toMatchObject(claim);
      expect((await store.listJobs({ state: 'running', limit: 10 })).map((j) => j.id)).toEqual(['j1']);

      const lines = [1, 2, 3].map((i) => ({ time: t(i), level: 'info' as const, message: `line ${i}` }));
      await store.appendJobLog('j1', lines);
      const first = await store.listJobLogs('j1', { limit: 2 });
      expect(first.map((l) => l.message)).toEqual(['line 1', 'line 2']);
      const rest = await store.listJobLogs('j1', { afterSeq: first[1]!.seq, limit: 10 });
      expect(rest).toEqual([
        { seq: first[1]!.seq + 1, jobId: 'j1', time: t(3), level: 'info', message: 'line 3' },
      ]);
      await store.replaceJobPayload('j1', { sealed: 'x' }, { version: 1 });
      expect(await store.getJob('j1')).toMatchObject({ request: { sealed: 'x' }, result: { version: 1 } });
    });

    it('accepts a JWT id once until it expires', async () => {
      expect(await store.claimJwtId('iss', 'a', t(10), t(0))).toBe(true);
      expect(await store.claimJwtId('iss', 'a', t(10), t(1))).toBe(false);
      expect(await store.claimJwtId('other', 'a', t(10), t(1))).toBe(true);
      // Expired ids are forgotten: after t(10) the id may be used again.
      expect(await store.claimJwtId('iss', 'a', t(20), t(11))).toBe(true);
    });

    it('keeps version documents (replaced by a second put) and datasets with their artifact references', async () => {
      await store.insertModel(modelRecord());
      await store.insertVersion(versionRecord({ sha256: 'a' }));
      await store.putExplainer('m', 1, { v: 1 }, t(1));
      await store.putExplainer('m', 1, { v: 2 }, t(2));
      expect(await store.getExplainer('m', 1)).toEqual({ v: 2 });
      await store.putFeatureMap({ model: 'm', version: 1, map: { a: 1 }, updatedAt: t(1), updatedBy: 'k' });
      await store.putFeatureMap({ model: 'm', version: 1, map: { b: 2 }, updatedAt: t(2), updatedBy: 'k2' });
      expect(await store.getFeatureMap('m', 1)).toEqual({
        model: 'm',
        version: 1,
        map: { b: 2 },
        updatedAt: t(2),
        updatedBy: 'k2',
      });
      await store.putMonitoringProfile('m', 1, { rows: 3 }, t(1));
      expect(await store.getMonitoringProfile('m', 1)).toEqual({ rows: 3 });
      expect(await store.getModelCard('m', 1)).toBeUndefined();

      const dataset = {
        name: 'd',
        version: 1,
        sha256: 'b',
        sizeBytes: 3_000_000_000,
        format: 'jsonl' as const,
        rows: 2,
        schema: { columns: [] },
        description: '',
        createdAt: t(0),
        createdBy: 'k',
      };
      await store.insertDatasetVersion(dataset);
      await store.insertDatasetVersion({ ...dataset, version: 2, sha256: 'a' });
      expect(await store.getDatasetVersion('d', 1)).toEqual(dataset);
      expect((await store.listDatasetVersions()).map((d) => d.version)).toEqual([1, 2]);
      expect([...(await store.referencedArtifacts())].sort()).toEqual(['a', 'b']);
    });

    it('records monitoring batches and labels, re-seals them by id, and prunes in bounded steps', async () => {
      await store.insertModel(modelRecord());
      await store.putMonitoringSettings('m', { sampleRate: 0.5 }, t(0), 'k');
      await store.putMonitoringSettings('m', { sampleRate: 1 }, t(1), 'k');
      expect(await store.listMonitoringSettings()).toEqual([{ model: 'm', settings: { sampleRate: 1 } }]);
      for (const minute of [1, 2, 3]) {
        await store.insertMonitoringBatch(
          { model: 'm', version: 1, firstAt: t(minute), lastAt: t(minute), rows: 2, payload: `p${minute}` },
          [
            { model: 'm', requestKey: `r${minute}`, version: 1, at: t(minute), rows: 1 },
            { model: 'm', requestKey: 'same', version: 1, at: t(minute), rows: minute },
          ],
        );
      }
      expect(await store.countMonitoringRows('m', 1, t(2), t(60))).toBe(4);
      const heads = await store.listMonitoringBatchHeads(
        'm',
        1,
        { from: t(0), to: t(60) },
        { afterSeq: 0, limit: 2 },
      );
      expect(heads.map((h) => h.firstAt)).toEqual([t(1), t(2)]);
      const payloads = await store.getMonitoringPayloads(heads.map((h) => h.seq));
      expect(payloads.map((p) => p.payload).sort()).toEqual(['p1', 'p2']);
      await store.replaceMonitoringPayload(heads[0]!.seq, 'resealed');
      expect((await store.scanMonitoringBatches(0, 10)).map((b) => b.payload)).toEqual([
        'resealed',
        'p2',
        'p3',
      ]);
      expect(await store.monitoredVersions(t(3))).toEqual([{ model: 'm', version: 1 }]);
      expect((await store.findMonitoringRequests('m', ['same']))[0]).toMatchObject({ at: t(3), rows: 3 });

      await store.upsertMonitoringLabels([
        label('r1', 0, 0, 1),
        label('r2', 0, 1, 2),
        label('r1', 0, 0.25, 1),
      ]);
      await store.upsertMonitoringLabels([label('r3', 0, 1, 3)]);
      const labels = await store.listMonitoringLabels('m', 1, t(0), t(60));
      expect(labels.map((l) => [l.requestKey, l.label]).sort()).toEqual([
        ['r1', 0.25],
        ['r2', 1],
        ['r3', 1],
      ]);
      const groups = await store.scanMonitoringLabelGroups(0, 2);
      expect(groups).toHaveLength(2);
      const next = await store.scanMonitoringLabelGroups(groups[1]!.id, 10);
      expect(next).toHaveLength(1);
      await store.replaceMonitoringLabelGroups(next[0]!.id, '{"sealed":1}');
      expect((await store.scanMonitoringLabelGroups(0, 10)).map((g) => g.groups)).toContain('{"sealed":1}');

      // Before t(3): two batches, two request ids (r1, r2; "same" was last seen at t(3)), two labels.
      expect(await store.pruneMonitoring(t(3), 1)).toBe(3);
      expect(await store.pruneMonitoring(t(3), 1)).toBe(3);
      expect(await store.pruneMonitoring(t(3), 1)).toBe(0);
      expect((await store.scanMonitoringBatches(0, 10)).map((b) => b.payload)).toEqual(['p3']);
      expect((await store.listMonitoringLabels('m', 1, t(0), t(60))).map((l) => l.requestKey)).toEqual([
        'r3',
      ]);
    });

    it('records an alert rule’s changes of state only', async () => {
      const event = { model: 'm', version: 1, rule: 'drift', value: 0.4, at: t(1), detail: { psi: 0.4 } };
      expect(await store.recordAlertTransition({ ...event, state: 'resolved' })).toBeUndefined();
      const fired = await store.recordAlertTransition({ ...event, state: 'firing' });
      expect(fired).toEqual({ ...event, state: 'firing', seq: fired!.seq });
      expect(await store.recordAlertTransition({ ...event, state: 'firing' })).toBeUndefined();
      await store.recordAlertTransition({ ...event, rule: 'rate', state: 'firing' });
      await store.recordAlertTransition({ ...event, state: 'resolved', at: t(2) });
      const latest = await store.latestAlertEvents('m', 1);
      expect(latest.map((e) => [e.rule, e.state]).sort()).toEqual([
        ['drift', 'resolved'],
        ['rate', 'firing'],
      ]);
      expect((await store.listAlertEvents('m', 2)).map((e) => e.state)).toEqual(['resolved', 'firing']);
    });

    it('counts CDS feedback per outcome and re-seals its details in order', async () => {
      const feedback = (card: string, outcome: CdsFeedbackRecord['outcome']): CdsFeedbackRecord => ({
        service: 's',
        card,
        outcome,
        detail: { card },
        outcomeTime: t(1),
        receivedAt: t(1),
        receivedBy: 'cds:x',
      });
      await store.insertCdsFeedback([
        feedback('c1', 'accepted'),
        feedback('c2', 'overridden'),
        feedback('c3', 'accepted'),
      ]);
      expect(await store.countCdsFeedback('s')).toEqual({ accepted: 2, overridden: 1 });
      const [first, ...rest] = await store.scanCdsFeedbackDetails(0, 10);
      expect(rest).toHaveLength(2);
      await store.replaceCdsFeedbackDetail(first!.seq, { sealed: true });
      expect((await store.scanCdsFeedbackDetails(0, 1))[0]?.detail).toEqual({ sealed: true });
      expect(await store.scanCdsFeedbackDetails(rest[1]!.seq, 10)).toEqual([]);
    });
  });
}
