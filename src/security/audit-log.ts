/**
 * The audit log: one append-only record per call that reads predictions or changes anything.
 * Each record's hash covers its fields and the previous record's hash, so editing, removing or
 * reordering any record breaks the chain, which `verify` detects.
 */
import { isoTime, jsonDeeperThan, sha256Hex } from '../core/index.js';
import type { Clock } from '../core/index.js';
import { AUDIT_GENESIS_HASH } from '../store/index.js';
import type { AuditRecord, AuditRepository, JsonObject, NewAuditRecord } from '../store/index.js';

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

/** Deepest nesting of a detail value recorded as it is; deeper values are summarised. */
export const AUDIT_DETAIL_MAX_DEPTH = 8;
/** Largest detail value (bytes of JSON) recorded as it is; larger ones are recorded by size and digest. */
export const AUDIT_DETAIL_MAX_BYTES = 2048;

/**
 * `detail` bounded so it can always be hashed and written: each top-level value nested more than
 * {@link AUDIT_DETAIL_MAX_DEPTH} levels becomes `{omitted}`, and each larger than
 * {@link AUDIT_DETAIL_MAX_BYTES} of JSON `{omitted, sha256}` (its digest, so the record still
 * identifies what was sent). A caller's hostile body can then never make its record fail to write.
 */
export function boundedDetail(detail: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(detail)) {
    if (jsonDeeperThan(value, AUDIT_DETAIL_MAX_DEPTH)) {
      out[key] = { omitted: `nested more than ${AUDIT_DETAIL_MAX_DEPTH} levels deep` };
      continue;
    }
    const json = JSON.stringify(value) ?? 'null';
    const bytes = Buffer.byteLength(json);
    out[key] =
      bytes > AUDIT_DETAIL_MAX_BYTES ? { omitted: `${bytes} bytes of JSON`, sha256: sha256Hex(json) } : value;
  }
  return out;
}

export interface AuditLogOptions {
  /**
   * Actions whose records are written behind the response (high-volume reads such as `infer`):
   * the call does not wait for the disk, and records reach it within one group commit. Every
   * other action's record is durable before `record` resolves.
   */
  bufferedActions?: ReadonlySet<string>;
  /** Most buffered records held in memory; beyond it callers wait for the write (back-pressure). */
  maxBuffered?: number;
  /**
   * How long buffered records may wait for others before they are written (ms, default 2): one
   * commit per burst instead of one per call. Durable records never wait.
   */
  bufferDelayMs?: number;
  /** Told when buffered records could not be written (they are retried with the next write). */
  onBufferedError?: (err: unknown, records: number) => void;
}

interface Queued {
  record: NewAuditRecord;
  /** Present when a caller waits for this record to be durable. */
  done?: { resolve(r: AuditRecord): void; reject(err: unknown): void };
}

/** Records per write transaction; the rest wait for the next one. */
const GROUP_LIMIT = 1000;

export class AuditLog {
  private queue: Queued[] = [];
  private writing: Promise<void> | undefined;
  /** A pending write of buffered records only (see `bufferDelayMs`). */
  private delayed: NodeJS.Timeout | undefined;
  private readonly bufferDelayMs: number;
  /** Set after repeated write failures: buffered records are retried every second, not at once. */
  private backoff = false;
  private readonly buffered: ReadonlySet<string>;
  private readonly maxBuffered: number;

  constructor(
    private readonly store: AuditRepository,
    private readonly clock: Clock,
    private readonly options: AuditLogOptions = {},
  ) {
    this.buffered = options.bufferedActions ?? new Set();
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.bufferDelayMs = options.bufferDelayMs ?? 2;
  }

  /**
   * Appends a record. Records that arrive together are written in one transaction (group
   * commit), in arrival order. Resolves once the record is durable, or at once (with undefined)
   * for a buffered action while the buffer has room.
   */
  async record(entry: AuditEntry): Promise<AuditRecord | undefined> {
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
      detail: boundedDetail(entry.detail ?? {}),
    };
    if (this.buffered.has(entry.action) && this.queue.length < this.maxBuffered) {
      this.queue.push({ record });
      // Buffered records wait up to `bufferDelayMs` for company: one commit then carries many.
      if (!this.writing && !this.delayed) {
        this.delayed = setTimeout(() => this.startWriting(), this.bufferDelayMs);
      }
      return undefined;
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ record, done: { resolve, reject } });
      this.startWriting();
    });
  }

  /** Resolves when every record queued so far has been written (or has failed). */
  async flush(): Promise<void> {
    if (this.delayed) this.startWriting();
    while (this.writing) await this.writing;
  }

  private startWriting(): void {
    clearTimeout(this.delayed);
    this.delayed = undefined;
    if (this.writing) return;
    this.writing = (async () => {
      // Let the calls of this tick queue their records too, so they share one transaction.
      await new Promise<void>((resolve) => setImmediate(resolve));
      let failures = 0;
      while (this.queue.length > 0) {
        const group = this.queue.slice(0, GROUP_LIMIT);
        try {
          const written = await this.store.appendAudit(
            group.map((q) => q.record),
            (prevHash, seq, record) => auditHash(prevHash, seq, record),
          );
          this.queue.splice(0, group.length);
          group.forEach((q, i) => q.done?.resolve(written[i]!));
          failures = 0;
          this.backoff = false;
        } catch (err) {
          // Waiting callers learn of the failure; buffered records stay queued and are retried.
          this.queue = this.queue.filter((q) => !group.includes(q) || q.done === undefined);
          for (const q of group) q.done?.reject(err);
          const kept = group.filter((q) => q.done === undefined).length;
          if (kept > 0) this.options.onBufferedError?.(err, kept);
          if (++failures >= 3) {
            this.backoff = true; // retried in a second (or with the next durable record)
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 10 * failures));
        }
      }
    })().finally(() => {
      this.writing = undefined;
      // Records queued after the loop's last look (or kept after failures) get a write of their own.
      if (this.queue.length > 0 && !this.delayed) {
        this.delayed = setTimeout(() => this.startWriting(), this.backoff ? 1000 : this.bufferDelayMs);
      }
    });
  }

  /**
   * Records in order, from the start (or after `afterSeq`); with `newest`, the last `limit` records,
   * still in order, as `tail` shows a file. Buffered records of this process are written first, so
   * none is missed.
   */
  async list(options: { afterSeq?: number; limit?: number; newest?: boolean } = {}): Promise<AuditRecord[]> {
    await this.flush();
    return this.store.listAudit({
      limit: Math.min(options.limit ?? 100, 1000),
      ...(options.afterSeq !== undefined && { afterSeq: options.afterSeq }),
      ...(options.newest === true && { newest: true }),
    });
  }

  /**
   * Walks the whole chain in order and reports the first record that does not check out. With an
   * `anchor` (a head reported earlier), also proves the log still holds that record unchanged,
   * which a chain alone cannot show when records are cut off its end.
   */
  async verify(options: { anchor?: { seq: number; hash: string } } = {}): Promise<AuditVerification> {
    await this.flush();
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
