/**
 * Beat classification data from a WFDB record: one window of every lead around each annotated
 * beat, labelled by its AAMI class (N normal and bundle-branch, S supraventricular ectopic, V
 * ventricular ectopic, F fusion, Q paced or unclassifiable) or by its own symbol — the sequence
 * dataset lines (`{"label", "steps", "features", "group"}`) a GRU/LSTM/Transformer trains on.
 *
 * A window of one beat cannot show whether the beat came early, which is what marks most
 * supraventricular ectopic beats; so each line also carries the beat's RR intervals as static
 * features (seconds to the previous and to the next beat, and the previous interval over the mean
 * of the ten before it), as beat classifiers since de Chazal et al. (2004) do.
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
  /** RR-interval features per beat (default true). */
  rr?: boolean;
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
  // Every beat counts for the intervals, including those of classes left out.
  const allBeats = annotations.filter((a) => BEAT_SYMBOLS.has(a.symbol)).sort((a, b) => a.sample - b.sample);
  const position = new Map(allBeats.map((b, i) => [b, i]));
  const fs = header.samplingFrequency;
  const rrOf = (beat: WfdbAnnotation): number[] | undefined => {
    const i = position.get(beat)!;
    if (i === 0 || i === allBeats.length - 1) return undefined;
    const pre = (beat.sample - allBeats[i - 1]!.sample) / fs;
    const post = (allBeats[i + 1]!.sample - beat.sample) / fs;
    const earlier = allBeats.slice(Math.max(0, i - 10), i);
    const local =
      earlier.length < 2 ? pre : (earlier.at(-1)!.sample - earlier[0]!.sample) / fs / (earlier.length - 1);
    const round = (v: number): number => Math.round(v * 10_000) / 10_000;
    return [round(pre), round(post), round(pre / local)];
  };
  const beats = allBeats.filter((a) => label(a.symbol) !== undefined);
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
    const rr = options.rr === false ? undefined : rrOf(beat);
    if (options.rr !== false && rr === undefined) {
      dropped['first or last beat (no RR interval)'] =
        (dropped['first or last beat (no RR interval)'] ?? 0) + 1;
      continue;
    }
    const steps: number[][] = [];
    for (let t = start; t < beat.sample + after; t++)
      steps.push(leads.map((l) => Math.round(l[t]! * 1000) / 1000));
    lines.push(JSON.stringify({ label: cls, steps, ...(rr && { features: rr }), group: header.record }));
    kept[cls] = (kept[cls] ?? 0) + 1;
  }
  return {
    lines,
    counts: kept,
    dropped,
    window: { before, after, leads: header.signals.map((s) => s.description) },
  };
}
