/**
 * Nurse shift rostering: who works which shift on which day, so that every shift has the nurses
 * (and skills) it needs, each nurse works at most one shift a day, has the minimum rest between
 * shifts (a late shift followed by the next day's early one breaks an 11-hour rule), works no
 * more than a run of consecutive days, within her or his shift limits and availability, at the
 * least cost. A roster that cannot be made is answered as infeasible with the rules in conflict.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { GalenError, quoted } from '../../core/index.js';
import type { Constraint, Variable } from '../model.js';
import { uniqueNames } from './template.js';
import type { BuiltProblem, ModelSize, Template } from './template.js';

export const RosterInput = Type.Object(
  {
    days: Type.Integer({ minimum: 1, maximum: 62, description: 'Days rostered, numbered from 0.' }),
    shifts: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 50 }),
          start: Type.Number({
            minimum: 0,
            exclusiveMaximum: 24,
            description: 'Start hour (e.g. 7, 15, 23).',
          }),
          hours: Type.Number({ exclusiveMinimum: 0, maximum: 24 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 6 },
    ),
    nurses: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 100 }),
          skills: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
          maxShifts: Type.Optional(
            Type.Integer({ minimum: 0, description: 'Over the roster (default: no limit).' }),
          ),
          minShifts: Type.Optional(Type.Integer({ minimum: 0 })),
          unavailable: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  day: Type.Integer({ minimum: 0 }),
                  shift: Type.Optional(Type.String({ description: 'Absent: the whole day.' })),
                },
                { additionalProperties: false },
              ),
            ),
          ),
          cost: Type.Optional(Type.Number({ minimum: 0, description: 'Per shift worked (default 1).' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500 },
    ),
    coverage: Type.Array(
      Type.Object(
        {
          shift: Type.String({ minLength: 1 }),
          day: Type.Optional(Type.Integer({ minimum: 0, description: 'Absent: every day.' })),
          skill: Type.Optional(
            Type.String({ minLength: 1, description: 'Count only nurses with this skill.' }),
          ),
          min: Type.Integer({ minimum: 0 }),
          max: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 2000 },
    ),
    minRestHours: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 48,
        description: 'Between the end of one shift and the start of the next (default 11).',
      }),
    ),
    maxConsecutiveDays: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Days worked in a row at most (default 6).' }),
    ),
  },
  { additionalProperties: false },
);
export type RosterInput = Static<typeof RosterInput>;

function build(input: RosterInput): Promise<BuiltProblem> {
  uniqueNames(input.shifts, 'shifts');
  uniqueNames(input.nurses, 'nurses');
  const shiftIndex = new Map(input.shifts.map((s, i) => [s.name, i]));
  const shiftOf = (name: string, where: string): number => {
    const s = shiftIndex.get(name);
    if (s === undefined)
      throw new GalenError(
        'invalid_input',
        `${where} names shift ${quoted(name)}, which is not in "shifts"; the shifts are ${[...shiftIndex.keys()].join(', ')}`,
      );
    return s;
  };
  const dayIn = (day: number, where: string): void => {
    if (day >= input.days)
      throw new GalenError(
        'invalid_input',
        `${where} names a day past the plan; days are 0 to ${input.days - 1}`,
      );
  };
  const minRest = input.minRestHours ?? 11;
  const maxRun = input.maxConsecutiveDays ?? 6;
  const D = input.days;
  const S = input.shifts.length;
  const x = (n: number, d: number, s: number): string => `x[n${n},d${d},s${s}]`;

  const variables: Variable[] = [];
  const linear: Record<string, number> = {};
  const offs = input.nurses.map(() => new Set<string>());
  input.nurses.forEach((nurse, n) => {
    const off = offs[n]!;
    (nurse.unavailable ?? []).forEach((u, j) => {
      dayIn(u.day, `nurses[${n}].unavailable[${j}]`);
      const shifts =
        u.shift === undefined
          ? input.shifts.map((_, s) => s)
          : [shiftOf(u.shift, `nurses[${n}].unavailable[${j}]`)];
      for (const s of shifts) off.add(`${u.day},${s}`);
    });
    for (let d = 0; d < D; d++)
      for (let s = 0; s < S; s++) {
        // An unavailable slot keeps its variable, fixed at 0, so rules read the same everywhere.
        variables.push({ name: x(n, d, s), lower: 0, upper: off.has(`${d},${s}`) ? 0 : 1, type: 'binary' });
        linear[x(n, d, s)] = nurse.cost ?? 1;
      }
  });

  const constraints: Constraint[] = [];
  const meanings = new Map<string, string>();
  const add = (
    name: string,
    terms: Record<string, number>,
    lower: number,
    upper: number,
    meaning: string,
  ): void => {
    constraints.push({ name, terms, lower, upper });
    meanings.set(name, meaning);
  };
  const inf = Number.POSITIVE_INFINITY;
  for (const [i, c] of input.coverage.entries()) {
    const s = shiftOf(c.shift, `coverage[${i}]`);
    if (c.day !== undefined) dayIn(c.day, `coverage[${i}]`);
    if (c.max !== undefined && c.max < c.min)
      throw new GalenError('invalid_input', `coverage[${i}] has "max" below "min"; max must be at least min`);
    const nurses = input.nurses.flatMap((nurse, n) =>
      c.skill === undefined || nurse.skills?.includes(c.skill) ? [n] : [],
    );
    for (const d of c.day === undefined ? Array.from({ length: D }, (_, k) => k) : [c.day]) {
      const terms = Object.fromEntries(nurses.map((n) => [x(n, d, s), 1]));
      const who = c.skill === undefined ? 'nurse(s)' : `nurse(s) with skill "${c.skill}"`;
      const available = nurses.filter((n) => !offs[n]!.has(`${d},${s}`)).length;
      add(
        `cover[c${i},d${d}]`,
        terms,
        c.min,
        c.max ?? inf,
        `shift "${c.shift}" on day ${d} needs ${c.max === undefined ? 'at least' : `${c.min} to`} ${c.max ?? c.min} ${who} (${available} available)`,
      );
    }
  }
  input.nurses.forEach((nurse, n) => {
    const all: Record<string, number> = {};
    for (let d = 0; d < D; d++) {
      const day = Object.fromEntries(input.shifts.map((_, s) => [x(n, d, s), 1]));
      Object.assign(all, day);
      add(
        `one_shift[n${n},d${d}]`,
        day,
        -inf,
        1,
        `nurse "${nurse.name}" works at most one shift on day ${d}`,
      );
      if (d + 1 < D) {
        input.shifts.forEach((a, s) =>
          input.shifts.forEach((b, t) => {
            const rest = 24 + b.start - (a.start + a.hours);
            if (rest < minRest)
              add(
                `rest[n${n},d${d},s${s},s${t}]`,
                { [x(n, d, s)]: 1, [x(n, d + 1, t)]: 1 },
                -inf,
                1,
                `nurse "${nurse.name}" may not work "${a.name}" on day ${d} then "${b.name}" on day ${d + 1} (${rest} h rest, under ${minRest} h)`,
              );
          }),
        );
      }
      if (d + maxRun < D) {
        const run: Record<string, number> = {};
        for (let k = d; k <= d + maxRun; k++) for (let s = 0; s < S; s++) run[x(n, k, s)] = 1;
        add(
          `run[n${n},d${d}]`,
          run,
          -inf,
          maxRun,
          `nurse "${nurse.name}" works at most ${maxRun} days in a row (days ${d} to ${d + maxRun})`,
        );
      }
    }
    if (nurse.maxShifts !== undefined || nurse.minShifts !== undefined) {
      if ((nurse.minShifts ?? 0) > (nurse.maxShifts ?? inf))
        throw new GalenError(
          'invalid_input',
          `nurses[${n}] has "minShifts" above "maxShifts"; minShifts must be at most maxShifts`,
        );
      add(
        `shifts[n${n}]`,
        all,
        nurse.minShifts ?? -inf,
        nurse.maxShifts ?? inf,
        `nurse "${nurse.name}" works ${nurse.minShifts ?? 0} to ${nurse.maxShifts ?? 'any number of'} shifts`,
      );
    }
  });
  return Promise.resolve({
    model: { sense: 'minimize', variables, constraints, objective: { linear, quadratic: [], offset: 0 } },
    facts: {},
    meaning: (name) => meanings.get(name) ?? name,
    answer(values) {
      const works = (n: number, d: number, s: number): boolean => (values[x(n, d, s)] ?? 0) > 0.5;
      return {
        nurses: input.nurses.map((nurse, n) => {
          const schedule = Array.from({ length: D }, (_, d) => {
            const s = input.shifts.findIndex((_, k) => works(n, d, k));
            return s < 0 ? null : input.shifts[s]!.name;
          });
          return { name: nurse.name, shifts: schedule.filter((s) => s !== null).length, schedule };
        }),
        shifts: Array.from({ length: D }, (_, d) =>
          input.shifts.map((shift, s) => ({
            day: d,
            shift: shift.name,
            nurses: input.nurses.filter((_, n) => works(n, d, s)).map((nurse) => nurse.name),
          })),
        ).flat(),
      };
    },
  });
}

/** Shift pairs (a on one day, b the next) closer than the minimum rest. */
const restPairs = (input: RosterInput): number => {
  const minRest = input.minRestHours ?? 11;
  return input.shifts.flatMap((a) => input.shifts.filter((b) => 24 + b.start - (a.start + a.hours) < minRest))
    .length;
};

function estimate(input: RosterInput): ModelSize {
  const N = input.nurses.length;
  const D = input.days;
  const S = input.shifts.length;
  const maxRun = input.maxConsecutiveDays ?? 6;
  const runs = N * Math.max(0, D - maxRun);
  const rests = N * Math.max(0, D - 1) * restPairs(input);
  let coverRows = 0;
  let coverTerms = 0;
  for (const c of input.coverage) {
    const days = c.day === undefined ? D : 1;
    coverRows += days;
    coverTerms +=
      days * input.nurses.filter((n) => c.skill === undefined || n.skills?.includes(c.skill)).length;
  }
  return {
    variables: N * D * S,
    constraints: coverRows + N * D + rests + runs + N,
    nonzeros: coverTerms + 2 * N * D * S + 2 * rests + runs * (maxRun + 1) * S,
  };
}

export const rosterTemplate: Template<RosterInput> = {
  name: 'roster',
  summary:
    'Assign nurses to shifts over the coming days: coverage (with skills) per shift, one shift a day, minimum rest between shifts, at most so many days in a row, shift limits and availability, at least cost',
  schema: RosterInput,
  build,
  estimate,
};
