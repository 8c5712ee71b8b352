/** Optimisation: declarative linear and convex quadratic models, integer variables, solved by HiGHS. */
export { MODEL_LIMITS, parseModel } from './model.js';
export type { Constraint, OptimizationModel, Variable, VariableType } from './model.js';
export { solveModel } from './solve.js';
export type { SolveOptions, SolveResult, SolveStatus } from './solve.js';
