/**
 * Reads a version's recorded predictions over a span into window accumulators, in bounded memory
 * and bounded work whatever the traffic: batches are paged (their heads first, payloads a few at a
 * time), labels are read page by page for the time the page covers, and when the span holds more
 * rows than the drift budget only an even share of whole batches is read for drift. Every
 * labelled row is still read (labels are what performance needs), and every row is counted.
 */
import { openJson } from '../store/index.js';
import type {
  ArtifactCipher,
  MonitoringBatchHead,
  MonitoringLabelRecord,
  MonitoringRepository,
} from '../store/index.js';
import type { Logger } from '../observability/index.js';
import type { CompiledProfile, WindowAccumulator } from './report.js';
import { decodeBatch } from './sample-codec.js';
import type { StoredBatch } from './sample-codec.js';

export interface ScanDeps {
  store: Pick<
    MonitoringRepository,
    'countMonitoringRows' | 'listMonitoringBatchHeads' | 'getMonitoringPayloads' | 'listMonitoringLabels'
  >;
  cipher?: ArtifactCipher | undefined;
  logger: Logger;
}

export interface ScanRequest {
  compiled: CompiledProfile;
  model: string;
  version: number;
  /** Consecutive windows of equal length, oldest first; rows outside them are left out. */
  windows: readonly WindowAccumulator[];
  /** Also given every row (the whole span), when set. */
  overall?: WindowAccumulator | undefined;
  /** Rows read for drift over the whole span; beyond it an even share of batches is read. */
  driftRows: number;
}

/** Batch heads per page; payloads are then read this many at a time. */
const HEADS_PER_PAGE = 64;
const PAYLOADS_PER_READ = 8;

/** Reads the span of `request.windows` into them (and into `overall`). */
export async function scanWindows(deps: ScanDeps, request: ScanRequest): Promise<void> {
  const { windows, overall, model, version } = request;
  if (windows.length === 0) return;
  const lo = windows[0]!.from.getTime();
  const hi = windows.at(-1)!.to.getTime();
  const span = (hi - lo) / windows.length;
  const range = { from: new Date(lo).toISOString(), to: new Date(hi).toISOString() };
  const total = await deps.store.countMonitoringRows(model, version, range.from, range.to);
  // The share of rows read for drift; whole batches are picked so that the share comes out even.
  const share = total <= request.driftRows ? 1 : request.driftRows / total;
  let owed = 0;
  const windowOf = (at: number): number => Math.min(windows.length - 1, Math.floor((at - lo) / span));
  let unreadable = 0;
  for (let afterSeq = 0; ;) {
    const heads = await deps.store.listMonitoringBatchHeads(model, version, range, {
      afterSeq,
      limit: HEADS_PER_PAGE,
    });
    if (heads.length === 0) break;
    afterSeq = heads.at(-1)!.seq;
    const labels = await labelsOf(deps, model, version, heads);
    const toRead: { head: MonitoringBatchHead; forDrift: boolean }[] = [];
    for (const head of heads) {
      owed += head.rows * share;
      const forDrift = owed >= head.rows / 2;
      if (forDrift) owed -= head.rows;
      const first = Date.parse(head.firstAt);
      const last = Date.parse(head.lastAt);
      const inside = first >= lo && last < hi && windowOf(first) === windowOf(last);
      if (!forDrift && inside && !labels.any(first, last)) {
        // Neither read for drift nor labelled: counted from its head alone.
        windows[windowOf(first)]!.count(head.rows);
        overall?.count(head.rows);
      } else toRead.push({ head, forDrift });
    }
    for (let i = 0; i < toRead.length; i += PAYLOADS_PER_READ) {
      const part = toRead.slice(i, i + PAYLOADS_PER_READ);
      const payloads = new Map(
        (await deps.store.getMonitoringPayloads(part.map((p) => p.head.seq))).map((p) => [p.seq, p.payload]),
      );
      for (const { head, forDrift } of part) {
        const payload = payloads.get(head.seq);
        if (payload === undefined) continue; // pruned meanwhile
        let stored: StoredBatch;
        try {
          stored = openJson(
            deps.cipher,
            JSON.parse(payload),
            `monitoring samples of model "${model}" version ${version}`,
          ) as StoredBatch;
        } catch (err) {
          // Sealed under a key no longer configured, or damaged: the rest is still reported.
          if (unreadable++ === 0)
            deps.logger.error(
              { err, model, version, firstAt: head.firstAt },
              'monitoring: a batch of recorded predictions could not be read; it is left out',
            );
          continue;
        }
        for (const s of decodeBatch(request.compiled.profile, stored)) {
          if (s.at < lo || s.at >= hi) continue;
          const label = s.key === null ? undefined : labels.byKey.get(`${s.key}:${s.row}:${s.at}`);
          const row = {
            at: s.at,
            features: s.features,
            prediction: s.prediction,
            ...(label && { label: label.label, ...(label.groups && { groups: label.groups }) }),
          };
          windows[windowOf(s.at)]!.add(row, forDrift);
          overall?.add(row, forDrift);
        }
      }
    }
  }
  if (unreadable > 1)
    deps.logger.error({ model, version, batches: unreadable }, 'monitoring: batches left out as unreadable');
}

interface PageLabels {
  /** A label belongs to the prediction its id named when it was given: same id, row and time. */
  byKey: Map<string, { label: number; groups: Record<string, string> | null }>;
  /** Whether a label names a prediction made in [first, last]. */
  any(first: number, last: number): boolean;
}

/** The labels of predictions made in the time a page of batches covers. */
async function labelsOf(
  deps: ScanDeps,
  model: string,
  version: number,
  heads: readonly MonitoringBatchHead[],
): Promise<PageLabels> {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const h of heads) {
    first = Math.min(first, Date.parse(h.firstAt));
    last = Math.max(last, Date.parse(h.lastAt));
  }
  const records = await deps.store.listMonitoringLabels(
    model,
    version,
    new Date(first).toISOString(),
    new Date(last + 1).toISOString(),
  );
  const times = Float64Array.from(records, (l) => Date.parse(l.predictedAt)).sort();
  const byKey = new Map<string, { label: number; groups: Record<string, string> | null }>();
  let unreadable = 0;
  for (const l of records) {
    let groups: Record<string, string> | null = null;
    try {
      groups = groupsOf(deps.cipher, l);
    } catch (err) {
      if (unreadable++ === 0)
        deps.logger.error({ err, model, version }, 'monitoring: label subgroups could not be read; left out');
    }
    byKey.set(`${l.requestKey}:${l.row}:${Date.parse(l.predictedAt)}`, { label: l.label, groups });
  }
  return {
    byKey,
    any(from, to) {
      // The first label time ≥ from, by binary search; labelled when it is ≤ to.
      let a = 0;
      let b = times.length;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (times[mid]! < from) a = mid + 1;
        else b = mid;
      }
      return a < times.length && times[a]! <= to;
    },
  };
}

/** A label's subgroup attributes (sealed under the master key when one is set). */
export function groupsOf(
  cipher: ArtifactCipher | undefined,
  label: Pick<MonitoringLabelRecord, 'groups'>,
): Record<string, string> | null {
  if (label.groups === null) return null;
  return openJson(cipher, label.groups, 'the subgroups of a monitoring label') as Record<string, string>;
}
