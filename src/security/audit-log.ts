/**
 * The audit log: one append-only record per call that reads predictions or changes anything.
 * Each record's hash covers its fields and the previous record's hash, so editing, removing or
 * reordering any record breaks the chain, which `verify` detects.
 */
import { isoTime, sha256Hex } from '../core/index.js';
import type { Clock } from '../core/index.js';
import { AUDIT_GENESIS_HASH } from '../store/index.js';
import type { AuditRecord, JsonObject, MetadataStore, NewAuditRecord } from '../store/index.js';

export interface AuditEntry {
  keyId: string | null;
  role: string | null;
  action: string;
  model?: string | null | undefined;
  version?: number | null | undefined;
  status: number;
  requestId?: string | null | undefined;
  durationMs: number;
  detail?: JsonObject | undefined;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  /** The last record: keep it outside Galen and pass it back as `anchor` to detect truncation. */
  head: { seq: number; hash: string } | null;
  /** The first record whose hash or link does not check out. */
  brokenAt?: number;
  reason?: string;
}

function sortedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedJson((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The digest that seals `record` onto the chain after `prevHash`. */
export function auditHash(prevHash: string, seq: number, record: NewAuditRecord): string {
  const body = JSON.stringify([
    seq,
    record.time,
    record.keyId,
    record.role,
    record.action,
    record.model,
    record.version,
    record.status,
    record.requestId,
    record.durationMs,
    sortedJson(record.detail),
  ]);
  return sha256Hex(`${prevHash}\n${body}`);
}

export class AuditLog {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  async record(entry: AuditEntry): Promise<AuditRecord> {
    const record: NewAuditRecord = {
      time: isoTime(this.clock.now()),
      keyId: entry.keyId,
      role: entry.role,
      action: entry.action,
      model: entry.model ?? null,
      version: entry.version ?? null,
      status: entry.status,
      requestId: entry.requestId ?? null,
      durationMs: Math.round(entry.durationMs * 1000) / 1000,
      detail: entry.detail ?? {},
    };
    return this.store.appendAudit(record, (prevHash, seq) => auditHash(prevHash, seq, record));
  }

  async list(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    return this.store.listAudit({
      limit: Math.min(options.limit ?? 100, 1000),
      ...(options.afterSeq !== undefined && { afterSeq: options.afterSeq }),
    });
  }

  /**
   * Walks the whole chain in order and reports the first record that does not check out. With an
   * `anchor` (a head reported earlier), also proves the log still holds that record unchanged,
   * which a chain alone cannot show when records are cut off its end.
   */
  async verify(options: { anchor?: { seq: number; hash: string } } = {}): Promise<AuditVerification> {
    let prevHash = AUDIT_GENESIS_HASH;
    let expectedSeq = 1;
    let head: AuditVerification['head'] = null;
    const fail = (brokenAt: number, reason: string): AuditVerification => ({
      ok: false,
      records: expectedSeq - 1,
      head,
      brokenAt,
      reason,
    });
    for (;;) {
      const page = await this.store.listAudit({ afterSeq: expectedSeq - 1, limit: 1000 });
      if (page.length === 0) break;
      for (const r of page) {
        if (r.seq !== expectedSeq) return fail(expectedSeq, `record ${expectedSeq} is missing`);
        if (r.prevHash !== prevHash)
          return fail(r.seq, `record ${r.seq} does not link to record ${r.seq - 1}`);
        if (auditHash(r.prevHash, r.seq, r) !== r.hash)
          return fail(r.seq, `record ${r.seq} was altered after it was written`);
        const anchor = options.anchor;
        if (anchor && anchor.seq === r.seq && anchor.hash !== r.hash) {
          return fail(
            r.seq,
            `record ${r.seq} is not the record anchored earlier (its hash differs): the log was rewritten`,
          );
        }
        prevHash = r.hash;
        head = { seq: r.seq, hash: r.hash };
        expectedSeq++;
      }
    }
    const records = expectedSeq - 1;
    if (options.anchor && options.anchor.seq > records) {
      return fail(
        records + 1,
        `the log ends at record ${records} but record ${options.anchor.seq} was anchored: records were removed from its end`,
      );
    }
    if (!(await this.store.auditLogProtected())) {
      return fail(records + 1, 'the database triggers that make audit_log append-only were removed');
    }
    return { ok: true, records, head };
  }
}
