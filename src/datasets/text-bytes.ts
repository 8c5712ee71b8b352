/** Byte-level checks shared by the parsers: UTF-8 validity (with the line at fault), BOM, blank files. */
import { isUtf8 } from 'node:buffer';
import { GalenError } from '../core/index.js';

const LF = 0x0a;
const CR = 0x0d;

/** Length of a UTF-8 byte order mark at the start of `bytes` (0 or 3). */
export function bomLength(bytes: Uint8Array): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** Throws unless `bytes` is UTF-8, naming the first line that is not. */
export function assertUtf8(bytes: Buffer, what: string): void {
  if (isUtf8(bytes)) return;
  // Only on failure: find the line, so the person can look at it.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  let line = 1;
  while (start < bytes.length) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      break;
    }
    start = end + 1;
    line += 1;
  }
  throw new GalenError(
    'invalid_input',
    `the ${what} is not UTF-8 text (line ${line} has bytes that are not UTF-8); save it as UTF-8 ` +
      `(in Excel: "CSV UTF-8") and upload it again`,
  );
}

/** True when `bytes` holds nothing but whitespace (after an optional BOM). */
export function isBlank(bytes: Uint8Array): boolean {
  for (let i = bomLength(bytes); i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== LF && b !== CR) return false;
  }
  return true;
}

/**
 * Counts line breaks (LF, CRLF or a lone CR, each one break) in `bytes` from a moving cursor, so a
 * parser can turn byte offsets into 1-based line numbers in one pass over the file.
 */
export class LineCounter {
  private offset = 0;
  private breaks = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** The line holding byte `offset`; offsets must not decrease between calls. */
  lineAt(offset: number): number {
    const bytes = this.bytes;
    for (let i = this.offset; i < offset; i++) {
      const b = bytes[i];
      if (b === LF || (b === CR && bytes[i + 1] !== LF)) this.breaks += 1;
    }
    this.offset = Math.max(this.offset, offset);
    return this.breaks + 1;
  }
}

/** Whether byte `b` ends a line. */
export const isLineBreak = (b: number | undefined): boolean => b === LF || b === CR;
