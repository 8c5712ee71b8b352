/**
 * The optimisation service: a declarative model, or a domain template's input, solved on the
 * solver threads within the server's time limit, and answered with the status, the solve time,
 * the solution (in the template's terms for a template) and, when infeasible, the conflicting
 * constraints with what each means. Longer solves run as jobs (`JobService.submitOptimization`),
 * which call the same `run` in a job process.
 */
import { GalenError, assertCan, kindOf, quoted } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { MODEL_LIMITS, parseModel } from './model.js';
import type { OptimizationModel } from './model.js';
import type { SolverPool } from './solve.js';
import type { SolveResult, SolveStatus } from './solver-thread.js';
import { bedsTemplate } from './templates/beds.js';
import { rosterTemplate } from './templates/roster.js';
import { checkTemplateInput } from './templates/template.js';
import type { BuiltProblem, ModelSize, Predict, Template } from './templates/template.js';
import { theatreTemplate } from './templates/theatre.js';

export const TEMPLATES: readonly Template<never>[] = [bedsTemplate, rosterTemplate, theatreTemplate];

/** A request: a template's input, or a model (`template` absent). */
export interface OptimizeRequest {
  template?: string | undefined;
  input: unknown;
  timeLimitSeconds?: number | undefined;
  mipGap?: number | undefined;
}

/** A request as stored in a job (plain JSON), checked back into its shape. */
export function optimizeRequestOf(raw: Readonly<Record<string, unknown>>): OptimizeRequest {
  const { template, input, timeLimitSeconds, mipGap } = raw;
  const optionalNumber = (v: unknown, what: string): number | undefined => {
    if (v === undefined || typeof v === 'number') return v;
    throw new GalenError('invalid_input', `${what} is ${kindOf(v)}; give a number`);
  };
  if (template !== undefined && typeof template !== 'string')
    throw new GalenError('invalid_input', `template is ${kindOf(template)}; give a template's name`);
  if (input === undefined)
    throw new GalenError(
      'invalid_input',
      'an optimisation request needs "input": a model, or the template\'s input',
    );
  return {
    template,
    input,
    timeLimitSeconds: optionalNumber(timeLimitSeconds, 'timeLimitSeconds'),
    mipGap: optionalNumber(mipGap, 'mipGap'),
  };
}

export interface OptimizeAnswer {
  problem: string;
  status: SolveStatus;
  objective?: number;
  gap?: number;
  /** Time in the solver; `seconds` adds building the problem (and any predictions). */
  solveSeconds: number;
  seconds: number;
  timeLimitSeconds: number;
  size: { variables: number; constraints: number; nonzeros: number };
  /** Variable values (a model), or the template's own answer. */
  solution?: Record<string, unknown>;
  conflict?: { constraints: { name: string; meaning?: string }[]; complete: boolean; note?: string };
  facts?: Record<string, unknown>;
}

export interface OptimizeLimits {
  /** Time limit when a request gives none (s). */
  defaultSeconds: number;
  /** Longest time limit a request answered at once may ask for (s); longer solves are jobs. */
  maxSeconds: number;
  /** Longest time limit a job may ask for (s). */
  maxJobSeconds: number;
}

export class OptimizeService {
  constructor(
    private readonly pool: SolverPool,
    private readonly predict: Predict,
    readonly limits: OptimizeLimits,
    private readonly observe?: (problem: string, status: string, seconds: number) => void,
  ) {}

  templates(): { name: string; summary: string }[] {
    return TEMPLATES.map(({ name, summary }) => ({ name, summary }));
  }

  template(name: string): Template<never> {
    const template = TEMPLATES.find((t) => t.name === name);
    if (!template) {
      throw new GalenError(
        'not_found',
        `no optimisation template ${quoted(name)}; the templates are ${TEMPLATES.map((t) => t.name).join(', ')}`,
      );
    }
    return template;
  }

  /** Checks what can be checked before a solve is queued as a job (the model or input, the limits). */
  check(request: OptimizeRequest, actor: Actor, job: boolean): void {
    assertCan(actor, 'infer', 'run optimisations');
    this.timeLimit(request, job);
    if (request.template === undefined) parseModel(request.input);
    else this.checkedInput(this.template(request.template), request.input);
  }

  /** A template's input checked against its schema, and the size of the model it makes against the limits. */
  private checkedInput(template: Template<never>, raw: unknown): never {
    const input = checkTemplateInput(template, raw);
    checkSize(template.estimate(input), template.name, 'at most');
    return input;
  }

  /** The time limit a request asks for, checked against the server's limits. */
  timeLimit(request: OptimizeRequest, job: boolean): number {
    if (request.mipGap !== undefined && !(request.mipGap >= 0 && request.mipGap <= 1))
      throw new GalenError('invalid_input', `mipGap is ${request.mipGap}; a relative gap is from 0 to 1`);
    const limit = request.timeLimitSeconds ?? this.limits.defaultSeconds;
    const max = job ? this.limits.maxJobSeconds : this.limits.maxSeconds;
    if (!(limit > 0) || limit > max) {
      throw new GalenError(
        'invalid_input',
        `timeLimitSeconds is ${limit}; ${job ? 'a job' : 'a request answered at once'} may take more than 0 and at most ${max} s${job ? '' : ' (submit a longer solve as a job: POST /api/v1/optimize/jobs)'}`,
      );
    }
    return limit;
  }

  /** Builds and solves; solver outcomes (infeasible, time limit, ...) are answered, not thrown. */
  async run(request: OptimizeRequest, actor: Actor, job = false): Promise<OptimizeAnswer> {
    assertCan(actor, 'infer', 'run optimisations');
    const started = performance.now();
    // Resolved first: metric labels name known problems only.
    const problem = request.template === undefined ? 'model' : this.template(request.template).name;
    const timeLimitSeconds = this.timeLimit(request, job);
    try {
      const built = await this.build(request);
      const result = await this.pool.solve(built.model, { timeLimitSeconds, mipGap: request.mipGap });
      const answer = this.answer(problem, built, result, timeLimitSeconds, started);
      this.observe?.(problem, answer.status, answer.seconds);
      return answer;
    } catch (err) {
      this.observe?.(problem, 'error', (performance.now() - started) / 1000);
      throw err;
    }
  }

  private async build(request: OptimizeRequest): Promise<BuiltProblem> {
    if (request.template !== undefined) {
      const template = this.template(request.template);
      const built = await template.build(this.checkedInput(template, request.input), this.predict);
      checkSize(sizeOf(built.model), template.name, '');
      return built;
    }
    const model = parseModel(request.input);
    return {
      model,
      facts: {},
      meaning: () => '',
      answer: (values) => values,
    };
  }

  private answer(
    problem: string,
    built: BuiltProblem,
    result: SolveResult,
    timeLimitSeconds: number,
    started: number,
  ): OptimizeAnswer {
    const model = built.model;
    const template = problem !== 'model';
    return {
      problem,
      status: result.status,
      ...(result.objective !== undefined && { objective: result.objective }),
      ...(result.gap !== undefined && { gap: result.gap }),
      solveSeconds: result.seconds,
      seconds: Math.round(performance.now() - started) / 1000,
      timeLimitSeconds,
      size: sizeOf(model),
      ...(result.values && { solution: built.answer(result.values) }),
      ...(result.conflict && {
        conflict: {
          ...result.conflict,
          constraints: result.conflict.constraints.map((name) =>
            template ? { name, meaning: built.meaning(name) } : { name },
          ),
        },
      }),
      ...(Object.keys(built.facts).length > 0 && { facts: built.facts }),
    };
  }
}

const sizeOf = (model: OptimizationModel): ModelSize => ({
  variables: model.variables.length,
  constraints: model.constraints.length,
  nonzeros: model.constraints.reduce((n, c) => n + Object.keys(c.terms).length, 0),
});

/** A template's input can describe a model bigger than the limits a model is held to: refuse it. */
function checkSize(size: ModelSize, template: string, bound: string): void {
  if (
    size.variables > MODEL_LIMITS.variables ||
    size.constraints > MODEL_LIMITS.constraints ||
    size.nonzeros > MODEL_LIMITS.nonzeros
  ) {
    throw new GalenError(
      'payload_too_large',
      `the ${template} input makes a model of ${bound ? `${bound} ` : ''}${size.variables} variables, ${size.constraints} constraints and ${size.nonzeros} coefficients; the limits are ${MODEL_LIMITS.variables}, ${MODEL_LIMITS.constraints} and ${MODEL_LIMITS.nonzeros}: split the plan (fewer days, wards or people at a time)`,
    );
  }
}
