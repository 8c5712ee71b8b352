/** Monitoring: distribution drift of inputs and outputs against the training data (PSI, KS, chi-square). */
export {
  PSI_THRESHOLD,
  P_THRESHOLD,
  chiSquareSurvival,
  drift,
  kolmogorovSmirnov,
  referenceProfile,
} from './drift.js';
export type { DriftResult, ReferenceProfile, Value } from './drift.js';
