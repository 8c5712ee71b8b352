import { describe, expect, it } from 'vitest';
import { jsonSyntaxProblem, jsonSyntaxText, kindOf, parameterText, quoted, shapeValueText } from './echo.js';
import { formatShape } from './tensor-types.js';

const PATIENT = 'Jane Roe 555-12-3456';

/** Whether V8's parser takes `text`: the scanner must agree with it exactly. */
function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('jsonSyntaxProblem', () => {
  it('says where and why a text is not JSON, without quoting it', () => {
    const body = `{"name": "${PATIENT}", "mrn": Jane}`;
    const found = jsonSyntaxProblem(body)!;
    expect(found.offset).toBe(body.indexOf('Jane}'));
    expect(found).toMatchObject({ line: 1, column: found.offset + 1 });
    expect(found.problem).toMatch(/expected a JSON value/);
    const text = jsonSyntaxText(body)!;
    expect(text).toBe(`${found.problem} at line 1, column ${found.offset + 1}`);
    for (const part of ['Jane', 'Roe', '555', 'mrn', 'name']) expect(text).not.toContain(part);
  });

  it('counts lines and columns', () => {
    expect(jsonSyntaxProblem('{\n  "a": 1,\n  "b" 2\n}')).toEqual({
      problem: 'expected ":" after a property name',
      offset: 18,
      line: 3,
      column: 7,
    });
  });

  it.each([
    ['', 'there is no JSON value'],
    ['   ', 'there is no JSON value'],
    ['{"a": 1', 'ends inside an object'],
    ['[1, 2', 'ends inside an array'],
    ['{"a": 1,}', 'a "," may not come before "}"'],
    ['[1,]', 'a "," may not come before "]"'],
    ['{"a": 1 "b": 2}', 'expected "," or "}"'],
    ['[1 2]', 'expected "," or "]"'],
    ['{a: 1}', 'expected a property name in double quotes, or "}"'],
    ['{"a": "x', 'a string is never closed'],
    ['"a\nb"', 'control character'],
    ['"\\x"', 'invalid escape'],
    ['"\\u12g4"', 'four hex digits'],
    ['1.', 'a number is malformed'],
    ['-', 'a number is malformed'],
    ['1e', 'a number is malformed'],
    ['{} {}', 'more text after the JSON value'],
    ['tru', 'expected a JSON value'],
    ["{'a': 1}", 'expected a property name'],
  ])('%j: %s', (text, why) => {
    expect(parses(text)).toBe(false);
    expect(jsonSyntaxProblem(text)?.problem).toContain(why);
  });

  it('finds nothing wrong in JSON', () => {
    for (const text of [
      '{}',
      '[]',
      ' 0 ',
      '-0.5e+3',
      '"\\u00e9\\n"',
      'null',
      '{"a":[true,false,{"b":null}]}',
    ])
      expect(jsonSyntaxProblem(text)).toBeUndefined();
  });

  it('agrees with JSON.parse on thousands of mutated texts', () => {
    const next = random(17);
    const seeds = [
      '{"name": "Jane Roe", "age": 42, "tags": ["a", "b\\n"], "x": {"y": [1.5e3, -0, null, true]}}',
      '[[1, 2], [3, 4.25], "\\u00e9", {"k": false}]',
      '{"inputs": [{"name": "f", "shape": [1, 2], "datatype": "FP32", "data": [0.5, 1]}]}',
    ];
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '-',
      '.',
      'e',
      '0',
      '1',
      ' ',
      '\n',
      't',
      'n',
      'u',
      '\t',
      '\u0001',
    ];
    let disagreements = 0;
    for (let k = 0; k < 5000; k++) {
      let text = seeds[k % seeds.length]!;
      const edits = 1 + Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * (text.length + 1));
        const op = next();
        if (op < 0.4) text = text.slice(0, at) + text.slice(at + 1);
        else
          text =
            text.slice(0, at) +
            pieces[Math.floor(next() * pieces.length)]! +
            text.slice(at + (op < 0.7 ? 1 : 0));
      }
      if ((jsonSyntaxProblem(text) === undefined) !== parses(text)) disagreements++;
    }
    expect(disagreements).toBe(0);
  });

  it('describes a body nested 200,000 deep, or megabytes long, without overflowing the stack', () => {
    expect(jsonSyntaxProblem('['.repeat(200_000))?.problem).toMatch(/ends inside an array/);
    const long = `[${'1,'.repeat(1_000_000)}x]`;
    expect(jsonSyntaxProblem(long)).toMatchObject({ offset: long.length - 2, line: 1 });
  });
});

describe('what messages repeat of a request', () => {
  it('quotes a name cut to 64 characters', () => {
    expect(quoted('features')).toBe('"features"');
    const long = quoted('n'.repeat(50_000));
    expect(long).toBe(`"${'n'.repeat(64)}…" (50000 characters)`);
  });

  it("repeats a caller's short parameter, and only the kind of a long or structured one", () => {
    expect(parameterText('true')).toBe('"true"');
    expect(parameterText(12)).toBe('12');
    expect(parameterText('p'.repeat(65))).toBe('a string');
    expect(parameterText({ name: PATIENT })).toBe('an object');
  });

  it('names the kind of a value, never the value', () => {
    expect(kindOf(PATIENT)).toBe('a string');
    expect(kindOf(42)).toBe('a number');
    expect(kindOf(true)).toBe('a boolean');
    expect(kindOf(null)).toBe('null');
    expect(kindOf({ name: PATIENT })).toBe('an object');
    expect(kindOf([PATIENT])).toBe('an array of 1 element');
  });

  it('shows a shape of 10,000 dimensions as its first 8 and the count', () => {
    expect(formatShape([-1, 30])).toBe('[-1,30]');
    expect(formatShape(new Array(10_000).fill(1))).toBe('[1,1,1,1,1,1,1,1,… 10000 dimensions]');
    expect(shapeValueText([1, 2])).toBe('[1,2]');
    expect(shapeValueText([1, PATIENT])).toBe('an array of 2 whose element 1 is a string');
    expect(shapeValueText(PATIENT)).toBe('a string');
  });
});
