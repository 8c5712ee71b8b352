/** Optimisation: declarative linear and convex quadratic models and domain templates (beds, roster, theatre), solved by HiGHS on solver threads. */
export { MODEL_LIMITS, parseModel } from './model.js';
export type { Constraint, OptimizationModel, Variable, VariableType } from './model.js';
export { SolverPool } from './solve.js';
export type { SolverPoolOptions } from './solve.js';
export type { SolveOptions, SolveResult, SolveStatus } from './solver-thread.js';
export { OptimizeService, TEMPLATES, optimizeRequestOf } from './optimize-service.js';
export type { OptimizeAnswer, OptimizeLimits, OptimizeRequest } from './optimize-service.js';
export { servedPredict } from './served-predict.js';
export type { ServedModels } from './served-predict.js';
export type { ModelRef, Predict } from './templates/template.js';
