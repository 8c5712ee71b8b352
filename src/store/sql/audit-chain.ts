/** How audit records are numbered and chained: the same on every engine and path. */
import { AUDIT_GENESIS_HASH } from '../metadata-store.js';
import type { AuditRecord, NewAuditRecord } from '../records.js';
import type { AuditSeal } from './scope.js';

/** Numbers and hash-chains `records` after `last` (the newest record, if any). */
export function sealAudit(
  records: readonly NewAuditRecord[],
  last: { seq: number; hash: string } | undefined,
  seal: AuditSeal,
): AuditRecord[] {
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
  return records.map((record) => {
    seq++;
    const hash = seal(prevHash, seq, record);
    const result = { ...record, seq, prevHash, hash };
    prevHash = hash;
    return result;
  });
}
