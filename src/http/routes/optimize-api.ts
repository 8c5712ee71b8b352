/**
 * Optimisation over HTTP: `POST /api/v1/optimize` solves a declarative model or a template's input
 * (beds, roster, theatre) and answers at once, within the server's time limit, with the status,
 * solution and, when infeasible, the conflicting constraints (always 200: infeasible is an answer,
 * not an error); `POST /api/v1/optimize/jobs` queues a longer solve as a job (202), whose result
 * is the same answer; `GET /api/v1/optimize/templates[/{name}]` lists the templates and gives each
 * one's input schema. All need `infer`.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { TEMPLATES } from '../../optimize/index.js';
import { ErrorSchema, JobSchema } from './schemas.js';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema };

const SolveBody = Type.Object(
  {
    template: Type.Optional(
      Type.Union(
        TEMPLATES.map((t) => Type.Literal(t.name)),
        { description: 'A template (beds, roster, theatre); absent: `input` is a model.' },
      ),
    ),
    input: Type.Unknown({
      description:
        'The template\'s input (GET /api/v1/optimize/templates/{name} gives its schema), or a model: {"sense", "variables", "constraints", "objective"}',
    }),
    timeLimitSeconds: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: 'Default optimize.defaultSeconds; at most optimize.maxSeconds (jobs: maxJobSeconds).',
      }),
    ),
    mipGap: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Relative gap at which an integer solve may stop.',
      }),
    ),
  },
  { additionalProperties: false },
);

const NameParam = Type.Object({ name: Type.String() });

export function optimizeRoutes(app: FastifyInstance, galen: Galen): void {
  app.get(
    '/api/v1/optimize/templates',
    {
      schema: { tags: ['optimize'], summary: 'The optimisation templates', response: errors },
      config: { permission: 'infer' },
    },
    () => galen.optimize.templates(),
  );

  app.get(
    '/api/v1/optimize/templates/:name',
    {
      schema: {
        tags: ['optimize'],
        summary: "A template and its input's JSON Schema",
        params: NameParam,
        response: errors,
      },
      config: { permission: 'infer' },
    },
    (request) => {
      const { name, summary, schema } = galen.optimize.template(
        (request.params as Static<typeof NameParam>).name,
      );
      return { name, summary, schema };
    },
  );

  app.post(
    '/api/v1/optimize',
    {
      schema: {
        tags: ['optimize'],
        summary:
          'Solve a model or a template at once: status (optimal, infeasible with the conflict named, unbounded, time_limit with the best solution and gap), time and solution',
        body: SolveBody,
        response: errors,
      },
      config: { permission: 'infer', audit: 'optimize.solve' },
    },
    async (request) => {
      const body = request.body as Static<typeof SolveBody>;
      const answer = await galen.optimize.run(body, request.actor!);
      request.auditFacts = {
        detail: {
          problem: answer.problem,
          status: answer.status,
          variables: answer.size.variables,
          constraints: answer.size.constraints,
          seconds: answer.seconds,
        },
      };
      return answer;
    },
  );

  app.post(
    '/api/v1/optimize/jobs',
    {
      schema: {
        tags: ['optimize'],
        summary: 'Queue a longer solve as a job (202); its result is the answer POST /api/v1/optimize gives',
        body: SolveBody,
        response: { 202: JobSchema, ...errors },
      },
      config: { permission: 'infer', audit: 'optimize.submit' },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof SolveBody>;
      const job = await galen.jobs.submitOptimization(body, request.actor!);
      request.auditFacts = { detail: { job: job.id, problem: body.template ?? 'model' } };
      return reply.code(202).header('location', `/api/v1/jobs/${job.id}`).send(job);
    },
  );
}
