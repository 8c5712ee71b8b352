/** Jobs and their log lines in SQLite. */
import type { Selectable } from 'kysely';
import type { JobLogRecord, JobRecord, JobState, JsonObject } from '../records.js';
import type { JobRepository } from '../repositories.js';
import type { JobsTable } from '../schema.js';
import { parseJson, parseJsonOrNull } from './scope.js';
import type { StoreScope } from './scope.js';

const toJob = (row: Selectable<JobsTable>): JobRecord => ({
  id: row.id,
  kind: row.kind,
  state: row.state as JobState,
  request: parseJson(row.request),
  progress: row.progress,
  stage: row.stage,
  result: parseJsonOrNull(row.result),
  error: parseJsonOrNull(row.error),
  attempts: row.attempts,
  cancelRequested: row.cancel_requested !== 0,
  owner: row.owner,
  heartbeatAt: row.heartbeat_at,
  createdAt: row.created_at,
  createdBy: row.created_by,
  createdRole: row.created_role,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

/** JobRepository (SQLite and Postgres). */
export function sqlJobRepository(scope: StoreScope): JobRepository {
  const db = scope.db;
  return {
    async insertJob(r: JobRecord): Promise<void> {
      await db
        .insertInto('jobs')
        .values({
          id: r.id,
          kind: r.kind,
          state: r.state,
          request: JSON.stringify(r.request),
          progress: r.progress,
          stage: r.stage,
          result: r.result && JSON.stringify(r.result),
          error: r.error && JSON.stringify(r.error),
          attempts: r.attempts,
          cancel_requested: r.cancelRequested ? 1 : 0,
          owner: r.owner,
          heartbeat_at: r.heartbeatAt,
          created_at: r.createdAt,
          created_by: r.createdBy,
          created_role: r.createdRole,
          started_at: r.startedAt,
          finished_at: r.finishedAt,
        })
        .execute();
    },

    async getJob(id: string): Promise<JobRecord | undefined> {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toJob(row);
    },

    async listJobs(options: {
      state?: JobState;
      kinds?: readonly string[];
      ownedOnly?: { kinds: readonly string[]; keyId: string };
      createdBy?: string;
      oldestFirst?: boolean;
      limit: number;
    }): Promise<JobRecord[]> {
      let query = db.selectFrom('jobs').selectAll();
      if (options.state !== undefined) query = query.where('state', '=', options.state);
      if (options.kinds !== undefined) {
        if (options.kinds.length === 0) return [];
        query = query.where('kind', 'in', options.kinds);
      }
      const owned = options.ownedOnly;
      if (owned !== undefined && owned.kinds.length > 0) {
        query = query.where((eb) =>
          eb.or([eb('kind', 'not in', owned.kinds), eb('created_by', '=', owned.keyId)]),
        );
      }
      if (options.createdBy !== undefined) query = query.where('created_by', '=', options.createdBy);
      const order = options.oldestFirst === true ? 'asc' : 'desc';
      const rows = await query
        .orderBy('created_at', order)
        .orderBy('id', order)
        .limit(options.limit)
        .execute();
      return rows.map(toJob);
    },

    async updateJob(
      id: string,
      patch: Partial<Omit<JobRecord, 'id' | 'kind' | 'request' | 'createdAt' | 'createdBy' | 'createdRole'>>,
      whenState?: readonly JobState[],
    ): Promise<boolean> {
      let query = db
        .updateTable('jobs')
        .set({
          ...(patch.state !== undefined && { state: patch.state }),
          ...(patch.progress !== undefined && { progress: patch.progress }),
          ...(patch.stage !== undefined && { stage: patch.stage }),
          ...(patch.result !== undefined && { result: patch.result && JSON.stringify(patch.result) }),
          ...(patch.error !== undefined && { error: patch.error && JSON.stringify(patch.error) }),
          ...(patch.attempts !== undefined && { attempts: patch.attempts }),
          ...(patch.cancelRequested !== undefined && { cancel_requested: patch.cancelRequested ? 1 : 0 }),
          ...(patch.owner !== undefined && { owner: patch.owner }),
          ...(patch.heartbeatAt !== undefined && { heartbeat_at: patch.heartbeatAt }),
          ...(patch.startedAt !== undefined && { started_at: patch.startedAt }),
          ...(patch.finishedAt !== undefined && { finished_at: patch.finishedAt }),
        })
        .where('id', '=', id);
      if (whenState !== undefined) query = query.where('state', 'in', whenState);
      const result = await query.executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async appendJobLog(jobId: string, lines: readonly Omit<JobLogRecord, 'seq' | 'jobId'>[]): Promise<void> {
      if (lines.length === 0) return;
      await db
        .insertInto('job_logs')
        .values(lines.map((l) => ({ job_id: jobId, time: l.time, level: l.level, message: l.message })))
        .execute();
    },

    async listJobLogs(jobId: string, options: { afterSeq?: number; limit: number }): Promise<JobLogRecord[]> {
      const rows = await db
        .selectFrom('job_logs')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('seq', '>', options.afterSeq ?? 0)
        .orderBy('seq')
        .limit(options.limit)
        .execute();
      return rows.map((r) => ({
        seq: r.seq,
        jobId: r.job_id,
        time: r.time,
        level: r.level as JobLogRecord['level'],
        message: r.message,
      }));
    },

    async replaceJobPayload(id: string, request: JsonObject, result: JsonObject | null): Promise<void> {
      await db
        .updateTable('jobs')
        .set({ request: JSON.stringify(request), result: result === null ? null : JSON.stringify(result) })
        .where('id', '=', id)
        .execute();
    },
  };
}
