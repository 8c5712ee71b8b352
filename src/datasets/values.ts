/** How single cell texts are read: strict numbers, dates, and the orderings used for categories. */

/** Optional sign, digits with an optional decimal point (or `.5`), optional exponent. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The number a cell holds, or `undefined` when it is not a plain finite decimal number. Strict on
 * purpose: `1,5` (decimal comma), `0x1F`, `1 000`, ` 5`, `Infinity` and `NaN` are not numbers;
 * `5`, `-0.25`, `.5`, `5.` and `1e-5` are.
 *
 * @example
 * parseNumber('63.0') // 63
 * parseNumber('1,5')  // undefined
 */
export function parseNumber(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Dates and date-times such as `04/26/12`, `26.04.2012`, `2012-04-26` or `2012-04-26T10:00:00Z`.
 * They are not features as they stand (a trainer cannot use a calendar date; a derived number such
 * as days between two dates can be).
 */
const DATE =
  /^\d{1,4}([-/.])\d{1,2}\1\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export const isDateLike = (text: string): boolean => DATE.test(text);

/** Alphabetical order that ignores case first, then code units, so it is the same on every machine. */
export function compareText(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Values that name the absence of a finding; in a binary column they come first (class 0). */
const NEGATIVES = new Set([
  'no',
  'n',
  'false',
  'negative',
  'neg',
  'benign',
  'b',
  'absent',
  'normal',
  'healthy',
  'control',
  'alive',
]);

export const isNegativeWord = (text: string): boolean => NEGATIVES.has(text.trim().toLowerCase());
