/** De-identification: HIPAA Safe Harbor and keyed pseudonymisation of FHIR data. */
export { deidentifyFhir } from './fhir-deid.js';
export { RESTRICTED_ZIP3, maskPatterns, zip3Of } from './safe-harbor.js';
export type { DeidMode, DeidOptions, DeidReport } from './fhir-deid.js';
export { deidentifyTable, parseTableDeidConfig } from './table-deid.js';
export type { ColumnRule, TableDeidConfig, TableDeidReport } from './table-deid.js';
