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
