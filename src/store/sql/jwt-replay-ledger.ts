/** CDS client JWT ids already used, in SQLite (replay protection). */
import type { JwtReplayLedger } from '../repositories.js';
import type { StoreScope } from './scope.js';

/** JwtReplayLedger (SQLite and Postgres). */
export function sqlJwtReplayLedger(scope: StoreScope): JwtReplayLedger {
  const db = scope.db;
  return {
    async claimJwtId(issuer: string, jti: string, expiresAt: string, now: string): Promise<boolean> {
      await db.deleteFrom('cds_jwt_ids').where('expires_at', '<', now).execute();
      const result = await db
        .insertInto('cds_jwt_ids')
        .values({ issuer, jti, expires_at: expiresAt })
        .onConflict((c) => c.columns(['issuer', 'jti']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
  };
}
