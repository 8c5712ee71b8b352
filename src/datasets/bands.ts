/**
 * Ordinal bands: values such as `[70-80)` that name a range of a number, ordered by that range.
 *
 * Recognised forms (numbers may be negative or decimal; spaces around the parts are allowed):
 * - intervals with brackets: `[70-80)`, `(0-10]`, `[0,10)`, `(0.5, 1.5]`, `[a-b]`, `(a-b)`; the
 *   separator may be `-`, `,`, `–` or `to` (pandas `cut` writes `(0.0, 10.0]`)
 * - a bare range `40-49` or `40 to 49` (lower ≤ upper), both ends included
 * - open-ended: `<30`, `<=30`, `≤30`, `>200`, `>=200`, `≥200`, `5+`
 * - a plain number such as `0`, read as the one-point band [0, 0] — only in a column that also holds
 *   one of the forms above (`0, 1, 2, 5+`); a column of plain numbers alone is numeric.
 *
 * Bands are ordered by lower bound (`<x` has none, so it is first), an excluded lower bound after
 * an included one, then by upper bound (`>x` and `x+` have none, so they are last).
 */

interface Band {
  lower: number;
  lowerExcluded: boolean;
  upper: number;
  upperIncluded: boolean;
  /** A plain number rather than a range. */
  point: boolean;
}

const NUM = String.raw`(-?\d+(?:\.\d+)?)`;
const SEP = String.raw`\s*(?:-|,|–|to)\s*`;
const INTERVAL = new RegExp(String.raw`^([\[(])\s*${NUM}${SEP}${NUM}\s*([\])])$`);
const BARE_RANGE = new RegExp(String.raw`^${NUM}\s*(?:-|–|to)\s*${NUM}$`);
const COMPARISON = new RegExp(String.raw`^(<=|>=|<|>|≤|≥)\s*${NUM}$`);
const AT_LEAST = new RegExp(String.raw`^${NUM}\s*\+$`);
const POINT = new RegExp(String.raw`^${NUM}$`);

/** The band `text` names, or `undefined` when it is none of the recognised forms. */
export function parseBand(text: string): Band | undefined {
  const t = text.trim();
  let m = INTERVAL.exec(t);
  if (m) {
    const [lower, upper] = [Number(m[2]), Number(m[3])];
    if (lower > upper) return undefined;
    return { lower, lowerExcluded: m[1] === '(', upper, upperIncluded: m[4] === ']', point: false };
  }
  m = BARE_RANGE.exec(t);
  if (m) {
    const [lower, upper] = [Number(m[1]), Number(m[2])];
    if (lower > upper) return undefined;
    return { lower, lowerExcluded: false, upper, upperIncluded: true, point: false };
  }
  m = COMPARISON.exec(t);
  if (m) {
    const x = Number(m[2]);
    const op = m[1];
    if (op === '<' || op === '<=' || op === '≤') {
      return { lower: -Infinity, lowerExcluded: false, upper: x, upperIncluded: op !== '<', point: false };
    }
    return { lower: x, lowerExcluded: op === '>', upper: Infinity, upperIncluded: false, point: false };
  }
  m = AT_LEAST.exec(t);
  if (m)
    return { lower: Number(m[1]), lowerExcluded: false, upper: Infinity, upperIncluded: false, point: false };
  m = POINT.exec(t);
  if (m) {
    const x = Number(m[1]);
    return { lower: x, lowerExcluded: false, upper: x, upperIncluded: true, point: true };
  }
  return undefined;
}

function compareBands(a: Band, b: Band): number {
  return (
    a.lower - b.lower ||
    Number(a.lowerExcluded) - Number(b.lowerExcluded) ||
    (a.upper === b.upper ? 0 : a.upper < b.upper ? -1 : 1) ||
    Number(a.upperIncluded) - Number(b.upperIncluded)
  );
}

/**
 * `values` in band order when every one is a band and at least one is a range (not a plain
 * number); otherwise `undefined`. Equal bands written differently keep alphabetical order.
 *
 * @example
 * orderBands(['[70-80)', '[40-50)', '>=90']) // ['[40-50)', '[70-80)', '>=90']
 * orderBands(['0', '2', '1', '5+'])          // ['0', '1', '2', '5+']
 */
export function orderBands(values: readonly string[]): string[] | undefined {
  const bands: { text: string; band: Band }[] = [];
  let ranges = 0;
  for (const text of values) {
    const band = parseBand(text);
    if (!band) return undefined;
    if (!band.point) ranges++;
    bands.push({ text, band });
  }
  if (ranges === 0) return undefined;
  return bands
    .sort((x, y) => compareBands(x.band, y.band) || (x.text < y.text ? -1 : x.text > y.text ? 1 : 0))
    .map((x) => x.text);
}
