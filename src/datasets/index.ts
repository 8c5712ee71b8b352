/**
 * Datasets, the pure part: CSV and JSON-lines files (as bytes) into one table shape, and the
 * schema inferred from it (column kinds, roles, categories, missing counts). No I/O.
 */
export { detectDelimiter, formatCsv, parseCsv } from './csv.js';
export type { CsvOptions } from './csv.js';
export { parseJsonLines } from './json-lines.js';
export type { JsonLinesOptions } from './json-lines.js';
export { DEFAULT_MISSING_MARKERS } from './table.js';
export type { ParsedTable } from './table.js';
export { inferSchema } from './infer-schema.js';
export type {
  ColumnKind,
  ColumnOverride,
  ColumnRole,
  ColumnSchema,
  DatasetSchema,
  InferSchemaOptions,
  NumericSummary,
} from './schema-types.js';
export { parseNumber } from './values.js';
export { orderBands } from './bands.js';
export { deriveTarget, looksLikeTargetExpression, parseTargetExpression } from './target-expression.js';
export type { TargetExpression } from './target-expression.js';
export { decodeNpy, encodeNpy, npyNumbers } from './npy.js';
export type { NpyArray, NpyDtype } from './npy.js';
export { looksLikeSequences, parseSequences } from './sequences.js';
export type { SequenceDatasetSchema, SequenceRecord } from './sequences.js';
