/**
 * A trained hybrid recommender as an ONNX graph for serving. Input `features`: ONNX strings
 * [batch, n], each row a patient's feature names padded with `''`. A LabelEncoder maps names to
 * rows of the user-feature embedding matrix, whose extra last row (zeros) takes padding and unknown
 * names; embeddings and biases are averaged over the row's known names (training's normalisation,
 * every name weighing 1), and `scores` [batch, n_items] = p_u·Qᵀ + b_item + b_u.
 */
import { invalidInput } from '../core/index.js';
import { ML_DOMAIN, OnnxGraphBuilder, attr } from '../onnx/index.js';
import type { HybridRecommenderModel } from './model.js';

/** LabelEncoder with `keys_strings` / `values_int64s` / `default_int64` is ai.onnx.ml opset 2. */
const ML_OPSET = 2;

export interface RecommenderGraphOptions {
  /** ONNX `producer_version`; default `''`. */
  readonly producerVersion?: string;
  /** Entries for the model's `metadata_props` (e.g. its `galen.ranking` declaration). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface RecommenderGraph {
  /** ONNX ModelProto bytes. */
  readonly bytes: Uint8Array;
  /** Labels of the output's columns, in order. */
  readonly itemIds: readonly string[];
  readonly inputName: 'features';
  readonly outputName: 'scores';
}

/**
 * Compiles `model` into an ONNX graph whose scores equal {@link scoreFeatureRows}'s.
 *
 * @example
 * const { bytes, itemIds } = recommenderGraph(model);
 * // feed { features: Tensor('string', ['dx:4280', 'gender:F', ''], [1, 3]) }, read `scores` [1, itemIds.length]
 */
export function recommenderGraph(
  model: HybridRecommenderModel,
  options: RecommenderGraphOptions = {},
): RecommenderGraph {
  const d = model.hyperParameters.components;
  const nFeatures = model.userFeatureNames.length;
  const nItems = model.itemIds.length;
  if (nFeatures === 0) throw invalidInput('the model knows no user features; there is nothing to look up');
  if (model.userFeatureNames.includes('')) {
    throw invalidInput('a user feature is named ""; the graph reserves "" for padding');
  }
  checkLength('userFeatureEmbeddings', model.userFeatureEmbeddings.length, nFeatures * d);
  checkLength('userFeatureBiases', model.userFeatureBiases.length, nFeatures);
  checkLength('itemEmbeddings', model.itemEmbeddings.length, nItems * d);
  checkLength('itemBiases', model.itemBiases.length, nItems);

  const b = new OnnxGraphBuilder({
    producerVersion: options.producerVersion ?? '',
    graphName: 'hybrid_recommender',
    docString: `Hybrid recommender: ${nFeatures} user features, ${nItems} items, ${d} components`,
  });
  b.importOpset(ML_DOMAIN, ML_OPSET);
  b.addInput('features', 'BYTES', ['batch', 'n']);

  // Row nFeatures is all zeros: padding and unknown names land there and add nothing.
  const embeddings = new Float32Array((nFeatures + 1) * d);
  embeddings.set(model.userFeatureEmbeddings);
  const biases = new Float32Array(nFeatures + 1);
  biases.set(model.userFeatureBiases);
  b.addFloatInitializer('user_feature_embeddings', [nFeatures + 1, d], embeddings);
  b.addFloatInitializer('user_feature_biases', [nFeatures + 1], biases);
  const itemsT = new Float32Array(d * nItems);
  for (let i = 0; i < nItems; i++) {
    for (let c = 0; c < d; c++) itemsT[c * nItems + i] = model.itemEmbeddings[i * d + c]!;
  }
  b.addFloatInitializer('item_embeddings_t', [d, nItems], itemsT);
  b.addFloatInitializer('item_biases', [nItems], model.itemBiases);
  b.addInt64Initializer('padding_index', [], [nFeatures]);
  b.addInt64Initializer('feature_axis', [1], [1]);
  b.addFloatInitializer('one', [], [1]);

  b.addNode({
    opType: 'LabelEncoder',
    domain: ML_DOMAIN,
    inputs: ['features'],
    outputs: ['feature_index'],
    attributes: {
      keys_strings: attr.strings(model.userFeatureNames),
      values_int64s: attr.ints(model.userFeatureNames.map((_, i) => i)),
      default_int64: attr.int(nFeatures),
    },
  });
  b.addNode({
    opType: 'Gather',
    inputs: ['user_feature_embeddings', 'feature_index'],
    outputs: ['feature_embeddings'],
    attributes: { axis: attr.int(0) },
  });
  b.addNode({
    opType: 'Gather',
    inputs: ['user_feature_biases', 'feature_index'],
    outputs: ['feature_biases'],
    attributes: { axis: attr.int(0) },
  });
  // Known names per row; Max(count, 1) keeps a row with none at zero instead of 0/0.
  b.addNode({ opType: 'Equal', inputs: ['feature_index', 'padding_index'], outputs: ['is_padding'] });
  b.addNode({ opType: 'Not', inputs: ['is_padding'], outputs: ['is_known'] });
  b.addNode({ opType: 'Cast', inputs: ['is_known'], outputs: ['known'], attributes: { to: attr.int(1) } });
  b.addNode({
    opType: 'ReduceSum',
    inputs: ['known', 'feature_axis'],
    outputs: ['known_count'],
    attributes: { keepdims: attr.int(1) },
  });
  b.addNode({ opType: 'Max', inputs: ['known_count', 'one'], outputs: ['denominator'] });
  b.addNode({
    opType: 'ReduceSum',
    inputs: ['feature_embeddings', 'feature_axis'],
    outputs: ['embedding_sum'],
    attributes: { keepdims: attr.int(0) },
  });
  b.addNode({ opType: 'Div', inputs: ['embedding_sum', 'denominator'], outputs: ['user_embedding'] });
  b.addNode({
    opType: 'ReduceSum',
    inputs: ['feature_biases', 'feature_axis'],
    outputs: ['bias_sum'],
    attributes: { keepdims: attr.int(1) },
  });
  b.addNode({ opType: 'Div', inputs: ['bias_sum', 'denominator'], outputs: ['user_bias'] });
  b.addNode({ opType: 'MatMul', inputs: ['user_embedding', 'item_embeddings_t'], outputs: ['affinity'] });
  b.addNode({ opType: 'Add', inputs: ['affinity', 'item_biases'], outputs: ['item_scored'] });
  b.addNode({ opType: 'Add', inputs: ['item_scored', 'user_bias'], outputs: ['scores'] });
  b.addOutput('scores', 'FP32', ['batch', nItems]);
  for (const [key, value] of Object.entries(options.metadata ?? {})) b.setMetadata(key, value);
  return { bytes: b.toBytes(), itemIds: [...model.itemIds], inputName: 'features', outputName: 'scores' };
}

function checkLength(name: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw invalidInput(`the model's ${name} has ${actual} values; its sizes need ${expected}`);
  }
}
