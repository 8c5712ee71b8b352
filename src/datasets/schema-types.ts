/** The dataset schema: what each column holds and what it is for. Plain JSON, stored with each dataset version. */

/**
 * - `numeric`: every value is a number (`parseNumber`)
 * - `binary`: exactly two different values (two numbers only when they are 0 and 1);
 *   `categories[1]` is the positive class
 * - `categorical`: a limited set of unordered values
 * - `ordinal`: ordered values, such as age bands `[70-80)` (see `orderBands`)
 * - `text`: anything else (identifiers, dates, free text); not usable as a feature
 */
export type ColumnKind = 'numeric' | 'binary' | 'categorical' | 'ordinal' | 'text';

export type ColumnRole = 'feature' | 'target' | 'ignored';

export interface NumericSummary {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation (divides by the count, as a standardiser does). */
  std: number;
}

export interface ColumnSchema {
  name: string;
  kind: ColumnKind;
  role: ColumnRole;
  /** Count of missing cells. */
  missing: number;
  /** Count of different non-missing values (in a column of numbers, `1` and `1.0` are one value). */
  distinct: number;
  /**
   * binary: the two values, negative first (`0` before `1`, `no`/`false`/`negative`/`benign`/`b`…
   * before the other value, else alphabetical); ordinal: in band order; categorical: by descending
   * frequency, ties alphabetical. In a column of numbers each value is written as it first appears,
   * so compare cells with `parseNumber`, not as text.
   */
  categories?: string[];
  /** For numeric columns, and binary columns whose two values are numbers. */
  numeric?: NumericSummary;
  /** Why the column is ignored, when it is (inference's reason, or an override). */
  reason?: string;
  /** Something in the data that looks wrong, e.g. a few non-numbers in a column of numbers. */
  warning?: string;
  /** Not numeric only because of a few non-numbers (`warning` names the first): probably bad data. */
  mostlyNumbers?: true;
}

export interface DatasetSchema {
  /** Count of data rows. */
  rows: number;
  columns: ColumnSchema[];
  target?: string;
  /** Rows whose target is missing (counted, not dropped); present when `target` is. */
  targetMissing?: number;
}

/** A person's correction of what inference decided for one column. */
export interface ColumnOverride {
  kind?: ColumnKind;
  role?: 'feature' | 'ignored';
  /** The order of a binary, categorical or ordinal column's values; must include every value seen. */
  categories?: string[];
}

export interface InferSchemaOptions {
  /** The column to predict: it must exist and hold at least two different values. */
  target?: string;
  /** Corrections by column name, applied after inference and checked against the data. */
  overrides?: Record<string, ColumnOverride>;
  /**
   * A non-numeric column with more different values than this is `text`, and no override may make
   * it categorical or ordinal (default 50).
   */
  maxCategories?: number;
}
