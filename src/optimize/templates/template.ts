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

/**
 * Runs rows of named features through a served regression model: one value per row. `rowName`
 * says where a row came from in the caller's input (`admissions[4]`), for messages.
 */
export type Predict = (
  ref: ModelRef,
  rows: readonly Record<string, Cell>[],
  rowName?: (row: number) => string,
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

/**
 * Refuses an input list (`list` is its field, e.g. "admissions") that gives one name or id twice.
 * The message names both places, not the name: an admission's id may be a patient's.
 */
export function uniqueNames(items: readonly { name?: string; id?: string }[], list: string): Set<string> {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const name = item.name ?? item.id ?? '';
    const first = seen.get(name);
    if (first !== undefined) {
      const key = item.name !== undefined ? 'name' : 'id';
      throw new GalenError(
        'invalid_input',
        `${list}[${i}] has the ${key} of ${list}[${first}]; each of ${list} needs a ${key} of its own`,
      );
    }
    seen.set(name, i);
  });
  return new Set(seen.keys());
}

/**
 * Quantities per item: given ones as they are, the missing ones predicted from each item's
 * `features` by `ref`. Messages name an item by its place in `what.list` (an id may be a patient's)
 * and never repeat a predicted value (a figure about a patient).
 */
export async function quantities(
  items: readonly { id: string; features?: Record<string, Cell> | undefined }[],
  given: (index: number) => number | undefined,
  ref: ModelRef | undefined,
  predict: Predict,
  what: { quantity: string; item: string; list: string; field: string; max: number },
): Promise<{ values: number[]; predicted: boolean[]; by?: string }> {
  const missing = items.flatMap((item, i) => (given(i) === undefined ? [i] : []));
  const values = items.map((_, i) => given(i) ?? Number.NaN);
  const predicted = items.map(() => false);
  if (missing.length === 0) return { values, predicted };
  const place = (i: number): string => `${what.list}[${i}]`;
  if (!ref) {
    throw new GalenError(
      'invalid_input',
      `${place(missing[0]!)} has no ${what.field}: give it, or name a model that predicts ${what.quantity} from each ${what.item}'s "features"`,
    );
  }
  const withoutFeatures = missing.find((i) => items[i]!.features === undefined);
  if (withoutFeatures !== undefined) {
    throw new GalenError(
      'invalid_input',
      `${place(withoutFeatures)} has neither ${what.field} nor "features" for ${ref.model} to predict it from`,
    );
  }
  const result = await predict(
    ref,
    missing.map((i) => items[i]!.features!),
    (k) => place(missing[k]!),
  );
  missing.forEach((i, k) => {
    const v = result.values[k]!;
    if (!(Number.isFinite(v) && v > 0 && v <= what.max)) {
      throw new GalenError(
        'invalid_input',
        `${result.model}:${result.version} predicted ${Number.isFinite(v) ? 'a value out of range' : 'a value that is not a finite number'} as the ${what.quantity} of ${place(i)}; a ${what.quantity} is above 0 and at most ${what.max}: give it for this ${what.item}, or use a model made for it`,
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
