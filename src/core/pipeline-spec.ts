/**
 * A trained tabular pipeline as plain data: how each input column becomes model features, and the
 * fitted model over those features. Training produces it; `onnx/` compiles it into one ONNX graph
 * (ai.onnx.ml operators) and `training/` evaluates it in TypeScript, so the two can be compared.
 *
 * The served graph takes one input per column, named by the column, shape [-1, 1]: FP32 for
 * numeric columns (NaN = missing), BYTES (UTF-8 text) for categorical ones ('' = missing).
 * Features are laid out in `features` order; a numeric feature gives one value (plus one 0/1
 * missing indicator when `missingIndicator`), a categorical one gives one 0/1 value per category.
 */

/** A numeric column: missing → `impute`; optional clipping, then `(x - offset) * scale`. */
export interface NumericFeatureSpec {
  readonly kind: 'numeric';
  readonly column: string;
  /** Replaces a missing (NaN) value. */
  readonly impute: number;
  /** Adds a feature that is 1 when the value was missing, else 0 (placed right after the value). */
  readonly missingIndicator: boolean;
  /** Applied after imputation, before scaling (outlier clipping). */
  readonly clip?: { readonly low: number; readonly high: number };
  /** Applied last; identity is offset 0, scale 1. */
  readonly offset: number;
  readonly scale: number;
}

/** A categorical column, one-hot over `categories`; missing or unseen values give all zeros. */
export interface CategoricalFeatureSpec {
  readonly kind: 'categorical';
  readonly column: string;
  readonly categories: readonly string[];
}

export type FeatureSpec = NumericFeatureSpec | CategoricalFeatureSpec;

/**
 * A linear model. Classification: with two classes one row of coefficients gives the positive
 * class's logit (probabilities [1 - p, p]); with more, one row per class and a softmax.
 */
export interface LinearModelSpec {
  readonly type: 'linear';
  readonly task: 'classification' | 'regression';
  /** Class labels in output order (classification only); `classes[1]` is the positive class of a binary task. */
  readonly classes?: readonly string[];
  /** [rows][features]: 1 row for binary classification and regression, one per class otherwise. */
  readonly coefficients: readonly (readonly number[])[];
  readonly intercepts: readonly number[];
}

/**
 * One regression tree over the feature vector. Node 0 is the root. A branch sends `x[feature] <=
 * threshold` left; a missing (NaN) value goes left when `missingGoesLeft`. Leaves hold one value
 * per output (one per class for multiclass, one otherwise).
 */
export interface TreeNodeSpec {
  readonly feature: number;
  readonly threshold: number;
  readonly left: number;
  readonly right: number;
  readonly missingGoesLeft: boolean;
  /** Present on leaves only. */
  readonly leaf?: readonly number[];
}

/**
 * Gradient-boosted trees: raw score = base + Σ tree leaves. Binary classification: one output,
 * p = sigmoid(score), probabilities [1 - p, p]; multiclass: one score per class, softmax;
 * regression: the score.
 */
export interface TreeEnsembleSpec {
  readonly type: 'trees';
  readonly task: 'classification' | 'regression';
  readonly classes?: readonly string[];
  /** One per output. */
  readonly base: readonly number[];
  readonly trees: readonly (readonly TreeNodeSpec[])[];
}

export type PipelineModelSpec = LinearModelSpec | TreeEnsembleSpec;

export interface PipelineSpec {
  readonly features: readonly FeatureSpec[];
  readonly model: PipelineModelSpec;
}

/** How many model features `features` produce. */
export function featureWidth(features: readonly FeatureSpec[]): number {
  let n = 0;
  for (const f of features) n += f.kind === 'categorical' ? f.categories.length : f.missingIndicator ? 2 : 1;
  return n;
}
