/** Clinical integration: predictions for a patient from FHIR data, answered as FHIR resources. */
export { GALEN_MODEL_SYSTEM, predictFromFhir } from './predict-from-fhir.js';
export type { FhirPredictRequest } from './predict-from-fhir.js';
export {
  CDS_HOOKS,
  DEFAULT_THRESHOLDS,
  callCdsService,
  cdsFeedbackCounts,
  listCdsServices,
  prefetchTemplates,
  recordCdsFeedback,
} from './cds-services.js';
export type { CdsCard, CdsHook, CdsRequest, CdsServiceDescription, RiskThresholds } from './cds-services.js';
