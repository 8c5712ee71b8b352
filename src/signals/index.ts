/** Physiological signals: WFDB records (header, format 212/16 samples, MIT annotations) from bytes. */
export { BEAT_SYMBOLS, parseWfdbAnnotations, parseWfdbHeader, readWfdbSignals } from './wfdb.js';
export type { WfdbAnnotation, WfdbHeader, WfdbSignalSpec, WfdbSignals } from './wfdb.js';
export { AAMI_CLASSES, beatWindows } from './beat-windows.js';
export type { BeatWindowOptions, BeatWindows } from './beat-windows.js';
