import { afterAll, describe, expect, it } from 'vitest';
import { MARKET_SPLIT_SIZE, marketSplitModel } from '../../test/helpers/market-split.js';
import { parseModel } from './model.js';
import type { OptimizationModel } from './model.js';
import { SolverPool } from './solve.js';
import type { SolveOptions } from './solver-thread.js';

const pool = new SolverPool();
afterAll(() => pool.close());
const solveModel = (model: OptimizationModel, options: SolveOptions) => pool.solve(model, options);

const options = { timeLimitSeconds: 10 };

describe('solving with HiGHS', () => {
  it('finds the optimum of a linear program', async () => {
    // max 3x + 2y  s.t. x + y ≤ 4, x + 3y ≤ 6, x ≤ 3  →  x = 3, y = 1, objective 11.
    const result = await solveModel(
      parseModel({
        sense: 'maximize',
        variables: [{ name: 'x', upper: 3 }, { name: 'y' }],
        constraints: [
          { name: 'a', terms: { x: 1, y: 1 }, max: 4 },
          { name: 'b', terms: { x: 1, y: 3 }, max: 6 },
        ],
        objective: { linear: { x: 3, y: 2 } },
      }),
      options,
    );
    expect(result).toMatchObject({ status: 'optimal', objective: 11, values: { x: 3, y: 1 } });
    expect(result.gap).toBeUndefined();
  });

  it('solves an integer program to a proved optimum (gap 0)', async () => {
    // Chvátal's example: max 5x1 + 4x2 + 3x3 with 2x1+3x2+x3 ≤ 5, 4x1+x2+2x3 ≤ 11, 3x1+4x2+2x3 ≤ 8 → 13 at (2, 0, 1).
    const result = await solveModel(
      parseModel({
        sense: 'maximize',
        variables: ['x1', 'x2', 'x3'].map((name) => ({ name, type: 'integer' })),
        constraints: [
          { name: 'r1', terms: { x1: 2, x2: 3, x3: 1 }, max: 5 },
          { name: 'r2', terms: { x1: 4, x2: 1, x3: 2 }, max: 11 },
          { name: 'r3', terms: { x1: 3, x2: 4, x3: 2 }, max: 8 },
        ],
        objective: { linear: { x1: 5, x2: 4, x3: 3 } },
      }),
      options,
    );
    expect(result).toMatchObject({
      status: 'optimal',
      objective: 13,
      values: { x1: 2, x2: 0, x3: 1 },
      gap: 0,
    });
  });

  it('minimises a convex quadratic objective', async () => {
    // (x − 1)² + (y − 2)² = x² − 2x + y² − 4y + 5 → (1, 2), objective 0.
    const result = await solveModel(
      parseModel({
        variables: [
          { name: 'x', lower: -10, upper: 10 },
          { name: 'y', lower: -10, upper: 10 },
        ],
        objective: {
          linear: { x: -2, y: -4 },
          quadratic: [
            { a: 'x', b: 'x', coefficient: 1 },
            { a: 'y', b: 'y', coefficient: 1 },
          ],
          offset: 5,
        },
      }),
      options,
    );
    expect(result.status).toBe('optimal');
    expect(result.values!['x']).toBeCloseTo(1, 5);
    expect(result.values!['y']).toBeCloseTo(2, 5);
    expect(result.objective).toBeCloseTo(0, 6);
  });

  it('names an irreducible set of conflicting constraints for an infeasible roster', async () => {
    // Two nurses, two shifts each needing both of them, at most one shift per nurse; a loose budget too.
    const raw = {
      variables: ['a_day', 'a_night', 'b_day', 'b_night'].map((name) => ({ name, type: 'binary' })),
      constraints: [
        { name: 'budget', terms: { a_day: 1, a_night: 1, b_day: 1, b_night: 1 }, max: 10 },
        { name: 'cover_day', terms: { a_day: 1, b_day: 1 }, min: 2 },
        { name: 'cover_night', terms: { a_night: 1, b_night: 1 }, min: 2 },
        { name: 'rest_a', terms: { a_day: 1, a_night: 1 }, max: 1 },
        { name: 'rest_b', terms: { b_day: 1, b_night: 1 }, max: 1 },
      ],
      objective: { linear: {} },
    };
    const result = await solveModel(parseModel(raw), options);
    expect(result.status).toBe('infeasible');
    expect(result.values).toBeUndefined();
    const named = result.conflict!.constraints;
    expect(result.conflict!.complete).toBe(true);
    expect(named).toEqual(expect.arrayContaining(['cover_day', 'cover_night']));
    expect(named).not.toContain('budget');
    // Irreducible, checked here: the named set alone is infeasible, and without any one of them it is feasible.
    const only = (names: string[]) =>
      parseModel({ ...raw, constraints: raw.constraints.filter((c) => names.includes(c.name)) });
    expect((await solveModel(only(named), options)).status).toBe('infeasible');
    for (const drop of named) {
      expect((await solveModel(only(named.filter((n) => n !== drop)), options)).status, drop).toBe('optimal');
    }
  });

  it('answers the best solution found and its gap when the time limit stops a hard integer program', async () => {
    const result = await solveModel(hard(), { timeLimitSeconds: 1.5 });
    expect(result.status).toBe('time_limit');
    expect(result.objective).toBeGreaterThan(0);
    expect(Object.keys(result.values!)).toHaveLength(MARKET_SPLIT_SIZE.variables);
    expect(result.gap).toBeGreaterThan(0);
    // Stopped by the limit, not before it.
    expect(result.seconds).toBeGreaterThanOrEqual(1.49);
  });

  it('says when a model is unbounded', async () => {
    const result = await solveModel(
      parseModel({
        sense: 'maximize',
        variables: [{ name: 'x' }, { name: 'y', upper: 1 }],
        constraints: [{ name: 'c', terms: { x: 1, y: -1 }, min: 0 }],
        objective: { linear: { x: 1 } },
      }),
      options,
    );
    expect(['unbounded', 'infeasible_or_unbounded']).toContain(result.status);
  });

  it('refuses a malformed model, saying what is wrong', () => {
    const base = { variables: [{ name: 'x' }], objective: { linear: { x: 1 } } };
    expect(() => parseModel({ ...base, sense: 'maximise' })).toThrow(
      /"sense" is a string that is not "minimize" or "maximize"/,
    );
    expect(() => parseModel({ ...base, variables: [{ name: 'x' }, { name: 'x' }] })).toThrow(
      /variables\[1\] has the name of variables\[0\]/,
    );
    expect(() => parseModel({ ...base, objective: { linear: { y: 1 } } })).toThrow(
      /objective.linear has a key that is not the name of a variable in "variables" \(key 1 of 1\)/,
    );
    expect(() => parseModel({ ...base, constraints: [{ name: 'c', terms: { x: 1 } }] })).toThrow(
      /constraints\[0\] has neither "min", "max" nor "equals"/,
    );
    expect(() => parseModel({ ...base, variables: [{ name: 'x', lower: 2, upper: 1 }] })).toThrow(
      /variables\[0\] has "lower" above "upper"; lower must be at most upper/,
    );
    expect(() =>
      parseModel({ ...base, constraints: [{ name: 'c', terms: { x: Number.NaN }, max: 1 }] }),
    ).toThrow(/constraints\[0\].terms is a number that is not finite; it must be a finite number/);
  });

  it('refuses a non-convex quadratic objective as bad input, and quadratic objectives over integers', async () => {
    // Minimising −x² is concave: HiGHS cannot take it.
    const concave = parseModel({
      variables: [{ name: 'x', lower: -1, upper: 1 }],
      objective: { quadratic: [{ a: 'x', b: 'x', coefficient: -1 }] },
    });
    await expect(solveModel(concave, options)).rejects.toThrow(/check that a quadratic objective is convex/);
    expect(() =>
      parseModel({
        variables: [{ name: 'x', type: 'integer', upper: 3 }],
        objective: { quadratic: [{ a: 'x', b: 'x', coefficient: 1 }] },
      }),
    ).toThrow(/a quadratic objective needs continuous variables only/);
  });

  it('reads only the costs given: a variable may be called "constructor"', async () => {
    const result = await solveModel(
      parseModel({
        sense: 'maximize',
        variables: [
          { name: 'constructor', upper: 2 },
          { name: 'toString', upper: 1 },
        ],
        objective: { linear: { toString: 1 } },
      }),
      options,
    );
    expect(result).toMatchObject({ status: 'optimal', objective: 1 });
  });

  it('names the conflict of a model with thousands of constraints within its time', async () => {
    // 3,000 chained feasible constraints x[i+1] ≥ x[i] + 1 over [0, 10 000], and two that clash.
    const n = 3000;
    const result = await solveModel(
      parseModel({
        variables: Array.from({ length: n }, (_, i) => ({ name: `x${i}`, upper: 10_000 })),
        constraints: [
          ...Array.from({ length: n - 1 }, (_, i) => ({
            name: `chain${i}`,
            terms: { [`x${i + 1}`]: 1, [`x${i}`]: -1 },
            min: 1,
          })),
          { name: 'low', terms: { x10: 1 }, max: 5 },
          { name: 'high', terms: { x10: 1 }, min: 6 },
        ],
        objective: { linear: {} },
      }),
      { timeLimitSeconds: 20 },
    );
    expect(result.status).toBe('infeasible');
    expect(result.conflict).toMatchObject({ constraints: ['low', 'high'], complete: true });
  });

  it('solves on its own thread: the event loop keeps running, and a full queue is refused as busy', async () => {
    const busy = new SolverPool({ threads: 1, maxQueued: 0 });
    try {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 20);
      const running = busy.solve(hard(), { timeLimitSeconds: 0.6 });
      await expect(busy.solve(hard(), { timeLimitSeconds: 0.6 })).rejects.toThrow(
        /the solver is busy: 1 solve\(s\) running and 0 waiting/,
      );
      // Busy passes by itself: the refusal says when to try again (HTTP Retry-After).
      await expect(busy.solve(hard(), { timeLimitSeconds: 0.6 })).rejects.toMatchObject({
        code: 'unavailable',
        retryAfterSeconds: 1,
      });
      expect(busy.load()).toEqual({ running: 1, queued: 0 });
      const result = await running;
      clearInterval(ticker);
      expect(result.status).toBe('time_limit');
      // A solve on this thread would have allowed no tick before its result.
      expect(ticks).toBeGreaterThan(0);
      expect((await busy.solve(hard(), { timeLimitSeconds: 0.2 })).status).toBe('time_limit');
    } finally {
      await busy.close();
    }
  });
});

/** An integer model no solver finishes in seconds (see marketSplitModel), so a time limit stops it. */
const hard = (): OptimizationModel => parseModel(marketSplitModel(11));
