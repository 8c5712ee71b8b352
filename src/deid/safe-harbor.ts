/** The Safe Harbor pieces both FHIR and table de-identification use. */
import { GalenError } from '../core/index.js';

/** 3-digit ZIP areas with 20,000 people or fewer (2000 Census), reported as 000. */
export const RESTRICTED_ZIP3: ReadonlySet<string> = new Set(
  '036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893'.split(' '),
);

/** A postal code as Safe Harbor allows it: its first three digits, or 000 for a small area. */
export function zip3Of(postalCode: string): string {
  const digits = postalCode.replace(/\D/g, '').slice(0, 3);
  return digits.length < 3 || RESTRICTED_ZIP3.has(digits) ? '000' : digits;
}

/**
 * Identifying patterns masked in free text, by kind. Each runs in time linear in the text: a
 * `replace` tries every start position, so no pattern may rescan an unbounded run from each
 * position of that run. The e-mail local part therefore only starts where a run of its characters
 * starts (the lookbehind); every other unbounded run is anchored by a literal prefix (`http`, a
 * full date) and ends the match or is delimited by characters it cannot hold.
 */
export const TEXT_PATTERNS: readonly (readonly [string, RegExp])[] = [
  ['email', /(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g],
  ['url', /\bhttps?:\/\/[^\s"'<>]+/gi],
  ['ssn', /\b\d{3}-\d{2}-\d{4}\b/g],
  ['phone', /(\+?1[-. ]?)?\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b/g],
  ['ip', /\b(\d{1,3}\.){3}\d{1,3}\b/g],
  ['date', /\b\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?\b/g],
];

/**
 * Longest text value masked, in characters (a clinical note is far shorter). Longer text is
 * refused rather than passed on unmasked, so the work per value stays bounded.
 */
export const MAX_MASKED_TEXT_LENGTH = 1_048_576;

/**
 * `text` with every identifying pattern replaced by `[kind]`; `onMask` hears of each. Text longer
 * than `MAX_MASKED_TEXT_LENGTH` is refused (`invalid_input`).
 */
export function maskPatterns(text: string, onMask: (kind: string) => void = () => undefined): string {
  if (text.length > MAX_MASKED_TEXT_LENGTH) {
    throw new GalenError(
      'invalid_input',
      `a text value is ${text.length} characters long; de-identification masks text of at most ${MAX_MASKED_TEXT_LENGTH} characters per value (split longer text)`,
    );
  }
  let out = text;
  for (const [kind, pattern] of TEXT_PATTERNS) {
    out = out.replace(pattern, () => {
      onMask(kind);
      return `[${kind}]`;
    });
  }
  return out;
}
