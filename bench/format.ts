/** Number and Markdown formatting shared by the console output and the report. */

/** `12,345` (whole numbers with separators); `–` for a missing figure. */
export function rate(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return Math.round(value).toLocaleString('en-US');
}

/** Milliseconds with three significant digits: `0.412`, `12.3`, `145`. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Microseconds from milliseconds, one decimal: `38.5`. */
export function us(valueMs: number | null | undefined): string {
  if (valueMs === null || valueMs === undefined || !Number.isFinite(valueMs)) return '–';
  return (valueMs * 1000).toFixed(1);
}

/** A ratio: `0.87×`. */
export function ratio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return `${value.toFixed(2)}×`;
}

/** Cores busy: `1.42`. */
export function cores(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(2);
}

/** Prose width of the generated Markdown, as Prettier's printWidth. */
const WIDTH = 110;

/** Wraps prose at {@link WIDTH} columns; `first` starts the first line, `rest` the others (list indents). */
export function wrap(text: string, first = '', rest = first): string {
  const lines: string[] = [];
  let line = first;
  // Words, keeping a code span with spaces (`image [-1,128]`) in one piece.
  for (const word of text.match(/(?:[^\s`]*`[^`]*`)+[^\s`]*|\S+/g) ?? []) {
    const prefix = lines.length === 0 ? first : rest;
    // A line must not start with what Markdown reads as a list item, quote or heading.
    const safeAtStart = !/^([-+*#>]|\d+[.)])$/.test(word);
    if (line.length > prefix.length && line.length + 1 + word.length > WIDTH && safeAtStart) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (line.length > prefix.length ? ' ' : '') + word;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

/** A wrapped Markdown list item. */
export const bullet = (text: string): string => wrap(text, '- ', '  ');

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** A Markdown table (Prettier aligns its columns afterwards). */
export const table = (header: string[], rows: string[][]): string =>
  [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
