import { expect } from 'vitest';

/** Row i of a dense matrix repeated counts[i] times (what an integer sample weight should equal). */
export function duplicateRows(
  z: { data: ArrayLike<number>; cols: number },
  y: ArrayLike<number>,
  counts: readonly number[],
): { x: number[][]; y: number[] } {
  const x: number[][] = [];
  const copiedY: number[] = [];
  counts.forEach((n, i) => {
    for (let c = 0; c < n; c++) {
      x.push(Array.from({ length: z.cols }, (_, j) => z.data[i * z.cols + j]!));
      copiedY.push(y[i]!);
    }
  });
  return { x, y: copiedY };
}

/** Two linear fits agree to 1e-9, with exactly the same weights at zero. */
export function expectSameLinearFit(
  a: { intercept: number; weights: ArrayLike<number> },
  b: { intercept: number; weights: ArrayLike<number> },
): void {
  expect(a.intercept).toBeCloseTo(b.intercept, 9);
  const wa = Array.from(a.weights);
  const wb = Array.from(b.weights);
  wa.forEach((w, j) => expect(w).toBeCloseTo(wb[j]!, 9));
  expect(wa.map((w) => w === 0)).toEqual(wb.map((w) => w === 0));
}
