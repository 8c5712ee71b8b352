/**
 * Sections of docs/benchmarks.md that are units of their own: `npm run bench` regenerates the rest
 * of the file, `npm run bench:train` only the training section and `npm run bench:deep` only the
 * deep-model section, so each keeps what the others wrote.
 */

export const TRAINING_HEADING = '## Training (npm run bench:train)';

/** Where the section under `heading` starts and ends (at the next `## ` heading, or the end of the text). */
function bounds(text: string, heading: string): { start: number; end: number } | undefined {
  // Searching `\n` + text finds the heading on the first line too; the index is then the heading's own.
  const start = `\n${text}`.indexOf(`\n${heading}\n`);
  if (start < 0) return undefined;
  const next = text.indexOf('\n## ', start + heading.length);
  return { start, end: next < 0 ? text.length : next + 1 };
}

/** The section under `heading` (heading included, trailing blank lines trimmed), if there is one. */
export function sectionOf(text: string, heading = TRAINING_HEADING): string | undefined {
  const at = bounds(text, heading);
  return at && text.slice(at.start, at.end).trimEnd();
}

/** The training section of a report, if it has one. */
export const trainingSection = (text: string): string | undefined => sectionOf(text, TRAINING_HEADING);

/**
 * `text` with the section under `heading` replaced by `section`; without one, `section` goes
 * before `## Analysis` (a person's text, kept last) or at the end.
 */
export function withSection(text: string, section: string, heading: string): string {
  const body = `${section.trimEnd()}\n\n`;
  const at = bounds(text, heading);
  if (at) return text.slice(0, at.start) + body + text.slice(at.end);
  const analysis = text.indexOf('\n## Analysis\n');
  if (analysis >= 0) return `${text.slice(0, analysis + 1)}${body}${text.slice(analysis + 1)}`;
  return `${text.trimEnd()}\n\n${body}`;
}

/** `text` with its training section replaced by `section`. */
export const withTrainingSection = (text: string, section: string): string =>
  withSection(text, section, TRAINING_HEADING);
