/**
 * The code of a solver thread. HiGHS (compiled to WebAssembly; the only user of `highs`) runs a
 * solve synchronously on the thread that calls it, so solves run on threads of their own and the
 * server keeps answering while one works; a solve that overruns can be stopped by ending its
 * thread.
 *
 * A thread answers the status in plain words, the objective, every variable's value, the MIP gap,
 * and for an infeasible model the constraints that conflict: an irreducible set found by a
 * deletion filter (drop each constraint in turn; keep it dropped while the rest stay infeasible),
 * so every constraint named is needed for the conflict.
 *
 * Like the ONNX Runtime workers, the thread runs from the source text of one self-contained
 * function, so the same code runs from `src/` under the test runner and from `dist/`: it uses
 * nothing from its surroundings, only its `require` argument.
 */
import type { Highs, ModelData } from 'highs';
import type { OptimizationModel } from './model.js';

export type SolveStatus = 'optimal' | 'infeasible' | 'unbounded' | 'time_limit' | 'infeasible_or_unbounded';

export interface SolveOptions {
  /** Longest the solve may run (seconds); the best solution found by then is answered. */
  timeLimitSeconds: number;
  /** Relative MIP gap at which to stop (default HiGHS's 1e-4). */
  mipGap?: number | undefined;
  /** Constraints up to which the conflict of an infeasible model is named (each needs a solve). */
  conflictConstraints?: number | undefined;
}

export interface SolveResult {
  status: SolveStatus;
  /** Objective of the solution answered (absent when there is none). */
  objective?: number;
  values?: Record<string, number>;
  /** Relative gap between the solution and the best bound (integer models). */
  gap?: number;
  /** Infeasible models: the constraints that cannot hold together (with the variables' bounds). */
  conflict?: { constraints: string[]; complete: boolean; note?: string };
  seconds: number;
}

/** What a thread answers: a result, or why HiGHS could not take the model (a caller's error). */
export type ThreadSolveResult = SolveResult | { status: 'unsolvable'; reason: string };

export interface SolveRequest {
  model: OptimizationModel;
  options: SolveOptions;
}

/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any */
/** The thread's main function. `workerData.highsPath` is where the `highs` package's loader is. */
export function solverMain(require: (id: string) => any): void {
  const { parentPort, workerData } = require('node:worker_threads');
  let loading: Promise<Highs> | undefined;
  const highs = (): Promise<Highs> => (loading ??= require(workerData.highsPath)());
  const DEFAULT_CONFLICT_CONSTRAINTS = 20_000;

  /** The model as HiGHS's arrays, with the constraints in `rows`. */
  function modelData(
    h: Highs,
    model: OptimizationModel,
    rows: readonly number[],
    feasibility = false,
  ): ModelData {
    const index = new Map(model.variables.map((v, j) => [v.name, j]));
    const starts = [0];
    const indices: number[] = [];
    const values: number[] = [];
    for (const r of rows) {
      for (const [name, c] of Object.entries(model.constraints[r]!.terms)) {
        indices.push(index.get(name)!);
        values.push(c);
      }
      starts.push(indices.length);
    }
    const n = model.variables.length;
    const finiteOr = (v: number, infinite: number): number => (Number.isFinite(v) ? v : infinite);
    const data: ModelData = {
      numCols: n,
      numRows: rows.length,
      sense:
        model.sense === 'maximize'
          ? h.constants.objectiveSense.maximize
          : h.constants.objectiveSense.minimize,
      offset: model.objective.offset,
      // Own properties only: a variable may be called "constructor" or "toString".
      colCost: model.variables.map((v) =>
        feasibility || !Object.hasOwn(model.objective.linear, v.name) ? 0 : model.objective.linear[v.name]!,
      ),
      colLower: model.variables.map((v) => finiteOr(v.lower, -h.infinity)),
      colUpper: model.variables.map((v) => finiteOr(v.upper, h.infinity)),
      rowLower: rows.map((r) => finiteOr(model.constraints[r]!.lower, -h.infinity)),
      rowUpper: rows.map((r) => finiteOr(model.constraints[r]!.upper, h.infinity)),
      matrix: { format: 'csr', numRows: rows.length, numCols: n, starts, indices, values },
      integrality: model.variables.map((v) => (v.type === 'continuous' ? 0 : 1)),
    };
    if (feasibility || model.objective.quadratic.length === 0) return data;
    // ½·xᵀQx from "coefficient · a · b" terms: Q[a][a] += 2c; Q[a][b] = Q[b][a] += c. Lower triangle, by column.
    const q = new Map<number, Map<number, number>>();
    const add = (row: number, col: number, v: number): void => {
      const column = q.get(col) ?? new Map<number, number>();
      q.set(col, column);
      column.set(row, (column.get(row) ?? 0) + v);
    };
    for (const t of model.objective.quadratic) {
      const a = index.get(t.a)!;
      const b = index.get(t.b)!;
      if (a === b) add(a, a, 2 * t.coefficient);
      else add(Math.max(a, b), Math.min(a, b), t.coefficient);
    }
    const hStarts = [0];
    const hIndices: number[] = [];
    const hValues: number[] = [];
    for (let j = 0; j < n; j++) {
      for (const [i, v] of [...(q.get(j) ?? new Map<number, number>())].sort((x, y) => x[0] - y[0])) {
        hIndices.push(i);
        hValues.push(v);
      }
      hStarts.push(hIndices.length);
    }
    return {
      ...data,
      hessian: { format: 'triangular', dimension: n, starts: hStarts, indices: hIndices, values: hValues },
    };
  }

  interface Run {
    status: number;
    objective: number;
    colValue: ArrayLike<number> | undefined;
    gap: number;
    hasSolution: boolean;
  }

  function run(
    h: Highs,
    model: OptimizationModel,
    rows: readonly number[],
    options: SolveOptions,
    feasibility = false,
  ): Run {
    const m = h.createModel();
    try {
      m.options.set({ output_flag: false, time_limit: options.timeLimitSeconds });
      if (options.mipGap !== undefined) m.options.set({ mip_rel_gap: options.mipGap });
      m.passModel(modelData(h, model, rows, feasibility));
      const status = m.run().modelStatus;
      const hasSolution = Number(m.info.get('primal_solution_status')) === 2; // feasible
      return {
        status,
        objective: m.getObjectiveValue(),
        colValue: hasSolution ? m.getSolution().colValue : undefined,
        gap: Number(m.info.get('mip_gap')),
        hasSolution,
      };
    } finally {
      m.dispose();
    }
  }

  /** -0 and 1e-12 noise become 0, and whole numbers stay whole, in answers. */
  const cleaned = (v: number): number => {
    const r = Math.round(v);
    return Math.abs(v - r) < 1e-9 ? r + 0 : v;
  };

  /**
   * A deletion filter over the constraints of an infeasible model, by blocks: a block of
   * constraints is dropped while the rest stay infeasible; a block that is needed is split and its
   * halves tried in turn, down to single constraints. What is left is irreducible: without any one
   * of them the model is feasible (given the variables' bounds, which stay). Re-solves look for
   * feasibility only (no objective), and the whole search shares one time budget; when it runs
   * out, what is left is answered as not complete.
   */
  function conflictOf(
    h: Highs,
    model: OptimizationModel,
    options: SolveOptions,
  ): NonNullable<SolveResult['conflict']> {
    const limit = options.conflictConstraints ?? DEFAULT_CONFLICT_CONSTRAINTS;
    const s = h.constants.modelStatus;
    const n = model.constraints.length;
    if (n > limit) {
      return {
        constraints: [],
        complete: false,
        note: `not computed: the model has ${n} constraints, above the ${limit} the conflict search takes`,
      };
    }
    const deadline = performance.now() + options.timeLimitSeconds * 1000;
    let timedOut: boolean = false;
    const infeasible = (rows: readonly number[]): boolean | undefined => {
      const left = (deadline - performance.now()) / 1000;
      if (left <= 0.01) {
        timedOut = true;
        return undefined;
      }
      const r = run(h, model, rows, { timeLimitSeconds: left }, true);
      if (r.status === s.infeasible) return true;
      if (r.status === s.optimal || r.hasSolution) return false;
      timedOut = true;
      return undefined;
    };
    if (infeasible([]) === true) {
      return {
        constraints: [],
        complete: true,
        note: "the variables' bounds alone cannot hold (a variable's type and bounds leave it no value)",
      };
    }
    let kept = new Set(model.constraints.map((_, i) => i));
    const without = (block: readonly number[]): number[] => {
      const drop = new Set(block);
      return [...kept].filter((k) => !drop.has(k));
    };
    const reduce = (block: readonly number[]): void => {
      if (block.length === 0 || timedOut) return;
      if (infeasible(without(block)) === true) {
        kept = new Set(without(block));
        return;
      }
      if (block.length === 1 || timedOut) return; // needed (or undecided: kept, to be safe)
      const half = Math.ceil(block.length / 2);
      reduce(block.slice(0, half));
      reduce(block.slice(half).filter((k) => kept.has(k)));
    };
    const all = [...kept];
    const size = Math.max(1, Math.ceil(n / 16));
    for (let start = 0; start < n && !timedOut; start += size) reduce(all.slice(start, start + size));
    // Set inside the closures above, which the compiler does not follow.
    const ranOut = timedOut as boolean;
    return {
      constraints: [...kept].sort((a, b) => a - b).map((r) => model.constraints[r]!.name),
      complete: !ranOut,
      ...(ranOut && {
        note: 'the conflict search ran out of time: the set holds the conflict but may hold constraints that are not needed',
      }),
    };
  }

  function solve(h: Highs, model: OptimizationModel, options: SolveOptions): ThreadSolveResult {
    const started = performance.now();
    let result: Run;
    try {
      result = run(
        h,
        model,
        model.constraints.map((_, i) => i),
        options,
      );
    } catch (err) {
      return { status: 'unsolvable', reason: `HiGHS refused the model: ${(err as Error).message}` };
    }
    const s = h.constants.modelStatus;
    const seconds = (): number => Math.round(performance.now() - started) / 1000;
    const solution = (): Pick<SolveResult, 'objective' | 'values'> =>
      result.hasSolution && result.colValue
        ? {
            objective: result.objective,
            values: Object.fromEntries(
              model.variables.map((v, j) => [v.name, cleaned(result.colValue![j]!)]),
            ),
          }
        : {};
    const integer = model.variables.some((v) => v.type !== 'continuous');
    switch (result.status) {
      case s.optimal:
        return { status: 'optimal', ...solution(), ...(integer && { gap: result.gap }), seconds: seconds() };
      case s.timeLimit:
      case s.iterationLimit:
        return {
          status: 'time_limit',
          ...solution(),
          ...(result.hasSolution && integer && { gap: result.gap }),
          seconds: seconds(),
        };
      case s.unbounded:
        return { status: 'unbounded', seconds: seconds() };
      case s.unboundedOrInfeasible:
        return { status: 'infeasible_or_unbounded', seconds: seconds() };
      case s.infeasible:
        return { status: 'infeasible', conflict: conflictOf(h, model, options), seconds: seconds() };
      case s.modelError:
      case s.solveError:
        return {
          status: 'unsolvable',
          reason: `HiGHS could not solve it (${result.status === s.modelError ? 'model error' : 'solve error'})`,
        };
      default:
        throw new Error(`the solver stopped with status ${result.status}`);
    }
  }

  parentPort.on('message', ({ id, task }: { id: number; task: SolveRequest }) => {
    highs()
      .then((h) => parentPort.postMessage({ id, result: solve(h, task.model, task.options) }))
      .catch((err: Error) => parentPort.postMessage({ id, error: err.message }));
  });
}
/* eslint-enable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any */
