/** Deterministic model training in TypeScript: features, standardisation, splits, logistic regression, metrics. */
export { toDenseMatrix } from './features.js';
export type { DenseMatrix, FeatureInput, RowMajorMatrix } from './features.js';
export { fitStandardizer, standardize } from './standardizer.js';
export type { Standardizer } from './standardizer.js';
export { fitLogisticRegression, sigmoid } from './logistic-regression.js';
export type { LogisticRegressionFit, LogisticRegressionOptions } from './logistic-regression.js';
export { fitSoftmaxRegression } from './softmax-regression.js';
export type { SoftmaxRegressionFit, SoftmaxRegressionOptions } from './softmax-regression.js';
export { fitLinearRegression } from './linear-regression.js';
export type { LinearRegressionFit, LinearRegressionOptions } from './linear-regression.js';
export { mulberry32, stratifiedSplit } from './split.js';
export { solveSemidefinite } from './linear-algebra.js';
export type { TrainTestSplit } from './split.js';
export { accuracy, auroc, evaluateBinary } from './metrics.js';
export type { BinaryEvaluation } from './metrics.js';
export { columnValues, featureColumns, fitFeatures, isNumericFeature } from './preprocess.js';
export type { ColumnValues, ImputeStrategy, PreprocessOptions, ScaleStrategy } from './preprocess.js';
export {
  auprc,
  bySubgroup,
  calibrationCurve,
  evaluateBinaryReport,
  evaluateMulticlassReport,
  evaluateRegressionReport,
} from './evaluation.js';
export type {
  BinaryReport,
  CalibrationBin,
  ConfusionMatrix,
  Estimate,
  EvaluationOptions,
  Interval,
  MulticlassReport,
  RegressionReport,
} from './evaluation.js';
export { featureMatrix, predictPipeline } from './pipeline-predict.js';
export type { PipelineCell, PipelineColumns, PipelinePrediction } from './pipeline-predict.js';
export { fitGbdt, predictGbdtProba, predictGbdtRaw, toTreeEnsembleSpec } from './gbdt.js';
export type { GbdtEarlyStopping, GbdtModel, GbdtOptions, GbdtTask, GbdtTree } from './gbdt.js';
export {
  BACKGROUND_ROWS,
  SELECTION_METRICS,
  isNumberTarget,
  prepareTabularNetwork,
  sampleRows,
  trainTabular,
} from './train-tabular.js';
export type {
  ModelSelection,
  SelectionMetric,
  TabularModelKind,
  TabularTask,
  TabularTrainingOptions,
  TabularNetworkData,
  TabularTrainingResult,
} from './train-tabular.js';
