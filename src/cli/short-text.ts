/** Shortening free text (descriptions) for one cell of a CLI table. */

/**
 * `text` on one line, at most `max` characters: cut at the last word boundary that fits and
 * marked with `…`, so a table never shows half a word. A single word longer than `max` is cut
 * inside it, as nothing else fits.
 *
 * @example
 * shortText('Predicts heart disease from routine measurements', 24) // 'Predicts heart disease…'
 */
export function shortText(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const room = line.slice(0, max - 1); // one character stays for the …
  // A word ends where the next character is no letter or digit (a space, a comma).
  const boundary = /[\p{L}\p{N}]/u.test(line[max - 1]!) ? room.lastIndexOf(' ') : max - 1;
  const kept = boundary > 0 ? line.slice(0, boundary) : room;
  return `${kept.replace(/[\s,;:.-]+$/, '')}…`;
}
