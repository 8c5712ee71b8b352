/**
 * What a domain template is: a named problem (beds, roster, theatre) whose input is checked
 * against a published schema, built into an optimisation model with readable constraint names,
 * and whose solution is answered in the template's own terms. A template may take a quantity it
 * needs (a length of stay, an operation's duration) from a served regression model.
 */
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { GalenError } from '../../core/index.js';
import type { Cell } from '../../core/index.js';
import type { OptimizationModel } from '../model.js';

/** A served model named by a template input, and the output to read (its only or `prediction` output by default). */
export interface ModelRef {
  model: string;
  version?: string | undefined;
  output?: string | undefined;
}

/** Runs rows of named features through a served regression model: one value per row. */
export type Predict = (
  ref: ModelRef,
  rows: readonly Record<string, Cell>[],
) => Promise<{ values: number[]; model: string; version: number }>;

/** A template's problem, built: the model, what each constraint means, and how to read a solution. */
export interface BuiltProblem {
  model: OptimizationModel;
  /** A constraint's meaning in the template's words (for conflicts). */
  meaning(constraint: string): string;
  /** The solution in the template's terms. */
  answer(values: Readonly<Record<string, number>>): Record<string, unknown>;
  /** Facts about how the input was read (predicted quantities, ...), answered with any status. */
  facts: Record<string, unknown>;
}

export interface Template<I> {
  name: string;
  summary: string;
  /** JSON Schema of the input. */
  schema: TSchema;
  build(input: I, predict: Predict): Promise<BuiltProblem>;
  /** Upper bounds of the model's size, from the input alone (checked before anything is built). */
  estimate(input: I): ModelSize;
}

export interface ModelSize {
  variables: number;
  constraints: number;
  nonzeros: number;
}

/** Checks `raw` against a template's schema, listing every problem with where it is. */
export function checkTemplateInput<I>(template: Template<I>, raw: unknown): I {
  if (Value.Check(template.schema, raw)) return raw as I;
  const problems = [...Value.Errors(template.schema, raw)]
    .slice(0, 5)
    .map((e) => `${e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(input)'}: ${e.message}`);
  throw new GalenError(
    'invalid_input',
    `the ${template.name} input is not valid: ${problems.join('; ')} (GET /api/v1/optimize/templates/${template.name} gives its schema)`,
  );
}

/** Refuses an input that refers to a name it does not declare, or declares one twice. */
export function uniqueNames(items: readonly { name?: string; id?: string }[], what: string): Set<string> {
  const seen = new Set<string>();
  for (const item of items) {
    const name = item.name ?? item.id ?? '';
    if (seen.has(name)) throw new GalenError('invalid_input', `${what} "${name}" is declared twice`);
    seen.add(name);
  }
  return seen;
}

/** Quantities per item: given ones as they are, the missing ones predicted from each item's `features` by `ref`. */
export async function quantities(
  items: readonly { id: string; features?: Record<string, Cell> | undefined }[],
  given: (index: number) => number | undefined,
  ref: ModelRef | undefined,
  predict: Predict,
  what: { quantity: string; item: string; field: string; max: number },
): Promise<{ values: number[]; predicted: boolean[]; by?: string }> {
  const missing = items.flatMap((item, i) => (given(i) === undefined ? [i] : []));
  const values = items.map((_, i) => given(i) ?? Number.NaN);
  const predicted = items.map(() => false);
  if (missing.length === 0) return { values, predicted };
  if (!ref) {
    const first = items[missing[0]!]!;
    throw new GalenError(
      'invalid_input',
      `${what.item} "${first.id}" has no ${what.field}: give it, or name a model that predicts ${what.quantity} from each ${what.item}'s "features"`,
    );
  }
  const withoutFeatures = missing.find((i) => items[i]!.features === undefined);
  if (withoutFeatures !== undefined) {
    throw new GalenError(
      'invalid_input',
      `${what.item} "${items[withoutFeatures]!.id}" has neither ${what.field} nor "features" for ${ref.model} to predict it from`,
    );
  }
  const result = await predict(
    ref,
    missing.map((i) => items[i]!.features!),
  );
  missing.forEach((i, k) => {
    const v = result.values[k]!;
    if (!(Number.isFinite(v) && v > 0 && v <= what.max)) {
      throw new GalenError(
        'invalid_input',
        `${result.model}:${result.version} predicted ${v} as the ${what.quantity} of ${what.item} "${items[i]!.id}"; a ${what.quantity} is above 0 and at most ${what.max}: give it for this ${what.item}, or use a model made for it`,
      );
    }
    values[i] = v;
    predicted[i] = true;
  });
  return { values, predicted, by: `${result.model}:${result.version}` };
}

/** What an answer says about where its quantities came from: how many predicted, by which version. */
export function quantityFacts(q: { predicted: boolean[]; by?: string }): Record<string, unknown> {
  const predicted = q.predicted.filter(Boolean).length;
  return q.by
    ? { predictedBy: q.by, predicted, given: q.predicted.length - predicted }
    : { given: q.predicted.length };
}

/** Rounds for answers: 4 decimals are plenty for minutes, days and costs. */
export const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;
