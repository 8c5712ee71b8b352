/** How deeply a parsed JSON value nests, measured without recursion so a hostile depth cannot overflow the stack. */

/**
 * The deepest nesting any request body may have (objects and arrays, the outermost counted as 1).
 * No Galen body comes near it: an OIP tensor of rank 8 in `inputs[].data` is 11 levels, an
 * optimisation model 5, a FHIR Bundle is held to 64 by its own check (`MAX_FHIR_DEPTH`) and a CDS
 * request wraps it in 2 more. Deeper bodies are refused at the HTTP edge before any handler, error
 * message or audit record walks them (recursive walks such as `JSON.stringify` overflow the stack
 * somewhere past a few thousand levels).
 */
export const MAX_JSON_DEPTH = 100;

/**
 * True when `value` nests objects or arrays more than `max` levels deep (a scalar is depth 0, `{}`
 * and `[]` are 1). Each object and array is visited once, with no copy of its elements, and the
 * walk stops as soon as the limit is passed: the cost is linear in the value's size.
 *
 * @example
 * jsonDeeperThan({ a: [{}] }, 2); // true: three levels
 */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  // Two parallel stacks: a container and its depth (no tuple allocated per node).
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(node)) {
      // By index: `Object.values` would copy a large array of numbers only to skip them.
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key of Object.keys(node)) {
        const child: unknown = (node as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/** The JSON type of a value, as errors name it ("null", "an array", "an object", "a string"). */
export const jsonTypeOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? 'an object'
        : `a ${typeof value}`;

/** Whether a value is a JSON object (not null, not an array). */
export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
