/** CDS Hooks card feedback in SQLite. */
import type { CdsFeedbackRecord, JsonObject } from '../records.js';
import type { CdsFeedbackRepository } from '../repositories.js';
import { parseJson } from './scope.js';
import type { StoreScope } from './scope.js';

/** CdsFeedbackRepository (SQLite and Postgres). */
export function sqlCdsFeedbackRepository(scope: StoreScope): CdsFeedbackRepository {
  const db = scope.db;
  return {
    async insertCdsFeedback(records: readonly CdsFeedbackRecord[]): Promise<void> {
      if (records.length === 0) return;
      await db
        .insertInto('cds_feedback')
        .values(
          records.map((r) => ({
            service: r.service,
            card: r.card,
            outcome: r.outcome,
            detail: JSON.stringify(r.detail),
            outcome_time: r.outcomeTime,
            received_at: r.receivedAt,
            received_by: r.receivedBy,
          })),
        )
        .execute();
    },

    async countCdsFeedback(service: string): Promise<Record<string, number>> {
      const rows = await db
        .selectFrom('cds_feedback')
        .select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
        .where('service', '=', service)
        .groupBy('outcome')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
    },

    async scanCdsFeedbackDetails(
      afterSeq: number,
      limit: number,
    ): Promise<{ seq: number; detail: JsonObject }[]> {
      const rows = await db
        .selectFrom('cds_feedback')
        .select(['seq', 'detail'])
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ seq: r.seq, detail: parseJson(r.detail) }));
    },

    async replaceCdsFeedbackDetail(seq: number, detail: JsonObject): Promise<void> {
      await db
        .updateTable('cds_feedback')
        .set({ detail: JSON.stringify(detail) })
        .where('seq', '=', seq)
        .execute();
    },
  };
}
