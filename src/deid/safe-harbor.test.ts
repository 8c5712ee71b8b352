/**
 * The free-text patterns of de-identification run on the server's main thread over text a client
 * sends, so each must take time linear in the text. Every adversarial input below is about a
 * million characters: a linear pattern masks it in milliseconds, a quadratic one (as the e-mail
 * pattern was: 120k characters took 7 s) would take many minutes, so it is stopped by the guard
 * and the test fails. The guard is a regression trap, not a timing claim.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { MAX_MASKED_TEXT_LENGTH, TEXT_PATTERNS, maskPatterns } from './safe-harbor.js';

const N = 1_000_000;
/** Far above the milliseconds linear matching takes; far below the minutes quadratic matching takes. */
const GUARD_MS = 20_000;

/**
 * `maskPatterns(text)` with every mask counted, stopped by V8 if it runs past the guard (a regular
 * expression cannot be interrupted from the same thread any other way).
 */
function maskGuarded(text: string): { out: string; masks: Record<string, number> } {
  const masks: Record<string, number> = {};
  const onMask = (kind: string): void => {
    masks[kind] = (masks[kind] ?? 0) + 1;
  };
  const out = runInNewContext(
    'mask(text, onMask)',
    { mask: maskPatterns, text, onMask },
    { timeout: GUARD_MS },
  ) as string;
  return { out, masks };
}

const repeat = (unit: string, length = N): string => unit.repeat(Math.ceil(length / unit.length));

describe('de-identification text patterns', () => {
  it('has an adversarial case below for every pattern', () => {
    expect(TEXT_PATTERNS.map(([kind]) => kind).sort()).toEqual([
      'date',
      'email',
      'ip',
      'phone',
      'ssn',
      'url',
    ]);
  });

  it('e-mail: long runs that look like the start of an address finish, and real addresses are masked', () => {
    // Each used to rescan the rest of the run from every position: minutes for a million characters.
    for (const text of [
      repeat('a'),
      `${repeat('a')}@`,
      `${repeat('a', N / 2)}@${repeat('b', N / 2)}`, // a domain with no dot
      repeat('a.'),
      repeat('a@b'),
      repeat('+-.'),
    ]) {
      const { out, masks } = maskGuarded(text);
      expect(masks['email']).toBeUndefined();
      expect(out).toBe(text);
    }
    const { out, masks } = maskGuarded(`${repeat('a ', N)}write to jo.doe+x@mail.example.org today`);
    expect(out.endsWith('write to [email] today')).toBe(true);
    expect(masks['email']).toBe(1);
    expect(maskGuarded(`${repeat('a')}@example.org`).out).toBe('[email]');
  });

  it('url: endless schemes and paths finish', () => {
    expect(maskGuarded(repeat('http:/')).masks['url']).toBeUndefined();
    const { out, masks } = maskGuarded(repeat('http://'));
    expect(out).toBe('[url]');
    expect(masks['url']).toBe(1);
    expect(maskGuarded(`see https://${repeat('a/')} and`).out).toBe('see [url] and');
  });

  it('ssn: runs of digits and near-misses finish', () => {
    for (const text of [repeat('1'), repeat('123-45-'), repeat('123-45-678 ')]) {
      expect(maskGuarded(text).masks['ssn']).toBeUndefined();
    }
    const { out, masks } = maskGuarded(repeat('123-45-6789 '));
    expect(masks['ssn']).toBe(Math.ceil(N / 12));
    expect(out.startsWith('[ssn] [ssn] ')).toBe(true);
  });

  it('phone: runs of digits, separators and prefixes finish', () => {
    for (const text of [repeat('1'), repeat('+1 '), repeat('(555) 555-'), repeat('1-')]) {
      expect(maskGuarded(text).masks['phone']).toBeUndefined();
    }
    const { out, masks } = maskGuarded(repeat('call (555) 123-4567 '));
    expect(masks['phone']).toBe(Math.ceil(N / 20));
    expect(out.startsWith('call [phone] call [phone] ')).toBe(true);
  });

  it('ip: dotted runs of digits finish', () => {
    for (const text of [repeat('1.1.1 '), repeat('255.255.255.a'), repeat('1111.')]) {
      expect(maskGuarded(text).masks['ip']).toBeUndefined();
    }
    expect(maskGuarded(repeat('1.')).masks['ip']).toBe(N / 8); // 1.1.1.1 then a dot, again and again
    const { out, masks } = maskGuarded(repeat('10.0.0.1 '));
    expect(masks['ip']).toBe(Math.ceil(N / 9));
    expect(out.startsWith('[ip] [ip] ')).toBe(true);
  });

  it('date: long time parts without an end finish', () => {
    for (const text of [`2020-01-01T${repeat('1')}x`, repeat('2020-01-01T1x'), repeat('2020-01-')]) {
      expect(maskGuarded(text).masks['date']).toBeUndefined();
    }
    const { out, masks } = maskGuarded(repeat('on 2020-01-31T10:00:00Z '));
    expect(masks['date']).toBe(Math.ceil(N / 24));
    expect(out.startsWith('on [date] on [date] ')).toBe(true);
  });

  it('refuses text longer than the cap instead of passing it on unmasked', () => {
    expect(maskPatterns('a'.repeat(MAX_MASKED_TEXT_LENGTH))).toHaveLength(MAX_MASKED_TEXT_LENGTH);
    let error: unknown;
    try {
      maskPatterns(`write to jo@example.org ${'a'.repeat(MAX_MASKED_TEXT_LENGTH)}`);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GalenError);
    expect((error as GalenError).code).toBe('invalid_input');
    expect((error as GalenError).message).toMatch(/characters long; de-identification masks text of at most/);
    expect((error as GalenError).message).not.toContain('jo@example.org');
  });
});
