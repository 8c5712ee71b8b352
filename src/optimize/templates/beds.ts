/**
 * Bed allocation: expected admissions over the coming days placed in wards, each staying for its
 * length of stay (given, or predicted by a served model from the admission's features), within the
 * beds each ward has free each day. A ward can be meant for some patient groups; placing a patient
 * elsewhere (an "outlier") costs `outlierCost` per bed-day, and an admission that gets no bed costs
 * `unplacedCost` (or is not allowed, `allowUnplaced: false`, which can make the plan infeasible:
 * the conflict then names the wards and days that are full and the admissions that need them).
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { GalenError } from '../../core/index.js';
import type { Constraint, Variable } from '../model.js';
import { quantities, quantityFacts, round4, uniqueNames } from './template.js';
import type { BuiltProblem, ModelSize, Predict, Template } from './template.js';

const Features = Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()]), {
  description: "The admission's model inputs by name, for the length-of-stay model.",
});

const ModelRefSchema = Type.Object(
  {
    model: Type.String({ minLength: 1 }),
    version: Type.Optional(Type.String({ minLength: 1, description: 'A version number or alias.' })),
    output: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const BedsInput = Type.Object(
  {
    days: Type.Integer({ minimum: 1, maximum: 60, description: 'Days planned, numbered from 0.' }),
    wards: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 100 }),
          beds: Type.Integer({ minimum: 0, maximum: 10_000 }),
          occupied: Type.Optional(
            Type.Array(Type.Integer({ minimum: 0 }), {
              maxItems: 60,
              description: 'Beds taken by patients already in the ward, per day (days not listed: none).',
            }),
          ),
          groups: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description: 'Patient groups the ward is meant for; absent = any group.',
            }),
          ),
          closedTo: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description: 'Patient groups the ward may not take at all.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 200 },
    ),
    admissions: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 100 }),
          day: Type.Integer({ minimum: 0, description: 'Day of arrival.' }),
          group: Type.Optional(Type.String({ minLength: 1 })),
          lengthOfStay: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 365, description: 'Days; omitted = predicted.' }),
          ),
          features: Type.Optional(Features),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 5000 },
    ),
    lengthOfStayModel: Type.Optional(ModelRefSchema),
    outlierCost: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'Per bed-day outside the ward meant for the group (default 1).',
      }),
    ),
    unplacedCost: Type.Optional(
      Type.Number({ minimum: 0, description: 'Per admission left without a bed (default 100).' }),
    ),
    allowUnplaced: Type.Optional(
      Type.Boolean({ description: 'Whether an admission may go without a bed (default true).' }),
    ),
  },
  { additionalProperties: false },
);
export type BedsInput = Static<typeof BedsInput>;

async function build(input: BedsInput, predict: Predict): Promise<BuiltProblem> {
  uniqueNames(input.wards, 'wards');
  uniqueNames(input.admissions, 'admissions');
  input.wards.forEach((w, k) => {
    const over = (w.occupied ?? []).findIndex((o) => o > w.beds);
    if (over >= 0)
      throw new GalenError(
        'invalid_input',
        `wards[${k}].occupied[${over}] is more than the ward's beds; at most ${w.beds} of its beds can be occupied on a day`,
      );
  });
  const late = input.admissions.findIndex((a) => a.day >= input.days);
  if (late >= 0)
    throw new GalenError(
      'invalid_input',
      `admissions[${late}].day is past the plan; an admission arrives on a day from 0 to ${input.days - 1}`,
    );
  const stays = await quantities(
    input.admissions,
    (i) => input.admissions[i]!.lengthOfStay,
    input.lengthOfStayModel,
    predict,
    {
      quantity: 'length of stay (days)',
      item: 'admission',
      list: 'admissions',
      field: '"lengthOfStay"',
      max: 365,
    },
  );
  // A stay occupies a bed on each day it touches: at least its day of arrival.
  const nights = stays.values.map((v) => Math.max(1, Math.ceil(v - 1e-9)));
  const outlierCost = input.outlierCost ?? 1;
  const unplacedCost = input.unplacedCost ?? 100;
  const allowUnplaced = input.allowUnplaced ?? true;

  const variables: Variable[] = [];
  const linear: Record<string, number> = {};
  const placements = new Map<string, { admission: number; ward: number }>();
  const assign: Constraint[] = [];
  const capacityTerms = input.wards.map(() =>
    Array.from({ length: input.days }, (): Record<string, number> => ({})),
  );
  input.admissions.forEach((a, p) => {
    const terms: Record<string, number> = {};
    input.wards.forEach((w, k) => {
      if (a.group !== undefined && w.closedTo?.includes(a.group)) return;
      const name = `x[a${p},w${k}]`;
      variables.push({ name, lower: 0, upper: 1, type: 'binary' });
      placements.set(name, { admission: p, ward: k });
      terms[name] = 1;
      const inPlan = Math.min(nights[p]!, input.days - a.day);
      const outlier = w.groups !== undefined && (a.group === undefined || !w.groups.includes(a.group));
      if (outlier) linear[name] = outlierCost * inPlan;
      for (let d = a.day; d < a.day + inPlan; d++) capacityTerms[k]![d]![name] = 1;
    });
    if (allowUnplaced) {
      const name = `unplaced[a${p}]`;
      variables.push({ name, lower: 0, upper: 1, type: 'binary' });
      linear[name] = unplacedCost;
      terms[name] = 1;
    }
    assign.push({ name: `bed[a${p}]`, terms, lower: 1, upper: 1 });
  });
  const capacity: Constraint[] = input.wards.flatMap((w, k) =>
    capacityTerms[k]!.flatMap((terms, d) =>
      Object.keys(terms).length === 0
        ? []
        : [
            {
              name: `capacity[w${k},d${d}]`,
              terms,
              lower: Number.NEGATIVE_INFINITY,
              upper: w.beds - (w.occupied?.[d] ?? 0),
            },
          ],
    ),
  );
  const index = (name: string, letter: string): number =>
    Number(new RegExp(`${letter}(\\d+)`).exec(name)![1]);
  return {
    model: {
      sense: 'minimize',
      variables,
      constraints: [...assign, ...capacity],
      objective: { linear, quadratic: [], offset: 0 },
    },
    facts: {
      lengthsOfStay: quantityFacts(stays),
    },
    meaning(constraint) {
      if (constraint.startsWith('bed[')) {
        const a = input.admissions[index(constraint, 'a')]!;
        return `admission "${a.id}" (day ${a.day}, ${nights[index(constraint, 'a')]} day(s)) needs a bed`;
      }
      const w = input.wards[index(constraint, 'w')]!;
      const d = index(constraint, 'd');
      return `ward "${w.name}" has ${w.beds - (w.occupied?.[d] ?? 0)} free bed(s) on day ${d}`;
    },
    answer(values) {
      const wardOf = input.admissions.map((): number | undefined => undefined);
      for (const [name, at] of placements) if ((values[name] ?? 0) > 0.5) wardOf[at.admission] = at.ward;
      const admissions = input.admissions.map((a, p) => {
        const k = wardOf[p];
        const w = k === undefined ? undefined : input.wards[k]!;
        return {
          id: a.id,
          day: a.day,
          ward: w?.name ?? null,
          lengthOfStay: round4(stays.values[p]!),
          lengthOfStaySource: stays.predicted[p] ? 'predicted' : 'given',
          ...(w && {
            outlier: w.groups !== undefined && (a.group === undefined || !w.groups.includes(a.group)),
          }),
        };
      });
      const wards = input.wards.map((w, k) => {
        const occupied = Array.from({ length: input.days }, (_, d) => {
          let n = w.occupied?.[d] ?? 0;
          for (const name of Object.keys(capacityTerms[k]![d]!)) n += (values[name] ?? 0) > 0.5 ? 1 : 0;
          return n;
        });
        return { name: w.name, beds: w.beds, occupied, free: occupied.map((o) => w.beds - o) };
      });
      return {
        admissions,
        wards,
        placed: admissions.filter((a) => a.ward !== null).length,
        unplaced: admissions.filter((a) => a.ward === null).map((a) => a.id),
        outliers: admissions.filter((a) => a.outlier === true).length,
      };
    },
  };
}

function estimate(input: BedsInput): ModelSize {
  let variables = 0;
  let nonzeros = 0;
  for (const a of input.admissions) {
    const wards = input.wards.filter((w) => a.group === undefined || !w.closedTo?.includes(a.group)).length;
    variables += wards + 1;
    nonzeros += wards * (1 + Math.max(0, input.days - a.day)) + 1;
  }
  return { variables, constraints: input.admissions.length + input.wards.length * input.days, nonzeros };
}

export const bedsTemplate: Template<BedsInput> = {
  name: 'beds',
  summary:
    'Place expected admissions in wards over the coming days within the free beds, keeping patients in the wards meant for their group; lengths of stay given or predicted by a served model',
  schema: BedsInput,
  build,
  estimate,
};
