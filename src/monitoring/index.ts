/**
 * Monitoring: reference profiles of each version's inputs and prediction, sampled production
 * predictions, drift (PSI, KS, chi-square), live performance from labels, subgroup gaps, alerts.
 */
export {
  PSI_THRESHOLD,
  P_THRESHOLD,
  chiSquareSurvival,
  drift,
  kolmogorovSmirnov,
  referenceProfile,
} from './drift.js';
export type { DriftResult, ReferenceProfile, Value } from './drift.js';
export { PROFILE_SCHEMA, buildProfile, labelValue, predictionOf } from './profile.js';
export type { MonitoringProfile } from './profile.js';
export { performanceOf, subgroupGap } from './performance.js';
export type { Performance, SubgroupGap } from './performance.js';
export { MIN_DRIFT_SAMPLES, windowReport } from './report.js';
export type { SampleRow, WindowReport } from './report.js';
export { ALERT_ACTIONS, ALERT_METRICS, durationMs, judge, parseMonitoringSettings } from './alerts.js';
export type { AlertRule, MonitoringSettings } from './alerts.js';
export { MONITORING_LIMITS, MonitorService, requestKey } from './monitor-service.js';
export type {
  LabelInput,
  LabelResult,
  MonitoringOptions,
  MonitoringReport,
  ReferenceUpload,
  ReportOptions,
} from './monitor-service.js';
