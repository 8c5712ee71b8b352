/**
 * Compiles a trained tabular pipeline (`PipelineSpec`: per-column feature transforms plus a linear or
 * gradient-boosted-tree model) into one self-contained ONNX graph of standard and ai.onnx.ml
 * operators, so any ONNX runtime serves the whole pipeline from raw columns.
 *
 * Graph layout (N numeric columns, M missing indicators, categorical columns C1…):
 *   numeric inputs ─ Concat ─ Imputer ─ Max/Min (clip) ─ Scaler ─┐
 *   numeric inputs ─ Concat ─ IsNaN ─ Cast ─ Gather (indicators) ─┤
 *   each categorical input ─ OneHotEncoder ─ Reshape [-1, K] ──────┤─ Concat ─ Gather (spec order) ─ model
 * Numeric columns are transformed together (one node per step, not per column) because a tabular
 * model's run is dominated by per-node overhead; the final Gather puts features back in spec order.
 *
 * Outputs: classification gives `label` (BYTES [-1], the class label string of the most probable
 * class, first class on ties) and `probabilities` (FP32 [-1, K], in `classes` order); regression
 * gives `prediction` (FP32 [-1, 1]). Labels come from ArgMax over `probabilities` rather than from
 * the ML operator's own label output, whose binary-tree rule (raw score > 0.5 when all weights are
 * positive) disagrees with the logistic probabilities.
 */
import { featureWidth, invalidInput } from '../core/index.js';
import type {
  CategoricalFeatureSpec,
  LinearModelSpec,
  NumericFeatureSpec,
  PipelineSpec,
  TreeEnsembleSpec,
  TreeNodeSpec,
} from '../core/index.js';
import { ML_DOMAIN, OnnxGraphBuilder, attr } from './graph-builder.js';
import type { OnnxAttributeValue } from './graph-builder.js';

/** ai.onnx.ml 3 has every operator used here (TreeEnsemble* at version 3, the rest at 1). */
const ML_OPSET = 3;
/** ONNX TensorProto.DataType FLOAT, for Cast. */
const ONNX_FLOAT = 1;
const OUTPUT_NAMES = ['label', 'probabilities', 'prediction'];

export interface CompileTabularPipelineOptions {
  /** Default `'galen'`. */
  readonly producerName?: string;
  /** Default: a one-line description of the pipeline. */
  readonly docString?: string;
}

/**
 * Compiles `spec` into ONNX model bytes: one input per column named by the column, shape
 * ['batch', 1], FP32 for numeric (NaN = missing) and BYTES for categorical ('' = missing).
 * A numeric `impute` of NaN keeps missing values missing, for tree models that route them by
 * `missingGoesLeft`; linear models need a finite `impute`.
 * @throws GalenError `invalid_input` when the spec is inconsistent (widths, classes, tree links…).
 * @example
 * const bytes = compileTabularPipeline({
 *   features: [{ kind: 'numeric', column: 'age', impute: 60, missingIndicator: true, offset: 60, scale: 0.1 }],
 *   model: { type: 'linear', task: 'classification', classes: ['no', 'yes'], coefficients: [[0.8, 0.3]], intercepts: [-1] },
 * });
 */
export function compileTabularPipeline(
  spec: PipelineSpec,
  options: CompileTabularPipelineOptions = {},
): Uint8Array {
  validateSpec(spec);
  const b = new OnnxGraphBuilder({
    producerName: options.producerName ?? 'galen',
    docString:
      options.docString ??
      `tabular pipeline: ${spec.features.length} columns, ${featureWidth(spec.features)} features, ${spec.model.type} ${spec.model.task}`,
  }).importOpset(ML_DOMAIN, ML_OPSET);
  for (const f of spec.features) {
    b.addInput(f.column, f.kind === 'numeric' ? 'FP32' : 'BYTES', ['batch', 1]);
  }
  const features = addFeatureNodes(b, spec.features);
  const model = spec.model;
  if (model.type === 'linear') addLinearModel(b, model, features);
  else addTreeModel(b, model, features);
  if (model.task === 'classification') addLabel(b, model.classes ?? []);
  return b.toBytes();
}

export interface CompileTabularNetworkOptions extends CompileTabularPipelineOptions {
  /** Entries for the model's `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Compiles fitted feature transforms and a classifier network trained elsewhere (ONNX taking
 * `features` [batch, F] and giving `probabilities` [batch, K], e.g. an MLP from the PyTorch
 * backend) into one graph with the same per-column interface as {@link compileTabularPipeline}:
 * one input per column, outputs `label` and `probabilities`.
 */
export function compileTabularNetwork(
  features: PipelineSpec['features'],
  classes: readonly string[],
  network: Uint8Array,
  options: CompileTabularNetworkOptions = {},
): Uint8Array {
  if (features.length === 0) throw invalidInput('the pipeline has no features; add at least one column');
  const b = new OnnxGraphBuilder({
    producerName: options.producerName ?? 'galen',
    docString:
      options.docString ?? `tabular network: ${features.length} columns, ${featureWidth(features)} features`,
  }).importOpset(ML_DOMAIN, ML_OPSET);
  for (const f of features) b.addInput(f.column, f.kind === 'numeric' ? 'FP32' : 'BYTES', ['batch', 1]);
  const matrix = addFeatureNodes(b, features);
  const outputs = b.embedModel(network, 'network', { features: matrix });
  const probabilities = outputs['probabilities'];
  if (probabilities === undefined) {
    throw invalidInput(
      `the network has no "probabilities" output; its outputs are ${Object.keys(outputs).join(', ')}`,
    );
  }
  b.addNode({ opType: 'Identity', inputs: [probabilities], outputs: ['probabilities'] });
  b.addOutput('probabilities', 'FP32', ['batch', classes.length]);
  addLabel(b, classes);
  for (const [key, value] of Object.entries(options.metadata ?? {})) b.setMetadata(key, value);
  return b.toBytes();
}

/**
 * Compiles a tree ensemble over one FP32 [batch, width] input (features computed before the graph,
 * e.g. by a preprocessing step such as molecule featurisation; NaN = missing). Outputs as
 * {@link compileTabularPipeline}: `prediction` for regression, `probabilities` and `label` for
 * classification.
 */
export function compileVectorTreeModel(
  model: TreeEnsembleSpec,
  input: { name: string; width: number },
  options: CompileTabularNetworkOptions = {},
): Uint8Array {
  if (!(Number.isInteger(input.width) && input.width > 0))
    throw invalidInput(`the input width is ${input.width}; it must be a positive integer`);
  const b = new OnnxGraphBuilder({
    producerName: options.producerName ?? 'galen',
    docString: options.docString ?? `tree ensemble over ${input.width} features (${model.task})`,
  }).importOpset(ML_DOMAIN, ML_OPSET);
  b.addInput(input.name, 'FP32', ['batch', input.width]);
  addTreeModel(b, model, input.name);
  if (model.task === 'classification') addLabel(b, model.classes ?? []);
  for (const [key, value] of Object.entries(options.metadata ?? {})) b.setMetadata(key, value);
  return b.toBytes();
}

/** Adds the feature transforms; returns the name of the [-1, F] feature matrix in spec order. */
function addFeatureNodes(b: OnnxGraphBuilder, specs: PipelineSpec['features']): string {
  const numeric = specs.filter((f): f is NumericFeatureSpec => f.kind === 'numeric');
  const categorical = specs.filter((f): f is CategoricalFeatureSpec => f.kind === 'categorical');
  const blocks: string[] = [];
  // Position of each column's value, indicator and first category in the stacked blocks.
  const valueAt = new Map<string, number>();
  const indicatorAt = new Map<string, number>();
  const categoryStart = new Map<string, number>();
  let width = 0;

  if (numeric.length > 0) {
    const raw = concat(
      b,
      numeric.map((f) => f.column),
      'numeric_raw',
    );
    const imputed = b.freshName('imputed');
    b.addNode({
      opType: 'Imputer',
      domain: ML_DOMAIN,
      inputs: [raw],
      outputs: [imputed],
      attributes: {
        imputed_value_floats: attr.floats(numeric.map((f) => f.impute)),
        replaced_value_float: attr.float(Number.NaN),
      },
    });
    let clipped = imputed;
    if (numeric.some((f) => f.clip !== undefined)) {
      const low = b.freshName('clip_low');
      const high = b.freshName('clip_high');
      b.addFloatInitializer(
        low,
        [numeric.length],
        numeric.map((f) => f.clip?.low ?? Number.NEGATIVE_INFINITY),
      );
      b.addFloatInitializer(
        high,
        [numeric.length],
        numeric.map((f) => f.clip?.high ?? Number.POSITIVE_INFINITY),
      );
      const floored = b.freshName('clipped_low');
      clipped = b.freshName('clipped');
      b.addNode({ opType: 'Max', inputs: [imputed, low], outputs: [floored] });
      b.addNode({ opType: 'Min', inputs: [floored, high], outputs: [clipped] });
    }
    const scaled = b.freshName('scaled');
    b.addNode({
      opType: 'Scaler',
      domain: ML_DOMAIN,
      inputs: [clipped],
      outputs: [scaled],
      attributes: {
        offset: attr.floats(numeric.map((f) => f.offset)),
        scale: attr.floats(numeric.map((f) => f.scale)),
      },
    });
    blocks.push(scaled);
    numeric.forEach((f) => valueAt.set(f.column, width++));

    const flagged = numeric.flatMap((f, i) => (f.missingIndicator ? [i] : []));
    if (flagged.length > 0) {
      const isNan = b.freshName('is_missing');
      let indicators = b.freshName('missing_indicators');
      b.addNode({ opType: 'IsNaN', inputs: [raw], outputs: [isNan] });
      b.addNode({
        opType: 'Cast',
        inputs: [isNan],
        outputs: [indicators],
        attributes: { to: attr.int(ONNX_FLOAT) },
      });
      if (flagged.length < numeric.length) {
        const picked = b.freshName('missing_indicators');
        gatherColumns(b, indicators, flagged, picked);
        indicators = picked;
      }
      blocks.push(indicators);
      for (const i of flagged) indicatorAt.set(numeric[i]?.column ?? '', width++);
    }
  }

  for (const f of categorical) {
    const k = f.categories.length;
    const encoded = b.freshName(`${f.column}_onehot3d`);
    const shape = b.freshName(`${f.column}_onehot_shape`);
    const onehot = b.freshName(`${f.column}_onehot`);
    // zeros=1: a value outside `categories` ('' for missing included) encodes as all zeros.
    b.addNode({
      opType: 'OneHotEncoder',
      domain: ML_DOMAIN,
      inputs: [f.column],
      outputs: [encoded],
      attributes: { cats_strings: attr.strings(f.categories), zeros: attr.int(1) },
    });
    b.addInt64Initializer(shape, [2], [-1, k]);
    b.addNode({ opType: 'Reshape', inputs: [encoded, shape], outputs: [onehot] });
    blocks.push(onehot);
    categoryStart.set(f.column, width);
    width += k;
  }

  const stacked = concat(b, blocks, 'stacked');
  const order = specs.flatMap((f): number[] => {
    if (f.kind === 'categorical') {
      const start = categoryStart.get(f.column) ?? 0;
      return f.categories.map((_, j) => start + j);
    }
    const value = valueAt.get(f.column) ?? 0;
    const indicator = indicatorAt.get(f.column);
    return indicator === undefined ? [value] : [value, indicator];
  });
  if (order.every((from, to) => from === to)) return stacked;
  const ordered = b.freshName('features');
  gatherColumns(b, stacked, order, ordered);
  return ordered;
}

function concat(b: OnnxGraphBuilder, inputs: readonly string[], prefix: string): string {
  if (inputs.length === 1 && inputs[0] !== undefined) return inputs[0];
  const out = b.freshName(prefix);
  b.addNode({ opType: 'Concat', inputs, outputs: [out], attributes: { axis: attr.int(1) } });
  return out;
}

function gatherColumns(b: OnnxGraphBuilder, input: string, columns: readonly number[], output: string): void {
  const indices = b.freshName(`${output}_columns`);
  b.addInt64Initializer(indices, [columns.length], columns);
  b.addNode({
    opType: 'Gather',
    inputs: [input, indices],
    outputs: [output],
    attributes: { axis: attr.int(1) },
  });
}

function addLinearModel(b: OnnxGraphBuilder, model: LinearModelSpec, features: string): void {
  const coefficients = attr.floats(model.coefficients.flat());
  const intercepts = attr.floats(model.intercepts);
  if (model.task === 'regression') {
    b.addNode({
      opType: 'LinearRegressor',
      domain: ML_DOMAIN,
      inputs: [features],
      outputs: ['prediction'],
      attributes: { coefficients, intercepts, targets: attr.int(1), post_transform: attr.string('NONE') },
    });
    b.addOutput('prediction', 'FP32', ['batch', 1]);
    return;
  }
  const classes = model.classes ?? [];
  // With two classes and one coefficient row, LinearClassifier + LOGISTIC yields [1 - p, p].
  b.addNode({
    opType: 'LinearClassifier',
    domain: ML_DOMAIN,
    inputs: [features],
    outputs: [b.freshName('operator_label'), 'probabilities'],
    attributes: {
      coefficients,
      intercepts,
      classlabels_strings: attr.strings(classes),
      post_transform: attr.string(classes.length === 2 ? 'LOGISTIC' : 'SOFTMAX'),
    },
  });
  b.addOutput('probabilities', 'FP32', ['batch', classes.length]);
}

function addTreeModel(b: OnnxGraphBuilder, model: TreeEnsembleSpec, features: string): void {
  const all = model.trees.flatMap((tree, t) => tree.map((node, n) => ({ t, n, node })));
  const branch = (value: (node: TreeNodeSpec) => number): OnnxAttributeValue =>
    attr.ints(all.map(({ node }) => (node.leaf === undefined ? value(node) : 0)));
  const leaves = all.flatMap(({ t, n, node }) => (node.leaf ?? []).map((w, k) => ({ t, n, k, w })));
  const leafAttributes = (prefix: 'class' | 'target'): Record<string, OnnxAttributeValue> => ({
    [`${prefix}_treeids`]: attr.ints(leaves.map((l) => l.t)),
    [`${prefix}_nodeids`]: attr.ints(leaves.map((l) => l.n)),
    [`${prefix}_ids`]: attr.ints(leaves.map((l) => l.k)),
    [`${prefix}_weights`]: attr.floats(leaves.map((l) => l.w)),
  });
  const common = {
    nodes_treeids: attr.ints(all.map((e) => e.t)),
    nodes_nodeids: attr.ints(all.map((e) => e.n)),
    nodes_featureids: branch((node) => node.feature),
    nodes_modes: attr.strings(all.map(({ node }) => (node.leaf === undefined ? 'BRANCH_LEQ' : 'LEAF'))),
    nodes_values: attr.floats(all.map(({ node }) => (node.leaf === undefined ? node.threshold : 0))),
    // The "true" branch of BRANCH_LEQ (x <= threshold) is the spec's left child.
    nodes_truenodeids: branch((node) => node.left),
    nodes_falsenodeids: branch((node) => node.right),
    nodes_missing_value_tracks_true: branch((node) => (node.missingGoesLeft ? 1 : 0)),
    base_values: attr.floats(model.base),
  };
  if (model.task === 'regression') {
    b.addNode({
      opType: 'TreeEnsembleRegressor',
      domain: ML_DOMAIN,
      inputs: [features],
      outputs: ['prediction'],
      attributes: {
        ...common,
        ...leafAttributes('target'),
        n_targets: attr.int(1),
        aggregate_function: attr.string('SUM'),
        post_transform: attr.string('NONE'),
      },
    });
    b.addOutput('prediction', 'FP32', ['batch', 1]);
    return;
  }
  const classes = model.classes ?? [];
  // Binary: every leaf scores class id 0 with two class labels; ONNX Runtime then reports
  // [sigmoid(-s), sigmoid(s)] = [1 - p, p] under LOGISTIC.
  b.addNode({
    opType: 'TreeEnsembleClassifier',
    domain: ML_DOMAIN,
    inputs: [features],
    outputs: [b.freshName('operator_label'), 'probabilities'],
    attributes: {
      ...common,
      ...leafAttributes('class'),
      classlabels_strings: attr.strings(classes),
      post_transform: attr.string(classes.length === 2 ? 'LOGISTIC' : 'SOFTMAX'),
    },
  });
  b.addOutput('probabilities', 'FP32', ['batch', classes.length]);
}

/** `label` = classes[argmax(probabilities)]; ArgMax picks the first of equal maxima. */
function addLabel(b: OnnxGraphBuilder, classes: readonly string[]): void {
  const labels = b.freshName('class_labels');
  const index = b.freshName('class_index');
  b.addInitializer(labels, { datatype: 'BYTES', dims: [classes.length], values: classes });
  b.addNode({
    opType: 'ArgMax',
    inputs: ['probabilities'],
    outputs: [index],
    attributes: { axis: attr.int(1), keepdims: attr.int(0) },
  });
  b.addNode({
    opType: 'Gather',
    inputs: [labels, index],
    outputs: ['label'],
    attributes: { axis: attr.int(0) },
  });
  b.addOutput('label', 'BYTES', ['batch']);
}

function validateSpec(spec: PipelineSpec): void {
  if (spec.features.length === 0) throw invalidInput('the pipeline has no features; add at least one column');
  const columns = new Set<string>();
  for (const f of spec.features) {
    const where = `feature "${f.column}"`;
    if (f.column === '') throw invalidInput('a feature has an empty column name');
    if (columns.has(f.column))
      throw invalidInput(`column "${f.column}" appears twice; each column is one input`);
    if (OUTPUT_NAMES.includes(f.column)) {
      throw invalidInput(
        `${where} is named like an output; rename the column (outputs: ${OUTPUT_NAMES.join(', ')})`,
      );
    }
    columns.add(f.column);
    if (f.kind === 'categorical') {
      if (f.categories.length === 0) throw invalidInput(`${where} has no categories`);
      if (new Set(f.categories).size !== f.categories.length)
        throw invalidInput(`${where} lists a category twice`);
      if (f.categories.includes('')) throw invalidInput(`${where} lists '' as a category; '' means missing`);
      continue;
    }
    for (const [name, v] of [
      ['offset', f.offset],
      ['scale', f.scale],
    ] as const) {
      if (!Number.isFinite(v)) throw invalidInput(`${where} has ${name} ${v}; expected a finite number`);
    }
    if (Number.isNaN(f.impute) && spec.model.type === 'linear') {
      throw invalidInput(`${where} imputes NaN; a linear model needs a finite impute value`);
    }
    if (f.clip !== undefined && !(f.clip.low <= f.clip.high)) {
      throw invalidInput(`${where} clips to [${f.clip.low}, ${f.clip.high}]; expected low <= high`);
    }
  }
  const width = featureWidth(spec.features);
  const model = spec.model;
  const classes = model.classes ?? [];
  let outputs = 1;
  if (model.task === 'classification') {
    if (classes.length < 2 || new Set(classes).size !== classes.length) {
      throw invalidInput(`classification needs at least two distinct classes; got [${classes.join(', ')}]`);
    }
    outputs = classes.length === 2 ? 1 : classes.length;
  }
  if (model.type === 'linear') {
    if (model.coefficients.length !== outputs || model.intercepts.length !== outputs) {
      throw invalidInput(
        `the linear model has ${model.coefficients.length} coefficient rows and ${model.intercepts.length} intercepts; this task needs ${outputs} of each`,
      );
    }
    model.coefficients.forEach((row, r) => {
      if (row.length !== width) {
        throw invalidInput(`coefficient row ${r} has ${row.length} values; the features give ${width}`);
      }
    });
    return;
  }
  if (model.base.length !== outputs) {
    throw invalidInput(`the tree ensemble has ${model.base.length} base values; this task needs ${outputs}`);
  }
  model.trees.forEach((tree, t) => validateTree(tree, t, width, outputs));
}

function validateTree(
  tree: TreeEnsembleSpec['trees'][number],
  t: number,
  width: number,
  outputs: number,
): void {
  if (tree.length === 0) throw invalidInput(`tree ${t} has no nodes`);
  const seen = new Set<number>();
  const stack = [0];
  while (stack.length > 0) {
    const n = stack.pop() ?? 0;
    const node = tree[n];
    if (node === undefined || seen.has(n)) {
      throw invalidInput(`tree ${t} links to node ${n}, which is ${node ? 'reached twice' : 'missing'}`);
    }
    seen.add(n);
    if (node.leaf !== undefined) {
      if (node.leaf.length !== outputs) {
        throw invalidInput(`tree ${t} leaf ${n} has ${node.leaf.length} values; this task needs ${outputs}`);
      }
      continue;
    }
    if (!Number.isInteger(node.feature) || node.feature < 0 || node.feature >= width) {
      throw invalidInput(
        `tree ${t} node ${n} splits on feature ${node.feature}; features are 0..${width - 1}`,
      );
    }
    if (Number.isNaN(node.threshold)) throw invalidInput(`tree ${t} node ${n} has a NaN threshold`);
    stack.push(node.left, node.right);
  }
  if (seen.size !== tree.length) throw invalidInput(`tree ${t} has nodes not reachable from node 0`);
}
