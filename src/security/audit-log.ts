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

  /** Walks the whole chain in order and reports the first record that does not check out. */
  async verify(): Promise<AuditVerification> {
    let prevHash = AUDIT_GENESIS_HASH;
    let expectedSeq = 1;
    let count = 0;
    for (;;) {
      const page = await this.store.listAudit({ afterSeq: expectedSeq - 1, limit: 1000 });
      if (page.length === 0) return { ok: true, records: count };
      for (const r of page) {
        if (r.seq !== expectedSeq) {
          return {
            ok: false,
            records: count,
            brokenAt: expectedSeq,
            reason: `record ${expectedSeq} is missing`,
          };
        }
        if (r.prevHash !== prevHash) {
          return {
            ok: false,
            records: count,
            brokenAt: r.seq,
            reason: `record ${r.seq} does not link to record ${r.seq - 1}`,
          };
        }
        if (auditHash(r.prevHash, r.seq, r) !== r.hash) {
          return {
            ok: false,
            records: count,
            brokenAt: r.seq,
            reason: `record ${r.seq} was altered after it was written`,
          };
        }
        prevHash = r.hash;
        expectedSeq++;
        count++;
      }
    }
  }
}
