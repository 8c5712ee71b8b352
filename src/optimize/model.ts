/**
 * The declarative optimisation model Galen accepts: named variables with bounds and a type,
 * named linear constraints, and a linear objective with an optional convex quadratic part.
 * Parsed and checked here (names, finite numbers, sizes) before a solver sees it.
 */
import { GalenError } from '../core/index.js';

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

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail(`${what} is ${JSON.stringify(v)}, not a finite number`);
  return v;
}

function bound(v: unknown, what: string, infinite: number): number {
  return v === undefined || v === null ? infinite : finite(v, what);
}

/** Checks and normalises a model from JSON. */
export function parseModel(raw: unknown): OptimizationModel {
  if (!isObject(raw)) fail('the model is not an object');
  const sense = raw['sense'] ?? 'minimize';
  if (sense !== 'minimize' && sense !== 'maximize') fail(`sense is ${JSON.stringify(sense)}`);
  if (!Array.isArray(raw['variables']) || raw['variables'].length === 0)
    fail('"variables" is a non-empty list');
  const rawVariables = raw['variables'] as unknown[];
  if (rawVariables.length > MODEL_LIMITS.variables) fail(`more than ${MODEL_LIMITS.variables} variables`);
  const names = new Set<string>();
  const variables = rawVariables.map((v, i): Variable => {
    if (!isObject(v) || typeof v['name'] !== 'string' || !NAME.test(v['name']))
      fail(
        `variables[${i}] needs a "name" of letters, digits and _ . [ ] , : - (starting with a letter or _)`,
      );
    const name = v['name'];
    if (names.has(name)) fail(`variable "${name}" is declared twice`);
    names.add(name);
    const type = v['type'] ?? 'continuous';
    if (type !== 'continuous' && type !== 'integer' && type !== 'binary')
      fail(`variable "${name}" has type ${JSON.stringify(type)}`);
    const lower = type === 'binary' ? 0 : bound(v['lower'], `variable "${name}" lower`, 0);
    const upper =
      type === 'binary' ? 1 : bound(v['upper'], `variable "${name}" upper`, Number.POSITIVE_INFINITY);
    if (lower > upper) fail(`variable "${name}" has lower ${lower} above upper ${upper}`);
    return { name, lower, upper, type };
  });
  const terms = (v: unknown, what: string): Record<string, number> => {
    if (!isObject(v)) fail(`${what} is an object of variable → coefficient`);
    for (const [name, c] of Object.entries(v)) {
      if (!names.has(name)) fail(`${what} names "${name}", which is not a variable`);
      finite(c, `${what}["${name}"]`);
    }
    return v as Record<string, number>;
  };
  const rawConstraints = raw['constraints'] ?? [];
  if (!Array.isArray(rawConstraints)) fail('"constraints" is a list');
  if (rawConstraints.length > MODEL_LIMITS.constraints)
    fail(`more than ${MODEL_LIMITS.constraints} constraints`);
  const constraintNames = new Set<string>();
  let nonzeros = 0;
  const constraints = (rawConstraints as unknown[]).map((c, i): Constraint => {
    if (!isObject(c) || typeof c['name'] !== 'string' || !NAME.test(c['name']))
      fail(`constraints[${i}] needs a "name" of letters, digits and _ . [ ] , : -`);
    const name = c['name'];
    if (constraintNames.has(name)) fail(`constraint "${name}" is declared twice`);
    constraintNames.add(name);
    const t = terms(c['terms'], `constraint "${name}" terms`);
    nonzeros += Object.keys(t).length;
    if (c['equals'] !== undefined && (c['min'] !== undefined || c['max'] !== undefined))
      fail(`constraint "${name}" gives "equals" with "min" or "max"`);
    const lower =
      c['equals'] !== undefined
        ? finite(c['equals'], `constraint "${name}" equals`)
        : bound(c['min'], `constraint "${name}" min`, Number.NEGATIVE_INFINITY);
    const upper =
      c['equals'] !== undefined
        ? lower
        : bound(c['max'], `constraint "${name}" max`, Number.POSITIVE_INFINITY);
    if (lower === Number.NEGATIVE_INFINITY && upper === Number.POSITIVE_INFINITY)
      fail(`constraint "${name}" has neither "min", "max" nor "equals"`);
    if (lower > upper) fail(`constraint "${name}" has min ${lower} above max ${upper}`);
    return { name, terms: t, lower, upper };
  });
  if (nonzeros > MODEL_LIMITS.nonzeros)
    fail(`more than ${MODEL_LIMITS.nonzeros} coefficients in the constraints`);
  const objective = raw['objective'];
  if (!isObject(objective)) fail('"objective" is missing');
  const quadratic = objective['quadratic'] ?? [];
  if (!Array.isArray(quadratic)) fail('objective "quadratic" is a list');
  if ((quadratic as unknown[]).length > 0 && variables.some((v) => v.type !== 'continuous'))
    fail(
      'a quadratic objective needs continuous variables only (HiGHS solves convex QPs, not mixed-integer ones)',
    );
  return {
    sense,
    variables,
    constraints,
    objective: {
      linear: terms(objective['linear'] ?? {}, 'objective linear'),
      quadratic: (quadratic as unknown[]).map((q, i) => {
        if (
          !isObject(q) ||
          typeof q['a'] !== 'string' ||
          typeof q['b'] !== 'string' ||
          !names.has(q['a']) ||
          !names.has(q['b'])
        )
          fail(`objective quadratic[${i}] is {"a": variable, "b": variable, "coefficient": number}`);
        return {
          a: q['a'],
          b: q['b'],
          coefficient: finite(q['coefficient'], `objective quadratic[${i}] coefficient`),
        };
      }),
      offset: objective['offset'] === undefined ? 0 : finite(objective['offset'], 'objective offset'),
    },
  };
}
