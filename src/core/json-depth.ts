/** How deeply a parsed JSON value nests, measured without recursion so a hostile depth cannot overflow the stack. */

/**
 * True when `value` nests objects or arrays more than `max` levels deep (a scalar is depth 0, `{}`
 * and `[]` are 1). Stops as soon as the limit is passed, so the cost is bounded by the value's size.
 *
 * @example
 * jsonDeeperThan({ a: [{}] }, 2); // true: three levels
 */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
