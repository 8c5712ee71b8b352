/** Clinical integration: predictions for a patient from FHIR data, answered as FHIR resources. */
export { GALEN_MODEL_SYSTEM, predictFromFhir, predictOperationInput } from './predict-from-fhir.js';
export type { FhirPredictRequest } from './predict-from-fhir.js';
export {
  CDS_HOOKS,
  callCdsService,
  cdsFeedbackCounts,
  listCdsServices,
  prefetchTemplates,
  recordCdsFeedback,
  resealCdsFeedback,
} from './cds-services.js';
export type { CdsCallResult, CdsCard, CdsHook, CdsRequest, CdsServiceDescription } from './cds-services.js';
export type { CdsCaller, CdsLogger } from './cds-prefetch.js';
export { answerPrefetch } from './answer-prefetch.js';
