/**
 * Quantities a template needs, predicted by a served tabular regression model: each item's
 * `features` become one row in the model's input layout (missing features left to the model's
 * imputation), and the scored output's value is the quantity.
 */
import { GalenError, kindOf, layoutFor, quoted, scoredOutputFor, tensorsFromRows } from '../core/index.js';
import type { Cell } from '../core/index.js';
import type { InferenceService } from '../serving/index.js';
import { featureNames } from '../core/index.js';
import type { Predict } from './templates/template.js';

/** What serving offers: a version's signature, and running it. */
export type ServedModels = Pick<InferenceService, 'metadata' | 'infer'>;

const MAX_ROWS_PER_CALL = 256;

export function servedPredict(served: ServedModels): Predict {
  return async (ref, items, rowName = (row) => `row ${row}`) => {
    const meta = await served.metadata(ref.model, ref.version);
    const what = `model "${meta.name}" version ${meta.version}`;
    const layout = layoutFor(meta.signature, undefined, what);
    const output = scoredOutputFor(meta.signature, { chosen: ref.output }, what);
    if (output.task !== 'regression') {
      throw new GalenError(
        'invalid_input',
        `${what} output "${output.tensor}" is a ${output.task} classifier's; a template needs a regression model's value (a length of stay, a duration)`,
      );
    }
    const names = featureNames(layout);
    const known = new Set(names);
    const rows: Cell[][] = items.map((features, i) => {
      const unknown = Object.keys(features).find((k) => !known.has(k));
      if (unknown !== undefined) {
        throw new GalenError(
          'invalid_input',
          `${rowName(i)}.features names ${quoted(unknown)}, which is not an input of ${what}; its inputs are ${names.join(', ')}`,
        );
      }
      return names.map((n, j) => {
        const v = features[n] ?? null;
        const numeric = layout.kind === 'vector' || layout.inputs[j]!.datatype !== 'BYTES';
        if (numeric && typeof v === 'string') {
          throw new GalenError(
            'invalid_input',
            // The value is a patient's: its kind only.
            `${rowName(i)}.features[${quoted(n)}] is ${kindOf(v)}; ${what} takes a number there (or null when unknown)`,
          );
        }
        return v;
      });
    });
    const values: number[] = [];
    for (let start = 0; start < rows.length; start += MAX_ROWS_PER_CALL) {
      const chunk = rows.slice(start, start + MAX_ROWS_PER_CALL);
      const result = await served.infer({
        model: meta.name,
        version: String(meta.version),
        inputs: tensorsFromRows(layout, chunk),
        outputs: [output.tensor],
        protocol: 'optimize',
      });
      values.push(...Array.from(result.outputs[0]!.data as ArrayLike<number>, Number));
    }
    return { values, model: meta.name, version: meta.version };
  };
}
