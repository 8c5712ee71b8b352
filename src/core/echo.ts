/**
 * What an error message may repeat of what a client sent. A request's values are a patient's
 * data, so a message names the kind of a value, never the value; names and shapes are shown cut
 * short (a 50,000-character name or a shape of 10,000 dimensions must not make a 50 KB message);
 * and a text that is not JSON is described by where and why it stops parsing, never by quoting
 * it (V8's `JSON.parse` messages quote the text around the fault).
 */
import { formatShape } from './tensor-types.js';

/** The most characters of a client-given name a message repeats. */
export const ECHO_MAX_CHARS = 64;

/**
 * A client-given name (an input, a feature, a key, a datatype) quoted for a message: as JSON, cut
 * to `ECHO_MAX_CHARS` characters with its full length said.
 *
 * @example
 * quoted('features'); // '"features"'
 * quoted('x'.repeat(5000)); // '"xxx…xxx…" (5000 characters)'
 */
export function quoted(name: string): string {
  if (name.length <= ECHO_MAX_CHARS) return JSON.stringify(name);
  return `${JSON.stringify(name.slice(0, ECHO_MAX_CHARS)).slice(0, -1)}…" (${name.length} characters)`;
}

/**
 * A caller's parameter (a setting such as `binary_data_output`, never a data value) for a message:
 * its JSON when it is a number, boolean, null or a string of at most `ECHO_MAX_CHARS` characters,
 * else its kind.
 *
 * @example
 * parameterText('true'); // '"true"'
 * parameterText({ a: 1 }); // 'an object'
 */
export function parameterText(value: unknown): string {
  if (typeof value === 'string')
    return value.length <= ECHO_MAX_CHARS ? JSON.stringify(value) : kindOf(value);
  if (typeof value === 'boolean' || value === null || (typeof value === 'number' && Number.isFinite(value)))
    return JSON.stringify(value);
  return kindOf(value);
}

/**
 * The kind of a JSON value, for a message that must not show the value itself.
 *
 * @example
 * kindOf('Jane Roe'); // 'a string'
 * kindOf([1, 2]); // 'an array of 2 elements'
 */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} element${value.length === 1 ? '' : 's'}`;
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isFinite(value) ? 'a number' : 'a number that is not finite';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    case 'undefined':
      return 'missing';
    case 'bigint':
    case 'function':
    case 'symbol':
      break;
  }
  return `a ${typeof value}`;
}

/**
 * Something a client sent as a shape, for a message: a list of numbers as `shapeText` shows it,
 * anything else by its kind (and the first element that is not a number).
 *
 * @example
 * shapeValueText([1, 'Jane']); // 'an array of 2 whose element 1 is a string'
 */
export function shapeValueText(value: unknown): string {
  if (!Array.isArray(value)) return kindOf(value);
  const odd = value.findIndex((d) => typeof d !== 'number');
  if (odd < 0) return formatShape(value as number[]);
  return `an array of ${value.length} whose element ${odd} is ${kindOf(value[odd])}`;
}

/** Where a JSON text stops parsing, and why, in words that quote none of it. */
export interface JsonSyntaxProblem {
  /** What is wrong there, e.g. `expected "," or "}" after a property value`. */
  readonly problem: string;
  /** 0-based offset in the text (UTF-16 code units, as JavaScript strings count). */
  readonly offset: number;
  /** 1-based line and column of `offset`. */
  readonly line: number;
  readonly column: number;
}

/** Where the scanner is: what may come next. */
type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'after-value' | 'end';

const MALFORMED_NUMBER = 'a number is malformed (JSON numbers look like -12, 0.5 or 1e-3)';

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isHex = (code: number): boolean =>
  isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
const isSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/**
 * Why `text` is not JSON (RFC 8259) and where, or undefined when it is. One pass over char codes
 * without recursion, so a text nested 100,000 deep or megabytes long is described in linear time.
 *
 * @example
 * jsonSyntaxProblem('{"name": Jane}');
 * // { problem: 'expected a JSON value (an object, array, string, number, true, false or null)',
 * //   offset: 9, line: 1, column: 10 }
 */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  // The closer each open container needs: 0x7d "}" or 0x5d "]".
  const closers: number[] = [];
  let expect: Expect = 'value';
  let i = 0;
  const n = text.length;
  const fail = (problem: string, at: number): JsonSyntaxProblem => located(text, problem, at);
  const inObject = (): boolean => closers[closers.length - 1] === 0x7d;
  const close = (): void => {
    i++;
    closers.pop();
    expect = closers.length === 0 ? 'end' : 'after-value';
  };

  while (true) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i === n) {
      if (expect === 'end') return undefined;
      if (closers.length === 0) return fail('there is no JSON value, only whitespace or nothing', i);
      return fail(`the text ends inside ${inObject() ? 'an object' : 'an array'} that is never closed`, i);
    }
    const c = text.charCodeAt(i);
    switch (expect) {
      case 'end':
        return fail('there is more text after the JSON value; send exactly one value', i);
      case 'colon':
        if (c !== 0x3a) return fail('expected ":" after a property name', i);
        i++;
        expect = 'value';
        continue;
      case 'after-value':
        if (c === 0x2c) {
          i++;
          expect = inObject() ? 'key' : 'value';
          continue;
        }
        if (c === closers[closers.length - 1]) {
          close();
          continue;
        }
        return fail(
          inObject()
            ? 'expected "," or "}" after a property value'
            : 'expected "," or "]" after an array element',
          i,
        );
      case 'key':
      case 'key-or-close': {
        if (c === 0x7d && expect === 'key-or-close') {
          close();
          continue;
        }
        if (c !== 0x22) {
          return fail(
            expect === 'key'
              ? 'expected a property name in double quotes (a "," may not come before "}")'
              : 'expected a property name in double quotes, or "}"',
            i,
          );
        }
        const end = scanString(text, i);
        if (typeof end !== 'number') return fail(end.problem, end.at);
        i = end;
        expect = 'colon';
        continue;
      }
      case 'value':
      case 'value-or-close':
        if (c === 0x5d && expect === 'value-or-close') {
          close();
          continue;
        }
        break;
    }
    // A value starts here.
    if (c === 0x7b || c === 0x5b) {
      closers.push(c + 2); // "{" + 2 is "}", "[" + 2 is "]"
      i++;
      expect = c === 0x7b ? 'key-or-close' : 'value-or-close';
      continue;
    }
    if (c === 0x22) {
      const end = scanString(text, i);
      if (typeof end !== 'number') return fail(end.problem, end.at);
      i = end;
    } else if (c === 0x2d || isDigit(c)) {
      const end = scanNumber(text, i);
      if (end < 0) return fail(MALFORMED_NUMBER, -end - 1);
      i = end;
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else {
      return fail(
        c === 0x5d && !inObject()
          ? 'expected an array element (a "," may not come before "]")'
          : 'expected a JSON value (an object, array, string, number, true, false or null)',
        i,
      );
    }
    expect = closers.length === 0 ? 'end' : 'after-value';
  }
}

/** The offset just after the number starting at `start`, or -(offset of its fault) - 1. */
function scanNumber(text: string, start: number): number {
  let i = start;
  if (text.charCodeAt(i) === 0x2d) i++;
  if (text.charCodeAt(i) === 0x30) i++;
  else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
  else return -i - 1;
  if (text.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -i - 1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  if ((text.charCodeAt(i) | 0x20) === 0x65) {
    i++;
    if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return -i - 1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/** The characters JSON allows after a backslash, other than "u": " \ / b f n r t. */
const ESCAPES = [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74];

/** The offset just after the string starting at `start` (a `"`), or why it is not a string. */
function scanString(text: string, start: number): number | { problem: string; at: number } {
  const n = text.length;
  for (let j = start + 1; j < n; j++) {
    const code = text.charCodeAt(j);
    if (code === 0x22) return j + 1;
    if (code < 0x20) {
      return {
        problem: 'a string holds a control character (a line break or tab must be escaped: \\n, \\t)',
        at: j,
      };
    }
    if (code === 0x5c) {
      const next = text.charCodeAt(j + 1);
      if (next === 0x75) {
        for (let k = j + 2; k < j + 6; k++) {
          if (!isHex(text.charCodeAt(k)))
            return { problem: 'a string holds a \\u escape without four hex digits', at: j };
        }
        j += 5;
      } else if (ESCAPES.includes(next)) {
        j += 1;
      } else {
        return {
          problem:
            'a string holds an invalid escape (JSON allows \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX)',
          at: j,
        };
      }
    }
  }
  return { problem: 'a string is never closed (its closing double quote is missing)', at: start };
}

/** `problem` at `offset` of `text`, with its line and column. */
function located(text: string, problem: string, offset: number): JsonSyntaxProblem {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  return { problem, offset, line, column: offset - lineStart + 1 };
}

/**
 * Why `text` is not JSON, as a message that quotes none of it, e.g. `expected ":" after a property
 * name at line 3, column 12`; undefined when it is JSON.
 */
export function jsonSyntaxText(text: string): string | undefined {
  const found = jsonSyntaxProblem(text);
  return found && `${found.problem} at line ${found.line}, column ${found.column}`;
}
