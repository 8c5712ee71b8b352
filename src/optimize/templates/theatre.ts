/**
 * Operating-theatre scheduling: cases from the waiting list placed in theatre sessions (a theatre
 * on a day, with its minutes), each case's duration given or predicted by a served model, with a
 * turnover between cases, the session's specialty, each case's window of days, and each
 * surgeon's minutes per day. The most urgent work is scheduled first (priority-weighted), and
 * earlier days are preferred; cases marked `mustSchedule` have to fit, or the plan is infeasible
 * with the sessions and limits in conflict named.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { GalenError } from '../../core/index.js';
import type { Constraint, Variable } from '../model.js';
import { quantities, quantityFacts, round4, uniqueNames } from './template.js';
import type { BuiltProblem, ModelSize, Predict, Template } from './template.js';

export const TheatreInput = Type.Object(
  {
    sessions: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 100 }),
          theatre: Type.String({ minLength: 1 }),
          day: Type.Integer({ minimum: 0, maximum: 365 }),
          minutes: Type.Number({ exclusiveMinimum: 0, maximum: 1440 }),
          specialty: Type.Optional(Type.String({ minLength: 1, description: 'Absent: any specialty.' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500 },
    ),
    cases: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 100 }),
          surgeon: Type.String({ minLength: 1 }),
          minutes: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 1440, description: 'Omitted = predicted.' }),
          ),
          features: Type.Optional(
            Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()])),
          ),
          specialty: Type.Optional(Type.String({ minLength: 1 })),
          priority: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 1000,
              description: 'Weight of scheduling the case (default 1).',
            }),
          ),
          mustSchedule: Type.Optional(Type.Boolean()),
          earliestDay: Type.Optional(Type.Integer({ minimum: 0 })),
          latestDay: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 2000 },
    ),
    surgeons: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1 }),
            maxMinutesPerDay: Type.Optional(Type.Number({ minimum: 0 })),
            days: Type.Optional(
              Type.Array(Type.Integer({ minimum: 0 }), {
                description: 'Days the surgeon operates; absent = any.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    turnoverMinutes: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 240,
        description: 'Between consecutive cases in a session (default 30).',
      }),
    ),
    durationModel: Type.Optional(
      Type.Object(
        {
          model: Type.String({ minLength: 1 }),
          version: Type.Optional(Type.String({ minLength: 1 })),
          output: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TheatreInput = Static<typeof TheatreInput>;

async function build(input: TheatreInput, predict: Predict): Promise<BuiltProblem> {
  uniqueNames(input.sessions, 'sessions');
  uniqueNames(input.cases, 'cases');
  const surgeons = new Map((input.surgeons ?? []).map((s) => [s.name, s]));
  if (surgeons.size !== (input.surgeons ?? []).length) uniqueNames(input.surgeons ?? [], 'surgeons');
  const turnover = input.turnoverMinutes ?? 30;
  const durations = await quantities(
    input.cases,
    (i) => input.cases[i]!.minutes,
    input.durationModel,
    predict,
    { quantity: 'duration (minutes)', item: 'case', list: 'cases', field: '"minutes"', max: 1440 },
  );
  const minutes = durations.values;
  const lastDay = Math.max(...input.sessions.map((s) => s.day));

  const variables: Variable[] = [];
  const linear: Record<string, number> = {};
  const constraints: Constraint[] = [];
  const meanings = new Map<string, string>();
  const inf = Number.POSITIVE_INFINITY;
  const add = (c: Constraint, meaning: string): void => {
    constraints.push(c);
    meanings.set(c.name, meaning);
  };
  const placed = new Map<string, { c: number; k: number }>();
  const bySession = input.sessions.map((): Record<string, number> => ({}));
  const bySurgeonDay = new Map<string, Record<string, number>>();
  input.cases.forEach((cs, c) => {
    if (cs.earliestDay !== undefined && cs.latestDay !== undefined && cs.latestDay < cs.earliestDay)
      throw new GalenError(
        'invalid_input',
        `cases[${c}] has "latestDay" before "earliestDay"; latestDay must be on or after earliestDay`,
      );
    const surgeon = surgeons.get(cs.surgeon);
    const terms: Record<string, number> = {};
    input.sessions.forEach((session, k) => {
      if (session.specialty !== undefined && cs.specialty !== undefined && session.specialty !== cs.specialty)
        return;
      if (cs.earliestDay !== undefined && session.day < cs.earliestDay) return;
      if (cs.latestDay !== undefined && session.day > cs.latestDay) return;
      if (surgeon?.days !== undefined && !surgeon.days.includes(session.day)) return;
      if (minutes[c]! > session.minutes) return;
      const name = `y[c${c},k${k}]`;
      variables.push({ name, lower: 0, upper: 1, type: 'binary' });
      placed.set(name, { c, k });
      // Priority first; among equal priorities, earlier days (a small tie-break under 1 minute's worth).
      linear[name] = -(cs.priority ?? 1) * (1 + minutes[c]! / 1440) + (1e-3 * session.day) / (lastDay + 1);
      terms[name] = 1;
      bySession[k]![name] = minutes[c]! + turnover;
      const key = `${cs.surgeon}\u0000${session.day}`;
      const day = bySurgeonDay.get(key) ?? {};
      day[name] = minutes[c]!;
      bySurgeonDay.set(key, day);
    });
    add(
      { name: `once[c${c}]`, terms, lower: cs.mustSchedule ? 1 : -inf, upper: 1 },
      cs.mustSchedule
        ? `case "${cs.id}" (${round4(minutes[c]!)} min) must be scheduled in a session that fits it (${Object.keys(terms).length} do)`
        : `case "${cs.id}" is scheduled at most once`,
    );
  });
  input.sessions.forEach((session, k) => {
    if (Object.keys(bySession[k]!).length === 0) return;
    add(
      { name: `session[k${k}]`, terms: bySession[k]!, lower: -inf, upper: session.minutes + turnover },
      `session "${session.id}" (${session.theatre}, day ${session.day}) has ${session.minutes} min, with ${turnover} min turnover between cases`,
    );
  });
  let j = 0;
  for (const [key, terms] of bySurgeonDay) {
    const [name, day] = key.split('\u0000') as [string, string];
    const limit = surgeons.get(name)?.maxMinutesPerDay;
    if (limit === undefined) continue;
    add(
      { name: `surgeon[s${j++}]`, terms, lower: -inf, upper: limit },
      `surgeon "${name}" operates at most ${limit} min on day ${day}`,
    );
  }
  return {
    model: { sense: 'minimize', variables, constraints, objective: { linear, quadratic: [], offset: 0 } },
    facts: {
      durations: quantityFacts(durations),
    },
    meaning: (name) => meanings.get(name) ?? name,
    answer(values) {
      const sessionOf = input.cases.map((): number | undefined => undefined);
      for (const [name, at] of placed) if ((values[name] ?? 0) > 0.5) sessionOf[at.c] = at.k;
      const sessions = input.sessions.map((session, k) => {
        const cases = input.cases.filter((_, c) => sessionOf[c] === k);
        const used =
          cases.reduce((sum, cs) => sum + minutes[input.cases.indexOf(cs)]!, 0) +
          turnover * Math.max(0, cases.length - 1);
        return {
          id: session.id,
          theatre: session.theatre,
          day: session.day,
          cases: cases.map((cs) => cs.id),
          minutesUsed: round4(used),
          utilisation: round4(used / session.minutes),
        };
      });
      return {
        sessions,
        cases: input.cases.map((cs, c) => ({
          id: cs.id,
          session: sessionOf[c] === undefined ? null : input.sessions[sessionOf[c]]!.id,
          minutes: round4(minutes[c]!),
          minutesSource: durations.predicted[c] ? 'predicted' : 'given',
        })),
        scheduled: sessionOf.filter((k) => k !== undefined).length,
        unscheduled: input.cases.filter((_, c) => sessionOf[c] === undefined).map((cs) => cs.id),
      };
    },
  };
}

function estimate(input: TheatreInput): ModelSize {
  const variables = input.cases.length * input.sessions.length;
  const surgeonDays =
    new Set(input.cases.map((c) => c.surgeon)).size * new Set(input.sessions.map((s) => s.day)).size;
  return {
    variables,
    constraints: input.cases.length + input.sessions.length + surgeonDays,
    nonzeros: 3 * variables,
  };
}

export const theatreTemplate: Template<TheatreInput> = {
  name: 'theatre',
  summary:
    'Schedule waiting-list cases into operating-theatre sessions: session minutes with turnover, specialties, day windows and surgeon limits, most urgent first; durations given or predicted by a served model',
  schema: TheatreInput,
  build,
  estimate,
};
