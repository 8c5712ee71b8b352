/**
 * The training section of docs/benchmarks.md as a unit of its own: `npm run bench` regenerates the
 * rest of the file and `npm run bench:train` only this section, so each keeps what the other wrote.
 */

export const TRAINING_HEADING = '## Training (npm run bench:train)';

/** Where the section starts and ends (at the next `## ` heading, or the end of the text). */
function bounds(text: string): { start: number; end: number } | undefined {
  // Searching `\n` + text finds the heading on the first line too; the index is then the heading's own.
  const start = `\n${text}`.indexOf(`\n${TRAINING_HEADING}\n`);
  if (start < 0) return undefined;
  const next = text.indexOf('\n## ', start + TRAINING_HEADING.length);
  return { start, end: next < 0 ? text.length : next + 1 };
}

/** The training section of a report (heading included, trailing blank lines trimmed), if it has one. */
export function trainingSection(text: string): string | undefined {
  const at = bounds(text);
  return at && text.slice(at.start, at.end).trimEnd();
}

/**
 * `text` with its training section replaced by `section`; without one, `section` goes before
 * `## Analysis` (a person's text, kept last) or at the end.
 */
export function withTrainingSection(text: string, section: string): string {
  const body = `${section.trimEnd()}\n\n`;
  const at = bounds(text);
  if (at) return text.slice(0, at.start) + body + text.slice(at.end);
  const analysis = text.indexOf('\n## Analysis\n');
  if (analysis >= 0) return `${text.slice(0, analysis + 1)}${body}${text.slice(analysis + 1)}`;
  return `${text.trimEnd()}\n\n${body}`;
}
