/** Electronic health record tables into training data: MIMIC-III patient histories as sequences. */
export {
  ICD9_CHAPTERS,
  STATIC_FEATURES,
  STEP_FEATURES,
  icd9Chapter,
  mimicHistories,
} from './mimic-histories.js';
export type { HistoryTarget, MimicHistories, MimicHistoryOptions, MimicTables } from './mimic-histories.js';
