import { afterAll, describe, expect, it } from 'vitest';
import { OptimizeService } from './optimize-service.js';
import { SolverPool } from './solve.js';
import type { Predict } from './templates/template.js';

const pool = new SolverPool();
afterAll(() => pool.close());
const noModels: Predict = () => Promise.reject(new Error('no model in these tests'));
const service = new OptimizeService(pool, noModels, {
  defaultSeconds: 10,
  maxSeconds: 30,
  maxJobSeconds: 600,
});
const admin = { keyId: 'test', role: 'admin' } as const;

const shifts = [
  { name: 'early', start: 7, hours: 8 },
  { name: 'late', start: 15, hours: 8 },
  { name: 'night', start: 23, hours: 8 },
];

describe('the roster template', () => {
  it('makes a week that keeps every rule, checked here rule by rule', async () => {
    const nurses = ['ana', 'ben', 'cai', 'dee', 'eli', 'fay', 'gus', 'hal'].map((name, i) => ({
      name,
      skills: i < 3 ? ['icu'] : [],
      maxShifts: 5,
      ...(name === 'ben' && { unavailable: [{ day: 2 }] }),
    }));
    const answer = await service.run(
      {
        template: 'roster',
        input: {
          days: 7,
          shifts,
          nurses,
          coverage: [
            { shift: 'early', min: 2 },
            { shift: 'late', min: 2 },
            { shift: 'night', min: 1 },
            { shift: 'night', skill: 'icu', min: 1 },
          ],
        },
      },
      admin,
    );
    expect(answer.status).toBe('optimal');
    const roster = answer.solution as {
      nurses: { name: string; shifts: number; schedule: (string | null)[] }[];
      shifts: { day: number; shift: string; nurses: string[] }[];
    };
    // The least cost is the coverage itself: 5 nurse-shifts a day.
    expect(answer.objective).toBe(35);
    for (const s of roster.shifts) {
      const icu = s.nurses.filter((n) => ['ana', 'ben', 'cai'].includes(n)).length;
      if (s.shift === 'night') expect(icu, `night of day ${s.day}`).toBeGreaterThanOrEqual(1);
      else expect(s.nurses.length).toBeGreaterThanOrEqual(2);
    }
    for (const nurse of roster.nurses) {
      expect(nurse.shifts).toBeLessThanOrEqual(5);
      nurse.schedule.forEach((shift, d) => {
        const next = nurse.schedule[d + 1];
        // 11 h rest: no early after a late or a night, no late after a night.
        if (shift === 'late') expect(next, `${nurse.name} day ${d}`).not.toBe('early');
        if (shift === 'night') expect(['early', 'late']).not.toContain(next);
      });
      let run = 0;
      for (const shift of nurse.schedule) {
        run = shift === null ? 0 : run + 1;
        expect(run).toBeLessThanOrEqual(6);
      }
    }
    expect(roster.nurses.find((n) => n.name === 'ben')!.schedule[2]).toBeNull();
  });

  it('answers an impossible roster as infeasible, naming the rules in conflict in its own words', async () => {
    // Two ICU nurses for a night shift that needs two ICU nurses every night, and one of them is off on night 3.
    const answer = await service.run(
      {
        template: 'roster',
        input: {
          days: 5,
          shifts,
          nurses: [
            { name: 'ana', skills: ['icu'] },
            { name: 'ben', skills: ['icu'], unavailable: [{ day: 3, shift: 'night' }] },
            { name: 'cai' },
          ],
          coverage: [
            { shift: 'night', skill: 'icu', min: 2 },
            { shift: 'early', min: 1 },
          ],
        },
      },
      admin,
    );
    expect(answer.status).toBe('infeasible');
    expect(answer.solution).toBeUndefined();
    expect(answer.conflict!.complete).toBe(true);
    expect(answer.conflict!.constraints).toEqual([
      {
        name: 'cover[c0,d3]',
        meaning: 'shift "night" on day 3 needs at least 2 nurse(s) with skill "icu" (1 available)',
      },
    ]);
  });

  it('names rest and coverage rules that clash across days', async () => {
    // One nurse, a late shift on day 0 and an early one on day 1: only 8 h apart.
    const answer = await service.run(
      {
        template: 'roster',
        input: {
          days: 2,
          shifts,
          nurses: [{ name: 'ana' }],
          coverage: [
            { shift: 'late', day: 0, min: 1 },
            { shift: 'early', day: 1, min: 1 },
          ],
        },
      },
      admin,
    );
    expect(answer.status).toBe('infeasible');
    expect(answer.conflict!.constraints.map((c) => c.meaning)).toEqual([
      'shift "late" on day 0 needs at least 1 nurse(s) (1 available)',
      'shift "early" on day 1 needs at least 1 nurse(s) (1 available)',
      'nurse "ana" may not work "late" on day 0 then "early" on day 1 (8 h rest, under 11 h)',
    ]);
  });

  it('refuses an input that would make a model over the limits before building it', async () => {
    const input = {
      days: 62,
      shifts,
      nurses: Array.from({ length: 500 }, (_, i) => ({ name: `n${i}` })),
      coverage: Array.from({ length: 200 }, () => ({ shift: 'early', min: 1 })),
    };
    await expect(service.run({ template: 'roster', input }, admin)).rejects.toThrow(
      /the roster input makes a model of at most 93000 variables, \d+ constraints and \d+ coefficients; the limits are 100000, 100000 and 1000000: split the plan/,
    );
    // A job is refused at submission the same way.
    expect(() => service.check({ template: 'roster', input }, admin, true)).toThrow(/split the plan/);
  });

  it('refuses a roster input that names what it does not declare', async () => {
    const input = { days: 2, shifts, nurses: [{ name: 'ana' }], coverage: [{ shift: 'evening', min: 1 }] };
    await expect(service.run({ template: 'roster', input }, admin)).rejects.toThrow(
      /coverage\[0\] names shift "evening", which is not in "shifts"; the shifts are early, late, night/,
    );
    await expect(service.run({ template: 'roster', input: { ...input, days: 0 } }, admin)).rejects.toThrow(
      /the roster input is not valid: days: must be >= 1/,
    );
  });
});

describe('the beds template', () => {
  const wards = [
    { name: 'cardiology', beds: 3, occupied: [2, 1], groups: ['cardiac'] },
    { name: 'general', beds: 2, closedTo: ['paediatric'] },
  ];
  const admissions = [
    { id: 'a1', day: 0, group: 'cardiac', lengthOfStay: 2.5 },
    { id: 'a2', day: 0, group: 'cardiac', lengthOfStay: 1 },
    { id: 'a3', day: 1, group: 'cardiac', lengthOfStay: 1.2 },
    { id: 'a4', day: 1, group: 'surgical', lengthOfStay: 3 },
    { id: 'a5', day: 2, group: 'paediatric', lengthOfStay: 1 },
  ];

  it('places admissions within the free beds, outliers only where needed', async () => {
    const answer = await service.run({ template: 'beds', input: { days: 4, wards, admissions } }, admin);
    expect(answer.status).toBe('optimal');
    const plan = answer.solution as any;
    // Day 0: cardiology has 1 free bed for a1 and a2, so one of them goes to general (meant for no group in particular).
    const ward = Object.fromEntries(plan.admissions.map((a: any) => [a.id, a.ward]));
    expect(ward['a4']).toBe('general');
    // a5 is paediatric: general is closed to it, cardiology (meant for cardiac) takes it as an outlier.
    expect(ward['a5']).toBe('cardiology');
    expect(plan.unplaced).toEqual([]);
    for (const w of plan.wards) for (const free of w.free) expect(free).toBeGreaterThanOrEqual(0);
    expect(plan.wards[0].occupied[0]).toBeLessThanOrEqual(3);
    // The one outlier is a5: cardiology is meant for cardiac patients, general for any.
    expect(plan.outliers).toBe(1);
    expect(plan.admissions.filter((a: any) => a.outlier).map((a: any) => a.id)).toEqual(['a5']);
  });

  it('says which wards and days are full when every admission must get a bed', async () => {
    const answer = await service.run(
      {
        template: 'beds',
        input: {
          days: 2,
          wards: [{ name: 'icu', beds: 2, occupied: [1] }],
          admissions: [
            { id: 'p1', day: 0, lengthOfStay: 2 },
            { id: 'p2', day: 0, lengthOfStay: 1 },
            { id: 'p3', day: 1, lengthOfStay: 1 },
          ],
          allowUnplaced: false,
        },
      },
      admin,
    );
    expect(answer.status).toBe('infeasible');
    const meanings = answer.conflict!.constraints.map((c) => c.meaning);
    expect(meanings).toContain('ward "icu" has 1 free bed(s) on day 0');
    expect(meanings).toContain('admission "p1" (day 0, 2 day(s)) needs a bed');
    expect(meanings).toContain('admission "p2" (day 0, 1 day(s)) needs a bed');
    expect(meanings.some((m) => m?.includes('p3'))).toBe(false);
  });

  it('needs a length of stay, or a model to predict it', async () => {
    await expect(
      service.run({ template: 'beds', input: { days: 2, wards, admissions: [{ id: 'x', day: 0 }] } }, admin),
    ).rejects.toThrow(/admissions\[0\] has no "lengthOfStay": give it, or name a model/);
  });
});

describe('the theatre template', () => {
  it('fills sessions with the most urgent cases, turnover included', async () => {
    const answer = await service.run(
      {
        template: 'theatre',
        input: {
          sessions: [
            { id: 'or1-mon', theatre: 'OR1', day: 0, minutes: 240, specialty: 'ortho' },
            { id: 'or2-mon', theatre: 'OR2', day: 0, minutes: 240 },
          ],
          cases: [
            { id: 'hip', surgeon: 's1', minutes: 150, specialty: 'ortho', priority: 5 },
            { id: 'knee', surgeon: 's1', minutes: 120, specialty: 'ortho', priority: 1 },
            { id: 'hernia', surgeon: 's2', minutes: 90, specialty: 'general', priority: 3 },
            { id: 'gall', surgeon: 's2', minutes: 100, specialty: 'general', priority: 3 },
            { id: 'scope', surgeon: 's3', minutes: 60, priority: 2 },
          ],
          surgeons: [{ name: 's1', maxMinutesPerDay: 300 }],
          turnoverMinutes: 30,
        },
      },
      admin,
    );
    expect(answer.status).toBe('optimal');
    const plan = answer.solution as any;
    for (const s of plan.sessions) expect(s.minutesUsed).toBeLessThanOrEqual(240);
    // OR2 (any specialty) takes hernia + gall (90 + 30 + 100 = 220); OR1 takes hip and scope (150 + 30 + 60).
    const session = Object.fromEntries(plan.cases.map((c: any) => [c.id, c.session]));
    expect(session['hip']).toBe('or1-mon');
    expect(new Set([session['hernia'], session['gall']])).toEqual(new Set(['or2-mon']));
    expect(plan.unscheduled).toEqual(['knee']);
  });

  it('is infeasible when a case that must be done fits nowhere, naming it', async () => {
    const answer = await service.run(
      {
        template: 'theatre',
        input: {
          sessions: [{ id: 'or1', theatre: 'OR1', day: 0, minutes: 200 }],
          cases: [
            { id: 'a', surgeon: 's1', minutes: 120, mustSchedule: true },
            { id: 'b', surgeon: 's2', minutes: 100, mustSchedule: true },
          ],
        },
      },
      admin,
    );
    expect(answer.status).toBe('infeasible');
    expect(answer.conflict!.constraints.map((c) => c.meaning)).toEqual([
      'case "a" (120 min) must be scheduled in a session that fits it (1 do)',
      'case "b" (100 min) must be scheduled in a session that fits it (1 do)',
      'session "or1" (OR1, day 0) has 200 min, with 30 min turnover between cases',
    ]);
  });
});

describe('the optimisation service', () => {
  it('holds requests to the time limits and the caller to its role', async () => {
    const input = { variables: [{ name: 'x', upper: 1 }], objective: { linear: { x: 1 } } };
    await expect(service.run({ input, timeLimitSeconds: 60 }, admin)).rejects.toThrow(
      /timeLimitSeconds is 60; a request answered at once may take more than 0 and at most 30 s \(submit a longer solve as a job/,
    );
    await expect(service.run({ input }, { keyId: 'a', role: 'auditor' })).rejects.toThrow(
      /role "auditor" may not run optimisations/,
    );
    await expect(service.run({ template: 'wards', input }, admin)).rejects.toThrow(
      /no optimisation template "wards"; the templates are beds, roster, theatre/,
    );
    const answer = await service.run({ input }, admin);
    expect(answer).toMatchObject({ problem: 'model', status: 'optimal', objective: 0, solution: { x: 0 } });
  });
});

describe('template input errors', () => {
  // An admission's or case's id may be a patient's, a stay or a count a patient's figure.
  const MRN = 'MRN-004217 Jane Roe';
  const refusal = async (template: string, input: unknown, predict: Predict = noModels): Promise<string> => {
    const own = new OptimizeService(pool, predict, {
      defaultSeconds: 10,
      maxSeconds: 30,
      maxJobSeconds: 600,
    });
    try {
      await own.run({ template, input }, admin);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('the input was accepted');
  };
  const ward = { name: 'general', beds: 2 };

  it('name an item by its place in the input and say what is allowed, never its id or a figure sent', async () => {
    const cases: [string, unknown, RegExp, Predict?][] = [
      [
        'beds',
        {
          days: 2,
          wards: [ward],
          admissions: [
            { id: MRN, day: 0, lengthOfStay: 1 },
            { id: MRN, day: 1, lengthOfStay: 1 },
          ],
        },
        /admissions\[1\] has the id of admissions\[0\]; each of admissions needs a id of its own/,
      ],
      [
        'beds',
        {
          days: 2,
          wards: [{ ...ward, occupied: [0, 37] }],
          admissions: [{ id: MRN, day: 0, lengthOfStay: 1 }],
        },
        /wards\[0\]\.occupied\[1\] is more than the ward's beds; at most 2 of its beds can be occupied on a day/,
      ],
      [
        'beds',
        {
          days: 2,
          wards: [ward],
          admissions: [
            { id: 'a', day: 0, lengthOfStay: 1 },
            { id: MRN, day: 37 },
          ],
        },
        /admissions\[1\]\.day is past the plan; an admission arrives on a day from 0 to 1/,
      ],
      [
        'beds',
        {
          days: 2,
          wards: [ward],
          admissions: [
            { id: 'a', day: 0, lengthOfStay: 1 },
            { id: MRN, day: 0, features: { age: 37 } },
          ],
          lengthOfStayModel: { model: 'los' },
        },
        /los:3 predicted a value out of range as the length of stay \(days\) of admissions\[1\]; a length of stay \(days\) is above 0 and at most 365/,
        // A served model's prediction (here 3700 days) is a figure about the patient.
        () => Promise.resolve({ values: [3700], model: 'los', version: 3 }),
      ],
      [
        'theatre',
        {
          sessions: [{ id: 's', theatre: 'OR1', day: 0, minutes: 240 }],
          cases: [{ id: MRN, surgeon: 'x', minutes: 37, earliestDay: 3, latestDay: 1 }],
        },
        /cases\[0\] has "latestDay" before "earliestDay"; latestDay must be on or after earliestDay/,
      ],
      [
        'roster',
        {
          days: 2,
          shifts,
          nurses: [{ name: 'ana' }, { name: MRN, unavailable: [{ day: 37 }] }],
          coverage: [{ shift: 'early', min: 1 }],
        },
        /nurses\[1\]\.unavailable\[0\] names a day past the plan; days are 0 to 1/,
      ],
    ];
    for (const [template, input, says, predict] of cases) {
      const message = await refusal(template, input, predict);
      expect(message).toMatch(says);
      expect(message).not.toContain('004217');
      expect(message).not.toMatch(/\b37\b|3700/);
    }
  });
});
