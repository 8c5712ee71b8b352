/**
 * A model's errors say where the fault is and what is allowed, and repeat nothing the caller sent:
 * a variable or constraint name may be a patient's (a bed plan per admission), a number a
 * patient's figure.
 */
import { describe, expect, it } from 'vitest';
import { parseModel } from './model.js';

const PATIENT = 'Jane_Roe_MRN_004217';
const FIGURE = 73.25;

/** The message `raw` is refused with. */
function refusal(raw: unknown): string {
  try {
    parseModel(raw);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the model was accepted');
}

const variable = (extra: Record<string, unknown> = {}) => ({ name: PATIENT, ...extra });
const base = (extra: Record<string, unknown> = {}) => ({
  variables: [{ name: 'x' }, variable()],
  objective: { linear: { x: 1 } },
  ...extra,
});

describe('optimisation model errors', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'a name declared twice',
      base({ variables: [variable(), { name: 'x' }, variable()] }),
      /variables\[2\] has the name of variables\[0\]; each variable needs a name of its own/,
    ],
    [
      'a type that is not one',
      base({ variables: [{ name: 'x' }, variable({ type: PATIENT })] }),
      /variables\[1\]\.type is a string that is not "continuous", "integer" or "binary"/,
    ],
    [
      'a bound that is not a number',
      base({ variables: [{ name: 'x' }, variable({ upper: `${FIGURE} kg` })] }),
      /variables\[1\]\.upper is a string; it must be a finite number/,
    ],
    [
      'bounds the wrong way round',
      base({ variables: [{ name: 'x' }, variable({ lower: FIGURE, upper: 1 })] }),
      /variables\[1\] has "lower" above "upper"; lower must be at most upper/,
    ],
    [
      'an unknown variable in a constraint',
      base({ constraints: [{ name: 'c', terms: { x: 1, [`${PATIENT}_2`]: FIGURE }, max: 1 }] }),
      /constraints\[0\]\.terms has a key that is not the name of a variable in "variables" \(key 2 of 2\)/,
    ],
    [
      'a coefficient that is not finite',
      base({ constraints: [{ name: 'c', terms: { [PATIENT]: Number.POSITIVE_INFINITY }, max: FIGURE }] }),
      /the coefficient of variables\[1\] in constraints\[0\]\.terms is a number that is not finite; it must be a finite number/,
    ],
    [
      'a coefficient that is text',
      base({ objective: { linear: { [PATIENT]: String(FIGURE) } } }),
      /the coefficient of variables\[1\] in objective\.linear is a string; it must be a finite number/,
    ],
    [
      'a constraint name declared twice',
      base({
        constraints: [
          { name: PATIENT, terms: { x: 1 }, max: 1 },
          { name: PATIENT, terms: { x: 1 }, max: 2 },
        ],
      }),
      /constraints\[1\] has the name of constraints\[0\]; each constraint needs a name of its own/,
    ],
    [
      'a constraint whose min is above its max',
      base({ constraints: [{ name: PATIENT, terms: { x: 1 }, min: FIGURE, max: 1 }] }),
      /constraints\[0\] has "min" above "max"; min must be at most max/,
    ],
    [
      'a constraint "equals" that is not a number',
      base({ constraints: [{ name: PATIENT, terms: { x: 1 }, equals: { weight: FIGURE } }] }),
      /constraints\[0\]\.equals is an object; it must be a finite number/,
    ],
    [
      'a quadratic coefficient that is not a number',
      base({ objective: { quadratic: [{ a: PATIENT, b: PATIENT, coefficient: [FIGURE] }] } }),
      /objective\.quadratic\[0\]\.coefficient is an array of 1 element; it must be a finite number/,
    ],
    [
      'a sense that is not one',
      base({ sense: PATIENT }),
      /"sense" is a string that is not "minimize" or "maximize"/,
    ],
  ];

  it.each(cases)('name the place of %s and what is allowed, never a name or number sent', (_, raw, says) => {
    const message = refusal(raw);
    expect(message).toMatch(says);
    expect(message).not.toContain('Jane');
    expect(message).not.toContain('004217');
    expect(message).not.toContain('73.25');
    expect(message).not.toContain('Infinity');
  });
});
