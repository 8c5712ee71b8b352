/**
 * TF Serving's :classify and :regress over ONNX signatures. Each example (merged with the
 * request's `context`) gives one feature per model input, by name: an input shaped [-1] or [-1,1]
 * takes one value per example, one shaped [-1,n] a list of n values. The scores come from the
 * output that can carry them: [-1,K] class scores for :classify, [-1] or [-1,1] for :regress.
 */
import { formatShape, kindOf, quoted } from '../../core/index.js';
import type { GalenError, Signature, Tensor, TensorSpec } from '../../core/index.js';
import { declaredCount } from '../../serving/index.js';
import type { EncodedInputs } from '../../serving/index.js';
import { elementReader, elementSink, invalid, isNamedObject, quoteList } from './tf-serving-values.js';
import type { ElementSink } from './tf-serving-values.js';

export type ExampleVerb = 'classify' | 'regress';

const isFloat = (spec: TensorSpec): boolean =>
  spec.datatype === 'FP32' || spec.datatype === 'FP64' || spec.datatype === 'FP16';

const describe = (specs: readonly TensorSpec[]): string =>
  specs.map((s) => `"${s.name}" ${s.datatype} ${formatShape(s.shape)}`).join(', ') || 'none';

/** Values per example an input takes: 1 for [-1] and [-1,1], n for [-1,n]; -1 when [-1,-1]. */
function featureWidth(spec: TensorSpec, verb: ExampleVerb): number {
  if (spec.shape.length === 1) return 1;
  if (spec.shape.length === 2 && spec.shape[1] !== 0) return spec.shape[1]!;
  throw invalid(
    `input "${spec.name}" has shape ${formatShape(spec.shape)}, but :${verb} gives each example one feature per input, so inputs must be shaped [-1] or [-1,1] (one value) or [-1,n] (a list of n values); use :predict for this model`,
  );
}

const featureRule = (spec: TensorSpec, width: number): string =>
  width === 1
    ? 'one value per example'
    : width < 0
      ? 'a list of values per example, equally long in every example'
      : `a list of ${width} values per example`;

/**
 * Reads the examples of a :classify or :regress body: one input per model input, shaped by the
 * number of examples and the features of the first, decoded by `InferenceService.infer` once those
 * shapes have passed the signature and the limits (every example is checked then).
 *
 * @example
 * decodeExamples('regress', { context: { b: 10 }, examples: [{ a: 1 }, { a: 2 }] }, signature);
 */
export function decodeExamples(
  verb: ExampleVerb,
  body: { context?: unknown; examples?: unknown },
  signature: Signature,
): EncodedInputs {
  const { examples, context } = body;
  if (!Array.isArray(examples) || examples.length === 0) {
    throw invalid(
      `"examples" is ${examples === undefined ? 'missing' : kindOf(examples)}; :${verb} needs a non-empty list of examples, each an object of features keyed by input name`,
    );
  }
  if (context !== undefined && !isNamedObject(context))
    throw invalid(
      `"context" is ${kindOf(context)}; it must be an object of features shared by every example`,
    );
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const unknownFeature = (where: string, key: string): GalenError =>
    invalid(
      `${where} has feature ${quoted(key)}, which is not an input; features map to inputs by name: ${describe(signature.inputs)}`,
    );
  if (context !== undefined)
    for (const key in context) if (!specs.has(key)) throw unknownFeature('"context"', key);

  const n = examples.length;
  const widths = signature.inputs.map((s) => featureWidth(s, verb));

  /** The values of each input in example `r`, every one checked against the input's width. */
  const featuresOf = (r: number): { values: unknown[]; list: boolean }[] => {
    const example: unknown = examples[r];
    if (!isNamedObject(example))
      throw invalid(
        `examples[${r}] is ${kindOf(example)}; each example must be an object of features keyed by input name`,
      );
    for (const key in example) {
      if (!specs.has(key)) throw unknownFeature(`examples[${r}]`, key);
      if (context !== undefined && key in context)
        throw invalid(
          `feature "${key}" is in both "context" and examples[${r}]; a context feature must not appear in the examples`,
        );
    }
    return signature.inputs.map((spec, k) => {
      const value = spec.name in example ? example[spec.name] : context?.[spec.name];
      if (value === undefined)
        throw invalid(
          `examples[${r}] has no feature "${spec.name}" (nor has "context"); every example needs ${describe(signature.inputs)}`,
        );
      const values: unknown[] = Array.isArray(value) ? value : [value];
      // An input shaped [-1,-1] takes the width of the first example's feature.
      if (widths[k]! < 0) widths[k] = values.length;
      if (values.length !== widths[k]) {
        throw invalid(
          `examples[${r}].${spec.name} is ${kindOf(value)}; input "${spec.name}" ${formatShape(spec.shape)} takes ${featureRule(spec, widths[k]!)}`,
        );
      }
      return { values, list: Array.isArray(value) };
    });
  };

  featuresOf(0); // the first example fixes every width, so the shapes are known before decoding
  const declared = signature.inputs.map((spec, k) => ({
    name: spec.name,
    datatype: spec.datatype,
    shape: spec.shape.length === 1 ? [n] : [n, widths[k]!],
  }));
  return {
    declared,
    decode(budget) {
      const sinks: ElementSink[] = declared.map((d) => {
        budget.reserve(d.name, d.datatype, d.shape);
        return elementSink(d.datatype, declaredCount(d.shape), (i, length) =>
          budget.bytesElement(d.name, i, length),
        );
      });
      for (let r = 0; r < n; r++) {
        const features = featuresOf(r);
        for (let k = 0; k < features.length; k++) {
          const spec = signature.inputs[k]!;
          const { values, list } = features[k]!;
          const width = widths[k]!;
          for (let j = 0; j < width; j++) {
            const rule = sinks[k]!.put(r * width + j, values[j]);
            if (rule !== undefined)
              throw invalid(
                `examples[${r}].${spec.name}${list ? `[${j}]` : ''} is ${kindOf(values[j])}; input "${spec.name}" is ${rule}`,
              );
          }
        }
      }
      return declared.map((d, k) => ({ ...d, data: sinks[k]!.data }));
    },
  };
}

const CLASS_SCORES = /prob|score/i;
const REGRESSION_VALUE = /pred|regress|value|score|output/i;

/**
 * The output :classify (class scores, [-1,K] float) or :regress (one float per example, [-1]
 * or [-1,1]) reads: the one whose name says so, else the only candidate; anything else is refused.
 */
export function scoreOutput(verb: ExampleVerb, signature: Signature, label: string): TensorSpec {
  const fits =
    verb === 'classify'
      ? (s: TensorSpec) => isFloat(s) && s.shape.length === 2
      : (s: TensorSpec) => isFloat(s) && (s.shape.length === 1 || (s.shape.length === 2 && s.shape[1] === 1));
  const candidates = signature.outputs.filter(fits);
  const named = candidates.find((s) => (verb === 'classify' ? CLASS_SCORES : REGRESSION_VALUE).test(s.name));
  if (named) return named;
  if (candidates.length === 1) return candidates[0]!;
  const want =
    verb === 'classify'
      ? 'an output of class scores, a float tensor shaped [-1,K]'
      : 'an output of one float per example, shaped [-1] or [-1,1]';
  if (candidates.length === 0)
    throw invalid(
      `:${verb} needs ${want}; ${label} has outputs ${describe(signature.outputs)}; use :predict for this model`,
    );
  throw invalid(
    `:${verb} needs ${want}, and ${label} has several (${quoteList(candidates.map((c) => c.name))}) with none named like ${verb === 'classify' ? '"probabilities" or "scores"' : '"predictions" or "value"'}; use :predict for this model`,
  );
}

/** `"results"` of :classify: per example, `[label, score]` for each class, labels being class indices. */
export function classificationResults(scores: Tensor): [string, number][][] {
  const [n, k] = [scores.shape[0]!, scores.shape[1]!];
  const read = elementReader(scores) as (i: number) => number;
  const labels = Array.from({ length: k }, (_, c) => String(c));
  const results = new Array<[string, number][]>(n);
  for (let r = 0; r < n; r++) {
    const classes = new Array<[string, number]>(k);
    for (let c = 0; c < k; c++) classes[c] = [labels[c]!, read(r * k + c)];
    results[r] = classes;
  }
  return results;
}

/** `"results"` of :regress: one number per example. */
export function regressionResults(values: Tensor): number[] {
  const read = elementReader(values) as (i: number) => number;
  return Array.from({ length: values.shape[0]! }, (_, r) => read(r));
}
