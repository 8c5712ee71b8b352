/**
 * Beat classification data from a WFDB record: one window of every lead around each annotated
 * beat, labelled by its AAMI class (N normal and bundle-branch, S supraventricular ectopic, V
 * ventricular ectopic, F fusion, Q paced or unclassifiable) or by its own symbol — the sequence
 * dataset lines (`{"label", "steps", "group"}`) a GRU/LSTM/Transformer trains on.
 */
import type { WfdbAnnotation, WfdbHeader, WfdbSignals } from './wfdb.js';
import { BEAT_SYMBOLS } from './wfdb.js';

/** AAMI EC57 beat classes by MIT-BIH symbol. */
export const AAMI_CLASSES: Readonly<Record<string, 'N' | 'S' | 'V' | 'F' | 'Q'>> = {
  N: 'N',
  L: 'N',
  R: 'N',
  e: 'N',
  j: 'N',
  A: 'S',
  a: 'S',
  J: 'S',
  S: 'S',
  V: 'V',
  E: 'V',
  F: 'F',
  '/': 'Q',
  f: 'Q',
  Q: 'Q',
};

export interface BeatWindowOptions {
  /** Samples before the annotation (default 0.25 s). */
  before?: number;
  /** Samples from the annotation on (default 0.45 s). */
  after?: number;
  /** `aami` (default) or `symbol`. */
  labels?: 'aami' | 'symbol';
  /** Classes with fewer beats are left out, and counted (default 10). */
  minClassCount?: number;
}

export interface BeatWindows {
  /** JSON lines of the sequence dataset. */
  lines: string[];
  counts: Record<string, number>;
  /** Beats left out: too near the record's ends, or of a class rarer than `minClassCount`. */
  dropped: Record<string, number>;
  window: { before: number; after: number; leads: string[] };
}

export function beatWindows(
  header: WfdbHeader,
  signals: WfdbSignals,
  annotations: readonly WfdbAnnotation[],
  options: BeatWindowOptions = {},
): BeatWindows {
  const before = options.before ?? Math.round(0.25 * header.samplingFrequency);
  const after = options.after ?? Math.round(0.45 * header.samplingFrequency);
  const leads = header.signals.map((_, i) => signals.physical(i));
  const n = leads[0]?.length ?? 0;
  const label = (symbol: string): string | undefined =>
    options.labels === 'symbol' ? symbol : AAMI_CLASSES[symbol];
  const beats = annotations.filter((a) => BEAT_SYMBOLS.has(a.symbol) && label(a.symbol) !== undefined);
  const counts: Record<string, number> = {};
  for (const b of beats) counts[label(b.symbol)!] = (counts[label(b.symbol)!] ?? 0) + 1;
  const min = options.minClassCount ?? 10;
  const dropped: Record<string, number> = {};
  const lines: string[] = [];
  const kept: Record<string, number> = {};
  for (const beat of beats) {
    const cls = label(beat.symbol)!;
    if (counts[cls]! < min) {
      dropped[`${cls} (fewer than ${min} beats)`] = (dropped[`${cls} (fewer than ${min} beats)`] ?? 0) + 1;
      continue;
    }
    const start = beat.sample - before;
    if (start < 0 || beat.sample + after > n) {
      dropped['too near the record ends'] = (dropped['too near the record ends'] ?? 0) + 1;
      continue;
    }
    const steps: number[][] = [];
    for (let t = start; t < beat.sample + after; t++)
      steps.push(leads.map((l) => Math.round(l[t]! * 1000) / 1000));
    lines.push(JSON.stringify({ label: cls, steps, group: header.record }));
    kept[cls] = (kept[cls] ?? 0) + 1;
  }
  return {
    lines,
    counts: kept,
    dropped,
    window: { before, after, leads: header.signals.map((s) => s.description) },
  };
}
