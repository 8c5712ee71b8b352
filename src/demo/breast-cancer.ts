/**
 * The demo model `galen serve --demo` registers: logistic regression on the Wisconsin Diagnostic
 * Breast Cancer data, trained here in TypeScript and exported as a self-contained ONNX graph
 * (standardisation inside) that ONNX Runtime, Triton or KServe can serve unchanged.
 */
import { sha256Hex } from '../core/index.js';
import { OnnxGraphBuilder, attr, onnxElemType } from '../onnx/index.js';
import {
  BACKGROUND_ROWS,
  fitLogisticRegression,
  fitStandardizer,
  sampleRows,
  standardize,
  stratifiedSplit,
} from '../training/index.js';
import { parseWdbcCsv } from './wdbc-csv.js';

/** Training settings; every field has a default. */
export interface BreastCancerOptions {
  /** Seed of the stratified split. Default 42. */
  readonly seed?: number;
  /** Share of rows held out for testing. Default 0.2. */
  readonly testFraction?: number;
  /** L2 penalty on the standardised weights (scikit-learn `C` = 1 / l2). Default 1. */
  readonly l2?: number;
  /** Written to the model's `producer_version`. Default `'0.1.0'`. */
  readonly producerVersion?: string;
}

/** How the model was trained: what a registry records as the version's lineage parameters. */
export type BreastCancerParameters = {
  readonly algorithm: 'logistic_regression';
  readonly solver: 'newton';
  readonly l2: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly standardization: 'z-score fitted on the training split, applied inside the graph';
  readonly seed: number;
  readonly split: {
    readonly method: 'stratified';
    readonly testFraction: number;
    readonly trainRows: number;
    readonly testRows: number;
  };
};

/** The trained demo model and what a caller needs to register and evaluate it. */
export interface BreastCancerModel {
  /** ONNX ModelProto bytes. */
  readonly onnx: Uint8Array;
  readonly featureNames: string[];
  /** sha256 of the CSV text as given (UTF-8), so the exact training data can be identified later. */
  readonly datasetSha256: string;
  readonly parameters: BreastCancerParameters;
  /** The held-out rows, unscaled and in feature order, for evaluating the exported graph. */
  readonly test: { readonly features: Float32Array; readonly labels: number[] };
  readonly trainRows: number;
  /** Up to 100 training rows (feature order), drawn by the seed: the background of its explanations. */
  readonly background: number[][];
  /** Human-readable summary: inputs, outputs, label meaning, training data. Also the model's doc_string. */
  readonly description: string;
  /** The fitted numbers the graph embeds (float64 here; float32 in the graph). */
  readonly coefficients: {
    readonly means: number[];
    readonly stds: number[];
    readonly weights: number[];
    readonly intercept: number;
  };
}

const MAX_ITER = 100;
const TOL = 1e-10;

/**
 * Trains the demo classifier on a stratified split of the WDBC CSV and exports it as ONNX (opset 13).
 *
 * The graph takes `features` FP32 [batch, 30] (raw values, CSV column order) and returns
 * `probabilities` FP32 [batch, 2] (benign, malignant) and `label` INT64 [batch] (1 = malignant).
 * It does not evaluate itself: run `onnx` in the runtime on `test` and score with `evaluateBinary`.
 *
 * @example
 * const model = buildBreastCancerModel(await readWdbcCsv(), { producerVersion: '0.1.0' });
 */
export function buildBreastCancerModel(
  csvText: string,
  options: BreastCancerOptions = {},
): BreastCancerModel {
  const seed = options.seed ?? 42;
  const testFraction = options.testFraction ?? 0.2;
  const l2 = options.l2 ?? 1;
  const data = parseWdbcCsv(csvText);
  const { train, test } = stratifiedSplit(data.labels, testFraction, seed);

  const trainX = train.map((i) => data.rows[i] as number[]);
  const scaler = fitStandardizer(trainX);
  const fit = fitLogisticRegression(
    standardize(scaler, trainX),
    train.map((i) => data.labels[i] as number),
    { l2, maxIter: MAX_ITER, tol: TOL },
  );

  const parameters: BreastCancerParameters = {
    algorithm: 'logistic_regression',
    solver: 'newton',
    l2,
    maxIter: MAX_ITER,
    tol: TOL,
    iterations: fit.iterations,
    converged: fit.converged,
    standardization: 'z-score fitted on the training split, applied inside the graph',
    seed,
    split: { method: 'stratified', testFraction, trainRows: train.length, testRows: test.length },
  };
  const datasetSha256 = sha256Hex(csvText);
  const description = describe(data.featureNames, parameters);
  const coefficients = {
    means: Array.from(scaler.means),
    stds: Array.from(scaler.stds),
    weights: Array.from(fit.weights),
    intercept: fit.intercept,
  };
  const onnx = exportGraph({
    featureNames: data.featureNames,
    coefficients,
    description,
    datasetSha256,
    parameters,
    producerVersion: options.producerVersion ?? '0.1.0',
  });

  const width = data.featureNames.length;
  const features = new Float32Array(test.length * width);
  test.forEach((row, k) => features.set(data.rows[row] as number[], k * width));
  return {
    onnx,
    featureNames: data.featureNames,
    datasetSha256,
    parameters,
    test: { features, labels: test.map((i) => data.labels[i] as number) },
    trainRows: train.length,
    background: sampleRows(train, BACKGROUND_ROWS, seed ^ 0xbac6).map((i) => data.rows[i] as number[]),
    description,
    coefficients,
  };
}

interface ExportInput {
  readonly featureNames: string[];
  readonly coefficients: BreastCancerModel['coefficients'];
  readonly description: string;
  readonly datasetSha256: string;
  readonly parameters: BreastCancerParameters;
  readonly producerVersion: string;
}

/** features → (x − mean) / std → · W + b → sigmoid → [1 − p, p] and p ≥ 0.5. */
function exportGraph(input: ExportInput): Uint8Array {
  const n = input.featureNames.length;
  const c = input.coefficients;
  const b = new OnnxGraphBuilder({
    graphName: 'breast_cancer_logistic_regression',
    producerName: 'galen',
    producerVersion: input.producerVersion,
    docString: input.description,
  });
  b.addInput('features', 'FP32', ['batch', n]);
  b.addFloatInitializer('feature_mean', [n], c.means);
  b.addFloatInitializer('feature_std', [n], c.stds);
  b.addFloatInitializer('weights', [n, 1], c.weights);
  b.addFloatInitializer('intercept', [1], [c.intercept]);
  b.addFloatInitializer('one', [1], [1]);
  b.addFloatInitializer('threshold', [1], [0.5]);
  b.addInt64Initializer('label_axes', [1], [1]);

  b.addNode({ opType: 'Sub', inputs: ['features', 'feature_mean'], outputs: ['centered'] });
  b.addNode({ opType: 'Div', inputs: ['centered', 'feature_std'], outputs: ['standardized'] });
  b.addNode({ opType: 'MatMul', inputs: ['standardized', 'weights'], outputs: ['linear'] });
  b.addNode({ opType: 'Add', inputs: ['linear', 'intercept'], outputs: ['logit'] });
  b.addNode({ opType: 'Sigmoid', inputs: ['logit'], outputs: ['p_malignant'] });
  b.addNode({ opType: 'Sub', inputs: ['one', 'p_malignant'], outputs: ['p_benign'] });
  b.addNode({
    opType: 'Concat',
    inputs: ['p_benign', 'p_malignant'],
    outputs: ['probabilities'],
    attributes: { axis: attr.int(1) },
  });
  // The label comes from the same p_malignant as the probabilities, so the two outputs never disagree.
  b.addNode({ opType: 'GreaterOrEqual', inputs: ['p_malignant', 'threshold'], outputs: ['is_malignant'] });
  b.addNode({
    opType: 'Cast',
    inputs: ['is_malignant'],
    outputs: ['label_column'],
    attributes: { to: attr.int(onnxElemType('INT64')) },
  });
  b.addNode({ opType: 'Squeeze', inputs: ['label_column', 'label_axes'], outputs: ['label'] });
  b.addOutput('probabilities', 'FP32', ['batch', 2]);
  b.addOutput('label', 'INT64', ['batch']);

  b.setMetadata('feature_names', JSON.stringify(input.featureNames));
  b.setMetadata('class_labels', JSON.stringify(['benign', 'malignant']));
  b.setMetadata('output.probabilities', 'FP32 [batch, 2]: column 0 = P(benign), column 1 = P(malignant)');
  b.setMetadata('output.label', 'INT64 [batch]: 1 = malignant (P(malignant) >= 0.5), 0 = benign');
  b.setMetadata('input.features', `FP32 [batch, ${n}]: raw, unscaled measurements in feature_names order`);
  b.setMetadata('dataset', 'Wisconsin Diagnostic Breast Cancer (UCI ML repository), CC BY 4.0');
  b.setMetadata('dataset_sha256', input.datasetSha256);
  b.setMetadata('training_parameters', JSON.stringify(input.parameters));
  b.setMetadata('intended_use', 'demonstration only; not a medical device and not for clinical decisions');
  return b.toBytes();
}

function describe(featureNames: readonly string[], p: BreastCancerParameters): string {
  return [
    'Demonstration model: predicts whether a breast mass is malignant from 30 measurements of cell nuclei ' +
      'in a digitised fine-needle aspirate (Wisconsin Diagnostic Breast Cancer data, UCI ML repository, CC BY 4.0).',
    `Method: L2-regularised logistic regression (l2 = ${p.l2}, Newton's method) on z-scored features; ` +
      `trained on ${p.split.trainRows} rows, with ${p.split.testRows} held out ` +
      `(stratified split, test fraction ${p.split.testFraction}, seed ${p.seed}).`,
    `Input "features": FP32 [batch, ${featureNames.length}], raw unscaled values in this order: ` +
      `${featureNames.join(', ')}. Scaling happens inside the graph.`,
    'Outputs: "probabilities" FP32 [batch, 2], column 0 = P(benign), column 1 = P(malignant); ' +
      '"label" INT64 [batch], 1 = malignant when P(malignant) >= 0.5, else 0 = benign.',
    'Not a medical device: for demonstrating Galen only, not for clinical decisions.',
  ].join('\n');
}
