/** FHIR R4: feature maps from a patient's resources to a model's inputs (FHIRPath, codes with aggregates, UCUM units). */
export {
  AGGREGATES,
  DEFAULT_THRESHOLDS,
  durationMs,
  parseFeatureMap,
  storedFeatureMap,
} from './feature-map.js';
export type {
  Aggregate,
  Coding,
  FeatureMap,
  FeatureMapping,
  FeatureSource,
  MissingPolicy,
  RiskThresholds,
} from './feature-map.js';
export { ageOn, evaluateFeatures, patientData } from './evaluate-features.js';
export { MAX_FHIR_DEPTH, assertBundleShape } from './bundle-shape.js';
export type { EvaluatedFeatures, PatientData } from './evaluate-features.js';
export { convertUnit, isUcumUnit } from './units.js';
