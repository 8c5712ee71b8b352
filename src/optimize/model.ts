/**
 * The declarative optimisation model Galen accepts: named variables with bounds and a type,
 * named linear constraints, and a linear objective with an optional convex quadratic part.
 * Parsed and checked here (names, finite numbers, sizes) before a solver sees it.
 *
 * Its errors name a variable or constraint by its place (`variables[3]`, `constraints[0].terms`)
 * and a value by its kind, never by what the caller sent: a name may be a patient's (a bed plan
 * per admission), and a number a patient's figure. They say what is allowed instead.
 */
import { GalenError, isJsonObject, kindOf } from '../core/index.js';

export type VariableType = 'continuous' | 'integer' | 'binary';

export interface Variable {
  name: string;
  lower: number;
  upper: number;
  type: VariableType;
}

export interface Constraint {
  name: string;
  /** Coefficient per variable name. */
  terms: Record<string, number>;
  /** Lower and upper limits of the sum (−∞/+∞ when absent); `equals` sets both. */
  lower: number;
  upper: number;
}

export interface OptimizationModel {
  sense: 'minimize' | 'maximize';
  variables: Variable[];
  constraints: Constraint[];
  objective: {
    linear: Record<string, number>;
    /** ½·xᵀQx terms as (a, b, coefficient) pairs: coefficient · a · b. Must be convex (positive semidefinite when minimising). */
    quadratic: { a: string; b: string; coefficient: number }[];
    offset: number;
  };
}

export const MODEL_LIMITS = { variables: 100_000, constraints: 100_000, nonzeros: 1_000_000 } as const;

const NAME = /^[A-Za-z_][A-Za-z0-9_.[\],:-]{0,127}$/;
const SHAPE =
  '{"sense": "minimize"|"maximize", "variables": [{"name", "lower"?, "upper"?, "type"?: "continuous"|"integer"|"binary"}], "constraints": [{"name", "terms": {"<variable>": coefficient}, "min"?, "max"?, "equals"?}], "objective": {"linear": {"<variable>": coefficient}, "quadratic"?: [{"a", "b", "coefficient"}], "offset"?}}';

function fail(message: string): never {
  throw new GalenError('invalid_input', `${message}; a model is ${SHAPE}`);
}

function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(`${what} is ${kindOf(v)}; it must be a finite number`);
  return v;
}

/** What a caller sent where one of `choices` belongs, described without repeating it. */
function notOneOf(v: unknown, choices: string): string {
  return `${typeof v === 'string' ? 'a string that is not' : `${kindOf(v)}, not`} ${choices}`;
}

function bound(v: unknown, what: string, infinite: number): number {
  return v === undefined || v === null ? infinite : finite(v, what);
}

/** Checks and normalises a model from JSON. */
export function parseModel(raw: unknown): OptimizationModel {
  if (!isJsonObject(raw)) fail('the model is not an object');
  const sense = raw['sense'] ?? 'minimize';
  if (sense !== 'minimize' && sense !== 'maximize')
    fail(`"sense" is ${notOneOf(sense, '"minimize" or "maximize"')}`);
  if (!Array.isArray(raw['variables']) || raw['variables'].length === 0)
    fail('"variables" must be a non-empty list');
  const rawVariables = raw['variables'] as unknown[];
  if (rawVariables.length > MODEL_LIMITS.variables)
    fail(`the model has more than ${MODEL_LIMITS.variables} variables, the most allowed`);
  // Each variable's place in "variables", by name: messages name a variable by its place.
  const names = new Map<string, number>();
  const variables = rawVariables.map((v, i): Variable => {
    if (!isJsonObject(v) || typeof v['name'] !== 'string' || !NAME.test(v['name']))
      fail(
        `variables[${i}] needs a "name" of letters, digits and _ . [ ] , : - (starting with a letter or _)`,
      );
    const name = v['name'];
    const first = names.get(name);
    if (first !== undefined)
      fail(`variables[${i}] has the name of variables[${first}]; each variable needs a name of its own`);
    names.set(name, i);
    const type = v['type'] ?? 'continuous';
    if (type !== 'continuous' && type !== 'integer' && type !== 'binary')
      fail(`variables[${i}].type is ${notOneOf(type, '"continuous", "integer" or "binary"')}`);
    const lower = type === 'binary' ? 0 : bound(v['lower'], `variables[${i}].lower`, 0);
    const upper =
      type === 'binary' ? 1 : bound(v['upper'], `variables[${i}].upper`, Number.POSITIVE_INFINITY);
    if (lower > upper) fail(`variables[${i}] has "lower" above "upper"; lower must be at most upper`);
    return { name, lower, upper, type };
  });
  const terms = (v: unknown, what: string): Record<string, number> => {
    if (!isJsonObject(v))
      fail(`${what} is ${kindOf(v)}; it must be an object of variable name → coefficient`);
    const entries = Object.entries(v);
    entries.forEach(([name, c], k) => {
      const at = names.get(name);
      if (at === undefined)
        fail(
          `${what} has a key that is not the name of a variable in "variables" (key ${k + 1} of ${entries.length})`,
        );
      finite(c, `the coefficient of variables[${at}] in ${what}`);
    });
    return v as Record<string, number>;
  };
  const rawConstraints = raw['constraints'] ?? [];
  if (!Array.isArray(rawConstraints)) fail(`"constraints" is ${kindOf(rawConstraints)}; it must be a list`);
  if (rawConstraints.length > MODEL_LIMITS.constraints)
    fail(`the model has more than ${MODEL_LIMITS.constraints} constraints, the most allowed`);
  const constraintNames = new Map<string, number>();
  let nonzeros = 0;
  const constraints = (rawConstraints as unknown[]).map((c, i): Constraint => {
    if (!isJsonObject(c) || typeof c['name'] !== 'string' || !NAME.test(c['name']))
      fail(`constraints[${i}] needs a "name" of letters, digits and _ . [ ] , : -`);
    const name = c['name'];
    const first = constraintNames.get(name);
    if (first !== undefined)
      fail(
        `constraints[${i}] has the name of constraints[${first}]; each constraint needs a name of its own`,
      );
    constraintNames.set(name, i);
    const t = terms(c['terms'], `constraints[${i}].terms`);
    nonzeros += Object.keys(t).length;
    if (c['equals'] !== undefined && (c['min'] !== undefined || c['max'] !== undefined))
      fail(
        `constraints[${i}] gives "equals" with "min" or "max"; give "equals" alone, or "min" and/or "max"`,
      );
    const lower =
      c['equals'] !== undefined
        ? finite(c['equals'], `constraints[${i}].equals`)
        : bound(c['min'], `constraints[${i}].min`, Number.NEGATIVE_INFINITY);
    const upper =
      c['equals'] !== undefined ? lower : bound(c['max'], `constraints[${i}].max`, Number.POSITIVE_INFINITY);
    if (lower === Number.NEGATIVE_INFINITY && upper === Number.POSITIVE_INFINITY)
      fail(`constraints[${i}] has neither "min", "max" nor "equals"`);
    if (lower > upper) fail(`constraints[${i}] has "min" above "max"; min must be at most max`);
    return { name, terms: t, lower, upper };
  });
  if (nonzeros > MODEL_LIMITS.nonzeros)
    fail(`the constraints have more than ${MODEL_LIMITS.nonzeros} coefficients, the most allowed`);
  const objective = raw['objective'];
  if (!isJsonObject(objective)) fail(`"objective" is ${kindOf(objective)}; it must be an object`);
  const quadratic = objective['quadratic'] ?? [];
  if (!Array.isArray(quadratic)) fail(`objective.quadratic is ${kindOf(quadratic)}; it must be a list`);
  if ((quadratic as unknown[]).length > 0 && variables.some((v) => v.type !== 'continuous'))
    fail(
      'a quadratic objective needs continuous variables only (HiGHS solves convex QPs, not mixed-integer ones)',
    );
  return {
    sense,
    variables,
    constraints,
    objective: {
      linear: terms(objective['linear'] ?? {}, 'objective.linear'),
      quadratic: (quadratic as unknown[]).map((q, i) => {
        if (
          !isJsonObject(q) ||
          typeof q['a'] !== 'string' ||
          typeof q['b'] !== 'string' ||
          !names.has(q['a']) ||
          !names.has(q['b'])
        )
          fail(
            `objective.quadratic[${i}] is not {"a": variable, "b": variable, "coefficient": number} with "a" and "b" declared in "variables"`,
          );
        return {
          a: q['a'],
          b: q['b'],
          coefficient: finite(q['coefficient'], `objective.quadratic[${i}].coefficient`),
        };
      }),
      offset: objective['offset'] === undefined ? 0 : finite(objective['offset'], 'objective.offset'),
    },
  };
}
